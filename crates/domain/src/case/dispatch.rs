//! Dispatch rules (派遣规则): which department leads a case, at which level, by its
//! category and where it is. A rule names a category — a subcategory, or a class for all
//! its subcategories — and an area code (a district, street, community or grid; empty for
//! the whole city). The most specific rule wins: the longest area, then a subcategory
//! over its class. Administrators edit the rules; cases are dispatched by them unless a
//! dispatcher sends a case elsewhere, with a reason.

use super::category::Categories;
use super::flow::Level;
use crate::registry::FieldError;

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DispatchRule {
    /// A subcategory or class code.
    pub category: String,
    /// An area code the case's grid starts with; empty for the whole city.
    #[serde(default)]
    pub area: String,
    pub lead: String,
    #[serde(default)]
    pub assisting: Vec<String>,
    pub level: Level,
}

impl DispatchRule {
    /// The rule checked against the categories: every wrong field named, as `rules[i].field`.
    pub fn validate(&self, categories: &Categories) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if categories.get(self.category.trim()).is_none() {
            errors.push(FieldError::new(
                "category",
                &self.category,
                "unknown_category",
                format!("{} is not a case category or class", self.category),
                format!("{} 不是案件类别", self.category),
            ));
        }
        let area = self.area.trim();
        if !area.is_empty()
            && (!area.bytes().all(|byte| byte.is_ascii_digit())
                || ![6, 9, 12, 15].contains(&area.len()))
        {
            errors.push(FieldError::new(
                "area",
                area,
                "invalid_area",
                "the area is a district (6 digits), street (9), community (12) or grid (15) code, or empty for the city",
                "区域应为区（6 位）、街道（9 位）、社区（12 位）或网格（15 位）代码，留空表示全市",
            ));
        }
        let department = |text: &str| crate::catalogue::DepartmentId::parse(text).is_ok();
        if !department(self.lead.trim()) {
            errors.push(FieldError::new(
                "lead",
                &self.lead,
                "invalid_department",
                "the lead is a department id such as chengguan",
                "主办部门应为部门标识，如 chengguan",
            ));
        }
        if self
            .assisting
            .iter()
            .any(|other| !department(other) || other == &self.lead)
        {
            errors.push(FieldError::new(
                "assisting",
                &self.assisting.join(","),
                "invalid_department",
                "assisting departments are department ids other than the lead",
                "协办部门应为主办部门以外的部门标识",
            ));
        }
        errors
    }
}

/// The rules in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchRules {
    rules: Vec<DispatchRule>,
}

impl DispatchRules {
    pub fn new(rules: Vec<DispatchRule>) -> DispatchRules {
        DispatchRules { rules }
    }

    pub fn rules(&self) -> &[DispatchRule] {
        &self.rules
    }

    /// The rule for a case of `category` in `grid`, if any rule covers it.
    pub fn choose(
        &self,
        categories: &Categories,
        category: &str,
        grid: Option<&str>,
    ) -> Option<&DispatchRule> {
        let class = categories
            .get(category)
            .and_then(|found| found.parent.as_deref());
        self.rules
            .iter()
            .filter(|rule| rule.category == category || Some(rule.category.as_str()) == class)
            .filter(|rule| {
                rule.area.is_empty()
                    || grid.is_some_and(|grid| grid.starts_with(rule.area.as_str()))
            })
            .max_by_key(|rule| (rule.area.len(), rule.category == category))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(category: &str, area: &str, lead: &str) -> DispatchRule {
        DispatchRule {
            category: category.into(),
            area: area.into(),
            lead: lead.into(),
            assisting: Vec::new(),
            level: Level::District,
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let categories = Categories::shipped().unwrap();
        let rules = DispatchRules::new(vec![
            rule("P01", "", "chengguan"),
            rule("P0105", "", "gongshui"),
            rule("P01", "321002", "jiangdu-chengguan"),
        ]);
        let lead = |category: &str, grid: Option<&str>| {
            rules
                .choose(categories, category, grid)
                .map(|rule| rule.lead.as_str())
        };
        assert_eq!(lead("P0101", Some("321003001001001")), Some("chengguan"));
        assert_eq!(lead("P0105", Some("321003001001001")), Some("gongshui"));
        // The district's rule is narrower than the city's subcategory rule.
        assert_eq!(
            lead("P0105", Some("321002001001001")),
            Some("jiangdu-chengguan")
        );
        assert_eq!(lead("P0101", None), Some("chengguan"));
        assert_eq!(lead("E0101", Some("321002001001001")), None);
    }

    #[test]
    fn a_rule_names_its_wrong_fields() {
        let categories = Categories::shipped().unwrap();
        let wrong = DispatchRule {
            category: "X01".into(),
            area: "3210".into(),
            lead: "城管".into(),
            assisting: vec!["城管".into()],
            level: Level::City,
        };
        let codes: Vec<&str> = wrong
            .validate(categories)
            .iter()
            .map(|error| error.field)
            .collect();
        assert_eq!(codes, ["category", "area", "lead", "assisting"]);
        assert!(
            rule("E01", "321002001", "chengguan")
                .validate(categories)
                .is_empty()
        );
    }
}
