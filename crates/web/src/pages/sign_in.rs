//! Signing in and out: the password step, the TOTP step (with enrolment by QR code at the
//! first sign-in of a staff account), the account page, sign-out and sign-out everywhere.
//!
//! A wrong password, an unknown login and a locked account get the same status, the same
//! page and the same work (one Argon2id verification and one audited write), so the
//! answer does not tell whether an account exists. Every attempt is in the audit log.

use super::{Chrome, LangQuery};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::{
    self, CSRF_COOKIE, Principal, SESSION_COOKIE, client_address, cookie, random_bytes,
    random_token, request_id, same_token, set_cookie, token_hash,
};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use huimin_domain::audit::{Actor, AuditEvent, Outcome};
use huimin_domain::identity::{
    Account, AccountKind, SecondFactor, SecondFactorKind, Session, SessionStage, TOTP_SECRET_BYTES,
    decoy_password_hash, sms_code, sms_code_hash, sms_code_matches, verify_password,
};
use serde::Deserialize;

/// The sign-in pages' own labels, in both languages.
#[derive(Debug)]
pub(crate) struct SignInTexts {
    pub login: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
    pub failed: &'static str,
    pub expired_form: &'static str,
    pub second_factor_title: &'static str,
    pub second_factor_hint: &'static str,
    pub enrol_title: &'static str,
    pub enrol_hint: &'static str,
    pub secret_label: &'static str,
    pub code: &'static str,
    pub verify: &'static str,
    pub code_failed: &'static str,
    pub account_title: &'static str,
    pub roles: &'static str,
    pub role: &'static str,
    pub jurisdiction: &'static str,
    pub department: &'static str,
    pub valid_until: &'static str,
    pub no_roles: &'static str,
    pub sign_out: &'static str,
    pub sign_out_everywhere: &'static str,
    pub sms_title: &'static str,
    pub sms_hint: &'static str,
    pub sms_resend: &'static str,
    pub sms_failed: &'static str,
    pub sms_wait: &'static str,
    pub sms_text: &'static str,
    pub my_data: &'static str,
    pub certificate_hint: &'static str,
    pub certificate_submit: &'static str,
    pub certificate_missing: &'static str,
    pub certificate_refused: &'static str,
}

static ZH: SignInTexts = SignInTexts {
    login: "登录名",
    password: "密码",
    submit: "登录",
    failed: "登录名或密码错误。连续失败 5 次，账号将锁定 15 分钟。",
    expired_form: "表单已过期，请重新打开登录页。",
    second_factor_title: "动态验证码",
    second_factor_hint: "请输入身份验证器应用显示的 6 位动态验证码。",
    enrol_title: "绑定身份验证器",
    enrol_hint: "工作人员账号须使用动态验证码登录。请用身份验证器应用扫描二维码（或输入下面的密钥），再输入应用显示的 6 位验证码完成绑定。",
    secret_label: "密钥",
    code: "验证码",
    verify: "验证",
    code_failed: "验证码不正确或已使用，请输入新的验证码。",
    account_title: "我的账号",
    roles: "角色",
    role: "角色",
    jurisdiction: "辖区",
    department: "部门",
    valid_until: "有效期至",
    no_roles: "此账号暂无角色。",
    sign_out: "退出登录",
    sign_out_everywhere: "在所有设备上退出",
    sms_title: "短信验证码",
    sms_hint: "6 位验证码已发送至您登记的手机，5 分钟内有效：",
    sms_resend: "重新发送",
    sms_failed: "短信发送失败，请稍后点击“重新发送”。",
    sms_wait: "验证码刚刚发出，请 1 分钟后再重新发送。",
    sms_text: "【惠民】您的登录验证码是 {code}，5 分钟内有效。如非本人操作，请忽略本短信，切勿告诉他人。",
    my_data: "我的数据使用记录",
    certificate_hint: "已插入数字证书（USB Key）的工作人员可直接用证书登录。",
    certificate_submit: "使用数字证书登录",
    certificate_missing: "浏览器没有出示数字证书。请插入证书后重新打开本页。",
    certificate_refused: "此证书未绑定可用的账号，或已过期。请联系安全管理员。",
};

