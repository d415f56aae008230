//! The case engine's API (issue 5): intake from any channel, a case with its timeline and
//! its stage clock, lists in the caller's view, and actions on the closed loop.
//!
//! Every action names the version it was made against; a case changed meanwhile answers
//! 409 with the case as it now is (optimistic concurrency), never a lost update. A case
//! outside the caller's view answers exactly like one that does not exist. Reads are
//! audited (a case carries its reporter's phone); every write is audited with its event.

use super::{PageDto, PageParams, shanghai_rfc3339};
use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::case::access::CaseAccess;
use huimin_domain::case::category::Categories;
use huimin_domain::case::dispatch::{DispatchRule, DispatchRules};
use huimin_domain::case::flow::{Action, Status};
use huimin_domain::case::intake::{CaseDraft, Channel};
use huimin_domain::case::limits::{Warning, WorkingTime};
use huimin_domain::case::sms::{SmsMessage, SmsStatus};
use huimin_domain::case::{Case, CaseEvent, CaseQuery, Timing};
use huimin_domain::identity::Role;
use huimin_domain::registry::FieldError;
use huimin_domain::storage::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The token scope of department systems that write cases (referrals, their answers).
pub const CASES_WRITE: &str = "cases:write";

/// The running stage's clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockDto {
    /// register, dispatch, handle or verify.
    pub stage: String,
    /// The category's limit, e.g. `4h`, and in Chinese.
    pub limit: String,
    pub limit_zh: String,
    pub allowed_minutes: i64,
    pub used_minutes: i64,
    /// When the limit runs out (RFC 3339, Asia/Shanghai); null while paused.
    pub due_at: Option<String>,
    pub paused: bool,
    /// green, yellow (预警) or red (超时).
    pub warning: String,
}

/// One step of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventDto {
    pub seq: u64,
    /// `report` for the first, then the action's code.
    pub action: String,
    pub action_zh: String,
    /// The action's fields (a dispatch's departments, a note, a reason).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub actor: String,
    pub at: String,
    pub from: Option<String>,
    pub to: String,
}

/// A case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: u64,
    /// Send it back with every action.
    pub version: u64,
    pub channel: String,
    /// grid or hotline.
    pub path: String,
    pub category: String,
    /// e.g. `公用设施 / 井盖`.
    pub category_name: String,
    pub status: String,
    pub status_zh: String,
    pub longitude: f64,
    pub latitude: f64,
    pub grid: Option<String>,
    pub community: Option<String>,
    pub street: Option<String>,
    pub district: Option<String>,
    pub description: String,
    pub priority: String,
    pub reporter_name: Option<String>,
    /// Masked (`138****5678`) except for dispatchers and hotline agents.
    pub reporter_phone: Option<String>,
    pub callback: String,
    pub lead: Option<String>,
    pub assisting: Vec<String>,
    pub level: Option<String>,
    /// 挂账's reason while parked.
    pub parked: Option<String>,
    /// An extension waiting for its decision, e.g. `2d`.
    pub pending_extension: Option<String>,
    pub reworks: u32,
    pub supervisions: u32,
    pub satisfaction: Option<u8>,
    pub merged_into: Option<u64>,
    pub reported_by: String,
    pub reported_at: String,
    pub updated_at: String,
    pub clock: Option<ClockDto>,
    /// In a case's own answer; empty in lists.
    pub timeline: Vec<CaseEventDto>,
    /// Open cases this one may duplicate, offered for 并单: in the answers to a new case
    /// and to one case; empty in lists.
    pub duplicates: Vec<DuplicateDto>,
    /// The case's photos (metadata stripped), in a case's own answer; empty in lists.
    pub photos: Vec<super::PhotoDto>,
}

fn categories() -> Result<&'static Categories, ApiError> {
    Categories::shipped().map_err(ApiError::Unavailable)
}

/// How the city's stage limits are read (`[cases]` in the configuration).
pub(crate) fn timing(state: &AppState) -> Result<Timing<'static>, ApiError> {
    Ok(Timing {
        categories: categories()?,
        time: WorkingTime {
            calendar: huimin_domain::calendar::WorkingCalendar::official()
                .map_err(|error| ApiError::Unavailable(error.to_string()))?,
            hours: state.config.cases.office_hours.clone(),
        },
        yellow_share: state.config.cases.yellow_share,
    })
}

/// Whether the caller reads reporters' phone numbers in full.
fn sees_phones(principal: &Principal) -> bool {
    principal
        .roles
        .iter()
        .any(|held| matches!(held.role, Role::Dispatcher | Role::HotlineAgent))
}

