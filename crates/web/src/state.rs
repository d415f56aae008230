//! What every handler can reach: the registries, the grid index, the clock, settings.

use chrono::{DateTime, NaiveDate, Utc};
use huimin_domain::area::GridIndex;
use huimin_domain::audit::AuditPublicKey;
use huimin_domain::identity::SignInPolicy;
use huimin_domain::storage::{AuditStore, IdentityStore, OidcStore, RegistryStore, Store};
use std::sync::{Arc, RwLock};

/// The source of "now". The domain never reads the clock; the web layer reads it here.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in Asia/Shanghai.
    fn today(&self) -> NaiveDate {
        huimin_domain::time::shanghai_date(self.now())
    }
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub body_limit_bytes: usize,
    pub request_timeout_seconds: u64,
    /// The department recorded as the source of facts written through the API, until
    /// the identity issue gives every request a signed-in actor.
    pub api_source: String,
    /// Whether session cookies are marked `Secure` (sent over HTTPS only). Browsers treat
    /// `http://localhost` and `127.0.0.1` as secure, so the demo works with it on.
    pub secure_cookies: bool,
    /// Password, lockout and session rules.
    pub sign_in: SignInPolicy,
    /// The kinds of purpose a reader of sensitive fields may state (`KIND REFERENCE`).
    pub purposes: Vec<String>,
    /// The OpenID Connect issuer: the address other systems reach Huimin at, without a
    /// trailing slash, e.g. `https://huimin.yz.gov.cn`.
    pub issuer: String,
    /// Whether the server runs TLS with a client CA, so the sign-in page offers
    /// certificate login.
    pub certificate_login: bool,
    /// The provider's deadline for a conditional sharing request, in working days.
    pub decision_days: u32,
    /// The most subjects one batch look-up of the exchange may name.
    pub exchange_batch_limit: usize,
    /// The largest dataset upload (`POST …/batches`) accepted, in bytes.
    pub upload_limit_bytes: usize,
    /// How long a dataset upload, its import included, may take.
    pub upload_timeout_seconds: u64,
    /// Cases' time limits and duplicate checks.
    pub cases: CaseSettings,
}

/// How cases' time limits are counted and when a report counts as a possible duplicate.
#[derive(Debug, Clone)]
pub struct CaseSettings {
    /// The office hours working-time limits count.
    pub office_hours: huimin_domain::case::limits::OfficeHours,
    /// From this share of a stage's limit the stage is yellow (预警).
    pub yellow_share: f64,
    pub duplicates: huimin_domain::case::duplicates::DuplicateRule,
}

