//! The audit log's storage suite, run on SQLite and on PostgreSQL by the same bodies:
//! numbering, checkpoints, proofs checked by the RFC 9162 verifiers, registry writes that
//! keep their entry in their own transaction, the append-only guards, and the tamper
//! trials — a thousand random single-row changes made behind the store's back, each of
//! which `verify_audit` (what `huimin audit verify` runs) must report.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, TimeZone, Utc};
use huimin_domain::audit::{Actor, AuditEntry, AuditEvent, AuditSigner, Finding, KeyRing, Outcome};
use huimin_domain::merkle;
use huimin_domain::storage::{AuditStore, ProofError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, minute, 0).unwrap()
}

fn signer() -> AuditSigner {
    AuditSigner::from_seed(&[42; 32])
}

fn keys() -> KeyRing {
    KeyRing::new(vec![signer().public_key()])
}

/// The `n`th event of a varied log: staff reading people's records for cases, some
/// refused, some with Chinese purposes.
fn event(n: usize) -> AuditEvent {
    let subject = format!("32100219900101{:04}", n % 10_000);
    AuditEvent {
        jurisdiction: format!("321002001{:03}", n % 7),
        subject: subject.clone(),
        purpose: if n.is_multiple_of(3) {
            format!("案件 {n}")
        } else {
            format!("household check {n}")
        },
        outcome: if n.is_multiple_of(11) {
            Outcome::Denied
        } else {
            Outcome::Allowed
        },
        request_id: format!("req-{n}"),
        client: "10.0.0.8".into(),
        ..AuditEvent::new(
            format!("staff:worker{}", n % 5),
            "grid_worker",
            "person.read",
            "person",
            subject,
        )
    }
}

fn events(range: std::ops::Range<usize>) -> Vec<AuditEvent> {
    range.map(event).collect()
}

/// The statements that lift the append-only guards, as an attacker with the database's
/// files or owner rights could.
const SQLITE_LIFT_GUARDS: &[&str] = &[
    "DROP TRIGGER audit_entry_append_only_update",
    "DROP TRIGGER audit_entry_append_only_delete",
];
const POSTGRES_LIFT_GUARDS: &[&str] = &[
    "DROP TRIGGER audit_entry_append_only ON audit_entry",
    "GRANT UPDATE, DELETE ON audit_entry TO CURRENT_USER",
];

/// A trigger that makes every audit append fail.
const SQLITE_BREAK_AUDIT: &[&str] = &[
    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entry BEGIN SELECT RAISE(ABORT, 'audit down'); END",
];
const POSTGRES_BREAK_AUDIT: &[&str] = &[
    "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$",
    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entry FOR EACH ROW EXECUTE FUNCTION audit_down()",
];

