//! A year of cases for the synthetic city (issue 5): grid patrols and hotline calls with a
//! realistic category mix, seasons and working-hour peaks, each run through the domain's
//! closed loop step by step, so every timeline is one the engine itself would accept.
//!
//! About 8 % of cases run over a stage's limit, some are reworked (返工 / 重办), some are
//! merged into an earlier report of the same problem (并单), a few are voided; cases
//! reported near `today` are still open. [`CaseTruth`] counts what was planted, for tests.

use crate::City;
use crate::generator::{Generator, Stage, WeightedTable};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use huimin_domain::case::category::Categories;
use huimin_domain::case::flow::{Action, Level, Path};
use huimin_domain::case::intake::{Callback, Channel, NewCase, Priority, Reporter};
use huimin_domain::case::limits::{OfficeHours, WorkingTime};
use huimin_domain::case::{Case, CaseEvent, Timing};
use huimin_domain::identifiers::Phone;
use huimin_domain::registry::GeoPoint;
use huimin_domain::time::SHANGHAI;
use std::collections::BTreeMap;

/// Which cases to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseConfig {
    pub seed: u64,
    /// How many reports over the year (merged duplicates included).
    pub count: u32,
    /// Only grids whose code starts with this (a district, say); all grids when `None`.
    pub area: Option<String>,
    /// The id of the first case; the rest follow one by one.
    pub first_id: u64,
}

/// What was planted, to check the indicators against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseTruth {
    pub reports: u32,
    pub voided: u32,
    pub merged: u32,
    /// Cases with at least one stage planted over its limit.
    pub late: u32,
    pub reworked: u32,
    /// Still waiting for work on `today`.
    pub open: u32,
}

/// The generated cases with their timelines, in id order.
#[derive(Debug, Clone)]
pub struct SyntheticCases {
    pub cases: Vec<(Case, Vec<CaseEvent>)>,
    pub truth: CaseTruth,
}

/// The lead department of a subcategory's cases.
fn lead_of(category: &str) -> &'static str {
    match category {
        "P0104" => "ranqi",
        "P0105" | "H0101" => "gongshui",
        "P0102" | "H0102" => "gongdian",
        "P0103" | "G0401" | "G0402" => "xiaofang",
        "P0201" | "P0202" | "P0203" | "E0302" | "E0503" => "jiaotong",
        "P0401" | "P0402" => "yuanlin",
        "G0201" | "G0502" => "gongan",
        "G0301" => "yingji",
        "G0501" | "G0503" | "H0106" => "minzheng",
        "G0601" | "G0602" | "G0701" | "E0301" => "zhujian",
        "H0104" => "jiaoyu",
        "H0105" => "weijian",
        "H0103" | "H0107" => "jiedao",
        code if code.starts_with('G') => "jiedao",
        _ => "chengguan",
    }
}

/// How often each class is reported, per mille, on the grid and on the hotline.
const CLASS_WEIGHTS: [(&str, u32, u32); 15] = [
    ("P01", 90, 40),
    ("P02", 40, 20),
    ("P03", 40, 15),
    ("P04", 30, 10),
    ("E01", 200, 60),
    ("E02", 80, 15),
    ("E03", 50, 60),
    ("E04", 20, 20),
    ("E05", 160, 70),
    ("G01", 60, 60),
    ("G02", 30, 20),
    ("G03", 30, 10),
    ("G04", 50, 20),
    ("G05", 40, 10),
    ("G06", 40, 20),
];

const PLACES: [&str; 8] = [
    "附近",
    "门口",
    "路口",
    "小区内",
    "东侧",
    "西门外",
    "菜场旁",
    "公交站旁",
];
const TAILS: [&str; 8] = [
    "请尽快处理",
    "影响居民出行",
    "已持续多日",
    "存在安全隐患",
    "居民反映强烈",
    "多次反映未解决",
    "夜间尤其明显",
    "希望相关部门处理",
];

/// One case being written: the case, its timeline, and when the loop may go no further.
struct Writer<'a> {
    case: Case,
    events: Vec<CaseEvent>,
    timing: &'a Timing<'a>,
    end: DateTime<Utc>,
    /// The time of the last step.
    at: DateTime<Utc>,
    /// False once a step would fall after `end`: the case stays where it is.
    going: bool,
}

