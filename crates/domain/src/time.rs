//! Time in Huimin: instants are UTC, what a person reads is Asia/Shanghai.
//!
//! China has kept UTC+08:00 without daylight saving since 1991, so a fixed offset is exact
//! for every date the registries deal in as "now"; historical birth dates are plain dates
//! and carry no zone. The domain never reads the clock: functions take `now`.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// The offset of Asia/Shanghai (China Standard Time).
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid offset"),
};

/// The calendar date in Shanghai at an instant: "today" for validation rules.
pub fn shanghai_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&SHANGHAI).date_naive()
}

/// The instant a day begins in Asia/Shanghai (00:00 +08:00).
pub fn shanghai_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8)
}

/// The Shanghai day of a Unix day number counted from an instant shifted by +08:00 (what
/// the store's daily counts group by).
pub fn shanghai_day_number(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(day))
}

/// An instant formatted for people: `2026-11-22 12:15` in Shanghai time.
pub fn shanghai_display(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&SHANGHAI)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Whole years of age on `today` for someone born on `birth_date`.
pub fn age_on(birth_date: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(birth_date).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn shanghai_date_rolls_over_at_sixteen_utc() {
        let before = Utc.with_ymd_and_hms(2026, 11, 21, 15, 59, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap();
        assert_eq!(shanghai_date(before).to_string(), "2026-11-21");
        assert_eq!(shanghai_date(after).to_string(), "2026-11-22");
        assert_eq!(shanghai_display(after), "2026-11-22 00:00");
    }

    #[test]
    fn age_counts_whole_years() {
        let birth = NaiveDate::from_ymd_opt(1949, 12, 31).unwrap();
        assert_eq!(
            age_on(birth, NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()),
            76
        );
        assert_eq!(
            age_on(birth, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            77
        );
        assert_eq!(
            age_on(birth, NaiveDate::from_ymd_opt(1940, 1, 1).unwrap()),
            0
        );
    }
}
