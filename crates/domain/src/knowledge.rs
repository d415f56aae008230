//! The hotline's knowledge base (知识库, issue 5): answers agents give callers directly,
//! each valid for a period, found by Chinese full-text search.
//!
//! Chinese has no spaces, and the words callers use are often two characters (停水, 低保,
//! 路灯) that the databases' full-text indexes do not find. An article is found by the
//! character bigrams of the query: the store narrows the candidates to articles holding
//! any of them, and [`relevance`] ranks them by how much of the query they hold, the
//! title counting more than the body.

use crate::registry::FieldError;
use chrono::{DateTime, NaiveDate, Utc};

/// A kept article.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Article {
    /// Given by the store; 0 before.
    pub id: u64,
    pub title: String,
    pub body: String,
    /// The case subcategory the answer is for, if any.
    pub category: Option<String>,
    /// The department whose rules the answer states.
    pub department: Option<String>,
    pub valid_from: NaiveDate,
    /// The last day it holds; open-ended when `None`.
    pub valid_until: Option<NaiveDate>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl Article {
    /// Whether the answer holds on `day`.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|until| day <= until)
    }

    /// The lower-cased text the store searches.
    pub fn search_text(&self) -> String {
        format!("{}\n{}", self.title, self.body).to_lowercase()
    }
}

/// An article as sent.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArticleDraft {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: Option<String>,
}

impl ArticleDraft {
    /// The article, or every field at fault. `known_category` says whether a code is a
    /// subcategory of the case tree.
    pub fn validate(
        &self,
        known_category: impl Fn(&str) -> bool,
        updated_by: &str,
        updated_at: DateTime<Utc>,
    ) -> Result<Article, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = self.title.trim();
        if title.chars().count() < 2 || title.chars().count() > 100 {
            errors.push(FieldError::new(
                "title",
                title,
                "invalid_length",
                "the title is 2 to 100 characters".to_owned(),
                "标题为 2 至 100 个字".to_owned(),
            ));
        }
        let body = self.body.trim();
        if body.chars().count() < 5 || body.chars().count() > 10_000 {
            errors.push(FieldError::new(
                "body",
                "",
                "invalid_length",
                "the answer is 5 to 10,000 characters".to_owned(),
                "答复内容为 5 至 10000 个字".to_owned(),
            ));
        }
        let category = self
            .category
            .as_deref()
            .map(str::trim)
            .filter(|code| !code.is_empty());
        if let Some(code) = category
            && !known_category(code)
        {
            errors.push(FieldError::new(
                "category",
                code,
                "unknown_category",
                format!("{code} is not a case subcategory"),
                format!("{code} 不是案件小类"),
            ));
        }
        let day = |field: &'static str, text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                FieldError::new(
                    field,
                    text,
                    "invalid_date",
                    format!("{field} is a date such as 2026-01-31"),
                    format!("{field} 应为 2026-01-31 形式的日期"),
                )
            })
        };
        let valid_from = day("valid_from", &self.valid_from)
            .map_err(|e| errors.push(e))
            .ok();
        let valid_until = match self
            .valid_until
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => None,
            Some(text) => day("valid_until", text).map_err(|e| errors.push(e)).ok(),
        };
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until < from
        {
            errors.push(FieldError::new(
                "valid_until",
                &until.to_string(),
                "before_valid_from",
                "valid_until is before valid_from".to_owned(),
                "失效日期早于生效日期".to_owned(),
            ));
        }
        match (errors.is_empty(), valid_from) {
            (true, Some(valid_from)) => Ok(Article {
                id: 0,
                title: title.to_owned(),
                body: body.to_owned(),
                category: category.map(str::to_owned),
                department: self
                    .department
                    .as_deref()
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
                valid_from,
                valid_until,
                updated_by: updated_by.to_owned(),
                updated_at,
            }),
            _ => Err(errors),
        }
    }
}

/// The distinct bigrams of a query's letters, digits and Chinese characters, lower-cased;
/// a one-character query is its character alone.
pub fn query_terms(query: &str) -> Vec<String> {
    let characters: Vec<char> = query
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut terms: Vec<String> = if characters.len() == 1 {
        vec![characters[0].to_string()]
    } else {
        characters
            .windows(2)
            .map(|pair| pair.iter().collect())
            .collect()
    };
    terms.sort();
    terms.dedup();
    terms
}

/// How well `article` answers the query whose terms are `terms` (0 to 1): the share of the
/// terms in the title, weighted 3, and in the body, weighted 2, over 5.
pub fn relevance(terms: &[String], article: &Article) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    let title = article.title.to_lowercase();
    let body = article.body.to_lowercase();
    let share = |text: &str| {
        terms
            .iter()
            .filter(|term| text.contains(term.as_str()))
            .count() as f64
            / terms.len() as f64
    };
    (3.0 * share(&title) + 2.0 * share(&body)) / 5.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 4, 0, 0).unwrap()
    }

    fn article(title: &str, body: &str) -> Article {
        ArticleDraft {
            title: title.into(),
            body: body.into(),
            valid_from: "2026-01-01".into(),
            valid_until: Some("2026-12-31".into()),
            ..ArticleDraft::default()
        }
        .validate(|_| true, "agent", noon())
        .unwrap()
    }

    #[test]
    fn a_callers_words_find_the_answer_that_holds_them_in_its_title_first() {
        let water = article(
            "小区停水怎么办",
            "计划停水会提前公告，突发停水请拨打供水热线。",
        );
        let aid = article(
            "低保申请条件",
            "家庭人均收入低于当地低保标准，可向街道申请。",
        );
        let terms = query_terms("家里停水了");
        assert!(relevance(&terms, &water) > relevance(&terms, &aid));
        assert_eq!(relevance(&query_terms("低保"), &aid), 1.0);
        assert_eq!(query_terms("水"), ["水"]);
        assert!(query_terms("，。").is_empty());
    }

    #[test]
    fn drafts_name_every_fault_and_articles_hold_in_their_period() {
        let faults = ArticleDraft {
            title: "停".into(),
            body: "短".into(),
            category: Some("Z9999".into()),
            valid_from: "2026-02-30".into(),
            ..ArticleDraft::default()
        }
        .validate(|code| code == "H0101", "agent", noon())
        .unwrap_err();
        let fields: Vec<&str> = faults.iter().map(|fault| fault.field).collect();
        assert_eq!(fields, ["title", "body", "category", "valid_from"]);
        let water = article("小区停水怎么办", "计划停水会提前公告。");
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert!(water.valid_on(day(6, 1)) && !water.valid_on(day(12, 31).succ_opt().unwrap()));
    }
}
