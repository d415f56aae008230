//! The console pages, rendered on the server in Chinese or English: home, people search,
//! the person 360 view, the grid map and population statistics. Pages read through the
//! same API functions as the JSON endpoints, so both show the same data.

use crate::api::{self, Person360Dto, PersonSearchParams, PersonSummaryDto, PopulationDto};
use crate::error::ApiError;
use crate::i18n::{Lang, Texts};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use huimin_domain::area::AreaLevel;
use huimin_domain::identifiers::CitizenId;
use huimin_domain::search::normalise_initials;
use serde::Deserialize;

mod accounts;
mod audit;
mod cases;
mod catalogue;
mod clients;
mod monitoring;
mod my_data;
mod rentals;
mod sharing;
mod sign_in;
mod sms;
pub(crate) mod sso;

pub(crate) use cases::photo_upload;
pub(crate) use sign_in::refused_form;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(home))
        .route("/console/persons", get(persons))
        .route("/console/persons/{citizen_id}", get(person))
        .route("/console/map", get(map))
        .route("/console/statistics", get(statistics))
        .route(
            "/console/sign-in",
            get(sign_in::sign_in_form).post(sign_in::sign_in_password),
        )
        .route(
            "/console/sign-in/second-factor",
            get(sign_in::second_factor_form).post(sign_in::second_factor_submit),
        )
        .route(
            "/console/sign-in/certificate",
            axum::routing::post(sign_in::certificate_sign_in),
        )
        .route(
            "/console/sign-in/second-factor/resend",
            axum::routing::post(sign_in::resend_sms_code),
        )
        .route("/console/my-data", get(my_data::my_data_page))
        .route(
            "/console/clients",
            get(clients::clients_page).post(clients::register),
        )
        .route(
            "/console/seals",
            get(my_data::seals_page).post(my_data::create_seal),
        )
        .route("/console/account", get(sign_in::account_page))
        .route(
            "/console/accounts",
            get(accounts::accounts_page).post(accounts::create_account),
        )
        .route(
            "/console/accounts/roles",
            axum::routing::post(accounts::assign_role),
        )
        .route("/console/cases", get(cases::cases_page))
        .route(
            "/console/cases/new",
            get(cases::new_case_page).post(cases::new_case_form),
        )
        .route("/console/cases/indicators", get(cases::indicators_page))
        .route("/console/cases/map", get(cases::case_map_page))
        .route("/console/patrol", get(cases::patrol_page))
        .route("/console/sms", get(sms::inbox_page))
        .route(
            "/console/sms/{id}/dismiss",
            axum::routing::post(sms::dismiss_form),
        )
        .route("/console/houses/{id}", get(rentals::house_page))
        .route(
            "/console/houses/{id}/tenancies",
            axum::routing::post(rentals::register_form),
        )
        .route(
            "/console/houses/{id}/tenancies/{tenancy}/end",
            axum::routing::post(rentals::move_out_form),
        )
        .route(
            "/console/patrol/visits",
            axum::routing::post(cases::visit_form),
        )
        .route("/console/cases/{id}", get(cases::case_page))
        .route(
            "/console/cases/{id}/actions",
            axum::routing::post(cases::act_form),
        )
        .route("/console/catalogue", get(catalogue::catalogue_page))
        .route("/console/monitoring", get(monitoring::monitoring_page))
        .route("/console/sharing", get(sharing::sharing_page))
        .route(
            "/console/sharing/requests/{id}/decision",
            axum::routing::post(sharing::decide_form),
        )
        .route(
            "/console/sharing/disputes/{id}/answer",
            axum::routing::post(sharing::answer_form),
        )
        .route(
            "/console/catalogue/{classification}/{sequence}",
            get(catalogue::resource_page),
        )
        .route("/console/audit", get(audit::audit_page))
        .route(
            "/console/audit/verify",
            axum::routing::post(audit::verify_log),
        )
        .route("/console/sign-out", axum::routing::post(sign_in::sign_out))
        .route(
            "/console/sign-out-everywhere",
            axum::routing::post(sign_in::sign_out_everywhere),
        )
        .route("/console/lang/{lang}", get(switch_language))
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// What went wrong, in the page's language.
pub(crate) fn problem_text(lang: Lang, error: &ApiError) -> String {
    match error {
        ApiError::Validation(details) => details
            .iter()
            .map(|detail| {
                if lang == Lang::Zh {
                    detail.message_zh.clone()
                } else {
                    detail.message.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("；"),
        other => other.to_string(),
    }
}

/// What every page's layout needs.
struct Chrome {
    lang: Lang,
    t: &'static Texts,
    active: &'static str,
    path: String,
}

impl Chrome {
    fn new(headers: &HeaderMap, query: &LangQuery, active: &'static str, path: &str) -> Chrome {
        let lang = Lang::from_request(headers, query.lang.as_deref());
        Chrome {
            lang,
            t: lang.texts(),
            active,
            path: path.to_owned(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    residents: u64,
    communities: usize,
    grids: usize,
}

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(&headers, &query, "home", "/console");
    let residents = state
        .store
        .count_persons()
        .await
        .map_err(|e| PageError::new(&chrome, e.into()))?;
    let areas = state
        .store
        .areas(&[AreaLevel::Community, AreaLevel::Grid])
        .await
        .map_err(|e| PageError::new(&chrome, e.into()))?;
    let communities = areas
        .iter()
        .filter(|area| area.level == AreaLevel::Community)
        .count();
    let grids = areas.len() - communities;
    Ok(HomePage {
        chrome,
        residents,
        communities,
        grids,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
struct PersonsQuery {
    q: Option<String>,
    area: Option<String>,
    page: Option<u32>,
    lang: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "persons.html")]
struct PersonsPage {
    chrome: Chrome,
    q: String,
    area: String,
    items: Vec<PersonSummaryDto>,
    total: u64,
    page: u32,
    pages: u64,
    previous_link: Option<String>,
    next_link: Option<String>,
}

/// The console's reader, or the way to sign in.
async fn console_reader(
    state: &AppState,
    parts: &axum::http::request::Parts,
    purpose: Option<&str>,
    chrome: &Chrome,
) -> Result<Result<crate::access::Reader, Response>, PageError> {
    match crate::access::Reader::of(state, parts, purpose).await {
        Ok(reader) => Ok(Ok(reader)),
        Err(ApiError::Unauthenticated) => Ok(Err(Redirect::to("/console/sign-in").into_response())),
        Err(error) => Err(PageError::new(chrome, error)),
    }
}

async fn persons(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Query(query): Query<PersonsQuery>,
) -> Result<Response, PageError> {
    let headers = &parts.headers;
    let chrome = Chrome::new(
        headers,
        &LangQuery {
            lang: query.lang.clone(),
        },
        "persons",
        "/console/persons",
    );
    let reader = match console_reader(&state, &parts, None, &chrome).await? {
        Ok(reader) => reader,
        Err(sign_in) => return Ok(sign_in),
    };
    let q = query.q.clone().unwrap_or_default().trim().to_owned();
    if let Ok(id) = CitizenId::parse(&q) {
        return Ok(Redirect::to(&format!("/console/persons/{}", id.as_str())).into_response());
    }
    let is_initials = !q.is_empty() && q.chars().all(|c| c.is_ascii_alphabetic());
    let params = PersonSearchParams {
        name: (!is_initials && !q.is_empty()).then(|| q.clone()),
        initials: if is_initials {
            normalise_initials(&q)
        } else {
            None
        },
        area: query.area.clone(),
    };
    let mut search = api::person_query(&params).map_err(|e| PageError::new(&chrome, e))?;
    search.within = Some(reader.access.scope.clone());
    let request = api::PageParams {
        page: query.page,
        per_page: Some(20),
    }
    .request();
    let page = state
        .store
        .search_persons(&search, request)
        .await
        .map_err(|e| PageError::new(&chrome, e.into()))?;
    let events: Vec<_> = page
        .items
        .iter()
        .map(|item| {
            reader.event(
                "person.search",
                item.citizen_id.as_str(),
                item.grid.as_deref(),
                huimin_domain::audit::Outcome::Allowed,
            )
        })
        .collect();
    reader
        .record(&state, &events)
        .await
        .map_err(|e| PageError::new(&chrome, e))?;
    let pages = page.total.div_ceil(u64::from(request.per_page)).max(1);
    let area = query.area.clone().unwrap_or_default();
    let link = |page_number: u32| {
        format!(
            "/console/persons?q={}&area={}&page={page_number}",
            url_encode(&q),
            url_encode(&area)
        )
    };
    Ok(PersonsPage {
        previous_link: (request.page > 1).then(|| link(request.page - 1)),
        next_link: (u64::from(request.page) < pages).then(|| link(request.page + 1)),
        chrome,
        q,
        area,
        total: page.total,
        page: request.page,
        pages,
        items: page
            .items
            .into_iter()
            .map(|summary| {
                let mut dto = PersonSummaryDto::from(summary);
                dto.citizen_id = reader.citizen_id(&dto.citizen_id, dto.grid.as_deref());
                dto
            })
            .collect(),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: Chrome,
    view: Person360Dto,
}

impl PersonPage {
    fn sex_label(&self) -> &'static str {
        if self.view.person.sex == "male" {
            self.chrome.t.male
        } else {
            self.chrome.t.female
        }
    }

    fn tag_labels(&self) -> String {
        let labels: Vec<&str> = self
            .view
            .person
            .tags
            .iter()
            .filter_map(|code| huimin_domain::registry::PersonTag::parse(code))
            .map(|tag| {
                if self.chrome.lang == Lang::Zh {
                    tag.label_zh()
                } else {
                    tag.code()
                }
            })
            .collect();
        if labels.is_empty() {
            self.chrome.t.none.to_owned()
        } else {
            labels.join("、")
        }
    }

    fn status_label(&self) -> &'static str {
        match huimin_domain::registry::LifeStatus::parse(&self.view.person.life_status) {
            Some(status) if self.chrome.lang == Lang::Zh => status.label_zh(),
            Some(status) => status.code(),
            None => "",
        }
    }
}

#[derive(Debug, Deserialize)]
struct PersonPageQuery {
    lang: Option<String>,
    /// `KIND REFERENCE`: shows sensitive fields to a role that may read them.
    purpose: Option<String>,
}

async fn person(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Path(citizen_id): Path<String>,
    Query(query): Query<PersonPageQuery>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(
        &parts.headers,
        &LangQuery {
            lang: query.lang.clone(),
        },
        "persons",
        &format!("/console/persons/{citizen_id}"),
    );
    let reader = match console_reader(&state, &parts, query.purpose.as_deref(), &chrome).await? {
        Ok(reader) => reader,
        Err(sign_in) => return Ok(sign_in),
    };
    let id = crate::api::parse_citizen_id(&citizen_id).map_err(|e| PageError::new(&chrome, e))?;
    let view = api::load_person_360(&state, &reader, &id)
        .await
        .map_err(|e| PageError::new(&chrome, e))?;
    Ok(PersonPage { chrome, view }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "map.html")]
struct MapPage {
    chrome: Chrome,
}

async fn map(headers: HeaderMap, Query(query): Query<LangQuery>) -> Response {
    MapPage {
        chrome: Chrome::new(&headers, &query, "map", "/console/map"),
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    chrome: Chrome,
    population: PopulationDto,
    population_json: String,
}

impl StatisticsPage {
    fn ageing_percent(&self) -> String {
        format!("{:.1}%", self.population.ageing_rate * 100.0)
    }
}

async fn statistics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(&headers, &query, "statistics", "/console/statistics");
    let population = api::load_population(&state, "")
        .await
        .map_err(|e| PageError::new(&chrome, e))?;
    let population_json = serde_json::to_string(&population).map_err(|e| {
        PageError::new(
            &chrome,
            ApiError::Unavailable(format!("statistics could not be encoded: {e}")),
        )
    })?;
    // Safe inside <script type="application/json">: no "<" can close the element.
    let population_json = population_json.replace('<', "\\u003c");
    Ok(StatisticsPage {
        chrome,
        population,
        population_json,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
struct BackQuery {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page the switch was clicked on (only
/// console paths, so the switch cannot be used as an open redirect).
async fn switch_language(Path(lang): Path<String>, Query(query): Query<BackQuery>) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let back = query
        .back
        .filter(|back| back.starts_with("/console") && !back.starts_with("//"))
        .unwrap_or_else(|| "/console".to_owned());
    (
        [(
            header::SET_COOKIE,
            format!("lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn url_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    title: &'static str,
    message: String,
}

/// An API error shown as an HTML page with the same status.
pub(crate) struct PageError {
    status: StatusCode,
    page: ErrorPage,
}

impl PageError {
    fn new(chrome: &Chrome, error: ApiError) -> PageError {
        let status = error.status();
        let t = chrome.t;
        let (title, message) = match &error {
            ApiError::NotFound { .. } => (t.not_found_title, t.not_found_text.to_owned()),
            ApiError::BadRequest { message, .. } => (t.invalid_input_title, message.clone()),
            ApiError::Validation(details) => (
                t.invalid_input_title,
                details
                    .iter()
                    .map(|detail| {
                        if chrome.lang == Lang::Zh {
                            detail.message_zh.clone()
                        } else {
                            detail.message.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => {
                tracing::error!(error = %other, "page failed");
                (
                    "500",
                    "an internal error occurred; it has been logged".to_owned(),
                )
            }
        };
        PageError {
            status,
            page: ErrorPage {
                chrome: Chrome {
                    lang: chrome.lang,
                    t: chrome.t,
                    active: chrome.active,
                    path: chrome.path.clone(),
                },
                title,
                message,
            },
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.status, self.page).into_response()
    }
}
