//! "Who used my data" (我的数据使用记录): a signed-in resident reads every access to their
//! own records from the audit log — which department and role, when, what and for which
//! purpose — except the entries a security administrator has sealed for an investigation,
//! until the seal's release. And the security administrator's seals page, where seals
//! are made (each sealing is itself an audit entry, which the resident does not see).

use super::sign_in::{Refusal, require_role, require_role_form};
use super::{Chrome, LangQuery, PageError};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::{self, Principal};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use huimin_domain::access::mask_citizen_id;
use huimin_domain::audit::{AuditEntry, AuditEvent, Outcome, Seal};
use huimin_domain::identifiers::CitizenId;
use huimin_domain::identity::{AccountKind, Role};
use huimin_domain::storage::{AuditQuery, PageRequest};
use serde::Deserialize;
use std::collections::HashMap;

const PER_PAGE: u32 = 50;

#[derive(Debug)]
pub(crate) struct MyDataTexts {
    title: &'static str,
    intro: &'static str,
    time: &'static str,
    department: &'static str,
    role: &'static str,
    what: &'static str,
    purpose: &'static str,
    outcome: &'static str,
    empty: &'static str,
    allowed: &'static str,
    denied: &'static str,
    yourself: &'static str,
    system: &'static str,
    full: &'static str,
    masked: &'static str,
    no_purpose: &'static str,
    seals_title: &'static str,
    seals_intro: &'static str,
    subject: &'static str,
    seal_purpose: &'static str,
    reason: &'static str,
    release: &'static str,
    sealed_by: &'static str,
    sealed_at: &'static str,
    seal: &'static str,
    sealed: &'static str,
    no_seals: &'static str,
}

static ZH: MyDataTexts = MyDataTexts {
    title: "我的数据使用记录",
    intro: "以下是政府部门工作人员和系统查询、使用您的个人信息的全部记录（最新在前）。如对某次使用有疑问，可拨打 12345 或到政务服务窗口咨询。",
    time: "时间",
    department: "部门",
    role: "角色",
    what: "内容",
    purpose: "用途",
    outcome: "结果",
    empty: "暂无使用记录。",
    allowed: "已查看",
    denied: "已拒绝",
    yourself: "您本人",
    system: "系统",
    full: "完整信息",
    masked: "脱敏信息",
    no_purpose: "未说明（仅可见脱敏信息）",
    seals_title: "审计记录封存",
    seals_intro: "因案件侦查等需要，可将某人某一用途的使用记录暂不向本人展示，到解封日自动恢复。记录本身仍在审计日志中，封存操作同样记入审计日志。",
    subject: "身份证号",
    seal_purpose: "用途（与审计记录完全一致，如 investigation 2026-017）",
    reason: "封存理由",
    release: "解封日期",
    sealed_by: "封存人",
    sealed_at: "封存时间",
    seal: "封存",
    sealed: "已封存。",
    no_seals: "暂无封存。",
};

static EN: MyDataTexts = MyDataTexts {
    title: "Who used my data",
    intro: "Every time government staff or systems read or used your personal records, newest first. If an access puzzles you, call 12345 or ask at a service window.",
    time: "Time",
    department: "Department",
    role: "Role",
    what: "What",
    purpose: "Purpose",
    outcome: "Outcome",
    empty: "Nobody has used your records yet.",
    allowed: "Read",
    denied: "Refused",
    yourself: "You",
    system: "System",
    full: "full record",
    masked: "masked record",
    no_purpose: "none stated (masked fields only)",
    seals_title: "Audit seals",
    seals_intro: "For an investigation, a person's entries with one purpose can be kept from their data-access page until a release date. The entries stay in the audit log, and sealing is itself audited.",
    subject: "Identity number",
    seal_purpose: "Purpose (exactly as in the audit entries, e.g. investigation 2026-017)",
    reason: "Reason",
    release: "Release date",
    sealed_by: "Sealed by",
    sealed_at: "Sealed at",
    seal: "Seal",
    sealed: "Sealed.",
    no_seals: "No seals.",
};

