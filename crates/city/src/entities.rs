//! Legal entities (法人): about one per 30 residents — individual businesses
//! (个体工商户) and enterprises (企业) above all, a few public institutions (事业单位) and
//! social organisations (社会组织) — with valid unified social credit codes registered in
//! their district, legal representatives drawn from the city's adults, and registered
//! addresses at the shops and offices of a grid.
//!
//! This module must not create people or houses; it only refers to them.

use crate::generator::{Generator, WeightedTable};
use crate::geography::CityLayout;
use crate::housing::Housing;
use crate::names;
use crate::population::Population;
use chrono::{Days, NaiveDate};
use huimin_domain::identifiers::{CreditCode, OrganisationType};
use huimin_domain::registry::{EntityKind, EntityStatus, LegalEntity, LifeStatus};
use std::collections::HashSet;

const RESIDENTS_PER_ENTITY: f64 = 30.0;

const KINDS: [(EntityKind, u32); 4] = [
    (EntityKind::IndividualBusiness, 600),
    (EntityKind::Enterprise, 360),
    (EntityKind::Institution, 25),
    (EntityKind::SocialOrganisation, 15),
];

const STATUSES: [(EntityStatus, u32); 3] = [
    (EntityStatus::Active, 88),
    (EntityStatus::Deregistered, 8),
    (EntityStatus::Revoked, 4),
];

/// The characters of GB 32100 codes: digits and capitals without I, O, S, V and Z.
const CODE_ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J',
    'K', 'L', 'M', 'N', 'P', 'Q', 'R', 'T', 'U', 'W', 'X', 'Y',
];

/// Registers the city's legal entities.
pub(crate) fn register(
    generator: &mut Generator,
    layout: &CityLayout,
    population: &Population,
    housing: &Housing,
) -> Vec<LegalEntity> {
    let adults: Vec<usize> = population
        .facts
        .iter()
        .enumerate()
        .filter(|(index, fact)| {
            (20..=70).contains(&fact.age)
                && population.persons[*index].life_status == LifeStatus::Alive
        })
        .map(|(index, _)| index)
        .collect();
    if adults.is_empty() || layout.grids.is_empty() {
        return Vec::new();
    }
    // Rounding is intended: a whole number of entities.
    let count = (population.persons.len() as f64 / RESIDENTS_PER_ENTITY).round() as usize;
    let kinds = WeightedTable::new(&KINDS);
    let statuses = WeightedTable::new(&STATUSES);
    let today = generator.today();
    let mut used_names = HashSet::with_capacity(count);
    let mut used_bodies = HashSet::with_capacity(count);
    let mut entities = Vec::with_capacity(count);

    for _ in 0..count {
        let kind = kinds.sample(generator);
        let grid = generator.index(layout.grids.len());
        let district = layout.districts[layout.district_of_grid(grid)].code;
        let representative = pick_representative(generator, population, &adults, kind);
        let representative_age = population.facts[representative].age;
        let person = &population.persons[representative];

        let name = unique_name(generator, &mut used_names, |generator| {
            entity_name(generator, layout, grid, kind, person.name.surname())
        });
        let organisation_type = match kind {
            EntityKind::Enterprise => OrganisationType::Enterprise,
            EntityKind::IndividualBusiness => OrganisationType::IndividualBusiness,
            EntityKind::Institution => OrganisationType::PublicInstitution,
            EntityKind::SocialOrganisation => OrganisationType::SocialOrganisation,
        };
        let body = loop {
            let body = organisation_body(generator, kind);
            if used_bodies.insert(body.clone()) {
                break body;
            }
        };
        let credit_code = CreditCode::from_parts(organisation_type, &district, &body).expect(
            "a table district and eight characters of the GB 32100 alphabet make a credit code",
        );
        let registered_address = housing.business_houses[grid]
            .get(generator.index(housing.business_houses[grid].len().max(1)))
            .map(|&house| housing.houses[house].address.line())
            .unwrap_or_else(|| {
                format!(
                    "{}{}{}",
                    district.name(),
                    layout.street_of_grid(grid).name,
                    layout.community_of_grid(grid).name
                )
            });
        let status = match kind {
            EntityKind::Institution | EntityKind::SocialOrganisation => EntityStatus::Active,
            _ => statuses.sample(generator),
        };
        entities.push(LegalEntity {
            credit_code,
            name,
            kind,
            legal_representative: person.citizen_id.clone(),
            registered_address,
            status,
            established_on: Some(established_on(generator, today, kind, representative_age)),
        });
    }
    entities
}

