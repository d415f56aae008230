//! The case pages (issue 5) for staff who work with cases, through the same functions as
//! the API, so a page shows and changes exactly what the API does:
//!
//! - `/console/cases`: the dispatcher's list in the caller's view, with the stages that are
//!   yellow or red on top;
//! - `/console/cases/{id}`: a case with its clock, its timeline, possible duplicates, and a
//!   form for each step the caller may take now (a stale version is refused, not lost);
//! - `/console/cases/new`: the report form — the grid worker's on a phone, with the
//!   location from GPS and a queue kept in the browser while offline, and the hotline
//!   agent's ticket form with the caller's past tickets;
//! - `/console/cases/indicators`: the indicator table with a chart and its CSV.

use super::{Chrome, LangQuery, PageError, problem_text};
use crate::api::{
    ActionBody, CaseDto, CaseListParams, IndicatorParams, IndicatorTableDto, PageParams,
    WarnedCaseDto, WarningParams,
};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::{self, Principal, same_token};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use huimin_domain::case::access::CaseAccess;
use huimin_domain::case::category::Categories;
use huimin_domain::case::flow::{Action, Level};
use huimin_domain::case::intake::CaseDraft;
use huimin_domain::case::limits::Limit;
use huimin_domain::identity::{AccountKind, Role};
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) struct CaseTexts {
    pub title: &'static str,
    pub new_case: &'static str,
    pub warnings: &'static str,
    pub none_warned: &'static str,
    pub none: &'static str,
    pub id: &'static str,
    pub category: &'static str,
    pub status: &'static str,
    pub grid: &'static str,
    pub lead: &'static str,
    pub reported: &'static str,
    pub clock: &'static str,
    pub open_only: &'static str,
    pub area: &'static str,
    pub filter: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub description: &'static str,
    pub reporter: &'static str,
    pub timeline: &'static str,
    pub duplicates: &'static str,
    pub merge_into: &'static str,
    pub actions: &'static str,
    pub no_actions: &'static str,
    pub done: &'static str,
    pub location: &'static str,
    pub locate: &'static str,
    pub longitude: &'static str,
    pub latitude: &'static str,
    pub channel: &'static str,
    pub priority: &'static str,
    pub phone: &'static str,
    pub name: &'static str,
    pub callback: &'static str,
    pub submit: &'static str,
    pub queued: &'static str,
    pub synced: &'static str,
    pub caller_history: &'static str,
    pub look_up: &'static str,
    pub knowledge: &'static str,
    pub no_answers: &'static str,
    pub indicators: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub by: &'static str,
    pub reports: &'static str,
    pub score: &'static str,
    pub csv: &'static str,
    pub total: &'static str,
    pub minutes: &'static str,
    pub due: &'static str,
    pub patrol: &'static str,
    pub none_due: &'static str,
    pub check_in: &'static str,
    pub note: &'static str,
    pub finding: &'static str,
    pub visited: &'static str,
    pub tenants: &'static str,
    pub map: &'static str,
    pub photos: &'static str,
    pub add_photo: &'static str,
    pub sms_inbox: &'static str,
    pub from_sms: &'static str,
    pub none_waiting: &'static str,
    pub take_as_ticket: &'static str,
    pub dismiss: &'static str,
    pub reason: &'static str,
    pub received: &'static str,
    pub text: &'static str,
}

