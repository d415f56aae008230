//! The audit log: who did what to which personal data, for which purpose, and the proof
//! that nobody has changed the record since.
//!
//! An [`AuditEvent`] is what a caller reports (actor, role, action, object, jurisdiction,
//! purpose, outcome, request id, client address). The store gives it a sequence number and
//! a time and keeps it as an [`AuditEntry`]; the entry's canonical encoding is a leaf of an
//! RFC 6962 Merkle tree ([`crate::merkle`]). At intervals, and on demand, the tree head is
//! signed with Ed25519 as a [`Checkpoint`]. [`Verifier`] recomputes every leaf and every
//! tree head from the entries and reports what does not match: a changed, missing,
//! inserted, moved or truncated entry, a forged or unknown signature.
//!
//! The signatures are what make the log tamper-evident: someone who can write the database
//! can rewrite entries and their stored hashes, but not sign a tree head without the
//! private key, which lives outside the database. Entries after the newest checkpoint are
//! not yet covered by a signature; the verifier says how many.

use crate::merkle::{self, Frontier, Hash, Span};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// What came of the action an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Permitted and done.
    Allowed,
    /// Refused by the access policy.
    Denied,
    /// Permitted, but it failed (bad input, a wrong password).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "allowed" => Some(Outcome::Allowed),
            "denied" => Some(Outcome::Denied),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// One thing that happened, as its caller reports it. Empty strings stand for "none"
/// (no purpose stated, no jurisdiction, no subject).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditEvent {
    /// The account that acted, e.g. `staff:zhang.wei`, `system:import`.
    pub actor: String,
    /// The role the actor acted in, e.g. `grid_worker`.
    pub role: String,
    /// What was done, e.g. `person.read`, `person.import`, `session.sign_in`.
    pub action: String,
    /// The kind of object acted on: `person`, `batch`, `account`.
    pub object_kind: String,
    /// The object's key.
    pub object_id: String,
    /// The area code of the object's jurisdiction (its grid, community …).
    pub jurisdiction: String,
    /// The person whose data this is (identity number), for "who used my data".
    pub subject: String,
    /// The stated purpose, e.g. `case 456`.
    pub purpose: String,
    pub outcome: Outcome,
    pub request_id: String,
    /// The client's network address.
    pub client: String,
    /// Anything else worth keeping, e.g. the counts of an import.
    pub detail: String,
}

impl AuditEvent {
    /// An event by `actor` in `role` doing `action` on (`object_kind`, `object_id`), allowed,
    /// with every other field empty; set the rest with struct update syntax.
    pub fn new(
        actor: impl Into<String>,
        role: impl Into<String>,
        action: impl Into<String>,
        object_kind: impl Into<String>,
        object_id: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent {
            actor: actor.into(),
            role: role.into(),
            action: action.into(),
            object_kind: object_kind.into(),
            object_id: object_id.into(),
            jurisdiction: String::new(),
            subject: String::new(),
            purpose: String::new(),
            outcome: Outcome::Allowed,
            request_id: String::new(),
            client: String::new(),
            detail: String::new(),
        }
    }
}

/// Who acts, as the audit log records it: the account, the role it acts in, the stated
/// purpose, and the request that carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub account: String,
    pub role: String,
    pub purpose: String,
    pub request_id: String,
    pub client: String,
}

impl Actor {
    /// One of Huimin's own processes (an import run from the command line, the demo
    /// loader), acting in the role `system`.
    pub fn system(name: &str) -> Actor {
        Actor {
            account: format!("system:{name}"),
            role: "system".to_owned(),
            ..Actor::default()
        }
    }

    /// An allowed event by this actor.
    pub fn event(
        &self,
        action: impl Into<String>,
        object_kind: impl Into<String>,
        object_id: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent {
            purpose: self.purpose.clone(),
            request_id: self.request_id.clone(),
            client: self.client.clone(),
            ..AuditEvent::new(
                self.account.clone(),
                self.role.clone(),
                action,
                object_kind,
                object_id,
            )
        }
    }
}