impl Default for CaseSettings {
    /// 08:30–12:00 and 13:30–17:30; yellow from 80 %; duplicates within 200 m and 7 days.
    fn default() -> Self {
        CaseSettings {
            office_hours: huimin_domain::case::limits::OfficeHours::default(),
            yellow_share: 0.8,
            duplicates: huimin_domain::case::duplicates::DuplicateRule::default(),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_seconds: 30,
            api_source: "api".to_owned(),
            secure_cookies: true,
            sign_in: SignInPolicy::default(),
            purposes: huimin_domain::access::default_purpose_kinds(),
            issuer: "http://127.0.0.1:8080".to_owned(),
            certificate_login: false,
            decision_days: huimin_domain::sharing::DEFAULT_DECISION_DAYS,
            exchange_batch_limit: 100,
            upload_limit_bytes: 2 * 1024 * 1024 * 1024,
            upload_timeout_seconds: 3600,
            cases: CaseSettings::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn RegistryStore>,
    /// The same database's audit log.
    pub audit: Arc<dyn AuditStore>,
    /// The same database's accounts and sessions.
    pub identity: Arc<dyn IdentityStore>,
    /// The public keys that sign the audit log's checkpoints, served to monitors.
    pub audit_keys: Vec<AuditPublicKey>,
    /// Rebuilt when areas change; readers take a cheap read lock.
    pub grid_index: Arc<RwLock<Arc<GridIndex>>>,
    pub clock: Arc<dyn Clock>,
    pub config: WebConfig,
    /// Where residents' sign-in codes are sent.
    pub sms: Arc<dyn crate::sms::SmsGateway>,
    /// The same database's catalogue of departments and information resources.
    pub catalogue: Arc<dyn huimin_domain::storage::CatalogueStore>,
    /// The same database's department datasets: batches, their problems and quality.
    pub datasets: Arc<dyn huimin_domain::storage::DatasetStore>,
    /// The same database's disputes of one datum, one source.
    pub disputes: Arc<dyn huimin_domain::storage::DisputeStore>,
    /// The same database's subscriptions, outboxes and delivery log.
    pub subscriptions: Arc<dyn huimin_domain::storage::SubscriptionStore>,
    /// The same database's sharing requests and grants.
    pub sharing: Arc<dyn huimin_domain::storage::SharingStore>,
    /// The same database's cases and their timelines.
    pub cases: Arc<dyn huimin_domain::storage::CaseStore>,
    /// The same database's hotline knowledge base.
    pub knowledge: Arc<dyn huimin_domain::storage::KnowledgeStore>,
    /// The same database's patrol visits.
    pub patrol: Arc<dyn huimin_domain::storage::PatrolStore>,
    /// The same database's manhole covers and buildings' safety appraisals.
    pub facilities: Arc<dyn huimin_domain::storage::FacilityStore>,
    /// The same database's tenancies of rented houses.
    pub rentals: Arc<dyn huimin_domain::storage::RentalStore>,
    /// Each grant's rate limit, kept in this process (one server per city; behind several,
    /// each enforces the rate on its own).
    pub rate_limits:
        Arc<std::sync::Mutex<std::collections::HashMap<u64, huimin_domain::sharing::TokenBucket>>>,
    /// The same database's single sign-on clients, codes and tokens.
    pub oidc: Arc<dyn OidcStore>,
    /// The key that signs ID tokens and every public key to serve; `None` turns single
    /// sign-on off.
    pub oidc_keys: Option<Arc<OidcKeys>>,
    /// The audit administrator's verification of the log, which outlasts a request.
    pub verification: Arc<std::sync::Mutex<AuditVerification>>,
}

/// Where the audit page's verification of the whole log stands: it runs as a job of its
/// own (a large log takes longer than a request may), one at a time.
#[derive(Debug, Clone, Default)]
pub enum AuditVerification {
    #[default]
    Idle,
    Running {
        by: String,
        started: DateTime<Utc>,
    },
    Done {
        by: String,
        finished: DateTime<Utc>,
        seconds: f64,
        intact: bool,
        entries: u64,
        findings: Vec<String>,
        unsigned: u64,
    },
    Failed {
        by: String,
        finished: DateTime<Utc>,
        error: String,
    },
}

/// The ID-token signing key and the JWKS.
#[derive(Debug)]
pub struct OidcKeys {
    pub signer: huimin_domain::oidc::TokenSigner,
    /// The current key and the retired ones still trusted, newest first.
    pub public: Vec<huimin_domain::oidc::TokenKey>,
}

impl AppState {
    /// A state whose grid index is built from the store's grids.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: WebConfig,
    ) -> Result<AppState, huimin_domain::storage::StorageError> {
        let grids = store.areas(&[huimin_domain::area::AreaLevel::Grid]).await?;
        Ok(AppState {
            store: store.clone(),
            audit: store.clone(),
            identity: store.clone(),
            catalogue: store.clone(),
            datasets: store.clone(),
            sharing: store.clone(),
            cases: store.clone(),
            knowledge: store.clone(),
            patrol: store.clone(),
            facilities: store.clone(),
            rentals: store.clone(),
            disputes: store.clone(),
            subscriptions: store.clone(),
            rate_limits: Arc::default(),
            oidc: store,
            oidc_keys: None,
            verification: Arc::default(),
            audit_keys: Vec::new(),
            grid_index: Arc::new(RwLock::new(Arc::new(GridIndex::new(&grids)))),
            clock,
            config,
            sms: Arc::new(crate::sms::LoggingSmsGateway),
        })
    }

    /// The state signing ID tokens with `keys` (single sign-on is off without them).
    pub fn with_oidc_keys(self, keys: OidcKeys) -> AppState {
        AppState {
            oidc_keys: Some(Arc::new(keys)),
            ..self
        }
    }

    /// The state sending text messages through `sms` (by default they are logged).
    pub fn with_sms_gateway(self, sms: Arc<dyn crate::sms::SmsGateway>) -> AppState {
        AppState { sms, ..self }
    }

    /// The state with the audit log's signing keys to serve.
    pub fn with_audit_keys(self, audit_keys: Vec<AuditPublicKey>) -> AppState {
        AppState { audit_keys, ..self }
    }

    pub fn grid_index(&self) -> Arc<GridIndex> {
        match self.grid_index.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}
