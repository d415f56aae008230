//! The storage traits: what the registries need from a database, one method per use case.
//!
//! The `store` crate implements [`RegistryStore`] for SQLite and PostgreSQL with the same
//! behaviour, proven by one conformance suite. The web layer holds an
//! `Arc<dyn RegistryStore>` and cannot reach SQL. Writes take a [`Provenance`]; a write that
//! changes a record keeps the previous version in history, and a write that changes nothing
//! is reported as unchanged, which is what makes imports idempotent.

use crate::area::{Area, AreaLevel};
use crate::audit::{
    Actor, AuditEntry, AuditEvent, AuditSigner, Checkpoint, KeyRing, StoredEntry, VerifyReport,
};
use crate::catalogue::{
    Department, DepartmentId, Publication, PublishedResource, RegistryField, Resource,
    ResourceCode, ResourceQuery, ResourceSummary,
};
use crate::identifiers::{CitizenId, CreditCode};
use crate::identity::{Account, ApiToken, RoleAssignment, Session, SessionStage};
use crate::merkle::Hash;
use crate::oidc::{AuthorizationGrant, IssuedToken, OidcClient};
use crate::provenance::Provenance;
use crate::registry::{Building, House, Household, LegalEntity, Person};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// A storage failure. Opaque on purpose: callers cannot branch on SQL details; the message
/// is for logs, never for the person at the screen.
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {message}")]
pub struct StorageError {
    pub message: String,
}

impl StorageError {
    pub fn new(message: impl Into<String>) -> StorageError {
        StorageError {
            message: message.into(),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// What a batch write did, record by record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl WriteCounts {
    /// The audit entry of a registry write: `<kind>.write` of the batch by `actor`, with
    /// the source and these counts. The store appends it in the write's transaction.
    pub fn audit_event(self, actor: &Actor, kind: &str, provenance: &Provenance) -> AuditEvent {
        AuditEvent {
            detail: format!(
                "source {}; inserted {}, updated {}, unchanged {}",
                provenance.source, self.inserted, self.updated, self.unchanged
            ),
            ..actor.event(format!("{kind}.write"), "batch", provenance.batch.clone())
        }
    }

    pub fn add(&mut self, other: WriteCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// A version of a stored record with where it came from, and until when it was current
/// (`None` while it still is).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub record: T,
    pub provenance: Provenance,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// A page request: 1-based page number and page size (capped by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub const MAX_PER_PAGE: u32 = 200;

    /// A page request with the page at least 1 and the size between 1 and 200.
    pub fn new(page: u32, per_page: u32) -> PageRequest {
        PageRequest {
            page: page.max(1),
            per_page: per_page.clamp(1, Self::MAX_PER_PAGE),
        }
    }

    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// How to find people. Every given condition must hold; results sort by name in pinyin
/// order, then identity number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonQuery {
    /// The exact name.
    pub name: Option<String>,
    /// A prefix of the name's pinyin initials, lower-case (`zs` finds 张三 and 张山峰).
    pub initials: Option<String>,
    /// An area code prefix: a district, street, community or grid code.
    pub area: Option<String>,
    /// Only people the caller may read (the access policy's scope); `None` for Huimin's
    /// own processes.
    pub within: Option<crate::access::Scope>,
}

/// A person as a list shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonSummary {
    pub citizen_id: CitizenId,
    pub name: String,
    pub grid: Option<String>,
    pub life_status: String,
}

/// People of one age band and sex in an area: one bar of an age pyramid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBand {
    /// The lower bound of the five-year band: 0, 5, … 100 (100 means 100 and over).
    pub from_age: u32,
    pub male: u64,
    pub female: u64,
}

/// Ageing of one community: how many residents, how many aged 60 and over.
#[derive(Debug, Clone, PartialEq)]
pub struct AgeingRate {
    pub area_code: String,
    pub area_name: String,
    pub residents: u64,
    pub aged_60_and_over: u64,
}

/// The houses a person owns or rents, the households they belong to, the entities they
/// represent: what the 360 view shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonLinks {
    pub households: Vec<Household>,
    pub owned_houses: Vec<House>,
    pub rented_houses: Vec<House>,
    pub represented_entities: Vec<LegalEntity>,
}

/// Everything the person 360 view shows, read together.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonView {
    /// Every version, newest (the current one) first.
    pub history: Vec<Versioned<Person>>,
    pub links: PersonLinks,
    /// The current names of the members of the person's households, by identity number.
    pub member_names: Vec<(CitizenId, String)>,
}

/// A first load of people into an empty person registry, in one transaction that the
/// load holds: chunks are appended as they arrive (an import appends while it is still
/// reading its file), the registry's indexes are built once at the end, and nothing is
/// visible to readers until [`PersonBulkLoad::commit`]. Dropping a load without
/// committing it rolls everything back.
///
/// Every appended person must have an identity number that no other person of the load
/// has; a repeat makes the commit fail (the unique key is rebuilt there), never a silent
/// overwrite. Callers divert repeats to [`PersonBulkLoad::commit`]'s `repeats`, which are
/// then written like [`RegistryStore::put_persons`] writes, as updates of the loaded rows.
#[async_trait]
pub trait PersonBulkLoad: Send {
    /// Appends people with identity numbers new to the load.
    async fn append(&mut self, persons: &[Person]) -> StorageResult<()>;

