//! The choke point for reading people's records: every handler that shows personal data
//! asks a [`Reader`] — who is asking (session or API token), what the role table lets them
//! read (`huimin_domain::access`), for which stated purpose — and records the access in
//! the audit log, allowed or denied. A person outside the caller's scope answers exactly
//! like one that does not exist.

use crate::error::ApiError;
use crate::session::{Principal, api_principal};
use crate::state::AppState;
use axum::http::request::Parts;
use huimin_domain::access::{PersonAccess, Purpose, mask_citizen_id, mask_phone};
use huimin_domain::audit::{Actor, AuditEvent, Outcome};
use huimin_domain::registry::FieldError;

/// The scope an API token needs to read people's records.
pub const PERSONS_READ: &str = "persons:read";

/// A caller allowed to read some people's records, and why.
#[derive(Debug, Clone)]
pub struct Reader {
    pub principal: Principal,
    pub access: PersonAccess,
    pub purpose: Option<Purpose>,
    actor: Actor,
}

impl Reader {
    /// The reader behind an API request. `purpose` is the `X-Purpose` header (API) or the
    /// `purpose` query parameter (console), `KIND REFERENCE`.
    pub async fn of(
        state: &AppState,
        parts: &Parts,
        purpose: Option<&str>,
    ) -> Result<Reader, ApiError> {
        let now = state.clock.now();
        let principal = api_principal(state, &parts.headers, now).await?;
        if principal
            .token_scopes
            .as_ref()
            .is_some_and(|scopes| !scopes.iter().any(|scope| scope == PERSONS_READ))
        {
            return Err(ApiError::Forbidden(format!(
                "this token lacks the scope {PERSONS_READ}"
            )));
        }
        let header = parts
            .headers
            .get("x-purpose")
            .and_then(|value| value.to_str().ok());
        let stated = header
            .or(purpose)
            .map(str::trim)
            .filter(|text| !text.is_empty());
        let purpose = match stated {
            None => None,
            Some(text) => Some(Purpose::parse(text, &state.config.purposes).map_err(
                |message| {
                    ApiError::field(FieldError::new(
                        "purpose",
                        text,
                        "invalid_purpose",
                        &message,
                        format!("用途无效：{message}"),
                    ))
                },
            )?),
        };
        let access = PersonAccess::of(&principal.roles, now);
        let mut actor = principal.actor(parts);
        if let Some(purpose) = &purpose {
            actor.purpose = purpose.text();
        }
        Ok(Reader {
            principal,
            access,
            purpose,
            actor,
        })
    }

    pub fn can_read(&self, grid: Option<&str>) -> bool {
        self.access.scope.contains(grid)
    }

    pub fn shows_sensitive(&self, grid: Option<&str>) -> bool {
        self.access.shows_sensitive(grid, self.purpose.as_ref())
    }

    /// An identity number as this reader may see it.
    pub fn citizen_id(&self, id: &str, grid: Option<&str>) -> String {
        if self.shows_sensitive(grid) {
            id.to_owned()
        } else {
            mask_citizen_id(id)
        }
    }

    pub fn phone(&self, phone: &str, grid: Option<&str>) -> String {
        if self.shows_sensitive(grid) {
            phone.to_owned()
        } else {
            mask_phone(phone)
        }
    }

    /// The audit entry of reading `subject`'s record.
    pub fn event(
        &self,
        action: &str,
        subject: &str,
        grid: Option<&str>,
        outcome: Outcome,
    ) -> AuditEvent {
        AuditEvent {
            jurisdiction: grid.unwrap_or("").to_owned(),
            subject: subject.to_owned(),
            outcome,
            detail: if self.shows_sensitive(grid) {
                "sensitive fields shown".into()
            } else {
                "masked".into()
            },
            ..self.actor.event(action, "person", subject)
        }
    }

    /// Records the accesses in the audit log before the answer leaves; if the log cannot
    /// be written, the read fails.
    pub async fn record(&self, state: &AppState, events: &[AuditEvent]) -> Result<(), ApiError> {
        if !events.is_empty() {
            state.audit.append_audit(events, state.clock.now()).await?;
        }
        Ok(())
    }
}