static ZH: CaseTexts = CaseTexts {
    title: "案件",
    new_case: "上报 / 受理",
    warnings: "预警与超时",
    none_warned: "没有预警或超时的案件。",
    none: "没有符合条件的案件。",
    id: "编号",
    category: "类别",
    status: "状态",
    grid: "网格",
    lead: "主办部门",
    reported: "上报时间",
    clock: "时限",
    open_only: "只看未办结",
    area: "区域代码",
    filter: "筛选",
    previous: "上一页",
    next: "下一页",
    description: "描述",
    reporter: "报告人",
    timeline: "办理过程",
    duplicates: "疑似重复（可并单）",
    merge_into: "并入此案",
    actions: "办理",
    no_actions: "您现在不能办理此案件。",
    done: "已办理。",
    location: "位置",
    locate: "使用当前位置",
    longitude: "经度",
    latitude: "纬度",
    channel: "渠道",
    priority: "紧急程度",
    phone: "来电号码",
    name: "姓名",
    callback: "回访方式",
    submit: "提交",
    queued: "当前离线，已保存在本机，联网后自动上报：",
    synced: "离线保存的上报已提交：",
    caller_history: "来电人历史工单",
    look_up: "查询",
    knowledge: "知识库",
    no_answers: "知识库中没有找到有效的答复。",
    indicators: "考核指标",
    from: "开始日期",
    to: "结束日期",
    by: "统计单位",
    reports: "上报数",
    score: "综合得分",
    csv: "导出 CSV",
    total: "合计",
    minutes: "分钟",
    due: "到期",
    patrol: "今日巡查走访",
    none_due: "今天没有到期的走访任务。",
    check_in: "签到",
    note: "走访记录",
    finding: "发现问题（填写即上报案件）",
    visited: "已签到。",
    tenants: "承租人登记",
    map: "指挥中心案件地图",
    photos: "现场照片",
    add_photo: "拍照 / 添加照片",
    sms_inbox: "短信收件箱",
    from_sms: "来自短信",
    none_waiting: "没有待处理的短信。",
    take_as_ticket: "转为工单",
    dismiss: "作废",
    reason: "理由",
    received: "接收时间",
    text: "内容",
};

static EN: CaseTexts = CaseTexts {
    title: "Cases",
    new_case: "Report / ticket",
    warnings: "Warnings and breaches",
    none_warned: "No case is yellow or red.",
    none: "No case matches.",
    id: "No.",
    category: "Category",
    status: "Status",
    grid: "Grid",
    lead: "Lead department",
    reported: "Reported",
    clock: "Time limit",
    open_only: "Open only",
    area: "Area code",
    filter: "Filter",
    previous: "Previous",
    next: "Next",
    description: "Description",
    reporter: "Reporter",
    timeline: "Timeline",
    duplicates: "Possible duplicates (merge)",
    merge_into: "Merge into this case",
    actions: "Act",
    no_actions: "You cannot act on this case now.",
    done: "Done.",
    location: "Location",
    locate: "Use my location",
    longitude: "Longitude",
    latitude: "Latitude",
    channel: "Channel",
    priority: "Priority",
    phone: "Caller's phone",
    name: "Name",
    callback: "Callback",
    submit: "Submit",
    queued: "Offline: kept on this device and sent when back online:",
    synced: "Reports kept offline were sent:",
    caller_history: "The caller's past tickets",
    look_up: "Look up",
    knowledge: "Knowledge base",
    no_answers: "No valid answer found in the knowledge base.",
    indicators: "Indicators",
    from: "From",
    to: "To",
    by: "By",
    reports: "Reports",
    score: "Score",
    csv: "Export CSV",
    total: "Total",
    minutes: "min",
    due: "due",
    patrol: "Today's round",
    none_due: "No visit is due today.",
    check_in: "Check in",
    note: "Notes",
    finding: "A finding (reported as a case)",
    visited: "Checked in.",
    tenants: "Tenants",
    map: "Command centre map",
    photos: "Photos",
    add_photo: "Take or add a photo",
    sms_inbox: "SMS inbox",
    from_sms: "From SMS",
    none_waiting: "No message is waiting.",
    take_as_ticket: "Take as a ticket",
    dismiss: "Dismiss",
    reason: "Reason",
    received: "Received",
    text: "Text",
};

