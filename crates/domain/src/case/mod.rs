//! The case engine (issue 5): one model for every channel — grid patrol, the 12345
//! hotline, SMS, the resident portal, Open311, referrals between departments.
//!
//! - [`access`]: who sees a case (its area, or its department) and who may take each
//!   action;
//! - [`category`]: the two-level category tree, shipped as data, with each subcategory's
//!   stage limits;
//! - [`dispatch`]: the rules that choose a case's lead department and level;
//! - [`limits`]: working time (office hours on the State Council's calendar), limits,
//!   pauses, extensions and the yellow and red warnings;
//! - [`flow`]: the closed loop as a state machine, grid and hotline paths, with who may
//!   not close their own work;
//! - [`intake`]: a new case from any channel, every wrong field named;
//! - [`duplicates`]: open cases near a new report, offered for 并单;
//! - [`indicators`]: each case's facts and the indicators counted from them;
//! - [`patrol`]: grid workers' rounds — what is due, from the registries' tags and houses;
//! - [`photo`]: JPEG and PNG photos with their metadata (EXIF, GPS) stripped;
//! - [`sms`]: messages to the hotline's number, waiting in its inbox for an agent.

pub mod access;
pub mod category;
pub mod dispatch;
pub mod duplicates;
pub mod flow;
pub mod indicators;
pub mod intake;
pub mod limits;
pub mod patrol;
pub mod photo;
pub mod sms;

use crate::registry::GeoPoint;
use chrono::{DateTime, Utc};
use flow::{Action, Flow, Status};
use intake::{Channel, NewCase, Priority, Reporter};

/// A case as kept: what was reported, where it is, and its loop.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Case {
    /// Given by the store; 0 before.
    pub id: u64,
    pub channel: Channel,
    pub category: String,
    pub location: GeoPoint,
    /// The unit grid containing the location, and its community, street and district.
    pub grid: Option<String>,
    pub community: Option<String>,
    pub street: Option<String>,
    pub district: Option<String>,
    pub description: String,
    pub priority: Priority,
    pub reporter: Reporter,
    pub person: Option<String>,
    pub house: Option<String>,
    pub entity: Option<String>,
    /// A city component's code (a manhole cover).
    #[serde(default)]
    pub component: Option<String>,
    pub flow: Flow,
    /// Bumped by every change: a change made against an older version is refused.
    pub version: u64,
    pub reported_by: String,
    pub reported_at: DateTime<Utc>,
    /// When the running stage started, and its pauses (挂账, an extension waiting).
    pub stage_started_at: DateTime<Utc>,
    pub pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    pub updated_at: DateTime<Utc>,
    /// What the case has been through, for the indicators.
    #[serde(default)]
    pub milestones: Milestones,
}

/// What a case has been through: set once and kept (a rework does not undo a handling),
/// with the stages that ran over their limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Milestones {
    /// 立案 (grid) or 受理 (hotline, at intake).
    pub registered: bool,
    /// 派遣 / 派单.
    pub dispatched: bool,
    /// 反馈, 答复, 直接答复 or 自行处置.
    pub handled: bool,
    /// 返工 or 重办, at least once.
    pub reworked: bool,
    /// 回访 made (reached or not).
    pub called_back: bool,
    /// Stages that ended over their limit (each named once).
    pub overdue: Vec<category::Stage>,
    /// When the stage last supervised (督办) started: a stage is escalated once.
    #[serde(default)]
    pub supervised_stage: Option<DateTime<Utc>>,
}

/// How stage limits are read: the categories' limits, working time and the yellow share.
#[derive(Debug, Clone)]
pub struct Timing<'a> {
    pub categories: &'a category::Categories,
    pub time: limits::WorkingTime<'a>,
    /// From this share of a limit a stage is yellow (e.g. 0.8).
    pub yellow_share: f64,
}

impl Timing<'_> {
    /// The running stage's reading at `now`, if it has a limit and a known calendar.
    pub fn reading(&self, case: &Case, now: DateTime<Utc>) -> Option<limits::ClockReading> {
        case.clock(self.categories, &self.time)?
            .reading(&self.time, now, self.yellow_share)
            .ok()
    }
}

