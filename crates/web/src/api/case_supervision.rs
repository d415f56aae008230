//! Supervising cases (issue 5): the cases whose running stage is yellow (predicted to
//! breach its limit) or red (over it), the automatic 督办 of red stages, and the
//! indicators over any area and period, as JSON or CSV.

use super::cases::{ClockDto, clock_dto, scope, timing};
use super::shanghai_rfc3339;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use huimin_domain::audit::{Actor, AuditEvent};
use huimin_domain::case::flow::Action;
use huimin_domain::case::indicators::{Indicator, IndicatorQuery, Tally, Unit, Weights};
use huimin_domain::case::limits::Warning;
use huimin_domain::case::{Case, CaseQuery, Timing};
use huimin_domain::registry::FieldError;
use huimin_domain::storage::PageRequest;
use huimin_domain::time::SHANGHAI;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The account automatic escalation acts as.
const ESCALATION_ACTOR: &str = "system:time-limits";

/// How many open cases one read of the store brings when every open case is looked at.
const SCAN_PAGE: u32 = 500;

/// Every open case the query matches, page by page.
async fn open_cases(state: &AppState, mut query: CaseQuery) -> Result<Vec<Case>, ApiError> {
    query.open_only = true;
    let mut all = Vec::new();
    for page in 1.. {
        let found = state
            .cases
            .cases(&query, PageRequest::new(page, SCAN_PAGE))
            .await?;
        let done = found.items.len() < SCAN_PAGE as usize;
        all.extend(found.items);
        if done {
            break;
        }
    }
    Ok(all)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningParams {
    /// An area code inside the caller's jurisdiction.
    pub area: Option<String>,
    /// The lead department.
    pub lead: Option<String>,
    /// `red` for breached stages only; by default yellow and red.
    pub warning: Option<String>,
}

/// An open case whose running stage is yellow or red.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarnedCaseDto {
    pub id: u64,
    pub category: String,
    pub status: String,
    pub status_zh: String,
    pub grid: Option<String>,
    pub lead: Option<String>,
    pub level: Option<String>,
    pub description: String,
    pub reported_at: String,
    pub supervisions: u32,
    pub clock: ClockDto,
}

/// Cases predicted to breach their limit (yellow: at least the configured share of the
/// running stage's limit used) and those over it (red), most urgent first: red before
/// yellow, then by when the limit runs out. For supervisors; only what the caller sees.
#[utoipa::path(get, path = "/api/v1/cases/warnings", params(WarningParams),
    responses((status = 200, body = Vec<WarnedCaseDto>), (status = 403), (status = 422)))]
pub async fn case_warnings(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<WarningParams>,
) -> Result<Json<Vec<WarnedCaseDto>>, ApiError> {
    Ok(Json(warned_cases(&state, &parts, &params).await?))
}

pub(crate) async fn warned_cases(
    state: &AppState,
    parts: &Parts,
    params: &WarningParams,
) -> Result<Vec<WarnedCaseDto>, ApiError> {
    let (principal, access) = super::cases::case_worker(state, parts, false).await?;
    let red_only = match params.warning.as_deref().map(str::trim) {
        None | Some("") => false,
        Some("red") => true,
        Some(other) => {
            return Err(ApiError::field(FieldError::not_one_of(
                "warning",
                other,
                &["red"],
            )));
        }
    };
    let (area, lead) = scope(
        &access,
        non_empty(params.area.clone()),
        non_empty(params.lead.clone()),
    )?;
    let cases = open_cases(
        state,
        CaseQuery {
            area: area.clone(),
            lead,
            ..CaseQuery::default()
        },
    )
    .await?;
    let timing = timing(state)?;
    let now = state.clock.now();
    let mut warned: Vec<(Warning, Option<DateTime<Utc>>, WarnedCaseDto)> = Vec::new();
    for case in cases.iter().filter(|case| access.sees(case)) {
        let Some(reading) = timing.reading(case, now) else {
            continue;
        };
        let wanted = match reading.warning {
            Warning::Red => true,
            Warning::Yellow => !red_only,
            Warning::Green => false,
        };
        if !wanted {
            continue;
        }
        let Some(clock) = clock_dto(case, &timing, now) else {
            continue;
        };
        warned.push((
            reading.warning,
            reading.due_at,
            WarnedCaseDto {
                id: case.id,
                category: case.category.clone(),
                status: case.flow.status.code().to_owned(),
                status_zh: case.flow.status.name_zh().to_owned(),
                grid: case.grid.clone(),
                lead: case.flow.lead.clone(),
                level: case.flow.level.map(|level| level.code().to_owned()),
                description: case.description.clone(),
                reported_at: shanghai_rfc3339(case.reported_at),
                supervisions: case.flow.supervisions,
                clock,
            },
        ));
    }
    warned.sort_by_key(|(warning, due, dto)| {
        (
            *warning != Warning::Red,
            due.map_or(i64::MAX, |due| due.timestamp()),
            dto.id,
        )
    });
    let event = AuditEvent {
        jurisdiction: area.unwrap_or_default(),
        detail: format!("{} warned cases", warned.len()),
        ..principal.actor(parts).event("case.warnings", "case", "")
    };
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(warned.into_iter().map(|(_, _, dto)| dto).collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseMapParams {
    /// An area code inside the caller's jurisdiction.
    pub area: Option<String>,
}

/// The most cases one map answer holds (the newest).
const MAP_LIMIT: usize = 20_000;

/// The open cases in the caller's view as GeoJSON points, for the command centre's map:
/// each with its number, category, status and stage warning (green, yellow, red).
#[utoipa::path(get, path = "/api/v1/cases/map", params(CaseMapParams),
    responses((status = 200, body = Object), (status = 403)))]
