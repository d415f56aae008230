//! The working calendar: which days government offices work, by the State Council's
//! annual holiday notices (法定节假日 and 调休上班), and deadlines counted in working days.
//!
//! The notices are kept as data (`data/holidays.tsv`, compiled in), one line per notice
//! item: the festival, its days off, its make-up workdays and the notice. A day is a
//! working day when it is a make-up workday, or a Monday to Friday that is not a day off.
//! The data covers the years it names as confirmed; a question about a day outside them
//! is refused ([`CalendarError::Unconfirmed`]) rather than answered with a guess, because
//! a deadline that silently skips next year's Spring Festival is wrong for a government
//! office. Sharing requests (issue 4) and the case engine's time limits (issue 5) use it.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind<'a> {
    /// Monday to Friday, no holiday.
    Workday,
    /// Saturday or Sunday, not a make-up workday.
    Weekend,
    /// A day off of a festival, by the notice.
    Holiday(&'a Festival),
    /// A Saturday or Sunday worked in exchange for a festival's days off.
    MakeUpWorkday(&'a Festival),
}

impl DayKind<'_> {
    pub fn is_working_day(&self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday(_))
    }
}

/// One item of a notice: a festival's days off and the weekend days worked for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Festival {
    /// The festival's name as the notice gives it, e.g. `春节`, `中秋节、国庆节`.
    pub name: String,
    /// The notice, e.g. `国务院办公厅关于2026年部分节假日安排的通知`, with its address.
    pub notice: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "no confirmed holiday calendar for {year}: the calendar covers {first}–{last}; \
         add the State Council's notice for {year} to the calendar data"
    )]
    Unconfirmed { year: i32, first: i32, last: i32 },
    #[error("holiday data, line {line}: {problem}")]
    Data { line: usize, problem: String },
}

#[derive(Debug, Clone, Copy)]
enum Special {
    Off(usize),
    Work(usize),
}

/// The special days of the confirmed years, and the festivals they belong to.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    first_year: i32,
    last_year: i32,
    festivals: Vec<Festival>,
    days: BTreeMap<NaiveDate, Special>,
}

static OFFICIAL: LazyLock<Result<WorkingCalendar, CalendarError>> =
    LazyLock::new(|| WorkingCalendar::parse(include_str!("../data/holidays.tsv")));