impl Writer<'_> {
    /// Takes `action` by `actor` at `at`, if the loop is still going and `at` is past.
    fn step(&mut self, action: Action, actor: &str, at: DateTime<Utc>) -> bool {
        if !self.going || at > self.end {
            self.going = false;
            return false;
        }
        let at = at.max(self.at);
        match self.case.advance_timed(&action, actor, at, self.timing) {
            Ok((next, mut event)) => {
                event.seq = self.events.len() as u64 + 1;
                self.events.push(event);
                self.case = next;
                self.at = at;
                true
            }
            Err(_) => {
                self.going = false;
                false
            }
        }
    }

    /// [`Writer::step`] at [`Writer::after`]`(share)`; `false` when that instant cannot be
    /// counted (past the calendar's confirmed years), and the case stops where it is.
    fn step_after(&mut self, share: f64, action: Action, actor: &str) -> bool {
        let Some(when) = self.after(share) else {
            return false;
        };
        self.step(action, actor, when);
        true
    }

    /// The instant when `share` of the running stage's limit will have been used
    /// (working time, pauses aside), or a minute after the last step if that is past; an
    /// hour's share after it when the stage has no limit.
    fn after(&self, share: f64) -> Option<DateTime<Utc>> {
        let time = &self.timing.time;
        let minutes = match self.timing.reading(&self.case, self.at) {
            Some(reading) => {
                let target = (reading.allowed_minutes as f64 * share).round() as i64;
                (target - reading.used_minutes).max(1)
            }
            None => (60.0 * share).round().max(1.0) as i64,
        };
        time.add_minutes(self.at, minutes).ok()
    }
}

