//! Single sign-on: the rules of Huimin as an OpenID Connect provider for the city's other
//! systems — registered clients and their exact redirect URIs, PKCE (S256 only), the
//! authorization code, access and refresh tokens with their lifetimes and rotation, and
//! ID tokens signed with Ed25519 (JWS `EdDSA`, RFC 8037) whose public keys are served as
//! a JWKS. Pure: the store keeps grants and tokens, the web layer runs the endpoints.

use crate::identity::constant_time_eq;
pub use crate::identity::secret_hash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// How long an authorization code may be exchanged.
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// How long an access token (and an ID token) is good.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(10);
/// How long a refresh token is good, unless rotated or revoked first.
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(30);

/// The scopes a client may ask for: `openid` (required), `profile` (name), `phone` (a
/// resident's phone on record).
pub const SUPPORTED_SCOPES: [&str; 3] = ["openid", "profile", "phone"];

/// A system registered by an administrator to sign its users in through Huimin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the secret of a confidential client; `None` for a public client
    /// (a browser or phone app), which must use PKCE and cannot keep a secret.
    pub secret_hash: Option<Vec<u8>>,
    /// Compared exactly: no prefix, pattern or port matching.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A government system of the city itself: users are not asked to consent.
    pub first_party: bool,
    pub created_at: DateTime<Utc>,
}

impl OidcClient {
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }

    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|allowed| allowed == uri)
    }

    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|allowed| allowed == uri)
    }

    /// Whether `secret` is this confidential client's secret.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash
            .as_deref()
            .is_some_and(|stored| constant_time_eq(stored, &secret_hash(secret)))
    }
}

/// Checks a redirect URI an administrator registers: absolute, `https`, or `http` to the
/// loopback address only (for development), and without a fragment (RFC 6749 §3.1.2).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            uri.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if !(uri.starts_with("https://") || loopback) {
        return Err(format!(
            "redirect URI '{uri}' must start with https:// (or http://127.0.0.1 for development)"
        ));
    }
    if uri.contains('#') {
        return Err(format!(
            "redirect URI '{uri}' must not contain a fragment (#)"
        ));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("redirect URI '{uri}' contains white space"));
    }
    Ok(())
}