/// A security administrator's seal: the entries about `subject` made with `purpose` (an
/// investigation's) are kept from the subject's own data-access page until `release_at`.
/// Audit searches still show them, and the sealing is itself an audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Given by the store; 0 before it is kept.
    pub id: u64,
    /// The identity number whose entries are sealed.
    pub subject: String,
    /// The exact purpose of the sealed entries, e.g. `investigation 2026-017`.
    pub purpose: String,
    pub reason: String,
    pub release_at: DateTime<Utc>,
    /// The security administrator's account.
    pub sealed_by: String,
    pub sealed_at: DateTime<Utc>,
}

impl Seal {
    /// Whether the seal still hides its entries at `now`.
    pub fn in_force_at(&self, now: DateTime<Utc>) -> bool {
        now < self.release_at
    }
}

/// An event as the log keeps it: numbered from 1 in the order it was appended, and timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub event: AuditEvent,
}

/// The first bytes of every encoded entry: the encoding's name and version.
const ENTRY_MAGIC: &[u8] = b"huimin-audit-entry-v1";

impl AuditEntry {
    /// The canonical encoding: the magic, the sequence number and the time (microseconds
    /// since 1970, UTC) as big-endian integers, then each field as a 4-byte big-endian
    /// length and its UTF-8 bytes, in declaration order. Unambiguous, so two different
    /// entries never encode alike.
    pub fn encode(&self) -> Vec<u8> {
        let fields = self.event.fields();
        let length: usize = fields.iter().map(|field| field.len() + 4).sum();
        let mut bytes = Vec::with_capacity(ENTRY_MAGIC.len() + 16 + length);
        encode_parts(self.seq, self.at, &fields, |part| {
            bytes.extend_from_slice(part)
        });
        bytes
    }

    /// The leaf hash of an entry not yet built: `event` as entry `seq` at `at`.
    pub fn leaf_hash_of(seq: u64, at: DateTime<Utc>, event: &AuditEvent) -> Hash {
        leaf_hash_of_fields(seq, at, &event.fields())
    }

    /// The entry's leaf in the Merkle tree (leaf index `seq - 1`).
    pub fn leaf_hash(&self) -> Hash {
        AuditEntry::leaf_hash_of(self.seq, self.at, &self.event)
    }
}

/// An event's twelve fields, borrowed, in the order the encoding lays them out (the
/// outcome as its stored text): what a store row gives without building an
/// [`AuditEvent`].
pub type EventFields<'a> = [&'a str; 12];

impl AuditEvent {
    pub fn fields(&self) -> EventFields<'_> {
        [
            &self.actor,
            &self.role,
            &self.action,
            &self.object_kind,
            &self.object_id,
            &self.jurisdiction,
            &self.subject,
            &self.purpose,
            self.outcome.as_str(),
            &self.request_id,
            &self.client,
            &self.detail,
        ]
    }
}

/// Hands the pieces of [`AuditEntry::encode`] to `part`, in order.
fn encode_parts(
    seq: u64,
    at: DateTime<Utc>,
    fields: &EventFields<'_>,
    mut part: impl FnMut(&[u8]),
) {
    part(ENTRY_MAGIC);
    part(&seq.to_be_bytes());
    part(&at.timestamp_micros().to_be_bytes());
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        part(&len.to_be_bytes());
        part(field.as_bytes());
    }
}

/// The leaf hash of the entry `seq` at `at` with these fields, hashed piece by piece
/// without laying the encoding out in memory.
pub fn leaf_hash_of_fields(seq: u64, at: DateTime<Utc>, fields: &EventFields<'_>) -> Hash {
    let mut hasher = merkle::LeafHasher::new();
    encode_parts(seq, at, fields, |part| hasher.update(part));
    hasher.finish()
}