/// One step of a case's timeline: append-only.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CaseEvent {
    /// 1 for the report, then one more per step.
    pub seq: u64,
    /// `None` for the report itself.
    pub action: Option<Action>,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub from: Option<Status>,
    pub to: Status,
}

impl Case {
    /// A new case placed in its grid (if any), reported by `actor` at `at`.
    pub fn open(new: NewCase, grid: Option<String>, actor: &str, at: DateTime<Utc>) -> Case {
        let parents = grid.as_deref().and_then(intake::grid_parents);
        Case {
            id: 0,
            channel: new.channel,
            category: new.category,
            location: new.location,
            community: parents.map(|(community, _, _)| community.to_owned()),
            street: parents.map(|(_, street, _)| street.to_owned()),
            district: parents.map(|(_, _, district)| district.to_owned()),
            grid,
            description: new.description,
            priority: new.priority,
            reporter: new.reporter,
            person: new.person.map(|id| id.as_str().to_owned()),
            house: new.house,
            entity: new.entity.map(|code| code.as_str().to_owned()),
            component: new.component.map(|code| code.as_str().to_owned()),
            flow: Flow::new(new.path),
            version: 1,
            reported_by: actor.to_owned(),
            reported_at: at,
            stage_started_at: at,
            pauses: Vec::new(),
            updated_at: at,
            // A hotline ticket is 受理 as it is taken.
            milestones: Milestones {
                registered: new.path == flow::Path::Hotline,
                ..Milestones::default()
            },
        }
    }

    /// [`Case::advance`], and when the step ends the running stage, whether that stage
    /// ran over its limit (kept in the milestones for the on-time indicators).
    pub fn advance_timed(
        &self,
        action: &Action,
        actor: &str,
        at: DateTime<Utc>,
        timing: &Timing<'_>,
    ) -> Result<(Case, CaseEvent), flow::FlowError> {
        let (mut next, event) = self.advance(action, actor, at)?;
        let ended = next.stage_started_at != self.stage_started_at
            || next.flow.status.stage() != self.flow.status.stage();
        if ended
            && let Some(stage) = self.flow.status.stage()
            && let Some(reading) = timing.reading(self, at)
            && reading.warning == limits::Warning::Red
            && !next.milestones.overdue.contains(&stage)
        {
            next.milestones.overdue.push(stage);
        }
        Ok((next, event))
    }

    /// The case after `actor` does `action` at `at`, with the event to append, or why not.
    /// A new stage restarts the clock (a rework restarts handling); pausing opens a pause
    /// and resuming closes it.
    pub fn advance(
        &self,
        action: &Action,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(Case, CaseEvent), flow::FlowError> {
        let flow = self.flow.apply(action, actor)?;
        let mut next = self.clone();
        let restarted = flow.status.stage() != self.flow.status.stage()
            || flow.reworks != self.flow.reworks
            || flow.status != self.flow.status && flow.status.stage().is_none();
        if restarted {
            next.stage_started_at = at;
            next.pauses.clear();
            if flow.is_paused() {
                next.pauses.push((at, None));
            }
        } else if flow.is_paused() && !self.flow.is_paused() {
            next.pauses.push((at, None));
        } else if !flow.is_paused()
            && self.flow.is_paused()
            && let Some(last) = next.pauses.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(at);
        }
        let event = CaseEvent {
            seq: 0,
            action: Some(action.clone()),
            actor: actor.to_owned(),
            at,
            from: Some(self.flow.status),
            to: flow.status,
        };
        let milestones = &mut next.milestones;
        match action {
            Action::Register => milestones.registered = true,
            Action::Dispatch { .. } => milestones.dispatched = true,
            Action::Feedback { .. } | Action::SelfHandle { .. } | Action::AnswerDirectly { .. } => {
                milestones.handled = true
            }
            Action::Verify { passed: false, .. } | Action::Reopen { .. } => {
                milestones.reworked = true
            }
            Action::CallBack { .. } => milestones.called_back = true,
            Action::Supervise { .. } => milestones.supervised_stage = Some(next.stage_started_at),
            _ => {}
        }
        next.flow = flow;
        next.version = self.version + 1;
        next.updated_at = at;
        Ok((next, event))
    }