pub(super) fn texts(lang: Lang) -> &'static CaseTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// The signed-in staff member who works with cases, or the way out.
async fn case_staff(
    state: &AppState,
    parts: &Parts,
    chrome: &Chrome,
) -> Result<Result<Principal, Response>, PageError> {
    let principal = session::principal(state, &parts.headers, state.clock.now())
        .await
        .map_err(|error| PageError::new(chrome, error))?;
    Ok(match principal {
        None => Err(Redirect::to("/console/sign-in").into_response()),
        Some(principal)
            if principal.account.kind == AccountKind::Staff
                && CaseAccess::of(&principal.roles, state.clock.now()).works_with_cases() =>
        {
            Ok(principal)
        }
        Some(_) => Err(PageError::new(chrome, ApiError::not_found("the page")).into_response()),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    lang: Option<String>,
    status: Option<String>,
    open: Option<String>,
    area: Option<String>,
    page: Option<u32>,
}

#[derive(Template, WebTemplate)]
#[template(path = "cases.html")]
struct CasesPage {
    chrome: Chrome,
    c: &'static CaseTexts,
    warned: Vec<WarnedCaseDto>,
    items: Vec<CaseDto>,
    total: u64,
    page: u32,
    pages: u64,
    area: String,
    status: String,
    open: bool,
    previous_link: Option<String>,
    next_link: Option<String>,
}

pub(crate) async fn cases_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), "/console/cases");
    if let Err(away) = case_staff(&state, &parts, &chrome).await? {
        return Ok(away);
    }
    let open = query.open.as_deref() != Some("0");
    let params = CaseListParams {
        status: query.status.clone(),
        open: Some(open),
        area: query.area.clone(),
        lead: None,
        category: None,
        phone: None,
    };
    let page = query.page.unwrap_or(1).max(1);
    let found = crate::api::find_cases(
        &state,
        &parts,
        &params,
        &PageParams {
            page: Some(page),
            per_page: Some(50),
        },
    )
    .await
    .map_err(|error| PageError::new(&chrome, error))?;
    let warned = crate::api::warned_cases(
        &state,
        &parts,
        &WarningParams {
            area: query.area.clone(),
            lead: None,
            warning: None,
        },
    )
    .await
    .map_err(|error| PageError::new(&chrome, error))?;
    let pages = found.total.div_ceil(50).max(1);
    let link = |page: u32| {
        format!(
            "/console/cases?page={page}&open={}&area={}&status={}",
            u8::from(open),
            query.area.as_deref().unwrap_or(""),
            query.status.as_deref().unwrap_or("")
        )
    };
    Ok(CasesPage {
        c: texts(chrome.lang),
        chrome,
        warned: warned.into_iter().take(20).collect(),
        total: found.total,
        items: found.items,
        previous_link: (page > 1).then(|| link(page - 1)),
        next_link: (u64::from(page) < pages).then(|| link(page + 1)),
        page,
        pages,
        area: query.area.unwrap_or_default(),
        status: query.status.unwrap_or_default(),
        open,
    }
    .into_response())
}

/// A step the caller may take now, and which fields its form asks for.
struct ActionForm {
    code: &'static str,
    name: &'static str,
    fields: &'static [&'static str],
}

