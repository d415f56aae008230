//! The synthetic city's twelve departments and the catalogue of their information
//! resources (`data/catalogue.toml`, compiled in), as drafts that pass the domain's
//! rules. `huimin demo` publishes them before it loads the departments' datasets.
//!
//! The departments' unified social credit codes are synthetic: a 机关 (organisation type
//! 1-1) registered in 扬州市, with an organisation body numbered from the department's
//! place in the file and both check characters computed.

use huimin_domain::catalogue::{DepartmentDraft, ResourceDraft};
use huimin_domain::identifiers::{AreaCode, CreditCode, OrganisationType};
use serde::Deserialize;

/// The catalogue file, as written.
const CATALOGUE: &str = include_str!("../data/catalogue.toml");

/// The departments and resources of the synthetic city.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub departments: Vec<DepartmentDraft>,
    pub resources: Vec<ResourceDraft>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    department: Vec<DepartmentEntry>,
    resource: Vec<ResourceDraft>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentEntry {
    id: String,
    name: String,
    systems: Vec<String>,
}

/// The synthetic department's credit code: a government organ of 扬州市.
fn department_credit_code(position: usize) -> CreditCode {
    let city = AreaCode::parse(crate::geography::CITY_CODE)
        .expect("321000 扬州市 is in the embedded GB/T 2260 table");
    CreditCode::from_parts(
        OrganisationType::GovernmentOrgan,
        &city,
        &format!("{:08}", 14_050_300 + position),
    )
    .expect("eight digits are a valid organisation body")
}

/// The city's catalogue. The file is part of the source, so a file that does not parse
/// is a bug that the tests catch, not an input error.
pub fn catalogue() -> Catalogue {
    let file: CatalogueFile =
        toml::from_str(CATALOGUE).expect("data/catalogue.toml is valid (tested)");
    Catalogue {
        departments: file
            .department
            .into_iter()
            .enumerate()
            .map(|(position, entry)| DepartmentDraft {
                id: entry.id,
                name: entry.name,
                credit_code: department_credit_code(position + 1).as_str().to_owned(),
                systems: entry.systems,
            })
            .collect(),
        resources: file.resource,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_department_and_resource_passes_the_catalogue_rules() {
        let catalogue = catalogue();
        assert!(
            catalogue.departments.len() >= 12,
            "the issue asks for twelve departments"
        );
        let mut ids = BTreeSet::new();
        for department in &catalogue.departments {
            let valid = department
                .clone()
                .validate()
                .unwrap_or_else(|errors| panic!("department {}: {errors:?}", department.id));
            assert!(
                valid.credit_code.as_str().starts_with("11321000"),
                "{}",
                valid.credit_code.as_str()
            );
            ids.insert(valid.id);
        }
        let mut codes = BTreeSet::new();
        let mut authorities = BTreeSet::new();
        let mut providers = BTreeSet::new();
        for draft in &catalogue.resources {
            let resource = draft
                .clone()
                .validate()
                .unwrap_or_else(|errors| panic!("resource {}: {errors:?}", draft.code));
            assert!(
                ids.contains(&resource.provider),
                "{} names an unknown provider",
                resource.code
            );
            assert!(
                codes.insert(resource.code.clone()),
                "{} is listed twice",
                resource.code
            );
            providers.insert(resource.provider.clone());
            for field in resource.authoritative_fields() {
                assert!(
                    authorities.insert(field),
                    "two authoritative sources of {}",
                    field.code()
                );
            }
        }
        assert_eq!(
            providers, ids,
            "every department provides at least one resource"
        );
    }
}
