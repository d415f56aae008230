//! The audit administrator's pages: search the audit log, and verify it against its signed
//! checkpoints. Only an account holding the audit administrator role (安全审计员) sees
//! them; to anyone else signed in they do not exist (404), and searching is itself audited.

use super::sign_in::{require_role, require_role_form};
use super::{Chrome, LangQuery, PageError, url_encode};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::{AppState, AuditVerification};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use huimin_domain::audit::{AuditEvent, KeyRing, Outcome};
use huimin_domain::identity::Role;
use huimin_domain::storage::{AuditQuery, PageRequest};
use serde::Deserialize;

const PER_PAGE: u32 = 50;

#[derive(Debug)]
pub(crate) struct AuditTexts {
    title: &'static str,
    actor: &'static str,
    action: &'static str,
    subject: &'static str,
    outcome: &'static str,
    any: &'static str,
    search: &'static str,
    time: &'static str,
    role: &'static str,
    object: &'static str,
    jurisdiction: &'static str,
    purpose: &'static str,
    client: &'static str,
    detail: &'static str,
    empty: &'static str,
    verify: &'static str,
    intact: &'static str,
    tampered: &'static str,
    unsigned: &'static str,
    running: &'static str,
    failed: &'static str,
}

static ZH: AuditTexts = AuditTexts {
    title: "审计日志",
    actor: "操作人",
    action: "操作",
    subject: "数据主体（身份证号）",
    outcome: "结果",
    any: "全部",
    search: "查询",
    time: "时间",
    role: "角色",
    object: "对象",
    jurisdiction: "辖区",
    purpose: "用途",
    client: "客户端地址",
    detail: "说明",
    empty: "没有符合条件的审计记录。",
    verify: "校验日志完整性",
    intact: "日志完整：所有记录与已签名的检查点一致。",
    tampered: "日志已被篡改：",
    unsigned: "条记录在最新检查点之后，尚未签名。",
    running: "正在校验整个日志（本页每 5 秒刷新），开始于",
    failed: "校验未能完成：",
};

static EN: AuditTexts = AuditTexts {
    title: "Audit log",
    actor: "Actor",
    action: "Action",
    subject: "Data subject (identity number)",
    outcome: "Outcome",
    any: "Any",
    search: "Search",
    time: "Time",
    role: "Role",
    object: "Object",
    jurisdiction: "Jurisdiction",
    purpose: "Purpose",
    client: "Client address",
    detail: "Detail",
    empty: "No audit entry matches.",
    verify: "Verify the log",
    intact: "The log is intact: every entry matches the signed checkpoints.",
    tampered: "The log has been tampered with:",
    unsigned: "entries after the newest checkpoint are not yet signed.",
    running: "Verifying the whole log (this page refreshes every 5 s), started",
    failed: "The verification could not finish:",
};

struct Row {
    seq: u64,
    time: String,
    actor: String,
    role: String,
    action: String,
    object: String,
    jurisdiction: String,
    subject: String,
    purpose: String,
    outcome: &'static str,
    client: String,
    detail: String,
}