    /// Builds the indexes, writes `repeats` as ordinary versioned writes, and commits.
    /// The counts cover the appended people (all inserted) and the repeats.
    async fn commit(self: Box<Self>, repeats: &[Person]) -> StorageResult<WriteCounts>;
}

#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Whether the database answers.
    async fn ping(&self) -> StorageResult<()>;

    /// Inserts or updates people in one transaction. A changed person's previous version
    /// moves to history; an identical one is left alone and counted as unchanged. A large
    /// batch into an empty registry is written as a [`PersonBulkLoad`].
    async fn put_persons(
        &self,
        persons: &[Person],
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<WriteCounts>;

    /// Starts a [`PersonBulkLoad`] with `provenance` on every row, when the person
    /// registry is empty; `None` when it is not, and [`RegistryStore::put_persons`] is the
    /// way to write. A load is worth its set-up from about ten thousand people on.
    async fn begin_person_bulk_load(
        &self,
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<Option<Box<dyn PersonBulkLoad>>>;

    /// The current version, or the version current at `as_of` when given.
    async fn person(
        &self,
        citizen_id: &CitizenId,
        as_of: Option<DateTime<Utc>>,
    ) -> StorageResult<Option<Versioned<Person>>>;

    /// Every version of a person, newest first.
    async fn person_history(&self, citizen_id: &CitizenId)
    -> StorageResult<Vec<Versioned<Person>>>;

    async fn search_persons(
        &self,
        query: &PersonQuery,
        page: PageRequest,
    ) -> StorageResult<Page<PersonSummary>>;

    /// The person 360 view in one call: what `person_history`, `person_links` and the names
    /// of household members give, or `None` for an unknown person. One call, so a backend
    /// can read it in one round trip.
    async fn person_view(&self, citizen_id: &CitizenId) -> StorageResult<Option<PersonView>>;

    /// Households, houses and entities linked to a person.
    async fn person_links(&self, citizen_id: &CitizenId) -> StorageResult<PersonLinks>;

    async fn put_households(
        &self,
        households: &[Household],
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<WriteCounts>;

    async fn household(&self, number: &str) -> StorageResult<Option<Versioned<Household>>>;

    async fn put_entities(
        &self,
        entities: &[LegalEntity],
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<WriteCounts>;

    async fn entity(
        &self,
        credit_code: &CreditCode,
    ) -> StorageResult<Option<Versioned<LegalEntity>>>;

    /// Entities whose name contains the text, by name.
    async fn search_entities(
        &self,
        name_contains: &str,
        page: PageRequest,
    ) -> StorageResult<Page<LegalEntity>>;

    async fn put_buildings(
        &self,
        buildings: &[Building],
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<WriteCounts>;

    async fn put_houses(
        &self,
        houses: &[House],
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<WriteCounts>;

    async fn house(&self, id: &str) -> StorageResult<Option<Versioned<House>>>;

    /// The current people of an area (code prefix of their grid) who carry `tag`, by
    /// identity number; at most `limit`.
    async fn tagged_persons(
        &self,
        area_prefix: &str,
        tag: crate::registry::PersonTag,
        limit: u32,
    ) -> StorageResult<Vec<Person>>;

    /// Houses in an area (code prefix of their grid), by id.
    async fn houses_in_area(
        &self,
        area_prefix: &str,
        page: PageRequest,
    ) -> StorageResult<Page<House>>;

    async fn put_areas(
        &self,
        areas: &[Area],
        provenance: &Provenance,
        actor: &Actor,
    ) -> StorageResult<WriteCounts>;

    /// Every area of the given levels (all levels when empty), by code.
    async fn areas(&self, levels: &[AreaLevel]) -> StorageResult<Vec<Area>>;

    async fn area(&self, code: &str) -> StorageResult<Option<Area>>;

    /// The age pyramid of living residents whose grid starts with `area_prefix`.
    async fn age_pyramid(&self, area_prefix: &str, today: NaiveDate)
    -> StorageResult<Vec<AgeBand>>;

    /// Residents and residents aged 60 and over, per community.
    async fn ageing_by_community(&self, today: NaiveDate) -> StorageResult<Vec<AgeingRate>>;

    /// How many current people the registry holds.
    async fn count_persons(&self) -> StorageResult<u64>;

    /// The current names of the given people (those not registered are left out).
    async fn person_names(
        &self,
        citizen_ids: &[CitizenId],
    ) -> StorageResult<Vec<(CitizenId, String)>>;

    /// Refreshes the query planner's statistics after a bulk load (PostgreSQL `ANALYZE`,
    /// SQLite `ANALYZE`), so the first queries after an import use the right indexes.
    async fn refresh_statistics(&self) -> StorageResult<()>;

    /// Registered legal entities by kind and by the district of their registering
    /// authority (the 行政区划码 in the credit code), districts by code.
    async fn entity_counts(&self)
    -> StorageResult<Vec<(crate::registry::EntityKind, String, u64)>>;
}

/// An inclusion proof: entry `seq` is leaf `seq - 1` of the checkpointed tree of
/// `tree_size` entries (verify with [`crate::merkle::verify_inclusion`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub seq: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub path: Vec<Hash>,
}

/// What goes wrong with a proof request, besides storage failures.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no checkpoint has tree size {0}; proofs are served against checkpointed sizes")]
    NoSuchCheckpoint(u64),
    #[error("entry {seq} is not in the tree of {tree_size} entries")]
    OutOfRange { seq: u64, tree_size: u64 },
    #[error("the first tree size ({first}) is larger than the second ({second})")]
    Order { first: u64, second: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A search of the audit log; every field narrows it, `None` leaves it open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// An action or its prefix: `session.` finds every sign-in event.
    pub action: Option<String>,
    /// Whose data (identity number).
    pub subject: Option<String>,
    pub outcome: Option<crate::audit::Outcome>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Leave out the entries under a seal that is still in force at this time — the
    /// resident's view of their own entries. `None` (every audit search) shows them all.
    pub unsealed_at: Option<DateTime<Utc>>,
}

/// The audit log's storage: append-only entries, signed checkpoints, proofs. The same
/// stores implement it as [`RegistryStore`]; registry writes append their own entries in
/// the transaction of the change.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events in one transaction, numbered in order and timed `at` (or the time
    /// of the newest entry, if later: entry times never go backwards). Returns the first
    /// sequence number given.
    async fn append_audit(&self, events: &[AuditEvent], at: DateTime<Utc>) -> StorageResult<u64>;

    /// How many entries the log holds.
    async fn audit_size(&self) -> StorageResult<u64>;

    /// Entries whose action begins with `action_prefix` since `since`, counted per day
    /// (Asia/Shanghai) and outcome.
    async fn daily_counts(
        &self,
        action_prefix: &str,
        since: DateTime<Utc>,
    ) -> StorageResult<Vec<(chrono::NaiveDate, crate::audit::Outcome, u64)>>;

    /// Entries matching the query, newest first.
    async fn audit_entries(
        &self,
        query: &AuditQuery,
        page: PageRequest,
    ) -> StorageResult<Page<AuditEntry>>;

    /// One entry with its stored leaf hash.
    async fn audit_entry(&self, seq: u64) -> StorageResult<Option<StoredEntry>>;

    /// Signs the tree head over every entry so far and keeps it, unless the newest
    /// checkpoint covers them already; returns the newest checkpoint (`None` while the log
    /// is empty). Leaf hashes are recomputed from the entries first, so a change made
    /// before the checkpoint is refused rather than signed.
    async fn checkpoint_audit(
        &self,
        signer: &AuditSigner,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<Checkpoint>>;

    /// Every checkpoint, oldest first.
    async fn audit_checkpoints(&self) -> StorageResult<Vec<Checkpoint>>;

    /// The newest checkpoint.
    async fn latest_audit_checkpoint(&self) -> StorageResult<Option<Checkpoint>>;

    /// The proof that entry `seq` is in the checkpointed tree of `tree_size` entries.
    async fn audit_inclusion_proof(
        &self,
        seq: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ProofError>;

    /// The proof that checkpointed tree `first` is a prefix of checkpointed tree `second`.
    async fn audit_consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, ProofError>;

    /// Recomputes every leaf and tree head from the stored entries and checks every
    /// checkpoint against `keys` (`huimin audit verify`).
    async fn verify_audit(&self, keys: &KeyRing) -> StorageResult<VerifyReport>;

    /// Keeps a seal and appends `audit` (the sealing) in the same transaction; returns
    /// the seal's number.
    async fn seal_audit(&self, seal: &crate::audit::Seal, audit: &AuditEvent)
    -> StorageResult<u64>;

    /// Seals, newest first.
    async fn audit_seals(&self, page: PageRequest) -> StorageResult<Page<crate::audit::Seal>>;
}

/// Accounts, role assignments and sessions. Every change that matters to security takes
/// the audit event that records it and appends it in the same transaction.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Creates an account; `false` (and nothing written) when the login is taken.
    async fn create_account(&self, account: &Account, audit: &AuditEvent) -> StorageResult<bool>;

    async fn account(&self, login: &str) -> StorageResult<Option<Account>>;

    /// Accounts in login order.
    async fn accounts(&self, page: PageRequest) -> StorageResult<Page<Account>>;

    /// Adds a role assignment (the caller checks it with `identity::check_assignment`).
    async fn assign_role(
        &self,
        login: &str,
        assignment: &RoleAssignment,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Every assignment the account has held, in the order given.
    async fn role_assignments(&self, login: &str) -> StorageResult<Vec<RoleAssignment>>;

    /// Records a failed sign-in: one more consecutive failure; at `max_failures` the
    /// account is locked until `lock_until` and the count starts again. Returns whether
    /// the account is now locked. Unknown logins only append the event.
    async fn record_sign_in_failure(
        &self,
        login: &str,
        max_failures: u32,
        lock_until: DateTime<Utc>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;

    /// Records a good password (or code): the failure count starts again.
    async fn record_sign_in_success(
        &self,
        login: &str,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Sets the TOTP secret (enrolment begun), or marks it enrolled, and the last step
    /// used.
    async fn set_second_factor(
        &self,
        login: &str,
        secret: &[u8],
        enrolled_at: Option<DateTime<Utc>>,
        last_step: Option<u64>,
    ) -> StorageResult<()>;

    async fn create_session(&self, token_hash: &[u8], session: &Session) -> StorageResult<()>;

    async fn session(&self, token_hash: &[u8]) -> StorageResult<Option<Session>>;

    /// Binds a client certificate (by serial, lower-case hex) to an account; `false` when
    /// there is no such account. A serial bound elsewhere is refused by the store.
    async fn bind_certificate(
        &self,
        login: &str,
        serial: &str,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;

    /// The account a client certificate signs in: the one bound to its serial, else the
    /// one staff account whose identity number the certificate's subject carries.
    async fn account_for_certificate(
        &self,
        serial: &str,
        citizen_id: Option<&str>,
    ) -> StorageResult<Option<Account>>;

    /// Keeps the hash of the SMS code just sent for a sign-in (replacing an earlier one).
    async fn set_sms_code(
        &self,
        token_hash: &[u8],
        code_hash: &[u8],
        sent_at: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Moves a session to a new token (after a step of signing in: no fixation) and stage,
    /// forgetting its SMS code.
    async fn advance_session(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        stage: SessionStage,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;

    async fn touch_session(&self, token_hash: &[u8], now: DateTime<Utc>) -> StorageResult<()>;

    /// Ends one session (sign-out); appends the event when one was ended.
    async fn end_session(
        &self,
        token_hash: &[u8],
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Keeps a new API token (its value is shown once and never stored).
    async fn create_api_token(
        &self,
        token_hash: &[u8],
        token: &ApiToken,
        audit: &AuditEvent,
    ) -> StorageResult<()>;

    async fn api_token(&self, token_hash: &[u8]) -> StorageResult<Option<ApiToken>>;

    /// Revokes an account's tokens with this label; returns how many.
    async fn revoke_api_tokens(
        &self,
        login: &str,
        label: &str,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<u64>;

    /// Ends every session of an account (sign out everywhere); returns how many.
    async fn end_sessions_of(
        &self,
        login: &str,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<u64>;
}

/// Everything a database keeps for Huimin: the registries, the audit log, identities. An
/// `Arc<dyn Store>` converts to either trait object.
pub trait Store:
    RegistryStore
    + AuditStore
    + IdentityStore
    + OidcStore
    + CatalogueStore
    + DatasetStore
    + SharingStore
    + DisputeStore
    + SubscriptionStore
    + CaseStore
    + KnowledgeStore
    + PatrolStore
    + FacilityStore
    + RentalStore
{
}

/// Cases and their timelines (issue 5). Every change is a conditional update on the
/// case's version with its event and its audit entry in one transaction.
#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Keeps a new case (its `id` is ignored) with its first event, the report, and the
    /// steps already taken on it with their audit events (a ticket dispatched by the rules
    /// as it is taken), all in one transaction; `case` is the case after those steps.
    /// Returns the id it was given; every audit event's `object_id` is set to that id.
    async fn create_case(
        &self,
        case: &crate::case::Case,
        audit: &AuditEvent,
        steps: &[(crate::case::CaseEvent, AuditEvent)],
    ) -> StorageResult<u64>;

    async fn case(&self, id: u64) -> StorageResult<Option<crate::case::Case>>;

    /// The case's timeline, oldest first.
    async fn case_events(&self, id: u64) -> StorageResult<Vec<crate::case::CaseEvent>>;

    /// Replaces the case with `case` (whose version is one more than `expected_version`)
    /// and appends `event`; `false`, with nothing written, when the stored case is no
    /// longer at `expected_version` (someone changed it meanwhile).
    async fn update_case(
        &self,
        case: &crate::case::Case,
        expected_version: u64,
        event: &crate::case::CaseEvent,
        audit: &AuditEvent,
    ) -> StorageResult<bool>;

    /// Cases, newest first.
    async fn cases(
        &self,
        query: &crate::case::CaseQuery,
        page: PageRequest,
    ) -> StorageResult<Page<crate::case::Case>>;

    /// Up to `limit` cases with ids above `after`, by id: a walk through every case that
    /// does not slow down with its depth (the replay of timelines).
    async fn cases_after(&self, after: u64, limit: u32) -> StorageResult<Vec<crate::case::Case>>;

    /// The indicator facts kept with a case, as its last write computed them.
    async fn kept_facts(
        &self,
        id: u64,
    ) -> StorageResult<Option<crate::case::indicators::CaseFacts>>;

    /// Rewrites the facts kept with a case that is still at `version`, with the audit
    /// event, in one transaction; `false`, with nothing written, when it has moved on.
    async fn rewrite_facts(
        &self,
        id: u64,
        version: u64,
        facts: &crate::case::indicators::CaseFacts,
        audit: &AuditEvent,
        at: DateTime<Utc>,
    ) -> StorageResult<bool>;

    /// Open cases of `category` reported since `since` inside the box (min longitude, min
    /// latitude, max longitude, max latitude): the candidates of a duplicate search. At
    /// most `limit`, the newest.
    async fn open_cases_near(
        &self,
        category: &str,
        area: (f64, f64, f64, f64),
        since: DateTime<Utc>,
        limit: u32,
    ) -> StorageResult<Vec<crate::case::Case>>;

    /// The indicator tallies of the cases the query counts, one per unit (a grid code
    /// cut to the unit's digits, a department, a reporter), in the unit's order.
    async fn case_tallies(
        &self,
        query: &crate::case::indicators::IndicatorQuery,
    ) -> StorageResult<Vec<(String, crate::case::indicators::Tally)>>;

    /// Keeps cases with their whole timelines at once, each under the id it carries
    /// (which no kept case may have): the synthetic city's year of cases. Nothing is
    /// audited; the generator is not a person.
    async fn load_cases(
        &self,
        cases: &[(crate::case::Case, Vec<crate::case::CaseEvent>)],
    ) -> StorageResult<()>;

    /// Keeps a photo of a case (`meta.id` ignored) with its audit event; returns its id.
    async fn add_photo(
        &self,
        meta: &crate::case::photo::PhotoMeta,
        bytes: &[u8],
        audit: &AuditEvent,
    ) -> StorageResult<u64>;

    /// A case's photos, oldest first.
    async fn photos(&self, case_id: u64) -> StorageResult<Vec<crate::case::photo::PhotoMeta>>;

    /// One photo of a case with its bytes.
    async fn photo(
        &self,
        case_id: u64,
        photo_id: u64,
    ) -> StorageResult<Option<(crate::case::photo::PhotoMeta, Vec<u8>)>>;

    /// The dispatch rules in force, in the order they were given.
    async fn dispatch_rules(&self) -> StorageResult<Vec<crate::case::dispatch::DispatchRule>>;

    /// Replaces every dispatch rule with `rules`, with the audit event, in one transaction.
    async fn replace_dispatch_rules(
        &self,
        rules: &[crate::case::dispatch::DispatchRule],
        audit: &AuditEvent,
        at: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Keeps an inbound SMS in the hotline's inbox with its audit event (at `at`), unless a message
    /// of the same gateway id is kept already; returns the kept message and whether it
    /// is new. A repeated id with another sender or text is a conflict (`Err`).
    async fn receive_sms(
        &self,
        sms: &crate::case::sms::InboundSms,
        audit: &AuditEvent,
        at: DateTime<Utc>,
    ) -> StorageResult<Result<(crate::case::sms::SmsMessage, bool), crate::case::sms::SmsMessage>>;

    async fn sms_message(&self, id: u64) -> StorageResult<Option<crate::case::sms::SmsMessage>>;

    /// The inbox's messages of `status` (all when `None`), oldest first for `new`, newest
    /// first otherwise.
    async fn sms_messages(
        &self,
        status: Option<crate::case::sms::SmsStatus>,
        page: PageRequest,
    ) -> StorageResult<Page<crate::case::sms::SmsMessage>>;

    /// Takes a new message as the ticket `case` (as `create_case` keeps it), marking the
    /// message ticketed, in one transaction; `None`, with nothing written, when the
    /// message is no longer new (another agent took or dismissed it).
    async fn ticket_sms(
        &self,
        sms_id: u64,
        case: &crate::case::Case,
        audit: &AuditEvent,
        steps: &[(crate::case::CaseEvent, AuditEvent)],
    ) -> StorageResult<Option<u64>>;

    /// Dismisses a new message with a reason and its audit event; `false`, with nothing
    /// written, when it is no longer new.
    async fn dismiss_sms(
        &self,
        sms_id: u64,
        reason: &str,
        audit: &AuditEvent,
        at: DateTime<Utc>,
    ) -> StorageResult<bool>;
}

impl<
    T: RegistryStore
        + AuditStore
        + IdentityStore
        + OidcStore
        + CatalogueStore
        + DatasetStore
        + SharingStore
        + DisputeStore
        + SubscriptionStore
        + CaseStore
        + KnowledgeStore
        + PatrolStore
        + FacilityStore
        + RentalStore
        + ?Sized,
> Store for T
{
}

/// Tenants registered at rented houses.
#[async_trait]
pub trait RentalStore: Send + Sync {
    /// Registers a stay (its `id` ignored) with its audit event; `None`, with nothing
    /// written, when the tenant already has a current stay at the house. The audit event's
    /// `object_id` is set to the new id.
    async fn register_tenancy(
        &self,
        tenancy: &crate::rental::Tenancy,
        audit: &AuditEvent,
    ) -> StorageResult<Option<u64>>;

    /// Ends a current stay on `moved_out`; `false`, with nothing written, when there is no
    /// such current stay.
    async fn end_tenancy(
        &self,
        id: u64,
        moved_out: chrono::NaiveDate,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StorageResult<bool>;

    /// Every stay at a house, newest first.
    async fn tenancies(&self, house_id: &str) -> StorageResult<Vec<crate::rental::Tenancy>>;
}

/// Grid workers' patrol visits.
#[async_trait]
pub trait PatrolStore: Send + Sync {
    /// Appends a visit (its `id` ignored) with its audit event in one transaction; returns
    /// its id, which the audit event's `object_id` is set to.
    async fn record_visit(
        &self,
        visit: &crate::case::patrol::Visit,
        audit: &AuditEvent,
    ) -> StorageResult<u64>;

    /// The visits in `grid` since `since`, newest first.
    async fn visits(
        &self,
        grid: &str,
        since: DateTime<Utc>,
    ) -> StorageResult<Vec<crate::case::patrol::Visit>>;
}

/// City components (manhole covers) and buildings' safety appraisals: the objects of
/// patrol rounds that are not people or rented houses.
#[async_trait]
pub trait FacilityStore: Send + Sync {
    /// Registers components, or replaces those whose code is kept, with one audit event
    /// for them all, in one transaction; returns how many were new.
    async fn put_components(
        &self,
        components: &[crate::facility::Component],
        audit: &AuditEvent,
    ) -> StorageResult<u64>;

    async fn component(&self, code: &str) -> StorageResult<Option<crate::facility::Component>>;

    /// The components of an area (code prefix of their grid), of one owner department
    /// when `owner` is given, by grid and code.
    async fn components_in_area(
        &self,
        area_prefix: &str,
        owner: Option<&str>,
        page: PageRequest,
    ) -> StorageResult<Page<crate::facility::Component>>;

    /// A building's grid and address (without unit or room), if it is registered.
    async fn building_place(&self, building_id: &str) -> StorageResult<Option<(String, String)>>;

    /// Records appraisals (their `id` ignored) of registered buildings with one audit
    /// event, in one transaction; returns their ids, or `None`, with nothing written,
    /// when one of the buildings is not registered.
    async fn record_appraisals(
        &self,
        appraisals: &[crate::facility::Appraisal],
        audit: &AuditEvent,
    ) -> StorageResult<Option<Vec<u64>>>;

    /// A building's appraisals, the latest (by day, then as recorded) first.
    async fn appraisals(&self, building_id: &str)
    -> StorageResult<Vec<crate::facility::Appraisal>>;

    /// The buildings of an area whose latest appraisal grades them dangerous (C or D),
    /// with that appraisal and the building's address; at most `limit`, by building id.
    async fn dangerous_buildings(
        &self,
        area_prefix: &str,
        limit: u32,
    ) -> StorageResult<Vec<(crate::facility::Appraisal, String)>>;
}

/// The hotline's knowledge base.
#[async_trait]
pub trait KnowledgeStore: Send + Sync {
    /// Keeps a new article (`id` 0) or replaces one, with the audit event in the same
    /// transaction; returns its id, or `None` when there is no article `id`. The audit
    /// event's `object_id` is set to the id.
    async fn put_article(
        &self,
        article: &crate::knowledge::Article,
        audit: &AuditEvent,
    ) -> StorageResult<Option<u64>>;

    async fn article(&self, id: u64) -> StorageResult<Option<crate::knowledge::Article>>;

    /// Articles whose search text holds any of `terms` (lower-case), valid on `day` unless
    /// `day` is `None`; at most `limit`, newest first.
    async fn articles_matching(
        &self,
        terms: &[String],
        day: Option<chrono::NaiveDate>,
        limit: u32,
    ) -> StorageResult<Vec<crate::knowledge::Article>>;
}

/// Subscriptions, the resources' outboxes they are delivered from, and the delivery log.
/// Dataset loads append to a resource's outbox in the chunk's transaction while the
/// resource has a subscription that is not cancelled.
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Keeps a new subscription (its `id` ignored), its cursor at the resource's current
    /// outbox head; returns its id. The audit event's `object_id` is set to it.
    async fn create_subscription(
        &self,
        subscription: &crate::subscription::Subscription,
        audit: &AuditEvent,
    ) -> StorageResult<crate::subscription::Subscription>;

    async fn subscription(
        &self,
        id: u64,
    ) -> StorageResult<Option<crate::subscription::Subscription>>;

    /// A consumer's subscriptions (every one with `None`), newest first.
    async fn subscriptions(
        &self,
        consumer: Option<&crate::catalogue::DepartmentId>,
        page: PageRequest,
    ) -> StorageResult<Page<crate::subscription::Subscription>>;

    /// Active subscriptions whose next attempt is due at `now`, the longest waiting first.
    async fn due_subscriptions(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StorageResult<Vec<crate::subscription::Subscription>>;

    /// A resource's outbox entries after `after`, in order.
    async fn outbox_after(
        &self,
        resource: &crate::catalogue::ResourceCode,
        after: u64,
        limit: u32,
    ) -> StorageResult<Vec<crate::subscription::OutboxEntry>>;

    /// Logs a delivery attempt and moves the subscription on: its cursor from `from` to
    /// `to` (unchanged on a failure), its failure count and next attempt. `false`, with
    /// only the log written, when the cursor is no longer `from` (a replay moved it).
    async fn record_delivery(
        &self,
        delivery: &crate::subscription::Delivery,
        from: u64,
        to: u64,
        next_attempt_at: DateTime<Utc>,
    ) -> StorageResult<bool>;

    /// Sets a subscription's status (with its audit event).
    async fn set_subscription_status(
        &self,
        id: u64,
        status: crate::subscription::SubscriptionStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> StorageResult<()>;

    /// Moves a subscription's cursor back so delivery starts again after `cursor`.
    async fn replay_subscription(
        &self,
        id: u64,
        cursor: u64,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StorageResult<()>;

    /// Deletes outbox entries written before `before` that every subscription which is
    /// not cancelled has passed (all of a resource's, once none is left); returns how
    /// many. A replay cannot reach back past what was deleted.
    async fn prune_outbox(&self, before: DateTime<Utc>) -> StorageResult<u64>;

    /// Delivery attempts that failed since `since`.
    async fn failed_deliveries_since(&self, since: DateTime<Utc>) -> StorageResult<u64>;

    /// A subscription's delivery attempts, newest first.
    async fn deliveries(
        &self,
        subscription: u64,
        page: PageRequest,
    ) -> StorageResult<Page<crate::subscription::Delivery>>;
}

/// Which disputes to list; every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisputeQuery {
    /// The authoritative department that answers.
    pub authority: Option<crate::catalogue::DepartmentId>,
    /// The department whose records disagree.
    pub source_department: Option<crate::catalogue::DepartmentId>,
    /// A department on either side (what a department may see).
    pub party: Option<crate::catalogue::DepartmentId>,
    pub subject: Option<String>,
    pub field: Option<crate::catalogue::RegistryField>,
    /// Open (`true`) or answered (`false`).
    pub open: Option<bool>,
    /// The batch that last brought the other value.
    pub batch_id: Option<String>,
}

/// Disputes of one datum, one source (一数一源). Dataset loads open them (inside the
/// chunk's transaction, see [`DatasetLoad::write`]); the authoritative department answers.
#[async_trait]
pub trait DisputeStore: Send + Sync {
    async fn dispute(&self, id: u64) -> StorageResult<Option<crate::dispute::Dispute>>;

    /// Disputes, newest first.
    async fn disputes(
        &self,
        query: &DisputeQuery,
        page: PageRequest,
    ) -> StorageResult<Page<crate::dispute::Dispute>>;

    /// Closes an open dispute with its answer (and the answer's audit event); `false`,
    /// with nothing written, when it is not open.
    async fn answer_dispute(
        &self,
        id: u64,
        answer: &crate::dispute::Answer,
        audit: &AuditEvent,
    ) -> StorageResult<bool>;
}

/// Which sharing requests to list; every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharingQuery {
    pub consumer: Option<crate::catalogue::DepartmentId>,
    pub provider: Option<crate::catalogue::DepartmentId>,
    pub resource: Option<crate::catalogue::ResourceCode>,
    /// A status code: pending, granted, refused, revoked.
    pub status: Option<String>,
    /// A department that is the consumer or the provider (what a department may see).
    pub party: Option<crate::catalogue::DepartmentId>,
}

/// Sharing requests and their decisions (共享申请与授权). Each change appends its audit
/// event in the same transaction.
#[async_trait]
pub trait SharingStore: Send + Sync {
    /// Keeps a new request (its `id` is ignored) and returns the id it was given; the
    /// audit event's `object_id` is set to that id.
    async fn create_sharing_request(
        &self,
        request: &crate::sharing::SharingRequest,
        audit: &AuditEvent,
    ) -> StorageResult<u64>;

    async fn sharing_request(
        &self,
        id: u64,
    ) -> StorageResult<Option<crate::sharing::SharingRequest>>;

    /// Moves a request from the status `from` (a code) to `to`, decided by `by` at `at`;
    /// `false`, with nothing written, when the request is no longer in `from` (someone
    /// decided it meanwhile).
    async fn set_sharing_status(
        &self,
        id: u64,
        from: &str,
        to: &crate::sharing::Status,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StorageResult<bool>;

    /// Requests, newest first.
    async fn sharing_requests(
        &self,
        query: &SharingQuery,
        page: PageRequest,
    ) -> StorageResult<Page<crate::sharing::SharingRequest>>;

    /// A consumer's granted requests for a resource, newest first: what an exchange
    /// request is checked against.
    async fn grants(
        &self,
        consumer: &crate::catalogue::DepartmentId,
        resource: &crate::catalogue::ResourceCode,
    ) -> StorageResult<Vec<crate::sharing::SharingRequest>>;

    /// The resource, the consumer's grants for it and the subjects' records, read in one
    /// call (on SQLite in one snapshot of a read-only connection): the exchange's hot
    /// path. `None` when the catalogue has no such resource.
    async fn exchange_read(
        &self,
        consumer: &crate::catalogue::DepartmentId,
        resource: &crate::catalogue::ResourceCode,
        subjects: &[String],
    ) -> StorageResult<Option<crate::sharing::ExchangeRead>>;
}

/// Department datasets: batches of a catalogued resource's records, written chunk by
/// chunk (or all at once), with their problems, counts and quality.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    /// Opens a batch: a new one (or one to resume) comes with the loader that writes it;
    /// a committed or conflicting one comes without.
    async fn open_batch(
        &self,
        start: &crate::dataset::BatchStart,
    ) -> StorageResult<(crate::dataset::BatchOpening, Option<Box<dyn DatasetLoad>>)>;

    async fn batch(&self, batch_id: &str) -> StorageResult<Option<crate::dataset::BatchSummary>>;

    /// A resource's batches, newest first.
    async fn batches(
        &self,
        resource: &ResourceCode,
        page: PageRequest,
    ) -> StorageResult<Page<crate::dataset::BatchSummary>>;

    /// A batch's reported problems, by row.
    async fn batch_problems(
        &self,
        batch_id: &str,
        page: PageRequest,
    ) -> StorageResult<Page<crate::dataset::RowProblem>>;

    /// The records of a resource about one subject, by key.
    async fn subject_records(
        &self,
        resource: &ResourceCode,
        subject: &str,
    ) -> StorageResult<Vec<crate::dataset::StoredRecord>>;

    /// How many records a resource holds.
    async fn count_records(&self, resource: &ResourceCode) -> StorageResult<u64>;

    /// How many records each resource holds (resources without records left out).
    async fn record_totals(&self) -> StorageResult<Vec<(ResourceCode, u64)>>;

    /// How many records of a resource hold each value of the item at `position` (empty
    /// values left out), most common first: a portrait over a department's dataset.
    async fn value_counts(
        &self,
        resource: &ResourceCode,
        position: usize,
    ) -> StorageResult<Vec<(String, u64)>>;

    /// The latest batches of every resource, newest first.
    async fn recent_batches(&self, limit: u32) -> StorageResult<Vec<crate::dataset::BatchSummary>>;
}

/// Writes one batch. Each `write` of a non-atomic batch commits its chunk (with an
/// audit entry) before it returns; an atomic batch commits everything at `finish`, and
/// nothing if it is dropped unfinished.
#[async_trait]
pub trait DatasetLoad: Send {
    /// Writes a chunk's records (inserting, updating, leaving unchanged or deleting by
    /// key), links their subjects to the registries, and keeps its problems — with a
    /// problem for each repeated key and each subject not found. Each inserted or changed
    /// linked record whose item feeds a registry field another resource is authoritative
    /// for is compared with the registry; a different value opens a dispute for the
    /// authoritative department (or brings an open one up to date). Returns what it did.
    async fn write(
        &mut self,
        chunk: crate::dataset::Chunk,
    ) -> StorageResult<crate::dataset::DatasetCounts>;

    /// Deletes, in a full load, the records the batch did not contain; marks the batch
    /// committed, with its quality.
    async fn finish(
        self: Box<Self>,
        finished_at: DateTime<Utc>,
    ) -> StorageResult<crate::dataset::BatchSummary>;
}

/// The information-resource catalogue: departments and versioned resources. Each write
/// appends its audit event in the same transaction.
#[async_trait]
pub trait CatalogueStore: Send + Sync {
    /// Creates or updates a department; `true` when it was new.
    async fn put_department(
        &self,
        department: &Department,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;

    async fn department(&self, id: &DepartmentId) -> StorageResult<Option<Department>>;

    /// Every department, in the pinyin order of their names.
    async fn departments(&self) -> StorageResult<Vec<Department>>;

    /// Publishes a resource as its next version, unless nothing changed or a rule of the
    /// catalogue as a whole refuses it (see [`Publication`]); refusals write nothing.
    async fn publish_resource(
        &self,
        resource: &Resource,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<Publication>;

    /// The current version, or the given one.
    async fn resource(
        &self,
        code: &ResourceCode,
        version: Option<u32>,
    ) -> StorageResult<Option<PublishedResource>>;

    /// Every version of a resource, newest first (with its content).
    async fn resource_versions(&self, code: &ResourceCode)
    -> StorageResult<Vec<PublishedResource>>;

    async fn resources(
        &self,
        query: &ResourceQuery,
        page: PageRequest,
    ) -> StorageResult<Page<ResourceSummary>>;

    /// The current version of every resource, by code (the DCAT-AP export).
    async fn all_resources(&self) -> StorageResult<Vec<PublishedResource>>;

    /// The authoritative resource of each registry field that has one.
    async fn authoritative_sources(&self) -> StorageResult<Vec<(RegistryField, ResourceCode)>>;
}

/// What the OpenID Connect provider keeps: registered clients, authorization codes,
/// access and refresh tokens (under their hashes), and consents. Each change that
/// matters appends its audit event in the same transaction.
#[async_trait]
pub trait OidcStore: Send + Sync {
    /// Registers a client; `false` (nothing written) when the id is taken.
    async fn create_oidc_client(
        &self,
        client: &OidcClient,
        audit: &AuditEvent,
    ) -> StorageResult<bool>;

    async fn oidc_client(&self, client_id: &str) -> StorageResult<Option<OidcClient>>;

    /// Every client, by id.
    async fn oidc_clients(&self) -> StorageResult<Vec<OidcClient>>;

    async fn put_authorization_code(
        &self,
        code_hash: &[u8],
        grant: &AuthorizationGrant,
        audit: &AuditEvent,
    ) -> StorageResult<()>;

    /// Marks a code used and returns its grant with `true` the first time, with `false`
    /// on a replay (the grant of a used code), `None` for an unknown code.
    async fn take_authorization_code(
        &self,
        code_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(AuthorizationGrant, bool)>>;

    /// Keeps new tokens, and when `rotating` names a refresh token, marks it rotated in
    /// the same transaction — unless it was rotated or revoked already, in which case
    /// nothing is written and `false` is returned (two racing refreshes: one wins).
    async fn issue_oidc_tokens(
        &self,
        tokens: &[(Vec<u8>, IssuedToken)],
        rotating: Option<&[u8]>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;

    async fn oidc_token(&self, token_hash: &[u8]) -> StorageResult<Option<IssuedToken>>;

    /// Revokes every live token of a family; returns how many.
    async fn revoke_oidc_family(
        &self,
        family: &str,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<u64>;

    /// The scope a user consented to for a client, if any.
    async fn oidc_consent(&self, login: &str, client_id: &str) -> StorageResult<Option<String>>;

    async fn put_oidc_consent(
        &self,
        login: &str,
        client_id: &str,
        scope: &str,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
}
