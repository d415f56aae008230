//! Huimin as an OpenID Connect provider for the city's other systems: discovery, the
//! JWKS, the authorization endpoint (authorization-code flow, PKCE S256 required, a
//! consent screen for third-party clients), the token endpoint (code and refresh-token
//! grants, refresh tokens rotated at every use and a reuse revoking the whole family),
//! userinfo, revocation (RFC 7009) and RP-initiated logout.
//!
//! Errors follow RFC 6749: before the client and its redirect URI are known to be good,
//! the browser is shown an error page and never redirected; after, errors go back to
//! the client as `error=…&state=…`. The token endpoint answers `{"error": …}` with 400
//! (401 `invalid_client`). Every decision is audited.

use crate::error::ApiError;
use crate::pages::url_encode;
use crate::session::{self, random_token, same_token};
use crate::state::{AppState, OidcKeys};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use huimin_domain::audit::{Actor, AuditEvent, Outcome};
use huimin_domain::oidc::{
    ACCESS_TOKEN_LIFETIME, AuthorizationGrant, IssuedToken, OidcClient, REFRESH_TOKEN_LIFETIME,
    SUPPORTED_SCOPES, TokenKind, check_redirect_uri, granted_scope, pkce_challenge_is_valid,
    pkce_matches, secret_hash, verify_jws,
};
use huimin_domain::storage::StorageError;
use serde::Deserialize;
use std::sync::Arc;

/// The cookie that carries an authorization request through the sign-in pages.
pub(crate) const RESUME_COOKIE: &str = "huimin_oidc_resume";

pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize).post(consent))
        .route("/oidc/token", axum::routing::post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/revoke", axum::routing::post(revoke))
        .route("/oidc/logout", get(logout))
}

fn keys(state: &AppState) -> Result<Arc<OidcKeys>, ApiError> {
    state
        .oidc_keys
        .clone()
        .ok_or_else(|| ApiError::not_found("single sign-on"))
}

fn actor_of(parts: &Parts, account: &str) -> Actor {
    Actor {
        account: account.to_owned(),
        role: "none".to_owned(),
        purpose: String::new(),
        request_id: session::request_id(&parts.headers),
        client: session::client_address(&parts.extensions),
    }
}

fn event(
    actor: &Actor,
    action: &str,
    client_id: &str,
    outcome: Outcome,
    detail: &str,
) -> AuditEvent {
    AuditEvent {
        outcome,
        detail: detail.to_owned(),
        ..actor.event(action, "oidc_client", client_id)
    }
}

async fn audit(state: &AppState, event: AuditEvent) -> Result<(), ApiError> {
    let now = state.clock.now();
    state
        .audit
        .append_audit(std::slice::from_ref(&event), now)
        .await?;
    Ok(())
}

async fn discovery(State(state): State<AppState>) -> Result<Response, ApiError> {
    keys(&state)?;
    let issuer = &state.config.issuer;
    Ok(axum::Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oidc/authorize"),
        "token_endpoint": format!("{issuer}/oidc/token"),
        "userinfo_endpoint": format!("{issuer}/oidc/userinfo"),
        "jwks_uri": format!("{issuer}/oidc/jwks"),
        "revocation_endpoint": format!("{issuer}/oidc/revoke"),
        "end_session_endpoint": format!("{issuer}/oidc/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": SUPPORTED_SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "name", "phone_number"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["zh-CN", "en"],
    }))
    .into_response())
}

async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = keys(&state)?;
    let keys: Vec<serde_json::Value> = keys.public.iter().map(|key| key.jwk()).collect();
    Ok(axum::Json(serde_json::json!({ "keys": keys })).into_response())
}

/// The parameters of an authorization request (also the hidden fields of the consent form).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AuthorizeRequest {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
    #[serde(default)]
    prompt: Option<String>,
    /// The consent form's answer: `allow` or `deny`.
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    csrf: Option<String>,
}