/// What the last verification found, for the page.
struct Verification {
    intact: bool,
    entries: u64,
    findings: Vec<String>,
    unsigned: u64,
    finished: String,
    seconds: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    a: &'static AuditTexts,
    csrf: String,
    actor: String,
    action: String,
    subject: String,
    outcome: String,
    rows: Vec<Row>,
    total: u64,
    page: u32,
    pages: u64,
    previous_link: Option<String>,
    next_link: Option<String>,
    verification: Option<Verification>,
    /// Since when a verification has been running, if one is.
    running: Option<String>,
    /// Why the last verification could not finish.
    verify_failed: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditSearch {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    outcome: String,
    page: Option<u32>,
    lang: Option<String>,
}

fn texts(lang: Lang) -> &'static AuditTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

fn filled(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

async fn render(
    state: &AppState,
    parts: &Parts,
    search: AuditSearch,
) -> Result<Response, ApiError> {
    let chrome = Chrome::new(
        &parts.headers,
        &LangQuery {
            lang: search.lang.clone(),
        },
        "audit",
        "/console/audit",
    );
    let now = state.clock.now();
    let principal = match require_role(state, &parts.headers, now, Role::AuditAdministrator).await?
    {
        Ok(principal) => principal,
        Err(refusal) => return Ok(refusal.respond(&chrome)),
    };
    let query = AuditQuery {
        actor: filled(&search.actor),
        action: filled(&search.action),
        subject: filled(&search.subject),
        outcome: Outcome::parse(search.outcome.trim()),
        from: None,
        until: None,
        unsealed_at: None,
    };
    let request = PageRequest::new(search.page.unwrap_or(1), PER_PAGE);
    let found = state.audit.audit_entries(&query, request).await?;
    let actor = principal.actor(parts);
    let event = AuditEvent {
        detail: format!("{query:?}"),
        ..actor.event("audit.search", "audit_log", "")
    };
    state
        .audit
        .append_audit(std::slice::from_ref(&event), now)
        .await?;
    let pages = found.total.div_ceil(u64::from(PER_PAGE)).max(1);
    let link = |page: u32| {
        format!(
            "/console/audit?actor={}&action={}&subject={}&outcome={}&page={page}",
            url_encode(&search.actor),
            url_encode(&search.action),
            url_encode(&search.subject),
            url_encode(&search.outcome)
        )
    };
    let rows = found
        .items
        .into_iter()
        .map(|entry| Row {
            seq: entry.seq,
            time: huimin_domain::time::shanghai_display(entry.at),
            actor: entry.event.actor,
            role: entry.event.role,
            action: entry.event.action,
            object: format!("{} {}", entry.event.object_kind, entry.event.object_id),
            jurisdiction: entry.event.jurisdiction,
            subject: entry.event.subject,
            purpose: entry.event.purpose,
            outcome: entry.event.outcome.as_str(),
            client: entry.event.client,
            detail: entry.event.detail,
        })
        .collect();
    let job = match state.verification.lock() {
        Ok(job) => job.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    let (verification, running, verify_failed) = match job {
        AuditVerification::Idle => (None, None, None),
        AuditVerification::Running { started, .. } => (
            None,
            Some(huimin_domain::time::shanghai_display(started)),
            None,
        ),
        AuditVerification::Done {
            finished,
            seconds,
            intact,
            entries,
            findings,
            unsigned,
            ..
        } => (
            Some(Verification {
                intact,
                entries,
                findings,
                unsigned,
                finished: huimin_domain::time::shanghai_display(finished),
                seconds: format!("{seconds:.1}"),
            }),
            None,
            None,
        ),
        AuditVerification::Failed { error, .. } => (None, None, Some(error)),
    };
    Ok(AuditPage {
        a: texts(chrome.lang),
        chrome,
        csrf: principal.csrf_token.clone(),
        actor: search.actor.clone(),
        action: search.action.clone(),
        subject: search.subject.clone(),
        outcome: search.outcome.clone(),
        rows,
        total: found.total,
        page: request.page,
        pages,
        previous_link: (request.page > 1).then(|| link(request.page - 1)),
        next_link: (u64::from(request.page) < pages).then(|| link(request.page + 1)),
        verification,
        running,
        verify_failed,
    }
    .into_response())
}

pub(crate) async fn audit_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(search): Query<AuditSearch>,
) -> Result<Response, PageError> {
    render(&state, &parts, search).await.map_err(|error| {
        let chrome = Chrome::new(
            &parts.headers,
            &LangQuery { lang: None },
            "audit",
            "/console/audit",
        );
        PageError::new(&chrome, error)
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default)]
    csrf: String,
}

/// Recomputes the whole log against the checkpoints and the served public keys.
pub(crate) async fn verify_log(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<VerifyForm>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(
        &parts.headers,
        &LangQuery { lang: None },
        "audit",
        "/console/audit",
    );
    let failed = |error: ApiError| PageError::new(&chrome, error);
    let now = state.clock.now();
    let principal = match require_role_form(
        &state,
        &parts,
        Role::AuditAdministrator,
        &form.csrf,
        &chrome,
    )
    .await
    .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(refused) => return Ok(refused),
    };
    let actor = principal.actor(&parts);
    {
        let mut job = match state.verification.lock() {
            Ok(job) => job,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !matches!(*job, AuditVerification::Running { .. }) {
            *job = AuditVerification::Running {
                by: actor.account.clone(),
                started: now,
            };
            tokio::spawn(run_verification(state.clone(), actor));
        }
    }
    Ok(axum::response::Redirect::to("/console/audit").into_response())
}

/// Verifies the whole log, records the outcome for the page, and audits it.
async fn run_verification(state: AppState, actor: huimin_domain::audit::Actor) {
    let started = std::time::Instant::now();
    let report = state
        .audit
        .verify_audit(&KeyRing::new(state.audit_keys.clone()))
        .await;
    let finished = state.clock.now();
    let by = actor.account.clone();
    let (outcome, detail) = match report {
        Ok(report) => {
            let detail = format!(
                "{} entries, {} findings",
                report.entries, report.finding_count
            );
            (
                AuditVerification::Done {
                    by,
                    finished,
                    seconds: started.elapsed().as_secs_f64(),
                    intact: report.is_intact(),
                    entries: report.entries,
                    findings: report.findings.iter().map(ToString::to_string).collect(),
                    unsigned: report.unsigned_entries(),
                },
                detail,
            )
        }
        Err(error) => {
            tracing::error!(%error, "verifying the audit log");
            (
                AuditVerification::Failed {
                    by,
                    finished,
                    error: error.to_string(),
                },
                format!("failed: {error}"),
            )
        }
    };
    let event = AuditEvent {
        detail,
        ..actor.event("audit.verify", "audit_log", "")
    };
    if let Err(error) = state
        .audit
        .append_audit(std::slice::from_ref(&event), finished)
        .await
    {
        tracing::error!(%error, "auditing the audit log's verification");
    }
    match state.verification.lock() {
        Ok(mut job) => *job = outcome,
        Err(poisoned) => *poisoned.into_inner() = outcome,
    }
}
