//! The catalogue's pages: search the information resources, and read one with its items
//! and versions. For signed-in staff; to anyone else signed in they do not exist (404).

use super::sign_in::Refusal;
use super::{Chrome, LangQuery, PageError, url_encode};
use crate::api::{ResourceSearchParams, resource_code};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::session::{self, Principal};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use huimin_domain::catalogue::{
    Classification, Department, IdentifierType, PublishedResource, SharingType,
};
use huimin_domain::identity::AccountKind;
use huimin_domain::storage::PageRequest;
use serde::Deserialize;

const PER_PAGE: u32 = 20;

#[derive(Debug)]
pub(crate) struct CatalogueTexts {
    title: &'static str,
    hint: &'static str,
    provider: &'static str,
    sharing: &'static str,
    any: &'static str,
    code: &'static str,
    name: &'static str,
    version: &'static str,
    published: &'static str,
    empty: &'static str,
    summary: &'static str,
    system: &'static str,
    format: &'static str,
    subject: &'static str,
    record_key: &'static str,
    legal_basis: &'static str,
    open: &'static str,
    update_frequency: &'static str,
    keywords: &'static str,
    items: &'static str,
    item_name: &'static str,
    item_title: &'static str,
    data_type: &'static str,
    length: &'static str,
    required: &'static str,
    identifier: &'static str,
    classification: &'static str,
    personal: &'static str,
    feeds: &'static str,
    authoritative: &'static str,
    versions: &'static str,
    current: &'static str,
    yes: &'static str,
    dcat: &'static str,
}

static ZH: CatalogueTexts = CatalogueTexts {
    title: "信息资源目录",
    hint: "资源名称、信息项、关键词或部门",
    provider: "提供方",
    sharing: "共享类型",
    any: "全部",
    code: "资源代码",
    name: "资源名称",
    version: "版本",
    published: "发布时间",
    empty: "没有符合条件的信息资源。",
    summary: "摘要",
    system: "来源系统",
    format: "资源格式",
    subject: "记录主体",
    record_key: "记录键",
    legal_basis: "共享依据",
    open: "开放类型",
    update_frequency: "更新周期",
    keywords: "关键词",
    items: "信息项",
    item_name: "字段名",
    item_title: "中文名称",
    data_type: "数据类型",
    length: "长度",
    required: "必填",
    identifier: "标识类型",
    classification: "分级",
    personal: "个人信息",
    feeds: "对应基础库字段",
    authoritative: "（权威来源）",
    versions: "版本记录",
    current: "当前版本",
    yes: "是",
    dcat: "导出 DCAT-AP（JSON-LD）",
};

static EN: CatalogueTexts = CatalogueTexts {
    title: "Resource catalogue",
    hint: "resource name, item, keyword or department",
    provider: "Provider",
    sharing: "Sharing",
    any: "Any",
    code: "Code",
    name: "Name",
    version: "Version",
    published: "Published",
    empty: "No information resource matches.",
    summary: "Summary",
    system: "Source system",
    format: "Format",
    subject: "Records are about",
    record_key: "Record key",
    legal_basis: "Legal basis",
    open: "Open to the public",
    update_frequency: "Updated",
    keywords: "Keywords",
    items: "Information items",
    item_name: "Column",
    item_title: "Title",
    data_type: "Data type",
    length: "Length",
    required: "Required",
    identifier: "Identifier",
    classification: "Classification",
    personal: "Personal",
    feeds: "Feeds registry field",
    authoritative: " (authoritative)",
    versions: "Versions",
    current: "current",
    yes: "yes",
    dcat: "Export DCAT-AP (JSON-LD)",
};

fn texts(lang: Lang) -> &'static CatalogueTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// A closed choice as the page's language names it.
fn label(lang: Lang, code: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => code,
    }
}

/// The signed-in staff member, or the answer for anyone else.
async fn staff(state: &AppState, parts: &Parts) -> Result<Result<Principal, Refusal>, ApiError> {
    Ok(
        match session::principal(state, &parts.headers, state.clock.now()).await? {
            None => Err(Refusal::SignIn),
            Some(principal) if principal.account.kind == AccountKind::Staff => Ok(principal),
            Some(_) => Err(Refusal::NotFound),
        },
    )
}

