//! The area tree of the synthetic city — 扬州市 (321000) with its districts 广陵区, 邗江区
//! and 江都区, generated streets (街道), communities (社区) and unit grids (网格) — and its
//! geometry.
//!
//! The geometry is deliberately simple and exact: the city is a rectangle around
//! (119.40 E, 32.39 N); each level cuts its parent rectangle into strips along the
//! parent's longer side, in proportion to the number of grids below each child, and each
//! community is cut into rows of equal grid cells. Children therefore tile their parent
//! with shared edges and no gaps or overlaps, and every grid has the same area. The number
//! of grids follows the population (about 400 residents per grid), and communities and
//! streets follow the grids. This module owns codes, names, rectangles and each grid's
//! resident quota; it must not create people or buildings.

use crate::generator::{Generator, apportion, split_evenly};
use crate::names;
use geo::{MultiPolygon, Rect, coord};
use huimin_domain::area::{Area, AreaLevel};
use huimin_domain::identifiers::{AreaCode, DivisionCode, GridCode};
use std::collections::BTreeSet;

/// The GB/T 2260 code of the city the demo is modelled on.
pub(crate) const CITY_CODE: &str = "321000";

/// The districts, with weights roughly in proportion to their resident populations.
const DISTRICTS: [(&str, f64); 3] = [("321002", 0.28), ("321003", 0.33), ("321012", 0.39)];

/// The city centre, near 文昌阁.
const CENTRE_LONGITUDE: f64 = 119.40;
const CENTRE_LATITUDE: f64 = 32.39;

/// A grid is about 340 m × 330 m: 400 residents on 0.11 km² is an urban density.
const GRID_WIDTH_DEGREES: f64 = 0.0036;
const GRID_HEIGHT_DEGREES: f64 = 0.0030;

const RESIDENTS_PER_GRID: f64 = 400.0;
const GRIDS_PER_COMMUNITY: f64 = 9.0;
const COMMUNITIES_PER_STREET: f64 = 6.0;

/// Metres per degree of latitude, and of longitude at the city's latitude (cos 32.39°),
/// used only to decide which side of a rectangle is longer.
const METRES_PER_DEGREE_LATITUDE: f64 = 111_320.0;
const METRES_PER_DEGREE_LONGITUDE: f64 = 111_320.0 * 0.844_4;

/// The planned city: the area records plus what later stages need to place people,
/// buildings and entities.
pub(crate) struct CityLayout {
    pub areas: Vec<Area>,
    pub districts: Vec<DistrictLayout>,
    pub streets: Vec<StreetLayout>,
    pub communities: Vec<CommunityLayout>,
    pub grids: Vec<GridLayout>,
}

pub(crate) struct DistrictLayout {
    pub code: AreaCode,
}

pub(crate) struct StreetLayout {
    pub name: String,
    pub district: usize,
}

pub(crate) struct CommunityLayout {
    pub name: String,
    pub street: usize,
    /// The roads whose door numbers address the community's buildings: a section of the
    /// street's main road and a smaller road of the community's own.
    pub roads: Vec<String>,
}

pub(crate) struct GridLayout {
    pub code: GridCode,
    pub community: usize,
    pub rectangle: Rect<f64>,
    /// How many people the population stage places in this grid.
    pub resident_quota: u32,
}

impl CityLayout {
    pub(crate) fn district_of_grid(&self, grid: usize) -> usize {
        self.streets[self.communities[self.grids[grid].community].street].district
    }

    pub(crate) fn street_of_grid(&self, grid: usize) -> &StreetLayout {
        &self.streets[self.communities[self.grids[grid].community].street]
    }

    pub(crate) fn community_of_grid(&self, grid: usize) -> &CommunityLayout {
        &self.communities[self.grids[grid].community]
    }
}