pub async fn case_map(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<CaseMapParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (principal, access) = super::cases::case_worker(&state, &parts, false).await?;
    let (area, lead) = scope(&access, non_empty(params.area), None)?;
    let cases = open_cases(
        &state,
        CaseQuery {
            area: area.clone(),
            lead,
            ..CaseQuery::default()
        },
    )
    .await?;
    let timing = timing(&state)?;
    let now = state.clock.now();
    let features: Vec<serde_json::Value> = cases
        .iter()
        .filter(|case| access.sees(case))
        .take(MAP_LIMIT)
        .map(|case| {
            let warning = match timing.reading(case, now).map(|reading| reading.warning) {
                Some(Warning::Red) => "red",
                Some(Warning::Yellow) => "yellow",
                Some(Warning::Green) => "green",
                None => "none",
            };
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [case.location.longitude, case.location.latitude]},
                "properties": {
                    "id": case.id,
                    "category": case.category,
                    "category_name": timing.categories.path_name(&case.category).unwrap_or_default(),
                    "status": case.flow.status.code(),
                    "status_zh": case.flow.status.name_zh(),
                    "warning": warning,
                    "grid": case.grid,
                }
            })
        })
        .collect();
    let event = AuditEvent {
        jurisdiction: area.unwrap_or_default(),
        detail: format!("{} cases on the map", features.len()),
        ..principal.actor(&parts).event("case.map", "case", "")
    };
    state.audit.append_audit(&[event], now).await?;
    Ok(Json(serde_json::json!({
        "type": "FeatureCollection",
        "generated_at": super::shanghai_rfc3339(now),
        "features": features,
    })))
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// 督办 of every open case whose running stage is red and has not been supervised in
/// this stage, one level up, as `system:time-limits`; returns how many were escalated.
/// A case someone changes meanwhile is left for the next sweep.
pub async fn escalate_overdue(state: &AppState) -> Result<usize, ApiError> {
    let timing = timing(state)?;
    let now = state.clock.now();
    let mut escalated = 0;
    for case in open_cases(state, CaseQuery::default()).await? {
        if let Some(step) = escalation(&case, &timing, now)
            && state
                .cases
                .update_case(
                    &step.0,
                    case.version,
                    &step.1,
                    &AuditEvent {
                        jurisdiction: case.grid.clone().unwrap_or_default(),
                        detail: "over its limit".to_owned(),
                        ..Actor::system("time-limits").event(
                            "case.supervise",
                            "case",
                            case.id.to_string(),
                        )
                    },
                )
                .await?
        {
            escalated += 1;
        }
    }
    Ok(escalated)
}

