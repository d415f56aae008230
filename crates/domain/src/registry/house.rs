//! Buildings and houses (房屋): where people live and work, with owners and tenants.
//!
//! A house belongs to a building; both sit in a unit grid. Rentals record their tenants
//! because rental housing and the floating population are what grid workers visit.

use crate::identifiers::{CitizenId, GridCode};
use crate::registry::Address;

#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// A stable identifier, e.g. the grid code plus a building sequence.
    pub id: String,
    pub address: Address,
    pub grid: GridCode,
    pub floors: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct House {
    pub id: String,
    pub building_id: String,
    pub address: Address,
    pub grid: GridCode,
    pub usage: HouseUse,
    pub floor_area_m2: f64,
    pub owners: Vec<CitizenId>,
    pub rental: RentalState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HouseUse {
    Residential,
    Commercial,
    Office,
    Garage,
}

impl HouseUse {
    pub const CODES: &'static [&'static str] = &["residential", "commercial", "office", "garage"];

    pub fn code(self) -> &'static str {
        match self {
            HouseUse::Residential => "residential",
            HouseUse::Commercial => "commercial",
            HouseUse::Office => "office",
            HouseUse::Garage => "garage",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            HouseUse::Residential => "住宅",
            HouseUse::Commercial => "商业",
            HouseUse::Office => "办公",
            HouseUse::Garage => "车库",
        }
    }

    pub fn parse(text: &str) -> Option<HouseUse> {
        [
            HouseUse::Residential,
            HouseUse::Commercial,
            HouseUse::Office,
            HouseUse::Garage,
        ]
        .into_iter()
        .find(|usage| usage.code() == text || usage.label_zh() == text)
    }
}

/// Who lives in or uses a house.
#[derive(Debug, Clone, PartialEq)]
pub enum RentalState {
    /// 自住
    OwnerOccupied,
    /// 空置
    Vacant,
    /// 出租, with its tenants (承租人).
    Rented { tenants: Vec<CitizenId> },
}

impl RentalState {
    pub fn code(&self) -> &'static str {
        match self {
            RentalState::OwnerOccupied => "owner_occupied",
            RentalState::Vacant => "vacant",
            RentalState::Rented { .. } => "rented",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            RentalState::OwnerOccupied => "自住",
            RentalState::Vacant => "空置",
            RentalState::Rented { .. } => "出租",
        }
    }

    pub fn tenants(&self) -> &[CitizenId] {
        match self {
            RentalState::Rented { tenants } => tenants,
            _ => &[],
        }
    }
}

/// An unvalidated house from an import row or a form. Lists of identity numbers are
/// separated by `;`, `,`, `、` or whitespace.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HouseDraft {
    pub id: String,
    pub building_id: String,
    pub grid: String,
    pub usage: String,
    pub floor_area_m2: String,
    pub owners: String,
    /// `owner_occupied`, `vacant`, `rented` (or 自住, 空置, 出租).
    pub rental: String,
    pub tenants: String,
    pub district: String,
    pub street: String,
    pub community: String,
    pub road: String,
    pub number: String,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

impl HouseDraft {
    pub fn validate(&self) -> Result<House, Vec<crate::registry::FieldError>> {
        use crate::registry::{FieldError, GeoPoint};
        let mut errors = Vec::new();
        let identifier = |field: &'static str, value: &str, errors: &mut Vec<FieldError>| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > 64 {
                errors.push(FieldError::new(
                    field,
                    value,
                    "invalid_identifier",
                    format!("{field} must be 1–64 characters"),
                    format!("{field} 应为1至64个字符"),
                ));
            }
            value.to_owned()
        };
        let id = identifier("id", &self.id, &mut errors);
        let building_id = identifier("building_id", &self.building_id, &mut errors);
        let grid = GridCode::parse(&self.grid)
            .map_err(|error| errors.push(FieldError::identifier("grid", &self.grid, &error)))
            .ok();
        let usage = HouseUse::parse(self.usage.trim()).or_else(|| {
            errors.push(FieldError::not_one_of(
                "usage",
                &self.usage,
                HouseUse::CODES,
            ));
            None
        });
        let floor_area_m2 = match self.floor_area_m2.trim().parse::<f64>() {
            Ok(area) if area.is_finite() && area > 0.0 && area < 100_000.0 => Some(area),
            _ => {
                errors.push(FieldError::new(
                    "floor_area_m2",
                    &self.floor_area_m2,
                    "invalid_floor_area",
                    "floor area must be a number of square metres above 0 and below 100000",
                    "面积应为大于0且小于100000的平方米数",
                ));
                None
            }
        };
        let ids =
            |field: &'static str, text: &str, errors: &mut Vec<FieldError>| -> Vec<CitizenId> {
                text.split([';', ',', '、', ' ', '\t'])
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .filter_map(|id| {
                        CitizenId::parse(id)
                            .map_err(|error| errors.push(FieldError::identifier(field, id, &error)))
                            .ok()
                    })
                    .collect()
            };
        let owners = ids("owners", &self.owners, &mut errors);
        let tenants = ids("tenants", &self.tenants, &mut errors);
        let rental = match self.rental.trim() {
            "owner_occupied" | "自住" => Some(RentalState::OwnerOccupied),
            "vacant" | "空置" => Some(RentalState::Vacant),
            "rented" | "出租" => Some(RentalState::Rented {
                tenants: tenants.clone(),
            }),
            other => {
                errors.push(FieldError::not_one_of(
                    "rental",
                    other,
                    &["owner_occupied", "vacant", "rented"],
                ));
                None
            }
        };
        if !tenants.is_empty() && !matches!(rental, Some(RentalState::Rented { .. })) {
            errors.push(FieldError::new(
                "tenants",
                &self.tenants,
                "tenants_without_rental",
                "tenants are listed but the house is not rented",
                "登记了承租人，但房屋状态不是出租",
            ));
        }
        let coordinate = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::parse::<f64>)
        };
        let point = match (coordinate(&self.longitude), coordinate(&self.latitude)) {
            (None, None) => None,
            (Some(Ok(longitude)), Some(Ok(latitude)))
                if GeoPoint::new(longitude, latitude).is_some() =>
            {
                GeoPoint::new(longitude, latitude)
            }
            _ => {
                errors.push(FieldError::new(
                    "longitude",
                    &format!("{:?},{:?}", self.longitude, self.latitude),
                    "invalid_point",
                    "longitude and latitude must both be given, as WGS84 degrees",
                    "经度和纬度须同时填写，且为 WGS84 度数",
                ));
                None
            }
        };
        let optional = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        match (grid, usage, floor_area_m2, rental) {
            (Some(grid), Some(usage), Some(floor_area_m2), Some(rental)) if errors.is_empty() => {
                Ok(House {
                    id,
                    building_id,
                    address: Address {
                        district: self.district.trim().to_owned(),
                        street: self.street.trim().to_owned(),
                        community: self.community.trim().to_owned(),
                        road: self.road.trim().to_owned(),
                        number: self.number.trim().to_owned(),
                        building: optional(&self.building),
                        unit: optional(&self.unit),
                        room: optional(&self.room),
                        point,
                    },
                    grid,
                    usage,
                    floor_area_m2,
                    owners,
                    rental,
                })
            }
            _ => Err(errors),
        }
    }
}
