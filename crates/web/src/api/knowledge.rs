//! The hotline's knowledge base (issue 5): answers agents give callers directly, found by
//! Chinese full-text search and shown only while valid (unless asked for all). Anyone who
//! works with cases reads it; hotline agents and the city administrator write it, audited.

use super::cases::case_worker;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::case::category::Categories;
use huimin_domain::identity::Role;
use huimin_domain::knowledge::{Article, ArticleDraft, query_terms, relevance};
use huimin_domain::registry::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The least relevance an article needs to be offered, and how many are offered.
const MIN_RELEVANCE: f64 = 0.3;
const MAX_RESULTS: usize = 20;
/// Queries are cut to this many bigrams.
const MAX_TERMS: usize = 32;

/// An article.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleDto {
    pub id: u64,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub department: Option<String>,
    pub valid_from: String,
    pub valid_until: Option<String>,
    /// Whether the answer holds today.
    pub valid_now: bool,
    pub updated_by: String,
    pub updated_at: String,
    /// In search results: how well it answers the query (0 to 1).
    pub relevance: Option<f64>,
}

fn dto(article: &Article, today: chrono::NaiveDate, relevance: Option<f64>) -> ArticleDto {
    ArticleDto {
        id: article.id,
        title: article.title.clone(),
        body: article.body.clone(),
        category: article.category.clone(),
        department: article.department.clone(),
        valid_from: article.valid_from.to_string(),
        valid_until: article.valid_until.map(|day| day.to_string()),
        valid_now: article.valid_on(today),
        updated_by: article.updated_by.clone(),
        updated_at: super::shanghai_rfc3339(article.updated_at),
        relevance: relevance.map(|value| (value * 1000.0).round() / 1000.0),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KnowledgeParams {
    /// What the caller asks, in their words, e.g. `小区停水怎么办`.
    pub q: Option<String>,
    /// `true`: expired and future answers too.
    pub all: Option<bool>,
}

/// The answers to a query, most relevant first (at most 20).
pub(crate) async fn search_knowledge(
    state: &AppState,
    parts: &Parts,
    params: &KnowledgeParams,
) -> Result<Vec<ArticleDto>, ApiError> {
    case_worker(state, parts, false).await?;
    let query = params.q.as_deref().unwrap_or("").trim();
    let mut terms = query_terms(query);
    if terms.is_empty() {
        return Err(ApiError::field(FieldError::new(
            "q",
            query,
            "empty_query",
            "q names what the caller asks, in letters, digits or Chinese characters".to_owned(),
            "请输入要查询的内容".to_owned(),
        )));
    }
    terms.truncate(MAX_TERMS);
    let today = state.clock.today();
    let all = params.all.unwrap_or(false);
    let candidates = state
        .knowledge
        .articles_matching(&terms, (!all).then_some(today), 500)
        .await?;
    let mut ranked: Vec<(f64, &Article)> = candidates
        .iter()
        .map(|article| (relevance(&terms, article), article))
        .filter(|(score, _)| *score >= MIN_RELEVANCE)
        .collect();
    ranked.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.updated_at.cmp(&a.1.updated_at))
    });
    Ok(ranked
        .into_iter()
        .take(MAX_RESULTS)
        .map(|(score, article)| dto(article, today, Some(score)))
        .collect())
}

/// Searches the knowledge base.
#[utoipa::path(get, path = "/api/v1/knowledge", params(KnowledgeParams),
    responses((status = 200, body = Vec<ArticleDto>), (status = 422)))]
pub async fn knowledge(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<KnowledgeParams>,
) -> Result<Json<Vec<ArticleDto>>, ApiError> {
    Ok(Json(search_knowledge(&state, &parts, &params).await?))
}

/// One article.
#[utoipa::path(get, path = "/api/v1/knowledge/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = ArticleDto), (status = 404)))]
pub async fn get_article(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
) -> Result<Json<ArticleDto>, ApiError> {
    case_worker(&state, &parts, false).await?;
    let article = state
        .knowledge
        .article(id)
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    Ok(Json(dto(&article, state.clock.today(), None)))
}

/// The body of an article (documentation of `ArticleDraft`).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ArticleBody {
    /// 2 to 100 characters.
    pub title: String,
    /// The answer, 5 to 10,000 characters.
    pub body: String,
    /// The case subcategory it answers, e.g. `H0101`.
    pub category: Option<String>,
    pub department: Option<String>,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    pub valid_until: Option<String>,
}

async fn write(
    state: &AppState,
    parts: &Parts,
    id: u64,
    draft: &ArticleDraft,
) -> Result<ArticleDto, ApiError> {
    let (principal, _) = case_worker(state, parts, true).await?;
    let now = state.clock.now();
    let writes = principal.roles.iter().any(|held| {
        held.is_valid_at(now) && matches!(held.role, Role::HotlineAgent | Role::CityAdministrator)
    });
    let action = if id == 0 {
        "knowledge.create"
    } else {
        "knowledge.update"
    };
    if !writes {
        let event = AuditEvent {
            outcome: Outcome::Denied,
            ..principal
                .actor(parts)
                .event(action, "knowledge_article", id.to_string())
        };
        state.audit.append_audit(&[event], now).await?;
        return Err(ApiError::Forbidden(
            "the hotline's agents and the city administrator keep the knowledge base".to_owned(),
        ));
    }
    let categories = Categories::shipped().map_err(ApiError::Unavailable)?;
    let mut article = draft
        .validate(
            |code| categories.subcategory(code).is_some(),
            &principal.account.login,
            now,
        )
        .map_err(ApiError::Validation)?;
    article.id = id;
    let event = AuditEvent {
        detail: article.title.clone(),
        ..principal
            .actor(parts)
            .event(action, "knowledge_article", id.to_string())
    };
    article.id = state
        .knowledge
        .put_article(&article, &event)
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    Ok(dto(&article, state.clock.today(), None))
}

/// Adds an article (hotline agents, the city administrator); every wrong field named.
#[utoipa::path(post, path = "/api/v1/knowledge", request_body = ArticleBody,
    responses((status = 201, body = ArticleDto), (status = 403), (status = 422)))]
pub async fn create_article(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(draft): ApiJson<ArticleDraft>,
) -> Result<(StatusCode, Json<ArticleDto>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(write(&state, &parts, 0, &draft).await?),
    ))
}

/// Replaces an article.
#[utoipa::path(put, path = "/api/v1/knowledge/{id}", params(("id" = u64, Path)), request_body = ArticleBody,
    responses((status = 200, body = ArticleDto), (status = 403), (status = 404), (status = 422)))]
pub async fn replace_article(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(draft): ApiJson<ArticleDraft>,
) -> Result<Json<ArticleDto>, ApiError> {
    if id == 0 {
        return Err(ApiError::not_found("article"));
    }
    Ok(Json(write(&state, &parts, id, &draft).await?))
}