/// Whether an entry's contents give the leaf hash stored beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    InPlace,
    /// The contents give the leaf of the neighbouring position `belongs_at` (the entry was
    /// moved or renumbered).
    Displaced {
        belongs_at: u64,
    },
    /// The contents give neither this position's leaf nor a neighbour's (changed).
    Altered,
}

/// An entry reduced to what verification needs, hashed where its row was read: a store
/// can hash rows on several threads and feed the [`Verifier`] in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashedEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The leaf hash the entry's contents give.
    pub leaf: Hash,
    pub stored_leaf: Hash,
    pub placement: Placement,
}

impl HashedEntry {
    pub fn new(
        seq: u64,
        at: DateTime<Utc>,
        fields: &EventFields<'_>,
        stored_leaf: Hash,
    ) -> HashedEntry {
        let leaf = leaf_hash_of_fields(seq, at, fields);
        let placement = if leaf == stored_leaf {
            Placement::InPlace
        } else {
            [seq.wrapping_sub(1), seq + 1]
                .into_iter()
                .filter(|&seq| seq > 0)
                .find(|&seq| leaf_hash_of_fields(seq, at, fields) == stored_leaf)
                .map_or(Placement::Altered, |belongs_at| Placement::Displaced {
                    belongs_at,
                })
        };
        HashedEntry {
            seq,
            at,
            leaf,
            stored_leaf,
            placement,
        }
    }

    pub fn of(stored: &StoredEntry) -> HashedEntry {
        let entry = &stored.entry;
        HashedEntry::new(
            entry.seq,
            entry.at,
            &entry.event.fields(),
            stored.stored_leaf,
        )
    }
}

/// Subtrees of at least 2^`STORED_SUBTREE_HEIGHT` leaves, aligned, have their heads kept by
/// the store, so that a proof reads at most a few hundred leaf hashes instead of the log.
pub const STORED_SUBTREE_HEIGHT: u32 = 8;

/// Whether a subtree's head is one the store keeps.
pub fn is_stored_subtree(span: Span) -> bool {
    span.len >= 1 << STORED_SUBTREE_HEIGHT
        && span.len.is_power_of_two()
        && span.start.is_multiple_of(span.len)
}

/// A signed tree head: the log's first `size` entries have Merkle tree head `root`, as
/// the key `key_id` attested at `signed_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
    pub signed_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The text a checkpoint's signature covers.
    pub fn message(size: u64, root: &Hash, signed_at: DateTime<Utc>) -> String {
        format!(
            "huimin audit checkpoint v1\nsize {size}\nroot {}\nsigned_at {}\n",
            hex(root),
            signed_at.timestamp_micros()
        )
    }

    /// Checks the signature against the trusted keys.
    pub fn verify(&self, keys: &KeyRing) -> Result<(), CheckpointProblem> {
        let key = keys
            .get(&self.key_id)
            .ok_or_else(|| CheckpointProblem::UnknownKey(self.key_id.clone()))?;
        let message = Checkpoint::message(self.size, &self.root, self.signed_at);
        key.key
            .verify_strict(message.as_bytes(), &Signature::from_bytes(&self.signature))
            .map_err(|_| CheckpointProblem::BadSignature)
    }
}

/// Why a checkpoint's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointProblem {
    UnknownKey(String),
    BadSignature,
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes from lower- or upper-case hexadecimal; `None` unless it is exactly `N` bytes.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    if text.len() != N * 2 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; N];
    for (at, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[at * 2..at * 2 + 2], 16).ok()?;
    }
    Some(bytes)
}

/// A public key trusted to sign checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPublicKey {
    pub id: String,
    key: VerifyingKey,
}

impl AuditPublicKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<AuditPublicKey> {
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        Some(AuditPublicKey {
            id: key_id(bytes),
            key,
        })
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

/// A key's name: the first eight bytes of the SHA-256 of its public half, in hex.
pub(crate) fn key_id(public: &[u8; 32]) -> String {
    hex(&Sha256::digest(public)[..8])
}

/// The keys a verifier trusts, old ones included: rotating the key keeps the older
/// checkpoints verifiable.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<AuditPublicKey>,
}