macro_rules! audit_suite {
    ($backend:ident, $store:ty, $lift_guards:expr, $break_audit:expr) => {
        mod $backend {
            use super::*;

            async fn open() -> Option<($store, Option<tempfile::TempDir>)> {
                audit_suite!(@open $backend, $store)
            }

            async fn execute(store: &$store, statements: &[&str]) {
                for statement in statements {
                    sqlx::query(sqlx::AssertSqlSafe(*statement)).execute(store.pool()).await.unwrap();
                }
            }

            #[tokio::test]
            async fn entries_are_numbered_checkpointed_and_proved() {
                let Some((store, _directory)) = open().await else { return };
                assert_eq!(store.audit_size().await.unwrap(), 0);
                assert_eq!(store.checkpoint_audit(&signer(), at(0)).await.unwrap(), None);
                assert_eq!(store.append_audit(&events(0..300), at(2)).await.unwrap(), 1);
                let first = store.checkpoint_audit(&signer(), at(3)).await.unwrap().unwrap();
                assert_eq!((first.size, first.signed_at), (300, at(3)));
                // Appended with an earlier clock reading: entry times never go backwards.
                assert_eq!(store.append_audit(&events(300..650), at(1)).await.unwrap(), 301);
                let entry = store.audit_entry(301).await.unwrap().unwrap();
                assert_eq!(entry.entry.at, at(2));
                assert_eq!(entry.entry.event, event(300));
                assert_eq!(entry.stored_leaf, entry.entry.leaf_hash());
                let second = store.checkpoint_audit(&signer(), at(4)).await.unwrap().unwrap();
                assert_eq!(second.size, 650);
                assert_eq!(store.checkpoint_audit(&signer(), at(5)).await.unwrap(), Some(second.clone()));
                assert_eq!(store.audit_checkpoints().await.unwrap(), vec![first.clone(), second.clone()]);
                assert_eq!(first.verify(&keys()), Ok(()));

                for (checkpoint, seqs) in [(&first, vec![1, 2, 150, 256, 257, 300]), (&second, vec![1, 299, 300, 301, 512, 513, 650])] {
                    for seq in seqs {
                        let proof = store.audit_inclusion_proof(seq, checkpoint.size).await.unwrap();
                        let leaf = store.audit_entry(seq).await.unwrap().unwrap().entry.leaf_hash();
                        assert_eq!(proof.leaf_hash, leaf);
                        assert!(
                            merkle::verify_inclusion(&leaf, seq - 1, checkpoint.size, &proof.path, &checkpoint.root),
                            "entry {seq} in tree {}", checkpoint.size
                        );
                    }
                }
                let proof = store.audit_consistency_proof(300, 650).await.unwrap();
                assert!(merkle::verify_consistency(300, 650, &first.root, &second.root, &proof));
                assert!(store.audit_consistency_proof(0, 650).await.unwrap().is_empty());

                assert!(matches!(store.audit_inclusion_proof(1, 301).await, Err(ProofError::NoSuchCheckpoint(301))));
                assert!(matches!(store.audit_inclusion_proof(651, 650).await, Err(ProofError::OutOfRange { .. })));
                assert!(matches!(store.audit_inclusion_proof(0, 650).await, Err(ProofError::OutOfRange { .. })));
                assert!(matches!(store.audit_consistency_proof(650, 300).await, Err(ProofError::Order { .. })));

                let report = store.verify_audit(&keys()).await.unwrap();
                assert!(report.is_intact(), "{:?}", report.findings);
                assert_eq!((report.entries, report.checkpoints, report.signed_size), (650, 2, 650));
                let untrusting = store.verify_audit(&KeyRing::default()).await.unwrap();
                assert_eq!(untrusting.finding_count, 2, "both checkpoints by an untrusted key");
            }

            #[tokio::test]
            async fn a_registry_write_keeps_its_entry_in_its_own_transaction() {
                let Some((store, _directory)) = open().await else { return };
                let city = huimin_city::generate(
                    &huimin_city::CityConfig { seed: 5, people: 30 },
                    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
                );
                let provenance = huimin_domain::provenance::Provenance {
                    source: "公安局".into(),
                    batch: "batch-1".into(),
                    recorded_at: at(10),
                };
                let clerk = Actor { account: "staff:wang".into(), role: "department_officer".into(), ..Actor::default() };
                use huimin_domain::storage::RegistryStore;
                store.put_persons(&city.persons[..20], &provenance, &clerk).await.unwrap();
                let entry = store.audit_entry(1).await.unwrap().unwrap().entry;
                assert_eq!(
                    (entry.event.actor.as_str(), entry.event.action.as_str(), entry.event.object_id.as_str()),
                    ("staff:wang", "person.write", "batch-1")
                );
                assert!(entry.event.detail.contains("inserted 20"), "{}", entry.event.detail);
                assert_eq!(entry.at, at(10));

                execute(&store, $break_audit).await;
                let failed = store.put_persons(&city.persons[20..], &provenance, &clerk).await;
                assert!(failed.is_err(), "a write whose audit entry fails must fail");
                assert_eq!(store.count_persons().await.unwrap(), 20, "nothing of the failed write stays");
                assert!(store.person(&city.persons[25].citizen_id, None).await.unwrap().is_none());
                assert_eq!(store.audit_size().await.unwrap(), 1);
            }

            /// Registry writes read before they write (what is stored, to version it);
            /// with audit appends committing beside them all the time, none may fail for
            /// having read a snapshot another connection's commit made stale.
            #[tokio::test]
            async fn registry_writes_and_audit_appends_run_side_by_side() {
                let Some((store, _directory)) = open().await else { return };
                use huimin_domain::storage::RegistryStore;
                let store = std::sync::Arc::new(store);
                let city = std::sync::Arc::new(huimin_city::generate(
                    &huimin_city::CityConfig { seed: 9, people: 400 },
                    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
                ));
                assert!(city.persons.len() >= 320, "the generated city has {} people", city.persons.len());
                let mut tasks = tokio::task::JoinSet::new();
                for writer in 0..8usize {
                    let (writing, city) = (store.clone(), city.clone());
                    tasks.spawn(async move {
                        for batch in 0..4usize {
                            let start = writer * 40 + batch * 10;
                            let provenance = huimin_domain::provenance::Provenance {
                                source: "公安局".into(),
                                batch: format!("batch-{writer}-{batch}"),
                                recorded_at: at(10),
                            };
                            let clerk = Actor { account: format!("staff:clerk{writer}"), role: "department_officer".into(), ..Actor::default() };
                            writing.put_persons(&city.persons[start..start + 10], &provenance, &clerk).await?;
                        }
                        Ok::<_, huimin_domain::storage::StorageError>(())
                    });
                    let appending = store.clone();
                    tasks.spawn(async move {
                        for n in 0..40 {
                            appending.append_audit(&[event(writer * 100 + n)], at(11)).await?;
                        }
                        Ok(())
                    });
                }
                while let Some(finished) = tasks.join_next().await {
                    finished.unwrap().unwrap();
                }
                assert_eq!(store.count_persons().await.unwrap(), 320);
                assert_eq!(store.audit_size().await.unwrap(), 32 + 320);
                store.checkpoint_audit(&signer(), at(12)).await.unwrap();
                assert!(store.verify_audit(&keys()).await.unwrap().is_intact());
            }

            /// Stand-alone appends are group-committed: many at once get disjoint, gapless
            /// numbers in one order, each caller learns its own, and the log verifies.
            #[tokio::test]
            async fn concurrent_appends_are_numbered_without_gaps_or_overlaps() {
                let Some((store, _directory)) = open().await else { return };
                let store = std::sync::Arc::new(store);
                let mut tasks = Vec::new();
                for writer in 0..200usize {
                    let store = store.clone();
                    tasks.push(tokio::spawn(async move {
                        let batch = events(writer * 3..writer * 3 + 1 + writer % 3);
                        let first = store.append_audit(&batch, at(1)).await.unwrap();
                        (first, batch)
                    }));
                }
                let mut ranges = Vec::new();
                for task in tasks {
                    let (first, batch) = task.await.unwrap();
                    for (offset, event) in batch.iter().enumerate() {
                        let stored = store.audit_entry(first + offset as u64).await.unwrap().unwrap();
                        assert_eq!(&stored.entry.event, event, "each caller's entries are where it was told");
                    }
                    ranges.push((first, batch.len() as u64));
                }
                ranges.sort();
                let mut next = 1;
                for (first, len) in ranges {
                    assert_eq!(first, next, "no gap and no overlap");
                    next += len;
                }
                assert_eq!(store.audit_size().await.unwrap(), next - 1);
                store.checkpoint_audit(&signer(), at(2)).await.unwrap();
                assert!(store.verify_audit(&keys()).await.unwrap().is_intact());
            }

            #[tokio::test]
            async fn a_seal_keeps_entries_from_the_subjects_view_until_its_release() {
                let Some((store, _directory)) = open().await else { return };
                let subject = "321002199001010017";
                let read = |purpose: &str| AuditEvent {
                    subject: subject.into(),
                    purpose: purpose.into(),
                    ..AuditEvent::new("staff:police", "department_officer", "person.read", "person", subject)
                };
                store
                    .append_audit(&[read("investigation 2026-017"), read("case 9"), read("investigation 2026-018")], at(1))
                    .await
                    .unwrap();
                let seal = huimin_domain::audit::Seal {
                    id: 0,
                    subject: subject.into(),
                    purpose: "investigation 2026-017".into(),
                    reason: "公安机关侦查需要".into(),
                    release_at: at(30),
                    sealed_by: "security.admin".into(),
                    sealed_at: at(2),
                };
                let sealing = AuditEvent {
                    detail: "seal 1".into(),
                    ..AuditEvent::new("security.admin", "security_administrator", "audit.seal", "seal", "new")
                };
                let id = store.seal_audit(&seal, &sealing).await.unwrap();
                assert!(id >= 1);
                let seals = store.audit_seals(huimin_domain::storage::PageRequest::new(1, 50)).await.unwrap();
                assert_eq!(seals.total, 1);
                assert_eq!(seals.items[0], huimin_domain::audit::Seal { id, ..seal.clone() });
                let sealing_entry = store.audit_entry(4).await.unwrap().unwrap().entry;
                assert_eq!((sealing_entry.event.action.as_str(), sealing_entry.at), ("audit.seal", at(2)));

                let view = |now| huimin_domain::storage::AuditQuery {
                    subject: Some(subject.into()),
                    unsealed_at: now,
                    ..Default::default()
                };
                let purposes = |page: huimin_domain::storage::Page<huimin_domain::audit::AuditEntry>| {
                    page.items.into_iter().map(|entry| entry.event.purpose).collect::<Vec<_>>()
                };
                let page = huimin_domain::storage::PageRequest::new(1, 50);
                let sealed = store.audit_entries(&view(Some(at(10))), page).await.unwrap();
                assert_eq!(sealed.total, 2, "the count leaves out the sealed entry too");
                assert_eq!(purposes(sealed), ["investigation 2026-018", "case 9"]);
                let audit_search = store.audit_entries(&view(None), page).await.unwrap();
                assert_eq!(audit_search.total, 3, "audit searches see sealed entries");
                let released = store.audit_entries(&view(Some(at(30))), page).await.unwrap();
                assert_eq!(
                    purposes(released),
                    ["investigation 2026-018", "case 9", "investigation 2026-017"],
                    "released at its release time"
                );
                let other = huimin_domain::storage::AuditQuery {
                    subject: Some("321002199001010025".into()),
                    unsealed_at: Some(at(10)),
                    ..Default::default()
                };
                assert_eq!(store.audit_entries(&other, page).await.unwrap().total, 0);
                assert!(store.verify_audit(&keys()).await.unwrap().is_intact());
            }

            #[tokio::test]
            async fn entries_refuse_update_and_delete() {
                let Some((store, _directory)) = open().await else { return };
                store.append_audit(&events(0..3), at(1)).await.unwrap();
                store.checkpoint_audit(&signer(), at(2)).await.unwrap();
                for statement in [
                    "UPDATE audit_entry SET purpose = 'none' WHERE seq = 1",
                    "DELETE FROM audit_entry WHERE seq = 2",
                    "UPDATE audit_checkpoint SET size = 2",
                    "DELETE FROM audit_checkpoint",
                ] {
                    let refused = sqlx::query(statement).execute(store.pool()).await;
                    assert!(refused.is_err(), "{statement} was allowed");
                }
                assert!(store.verify_audit(&keys()).await.unwrap().is_intact());
            }

            /// A thousand single-row mutations, of five kinds, made with the guards lifted;
            /// after each, the log is restored and checked to verify clean again.
            #[tokio::test]
            async fn every_tampering_is_detected_and_untouched_logs_raise_no_alarm() {
                let Some((store, _directory)) = open().await else { return };
                const SIZE: u64 = 300;
                let mut appended = 0usize;
                for (minute, batch) in [1usize, 40, 99, 160].into_iter().enumerate() {
                    store.append_audit(&events(appended..appended + batch), at(minute as u32)).await.unwrap();
                    appended += batch;
                    if minute == 1 {
                        store.checkpoint_audit(&signer(), at(20)).await.unwrap();
                    }
                }
                assert_eq!(appended as u64, SIZE);
                store.checkpoint_audit(&signer(), at(30)).await.unwrap();
                assert!(store.verify_audit(&keys()).await.unwrap().is_intact());

                execute(&store, $lift_guards).await;
                execute(&store, &["CREATE TABLE audit_original AS SELECT * FROM audit_entry"]).await;
                let restore = ["DELETE FROM audit_entry", "INSERT INTO audit_entry SELECT * FROM audit_original"];
                let mut rng = ChaCha8Rng::seed_from_u64(2026);
                let mut undetected = Vec::new();
                for trial in 0..1_000u32 {
                    let seq = rng.random_range(1..=SIZE) as i64;
                    let careful = rng.random_bool(0.5);
                    let description = match trial % 5 {
                        0 => {
                            let column = ["actor", "role", "action", "object_id", "jurisdiction", "subject", "purpose", "request_id", "client", "detail", "at_us", "outcome", "leaf_hash"]
                                [rng.random_range(0..13)];
                            let change = match column {
                                "at_us" => "at_us = at_us + 1".to_owned(),
                                "outcome" => "outcome = CASE WHEN outcome = 'allowed' THEN 'denied' ELSE 'allowed' END".to_owned(),
                                "leaf_hash" => format!("leaf_hash = (SELECT leaf_hash FROM audit_original WHERE seq = {})", seq % SIZE as i64 + 1),
                                text => format!("{text} = {text} || '改'"),
                            };
                            execute(&store, &[&format!("UPDATE audit_entry SET {change} WHERE seq = {seq}")]).await;
                            if careful && column != "leaf_hash" {
                                rehash(&store, seq).await;
                            }
                            format!("change {column} of {seq}{}", if careful { ", hash recomputed" } else { "" })
                        }
                        1 => {
                            execute(&store, &[&format!("DELETE FROM audit_entry WHERE seq = {seq}")]).await;
                            format!("delete {seq}")
                        }
                        2 => {
                            execute(&store, &[
                                &format!("UPDATE audit_entry SET seq = -(seq + 1) WHERE seq >= {seq}"),
                                "UPDATE audit_entry SET seq = -seq WHERE seq < 0",
                                &format!(
                                    "INSERT INTO audit_entry SELECT {seq}, at_us, actor, role, action, object_kind, object_id, \
                                     jurisdiction, subject, 'forged', outcome, request_id, client, detail, leaf_hash \
                                     FROM audit_entry WHERE seq = {}", seq + 1
                                ),
                            ]).await;
                            if careful {
                                rehash(&store, seq).await;
                            }
                            format!("insert before {seq}{}", if careful { ", hash recomputed" } else { "" })
                        }
                        3 => {
                            let other = (seq - 1 + rng.random_range(1..SIZE as i64)) % SIZE as i64 + 1;
                            execute(&store, &[
                                &format!("UPDATE audit_entry SET seq = -1 WHERE seq = {seq}"),
                                &format!("UPDATE audit_entry SET seq = {seq} WHERE seq = {other}"),
                                &format!("UPDATE audit_entry SET seq = {other} WHERE seq = -1"),
                            ]).await;
                            format!("swap {seq} and {other}")
                        }
                        _ => {
                            let keep = seq - 1;
                            execute(&store, &[&format!("DELETE FROM audit_entry WHERE seq > {keep}")]).await;
                            format!("truncate to {keep}")
                        }
                    };
                    let report = store.verify_audit(&keys()).await.unwrap();
                    if report.is_intact() {
                        undetected.push(description);
                    }
                    execute(&store, &restore).await;
                    if trial % 100 == 99 {
                        let clean = store.verify_audit(&keys()).await.unwrap();
                        assert!(clean.is_intact(), "false alarm after trial {trial}: {:?}", clean.findings);
                    }
                }
                assert!(undetected.is_empty(), "undetected: {undetected:?}");
            }

            /// A log longer than the ranges the store scans at once (two of 50,000
            /// numbers): the first checkpoint's root is the one computed here from the
            /// events, and a deleted stretch wider than two ranges is named exactly.
            #[tokio::test]
            async fn a_long_log_checkpoints_verifies_and_names_a_wide_gap() {
                let Some((store, _directory)) = open().await else { return };
                const SIZE: usize = 120_500;
                for start in (0..SIZE).step_by(10_000) {
                    store.append_audit(&events(start..(start + 10_000).min(SIZE)), at(1)).await.unwrap();
                }
                let leaves: Vec<merkle::Hash> = (0..SIZE)
                    .map(|n| AuditEntry::leaf_hash_of(n as u64 + 1, at(1), &event(n)))
                    .collect();
                let checkpoint = store.checkpoint_audit(&signer(), at(2)).await.unwrap().unwrap();
                assert_eq!((checkpoint.size, checkpoint.root), (SIZE as u64, merkle::root(&leaves)));
                let report = store.verify_audit(&keys()).await.unwrap();
                assert!(report.is_intact(), "{:?}", report.findings);
                assert_eq!(report.entries, SIZE as u64);

                execute(&store, $lift_guards).await;
                execute(&store, &["DELETE FROM audit_entry WHERE seq BETWEEN 30001 AND 115000"]).await;
                let report = store.verify_audit(&keys()).await.unwrap();
                assert_eq!(report.entries, SIZE as u64 - 85_000);
                assert!(
                    report.findings.contains(&Finding::Missing { from: 30_001, to: 115_000 }),
                    "{:?}", report.findings
                );
            }

            /// Rewrites entry `seq`'s stored hash to match its (changed) contents, as a
            /// careful attacker would.
            async fn rehash(store: &$store, seq: i64) {
                let entry = store.audit_entry(seq as u64).await.unwrap().unwrap().entry;
                sqlx::query("UPDATE audit_entry SET leaf_hash = $1 WHERE seq = $2")
                    .bind(entry.leaf_hash().to_vec())
                    .bind(seq)
                    .execute(store.pool())
                    .await
                    .unwrap();
            }
        }
    };
    (@open sqlite, $store:ty) => {{
        let (url, directory) = huimin_store::testing::fresh_sqlite_database().await;
        Some((huimin_store::SqliteStore::connect(&url).await.unwrap(), Some(directory)))
    }};
    (@open postgres, $store:ty) => {{
        let url = huimin_store::testing::fresh_postgres_database().await?;
        Some((huimin_store::PostgresStore::connect(&url).await.unwrap(), None))
    }};
}

audit_suite!(
    sqlite,
    huimin_store::SqliteStore,
    SQLITE_LIFT_GUARDS,
    SQLITE_BREAK_AUDIT
);
audit_suite!(
    postgres,
    huimin_store::PostgresStore,
    POSTGRES_LIFT_GUARDS,
    POSTGRES_BREAK_AUDIT
);