/// The running stage's clock at `now`; `None` without a limit, or past the calendar's
/// confirmed years (left out, not guessed).
pub(crate) fn clock_dto(
    case: &Case,
    timing: &Timing<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<ClockDto> {
    match case.clock(timing.categories, &timing.time) {
        Some(clock) => {
            // A reading past the calendar's confirmed years is left out, not guessed.
            clock
                .reading(&timing.time, now, timing.yellow_share)
                .ok()
                .map(|reading| ClockDto {
                    stage: case
                        .flow
                        .status
                        .stage()
                        .map_or("", |stage| stage.code())
                        .to_owned(),
                    limit: clock.limit.code(),
                    limit_zh: clock.limit.label_zh(),
                    allowed_minutes: reading.allowed_minutes,
                    used_minutes: reading.used_minutes,
                    due_at: reading.due_at.map(shanghai_rfc3339),
                    paused: reading.paused,
                    warning: match reading.warning {
                        Warning::Green => "green",
                        Warning::Yellow => "yellow",
                        Warning::Red => "red",
                    }
                    .to_owned(),
                })
        }
        None => None,
    }
}

fn case_dto(
    case: &Case,
    events: &[CaseEvent],
    full_phone: bool,
    now: chrono::DateTime<chrono::Utc>,
    timing: &Timing<'_>,
) -> Result<CaseDto, ApiError> {
    let categories = timing.categories;
    let clock = clock_dto(case, timing, now);
    let flow = &case.flow;
    Ok(CaseDto {
        id: case.id,
        version: case.version,
        channel: case.channel.code().to_owned(),
        path: match flow.path {
            huimin_domain::case::flow::Path::Grid => "grid",
            huimin_domain::case::flow::Path::Hotline => "hotline",
        }
        .to_owned(),
        category: case.category.clone(),
        category_name: categories.path_name(&case.category).unwrap_or_default(),
        status: flow.status.code().to_owned(),
        status_zh: flow.status.name_zh().to_owned(),
        longitude: case.location.longitude,
        latitude: case.location.latitude,
        grid: case.grid.clone(),
        community: case.community.clone(),
        street: case.street.clone(),
        district: case.district.clone(),
        description: case.description.clone(),
        priority: case.priority.code().to_owned(),
        reporter_name: case.reporter.name.clone(),
        reporter_phone: case.reporter.phone.as_ref().map(|phone| {
            if full_phone {
                phone.as_str().to_owned()
            } else {
                huimin_domain::access::mask_phone(phone.as_str())
            }
        }),
        callback: case.reporter.callback.code().to_owned(),
        lead: flow.lead.clone(),
        assisting: flow.assisting.clone(),
        level: flow.level.map(|level| level.code().to_owned()),
        parked: flow.parked.clone(),
        pending_extension: flow
            .pending_extension
            .as_ref()
            .map(|(limit, _)| limit.code()),
        reworks: flow.reworks,
        supervisions: flow.supervisions,
        satisfaction: flow.satisfaction,
        merged_into: flow.merged_into,
        reported_by: case.reported_by.clone(),
        reported_at: shanghai_rfc3339(case.reported_at),
        updated_at: shanghai_rfc3339(case.updated_at),
        clock,
        timeline: events
            .iter()
            .map(|event| CaseEventDto {
                seq: event.seq,
                action: event
                    .action
                    .as_ref()
                    .map_or("report", Action::code)
                    .to_owned(),
                action_zh: event
                    .action
                    .as_ref()
                    .map_or("上报", Action::name_zh)
                    .to_owned(),
                detail: event
                    .action
                    .as_ref()
                    .and_then(|action| serde_json::to_value(action).ok())
                    .unwrap_or(serde_json::Value::Null),
                actor: event.actor.clone(),
                at: shanghai_rfc3339(event.at),
                from: event.from.map(|status| status.code().to_owned()),
                to: event.to.code().to_owned(),
            })
            .collect(),
        duplicates: Vec::new(),
        photos: Vec::new(),
    })
}

/// The caller, if it works with cases; a token needs `cases:write` to change them.
pub(crate) async fn case_worker(
    state: &AppState,
    parts: &Parts,
    writing: bool,
) -> Result<(Principal, CaseAccess), ApiError> {
    let principal = super::government_caller(state, parts, "cases are").await?;
    if writing {
        require_cases_write(&principal, "changing cases")?;
    }
    let access = CaseAccess::of(&principal.roles, state.clock.now());
    if !access.works_with_cases() {
        return Err(ApiError::Forbidden(
            "cases are for grid, hotline, dispatch, department and leadership roles".to_owned(),
        ));
    }
    Ok((principal, access))
}

/// 403 when the caller came with a token without `cases:write` ("`doing` needs a token
/// with …"); a signed-in session passes.
pub(crate) fn require_cases_write(principal: &Principal, doing: &str) -> Result<(), ApiError> {
    if principal
        .token_scopes
        .as_ref()
        .is_some_and(|scopes| !scopes.iter().any(|scope| scope == CASES_WRITE))
    {
        return Err(ApiError::Forbidden(format!(
            "{doing} needs a token with {CASES_WRITE}"
        )));
    }
    Ok(())
}

/// The audit event of a read of one object: allowed, in the object's jurisdiction, when
/// it was `found` (`Some` of its jurisdiction); denied otherwise.
pub(crate) fn read_event(
    principal: &Principal,
    parts: &Parts,
    (action, kind, id): (&str, &str, &str),
    found: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        outcome: if found.is_some() {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        jurisdiction: found.unwrap_or_default().to_owned(),
        ..principal.actor(parts).event(action, kind, id)
    }
}

pub(crate) async fn audit(state: &AppState, event: AuditEvent) -> Result<(), ApiError> {
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(())
}

/// Opens a case from any channel: the location places it in its grid (and so its
/// community, street and district); grid patrol reports follow the grid path, the rest
/// the hotline's.
#[utoipa::path(post, path = "/api/v1/cases", request_body = CaseDraftBody,
    responses((status = 201, body = CaseDto), (status = 403), (status = 422)))]
