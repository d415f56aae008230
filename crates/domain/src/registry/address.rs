//! Standard addresses (标准地址): district / street / community / road / number / building /
//! unit / room, with a WGS84 point.

use serde::{Deserialize, Serialize};

/// A WGS84 longitude/latitude pair. Department data in GCJ-02 or BD-09 must be converted
/// before it becomes a `GeoPoint`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub longitude: f64,
    pub latitude: f64,
}

impl GeoPoint {
    /// A point, if both coordinates are finite and inside the WGS84 ranges.
    pub fn new(longitude: f64, latitude: f64) -> Option<GeoPoint> {
        let valid = longitude.is_finite()
            && latitude.is_finite()
            && (-180.0..=180.0).contains(&longitude)
            && (-90.0..=90.0).contains(&latitude);
        valid.then_some(GeoPoint {
            longitude,
            latitude,
        })
    }
}

/// A structured standard address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Address {
    pub district: String,
    pub street: String,
    pub community: String,
    pub road: String,
    /// The door number on the road (门牌号), e.g. `18号`.
    pub number: String,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub point: Option<GeoPoint>,
}

impl Address {
    /// The address as it is written on a form: `广陵区文昌街道文昌社区文昌中路18号3幢2单元501室`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}{}{}{}{}",
            self.district, self.street, self.community, self.road, self.number
        );
        if let Some(building) = &self.building {
            line.push_str(building);
            line.push('幢');
        }
        if let Some(unit) = &self.unit {
            line.push_str(unit);
            line.push_str("单元");
        }
        if let Some(room) = &self.room {
            line.push_str(room);
            line.push('室');
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_joins_parts_in_chinese_order() {
        let address = Address {
            district: "广陵区".into(),
            street: "文昌街道".into(),
            community: "文昌社区".into(),
            road: "文昌中路".into(),
            number: "18号".into(),
            building: Some("3".into()),
            unit: Some("2".into()),
            room: Some("501".into()),
            point: None,
        };
        assert_eq!(
            address.line(),
            "广陵区文昌街道文昌社区文昌中路18号3幢2单元501室"
        );
    }

    #[test]
    fn points_outside_wgs84_are_refused() {
        assert!(GeoPoint::new(119.4, 32.4).is_some());
        assert!(GeoPoint::new(200.0, 32.4).is_none());
        assert!(GeoPoint::new(119.4, f64::NAN).is_none());
    }
}
