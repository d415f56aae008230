//! Time limits in working time (时限): office hours on the working days of the State
//! Council's calendar (`calendar::WorkingCalendar`), in Asia/Shanghai.
//!
//! A limit is a number of working minutes, hours or days. Minutes and hours count office
//! minutes forward from the moment a stage starts; a limit of `n` days ends when the
//! office day of the `n`th working day after the start ends (a case reported on Friday
//! afternoon with a two-day limit is due on Tuesday at closing time). Time while a case
//! is parked (挂账) or waiting for an extension's approval (延期申请) does not count, and
//! an approved extension adds to the limit. The share of the limit used gives the
//! warning: yellow from a configurable share (80 % by default), red when over.

use crate::calendar::{CalendarError, WorkingCalendar};
use crate::time::SHANGHAI;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// The unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    Minutes,
    Hours,
    Days,
}

/// A time limit in working time, e.g. `30m`, `4h`, `3d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limit {
    pub amount: u32,
    pub unit: LimitUnit,
}

impl Limit {
    /// A limit written as a number and a unit: `30m`, `4h`, `3d` (at most a year).
    pub fn parse(text: &str) -> Result<Limit, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("'{text}' has no unit: write 30m, 4h or 3d"))?;
        let (number, unit) = text.split_at(split);
        let amount: u32 = number
            .parse()
            .map_err(|_| format!("'{text}' does not start with a whole number"))?;
        let unit = match unit {
            "m" => LimitUnit::Minutes,
            "h" => LimitUnit::Hours,
            "d" => LimitUnit::Days,
            other => return Err(format!("'{other}' is not a unit: m, h or d")),
        };
        let limit = Limit { amount, unit };
        if amount == 0 || limit.rough_minutes() > 250 * 8 * 60 {
            return Err(format!(
                "'{text}' is not a limit between one minute and 250 working days"
            ));
        }
        Ok(limit)
    }

    fn rough_minutes(self) -> u64 {
        let amount = u64::from(self.amount);
        match self.unit {
            LimitUnit::Minutes => amount,
            LimitUnit::Hours => amount * 60,
            LimitUnit::Days => amount * 8 * 60,
        }
    }

    pub fn code(self) -> String {
        let unit = match self.unit {
            LimitUnit::Minutes => "m",
            LimitUnit::Hours => "h",
            LimitUnit::Days => "d",
        };
        format!("{}{unit}", self.amount)
    }

    /// How people read it: `30 个工作分钟`, `4 个工作小时`, `3 个工作日`.
    pub fn label_zh(self) -> String {
        match self.unit {
            LimitUnit::Minutes => format!("{} 个工作分钟", self.amount),
            LimitUnit::Hours => format!("{} 个工作小时", self.amount),
            LimitUnit::Days => format!("{} 个工作日", self.amount),
        }
    }
}

/// The office hours of a working day, as periods in Shanghai time, in order and apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

impl Default for OfficeHours {
    /// 08:30–12:00 and 13:30–17:30: seven and a half hours.
    fn default() -> Self {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        OfficeHours {
            periods: vec![(at(8, 30), at(12, 0)), (at(13, 30), at(17, 30))],
        }
    }
}

impl OfficeHours {
    /// Periods written as `08:30-12:00,13:30-17:30`.
    pub fn parse(text: &str) -> Result<OfficeHours, String> {
        let mut periods = Vec::new();
        for part in text.split(',') {
            let (start, end) = part
                .trim()
                .split_once('-')
                .ok_or_else(|| format!("'{part}' is not a period such as 08:30-12:00"))?;
            let time = |text: &str| {
                NaiveTime::parse_from_str(text.trim(), "%H:%M")
                    .map_err(|_| format!("'{text}' is not a time such as 08:30"))
            };
            periods.push((time(start)?, time(end)?));
        }
        let ordered = periods.iter().all(|(start, end)| start < end)
            && periods.windows(2).all(|pair| pair[0].1 <= pair[1].0);
        if periods.is_empty() || !ordered {
            return Err(format!(
                "'{text}' must list periods in order, each ending after it starts"
            ));
        }
        Ok(OfficeHours { periods })
    }