pub async fn create_case(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(draft): ApiJson<CaseDraft>,
) -> Result<(StatusCode, Json<CaseDto>), ApiError> {
    let dto = open_case(&state, &parts, draft).await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

pub(crate) async fn open_case(
    state: &AppState,
    parts: &Parts,
    draft: CaseDraft,
) -> Result<CaseDto, ApiError> {
    open_case_with(state, parts, draft, None).await
}

/// Opens the hotline ticket an inbox SMS becomes: the channel is `sms`, the reporter's
/// phone the sender's, the callback by SMS unless the draft says otherwise. The message
/// is marked taken in the ticket's transaction; the sender is then told the ticket's
/// number through the SMS gateway.
pub(crate) async fn open_case_from_sms(
    state: &AppState,
    parts: &Parts,
    draft: CaseDraft,
    message: &SmsMessage,
) -> Result<CaseDto, ApiError> {
    if message.status != SmsStatus::New {
        return Err(super::sms::already_handled(message));
    }
    let draft = CaseDraft {
        channel: Channel::Sms.code().to_owned(),
        reporter_phone: Some(message.phone.as_str().to_owned()),
        callback: draft.callback.clone().or_else(|| Some("sms".to_owned())),
        ..draft
    };
    let dto = open_case_with(state, parts, draft, Some(message)).await?;
    let text = huimin_domain::case::sms::acknowledgement(dto.id);
    if let Err(error) = state.sms.send(message.phone.as_str(), &text).await {
        // The ticket stands; the sender hears at the callback instead.
        tracing::warn!(case = dto.id, %error, "the SMS acknowledgement was not sent");
    }
    Ok(dto)
}

async fn open_case_with(
    state: &AppState,
    parts: &Parts,
    draft: CaseDraft,
    sms: Option<&SmsMessage>,
) -> Result<CaseDto, ApiError> {
    let (principal, access) = case_worker(state, parts, true).await?;
    let index = state.grid_index();
    let bounds = index.bounds().ok_or_else(|| {
        ApiError::Unavailable("the city has no grids yet, so no case can be placed".to_owned())
    })?;
    let new = draft
        .validate(categories()?, bounds)
        .map_err(ApiError::Validation)?;
    let grid = index.grid_at(new.location).map(str::to_owned);
    if !access.may_report(new.channel, grid.as_deref()) {
        let event = AuditEvent {
            outcome: Outcome::Denied,
            ..principal.actor(parts).event("case.report", "case", "")
        };
        audit(state, event).await?;
        return Err(ApiError::Forbidden(format!(
            "your roles do not open {} cases here",
            new.channel.code()
        )));
    }
    // To the microsecond, as the store keeps instants: the answer below is built from
    // what was written, without reading it back.
    let now = chrono::SubsecRound::trunc_subsecs(state.clock.now(), 6);
    let actor = principal.account.login.clone();
    let case = Case::open(new, grid, &actor, now);
    let event = AuditEvent {
        jurisdiction: case.grid.clone().unwrap_or_default(),
        detail: format!("{} {}", case.channel.code(), case.category),
        ..principal.actor(parts).event("case.report", "case", "")
    };
    // A hotline ticket is dispatched at once when a rule covers it, in the same
    // transaction as the ticket itself.
    let (mut case, steps) = match rules_step(state, &case).await? {
        Some((next, step, step_audit)) => (next, vec![(step, step_audit)]),
        None => (case, Vec::new()),
    };
    case.id = match sms {
        None => state.cases.create_case(&case, &event, &steps).await?,
        Some(message) => {
            let event = AuditEvent {
                detail: format!("{} from SMS {}", event.detail, message.id),
                ..event
            };
            match state
                .cases
                .ticket_sms(message.id, &case, &event, &steps)
                .await?
            {
                Some(id) => id,
                None => {
                    let now_kept = state.cases.sms_message(message.id).await?;
                    return Err(now_kept.as_ref().map_or_else(
                        || ApiError::not_found(format!("SMS {}", message.id)),
                        super::sms::already_handled,
                    ));
                }
            }
        }
    };
    let events = case.opening_timeline(steps.iter().map(|(event, _)| event));
    let timing = timing(state)?;
    let mut dto = case_dto(&case, &events, sees_phones(&principal), now, &timing)?;
    if case.flow.status.is_open() {
        dto.duplicates = duplicates_of(state, &access, &case).await?;
    }
    Ok(dto)
}

/// The body of a new case (documentation of `CaseDraft`).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct CaseDraftBody {
    /// grid_patrol, hotline, sms, portal, open311 or referral.
    pub channel: String,
    /// A subcategory's code, e.g. `P0101` (公用设施 / 井盖).
    pub category: String,
    pub longitude: f64,
    pub latitude: f64,
    /// 5 to 2,000 characters.
    pub description: String,
    /// normal (default), urgent or emergency.
    pub priority: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// none, phone or sms; phone by default when a phone is given.
    pub callback: Option<String>,
    /// The identity number, house id or credit code the case is about.
    pub person: Option<String>,
    pub house: Option<String>,
    pub entity: Option<String>,
    /// A manhole cover's 16-digit component code.
    pub component: Option<String>,
}

