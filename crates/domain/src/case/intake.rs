//! A new case as it arrives from any channel (`CaseDraft`), checked into a [`NewCase`]
//! naming every wrong field at once.
//!
//! The location is a WGS84 point that must lie within the city's extent (the bounds of
//! its grids, given by the caller); which grid contains it, and so which community,
//! street and district, the caller finds with the grid index. A grid code holds its
//! parents: 6 digits of district, 9 of street, 12 of community (`area.rs`).

use super::category::Categories;
use super::flow::Path;
use crate::identifiers::{CitizenId, CreditCode, Phone};
use crate::registry::{FieldError, GeoPoint};

/// Where a case came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A grid worker's patrol (网格巡查).
    GridPatrol,
    /// A call to 12345.
    Hotline,
    /// An SMS to 12345.
    Sms,
    /// The resident portal.
    Portal,
    /// An Open311 GeoReport request.
    Open311,
    /// Referred by a department.
    Referral,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::GridPatrol,
        Channel::Hotline,
        Channel::Sms,
        Channel::Portal,
        Channel::Open311,
        Channel::Referral,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Channel::GridPatrol => "grid_patrol",
            Channel::Hotline => "hotline",
            Channel::Sms => "sms",
            Channel::Portal => "portal",
            Channel::Open311 => "open311",
            Channel::Referral => "referral",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.code() == text)
    }

    /// A patrol's findings follow the grid path; everything residents and departments
    /// send follows the hotline's.
    pub fn path(self) -> Path {
        match self {
            Channel::GridPatrol => Path::Grid,
            _ => Path::Hotline,
        }
    }
}

/// How urgent a case is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Normal,
    Urgent,
    Emergency,
}

impl Priority {
    pub fn code(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Urgent => "urgent",
            Priority::Emergency => "emergency",
        }
    }

    pub fn parse(text: &str) -> Option<Priority> {
        [Priority::Normal, Priority::Urgent, Priority::Emergency]
            .into_iter()
            .find(|priority| priority.code() == text)
    }
}

/// How the reporter wants to hear back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Callback {
    None,
    Phone,
    Sms,
}

impl Callback {
    pub fn code(self) -> &'static str {
        match self {
            Callback::None => "none",
            Callback::Phone => "phone",
            Callback::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Callback> {
        [Callback::None, Callback::Phone, Callback::Sms]
            .into_iter()
            .find(|callback| callback.code() == text)
    }
}

/// The city's extent: the bounding box of its grids, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bounds {
    pub min_longitude: f64,
    pub min_latitude: f64,
    pub max_longitude: f64,
    pub max_latitude: f64,
}

impl Bounds {
    pub fn contains(&self, point: GeoPoint) -> bool {
        (self.min_longitude..=self.max_longitude).contains(&point.longitude)
            && (self.min_latitude..=self.max_latitude).contains(&point.latitude)
    }

    /// The point at `longitude`, `latitude`, or the `location` error: `required` when
    /// either is missing (naming `what`, e.g. `("case", "案件")`), or naming the city's
    /// bounds when the point lies outside them (or is no point at all).
    pub fn place(
        &self,
        longitude: Option<f64>,
        latitude: Option<f64>,
        (what, what_zh): (&str, &str),
    ) -> Result<GeoPoint, FieldError> {
        let (Some(longitude), Some(latitude)) = (longitude, latitude) else {
            return Err(FieldError::new(
                "location",
                "",
                "required",
                format!("a {what} needs its location: longitude and latitude (WGS84)"),
                format!("须填写{what_zh}位置（WGS84 经纬度）"),
            ));
        };
        match GeoPoint::new(longitude, latitude) {
            Some(point) if self.contains(point) => Ok(point),
            _ => Err(FieldError::new(
                "location",
                &format!("{longitude},{latitude}"),
                "outside_city",
                format!(
                    "the location is outside the city: longitude {:.4}–{:.4}, latitude {:.4}–{:.4}",
                    self.min_longitude, self.max_longitude, self.min_latitude, self.max_latitude
                ),
                format!(
                    "位置不在本市范围内：经度 {:.4}–{:.4}，纬度 {:.4}–{:.4}",
                    self.min_longitude, self.max_longitude, self.min_latitude, self.max_latitude
                ),
            )),
        }
    }
}

/// A case as sent (the API's body, a patrol's report, a ticket form).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CaseDraft {
    pub channel: String,
    pub category: String,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub description: String,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub reporter_name: Option<String>,
    #[serde(default)]
    pub reporter_phone: Option<String>,
    /// `none`, `phone` or `sms`; by default `phone` when a phone is given.
    #[serde(default)]
    pub callback: Option<String>,
    /// The person, house, entity or city component (a manhole cover's 16-digit code)
    /// the case is about, if any.
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub house: Option<String>,
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default)]
    pub component: Option<String>,
}

/// The reporter, with how they want to hear back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<Phone>,
    pub callback: Callback,
}