impl KeyRing {
    pub fn new(keys: Vec<AuditPublicKey>) -> KeyRing {
        KeyRing { keys }
    }

    pub fn get(&self, id: &str) -> Option<&AuditPublicKey> {
        self.keys.iter().find(|key| key.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[AuditPublicKey] {
        &self.keys
    }
}

/// The private key that signs checkpoints. Signing is pure computation; where the key is
/// kept (a file, a hardware module) is the caller's business.
pub struct AuditSigner {
    key: SigningKey,
    id: String,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "AuditSigner({})", self.id)
    }
}

impl AuditSigner {
    /// The signer of a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> AuditSigner {
        let key = SigningKey::from_bytes(seed);
        let id = key_id(&key.verifying_key().to_bytes());
        AuditSigner { key, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn public_key(&self) -> AuditPublicKey {
        AuditPublicKey {
            id: self.id.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub fn sign(&self, size: u64, root: Hash, signed_at: DateTime<Utc>) -> Checkpoint {
        let message = Checkpoint::message(size, &root, signed_at);
        Checkpoint {
            size,
            root,
            signed_at,
            key_id: self.id.clone(),
            signature: self.key.sign(message.as_bytes()).to_bytes(),
        }
    }
}

/// An entry as read back from the store, with the leaf hash stored beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub entry: AuditEntry,
    pub stored_leaf: Hash,
}

/// Something the verifier found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Entries `from..=to` are not in the log (deleted).
    Missing { from: u64, to: u64 },
    /// An entry appears out of sequence order or twice.
    OutOfSequence { seq: u64, after: u64 },
    /// The entry's contents do not give the leaf hash stored beside it (changed).
    Altered { seq: u64 },
    /// The entry's contents give the leaf hash of another position (moved or renumbered,
    /// as an insertion or a deletion before it does).
    Displaced { seq: u64, belongs_at: u64 },
    /// The entry is timed before the entry that precedes it (reordered or backdated).
    TimeReversed { seq: u64 },
    /// The first `size` entries do not give the signed tree head of that checkpoint.
    CheckpointMismatch { size: u64 },
    /// A checkpoint covers more entries than the log holds (truncated).
    Truncated { checkpoint_size: u64, entries: u64 },
    /// A checkpoint's signature is not valid for its key.
    BadSignature { size: u64 },
    /// A checkpoint is signed by a key the verifier does not trust.
    UnknownKey { size: u64, key_id: String },
    /// A stored subtree head differs from the recomputed one (proofs would not verify).
    SubtreeMismatch { start: u64, len: u64 },
}

impl fmt::Display for Finding {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Missing { from, to } if from == to => {
                write!(formatter, "entry {from} is missing (deleted)")
            }
            Finding::Missing { from, to } => {
                write!(formatter, "entries {from}–{to} are missing (deleted)")
            }
            Finding::OutOfSequence { seq, after } => {
                write!(
                    formatter,
                    "entry {seq} comes after entry {after} (out of sequence)"
                )
            }
            Finding::Altered { seq } => write!(
                formatter,
                "entry {seq} does not match its recorded hash (changed)"
            ),
            Finding::Displaced { seq, belongs_at } => write!(
                formatter,
                "entry {seq} holds the contents of entry {belongs_at} (moved: an entry was inserted or removed before it)"
            ),
            Finding::TimeReversed { seq } => write!(
                formatter,
                "entry {seq} is timed before the entry before it (reordered or backdated)"
            ),
            Finding::CheckpointMismatch { size } => write!(
                formatter,
                "the first {size} entries do not give the signed tree head of checkpoint {size}: an entry up to {size} was changed, removed, inserted or moved"
            ),
            Finding::Truncated {
                checkpoint_size,
                entries,
            } => write!(
                formatter,
                "checkpoint {checkpoint_size} covers {checkpoint_size} entries but the log holds {entries} (truncated)"
            ),
            Finding::BadSignature { size } => {
                write!(
                    formatter,
                    "checkpoint {size} has an invalid signature (forged)"
                )
            }
            Finding::UnknownKey { size, key_id } => write!(
                formatter,
                "checkpoint {size} is signed by key {key_id}, which is not trusted"
            ),
            Finding::SubtreeMismatch { start, len } => write!(
                formatter,
                "the stored head of entries {}–{} differs from the recomputed one",
                start + 1,
                start + len
            ),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: u64,
    /// The size of the newest checkpoint: entries beyond it are not yet signed.
    pub signed_size: u64,
    /// The first findings, in log order (at most [`Verifier::MAX_FINDINGS`]).
    pub findings: Vec<Finding>,
    /// How many findings there were in all.
    pub finding_count: u64,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.finding_count == 0
    }