/// An adult to represent the entity; heads of institutions are 35–60.
fn pick_representative(
    generator: &mut Generator,
    population: &Population,
    adults: &[usize],
    kind: EntityKind,
) -> usize {
    let mut person = *generator.pick(adults);
    if kind == EntityKind::Institution {
        for _ in 0..32 {
            if (35..=60).contains(&population.facts[person].age) {
                break;
            }
            person = *generator.pick(adults);
        }
    }
    person
}

/// Draws names until one is new; after many collisions (a very large city) the name
/// gets a branch number, as registries do.
fn unique_name(
    generator: &mut Generator,
    used: &mut HashSet<String>,
    mut draw: impl FnMut(&mut Generator) -> String,
) -> String {
    let mut name = draw(generator);
    for _ in 0..16 {
        if !used.contains(&name) {
            break;
        }
        name = draw(generator);
    }
    let mut candidate = name.clone();
    let mut branch = 2;
    while used.contains(&candidate) {
        candidate = format!("{name}（{branch}）");
        branch += 1;
    }
    used.insert(candidate.clone());
    candidate
}

/// 扬州市广陵区恒达贸易有限公司, 广陵区老王面馆, 扬州市广陵区东关小学 …
fn entity_name(
    generator: &mut Generator,
    layout: &CityLayout,
    grid: usize,
    kind: EntityKind,
    representative_surname: Option<&str>,
) -> String {
    let district = layout.districts[layout.district_of_grid(grid)].code.name();
    let community_stem = layout
        .community_of_grid(grid)
        .name
        .trim_end_matches("社区")
        .to_owned();
    match kind {
        EntityKind::IndividualBusiness => {
            let shop = generator.pick(names::SHOP_KINDS);
            let draw = generator.real(0.0, 1.0);
            match representative_surname {
                Some(surname) if draw < 0.55 => format!("{district}老{surname}{shop}"),
                Some(surname) if draw < 0.8 => format!("{district}{surname}记{shop}"),
                _ => format!("{district}{}{shop}", names::brand(generator)),
            }
        }
        EntityKind::Enterprise => {
            let brand = names::brand(generator);
            let industry = generator.pick(names::ENTERPRISE_INDUSTRIES);
            let draw = generator.real(0.0, 1.0);
            if draw < 0.55 {
                format!("扬州市{district}{brand}{industry}有限公司")
            } else if draw < 0.9 {
                format!("扬州{brand}{industry}有限公司")
            } else {
                format!("江苏{brand}{industry}股份有限公司")
            }
        }
        EntityKind::Institution => {
            format!(
                "扬州市{district}{community_stem}{}",
                generator.pick(names::INSTITUTION_KINDS)
            )
        }
        EntityKind::SocialOrganisation => {
            format!(
                "扬州市{district}{community_stem}{}",
                generator.pick(names::SOCIAL_ORGANISATION_KINDS)
            )
        }
    }
}

/// The eight-character body of the organisation code: market-regulation bodies since
/// 2015 start with MA; institutions and social organisations keep numeric codes.
fn organisation_body(generator: &mut Generator, kind: EntityKind) -> String {
    let mut body = String::with_capacity(8);
    match kind {
        EntityKind::Enterprise | EntityKind::IndividualBusiness => {
            body.push_str("MA");
            for _ in 0..6 {
                body.push(*generator.pick(CODE_ALPHABET));
            }
        }
        EntityKind::Institution => {
            body.push_str(&format!("4{:07}", generator.integer(0, 9_999_999)))
        }
        EntityKind::SocialOrganisation => {
            body.push_str(&format!("5{:07}", generator.integer(0, 9_999_999)))
        }
    }
    body
}

/// A founding date in the past: individual businesses are younger than enterprises, and
/// a business is founded by its representative as an adult.
fn established_on(
    generator: &mut Generator,
    today: NaiveDate,
    kind: EntityKind,
    representative_age: u32,
) -> NaiveDate {
    let maximum_years = match kind {
        EntityKind::IndividualBusiness => 15.min(representative_age.saturating_sub(18)),
        EntityKind::Enterprise => 30.min(representative_age.saturating_sub(18)),
        EntityKind::Institution => 60,
        EntityKind::SocialOrganisation => 25,
    };
    let days_ago = generator.integer(30, (maximum_years * 365).max(30));
    today - Days::new(u64::from(days_ago))
}
