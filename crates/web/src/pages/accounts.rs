//! The security administrator's page: accounts, their roles, and the forms that create an
//! account and assign a role. Refusals (a taken login, a short or common password, the
//! three administrators combined) are shown on the page with status 422; every change is
//! audited. Only an account holding the security administrator role sees the page.

use super::sign_in::{require_role, require_role_form};
use super::{Chrome, LangQuery, PageError};
use crate::accounts::{AccountError, NewAccount, add_account};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::Principal;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use huimin_domain::audit::AuditEvent;
use huimin_domain::identity::{Role, RoleAssignment, check_assignment};
use huimin_domain::storage::PageRequest;
use serde::Deserialize;

#[derive(Debug)]
pub(crate) struct AccountTexts {
    title: &'static str,
    login: &'static str,
    name: &'static str,
    kind: &'static str,
    roles: &'static str,
    second_factor: &'static str,
    locked_until: &'static str,
    enrolled: &'static str,
    not_enrolled: &'static str,
    create: &'static str,
    password: &'static str,
    role: &'static str,
    jurisdiction: &'static str,
    department: &'static str,
    assign: &'static str,
    created: &'static str,
    assigned: &'static str,
}

static ZH: AccountTexts = AccountTexts {
    title: "账号与角色管理",
    login: "登录名",
    name: "姓名",
    kind: "类型",
    roles: "角色",
    second_factor: "动态验证码",
    locked_until: "锁定至",
    enrolled: "已绑定",
    not_enrolled: "未绑定",
    create: "新建账号",
    password: "初始密码（至少 12 个字符）",
    role: "角色",
    jurisdiction: "辖区代码",
    department: "部门（可选）",
    assign: "分配角色",
    created: "账号已创建。",
    assigned: "角色已分配。",
};

static EN: AccountTexts = AccountTexts {
    title: "Accounts and roles",
    login: "Login name",
    name: "Name",
    kind: "Kind",
    roles: "Roles",
    second_factor: "One-time code",
    locked_until: "Locked until",
    enrolled: "set up",
    not_enrolled: "not set up",
    create: "New account",
    password: "Initial password (12 characters or more)",
    role: "Role",
    jurisdiction: "Jurisdiction code",
    department: "Department (optional)",
    assign: "Assign a role",
    created: "The account was created.",
    assigned: "The role was assigned.",
};

struct AccountRow {
    login: String,
    name: String,
    kind: &'static str,
    roles: String,
    enrolled: bool,
    locked_until: String,
}

struct RoleChoice {
    code: &'static str,
    name: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    a: &'static AccountTexts,
    csrf: String,
    rows: Vec<AccountRow>,
    choices: Vec<RoleChoice>,
    message: Option<String>,
    problem: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    department: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    department: String,
}

fn texts(lang: Lang) -> &'static AccountTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