/// The escalation step of `case` at `now`, if its running stage is red and was not yet
/// supervised.
fn escalation(
    case: &Case,
    timing: &Timing<'_>,
    now: DateTime<Utc>,
) -> Option<(Case, huimin_domain::case::CaseEvent)> {
    if case.flow.parked.is_some() || case.milestones.supervised_stage == Some(case.stage_started_at)
    {
        return None;
    }
    let reading = timing.reading(case, now)?;
    if reading.warning != Warning::Red {
        return None;
    }
    let stage = case.flow.status.stage()?;
    let action = Action::Supervise {
        note: format!(
            "超时自动督办：{}阶段已用 {} 分钟，时限 {} 分钟",
            match stage {
                huimin_domain::case::category::Stage::Register => "立案",
                huimin_domain::case::category::Stage::Dispatch => "派遣",
                huimin_domain::case::category::Stage::Handle => "处置",
                huimin_domain::case::category::Stage::Verify => "核查",
            },
            reading.used_minutes,
            reading.allowed_minutes
        ),
    };
    case.advance_timed(&action, ESCALATION_ACTOR, now, timing)
        .ok()
}

/// Sweeps for red stages every `every` while the server runs.
pub async fn run_escalation(state: AppState, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match escalate_overdue(&state).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "escalated cases over their limits"),
            Err(error) => tracing::warn!(?error, "escalating cases over their limits"),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorParams {
    /// The first day counted (YYYY-MM-DD, Shanghai); by default 1 January of this year.
    pub from: Option<String>,
    /// The last day counted, inclusive; by default today.
    pub to: Option<String>,
    /// An area code inside the caller's jurisdiction.
    pub area: Option<String>,
    /// Only cases this department leads.
    pub department: Option<String>,
    /// grid, community, street, district (default), department or worker.
    pub by: Option<String>,
    /// The composite score's weights, e.g. `closing=2,on_time_closing=2,satisfaction=1`.
    pub weights: Option<String>,
    /// `csv` for a spreadsheet; JSON by default.
    pub format: Option<String>,
}

/// One indicator's value with its fraction.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorValueDto {
    pub code: String,
    pub name_zh: String,
    pub numerator: u64,
    pub denominator: u64,
    /// A share, 0 to 1; null when nothing was there to count.
    pub value: Option<f64>,
}

/// One unit's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorRowDto {
    /// A grid, community, street or district code, a department or an account.
    pub unit: String,
    #[schema(value_type = Object)]
    pub counts: Tally,
    pub indicators: Vec<IndicatorValueDto>,
    /// The composite score, 0 to 100.
    pub score: Option<f64>,
}

/// The indicator table.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorTableDto {
    pub from: String,
    pub to: String,
    pub by: String,
    pub area: Option<String>,
    pub department: Option<String>,
    /// `code=weight` pairs of the composite score.
    pub weights: String,
    pub rows: Vec<IndicatorRowDto>,
    /// Every unit together.
    pub total: IndicatorRowDto,
}

fn row(unit: String, tally: Tally, weights: &Weights) -> IndicatorRowDto {
    IndicatorRowDto {
        indicators: Indicator::ALL
            .into_iter()
            .map(|indicator| {
                let (numerator, denominator) = indicator.fraction(&tally);
                IndicatorValueDto {
                    code: indicator.code().to_owned(),
                    name_zh: indicator.name_zh().to_owned(),
                    numerator,
                    denominator,
                    value: indicator
                        .value(&tally)
                        .map(|value| (value * 10_000.0).round() / 10_000.0),
                }
            })
            .collect(),
        score: weights
            .score(&tally)
            .map(|score| (score * 100.0).round() / 100.0),
        unit,
        counts: tally,
    }
}

fn day(
    field: &'static str,
    text: Option<&str>,
    default: NaiveDate,
) -> Result<NaiveDate, FieldError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            FieldError::new(
                field,
                text,
                "invalid_date",
                format!("{field} is a date such as 2026-01-31, not '{text}'"),
                format!("{field} 应为 2026-01-31 形式的日期"),
            )
        }),
    }
}

/// The first instant of `date` in Shanghai.
fn start_of(date: NaiveDate) -> DateTime<Utc> {
    SHANGHAI
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .single()
        .map_or_else(
            || Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN)),
            |local| local.with_timezone(&Utc),
        )
}

/// The indicators of the cases reported in a period, per unit, recounted from the cases'
/// facts on every request; with a composite score and every formula's fraction. Only what
/// the caller sees is counted.
#[utoipa::path(get, path = "/api/v1/cases/indicators", params(IndicatorParams),
    responses((status = 200, body = IndicatorTableDto), (status = 403), (status = 422)))]
pub async fn case_indicators(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<IndicatorParams>,
) -> Result<Response, ApiError> {
    let (table, csv) = indicator_table(&state, &parts, &params).await?;
    if csv {
        let body = indicator_csv(&table)?;
        let name = format!("indicators-{}-{}-{}.csv", table.by, table.from, table.to);
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        return Ok(response);
    }
    Ok(Json(table).into_response())
}