/// A checked new case.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub channel: Channel,
    pub path: Path,
    pub category: String,
    pub location: GeoPoint,
    pub description: String,
    pub priority: Priority,
    pub reporter: Reporter,
    pub person: Option<CitizenId>,
    pub house: Option<String>,
    pub entity: Option<CreditCode>,
    pub component: Option<crate::facility::ComponentCode>,
}

/// The longest description kept.
pub const DESCRIPTION_LIMIT: usize = 2000;

impl CaseDraft {
    /// The draft checked against the categories and the city's extent.
    pub fn validate(
        &self,
        categories: &Categories,
        city: Bounds,
    ) -> Result<NewCase, Vec<FieldError>> {
        let mut errors = Vec::new();
        let channel = Channel::parse(self.channel.trim());
        if channel.is_none() {
            errors.push(FieldError::new(
                "channel",
                &self.channel,
                "unknown_channel",
                "the channel is one of grid_patrol, hotline, sms, portal, open311, referral",
                "渠道须为 grid_patrol、hotline、sms、portal、open311、referral 之一",
            ));
        }
        let category = self.category.trim();
        if categories.subcategory(category).is_none() {
            errors.push(FieldError::new(
                "category",
                category,
                "unknown_category",
                match categories.get(category) {
                    Some(class) => format!(
                        "{category} ({}) is a class: file the case under one of its subcategories",
                        class.name
                    ),
                    None => format!("{category} is not a case category"),
                },
                match categories.get(category) {
                    Some(class) => format!("{category}（{}）是大类，请选择其下的小类", class.name),
                    None => format!("{category} 不是案件类别"),
                },
            ));
        }
        let location = city
            .place(self.longitude, self.latitude, ("case", "案件"))
            .map_err(|error| errors.push(error))
            .ok();
        let description = self.description.trim();
        let length = description.chars().count();
        if !(5..=DESCRIPTION_LIMIT).contains(&length) {
            errors.push(FieldError::new(
                "description",
                description,
                "description_length",
                format!("the description is 5 to {DESCRIPTION_LIMIT} characters, not {length}"),
                format!("描述须为 5 至 {DESCRIPTION_LIMIT} 个字符"),
            ));
        }
        let priority = match self.priority.as_deref().map(str::trim) {
            None | Some("") => Some(Priority::Normal),
            Some(text) => {
                let parsed = Priority::parse(text);
                if parsed.is_none() {
                    errors.push(FieldError::new(
                        "priority",
                        text,
                        "unknown_priority",
                        "the priority is normal, urgent or emergency",
                        "优先级须为 normal、urgent 或 emergency",
                    ));
                }
                parsed
            }
        };
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let phone = identifier(
            &mut errors,
            "reporter_phone",
            given(&self.reporter_phone),
            Phone::parse,
        );
        let callback = match given(&self.callback) {
            None if phone.is_some() => Some(Callback::Phone),
            None => Some(Callback::None),
            Some(text) => {
                let parsed = Callback::parse(&text);
                match parsed {
                    None => errors.push(FieldError::new(
                        "callback",
                        &text,
                        "unknown_callback",
                        "the callback is none, phone or sms",
                        "回访方式须为 none、phone 或 sms",
                    )),
                    Some(Callback::Phone | Callback::Sms) if phone.is_none() => {
                        errors.push(FieldError::new(
                            "callback",
                            &text,
                            "callback_without_phone",
                            "a callback by phone or SMS needs the reporter's phone",
                            "电话或短信回访须填写报告人电话",
                        ))
                    }
                    _ => {}
                }
                parsed
            }
        };
        let person = identifier(&mut errors, "person", given(&self.person), CitizenId::parse);
        let entity = identifier(
            &mut errors,
            "entity",
            given(&self.entity),
            CreditCode::parse,
        );
        let component = given(&self.component).and_then(|code| {
            crate::facility::ComponentCode::parse(&code)
                .map(|(code, _)| code)
                .map_err(|error| {
                    errors.push(FieldError {
                        field: "component",
                        ..error
                    })
                })
                .ok()
        });
        let reporter_name = given(&self.reporter_name);
        if reporter_name
            .as_ref()
            .is_some_and(|name| name.chars().count() > 50)
        {
            errors.push(FieldError::new(
                "reporter_name",
                reporter_name.as_deref().unwrap_or_default(),
                "name_length",
                "the reporter's name is at most 50 characters",
                "报告人姓名不超过 50 个字符",
            ));
        }
        match (channel, location, priority, callback) {
            (Some(channel), Some(location), Some(priority), Some(callback))
                if errors.is_empty() =>
            {
                Ok(NewCase {
                    channel,
                    path: channel.path(),
                    category: category.to_owned(),
                    location,
                    description: description.to_owned(),
                    priority,
                    reporter: Reporter {
                        name: reporter_name,
                        phone,
                        callback,
                    },
                    person,
                    house: given(&self.house),
                    entity,
                    component,
                })
            }
            _ => Err(errors),
        }
    }
}