fn texts(lang: Lang) -> &'static MyDataTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// What an audited action means to the person it was about: (action, Chinese, English).
const ACTION_LABELS: [(&str, &str, &str); 10] = [
    ("person.read", "查看个人信息", "read your record"),
    ("person.view", "查看个人全景信息", "read your full profile"),
    (
        "person.history",
        "查看信息变更历史",
        "read your record's history",
    ),
    (
        "person.search",
        "在查询结果中列出",
        "listed you in a search",
    ),
    ("household.read", "查看户信息", "read your household"),
    ("house.read", "查看房屋信息", "read your house"),
    ("audit.read_own", "查看本页", "read this page"),
    (
        "oidc.token",
        "您用惠民账号登录了该系统",
        "you signed in to this system with Huimin",
    ),
    (
        "oidc.refresh",
        "该系统续用了您的登录",
        "this system renewed your sign-in",
    ),
    (
        "oidc.userinfo",
        "该系统读取了您的账号信息",
        "this system read your account details",
    ),
];

fn action_label(action: &str, lang: Lang) -> &str {
    ACTION_LABELS
        .iter()
        .find(|(code, _, _)| *code == action)
        .map_or(action, |(_, zh, en)| if lang == Lang::Zh { zh } else { en })
}

struct AccessRow {
    time: String,
    department: String,
    role: String,
    what: String,
    purpose: String,
    outcome: &'static str,
    denied: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "my_data.html")]
struct MyDataPage {
    chrome: Chrome,
    m: &'static MyDataTexts,
    name: String,
    rows: Vec<AccessRow>,
    total: u64,
    page: u32,
    pages: u64,
    previous_link: Option<String>,
    next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MyDataQuery {
    page: Option<u32>,
    lang: Option<String>,
}

/// The department and role of whoever made `entry`, as the resident is told them: the
/// actor's account's department (or that of the role it acted in), and the role's name.
async fn who(
    state: &AppState,
    entry: &AuditEntry,
    resident: &Principal,
    known: &mut HashMap<String, String>,
    lang: Lang,
) -> Result<(String, String), ApiError> {
    let m = texts(lang);
    let actor = &entry.event.actor;
    if *actor == resident.account.login {
        return Ok((m.yourself.to_owned(), String::new()));
    }
    let role = Role::parse(&entry.event.role).map_or_else(
        || m.system.to_owned(),
        |role| {
            if lang == Lang::Zh {
                role.name_zh()
            } else {
                role.name_en()
            }
            .to_owned()
        },
    );
    if actor.starts_with("system:") {
        return Ok((m.system.to_owned(), role));
    }
    if let Some(client_id) = actor.strip_prefix("client:") {
        // A system signing the resident in through single sign-on: named as registered.
        let name = state
            .oidc
            .oidc_client(client_id)
            .await?
            .map_or_else(|| client_id.to_owned(), |client| client.name);
        return Ok((name, m.system.to_owned()));
    }
    if !known.contains_key(actor) {
        let account = state.identity.account(actor).await?;
        let assignments = state.identity.role_assignments(actor).await?;
        let department = account
            .and_then(|account| account.department)
            .or_else(|| {
                assignments
                    .into_iter()
                    .filter(|held| held.role.code() == entry.event.role)
                    .find_map(|held| held.department)
            })
            .unwrap_or_default();
        known.insert(actor.clone(), department);
    }
    Ok((known.get(actor).cloned().unwrap_or_default(), role))
}

async fn render_my_data(
    state: &AppState,
    parts: &Parts,
    query: MyDataQuery,
) -> Result<Response, ApiError> {
    let chrome = Chrome::new(
        &parts.headers,
        &LangQuery {
            lang: query.lang.clone(),
        },
        "my-data",
        "/console/my-data",
    );
    let now = state.clock.now();
    let Some(principal) = session::principal(state, &parts.headers, now).await? else {
        return Ok(Redirect::to("/console/sign-in").into_response());
    };
    let citizen_id = principal
        .account
        .citizen_id
        .clone()
        .filter(|_| principal.account.kind == AccountKind::Resident);
    let Some(citizen_id) = citizen_id else {
        return Ok(Refusal::NotFound.respond(&chrome));
    };
    // Reading one's own trail is itself an access, recorded before the answer is given.
    let actor = principal.actor(parts);
    let event = AuditEvent {
        subject: citizen_id.clone(),
        ..actor.event("audit.read_own", "audit_log", "")
    };
    state
        .audit
        .append_audit(std::slice::from_ref(&event), now)
        .await?;
    let request = PageRequest::new(query.page.unwrap_or(1), PER_PAGE);
    let found = state
        .audit
        .audit_entries(
            &AuditQuery {
                subject: Some(citizen_id),
                unsealed_at: Some(now),
                ..AuditQuery::default()
            },
            request,
        )
        .await?;
    let lang = chrome.lang;
    let m = texts(lang);
    let mut known = HashMap::new();
    let mut rows = Vec::with_capacity(found.items.len());
    for entry in &found.items {
        let (department, role) = who(state, entry, &principal, &mut known, lang).await?;
        let event = &entry.event;
        let shown = match event.detail.as_str() {
            "sensitive fields shown" => format!(" ({})", m.full),
            "masked" => format!(" ({})", m.masked),
            _ => String::new(),
        };
        rows.push(AccessRow {
            time: huimin_domain::time::shanghai_display(entry.at),
            department,
            role,
            what: format!("{}{shown}", action_label(&event.action, lang)),
            purpose: if event.purpose.is_empty() && event.action != "audit.read_own" {
                m.no_purpose.to_owned()
            } else {
                event.purpose.clone()
            },
            outcome: if event.outcome == Outcome::Allowed {
                m.allowed
            } else {
                m.denied
            },
            denied: event.outcome != Outcome::Allowed,
        });
    }
    let pages = found.total.div_ceil(u64::from(PER_PAGE)).max(1);
    let link = |page: u32| format!("/console/my-data?page={page}");
    Ok(MyDataPage {
        m,
        chrome,
        name: principal.account.display_name.clone(),
        rows,
        total: found.total,
        page: request.page,
        pages,
        previous_link: (request.page > 1).then(|| link(request.page - 1)),
        next_link: (u64::from(request.page) < pages).then(|| link(request.page + 1)),
    }
    .into_response())
}

/// The resident's data-access page.
pub(crate) async fn my_data_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<MyDataQuery>,
) -> Result<Response, PageError> {
    render_my_data(&state, &parts, query)
        .await
        .map_err(|error| {
            let chrome = Chrome::new(
                &parts.headers,
                &LangQuery { lang: None },
                "my-data",
                "/console/my-data",
            );
            PageError::new(&chrome, error)
        })
}

