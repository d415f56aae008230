//! Patrol tasks (巡查走访, issue 5): what a grid worker visits and how often, drawn from
//! the registries' tags and objects, and the visits that check them off.
//!
//! Each kind of object has its interval: elderly people living alone and dangerous
//! buildings (graded C or D, [`crate::facility::SafetyGrade`]) every week, people under
//! community care every two weeks, people with a disability, rented houses and manhole
//! covers every month. An object is due on the day its interval after the last visit ends (today when
//! it was never visited). A visit is checked in at a location inside the grid; a finding
//! becomes a case in the same step (the API opens it).

use crate::registry::GeoPoint;
use chrono::{DateTime, NaiveDate, Utc};

/// What is visited.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PatrolKind {
    /// 独居老人: weekly.
    ElderlyLivingAlone,
    /// 社区关爱对象: every two weeks.
    CommunityCare,
    /// 残疾人: monthly.
    Disability,
    /// 出租屋: monthly.
    RentedHouse,
    /// 危房 (a building appraised C or D): weekly.
    DangerousBuilding,
    /// 井盖 (a manhole cover): monthly.
    Manhole,
}

impl PatrolKind {
    pub const ALL: [PatrolKind; 6] = [
        PatrolKind::ElderlyLivingAlone,
        PatrolKind::CommunityCare,
        PatrolKind::Disability,
        PatrolKind::RentedHouse,
        PatrolKind::DangerousBuilding,
        PatrolKind::Manhole,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PatrolKind::ElderlyLivingAlone => "elderly_living_alone",
            PatrolKind::CommunityCare => "community_care",
            PatrolKind::Disability => "disability",
            PatrolKind::RentedHouse => "rented_house",
            PatrolKind::DangerousBuilding => "dangerous_building",
            PatrolKind::Manhole => "manhole",
        }
    }

    pub fn parse(text: &str) -> Option<PatrolKind> {
        PatrolKind::ALL.into_iter().find(|kind| kind.code() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            PatrolKind::ElderlyLivingAlone => "独居老人走访",
            PatrolKind::CommunityCare => "关爱对象走访",
            PatrolKind::Disability => "残疾人走访",
            PatrolKind::RentedHouse => "出租屋巡查",
            PatrolKind::DangerousBuilding => "危房巡查",
            PatrolKind::Manhole => "井盖巡查",
        }
    }

    /// Days between visits.
    pub fn interval_days(self) -> i64 {
        match self {
            PatrolKind::ElderlyLivingAlone | PatrolKind::DangerousBuilding => 7,
            PatrolKind::CommunityCare => 14,
            PatrolKind::Disability | PatrolKind::RentedHouse | PatrolKind::Manhole => 30,
        }
    }

    /// Whether the object is a person (else a house, a building or a component).
    pub fn is_person(self) -> bool {
        matches!(
            self,
            PatrolKind::ElderlyLivingAlone | PatrolKind::CommunityCare | PatrolKind::Disability
        )
    }
}

/// One object on a grid worker's round.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PatrolObject {
    pub kind: PatrolKind,
    /// An identity number, a house id, a building id or a component code.
    pub id: String,
    /// A name or an address, as the worker sees it.
    pub label: String,
    pub address: String,
}

impl PatrolObject {
    /// The object's reference on a task list and in a check-in: a digest of its kind and
    /// id, so the list a phone holds carries no identity number.
    pub fn reference(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("patrol:{}:{}", self.kind.code(), self.id));
        digest[..12]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// A visit made.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Visit {
    /// Given by the store; 0 before.
    pub id: u64,
    pub grid: String,
    pub kind: PatrolKind,
    pub object_id: String,
    pub worker: String,
    pub at: DateTime<Utc>,
    pub location: GeoPoint,
    pub note: String,
    /// The case a finding became.
    pub case_id: Option<u64>,
}

/// A visit due.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Task {
    pub object: PatrolObject,
    pub last_visit: Option<DateTime<Utc>>,
    pub due: NaiveDate,
    /// Days past due (0 when due today).
    pub overdue_days: i64,
}

/// The tasks due on `today` or before, most overdue first: each object's due day is its
/// interval after its last visit (in Asia/Shanghai), or today when never visited.
pub fn due_tasks(objects: Vec<PatrolObject>, visits: &[Visit], today: NaiveDate) -> Vec<Task> {
    let mut tasks: Vec<Task> = objects
        .into_iter()
        .filter_map(|object| {
            let last_visit = visits
                .iter()
                .filter(|visit| visit.kind == object.kind && visit.object_id == object.id)
                .map(|visit| visit.at)
                .max();
            let due = match last_visit {
                None => today,
                Some(at) => {
                    at.with_timezone(&crate::time::SHANGHAI).date_naive()
                        + chrono::Duration::days(object.kind.interval_days())
                }
            };
            (due <= today).then(|| Task {
                overdue_days: (today - due).num_days(),
                object,
                last_visit,
                due,
            })
        })
        .collect();
    tasks.sort_by(|a, b| {
        b.overdue_days
            .cmp(&a.overdue_days)
            .then(a.object.kind.cmp(&b.object.kind))
            .then(a.object.id.cmp(&b.object.id))
    });
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn object(kind: PatrolKind, id: &str) -> PatrolObject {
        PatrolObject {
            kind,
            id: id.to_owned(),
            label: id.to_owned(),
            address: String::new(),
        }
    }

    fn visit(kind: PatrolKind, id: &str, day: u32) -> Visit {
        Visit {
            id: 0,
            grid: "321002001001001".into(),
            kind,
            object_id: id.into(),
            worker: "w".into(),
            at: crate::time::SHANGHAI
                .with_ymd_and_hms(2026, 11, day, 10, 0, 0)
                .unwrap()
                .with_timezone(&Utc),
            location: GeoPoint {
                longitude: 119.4,
                latitude: 32.39,
            },
            note: String::new(),
            case_id: None,
        }
    }

    #[test]
    fn each_kind_comes_round_again_after_its_interval() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let objects = vec![
            object(PatrolKind::ElderlyLivingAlone, "old-visited-monday"),
            object(PatrolKind::ElderlyLivingAlone, "old-visited-long-ago"),
            object(PatrolKind::RentedHouse, "house-visited-monday"),
            object(PatrolKind::CommunityCare, "never-visited"),
        ];
        let visits = [
            visit(PatrolKind::ElderlyLivingAlone, "old-visited-monday", 23),
            visit(PatrolKind::ElderlyLivingAlone, "old-visited-long-ago", 2),
            visit(PatrolKind::RentedHouse, "house-visited-monday", 23),
            // A visit of another kind does not count for the object's round.
            visit(PatrolKind::Disability, "never-visited", 29),
        ];
        let tasks = due_tasks(objects, &visits, today);
        let due: Vec<(&str, i64)> = tasks
            .iter()
            .map(|task| (task.object.id.as_str(), task.overdue_days))
            .collect();
        assert_eq!(
            due,
            [
                ("old-visited-long-ago", 21),
                ("old-visited-monday", 0),
                ("never-visited", 0),
            ]
        );
        let reference = tasks[0].object.reference();
        assert_eq!(reference.len(), 24);
        assert!(!reference.contains("old"), "the reference hides the id");
        assert_ne!(reference, tasks[1].object.reference());
    }
}