    /// The case as it was reported, before its first step: what [`Case::replay`] starts
    /// from (nothing but the loop changes after a report).
    /// The timeline a new case is kept with: its report as event 1, then the steps
    /// already taken on it (a ticket dispatched by the rules), numbered after it.
    pub fn opening_timeline<'a>(
        &self,
        steps: impl IntoIterator<Item = &'a CaseEvent>,
    ) -> Vec<CaseEvent> {
        let report = CaseEvent {
            seq: 1,
            action: None,
            actor: self.reported_by.clone(),
            at: self.reported_at,
            from: None,
            to: self.as_reported().flow.status,
        };
        std::iter::once(report)
            .chain(steps.into_iter().zip(2..).map(|(step, seq)| CaseEvent {
                seq,
                ..step.clone()
            }))
            .collect()
    }

    pub fn as_reported(&self) -> Case {
        Case {
            flow: Flow::new(self.flow.path),
            version: 1,
            stage_started_at: self.reported_at,
            pauses: Vec::new(),
            updated_at: self.reported_at,
            milestones: Milestones {
                registered: self.flow.path == flow::Path::Hotline,
                ..Milestones::default()
            },
            ..self.clone()
        }
    }

    /// The case its timeline makes of its report: each event's action taken again, by its
    /// actor at its time. The event log is the record; the kept case and its facts must
    /// be what this gives.
    pub fn replay(
        &self,
        events: &[CaseEvent],
        timing: &Timing<'_>,
    ) -> Result<Case, flow::FlowError> {
        let mut case = self.as_reported();
        for event in events {
            if let Some(action) = &event.action {
                case = case
                    .advance_timed(action, &event.actor, event.at, timing)?
                    .0;
            }
        }
        Ok(case)
    }

    /// The running stage's clock, with the category's limit (`None` when no stage runs or
    /// the category has no limit for it). Approved extensions count for handling.
    pub fn clock(
        &self,
        categories: &category::Categories,
        time: &limits::WorkingTime<'_>,
    ) -> Option<limits::StageClock> {
        let stage = self.flow.status.stage()?;
        let limit = categories.subcategory(&self.category)?.limit(stage)?;
        let extended_minutes = if stage == category::Stage::Handle {
            self.flow
                .extensions
                .iter()
                .map(|extension| time.extension_minutes(*extension))
                .sum()
        } else {
            0
        };
        Some(limits::StageClock {
            started_at: self.stage_started_at,
            limit,
            extended_minutes,
            pauses: self.pauses.clone(),
        })
    }
}