/// The case, if it exists and the caller sees it; the same 404 otherwise.
pub(crate) async fn visible_case(
    state: &AppState,
    access: &CaseAccess,
    id: u64,
) -> Result<Case, ApiError> {
    match state.cases.case(id).await? {
        Some(case) if access.sees(&case) => Ok(case),
        _ => Err(ApiError::not_found("case")),
    }
}

/// A case with its timeline and its stage clock.
#[utoipa::path(get, path = "/api/v1/cases/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = CaseDto), (status = 404)))]
pub async fn get_case(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
) -> Result<Json<CaseDto>, ApiError> {
    Ok(Json(read_case(&state, &parts, id).await?))
}

pub(crate) async fn read_case(
    state: &AppState,
    parts: &Parts,
    id: u64,
) -> Result<CaseDto, ApiError> {
    Ok(read_case_as_kept(state, parts, id).await?.1)
}

/// [`read_case`], with the case as the store keeps it (for a page that works out which
/// steps its reader may take).
pub(crate) async fn read_case_as_kept(
    state: &AppState,
    parts: &Parts,
    id: u64,
) -> Result<(Case, CaseDto), ApiError> {
    let (principal, access) = case_worker(state, parts, false).await?;
    let found = visible_case(state, &access, id).await;
    let event = read_event(
        &principal,
        parts,
        ("case.read", "case", &id.to_string()),
        found
            .as_ref()
            .ok()
            .map(|case| case.grid.as_deref().unwrap_or_default()),
    );
    audit(state, event).await?;
    let case = found?;
    let events = state.cases.case_events(id).await?;
    let mut dto = case_dto(
        &case,
        &events,
        sees_phones(&principal),
        state.clock.now(),
        &timing(state)?,
    )?;
    if case.flow.status.is_open() && case.flow.merged_into.is_none() {
        dto.duplicates = duplicates_of(state, &access, &case).await?;
    }
    dto.photos = state
        .cases
        .photos(id)
        .await?
        .iter()
        .map(super::photo_dto)
        .collect();
    Ok((case, dto))
}