/// Every step, with a sample of its fields to ask the loop and the caller's roles whether
/// it is allowed now; the form then asks for the real fields.
fn candidate_actions(merge_into: u64) -> Vec<(Action, &'static [&'static str])> {
    let text = || "·".to_owned();
    vec![
        (Action::Register, &[]),
        (Action::Void { reason: text() }, &["reason"]),
        (
            Action::Dispatch {
                lead: "x".into(),
                assisting: Vec::new(),
                level: Level::Street,
                reason: Some(text()),
            },
            &["lead", "assisting", "level", "reason"],
        ),
        (Action::Accept, &[]),
        (Action::Return { reason: text() }, &["reason"]),
        (Action::Feedback { note: text() }, &["note"]),
        (Action::SelfHandle { note: text() }, &["note"]),
        (
            Action::Verify {
                passed: true,
                note: text(),
            },
            &["passed", "note"],
        ),
        (Action::AnswerDirectly { note: text() }, &["note"]),
        (Action::Conclude, &[]),
        (Action::Reopen { reason: text() }, &["reason"]),
        (
            Action::CallBack {
                reached: false,
                satisfaction: None,
            },
            &["reached", "satisfaction"],
        ),
        (Action::Rate { satisfaction: 5 }, &["satisfaction"]),
        (
            Action::RequestExtension {
                limit: Limit::parse("1d").unwrap_or(Limit {
                    amount: 1,
                    unit: huimin_domain::case::limits::LimitUnit::Days,
                }),
                reason: text(),
            },
            &["limit", "reason"],
        ),
        (
            Action::DecideExtension {
                approved: true,
                note: text(),
            },
            &["approved", "note"],
        ),
        (Action::Park { reason: text() }, &["reason"]),
        (Action::Unpark, &[]),
        (Action::Supervise { note: text() }, &["note"]),
        (Action::Merge { into: merge_into }, &["into"]),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    c: &'static CaseTexts,
    case: CaseDto,
    csrf: String,
    actions: Vec<ActionForm>,
    problem: Option<String>,
    done: bool,
}

impl CasePage {
    /// A step's field as its form labels it.
    fn label(&self, field: &str) -> &'static str {
        let zh = self.chrome.lang == Lang::Zh;
        match (field, zh) {
            ("reason", true) => "原因",
            ("reason", false) => "reason",
            ("note", true) => "说明",
            ("note", false) => "note",
            ("lead", true) => "主办部门",
            ("lead", false) => "lead department",
            ("assisting", true) => "协办部门（逗号分隔）",
            ("assisting", false) => "assisting (commas)",
            (_, _) => "",
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CaseQuery {
    lang: Option<String>,
    done: Option<String>,
}

pub(crate) async fn case_page(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    Query(query): Query<CaseQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), &format!("/console/cases/{id}"));
    let principal = match case_staff(&state, &parts, &chrome).await? {
        Ok(principal) => principal,
        Err(away) => return Ok(away),
    };
    render_case(
        &state,
        &parts,
        chrome,
        &principal,
        id,
        None,
        query.done.is_some(),
    )
    .await
}

/// The chrome of a page under the case menu, at `path`, in `lang` or the visitor's
/// language.
pub(super) fn cases_chrome(parts: &Parts, lang: Option<String>, path: &str) -> Chrome {
    Chrome::new(&parts.headers, &LangQuery { lang }, "cases", path)
}

async fn render_case(
    state: &AppState,
    parts: &Parts,
    chrome: Chrome,
    principal: &Principal,
    id: u64,
    problem: Option<String>,
    done: bool,
) -> Result<Response, PageError> {
    let (stored, case) = crate::api::read_case_as_kept(state, parts, id)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let access = CaseAccess::of(&principal.roles, state.clock.now());
    let login = principal.account.login.as_str();
    let merge_into = case
        .duplicates
        .first()
        .map_or(0, |duplicate| duplicate.case_id);
    let actions = candidate_actions(merge_into)
        .into_iter()
        .filter(|(action, _)| {
            access.may(action, &stored) && stored.flow.apply(action, login).is_ok()
        })
        .map(|(action, fields)| ActionForm {
            code: action.code(),
            name: action.name_zh(),
            fields,
        })
        .collect();
    let status = if problem.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        CasePage {
            c: texts(chrome.lang),
            chrome,
            case,
            csrf: principal.csrf_token.clone(),
            actions,
            problem,
            done,
        },
    )
        .into_response())
}

/// A step's form as the action's JSON: texts as they are, yes/no and numbers typed, a
/// list of assisting departments split at commas.
fn action_of(form: &HashMap<String, String>) -> Result<(u64, Action), String> {
    let version = form
        .get("version")
        .and_then(|version| version.parse::<u64>().ok())
        .ok_or("the form lost the case's version; reload the page")?;
    let mut object = serde_json::Map::new();
    for (key, value) in form {
        let value = value.trim();
        let json = match key.as_str() {
            "csrf" | "version" => continue,
            "passed" | "approved" | "reached" => serde_json::Value::Bool(value == "true"),
            "satisfaction" if value.is_empty() => continue,
            "satisfaction" | "into" => serde_json::Value::from(
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{key} is a number, not '{value}'"))?,
            ),
            "assisting" => serde_json::Value::from(
                value
                    .split([',', '，', ' '])
                    .filter(|id| !id.is_empty())
                    .collect::<Vec<_>>(),
            ),
            "limit" => serde_json::to_value(Limit::parse(value)?).map_err(|e| e.to_string())?,
            "reason"
                if value.is_empty()
                    && form.get("action").map(String::as_str) == Some("dispatch") =>
            {
                continue;
            }
            _ => serde_json::Value::from(value),
        };
        object.insert(key.clone(), json);
    }
    let action: Action = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|error| error.to_string())?;
    Ok((version, action))
}

