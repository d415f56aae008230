//! Who may see and do what with cases, from the roles a caller holds now.
//!
//! Area roles (city administrator, leaders, dispatchers, hotline agents, grid workers)
//! see the cases inside their jurisdiction; a department officer sees the cases its
//! department leads or assists. Each action names the roles that may take it: the
//! dispatcher registers, dispatches, parks and approves extensions; the lead department
//! signs for a case, works on it and answers; grid workers handle on the spot and verify;
//! hotline agents answer, conclude and call back; leaders supervise.

use super::Case;
use super::flow::{Action, Path};
use super::intake::Channel;
use crate::access::Scope;
use crate::identity::{Role, RoleAssignment};
use chrono::{DateTime, Utc};

/// The roles whose jurisdiction gives them a case's area.
const AREA_ROLES: [Role; 7] = [
    Role::CityAdministrator,
    Role::DistrictLeader,
    Role::StreetLeader,
    Role::CommunityLeader,
    Role::Dispatcher,
    Role::HotlineAgent,
    Role::GridWorker,
];

/// The roles that may take `action` on a case of `path`.
fn allowed(action: &Action, path: Path) -> &'static [Role] {
    match (action, path) {
        (Action::Dispatch { .. } | Action::Void { .. } | Action::Merge { .. }, Path::Hotline) => &[
            Role::Dispatcher,
            Role::HotlineAgent,
            Role::CityAdministrator,
        ],
        (
            Action::Register
            | Action::Void { .. }
            | Action::Dispatch { .. }
            | Action::Merge { .. }
            | Action::Park { .. }
            | Action::Unpark
            | Action::DecideExtension { .. },
            _,
        ) => &[Role::Dispatcher, Role::CityAdministrator],
        (
            Action::Accept
            | Action::Return { .. }
            | Action::Feedback { .. }
            | Action::RequestExtension { .. },
            _,
        ) => &[Role::DepartmentOfficer],
        (Action::SelfHandle { .. }, _) => &[Role::GridWorker],
        (Action::Verify { .. }, _) => &[Role::GridWorker, Role::Dispatcher],
        (Action::Rate { .. }, Path::Grid) => &[Role::Dispatcher, Role::GridWorker],
        (
            Action::AnswerDirectly { .. }
            | Action::Conclude
            | Action::Reopen { .. }
            | Action::CallBack { .. }
            | Action::Rate { .. },
            _,
        ) => &[Role::HotlineAgent, Role::Dispatcher],
        (Action::Supervise { .. }, _) => &[
            Role::CityAdministrator,
            Role::DistrictLeader,
            Role::StreetLeader,
            Role::CommunityLeader,
        ],
    }
}

/// What a caller may do with cases.
#[derive(Debug, Clone)]
pub struct CaseAccess {
    held: Vec<RoleAssignment>,
    /// The jurisdictions of the area roles held, together.
    pub scope: Scope,
    /// The departments of the department officer roles held.
    pub departments: Vec<String>,
}

impl CaseAccess {
    pub fn of(roles: &[RoleAssignment], now: DateTime<Utc>) -> CaseAccess {
        let held: Vec<RoleAssignment> = roles
            .iter()
            .filter(|held| held.is_valid_at(now))
            .cloned()
            .collect();
        let scope = Scope::new(
            held.iter()
                .filter(|assignment| AREA_ROLES.contains(&assignment.role))
                .map(|assignment| assignment.jurisdiction.clone())
                .collect(),
        );
        let departments = held
            .iter()
            .filter(|assignment| assignment.role == Role::DepartmentOfficer)
            .filter_map(|assignment| assignment.department.clone())
            .collect();
        CaseAccess {
            held,
            scope,
            departments,
        }
    }

    /// Whether the caller works with cases at all.
    pub fn works_with_cases(&self) -> bool {
        !self.scope.is_nothing() || !self.departments.is_empty()
    }

    /// Whether `department` is one of the caller's (lead or assisting on a case).
    fn department_of(&self, case: &Case) -> bool {
        self.departments.iter().any(|department| {
            case.flow.lead.as_deref() == Some(department.as_str())
                || case.flow.assisting.contains(department)
        })
    }

    /// Whether the case is in the caller's view: its area, or its department.
    pub fn sees(&self, case: &Case) -> bool {
        self.scope.contains(case.grid.as_deref()) || self.department_of(case)
    }

    /// Whether the caller may take `action` on `case` under one of its roles.
    pub fn may(&self, action: &Action, case: &Case) -> bool {
        let roles = allowed(action, case.flow.path);
        self.held.iter().any(|held| {
            roles.contains(&held.role)
                && if held.role == Role::DepartmentOfficer {
                    held.department.is_some() && held.department == case.flow.lead
                } else {
                    Scope::new(vec![held.jurisdiction.clone()]).contains(case.grid.as_deref())
                }
        })
    }

