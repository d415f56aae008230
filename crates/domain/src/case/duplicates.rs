//! Duplicate reports (并单): an open case of the same category, near the new report in
//! place and time, whose description reads alike, is offered for merging. Nothing is
//! merged without a person deciding.
//!
//! Likeness of Chinese text is the Dice coefficient of character bigrams: Chinese has no
//! spaces to split words on, and two reports of one overflowing manhole share most of
//! their two-character runs (井盖, 盖破, 破损) whatever else they say.

use super::Case;
use crate::registry::GeoPoint;
use chrono::{DateTime, Duration, Utc};
use geo::{Distance, Haversine, Point};

/// When a report counts as a possible duplicate of an open case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicateRule {
    /// The farthest apart, in metres.
    pub radius_m: f64,
    /// The longest time apart.
    pub window: Duration,
    /// The least likeness of the descriptions (0 to 1).
    pub min_similarity: f64,
}

impl Default for DuplicateRule {
    /// 200 m, 7 days, a likeness of 0.2.
    fn default() -> Self {
        DuplicateRule {
            radius_m: 200.0,
            window: Duration::days(7),
            min_similarity: 0.2,
        }
    }
}

/// The report to find duplicates of: a case, or a draft not yet kept (`id` 0).
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    pub id: u64,
    pub category: &'a str,
    pub location: GeoPoint,
    pub description: &'a str,
    pub reported_at: DateTime<Utc>,
}

impl<'a> Probe<'a> {
    pub fn of(case: &'a Case) -> Probe<'a> {
        Probe {
            id: case.id,
            category: &case.category,
            location: case.location,
            description: &case.description,
            reported_at: case.reported_at,
        }
    }
}

/// An open case offered for merging, best first.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Suggestion {
    pub case_id: u64,
    pub distance_m: f64,
    pub similarity: f64,
    pub hours_apart: f64,
    /// Likeness, nearness in place and in time, weighted 5 : 3 : 2 (0 to 1).
    pub score: f64,
}

/// The box (min longitude, min latitude, max longitude, max latitude) that holds every
/// point within `radius_m` of `point`: what the store narrows its search to.
pub fn search_box(point: GeoPoint, radius_m: f64) -> (f64, f64, f64, f64) {
    const METRES_PER_DEGREE: f64 = 111_320.0;
    let latitude = radius_m / METRES_PER_DEGREE;
    let longitude = radius_m / (METRES_PER_DEGREE * point.latitude.to_radians().cos().max(0.01));
    (
        point.longitude - longitude,
        point.latitude - latitude,
        point.longitude + longitude,
        point.latitude + latitude,
    )
}

/// The metres between two points on the WGS84 sphere's mean radius.
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    Haversine.distance(
        Point::new(a.longitude, a.latitude),
        Point::new(b.longitude, b.latitude),
    )
}

/// The distinct character bigrams of `text`'s letters, digits and Chinese characters.
fn bigrams(text: &str) -> Vec<(char, char)> {
    let characters: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut pairs: Vec<(char, char)> = characters
        .windows(2)
        .map(|pair| (pair[0], pair[1]))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The Dice coefficient of the two texts' character bigrams: 1 for the same runs of
/// characters, 0 for none shared.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (bigrams(a), bigrams(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

impl DuplicateRule {
    /// The open cases among `candidates` that `probe` may duplicate, best first. The
    /// probe itself and cases already merged or closed are never offered.
    pub fn suggest(&self, probe: &Probe<'_>, candidates: &[Case]) -> Vec<Suggestion> {
        let window_hours = self.window.num_minutes() as f64 / 60.0;
        let mut found: Vec<Suggestion> = candidates
            .iter()
            .filter(|case| {
                case.id != probe.id
                    && case.category == probe.category
                    && case.flow.status.is_open()
                    && case.flow.merged_into.is_none()
            })
            .filter_map(|case| {
                let hours_apart =
                    (case.reported_at - probe.reported_at).num_minutes().abs() as f64 / 60.0;
                if hours_apart > window_hours {
                    return None;
                }
                let distance = distance_m(probe.location, case.location);
                if distance > self.radius_m {
                    return None;
                }
                let likeness = similarity(probe.description, &case.description);
                if likeness < self.min_similarity {
                    return None;
                }
                let score = 0.5 * likeness
                    + 0.3 * (1.0 - distance / self.radius_m.max(1.0))
                    + 0.2 * (1.0 - hours_apart / window_hours.max(1.0));
                Some(Suggestion {
                    case_id: case.id,
                    distance_m: (distance * 10.0).round() / 10.0,
                    similarity: (likeness * 1000.0).round() / 1000.0,
                    hours_apart: (hours_apart * 10.0).round() / 10.0,
                    score: (score * 1000.0).round() / 1000.0,
                })
            })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.case_id.cmp(&b.case_id)));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_of_one_broken_manhole_read_alike_and_others_do_not() {
        let one = "文昌中路和汶河路交叉口井盖破损，有行人差点踩空";
        let same = "汶河路口井盖破损了，很危险";
        let other = "小区门口暴露垃圾无人清运";
        assert!(similarity(one, same) > 0.2, "{}", similarity(one, same));
        assert!(similarity(one, other) < 0.1, "{}", similarity(one, other));
        assert_eq!(similarity(one, one), 1.0);
        assert_eq!(similarity("", one), 0.0);
    }

    #[test]
    fn the_search_box_holds_the_radius_in_every_direction() {
        let centre = GeoPoint {
            longitude: 119.43,
            latitude: 32.39,
        };
        let (min_lon, min_lat, max_lon, max_lat) = search_box(centre, 200.0);
        for corner in [
            GeoPoint {
                longitude: min_lon,
                latitude: centre.latitude,
            },
            GeoPoint {
                longitude: max_lon,
                latitude: centre.latitude,
            },
            GeoPoint {
                longitude: centre.longitude,
                latitude: min_lat,
            },
            GeoPoint {
                longitude: centre.longitude,
                latitude: max_lat,
            },
        ] {
            let metres = distance_m(centre, corner);
            assert!((199.0..=201.5).contains(&metres), "{metres}");
        }
    }
}