pub(crate) async fn act_form(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, None, &format!("/console/cases/{id}"));
    let principal = match case_staff(&state, &parts, &chrome).await? {
        Ok(principal) => principal,
        Err(away) => return Ok(away),
    };
    if !same_token(
        &principal.csrf_token,
        form.get("csrf").map_or("", String::as_str),
    ) {
        return Ok(super::sign_in::refused_form(&parts.headers));
    }
    let outcome = match action_of(&form) {
        Ok((version, action)) => {
            crate::api::take_action(&state, &parts, id, ActionBody { version, action })
                .await
                .map(|_| ())
                .map_err(|error| match error {
                    ApiError::Storage(_) => Err(error),
                    problem => Ok(problem_text(chrome.lang, &problem)),
                })
        }
        Err(problem) => Err(Ok(problem)),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/console/cases/{id}?done=1")).into_response()),
        Err(Err(error)) => Err(PageError::new(&chrome, error)),
        Err(Ok(problem)) => {
            render_case(&state, &parts, chrome, &principal, id, Some(problem), false).await
        }
    }
}

/// A category choice: a subcategory's code and its path name.
struct CategoryOption {
    code: String,
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "case_new.html")]
struct NewCasePage {
    chrome: Chrome,
    c: &'static CaseTexts,
    csrf: String,
    /// A grid worker reports patrols; everyone else takes tickets.
    patrol: bool,
    categories: Vec<CategoryOption>,
    problem: Option<String>,
    draft: CaseDraft,
    history: Vec<CaseDto>,
    phone: String,
    /// The knowledge base's answers to `kq`.
    answers: Vec<crate::api::ArticleDto>,
    kq: String,
    /// The inbox message the ticket is taken from (0: none).
    sms: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewQuery {
    lang: Option<String>,
    /// A caller's phone number to look up.
    phone: Option<String>,
    /// What the caller asks, looked up in the knowledge base.
    kq: Option<String>,
    /// An inbox message to take as the ticket.
    sms: Option<u64>,
}

/// What the agent looks up beside the ticket form: the caller's number, and the words
/// of their question.
#[derive(Debug, Default)]
struct Lookups {
    phone: String,
    kq: String,
    /// The inbox message the ticket is taken from (0: none).
    sms: u64,
}

fn is_patrol(principal: &Principal) -> bool {
    principal
        .roles
        .iter()
        .any(|held| held.role == Role::GridWorker)
}

pub(crate) async fn new_case_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<NewQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), "/console/cases/new");
    let principal = match case_staff(&state, &parts, &chrome).await? {
        Ok(principal) => principal,
        Err(away) => return Ok(away),
    };
    let mut lookups = Lookups {
        phone: query.phone.unwrap_or_default(),
        kq: query.kq.unwrap_or_default(),
        sms: 0,
    };
    let mut draft = CaseDraft::default();
    if let Some(id) = query.sms {
        let message = crate::api::inbox_sms(&state, &parts, id)
            .await
            .map_err(|error| PageError::new(&chrome, error))?;
        lookups.phone = message.phone.as_str().to_owned();
        lookups.sms = message.id;
        draft.description = message.text;
    }
    render_new(&state, &parts, chrome, &principal, None, draft, lookups).await
}