impl AuthorizeRequest {
    /// The request as a query string, to resume it after signing in.
    fn query(&self) -> String {
        let mut pairs = vec![
            ("response_type", self.response_type.clone()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope.clone()),
            ("code_challenge", self.code_challenge.clone()),
            ("code_challenge_method", self.code_challenge_method.clone()),
        ];
        for (key, value) in [("state", &self.state), ("nonce", &self.nonce)] {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", url_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The client's redirect URI with `parameters`, the state and the issuer (RFC 9207).
    fn back(&self, issuer: &str, parameters: &[(&str, &str)]) -> Response {
        let mut location = self.redirect_uri.clone();
        location.push(if location.contains('?') { '&' } else { '?' });
        let mut pairs: Vec<String> = parameters
            .iter()
            .map(|(key, value)| format!("{key}={}", url_encode(value)))
            .collect();
        if let Some(state) = &self.state {
            pairs.push(format!("state={}", url_encode(state)));
        }
        pairs.push(format!("iss={}", url_encode(issuer)));
        location.push_str(&pairs.join("&"));
        Redirect::to(&location).into_response()
    }

    fn error(&self, issuer: &str, error: &str, description: &str) -> Response {
        self.back(
            issuer,
            &[("error", error), ("error_description", description)],
        )
    }
}

/// What the request asks for, once the client and redirect URI are known to be good:
/// the client, and the granted scope — or the response that refuses it.
async fn checked(
    state: &AppState,
    parts: &Parts,
    request: &AuthorizeRequest,
) -> Result<Result<(OidcClient, String), Response>, ApiError> {
    let issuer = &state.config.issuer;
    let actor = actor_of(parts, "none");
    let client = state.oidc.oidc_client(&request.client_id).await?;
    let Some(client) = client.filter(|client| client.allows_redirect(&request.redirect_uri)) else {
        let detail = format!(
            "unknown client or unregistered redirect URI {}",
            request.redirect_uri
        );
        audit(
            state,
            event(
                &actor,
                "oidc.authorize",
                &request.client_id,
                Outcome::Denied,
                &detail,
            ),
        )
        .await?;
        return Ok(Err(crate::pages::sso::refused(
            &parts.headers,
            "未知的客户端，或回调地址未登记。The client is unknown or the redirect URI is not registered.",
        )));
    };
    let refuse =
        |error: &str, description: &str| Ok(Err(request.error(issuer, error, description)));
    if request.response_type != "code" {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let Some(scope) = granted_scope(&request.scope) else {
        return refuse("invalid_scope", "the scope must include openid");
    };
    if request.code_challenge_method != "S256" || !pkce_challenge_is_valid(&request.code_challenge)
    {
        return refuse(
            "invalid_request",
            "PKCE is required: code_challenge with code_challenge_method=S256",
        );
    }
    Ok(Ok((client, scope)))
}

/// Issues the code and sends the browser back to the client.
async fn grant_code(
    state: &AppState,
    parts: &Parts,
    request: &AuthorizeRequest,
    principal: &session::Principal,
    scope: String,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let code = random_token()?;
    let grant = AuthorizationGrant {
        client_id: request.client_id.clone(),
        login: principal.account.login.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope,
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: principal.signed_in_at,
        created_at: now,
        family: random_token()?,
    };
    let actor = principal.actor(parts);
    let audit_event = event(
        &actor,
        "oidc.authorize",
        &request.client_id,
        Outcome::Allowed,
        &grant.scope,
    );
    state
        .oidc
        .put_authorization_code(&secret_hash(&code), &grant, &audit_event)
        .await?;
    Ok(request.back(&state.config.issuer, &[("code", &code)]))
}

fn consent_page(
    headers: &HeaderMap,
    request: &AuthorizeRequest,
    client: &OidcClient,
    scope: &str,
    csrf: &str,
) -> Response {
    let optional = |value: &Option<String>| value.clone().filter(|value| !value.is_empty());
    let mut hidden = vec![
        ("response_type", request.response_type.clone()),
        ("client_id", request.client_id.clone()),
        ("redirect_uri", request.redirect_uri.clone()),
        ("scope", request.scope.clone()),
        ("code_challenge", request.code_challenge.clone()),
        (
            "code_challenge_method",
            request.code_challenge_method.clone(),
        ),
        ("csrf", csrf.to_owned()),
    ];
    for (name, value) in [
        ("state", optional(&request.state)),
        ("nonce", optional(&request.nonce)),
    ] {
        if let Some(value) = value {
            hidden.push((name, value));
        }
    }
    crate::pages::sso::consent(headers, &client.name, scope, hidden)
}

/// The authorization endpoint: check the request, make sure someone is signed in, ask
/// for consent where needed, and send a code back.
async fn authorize(
    State(state): State<AppState>,
    parts: Parts,
    Query(request): Query<AuthorizeRequest>,
) -> Result<Response, ApiError> {
    keys(&state)?;
    let (client, scope) = match checked(&state, &parts, &request).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let now = state.clock.now();
    let Some(principal) = session::principal(&state, &parts.headers, now).await? else {
        if request.prompt.as_deref() == Some("none") {
            return Ok(request.error(
                &state.config.issuer,
                "login_required",
                "nobody is signed in",
            ));
        }
        // Resume this request once signed in.
        let resume = format!("/oidc/authorize?{}", request.query());
        let cookie = session::set_cookie(
            &state,
            RESUME_COOKIE,
            &url_encode(&resume),
            "Lax",
            Some(600),
        );
        return Ok((
            [(header::SET_COOKIE, cookie)],
            Redirect::to("/console/sign-in"),
        )
            .into_response());
    };
    let consented = state
        .oidc
        .oidc_consent(&principal.account.login, &client.client_id)
        .await?
        .is_some_and(|given| {
            scope
                .split(' ')
                .all(|wanted| given.split(' ').any(|had| had == wanted))
        });
    if client.first_party || consented {
        return grant_code(&state, &parts, &request, &principal, scope).await;
    }
    if request.prompt.as_deref() == Some("none") {
        return Ok(request.error(
            &state.config.issuer,
            "consent_required",
            "the user has not consented",
        ));
    }
    Ok(consent_page(
        &parts.headers,
        &request,
        &client,
        &scope,
        &principal.csrf_token,
    ))
}

/// The consent form's answer.
async fn consent(
    State(state): State<AppState>,
    parts: Parts,
    Form(request): Form<AuthorizeRequest>,
) -> Result<Response, ApiError> {
    keys(&state)?;
    let (client, scope) = match checked(&state, &parts, &request).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let now = state.clock.now();
    let Some(principal) = session::principal(&state, &parts.headers, now).await? else {
        return Ok(Redirect::to("/console/sign-in").into_response());
    };
    if !same_token(&principal.csrf_token, request.csrf.as_deref().unwrap_or("")) {
        return Ok(crate::pages::refused_form(&parts.headers));
    }
    let actor = principal.actor(&parts);
    if request.decision.as_deref() != Some("allow") {
        audit(
            &state,
            event(
                &actor,
                "oidc.consent",
                &client.client_id,
                Outcome::Denied,
                "the user declined",
            ),
        )
        .await?;
        return Ok(request.error(&state.config.issuer, "access_denied", "the user declined"));
    }
    let consent_event = event(
        &actor,
        "oidc.consent",
        &client.client_id,
        Outcome::Allowed,
        &scope,
    );
    state
        .oidc
        .put_oidc_consent(
            &principal.account.login,
            &client.client_id,
            &scope,
            &consent_event,
            now,
        )
        .await?;
    grant_code(&state, &parts, &request, &principal, scope).await
}

/// An OAuth error from the token, revocation or userinfo endpoints.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(crate::middleware::ProtocolError);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"huimin\""),
        );
    }
    response
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    /// The revocation endpoint's token.
    #[serde(default)]
    token: String,
}

