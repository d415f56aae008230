//! The console's sharing desk (共享审核): for a department's staff, the sharing requests
//! waiting for its decision, with a form to grant or refuse each; the requests it made or
//! received; and the disputes routed to it, with a form to answer each. The forms post to
//! the same functions as the API. The city administrator sees every department's. Staff
//! whose roles name no department, and anyone else signed in, get 404.

use super::sign_in::Refusal;
use super::{Chrome, LangQuery, PageError};
use crate::api::{DecisionInputDto, DisputeAnswerDto, DisputeDto, SharingRequestDto};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::{self, Principal, same_token};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use huimin_domain::catalogue::DepartmentId;
use huimin_domain::identity::{AccountKind, Role};
use huimin_domain::storage::{DisputeQuery, PageRequest, SharingQuery};
use serde::Deserialize;

pub(crate) struct SharingTexts {
    title: &'static str,
    pending: &'static str,
    none_pending: &'static str,
    all: &'static str,
    none: &'static str,
    disputes: &'static str,
    none_disputes: &'static str,
    id: &'static str,
    consumer: &'static str,
    provider: &'static str,
    resource: &'static str,
    items: &'static str,
    purpose: &'static str,
    legal_basis: &'static str,
    deadline: &'static str,
    overdue: &'static str,
    status: &'static str,
    valid_until: &'static str,
    grant: &'static str,
    refuse: &'static str,
    reason: &'static str,
    decide: &'static str,
    field: &'static str,
    subject: &'static str,
    registry_value: &'static str,
    source_value: &'static str,
    source: &'static str,
    registry_correct: &'static str,
    source_correct: &'static str,
    note: &'static str,
    answer: &'static str,
    done: &'static str,
}

static ZH: SharingTexts = SharingTexts {
    title: "共享审核与数据异议",
    pending: "待本部门审核的共享申请",
    none_pending: "没有待审核的申请。",
    all: "本部门的申请与授权",
    none: "还没有共享申请。",
    disputes: "待本部门答复的数据异议",
    none_disputes: "没有待答复的数据异议。",
    id: "编号",
    consumer: "申请部门",
    provider: "提供部门",
    resource: "信息资源",
    items: "信息项",
    purpose: "用途",
    legal_basis: "依据",
    deadline: "审核期限",
    overdue: "已超期",
    status: "状态",
    valid_until: "有效期至",
    grant: "同意共享",
    refuse: "不予共享",
    reason: "理由（不予共享时必填）",
    decide: "提交",
    field: "字段",
    subject: "主体",
    registry_value: "基础库（权威来源）",
    source_value: "其他来源",
    source: "来源资源",
    registry_correct: "以权威来源为准",
    source_correct: "权威来源更正",
    note: "说明（更正时必填）",
    answer: "答复",
    done: "已处理。",
};

static EN: SharingTexts = SharingTexts {
    title: "Sharing decisions and disputes",
    pending: "Requests waiting for your department's decision",
    none_pending: "No request is waiting.",
    all: "Your department's requests and grants",
    none: "No sharing request yet.",
    disputes: "Disputes waiting for your department's answer",
    none_disputes: "No dispute is waiting.",
    id: "No.",
    consumer: "Consumer",
    provider: "Provider",
    resource: "Resource",
    items: "Items",
    purpose: "Purpose",
    legal_basis: "Legal basis",
    deadline: "Decide by",
    overdue: "overdue",
    status: "Status",
    valid_until: "Valid until",
    grant: "Grant",
    refuse: "Refuse",
    reason: "Reason (required to refuse)",
    decide: "Submit",
    field: "Field",
    subject: "Subject",
    registry_value: "Registry (authoritative)",
    source_value: "Other source",
    source: "Source resource",
    registry_correct: "The authoritative value stands",
    source_correct: "The authority will correct its data",
    note: "Note (required to correct)",
    answer: "Answer",
    done: "Done.",
};

#[derive(Template, WebTemplate)]
#[template(path = "sharing.html")]
struct SharingPage {
    chrome: Chrome,
    s: &'static SharingTexts,
    csrf: String,
    pending: Vec<SharingRequestDto>,
    requests: Vec<SharingRequestDto>,
    disputes: Vec<DisputeDto>,
    problem: Option<String>,
    done: bool,
}

/// The departments whose desk the caller sees (`None`: every one, the city administrator).
fn desk_of(principal: &Principal) -> Option<Option<DepartmentId>> {
    if principal
        .roles
        .iter()
        .any(|held| held.role == Role::CityAdministrator)
    {
        return Some(None);
    }
    principal
        .roles
        .iter()
        .filter_map(|held| held.department.as_deref())
        .find_map(|department| DepartmentId::parse(department).ok())
        .map(Some)
}