impl WorkingCalendar {
    /// The calendar of the State Council's notices, compiled in. Its data is checked by
    /// this module's tests, so an error here is a build that did not run them.
    pub fn official() -> Result<&'static WorkingCalendar, CalendarError> {
        OFFICIAL.as_ref().map_err(Clone::clone)
    }

    /// The first and last confirmed years.
    pub fn years(&self) -> (i32, i32) {
        (self.first_year, self.last_year)
    }

    /// Reads the data format of `data/holidays.tsv`: `#` comments, one `confirmed FIRST
    /// LAST` line, then `festival<TAB>days off<TAB>make-up workdays<TAB>notice` lines.
    pub fn parse(text: &str) -> Result<WorkingCalendar, CalendarError> {
        let mut years = None;
        let mut festivals = Vec::new();
        let mut days = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let problem = |problem: String| CalendarError::Data { line, problem };
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = raw.split('\t').collect();
            if fields[0] == "confirmed" {
                let year = |text: Option<&&str>| {
                    text.and_then(|text| text.parse::<i32>().ok())
                        .ok_or_else(|| {
                            problem("expected `confirmed<TAB>FIRST<TAB>LAST` years".into())
                        })
                };
                let (first, last) = (year(fields.get(1))?, year(fields.get(2))?);
                if first > last {
                    return Err(problem(format!(
                        "confirmed years {first}–{last} are reversed"
                    )));
                }
                years = Some((first, last));
                continue;
            }
            let [name, off, work, notice] = fields[..] else {
                return Err(problem(format!(
                    "expected 4 tab-separated fields (festival, days off, make-up workdays, notice), found {}",
                    fields.len()
                )));
            };
            let Some((first, last)) = years else {
                return Err(problem(
                    "the `confirmed` line must come before the festivals".into(),
                ));
            };
            let festival = festivals.len();
            festivals.push(Festival {
                name: name.to_owned(),
                notice: notice.to_owned(),
            });
            for (column, list, special) in [
                ("days off", off, Special::Off(festival)),
                ("make-up workdays", work, Special::Work(festival)),
            ] {
                for date in expand(list).map_err(|error| problem(format!("{column}: {error}")))? {
                    if !(first..=last).contains(&date.year()) {
                        return Err(problem(format!(
                            "{column}: {date} is outside the confirmed years {first}–{last}"
                        )));
                    }
                    if matches!(special, Special::Work(_)) && !is_weekend(date) {
                        return Err(problem(format!(
                            "make-up workdays: {date} is a {:?}, not a Saturday or Sunday",
                            date.weekday()
                        )));
                    }
                    if days.insert(date, special).is_some() {
                        return Err(problem(format!("{column}: {date} is listed twice")));
                    }
                }
            }
        }
        let Some((first_year, last_year)) = years else {
            return Err(CalendarError::Data {
                line: 0,
                problem: "no `confirmed` line".into(),
            });
        };
        Ok(WorkingCalendar {
            first_year,
            last_year,
            festivals,
            days,
        })
    }

    fn check(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if (self.first_year..=self.last_year).contains(&date.year()) {
            Ok(())
        } else {
            Err(CalendarError::Unconfirmed {
                year: date.year(),
                first: self.first_year,
                last: self.last_year,
            })
        }
    }

    /// What kind of day `date` is.
    pub fn kind(&self, date: NaiveDate) -> Result<DayKind<'_>, CalendarError> {
        self.check(date)?;
        Ok(match self.days.get(&date) {
            Some(Special::Off(festival)) => DayKind::Holiday(&self.festivals[*festival]),
            Some(Special::Work(festival)) => DayKind::MakeUpWorkday(&self.festivals[*festival]),
            None if is_weekend(date) => DayKind::Weekend,
            None => DayKind::Workday,
        })
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.kind(date)?.is_working_day())
    }

    /// The `n`th working day after `start` (not counting `start`): the last day of a
    /// time limit of `n` working days that begins on `start`. With `n` = 0, `start`
    /// itself if it is a working day, else the next working day.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut date = start;
        if n == 0 {
            while !self.is_working_day(date)? {
                date = next(date, self)?;
            }
            return Ok(date);
        }
        let mut counted = 0;
        while counted < n {
            date = next(date, self)?;
            if self.is_working_day(date)? {
                counted += 1;
            }
        }
        Ok(date)
    }

    /// The working days after `from` up to and including `to` (0 when `to` ≤ `from`).
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, CalendarError> {
        if to <= from {
            return Ok(0);
        }
        self.check(from)?;
        self.check(to)?;
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = next(date, self)?;
            if self.is_working_day(date)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Every festival of the data, in order.
    pub fn festivals(&self) -> &[Festival] {
        &self.festivals
    }
}