async fn render_new(
    state: &AppState,
    parts: &Parts,
    chrome: Chrome,
    principal: &Principal,
    problem: Option<String>,
    draft: CaseDraft,
    lookups: Lookups,
) -> Result<Response, PageError> {
    let categories = Categories::shipped()
        .map_err(|error| PageError::new(&chrome, ApiError::Unavailable(error)))?;
    let Lookups { phone, kq, sms } = lookups;
    let history = if phone.trim().is_empty() {
        Vec::new()
    } else {
        crate::api::caller_history(state, parts, phone.trim())
            .await
            .map_err(|error| PageError::new(&chrome, error))?
    };
    let answers = if kq.trim().is_empty() {
        Vec::new()
    } else {
        crate::api::search_knowledge(
            state,
            parts,
            &crate::api::KnowledgeParams {
                q: Some(kq.clone()),
                all: None,
            },
        )
        .await
        .map_err(|error| PageError::new(&chrome, error))?
    };
    let status = if problem.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        NewCasePage {
            c: texts(chrome.lang),
            chrome,
            csrf: principal.csrf_token.clone(),
            patrol: is_patrol(principal),
            categories: categories
                .all()
                .iter()
                .filter(|category| category.parent.is_some())
                .map(|category| CategoryOption {
                    code: category.code.clone(),
                    name: categories.path_name(&category.code).unwrap_or_default(),
                })
                .collect(),
            problem,
            draft,
            history,
            phone,
            answers,
            kq,
            sms,
        },
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewCaseForm {
    csrf: String,
    channel: String,
    category: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    latitude: String,
    description: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    reporter_name: String,
    #[serde(default)]
    reporter_phone: String,
    #[serde(default)]
    callback: String,
    /// The inbox message the ticket is taken from, if any.
    #[serde(default)]
    sms: String,
}

pub(crate) async fn new_case_form(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<NewCaseForm>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, None, "/console/cases/new");
    let principal = match case_staff(&state, &parts, &chrome).await? {
        Ok(principal) => principal,
        Err(away) => return Ok(away),
    };
    if !same_token(&principal.csrf_token, &form.csrf) {
        return Ok(super::sign_in::refused_form(&parts.headers));
    }
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let draft = CaseDraft {
        channel: form.channel.trim().to_owned(),
        category: form.category.trim().to_owned(),
        longitude: form.longitude.trim().parse().ok(),
        latitude: form.latitude.trim().parse().ok(),
        description: form.description.clone(),
        priority: optional(&form.priority),
        reporter_name: optional(&form.reporter_name),
        reporter_phone: optional(&form.reporter_phone),
        callback: optional(&form.callback),
        ..CaseDraft::default()
    };
    let sms = form.sms.trim().parse::<u64>().ok().filter(|id| *id > 0);
    let opened = match sms {
        None => crate::api::open_case(&state, &parts, draft.clone()).await,
        Some(id) => match crate::api::inbox_sms(&state, &parts, id).await {
            Ok(message) => {
                crate::api::open_case_from_sms(&state, &parts, draft.clone(), &message).await
            }
            Err(error) => Err(error),
        },
    };
    match opened {
        Ok(case) => Ok(Redirect::to(&format!("/console/cases/{}?done=1", case.id)).into_response()),
        Err(ApiError::Storage(error)) => Err(PageError::new(&chrome, ApiError::Storage(error))),
        Err(problem) => {
            let text = problem_text(chrome.lang, &problem);
            let phone = form.reporter_phone.clone();
            let lookups = Lookups {
                phone,
                kq: String::new(),
                sms: sms.unwrap_or(0),
            };
            render_new(
                &state,
                &parts,
                chrome,
                &principal,
                Some(text),
                draft,
                lookups,
            )
            .await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "case_indicators.html")]
struct IndicatorsPage {
    chrome: Chrome,
    c: &'static CaseTexts,
    table: IndicatorTableDto,
    table_json: String,
    csv_link: String,
    units: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IndicatorsQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    area: Option<String>,
    by: Option<String>,
}

pub(crate) async fn indicators_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<IndicatorsQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), "/console/cases/indicators");
    if let Err(away) = case_staff(&state, &parts, &chrome).await? {
        return Ok(away);
    }
    let params = IndicatorParams {
        from: query.from.clone(),
        to: query.to.clone(),
        area: query.area.clone(),
        department: None,
        by: query.by.clone(),
        weights: None,
        format: None,
    };
    let (table, _) = crate::api::indicator_table(&state, &parts, &params)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let csv_link = format!(
        "/api/v1/cases/indicators?format=csv&from={}&to={}&area={}&by={}",
        table.from,
        table.to,
        table.area.as_deref().unwrap_or(""),
        table.by
    );
    Ok(IndicatorsPage {
        c: texts(chrome.lang),
        chrome,
        table_json: serde_json::to_string(&table)
            .unwrap_or_default()
            .replace("</", "<\\/"),
        table,
        csv_link,
        units: vec![
            ("district", "区县"),
            ("street", "街道"),
            ("community", "社区"),
            ("grid", "网格"),
            ("department", "部门"),
            ("worker", "人员"),
        ],
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "patrol.html")]
struct PatrolPage {
    chrome: Chrome,
    c: &'static CaseTexts,
    csrf: String,
    grid: String,
    tasks: Vec<crate::api::PatrolTaskDto>,
    problem: Option<String>,
    done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PatrolQuery {
    lang: Option<String>,
    grid: Option<String>,
    done: Option<String>,
}

/// The grid worker's round today (a phone page): each task with a check-in form that
/// takes the location from the phone, a note, and a finding to report as a case.
pub(crate) async fn patrol_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<PatrolQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), "/console/patrol");
    let principal = match case_staff(&state, &parts, &chrome).await? {
        Ok(principal) => principal,
        Err(away) => return Ok(away),
    };
    render_patrol(
        &state, &parts, chrome, &principal, query.grid, None, query.done,
    )
    .await
}