/// An optional identifier parsed, or its error added to `errors`.
fn identifier<T>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    text: Option<String>,
    parse: impl Fn(&str) -> Result<T, crate::identifiers::IdentifierError>,
) -> Option<T> {
    let text = text?;
    parse(&text)
        .map_err(|error| errors.push(FieldError::identifier(field, &text, &error)))
        .ok()
}

/// The community, street and district of a grid, from its code's prefixes.
pub fn grid_parents(grid: &str) -> Option<(&str, &str, &str)> {
    (grid.len() == 15 && grid.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| (&grid[..12], &grid[..9], &grid[..6]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Bounds {
        Bounds {
            min_longitude: 119.2,
            min_latitude: 32.2,
            max_longitude: 119.6,
            max_latitude: 32.5,
        }
    }

    fn draft() -> CaseDraft {
        CaseDraft {
            channel: "grid_patrol".into(),
            category: "P0101".into(),
            longitude: Some(119.43),
            latitude: Some(32.39),
            description: "文昌中路井盖破损，有行人绊倒风险".into(),
            reporter_phone: Some("13805251234".into()),
            ..CaseDraft::default()
        }
    }

    #[test]
    fn a_case_about_a_manhole_cover_names_it_by_its_component_code() {
        let categories = Categories::shipped().unwrap();
        let about = CaseDraft {
            component: Some(" 3210020102000042 ".into()),
            ..draft()
        };
        let case = about.validate(categories, bounds()).unwrap();
        assert_eq!(
            case.component.as_ref().map(|code| code.as_str()),
            Some("3210020102000042")
        );
        let opened = super::super::Case::open(
            case,
            None,
            "worker",
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 2, 9, 0, 0).unwrap(),
        );
        assert_eq!(opened.component.as_deref(), Some("3210020102000042"));
        let wrong = CaseDraft {
            component: Some("3210020201000001".into()),
            ..draft()
        };
        let errors = wrong.validate(categories, bounds()).unwrap_err();
        assert_eq!(
            errors
                .iter()
                .map(|error| (error.field, error.code))
                .collect::<Vec<_>>(),
            [("component", "not_a_manhole")]
        );
    }

    #[test]
    fn a_good_draft_becomes_a_case_on_its_channels_path() {
        let categories = Categories::shipped().unwrap();
        let case = draft().validate(categories, bounds()).unwrap();
        assert_eq!((case.channel, case.path), (Channel::GridPatrol, Path::Grid));
        assert_eq!(case.priority, Priority::Normal);
        assert_eq!(case.reporter.callback, Callback::Phone);
        let hotline = CaseDraft {
            channel: "hotline".into(),
            ..draft()
        };
        assert_eq!(
            hotline.validate(categories, bounds()).unwrap().path,
            Path::Hotline
        );
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let categories = Categories::shipped().unwrap();
        let wrong = CaseDraft {
            channel: "fax".into(),
            category: "P01".into(),
            longitude: Some(121.47),
            latitude: Some(31.23),
            description: "坏了".into(),
            priority: Some("asap".into()),
            reporter_phone: Some("1380525".into()),
            callback: Some("sms".into()),
            person: Some("110105194912310021".into()),
            ..CaseDraft::default()
        };
        let errors = wrong.validate(categories, bounds()).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|error| error.code).collect();
        assert!(codes.contains(&"unknown_channel"), "{codes:?}");
        assert!(codes.contains(&"unknown_category"), "{codes:?}");
        assert!(codes.contains(&"outside_city"), "{codes:?}");
        assert!(codes.contains(&"description_length"), "{codes:?}");
        assert!(codes.contains(&"unknown_priority"), "{codes:?}");
        assert!(codes.contains(&"callback_without_phone"), "{codes:?}");
        let fields: Vec<&str> = errors.iter().map(|error| error.field).collect();
        assert!(
            fields.contains(&"reporter_phone") && fields.contains(&"person"),
            "{fields:?}"
        );
        let outside = errors
            .iter()
            .find(|error| error.code == "outside_city")
            .unwrap();
        assert!(
            outside.message.contains("longitude 119.2000–119.6000"),
            "{}",
            outside.message
        );
        let class = errors
            .iter()
            .find(|error| error.code == "unknown_category")
            .unwrap();
        assert!(
            class.message_zh.contains("公用设施"),
            "{}",
            class.message_zh
        );
        let nowhere = CaseDraft {
            longitude: None,
            ..draft()
        };
        assert_eq!(
            nowhere.validate(categories, bounds()).unwrap_err()[0].code,
            "required"
        );
    }

    #[test]
    fn a_grid_code_names_its_community_street_and_district() {
        assert_eq!(
            grid_parents("321002001001003"),
            Some(("321002001001", "321002001", "321002"))
        );
        assert_eq!(grid_parents("32100200100100"), None);
    }
}