async fn page(
    state: &AppState,
    chrome: Chrome,
    principal: &Principal,
    message: Option<String>,
    problem: Option<String>,
) -> Result<AccountsPage, ApiError> {
    let zh = chrome.lang == Lang::Zh;
    let accounts = state
        .identity
        .accounts(PageRequest::new(1, PageRequest::MAX_PER_PAGE))
        .await?;
    let mut rows = Vec::new();
    for account in accounts.items {
        let roles = state.identity.role_assignments(&account.login).await?;
        rows.push(AccountRow {
            roles: roles
                .iter()
                .map(|held| {
                    format!(
                        "{} @ {}",
                        if zh {
                            held.role.name_zh()
                        } else {
                            held.role.name_en()
                        },
                        held.jurisdiction
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            enrolled: account.totp_enrolled_at.is_some(),
            locked_until: account
                .locked_until
                .filter(|until| *until > state.clock.now())
                .map(huimin_domain::time::shanghai_display)
                .unwrap_or_default(),
            kind: account.kind.code(),
            login: account.login,
            name: account.display_name,
        });
    }
    Ok(AccountsPage {
        a: texts(chrome.lang),
        csrf: principal.csrf_token.clone(),
        rows,
        choices: Role::ALL
            .iter()
            .map(|role| RoleChoice {
                code: role.code(),
                name: if zh { role.name_zh() } else { role.name_en() },
            })
            .collect(),
        message,
        problem,
        chrome,
    })
}

fn chrome_of(parts: &Parts, lang: Option<String>) -> Chrome {
    Chrome::new(
        &parts.headers,
        &LangQuery { lang },
        "accounts",
        "/console/accounts",
    )
}

pub(crate) async fn accounts_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let chrome = chrome_of(&parts, query.lang.clone());
    let failed = |error: ApiError| PageError::new(&chrome_of(&parts, None), error);
    let principal = match require_role(
        &state,
        &parts.headers,
        state.clock.now(),
        Role::SecurityAdministrator,
    )
    .await
    .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(refusal) => return Ok(refusal.respond(&chrome)),
    };
    let t = texts(chrome.lang);
    let message = match query.done.as_deref() {
        Some("created") => Some(t.created.to_owned()),
        Some("assigned") => Some(t.assigned.to_owned()),
        _ => None,
    };
    Ok(page(&state, chrome, &principal, message, None)
        .await
        .map_err(failed)?
        .into_response())
}

/// The signed-in security administrator behind a form with the right CSRF token.
async fn administrator(
    state: &AppState,
    parts: &Parts,
    csrf: &str,
) -> Result<Result<Principal, Response>, ApiError> {
    require_role_form(
        state,
        parts,
        Role::SecurityAdministrator,
        csrf,
        &chrome_of(parts, None),
    )
    .await
}

async fn refused(
    state: &AppState,
    parts: &Parts,
    principal: &Principal,
    problem: String,
) -> Result<Response, ApiError> {
    let page = page(
        state,
        chrome_of(parts, None),
        principal,
        None,
        Some(problem),
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

fn department(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn unknown_role(code: &str) -> String {
    format!("unknown role '{code}' / 未知角色")
}

pub(crate) async fn create_account(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    let failed = |error: ApiError| PageError::new(&chrome_of(&parts, None), error);
    let principal = match administrator(&state, &parts, &form.csrf)
        .await
        .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(response) => return Ok(response),
    };
    let Some(role) = Role::parse(form.role.trim()) else {
        return refused(&state, &parts, &principal, unknown_role(&form.role))
            .await
            .map_err(failed);
    };
    let actor = principal.actor(&parts);
    let new = NewAccount {
        login: form.login.trim().to_lowercase(),
        display_name: form.name.trim().to_owned(),
        password: form.password,
        role,
        jurisdiction: form.jurisdiction.trim().to_owned(),
        department: department(&form.department),
        citizen_id: None,
    };
    match add_account(state.identity.as_ref(), new, &actor, state.clock.now()).await {
        Ok(()) => Ok(Redirect::to("/console/accounts?done=created").into_response()),
        Err(AccountError::Storage(error)) => Err(failed(error.into())),
        Err(problem) => refused(&state, &parts, &principal, problem.to_string())
            .await
            .map_err(failed),
    }
}

pub(crate) async fn assign_role(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    let failed = |error: ApiError| PageError::new(&chrome_of(&parts, None), error);
    let principal = match administrator(&state, &parts, &form.csrf)
        .await
        .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(response) => return Ok(response),
    };
    let Some(role) = Role::parse(form.role.trim()) else {
        return refused(&state, &parts, &principal, unknown_role(&form.role))
            .await
            .map_err(failed);
    };
    let login = form.login.trim().to_lowercase();
    let Some(account) = state
        .identity
        .account(&login)
        .await
        .map_err(|e| failed(e.into()))?
    else {
        let problem = format!("no account is called '{login}' / 没有此账号");
        return refused(&state, &parts, &principal, problem)
            .await
            .map_err(failed);
    };
    let now = state.clock.now();
    let assignment = RoleAssignment {
        role,
        jurisdiction: form.jurisdiction.trim().to_owned(),
        department: department(&form.department),
        valid_from: now,
        valid_until: None,
    };
    let held = state
        .identity
        .role_assignments(&login)
        .await
        .map_err(|e| failed(e.into()))?;
    if let Err(problem) = check_assignment(account.kind, &held, &assignment) {
        return refused(&state, &parts, &principal, problem.to_string())
            .await
            .map_err(failed);
    }
    let actor = principal.actor(&parts);
    let event = AuditEvent {
        jurisdiction: assignment.jurisdiction.clone(),
        detail: format!("role {}", role.code()),
        ..actor.event("account.assign_role", "account", login.clone())
    };
    state
        .identity
        .assign_role(&login, &assignment, &event, now)
        .await
        .map_err(|e| failed(e.into()))?;
    Ok(Redirect::to("/console/accounts?done=assigned").into_response())
}