struct SealRow {
    subject: String,
    purpose: String,
    reason: String,
    release: String,
    sealed_by: String,
    sealed_at: String,
    in_force: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "seals.html")]
struct SealsPage {
    chrome: Chrome,
    m: &'static MyDataTexts,
    csrf: String,
    rows: Vec<SealRow>,
    problem: Option<String>,
    done: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SealsQuery {
    done: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SealForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    release: String,
    #[serde(default)]
    csrf: String,
}

fn seals_chrome(parts: &Parts, lang: Option<String>) -> Chrome {
    Chrome::new(
        &parts.headers,
        &LangQuery { lang },
        "seals",
        "/console/seals",
    )
}

async fn render_seals(
    state: &AppState,
    chrome: Chrome,
    principal: &Principal,
    problem: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let seals = state.audit.audit_seals(PageRequest::new(1, 200)).await?;
    let rows = seals
        .items
        .into_iter()
        .map(|seal| SealRow {
            subject: mask_citizen_id(&seal.subject),
            in_force: seal.in_force_at(now),
            purpose: seal.purpose,
            reason: seal.reason,
            release: huimin_domain::time::shanghai_display(seal.release_at),
            sealed_by: seal.sealed_by,
            sealed_at: huimin_domain::time::shanghai_display(seal.sealed_at),
        })
        .collect();
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        SealsPage {
            m: texts(chrome.lang),
            chrome,
            csrf: principal.csrf_token.clone(),
            rows,
            problem,
            done,
        },
    )
        .into_response())
}

