//! Manhole covers and buildings' safety appraisals for the demo city (issue 5 §6), so that
//! patrol rounds pass more than people and rented houses.
//!
//! Every unit grid has 3 to 8 manhole covers, mostly drainage, owned by the departments
//! that run them; about 1 in 20 is damaged or missing. About 5 % of buildings have
//! been appraised in the last three years, a third of those graded C or D (危房); some
//! of the D buildings were repaired and appraised B since, so they are off the round.

use crate::generator::{Generator, Stage, WeightedTable};
use crate::{City, grid_rectangles};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use huimin_domain::facility::{
    Appraisal, Component, ComponentCode, ComponentStatus, ManholeKind, SafetyGrade,
};
use huimin_domain::registry::GeoPoint;
use std::collections::BTreeMap;

/// The demo's facilities.
#[derive(Debug, Clone)]
pub struct SyntheticFacilities {
    pub components: Vec<Component>,
    /// In the order they are recorded (a repair's appraisal after the first).
    pub appraisals: Vec<Appraisal>,
    /// Buildings whose latest appraisal is C or D.
    pub dangerous_buildings: usize,
}

/// The department that owns a kind of cover in the demo city.
fn owner_of(kind: ManholeKind) -> &'static str {
    match kind {
        ManholeKind::Water | ManholeKind::Sewage | ManholeKind::Rain | ManholeKind::RainGrate => {
            "gongshui"
        }
        ManholeKind::Power | ManholeKind::StreetLight => "gongdian",
        ManholeKind::Gas => "ranqi",
        ManholeKind::Police => "gongan",
        _ => "chengguan",
    }
}

/// Generates the facilities of `city`, recorded at `recorded_at`.
pub fn facilities(city: &City, seed: u64, recorded_at: DateTime<Utc>) -> SyntheticFacilities {
    let mut generator = Generator::for_stage(seed, Stage::Facilities, city.today);
    let kinds = WeightedTable::new(&[
        (ManholeKind::Rain, 28),
        (ManholeKind::Sewage, 24),
        (ManholeKind::Water, 14),
        (ManholeKind::RainGrate, 8),
        (ManholeKind::Power, 7),
        (ManholeKind::Telecom, 7),
        (ManholeKind::Gas, 5),
        (ManholeKind::StreetLight, 3),
        (ManholeKind::Network, 2),
        (ManholeKind::Television, 1),
        (ManholeKind::Police, 1),
    ]);
    let mut sequences: BTreeMap<(String, &'static str), u32> = BTreeMap::new();
    let mut components = Vec::new();
    for (grid, (west, south, east, north)) in grid_rectangles(city, None) {
        for _ in 0..generator.integer(3, 8) {
            let kind = kinds.sample(&mut generator);
            let county = &grid[..6];
            let sequence = sequences
                .entry((county.to_owned(), kind.code()))
                .or_insert(0);
            *sequence += 1;
            let Ok((code, _)) =
                ComponentCode::parse(&format!("{county}{}{:06}", kind.code(), sequence))
            else {
                continue;
            };
            let status = match generator.integer(1, 100) {
                1..=4 => ComponentStatus::Damaged,
                5 => ComponentStatus::Missing,
                _ => ComponentStatus::Intact,
            };
            components.push(Component {
                code,
                kind,
                location: GeoPoint {
                    longitude: west + (east - west) * generator.real(0.05, 0.95),
                    latitude: south + (north - south) * generator.real(0.05, 0.95),
                },
                grid: grid.to_owned(),
                owner: owner_of(kind).to_owned(),
                status,
                note: String::new(),
                updated_at: recorded_at,
                updated_by: "demo-generator".to_owned(),
            });
        }
    }
    let grades = WeightedTable::new(&[
        (SafetyGrade::A, 30),
        (SafetyGrade::B, 37),
        (SafetyGrade::C, 23),
        (SafetyGrade::D, 10),
    ]);
    let mut appraisals = Vec::new();
    let mut dangerous_buildings = 0;
    let mut report = 0;
    let appraisal = |building_id: &str, grade, day: NaiveDate, report: u32| Appraisal {
        id: 0,
        building_id: building_id.to_owned(),
        grade,
        appraised_on: day,
        agency: "市房屋安全鉴定中心".to_owned(),
        report_no: format!("房鉴（{}）第{report:04}号", chrono::Datelike::year(&day)),
        recorded_by: "demo-generator".to_owned(),
        recorded_at,
    };
    for building in &city.buildings {
        if !generator.chance(0.05) {
            continue;
        }
        let grade = grades.sample(&mut generator);
        let day = city.today - Duration::days(i64::from(generator.integer(30, 3 * 365)));
        report += 1;
        appraisals.push(appraisal(&building.id, grade, day, report));
        if grade == SafetyGrade::D && generator.chance(0.4) {
            // Repaired and appraised again.
            let again = day + Duration::days(i64::from(generator.integer(10, 29)));
            report += 1;
            appraisals.push(appraisal(&building.id, SafetyGrade::B, again, report));
        } else if grade.is_dangerous() {
            dangerous_buildings += 1;
        }
    }
    SyntheticFacilities {
        components,
        appraisals,
        dangerous_buildings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CityConfig;

    #[test]
    fn every_grid_has_covers_and_some_buildings_are_dangerous() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let city = crate::generate(
            &CityConfig {
                seed: 7,
                people: 60_000,
            },
            today,
        );
        let at =
            DateTime::<Utc>::from_naive_utc_and_offset(today.and_hms_opt(0, 0, 0).unwrap(), Utc);
        let made = facilities(&city, 7, at);
        let grids = grid_rectangles(&city, None);
        for (grid, _) in &grids {
            let covers = made.components.iter().filter(|c| c.grid == *grid).count();
            assert!((3..=8).contains(&covers), "{grid}: {covers}");
        }
        let index = city.grid_index();
        for component in &made.components {
            assert_eq!(
                index.grid_at(component.location),
                Some(component.grid.as_str())
            );
            assert_eq!(component.code.county(), &component.grid[..6]);
        }
        let mut codes: Vec<_> = made.components.iter().map(|c| c.code.clone()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(
            codes.len(),
            made.components.len(),
            "component codes are unique"
        );
        assert!(made.dangerous_buildings > 0);
        // The latest appraisal of each building decides; count them again from the list.
        let mut latest: BTreeMap<&str, &Appraisal> = BTreeMap::new();
        for appraisal in &made.appraisals {
            assert!(appraisal.appraised_on < today);
            let kept = latest.entry(&appraisal.building_id).or_insert(appraisal);
            if appraisal.appraised_on >= kept.appraised_on {
                *kept = appraisal;
            }
        }
        let dangerous = latest.values().filter(|a| a.grade.is_dangerous()).count();
        assert_eq!(dangerous, made.dangerous_buildings);
        assert!(
            latest.len() < made.appraisals.len(),
            "some buildings were appraised twice"
        );
        let again = facilities(&city, 7, at);
        assert_eq!(
            again.components, made.components,
            "the same seed, the same city"
        );
    }
}