/// Generates `config.count` reports over the year before `city.today`.
pub fn cases(city: &City, config: &CaseConfig) -> SyntheticCases {
    let mut generator = Generator::for_stage(config.seed, Stage::Cases, city.today);
    let categories = Categories::shipped().expect("the shipped categories parse");
    let calendar =
        huimin_domain::calendar::WorkingCalendar::official().expect("the shipped calendar parses");
    let timing = Timing {
        categories,
        time: WorkingTime {
            calendar,
            hours: OfficeHours::default(),
        },
        yellow_share: 0.8,
    };
    let names: BTreeMap<&str, &str> = city
        .areas
        .iter()
        .map(|area| (area.code.as_str(), area.name.as_str()))
        .collect();
    let grids = crate::grid_rectangles(city, config.area.as_deref());
    let mut out = SyntheticCases {
        cases: Vec::new(),
        truth: CaseTruth::default(),
    };
    if grids.is_empty() || config.count == 0 {
        return out;
    }
    let index = city.grid_index();
    let end = start_of(city.today);
    let days = day_table(city.today);
    let grid_classes = class_table(categories, false);
    let hotline_classes = class_table(categories, true);
    let grid_hours = WeightedTable::new(&[
        (8, 6),
        (9, 14),
        (10, 14),
        (11, 10),
        (13, 4),
        (14, 12),
        (15, 12),
        (16, 10),
        (17, 2),
    ]);
    let hotline_hours = WeightedTable::new(&[
        (7, 2),
        (8, 6),
        (9, 12),
        (10, 13),
        (11, 10),
        (12, 5),
        (13, 6),
        (14, 10),
        (15, 10),
        (16, 9),
        (17, 6),
        (18, 4),
        (19, 4),
        (20, 3),
        (21, 2),
    ]);
    let satisfaction = WeightedTable::new(&[(5_u8, 45), (4, 35), (3, 12), (2, 5), (1, 3)]);
    let mut id = config.first_id;
    while out.truth.reports < config.count {
        // A report, or (2 %) a second report of the last problem, while it is still open.
        let duplicate_of = out
            .cases
            .last()
            .filter(|(case, _)| case.flow.merged_into.is_none() && generator.chance(0.02))
            .map(|(case, _)| case.clone());
        let hotline = generator.chance(0.4);
        let (grid, category, point, reported_at) = match &duplicate_of {
            Some(target) => (
                target.grid.clone().unwrap_or_default(),
                target.category.clone(),
                GeoPoint {
                    longitude: target.location.longitude + generator.real(-0.0003, 0.0003),
                    latitude: target.location.latitude + generator.real(-0.0003, 0.0003),
                },
                target.reported_at + Duration::minutes(i64::from(generator.integer(10, 180))),
            ),
            None => {
                let (grid, (x0, y0, x1, y1)) = *generator.pick(&grids);
                // A point of the grid: its rectangle may reach into a neighbour.
                let mut point = GeoPoint {
                    longitude: (x0 + x1) / 2.0,
                    latitude: (y0 + y1) / 2.0,
                };
                for _ in 0..8 {
                    let candidate = GeoPoint {
                        longitude: generator.real(x0, x1),
                        latitude: generator.real(y0, y1),
                    };
                    if index.grid_at(candidate) == Some(grid) {
                        point = candidate;
                        break;
                    }
                }
                let day = days.sample(&mut generator);
                let hour = if hotline {
                    hotline_hours.sample(&mut generator)
                } else {
                    grid_hours.sample(&mut generator)
                };
                let minute = generator.integer(0, 59);
                let class = if hotline {
                    hotline_classes.sample(&mut generator)
                } else {
                    grid_classes.sample(&mut generator)
                };
                let subcategories: Vec<&str> = categories
                    .all()
                    .iter()
                    .filter(|category| category.parent.as_deref() == Some(class))
                    .map(|category| category.code.as_str())
                    .collect();
                let category = (*generator.pick(&subcategories)).to_owned();
                let at = SHANGHAI
                    .with_ymd_and_hms(day.year(), day.month(), day.day(), hour, minute, 0)
                    .single()
                    .map_or(end, |local| local.with_timezone(&Utc));
                (grid.to_owned(), category, point, at)
            }
        };
        if reported_at >= end {
            continue;
        }
        // The point must lie in the grid (a grid's rectangle may be cut by its neighbour).
        let grid = index.grid_at(point).map_or(grid, str::to_owned);
        let hotline = duplicate_of
            .as_ref()
            .map_or(hotline, |target| target.flow.path == Path::Hotline);
        let description = describe(&mut generator, categories, &names, &grid, &category);
        let worker = format!("grid.{grid}");
        let phone = Phone::parse(&format!(
            "1{}{:08}",
            generator.pick(&["38", "39", "58", "59", "86", "87"]),
            generator.integer(0, 99_999_999)
        ))
        .ok();
        let new = NewCase {
            channel: if hotline {
                *generator.pick(&[
                    Channel::Hotline,
                    Channel::Hotline,
                    Channel::Hotline,
                    Channel::Hotline,
                    Channel::Sms,
                    Channel::Portal,
                ])
            } else {
                Channel::GridPatrol
            },
            path: if hotline { Path::Hotline } else { Path::Grid },
            category: category.clone(),
            location: point,
            description,
            priority: if generator.chance(0.03) {
                Priority::Urgent
            } else {
                Priority::Normal
            },
            reporter: if hotline {
                Reporter {
                    name: None,
                    phone,
                    callback: if generator.chance(0.8) {
                        Callback::Phone
                    } else {
                        Callback::None
                    },
                }
            } else {
                Reporter {
                    name: None,
                    phone: None,
                    callback: Callback::None,
                }
            },
            person: None,
            house: None,
            entity: None,
            component: None,
        };
        let reporter = if hotline {
            format!("agent.{:02}", generator.integer(1, 20))
        } else {
            worker.clone()
        };
        let mut case = Case::open(new, Some(grid.clone()), &reporter, reported_at);
        case.id = id;
        let report = CaseEvent {
            seq: 1,
            action: None,
            actor: reporter.clone(),
            at: reported_at,
            from: None,
            to: case.flow.status,
        };
        let mut writer = Writer {
            case,
            events: vec![report],
            timing: &timing,
            end,
            at: reported_at,
            going: true,
        };
        let dispatcher = format!("dispatcher.{}", &grid[..6.min(grid.len())]);
        let mut late = false;
        // The share of a stage's limit a step takes: now and then over it.
        let mut pace = |generator: &mut Generator, late_chance: f64| {
            if generator.chance(late_chance) {
                late = true;
                generator.real(1.15, 2.5)
            } else {
                generator.real(0.05, 0.75)
            }
        };
        if let Some(target) = &duplicate_of {
            let at = writer.after(pace(&mut generator, 0.0));
            if let Some(at) = at {
                writer.step(Action::Merge { into: target.id }, &dispatcher, at);
            }
        } else if hotline {
            run_hotline(&mut writer, &mut generator, &mut pace, &satisfaction);
        } else {
            run_grid(
                &mut writer,
                &mut generator,
                &mut pace,
                &satisfaction,
                &dispatcher,
            );
        }
        let case = &writer.case;
        let truth = &mut out.truth;
        truth.reports += 1;
        truth.voided += u32::from(case.flow.status == huimin_domain::case::flow::Status::Voided);
        truth.merged += u32::from(case.flow.merged_into.is_some());
        truth.late += u32::from(late && !case.milestones.overdue.is_empty());
        truth.reworked += u32::from(case.milestones.reworked);
        truth.open += u32::from(case.flow.status.is_open());
        out.cases.push((writer.case, writer.events));
        id += 1;
    }
    out
}