/// The security administrator's seals.
pub(crate) async fn seals_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<SealsQuery>,
) -> Result<Response, PageError> {
    let chrome = seals_chrome(&parts, query.lang.clone());
    let failed = |error: ApiError| PageError::new(&seals_chrome(&parts, None), error);
    let now = state.clock.now();
    let principal = match require_role(&state, &parts.headers, now, Role::SecurityAdministrator)
        .await
        .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(refusal) => return Ok(refusal.respond(&chrome)),
    };
    render_seals(&state, chrome, &principal, None, query.done.is_some())
        .await
        .map_err(failed)
}

/// The midnight (Asia/Shanghai) that begins `date`, as an instant.
fn shanghai_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .and_local_timezone(huimin_domain::time::SHANGHAI)
        .single()
        .map_or_else(
            || date.and_time(NaiveTime::MIN).and_utc(),
            |local| local.with_timezone(&Utc),
        )
}

/// Checks a seal form: which field is wrong, and why.
fn seal_from(
    form: &SealForm,
    sealed_by: &str,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<Seal, String> {
    let zh = lang == Lang::Zh;
    let subject = CitizenId::parse(form.subject.trim()).map_err(|error| {
        if zh {
            format!("身份证号：{error}")
        } else {
            format!("identity number: {error}")
        }
    })?;
    let purpose = form.purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 100 {
        return Err(if zh {
            "用途：须填写，最多 100 个字符。".to_owned()
        } else {
            "purpose: required, at most 100 characters.".to_owned()
        });
    }
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(if zh {
            "封存理由：须填写，最多 500 个字符。".to_owned()
        } else {
            "reason: required, at most 500 characters.".to_owned()
        });
    }
    let release = NaiveDate::parse_from_str(form.release.trim(), "%Y-%m-%d")
        .map(shanghai_midnight)
        .map_err(|_| {
            if zh {
                format!("解封日期：应为 YYYY-MM-DD，收到“{}”。", form.release.trim())
            } else {
                format!(
                    "release date: expected YYYY-MM-DD, found '{}'.",
                    form.release.trim()
                )
            }
        })?;
    if release <= now || release > now + chrono::Duration::days(3 * 366) {
        return Err(if zh {
            "解封日期：须在今天之后、三年之内。".to_owned()
        } else {
            "release date: must be after today and within three years.".to_owned()
        });
    }
    Ok(Seal {
        id: 0,
        subject: subject.as_str().to_owned(),
        purpose: purpose.to_owned(),
        reason: reason.to_owned(),
        release_at: release,
        sealed_by: sealed_by.to_owned(),
        sealed_at: now,
    })
}

/// Makes a seal. The sealing's audit entry names the subject in its detail, not as its
/// subject, so the resident's page does not announce it.
pub(crate) async fn create_seal(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<SealForm>,
) -> Result<Response, PageError> {
    let chrome = seals_chrome(&parts, None);
    let failed = |error: ApiError| PageError::new(&seals_chrome(&parts, None), error);
    let now = state.clock.now();
    let principal = match require_role_form(
        &state,
        &parts,
        Role::SecurityAdministrator,
        &form.csrf,
        &chrome,
    )
    .await
    .map_err(failed)?
    {
        Ok(principal) => principal,
        Err(refused) => return Ok(refused),
    };
    let seal = match seal_from(&form, &principal.account.login, now, chrome.lang) {
        Ok(seal) => seal,
        Err(problem) => {
            return render_seals(&state, chrome, &principal, Some(problem), false)
                .await
                .map_err(failed);
        }
    };
    let actor = principal.actor(&parts);
    let event = AuditEvent {
        detail: format!(
            "subject {}; purpose {}; release {}; reason {}",
            seal.subject,
            seal.purpose,
            huimin_domain::time::shanghai_display(seal.release_at),
            seal.reason
        ),
        ..actor.event("audit.seal", "seal", "")
    };
    state
        .audit
        .seal_audit(&seal, &event)
        .await
        .map_err(|error| failed(error.into()))?;
    Ok(Redirect::to("/console/seals?done=sealed").into_response())
}
