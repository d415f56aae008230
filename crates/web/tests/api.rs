//! API and page tests against the real application on a real port (`TestApp`), with a
//! small generated city in a real database, and browser tests in headless Chromium.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, TimeZone, Utc};
use huimin_domain::provenance::Provenance;
use huimin_domain::storage::RegistryStore;
use huimin_web::{AppState, Clock, WebConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

/// A fixed clock: 2026-11-22 10:00 in Shanghai.
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()
    }
}

fn city() -> &'static huimin_city::City {
    static CITY: OnceLock<huimin_city::City> = OnceLock::new();
    CITY.get_or_init(|| {
        huimin_city::generate(
            &huimin_city::CityConfig {
                seed: 11,
                people: 2_000,
            },
            FixedClock.today(),
        )
    })
}

/// The SMS gateway of the tests (the gateway is outside the city): it keeps what it was
/// asked to send.
#[derive(Default)]
struct SentSms(std::sync::Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl huimin_web::sms::SmsGateway for SentSms {
    async fn send(&self, phone: &str, text: &str) -> Result<(), huimin_web::sms::SmsError> {
        self.0
            .lock()
            .unwrap()
            .push((phone.to_owned(), text.to_owned()));
        Ok(())
    }
}

struct TestApp {
    address: String,
    /// What the app sent as text messages.
    sent_sms: Arc<SentSms>,
    /// The database, for accounts that tests add.
    url: String,
    client: reqwest::Client,
    _directory: Option<tempfile::TempDir>,
}

impl TestApp {
    /// The app on SQLite with the small city loaded, on 127.0.0.1 and a free port.
    async fn spawn() -> TestApp {
        let (url, directory) = huimin_store::testing::fresh_sqlite_database().await;
        TestApp::spawn_on(
            &url,
            Some(directory),
            WebConfig {
                body_limit_bytes: 64 * 1024,
                ..WebConfig::default()
            },
        )
        .await
    }

    async fn spawn_on(
        url: &str,
        directory: Option<tempfile::TempDir>,
        config: WebConfig,
    ) -> TestApp {
        let store = huimin_store::connect(url)
            .await
            .expect("open the test database");
        load_city(store.as_ref()).await;
        // The suite reads as a city-wide civil-affairs system stating a purpose, so it
        // sees every record in full; the access policy has tests of its own.
        let now = FixedClock.now();
        let actor = huimin_domain::audit::Actor::system("test");
        huimin_web::accounts::add_service_account(
            store.as_ref(),
            "civil.system",
            "民政业务系统",
            huimin_domain::identity::Role::CivilAffairsOfficer,
            "321000",
            None,
            &actor,
            now,
        )
        .await
        .unwrap();
        let token = huimin_web::accounts::issue_api_token(
            store.as_ref(),
            "civil.system",
            "tests",
            &["persons:read".to_owned(), "registry:write".to_owned()],
            chrono::Duration::days(1),
            &actor,
            now,
        )
        .await
        .unwrap();
        let mut token_headers = reqwest::header::HeaderMap::new();
        token_headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        token_headers.insert("x-purpose", "case api-tests".parse().unwrap());
        let sent_sms = Arc::new(SentSms::default());
        let state = AppState::new(store, Arc::new(FixedClock), config)
            .await
            .expect("state")
            .with_sms_gateway(sent_sms.clone());
        let probes = axum::Router::new().route(
            "/test/panic",
            axum::routing::get(|| async {
                let values: Vec<u8> = Vec::new();
                // A deliberate out-of-bounds index: the kind of bug a panic layer must contain.
                format!("{}", values[usize::from(values.is_empty())])
            }),
        );
        let app = huimin_web::router(state, probes);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let address = format!("http://{}", listener.local_addr().expect("local address"));
        tokio::spawn(huimin_web::serve(listener, app, std::future::pending()));
        TestApp {
            address,
            sent_sms,
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .default_headers(token_headers)
                .build()
                .unwrap(),
            _directory: directory,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("GET")
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// A client calling with the token of a new service account holding `role` (of
    /// `department`) and `scopes`.
    async fn client_as(
        &self,
        login: &str,
        role: huimin_domain::identity::Role,
        department: Option<&str>,
        scopes: &[&str],
    ) -> reqwest::Client {
        self.client_in(login, role, "321000", department, scopes)
            .await
    }

    /// A department system's client with one role over `jurisdiction`.
    async fn client_in(
        &self,
        login: &str,
        role: huimin_domain::identity::Role,
        jurisdiction: &str,
        department: Option<&str>,
        scopes: &[&str],
    ) -> reqwest::Client {
        self.client_and_token_in(login, role, jurisdiction, department, scopes)
            .await
            .0
    }

    /// [`TestApp::client_in`], with the API token it sends.
    async fn client_and_token_in(
        &self,
        login: &str,
        role: huimin_domain::identity::Role,
        jurisdiction: &str,
        department: Option<&str>,
        scopes: &[&str],
    ) -> (reqwest::Client, String) {
        let store = huimin_store::connect(&self.url).await.unwrap();
        let actor = huimin_domain::audit::Actor::system("test");
        let now = FixedClock.now();
        huimin_web::accounts::add_service_account(
            store.as_ref(),
            login,
            login,
            role,
            jurisdiction,
            department,
            &actor,
            now,
        )
        .await
        .unwrap();
        let scopes: Vec<String> = scopes.iter().map(|scope| (*scope).to_owned()).collect();
        let token = huimin_web::accounts::issue_api_token(
            store.as_ref(),
            login,
            "tests",
            &scopes,
            chrono::Duration::days(1),
            &actor,
            now,
        )
        .await
        .unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        (client, token)
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }
}

async fn load_city(store: &dyn RegistryStore) {
    let city = city();
    let provenance = Provenance {
        source: "公安局".into(),
        batch: "fixture".into(),
        recorded_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    };
    store
        .put_areas(
            &city.areas,
            &provenance,
            &huimin_domain::audit::Actor::system("fixture"),
        )
        .await
        .unwrap();
    store
        .put_persons(
            &city.persons,
            &provenance,
            &huimin_domain::audit::Actor::system("fixture"),
        )
        .await
        .unwrap();
    store
        .put_households(
            &city.households,
            &provenance,
            &huimin_domain::audit::Actor::system("fixture"),
        )
        .await
        .unwrap();
    store
        .put_buildings(
            &city.buildings,
            &provenance,
            &huimin_domain::audit::Actor::system("fixture"),
        )
        .await
        .unwrap();
    store
        .put_houses(
            &city.houses,
            &provenance,
            &huimin_domain::audit::Actor::system("fixture"),
        )
        .await
        .unwrap();
    store
        .put_entities(
            &city.entities,
            &provenance,
            &huimin_domain::audit::Actor::system("fixture"),
        )
        .await
        .unwrap();
}

/// A person who owns a house and represents an entity, for a full 360 view.
fn well_connected_person() -> &'static huimin_domain::registry::Person {
    let city = city();
    let representative = &city.entities[0].legal_representative;
    city.persons
        .iter()
        .find(|person| &person.citizen_id == representative)
        .expect("representatives are residents")
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn health_readiness_metrics_and_the_openapi_document() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.text().await.unwrap(), "ok");
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    app.get("/api/v1/persons").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("huimin_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/persons\""), "{metrics}");
    let (status, document) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["paths"]["/api/v1/persons/{citizen_id}/360"].is_object());
    let docs = app.get("/api/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn the_committed_openapi_document_is_fresh() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .unwrap_or_default();
    let generated = huimin_web::openapi::document_json();
    if committed.trim() != generated.trim() {
        if std::env::var("HUIMIN_UPDATE_OPENAPI").is_ok() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json"),
                format!("{}\n", generated.trim()),
            )
            .unwrap();
        } else {
            panic!(
                "docs/openapi.json is stale; regenerate with HUIMIN_UPDATE_OPENAPI=1 cargo test -p huimin-web the_committed_openapi"
            );
        }
    }
}