async fn signed_in_staff(
    state: &AppState,
    parts: &Parts,
) -> Result<Result<Principal, Refusal>, ApiError> {
    Ok(
        match session::principal(state, &parts.headers, state.clock.now()).await? {
            None => Err(Refusal::SignIn),
            Some(principal)
                if principal.account.kind == AccountKind::Staff
                    && desk_of(&principal).is_some() =>
            {
                Ok(principal)
            }
            Some(_) => Err(Refusal::NotFound),
        },
    )
}

async fn render(
    state: &AppState,
    parts: &Parts,
    chrome: Chrome,
    principal: &Principal,
    problem: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let department = desk_of(principal).flatten();
    let today = state.clock.today();
    let page = PageRequest::new(1, 50);
    let pending = state
        .sharing
        .sharing_requests(
            &SharingQuery {
                provider: department.clone(),
                status: Some("pending".into()),
                ..SharingQuery::default()
            },
            page,
        )
        .await?
        .items;
    let requests = state
        .sharing
        .sharing_requests(
            &SharingQuery {
                party: department.clone(),
                ..SharingQuery::default()
            },
            page,
        )
        .await?
        .items;
    let disputes = state
        .disputes
        .disputes(
            &DisputeQuery {
                authority: department,
                open: Some(true),
                ..DisputeQuery::default()
            },
            page,
        )
        .await?
        .items;
    crate::api::record_reads(state, parts, principal, &disputes).await?;
    let days = state.config.decision_days;
    let status = if problem.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        SharingPage {
            s: match chrome.lang {
                Lang::Zh => &ZH,
                Lang::En => &EN,
            },
            chrome,
            csrf: principal.csrf_token.clone(),
            pending: pending
                .iter()
                .map(|request| SharingRequestDto::of(request, today))
                .collect(),
            requests: requests
                .iter()
                .map(|request| SharingRequestDto::of(request, today))
                .collect(),
            disputes: disputes
                .iter()
                .map(|dispute| DisputeDto::of(dispute, today, days))
                .collect(),
            problem,
            done,
        },
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeskQuery {
    lang: Option<String>,
    done: Option<String>,
}

/// The desk's page chrome, in `lang` or the visitor's language.
fn desk_chrome(parts: &Parts, lang: Option<String>) -> Chrome {
    Chrome::new(
        &parts.headers,
        &LangQuery { lang },
        "sharing",
        "/console/sharing",
    )
}

pub(crate) async fn sharing_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<DeskQuery>,
) -> Result<Response, PageError> {
    let chrome = desk_chrome(&parts, query.lang.clone());
    let failed = |error: ApiError| PageError::new(&desk_chrome(&parts, None), error);
    let principal = match signed_in_staff(&state, &parts).await.map_err(failed)? {
        Ok(principal) => principal,
        Err(refusal) => return Ok(refusal.respond(&chrome)),
    };
    render(
        &state,
        &parts,
        chrome,
        &principal,
        None,
        query.done.is_some(),
    )
    .await
    .map_err(failed)
}

#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AnswerForm {
    csrf: String,
    resolution: String,
    #[serde(default)]
    note: String,
}

/// A form's answer: back to the desk on success, the desk with the problem otherwise.
async fn after_form(
    state: &AppState,
    parts: &Parts,
    csrf: &str,
    act: impl std::future::Future<Output = Result<(), ApiError>>,
) -> Result<Response, PageError> {
    let chrome = desk_chrome(parts, None);
    let failed = |error: ApiError| PageError::new(&desk_chrome(parts, None), error);
    let principal = match signed_in_staff(state, parts).await.map_err(failed)? {
        Ok(principal) => principal,
        Err(refusal) => return Ok(refusal.respond(&chrome)),
    };
    if !same_token(&principal.csrf_token, csrf) {
        return Ok(super::sign_in::refused_form(&parts.headers));
    }
    match act.await {
        Ok(()) => Ok(Redirect::to("/console/sharing?done=1").into_response()),
        Err(ApiError::Storage(error)) => Err(failed(ApiError::Storage(error))),
        Err(problem) => {
            let message = match &problem {
                ApiError::Validation(details) => details
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            render(state, parts, chrome, &principal, Some(message), false)
                .await
                .map_err(failed)
        }
    }
}

pub(crate) async fn decide_form(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let input = DecisionInputDto {
        decision: form.decision,
        reason: form.reason,
    };
    let act = async {
        crate::api::decide(&state, &parts, id, &input)
            .await
            .map(|_| ())
    };
    after_form(&state, &parts, &form.csrf, act).await
}

pub(crate) async fn answer_form(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let input = DisputeAnswerDto {
        resolution: form.resolution,
        note: form.note,
    };
    let act = async {
        crate::api::answer(&state, &parts, id, &input)
            .await
            .map(|_| ())
    };
    after_form(&state, &parts, &form.csrf, act).await
}
