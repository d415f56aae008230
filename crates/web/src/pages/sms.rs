//! `/console/sms`: the hotline's SMS inbox — the messages waiting, oldest first, each
//! taken as a ticket on the ticket form (`/console/cases/new?sms=ID`) or dismissed with
//! a reason here. Through the API's own functions, so the page and `/api/v1/sms` answer
//! alike.

use super::cases::{CaseTexts, cases_chrome, texts};
use super::{Chrome, PageError, problem_text};
use crate::api::{SmsDto, SmsQuery};
use crate::error::ApiError;
use crate::session::{self, same_token};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "sms_inbox.html")]
struct InboxPage {
    chrome: Chrome,
    c: &'static CaseTexts,
    csrf: String,
    messages: Vec<SmsDto>,
    total: u64,
    problem: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InboxQuery {
    lang: Option<String>,
    page: Option<u32>,
}

async fn render(
    state: &AppState,
    parts: &Parts,
    chrome: Chrome,
    page: Option<u32>,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let principal = match crate::api::inbox_worker(state, parts).await {
        Ok(principal) => principal,
        Err(ApiError::Unauthenticated) => {
            return Ok(Redirect::to("/console/sign-in").into_response());
        }
        Err(error) => return Err(PageError::new(&chrome, error)),
    };
    let query = SmsQuery {
        status: None,
        page,
        per_page: Some(50),
    };
    let found = crate::api::inbox_page(state, &query)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    crate::api::audit_list(state, parts, &principal, found.items.len())
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let status = if problem.is_some() {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        InboxPage {
            c: texts(chrome.lang),
            chrome,
            csrf: principal.csrf_token.clone(),
            messages: found
                .items
                .iter()
                .map(|message| crate::api::sms_dto(message, true))
                .collect(),
            total: found.total,
            problem,
        },
    )
        .into_response())
}

pub(crate) async fn inbox_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), "/console/sms");
    render(&state, &parts, chrome, query.page, None).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct DismissForm {
    csrf: String,
    reason: String,
}

pub(crate) async fn dismiss_form(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    Form(form): Form<DismissForm>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, None, "/console/sms");
    let Some(principal) = session::principal(&state, &parts.headers, state.clock.now())
        .await
        .map_err(|error| PageError::new(&chrome, error))?
    else {
        return Ok(Redirect::to("/console/sign-in").into_response());
    };
    if !same_token(&principal.csrf_token, &form.csrf) {
        return Ok(super::sign_in::refused_form(&parts.headers));
    }
    match crate::api::dismiss_message(&state, &parts, id, &form.reason).await {
        Ok(_) => Ok(Redirect::to("/console/sms").into_response()),
        Err(ApiError::Storage(error)) => Err(PageError::new(&chrome, ApiError::Storage(error))),
        Err(problem) => {
            let text = problem_text(chrome.lang, &problem);
            render(&state, &parts, chrome, None, Some(text)).await
        }
    }
}
