//! The few numbers that describe a generated city: how many of everything, its ageing
//! and its household size. Printed by `huimin demo` and the timing example; computed from
//! the public records only, so it must not reach into generator internals.

use crate::City;
use huimin_domain::area::AreaLevel;
use huimin_domain::registry::{LifeStatus, PersonTag, RentalState};
use std::fmt;

/// Counts and shares of a generated city.
#[derive(Debug, Clone, PartialEq)]
pub struct CitySummary {
    pub persons: usize,
    /// Persons whose life status is alive.
    pub living_persons: usize,
    pub households: usize,
    pub buildings: usize,
    pub houses: usize,
    pub rented_houses: usize,
    pub vacant_houses: usize,
    pub entities: usize,
    pub districts: usize,
    pub streets: usize,
    pub communities: usize,
    pub grids: usize,
    /// Living persons aged 60 and over on the generation day.
    pub aged_60_and_over: usize,
    /// `aged_60_and_over` over `living_persons` (0 for an empty city).
    pub share_aged_60_and_over: f64,
    /// Members per household (0 for a city without households).
    pub mean_household_size: f64,
    pub floating_population: usize,
    pub elderly_living_alone: usize,
}

impl City {
    pub fn summary(&self) -> CitySummary {
        let count_level =
            |level: AreaLevel| self.areas.iter().filter(|area| area.level == level).count();
        let living: Vec<_> = self
            .persons
            .iter()
            .filter(|person| person.life_status == LifeStatus::Alive)
            .collect();
        let aged_60_and_over = living
            .iter()
            .filter(|person| {
                self.today
                    .years_since(person.birth_date())
                    .is_some_and(|age| age >= 60)
            })
            .count();
        let members: usize = self
            .households
            .iter()
            .map(|household| household.members.len())
            .sum();
        let with_tag = |tag: PersonTag| {
            living
                .iter()
                .filter(|person| person.tags.contains(&tag))
                .count()
        };
        CitySummary {
            persons: self.persons.len(),
            living_persons: living.len(),
            households: self.households.len(),
            buildings: self.buildings.len(),
            houses: self.houses.len(),
            rented_houses: self
                .houses
                .iter()
                .filter(|house| matches!(house.rental, RentalState::Rented { .. }))
                .count(),
            vacant_houses: self
                .houses
                .iter()
                .filter(|house| house.rental == RentalState::Vacant)
                .count(),
            entities: self.entities.len(),
            districts: count_level(AreaLevel::District),
            streets: count_level(AreaLevel::Street),
            communities: count_level(AreaLevel::Community),
            grids: count_level(AreaLevel::Grid),
            aged_60_and_over,
            share_aged_60_and_over: ratio(aged_60_and_over, living.len()),
            mean_household_size: ratio(members, self.households.len()),
            floating_population: with_tag(PersonTag::FloatingPopulation),
            elderly_living_alone: with_tag(PersonTag::ElderlyLivingAlone),
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl fmt::Display for CitySummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "areas: {} districts, {} streets, {} communities, {} grids",
            self.districts, self.streets, self.communities, self.grids
        )?;
        writeln!(
            formatter,
            "persons: {} ({} living, {:.1} % aged 60+, {} floating, {} elderly living alone)",
            self.persons,
            self.living_persons,
            self.share_aged_60_and_over * 100.0,
            self.floating_population,
            self.elderly_living_alone
        )?;
        writeln!(
            formatter,
            "households: {} (mean size {:.2})",
            self.households, self.mean_household_size
        )?;
        writeln!(
            formatter,
            "buildings: {}, houses: {} ({} rented, {} vacant)",
            self.buildings, self.houses, self.rented_houses, self.vacant_houses
        )?;
        write!(formatter, "legal entities: {}", self.entities)
    }
}