    /// Office minutes in a working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.periods
            .iter()
            .map(|(start, end)| (*end - *start).num_minutes())
            .sum()
    }

    /// The instant a working day's office hours end.
    fn closing(&self, day: NaiveDate) -> DateTime<Utc> {
        let end = self.periods.last().map(|(_, end)| *end).unwrap_or_default();
        shanghai_instant(day, end)
    }
}

fn shanghai_instant(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    day.and_time(time).and_utc() - Duration::hours(8)
}

/// Office hours on the working calendar: the clock time limits are counted on.
#[derive(Debug, Clone)]
pub struct WorkingTime<'a> {
    pub calendar: &'a WorkingCalendar,
    pub hours: OfficeHours,
}

impl WorkingTime<'_> {
    /// Working minutes from `from` to `to` (0 when `to` ≤ `from`).
    pub fn minutes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        if to <= from {
            return Ok(0);
        }
        let first = from.with_timezone(&SHANGHAI).date_naive();
        let last = to.with_timezone(&SHANGHAI).date_naive();
        let mut total = 0;
        let mut day = first;
        while day <= last {
            if self.calendar.is_working_day(day)? {
                for (start, end) in &self.hours.periods {
                    let start = shanghai_instant(day, *start).max(from);
                    let end = shanghai_instant(day, *end).min(to);
                    if end > start {
                        total += (end - start).num_minutes();
                    }
                }
            }
            day = day.succ_opt().unwrap_or(day);
            if day == NaiveDate::MAX {
                break;
            }
        }
        Ok(total)
    }

    /// The instant `minutes` working minutes after `from`.
    pub fn add_minutes(
        &self,
        from: DateTime<Utc>,
        minutes: i64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let mut left = minutes.max(0);
        let mut day = from.with_timezone(&SHANGHAI).date_naive();
        loop {
            if self.calendar.is_working_day(day)? {
                for (start, end) in &self.hours.periods {
                    let start = shanghai_instant(day, *start).max(from);
                    let end = shanghai_instant(day, *end);
                    if end <= start {
                        continue;
                    }
                    let available = (end - start).num_minutes();
                    if left <= available {
                        return Ok(start + Duration::minutes(left));
                    }
                    left -= available;
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
    }

    /// The working minutes an extension adds: a day is a whole office day.
    pub fn extension_minutes(&self, limit: Limit) -> i64 {
        let amount = i64::from(limit.amount);
        match limit.unit {
            LimitUnit::Minutes => amount,
            LimitUnit::Hours => amount * 60,
            LimitUnit::Days => amount * self.hours.minutes_per_day(),
        }
    }

    /// The working minutes a limit allows from `start`: for days, up to the end of the
    /// office day of the `n`th working day after the start's day.
    pub fn limit_minutes(&self, start: DateTime<Utc>, limit: Limit) -> Result<i64, CalendarError> {
        Ok(match limit.unit {
            LimitUnit::Minutes => i64::from(limit.amount),
            LimitUnit::Hours => i64::from(limit.amount) * 60,
            LimitUnit::Days => {
                let day = start.with_timezone(&SHANGHAI).date_naive();
                let last = self.calendar.add_working_days(day, limit.amount)?;
                self.minutes_between(start, self.hours.closing(last))?
            }
        })
    }
}

/// How a stage stands against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// Within the limit, below the yellow share.
    Green,
    /// At or past the yellow share of the limit (预警).
    Yellow,
    /// Over the limit (超时).
    Red,
}

/// A stage's clock: when it started, the limit and the extensions granted, and the
/// intervals it was paused.
#[derive(Debug, Clone, PartialEq)]
pub struct StageClock {
    pub started_at: DateTime<Utc>,
    pub limit: Limit,
    /// Working minutes added by approved extensions.
    pub extended_minutes: i64,
    /// Paused intervals; the last may be open (still paused).
    pub pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

/// Where a stage's clock stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ClockReading {
    /// Working minutes allowed, extensions included.
    pub allowed_minutes: i64,
    /// Working minutes used, pauses excluded.
    pub used_minutes: i64,
    /// When the limit runs out if the stage is not paused again; `None` while paused.
    pub due_at: Option<DateTime<Utc>>,
    pub paused: bool,
    pub warning: Warning,
}

impl StageClock {
    /// The reading at `now`, warning yellow from `yellow_share` (e.g. 0.8) of the limit.
    pub fn reading(
        &self,
        time: &WorkingTime<'_>,
        now: DateTime<Utc>,
        yellow_share: f64,
    ) -> Result<ClockReading, CalendarError> {
        let allowed = time.limit_minutes(self.started_at, self.limit)? + self.extended_minutes;
        let mut paused_minutes = 0;
        let mut paused = false;
        for (from, to) in &self.pauses {
            let end = match to {
                Some(to) => (*to).min(now),
                None => {
                    paused = true;
                    now
                }
            };
            paused_minutes += time.minutes_between((*from).max(self.started_at), end)?;
        }
        let used = (time.minutes_between(self.started_at, now)? - paused_minutes).max(0);
        // Paused time does not count, so the limit runs out that much later.
        let due_at = if paused {
            None
        } else {
            Some(time.add_minutes(self.started_at, allowed + paused_minutes)?)
        };
        let share = if allowed > 0 {
            used as f64 / allowed as f64
        } else {
            1.0
        };
        let warning = if used > allowed {
            Warning::Red
        } else if share >= yellow_share {
            Warning::Yellow
        } else {
            Warning::Green
        };
        Ok(ClockReading {
            allowed_minutes: allowed,
            used_minutes: used,
            due_at,
            paused,
            warning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time() -> WorkingTime<'static> {
        WorkingTime {
            calendar: WorkingCalendar::official().unwrap(),
            hours: OfficeHours::default(),
        }
    }

    /// An instant given in Shanghai time.
    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        shanghai_instant(
            NaiveDate::from_ymd_opt(y, mo, d).unwrap(),
            NaiveTime::from_hms_opt(h, mi, 0).unwrap(),
        )
    }

    #[test]
    fn limits_are_written_with_their_unit() {
        assert_eq!(
            Limit::parse("30m"),
            Ok(Limit {
                amount: 30,
                unit: LimitUnit::Minutes
            })
        );
        assert_eq!(Limit::parse(" 3d ").unwrap().code(), "3d");
        assert_eq!(Limit::parse("4h").unwrap().label_zh(), "4 个工作小时");
        for wrong in ["", "3", "d", "0h", "3w", "-2d", "1000d"] {
            assert!(Limit::parse(wrong).is_err(), "{wrong}");
        }
        assert_eq!(
            OfficeHours::parse("08:30-12:00,13:30-17:30"),
            Ok(OfficeHours::default())
        );
        assert_eq!(OfficeHours::default().minutes_per_day(), 450);
        assert!(OfficeHours::parse("13:30-17:30,08:30-12:00").is_err());
        assert!(OfficeHours::parse("9-5").is_err());
    }

    #[test]
    fn working_minutes_skip_lunch_nights_weekends_and_holidays() {
        let time = time();
        // Monday 2026-11-30, 11:00 to 14:00: an hour before lunch, half an hour after.
        assert_eq!(
            time.minutes_between(at(2026, 11, 30, 11, 0), at(2026, 11, 30, 14, 0)),
            Ok(90)
        );
        // Friday 16:30 to Monday 09:30: an hour on Friday, an hour on Monday.
        assert_eq!(
            time.minutes_between(at(2026, 11, 27, 16, 30), at(2026, 11, 30, 9, 30)),
            Ok(120)
        );
        // 2026-09-30 (Wednesday) 17:00 to 2026-10-09 (Friday) 09:00: the National Day
        // holiday (1–7 October) and no make-up workday in between, per the 2026 notice —
        // half an hour on the 30th, then 8 October and half an hour on the 9th.
        let eighth = NaiveDate::from_ymd_opt(2026, 10, 8).unwrap();
        let holiday = (1..=7).all(|day| {
            !time
                .calendar
                .is_working_day(NaiveDate::from_ymd_opt(2026, 10, day).unwrap())
                .unwrap()
        });
        assert!(holiday, "the 2026 notice gives 1–7 October off");
        let eighth_counts = if time.calendar.is_working_day(eighth).unwrap() {
            450
        } else {
            0
        };
        assert_eq!(
            time.minutes_between(at(2026, 9, 30, 17, 0), at(2026, 10, 9, 9, 0)),
            Ok(30 + eighth_counts + 30)
        );
        // Adding is the inverse of counting.
        let start = at(2026, 11, 27, 16, 30);
        let end = time.add_minutes(start, 120).unwrap();
        assert_eq!(end, at(2026, 11, 30, 9, 30));
        assert_eq!(time.minutes_between(start, end), Ok(120));
        // Outside office hours, the clock starts at the next opening.
        assert_eq!(
            time.add_minutes(at(2026, 11, 28, 10, 0), 30),
            Ok(at(2026, 11, 30, 9, 0))
        );
    }

    #[test]
    fn a_days_limit_ends_at_closing_time_of_its_last_working_day() {
        let time = time();
        // Reported Friday 2026-11-27 at 15:00 with two working days: due Tuesday 17:30.
        let start = at(2026, 11, 27, 15, 0);
        let limit = Limit::parse("2d").unwrap();
        let minutes = time.limit_minutes(start, limit).unwrap();
        assert_eq!(minutes, 150 + 2 * 450);
        assert_eq!(
            time.add_minutes(start, minutes),
            Ok(at(2026, 12, 1, 17, 30))
        );
    }

    #[test]
    fn the_clock_warns_pauses_and_counts_extensions() {
        let time = time();
        let clock = StageClock {
            started_at: at(2026, 11, 30, 9, 0),
            limit: Limit::parse("4h").unwrap(),
            extended_minutes: 0,
            pauses: Vec::new(),
        };
        let reading = clock.reading(&time, at(2026, 11, 30, 11, 0), 0.8).unwrap();
        assert_eq!(
            (reading.used_minutes, reading.warning),
            (120, Warning::Green)
        );
        assert_eq!(reading.due_at, Some(at(2026, 11, 30, 14, 30)));
        // 3 h 30 of 4 h: past 80 %.
        let reading = clock.reading(&time, at(2026, 11, 30, 14, 0), 0.8).unwrap();
        assert_eq!(
            (reading.used_minutes, reading.warning),
            (210, Warning::Yellow)
        );
        let reading = clock.reading(&time, at(2026, 11, 30, 15, 0), 0.8).unwrap();
        assert_eq!(reading.warning, Warning::Red);
        // Parked (挂账) from 10:00 to 13:45: 2 h + 15 min do not count.
        let parked = StageClock {
            pauses: vec![(at(2026, 11, 30, 10, 0), Some(at(2026, 11, 30, 13, 45)))],
            ..clock.clone()
        };
        let reading = parked.reading(&time, at(2026, 11, 30, 15, 0), 0.8).unwrap();
        assert_eq!(
            (reading.used_minutes, reading.warning),
            (135, Warning::Green)
        );
        // Due 2 h 15 min later than unparked: 14:30 → 16:45.
        assert_eq!(reading.due_at, Some(at(2026, 11, 30, 16, 45)));
        // Still parked: no due time, and the clock does not move.
        let still = StageClock {
            pauses: vec![(at(2026, 11, 30, 10, 0), None)],
            ..clock.clone()
        };
        let reading = still.reading(&time, at(2026, 12, 4, 15, 0), 0.8).unwrap();
        assert_eq!(
            (reading.used_minutes, reading.paused, reading.due_at),
            (60, true, None)
        );
        // An approved extension of two hours turns the red reading green (270 of 360).
        let extended = StageClock {
            extended_minutes: 120,
            ..clock
        };
        let reading = extended
            .reading(&time, at(2026, 11, 30, 15, 0), 0.8)
            .unwrap();
        assert_eq!(reading.warning, Warning::Green);
        assert_eq!(reading.due_at, Some(at(2026, 11, 30, 16, 30)));
    }

    #[test]
    fn a_limit_into_an_unconfirmed_year_is_refused() {
        let time = time();
        let start = at(2026, 12, 31, 10, 0);
        assert!(matches!(
            time.limit_minutes(start, Limit::parse("3d").unwrap()),
            Err(CalendarError::Unconfirmed { year: 2027, .. })
        ));
    }
}