/// Whether a PKCE code verifier has RFC 7636's form: 43–128 unreserved characters.
pub fn pkce_verifier_is_valid(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier: BASE64URL(SHA-256(verifier)), unpadded.
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` answers `challenge` (S256; the `plain` method is not supported).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    pkce_verifier_is_valid(verifier)
        && constant_time_eq(pkce_s256(verifier).as_bytes(), challenge.as_bytes())
}

/// Whether a code challenge has the form of an S256 challenge (43 base64url characters).
pub fn pkce_challenge_is_valid(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The requested scopes, checked: `openid` must be among them; unknown scopes are
/// dropped (OpenID Connect Core §3.1.2.1 lets a provider ignore them). Returns them in
/// the order of [`SUPPORTED_SCOPES`], space-separated.
pub fn granted_scope(requested: &str) -> Option<String> {
    let asked: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return None;
    }
    Some(
        SUPPORTED_SCOPES
            .iter()
            .filter(|scope| asked.contains(scope))
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// An authorization code's grant, as stored under the code's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationGrant {
    pub client_id: String,
    pub login: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// When the user signed in (the ID token's `auth_time`).
    pub auth_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Every token issued from this grant shares this family, so a replayed code or
    /// refresh token revokes them all.
    pub family: String,
}

impl AuthorizationGrant {
    pub fn is_fresh_at(&self, now: DateTime<Utc>) -> bool {
        now < self.created_at + CODE_LIFETIME
    }
}

/// Access or refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn code(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    pub fn parse(code: &str) -> Option<TokenKind> {
        match code {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// An access or refresh token, as stored under its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub kind: TokenKind,
    pub client_id: String,
    pub login: String,
    pub scope: String,
    pub family: String,
    pub nonce: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// A refresh token is used once: it is rotated to a new one, and a second use is a
    /// theft signal that revokes its family.
    pub rotated_at: Option<DateTime<Utc>>,
}

impl IssuedToken {
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.rotated_at.is_none() && now < self.expires_at
    }
}

/// The key that signs ID tokens (Ed25519, JWS `EdDSA`), named by the same kind of key id
/// as the audit log's keys.
pub struct TokenSigner {
    key: SigningKey,
    kid: String,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "TokenSigner({})", self.kid)
    }
}

/// A public key of the JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    pub kid: String,
    key: VerifyingKey,
}

impl TokenKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<TokenKey> {
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        Some(TokenKey {
            kid: crate::audit::key_id(bytes),
            key,
        })
    }

    /// The key as a JSON Web Key (RFC 8037: `OKP`, `Ed25519`).
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.key.to_bytes()),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        })
    }
}

impl TokenSigner {
    pub fn from_seed(seed: &[u8; 32]) -> TokenSigner {
        let key = SigningKey::from_bytes(seed);
        let kid = crate::audit::key_id(&key.verifying_key().to_bytes());
        TokenSigner { key, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> TokenKey {
        TokenKey {
            kid: self.kid.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The claims as a compact JWS: `BASE64URL(header).BASE64URL(claims).BASE64URL(sig)`.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// The claims of a compact JWS signed by one of `keys` (found by `kid`); `None` for
/// anything malformed, unsigned, signed with another algorithm or by an unknown key.
/// Expiry is the caller's to judge.
pub fn verify_jws(token: &str, keys: &[TokenKey]) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "EdDSA" {
        return None;
    }
    let kid = header.get("kid")?.as_str()?;
    let key = keys.iter().find(|key| key.kid == kid)?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD.decode(signature).ok()?.try_into().ok()?;
    let input_len = token.len() - token.rsplit('.').next()?.len() - 1;
    key.key
        .verify(
            &token.as_bytes()[..input_len],
            &Signature::from_bytes(&signature),
        )
        .ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            pkce_s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches("short", &pkce_s256("short")), "too short");
        assert!(pkce_challenge_is_valid(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_challenge_is_valid("plain-challenge"));
    }

    #[test]
    fn id_tokens_are_eddsa_jws_verified_by_their_key_only() {
        let signer = TokenSigner::from_seed(&[7; 32]);
        let claims = serde_json::json!({"sub": "wang.li", "aud": "grid-app"});
        let token = signer.sign(&claims);
        assert_eq!(token.split('.').count(), 3);
        let keys = [signer.public_key()];
        assert_eq!(verify_jws(&token, &keys), Some(claims));
        let other = TokenSigner::from_seed(&[8; 32]).public_key();
        assert_eq!(verify_jws(&token, &[other]), None, "an unknown key");
        let mut forged = token.clone();
        forged.replace_range(token.len() - 2.., "AA");
        assert_eq!(verify_jws(&forged, &keys), None);
        let (header, rest) = token.split_once('.').unwrap();
        let none = format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"x"}"#)
        );
        assert_eq!(verify_jws(&none, &keys), None, "alg none is refused");
        assert!(!header.is_empty());
        for malformed in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(verify_jws(malformed, &keys), None);
        }
        let jwk = signer.public_key().jwk();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["kid"], signer.kid());
    }

    #[test]
    fn redirect_uris_and_scopes_are_checked() {
        assert!(check_redirect_uri("https://grid.yz.gov.cn/callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1.evil.example/cb").is_err());
        assert!(check_redirect_uri("http://grid.yz.gov.cn/callback").is_err());
        assert!(check_redirect_uri("https://grid.yz.gov.cn/cb#x").is_err());
        assert_eq!(
            granted_scope("profile openid email").as_deref(),
            Some("openid profile")
        );
        assert_eq!(granted_scope("profile"), None, "openid is required");
    }
}