type Pace<'p> = dyn FnMut(&mut Generator, f64) -> f64 + 'p;

fn run_grid(
    writer: &mut Writer<'_>,
    generator: &mut Generator,
    pace: &mut Pace<'_>,
    satisfaction: &WeightedTable<u8>,
    dispatcher: &str,
) {
    let worker = writer.case.reported_by.clone();
    let lead = lead_of(&writer.case.category);
    let officer = format!("{lead}.officer");
    // 自行处置: solved on the spot, verified by the dispatcher.
    if generator.chance(0.1) {
        if !writer.step_after(
            generator.real(0.05, 0.5),
            Action::SelfHandle {
                note: "已现场处置".into(),
            },
            &worker,
        ) {
            return;
        }
        writer.step_after(
            pace(generator, 0.01),
            Action::Verify {
                passed: true,
                note: String::new(),
            },
            dispatcher,
        );
        return;
    }
    let Some(when) = writer.after(pace(generator, 0.01)) else {
        return;
    };
    if generator.chance(0.03) {
        writer.step(
            Action::Void {
                reason: "不属于受理范围".into(),
            },
            dispatcher,
            when,
        );
        return;
    }
    writer.step(Action::Register, dispatcher, when);
    let Some(when) = writer.after(pace(generator, 0.01)) else {
        return;
    };
    let level = if generator.chance(0.7) {
        Level::Street
    } else {
        Level::District
    };
    writer.step(
        Action::Dispatch {
            lead: lead.to_owned(),
            assisting: Vec::new(),
            level,
            reason: None,
        },
        dispatcher,
        when,
    );
    handle(writer, generator, pace, &officer, dispatcher);
    // 核查, with 7 % sent back (返工) once.
    let Some(when) = writer.after(pace(generator, 0.01)) else {
        return;
    };
    if generator.chance(0.07) {
        writer.step(
            Action::Verify {
                passed: false,
                note: "现场核查未处置到位".into(),
            },
            &worker,
            when,
        );
        if !writer.step_after(
            pace(generator, 0.02),
            Action::Feedback {
                note: "已重新处置".into(),
            },
            &officer,
        ) {
            return;
        }
        if !writer.step_after(
            pace(generator, 0.01),
            Action::Verify {
                passed: true,
                note: String::new(),
            },
            &worker,
        ) {
            return;
        }
    } else {
        writer.step(
            Action::Verify {
                passed: true,
                note: String::new(),
            },
            &worker,
            when,
        );
    }
    if generator.chance(0.6)
        && let Some(when) = writer.after(generator.real(0.1, 0.5))
    {
        let level = satisfaction.sample(generator);
        writer.step(
            Action::Rate {
                satisfaction: level,
            },
            &worker,
            when,
        );
    }
}