/// An open case that a report may duplicate (并单 is offered, never done unasked).
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateDto {
    pub case_id: u64,
    pub status: String,
    pub description: String,
    pub reported_at: String,
    pub distance_m: f64,
    /// The likeness of the two descriptions (character bigrams, 0 to 1).
    pub similarity: f64,
    pub hours_apart: f64,
    /// Likeness, nearness and recency weighted 5 : 3 : 2 (0 to 1); best first.
    pub score: f64,
}

/// The most recent open cases nearby that a duplicate check scores.
const DUPLICATE_CANDIDATES: u32 = 50;

/// The open cases the caller sees that `case` may duplicate, best first (at most 10).
async fn duplicates_of(
    state: &AppState,
    access: &CaseAccess,
    case: &Case,
) -> Result<Vec<DuplicateDto>, ApiError> {
    let rule = state.config.cases.duplicates;
    let candidates = state
        .cases
        .open_cases_near(
            &case.category,
            huimin_domain::case::duplicates::search_box(case.location, rule.radius_m),
            case.reported_at - rule.window,
            DUPLICATE_CANDIDATES,
        )
        .await?;
    let visible: Vec<Case> = candidates
        .into_iter()
        .filter(|candidate| access.sees(candidate))
        .collect();
    let probe = huimin_domain::case::duplicates::Probe::of(case);
    Ok(rule
        .suggest(&probe, &visible)
        .into_iter()
        .take(10)
        .filter_map(|suggestion| {
            let found = visible.iter().find(|c| c.id == suggestion.case_id)?;
            Some(DuplicateDto {
                case_id: suggestion.case_id,
                status: found.flow.status.code().to_owned(),
                description: found.description.clone(),
                reported_at: shanghai_rfc3339(found.reported_at),
                distance_m: suggestion.distance_m,
                similarity: suggestion.similarity,
                hours_apart: suggestion.hours_apart,
                score: suggestion.score,
            })
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseListParams {
    /// A status code, e.g. `dispatched`.
    pub status: Option<String>,
    /// `true`: only cases still waiting for work.
    pub open: Option<bool>,
    /// An area code (district, street, community or grid) the case lies in.
    pub area: Option<String>,
    /// The lead department.
    pub lead: Option<String>,
    pub category: Option<String>,
    /// The reporter's phone number: the caller's past tickets (for dispatchers and hotline
    /// agents, who read phone numbers).
    pub phone: Option<String>,
}

/// The caller's past tickets, newest first (the first 20): the hotline's caller look-up.
pub(crate) async fn caller_history(
    state: &AppState,
    parts: &Parts,
    phone: &str,
) -> Result<Vec<CaseDto>, ApiError> {
    let params = CaseListParams {
        status: None,
        open: None,
        area: None,
        lead: None,
        category: None,
        phone: Some(phone.to_owned()),
    };
    let page = PageParams {
        page: Some(1),
        per_page: Some(20),
    };
    Ok(find_cases(state, parts, &params, &page).await?.items)
}

/// The cases in the caller's view reported in `[from, to)` that `keep` keeps, newest
/// first, at most `limit` (Open311's `GET requests`); optionally of one category, or open
/// only. The read is audited like a list.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn cases_reported_between(
    state: &AppState,
    parts: &Parts,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    category: Option<String>,
    open_only: bool,
    limit: usize,
    keep: impl Fn(&CaseDto) -> bool,
) -> Result<Vec<CaseDto>, ApiError> {
    let (principal, access) = case_worker(state, parts, false).await?;
    let (area, lead) = scope(&access, None, None)?;
    let query = CaseQuery {
        area: area.clone(),
        lead,
        category,
        open_only,
        reported_from: Some(from),
        reported_before: Some(to),
        ..CaseQuery::default()
    };
    let timing = timing(state)?;
    let now = state.clock.now();
    let full = sees_phones(&principal);
    let mut kept = Vec::new();
    for page in 1.. {
        let found = state
            .cases
            .cases(&query, PageRequest::new(page, 200))
            .await?;
        for case in found.items.iter().filter(|case| access.sees(case)) {
            let dto = case_dto(case, &[], full, now, &timing)?;
            if keep(&dto) {
                kept.push(dto);
            }
        }
        if kept.len() >= limit || found.items.len() < 200 {
            break;
        }
    }
    kept.truncate(limit);
    let event = AuditEvent {
        jurisdiction: area.unwrap_or_default(),
        detail: format!("{} cases reported in a period", kept.len()),
        ..principal.actor(parts).event("case.list", "case", "")
    };
    audit(state, event).await?;
    Ok(kept)
}

/// Cases in the caller's view, newest first.
#[utoipa::path(get, path = "/api/v1/cases", params(CaseListParams, PageParams),
    responses((status = 200, body = PageDto<CaseDto>), (status = 422)))]
pub async fn list_cases(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<CaseListParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<CaseDto>>, ApiError> {
    Ok(Json(find_cases(&state, &parts, &params, &page).await?))
}

pub(crate) async fn find_cases(
    state: &AppState,
    parts: &Parts,
    params: &CaseListParams,
    page: &PageParams,
) -> Result<PageDto<CaseDto>, ApiError> {
    let (principal, access) = case_worker(state, parts, false).await?;
    let status = match params
        .status
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            let codes: Vec<&str> = Status::ALL.iter().map(|status| status.code()).collect();
            ApiError::field(FieldError::not_one_of("status", text, &codes))
        })?),
    };
    let mut query = CaseQuery {
        status,
        open_only: params.open.unwrap_or(false),
        area: params.area.clone().filter(|area| !area.trim().is_empty()),
        lead: params.lead.clone().filter(|lead| !lead.trim().is_empty()),
        category: params
            .category
            .clone()
            .filter(|category| !category.trim().is_empty()),
        phone: match params
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            None => None,
            // Filtering by a field the caller may not read is refused.
            Some(_) if !sees_phones(&principal) => {
                return Err(ApiError::Forbidden(
                    "looking cases up by phone is for dispatchers and hotline agents".to_owned(),
                ));
            }
            Some(text) => Some(
                huimin_domain::identifiers::Phone::parse(text)
                    .map_err(|error| {
                        ApiError::field(FieldError::new(
                            "phone",
                            text,
                            "invalid_phone",
                            error.to_string(),
                            "电话号码格式不正确".to_owned(),
                        ))
                    })?
                    .as_str()
                    .to_owned(),
            ),
        },
        ..CaseQuery::default()
    };
    (query.area, query.lead) = scope(&access, query.area.take(), query.lead.take())?;
    let found = state.cases.cases(&query, page.request()).await?;
    let event = AuditEvent {
        jurisdiction: query.area.clone().unwrap_or_default(),
        detail: format!("{} cases", found.items.len()),
        ..principal.actor(parts).event("case.list", "case", "")
    };
    audit(state, event).await?;
    let now = state.clock.now();
    let full = sees_phones(&principal);
    let timing = timing(state)?;
    let mut items = Vec::with_capacity(found.items.len());
    for case in &found.items {
        items.push(case_dto(case, &[], full, now, &timing)?);
    }
    Ok(PageDto {
        items,
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    })
}