async fn render_patrol(
    state: &AppState,
    parts: &Parts,
    chrome: Chrome,
    principal: &Principal,
    grid: Option<String>,
    problem: Option<String>,
    done: Option<String>,
) -> Result<Response, PageError> {
    let tasks = crate::api::tasks_of(state, parts, grid.clone())
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let status = if problem.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        PatrolPage {
            c: texts(chrome.lang),
            chrome,
            csrf: principal.csrf_token.clone(),
            grid: grid.unwrap_or_default(),
            tasks,
            problem,
            done,
        },
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct VisitForm {
    csrf: String,
    reference: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    finding_category: String,
    #[serde(default)]
    finding: String,
}

pub(crate) async fn visit_form(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<VisitForm>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, None, "/console/patrol");
    let principal = match case_staff(&state, &parts, &chrome).await? {
        Ok(principal) => principal,
        Err(away) => return Ok(away),
    };
    if !same_token(&principal.csrf_token, &form.csrf) {
        return Ok(super::sign_in::refused_form(&parts.headers));
    }
    let grid = Some(form.grid.trim().to_owned()).filter(|grid| !grid.is_empty());
    let (Ok(longitude), Ok(latitude)) = (
        form.longitude.trim().parse::<f64>(),
        form.latitude.trim().parse::<f64>(),
    ) else {
        let problem = if chrome.lang == Lang::Zh {
            "请先定位（使用当前位置）"
        } else {
            "locate first (use my location)"
        };
        return render_patrol(
            &state,
            &parts,
            chrome,
            &principal,
            grid,
            Some(problem.to_owned()),
            None,
        )
        .await;
    };
    let finding = (!form.finding.trim().is_empty()).then(|| crate::api::FindingBody {
        category: form.finding_category.trim().to_owned(),
        description: form.finding.trim().to_owned(),
        priority: None,
    });
    let body = crate::api::VisitBody {
        reference: form.reference.clone(),
        longitude,
        latitude,
        note: form.note.clone(),
        finding,
        grid: grid.clone(),
    };
    match crate::api::record_visit(&state, &parts, body).await {
        Ok(visit) => {
            let done = visit
                .case
                .map_or_else(|| "visit".to_owned(), |case| format!("case-{}", case.id));
            let grid = grid.map(|grid| format!("&grid={grid}")).unwrap_or_default();
            Ok(Redirect::to(&format!("/console/patrol?done={done}{grid}")).into_response())
        }
        Err(ApiError::Storage(error)) => Err(PageError::new(&chrome, ApiError::Storage(error))),
        Err(problem) => {
            let text = problem_text(chrome.lang, &problem);
            render_patrol(&state, &parts, chrome, &principal, grid, Some(text), None).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "case_map.html")]
struct CaseMapPage {
    chrome: Chrome,
    c: &'static CaseTexts,
    area: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MapQuery {
    lang: Option<String>,
    area: Option<String>,
}

/// The command centre's map of open cases, redrawn every ten seconds.
pub(crate) async fn case_map_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<MapQuery>,
) -> Result<Response, PageError> {
    let chrome = cases_chrome(&parts, query.lang.clone(), "/console/cases/map");
    if let Err(away) = case_staff(&state, &parts, &chrome).await? {
        return Ok(away);
    }
    Ok(CaseMapPage {
        c: texts(chrome.lang),
        chrome,
        area: query.area.unwrap_or_default(),
    }
    .into_response())
}

/// A photo sent from the case page: the image as the body, the form's CSRF token in
/// `X-CSRF-Token` (the page's script sends it); 201 with the photo, or the API's error.
pub(crate) async fn photo_upload(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let principal = session::principal(&state, &parts.headers, state.clock.now())
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let sent = parts
        .headers
        .get("x-csrf-token")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !same_token(&principal.csrf_token, sent) {
        return Err(ApiError::Forbidden(
            "the page's form token is missing or stale: reload the page".to_owned(),
        ));
    }
    let photo = crate::api::add_case_photo(&state, &parts, id, &body).await?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(photo)).into_response())
}
