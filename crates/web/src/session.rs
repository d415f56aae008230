//! Sessions and who is asking: the session cookie, CSRF tokens, and the signed-in
//! [`Principal`] with the roles it holds now.
//!
//! The cookie carries 32 random bytes (hex); the store keeps only their SHA-256, so the
//! session table signs nobody in. Cookies are `HttpOnly` and `SameSite=Lax` (the CSRF
//! cookie of the sign-in form `Strict`), and `Secure` unless the configuration turns it
//! off for plain-HTTP development. Every form carries a CSRF token: on the sign-in form it
//! must equal the `huimin_csrf` cookie (double submit), after sign-in the session's own.

use crate::error::ApiError;
use crate::state::AppState;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use huimin_domain::audit::{Actor, hex};
use huimin_domain::identity::{Account, AccountKind, RoleAssignment, Session, SessionStage};

pub(crate) const SESSION_COOKIE: &str = "huimin_session";
pub(crate) const CSRF_COOKIE: &str = "huimin_csrf";

/// A session is touched (its idle clock restarted) at most this often, so that a burst of
/// requests does not write the session row each time.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// 32 random bytes in hex: session tokens and CSRF tokens.
pub(crate) fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| {
        ApiError::Storage(huimin_domain::storage::StorageError::new(format!(
            "randomness: {error}"
        )))
    })?;
    Ok(hex(&bytes))
}

/// Random bytes for secrets (TOTP, salts).
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| {
        ApiError::Storage(huimin_domain::storage::StorageError::new(format!(
            "randomness: {error}"
        )))
    })?;
    Ok(bytes)
}

/// What the store keys a session by.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    huimin_domain::identity::secret_hash(token)
}

/// A cookie's value from the request.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .next_back()
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub(crate) fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<i64>,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if state.config.secure_cookies {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    huimin_domain::identity::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// The client's address as the connection reports it ("" when unknown, as in tests that
/// call the router directly).
pub(crate) fn client_address(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_default()
}

/// The request id the middleware gave this request.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A signed-in account and the roles it holds at this moment.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    pub roles: Vec<RoleAssignment>,
    /// The scopes of the API token the request came with; `None` for a signed-in session.
    pub token_scopes: Option<Vec<String>>,
    /// When the session signed in (an API token's request: now).
    pub signed_in_at: DateTime<Utc>,
    pub(crate) session_hash: Vec<u8>,
    pub(crate) csrf_token: String,
}

impl Principal {
    /// The actor for audit entries: the account, its first role (or `none`), and the
    /// request's id and client address.
    pub fn actor(&self, request: &axum::http::request::Parts) -> Actor {
        Actor {
            account: self.account.login.clone(),
            role: self
                .roles
                .first()
                .map_or_else(|| "none".to_owned(), |role| role.role.code().to_owned()),
            purpose: String::new(),
            request_id: request_id(&request.headers),
            client: client_address(&request.extensions),
        }
    }
}

/// The session behind the request's cookie, at `stage`, if it is alive at `now`: a dead
/// one is ended. Touches the session when its idle clock is more than a minute old.
pub(crate) async fn live_session(
    state: &AppState,
    headers: &HeaderMap,
    stage: SessionStage,
    now: DateTime<Utc>,
) -> Result<Option<(Vec<u8>, Session)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let Some(session) = state.identity.session(&hash).await? else {
        return Ok(None);
    };
    let policy = state.config.sign_in;
    let alive = match session.stage {
        SessionStage::SignedIn => {
            policy.session_alive(session.created_at, session.last_seen_at, now)
        }
        SessionStage::SecondFactor => now < session.created_at + policy.second_factor_window,
    };
    if !alive {
        let event = Actor {
            account: session.login.clone(),
            role: "none".to_owned(),
            request_id: request_id(headers),
            ..Actor::default()
        }
        .event("session.expire", "session", &session.login);
        state.identity.end_session(&hash, &event, now).await?;
        return Ok(None);
    }
    if session.stage != stage {
        return Ok(None);
    }
    if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
        state.identity.touch_session(&hash, now).await?;
    }
    Ok(Some((hash, session)))
}

/// The signed-in principal of the request, if any.
pub(crate) async fn principal(
    state: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, ApiError> {
    let Some((session_hash, session)) =
        live_session(state, headers, SessionStage::SignedIn, now).await?
    else {
        return Ok(None);
    };
    let Some(account) = state.identity.account(&session.login).await? else {
        return Ok(None);
    };
    if account.disabled_at.is_some() {
        return Ok(None);
    }
    let roles = state
        .identity
        .role_assignments(&account.login)
        .await?
        .into_iter()
        .filter(|assignment| assignment.is_valid_at(now))
        .collect();
    Ok(Some(Principal {
        account,
        roles,
        token_scopes: None,
        signed_in_at: session.created_at,
        session_hash,
        csrf_token: session.csrf_token,
    }))
}

/// The prefix of every API token, so a leaked one is recognisable (and greppable).
pub const TOKEN_PREFIX: &str = "hm_";

/// The principal of an API request: a bearer token (a department's system) or, without
/// one, the browser's signed-in session. A token that is unknown, expired, revoked or not
/// a service account's is refused, never ignored.
pub(crate) async fn api_principal(
    state: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Principal, ApiError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = bearer else {
        return principal(state, headers, now)
            .await?
            .ok_or(ApiError::Unauthenticated);
    };
    let hash = token_hash(token.trim());
    let Some(stored) = state.identity.api_token(&hash).await? else {
        return Err(ApiError::Unauthenticated);
    };
    if !stored.is_usable_at(now) {
        return Err(ApiError::Unauthenticated);
    }
    let account = state
        .identity
        .account(&stored.login)
        .await?
        .filter(|account| account.kind == AccountKind::Service && account.disabled_at.is_none())
        .ok_or(ApiError::Unauthenticated)?;
    let roles = state
        .identity
        .role_assignments(&account.login)
        .await?
        .into_iter()
        .filter(|assignment| assignment.is_valid_at(now))
        .collect();
    Ok(Principal {
        account,
        roles,
        token_scopes: Some(stored.scopes),
        signed_in_at: now,
        session_hash: Vec::new(),
        csrf_token: String::new(),
    })
}