/// Plans the city for `people` residents.
pub(crate) fn lay_out(generator: &mut Generator, people: u32) -> CityLayout {
    let city_code =
        AreaCode::parse(CITY_CODE).expect("321000 扬州市 is in the embedded GB/T 2260 table");
    let district_codes: Vec<AreaCode> = DISTRICTS
        .iter()
        .map(|(code, _)| {
            AreaCode::parse(code).expect("扬州's districts are in the embedded GB/T 2260 table")
        })
        .collect();

    // Rounding is intended: the number of grids is the population over 400, at least one
    // per district.
    let grid_count =
        ((f64::from(people) / RESIDENTS_PER_GRID).round() as u32).max(DISTRICTS.len() as u32);
    let district_weights: Vec<f64> = DISTRICTS.iter().map(|(_, weight)| *weight).collect();
    let mut grids_per_district = apportion(grid_count, &district_weights);
    ensure_at_least_one_each(&mut grids_per_district);

    let side = f64::from(grid_count).sqrt();
    let width = side * GRID_WIDTH_DEGREES;
    let height = side * GRID_HEIGHT_DEGREES;
    let city_rectangle = Rect::new(
        coord! { x: CENTRE_LONGITUDE - width / 2.0, y: CENTRE_LATITUDE - height / 2.0 },
        coord! { x: CENTRE_LONGITUDE + width / 2.0, y: CENTRE_LATITUDE + height / 2.0 },
    );
    let district_rectangles = split_rectangle(city_rectangle, &grids_per_district);

    let mut layout = CityLayout {
        areas: Vec::new(),
        districts: Vec::new(),
        streets: Vec::new(),
        communities: Vec::new(),
        grids: Vec::new(),
    };
    let mut city_areas = vec![Area {
        code: city_code.as_str().to_owned(),
        name: city_code.name().to_owned(),
        level: AreaLevel::City,
        parent: None,
        boundary: Some(boundary(city_rectangle)),
    }];
    let mut street_areas = Vec::new();
    let mut community_areas = Vec::new();
    let mut grid_areas = Vec::new();
    let mut used_stems = BTreeSet::new();

    for (district_index, ((district_code, district_grids), district_rectangle)) in district_codes
        .iter()
        .zip(&grids_per_district)
        .zip(district_rectangles)
        .enumerate()
    {
        city_areas.push(Area {
            code: district_code.as_str().to_owned(),
            name: district_code.name().to_owned(),
            level: AreaLevel::District,
            parent: Some(city_code.as_str().to_owned()),
            boundary: Some(boundary(district_rectangle)),
        });
        layout.districts.push(DistrictLayout {
            code: *district_code,
        });

        // Rounding is intended: whole numbers of communities and streets.
        let community_count = ((f64::from(*district_grids) / GRIDS_PER_COMMUNITY).round() as u32)
            .clamp(1, *district_grids);
        let street_count =
            ((f64::from(community_count) / COMMUNITIES_PER_STREET).round() as u32).max(1);
        let communities_per_street = split_evenly(community_count, street_count);
        let grids_per_community = split_evenly(*district_grids, community_count);
        let grids_per_street: Vec<u32> = {
            let mut next_community = 0_usize;
            communities_per_street
                .iter()
                .map(|count| {
                    let end = next_community + *count as usize;
                    let sum = grids_per_community[next_community..end].iter().sum();
                    next_community = end;
                    sum
                })
                .collect()
        };
        let street_rectangles = split_rectangle(district_rectangle, &grids_per_street);

        let mut next_community = 0_usize;
        for (street_number, (communities_here, street_rectangle)) in communities_per_street
            .iter()
            .zip(street_rectangles)
            .enumerate()
        {
            let street_code =
                DivisionCode::from_parts(district_code, sequence_number(street_number), None)
                    .expect(
                        "a district of the table with a street number 1–999 makes a street code",
                    );
            let street_stem = names::unique_place_stem(generator, &mut used_stems);
            let street_name = format!("{street_stem}街道");
            let main_road_sections: Vec<&str> = {
                let mut sections = names::ROAD_SECTIONS.to_vec();
                generator.shuffle(&mut sections);
                sections
            };
            street_areas.push(Area {
                code: street_code.as_str().to_owned(),
                name: street_name.clone(),
                level: AreaLevel::Street,
                parent: Some(district_code.as_str().to_owned()),
                boundary: Some(boundary(street_rectangle)),
            });
            let street_index = layout.streets.len();
            layout.streets.push(StreetLayout {
                name: street_name,
                district: district_index,
            });

            let community_grid_counts =
                &grids_per_community[next_community..next_community + *communities_here as usize];
            next_community += *communities_here as usize;
            let community_rectangles = split_rectangle(street_rectangle, community_grid_counts);
            for (community_number, (grids_here, community_rectangle)) in community_grid_counts
                .iter()
                .zip(community_rectangles)
                .enumerate()
            {
                let community_code = DivisionCode::from_parts(
                    district_code,
                    sequence_number(street_number),
                    Some(sequence_number(community_number)),
                )
                .expect("street and community numbers 1–999 make a community code");
                let community_stem = names::unique_place_stem(generator, &mut used_stems);
                let community_name = format!("{community_stem}社区");
                let main_road = format!(
                    "{street_stem}{}",
                    main_road_sections[community_number % main_road_sections.len()]
                );
                let small_road = format!(
                    "{community_stem}{}",
                    generator.pick(names::SMALL_ROAD_ENDINGS)
                );
                community_areas.push(Area {
                    code: community_code.as_str().to_owned(),
                    name: community_name.clone(),
                    level: AreaLevel::Community,
                    parent: Some(street_code.as_str().to_owned()),
                    boundary: Some(boundary(community_rectangle)),
                });
                let community_index = layout.communities.len();
                layout.communities.push(CommunityLayout {
                    name: community_name.clone(),
                    street: street_index,
                    roads: vec![main_road, small_road],
                });

                for (grid_number, grid_rectangle) in grid_cells(community_rectangle, *grids_here)
                    .into_iter()
                    .enumerate()
                {
                    let grid_code =
                        GridCode::from_parts(&community_code, sequence_number(grid_number))
                            .expect("a community code and a sequence 1–999 make a grid code");
                    grid_areas.push(Area {
                        code: grid_code.as_str().to_owned(),
                        name: format!("{community_name}第{}网格", grid_number + 1),
                        level: AreaLevel::Grid,
                        parent: Some(community_code.as_str().to_owned()),
                        boundary: Some(boundary(grid_rectangle)),
                    });
                    layout.grids.push(GridLayout {
                        code: grid_code,
                        community: community_index,
                        rectangle: grid_rectangle,
                        resident_quota: 0,
                    });
                }
            }
        }
    }

    // Grids differ in size of population by up to a quarter either way, and the quotas
    // add up to exactly the requested population.
    let grid_weights: Vec<f64> = layout
        .grids
        .iter()
        .map(|_| generator.real(0.75, 1.25))
        .collect();
    for (grid, quota) in layout
        .grids
        .iter_mut()
        .zip(apportion(people, &grid_weights))
    {
        grid.resident_quota = quota;
    }

    layout.areas = city_areas;
    layout.areas.append(&mut street_areas);
    layout.areas.append(&mut community_areas);
    layout.areas.append(&mut grid_areas);
    layout
}