/// Decodes `application/x-www-form-urlencoded` text (`+` and `%XX`); a broken escape is
/// kept as it is.
pub fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => match text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    index += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client a token or revocation request authenticates as: HTTP Basic (RFC 6749
/// §2.3.1, form-encoded id and secret), the secret in the form, or — for a public client
/// only — its id alone.
async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    request: &TokenRequest,
) -> Result<Option<OidcClient>, ApiError> {
    use base64::Engine;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (form_decode(id), Some(form_decode(secret))))
        });
    let (client_id, secret) = match basic {
        Some(found) => found,
        None => match &request.client_id {
            Some(id) => (id.clone(), request.client_secret.clone()),
            None => return Ok(None),
        },
    };
    let Some(client) = state.oidc.oidc_client(&client_id).await? else {
        return Ok(None);
    };
    let good = match (&secret, client.is_confidential()) {
        (Some(secret), true) => client.secret_matches(secret),
        (None, false) => true,
        (Some(secret), false) => secret.is_empty(),
        (None, true) => false,
    };
    Ok(good.then_some(client))
}

/// The claims of an ID token for `login` at `client`.
async fn id_token(
    state: &AppState,
    keys: &OidcKeys,
    token: &IssuedToken,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let mut claims = serde_json::json!({
        "iss": state.config.issuer,
        "sub": token.login,
        "aud": token.client_id,
        "azp": token.client_id,
        "iat": now.timestamp(),
        "exp": (now + ACCESS_TOKEN_LIFETIME).timestamp(),
        "auth_time": token.auth_time.timestamp(),
    });
    if let Some(nonce) = &token.nonce {
        claims["nonce"] = serde_json::Value::String(nonce.clone());
    }
    if token.scope.split(' ').any(|scope| scope == "profile")
        && let Some(account) = state.identity.account(&token.login).await?
    {
        claims["name"] = serde_json::Value::String(account.display_name);
    }
    Ok(keys.signer.sign(&claims))
}

