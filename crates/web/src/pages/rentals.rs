//! A house's page for the grid worker (出租屋, issue 5), opened from the QR code on its
//! doorplate: the house, its current tenants and their history with late registrations
//! flagged, and forms to register a tenant and a moving out — through the API's own
//! `house_tenants`, `register` and `move_out`.

use super::{Chrome, PageError, problem_text};
use crate::api::{HouseTenantsDto, MoveOutBody};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::{self, same_token};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use huimin_domain::rental::TenancyDraft;
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "house.html")]
struct HousePage {
    chrome: Chrome,
    zh: bool,
    house: HouseTenantsDto,
    /// The doorplate's QR code (SVG) of this page's address.
    qr: String,
    csrf: String,
    problem: Option<String>,
    done: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HouseQuery {
    lang: Option<String>,
    done: Option<String>,
    purpose: Option<String>,
}

fn chrome(parts: &Parts, lang: Option<String>, id: &str) -> Chrome {
    super::cases::cases_chrome(parts, lang, &format!("/console/houses/{id}"))
}

/// A QR code of `text` as SVG.
fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(160, 160)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

async fn render(
    state: &AppState,
    parts: &Parts,
    chrome: Chrome,
    id: &str,
    purpose: Option<&str>,
    problem: Option<String>,
    done: bool,
) -> Result<Response, PageError> {
    let Some(principal) = session::principal(state, &parts.headers, state.clock.now())
        .await
        .map_err(|error| PageError::new(&chrome, error))?
    else {
        return Ok(Redirect::to("/console/sign-in").into_response());
    };
    let house = crate::api::house_tenants(state, parts, id, purpose)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let status = if problem.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        HousePage {
            zh: chrome.lang == Lang::Zh,
            qr: qr_svg(&format!(
                "{}/console/houses/{}",
                state.config.issuer, house.house_id
            )),
            chrome,
            house,
            csrf: principal.csrf_token.clone(),
            problem,
            done,
        },
    )
        .into_response())
}

pub(crate) async fn house_page(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Query(query): Query<HouseQuery>,
) -> Result<Response, PageError> {
    let chrome = chrome(&parts, query.lang.clone(), &id);
    render(
        &state,
        &parts,
        chrome,
        &id,
        query.purpose.as_deref(),
        None,
        query.done.is_some(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct TenantForm {
    csrf: String,
    citizen_id: String,
    #[serde(default)]
    name: String,
    moved_in: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MoveOutForm {
    csrf: String,
    moved_out: String,
}

/// A form's answer: back to the house on success, the house with the problem otherwise.
async fn after(
    state: &AppState,
    parts: &Parts,
    id: &str,
    csrf: &str,
    act: impl std::future::Future<Output = Result<(), ApiError>>,
) -> Result<Response, PageError> {
    let chrome = chrome(parts, None, id);
    let Some(principal) = session::principal(state, &parts.headers, state.clock.now())
        .await
        .map_err(|error| PageError::new(&chrome, error))?
    else {
        return Ok(Redirect::to("/console/sign-in").into_response());
    };
    if !same_token(&principal.csrf_token, csrf) {
        return Ok(super::sign_in::refused_form(&parts.headers));
    }
    match act.await {
        Ok(()) => Ok(Redirect::to(&format!("/console/houses/{id}?done=1")).into_response()),
        Err(ApiError::Storage(error)) => Err(PageError::new(&chrome, ApiError::Storage(error))),
        Err(problem) => {
            let text = problem_text(chrome.lang, &problem);
            render(state, parts, chrome, id, None, Some(text), false).await
        }
    }
}

pub(crate) async fn register_form(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<TenantForm>,
) -> Result<Response, PageError> {
    let draft = TenancyDraft {
        citizen_id: form.citizen_id,
        name: Some(form.name),
        moved_in: form.moved_in,
    };
    let act = async {
        crate::api::register(&state, &parts, &id, &draft)
            .await
            .map(|_| ())
    };
    after(&state, &parts, &id, &form.csrf, act).await
}

pub(crate) async fn move_out_form(
    State(state): State<AppState>,
    parts: Parts,
    Path((id, tenancy)): Path<(String, u64)>,
    Form(form): Form<MoveOutForm>,
) -> Result<Response, PageError> {
    let body = MoveOutBody {
        moved_out: form.moved_out,
    };
    let act = async {
        crate::api::move_out(&state, &parts, &id, tenancy, &body)
            .await
            .map(|_| ())
    };
    after(&state, &parts, &id, &form.csrf, act).await
}