/// Which cases to list. Every given condition must hold; newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseQuery {
    pub status: Option<Status>,
    /// Only cases still waiting for work.
    pub open_only: bool,
    /// An area code: the case's grid starts with it (a grid, community, street or district).
    pub area: Option<String>,
    /// The lead department.
    pub lead: Option<String>,
    pub category: Option<String>,
    /// The reporter's phone (the hotline's caller look-up).
    pub phone: Option<String>,
    /// Reported at or after this instant, and before the other.
    pub reported_from: Option<DateTime<Utc>>,
    pub reported_before: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn reported() -> Case {
        let categories = category::Categories::shipped().unwrap();
        let draft = intake::CaseDraft {
            channel: "grid_patrol".into(),
            category: "E0101".into(),
            longitude: Some(119.43),
            latitude: Some(32.39),
            description: "文昌中路暴露垃圾，气味很大".into(),
            ..intake::CaseDraft::default()
        };
        let bounds = intake::Bounds {
            min_longitude: 119.0,
            min_latitude: 32.0,
            max_longitude: 120.0,
            max_latitude: 33.0,
        };
        let new = draft.validate(categories, bounds).unwrap();
        Case::open(
            new,
            Some("321002001001003".into()),
            "grid.worker",
            monday(9, 0),
        )
    }

    /// Monday 30 November 2026 at `h:m` in Shanghai.
    fn monday(h: u32, m: u32) -> DateTime<Utc> {
        crate::time::SHANGHAI
            .with_ymd_and_hms(2026, 11, 30, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_case_is_placed_by_its_grid_and_versions_every_step() {
        let case = reported();
        assert_eq!(
            (
                case.community.as_deref(),
                case.street.as_deref(),
                case.district.as_deref()
            ),
            (Some("321002001001"), Some("321002001"), Some("321002"))
        );
        let (registered, event) = case
            .advance(&Action::Register, "dispatcher", monday(9, 20))
            .unwrap();
        assert_eq!(
            (registered.version, registered.stage_started_at),
            (2, monday(9, 20))
        );
        assert_eq!(
            (event.from, event.to),
            (Some(Status::Reported), Status::Registered)
        );
        assert!(
            registered
                .advance(&Action::Register, "dispatcher", monday(9, 21))
                .is_err()
        );
    }

    #[test]
    fn parking_pauses_the_stage_clock_and_a_rework_restarts_it() {
        let categories = category::Categories::shipped().unwrap();
        let time = limits::WorkingTime {
            calendar: crate::calendar::WorkingCalendar::official().unwrap(),
            hours: limits::OfficeHours::default(),
        };
        let dispatch = Action::Dispatch {
            lead: "chengguan".into(),
            assisting: Vec::new(),
            level: flow::Level::Street,
            reason: None,
        };
        let (case, _) = reported()
            .advance(&Action::Register, "d", monday(9, 0))
            .unwrap();
        let (case, _) = case.advance(&dispatch, "d", monday(9, 10)).unwrap();
        let (case, _) = case
            .advance(
                &Action::Park {
                    reason: "待清运车辆".into(),
                },
                "d",
                monday(9, 40),
            )
            .unwrap();
        assert_eq!(case.pauses, vec![(monday(9, 40), None)]);
        let (case, _) = case.advance(&Action::Unpark, "d", monday(10, 40)).unwrap();
        assert_eq!(case.pauses, vec![(monday(9, 40), Some(monday(10, 40)))]);
        // E0101 暴露垃圾 allows four working hours to handle: 30 minutes used by 10:40.
        let reading = case
            .clock(categories, &time)
            .unwrap()
            .reading(&time, monday(10, 40), 0.8)
            .unwrap();
        assert_eq!((reading.allowed_minutes, reading.used_minutes), (240, 30));
        let (case, _) = case.advance(&Action::Accept, "cg", monday(10, 50)).unwrap();
        assert_eq!(
            case.stage_started_at,
            monday(9, 10),
            "accepting stays in the handling stage"
        );
        let (case, _) = case
            .advance(
                &Action::Feedback {
                    note: "已清运".into(),
                },
                "cg",
                monday(11, 0),
            )
            .unwrap();
        let (case, _) = case
            .advance(
                &Action::Verify {
                    passed: false,
                    note: "仍有残留".into(),
                },
                "grid.worker",
                monday(11, 30),
            )
            .unwrap();
        assert_eq!(
            (case.stage_started_at, case.pauses.clone()),
            (monday(11, 30), Vec::new())
        );
        // An approved extension of one day adds an office day to handling.
        let (case, _) = case
            .advance(
                &Action::RequestExtension {
                    limit: limits::Limit::parse("1d").unwrap(),
                    reason: "需专业清洗".into(),
                },
                "cg",
                monday(11, 40),
            )
            .unwrap();
        let (case, _) = case
            .advance(
                &Action::DecideExtension {
                    approved: true,
                    note: String::new(),
                },
                "d",
                monday(11, 50),
            )
            .unwrap();
        let clock = case.clock(categories, &time).unwrap();
        assert_eq!(clock.extended_minutes, 450);
        assert_eq!(clock.pauses, vec![(monday(11, 40), Some(monday(11, 50)))]);
    }

    fn timing() -> Timing<'static> {
        Timing {
            categories: category::Categories::shipped().unwrap(),
            time: limits::WorkingTime {
                calendar: crate::calendar::WorkingCalendar::official().unwrap(),
                hours: limits::OfficeHours::default(),
            },
            yellow_share: 0.8,
        }
    }

    #[test]
    fn a_late_handling_is_kept_as_overdue_and_the_timeline_replays_to_the_same_facts() {
        let timing = timing();
        let dispatch = Action::Dispatch {
            lead: "chengguan".into(),
            assisting: Vec::new(),
            level: flow::Level::Street,
            reason: None,
        };
        // E0101 allows four working hours to handle; feedback comes the next morning,
        // past them (Monday 9:10 → Tuesday 10:00 is 5 h 50 min of office time).
        let tuesday = |h, m| monday(h, m) + chrono::Duration::days(1);
        let steps = [
            (Action::Register, "dispatcher", monday(9, 5)),
            (dispatch, "dispatcher", monday(9, 10)),
            (Action::Accept, "cg", monday(9, 30)),
            (
                Action::Feedback {
                    note: "已清运".into(),
                },
                "cg",
                tuesday(10, 0),
            ),
            (
                Action::Verify {
                    passed: false,
                    note: "仍有残留".into(),
                },
                "grid.worker",
                tuesday(10, 30),
            ),
            (
                Action::Feedback {
                    note: "已冲洗".into(),
                },
                "cg",
                tuesday(11, 0),
            ),
            (
                Action::Verify {
                    passed: true,
                    note: String::new(),
                },
                "grid.worker",
                tuesday(11, 30),
            ),
            (
                Action::Rate { satisfaction: 3 },
                "grid.worker",
                tuesday(14, 0),
            ),
        ];
        let mut case = reported();
        let mut events = Vec::new();
        for (action, actor, at) in &steps {
            let (next, event) = case.advance_timed(action, actor, *at, &timing).unwrap();
            events.push(event);
            case = next;
        }
        assert_eq!(case.milestones.overdue, vec![category::Stage::Handle]);
        let facts = indicators::CaseFacts::of(&case);
        assert_eq!(
            facts,
            indicators::CaseFacts {
                registered: true,
                dispatched: true,
                handled: true,
                closed: true,
                reworked: true,
                rated: true,
                satisfied: true,
                ..indicators::CaseFacts::default()
            }
        );
        let replayed = case.replay(&events, &timing).unwrap();
        assert_eq!(replayed, case);
    }

    #[test]
    fn a_nearby_open_report_of_the_same_kind_is_offered_for_merging_and_the_rest_are_not() {
        let rule = duplicates::DuplicateRule::default();
        let mut first = reported();
        first.id = 1;
        let nearby = |id, description: &str, dlon: f64, hours: i64| Case {
            id,
            description: description.to_owned(),
            location: GeoPoint {
                longitude: first.location.longitude + dlon,
                latitude: first.location.latitude,
            },
            reported_at: first.reported_at + chrono::Duration::hours(hours),
            ..first.clone()
        };
        let candidates = vec![
            first.clone(),
            nearby(2, "文昌中路暴露垃圾，很臭", 0.0005, 2),
            nearby(3, "文昌中路暴露垃圾，很臭", 0.01, 2),
            nearby(4, "文昌中路暴露垃圾，很臭", 0.0005, 24 * 8),
            nearby(5, "路灯不亮", 0.0005, 2),
            Case {
                category: "E0102".into(),
                ..nearby(6, "文昌中路暴露垃圾", 0.0, 1)
            },
        ];
        let found = rule.suggest(&duplicates::Probe::of(&first), &candidates);
        assert_eq!(found.iter().map(|s| s.case_id).collect::<Vec<_>>(), vec![2]);
        assert!((40.0..55.0).contains(&found[0].distance_m), "{found:?}");
    }
}