static EN: SignInTexts = SignInTexts {
    login: "Login name",
    password: "Password",
    submit: "Sign in",
    failed: "Wrong login name or password. After 5 failures in a row the account is locked for 15 minutes.",
    expired_form: "The form has expired; open the sign-in page again.",
    second_factor_title: "One-time code",
    second_factor_hint: "Enter the 6-digit code your authenticator app shows.",
    enrol_title: "Set up your authenticator",
    enrol_hint: "Staff accounts sign in with a one-time code. Scan the QR code with an authenticator app (or type the key below), then enter the 6-digit code it shows.",
    secret_label: "Key",
    code: "Code",
    verify: "Verify",
    code_failed: "The code is wrong or already used; enter a new one.",
    account_title: "My account",
    roles: "Roles",
    role: "Role",
    jurisdiction: "Jurisdiction",
    department: "Department",
    valid_until: "Valid until",
    no_roles: "This account holds no role.",
    sign_out: "Sign out",
    sign_out_everywhere: "Sign out everywhere",
    sms_title: "Code by SMS",
    sms_hint: "A 6-digit code, valid for 5 minutes, was sent to the phone on your account:",
    sms_resend: "Send again",
    sms_failed: "The text message could not be sent; press “Send again” in a moment.",
    sms_wait: "A code was sent a moment ago; send again after a minute.",
    sms_text: "【惠民】您的登录验证码是 {code}，5 分钟内有效。如非本人操作，请忽略本短信，切勿告诉他人。",
    my_data: "Who used my data",
    certificate_hint: "Staff with a digital certificate (USB key) can sign in with it.",
    certificate_submit: "Sign in with a certificate",
    certificate_missing: "The browser presented no certificate. Insert it and open this page again.",
    certificate_refused: "This certificate is not bound to a usable account, or it has expired. Ask the security administrator.",
};

fn texts(lang: Lang) -> &'static SignInTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    s: &'static SignInTexts,
    csrf: String,
    login: String,
    message: Option<&'static str>,
    /// Offer certificate login.
    certificate: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    chrome: Chrome,
    s: &'static SignInTexts,
    csrf: String,
    /// Set while enrolling: the QR code (SVG) and the key typed by hand.
    enrolment: Option<(String, String)>,
    /// Set for a code sent by SMS: the phone it went to, masked.
    sms_phone: Option<String>,
    message: Option<&'static str>,
}

struct RoleRow {
    role: String,
    jurisdiction: String,
    department: String,
    valid_until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    s: &'static SignInTexts,
    csrf: String,
    login: String,
    display_name: String,
    roles: Vec<RoleRow>,
    resident: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn chrome(headers: &HeaderMap, path: &str) -> Chrome {
    Chrome::new(headers, &LangQuery { lang: None }, "sign-in", path)
}

fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// The request's actor before anyone is signed in: the login typed, no role.
fn attempt(login: &str, parts: &Parts) -> Actor {
    Actor {
        account: login.to_owned(),
        role: "none".to_owned(),
        purpose: String::new(),
        request_id: request_id(&parts.headers),
        client: client_address(&parts.extensions),
    }
}

fn sign_in_event(actor: &Actor, action: &str, outcome: Outcome, detail: &str) -> AuditEvent {
    AuditEvent {
        outcome,
        detail: detail.to_owned(),
        ..actor.event(action, "account", actor.account.clone())
    }
}

/// The sign-in form. Sets the form's CSRF cookie when the browser has none.
pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    if session::principal(&state, &headers, now).await?.is_some() {
        return Ok(see_other("/console/account"));
    }
    let chrome = Chrome::new(&headers, &query, "sign-in", "/console/sign-in");
    let (csrf, fresh) = match cookie(&headers, CSRF_COOKIE) {
        Some(token) if token.len() == 64 => (token.to_owned(), false),
        _ => (random_token()?, true),
    };
    let page = SignInPage {
        s: texts(chrome.lang),
        chrome,
        csrf: csrf.clone(),
        login: String::new(),
        message: None,
        certificate: state.config.certificate_login,
    };
    Ok(if fresh {
        (
            [(
                header::SET_COOKIE,
                set_cookie(&state, CSRF_COOKIE, &csrf, "Strict", None),
            )],
            page,
        )
            .into_response()
    } else {
        page.into_response()
    })
}

