//! The area tree (city → district → street → community → grid) and point-in-grid lookup.
//!
//! Areas carry their boundary as a WGS84 multipolygon. [`GridIndex`] answers "which unit
//! grid contains this point" with an R-tree over the grids' bounding boxes and an exact
//! point-in-polygon test on the few candidates, so a lookup costs microseconds even for
//! thousands of grids.

use crate::registry::GeoPoint;
use geo::{BoundingRect, Contains, MultiPolygon, Point};
use rstar::{AABB, RTree, RTreeObject};
use serde::{Deserialize, Serialize};

/// A node of the area tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// 6 digits for the city and districts (GB/T 2260), 9 for streets, 12 for communities,
    /// 15 for unit grids.
    pub code: String,
    pub name: String,
    pub level: AreaLevel,
    pub parent: Option<String>,
    pub boundary: Option<MultiPolygon<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl AreaLevel {
    pub fn code(self) -> &'static str {
        match self {
            AreaLevel::City => "city",
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
            AreaLevel::Grid => "grid",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AreaLevel::City => "市",
            AreaLevel::District => "区县",
            AreaLevel::Street => "街道",
            AreaLevel::Community => "社区",
            AreaLevel::Grid => "网格",
        }
    }

    pub fn parse(text: &str) -> Option<AreaLevel> {
        [
            AreaLevel::City,
            AreaLevel::District,
            AreaLevel::Street,
            AreaLevel::Community,
            AreaLevel::Grid,
        ]
        .into_iter()
        .find(|level| level.code() == text)
    }
}

/// A boundary as GeoJSON geometry text, the form it is stored and served in.
pub fn boundary_to_geojson(boundary: &MultiPolygon<f64>) -> String {
    geojson::Geometry::from(boundary).to_string()
}

/// A boundary from GeoJSON geometry text: a Polygon or a MultiPolygon.
pub fn boundary_from_geojson(text: &str) -> Result<MultiPolygon<f64>, String> {
    let geometry: geojson::Geometry = text
        .parse()
        .map_err(|error| format!("not GeoJSON: {error}"))?;
    match geo::Geometry::<f64>::try_from(geometry)
        .map_err(|error| format!("not a geometry: {error}"))?
    {
        geo::Geometry::MultiPolygon(multi) => Ok(multi),
        geo::Geometry::Polygon(polygon) => Ok(MultiPolygon::new(vec![polygon])),
        _ => Err("expected a Polygon or MultiPolygon".to_owned()),
    }
}

/// A grid's bounding box in the R-tree, pointing at the grid's position in the index.
struct GridEnvelope {
    envelope: AABB<[f64; 2]>,
    position: usize,
}

impl RTreeObject for GridEnvelope {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Point-in-grid lookup over the unit grids of a city.
pub struct GridIndex {
    tree: RTree<GridEnvelope>,
    grids: Vec<(String, MultiPolygon<f64>)>,
}

impl GridIndex {
    /// Indexes every area of level `Grid` that has a boundary; others are ignored.
    pub fn new<'a>(areas: impl IntoIterator<Item = &'a Area>) -> GridIndex {
        let grids: Vec<(String, MultiPolygon<f64>)> = areas
            .into_iter()
            .filter(|area| area.level == AreaLevel::Grid)
            .filter_map(|area| {
                area.boundary
                    .clone()
                    .map(|boundary| (area.code.clone(), boundary))
            })
            .collect();
        let envelopes = grids
            .iter()
            .enumerate()
            .filter_map(|(position, (_, boundary))| {
                boundary.bounding_rect().map(|rect| GridEnvelope {
                    envelope: AABB::from_corners(
                        [rect.min().x, rect.min().y],
                        [rect.max().x, rect.max().y],
                    ),
                    position,
                })
            })
            .collect();
        GridIndex {
            tree: RTree::bulk_load(envelopes),
            grids,
        }
    }

    /// The code of the grid containing the point, if any. A point on a shared edge belongs
    /// to no grid under the strict `Contains` test, so the boundary is tried as a fallback
    /// and the first grid touching it wins.
    pub fn grid_at(&self, point: GeoPoint) -> Option<&str> {
        let query = [point.longitude, point.latitude];
        let geo_point = Point::new(point.longitude, point.latitude);
        let mut touching: Option<&String> = None;
        for candidate in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point(query))
        {
            let (code, boundary) = &self.grids[candidate.position];
            if boundary.contains(&geo_point) {
                return Some(code.as_str());
            }
            if touching.is_none() && geo::Intersects::intersects(boundary, &geo_point) {
                touching = Some(code);
            }
        }
        touching.map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.grids.len()
    }

    /// The bounding box of every grid: the city's extent (`None` without grids).
    pub fn bounds(&self) -> Option<crate::case::intake::Bounds> {
        if self.grids.is_empty() {
            return None;
        }
        let envelope = self.tree.root().envelope();
        let (lower, upper) = (envelope.lower(), envelope.upper());
        Some(crate::case::intake::Bounds {
            min_longitude: lower[0],
            min_latitude: lower[1],
            max_longitude: upper[0],
            max_latitude: upper[1],
        })
    }

    pub fn is_empty(&self) -> bool {
        self.grids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Rect, coord};

    fn square(code: &str, x: f64, y: f64) -> Area {
        let rect = Rect::new(coord! { x: x, y: y }, coord! { x: x + 1.0, y: y + 1.0 });
        Area {
            code: code.into(),
            name: code.into(),
            level: AreaLevel::Grid,
            parent: None,
            boundary: Some(MultiPolygon::new(vec![rect.to_polygon()])),
        }
    }

    #[test]
    fn boundaries_round_trip_through_geojson() {
        let boundary = square("a", 119.4, 32.4).boundary.unwrap();
        let text = boundary_to_geojson(&boundary);
        assert!(text.contains("MultiPolygon"));
        assert_eq!(boundary_from_geojson(&text).unwrap(), boundary);
        assert!(boundary_from_geojson(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
        assert!(boundary_from_geojson("nonsense").is_err());
    }

    #[test]
    fn finds_the_grid_containing_a_point_and_none_outside() {
        let areas = [
            square("a", 0.0, 0.0),
            square("b", 1.0, 0.0),
            square("c", 0.0, 1.0),
        ];
        let index = GridIndex::new(&areas);
        let at = |x, y| {
            index.grid_at(GeoPoint {
                longitude: x,
                latitude: y,
            })
        };
        assert_eq!(at(0.5, 0.5), Some("a"));
        assert_eq!(at(1.5, 0.5), Some("b"));
        assert_eq!(at(0.5, 1.5), Some("c"));
        assert_eq!(at(1.5, 1.5), None);
        assert_eq!(at(-3.0, 0.5), None);
        // A shared edge still resolves to one of the touching grids, never to none.
        assert!(matches!(at(1.0, 0.5), Some("a") | Some("b")));
    }
}