pub(crate) async fn indicator_table(
    state: &AppState,
    parts: &Parts,
    params: &IndicatorParams,
) -> Result<(IndicatorTableDto, bool), ApiError> {
    let (principal, access) = super::cases::case_worker(state, parts, false).await?;
    let today = state.clock.now().with_timezone(&SHANGHAI).date_naive();
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let mut errors = Vec::new();
    let from = day("from", params.from.as_deref(), year_start).map_err(|e| errors.push(e));
    let to = day("to", params.to.as_deref(), today).map_err(|e| errors.push(e));
    let by = match non_empty(params.by.clone()) {
        None => Ok(Unit::District),
        Some(text) => Unit::parse(&text).ok_or_else(|| {
            let codes: Vec<&str> = Unit::ALL.iter().map(|unit| unit.code()).collect();
            errors.push(FieldError::not_one_of("by", &text, &codes));
        }),
    };
    let weights = match non_empty(params.weights.clone()) {
        None => Ok(Weights::default()),
        Some(text) => Weights::parse(&text).map_err(|fault| {
            errors.push(FieldError::new(
                "weights",
                &text,
                "invalid_weights",
                fault,
                "权重应写作 指标=权重，以逗号分隔".to_owned(),
            ));
        }),
    };
    let csv = match non_empty(params.format.clone()).as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            errors.push(FieldError::not_one_of("format", other, &["json", "csv"]));
            false
        }
    };
    let (Ok(from), Ok(to), Ok(by), Ok(weights)) = (from, to, by, weights) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if to < from {
        return Err(ApiError::field(FieldError::new(
            "to",
            &to.to_string(),
            "before_from",
            format!("to ({to}) is before from ({from})"),
            "结束日期早于开始日期".to_owned(),
        )));
    }
    let (area, department) = scope(
        &access,
        non_empty(params.area.clone()),
        non_empty(params.department.clone()),
    )?;
    let query = IndicatorQuery {
        from: start_of(from),
        to: start_of(to + chrono::Duration::days(1)),
        area: area.clone(),
        department: department.clone(),
        by,
    };
    let tallies = state.cases.case_tallies(&query).await?;
    let event = AuditEvent {
        jurisdiction: area.clone().unwrap_or_default(),
        detail: format!("{from}..{to} by {}", by.code()),
        ..principal.actor(parts).event("case.indicators", "case", "")
    };
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    let mut total = Tally::default();
    for (_, tally) in &tallies {
        total.add(tally);
    }
    let weights_text = weights
        .0
        .iter()
        .map(|(indicator, weight)| format!("{}={weight}", indicator.code()))
        .collect::<Vec<_>>()
        .join(",");
    let table = IndicatorTableDto {
        from: from.to_string(),
        to: to.to_string(),
        by: by.code().to_owned(),
        area,
        department,
        weights: weights_text,
        rows: tallies
            .into_iter()
            .map(|(unit, tally)| row(unit, tally, &weights))
            .collect(),
        total: row("合计".to_owned(), total, &weights),
    };
    Ok((table, csv))
}

/// The table as CSV with a byte-order mark (so spreadsheet programs read the Chinese
/// header as UTF-8): the unit, the reports, each indicator as a percentage, the score.
fn indicator_csv(table: &IndicatorTableDto) -> Result<String, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["单位 unit".to_owned(), "上报数 reports".to_owned()];
    header.extend(
        Indicator::ALL
            .iter()
            .map(|indicator| format!("{} {} %", indicator.name_zh(), indicator.code())),
    );
    header.push("综合得分 score".to_owned());
    let fault = |error: csv::Error| ApiError::Unavailable(format!("writing CSV: {error}"));
    writer.write_record(&header).map_err(fault)?;
    for row in table.rows.iter().chain(std::iter::once(&table.total)) {
        let mut record = vec![row.unit.clone(), row.counts.reports.to_string()];
        record.extend(row.indicators.iter().map(|value| {
            value
                .value
                .map(|share| format!("{:.2}", share * 100.0))
                .unwrap_or_default()
        }));
        record.push(
            row.score
                .map(|score| format!("{score:.2}"))
                .unwrap_or_default(),
        );
        writer.write_record(&record).map_err(fault)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| ApiError::Unavailable(format!("writing CSV: {error}")))?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}