pub(crate) fn refused_form(headers: &HeaderMap) -> Response {
    let chrome = chrome(headers, "/console/sign-in");
    let s = texts(chrome.lang);
    (
        StatusCode::FORBIDDEN,
        SignInPage {
            chrome,
            s,
            csrf: String::new(),
            login: String::new(),
            message: Some(s.expired_form),
            certificate: false,
        },
    )
        .into_response()
}

/// The password step.
pub(crate) async fn sign_in_password(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let headers = &parts.headers;
    let form_cookie = cookie(headers, CSRF_COOKIE).unwrap_or("");
    if form_cookie.is_empty() || !same_token(form_cookie, &form.csrf) {
        return Ok(refused_form(headers));
    }
    let now = state.clock.now();
    let policy = state.config.sign_in;
    let login = form.login.trim().to_lowercase();
    let account = if huimin_domain::identity::check_login(&login).is_ok() {
        state.identity.account(&login).await?
    } else {
        None
    };
    let usable = account
        .as_ref()
        .filter(|account| !account.password_hash.is_empty() && account.disabled_at.is_none());
    let hash = usable.map_or_else(
        || decoy_password_hash().to_owned(),
        |account| account.password_hash.clone(),
    );
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let actor = attempt(&login, &parts);
    let signed = match usable {
        Some(account) if matches && !account.is_locked_at(now) => account.clone(),
        _ => {
            let detail = match (&account, usable) {
                (None, _) => "unknown login",
                (Some(_), None) => "no password or disabled",
                (Some(account), Some(_)) if account.is_locked_at(now) => "locked",
                _ => "wrong password",
            };
            let event = sign_in_event(&actor, "session.password", Outcome::Failed, detail);
            if account.is_some() {
                state
                    .identity
                    .record_sign_in_failure(
                        &login,
                        policy.max_failures,
                        now + policy.lockout,
                        &event,
                        now,
                    )
                    .await?;
            } else {
                state
                    .audit
                    .append_audit(std::slice::from_ref(&event), now)
                    .await?;
            }
            let chrome = chrome(headers, "/console/sign-in");
            let s = texts(chrome.lang);
            return Ok((
                StatusCode::UNAUTHORIZED,
                SignInPage {
                    chrome,
                    s,
                    csrf: form.csrf,
                    login: String::new(),
                    message: Some(s.failed),
                    certificate: state.config.certificate_login,
                },
            )
                .into_response());
        }
    };
    let stage = if signed.second_factor_kind() == SecondFactorKind::None {
        SessionStage::SignedIn
    } else {
        SessionStage::SecondFactor
    };
    let action = if stage == SessionStage::SignedIn {
        "session.sign_in"
    } else {
        "session.password"
    };
    let event = sign_in_event(&actor, action, Outcome::Allowed, "");
    state
        .identity
        .record_sign_in_success(&login, &event, now)
        .await?;
    let token = random_token()?;
    let session_hash = token_hash(&token);
    state
        .identity
        .create_session(
            &session_hash,
            &Session {
                login: login.clone(),
                stage,
                csrf_token: random_token()?,
                created_at: now,
                last_seen_at: now,
                client: actor.client.clone(),
                sms_code: None,
            },
        )
        .await?;
    if stage == SessionStage::SecondFactor && signed.second_factor_kind() == SecondFactorKind::Sms {
        send_sign_in_code(&state, &session_hash, &signed, &actor, now).await?;
    }
    if stage == SessionStage::SignedIn {
        return Ok(landing(&state, headers, &signed, &token));
    }
    Ok((
        [(
            header::SET_COOKIE,
            set_cookie(&state, SESSION_COOKIE, &token, "Lax", None),
        )],
        Redirect::to("/console/sign-in/second-factor"),
    )
        .into_response())
}