struct ResultRow {
    code: String,
    link: String,
    name: String,
    provider: String,
    sharing: &'static str,
    version: u32,
    published: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalogue.html")]
struct CataloguePage {
    chrome: Chrome,
    c: &'static CatalogueTexts,
    q: String,
    providers: Vec<Choice>,
    sharings: Vec<Choice>,
    rows: Vec<ResultRow>,
    total: u64,
    page: u32,
    pages: u64,
    previous_link: Option<String>,
    next_link: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CatalogueSearch {
    #[serde(default)]
    q: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    sharing: String,
    page: Option<u32>,
    lang: Option<String>,
}

pub(crate) async fn catalogue_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(search): Query<CatalogueSearch>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(
        &parts.headers,
        &LangQuery {
            lang: search.lang.clone(),
        },
        "catalogue",
        "/console/catalogue",
    );
    match render_search(&state, &parts, &search, chrome).await {
        Ok(response) => Ok(response),
        Err((chrome, error)) => Err(PageError::new(&chrome, error)),
    }
}

async fn render_search(
    state: &AppState,
    parts: &Parts,
    search: &CatalogueSearch,
    chrome: Chrome,
) -> Result<Response, (Chrome, ApiError)> {
    macro_rules! attempt {
        ($result:expr) => {
            match $result {
                Ok(value) => value,
                Err(error) => return Err((chrome, error.into())),
            }
        };
    }
    if let Err(refusal) = attempt!(staff(state, parts).await) {
        return Ok(refusal.respond(&chrome));
    }
    let lang = chrome.lang;
    let params = ResourceSearchParams {
        q: Some(search.q.clone()),
        provider: Some(search.provider.clone()),
        sharing: Some(search.sharing.clone()),
        subject: None,
    };
    let query = attempt!(params.query());
    let request = PageRequest::new(search.page.unwrap_or(1), PER_PAGE);
    let found = attempt!(state.catalogue.resources(&query, request).await);
    let departments = attempt!(state.catalogue.departments().await);
    let providers = departments
        .iter()
        .map(|department| Choice {
            value: department.id.to_string(),
            label: department.name.clone(),
            selected: search.provider.trim() == department.id.as_str(),
        })
        .collect();
    let sharings = SharingType::ALL
        .iter()
        .map(|sharing| Choice {
            value: sharing.code().to_owned(),
            label: label(lang, sharing.code(), sharing.label_zh()).to_owned(),
            selected: search.sharing.trim() == sharing.code(),
        })
        .collect();
    let pages = found.total.div_ceil(u64::from(PER_PAGE)).max(1);
    let link = |page: u32| {
        format!(
            "/console/catalogue?q={}&provider={}&sharing={}&page={page}",
            url_encode(&search.q),
            url_encode(&search.provider),
            url_encode(&search.sharing)
        )
    };
    let rows = found
        .items
        .into_iter()
        .map(|item| ResultRow {
            link: format!("/console/catalogue/{}", item.code),
            code: item.code.to_string(),
            name: item.name,
            provider: item.provider_name,
            sharing: label(lang, item.sharing.code(), item.sharing.label_zh()),
            version: item.version,
            published: huimin_domain::time::shanghai_display(item.published_at),
        })
        .collect();
    let page = found.page;
    Ok(CataloguePage {
        c: texts(lang),
        chrome,
        q: search.q.clone(),
        providers,
        sharings,
        rows,
        total: found.total,
        page,
        pages,
        previous_link: (page > 1).then(|| link(page - 1)),
        next_link: (u64::from(page) < pages).then(|| link(page + 1)),
    }
    .into_response())
}

struct ItemRow {
    name: String,
    title: String,
    data_type: &'static str,
    length: u32,
    required: bool,
    identifier: &'static str,
    classification: &'static str,
    /// Sensitive and secret items are marked.
    guarded: bool,
    personal: bool,
    feeds: String,
}

struct VersionRow {
    version: u32,
    link: String,
    published: String,
    by: String,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "resource.html")]