#[tokio::test]
async fn person_360_shows_households_houses_entities_and_history() {
    let app = TestApp::spawn().await;
    let person = well_connected_person();
    let (status, view) = app
        .get_json(&format!(
            "/api/v1/persons/{}/360",
            person.citizen_id.as_str()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["person"]["name"], person.name.as_str());
    assert_eq!(
        view["person"]["birth_date"],
        person.birth_date().to_string()
    );
    assert_eq!(view["person"]["provenance"]["source"], "公安局");
    assert_eq!(
        view["person"]["provenance"]["recorded_at"],
        "2026-11-01T08:00:00+08:00"
    );
    assert!(
        view["represented_entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["credit_code"] == city().entities[0].credit_code.as_str())
    );
    assert_eq!(view["history"].as_array().unwrap().len(), 1);
    let households = view["households"].as_array().unwrap();
    assert!(households.iter().all(|h| {
        h["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["citizen_id"] == person.citizen_id.as_str())
    }));
}

#[tokio::test]
async fn search_by_initials_and_area_is_paginated_and_sorted() {
    let app = TestApp::spawn().await;
    let person = &city().persons[0];
    let initials = huimin_domain::search::pinyin_initials(person.name.as_str());
    let (status, page) = app
        .get_json(&format!(
            "/api/v1/persons?initials={}&per_page=5",
            initials.to_uppercase()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let expected = city()
        .persons
        .iter()
        .filter(|p| huimin_domain::search::pinyin_initials(p.name.as_str()).starts_with(&initials))
        .count();
    assert_eq!(page["total"], expected as u64);
    assert!(page["items"].as_array().unwrap().len() <= 5);
    let grid = person.grid.as_ref().unwrap().as_str();
    let (_, in_grid) = app
        .get_json(&format!("/api/v1/persons?area={grid}&per_page=200"))
        .await;
    let expected_in_grid = city()
        .persons
        .iter()
        .filter(|p| p.grid.as_ref().map(|g| g.as_str()) == Some(grid))
        .count();
    assert_eq!(in_grid["total"], expected_in_grid as u64);
    let (status, body) = app.get_json("/api/v1/persons?area=32x").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(body["error"]["details"][0]["field"], "area");
}

#[tokio::test]
async fn create_update_history_and_as_of_through_the_api() {
    let app = TestApp::spawn().await;
    let body = json!({
        "citizen_id": "11010519491231002x",
        "name": "王秀英",
        "sex": "女",
        "birth_date": "1949-12-31",
        "hukou_address": "北京市东城区",
        "residence_address": "扬州市广陵区文昌中路18号",
        "phone": "+86 138-1234-5678",
        "tags": ["独居老人"]
    });
    let (status, created) = app.post_json("/api/v1/persons", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["outcome"], "inserted");
    assert_eq!(
        created["person"]["citizen_id"], "11010519491231002X",
        "lower-case x is normalised"
    );
    assert_eq!(created["person"]["phone"], "13812345678");
    assert_eq!(created["person"]["age"], 76);
    let (status, again) = app.post_json("/api/v1/persons", &body).await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (StatusCode::OK, Some("unchanged"))
    );
    let mut moved = body.clone();
    moved["residence_address"] = json!("扬州市广陵区东关街1号");
    let (status, updated) = app.post_json("/api/v1/persons", &moved).await;
    assert_eq!(
        (status, updated["outcome"].as_str()),
        (StatusCode::OK, Some("updated"))
    );
    let (_, history) = app
        .get_json("/api/v1/persons/11010519491231002X/history")
        .await;
    assert_eq!(history.as_array().unwrap().len(), 2);
    let (_, past) = app
        .get_json("/api/v1/persons/11010519491231002X?as_of=2026-11-22T10:00:00%2B08:00")
        .await;
    assert_eq!(
        past["residence_address"], "扬州市广陵区东关街1号",
        "both writes share the fixed clock's instant"
    );
    let (status, body) = app
        .get_json("/api/v1/persons/11010519491231002X?as_of=yesterday")
        .await;
    assert_eq!(
        (status, body["error"]["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_timestamp"))
    );
}

#[tokio::test]
async fn invalid_identifiers_get_precise_422s_and_unknown_objects_404() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post_json(
            "/api/v1/persons",
            &json!({"citizen_id": "110105194912310021", "name": "王秀英", "sex": "男"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "validation_failed");
    let detail = &body["error"]["details"][0];
    assert_eq!(detail["field"], "citizen_id");
    assert_eq!(detail["code"], "citizen_id_check_character");
    assert!(
        detail["message"].as_str().unwrap().contains("18"),
        "{detail}"
    );
    assert!(
        !body["error"]["request_id"].as_str().unwrap().is_empty(),
        "errors carry the request id"
    );

    let (status, body) = app
        .post_json(
            "/api/v1/persons",
            &json!({"citizen_id": "11010519491231002X", "name": "王秀英", "sex": "男"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["details"][0]["code"],
        "sex_disagrees_with_citizen_id"
    );

    let (status, body) = app.get_json("/api/v1/persons/110105194912310021").await;
    assert_eq!(
        (status, body["error"]["details"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("citizen_id_check_character")
        )
    );
    let (status, body) = app.get_json("/api/v1/persons/11010519491231002X").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, body) = app.get_json("/api/v1/entities/91350100M000100Y4Z").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app.get_json("/api/v1/entities/91350100M000100Y43").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.get_json("/api/v1/no-such-thing").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn malformed_wrongly_shaped_and_oversized_bodies() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post_raw("/api/v1/persons", b"{\"citizen_id\": ".to_vec())
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let (status, body) = app
        .post_raw("/api/v1/persons", b"{\"citizen_id\": 12}".to_vec())
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    let (status, body) = app
        .post_raw("/api/v1/persons", b"{\"citizen_idd\": \"x\"}".to_vec())
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        "unknown fields are refused"
    );
    let huge = format!("{{\"name\": \"{}\"}}", "张".repeat(40_000));
    let (status, body) = app.post_raw("/api/v1/persons", huge.into_bytes()).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let response = app
        .client
        .post(format!("{}/api/v1/persons", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_panicking_handler_becomes_an_opaque_500_and_the_server_lives_on() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/test/panic").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error_code(&body), "internal_error");
    assert!(
        !body.to_string().contains("index out of bounds"),
        "the panic message stays in the log: {body}"
    );
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn areas_as_geojson_grid_lookup_and_statistics() {
    let app = TestApp::spawn().await;
    let (status, grids) = app.get_json("/api/v1/areas?level=grid").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grids["type"], "FeatureCollection");
    let grid_count = city()
        .areas
        .iter()
        .filter(|a| a.level == huimin_domain::area::AreaLevel::Grid)
        .count();
    assert_eq!(grids["features"].as_array().unwrap().len(), grid_count);
    assert_eq!(grids["features"][0]["geometry"]["type"], "MultiPolygon");
    let (status, body) = app.get_json("/api/v1/areas?level=planet").await;
    assert_eq!(
        (status, body["error"]["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_one_of"))
    );

    let house = &city().houses[0];
    let point = house.address.point.unwrap();
    let (status, found) = app
        .get_json(&format!(
            "/api/v1/grid-at?longitude={}&latitude={}",
            point.longitude, point.latitude
        ))
        .await;
    assert_eq!(
        (status, found["grid"].as_str()),
        (StatusCode::OK, Some(house.grid.as_str()))
    );
    let (status, _) = app.get_json("/api/v1/grid-at?longitude=0&latitude=0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get_json("/api/v1/grid-at?longitude=500&latitude=0")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, population) = app.get_json("/api/v1/statistics/population").await;
    assert_eq!(status, StatusCode::OK);
    let alive = city()
        .persons
        .iter()
        .filter(|p| p.life_status == huimin_domain::registry::LifeStatus::Alive && p.grid.is_some())
        .count();
    assert_eq!(population["residents"], alive as u64);
    assert!(population["ageing_rate"].as_f64().unwrap() >= 0.2);
}

#[tokio::test]
async fn console_pages_in_chinese_and_english() {
    let app = TestApp::spawn().await;
    let person = well_connected_person();
    let page = app
        .get(&format!("/console/persons/{}", person.citizen_id.as_str()))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(person.name.as_str())
            && html.contains("人员全景")
            && html.contains("公民身份号码")
    );
    let english = app
        .get(&format!(
            "/console/persons/{}?lang=en",
            person.citizen_id.as_str()
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(english.contains("Person 360") && english.contains("Citizen identity number"));
    let switch = app
        .client
        .get(format!("{}/console/lang/en?back=/console/map", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.url().path(), "/console/map");
    let missing = app.get("/console/persons/11010519491231002X").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("未找到"));
    let search = app
        .get(&format!(
            "/console/persons?q={}",
            huimin_domain::search::pinyin_initials(person.name.as_str())
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(search.contains(person.name.as_str()));
    let empty = app
        .get("/console/persons?q=不存在的名字")
        .await
        .text()
        .await
        .unwrap();
    assert!(empty.contains("没有符合条件的记录"));
    for asset in [
        "/assets/vendor/leaflet/leaflet.js",
        "/assets/vendor/echarts/echarts.min.js",
        "/assets/app.css",
        "/assets/map.js",
    ] {
        assert_eq!(app.get(asset).await.status(), StatusCode::OK, "{asset}");
    }
}

/// The same API on PostgreSQL: the 360 view and a write.
#[tokio::test]
async fn the_api_works_on_postgres_too() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    let app = TestApp::spawn_on(&url, None, WebConfig::default()).await;
    let person = well_connected_person();
    let (status, view) = app
        .get_json(&format!(
            "/api/v1/persons/{}/360",
            person.citizen_id.as_str()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["person"]["name"], person.name.as_str());
    let (status, _) = app
        .post_json(
            "/api/v1/persons",
            &json!({"citizen_id": "11010519491231002X", "name": "王秀英"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    households_and_houses_through_the_api(&app).await;
}

#[tokio::test]
async fn households_and_houses_are_created_through_the_api() {
    households_and_houses_through_the_api(&TestApp::spawn().await).await;
}

/// Creates a household and a house for two people and finds them in the 360 views;
/// refuses bad ones field by field. Works on any backend.
async fn households_and_houses_through_the_api(app: &TestApp) {
    let spouse = huimin_domain::identifiers::CitizenId::from_parts(
        &huimin_domain::identifiers::AreaCode::parse("321002").unwrap(),
        chrono::NaiveDate::from_ymd_opt(1951, 3, 8).unwrap(),
        41,
    )
    .unwrap();
    let spouse = spouse.as_str();
    for (id, name) in [("11010519491231002X", "王秀英"), (spouse, "李建国")] {
        let (status, body) = app
            .post_json("/api/v1/persons", &json!({"citizen_id": id, "name": name}))
            .await;
        assert!(status.is_success(), "{body}");
    }
    let household = json!({
        "number": "H321002000777",
        "kind": "户籍户",
        "address": "扬州市广陵区文昌中路18号",
        "members": [
            {"citizen_id": "11010519491231002x", "relationship": "户主"},
            {"citizen_id": spouse, "relationship": "spouse"}
        ]
    });
    let (status, created) = app.post_json("/api/v1/households", &household).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "registered");
    assert_eq!(created["members"][0]["relationship_zh"], "户主");
    let (status, _) = app.post_json("/api/v1/households", &household).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same household again changes nothing"
    );

    let house = json!({
        "id": "321002001001001-099-9-909",
        "building_id": "321002001001001-099",
        "grid": "321002001001001",
        "usage": "住宅",
        "floor_area_m2": 89.5,
        "owners": ["11010519491231002X"],
        "rental": "出租",
        "tenants": [spouse],
        "district": "广陵区",
        "street": "汶河街道",
        "community": "文昌社区",
        "road": "文昌中路",
        "number": "18号",
        "building": "9",
        "room": "909",
        "longitude": 119.43,
        "latitude": 32.39
    });
    let (status, created) = app.post_json("/api/v1/houses", &house).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["rental"], "rented");
    let (status, read) = app
        .get_json("/api/v1/houses/321002001001001-099-9-909")
        .await;
    assert_eq!(
        (status, &read["tenants"][0]),
        (StatusCode::OK, &json!(spouse))
    );

    let (_, owner_view) = app.get_json("/api/v1/persons/11010519491231002X/360").await;
    assert_eq!(owner_view["households"][0]["number"], "H321002000777");
    let names: Vec<&str> = owner_view["households"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|member| member["name"].as_str())
        .collect();
    assert_eq!(names, ["王秀英", "李建国"]);
    assert_eq!(owner_view["owned_houses"][0]["floor_area_m2"], 89.5);
    let (_, tenant_view) = app.get_json(&format!("/api/v1/persons/{spouse}/360")).await;
    assert_eq!(
        tenant_view["rented_houses"][0]["id"],
        "321002001001001-099-9-909"
    );

    // Bad input: every wrong field named, nothing written.
    let (status, body) = app
        .post_json(
            "/api/v1/households",
            &json!({
                "number": "H-1",
                "kind": "family",
                "address": "扬州",
                "members": [{"citizen_id": "110105194912310021", "relationship": "户主"}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let codes: Vec<(&str, &str)> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| {
            (
                detail["field"].as_str().unwrap(),
                detail["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("kind", "not_one_of"),
            ("members", "citizen_id_check_character"),
            ("number", "invalid_household_number"),
        ]
    );
    let mut bad_house = house.clone();
    bad_house["id"] = json!("another-house");
    bad_house["grid"] = json!("3210");
    bad_house["floor_area_m2"] = json!(-3.0);
    let (status, body) = app.post_json("/api/v1/houses", &bad_house).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|detail| detail["field"].as_str())
        .collect();
    assert_eq!(fields, ["grid", "floor_area_m2"]);
    let (status, _) = app.get_json("/api/v1/houses/another-house").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Sends `body` to `path` with `client` and returns the status and JSON body.
async fn send_json(
    client: &reqwest::Client,
    address: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{address}{path}"))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

async fn fetch(client: &reqwest::Client, address: &str, path: &str) -> (StatusCode, Value) {
    let response = client
        .get(format!("{address}{path}"))
        .send()
        .await
        .expect("GET");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// The demo catalogue's resource `code` as an API body.
fn resource_body(code: &str) -> Value {
    let draft = huimin_city::catalogue()
        .resources
        .into_iter()
        .find(|resource| resource.code == code)
        .expect("a demo resource");
    serde_json::to_value(draft).unwrap()
}

#[tokio::test]
async fn the_catalogue_through_the_api_on_sqlite() {
    the_catalogue_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn the_catalogue_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    the_catalogue_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

async fn the_catalogue_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    // An empty catalogue is an empty page, not an error.
    let (status, empty) = app.get_json("/api/v1/catalogue/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (empty["total"].clone(), empty["items"].clone()),
        (json!(0), json!([]))
    );

    // Departments: only the city administrator (here the city's system) registers them.
    let city = app
        .client_as(
            "city.system",
            Role::CityAdministrator,
            None,
            &["catalogue:write"],
        )
        .await;
    let departments = huimin_city::catalogue().departments;
    let gongan = serde_json::to_value(&departments[0]).unwrap();
    let (status, refused) = app
        .post_json("/api/v1/catalogue/departments", &gongan)
        .await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    for department in &departments {
        let body = serde_json::to_value(department).unwrap();
        let (status, stored) =
            send_json(&city, address, "/api/v1/catalogue/departments", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
    }
    let (status, again) = send_json(&city, address, "/api/v1/catalogue/departments", &gongan).await;
    assert_eq!(
        (status, again["name"].as_str()),
        (StatusCode::OK, Some("扬州市公安局"))
    );
    let mut bad = gongan.clone();
    bad["credit_code"] = json!("11321000MB1234567X");
    bad["id"] = json!("Gong An");
    let (status, invalid) = send_json(&city, address, "/api/v1/catalogue/departments", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = invalid["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "credit_code"]);
    let (_, listed) = app.get_json("/api/v1/catalogue/departments").await;
    assert_eq!(listed.as_array().unwrap().len(), departments.len());
    assert_eq!(
        listed[0]["id"], "shuiwu",
        "pinyin order: 国家税务总局 first"
    );

    // Resources: 公安's data officer publishes 公安's, not 民政's.
    let gongan_officer = app
        .client_as(
            "gongan.system",
            Role::DepartmentDataOfficer,
            Some("gongan"),
            &["catalogue:write"],
        )
        .await;
    let residence = resource_body("301001/000001");
    let (status, published) = send_json(
        &gongan_officer,
        address,
        "/api/v1/catalogue/resources",
        &residence,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(
        (published["outcome"].as_str(), published["version"].as_u64()),
        (Some("published"), Some(1))
    );
    assert_eq!(
        published["resource"]["published_at"],
        "2026-11-22T10:00:00+08:00"
    );
    assert_eq!(published["resource"]["published_by"], "gongan.system");
    let (status, unchanged) = send_json(
        &gongan_officer,
        address,
        "/api/v1/catalogue/resources",
        &residence,
    )
    .await;
    assert_eq!(
        (status, unchanged["outcome"].as_str()),
        (StatusCode::OK, Some("unchanged"))
    );
    let mut revised = residence.clone();
    revised["keywords"] = json!(["居住证", "网格"]);
    let (status, second) = send_json(
        &gongan_officer,
        address,
        "/api/v1/catalogue/resources",
        &revised,
    )
    .await;
    assert_eq!(
        (status, second["version"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let marriage = resource_body("301003/000001");
    let (status, refused) = send_json(
        &gongan_officer,
        address,
        "/api/v1/catalogue/resources",
        &marriage,
    )
    .await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    // The same role without the scope is refused too, and so is a reader.
    let unscoped = app
        .client_as(
            "gongan.reader",
            Role::DepartmentDataOfficer,
            Some("gongan"),
            &[],
        )
        .await;
    let (status, _) = send_json(&unscoped, address, "/api/v1/catalogue/resources", &revised).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post_json("/api/v1/catalogue/resources", &revised).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The city administrator publishes anyone's; conflicts are 409s that name the holder.
    for code in [
        "101001/000001",
        "301003/000001",
        "301004/000001",
        "101002/000001",
        "301009/000003",
    ] {
        let (status, body) = send_json(
            &city,
            address,
            "/api/v1/catalogue/resources",
            &resource_body(code),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{code}: {body}");
    }
    let mut claiming = resource_body("301004/000001");
    for item in claiming["items"].as_array_mut().unwrap() {
        if item["name"] == "contact_address" {
            item["authoritative"] = json!(true);
        }
    }
    let (status, conflict) =
        send_json(&city, address, "/api/v1/catalogue/resources", &claiming).await;
    assert_eq!(
        (status, error_code(&conflict)),
        (StatusCode::CONFLICT, "conflict")
    );
    assert!(
        conflict["error"]["message"]
            .as_str()
            .unwrap()
            .contains("301001/000001"),
        "{conflict}"
    );
    let mut stolen = resource_body("301001/000001");
    stolen["provider"] = json!("minzheng");
    let (status, conflict) =
        send_json(&city, address, "/api/v1/catalogue/resources", &stolen).await;
    assert_eq!(
        (status, error_code(&conflict)),
        (StatusCode::CONFLICT, "conflict")
    );
    let mut invalid = resource_body("301001/000001");
    invalid["sharing"] = json!("sometimes");
    invalid["items"][1]["data_type"] = json!("blob");
    let (status, errors) = send_json(&city, address, "/api/v1/catalogue/resources", &invalid).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = errors["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["sharing", "items"]);
    let mut unknown_field = resource_body("301001/000001");
    unknown_field["colour"] = json!("red");
    let (status, _) = send_json(
        &city,
        address,
        "/api/v1/catalogue/resources",
        &unknown_field,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Reading: current, as of a version, every version; search in Chinese, filters, paging.
    let (status, current) = app
        .get_json("/api/v1/catalogue/resources/301001/000001")
        .await;
    assert_eq!(
        (status, current["version"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    assert_eq!(current["resource"]["keywords"], json!(["居住证", "网格"]));
    let (_, first) = app
        .get_json("/api/v1/catalogue/resources/301001/000001?version=1")
        .await;
    assert_eq!(first["resource"]["keywords"], json!(["居住证", "实有人口"]));
    let (_, versions) = app
        .get_json("/api/v1/catalogue/resources/301001/000001/versions")
        .await;
    let numbers: Vec<u64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let (status, missing) = app
        .get_json("/api/v1/catalogue/resources/301001/999999")
        .await;
    assert_eq!(
        (status, error_code(&missing)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, _) = app
        .get_json("/api/v1/catalogue/resources/301001/000001?version=9")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, malformed) = app.get_json("/api/v1/catalogue/resources/9x/1").await;
    assert_eq!(
        (status, error_code(&malformed)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (_, found) = app
        .get_json("/api/v1/catalogue/resources?q=%E5%A9%9A%E5%A7%BB")
        .await; // 婚姻
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["code"], "301003/000001");
    assert_eq!(found["items"][0]["provider_name"], "扬州市民政局");
    let (_, refused_only) = app
        .get_json("/api/v1/catalogue/resources?sharing=not_shared")
        .await;
    assert_eq!(refused_only["items"][0]["sharing_zh"], "不予共享");
    let (_, paged) = app
        .get_json("/api/v1/catalogue/resources?per_page=2&page=3")
        .await;
    assert_eq!(
        (
            paged["total"].as_u64(),
            paged["items"].as_array().unwrap().len()
        ),
        (Some(6), 2)
    );
    let (status, bad_filter) = app
        .get_json("/api/v1/catalogue/resources?sharing=maybe&subject=cat")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_filter["error"]["details"].as_array().unwrap().len(), 2);

    // DCAT-AP: one dataset per resource, with the vocabulary DCAT-AP prescribes.
    let response = app.get("/api/v1/catalogue/dcat").await;
    assert_eq!(response.headers()["content-type"], "application/ld+json");
    let dcat: Value = response.json().await.unwrap();
    assert_eq!(dcat["@type"], "dcat:Catalog");
    let datasets = dcat["dcat:dataset"].as_array().unwrap();
    assert_eq!(datasets.len(), 6);
    let residence = datasets
        .iter()
        .find(|d| d["dct:identifier"] == "301001/000001")
        .unwrap();
    assert_eq!(
        residence["dct:title"],
        json!({"@value": "居住登记信息", "@language": "zh"})
    );
    assert_eq!(
        residence["dct:publisher"]["foaf:name"]["@value"],
        "扬州市公安局"
    );
    assert_eq!(
        residence["dct:accrualPeriodicity"]["@id"],
        "http://publications.europa.eu/resource/authority/frequency/DAILY"
    );
    assert_eq!(
        residence["dct:accessRights"]["@id"],
        "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"
    );
    assert_eq!(residence["owl:versionInfo"], "2");
    assert_eq!(
        residence["dct:rights"]["rdfs:label"]["@value"],
        "有条件共享：用于社会救助、网格管理和政务服务的部门（依据：《居住证暂行条例》）"
    );
    assert_eq!(
        residence["csvw:tableSchema"]["csvw:primaryKey"],
        json!(["citizen_id"])
    );
    assert_eq!(
        residence["csvw:tableSchema"]["csvw:column"][2]["csvw:datatype"]["@id"],
        "xsd:date"
    );
    for dataset in datasets {
        for property in [
            "@id",
            "dct:title",
            "dct:description",
            "dct:publisher",
            "dct:identifier",
        ] {
            assert!(
                !dataset[property].is_null(),
                "{} lacks {property}",
                dataset["dct:identifier"]
            );
        }
    }

    // A dataset batch of 人社's contributions: its summary and rolling score for every
    // reader, its problems (values may be personal) for the provider's side only.
    {
        use huimin_domain::dataset::{BatchStart, Chunk, Layout, LoadMode, RowProblem};
        let store = huimin_store::connect(&app.url).await.unwrap();
        let contributions = store
            .resource(
                &huimin_domain::catalogue::ResourceCode::parse("301004/000001").unwrap(),
                None,
            )
            .await
            .unwrap()
            .unwrap();
        let start = BatchStart {
            batch_id: "renshe-2026-11".into(),
            resource: contributions.resource.code.clone(),
            resource_version: contributions.version,
            provider: contributions.resource.provider.clone(),
            mode: LoadMode::Full,
            atomic: false,
            digest: "d".into(),
            actor: huimin_domain::audit::Actor::system("import"),
            started_at: FixedClock.now(),
        };
        let (_, loader) = store.open_batch(&start).await.unwrap();
        let mut loader = loader.unwrap();
        let header = ["citizen_id", "insurance_type", "month", "salary_base"];
        let layout = Layout::from_header(&contributions.resource, &header, LoadMode::Full).unwrap();
        let person = well_connected_person().citizen_id.as_str();
        let mut chunk = Chunk::default();
        let good = layout
            .record(
                &contributions.resource,
                &[person, "养老保险", "2026-11-01", "4500"],
            )
            .unwrap();
        chunk.tally.count_valid(&contributions.resource, &good);
        chunk.records.push((2, good));
        for problem in layout
            .record(
                &contributions.resource,
                &["11010519491231002", "养老保险", "2026-11-01", "1"],
            )
            .unwrap_err()
        {
            chunk.problems.push(RowProblem { row: 3, problem });
        }
        chunk.tally.count_rejected();
        chunk.last_row = 3;
        loader.write(chunk).await.unwrap();
        loader.finish(FixedClock.now()).await.unwrap();
    }
    let (status, batches) = app
        .get_json("/api/v1/catalogue/resources/301004/000001/batches")
        .await;
    assert_eq!(status, StatusCode::OK, "{batches}");
    let batch = &batches["batches"]["items"][0];
    assert_eq!(
        (batch["batch_id"].as_str(), batch["status"].as_str()),
        (Some("renshe-2026-11"), Some("committed"))
    );
    assert_eq!(
        (
            batch["counts"]["inserted"].as_u64(),
            batch["counts"]["rejected"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(batch["quality"]["validity"], 0.5);
    assert_eq!(batches["rolling_score"], batch["quality"]["score"]);
    let (_, none_yet) = app
        .get_json("/api/v1/catalogue/resources/301001/000001/batches")
        .await;
    assert_eq!(
        (
            none_yet["rolling_score"].clone(),
            none_yet["batches"]["total"].clone()
        ),
        (Value::Null, json!(0))
    );
    let problems_path = "/api/v1/datasets/batches/renshe-2026-11/problems";
    let (status, problems) = fetch(&city, address, problems_path).await;
    assert_eq!(status, StatusCode::OK, "{problems}");
    assert_eq!(
        (
            problems["total"].as_u64(),
            problems["items"][0]["row"].as_u64()
        ),
        (Some(1), Some(3))
    );
    assert_eq!(problems["items"][0]["code"], "citizen_id_wrong_length");
    // 公安's officer and 民政's system: as if the batch did not exist.
    let (status, mut hidden) = fetch(&gongan_officer, address, problems_path).await;
    assert_eq!(
        (status, error_code(&hidden)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, mut missing) = app
        .get_json("/api/v1/datasets/batches/no-such-batch/problems")
        .await;
    // The same answer, but for the request's own id.
    hidden["error"]["request_id"].take();
    missing["error"]["request_id"].take();
    assert_eq!((status, missing), (StatusCode::NOT_FOUND, hidden));

    // Every write and every refusal is in the audit log.
    let store = huimin_store::connect(&app.url).await.unwrap();
    let entries = store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                action: Some("resource.publish".into()),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 100),
        )
        .await
        .unwrap();
    let outcomes: Vec<(String, &str)> = entries
        .items
        .iter()
        .map(|entry| (entry.event.object_id.clone(), entry.event.outcome.as_str()))
        .collect();
    let denied = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome == "denied")
        .count();
    let allowed = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome == "allowed")
        .count();
    assert_eq!((allowed, denied), (7, 3), "{outcomes:?}");
}

// ---------------------------------------------------------------- sharing and exchange

/// The demo city's departments and resources, published as the fixture.
async fn publish_demo_catalogue(
    store: &dyn huimin_domain::storage::Store,
) -> huimin_city::Catalogue {
    let actor = huimin_domain::audit::Actor::system("fixture");
    let catalogue = huimin_city::catalogue();
    for draft in &catalogue.departments {
        let department = draft.clone().validate().unwrap();
        let event = actor.event("department.put", "department", department.id.as_str());
        store
            .put_department(&department, &event, FixedClock.now())
            .await
            .unwrap();
    }
    for draft in &catalogue.resources {
        let resource = draft.clone().validate().unwrap();
        let event = actor.event("resource.publish", "resource", resource.code.as_str());
        store
            .publish_resource(&resource, &event, FixedClock.now())
            .await
            .unwrap();
    }
    catalogue
}

/// One batch of 公安's residence registrations: `(identity number, address)` rows.
async fn load_residences(
    store: &dyn huimin_domain::storage::Store,
    batch: &str,
    at: DateTime<Utc>,
    rows: &[(&str, &str)],
) {
    use huimin_domain::dataset::{BatchStart, Chunk, Layout, LoadMode};
    let code = huimin_domain::catalogue::ResourceCode::parse("301001/000001").unwrap();
    let residence = store.resource(&code, None).await.unwrap().unwrap();
    let (_, loader) = store
        .open_batch(&BatchStart {
            batch_id: batch.into(),
            resource: code.clone(),
            resource_version: residence.version,
            provider: residence.resource.provider.clone(),
            mode: LoadMode::Full,
            atomic: false,
            digest: batch.into(),
            actor: huimin_domain::audit::Actor::system("fixture"),
            started_at: at,
        })
        .await
        .unwrap();
    let mut loader = loader.unwrap();
    let layout = Layout::from_header(
        &residence.resource,
        &["citizen_id", "residence_address", "registered_on"],
        LoadMode::Full,
    )
    .unwrap();
    let mut chunk = Chunk::default();
    for (row, (id, address)) in rows.iter().enumerate() {
        let record = layout
            .record(&residence.resource, &[id, address, "2025-03-01"])
            .unwrap();
        chunk.tally.count_valid(&residence.resource, &record);
        chunk.records.push((row as u64 + 2, record));
        chunk.last_row = row as u64 + 2;
    }
    loader.write(chunk).await.unwrap();
    loader.finish(at).await.unwrap();
}

#[tokio::test]
async fn sharing_and_the_exchange_through_the_api_on_sqlite() {
    sharing_and_the_exchange_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn sharing_and_the_exchange_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    sharing_and_the_exchange_through_the_api(
        &TestApp::spawn_on(&url, None, WebConfig::default()).await,
    )
    .await;
}

/// Sends a GET with `headers` (the purpose, a consumer) on top of the client's token.
async fn fetch_with(
    client: &reqwest::Client,
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, Option<String>) {
    let mut request = client.get(format!("{address}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("GET");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (
        status,
        response.json().await.expect("a JSON body"),
        retry_after,
    )
}

async fn lookup_with(
    client: &reqwest::Client,
    address: &str,
    path: &str,
    purpose: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{address}{path}"))
        .header("x-purpose", purpose)
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

async fn sharing_and_the_exchange_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let store = huimin_store::connect(&app.url).await.unwrap();
    let catalogue = publish_demo_catalogue(store.as_ref()).await;
    // 公安's residence registrations of one person.
    let holder = well_connected_person().citizen_id.as_str().to_owned();
    load_residences(
        store.as_ref(),
        "gongan-residence-1",
        FixedClock.now(),
        &[(holder.as_str(), "扬州市广陵区文昌中路 1 号")],
    )
    .await;

    let minzheng = app
        .client_as(
            "minzheng.system",
            Role::DepartmentDataOfficer,
            Some("minzheng"),
            &["sharing:write", "exchange:read"],
        )
        .await;
    let gongan = app
        .client_as(
            "gongan.system",
            Role::DepartmentDataOfficer,
            Some("gongan"),
            &["sharing:write"],
        )
        .await;
    let renshe = app
        .client_as(
            "renshe.system",
            Role::DepartmentDataOfficer,
            Some("renshe"),
            &["sharing:write"],
        )
        .await;

    // A request with every field wrong names them all.
    let (status, invalid) = send_json(
        &minzheng,
        address,
        "/api/v1/sharing/requests",
        &json!({"resource": "301001/000001", "items": ["salary"], "purpose": "curiosity",
                "legal_basis": "", "valid_until": "2026-11-01", "retention": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{invalid}");
    let fields: Vec<&str> = invalid["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "items",
            "purpose",
            "legal_basis",
            "retention",
            "valid_until"
        ]
    );

    // Conditional: pending until five working days after Sunday 22 November 2026.
    let asked = json!({"resource": "301001/000001", "items": ["residence_address"],
        "purpose": "household_check", "legal_basis": "《社会救助暂行办法》第十一条",
        "valid_until": "2027-06-30", "rate_per_minute": 5, "retention": "核对结束后 30 日内删除"});
    let (status, request) = send_json(&minzheng, address, "/api/v1/sharing/requests", &asked).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(
        (
            request["status"].as_str(),
            request["deadline"].as_str(),
            request["consumer"].as_str(),
            request["provider"].as_str()
        ),
        (
            Some("pending"),
            Some("2026-11-27"),
            Some("minzheng"),
            Some("gongan")
        )
    );
    let id = request["id"].as_u64().unwrap();
    let purpose = [("x-purpose", "household_check 2026-0042")];
    let records_path = format!("/api/v1/exchange/resources/301001/000001/subjects/{holder}");
    let (status, refused, _) = fetch_with(&minzheng, address, &records_path, &purpose).await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("holds no grant"),
        "{refused}"
    );

    // The consumer may not decide; a third department does not see it; the provider does.
    let decision = format!("/api/v1/sharing/requests/{id}/decision");
    let (status, _) = send_json(&minzheng, address, &decision, &json!({"decision": "grant"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = fetch(&renshe, address, &format!("/api/v1/sharing/requests/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = fetch(&renshe, address, "/api/v1/sharing/requests").await;
    assert_eq!(listed["total"], 0);
    let (_, listed) = fetch(&gongan, address, "/api/v1/sharing/requests?status=pending").await;
    assert_eq!(
        (listed["total"].as_u64(), listed["items"][0]["id"].as_u64()),
        (Some(1), Some(id))
    );
    let (status, bad) =
        send_json(&gongan, address, &decision, &json!({"decision": "refuse"})).await;
    assert_eq!(
        (status, bad["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let (status, granted) =
        send_json(&gongan, address, &decision, &json!({"decision": "grant"})).await;
    assert_eq!(
        (status, granted["status"].as_str()),
        (StatusCode::OK, Some("granted")),
        "{granted}"
    );
    assert_eq!(granted["decided_by"], "gongan.system");
    let (status, again) =
        send_json(&gongan, address, &decision, &json!({"decision": "grant"})).await;
    assert_eq!(
        (status, error_code(&again)),
        (StatusCode::CONFLICT, "conflict")
    );

    // Under the grant: granted items only, with provenance.
    let (status, found, _) = fetch_with(&minzheng, address, &records_path, &purpose).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["grant"].as_u64(), Some(id));
    assert_eq!(found["items"], json!(["residence_address"]));
    assert_eq!(
        found["records"],
        json!([{"key": holder, "values": {"residence_address": "扬州市广陵区文昌中路 1 号"},
                "batch_id": "gongan-residence-1", "provider": "gongan",
                "recorded_at": "2026-11-22T10:00:00+08:00"}])
    );
    let outside = format!("{records_path}?items=registered_on");
    let (status, refused, _) = fetch_with(&minzheng, address, &outside, &purpose).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("registered_on"),
        "{refused}"
    );
    let (status, refused, _) = fetch_with(
        &minzheng,
        address,
        &records_path,
        &[("x-purpose", "case 7")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("household_check"),
        "{refused}"
    );
    let (status, unstated, _) = fetch_with(&minzheng, address, &records_path, &[]).await;
    assert_eq!(
        (status, unstated["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose"))
    );
    let (status, garbled, _) = fetch_with(
        &minzheng,
        address,
        "/api/v1/exchange/resources/301001/000001/subjects/32100219800102001",
        &purpose,
    )
    .await;
    assert_eq!(
        (status, garbled["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("subject"))
    );

    // A batch look-up: each subject once, in the order asked; an empty one for a stranger.
    let stranger = city()
        .persons
        .iter()
        .find(|person| person.citizen_id.as_str() != holder)
        .unwrap()
        .citizen_id
        .as_str()
        .to_owned();
    let lookups = "/api/v1/exchange/resources/301001/000001/lookups";
    let (status, looked) = lookup_with(
        &minzheng,
        address,
        lookups,
        purpose[0].1,
        &json!({"subjects": [stranger, holder, stranger]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{looked}");
    let results = looked["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        (
            results[0]["subject"].as_str(),
            results[0]["records"].as_array().unwrap().len()
        ),
        (Some(stranger.as_str()), 0)
    );
    assert_eq!(
        results[1]["records"][0]["values"]["residence_address"],
        "扬州市广陵区文昌中路 1 号"
    );
    let too_many: Vec<&str> = std::iter::repeat_n(holder.as_str(), 101).collect();
    let (status, refused) = lookup_with(
        &minzheng,
        address,
        lookups,
        purpose[0].1,
        &json!({"subjects": too_many}),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_many"))
    );

    // The rate: five a minute, three used (one read, a look-up of two); the clock stands still.
    for _ in 0..2 {
        let (status, _, _) = fetch_with(&minzheng, address, &records_path, &purpose).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, limited, retry_after) =
        fetch_with(&minzheng, address, &records_path, &purpose).await;
    assert_eq!(
        (status, error_code(&limited)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert_eq!(retry_after.as_deref(), Some("12"));

    // Verification: 市场监管's legal-entity resource is shared unconditionally, granted at once.
    let (status, entity_grant) = send_json(
        &minzheng,
        address,
        "/api/v1/sharing/requests",
        &json!({"resource": "101002/000001", "items": ["legal_representative"],
                "purpose": "household_check", "legal_basis": "《社会救助暂行办法》",
                "valid_until": "2027-06-30", "retention": "核对结束后删除"}),
    )
    .await;
    assert_eq!(
        (status, entity_grant["status"].as_str()),
        (StatusCode::CREATED, Some("granted")),
        "{entity_grant}"
    );
    let verify = |question: &str, subject: &str| {
        format!("/api/v1/exchange/verifications/{question}/{subject}")
    };
    let (status, yes, _) = fetch_with(
        &minzheng,
        address,
        &verify("legal_representative", &holder),
        &purpose,
    )
    .await;
    assert_eq!(
        (status, yes["answer"].as_str(), yes["source"].as_str()),
        (StatusCode::OK, Some("yes"), Some("101002/000001")),
        "{yes}"
    );
    let representatives: std::collections::HashSet<&str> = city()
        .entities
        .iter()
        .map(|entity| entity.legal_representative.as_str())
        .collect();
    let nobody = city()
        .persons
        .iter()
        .find(|person| !representatives.contains(person.citizen_id.as_str()))
        .unwrap()
        .citizen_id
        .as_str()
        .to_owned();
    let (_, no, _) = fetch_with(
        &minzheng,
        address,
        &verify("legal_representative", &nobody),
        &purpose,
    )
    .await;
    assert_eq!(no["answer"], "no");
    let (_, unknown, _) = fetch_with(
        &minzheng,
        address,
        &verify("legal_representative", "11010519491231002X"),
        &purpose,
    )
    .await;
    assert_eq!(unknown["answer"], "unknown");
    let (status, _, _) = fetch_with(&minzheng, address, &verify("alive", &holder), &purpose).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no grant of 人口基础信息");
    let (status, _, _) = fetch_with(&minzheng, address, &verify("income", &holder), &purpose).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Not shared: refused on arrival with the resource's reason.
    let not_shared = catalogue
        .resources
        .iter()
        .find(|resource| resource.sharing == "not_shared")
        .unwrap();
    let item = not_shared.items[0].name.clone();
    let (status, refused) = send_json(
        &minzheng,
        address,
        "/api/v1/sharing/requests",
        &json!({"resource": not_shared.code, "items": [item], "purpose": "household_check",
                "legal_basis": "x", "valid_until": "2027-01-31", "retention": "y"}),
    )
    .await;
    assert_eq!(
        (status, refused["status"].as_str()),
        (StatusCode::CREATED, Some("refused")),
        "{refused}"
    );
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains(not_shared.sharing_terms.as_str())
    );

    // Revoked: the exchange refuses from then on.
    let (status, revoked) = send_json(
        &gongan,
        address,
        &format!("/api/v1/sharing/requests/{id}/revocation"),
        &json!({"reason": "核对已结束"}),
    )
    .await;
    assert_eq!(
        (
            status,
            revoked["status"].as_str(),
            revoked["reason"].as_str()
        ),
        (StatusCode::OK, Some("revoked"), Some("核对已结束"))
    );
    let (status, _, _) = fetch_with(&minzheng, address, &records_path, &purpose).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Every release is in the audit log under the subject and the purpose; refusals as denied.
    let reads = store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                subject: Some(holder.clone()),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 200),
        )
        .await
        .unwrap();
    let count = |action: &str, outcome: huimin_domain::audit::Outcome| {
        reads
            .items
            .iter()
            .filter(|entry| entry.event.action == action && entry.event.outcome == outcome)
            .count()
    };
    use huimin_domain::audit::Outcome;
    assert_eq!(count("exchange.read", Outcome::Allowed), 3);
    assert_eq!(count("exchange.lookup", Outcome::Allowed), 1);
    assert_eq!(count("exchange.verify", Outcome::Allowed), 1);
    // No grant, wrong items, wrong purpose, over the rate, no grant of 人口基础信息, revoked.
    assert_eq!(
        count("exchange.read", Outcome::Denied) + count("exchange.verify", Outcome::Denied),
        6
    );
    assert!(
        reads
            .items
            .iter()
            .all(|entry| entry.event.action != "exchange.read"
                || entry.event.outcome != Outcome::Allowed
                || entry.event.purpose == "household_check 2026-0042")
    );

    // The monitoring dashboard counts today's calls (Shanghai day of the fixed clock).
    let (status, dashboard) = fetch(&minzheng, address, "/api/v1/monitoring/dashboard").await;
    assert_eq!(status, StatusCode::OK, "{dashboard}");
    let today = dashboard["exchange_per_day"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(today["day"], "2026-11-22");
    // Reads 3, a look-up of 2 subjects, 3 verifications answered; the 6 refusals above.
    assert_eq!(
        (today["allowed"].as_u64(), today["denied"].as_u64()),
        (Some(8), Some(6)),
        "{today}"
    );
    assert_eq!(dashboard["records"], 1);
    assert_eq!(dashboard["departments"], 12);
    let residence_total = dashboard["resource_totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["code"] == "301001/000001")
        .unwrap()
        .clone();
    assert_eq!(residence_total["records"], 1);
    assert_eq!(
        dashboard["recent_batches"][0]["batch_id"],
        "gongan-residence-1"
    );
    assert_eq!(
        dashboard["population"].as_u64(),
        Some(city().persons.len() as u64)
    );
    let (_, portrait) = fetch(&minzheng, address, "/api/v1/statistics/enterprises").await;
    assert_eq!(
        portrait["total"].as_u64(),
        Some(city().entities.len() as u64)
    );
    assert!(
        portrait["counts"][0]["district_name"]
            .as_str()
            .unwrap()
            .ends_with('区'),
        "{portrait}"
    );
}

// ---------------------------------------------------------------- disputes (一数一源)

#[tokio::test]
async fn disputes_through_the_api_on_sqlite() {
    disputes_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn disputes_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    disputes_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

async fn disputes_through_the_api(app: &TestApp) {
    use huimin_domain::dataset::{BatchStart, Chunk, Layout, LoadMode};
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let store = huimin_store::connect(&app.url).await.unwrap();
    let actor = huimin_domain::audit::Actor::system("fixture");
    publish_demo_catalogue(store.as_ref()).await;
    // 人社 records a contact address for a person that differs from the registry's
    // residence address, whose authoritative source is 公安.
    let person = well_connected_person();
    let holder = person.citizen_id.as_str().to_owned();
    let code = huimin_domain::catalogue::ResourceCode::parse("301004/000001").unwrap();
    let contributions = store.resource(&code, None).await.unwrap().unwrap();
    let (_, loader) = store
        .open_batch(&BatchStart {
            batch_id: "renshe-2026-11".into(),
            resource: code.clone(),
            resource_version: contributions.version,
            provider: contributions.resource.provider.clone(),
            mode: LoadMode::Full,
            atomic: false,
            digest: "d".into(),
            actor: actor.clone(),
            started_at: FixedClock.now(),
        })
        .await
        .unwrap();
    let mut loader = loader.unwrap();
    let layout = Layout::from_header(
        &contributions.resource,
        &[
            "citizen_id",
            "insurance_type",
            "month",
            "salary_base",
            "contact_address",
        ],
        LoadMode::Full,
    )
    .unwrap();
    let elsewhere = format!("{}（另址）", person.residence_address);
    let record = layout
        .record(
            &contributions.resource,
            &[
                holder.as_str(),
                "养老保险",
                "2026-11-01",
                "4500",
                elsewhere.as_str(),
            ],
        )
        .unwrap();
    let mut chunk = Chunk::default();
    chunk.tally.count_valid(&contributions.resource, &record);
    chunk.records.push((2, record));
    chunk.last_row = 2;
    loader.write(chunk).await.unwrap();
    loader.finish(FixedClock.now()).await.unwrap();

    let gongan = app
        .client_as(
            "gongan.system",
            Role::DepartmentDataOfficer,
            Some("gongan"),
            &["catalogue:write"],
        )
        .await;
    let renshe = app
        .client_as(
            "renshe.system",
            Role::DepartmentDataOfficer,
            Some("renshe"),
            &["catalogue:write"],
        )
        .await;
    let minzheng = app
        .client_as(
            "minzheng.system",
            Role::DepartmentDataOfficer,
            Some("minzheng"),
            &["catalogue:write"],
        )
        .await;
    let (status, routed) = fetch(&gongan, address, "/api/v1/disputes?status=open").await;
    assert_eq!(status, StatusCode::OK, "{routed}");
    assert_eq!(routed["total"], 1);
    let dispute = &routed["items"][0];
    assert_eq!(
        (
            dispute["field"].as_str(),
            dispute["subject"].as_str(),
            dispute["registry_value"].as_str(),
            dispute["source_value"].as_str(),
            dispute["authority"].as_str(),
            dispute["source_department"].as_str(),
        ),
        (
            Some("person.residence_address"),
            Some(holder.as_str()),
            Some(person.residence_address.as_str()),
            Some(elsewhere.as_str()),
            Some("gongan"),
            Some("renshe"),
        )
    );
    // Opened on Sunday 22 November 2026: five working days end on Friday the 27th.
    assert_eq!(
        (dispute["deadline"].as_str(), dispute["overdue"].as_bool()),
        (Some("2026-11-27"), Some(false))
    );
    let id = dispute["id"].as_u64().unwrap();
    let (_, theirs) = fetch(&renshe, address, "/api/v1/disputes").await;
    assert_eq!(theirs["total"], 1);
    let (_, none) = fetch(&minzheng, address, "/api/v1/disputes").await;
    assert_eq!(none["total"], 0);
    let (status, mut hidden) = fetch(&minzheng, address, &format!("/api/v1/disputes/{id}")).await;
    let (_, mut missing) = fetch(&minzheng, address, "/api/v1/disputes/999999").await;
    hidden["error"]["request_id"].take();
    missing["error"]["request_id"].take();
    assert_eq!((status, hidden), (StatusCode::NOT_FOUND, missing));
    let (status, _) = fetch(&gongan, address, "/api/v1/disputes?status=maybe").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Only the authority answers; correcting its own data needs a note; answered once.
    let answer = format!("/api/v1/disputes/{id}/answer");
    let (status, _) = send_json(
        &renshe,
        address,
        &answer,
        &json!({"resolution": "registry_correct"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, unexplained) = send_json(
        &gongan,
        address,
        &answer,
        &json!({"resolution": "source_correct"}),
    )
    .await;
    assert_eq!(
        (status, unexplained["error"]["details"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note"))
    );
    let (status, closed) = send_json(
        &gongan,
        address,
        &answer,
        &json!({"resolution": "registry_correct", "note": "经核实以公安居住登记为准"}),
    )
    .await;
    assert_eq!(
        (
            status,
            closed["status"].as_str(),
            closed["answered_by"].as_str()
        ),
        (StatusCode::OK, Some("closed"), Some("gongan.system")),
        "{closed}"
    );
    let (status, _) = send_json(
        &gongan,
        address,
        &answer,
        &json!({"resolution": "registry_correct"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, open) = fetch(&gongan, address, "/api/v1/disputes?status=open").await;
    assert_eq!(open["total"], 0);

    // Showing a dispute shows a person's address: each showing is in the audit log.
    let reads = store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                subject: Some(holder.clone()),
                action: Some("dispute.".into()),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 50),
        )
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = reads
        .items
        .iter()
        .map(|entry| (entry.event.action.as_str(), entry.event.actor.as_str()))
        .collect();
    assert!(
        actions.contains(&("dispute.read", "gongan.system")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("dispute.read", "renshe.system")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("dispute.answer", "gongan.system")),
        "{actions:?}"
    );
}

// ---------------------------------------------------------------- subscriptions

/// A clock that tests move forward.
struct MovableClock(std::sync::atomic::AtomicI64);

impl Clock for MovableClock {
    fn now(&self) -> DateTime<Utc> {
        FixedClock.now()
            + chrono::Duration::seconds(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// One delivery as the receiver got it: its headers and body.
type Received = (axum::http::HeaderMap, Vec<u8>);

/// A webhook receiver on a port: what it was sent, and the status it answers with.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<std::sync::Mutex<Vec<Received>>>,
    status: Arc<std::sync::atomic::AtomicU16>,
}

impl Receiver {
    async fn spawn(&self) -> String {
        let receiver = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let receiver = receiver.clone();
                    async move {
                        receiver
                            .received
                            .lock()
                            .unwrap()
                            .push((headers, body.to_vec()));
                        axum::http::StatusCode::from_u16(
                            receiver.status.load(std::sync::atomic::Ordering::SeqCst),
                        )
                        .unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    }
}

#[tokio::test]
async fn subscriptions_deliver_signed_changes_through_the_api_on_sqlite() {
    subscriptions_deliver_signed_changes(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn subscriptions_deliver_signed_changes_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    subscriptions_deliver_signed_changes(
        &TestApp::spawn_on(&url, None, WebConfig::default()).await,
    )
    .await;
}

async fn subscriptions_deliver_signed_changes(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let store = huimin_store::connect(&app.url).await.unwrap();
    publish_demo_catalogue(store.as_ref()).await;
    let minzheng = app
        .client_as(
            "minzheng.system",
            Role::DepartmentDataOfficer,
            Some("minzheng"),
            &["sharing:write", "exchange:read"],
        )
        .await;
    let gongan = app
        .client_as(
            "gongan.system",
            Role::DepartmentDataOfficer,
            Some("gongan"),
            &["sharing:write"],
        )
        .await;
    let (_, request) = send_json(
        &minzheng,
        address,
        "/api/v1/sharing/requests",
        &json!({"resource": "301001/000001", "items": ["residence_address"], "purpose": "household_check",
                "legal_basis": "x", "valid_until": "2027-06-30", "retention": "y"}),
    )
    .await;
    let grant = request["id"].as_u64().unwrap();
    send_json(
        &gongan,
        address,
        &format!("/api/v1/sharing/requests/{grant}/decision"),
        &json!({"decision": "grant"}),
    )
    .await;

    let receiver = Receiver::default();
    receiver
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let callback = receiver.spawn().await;
    let (status, refused) = send_json(
        &minzheng,
        address,
        "/api/v1/subscriptions",
        &json!({"grant": grant, "callback_url": "https://example.gov.cn/hook", "events": ["divorce"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = refused["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["callback_url", "events"]);
    let (status, _) = send_json(
        &gongan,
        address,
        "/api/v1/subscriptions",
        &json!({"grant": grant, "callback_url": callback}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another department's grant");
    let (status, subscription) = send_json(
        &minzheng,
        address,
        "/api/v1/subscriptions",
        &json!({"grant": grant, "callback_url": callback}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{subscription}");
    let id = subscription["id"].as_u64().unwrap();
    let secret = subscription["secret"].as_str().unwrap().to_owned();
    let (_, read_back) = fetch(&minzheng, address, &format!("/api/v1/subscriptions/{id}")).await;
    assert!(
        read_back.get("secret").is_none(),
        "the secret is shown once"
    );

    // Two registrations, then one of them moves.
    let (one, two) = (
        city().persons[0].citizen_id.as_str().to_owned(),
        city().persons[1].citizen_id.as_str().to_owned(),
    );
    load_residences(
        store.as_ref(),
        "r1",
        FixedClock.now(),
        &[(one.as_str(), "甲路 1 号"), (two.as_str(), "乙路 2 号")],
    )
    .await;
    load_residences(
        store.as_ref(),
        "r2",
        FixedClock.now(),
        &[(one.as_str(), "丙路 3 号"), (two.as_str(), "乙路 2 号")],
    )
    .await;

    let clock = Arc::new(MovableClock(std::sync::atomic::AtomicI64::new(0)));
    let state = AppState::new(store.clone(), clock.clone(), WebConfig::default())
        .await
        .unwrap();
    let client = huimin_web::webhooks::client();
    // The receiver fails: nothing moves, the next attempt waits a second.
    assert_eq!(
        huimin_web::webhooks::deliver_due(&state, &client)
            .await
            .unwrap(),
        0
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 1);
    assert_eq!(
        huimin_web::webhooks::deliver_due(&state, &client)
            .await
            .unwrap(),
        0
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 1, "backing off");
    clock.0.store(2, std::sync::atomic::Ordering::SeqCst);
    receiver
        .status
        .store(204, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        huimin_web::webhooks::deliver_due(&state, &client)
            .await
            .unwrap(),
        1
    );
    let (headers, body) = receiver.received.lock().unwrap()[1].clone();
    let timestamp: i64 = headers["x-huimin-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-huimin-signature"].to_str().unwrap(),
        huimin_domain::subscription::signature(&secret, timestamp, &body)
    );
    let delivered: Value = serde_json::from_slice(&body).unwrap();
    let events: Vec<(u64, &str, Option<&str>, &str)> = delivered["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            (
                event["seq"].as_u64().unwrap(),
                event["change"].as_str().unwrap(),
                event["event"].as_str(),
                event["values"]["residence_address"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (1, "inserted", None, "甲路 1 号"),
            (2, "inserted", None, "乙路 2 号"),
            (3, "updated", Some("move"), "丙路 3 号")
        ]
    );
    let only_granted: Vec<&str> = delivered["events"][0]["values"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(only_granted, ["residence_address"]);

    // The log, newest first; a replay delivers the move again.
    let (_, log) = fetch(
        &minzheng,
        address,
        &format!("/api/v1/subscriptions/{id}/deliveries"),
    )
    .await;
    assert_eq!(log["total"], 2);
    assert_eq!(
        (
            log["items"][0]["delivered"].as_bool(),
            log["items"][1]["status_code"].as_u64()
        ),
        (Some(true), Some(500))
    );
    let (status, replayed) = send_json(
        &minzheng,
        address,
        &format!("/api/v1/subscriptions/{id}/replay"),
        &json!({"from": 3}),
    )
    .await;
    assert_eq!(
        (status, replayed["cursor"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    assert_eq!(
        huimin_web::webhooks::deliver_due(&state, &client)
            .await
            .unwrap(),
        1
    );
    let again: Value = serde_json::from_slice(&receiver.received.lock().unwrap()[2].1).unwrap();
    assert_eq!(again["events"][0]["seq"], 3);

    // The grant revoked: the subscription is suspended and nothing more leaves.
    send_json(
        &gongan,
        address,
        &format!("/api/v1/sharing/requests/{grant}/revocation"),
        &json!({"reason": "结束"}),
    )
    .await;
    load_residences(
        store.as_ref(),
        "r3",
        FixedClock.now(),
        &[(one.as_str(), "丁路 4 号"), (two.as_str(), "乙路 2 号")],
    )
    .await;
    assert_eq!(
        huimin_web::webhooks::deliver_due(&state, &client)
            .await
            .unwrap(),
        0
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 3);
    let (_, suspended) = fetch(&minzheng, address, &format!("/api/v1/subscriptions/{id}")).await;
    assert_eq!(suspended["status"], "suspended");
}

/// A `multipart/form-data` body of text fields and one file part, written by hand (as any
/// client would send it) so a test can also cut it short.
fn form_body(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "huimin-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One cell of a test workbook.
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    /// A day serial shown with the built-in date format.
    Date(f64),
}

/// A minimal XLSX workbook of one sheet, written with the zip crate from the parts the
/// Office Open XML format requires; strings are inline, dates use built-in format 14.
fn xlsx(rows: &[Vec<Cell<'_>>]) -> Vec<u8> {
    use std::io::Write;
    let column = |index: usize| char::from(b'A' + u8::try_from(index).unwrap()).to_string();
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", column(c), r + 1);
            match cell {
                Cell::Text(text) => sheet.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"><is><t>{text}</t></is></c>"#
                )),
                Cell::Number(number) => {
                    sheet.push_str(&format!(r#"<c r="{at}"><v>{number}</v></c>"#))
                }
                Cell::Date(serial) => {
                    sheet.push_str(&format!(r#"<c r="{at}" s="1"><v>{serial}</v></c>"#))
                }
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#.to_owned(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned(),
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="缴费" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#.to_owned(),
        ),
        (
            "xl/styles.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#.to_owned(),
        ),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in parts {
        writer
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[tokio::test]
async fn dataset_uploads_through_the_api_on_sqlite() {
    dataset_uploads_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn dataset_uploads_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    dataset_uploads_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await)
        .await;
}

async fn dataset_uploads_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let store = huimin_store::connect(&app.url).await.unwrap();
    publish_demo_catalogue(store.as_ref()).await;
    let path = "/api/v1/catalogue/resources/301004/000001/batches";
    let renshe = app
        .client_as(
            "renshe.system",
            Role::DepartmentDataOfficer,
            Some("renshe"),
            &["catalogue:write"],
        )
        .await;
    let upload = |client: &reqwest::Client, fields: &[(&str, &str)], name: &str, file: &[u8]| {
        let (content_type, body) = form_body(fields, name, file);
        client
            .post(format!("{address}{path}"))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    let batches = |client: reqwest::Client| async move {
        let (_, listed) = fetch(&client, address, path).await;
        listed["batches"]["total"].as_u64().unwrap()
    };
    let person = well_connected_person().citizen_id.as_str();
    let other = city()
        .persons
        .iter()
        .find(|candidate| candidate.citizen_id.as_str() != person)
        .unwrap()
        .citizen_id
        .as_str();

    // A CSV of two good rows and one with a wrong check character: the good rows are
    // kept, the bad one reported.
    let csv = format!(
        "公民身份号码,险种,缴费月份,缴费基数（元）\n{person},养老保险,2026-10-01,4500\n\
         {other},养老保险,2026-10-01,5200\n11010519491231002,养老保险,2026-10-01,3000\n"
    );
    let response = upload(
        &renshe,
        &[("mode", "incremental")],
        "社保缴费.csv",
        csv.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let batch: Value = response.json().await.unwrap();
    assert_eq!(
        (
            batch["counts"]["inserted"].as_u64(),
            batch["counts"]["rejected"].as_u64()
        ),
        (Some(2), Some(1)),
        "{batch}"
    );
    assert_eq!(batch["status"], "committed");
    assert_eq!(batch["started_by"], "renshe.system");
    let first_id = batch["batch_id"].as_str().unwrap().to_owned();
    assert!(first_id.starts_with("sha256:"), "{first_id}");
    let (status, problems) = fetch(
        &renshe,
        address,
        &format!("/api/v1/datasets/batches/{first_id}/problems"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(problems["items"][0]["row"], 4, "{problems}");

    // The same file again is recognised: 200 with the batch as it was.
    let again = upload(&renshe, &[], "社保缴费.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["batch_id"].as_str(), Some(first_id.as_str()));
    assert_eq!(batches(renshe.clone()).await, 1);

    // An XLSX workbook: item titles for the header, a date cell, numbers as numbers.
    let workbook = xlsx(&[
        vec![
            Cell::Text("公民身份号码"),
            Cell::Text("险种"),
            Cell::Text("缴费月份"),
            Cell::Text("缴费基数（元）"),
        ],
        vec![
            Cell::Text(person),
            Cell::Text("医疗保险"),
            // 2026-11-01 in Excel's 1900 date system.
            Cell::Date(46327.0),
            Cell::Number(4500.0),
        ],
    ]);
    let response = upload(
        &renshe,
        &[("batch", "renshe-xlsx-1")],
        "缴费.xlsx",
        &workbook,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let batch: Value = response.json().await.unwrap();
    assert_eq!(batch["counts"]["inserted"], 1, "{batch}");
    assert_eq!(batch["counts"]["rejected"], 0, "{batch}");
    let records = store
        .subject_records(
            &huimin_domain::catalogue::ResourceCode::parse("301004/000001").unwrap(),
            person,
        )
        .await
        .unwrap();
    let medical = records
        .iter()
        .find(|record| record.values[2].as_deref() == Some("医疗保险"))
        .expect("the workbook's record");
    assert_eq!(
        (medical.values[3].as_deref(), medical.values[4].as_deref()),
        (Some("2026-11-01"), Some("4500.00"))
    );
    assert_eq!(medical.batch_id, "renshe-xlsx-1");

    // An atomic batch with a bad row writes nothing and says which rows failed.
    let bad = format!(
        "citizen_id,insurance_type,month,salary_base\n{other},失业保险,2026-10-01,5200\n{other},失业保险,2026-13-01,5200\n"
    );
    let response = upload(&renshe, &[("atomic", "true")], "bad.csv", bad.as_bytes())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rejected: Value = response.json().await.unwrap();
    assert_eq!(error_code(&rejected), "batch_rejected");
    assert!(
        rejected["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("1 rows were rejected"),
        "{rejected}"
    );
    assert_eq!(rejected["error"]["rows"][0]["row"], 3, "{rejected}");
    assert_eq!(
        rejected["error"]["rows"][0]["column"], "month",
        "{rejected}"
    );
    assert_eq!(
        batches(renshe.clone()).await,
        2,
        "an aborted atomic batch leaves none"
    );

    // A body cut short writes nothing.
    let (content_type, body) = form_body(&[], "cut.csv", csv.replace("4500", "4600").as_bytes());
    let cut = renshe
        .post(format!("{address}{path}"))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body[..body.len() - 30].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status(), StatusCode::BAD_REQUEST);
    let cut: Value = cut.json().await.unwrap();
    assert_eq!(error_code(&cut), "unreadable_upload", "{cut}");
    assert_eq!(batches(renshe.clone()).await, 2);

    // A header that is not the resource's, a form field that does not exist, no file.
    let response = upload(&renshe, &[], "x.csv", b"name,amount\nx,1\n")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mismatch: Value = response.json().await.unwrap();
    assert_eq!(
        mismatch["error"]["details"][0]["code"], "header_mismatch",
        "{mismatch}"
    );
    let response = upload(&renshe, &[("colour", "blue")], "x.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown: Value = response.json().await.unwrap();
    assert_eq!(
        unknown["error"]["details"][0]["code"], "unknown_field",
        "{unknown}"
    );
    let response = upload(&renshe, &[("mode", "sometimes")], "x.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Another department may not upload 人社's batches; a resource that does not exist is 404.
    let minzheng = app
        .client_as(
            "minzheng.system",
            Role::DepartmentDataOfficer,
            Some("minzheng"),
            &["catalogue:write"],
        )
        .await;
    let response = upload(&minzheng, &[], "x.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (content_type, body) = form_body(&[], "x.csv", csv.as_bytes());
    let missing = renshe
        .post(format!(
            "{address}/api/v1/catalogue/resources/301004/999999/batches"
        ))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(batches(renshe).await, 2);
}

#[tokio::test]
async fn cases_through_the_api_on_sqlite() {
    cases_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn cases_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    cases_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

async fn cases_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let houses = &city().houses;
    let here = &houses[0];
    let there = houses
        .iter()
        .find(|house| house.grid != here.grid)
        .expect("houses in two grids");
    let point = here.address.point.unwrap();
    let write = &["cases:write"];
    let worker = app
        .client_in(
            "grid.worker",
            Role::GridWorker,
            here.grid.as_str(),
            None,
            write,
        )
        .await;
    let other_worker = app
        .client_in(
            "other.worker",
            Role::GridWorker,
            there.grid.as_str(),
            None,
            write,
        )
        .await;
    let dispatcher = app
        .client_in("dispatcher", Role::Dispatcher, "321000", None, write)
        .await;
    let chengguan = app
        .client_in(
            "cg.officer",
            Role::DepartmentOfficer,
            "321000",
            Some("chengguan"),
            write,
        )
        .await;
    let reader_only = app
        .client_in(
            "dispatch.board",
            Role::Dispatcher,
            "321000",
            None,
            &["persons:read"],
        )
        .await;
    let post = |client: &reqwest::Client, path: &str, body: Value| {
        client.post(format!("{address}{path}")).json(&body).send()
    };
    let report = json!({
        "channel": "grid_patrol",
        "category": "P0101",
        "longitude": point.longitude,
        "latitude": point.latitude,
        "description": "井盖破损下沉，夜间有行人绊倒风险",
        "reporter_phone": "13805251234",
    });

    // Bad input names its field; a report outside the worker's grid is refused.
    let mut outside = report.clone();
    outside["longitude"] = json!(121.47);
    outside["latitude"] = json!(31.23);
    let response = post(&worker, "/api/v1/cases", outside).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["details"][0]["code"], "outside_city",
        "{body}"
    );
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("longitude")
    );
    let mut unknown = report.clone();
    unknown["category"] = json!("Z9999");
    let response = post(&worker, "/api/v1/cases", unknown).await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["details"][0]["code"], "unknown_category",
        "{body}"
    );
    let response = post(&other_worker, "/api/v1/cases", report.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = post(&reader_only, "/api/v1/cases", report.clone())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a token without cases:write"
    );

    // The report is placed in its grid, on the grid path, with its stage clock.
    let response = post(&worker, "/api/v1/cases", report.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let case: Value = response.json().await.unwrap();
    let id = case["id"].as_u64().unwrap();
    assert_eq!(case["grid"].as_str(), Some(here.grid.as_str()), "{case}");
    assert_eq!(case["district"].as_str(), Some(&here.grid.as_str()[..6]));
    assert_eq!(
        (case["status"].as_str(), case["path"].as_str()),
        (Some("reported"), Some("grid"))
    );
    assert_eq!(case["category_name"], "公用设施 / 井盖");
    assert_eq!(case["clock"]["stage"], "register");
    assert_eq!(case["clock"]["limit"], "30m");
    assert_eq!(case["timeline"][0]["action"], "report");
    assert_eq!(
        case["reporter_phone"], "138****1234",
        "a grid worker reads it masked"
    );

    // Outside the other worker's view it does not exist.
    let (status, mut hidden) = fetch(&other_worker, address, &format!("/api/v1/cases/{id}")).await;
    let (_, mut missing) = fetch(&other_worker, address, "/api/v1/cases/999999").await;
    hidden["error"]["request_id"].take();
    missing["error"]["request_id"].take();
    assert_eq!((status, hidden), (StatusCode::NOT_FOUND, missing));
    let (status, full) = fetch(&dispatcher, address, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(full["reporter_phone"], "13805251234");

    // The dispatcher registers it; a second action on the old version is refused with
    // the case as it now is.
    let act = |client: &reqwest::Client, version: u64, action: Value| {
        let mut body = action;
        body["version"] = json!(version);
        post(client, &format!("/api/v1/cases/{id}/actions"), body)
    };
    let response = act(&worker, 1, json!({"action": "register"}))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "grid workers do not register"
    );
    let response = act(&dispatcher, 1, json!({"action": "register"}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(
        (
            registered["status"].as_str(),
            registered["version"].as_u64()
        ),
        (Some("registered"), Some(2))
    );
    let dispatch = json!({"action": "dispatch", "lead": "chengguan", "level": "district"});
    let response = act(&dispatcher, 1, dispatch.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let stale: Value = response.json().await.unwrap();
    assert_eq!(error_code(&stale), "stale_version");
    assert_eq!(stale["error"]["current"]["version"], 2, "{stale}");
    assert_eq!(stale["error"]["current"]["status"], "registered");
    let response = act(&dispatcher, 2, dispatch).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // An illegal step is refused with the loop's reason.
    let response = act(
        &worker,
        3,
        json!({"action": "verify", "passed": true, "note": ""}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["error"]["details"][0]["code"], "transition_refused");
    assert_eq!(
        refused["error"]["details"][0]["message_zh"],
        "处于“派遣”状态的案件不能核查通过"
    );
    let response = act(&worker, 3, json!({"action": "fly"})).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The department signs for it and reports it done; only someone else verifies.
    let response = act(&chengguan, 3, json!({"action": "accept"}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = act(
        &chengguan,
        4,
        json!({"action": "feedback", "note": "已更换井盖"}),
    )
    .await
    .unwrap();
    let fed_back: Value = response.json().await.unwrap();
    assert_eq!(fed_back["status"], "fed_back", "{fed_back}");
    assert_eq!(fed_back["reporter_phone"], "138****1234");
    let response = act(
        &chengguan,
        5,
        json!({"action": "verify", "passed": true, "note": ""}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = act(
        &worker,
        5,
        json!({"action": "verify", "passed": true, "note": "已复核"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let closed: Value = response.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    let steps: Vec<&str> = closed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "report", "register", "dispatch", "accept", "feedback", "verify"
        ]
    );
    assert_eq!(closed["timeline"][2]["detail"]["lead"], "chengguan");

    // Lists hold what each caller sees.
    let ids = |client: reqwest::Client, path: &'static str| async move {
        let (status, page) = fetch(&client, address, path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|case| case["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(worker.clone(), "/api/v1/cases").await, [id]);
    assert_eq!(ids(chengguan.clone(), "/api/v1/cases").await, [id]);
    assert!(ids(other_worker.clone(), "/api/v1/cases").await.is_empty());
    assert!(
        ids(dispatcher.clone(), "/api/v1/cases?open=true")
            .await
            .is_empty()
    );
    assert_eq!(
        ids(dispatcher.clone(), "/api/v1/cases?status=closed").await,
        [id]
    );
    let (status, _) = fetch(&dispatcher, address, "/api/v1/cases?status=lost").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = fetch(
        &other_worker,
        address,
        &format!("/api/v1/cases?area={}", here.grid),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Dispatch rules: the city administrator sets them; a registered grid case and a new
    // hotline ticket go where they say.
    let admin = app
        .client_in("city.admin", Role::CityAdministrator, "321000", None, write)
        .await;
    let rules_path = "/api/v1/cases/dispatch-rules";
    let put = |client: &reqwest::Client, body: Value| {
        client
            .put(format!("{address}{rules_path}"))
            .json(&body)
            .send()
    };
    let rules = json!({"rules": [
        {"category": "P01", "lead": "chengguan", "assisting": ["zhujian"], "level": "district"},
        {"category": "H0101", "area": "", "lead": "gongshui", "level": "street"},
    ]});
    let response = put(&dispatcher, rules.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = put(
        &admin,
        json!({"rules": [{"category": "P01", "lead": "chengguan", "level": "district"},
                         {"category": "X99", "area": "32", "lead": "城管", "level": "city"}]}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong: Value = response.json().await.unwrap();
    let messages: Vec<&str> = wrong["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{wrong}");
    assert!(
        messages
            .iter()
            .all(|message| message.starts_with("rule 2: ")),
        "{messages:?}"
    );
    let (_, none) = fetch(&dispatcher, address, rules_path).await;
    assert_eq!(none["rules"], json!([]), "a refused set changes nothing");
    let response = put(&admin, rules).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, kept) = fetch(&dispatcher, address, rules_path).await;
    assert_eq!(kept["rules"][0]["lead"], "chengguan");

    let response = post(&worker, "/api/v1/cases", report.clone())
        .await
        .unwrap();
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["status"], "reported", "a grid report waits for 立案");
    let second_id = second["id"].as_u64().unwrap();
    let response = post(
        &dispatcher,
        &format!("/api/v1/cases/{second_id}/actions"),
        json!({"version": 1, "action": "register"}),
    )
    .await
    .unwrap();
    let routed: Value = response.json().await.unwrap();
    assert_eq!(
        (
            routed["status"].as_str(),
            routed["lead"].as_str(),
            routed["version"].as_u64()
        ),
        (Some("dispatched"), Some("chengguan"), Some(3)),
        "{routed}"
    );
    assert_eq!(routed["timeline"][2]["actor"], "system:dispatch-rules");
    assert_eq!(routed["assisting"], json!(["zhujian"]));

    let agent = app
        .client_in("agent", Role::HotlineAgent, "321000", None, write)
        .await;
    let mut call = report.clone();
    call["channel"] = json!("hotline");
    call["category"] = json!("H0101");
    call["description"] = json!("小区停水两天，无人告知何时恢复");
    let response = post(&agent, "/api/v1/cases", call).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let ticket: Value = response.json().await.unwrap();
    assert_eq!(
        (
            ticket["path"].as_str(),
            ticket["status"].as_str(),
            ticket["lead"].as_str()
        ),
        (Some("hotline"), Some("assigned"), Some("gongshui")),
        "{ticket}"
    );
    // The answer's timeline is the one the store keeps: the report, then the rule's
    // dispatch, to the microsecond.
    let (_, read) = fetch(
        &agent,
        address,
        &format!("/api/v1/cases/{}", ticket["id"].as_u64().unwrap()),
    )
    .await;
    assert_eq!(
        ticket["timeline"].as_array().map(Vec::len),
        Some(2),
        "{ticket}"
    );
    assert_eq!(read["timeline"], ticket["timeline"]);
    assert_eq!(read["reported_at"], ticket["reported_at"]);
    assert_eq!(
        ticket["reporter_phone"], "13805251234",
        "agents read the caller's number"
    );
}

#[tokio::test]
async fn case_supervision_through_the_api_on_sqlite() {
    case_supervision_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn case_supervision_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    case_supervision_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await)
        .await;
}

/// Warnings, automatic escalation, indicators (JSON and CSV) and duplicate suggestions
/// with merging, over cases loaded with their history and cases reported now.
async fn case_supervision_through_the_api(app: &TestApp) {
    use huimin_domain::case::intake::{Bounds, CaseDraft};
    use huimin_domain::case::{Case, CaseEvent, category::Categories};
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let houses = &city().houses;
    let here = &houses[0];
    let there = houses
        .iter()
        .find(|house| house.grid.as_str()[..6] != here.grid.as_str()[..6])
        .or_else(|| houses.iter().find(|house| house.grid != here.grid))
        .expect("houses in two grids");
    let point = here.address.point.unwrap();
    let district = &here.grid.as_str()[..6];
    let write = &["cases:write"];
    let worker = app
        .client_in(
            "sup.worker",
            Role::GridWorker,
            here.grid.as_str(),
            None,
            write,
        )
        .await;
    let stranger = app
        .client_in(
            "sup.stranger",
            Role::GridWorker,
            there.grid.as_str(),
            None,
            write,
        )
        .await;
    let dispatcher = app
        .client_in("sup.dispatcher", Role::Dispatcher, "321000", None, write)
        .await;

    // Last Monday's report, never registered: its 30-minute register stage is red.
    let store = huimin_store::connect(&app.url).await.unwrap();
    let monday = Utc.with_ymd_and_hms(2026, 11, 16, 1, 0, 0).unwrap();
    let draft = CaseDraft {
        channel: "grid_patrol".into(),
        category: "P0101".into(),
        longitude: Some(point.longitude),
        latitude: Some(point.latitude),
        description: "井盖破损下沉，夜间有行人绊倒风险".into(),
        ..CaseDraft::default()
    };
    let wide = Bounds {
        min_longitude: 73.0,
        min_latitude: 3.0,
        max_longitude: 136.0,
        max_latitude: 54.0,
    };
    let old = Case {
        id: 500,
        ..Case::open(
            draft
                .validate(Categories::shipped().unwrap(), wide)
                .unwrap(),
            Some(here.grid.as_str().to_owned()),
            "sup.worker",
            monday,
        )
    };
    let report_event = CaseEvent {
        seq: 1,
        action: None,
        actor: old.reported_by.clone(),
        at: old.reported_at,
        from: None,
        to: old.flow.status,
    };
    store
        .load_cases(&[(old.clone(), vec![report_event])])
        .await
        .unwrap();

    // A report now, at the same manhole: offered for merging with the old one.
    let response = dispatcher
        .post(format!("{address}/api/v1/cases"))
        .json(&json!({
            "channel": "hotline", "category": "P0101",
            "longitude": point.longitude, "latitude": point.latitude,
            "description": "井盖破损下沉了，晚上有人差点绊倒",
            "reporter_phone": "13905251111",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let fresh: Value = response.json().await.unwrap();
    let fresh_id = fresh["id"].as_u64().unwrap();
    assert_eq!(fresh["duplicates"][0]["case_id"], 500, "{fresh}");
    assert_eq!(fresh["grid"].as_str(), Some(here.grid.as_str()));
    assert_eq!(fresh["duplicates"][0]["distance_m"], 0.0);

    // Supervisors see the red stage; the fresh ticket is green (it is Sunday).
    let (status, warned) = fetch(
        &dispatcher,
        address,
        &format!("/api/v1/cases/warnings?area={district}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{warned}");
    let ids: Vec<u64> = warned
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [500], "{warned}");
    assert_eq!(warned[0]["clock"]["warning"], "red");
    let (status, _) = fetch(&dispatcher, address, "/api/v1/cases/warnings?warning=blue").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, theirs) = fetch(&stranger, address, "/api/v1/cases/warnings").await;
    assert_eq!(theirs, json!([]), "another grid's worker sees none of it");

    // The sweep escalates the red stage once, as the time limits' account.
    let state = AppState::new(
        huimin_store::connect(&app.url).await.unwrap(),
        Arc::new(FixedClock),
        WebConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(huimin_web::api::escalate_overdue(&state).await.unwrap(), 1);
    assert_eq!(huimin_web::api::escalate_overdue(&state).await.unwrap(), 0);
    let (_, escalated) = fetch(&dispatcher, address, "/api/v1/cases/500").await;
    assert_eq!(escalated["supervisions"], 1);
    assert_eq!(
        escalated["level"], "district",
        "one level up from the street"
    );
    let last = escalated["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("supervise"), Some("system:time-limits"))
    );

    // Merging: not into itself, not across categories; the fresh ticket into the old case.
    let act = |id: u64, version: u64, action: Value| {
        let mut body = action;
        body["version"] = json!(version);
        dispatcher
            .post(format!("{address}/api/v1/cases/{id}/actions"))
            .json(&body)
            .send()
    };
    let version = fresh["version"].as_u64().unwrap();
    let response = act(
        fresh_id,
        version,
        json!({"action": "merge", "into": fresh_id}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "into", "{body}");
    let response = act(
        fresh_id,
        version,
        json!({"action": "merge", "into": 999_999}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = act(fresh_id, version, json!({"action": "merge", "into": 500}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let merged: Value = response.json().await.unwrap();
    assert_eq!(
        (merged["status"].as_str(), merged["merged_into"].as_u64()),
        (Some("merged"), Some(500))
    );
    // The merged caller keeps their own callback.
    let agent = app
        .client_in("sup.agent", Role::HotlineAgent, "321000", None, write)
        .await;
    let response = agent
        .post(format!("{address}/api/v1/cases/{fresh_id}/actions"))
        .json(&json!({"version": merged["version"], "action": "call_back", "reached": true, "satisfaction": 4}))
        .send()
        .await
        .unwrap();
    let called: Value = response.json().await.unwrap();
    assert_eq!(called["satisfaction"], 4, "{called}");
    assert_eq!(called["status"], "merged");

    // Indicators for the month, by community: both reports, one merged caller satisfied.
    let path = format!(
        "/api/v1/cases/indicators?from=2026-11-01&to=2026-11-30&area={district}&by=community"
    );
    let (status, table) = fetch(&dispatcher, address, &path).await;
    assert_eq!(status, StatusCode::OK, "{table}");
    assert_eq!(table["total"]["counts"]["reports"], 2, "{table}");
    assert_eq!(
        table["total"]["counts"]["registered"], 1,
        "the hotline ticket was taken"
    );
    let satisfaction = table["total"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["code"] == "satisfaction")
        .unwrap()
        .clone();
    assert_eq!(
        (
            satisfaction["numerator"].as_u64(),
            satisfaction["denominator"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        table["rows"][0]["unit"].as_str(),
        Some(&here.grid.as_str()[..12])
    );
    let response = dispatcher
        .get(format!("{address}{path}&format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}单位 unit,上报数 reports,有效上报率"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        3,
        "a header, one community and the total: {csv}"
    );
    let (status, body) = fetch(
        &dispatcher,
        address,
        "/api/v1/cases/indicators?from=2026-13-01&by=planet&weights=closing=x",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["from", "by", "weights"], "{body}");
    let (status, _) = fetch(
        &stranger,
        address,
        &format!(
            "/api/v1/cases/indicators?area={}",
            &there.grid.as_str()[..6]
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a grid worker counts only their grid"
    );
    let (status, own) = fetch(
        &worker,
        address,
        "/api/v1/cases/indicators?from=2026-11-01&by=worker",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(
        own["area"].as_str(),
        Some(here.grid.as_str()),
        "narrowed to the worker's grid"
    );
}

#[tokio::test]
async fn open311_georeport_v2_on_sqlite() {
    open311_georeport_v2(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn open311_georeport_v2_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    open311_georeport_v2(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

/// Open311 GeoReport v2 as a client sees it: discovery, services and a definition, a
/// request posted with an api_key and read back, in JSON and XML, with the
/// specification's errors; the fields the Open311 JSON schemas require are there with
/// their types.
async fn open311_georeport_v2(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let point = city().houses[0].address.point.unwrap();
    let anonymous = reqwest::Client::new();
    let get = |path: String| anonymous.get(format!("{address}/open311/v2/{path}")).send();
    // An api_key is an API token of a partner system allowed to open Open311 cases.
    let (partner, key) = app
        .client_and_token_in(
            "open311.partner",
            Role::HotlineAgent,
            "321000",
            None,
            &["cases:write"],
        )
        .await;

    let discovery: Value = get("discovery.json".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(
        discovery["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );

    let services: Value = get("services.json".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let services = services.as_array().unwrap();
    assert!(
        services.len() > 40,
        "every subcategory is a service: {}",
        services.len()
    );
    for service in services {
        assert!(service["service_code"].is_string() && service["service_name"].is_string());
        assert!(service["metadata"].is_boolean());
        assert!(["realtime", "batch", "blackbox"].contains(&service["type"].as_str().unwrap()));
    }
    let manhole = services
        .iter()
        .find(|service| service["service_code"] == "P0101")
        .unwrap();
    assert_eq!(
        (manhole["service_name"].as_str(), manhole["group"].as_str()),
        (Some("井盖"), Some("公用设施"))
    );
    let response = get("services.xml".into()).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let xml = response.text().await.unwrap();
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>"
        ),
        "{}",
        &xml[..120]
    );
    let definition: Value = get("services/P0101.json".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(definition["service_code"], "P0101");
    let priority = &definition["attributes"][0];
    assert_eq!(
        (priority["code"].as_str(), priority["datatype"].as_str()),
        (Some("priority"), Some("singlevaluelist"))
    );
    assert!(priority["variable"].is_boolean() && priority["required"].is_boolean());
    assert_eq!(
        priority["values"][1],
        json!({"key": "urgent", "name": "紧急"})
    );
    let response = get("services/Z9999.json".into()).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let errors: Value = response.json().await.unwrap();
    assert_eq!(errors[0]["code"], 404, "{errors}");
    assert!(errors[0]["description"].as_str().unwrap().contains("Z9999"));

    // Posting: without a key 403; without a location 400; an unknown service 404; all in
    // the specification's error format, JSON or XML.
    let post = |form: Vec<(&str, String)>, format: &str| {
        // Form-encoded, as the specification posts it.
        let mut url = reqwest::Url::parse("http://form.invalid/").unwrap();
        url.query_pairs_mut()
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())));
        anonymous
            .post(format!("{address}/open311/v2/requests.{format}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(url.query().unwrap_or_default().to_owned())
            .send()
    };
    let report = |key: &str| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", "P0101".to_owned()),
            ("lat", point.latitude.to_string()),
            ("long", point.longitude.to_string()),
            ("description", "人行道井盖缺失，夜间很危险".to_owned()),
            ("first_name", "明".to_owned()),
            ("last_name", "李".to_owned()),
            ("phone", "13905250000".to_owned()),
            ("attribute[priority]", "urgent".to_owned()),
        ]
    };
    let response = post(report("")[1..].to_vec(), "json").await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let errors: Value = response.json().await.unwrap();
    assert_eq!(errors[0]["code"], 403, "{errors}");
    let response = post(report("hm_not_a_key"), "xml").await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let xml = response.text().await.unwrap();
    assert!(
        xml.contains("<errors><error><code>403</code><description>"),
        "{xml}"
    );
    let mut unplaced = report(&key);
    unplaced.retain(|(name, _)| *name != "lat");
    unplaced.push(("address_string", "文昌中路18号".to_owned()));
    let response = post(unplaced, "json").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors: Value = response.json().await.unwrap();
    assert!(
        errors[0]["description"]
            .as_str()
            .unwrap()
            .contains("lat and long"),
        "{errors}"
    );
    let mut unknown = report(&key);
    unknown[1].1 = "Z9999".to_owned();
    let response = post(unknown, "json").await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let mut outside = report(&key);
    outside[2].1 = "31.23".to_owned();
    outside[3].1 = "121.47".to_owned();
    let response = post(outside, "json").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors: Value = response.json().await.unwrap();
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["description"].as_str().unwrap().starts_with("lat/long: ")),
        "{errors}"
    );

    let response = post(report(&key), "json").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let receipt: Value = response.json().await.unwrap();
    let id = receipt[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(receipt[0]["service_notice"].is_string() && receipt[0]["account_id"].is_null());
    // The case is an Open311 case with the reporter's details.
    let (_, case) = fetch(&partner, address, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        (case["channel"].as_str(), case["priority"].as_str()),
        (Some("open311"), Some("urgent"))
    );
    assert_eq!(case["reporter_name"], "李明");

    // Reading back: a key is needed (requests are personal data here).
    let response = get(format!("requests/{id}.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let one: Value = get(format!("requests/{id}.json?api_key={key}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request = &one[0];
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "P0101");
    assert!(request["lat"].is_number() && request["long"].is_number());
    let requested = request["requested_datetime"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(requested).is_ok() && requested.ends_with("+08:00"),
        "{requested}"
    );
    let xml = get(format!("requests/{id}.xml?api_key={key}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>")),
        "{xml}"
    );
    let list: Value = get(format!(
        "requests.json?api_key={key}&service_code=P0101&status=open"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|request| request["service_request_id"] == id.as_str()),
        "{list}"
    );
    let closed: Value = get(format!("requests.json?api_key={key}&status=closed"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        closed
            .as_array()
            .unwrap()
            .iter()
            .all(|request| request["status"] == "closed")
    );
    let response = get(format!(
        "requests.json?api_key={key}&start_date=2026-01-01T00:00:00%2B08:00&end_date=2026-11-01T00:00:00%2B08:00"
    ))
    .await
    .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "more than 90 days"
    );
    let response = get(format!("requests.json?api_key={key}&start_date=yesterday"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let by_id: Value = get(format!(
        "requests.json?api_key={key}&service_request_id={id},999999"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        by_id.as_array().unwrap().len(),
        1,
        "an unknown id is left out"
    );
    let token: Value = get(format!("tokens/{id}.json?api_key={key}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token[0]["service_request_id"], id.as_str());
    let response = get(format!("tokens/999999.json?api_key={key}"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_knowledge_base_through_the_api_on_sqlite() {
    the_knowledge_base_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn the_knowledge_base_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    the_knowledge_base_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await)
        .await;
}

/// Agents keep the hotline's answers; a caller's words find the one that holds, expired
/// answers only when asked for.
async fn the_knowledge_base_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let write = &["cases:write"];
    let agent = app
        .client_in("kb.agent", Role::HotlineAgent, "321000", None, write)
        .await;
    let worker = app
        .client_in(
            "kb.worker",
            Role::GridWorker,
            city().houses[0].grid.as_str(),
            None,
            write,
        )
        .await;
    let post = |client: &reqwest::Client, body: Value| {
        client
            .post(format!("{address}/api/v1/knowledge"))
            .json(&body)
            .send()
    };
    let water = json!({
        "title": "小区停水怎么办", "body": "计划停水会提前三天公告；突发停水请拨打供水抢修热线。",
        "category": "H0101", "department": "gongshui", "valid_from": "2026-01-01"
    });
    let response = post(&worker, water.clone()).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "grid workers read it, agents keep it"
    );
    let response = post(
        &agent,
        json!({"title": "水", "body": "", "category": "Z1", "valid_from": "2026-13-01"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "body", "category", "valid_from"]);
    let response = post(&agent, water).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let water_id = created["id"].as_u64().unwrap();
    assert_eq!(created["valid_now"], true);
    let response = post(
        &agent,
        json!({"title": "2025 年停水补偿办法", "body": "停水超过 24 小时的补偿办法（已废止）。", "valid_from": "2025-01-01", "valid_until": "2025-12-31"}),
    )
    .await
    .unwrap();
    let expired: Value = response.json().await.unwrap();

    let (status, found) = fetch(&worker, address, "/api/v1/knowledge?q=家里停水了怎么办").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ids: Vec<u64> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [water_id],
        "the expired answer is not offered: {found}"
    );
    assert!(found[0]["relevance"].as_f64().unwrap() >= 0.3);
    let (_, all) = fetch(&worker, address, "/api/v1/knowledge?q=停水&all=true").await;
    let ids: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert!(
        ids.contains(&expired["id"].as_u64().unwrap()) && ids.contains(&water_id),
        "{all}"
    );
    let (status, _) = fetch(&worker, address, "/api/v1/knowledge?q=，，").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, none) = fetch(&worker, address, "/api/v1/knowledge?q=燃气泄漏").await;
    assert_eq!(none, json!([]));

    // Replacing keeps the id; an unknown article is 404.
    let response = agent
        .put(format!("{address}/api/v1/knowledge/{water_id}"))
        .json(&json!({"title": "小区停水怎么办", "body": "计划停水提前三天公告，可在供水公司网站查询。", "valid_from": "2026-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, one) = fetch(&worker, address, &format!("/api/v1/knowledge/{water_id}")).await;
    assert!(one["body"].as_str().unwrap().contains("网站"));
    let response = agent
        .put(format!("{address}/api/v1/knowledge/999999"))
        .json(
            &json!({"title": "小区停水", "body": "计划停水提前公告。", "valid_from": "2026-01-01"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn patrol_rounds_through_the_api_on_sqlite() {
    patrol_rounds_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn patrol_rounds_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    patrol_rounds_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

/// A grid worker's round: the tasks of their grid from the registry, a check-in refused
/// outside the grid, one inside with a finding that becomes a case, and the task gone.
async fn patrol_rounds_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    use huimin_domain::registry::{PersonTag, RentalState};
    let address = app.address.as_str();
    let city = city();
    // A grid whose round has people and houses on it.
    let grid =
        city.houses
            .iter()
            .map(|house| house.grid.as_str())
            .find(|grid| {
                city.persons.iter().any(|p| {
                    p.grid.as_ref().map(|g| g.as_str()) == Some(*grid)
                        && p.tags.contains(&PersonTag::ElderlyLivingAlone)
                }) && city.houses.iter().any(|h| {
                    h.grid.as_str() == *grid && matches!(h.rental, RentalState::Rented { .. })
                })
            })
            .expect("a grid with elderly people living alone and rented houses");
    let inside = city
        .houses
        .iter()
        .find(|house| house.grid.as_str() == grid)
        .and_then(|house| house.address.point)
        .unwrap();
    let write = &["cases:write"];
    let worker = app
        .client_in("patrol.worker", Role::GridWorker, grid, None, write)
        .await;
    let dispatcher = app
        .client_in("patrol.dispatcher", Role::Dispatcher, "321000", None, write)
        .await;
    let (status, tasks) = fetch(&worker, address, "/api/v1/patrol/tasks").await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    let tasks = tasks.as_array().unwrap().clone();
    let kinds: Vec<&str> = tasks
        .iter()
        .map(|task| task["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"elderly_living_alone") && kinds.contains(&"rented_house"),
        "{kinds:?}"
    );
    let elderly = tasks
        .iter()
        .find(|task| task["kind"] == "elderly_living_alone")
        .unwrap();
    assert!(
        elderly["label"].as_str().unwrap().contains("**********"),
        "masked: {elderly}"
    );
    assert_eq!(elderly["overdue_days"], 0, "never visited: due today");
    let (status, _) = fetch(&dispatcher, address, "/api/v1/patrol/tasks").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a city-wide caller names the grid"
    );
    let (status, theirs) = fetch(
        &dispatcher,
        address,
        &format!("/api/v1/patrol/tasks?grid={grid}"),
    )
    .await;
    assert_eq!(
        (status, theirs.as_array().unwrap().len()),
        (StatusCode::OK, tasks.len())
    );

    let check_in = |client: &reqwest::Client, body: Value| {
        client
            .post(format!("{address}/api/v1/patrol/visits"))
            .json(&body)
            .send()
    };
    let reference = elderly["reference"].as_str().unwrap();
    let response = check_in(
        &worker,
        json!({"reference": reference, "longitude": inside.longitude + 0.5, "latitude": inside.latitude}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["details"][0]["code"], "outside_grid",
        "{body}"
    );
    let response = check_in(
        &worker,
        json!({"reference": "0123456789abcdef01234567", "longitude": inside.longitude, "latitude": inside.latitude}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = check_in(
        &dispatcher,
        json!({"reference": reference, "grid": grid, "longitude": inside.longitude, "latitude": inside.latitude}),
    )
    .await
    .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "grid workers check in"
    );
    let response = check_in(
        &worker,
        json!({
            "reference": reference, "longitude": inside.longitude, "latitude": inside.latitude,
            "note": "老人独自在家，腿脚不便",
            "finding": {"category": "G0501", "description": "独居老人家中燃气灶老化，需协助更换"}
        }),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let visit: Value = response.json().await.unwrap();
    assert_eq!(visit["case"]["category"], "G0501", "{visit}");
    assert_eq!(visit["case"]["channel"], "grid_patrol");
    assert_eq!(visit["case"]["grid"].as_str(), Some(grid));
    let (_, after) = fetch(&worker, address, "/api/v1/patrol/tasks").await;
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|task| task["reference"] != reference),
        "visited this week: off today's round"
    );
    assert_eq!(after.as_array().unwrap().len(), tasks.len() - 1);
}

#[tokio::test]
async fn facilities_through_the_api_on_sqlite() {
    facilities_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn facilities_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    facilities_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

/// A manhole cover registered by its owner department and a building appraised dangerous
/// land on the grid worker's round; a finding at the cover becomes a case.
async fn facilities_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let city = city();
    let building = &city.buildings[0];
    let grid = building.grid.as_str();
    let inside = city
        .houses
        .iter()
        .find(|house| house.building_id == building.id)
        .and_then(|house| house.address.point)
        .expect("a house of the building with its point");
    let write = &["cases:write"];
    let water = app
        .client_in(
            "facility.water",
            Role::DepartmentOfficer,
            "321000",
            Some("gongshui"),
            write,
        )
        .await;
    let power = app
        .client_in(
            "facility.power",
            Role::DepartmentOfficer,
            "321000",
            Some("gongdian"),
            write,
        )
        .await;
    let worker = app
        .client_in("facility.worker", Role::GridWorker, grid, None, write)
        .await;
    let code = format!("{}0102000042", &grid[..6]);
    let put = |client: &reqwest::Client, code: &str, body: Value| {
        client
            .put(format!("{address}/api/v1/components/{code}"))
            .json(&body)
            .send()
    };
    let cover =
        json!({"longitude": inside.longitude, "latitude": inside.latitude, "owner": "gongshui"});
    let response = put(&water, &code, cover.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let kept: Value = response.json().await.unwrap();
    assert_eq!(
        (
            kept["kind_zh"].as_str(),
            kept["grid"].as_str(),
            kept["status"].as_str()
        ),
        (Some("污水井盖"), Some(grid), Some("intact")),
        "{kept}"
    );
    let damaged = json!({"longitude": inside.longitude, "latitude": inside.latitude,
        "owner": "gongshui", "status": "damaged", "note": "井盖破损，有塌陷风险"});
    let response = put(&water, &code, damaged).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "replaced");
    let response = put(&power, &code, cover.clone()).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "another department's cover"
    );
    let response = put(
        &water,
        "3210000301000001",
        json!({"longitude": 0.0, "latitude": 0.0, "owner": "", "status": "gone"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "location", "owner", "status"], "{body}");
    let elsewhere = if grid.starts_with("321002") {
        "321003"
    } else {
        "321002"
    };
    let response = put(&water, &format!("{elsewhere}0102000001"), cover.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["details"][0]["code"], "county_mismatch",
        "{body}"
    );
    let (status, listed) = fetch(&worker, address, "/api/v1/components").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["status_zh"], "破损");
    let (status, _) = fetch(&worker, address, &format!("/api/v1/components/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    // The owner department sees its covers across the city; another department does not.
    let (status, theirs) = fetch(&water, address, "/api/v1/components").await;
    assert_eq!(
        (status, theirs["total"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{theirs}"
    );
    let (status, _) = fetch(&water, address, &format!("/api/v1/components/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, none) = fetch(&power, address, "/api/v1/components").await;
    assert_eq!(
        (status, none["total"].as_i64()),
        (StatusCode::OK, Some(0)),
        "{none}"
    );
    let (status, _) = fetch(&power, address, &format!("/api/v1/components/{code}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let appraise = |client: &reqwest::Client, building: &str, body: Value| {
        client
            .post(format!("{address}/api/v1/buildings/{building}/appraisals"))
            .json(&body)
            .send()
    };
    let report = json!({"grade": "D", "appraised_on": "2026-10-12",
        "agency": "市房屋安全鉴定中心", "report_no": "房鉴（2026）第0042号"});
    let response = appraise(&worker, &building.id, report.clone())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "grid workers do not appraise"
    );
    let response = appraise(&water, "no-such-building", report.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = appraise(
        &water,
        &building.id,
        json!({"grade": "E", "appraised_on": "2099-01-01", "agency": "", "report_no": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = appraise(&water, &building.id, report).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let recorded: Value = response.json().await.unwrap();
    assert_eq!(recorded["dangerous"], true, "{recorded}");
    let (status, safety) = fetch(
        &worker,
        address,
        &format!("/api/v1/buildings/{}/appraisals", building.id),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{safety}");
    assert_eq!(safety["dangerous"], true);
    assert_eq!(safety["appraisals"][0]["grade_zh"], "D级（整幢危房）");

    let (status, tasks) = fetch(&worker, address, "/api/v1/patrol/tasks").await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    let task_of = |kind: &str| {
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|task| task["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} task in {tasks}"))
    };
    let manhole = task_of("manhole");
    assert_eq!(manhole["object"].as_str(), Some(code.as_str()));
    assert!(
        manhole["label"].as_str().unwrap().contains("破损"),
        "{manhole}"
    );
    let dangerous = task_of("dangerous_building");
    assert_eq!(dangerous["object"].as_str(), Some(building.id.as_str()));
    assert!(
        dangerous["label"].as_str().unwrap().contains("整幢危房"),
        "{dangerous}"
    );
    assert_eq!(dangerous["house_id"], Value::Null);
    let response = worker
        .post(format!("{address}/api/v1/patrol/visits"))
        .json(&json!({
            "reference": manhole["reference"], "longitude": inside.longitude, "latitude": inside.latitude,
            "finding": {"category": "P0101", "description": "污水井盖破损，行人有坠落危险"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let visit: Value = response.json().await.unwrap();
    assert_eq!(visit["case"]["category"], "P0101", "{visit}");
    assert_eq!(visit["kind"], "manhole");
}

#[tokio::test]
async fn rentals_through_the_api_on_sqlite() {
    rentals_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn rentals_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    rentals_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

/// A grid worker registers a tenant at a rented house of their grid (late, flagged), is
/// refused a second registration of the same stay, registers the moving out; another
/// grid's worker does not find the house; every wrong field is named.
async fn rentals_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    use huimin_domain::registry::RentalState;
    let address = app.address.as_str();
    let city = city();
    let house = city
        .houses
        .iter()
        .find(|house| matches!(house.rental, RentalState::Rented { .. }))
        .expect("a rented house");
    let other_grid = city
        .houses
        .iter()
        .find(|other| other.grid != house.grid)
        .unwrap()
        .grid
        .as_str();
    let read = &["persons:read"];
    let worker = app
        .client_in(
            "rent.worker",
            Role::GridWorker,
            house.grid.as_str(),
            None,
            read,
        )
        .await;
    let stranger = app
        .client_in("rent.stranger", Role::GridWorker, other_grid, None, read)
        .await;
    let dispatcher = app
        .client_in("rent.dispatcher", Role::Dispatcher, "321000", None, read)
        .await;
    let path = format!("/api/v1/houses/{}/tenancies", house.id);
    let (status, before) = fetch(&worker, address, &path).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(
        (
            before["rental"].as_str(),
            before["tenancies"].as_array().map(Vec::len)
        ),
        (Some("rented"), Some(0))
    );
    let (status, _) = fetch(&stranger, address, &path).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another grid's house does not exist for them"
    );

    let post = |client: &reqwest::Client, path: String, body: Value| {
        client.post(format!("{address}{path}")).json(&body).send()
    };
    // FixedClock's today is 22 November 2026: moved in on the 12th, registered ten days on.
    let tenant =
        json!({"citizen_id": "11010519491231002X", "name": "刘租客", "moved_in": "2026-11-12"});
    let response = post(&dispatcher, path.clone(), tenant.clone())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "grid workers register tenants"
    );
    let response = post(
        &worker,
        path.clone(),
        json!({"citizen_id": "110105194912310021", "moved_in": "2026-12-31"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["citizen_id", "moved_in"]);
    let response = post(&worker, path.clone(), tenant.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let stay: Value = response.json().await.unwrap();
    assert_eq!(
        (stay["late"].as_bool(), stay["days_late"].as_i64()),
        (Some(true), Some(7)),
        "{stay}"
    );
    assert_eq!(
        stay["tenant"], "1101**********002X",
        "masked without a purpose"
    );
    let response = post(&worker, path.clone(), tenant).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "they already live there"
    );

    let end = format!("{path}/{}/end", stay["id"]);
    let response = post(&worker, end.clone(), json!({"moved_out": "2026-11-01"}))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "before moving in"
    );
    let response = post(&worker, end.clone(), json!({"moved_out": "2026-11-20"}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let ended: Value = response.json().await.unwrap();
    assert_eq!(
        (ended["current"].as_bool(), ended["moved_out"].as_str()),
        (Some(false), Some("2026-11-20"))
    );
    let response = post(&worker, end, json!({"moved_out": "2026-11-21"}))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "no current stay any more"
    );
    let (_, after) = fetch(&worker, address, &path).await;
    assert_eq!(
        after["tenancies"][0]["late"], true,
        "the history keeps the flag: {after}"
    );
}

#[tokio::test]
async fn case_photos_through_the_api_on_sqlite() {
    case_photos_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn case_photos_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    case_photos_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

/// A photo with its GPS position in EXIF is kept without it; what is not a JPEG or PNG,
/// too large or damaged is refused; another grid's worker finds no such case.
async fn case_photos_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let houses = &city().houses;
    let here = &houses[0];
    let there = houses.iter().find(|house| house.grid != here.grid).unwrap();
    let point = here.address.point.unwrap();
    let write = &["cases:write"];
    let worker = app
        .client_in(
            "photo.worker",
            Role::GridWorker,
            here.grid.as_str(),
            None,
            write,
        )
        .await;
    let stranger = app
        .client_in(
            "photo.stranger",
            Role::GridWorker,
            there.grid.as_str(),
            None,
            write,
        )
        .await;
    let response = worker
        .post(format!("{address}/api/v1/cases"))
        .json(&json!({
            "channel": "grid_patrol", "category": "P0101",
            "longitude": point.longitude, "latitude": point.latitude,
            "description": "井盖破损，附现场照片",
        }))
        .send()
        .await
        .unwrap();
    let case: Value = response.json().await.unwrap();
    let id = case["id"].as_u64().unwrap();
    // A JPEG: SOI, APP1 with EXIF GPS, a table, the scan, EOI.
    let segment = |marker: u8, payload: &[u8]| {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out
    };
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend(segment(
        0xE1,
        b"Exif\0\0GPSLatitude 32.3912 GPSLongitude 119.4301",
    ));
    jpeg.extend(segment(0xDB, &[0; 65]));
    jpeg.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
    jpeg.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
    let upload = |client: &reqwest::Client, content_type: &str, body: Vec<u8>| {
        client
            .post(format!("{address}/api/v1/cases/{id}/photos"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = upload(&worker, "image/jpeg", jpeg.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let photo: Value = response.json().await.unwrap();
    let url = photo["url"].as_str().unwrap().to_owned();
    let kept = worker.get(format!("{address}{url}")).send().await.unwrap();
    assert_eq!(kept.headers()["content-type"], "image/jpeg");
    let bytes = kept.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0x12, 0x34, 0xFF, 0xD9]));
    assert!(
        !bytes.windows(3).any(|window| window == b"GPS"),
        "the position is gone"
    );
    assert_eq!(photo["size_bytes"].as_u64(), Some(bytes.len() as u64));
    let (_, read) = fetch(&worker, address, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(read["photos"][0]["url"].as_str(), Some(url.as_str()));

    let response = upload(&worker, "text/plain", b"not a photo".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = upload(&worker, "image/jpeg", b"GIF89a not a jpeg".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = upload(&worker, "image/png", jpeg.clone()).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a JPEG said to be a PNG"
    );
    let response = upload(&worker, "image/jpeg", jpeg[..20].to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["details"][0]["code"], "damaged_image",
        "{body}"
    );
    let mut large = jpeg.clone();
    large.resize(huimin_domain::case::photo::MAX_PHOTO_BYTES + 1, 0);
    let response = upload(&worker, "image/jpeg", large).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = upload(&stranger, "image/jpeg", jpeg).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let hidden = stranger
        .get(format!("{address}{url}"))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sms_inbox_through_the_api_on_sqlite() {
    the_sms_inbox_through_the_api(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn the_sms_inbox_through_the_api_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    the_sms_inbox_through_the_api(&TestApp::spawn_on(&url, None, WebConfig::default()).await).await;
}

/// A gateway delivers messages (once each, whatever it repeats); an agent takes one as a
/// ticket, placed where its text says, and the sender is told the ticket's number; a
/// second agent's attempt and a dismissal of it are refused; spam is dismissed.
async fn the_sms_inbox_through_the_api(app: &TestApp) {
    use huimin_domain::identity::Role;
    let address = app.address.as_str();
    let here = &city().houses[0];
    let point = here.address.point.unwrap();
    let gateway = app
        .client_in(
            "sms.gateway",
            Role::HotlineAgent,
            "321000",
            None,
            &["sms:inbound"],
        )
        .await;
    let agent = app
        .client_in(
            "sms.agent",
            Role::HotlineAgent,
            "321000",
            None,
            &["cases:write"],
        )
        .await;
    let worker = app
        .client_in(
            "sms.worker",
            Role::GridWorker,
            here.grid.as_str(),
            None,
            &["cases:write"],
        )
        .await;
    let deliver = |client: &reqwest::Client, body: Value| {
        client
            .post(format!("{address}/api/v1/sms/inbound"))
            .json(&body)
            .send()
    };
    let message = json!({
        "message_id": "gw-0001", "phone": "+86 139-0525-2222",
        "text": "幸福路12号门口井盖破损，晚上很危险", "received_at": "2026-11-02T09:00:00+08:00",
    });
    let response = deliver(&gateway, message.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let kept: Value = response.json().await.unwrap();
    let id = kept["id"].as_u64().unwrap();
    assert_eq!(
        (kept["status"].as_str(), kept["phone"].as_str()),
        (Some("new"), Some("139****2222"))
    );
    // The gateway delivers at least once: the same message again is the same message.
    let again = deliver(&gateway, message.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.json::<Value>().await.unwrap()["id"].as_u64(),
        Some(id)
    );
    let clash = deliver(
        &gateway,
        json!({"message_id": "gw-0001", "phone": "13905252222", "text": "别的"}),
    )
    .await
    .unwrap();
    assert_eq!(clash.status(), StatusCode::CONFLICT);
    let bad = deliver(
        &gateway,
        json!({"message_id": "", "phone": "12", "text": ""}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = bad.json::<Value>().await.unwrap()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["message_id", "phone", "text"]);
    // Only a gateway's token delivers; only agents and dispatchers read the inbox.
    let forged = deliver(
        &agent,
        json!({"message_id": "gw-9", "phone": "13905252222", "text": "测试"}),
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let spam = deliver(
        &gateway,
        json!({"message_id": "gw-0002", "phone": "13905253333", "text": "低价装修，欢迎来电"}),
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    let spam_id = spam["id"].as_u64().unwrap();
    let inbox = |client: &reqwest::Client, query: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("{address}/api/v1/sms{query}"))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, _) = inbox(&worker, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, waiting) = inbox(&agent, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(waiting["total"], 2);
    assert_eq!(waiting["items"][0]["id"].as_u64(), Some(id), "oldest first");
    assert_eq!(
        waiting["items"][0]["phone"], "13905252222",
        "agents see the number to call back"
    );
    let (status, _) = inbox(&agent, "?status=read").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The agent takes it as a ticket where the text says.
    let ticket = |client: &reqwest::Client, sms: u64| {
        client
            .post(format!("{address}/api/v1/sms/{sms}/ticket"))
            .json(&json!({
                "channel": "hotline", "category": "P0101",
                "longitude": point.longitude, "latitude": point.latitude,
                "description": "幸福路12号门口井盖破损，晚上很危险",
                "reporter_phone": "13800000000",
            }))
            .send()
    };
    let response = ticket(&agent, id).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let case: Value = response.json().await.unwrap();
    let case_id = case["id"].as_u64().unwrap();
    assert_eq!(
        case["channel"], "sms",
        "the channel is the message's, whatever the body says"
    );
    assert_eq!(
        case["reporter_phone"], "13905252222",
        "the sender is the reporter"
    );
    assert_eq!(case["callback"], "sms");
    assert_eq!(case["grid"].as_str(), Some(here.grid.as_str()));
    let sent = app.sent_sms.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "13905252222");
    assert!(
        sent[0].1.contains(&format!("工单号 {case_id}")),
        "{}",
        sent[0].1
    );
    // Taken once.
    let twice = ticket(&agent, id).await.unwrap();
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    let text = twice.text().await.unwrap();
    assert!(text.contains(&format!("case {case_id}")), "{text}");
    let dismiss = |sms: u64, reason: &str| {
        agent
            .post(format!("{address}/api/v1/sms/{sms}/dismiss"))
            .json(&json!({ "reason": reason }))
            .send()
    };
    assert_eq!(
        dismiss(id, "重复").await.unwrap().status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        dismiss(spam_id, " ").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let dismissed = dismiss(spam_id, "广告短信").await.unwrap();
    assert_eq!(dismissed.status(), StatusCode::OK);
    assert_eq!(
        dismissed.json::<Value>().await.unwrap()["status"],
        "dismissed"
    );
    assert_eq!(
        dismiss(9_999, "广告短信").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, waiting) = inbox(&agent, "").await;
    assert_eq!(waiting["total"], 0);
    let (_, all) = inbox(&agent, "?status=all").await;
    assert_eq!(all["total"], 2);
    let (_, ticketed) = inbox(&agent, "?status=ticketed").await;
    assert_eq!(ticketed["items"][0]["case_id"].as_u64(), Some(case_id));
    assert_eq!(
        app.sent_sms.0.lock().unwrap().len(),
        1,
        "a dismissal sends nothing"
    );
}