/// The department signs for the case and answers, with the odd 挂账 or 延期 on the way.
fn handle(
    writer: &mut Writer<'_>,
    generator: &mut Generator,
    pace: &mut Pace<'_>,
    officer: &str,
    dispatcher: &str,
) {
    if !writer.step_after(generator.real(0.01, 0.08), Action::Accept, officer) {
        return;
    }
    if generator.chance(0.02) {
        if !writer.step_after(
            generator.real(0.05, 0.2),
            Action::Park {
                reason: "等待天气条件".into(),
            },
            dispatcher,
        ) {
            return;
        }
        let resumed = writer
            .timing
            .time
            .add_minutes(writer.at, i64::from(generator.integer(450, 1350)))
            .ok();
        let Some(when) = resumed else { return };
        writer.step(Action::Unpark, dispatcher, when);
    }
    if generator.chance(0.03) {
        let Some(when) = writer.after(generator.real(0.2, 0.5)) else {
            return;
        };
        let limit = huimin_domain::case::limits::Limit::parse("2d").expect("a limit");
        writer.step(
            Action::RequestExtension {
                limit,
                reason: "需协调多个部门".into(),
            },
            officer,
            when,
        );
        if !writer.step_after(
            0.02,
            Action::DecideExtension {
                approved: true,
                note: String::new(),
            },
            dispatcher,
        ) {
            return;
        }
    }
    let share = pace(generator, 0.06);
    writer.step_after(
        share,
        Action::Feedback {
            note: "已按要求处置".into(),
        },
        officer,
    );
}

fn run_hotline(
    writer: &mut Writer<'_>,
    generator: &mut Generator,
    pace: &mut Pace<'_>,
    satisfaction: &WeightedTable<u8>,
) {
    let agent = writer.case.reported_by.clone();
    let centre = format!("agent.{:02}", generator.integer(21, 30));
    let lead = lead_of(&writer.case.category);
    let officer = format!("{lead}.officer");
    let Some(when) = writer.after(pace(generator, 0.01)) else {
        return;
    };
    if generator.chance(0.02) {
        writer.step(
            Action::Void {
                reason: "无效来电".into(),
            },
            &centre,
            when,
        );
        return;
    }
    if writer.case.category.starts_with("H01") && generator.chance(0.5) || generator.chance(0.1) {
        writer.step(
            Action::AnswerDirectly {
                note: "按知识库答复".into(),
            },
            &agent,
            when,
        );
    } else {
        let level = *generator.pick(&[Level::Street, Level::District, Level::City]);
        writer.step(
            Action::Dispatch {
                lead: lead.to_owned(),
                assisting: Vec::new(),
                level,
                reason: None,
            },
            &centre,
            when,
        );
        handle(writer, generator, pace, &officer, &centre);
    }
    if !writer.step_after(pace(generator, 0.01), Action::Conclude, &centre) {
        return;
    }
    if writer.case.reporter.callback == Callback::None {
        return;
    }
    let Some(when) = writer.after(pace(generator, 0.01)) else {
        return;
    };
    let reached = generator.chance(0.85);
    let level = reached.then(|| satisfaction.sample(generator));
    writer.step(
        Action::CallBack {
            reached,
            satisfaction: level,
        },
        &centre,
        when,
    );
    // 重办: an unhappy caller's ticket goes back to the department once.
    if level.is_some_and(|level| level <= 2)
        && writer.case.flow.lead.is_some()
        && generator.chance(0.5)
    {
        if !writer.step_after(
            0.02,
            Action::Reopen {
                reason: "群众不满意，重新办理".into(),
            },
            &centre,
        ) {
            return;
        }
        if !writer.step_after(
            pace(generator, 0.03),
            Action::Feedback {
                note: "已重新办理".into(),
            },
            &officer,
        ) {
            return;
        }
        if !writer.step_after(0.1, Action::Conclude, &centre) {
            return;
        }
        let Some(when) = writer.after(0.2) else {
            return;
        };
        let level = satisfaction.sample(generator).max(3);
        writer.step(
            Action::CallBack {
                reached: true,
                satisfaction: Some(level),
            },
            &centre,
            when,
        );
    }
}

