//! The synthetic city: a deterministic generator of the people, households, buildings,
//! houses, legal entities and area tree of a city modelled on 扬州市, for `huimin demo`,
//! the tests and the benchmarks.
//!
//! [`generate`] is a pure function of the [`CityConfig`] and the day: the same seed,
//! population and day always give the identical [`City`], on any machine. Each stage
//! (geography → population → housing → entities) draws from its own random stream of the
//! seed, so later work can add stages (department datasets, cases, planted
//! irregularities) without changing what the existing stages produce. Every identifier is
//! built through the domain's validating constructors, so the city passes the same
//! checks as imported data.
//!
//! This crate must not read the clock, the environment, files or the network, and must
//! not iterate a hash map into its output.

mod cases;
mod catalogue;
mod departments;
mod entities;
mod facilities;
mod generator;
mod geography;
mod households;
mod housing;
mod names;
mod people;
mod population;
mod summary;

use chrono::NaiveDate;
use geo::BoundingRect;
use huimin_domain::area::{Area, AreaLevel, GridIndex};
use huimin_domain::registry::{Building, GeoPoint, House, Household, LegalEntity, Person};
use rand::Rng;

pub use cases::{CaseConfig, CaseTruth, SyntheticCases, cases};
pub use catalogue::{Catalogue, catalogue};
pub use departments::{DatasetTruth, DepartmentFile, csv_text, department_files};
pub use facilities::{SyntheticFacilities, facilities};
pub use summary::CitySummary;

use generator::{Generator, Stage};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CityConfig {
    pub seed: u64,
    /// The number of persons in the population registry (living, deceased and
    /// emigrated); 1,000 to 1,000,000 are the sizes tested.
    pub people: u32,
}

/// The demo city: 100,000 people from a fixed seed, so every `huimin demo` shows the
/// same city.
impl Default for CityConfig {
    fn default() -> Self {
        CityConfig {
            seed: 2_010,
            people: 100_000,
        }
    }
}

/// A generated city. Areas come parents first (city, districts, streets, communities,
/// grids); persons grid by grid, each family together, head first.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    pub areas: Vec<Area>,
    pub persons: Vec<Person>,
    pub households: Vec<Household>,
    pub buildings: Vec<Building>,
    pub houses: Vec<House>,
    pub entities: Vec<LegalEntity>,
    /// The day the city was generated for: ages count to it, nothing is dated after it.
    pub today: NaiveDate,
}

/// Generates the city for `config` as of `today`.
pub fn generate(config: &CityConfig, today: NaiveDate) -> City {
    let layout = geography::lay_out(
        &mut Generator::for_stage(config.seed, Stage::Geography, today),
        config.people,
    );
    let mut population = population::populate(
        &mut Generator::for_stage(config.seed, Stage::Population, today),
        &layout,
        config.people,
    );
    let housing = housing::build(
        &mut Generator::for_stage(config.seed, Stage::Housing, today),
        &layout,
        &mut population,
    );
    let households = households::register(&population, &housing);
    let entities = entities::register(
        &mut Generator::for_stage(config.seed, Stage::Entities, today),
        &layout,
        &population,
        &housing,
    );
    City {
        areas: layout.areas,
        persons: population.persons,
        households,
        buildings: housing.buildings,
        houses: housing.houses,
        entities,
        today,
    }
}

impl City {
    /// The point-in-grid index over this city's grids.
    pub fn grid_index(&self) -> GridIndex {
        GridIndex::new(&self.areas)
    }

    /// The city's bounding rectangle as (south-west, north-east) corners; the grids tile
    /// it exactly.
    pub fn bounds(&self) -> Option<(GeoPoint, GeoPoint)> {
        let city = self
            .areas
            .iter()
            .find(|area| area.level == AreaLevel::City)?;
        let rectangle = city.boundary.as_ref()?.bounding_rect()?;
        Some((
            GeoPoint {
                longitude: rectangle.min().x,
                latitude: rectangle.min().y,
            },
            GeoPoint {
                longitude: rectangle.max().x,
                latitude: rectangle.max().y,
            },
        ))
    }
}

/// A rectangle as (west, south, east, north) in degrees.
pub(crate) type Rectangle = (f64, f64, f64, f64);

/// Each unit grid's code and bounding rectangle, in the areas' order; only the grids whose
/// codes start with `prefix` when one is given.
pub(crate) fn grid_rectangles<'a>(
    city: &'a City,
    prefix: Option<&str>,
) -> Vec<(&'a str, Rectangle)> {
    use geo::BoundingRect;
    city.areas
        .iter()
        .filter(|area| area.level == AreaLevel::Grid)
        .filter(|area| prefix.is_none_or(|prefix| area.code.starts_with(prefix)))
        .filter_map(|area| {
            let rectangle = area.boundary.as_ref()?.bounding_rect()?;
            Some((
                area.code.as_str(),
                (
                    rectangle.min().x,
                    rectangle.min().y,
                    rectangle.max().x,
                    rectangle.max().y,
                ),
            ))
        })
        .collect()
}

/// A uniformly random point of the city, for benchmarks of point-in-grid lookups and of
/// map queries. Every such point lies in some grid, because the grids tile the city's
/// rectangle. A city without a boundary (never generated) gives its nominal centre.
pub fn random_point_in_city<R: Rng + ?Sized>(city: &City, rng: &mut R) -> GeoPoint {
    match city.bounds() {
        Some((south_west, north_east)) => GeoPoint {
            longitude: south_west.longitude
                + (north_east.longitude - south_west.longitude) * rng.random::<f64>(),
            latitude: south_west.latitude
                + (north_east.latitude - south_west.latitude) * rng.random::<f64>(),
        },
        None => GeoPoint {
            longitude: 119.40,
            latitude: 32.39,
        },
    }
}