fn next(date: NaiveDate, calendar: &WorkingCalendar) -> Result<NaiveDate, CalendarError> {
    date.checked_add_days(Days::new(1))
        .ok_or(CalendarError::Unconfirmed {
            year: date.year(),
            first: calendar.first_year,
            last: calendar.last_year,
        })
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `-`, or a comma-separated list of dates and `a..b` ranges.
fn expand(list: &str) -> Result<Vec<NaiveDate>, String> {
    if list == "-" {
        return Ok(Vec::new());
    }
    let date = |text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("'{text}' is not a date (expected YYYY-MM-DD)"))
    };
    let mut dates = Vec::new();
    for item in list.split(',') {
        match item.split_once("..") {
            Some((from, to)) => {
                let (from, to) = (date(from)?, date(to)?);
                if to < from || (to - from).num_days() > 31 {
                    return Err(format!("'{item}' is not a range of at most a month"));
                }
                dates.extend(from.iter_days().take_while(|day| *day <= to));
            }
            None => dates.push(date(item)?),
        }
    }
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
    }

    fn calendar() -> &'static WorkingCalendar {
        WorkingCalendar::official().expect("the compiled-in holiday data parses")
    }

    fn kind_name(date: &str) -> String {
        match calendar().kind(day(date)).expect("a confirmed year") {
            DayKind::Workday => "workday".into(),
            DayKind::Weekend => "weekend".into(),
            DayKind::Holiday(festival) => format!("off {}", festival.name),
            DayKind::MakeUpWorkday(festival) => format!("work {}", festival.name),
        }
    }

    /// Sentences of the notices, each turned into the days it names.
    #[test]
    fn the_notices_published_examples_hold() {
        // 2026: 春节 2月15日（农历腊月二十八）至23日放假调休，共9天。2月14日（周六）、
        // 2月28日（周六）上班。
        for date in ["2026-02-15", "2026-02-16", "2026-02-19", "2026-02-23"] {
            assert_eq!(kind_name(date), "off 春节", "{date}");
        }
        assert_eq!(kind_name("2026-02-14"), "work 春节");
        assert_eq!(kind_name("2026-02-28"), "work 春节");
        assert_eq!(kind_name("2026-02-24"), "workday");
        // 2026: 国庆节 10月1日至7日放假调休，共7天。10月10日（周六）上班。
        assert_eq!(kind_name("2026-10-07"), "off 国庆节");
        assert_eq!(kind_name("2026-10-10"), "work 国庆节");
        assert_eq!(kind_name("2026-10-11"), "weekend");
        // 2020: 延长2020年春节假期至2月2日（农历正月初九，星期日），2月3日（星期一）起正常上班;
        // the 2月1日 make-up workday of the first notice fell with the extension.
        assert_eq!(kind_name("2020-01-31"), "off 春节");
        assert_eq!(kind_name("2020-02-01"), "off 春节");
        assert_eq!(kind_name("2020-02-02"), "off 春节");
        assert_eq!(kind_name("2020-02-03"), "workday");
        // 2016: 10月8日（星期六）、10月9日（星期日）上班 — the chinese_holiday crate has the
        // 9th as a day off.
        assert_eq!(kind_name("2016-10-09"), "work 国庆节");
        // 2017: 元旦 1月1日放假，1月2日（星期一）补休 — 2016-12-30 was an ordinary Friday.
        assert_eq!(kind_name("2016-12-30"), "workday");
        // 2024: 春节 2月10日至17日放假调休 — 除夕 (2月9日) was a working Friday.
        assert_eq!(kind_name("2024-02-09"), "workday");
        assert_eq!(kind_name("2024-02-04"), "work 春节");
        // 2019 劳动节, as the adjustment notice of 2019-03-22 left it: 5月1日至4日放假调休，
        // 4月28日（星期日）、5月5日（星期日）上班。
        assert_eq!(kind_name("2019-05-04"), "off 劳动节");
        assert_eq!(kind_name("2019-04-28"), "work 劳动节");
        assert_eq!(kind_name("2019-05-05"), "work 劳动节");
        // 2015: 9月3日至5日调休放假，共3天。9月6日（星期日）上班。
        assert!(kind_name("2015-09-04").starts_with("off 中国人民抗日战争"));
        assert!(kind_name("2015-09-06").starts_with("work 中国人民抗日战争"));
        // 2019 元旦, from the 2019 notice: 2018年12月30日至2019年1月1日放假调休，共3天。
        // 2018年12月29日（星期六）上班。
        assert_eq!(kind_name("2018-12-29"), "work 元旦");
        assert_eq!(kind_name("2018-12-31"), "off 元旦");
    }

    /// The national rule (全国年节及纪念日放假办法): 11 statutory days a year until 2024,
    /// 13 from 2025. Weekdays off less weekend days worked must come to that, plus the
    /// one-off days: 2015's anniversary (9月3日) and 2020's extension (1月31日 and the
    /// cancelled 2月1日 make-up day).
    #[test]
    fn every_year_gives_its_statutory_days() {
        let calendar = calendar();
        let (first, last) = calendar.years();
        assert_eq!((first, last), (2015, 2026));
        for year in first..=last {
            let mut weekdays_off = 0;
            let mut weekends_worked = 0;
            let start = NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January");
            for date in start.iter_days().take_while(|date| date.year() == year) {
                match calendar.kind(date).expect("a confirmed year") {
                    DayKind::Holiday(_) if !is_weekend(date) => weekdays_off += 1,
                    DayKind::MakeUpWorkday(_) => weekends_worked += 1,
                    _ => {}
                }
            }
            let expected = match year {
                2015 => 12,
                2020 => 13,
                2025.. => 13,
                _ => 11,
            };
            assert_eq!(weekdays_off - weekends_worked, expected, "{year}");
        }
    }

    #[test]
    fn deadlines_skip_holidays_and_count_make_up_days() {
        let calendar = calendar();
        // A request on Wednesday 2026-09-30, five working days: 10-01..07 are off,
        // Thursday 10-08 and Friday 10-09 count, Saturday 10-10 is worked, then Monday
        // 10-12 and Tuesday 10-13.
        assert_eq!(
            calendar.add_working_days(day("2026-09-30"), 5),
            Ok(day("2026-10-13"))
        );
        assert_eq!(
            calendar.working_days_between(day("2026-09-30"), day("2026-10-13")),
            Ok(5)
        );
        // Zero days: a holiday moves to the next working day.
        assert_eq!(
            calendar.add_working_days(day("2026-10-03"), 0),
            Ok(day("2026-10-08"))
        );
        assert_eq!(
            calendar.add_working_days(day("2026-10-08"), 0),
            Ok(day("2026-10-08"))
        );
        // Into a year without a notice: refused, with the year named.
        let refused = calendar.add_working_days(day("2026-12-28"), 5);
        assert_eq!(
            refused,
            Err(CalendarError::Unconfirmed {
                year: 2027,
                first: 2015,
                last: 2026
            })
        );
        assert!(refused.unwrap_err().to_string().contains("2027"));
        assert!(calendar.kind(day("2014-12-31")).is_err());
    }

    #[test]
    fn bad_data_is_refused_with_its_line() {
        let header = "confirmed\t2026\t2026\n";
        let cases = [
            ("春节\t2026-02-15\t2026-02-16\tn\n", "2026-02-16 is a Mon"),
            ("春节\t2026-02-15..2026-02-10\t-\tn\n", "not a range"),
            ("春节\t2026-02-30\t-\tn\n", "'2026-02-30' is not a date"),
            ("春节\t2026-02-15\n", "expected 4 tab-separated fields"),
            (
                "春节\t2026-02-15\t-\tn\n春节\t2026-02-15\t-\tn\n",
                "listed twice",
            ),
            ("春节\t2029-02-15\t-\tn\n", "outside the confirmed years"),
        ];
        for (body, expected) in cases {
            let error = WorkingCalendar::parse(&format!("{header}{body}")).unwrap_err();
            assert!(error.to_string().contains(expected), "{body:?}: {error}");
            assert!(error.to_string().contains("line 2") || error.to_string().contains("line 3"));
        }
        assert!(WorkingCalendar::parse("春节\t2026-02-15\t-\tn\n").is_err());
    }

    proptest! {
        /// A deadline lands on a working day, `n` working days on.
        #[test]
        fn a_deadline_is_n_working_days_on(offset in 0u64..4_000, n in 0u32..40) {
            let calendar = calendar();
            let start = day("2015-01-01") + Days::new(offset);
            if let Ok(deadline) = calendar.add_working_days(start, n) {
                prop_assert!(calendar.is_working_day(deadline).unwrap());
                if n > 0 {
                    prop_assert_eq!(calendar.working_days_between(start, deadline).unwrap(), n);
                }
            }
        }
    }
}