/// The area and lead department a list or a count of cases is narrowed to, so that it
/// holds only what the caller sees: one area of theirs, or their department's cases. A
/// caller with several areas names one of them; a city-wide caller may leave both open.
pub(crate) fn scope(
    access: &CaseAccess,
    area: Option<String>,
    lead: Option<String>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let prefixes = access.scope.prefixes();
    if prefixes.iter().any(|prefix| prefix.len() <= 4) {
        return Ok((area, lead));
    }
    match (&area, prefixes, access.departments.as_slice()) {
        (Some(area), _, _)
            if prefixes
                .iter()
                .any(|prefix| area.starts_with(prefix.as_str())) => {}
        (None, [only], _) => return Ok((Some(only.clone()), lead)),
        (None, [], [department, ..]) if lead.is_none() => {
            return Ok((None, Some(department.clone())));
        }
        (None, [], departments) if lead.as_ref().is_some_and(|lead| departments.contains(lead)) => {
        }
        _ => {
            return Err(ApiError::Forbidden(
                "name an area inside your jurisdiction (area=…), or list your department's cases"
                    .to_owned(),
            ));
        }
    }
    Ok((area, lead))
}

/// An action on a case, with the version it was made against.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionBody {
    pub version: u64,
    /// The action and its fields, e.g. `{"action": "dispatch", "lead": "chengguan",
    /// "level": "district"}` or `{"action": "verify", "passed": true, "note": "…"}`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub action: Action,
}

