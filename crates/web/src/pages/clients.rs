//! The security administrator's single sign-on clients: the systems registered to sign
//! their users in through Huimin, and the form that registers one (a confidential
//! client's secret is shown once, on the answer to the form). Registration is audited.

use super::sign_in::{require_role, require_role_form};
use super::{Chrome, LangQuery, PageError};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::oidc::{ClientError, NewClient, register_client};
use crate::session::Principal;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use huimin_domain::identity::Role;
use serde::Deserialize;

#[derive(Debug)]
pub(crate) struct ClientTexts {
    title: &'static str,
    intro: &'static str,
    client_id: &'static str,
    name: &'static str,
    kind: &'static str,
    confidential: &'static str,
    public: &'static str,
    party: &'static str,
    first_party: &'static str,
    third_party: &'static str,
    redirect_uris: &'static str,
    post_logout: &'static str,
    register: &'static str,
    public_label: &'static str,
    first_party_label: &'static str,
    secret_once: &'static str,
    registered: &'static str,
    none: &'static str,
}

static ZH: ClientTexts = ClientTexts {
    title: "单点登录接入系统",
    intro: "登记后，这些系统可以让用户用惠民账号登录（OpenID Connect，授权码模式，须使用 PKCE）。回调地址须完全一致。",
    client_id: "客户端标识",
    name: "系统名称",
    kind: "类型",
    confidential: "机密客户端（服务器端）",
    public: "公开客户端（浏览器或手机应用）",
    party: "归属",
    first_party: "本市系统（免授权确认）",
    third_party: "第三方（须用户同意）",
    redirect_uris: "回调地址（每行一个）",
    post_logout: "退出后跳转地址（每行一个，可空）",
    register: "登记",
    public_label: "公开客户端（无密钥，仅 PKCE）",
    first_party_label: "本市系统，用户无须逐一同意",
    secret_once: "已登记。客户端密钥只显示这一次，请存入该系统的密钥库：",
    registered: "已登记。",
    none: "尚未登记任何系统。",
};

static EN: ClientTexts = ClientTexts {
    title: "Single sign-on clients",
    intro: "Registered systems may sign their users in with Huimin accounts (OpenID Connect, authorization code with PKCE). Redirect URIs must match exactly.",
    client_id: "Client id",
    name: "System name",
    kind: "Kind",
    confidential: "confidential (server side)",
    public: "public (browser or phone app)",
    party: "Party",
    first_party: "the city's own (no consent screen)",
    third_party: "third party (users consent)",
    redirect_uris: "Redirect URIs (one per line)",
    post_logout: "Post-logout redirect URIs (one per line, optional)",
    register: "Register",
    public_label: "Public client (no secret, PKCE only)",
    first_party_label: "The city's own system: users are not asked to consent",
    secret_once: "Registered. The client secret is shown this once; put it in the system's secret store:",
    registered: "Registered.",
    none: "No system is registered yet.",
};

fn texts(lang: Lang) -> &'static ClientTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

struct ClientRow {
    client_id: String,
    name: String,
    confidential: bool,
    first_party: bool,
    redirect_uris: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "clients.html")]
struct ClientsPage {
    chrome: Chrome,
    c: &'static ClientTexts,
    csrf: String,
    rows: Vec<ClientRow>,
    problem: Option<String>,
    /// After registering: the secret of a confidential client, or "" for a public one.
    registered: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    first_party: Option<String>,
    #[serde(default)]
    csrf: String,
}

fn chrome_of(parts: &Parts, lang: Option<String>) -> Chrome {
    Chrome::new(
        &parts.headers,
        &LangQuery { lang },
        "clients",
        "/console/clients",
    )
}

async fn render(
    state: &AppState,
    chrome: Chrome,
    principal: &Principal,
    problem: Option<String>,
    registered: Option<String>,
) -> Result<Response, ApiError> {
    let rows = state
        .oidc
        .oidc_clients()
        .await?
        .into_iter()
        .map(|client| ClientRow {
            confidential: client.is_confidential(),
            first_party: client.first_party,
            redirect_uris: client.redirect_uris.join(" "),
            client_id: client.client_id,
            name: client.name,
        })
        .collect();
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        ClientsPage {
            c: texts(chrome.lang),
            chrome,
            csrf: principal.csrf_token.clone(),
            rows,
            problem,
            registered,
        },
    )
        .into_response())
}

pub(crate) async fn clients_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<LangQuery>,
) -> Result<Response, PageError> {
    let chrome = chrome_of(&parts, query.lang.clone());
    let failed = |error: ApiError| PageError::new(&chrome_of(&parts, None), error);
    let now = state.clock.now();
    let principal = match require_role(&state, &parts.headers, now, Role::SecurityAdministrator)
        .await
        .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(refusal) => return Ok(refusal.respond(&chrome)),
    };
    render(&state, chrome, &principal, None, None)
        .await
        .map_err(failed)
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn register(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    let chrome = chrome_of(&parts, None);
    let failed = |error: ApiError| PageError::new(&chrome_of(&parts, None), error);
    let now = state.clock.now();
    let principal = match require_role_form(
        &state,
        &parts,
        Role::SecurityAdministrator,
        &form.csrf,
        &chrome,
    )
    .await
    .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(refused) => return Ok(refused),
    };
    let new = NewClient {
        client_id: form.client_id.trim().to_lowercase(),
        name: form.name.trim().to_owned(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        public: form.public.is_some(),
        first_party: form.first_party.is_some(),
    };
    let actor = principal.actor(&parts);
    let (problem, registered) = match register_client(state.oidc.as_ref(), new, &actor, now).await {
        Ok(secret) => (None, Some(secret.unwrap_or_default())),
        Err(ClientError::Storage(error)) => return Err(failed(error.into())),
        Err(problem) => (Some(problem.to_string()), None),
    };
    render(&state, chrome, &principal, problem, registered)
        .await
        .map_err(failed)
}