    /// Entries after the newest checkpoint, not yet covered by a signature.
    pub fn unsigned_entries(&self) -> u64 {
        self.entries.saturating_sub(self.signed_size)
    }
}

/// Recomputes the log in one pass: feed every stored entry in sequence order, then
/// `finish`. Memory is O(log n) plus the checkpoints and stored subtree heads.
#[derive(Debug)]
pub struct Verifier {
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    subtrees: HashMap<(u64, u64), Hash>,
    frontier: Frontier,
    last_seq: u64,
    last_at: Option<DateTime<Utc>>,
    report: VerifyReport,
}

impl Verifier {
    pub const MAX_FINDINGS: usize = 1_000;

    /// A verifier for a log with these checkpoints (any order) and stored subtree heads
    /// ((span, head)), trusting `keys`.
    pub fn new(
        mut checkpoints: Vec<Checkpoint>,
        subtrees: Vec<(Span, Hash)>,
        keys: &KeyRing,
    ) -> Verifier {
        checkpoints.sort_by_key(|checkpoint| checkpoint.size);
        let report = VerifyReport {
            checkpoints: checkpoints.len() as u64,
            signed_size: checkpoints.last().map_or(0, |checkpoint| checkpoint.size),
            ..VerifyReport::default()
        };
        let mut verifier_findings = Vec::new();
        for checkpoint in &checkpoints {
            match checkpoint.verify(keys) {
                Ok(()) => {}
                Err(CheckpointProblem::BadSignature) => {
                    verifier_findings.push(Finding::BadSignature {
                        size: checkpoint.size,
                    })
                }
                Err(CheckpointProblem::UnknownKey(key_id)) => {
                    verifier_findings.push(Finding::UnknownKey {
                        size: checkpoint.size,
                        key_id,
                    })
                }
            }
        }
        let mut verifier = Verifier {
            checkpoints,
            next_checkpoint: 0,
            subtrees: subtrees
                .into_iter()
                .map(|(span, head)| ((span.start, span.len), head))
                .collect(),
            frontier: Frontier::new(),
            last_seq: 0,
            last_at: None,
            report,
        };
        for finding in verifier_findings {
            verifier.find(finding);
        }
        verifier.skip_empty_checkpoints();
        verifier
    }

    fn find(&mut self, finding: Finding) {
        self.report.finding_count += 1;
        if self.report.findings.len() < Self::MAX_FINDINGS {
            self.report.findings.push(finding);
        }
    }