/// Takes an action on a case: 200 with the case after it; 409 with the case as it now is
/// when it changed since `version`; 422 when the loop does not allow the action now, with
/// the reason; 403 when the caller's roles do not take it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", params(("id" = u64, Path)),
    request_body = ActionBody,
    responses((status = 200, body = CaseDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn act_on_case(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<Json<CaseDto>, ApiError> {
    Ok(Json(take_action(&state, &parts, id, body).await?))
}

pub(crate) async fn take_action(
    state: &AppState,
    parts: &Parts,
    id: u64,
    body: ActionBody,
) -> Result<CaseDto, ApiError> {
    let (principal, access) = case_worker(state, parts, true).await?;
    let case = visible_case(state, &access, id).await?;
    let now = state.clock.now();
    let full = sees_phones(&principal);
    let timing = timing(state)?;
    let stale = |current: &Case| -> Result<ApiError, ApiError> {
        Ok(ApiError::Stale {
            message: format!(
                "case {id} changed since version {}: it is at version {} ({}), so nothing was done",
                body.version,
                current.version,
                current.flow.status.name_zh()
            ),
            current: serde_json::to_value(case_dto(current, &[], full, now, &timing)?)
                .unwrap_or_default(),
        })
    };
    if case.version != body.version {
        return Err(stale(&case)?);
    }
    let action_code = format!("case.{}", body.action.code());
    if !access.may(&body.action, &case) {
        let event = AuditEvent {
            outcome: Outcome::Denied,
            jurisdiction: case.grid.clone().unwrap_or_default(),
            ..principal
                .actor(parts)
                .event(&action_code, "case", id.to_string())
        };
        audit(state, event).await?;
        return Err(ApiError::Forbidden(format!(
            "your roles do not take '{}' ({}) on this case",
            body.action.code(),
            body.action.name_zh()
        )));
    }
    if let Action::Merge { into } = &body.action {
        merge_target(state, &access, &case, *into).await?;
    }
    let actor = principal.account.login.clone();
    let (next, event) = case
        .advance_timed(&body.action, &actor, now, &timing)
        .map_err(|error| {
            ApiError::field(FieldError::new(
                "action",
                body.action.code(),
                "transition_refused",
                error.message,
                error.message_zh,
            ))
        })?;
    let audit_event = AuditEvent {
        jurisdiction: case.grid.clone().unwrap_or_default(),
        detail: format!("{} → {}", case.flow.status.code(), next.flow.status.code()),
        ..principal
            .actor(parts)
            .event(&action_code, "case", id.to_string())
    };
    if !state
        .cases
        .update_case(&next, body.version, &event, &audit_event)
        .await?
    {
        let current = state
            .cases
            .case(id)
            .await?
            .ok_or_else(|| ApiError::not_found("case"))?;
        return Err(stale(&current)?);
    }
    // A registered grid case goes where the rules send it; a dispatcher may send it
    // elsewhere afterwards, with a reason (改派).
    let next = if matches!(body.action, Action::Register) {
        dispatch_by_rules(state, next).await?
    } else {
        next
    };
    let events = state.cases.case_events(id).await?;
    case_dto(&next, &events, full, now, &timing)
}

/// Checks that `case` may be merged into case `into`: one the caller sees, open, not
/// merged itself, of the same category, and not the case itself (422 naming why).
async fn merge_target(
    state: &AppState,
    access: &CaseAccess,
    case: &Case,
    into: u64,
) -> Result<(), ApiError> {
    let refuse = |message: String, message_zh: String| {
        ApiError::field(FieldError::new(
            "into",
            &into.to_string(),
            "merge_refused",
            message,
            message_zh,
        ))
    };
    if into == case.id {
        return Err(refuse(
            "a case cannot be merged into itself".to_owned(),
            "案件不能并入自身".to_owned(),
        ));
    }
    let target = match state.cases.case(into).await? {
        Some(target) if access.sees(&target) => target,
        _ => {
            return Err(refuse(
                format!("case {into} does not exist"),
                format!("案件 {into} 不存在"),
            ));
        }
    };
    if !target.flow.status.is_open() || target.flow.merged_into.is_some() {
        return Err(refuse(
            format!(
                "case {into} is {} ({}): only an open case takes merged reports",
                target.flow.status.code(),
                target.flow.status.name_zh()
            ),
            format!(
                "案件 {into} 已{}，只能并入未办结的案件",
                target.flow.status.name_zh()
            ),
        ));
    }
    if target.category != case.category {
        return Err(refuse(
            format!(
                "case {into} is of category {}, this one of {}: merge reports of one kind",
                target.category, case.category
            ),
            format!("案件 {into} 与本案类别不同，不能并单"),
        ));
    }
    Ok(())
}

/// The account the dispatch rules act as.
const RULES_ACTOR: &str = "system:dispatch-rules";

/// `case` dispatched by the rules, when one covers it and the loop allows a dispatch
/// now; otherwise (or when someone acted on it meanwhile) the case as it was.
async fn dispatch_by_rules(state: &AppState, case: Case) -> Result<Case, ApiError> {
    let Some((next, event, audit)) = rules_step(state, &case).await? else {
        return Ok(case);
    };
    if state
        .cases
        .update_case(&next, case.version, &event, &audit)
        .await?
    {
        Ok(next)
    } else {
        Ok(case)
    }
}

/// The dispatch the rules make of `case` now, with its event and audit entry; `None` when
/// no rule covers it or the loop does not allow a dispatch now.
async fn rules_step(
    state: &AppState,
    case: &Case,
) -> Result<Option<(Case, CaseEvent, AuditEvent)>, ApiError> {
    let rules = DispatchRules::new(state.cases.dispatch_rules().await?);
    let Some(rule) = rules.choose(categories()?, &case.category, case.grid.as_deref()) else {
        return Ok(None);
    };
    let action = Action::Dispatch {
        lead: rule.lead.clone(),
        assisting: rule.assisting.clone(),
        level: rule.level,
        reason: None,
    };
    let now = chrono::SubsecRound::trunc_subsecs(state.clock.now(), 6);
    let Ok((next, event)) = case.advance_timed(&action, RULES_ACTOR, now, &timing(state)?) else {
        return Ok(None);
    };
    let audit = AuditEvent {
        jurisdiction: case.grid.clone().unwrap_or_default(),
        detail: format!("by rule {} {} → {}", rule.category, rule.area, rule.lead),
        ..huimin_domain::audit::Actor::system("dispatch-rules").event(
            "case.dispatch",
            "case",
            case.id.to_string(),
        )
    };
    Ok(Some((next, event, audit)))
}

/// The dispatch rules: a case's lead department and level by its category (a
/// subcategory, or a class for all its subcategories) and area (a code prefix; empty for
/// the whole city). The most specific rule wins.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DispatchRulesBody {
    /// Each `{"category", "area", "lead", "assisting", "level"}`.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<DispatchRule>,
}

/// The dispatch rules in force.
#[utoipa::path(get, path = "/api/v1/cases/dispatch-rules",
    responses((status = 200, body = DispatchRulesBody)))]