/// Issues an access and a refresh token (rotating `rotating`, when refreshing) and the
/// ID token; `None` when the refresh token was used concurrently.
async fn issue(
    state: &AppState,
    keys: &OidcKeys,
    template: IssuedToken,
    rotating: Option<&[u8]>,
    audit_event: &AuditEvent,
) -> Result<Option<Response>, ApiError> {
    let now = state.clock.now();
    let access = random_token()?;
    let refresh = random_token()?;
    let access_token = IssuedToken {
        kind: TokenKind::Access,
        created_at: now,
        expires_at: now + ACCESS_TOKEN_LIFETIME,
        revoked_at: None,
        rotated_at: None,
        ..template.clone()
    };
    let refresh_token = IssuedToken {
        kind: TokenKind::Refresh,
        expires_at: now + REFRESH_TOKEN_LIFETIME,
        ..access_token.clone()
    };
    let tokens = vec![
        (secret_hash(&access), access_token.clone()),
        (secret_hash(&refresh), refresh_token),
    ];
    if !state
        .oidc
        .issue_oidc_tokens(&tokens, rotating, audit_event, now)
        .await?
    {
        return Ok(None);
    }
    let id_token = id_token(state, keys, &access_token, now).await?;
    let mut response = axum::Json(serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME.num_seconds(),
        "refresh_token": refresh,
        "id_token": id_token,
        "scope": access_token.scope,
    }))
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(Some(response))
}

/// The token endpoint: the authorization-code and refresh-token grants.
async fn token(
    State(state): State<AppState>,
    parts: Parts,
    Form(request): Form<TokenRequest>,
) -> Result<Response, ApiError> {
    let keys = keys(&state)?;
    let now = state.clock.now();
    let Some(client) = authenticate_client(&state, &parts.headers, &request).await? else {
        let detail = format!("client authentication failed for {:?}", request.client_id);
        audit(
            &state,
            event(
                &actor_of(&parts, "none"),
                "oidc.token",
                "",
                Outcome::Denied,
                &detail,
            ),
        )
        .await?;
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ));
    };
    let actor = actor_of(&parts, &format!("client:{}", client.client_id));
    let denied = |detail: &str| {
        event(
            &actor,
            "oidc.token",
            &client.client_id,
            Outcome::Denied,
            detail,
        )
    };
    let invalid_grant =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    match request.grant_type.as_str() {
        "authorization_code" => {
            let taken = state
                .oidc
                .take_authorization_code(&secret_hash(&request.code), now)
                .await?;
            let Some((grant, first_use)) = taken else {
                audit(&state, denied("unknown code")).await?;
                return Ok(invalid_grant("the code is unknown"));
            };
            if !first_use {
                let revoke = denied("code replayed: every token of the grant revoked");
                state
                    .oidc
                    .revoke_oidc_family(&grant.family, &revoke, now)
                    .await?;
                return Ok(invalid_grant("the code was used already"));
            }
            let problem = if grant.client_id != client.client_id {
                Some("the code was issued to another client")
            } else if !grant.is_fresh_at(now) {
                Some("the code has expired")
            } else if grant.redirect_uri != request.redirect_uri {
                Some("redirect_uri differs from the authorization request's")
            } else if !pkce_matches(&request.code_verifier, &grant.code_challenge) {
                Some("the PKCE code_verifier does not match the code_challenge")
            } else {
                None
            };
            if let Some(problem) = problem {
                audit(&state, denied(problem)).await?;
                return Ok(invalid_grant(problem));
            }
            let template = IssuedToken {
                kind: TokenKind::Access,
                client_id: grant.client_id.clone(),
                login: grant.login.clone(),
                scope: grant.scope.clone(),
                family: grant.family.clone(),
                nonce: grant.nonce.clone(),
                auth_time: grant.auth_time,
                created_at: now,
                expires_at: now,
                revoked_at: None,
                rotated_at: None,
            };
            let issued = AuditEvent {
                subject: subject_of(&state, &grant.login).await?,
                ..event(
                    &actor,
                    "oidc.token",
                    &client.client_id,
                    Outcome::Allowed,
                    &format!("code for {}", grant.login),
                )
            };
            Ok(issue(&state, &keys, template, None, &issued)
                .await?
                .unwrap_or_else(|| invalid_grant("the grant was used already")))
        }
        "refresh_token" => {
            let hash = secret_hash(&request.refresh_token);
            let stored = state.oidc.oidc_token(&hash).await?;
            let Some(stored) = stored.filter(|token| {
                token.kind == TokenKind::Refresh && token.client_id == client.client_id
            }) else {
                audit(&state, denied("unknown refresh token")).await?;
                return Ok(invalid_grant("the refresh token is unknown"));
            };
            if stored.rotated_at.is_some() {
                let revoke = denied("refresh token reused: every token of the grant revoked");
                state
                    .oidc
                    .revoke_oidc_family(&stored.family, &revoke, now)
                    .await?;
                return Ok(invalid_grant("the refresh token was used already"));
            }
            let active = state
                .identity
                .account(&stored.login)
                .await?
                .is_some_and(|account| account.disabled_at.is_none());
            if !stored.is_usable_at(now) || !active {
                audit(
                    &state,
                    denied("refresh token expired, revoked, or its account disabled"),
                )
                .await?;
                return Ok(invalid_grant("the refresh token is no longer valid"));
            }
            let issued = AuditEvent {
                subject: subject_of(&state, &stored.login).await?,
                ..event(
                    &actor,
                    "oidc.refresh",
                    &client.client_id,
                    Outcome::Allowed,
                    &format!("refresh for {}", stored.login),
                )
            };
            Ok(issue(&state, &keys, stored, Some(&hash), &issued)
                .await?
                .unwrap_or_else(|| invalid_grant("the refresh token was used already")))
        }
        _ => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )),
    }
}