/// A 1-based three-digit code number from a 0-based position. Positions never exceed
/// 998 because each level holds at most a few dozen children at a million residents,
/// but the conversion saturates rather than wrapping, so a city too large for the codes
/// fails loudly at the code constructor instead of reusing codes.
fn sequence_number(position: usize) -> u16 {
    u16::try_from(position + 1).unwrap_or(u16::MAX)
}

fn ensure_at_least_one_each(parts: &mut [u32]) {
    for index in 0..parts.len() {
        if parts[index] == 0 {
            let largest = (0..parts.len())
                .max_by_key(|&other| parts[other])
                .unwrap_or(index);
            if parts[largest] > 1 {
                parts[largest] -= 1;
                parts[index] = 1;
            }
        }
    }
}

fn boundary(rectangle: Rect<f64>) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![rectangle.to_polygon()])
}

/// Cuts a rectangle into strips along its longer side, in proportion to `weights`. The
/// cut between two strips is computed once and shared by both, so the strips tile the
/// rectangle exactly.
fn split_rectangle(rectangle: Rect<f64>, weights: &[u32]) -> Vec<Rect<f64>> {
    let (minimum, maximum) = (rectangle.min(), rectangle.max());
    let width_metres = (maximum.x - minimum.x) * METRES_PER_DEGREE_LONGITUDE;
    let height_metres = (maximum.y - minimum.y) * METRES_PER_DEGREE_LATITUDE;
    let cuts = cut_positions(weights);
    let mut strips = Vec::with_capacity(weights.len());
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let strip = if width_metres >= height_metres {
            Rect::new(
                coord! { x: interpolate(minimum.x, maximum.x, from), y: minimum.y },
                coord! { x: interpolate(minimum.x, maximum.x, to), y: maximum.y },
            )
        } else {
            Rect::new(
                coord! { x: minimum.x, y: interpolate(minimum.y, maximum.y, from) },
                coord! { x: maximum.x, y: interpolate(minimum.y, maximum.y, to) },
            )
        };
        strips.push(strip);
    }
    strips
}

