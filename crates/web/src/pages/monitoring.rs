//! The exchange's monitoring page (数据共享交换监测) for signed-in staff: the dashboard's
//! figures with a chart of exchange calls per day, the resources' record totals and
//! quality, the latest batches, and the enterprise portrait. Anyone else signed in gets
//! 404; nobody signed in is sent to sign in.

use super::{Chrome, LangQuery, PageError};
use crate::api::{DashboardDto, EnterprisePortraitDto};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use huimin_domain::identity::AccountKind;

pub(crate) struct MonitoringTexts {
    pub title: &'static str,
    pub population: &'static str,
    pub departments: &'static str,
    pub resources: &'static str,
    pub records: &'static str,
    pub open_disputes: &'static str,
    pub pending_requests: &'static str,
    pub failed_deliveries: &'static str,
    pub exchange_per_day: &'static str,
    pub allowed: &'static str,
    pub denied: &'static str,
    pub resource_totals: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    pub provider: &'static str,
    pub score: &'static str,
    pub recent_batches: &'static str,
    pub batch: &'static str,
    pub status: &'static str,
    pub started: &'static str,
    pub rows: &'static str,
    pub rejected: &'static str,
    pub unlinked: &'static str,
    pub enterprises: &'static str,
    pub education: &'static str,
    pub no_batches: &'static str,
}

static ZH: MonitoringTexts = MonitoringTexts {
    title: "数据共享交换监测",
    population: "实有人口",
    departments: "接入部门",
    resources: "信息资源",
    records: "归集记录",
    open_disputes: "待处理数据异议",
    pending_requests: "待审核共享申请",
    failed_deliveries: "24 小时推送失败",
    exchange_per_day: "每日共享调用",
    allowed: "已提供",
    denied: "已拒绝",
    resource_totals: "各资源记录数与质量",
    code: "资源代码",
    name: "资源名称",
    provider: "提供方",
    score: "质量评分",
    recent_batches: "最近批次",
    batch: "批次",
    status: "状态",
    started: "开始时间",
    rows: "行数",
    rejected: "拒收",
    unlinked: "未关联",
    enterprises: "市场主体画像（按区县、类型）",
    education: "人口画像：最高学历（教育部门数据）",
    no_batches: "还没有部门推送数据。",
};

static EN: MonitoringTexts = MonitoringTexts {
    title: "Data exchange monitoring",
    population: "Population",
    departments: "Departments",
    resources: "Resources",
    records: "Records held",
    open_disputes: "Open disputes",
    pending_requests: "Pending sharing requests",
    failed_deliveries: "Failed deliveries, 24 h",
    exchange_per_day: "Exchange calls per day",
    allowed: "Answered",
    denied: "Refused",
    resource_totals: "Records and quality per resource",
    code: "Code",
    name: "Resource",
    provider: "Provider",
    score: "Quality",
    recent_batches: "Latest batches",
    batch: "Batch",
    status: "Status",
    started: "Started",
    rows: "Rows",
    rejected: "Rejected",
    unlinked: "Unlinked",
    enterprises: "Enterprises by district and kind",
    education: "Population by highest education (教育's records)",
    no_batches: "No department has sent data yet.",
};

#[derive(Template, WebTemplate)]
#[template(path = "monitoring.html")]
struct MonitoringPage {
    chrome: Chrome,
    m: &'static MonitoringTexts,
    dashboard: DashboardDto,
    dashboard_json: String,
    enterprises_json: String,
    education_json: String,
}

impl MonitoringPage {
    fn score(value: &Option<f64>) -> String {
        value.map_or_else(|| "—".to_owned(), |score| format!("{score:.1}"))
    }
}

/// JSON to embed in `<script type="application/json">`: no `<` can close the element.
fn embedded<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map(|json| json.replace('<', "\\u003c"))
        .map_err(|error| {
            ApiError::Unavailable(format!("the figures could not be encoded: {error}"))
        })
}

pub(crate) async fn monitoring_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<LangQuery>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(&parts.headers, &query, "monitoring", "/console/monitoring");
    let principal = session::principal(&state, &parts.headers, state.clock.now())
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    match principal {
        None => return Ok(super::sign_in::Refusal::SignIn.respond(&chrome)),
        Some(principal) if principal.account.kind != AccountKind::Staff => {
            return Ok(super::sign_in::Refusal::NotFound.respond(&chrome));
        }
        Some(_) => {}
    }
    let dashboard = crate::api::load_dashboard(&state)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let enterprises: EnterprisePortraitDto = crate::api::load_enterprises(&state)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let dashboard_json = embedded(&dashboard).map_err(|error| PageError::new(&chrome, error))?;
    let enterprises_json =
        embedded(&enterprises).map_err(|error| PageError::new(&chrome, error))?;
    let education = crate::api::load_education(&state)
        .await
        .map_err(|error| PageError::new(&chrome, error))?;
    let education_json = embedded(&education).map_err(|error| PageError::new(&chrome, error))?;
    let m = match chrome.lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    };
    Ok(MonitoringPage {
        chrome,
        m,
        dashboard,
        dashboard_json,
        enterprises_json,
        education_json,
    }
    .into_response())
}