/// Where an account lands once signed in: back to a single sign-on request that sent it
/// to sign in, else residents on their data-access page and everyone else on their
/// account page. The answer clears the single sign-on cookie.
fn landing(state: &AppState, headers: &HeaderMap, account: &Account, token: &str) -> Response {
    let resume = cookie(headers, crate::oidc::RESUME_COOKIE)
        .map(crate::oidc::form_decode)
        .filter(|path| path.starts_with("/oidc/authorize?"));
    let location = match &resume {
        Some(path) => path.as_str(),
        None if account.kind == AccountKind::Resident => "/console/my-data",
        None => "/console/account",
    };
    let mut response = Redirect::to(location).into_response();
    let headers = response.headers_mut();
    for value in [
        set_cookie(state, SESSION_COOKIE, token, "Lax", None),
        set_cookie(state, crate::oidc::RESUME_COOKIE, "", "Lax", Some(0)),
    ] {
        if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Draws a code, keeps its hash with the session and sends it to the account's phone;
/// audited either way. Returns whether the gateway took the message.
async fn send_sign_in_code(
    state: &AppState,
    session_hash: &[u8],
    account: &Account,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, ApiError> {
    let Some(phone) = account.phone.as_deref() else {
        let event = sign_in_event(actor, "session.sms_code", Outcome::Failed, "no phone");
        state
            .audit
            .append_audit(std::slice::from_ref(&event), now)
            .await?;
        return Ok(false);
    };
    let code = sms_code(u32::from_be_bytes(random_bytes::<4>()?));
    let text = ZH.sms_text.replace("{code}", &code);
    let sent = state.sms.send(phone, &text).await;
    if sent.is_ok() {
        state
            .identity
            .set_sms_code(session_hash, &sms_code_hash(session_hash, &code), now)
            .await?;
    }
    let masked = huimin_domain::access::mask_phone(phone);
    let event = match &sent {
        Ok(()) => sign_in_event(
            actor,
            "session.sms_code",
            Outcome::Allowed,
            &format!("sent to {masked}"),
        ),
        Err(error) => {
            tracing::warn!(%error, phone = %masked, "a sign-in code was not sent");
            sign_in_event(
                actor,
                "session.sms_code",
                Outcome::Failed,
                &format!("to {masked}: {error}"),
            )
        }
    };
    state
        .audit
        .append_audit(std::slice::from_ref(&event), now)
        .await?;
    Ok(sent.is_ok())
}

/// The account's second factor, creating the secret of a first enrolment.
async fn second_factor_of(
    state: &AppState,
    account: &Account,
) -> Result<(SecondFactor, bool), ApiError> {
    if let Some(factor) = account.totp_secret.as_deref().and_then(SecondFactor::new) {
        return Ok((factor, account.totp_enrolled_at.is_none()));
    }
    let secret = random_bytes::<TOTP_SECRET_BYTES>()?;
    state
        .identity
        .set_second_factor(&account.login, &secret, None, None)
        .await?;
    let factor = SecondFactor::new(&secret).ok_or_else(|| {
        ApiError::Storage(huimin_domain::storage::StorageError::new(
            "a TOTP secret was refused",
        ))
    })?;
    Ok((factor, true))
}

fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

async fn second_factor_page(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    mut message: Option<&'static str>,
) -> Result<SecondFactorPage, ApiError> {
    let account = state
        .identity
        .account(&session.login)
        .await?
        .ok_or_else(|| ApiError::not_found("the account"))?;
    let chrome = chrome(headers, "/console/sign-in/second-factor");
    let (enrolment, sms_phone) = if account.second_factor_kind() == SecondFactorKind::Sms {
        let phone = account.phone.as_deref().unwrap_or_default();
        if message.is_none() && session.sms_code.is_none() {
            message = Some(texts(chrome.lang).sms_failed);
        }
        (None, Some(huimin_domain::access::mask_phone(phone)))
    } else {
        let (factor, enrolling) = second_factor_of(state, &account).await?;
        let enrolment = enrolling.then(|| {
            let uri = factor.provisioning_uri("惠民 Huimin", &account.login);
            (qr_svg(&uri), factor.secret_base32())
        });
        (enrolment, None)
    };
    Ok(SecondFactorPage {
        s: texts(chrome.lang),
        chrome,
        csrf: session.csrf_token.clone(),
        enrolment,
        sms_phone,
        message,
    })
}

/// The TOTP step (enrolment first, for a staff account without a factor).
pub(crate) async fn second_factor_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let Some((_, session)) =
        session::live_session(&state, &headers, SessionStage::SecondFactor, now).await?
    else {
        return Ok(see_other("/console/sign-in"));
    };
    Ok(second_factor_page(&state, &headers, &session, None)
        .await?
        .into_response())
}

/// The sign-in waiting for its second factor, behind a form with the session's CSRF
/// token: the session's key, the session and its account; or the answer that refuses
/// (back to the password step, or the expired-form page).
async fn pending_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<(Vec<u8>, Session, Account), Response>, ApiError> {
    let Some((hash, session)) =
        session::live_session(state, headers, SessionStage::SecondFactor, now).await?
    else {
        return Ok(Err(see_other("/console/sign-in")));
    };
    if !same_token(&session.csrf_token, csrf) {
        return Ok(Err(refused_form(headers)));
    }
    let account = state
        .identity
        .account(&session.login)
        .await?
        .ok_or_else(|| ApiError::not_found("the account"))?;
    Ok(Ok((hash, session, account)))
}

pub(crate) async fn second_factor_submit(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let headers = &parts.headers;
    let now = state.clock.now();
    let (hash, session, account) = match pending_sign_in(&state, headers, &form.csrf, now).await? {
        Ok(pending) => pending,
        Err(refused) => return Ok(refused),
    };
    let actor = attempt(&account.login, &parts);
    let policy = state.config.sign_in;
    // Some(step of the TOTP code) or Some(None) for a good SMS code; None when refused.
    let accepted = match account.second_factor_kind() {
        SecondFactorKind::Sms => session
            .sms_code
            .as_ref()
            .filter(|(stored, _)| sms_code_matches(stored, &hash, &form.code))
            .map(|_| None),
        _ => {
            let (factor, _) = second_factor_of(&state, &account).await?;
            factor
                .accept(&form.code, now, account.totp_last_step)
                .map(Some)
        }
    }
    .filter(|_| !account.is_locked_at(now));
    let Some(step) = accepted else {
        let event = sign_in_event(
            &actor,
            "session.second_factor",
            Outcome::Failed,
            "wrong or reused code",
        );
        let locked = state
            .identity
            .record_sign_in_failure(
                &account.login,
                policy.max_failures,
                now + policy.lockout,
                &event,
                now,
            )
            .await?;
        if locked {
            let event = actor.event("session.sign_out", "account", account.login.clone());
            state.identity.end_session(&hash, &event, now).await?;
            return Ok(see_other("/console/sign-in"));
        }
        let s = texts(Lang::from_request(headers, None));
        let page = second_factor_page(&state, headers, &session, Some(s.code_failed)).await?;
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    if let Some(step) = step {
        let secret = account.totp_secret.clone().unwrap_or_default();
        state
            .identity
            .set_second_factor(
                &account.login,
                &secret,
                Some(account.totp_enrolled_at.unwrap_or(now)),
                Some(step),
            )
            .await?;
    }
    let token = random_token()?;
    state
        .identity
        .advance_session(&hash, &token_hash(&token), SessionStage::SignedIn, now)
        .await?;
    let event = sign_in_event(&actor, "session.sign_in", Outcome::Allowed, "");
    state
        .identity
        .record_sign_in_success(&account.login, &event, now)
        .await?;
    Ok(landing(&state, headers, &account, &token))
}

/// Certificate login: the client certificate the TLS handshake verified (it chains to
/// the configured CA and is within its validity) signs in the account bound to its
/// serial, or the one staff account of the identity number in its subject. A
/// certificate is a private key its holder keeps on a smart card or USB key behind a
/// PIN, so it stands for both factors. Refusals are audited and answer like a wrong
/// password.
pub(crate) async fn certificate_sign_in(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let headers = &parts.headers;
    let form_cookie = cookie(headers, CSRF_COOKIE).unwrap_or("");
    if form_cookie.is_empty() || !same_token(form_cookie, &form.csrf) {
        return Ok(refused_form(headers));
    }
    let now = state.clock.now();
    let s = texts(Lang::from_request(headers, None));
    let refuse = |message: &'static str| {
        (
            StatusCode::UNAUTHORIZED,
            SignInPage {
                chrome: chrome(headers, "/console/sign-in"),
                s,
                csrf: form.csrf.clone(),
                login: String::new(),
                message: Some(message),
                certificate: state.config.certificate_login,
            },
        )
            .into_response()
    };
    let holder = parts
        .extensions
        .get::<crate::tls::PeerCertificate>()
        .map(|certificate| crate::tls::certificate_holder(&certificate.0));
    let actor = attempt("none", &parts);
    let holder = match holder {
        None => return Ok(refuse(s.certificate_missing)),
        Some(None) => {
            let event = sign_in_event(
                &actor,
                "session.certificate",
                Outcome::Failed,
                "the certificate does not parse",
            );
            state
                .audit
                .append_audit(std::slice::from_ref(&event), now)
                .await?;
            return Ok(refuse(s.certificate_refused));
        }
        Some(Some(holder)) => holder,
    };
    let account = if now < holder.not_before || now >= holder.not_after {
        None
    } else {
        state
            .identity
            .account_for_certificate(&holder.serial, holder.citizen_id.as_deref())
            .await?
            .filter(|account| {
                account.kind != AccountKind::Service
                    && account.disabled_at.is_none()
                    && !account.is_locked_at(now)
            })
    };
    let Some(account) = account else {
        let detail = format!(
            "certificate serial {} refused: unbound, unusable or outside its validity",
            holder.serial
        );
        let event = sign_in_event(&actor, "session.certificate", Outcome::Failed, &detail);
        state
            .audit
            .append_audit(std::slice::from_ref(&event), now)
            .await?;
        return Ok(refuse(s.certificate_refused));
    };
    let actor = attempt(&account.login, &parts);
    let event = sign_in_event(
        &actor,
        "session.sign_in",
        Outcome::Allowed,
        &format!("certificate serial {}", holder.serial),
    );
    state
        .identity
        .record_sign_in_success(&account.login, &event, now)
        .await?;
    let token = random_token()?;
    state
        .identity
        .create_session(
            &token_hash(&token),
            &Session {
                login: account.login.clone(),
                stage: SessionStage::SignedIn,
                csrf_token: random_token()?,
                created_at: now,
                last_seen_at: now,
                client: actor.client.clone(),
                sms_code: None,
            },
        )
        .await?;
    Ok(landing(&state, headers, &account, &token))
}

/// Sends a resident a new SMS code, once a minute at most.
pub(crate) async fn resend_sms_code(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let headers = &parts.headers;
    let now = state.clock.now();
    let (hash, session, account) = match pending_sign_in(&state, headers, &form.csrf, now).await? {
        Ok(pending) => pending,
        Err(refused) => return Ok(refused),
    };
    if account.second_factor_kind() != SecondFactorKind::Sms {
        return Err(ApiError::not_found("the account"));
    }
    let s = texts(Lang::from_request(headers, None));
    let recent = session
        .sms_code
        .as_ref()
        .is_some_and(|(_, sent)| now < *sent + state.config.sign_in.sms_resend_after);
    let message = if recent {
        Some(s.sms_wait)
    } else if send_sign_in_code(
        &state,
        &hash,
        &account,
        &attempt(&account.login, &parts),
        now,
    )
    .await?
    {
        None
    } else {
        Some(s.sms_failed)
    };
    Ok(second_factor_page(&state, headers, &session, message)
        .await?
        .into_response())
}

/// The signed-in account: who, which roles where, and the sign-out buttons.
pub(crate) async fn account_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let Some(principal) = session::principal(&state, &headers, now).await? else {
        return Ok(see_other("/console/sign-in"));
    };
    let chrome = Chrome::new(&headers, &query, "sign-in", "/console/account");
    let zh = chrome.lang == Lang::Zh;
    let roles = principal
        .roles
        .iter()
        .map(|assignment| RoleRow {
            role: if zh {
                assignment.role.name_zh()
            } else {
                assignment.role.name_en()
            }
            .to_owned(),
            jurisdiction: assignment.jurisdiction.clone(),
            department: assignment.department.clone().unwrap_or_default(),
            valid_until: assignment
                .valid_until
                .map(huimin_domain::time::shanghai_display)
                .unwrap_or_default(),
        })
        .collect();
    Ok(AccountPage {
        s: texts(chrome.lang),
        chrome,
        csrf: principal.csrf_token.clone(),
        login: principal.account.login.clone(),
        display_name: principal.account.display_name.clone(),
        roles,
        resident: principal.account.kind == AccountKind::Resident,
    }
    .into_response())
}

async fn signed_in_form(
    state: &AppState,
    parts: &Parts,
    csrf: &str,
) -> Result<Option<Principal>, ApiError> {
    let principal = session::principal(state, &parts.headers, state.clock.now()).await?;
    Ok(principal.filter(|principal| same_token(&principal.csrf_token, csrf)))
}

fn signed_out(state: &AppState) -> Response {
    (
        [(
            header::SET_COOKIE,
            set_cookie(state, SESSION_COOKIE, "", "Lax", Some(0)),
        )],
        Redirect::to("/console/sign-in"),
    )
        .into_response()
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let Some(principal) = signed_in_form(&state, &parts, &form.csrf).await? else {
        return Ok(refused_form(&parts.headers));
    };
    let actor = principal.actor(&parts);
    let event = actor.event(
        "session.sign_out",
        "account",
        principal.account.login.clone(),
    );
    state
        .identity
        .end_session(&principal.session_hash, &event, state.clock.now())
        .await?;
    Ok(signed_out(&state))
}

pub(crate) async fn sign_out_everywhere(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let Some(principal) = signed_in_form(&state, &parts, &form.csrf).await? else {
        return Ok(refused_form(&parts.headers));
    };
    let actor = principal.actor(&parts);
    let event = actor.event(
        "session.sign_out_everywhere",
        "account",
        principal.account.login.clone(),
    );
    state
        .identity
        .end_sessions_of(&principal.account.login, &event, state.clock.now())
        .await?;
    Ok(signed_out(&state))
}

/// Why a page that needs a role is not shown.
pub(crate) enum Refusal {
    /// Nobody is signed in: go and sign in.
    SignIn,
    /// The account lacks the role: the page does not exist for it.
    NotFound,
}

impl Refusal {
    pub(crate) fn respond(self, chrome: &Chrome) -> Response {
        match self {
            Refusal::SignIn => see_other("/console/sign-in"),
            Refusal::NotFound => {
                super::PageError::new(chrome, ApiError::not_found("the page")).into_response()
            }
        }
    }
}

/// The signed-in principal if it holds `role` now.
pub(crate) async fn require_role(
    state: &AppState,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
    role: huimin_domain::identity::Role,
) -> Result<Result<Principal, Refusal>, ApiError> {
    Ok(match session::principal(state, headers, now).await? {
        None => Err(Refusal::SignIn),
        Some(principal) if principal.roles.iter().any(|held| held.role == role) => Ok(principal),
        Some(_) => Err(Refusal::NotFound),
    })
}

/// The signed-in principal holding `role`, behind a form that carries the session's CSRF
/// token; otherwise the answer that refuses it (go and sign in, a 404, or the expired-form
/// page).
pub(crate) async fn require_role_form(
    state: &AppState,
    parts: &Parts,
    role: huimin_domain::identity::Role,
    csrf: &str,
    chrome: &Chrome,
) -> Result<Result<Principal, Response>, ApiError> {
    Ok(
        match require_role(state, &parts.headers, state.clock.now(), role).await? {
            Err(refusal) => Err(refusal.respond(chrome)),
            Ok(principal) if same_token(&principal.csrf_token, csrf) => Ok(principal),
            Ok(_) => Err(refused_form(&parts.headers)),
        },
    )
}
