//! The single sign-on pages a person sees: the consent screen for a third-party client,
//! and the refusal of a request that cannot be sent back to its client.

use super::{Chrome, LangQuery, PageError};
use crate::error::ApiError;
use crate::i18n::Lang;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

fn chrome(headers: &HeaderMap) -> Chrome {
    Chrome::new(
        headers,
        &LangQuery { lang: None },
        "sign-in",
        "/oidc/authorize",
    )
}

/// An authorization request refused on a page (400): an unknown client or an
/// unregistered redirect URI, which RFC 6749 §4.1.2.1 forbids redirecting.
pub(crate) fn refused(headers: &HeaderMap, message: &str) -> Response {
    let error = ApiError::BadRequest {
        code: "invalid_request",
        message: message.to_owned(),
    };
    PageError::new(&chrome(headers), error).into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
struct ConsentPage {
    chrome: Chrome,
    client: String,
    scopes: Vec<&'static str>,
    /// The authorization request, carried through the form.
    hidden: Vec<(&'static str, String)>,
}

/// The consent screen: `client` asks to sign the person in and to read `scope`.
pub(crate) fn consent(
    headers: &HeaderMap,
    client: &str,
    scope: &str,
    hidden: Vec<(&'static str, String)>,
) -> Response {
    let chrome = chrome(headers);
    let zh = chrome.lang == Lang::Zh;
    let scopes = scope
        .split(' ')
        .filter_map(|scope| match (scope, zh) {
            ("openid", true) => Some("您的账号标识"),
            ("openid", false) => Some("your account id"),
            ("profile", true) => Some("姓名"),
            ("profile", false) => Some("your name"),
            ("phone", true) => Some("手机号码"),
            ("phone", false) => Some("your phone number"),
            _ => None,
        })
        .collect();
    ConsentPage {
        chrome,
        client: client.to_owned(),
        scopes,
        hidden,
    }
    .into_response()
}