fn describe(
    generator: &mut Generator,
    categories: &Categories,
    names: &BTreeMap<&str, &str>,
    grid: &str,
    category: &str,
) -> String {
    let community = names
        .get(&grid[..12.min(grid.len())])
        .copied()
        .unwrap_or("本社区");
    let name = categories
        .subcategory(category)
        .map_or("问题", |category| category.name.as_str());
    format!(
        "{community}{}{name}问题，{}",
        generator.pick(&PLACES),
        generator.pick(&TAILS)
    )
}

/// The classes by how often they are reported on the grid or the hotline (requests, H,
/// come only by the hotline).
fn class_table(categories: &Categories, hotline: bool) -> WeightedTable<&'static str> {
    let mut weighted: Vec<(&'static str, u32)> = CLASS_WEIGHTS
        .iter()
        .map(|(class, grid, call)| (*class, if hotline { *call } else { *grid }))
        .collect();
    if hotline {
        weighted.push(("H01", 300));
    }
    weighted.retain(|(class, _)| categories.get(class).is_some());
    WeightedTable::new(&weighted)
}

/// The year's days before `today`, weighted by season (more in summer, fewer around the
/// Spring Festival) and by weekday (half as many at weekends).
fn day_table(today: NaiveDate) -> WeightedTable<NaiveDate> {
    let days: Vec<(NaiveDate, u32)> = (1..=365)
        .map(|back| {
            let day = today - Duration::days(back);
            let season = match day.month() {
                6..=8 => 130,
                1 | 2 => 80,
                _ => 100,
            };
            let week = match day.weekday() {
                Weekday::Sat | Weekday::Sun => 50,
                _ => 100,
            };
            (day, season * week)
        })
        .collect();
    WeightedTable::new(&days)
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    SHANGHAI
        .with_ymd_and_hms(day.year(), day.month(), day.day(), 0, 0, 0)
        .single()
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |local| local.with_timezone(&Utc),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use huimin_domain::case::indicators::{CaseFacts, Indicator, Tally};

    fn year() -> SyntheticCases {
        let city = crate::generate(
            &crate::CityConfig {
                seed: 7,
                people: 2_000,
            },
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        );
        cases(
            &city,
            &CaseConfig {
                seed: 7,
                count: 3_000,
                area: None,
                first_id: 1,
            },
        )
    }

    #[test]
    fn a_year_of_cases_replays_and_plants_what_the_issue_asks() {
        let year = year();
        let truth = year.truth;
        assert_eq!(truth.reports, 3_000);
        assert_eq!(year.cases.len(), 3_000);
        let share = |n: u32| f64::from(n) / f64::from(truth.reports);
        assert!((0.05..=0.10).contains(&share(truth.late)), "{truth:?}");
        assert!(
            truth.reworked > 0 && truth.merged > 0 && truth.voided > 0,
            "{truth:?}"
        );
        assert!(truth.open > 0 && share(truth.open) < 0.1, "{truth:?}");
        let timing = Timing {
            categories: Categories::shipped().unwrap(),
            time: WorkingTime {
                calendar: huimin_domain::calendar::WorkingCalendar::official().unwrap(),
                hours: OfficeHours::default(),
            },
            yellow_share: 0.8,
        };
        let mut tally = Tally::default();
        for (case, events) in &year.cases {
            // Every timeline is one the engine accepts, numbered from the report.
            assert_eq!(case.replay(events, &timing).unwrap(), *case);
            assert!(
                events
                    .iter()
                    .enumerate()
                    .all(|(i, e)| e.seq == i as u64 + 1)
            );
            assert!(events.windows(2).all(|pair| pair[0].at <= pair[1].at));
            tally.add(&Tally::of(CaseFacts::of(case)));
        }
        let on_time = Indicator::OnTimeClosing.value(&tally).unwrap();
        assert!((0.88..0.97).contains(&on_time), "{on_time}");
        // Same seed, same year.
        assert_eq!(year.cases, self::year().cases);
    }
}