pub async fn dispatch_rules(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<DispatchRulesBody>, ApiError> {
    case_worker(&state, &parts, false).await?;
    Ok(Json(DispatchRulesBody {
        rules: state.cases.dispatch_rules().await?,
    }))
}

/// Replaces the dispatch rules (the city administrator). Every wrong field of every rule
/// is named (422), and nothing is changed then.
#[utoipa::path(put, path = "/api/v1/cases/dispatch-rules", request_body = DispatchRulesBody,
    responses((status = 200, body = DispatchRulesBody), (status = 403), (status = 422)))]
pub async fn replace_dispatch_rules(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(body): ApiJson<DispatchRulesBody>,
) -> Result<Json<DispatchRulesBody>, ApiError> {
    let (principal, _) = case_worker(&state, &parts, true).await?;
    if !super::is_city_administrator(&principal) {
        let event = AuditEvent {
            outcome: Outcome::Denied,
            ..principal
                .actor(&parts)
                .event("case.dispatch_rules", "dispatch_rules", "")
        };
        audit(&state, event).await?;
        return Err(ApiError::Forbidden(
            "the city administrator edits the dispatch rules".to_owned(),
        ));
    }
    let categories = categories()?;
    let mut errors = Vec::new();
    for (index, rule) in body.rules.iter().enumerate() {
        for error in rule.validate(categories) {
            errors.push(FieldError {
                message: format!("rule {}: {}", index + 1, error.message),
                message_zh: format!("第 {} 条规则：{}", index + 1, error.message_zh),
                ..error
            });
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let rules: Vec<DispatchRule> = body
        .rules
        .into_iter()
        .map(|rule| DispatchRule {
            category: rule.category.trim().to_owned(),
            area: rule.area.trim().to_owned(),
            lead: rule.lead.trim().to_owned(),
            assisting: rule
                .assisting
                .iter()
                .map(|id| id.trim().to_owned())
                .collect(),
            level: rule.level,
        })
        .collect();
    let event = AuditEvent {
        detail: format!("{} rules", rules.len()),
        ..principal
            .actor(&parts)
            .event("case.dispatch_rules", "dispatch_rules", "")
    };
    state
        .cases
        .replace_dispatch_rules(&rules, &event, state.clock.now())
        .await?;
    Ok(Json(DispatchRulesBody { rules }))
}
