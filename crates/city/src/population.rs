//! The population stage: fills every grid with families until it holds its quota of
//! residents, turns family members into registry persons, and then settles what depends
//! on the whole family — deaths and emigrations (which take people off the household),
//! tags and phones.
//!
//! About one family in six belongs to the floating population: they come from elsewhere
//! and rent. A few local families rent too. This module owns the order in which persons
//! and families are created (grid by grid, family by family), which is part of what makes
//! the city reproducible; it must not place buildings or write addresses (that is
//! `housing`), so persons leave it with empty address fields.

use crate::generator::Generator;
use crate::geography::CityLayout;
use crate::households::FamilyComposer;
use crate::people::{self, Describer, IdentityNumbers, PhoneNumbers};
use huimin_domain::identifiers::{AreaCode, PersonName, Sex};
use huimin_domain::registry::{LifeStatus, Person, PersonTag, Relationship};
use std::collections::BTreeSet;
use std::ops::Range;

/// Share of families that belong to the floating population.
const MIGRANT_FAMILY_SHARE: f64 = 0.18;
/// Share of local families that rent rather than own their home.
const LOCAL_RENTER_SHARE: f64 = 0.03;
/// Chance that a member aged 70 or over (never the head) has died; about 0.5 % of all.
const DECEASED_CHANCE_OVER_70: f64 = 0.045;
/// Chance that a local member of 20–45 (never the head) has emigrated; about 0.3 % of all.
const EMIGRATED_CHANCE_20_TO_45: f64 = 0.012;
/// Chance that a man of 40 or over is a veteran.
const VETERAN_CHANCE_MEN_OVER_40: f64 = 0.01;

/// Everyone, their families, and facts the registry records do not hold directly.
pub(crate) struct Population {
    pub persons: Vec<Person>,
    /// Parallel to `persons`.
    pub facts: Vec<PersonFacts>,
    pub families: Vec<Family>,
    /// The families living in each grid, parallel to the layout's grids.
    pub grid_families: Vec<Range<usize>>,
}

/// What the later stages need to know about a person.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PersonFacts {
    pub age: u32,
    pub born_locally: bool,
    /// The family the person was created in; they keep its address after leaving it.
    pub family: usize,
}

/// A family living together in one house.
pub(crate) struct Family {
    /// Floating population, registered elsewhere: a co-resident family (共同生活家庭)
    /// rather than a registered household (户籍户) of the city.
    pub migrant: bool,
    pub renting: bool,
    /// Where a migrant family's household registration is.
    pub hometown: Option<AreaCode>,
    /// Person indices with their relationship to the head, head first. Members who died
    /// or emigrated have been removed.
    pub members: Vec<(usize, Relationship)>,
}

/// Fills the city with people.
pub(crate) fn populate(generator: &mut Generator, layout: &CityLayout, people: u32) -> Population {
    let today = generator.today();
    let composer = FamilyComposer::new();
    let describer = Describer::new(
        layout
            .districts
            .iter()
            .map(|district| district.code)
            .collect(),
    );
    let mut identity_numbers = IdentityNumbers::default();
    let mut population = Population {
        persons: Vec::with_capacity(people as usize),
        facts: Vec::with_capacity(people as usize),
        families: Vec::with_capacity(people as usize / 2),
        grid_families: Vec::with_capacity(layout.grids.len()),
    };

    for (grid_index, grid) in layout.grids.iter().enumerate() {
        let district = layout.districts[layout.district_of_grid(grid_index)].code;
        let first_family = population.families.len();
        let mut remaining = grid.resident_quota as usize;
        while remaining > 0 {
            let migrant = generator.chance(MIGRANT_FAMILY_SHARE);
            let mut shapes = composer.compose(generator, migrant);
            // The last family of a grid loses its youngest generation if the grid is full.
            shapes.truncate(remaining);
            remaining -= shapes.len();
            let description = describer.describe(generator, &shapes, migrant, district);
            let family_index = population.families.len();
            let mut members = Vec::with_capacity(shapes.len());
            for (shape, member) in shapes.iter().zip(description.members) {
                let birth = people::birth_date_for_age(generator, today, shape.age);
                let citizen_id =
                    identity_numbers.issue(generator, member.birth_area, birth, shape.sex);
                let person_index = population.persons.len();
                population.persons.push(Person {
                    citizen_id,
                    name: PersonName::parse(&member.name).expect(
                        "generated names are Chinese characters, Uyghur ones around one middle dot",
                    ),
                    ethnicity: member.ethnicity,
                    hukou_address: String::new(),
                    residence_address: String::new(),
                    phone: None,
                    life_status: LifeStatus::Alive,
                    tags: BTreeSet::new(),
                    grid: Some(grid.code.clone()),
                });
                population.facts.push(PersonFacts {
                    age: shape.age,
                    born_locally: member.born_locally,
                    family: family_index,
                });
                members.push((person_index, shape.relationship));
            }
            population.families.push(Family {
                migrant,
                renting: migrant || generator.chance(LOCAL_RENTER_SHARE),
                hometown: description.hometown,
                members,
            });
        }
        population
            .grid_families
            .push(first_family..population.families.len());
    }

    record_departures(generator, &mut population);
    tag_and_reach(generator, &mut population);
    population
}

/// Some elderly members have died and some young local members have emigrated; both
/// leave the household (户口注销 / 迁出) but stay in the population registry.
fn record_departures(generator: &mut Generator, population: &mut Population) {
    let Population {
        persons,
        facts,
        families,
        ..
    } = population;
    for family in families.iter_mut() {
        let migrant = family.migrant;
        family.members.retain(|&(person_index, relationship)| {
            if relationship == Relationship::Head {
                return true;
            }
            let age = facts[person_index].age;
            let status = if age >= 70 && generator.chance(DECEASED_CHANCE_OVER_70) {
                LifeStatus::Deceased
            } else if !migrant
                && (20..=45).contains(&age)
                && generator.chance(EMIGRATED_CHANCE_20_TO_45)
            {
                LifeStatus::Emigrated
            } else {
                LifeStatus::Alive
            };
            persons[person_index].life_status = status;
            status == LifeStatus::Alive
        });
    }
}

/// Tags (独居老人, 残疾人, 流动人口, 退役军人, 社区关爱对象) and phones.
fn tag_and_reach(generator: &mut Generator, population: &mut Population) {
    let mut phone_numbers = PhoneNumbers::default();
    let Population {
        persons,
        facts,
        families,
        ..
    } = population;
    for (person, fact) in persons.iter_mut().zip(facts.iter()) {
        let family = &families[fact.family];
        let alive = person.life_status == LifeStatus::Alive;
        if alive && fact.age >= 70 && family.members.len() == 1 {
            person.tags.insert(PersonTag::ElderlyLivingAlone);
            if fact.age >= 80 {
                person.tags.insert(PersonTag::CommunityCare);
            }
        }
        if generator.chance(people::disability_probability(fact.age)) {
            person.tags.insert(PersonTag::Disability);
        }
        if alive && family.renting && !fact.born_locally {
            person.tags.insert(PersonTag::FloatingPopulation);
        }
        if person.sex() == Sex::Male
            && fact.age >= 40
            && generator.chance(VETERAN_CHANCE_MEN_OVER_40)
        {
            person.tags.insert(PersonTag::Veteran);
        }
        if alive && generator.chance(people::phone_probability(fact.age)) {
            person.phone = Some(phone_numbers.issue(generator));
        }
    }
}