/// A resident's identity number, so their data-access page shows which systems they
/// signed in to; empty for staff.
async fn subject_of(state: &AppState, login: &str) -> Result<String, ApiError> {
    Ok(state
        .identity
        .account(login)
        .await?
        .filter(|account| account.kind == huimin_domain::identity::AccountKind::Resident)
        .and_then(|account| account.citizen_id)
        .unwrap_or_default())
}

/// The userinfo endpoint: the signed-in user's claims, for a live access token.
async fn userinfo(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    keys(&state)?;
    let now = state.clock.now();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let token = state.oidc.oidc_token(&secret_hash(bearer)).await?;
    let account =
        match token.filter(|token| token.kind == TokenKind::Access && token.is_usable_at(now)) {
            Some(token) => state
                .identity
                .account(&token.login)
                .await?
                .filter(|account| account.disabled_at.is_none())
                .map(|account| (token, account)),
            None => None,
        };
    let Some((token, account)) = account else {
        let mut response = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is unknown, expired or revoked",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return Ok(response);
    };
    let mut claims = serde_json::json!({ "sub": account.login });
    if token.scope.split(' ').any(|scope| scope == "profile") {
        claims["name"] = serde_json::Value::String(account.display_name.clone());
    }
    if token.scope.split(' ').any(|scope| scope == "phone")
        && let Some(phone) = &account.phone
    {
        claims["phone_number"] = serde_json::Value::String(format!("+86{phone}"));
    }
    let actor = actor_of(&parts, &format!("client:{}", token.client_id));
    audit(
        &state,
        AuditEvent {
            subject: subject_of(&state, &account.login).await?,
            ..event(
                &actor,
                "oidc.userinfo",
                &token.client_id,
                Outcome::Allowed,
                &token.scope,
            )
        },
    )
    .await?;
    Ok(axum::Json(claims).into_response())
}