    /// Whether the caller may open a case from `channel` in `grid`.
    pub fn may_report(&self, channel: Channel, grid: Option<&str>) -> bool {
        let roles: &[Role] = match channel {
            Channel::GridPatrol => &[Role::GridWorker, Role::Dispatcher, Role::CityAdministrator],
            Channel::Hotline | Channel::Sms => &[
                Role::HotlineAgent,
                Role::Dispatcher,
                Role::CityAdministrator,
            ],
            Channel::Portal | Channel::Open311 => &[
                Role::Dispatcher,
                Role::HotlineAgent,
                Role::CityAdministrator,
            ],
            Channel::Referral => &[
                Role::DepartmentOfficer,
                Role::Dispatcher,
                Role::CityAdministrator,
            ],
        };
        self.held.iter().any(|held| {
            roles.contains(&held.role)
                && (held.role == Role::DepartmentOfficer
                    || Scope::new(vec![held.jurisdiction.clone()]).contains(grid))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::flow::Level;

    fn held(role: Role, jurisdiction: &str, department: Option<&str>) -> RoleAssignment {
        RoleAssignment {
            role,
            jurisdiction: jurisdiction.to_owned(),
            department: department.map(str::to_owned),
            valid_from: DateTime::<Utc>::MIN_UTC,
            valid_until: None,
        }
    }

    fn case_in(grid: &str) -> Case {
        let mut case: Case = serde_json::from_value(serde_json::json!({
            "id": 1, "channel": "grid_patrol", "category": "P0101",
            "location": {"longitude": 119.43, "latitude": 32.39},
            "grid": grid, "community": null, "street": null, "district": null,
            "description": "井盖破损", "priority": "normal",
            "reporter": {"name": null, "phone": null, "callback": "none"},
            "person": null, "house": null, "entity": null,
            "flow": crate::case::flow::Flow::new(Path::Grid),
            "version": 1, "reported_by": "w", "reported_at": "2026-11-30T01:00:00Z",
            "stage_started_at": "2026-11-30T01:00:00Z", "pauses": [],
            "updated_at": "2026-11-30T01:00:00Z"
        }))
        .unwrap();
        case.flow = case
            .flow
            .apply(&Action::Register, "d")
            .unwrap()
            .apply(
                &Action::Dispatch {
                    lead: "chengguan".into(),
                    assisting: vec!["zhujian".into()],
                    level: Level::Street,
                    reason: None,
                },
                "d",
            )
            .unwrap();
        case
    }

    #[test]
    fn a_grid_worker_sees_and_verifies_only_in_their_grid() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 30, 1, 0, 0).unwrap();
        let worker = CaseAccess::of(&[held(Role::GridWorker, "321002001001003", None)], now);
        let mine = case_in("321002001001003");
        let elsewhere = case_in("321002001001004");
        assert!(worker.sees(&mine) && !worker.sees(&elsewhere));
        let verify = Action::Verify {
            passed: true,
            note: String::new(),
        };
        assert!(worker.may(&verify, &mine) && !worker.may(&verify, &elsewhere));
        assert!(!worker.may(&Action::Register, &mine));
        assert!(worker.may_report(Channel::GridPatrol, Some("321002001001003")));
        assert!(!worker.may_report(Channel::GridPatrol, Some("321002001001004")));
        assert!(!worker.may_report(Channel::Hotline, Some("321002001001003")));
    }

    #[test]
    fn a_department_sees_what_it_leads_or_assists_and_works_only_what_it_leads() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 30, 1, 0, 0).unwrap();
        let case = case_in("321002001001003");
        let lead = CaseAccess::of(
            &[held(Role::DepartmentOfficer, "321000", Some("chengguan"))],
            now,
        );
        let assist = CaseAccess::of(
            &[held(Role::DepartmentOfficer, "321000", Some("zhujian"))],
            now,
        );
        let other = CaseAccess::of(
            &[held(Role::DepartmentOfficer, "321000", Some("gongan"))],
            now,
        );
        assert!(lead.sees(&case) && assist.sees(&case) && !other.sees(&case));
        assert!(lead.may(&Action::Accept, &case));
        assert!(!assist.may(&Action::Accept, &case));
        // A dispatcher of the district sees it; of another district does not.
        let dispatcher = CaseAccess::of(&[held(Role::Dispatcher, "321002", None)], now);
        assert!(
            dispatcher.sees(&case) && dispatcher.may(&Action::Park { reason: "x".into() }, &case)
        );
        let away = CaseAccess::of(&[held(Role::Dispatcher, "321003", None)], now);
        assert!(!away.sees(&case) && !away.may(&Action::Park { reason: "x".into() }, &case));
        // A city-wide administrator sees everything; a resident nothing.
        assert!(CaseAccess::of(&[held(Role::CityAdministrator, "321000", None)], now).sees(&case));
        let resident = CaseAccess::of(&[held(Role::Resident, "321000", None)], now);
        assert!(!resident.works_with_cases() && !resident.sees(&case));
        // An expired assignment counts for nothing.
        let mut expired = held(Role::Dispatcher, "321002", None);
        expired.valid_until = Some(now - chrono::Duration::days(1));
        assert!(!CaseAccess::of(&[expired], now).sees(&case));
    }
}
