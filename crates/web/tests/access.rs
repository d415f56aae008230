//! The jurisdiction probe: 10,000 random (account, endpoint, person) requests against the
//! real server over a generated city, each judged by an oracle written here from the role
//! table in ARCHITECTURE.md and the area tree — not from the policy code. No leak (a record
//! shown out of scope, or a number shown unmasked when it should not be) and no wrong
//! denial is allowed; every list returns exactly the in-scope set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, TimeZone, Utc};
use huimin_domain::area::AreaLevel;
use huimin_domain::audit::Actor;
use huimin_domain::identity::{Account, AccountKind, Role, RoleAssignment};
use huimin_domain::provenance::Provenance;
use huimin_domain::storage::Store;
use huimin_web::{AppState, Clock, WebConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap()
    }
}

/// The oracle's role table, copied from the issue and ARCHITECTURE.md: `None` reads no
/// one; `Some(true)` may see identity and phone numbers in full when a purpose is stated.
fn oracle_reads(role: Role) -> Option<bool> {
    match role.code() {
        "city_administrator" | "district_leader" | "street_leader" | "community_leader"
        | "dispatcher" | "hotline_agent" | "department_officer" => Some(false),
        "grid_worker" | "window_clerk" | "civil_affairs_officer" | "department_data_officer" => {
            Some(true)
        }
        _ => None,
    }
}

/// The areas a person in `grid` lives in, from the grid up to the city (the area tree's
/// code layout: 6 + 3 + 3 + 3 digits).
fn oracle_areas(grid: Option<&str>) -> Vec<String> {
    match grid {
        Some(grid) => vec![
            grid.to_owned(),
            grid[..12].to_owned(),
            grid[..9].to_owned(),
            grid[..6].to_owned(),
            "321000".to_owned(),
        ],
        None => vec!["321000".to_owned()],
    }
}

struct Probe {
    login: String,
    role: Role,
    jurisdiction: String,
    token: String,
}

impl Probe {
    fn sees(&self, grid: Option<&str>) -> bool {
        oracle_reads(self.role).is_some() && oracle_areas(grid).contains(&self.jurisdiction)
    }

    fn sees_in_full(&self, grid: Option<&str>, purpose: bool) -> bool {
        self.sees(grid) && purpose && oracle_reads(self.role) == Some(true)
    }
}

fn masked(id: &str) -> String {
    format!(
        "{}{}{}",
        &id[..4],
        "*".repeat(id.len() - 8),
        &id[id.len() - 4..]
    )
}

