//! `huimin cases replay`: the indicators recomputed from the event log (issue 5 §9).
//!
//! The indicators sum facts kept with each case (`CaseFacts`), written with every change.
//! The event log is the record: this walk replays every case's timeline from its report
//! and compares what it gives with what is kept. A case whose facts disagree (one kept
//! before the facts existed, or under other office hours) has them rewritten with
//! `--fix`, each rewrite audited; a timeline that does not replay, or replays to another
//! status than the one kept, is reported and never changed.

use anyhow::Context;
use huimin_domain::audit::{Actor, AuditEvent};
use huimin_domain::case::Timing;
use huimin_domain::case::indicators::CaseFacts;
use huimin_domain::storage::CaseStore;

/// Cases read at a time.
const WALK_BATCH: u32 = 500;
/// Findings kept for the report (the counts are complete).
const FINDINGS_KEPT: usize = 20;

/// What the replay found.
#[derive(Debug, Default)]
pub struct ReplayReport {
    pub cases: u64,
    /// Kept facts that differ from the replayed ones.
    pub differing: u64,
    pub rewritten: u64,
    /// Timelines that do not replay, or replay to another status than the kept one.
    pub broken: u64,
    /// The first findings, one line each.
    pub findings: Vec<String>,
}

impl ReplayReport {
    fn note(&mut self, finding: String) {
        if self.findings.len() < FINDINGS_KEPT {
            self.findings.push(finding);
        }
    }

    /// The report as the command prints it.
    pub fn describe(&self, fixed: bool) -> String {
        let mut text = format!(
            "Replayed {} case timelines: {} with other facts than kept{}, {} that do not replay to the kept case.\n",
            self.cases,
            self.differing,
            if fixed {
                format!(" ({} rewritten)", self.rewritten)
            } else {
                String::new()
            },
            self.broken
        );
        for finding in &self.findings {
            text.push_str("  ");
            text.push_str(finding);
            text.push('\n');
        }
        if self.differing > self.rewritten && !fixed {
            text.push_str("Run again with --fix to rewrite the differing facts.\n");
        }
        text
    }
}

/// Replays every case's timeline, rewriting differing facts when `fix`; `progress` is
/// told the cases done after each batch.
pub async fn replay(
    store: &dyn CaseStore,
    timing: &Timing<'_>,
    fix: bool,
    now: chrono::DateTime<chrono::Utc>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let actor = Actor::system("case-replay");
    let mut after = 0;
    loop {
        let cases = store
            .cases_after(after, WALK_BATCH)
            .await
            .context("reading cases")?;
        let Some(last) = cases.last() else { break };
        after = last.id;
        for case in &cases {
            report.cases += 1;
            let events = store
                .case_events(case.id)
                .await
                .with_context(|| format!("reading the timeline of case {}", case.id))?;
            let replayed = match case.replay(&events, timing) {
                Ok(replayed) if replayed.flow.status == case.flow.status => replayed,
                Ok(replayed) => {
                    report.broken += 1;
                    report.note(format!(
                        "case {}: the timeline gives {}, the case is kept {}",
                        case.id,
                        replayed.flow.status.code(),
                        case.flow.status.code()
                    ));
                    continue;
                }
                Err(error) => {
                    report.broken += 1;
                    report.note(format!(
                        "case {}: the timeline does not replay: {error}",
                        case.id
                    ));
                    continue;
                }
            };
            let facts = CaseFacts::of(&replayed);
            let kept = store
                .kept_facts(case.id)
                .await
                .with_context(|| format!("reading the facts of case {}", case.id))?;
            if kept == Some(facts) {
                continue;
            }
            report.differing += 1;
            report.note(format!(
                "case {}: kept {:?}, replayed {:?}",
                case.id,
                kept.unwrap_or_default(),
                facts
            ));
            if fix {
                let event = AuditEvent {
                    detail: "facts rewritten from the timeline".to_owned(),
                    ..actor.event("case.replay", "case", case.id.to_string())
                };
                if store
                    .rewrite_facts(case.id, case.version, &facts, &event, now)
                    .await
                    .with_context(|| format!("rewriting the facts of case {}", case.id))?
                {
                    report.rewritten += 1;
                }
            }
        }
        progress(report.cases);
    }
    Ok(report)
}