struct ResourcePage {
    chrome: Chrome,
    c: &'static CatalogueTexts,
    code: String,
    version: u32,
    name: String,
    summary: String,
    provider: String,
    system: String,
    format: &'static str,
    subject: String,
    record_key: String,
    sharing: String,
    legal_basis: String,
    open: &'static str,
    update_frequency: &'static str,
    keywords: String,
    items: Vec<ItemRow>,
    versions: Vec<VersionRow>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResourceView {
    version: Option<u32>,
    lang: Option<String>,
}

pub(crate) async fn resource_page(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence)): Path<(String, String)>,
    Query(view): Query<ResourceView>,
) -> Result<Response, PageError> {
    let path = format!("/console/catalogue/{classification}/{sequence}");
    let chrome = Chrome::new(
        &parts.headers,
        &LangQuery {
            lang: view.lang.clone(),
        },
        "catalogue",
        &path,
    );
    let result = async {
        if let Err(refusal) = staff(&state, &parts).await? {
            return Ok(Err(refusal));
        }
        let code = resource_code(&classification, &sequence)?;
        let versions = state.catalogue.resource_versions(&code).await?;
        let departments = state.catalogue.departments().await?;
        Ok::<_, ApiError>(Ok((versions, departments)))
    }
    .await;
    let (versions, departments) = match result {
        Ok(Ok(found)) => found,
        Ok(Err(refusal)) => return Ok(refusal.respond(&chrome)),
        Err(error) => return Err(PageError::new(&chrome, error)),
    };
    let shown = match view.version {
        None => versions.first(),
        Some(wanted) => versions
            .iter()
            .find(|published| published.version == wanted),
    };
    let Some(shown) = shown else {
        return Err(PageError::new(&chrome, ApiError::not_found("resource")));
    };
    Ok(resource_view(chrome, shown, &versions, &departments, &path).into_response())
}

fn resource_view(
    chrome: Chrome,
    shown: &PublishedResource,
    versions: &[PublishedResource],
    departments: &[Department],
    path: &str,
) -> ResourcePage {
    let lang = chrome.lang;
    let resource = &shown.resource;
    let provider = departments
        .iter()
        .find(|department| department.id == resource.provider)
        .map_or_else(
            || resource.provider.to_string(),
            |department| department.name.clone(),
        );
    let sharing = {
        let kind = resource.sharing.kind();
        let name = label(lang, kind.code(), kind.label_zh());
        match resource.sharing.terms() {
            "" => name.to_owned(),
            terms => format!("{name} — {terms}"),
        }
    };
    let items = resource
        .items
        .iter()
        .map(|item| ItemRow {
            name: item.name.clone(),
            title: item.title.clone(),
            data_type: label(lang, item.data_type.code(), item.data_type.label_zh()),
            length: item.length,
            required: item.required,
            identifier: item.identifier.map_or("", |kind: IdentifierType| {
                label(lang, kind.code(), kind.label_zh())
            }),
            classification: label(
                lang,
                item.classification.code(),
                item.classification.label_zh(),
            ),
            guarded: matches!(
                item.classification,
                Classification::Sensitive | Classification::Secret
            ),
            personal: item.personal,
            feeds: item.feeds.map_or_else(String::new, |feed| {
                format!(
                    "{}{}",
                    label(lang, feed.field.code(), feed.field.label_zh()),
                    if feed.authoritative {
                        texts(lang).authoritative
                    } else {
                        ""
                    }
                )
            }),
        })
        .collect();
    let current = versions.first().map(|published| published.version);
    let versions = versions
        .iter()
        .map(|published| VersionRow {
            version: published.version,
            link: format!("{path}?version={}", published.version),
            published: huimin_domain::time::shanghai_display(published.published_at),
            by: published.published_by.clone(),
            current: Some(published.version) == current,
        })
        .collect();
    ResourcePage {
        c: texts(lang),
        chrome,
        code: resource.code.to_string(),
        version: shown.version,
        name: resource.name.clone(),
        summary: resource.summary.clone(),
        provider,
        system: resource.system.clone().unwrap_or_default(),
        format: label(lang, resource.format.code(), resource.format.label_zh()),
        subject: match &resource.subject_item {
            Some(item) => format!(
                "{} ({item})",
                label(lang, resource.subject.code(), resource.subject.label_zh())
            ),
            None => label(lang, resource.subject.code(), resource.subject.label_zh()).to_owned(),
        },
        record_key: resource.record_key.join(", "),
        sharing,
        legal_basis: resource.legal_basis.clone(),
        open: label(lang, resource.open.code(), resource.open.label_zh()),
        update_frequency: label(
            lang,
            resource.update_frequency.code(),
            resource.update_frequency.label_zh(),
        ),
        keywords: resource.keywords.join(lang_separator(lang)),
        items,
        versions,
    }
}

fn lang_separator(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    }
}