#[tokio::test]
async fn ten_thousand_random_reads_leak_nothing_and_deny_nothing_wrongly() {
    let (url, _directory) = huimin_store::testing::fresh_sqlite_database().await;
    let store: Arc<dyn Store> = huimin_store::connect(&url).await.unwrap();
    let now = FixedClock.now();
    let city = huimin_city::generate(
        &huimin_city::CityConfig {
            seed: 23,
            people: 1_500,
        },
        FixedClock.today(),
    );
    let provenance = Provenance {
        source: "公安局".into(),
        batch: "probe".into(),
        recorded_at: now,
    };
    let actor = Actor::system("probe");
    store
        .put_areas(&city.areas, &provenance, &actor)
        .await
        .unwrap();
    store
        .put_persons(&city.persons, &provenance, &actor)
        .await
        .unwrap();

    // Jurisdictions at every level, and roles of every kind (the three administrators
    // included, assigned directly: the policy must still give them nothing).
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut jurisdictions = vec!["321000".to_owned()];
    for level in [
        AreaLevel::District,
        AreaLevel::Street,
        AreaLevel::Community,
        AreaLevel::Grid,
    ] {
        let codes: Vec<&str> = city
            .areas
            .iter()
            .filter(|area| area.level == level)
            .map(|area| area.code.as_str())
            .collect();
        for _ in 0..3 {
            jurisdictions.push(codes[rng.random_range(0..codes.len())].to_owned());
        }
    }
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| !matches!(role, Role::Resident | Role::EnterpriseUser))
        .collect();
    let mut probes = Vec::new();
    for index in 0..40 {
        let role = roles[index % roles.len()];
        let jurisdiction = jurisdictions[rng.random_range(0..jurisdictions.len())].clone();
        let login = format!("probe.{index:02}");
        let account = Account::new(
            login.clone(),
            AccountKind::Service,
            "探针",
            String::new(),
            now,
        );
        store
            .create_account(&account, &actor.event("account.create", "account", &login))
            .await
            .unwrap();
        let assignment = RoleAssignment {
            role,
            jurisdiction: jurisdiction.clone(),
            department: None,
            valid_from: now,
            valid_until: None,
        };
        store
            .assign_role(
                &login,
                &assignment,
                &actor.event("account.assign_role", "account", &login),
                now,
            )
            .await
            .unwrap();
        let token = huimin_web::accounts::issue_api_token(
            store.as_ref(),
            &login,
            "probe",
            &["persons:read".to_owned()],
            chrono::Duration::days(1),
            &actor,
            now,
        )
        .await
        .unwrap();
        probes.push(Probe {
            login,
            role,
            jurisdiction,
            token,
        });
    }

    let state = AppState::new(store.clone(), Arc::new(FixedClock), WebConfig::default())
        .await
        .unwrap();
    let router = huimin_web::router(state, huimin_web::ExtraRoutes::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(huimin_web::serve(listener, router, std::future::pending()));
    let client = reqwest::Client::new();

    let grids: HashMap<String, Option<String>> = city
        .persons
        .iter()
        .map(|person| {
            (
                person.citizen_id.as_str().to_owned(),
                person.grid.as_ref().map(|grid| grid.as_str().to_owned()),
            )
        })
        .collect();
    let nobody = huimin_domain::identifiers::CitizenId::from_parts(
        &huimin_domain::identifiers::AreaCode::parse("321002").unwrap(),
        chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap(),
        999,
    )
    .unwrap();
    assert!(!grids.contains_key(nobody.as_str()));

    let mut leaks = Vec::new();
    let mut wrong_denials = Vec::new();
    let mut not_found_bodies = BTreeSet::new();
    for trial in 0..10_000 {
        let probe = &probes[rng.random_range(0..probes.len())];
        let (id, grid) = if rng.random_bool(0.05) {
            (nobody.as_str().to_owned(), None)
        } else {
            let person = &city.persons[rng.random_range(0..city.persons.len())];
            (
                person.citizen_id.as_str().to_owned(),
                grids[person.citizen_id.as_str()].clone(),
            )
        };
        let exists = id != nobody.as_str();
        let endpoint = ["", "/360", "/history"][trial % 3];
        let purpose = rng.random_bool(0.5);
        let mut request = client
            .get(format!("{address}/api/v1/persons/{id}{endpoint}"))
            .bearer_auth(&probe.token);
        if purpose {
            request = request.header("x-purpose", "case probe");
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        let expected = exists && probe.sees(grid.as_deref());
        let what = format!(
            "{} ({} @ {}) GET {id}{endpoint} purpose={purpose}",
            probe.login, probe.role, probe.jurisdiction
        );
        match (expected, status.as_u16()) {
            (true, 200) => {
                let person = if endpoint == "/360" {
                    &body["person"]
                } else if endpoint == "/history" {
                    &body[0]
                } else {
                    &body
                };
                let shown = person["citizen_id"].as_str().unwrap();
                let full = probe.sees_in_full(grid.as_deref(), purpose);
                if shown != if full { id.clone() } else { masked(&id) } {
                    leaks.push(format!("{what}: showed {shown}"));
                }
            }
            (true, other) => wrong_denials.push(format!("{what}: {other}")),
            (false, 404) => {
                not_found_bodies.insert(format!(
                    "{} {}",
                    body["error"]["code"], body["error"]["message"]
                ));
            }
            (false, other) => leaks.push(format!("{what}: {other} {body}")),
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks: {:?}",
        leaks.len(),
        &leaks[..leaks.len().min(5)]
    );
    assert!(
        wrong_denials.is_empty(),
        "{} wrong denials: {:?}",
        wrong_denials.len(),
        &wrong_denials[..wrong_denials.len().min(5)]
    );
    assert_eq!(
        not_found_bodies.len(),
        1,
        "out of scope reads like missing: {not_found_bodies:?}"
    );

    // Lists: every page of the search is exactly the in-scope set, masked as the oracle says.
    for probe in &probes {
        // Masked numbers can coincide, so these are lists (multisets), not sets.
        let mut shown = Vec::new();
        let mut page = 1;
        loop {
            let body: serde_json::Value = client
                .get(format!("{address}/api/v1/persons?per_page=200&page={page}"))
                .bearer_auth(&probe.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let items = body["items"].as_array().unwrap();
            shown.extend(
                items
                    .iter()
                    .map(|item| item["citizen_id"].as_str().unwrap().to_owned()),
            );
            if items.len() < 200 {
                assert_eq!(
                    body["total"].as_u64().unwrap(),
                    shown.len() as u64,
                    "{}: the count is the set's",
                    probe.login
                );
                break;
            }
            page += 1;
        }
        let mut expected: Vec<String> = grids
            .iter()
            .filter(|(_, grid)| probe.sees(grid.as_deref()))
            .map(|(id, _)| masked(id))
            .collect();
        expected.sort();
        shown.sort();
        assert_eq!(
            shown, expected,
            "{} ({} @ {}) lists its scope",
            probe.login, probe.role, probe.jurisdiction
        );
    }
    let readers = probes
        .iter()
        .filter(|probe| oracle_reads(probe.role).is_some())
        .count();
    assert!(
        readers > 20 && readers < probes.len(),
        "the probe covers readers and non-readers"
    );
}