    fn skip_empty_checkpoints(&mut self) {
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            if checkpoint.size > self.frontier.size() {
                break;
            }
            if checkpoint.root != self.frontier.root() {
                let size = checkpoint.size;
                self.find(Finding::CheckpointMismatch { size });
            }
            self.next_checkpoint += 1;
        }
    }

    /// Takes the next entry of the log, in the order of its sequence numbers.
    pub fn feed(&mut self, stored: &StoredEntry) {
        self.feed_hashed(&HashedEntry::of(stored));
    }

    /// [`feed`](Self::feed) for an entry already hashed.
    pub fn feed_hashed(&mut self, entry: &HashedEntry) {
        self.check_sequence(entry.seq);
        match entry.placement {
            Placement::InPlace => {}
            Placement::Displaced { belongs_at } => self.find(Finding::Displaced {
                seq: entry.seq,
                belongs_at,
            }),
            Placement::Altered => self.find(Finding::Altered { seq: entry.seq }),
        }
        if self.last_at.is_some_and(|last| entry.at < last) {
            self.find(Finding::TimeReversed { seq: entry.seq });
        }
        self.last_at = Some(entry.at);
        self.push(entry.leaf);
    }

    /// Takes an entry whose stored values do not even decode (a time that is not a
    /// number, an unknown outcome, a hash of the wrong length): it was changed.
    pub fn feed_unreadable(&mut self, seq: u64, stored_leaf: Option<Hash>) {
        self.check_sequence(seq);
        self.find(Finding::Altered { seq });
        self.push(stored_leaf.unwrap_or_default());
    }

    fn check_sequence(&mut self, seq: u64) {
        self.report.entries += 1;
        if seq <= self.last_seq {
            let after = self.last_seq;
            self.find(Finding::OutOfSequence { seq, after });
        } else if seq > self.last_seq + 1 {
            let from = self.last_seq + 1;
            self.find(Finding::Missing { from, to: seq - 1 });
        }
        self.last_seq = self.last_seq.max(seq);
    }

    fn push(&mut self, leaf: Hash) {
        for (span, head) in self.frontier.push(leaf) {
            if is_stored_subtree(span)
                && let Some(stored) = self.subtrees.get(&(span.start, span.len))
                && *stored != head
            {
                self.find(Finding::SubtreeMismatch {
                    start: span.start,
                    len: span.len,
                });
            }
        }
        self.skip_empty_checkpoints();
    }

    /// The report, once every entry has been fed.
    pub fn finish(mut self) -> VerifyReport {
        let entries = self.frontier.size();
        let remaining: Vec<u64> = self.checkpoints[self.next_checkpoint..]
            .iter()
            .map(|checkpoint| checkpoint.size)
            .collect();
        for checkpoint_size in remaining {
            self.find(Finding::Truncated {
                checkpoint_size,
                entries,
            });
        }
        self.report
    }
}

