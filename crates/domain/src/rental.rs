//! Rentals and the floating population (出租屋 / 流动人口, issue 5): the tenants a grid
//! worker registers at a rented house, from the day they moved in to the day they moved
//! out. A registration made more than [`REGISTRATION_DAYS`] after moving in is late and
//! flagged; the history stays.
//!
//! Tenancies are the grid's own record of who lives there. The house registry's rental
//! state (出租 with its tenants) belongs to the housing department's source and is not
//! changed by them.

use crate::identifiers::CitizenId;
use crate::registry::FieldError;
use chrono::{DateTime, NaiveDate, Utc};

/// Days after moving in within which a tenant is to be registered (the common municipal
/// rule for rented housing: 入住后 3 日内登记).
pub const REGISTRATION_DAYS: i64 = 3;

/// A tenant's stay at a house, as registered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tenancy {
    /// Given by the store; 0 before.
    pub id: u64,
    pub house_id: String,
    pub grid: String,
    pub tenant: CitizenId,
    pub tenant_name: Option<String>,
    pub moved_in: NaiveDate,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
    pub moved_out: Option<NaiveDate>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
}

impl Tenancy {
    /// Days the registration came after the allowed days (0 when on time).
    pub fn days_late(&self) -> i64 {
        let registered = self
            .registered_at
            .with_timezone(&crate::time::SHANGHAI)
            .date_naive();
        ((registered - self.moved_in).num_days() - REGISTRATION_DAYS).max(0)
    }

    pub fn is_current(&self) -> bool {
        self.moved_out.is_none()
    }
}

/// A registration as sent.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TenancyDraft {
    pub citizen_id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `YYYY-MM-DD`.
    pub moved_in: String,
}

fn date(field: &'static str, text: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            text,
            "invalid_date",
            format!("{field} is a date such as 2026-11-30"),
            format!("{field} 应为 2026-11-30 形式的日期"),
        )
    })
}

impl TenancyDraft {
    /// The tenant, their name and the day they moved in — not after `today`, nor more than
    /// ten years before — or every field at fault.
    pub fn validate(
        &self,
        today: NaiveDate,
    ) -> Result<(CitizenId, Option<String>, NaiveDate), Vec<FieldError>> {
        let mut errors = Vec::new();
        let tenant = CitizenId::parse(self.citizen_id.trim())
            .map_err(|error| {
                errors.push(FieldError::new(
                    "citizen_id",
                    &crate::access::mask_citizen_id(self.citizen_id.trim()),
                    "invalid_citizen_id",
                    error.to_string(),
                    "身份证号码不正确".to_owned(),
                ))
            })
            .ok();
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned);
        if name.as_ref().is_some_and(|name| name.chars().count() > 50) {
            errors.push(FieldError::new(
                "name",
                "",
                "invalid_length",
                "a name is at most 50 characters".to_owned(),
                "姓名最多 50 个字".to_owned(),
            ));
        }
        let moved_in = match date("moved_in", &self.moved_in) {
            Ok(day) if day > today => {
                errors.push(FieldError::new(
                    "moved_in",
                    &day.to_string(),
                    "in_the_future",
                    format!("moved_in ({day}) is after today ({today})"),
                    "入住日期晚于今天".to_owned(),
                ));
                None
            }
            Ok(day) if (today - day).num_days() > 3_653 => {
                errors.push(FieldError::new(
                    "moved_in",
                    &day.to_string(),
                    "too_long_ago",
                    "moved_in is more than ten years ago".to_owned(),
                    "入住日期早于十年前".to_owned(),
                ));
                None
            }
            Ok(day) => Some(day),
            Err(error) => {
                errors.push(error);
                None
            }
        };
        match (tenant, moved_in) {
            (Some(tenant), Some(moved_in)) if errors.is_empty() => Ok((tenant, name, moved_in)),
            _ => Err(errors),
        }
    }
}

/// The day a tenant moved out, given as `text`: not before they moved in, nor after today.
pub fn move_out_day(
    tenancy: &Tenancy,
    text: &str,
    today: NaiveDate,
) -> Result<NaiveDate, FieldError> {
    let day = date("moved_out", text)?;
    if day < tenancy.moved_in || day > today {
        return Err(FieldError::new(
            "moved_out",
            &day.to_string(),
            "out_of_range",
            format!(
                "moved_out is between the day they moved in ({}) and today ({today})",
                tenancy.moved_in
            ),
            "搬离日期须在入住日期与今天之间".to_owned(),
        ));
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn a_registration_after_three_days_is_late_by_the_days_past_them() {
        let (tenant, _, moved_in) = TenancyDraft {
            citizen_id: "11010519491231002X".into(),
            name: Some("张三".into()),
            moved_in: "2026-11-20".into(),
        }
        .validate(today())
        .unwrap();
        let tenancy = |day: u32| Tenancy {
            id: 0,
            house_id: "h".into(),
            grid: "321002001001001".into(),
            tenant: tenant.clone(),
            tenant_name: None,
            moved_in,
            registered_at: crate::time::SHANGHAI
                .with_ymd_and_hms(2026, 11, day, 23, 0, 0)
                .unwrap()
                .with_timezone(&Utc),
            registered_by: "w".into(),
            moved_out: None,
            ended_at: None,
            ended_by: None,
        };
        assert_eq!(tenancy(23).days_late(), 0, "the third day after is in time");
        assert_eq!(tenancy(30).days_late(), 7);
        let stay = tenancy(23);
        assert!(move_out_day(&stay, "2026-11-19", today()).is_err());
        assert!(move_out_day(&stay, "2026-12-01", today()).is_err());
        assert_eq!(
            move_out_day(&stay, "2026-11-25", today())
                .unwrap()
                .to_string(),
            "2026-11-25"
        );
    }

    #[test]
    fn a_draft_names_each_fault_and_never_echoes_the_identity_number() {
        let faults = TenancyDraft {
            citizen_id: "110105194912310021".into(),
            name: None,
            moved_in: "2026-12-05".into(),
        }
        .validate(today())
        .unwrap_err();
        let fields: Vec<&str> = faults.iter().map(|fault| fault.field).collect();
        assert_eq!(fields, ["citizen_id", "moved_in"]);
        assert!(!faults[0].value.contains("19491231"), "{:?}", faults[0]);
    }
}