/// Cuts a community into `count` equal cells: rows of nearly equal length, each row as
/// high as its share of the cells, so every cell has the same area.
fn grid_cells(rectangle: Rect<f64>, count: u32) -> Vec<Rect<f64>> {
    if count == 0 {
        return Vec::new();
    }
    let (minimum, maximum) = (rectangle.min(), rectangle.max());
    let width_metres = (maximum.x - minimum.x) * METRES_PER_DEGREE_LONGITUDE;
    let height_metres = (maximum.y - minimum.y) * METRES_PER_DEGREE_LATITUDE;
    // Rounding is intended: as many columns as make cells closest to square.
    let columns = ((f64::from(count) * width_metres / height_metres.max(f64::MIN_POSITIVE))
        .sqrt()
        .round() as u32)
        .clamp(1, count);
    let rows = count.div_ceil(columns);
    let cells_per_row = split_evenly(count, rows);
    let row_cuts = cut_positions(&cells_per_row);
    let mut cells = Vec::with_capacity(count as usize);
    for (row_pair, cells_in_row) in row_cuts.windows(2).zip(&cells_per_row) {
        let bottom = interpolate(minimum.y, maximum.y, row_pair[0]);
        let top = interpolate(minimum.y, maximum.y, row_pair[1]);
        let column_cuts = cut_positions(&vec![1; *cells_in_row as usize]);
        for column_pair in column_cuts.windows(2) {
            cells.push(Rect::new(
                coord! { x: interpolate(minimum.x, maximum.x, column_pair[0]), y: bottom },
                coord! { x: interpolate(minimum.x, maximum.x, column_pair[1]), y: top },
            ));
        }
    }
    cells
}

/// The cumulative fractions 0, w1/W, (w1+w2)/W, …, 1 as (numerator, denominator) pairs,
/// so the last cut is exactly the far edge.
fn cut_positions(weights: &[u32]) -> Vec<(u64, u64)> {
    let total: u64 = weights
        .iter()
        .map(|weight| u64::from(*weight))
        .sum::<u64>()
        .max(1);
    let mut cuts = Vec::with_capacity(weights.len() + 1);
    let mut cumulative = 0_u64;
    cuts.push((0, total));
    for weight in weights {
        cumulative += u64::from(*weight);
        cuts.push((cumulative, total));
    }
    if let Some(last) = cuts.last_mut() {
        *last = (total, total);
    }
    cuts
}

/// The coordinate at a fraction of the way from `start` to `end`; exactly `start` and
/// `end` at the ends, so neighbouring rectangles share their edges bit for bit.
fn interpolate(start: f64, end: f64, (numerator, denominator): (u64, u64)) -> f64 {
    if numerator == 0 {
        start
    } else if numerator >= denominator {
        end
    } else {
        start + (end - start) * (numerator as f64 / denominator as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Stage;
    use chrono::NaiveDate;
    use geo::Area as _;

    fn layout(people: u32) -> CityLayout {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
        lay_out(
            &mut Generator::for_stage(5, Stage::Geography, today),
            people,
        )
    }

    #[test]
    fn quotas_add_up_and_hierarchy_sizes_follow_the_population() {
        for people in [0, 1_000, 20_000, 250_000] {
            let city = layout(people);
            assert_eq!(
                city.grids
                    .iter()
                    .map(|grid| grid.resident_quota)
                    .sum::<u32>(),
                people
            );
            assert_eq!(city.districts.len(), 3);
            assert!(city.grids.len() >= 3);
        }
        let city = layout(250_000);
        let per_community = 250_000 / city.communities.len();
        assert!(
            (3_000..=5_000).contains(&per_community),
            "{per_community} residents per community"
        );
        let communities_per_street = city.communities.len() / city.streets.len();
        assert!(
            (4..=10).contains(&communities_per_street),
            "{communities_per_street} communities per street"
        );
    }

    #[test]
    fn cells_tile_their_rectangle() {
        let rectangle = Rect::new(
            coord! { x: 119.0, y: 32.0 },
            coord! { x: 119.013, y: 32.007 },
        );
        for count in 1..40 {
            let cells = grid_cells(rectangle, count);
            assert_eq!(cells.len(), count as usize);
            let total: f64 = cells.iter().map(|cell| cell.unsigned_area()).sum();
            assert!((total - rectangle.unsigned_area()).abs() <= 1e-12 * rectangle.unsigned_area());
        }
    }
}