/// Verifies a whole log held in memory (for tests and small logs).
pub fn verify_entries(
    entries: &[StoredEntry],
    checkpoints: Vec<Checkpoint>,
    subtrees: Vec<(Span, Hash)>,
    keys: &KeyRing,
) -> VerifyReport {
    let mut verifier = Verifier::new(checkpoints, subtrees, keys);
    for entry in entries {
        verifier.feed(entry);
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(seq: u64) -> AuditEntry {
        AuditEntry {
            seq,
            at: Utc.timestamp_opt(1_764_000_000 + seq as i64, 0).unwrap(),
            event: AuditEvent {
                subject: "11010519491231002X".into(),
                purpose: format!("case {seq}"),
                ..AuditEvent::new(
                    "staff:li",
                    "grid_worker",
                    "person.read",
                    "person",
                    "11010519491231002X",
                )
            },
        }
    }

    fn stored(entries: impl IntoIterator<Item = AuditEntry>) -> Vec<StoredEntry> {
        entries
            .into_iter()
            .map(|entry| StoredEntry {
                stored_leaf: entry.leaf_hash(),
                entry,
            })
            .collect()
    }

    fn signer(byte: u8) -> AuditSigner {
        AuditSigner::from_seed(&[byte; 32])
    }

    fn checkpoint_of(log: &[StoredEntry], size: usize, signer: &AuditSigner) -> Checkpoint {
        let leaves: Vec<Hash> = log[..size]
            .iter()
            .map(|stored| stored.stored_leaf)
            .collect();
        signer.sign(size as u64, merkle::root(&leaves), log[size - 1].entry.at)
    }

    #[test]
    fn the_encoding_is_unambiguous_and_covers_every_field() {
        let base = entry(1);
        let mut variants = vec![base.clone()];
        let mut with = |change: &dyn Fn(&mut AuditEntry)| {
            let mut changed = base.clone();
            change(&mut changed);
            variants.push(changed);
        };
        with(&|e| e.seq = 2);
        with(&|e| e.at += chrono::Duration::microseconds(1));
        with(&|e| e.event.actor.push('x'));
        with(&|e| e.event.role.push('x'));
        with(&|e| e.event.action.push('x'));
        with(&|e| e.event.object_kind.push('x'));
        with(&|e| e.event.object_id.push('x'));
        with(&|e| e.event.jurisdiction.push('x'));
        with(&|e| e.event.subject.push('x'));
        with(&|e| e.event.purpose.push('x'));
        with(&|e| e.event.outcome = Outcome::Denied);
        with(&|e| e.event.request_id.push('x'));
        with(&|e| e.event.client.push('x'));
        with(&|e| e.event.detail.push('x'));
        // Moving a character from one field to the next changes the encoding too.
        with(&|e| {
            e.event.actor = "staff:l".into();
            e.event.role = "igrid_worker".into();
        });
        let mut hashes: Vec<Hash> = variants.iter().map(AuditEntry::leaf_hash).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), variants.len());
    }

    #[test]
    fn the_leaf_hash_is_pinned_and_streams_the_encoding() {
        // Computed outside Rust from the encoding's description: a change to the
        // encoding would orphan every stored log.
        assert_eq!(
            hex(&entry(3).leaf_hash()),
            "520cc131a329f0236162242c29b6e99728dfc24b1166900366960c82509184bd"
        );
        for seq in 1..20 {
            let entry = entry(seq);
            assert_eq!(entry.leaf_hash(), merkle::leaf_hash(&entry.encode()));
        }
    }

    #[test]
    fn a_hashed_entry_names_where_moved_contents_belong() {
        // Entry 5, renumbered 4 with its stored hash kept (as deleting entry 4 and
        // renumbering the rest would leave it).
        let fifth = entry(5);
        let hashed = HashedEntry::of(&StoredEntry {
            stored_leaf: fifth.leaf_hash(),
            entry: AuditEntry { seq: 4, ..fifth },
        });
        assert_eq!(hashed.placement, Placement::Displaced { belongs_at: 5 });
        let fourth = entry(4);
        let untouched = HashedEntry::of(&StoredEntry {
            stored_leaf: fourth.leaf_hash(),
            entry: fourth,
        });
        assert_eq!(untouched.placement, Placement::InPlace);
        assert_eq!(untouched.leaf, untouched.stored_leaf);
    }

    #[test]
    fn checkpoints_verify_only_with_their_key_and_contents() {
        let key = signer(7);
        let checkpoint = key.sign(10, [3; 32], Utc.timestamp_opt(1_764_000_000, 0).unwrap());
        let ring = KeyRing::new(vec![key.public_key()]);
        assert_eq!(checkpoint.verify(&ring), Ok(()));
        let other = KeyRing::new(vec![signer(8).public_key()]);
        assert_eq!(
            checkpoint.verify(&other),
            Err(CheckpointProblem::UnknownKey(key.id().to_owned()))
        );
        for forged in [
            Checkpoint {
                size: 11,
                ..checkpoint.clone()
            },
            Checkpoint {
                root: [4; 32],
                ..checkpoint.clone()
            },
            Checkpoint {
                signed_at: checkpoint.signed_at + chrono::Duration::seconds(1),
                ..checkpoint.clone()
            },
        ] {
            assert_eq!(forged.verify(&ring), Err(CheckpointProblem::BadSignature));
        }
        let public = AuditPublicKey::from_bytes(&key.public_key().to_bytes()).unwrap();
        assert_eq!(public, key.public_key());
        assert_eq!(from_hex::<32>(&hex(&[0xab; 32])), Some([0xab; 32]));
        assert_eq!(from_hex::<32>("zz"), None);
    }

    #[test]
    fn an_untouched_log_verifies_and_reports_its_unsigned_tail() {
        let key = signer(1);
        let log = stored((1..=700).map(entry));
        let checkpoints = vec![
            checkpoint_of(&log, 256, &key),
            checkpoint_of(&log, 650, &key),
        ];
        let subtrees = vec![(
            Span { start: 0, len: 256 },
            merkle::root(&log[..256].iter().map(|s| s.stored_leaf).collect::<Vec<_>>()),
        )];
        let report = verify_entries(
            &log,
            checkpoints,
            subtrees,
            &KeyRing::new(vec![key.public_key()]),
        );
        assert!(report.is_intact(), "{:?}", report.findings);
        assert_eq!(
            (report.entries, report.checkpoints, report.signed_size),
            (700, 2, 650)
        );
        assert_eq!(report.unsigned_entries(), 50);
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let key = signer(1);
        let ring = KeyRing::new(vec![key.public_key()]);
        let log = stored((1..=20).map(entry));
        let checkpoints = vec![checkpoint_of(&log, 20, &key)];
        let check = |log: &[StoredEntry]| verify_entries(log, checkpoints.clone(), vec![], &ring);

        let mut changed = log.clone();
        changed[4].entry.event.purpose = "curiosity".into();
        let report = check(&changed);
        assert!(report.findings.contains(&Finding::Altered { seq: 5 }));
        assert!(
            report
                .findings
                .contains(&Finding::CheckpointMismatch { size: 20 })
        );

        let mut deleted = log.clone();
        deleted.remove(9);
        let report = check(&deleted);
        assert_eq!(report.findings[0], Finding::Missing { from: 10, to: 10 });
        assert!(report.findings.contains(&Finding::Truncated {
            checkpoint_size: 20,
            entries: 19
        }));

        // An insertion with renumbering: entries 10… move one place on.
        let mut inserted = log.clone();
        let forged = StoredEntry {
            stored_leaf: entry(10).leaf_hash(),
            entry: entry(10),
        };
        for stored in &mut inserted[9..] {
            stored.entry.seq += 1;
        }
        inserted.insert(9, forged);
        let report = check(&inserted);
        assert!(report.findings.contains(&Finding::Displaced {
            seq: 11,
            belongs_at: 10
        }));
        assert!(
            report
                .findings
                .contains(&Finding::CheckpointMismatch { size: 20 })
        );

        // Two entries exchange places, numbers and stored hashes rewritten to match.
        let mut swapped = log.clone();
        swapped.swap(2, 6);
        for (at, stored) in swapped.iter_mut().enumerate() {
            stored.entry.seq = at as u64 + 1;
            stored.stored_leaf = stored.entry.leaf_hash();
        }
        let report = check(&swapped);
        assert!(report.findings.contains(&Finding::TimeReversed { seq: 4 }));
        assert!(
            report
                .findings
                .contains(&Finding::CheckpointMismatch { size: 20 })
        );

        let report = check(&log[..15]);
        assert_eq!(
            report.findings,
            vec![Finding::Truncated {
                checkpoint_size: 20,
                entries: 15
            }]
        );

        let mut forged_checkpoint = checkpoints[0].clone();
        forged_checkpoint.root = [9; 32];
        let report = verify_entries(&log, vec![forged_checkpoint], vec![], &ring);
        assert!(
            report
                .findings
                .contains(&Finding::BadSignature { size: 20 })
        );
        let stranger = signer(2);
        let report = verify_entries(
            &log,
            vec![checkpoint_of(&log, 20, &stranger)],
            vec![],
            &ring,
        );
        assert_eq!(
            report.findings,
            vec![Finding::UnknownKey {
                size: 20,
                key_id: stranger.id().to_owned()
            }]
        );
        let report = verify_entries(
            &log,
            checkpoints.clone(),
            vec![(Span { start: 0, len: 256 }, [0; 32])],
            &ring,
        );
        assert!(
            report.is_intact(),
            "a subtree beyond the log is not checked"
        );
    }
}