/// Revocation (RFC 7009): the token's whole grant is revoked; unknown tokens answer 200
/// too, so the endpoint does not tell which tokens exist.
async fn revoke(
    State(state): State<AppState>,
    parts: Parts,
    Form(request): Form<TokenRequest>,
) -> Result<Response, ApiError> {
    keys(&state)?;
    let now = state.clock.now();
    let Some(client) = authenticate_client(&state, &parts.headers, &request).await? else {
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ));
    };
    let stored = state.oidc.oidc_token(&secret_hash(&request.token)).await?;
    if let Some(stored) = stored.filter(|token| token.client_id == client.client_id) {
        let actor = actor_of(&parts, &format!("client:{}", client.client_id));
        let revoked = event(
            &actor,
            "oidc.revoke",
            &client.client_id,
            Outcome::Allowed,
            &format!("{} token", stored.kind.code()),
        );
        state
            .oidc
            .revoke_oidc_family(&stored.family, &revoked, now)
            .await?;
    }
    Ok(StatusCode::OK.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogoutRequest {
    #[serde(default)]
    id_token_hint: String,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// RP-initiated logout: with an ID token we issued to the signed-in account, its
/// session ends and the browser goes to the client's registered post-logout URI.
/// Without one (or for someone else's token) nothing is ended: the account page, with
/// its sign-out button, is shown instead, so a link elsewhere cannot sign anyone out.
async fn logout(
    State(state): State<AppState>,
    parts: Parts,
    Query(request): Query<LogoutRequest>,
) -> Result<Response, ApiError> {
    let keys = keys(&state)?;
    let now = state.clock.now();
    let claims = verify_jws(&request.id_token_hint, &keys.public)
        .filter(|claims| claims["iss"] == state.config.issuer.as_str());
    let Some(claims) = claims else {
        return Ok(Redirect::to("/console/account").into_response());
    };
    let client_id = claims["aud"].as_str().unwrap_or_default().to_owned();
    let login = claims["sub"].as_str().unwrap_or_default();
    if let Some(principal) = session::principal(&state, &parts.headers, now).await?
        && principal.account.login == login
    {
        let actor = principal.actor(&parts);
        let ended = event(
            &actor,
            "session.sign_out",
            &client_id,
            Outcome::Allowed,
            "RP-initiated logout",
        );
        state
            .identity
            .end_session(&principal.session_hash, &ended, now)
            .await?;
    }
    let client = state.oidc.oidc_client(&client_id).await?;
    let target = request.post_logout_redirect_uri.filter(|uri| {
        client
            .as_ref()
            .is_some_and(|client| client.allows_post_logout_redirect(uri))
    });
    let signed_out = session::set_cookie(&state, session::SESSION_COOKIE, "", "Lax", Some(0));
    let location = match target {
        Some(mut uri) => {
            if let Some(state_value) = &request.state {
                uri.push(if uri.contains('?') { '&' } else { '?' });
                uri.push_str(&format!("state={}", url_encode(state_value)));
            }
            uri
        }
        None => "/console/sign-in".to_owned(),
    };
    Ok(([(header::SET_COOKIE, signed_out)], Redirect::to(&location)).into_response())
}

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (a browser or phone app) gets no secret.
    pub public: bool,
    pub first_party: bool,
}

/// Why a client was not registered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error("the client id {0} is taken")]
    Taken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Registers a client (an administrator's act, audited); returns its secret, shown once,
/// for a confidential client.
pub async fn register_client(
    state_store: &dyn huimin_domain::storage::OidcStore,
    new: NewClient,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<String>, ClientError> {
    huimin_domain::identity::check_login(&new.client_id).map_err(|_| {
        ClientError::Invalid(format!(
            "a client id is 3–64 lower-case letters, digits, '.', '_' or '-'; found '{}'",
            new.client_id
        ))
    })?;
    if new.name.trim().is_empty() {
        return Err(ClientError::Invalid("the client needs a name".into()));
    }
    if new.redirect_uris.is_empty() {
        return Err(ClientError::Invalid(
            "the client needs at least one redirect URI".into(),
        ));
    }
    for uri in new
        .redirect_uris
        .iter()
        .chain(&new.post_logout_redirect_uris)
    {
        check_redirect_uri(uri).map_err(ClientError::Invalid)?;
    }
    let secret = if new.public {
        None
    } else {
        Some(random_token().map_err(|_| StorageError::new("no random bytes"))?)
    };
    let client = OidcClient {
        client_id: new.client_id.clone(),
        name: new.name.trim().to_owned(),
        secret_hash: secret.as_deref().map(secret_hash),
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        first_party: new.first_party,
        created_at: now,
    };
    let registered = AuditEvent {
        detail: format!(
            "{}, {}, redirect URIs {}",
            if new.public { "public" } else { "confidential" },
            if new.first_party {
                "first party"
            } else {
                "third party"
            },
            client.redirect_uris.join(" ")
        ),
        ..actor.event("oidc.register_client", "oidc_client", new.client_id.clone())
    };
    if !state_store.create_oidc_client(&client, &registered).await? {
        return Err(ClientError::Taken(new.client_id));
    }
    Ok(secret)
}
