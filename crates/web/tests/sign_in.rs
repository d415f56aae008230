//! Signing in against the real application on a real port, with a clock the tests move:
//! password then TOTP (enrolled at the first sign-in), lockout, no account enumeration,
//! the code's time window and single use, idle and absolute session expiry, CSRF refusal,
//! sign-out everywhere. Cookies are kept by hand, as a browser would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, Duration, TimeZone, Utc};
use huimin_domain::audit::{Actor, Outcome};
use huimin_domain::identity::{
    Account, AccountKind, Role, RoleAssignment, SecondFactor, hash_password,
};
use huimin_domain::storage::Store;
use huimin_web::{AppState, Clock, WebConfig};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "扬州春风十里路不远";
/// A resident's password, made through the policy (12 characters at least).
const RESIDENT_PASSWORD: &str = "扬州春风十里路不远瘦西湖";

struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// The SMS gateway outside the city, as the tests see it: it keeps each message, or
/// refuses them all while `down` is set.
#[derive(Default)]
struct RecordingSms {
    sent: Mutex<Vec<(String, String)>>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl huimin_web::sms::SmsGateway for RecordingSms {
    async fn send(&self, phone: &str, text: &str) -> Result<(), huimin_web::sms::SmsError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(huimin_web::sms::SmsError::Unreachable(
                "connection refused".into(),
            ));
        }
        self.sent
            .lock()
            .unwrap()
            .push((phone.to_owned(), text.to_owned()));
        Ok(())
    }
}

impl RecordingSms {
    /// The six-digit code of the newest message, and the phone it went to.
    fn last_code(&self) -> (String, String) {
        let sent = self.sent.lock().unwrap();
        let (phone, text) = sent.last().expect("a message was sent");
        let at = text.find("验证码是 ").expect("a sign-in code message") + "验证码是 ".len();
        (phone.clone(), text[at..at + 6].to_owned())
    }

    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

struct App {
    address: String,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    sms: Arc<RecordingSms>,
    _directory: tempfile::TempDir,
}

async fn app() -> App {
    let (url, directory) = huimin_store::testing::fresh_sqlite_database().await;
    let store = huimin_store::connect(&url).await.unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap(),
    )));
    let now = clock.now();
    add_staff(
        store.as_ref(),
        "wang.li",
        "王丽",
        Role::GridWorker,
        "321002001001001",
        now,
    )
    .await;
    add_staff(
        store.as_ref(),
        "zhao.min",
        "赵敏",
        Role::AuditAdministrator,
        "321000",
        now,
    )
    .await;
    add_staff(
        store.as_ref(),
        "sun.li",
        "孙立",
        Role::SecurityAdministrator,
        "321000",
        now,
    )
    .await;
    let signer = huimin_domain::audit::AuditSigner::from_seed(&[8; 32]);
    store.checkpoint_audit(&signer, now).await.unwrap();
    let sms = Arc::new(RecordingSms::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let config = WebConfig {
        issuer: address.clone(),
        ..WebConfig::default()
    };
    // The ID-token key, and a retired one the JWKS still lists.
    let token_signer = huimin_domain::oidc::TokenSigner::from_seed(&[9; 32]);
    let retired = huimin_domain::oidc::TokenSigner::from_seed(&[10; 32]).public_key();
    let state = AppState::new(store.clone(), clock.clone(), config)
        .await
        .unwrap()
        .with_audit_keys(vec![signer.public_key()])
        .with_sms_gateway(sms.clone())
        .with_oidc_keys(huimin_web::OidcKeys {
            public: vec![token_signer.public_key(), retired],
            signer: token_signer,
        });
    let router = huimin_web::router(state, huimin_web::ExtraRoutes::new());
    tokio::spawn(huimin_web::serve(listener, router, std::future::pending()));
    App {
        address,
        clock,
        store,
        sms,
        _directory: directory,
    }
}

async fn add_staff(
    store: &dyn Store,
    login: &str,
    name: &str,
    role: Role,
    jurisdiction: &str,
    now: DateTime<Utc>,
) {
    let account = Account::new(
        login,
        AccountKind::Staff,
        name,
        hash_password(PASSWORD, &[3; 16]),
        now,
    );
    let actor = Actor::system("test");
    store
        .create_account(&account, &actor.event("account.create", "account", login))
        .await
        .unwrap();
    let assignment = RoleAssignment {
        role,
        jurisdiction: jurisdiction.into(),
        department: None,
        valid_from: now,
        valid_until: None,
    };
    let event = actor.event("account.assign_role", "account", login);
    store
        .assign_role(login, &assignment, &event, now)
        .await
        .unwrap();
}

/// A browser: follows no redirects by itself and keeps cookies.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

impl Page {
    /// The value of the hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(key, value)| {
            let encoded: String = value
                .bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                        (byte as char).to_string()
                    }
                    _ => format!("%{byte:02X}"),
                })
                .collect();
            format!("{key}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    fn new(app: &App) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.address.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            assert!(
                text.contains("HttpOnly") && text.contains("SameSite="),
                "{text}"
            );
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Page {
            status,
            location,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields))
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// The password step; returns its answer.
    async fn password(&mut self, login: &str, password: &str) -> Page {
        let form_page = self.get("/console/sign-in").await;
        assert_eq!(form_page.status, StatusCode::OK);
        let csrf = form_page.csrf();
        self.post(
            "/console/sign-in",
            &[("login", login), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    async fn code(&mut self, code: &str) -> Page {
        let page = self.get("/console/sign-in/second-factor").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.csrf();
        self.post(
            "/console/sign-in/second-factor",
            &[("code", code), ("csrf", &csrf)],
        )
        .await
    }
}

async fn factor(app: &App) -> SecondFactor {
    factor_of(app, "wang.li").await
}

async fn factor_of(app: &App, login: &str) -> SecondFactor {
    let account = app.store.account(login).await.unwrap().unwrap();
    SecondFactor::new(&account.totp_secret.expect("enrolment has begun")).unwrap()
}

/// Signs in with the password and the current code (enrolling at the first time).
async fn sign_in(app: &App, browser: &mut Browser) {
    sign_in_as(app, browser, "wang.li").await;
}

async fn sign_in_as(app: &App, browser: &mut Browser, login: &str) {
    let page = browser.password(login, PASSWORD).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (StatusCode::SEE_OTHER, "/console/sign-in/second-factor")
    );
    browser.get("/console/sign-in/second-factor").await;
    let code = factor_of(app, login).await.code_at(app.clock.now());
    let page = browser.code(&code).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (StatusCode::SEE_OTHER, "/console/account"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn staff_enrol_a_second_factor_at_the_first_sign_in_and_need_it_every_time() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/console/account").await.location,
        "/console/sign-in"
    );

    let page = browser.password("wang.li", PASSWORD).await;
    assert_eq!(page.location, "/console/sign-in/second-factor");
    let half_signed = browser.cookies["huimin_session"].clone();
    assert_eq!(
        browser.get("/console/account").await.location,
        "/console/sign-in",
        "a password alone is not enough"
    );
    let enrolment = browser.get("/console/sign-in/second-factor").await;
    assert!(
        enrolment.body.contains("<svg") && enrolment.body.contains("id=\"totp-secret\""),
        "{}",
        enrolment.body
    );
    let factor = factor(&app).await;
    assert!(enrolment.body.contains(&factor.secret_base32()));

    let wrong = browser.code("000000").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("验证码不正确"), "{}", wrong.body);
    // The code of the previous 30-second step is still accepted (clock drift).
    let code = factor.code_at(app.clock.now() - Duration::seconds(30));
    let page = browser.code(&code).await;
    assert_eq!(page.location, "/console/account");
    assert_ne!(
        browser.cookies["huimin_session"], half_signed,
        "a new token once signed in"
    );
    let account = browser.get("/console/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(
        account.body.contains("王丽")
            && account.body.contains("网格员")
            && account.body.contains("321002001001001")
    );

    // The half-signed-in token is gone.
    let mut thief = Browser::new(&app);
    thief.cookies.insert("huimin_session".into(), half_signed);
    assert_eq!(
        thief.get("/console/account").await.location,
        "/console/sign-in"
    );

    // Next time: no enrolment page, and the code just used cannot be used again.
    let csrf = account.csrf();
    browser.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(
        browser.get("/console/account").await.location,
        "/console/sign-in"
    );
    browser.password("wang.li", PASSWORD).await;
    let page = browser.get("/console/sign-in/second-factor").await;
    assert!(!page.body.contains("totp-secret"), "enrolled once");
    assert_eq!(
        browser.code(&code).await.status,
        StatusCode::UNAUTHORIZED,
        "a code is good once"
    );
    let two_steps_late = factor.code_at(app.clock.now() - Duration::seconds(61));
    assert_eq!(
        browser.code(&two_steps_late).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(Duration::seconds(30));
    let page = browser.code(&factor.code_at(app.clock.now())).await;
    assert_eq!(page.location, "/console/account");

    let size = app.store.audit_size().await.unwrap();
    let mut actions = Vec::new();
    for seq in 1..=size {
        let event = app
            .store
            .audit_entry(seq)
            .await
            .unwrap()
            .unwrap()
            .entry
            .event;
        actions.push(format!("{} {}", event.action, event.outcome.as_str()));
    }
    for expected in [
        "session.password allowed",
        "session.second_factor failed",
        "session.sign_in allowed",
        "session.sign_out allowed",
    ] {
        assert!(
            actions.iter().any(|action| action == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn five_failures_lock_the_account_and_no_answer_tells_whether_it_exists() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let unknown = browser.password("no.such.person", PASSWORD).await;
    let wrong = browser.password("wang.li", "not the password at all").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (wrong.status, &wrong.body),
        (unknown.status, &unknown.body),
        "same status and page"
    );
    for _ in 0..4 {
        browser.password("wang.li", "still not the password").await;
    }
    let locked = browser.password("wang.li", PASSWORD).await;
    assert_eq!(
        (locked.status, &locked.body),
        (unknown.status, &unknown.body),
        "locked looks the same"
    );
    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        browser.password("wang.li", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(Duration::minutes(16));
    let page = browser.password("wang.li", PASSWORD).await;
    assert_eq!(
        page.location, "/console/sign-in/second-factor",
        "unlocked after 15 minutes"
    );
    let failures = {
        let mut count = 0;
        for seq in 1..=app.store.audit_size().await.unwrap() {
            let event = app
                .store
                .audit_entry(seq)
                .await
                .unwrap()
                .unwrap()
                .entry
                .event;
            if event.action == "session.password" && event.outcome == Outcome::Failed {
                count += 1;
            }
        }
        count
    };
    assert_eq!(
        failures, 8,
        "every failed attempt is audited, the unknown login's too"
    );
}

#[tokio::test]
async fn sessions_end_after_30_idle_minutes_and_after_12_hours() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    sign_in(&app, &mut browser).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(browser.get("/console/account").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(30));
    assert_eq!(
        browser.get("/console/account").await.location,
        "/console/sign-in",
        "idle for 30 minutes"
    );

    app.clock.advance(Duration::seconds(30));
    sign_in(&app, &mut browser).await;
    for _ in 0..24 {
        app.clock.advance(Duration::minutes(29));
        assert_eq!(browser.get("/console/account").await.status, StatusCode::OK);
    }
    // 11 h 36 min in, used every 29 minutes; the next use after 12 h fails.
    app.clock.advance(Duration::minutes(25));
    assert_eq!(
        browser.get("/console/account").await.location,
        "/console/sign-in",
        "12 hours at most"
    );
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused_and_sign_out_everywhere_ends_every_session() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    browser.get("/console/sign-in").await;
    let missing = browser
        .post(
            "/console/sign-in",
            &[("login", "wang.li"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let forged = browser
        .post(
            "/console/sign-in",
            &[
                ("login", "wang.li"),
                ("password", PASSWORD),
                ("csrf", &"0".repeat(64)),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut no_cookie = Browser::new(&app);
    let page = no_cookie
        .post(
            "/console/sign-in",
            &[
                ("login", "wang.li"),
                ("password", PASSWORD),
                ("csrf", &"0".repeat(64)),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "a token without its cookie"
    );

    sign_in(&app, &mut browser).await;
    let mut phone = Browser::new(&app);
    app.clock.advance(Duration::seconds(30));
    sign_in(&app, &mut phone).await;
    let refused = browser
        .post("/console/sign-out-everywhere", &[("csrf", "forged")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        phone.get("/console/account").await.status,
        StatusCode::OK,
        "nothing ended"
    );
    let csrf = browser.get("/console/account").await.csrf();
    let page = browser
        .post("/console/sign-out-everywhere", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.location, "/console/sign-in");
    assert_eq!(
        phone.get("/console/account").await.location,
        "/console/sign-in",
        "the other device too"
    );
    assert_eq!(
        browser.get("/console/account").await.location,
        "/console/sign-in"
    );
}

#[tokio::test]
async fn only_the_audit_administrator_searches_and_verifies_the_log() {
    let app = app().await;
    let mut outsider = Browser::new(&app);
    assert_eq!(
        outsider.get("/console/audit").await.location,
        "/console/sign-in"
    );
    outsider.password("wang.li", "a wrong password here").await;
    sign_in(&app, &mut outsider).await;
    assert_eq!(
        outsider.get("/console/audit").await.status,
        StatusCode::NOT_FOUND,
        "not for a grid worker"
    );

    let mut auditor = Browser::new(&app);
    app.clock.advance(Duration::seconds(30));
    sign_in_as(&app, &mut auditor, "zhao.min").await;
    let page = auditor.get("/console/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("session.sign_in") && page.body.contains("wang.li"),
        "{}",
        page.body
    );
    let failed = auditor
        .get("/console/audit?action=session.pass&outcome=failed")
        .await;
    assert!(
        failed.body.contains("<span id=\"audit-total\">1</span>"),
        "{}",
        failed.body
    );
    assert!(failed.body.contains("wrong password") && !failed.body.contains("session.sign_in"));
    let csrf = page.csrf();
    let started = auditor
        .post("/console/audit/verify", &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (started.status, started.location.as_str()),
        (StatusCode::SEE_OTHER, "/console/audit"),
        "verification runs as a job of its own"
    );
    let mut verified = auditor.get("/console/audit").await;
    for _ in 0..100 {
        if !verified.body.contains("verification-running") {
            break;
        }
        assert!(
            verified.body.contains("http-equiv=\"refresh\""),
            "the page refreshes itself"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        verified = auditor.get("/console/audit").await;
    }
    assert!(verified.body.contains("日志完整"), "{}", verified.body);
    assert!(
        verified.body.contains("尚未签名"),
        "entries after the checkpoint are unsigned"
    );
    let forged = auditor
        .post("/console/audit/verify", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let searched = auditor.get("/console/audit?action=audit.").await;
    assert!(
        searched.body.contains("audit.search") && searched.body.contains("audit.verify"),
        "searching is audited"
    );
}

#[tokio::test]
async fn the_security_administrator_creates_accounts_and_assigns_roles_within_the_rules() {
    let app = app().await;
    let mut outsider = Browser::new(&app);
    sign_in(&app, &mut outsider).await;
    assert_eq!(
        outsider.get("/console/accounts").await.status,
        StatusCode::NOT_FOUND
    );

    let mut admin = Browser::new(&app);
    app.clock.advance(Duration::seconds(30));
    sign_in_as(&app, &mut admin, "sun.li").await;
    let page = admin.get("/console/accounts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("wang.li") && page.body.contains("网格员 @ 321002001001001"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let create = |password: &'static str| {
        [
            ("login", "chen.jing"),
            ("name", "陈静"),
            ("password", password),
            ("role", "hotline_agent"),
            ("jurisdiction", "321000"),
            ("department", "12345热线"),
        ]
    };
    let mut fields = create("short").to_vec();
    fields.push(("csrf", &csrf));
    let refused = admin.post("/console/accounts", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("at least 12 characters"),
        "{}",
        refused.body
    );
    let mut fields = create("1qaz2wsx3edc").to_vec();
    fields.push(("csrf", &csrf));
    assert!(
        admin
            .post("/console/accounts", &fields)
            .await
            .body
            .contains("commonly used")
    );
    let mut fields = create("热线坐席的新密码足够长了").to_vec();
    fields.push(("csrf", &csrf));
    let created = admin.post("/console/accounts", &fields).await;
    assert_eq!(created.location, "/console/accounts?done=created");
    let roles = app.store.role_assignments("chen.jing").await.unwrap();
    assert_eq!(
        (roles[0].role, roles[0].department.as_deref()),
        (Role::HotlineAgent, Some("12345热线"))
    );
    assert_eq!(
        admin.post("/console/accounts", &fields).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "taken"
    );

    let assign = |login: &'static str, role: &'static str| {
        vec![
            ("login", login),
            ("role", role),
            ("jurisdiction", "321000"),
            ("department", ""),
        ]
    };
    let mut fields = assign("sun.li", "audit_administrator");
    fields.push(("csrf", &csrf));
    let separated = admin.post("/console/accounts/roles", &fields).await;
    assert_eq!(separated.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(separated.body.contains("三员"), "{}", separated.body);
    let mut fields = assign("chen.jing", "dispatcher");
    fields.push(("csrf", &csrf));
    assert_eq!(
        admin
            .post("/console/accounts/roles", &fields)
            .await
            .location,
        "/console/accounts?done=assigned"
    );
    assert_eq!(
        app.store.role_assignments("chen.jing").await.unwrap().len(),
        2
    );
    let mut fields = assign("chen.jing", "dispatcher");
    fields.push(("csrf", "forged"));
    assert_eq!(
        admin.post("/console/accounts/roles", &fields).await.status,
        StatusCode::FORBIDDEN
    );

    let mut by_admin = Vec::new();
    for seq in 1..=app.store.audit_size().await.unwrap() {
        let event = app
            .store
            .audit_entry(seq)
            .await
            .unwrap()
            .unwrap()
            .entry
            .event;
        if event.actor == "sun.li" && event.action.starts_with("account.") {
            by_admin.push((event.action, event.object_id));
        }
    }
    assert_eq!(
        by_admin,
        [
            ("account.create", "chen.jing"),
            ("account.assign_role", "chen.jing"),
            ("account.assign_role", "chen.jing")
        ]
        .map(|(action, object)| (action.to_owned(), object.to_owned()))
    );
}

#[tokio::test]
async fn api_writes_need_a_token_with_the_registry_write_scope_and_are_audited_as_its_system() {
    let app = app().await;
    let now = app.clock.now();
    let actor = Actor::system("test");
    huimin_web::accounts::add_service_account(
        app.store.as_ref(),
        "gongan.system",
        "公安人口系统",
        Role::DepartmentDataOfficer,
        "321000",
        None,
        &actor,
        now,
    )
    .await
    .unwrap();
    let token = |scopes: &[&str]| {
        let scopes: Vec<String> = scopes.iter().map(|scope| (*scope).to_owned()).collect();
        let store = app.store.clone();
        async move {
            huimin_web::accounts::issue_api_token(
                store.as_ref(),
                "gongan.system",
                &scopes.join("+"),
                &scopes,
                Duration::days(1),
                &Actor::system("test"),
                now,
            )
            .await
            .unwrap()
        }
    };
    let reader = token(&["persons:read"]).await;
    let writer = token(&["persons:read", "registry:write"]).await;
    let person = serde_json::json!({
        "citizen_id": "11010519491231002X", "name": "王秀英", "hukou_address": "扬州市广陵区",
        "residence_address": "扬州市广陵区", "tags": []
    });
    let client = reqwest::Client::new();
    let post = |token: Option<String>| {
        let mut request = client
            .post(format!("{}/api/v1/persons", app.address))
            .json(&person);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(Some(reader)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some("hm_not-a-token".into())).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(Some(writer.clone())).await.unwrap().status(),
        StatusCode::CREATED
    );
    let last = app.store.audit_size().await.unwrap();
    let entry = app
        .store
        .audit_entry(last)
        .await
        .unwrap()
        .unwrap()
        .entry
        .event;
    assert_eq!(
        (entry.actor.as_str(), entry.action.as_str()),
        ("gongan.system", "person.write")
    );
    let event = Actor::system("test").event("account.revoke_token", "account", "gongan.system");
    app.store
        .revoke_api_tokens("gongan.system", "persons:read+registry:write", &event, now)
        .await
        .unwrap();
    assert_eq!(
        post(Some(writer)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "revoked"
    );
}

/// Puts a small generated city's people into the registry; returns one with a phone and
/// the resident account made for them (`li.resident`).
async fn add_resident(app: &App) -> huimin_domain::registry::Person {
    let city = huimin_city::generate(
        &huimin_city::CityConfig {
            seed: 11,
            people: 60,
        },
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    );
    let provenance = huimin_domain::provenance::Provenance {
        source: "公安局".into(),
        batch: "residents".into(),
        recorded_at: app.clock.now(),
    };
    app.store
        .put_persons(&city.persons, &provenance, &Actor::system("test"))
        .await
        .unwrap();
    let person = city
        .persons
        .iter()
        .find(|person| person.phone.is_some() && person.grid.is_some())
        .unwrap()
        .clone();
    huimin_web::accounts::add_resident_account(
        app.store.as_ref(),
        app.store.as_ref(),
        "li.resident",
        person.citizen_id.as_str(),
        RESIDENT_PASSWORD,
        &Actor::system("test"),
        app.clock.now(),
    )
    .await
    .unwrap();
    person
}

/// A resident signs in with the password and the code the SMS gateway carried.
async fn sign_in_resident(app: &App, browser: &mut Browser) -> Page {
    let page = browser.password("li.resident", RESIDENT_PASSWORD).await;
    assert_eq!(page.location, "/console/sign-in/second-factor");
    let (_, code) = app.sms.last_code();
    browser.code(&code).await
}

#[tokio::test]
async fn residents_sign_in_with_a_code_sent_by_sms_to_the_phone_in_the_registry() {
    let app = app().await;
    let person = add_resident(&app).await;
    let phone = person.phone.as_ref().unwrap().as_str().to_owned();
    let mut browser = Browser::new(&app);

    let page = browser.password("li.resident", RESIDENT_PASSWORD).await;
    assert_eq!(page.location, "/console/sign-in/second-factor");
    assert_eq!(
        browser.get("/console/my-data").await.location,
        "/console/sign-in",
        "a password alone is not enough"
    );
    let (sent_to, code) = app.sms.last_code();
    assert_eq!(sent_to, phone, "the code goes to the phone on record");
    let form = browser.get("/console/sign-in/second-factor").await;
    assert!(
        form.body
            .contains(&huimin_domain::access::mask_phone(&phone))
            && !form.body.contains(&phone),
        "the page names the phone masked: {}",
        form.body
    );
    assert!(
        !form.body.contains("totp-secret"),
        "no authenticator for residents"
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(browser.code(wrong).await.status, StatusCode::UNAUTHORIZED);
    // Sending again within a minute is refused; after it, a new code replaces the old.
    let csrf = browser.get("/console/sign-in/second-factor").await.csrf();
    let again = browser
        .post("/console/sign-in/second-factor/resend", &[("csrf", &csrf)])
        .await;
    assert!(again.body.contains("1 分钟后"), "{}", again.body);
    assert_eq!(app.sms.count(), 1);
    app.clock.advance(Duration::seconds(61));
    browser
        .post("/console/sign-in/second-factor/resend", &[("csrf", &csrf)])
        .await;
    assert_eq!(app.sms.count(), 2);
    let (_, fresh) = app.sms.last_code();
    if fresh != code {
        assert_eq!(
            browser.code(&code).await.status,
            StatusCode::UNAUTHORIZED,
            "the first code was replaced"
        );
    }
    let page = browser.code(&fresh).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (StatusCode::SEE_OTHER, "/console/my-data"),
        "{}",
        page.body
    );
    let account = browser.get("/console/account").await;
    assert!(
        account.body.contains("id=\"my-data-link\""),
        "{}",
        account.body
    );

    // A code is good for its own sign-in only.
    let mut other = Browser::new(&app);
    other.password("li.resident", RESIDENT_PASSWORD).await;
    assert_eq!(other.code(&fresh).await.status, StatusCode::UNAUTHORIZED);

    let audited = app
        .store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                action: Some("session.sms_code".into()),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(audited.total, 3, "every code sent is audited");
    assert!(
        audited
            .items
            .iter()
            .all(|entry| !entry.event.detail.contains(&phone))
    );

    // When the gateway is down the resident is told, and may send again.
    app.sms
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut third = Browser::new(&app);
    third.password("li.resident", RESIDENT_PASSWORD).await;
    let page = third.get("/console/sign-in/second-factor").await;
    assert!(page.body.contains("短信发送失败"), "{}", page.body);
    let failed = app
        .store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                action: Some("session.sms_code".into()),
                outcome: Some(Outcome::Failed),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(failed.total, 1);
}

#[tokio::test]
async fn residents_see_who_used_their_data_except_what_is_sealed_until_its_release() {
    let app = app().await;
    let person = add_resident(&app).await;
    let id = person.citizen_id.as_str().to_owned();
    add_staff(
        app.store.as_ref(),
        "chen.jing",
        "陈静",
        Role::CivilAffairsOfficer,
        "321000",
        app.clock.now(),
    )
    .await;
    let mut officer = Browser::new(&app);
    sign_in_as(&app, &mut officer, "chen.jing").await;
    for purpose in ["household_check 2026-88", "investigation 2026-017"] {
        let response = officer
            .client
            .get(format!("{}/api/v1/persons/{id}", app.address))
            .header("cookie", officer.cookie_header())
            .header("x-purpose", purpose)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        app.clock.advance(Duration::minutes(1));
    }

    let mut resident = Browser::new(&app);
    let page = sign_in_resident(&app, &mut resident).await;
    assert_eq!(page.location, "/console/my-data");
    assert_eq!(
        resident.get("/console/catalogue").await.status,
        StatusCode::NOT_FOUND,
        "the resource catalogue is staff's"
    );
    let page = resident.get("/console/my-data").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(person.name.as_str()), "{}", page.body);
    for expected in [
        "民政经办人员",
        "查看个人信息",
        "household_check 2026-88",
        "investigation 2026-017",
        "完整信息",
    ] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    assert!(
        !page.body.contains(&id),
        "the page does not print the number"
    );

    // Staff have no such page; the security administrator seals the investigation.
    assert_eq!(
        officer.get("/console/my-data").await.status,
        StatusCode::NOT_FOUND
    );
    let mut security = Browser::new(&app);
    sign_in_as(&app, &mut security, "sun.li").await;
    assert_eq!(
        officer.get("/console/seals").await.status,
        StatusCode::NOT_FOUND,
        "only the security administrator seals"
    );
    let csrf = security.get("/console/seals").await.csrf();
    let release = (huimin_domain::time::shanghai_date(app.clock.now()) + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let refused = security
        .post(
            "/console/seals",
            &[
                ("subject", &id[..17]),
                ("purpose", "investigation 2026-017"),
                ("reason", "侦查需要"),
                ("release", &release),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("身份证号"), "{}", refused.body);
    let past = security
        .post(
            "/console/seals",
            &[
                ("subject", &id),
                ("purpose", "investigation 2026-017"),
                ("reason", "侦查需要"),
                ("release", "2026-01-01"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.body.contains("解封日期"), "{}", past.body);
    let sealed = security
        .post(
            "/console/seals",
            &[
                ("subject", &id),
                ("purpose", "investigation 2026-017"),
                ("reason", "侦查需要"),
                ("release", &release),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(sealed.location, "/console/seals?done=sealed");
    let list = security.get("/console/seals?done=sealed").await;
    assert!(
        list.body
            .contains(&huimin_domain::access::mask_citizen_id(&id)),
        "{}",
        list.body
    );

    let page = resident.get("/console/my-data").await;
    assert!(page.body.contains("household_check 2026-88"));
    assert!(
        !page.body.contains("investigation 2026-017"),
        "sealed: {}",
        page.body
    );
    let sealing = app
        .store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                action: Some("audit.seal".into()),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(sealing.total, 1, "sealing is audited");
    assert_eq!(sealing.items[0].event.actor, "sun.li");
    assert!(
        sealing.items[0].event.subject.is_empty(),
        "and not shown to the resident"
    );

    // The seal lapses at its release date (and a new sign-in is needed after 12 hours).
    app.clock.advance(Duration::days(31));
    let mut later = Browser::new(&app);
    sign_in_resident(&app, &mut later).await;
    let page = later.get("/console/my-data").await;
    assert!(
        page.body.contains("investigation 2026-017"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("查看本页"),
        "reading the page is itself recorded"
    );
}

mod single_sign_on {
    //! Huimin as an OpenID Connect provider, driven by `openidconnect` (a relying-party
    //! library that is not ours) against the running server: discovery, the JWKS, the
    //! code flow with PKCE and consent, ID-token verification, userinfo, refresh-token
    //! rotation and reuse detection, replayed codes, revocation and RP-initiated logout.

    use super::*;
    use huimin_web::oidc::{NewClient, register_client};
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
        CoreRevocableToken, CoreUserInfoClaims,
    };
    use openidconnect::{
        AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpClientError, HttpRequest,
        HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl,
        RequestTokenError, RevocationUrl, Scope, TokenResponse,
    };
    use std::future::Future;
    use std::pin::Pin;

    const CALLBACK: &str = "http://127.0.0.1:9/callback";

    type Fetch =
        Pin<Box<dyn Future<Output = Result<HttpResponse, HttpClientError<reqwest::Error>>> + Send>>;

    /// The relying party's HTTP client. The library insists on https for revocation, so
    /// the test registers the endpoint as `https://127.0.0.1…` and this client sends it
    /// over plain HTTP.
    fn http() -> impl Fn(HttpRequest) -> Fetch {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        move |mut request: HttpRequest| {
            let client = client.clone();
            Box::pin(async move {
                let uri =
                    request
                        .uri()
                        .to_string()
                        .replacen("https://127.0.0.1", "http://127.0.0.1", 1);
                *request.uri_mut() = uri.parse().unwrap();
                let response = client
                    .execute(request.try_into().map_err(Box::new)?)
                    .await
                    .map_err(Box::new)?;
                let mut builder =
                    openidconnect::http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    builder = builder.header(name, value);
                }
                let body = response.bytes().await.map_err(Box::new)?.to_vec();
                Ok(builder.body(body)?)
            })
        }
    }

    /// The value of one query parameter of a redirect.
    fn parameter(location: &str, name: &str) -> Option<String> {
        let query = location.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| huimin_web::oidc::form_decode(value))
        })
    }

    /// The path and query of the authorization URL, for the signed-in browser.
    fn path_of(url: &openidconnect::url::Url) -> String {
        format!("{}?{}", url.path(), url.query().unwrap_or(""))
    }

    async fn register(
        app: &App,
        client_id: &str,
        public: bool,
        first_party: bool,
    ) -> Option<String> {
        register_client(
            app.store.as_ref(),
            NewClient {
                client_id: client_id.into(),
                name: "网格巡查系统".into(),
                redirect_uris: vec![CALLBACK.into()],
                post_logout_redirect_uris: vec!["http://127.0.0.1:9/signed-out".into()],
                public,
                first_party,
            },
            &Actor::system("test"),
            app.clock.now(),
        )
        .await
        .unwrap()
    }

    fn invalid_grant<T>(
        result: Result<
            T,
            RequestTokenError<
                HttpClientError<reqwest::Error>,
                openidconnect::StandardErrorResponse<CoreErrorResponseType>,
            >,
        >,
    ) -> bool {
        matches!(result, Err(RequestTokenError::ServerResponse(ref response)) if *response.error() == CoreErrorResponseType::InvalidGrant)
    }

    #[tokio::test]
    async fn another_system_signs_its_users_in_through_huimin() {
        let app = app().await;
        let secret = register(&app, "grid-app", false, false)
            .await
            .expect("a confidential client's secret");
        let http = http();
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(app.address.clone()).unwrap(),
            &http,
        )
        .await
        .unwrap();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new("grid-app".into()),
            Some(ClientSecret::new(secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap())
        .set_revocation_url(
            RevocationUrl::new(format!(
                "{}/oidc/revoke",
                app.address.replacen("http://", "https://", 1)
            ))
            .unwrap(),
        );
        let now = app.clock.now();
        let verifier = client
            .id_token_verifier()
            .set_time_fn(move || now + Duration::seconds(5));

        let mut browser = Browser::new(&app);
        sign_in(&app, &mut browser).await;

        // First authorization: the third-party client needs the user's consent.
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let consent = browser.get(&path_of(&url)).await;
        assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
        assert!(
            consent.body.contains("网格巡查系统") && consent.body.contains("姓名"),
            "{}",
            consent.body
        );
        let fields: Vec<(String, String)> = consent
            .body
            .split("<input type=\"hidden\" ")
            .skip(1)
            .map(|input| {
                let name = input
                    .split("name=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let value = input
                    .split("value=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                (
                    name.to_owned(),
                    value.replace("&amp;", "&").replace("&quot;", "\""),
                )
            })
            .collect();
        let mut form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("decision", "allow"));
        let back = browser.post("/oidc/authorize", &form).await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
        assert!(back.location.starts_with(CALLBACK), "{}", back.location);
        assert_eq!(
            parameter(&back.location, "state").as_deref(),
            Some(csrf.secret().as_str())
        );
        assert_eq!(
            parameter(&back.location, "iss").as_deref(),
            Some(app.address.as_str())
        );
        let code = parameter(&back.location, "code").unwrap();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .unwrap()
            .set_pkce_verifier(pkce)
            .request_async(&http)
            .await
            .unwrap();
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token
            .claims(&verifier, &nonce)
            .expect("the ID token verifies");
        assert_eq!(claims.subject().as_str(), "wang.li");
        let name = claims
            .name()
            .and_then(|names| names.get(None))
            .map(|name| name.as_str().to_owned());
        assert_eq!(name.as_deref(), Some("王丽"));

        let info: CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        assert_eq!(info.subject().as_str(), "wang.li");

        // The code is good once: a replay is refused and revokes what it gave.
        let (_, unused) = PkceCodeChallenge::new_random_sha256();
        let replay = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(unused)
            .request_async(&http)
            .await;
        assert!(invalid_grant(replay));
        let after_replay = client
            .exchange_refresh_token(tokens.refresh_token().unwrap())
            .unwrap()
            .request_async(&http)
            .await;
        assert!(
            invalid_grant(after_replay),
            "the replay revoked the grant's tokens"
        );

        // A second authorization needs no consent; its refresh token rotates at each use,
        // and a reused one revokes the family.
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let back = browser.get(&path_of(&url)).await;
        assert_eq!(
            back.status,
            StatusCode::SEE_OTHER,
            "consented once: {}",
            back.body
        );
        let code = parameter(&back.location, "code").unwrap();
        let first = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(pkce)
            .request_async(&http)
            .await
            .unwrap();
        first.id_token().unwrap().claims(&verifier, &nonce).unwrap();
        let refreshed = client
            .exchange_refresh_token(first.refresh_token().unwrap())
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        assert_ne!(
            refreshed.refresh_token().unwrap().secret(),
            first.refresh_token().unwrap().secret()
        );
        refreshed
            .id_token()
            .unwrap()
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .expect("the refreshed ID token verifies");
        let reused = client
            .exchange_refresh_token(first.refresh_token().unwrap())
            .unwrap()
            .request_async(&http)
            .await;
        assert!(invalid_grant(reused), "a rotated refresh token is refused");
        let stolen = client
            .exchange_refresh_token(refreshed.refresh_token().unwrap())
            .unwrap()
            .request_async(&http)
            .await;
        assert!(invalid_grant(stolen), "reuse revoked the newer token too");
        let info: Result<CoreUserInfoClaims, _> = client
            .user_info(refreshed.access_token().clone(), None)
            .unwrap()
            .request_async(&http)
            .await;
        assert!(info.is_err(), "and its access token");

        // Revocation, then RP-initiated logout with the ID token as the hint.
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        let code = parameter(&browser.get(&path_of(&url)).await.location, "code").unwrap();
        let third = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(pkce)
            .request_async(&http)
            .await
            .unwrap();
        client
            .revoke_token(CoreRevocableToken::from(
                third.refresh_token().unwrap().clone(),
            ))
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        let info: Result<CoreUserInfoClaims, _> = client
            .user_info(third.access_token().clone(), None)
            .unwrap()
            .request_async(&http)
            .await;
        assert!(
            info.is_err(),
            "revoking the refresh token revokes its grant"
        );
        let hint = third.id_token().unwrap().to_string();
        let logout = browser
            .get(&format!(
                "/oidc/logout?id_token_hint={hint}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out&state=bye"
            ))
            .await;
        assert_eq!(logout.location, "http://127.0.0.1:9/signed-out?state=bye");
        assert_eq!(
            browser.get("/console/account").await.location,
            "/console/sign-in",
            "signed out"
        );

        let tokens_issued = app
            .store
            .audit_entries(
                &huimin_domain::storage::AuditQuery {
                    action: Some("oidc.".into()),
                    ..Default::default()
                },
                huimin_domain::storage::PageRequest::new(1, 100),
            )
            .await
            .unwrap();
        let actions: Vec<(String, Outcome)> = tokens_issued
            .items
            .iter()
            .map(|entry| (entry.event.action.clone(), entry.event.outcome))
            .collect();
        for expected in [
            ("oidc.consent".to_owned(), Outcome::Allowed),
            ("oidc.token".to_owned(), Outcome::Allowed),
            ("oidc.token".to_owned(), Outcome::Denied),
            ("oidc.refresh".to_owned(), Outcome::Allowed),
            ("oidc.revoke".to_owned(), Outcome::Allowed),
        ] {
            assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
        }
    }

    #[tokio::test]
    async fn bad_requests_are_refused_with_their_oauth_error_and_never_a_500() {
        let app = app().await;
        let secret = register(&app, "grid-app", false, true).await.unwrap();
        assert!(
            register(&app, "hotline-spa", true, true).await.is_none(),
            "public clients have no secret"
        );
        let mut browser = Browser::new(&app);
        sign_in(&app, &mut browser).await;
        let challenge = huimin_domain::oidc::pkce_s256(&"v".repeat(43));
        let authorize = |client: &str, redirect: &str, extra: &str| {
            format!(
                "/oidc/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid&state=s1{extra}",
                url_encode(redirect)
            )
        };
        fn url_encode(text: &str) -> String {
            text.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        }
        let pkce = format!("&code_challenge={challenge}&code_challenge_method=S256");
        // Unknown client, unregistered redirect URI: an error page, no redirect.
        for path in [
            authorize("nobody", CALLBACK, &pkce),
            authorize("grid-app", "http://127.0.0.1:9/elsewhere", &pkce),
            authorize("grid-app", "http://127.0.0.1:9/callback/", &pkce),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(
                (page.status, page.location.as_str()),
                (StatusCode::BAD_REQUEST, ""),
                "{path}"
            );
        }
        // Known client and redirect: the error goes back to the client.
        let no_pkce = browser.get(&authorize("grid-app", CALLBACK, "")).await;
        assert_eq!(
            parameter(&no_pkce.location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(parameter(&no_pkce.location, "state").as_deref(), Some("s1"));
        let plain = browser
            .get(&authorize(
                "grid-app",
                CALLBACK,
                &format!("&code_challenge={challenge}&code_challenge_method=plain"),
            ))
            .await;
        assert_eq!(
            parameter(&plain.location, "error").as_deref(),
            Some("invalid_request")
        );
        let no_openid = browser
            .get(&authorize("grid-app", CALLBACK, &pkce).replace("scope=openid", "scope=profile"))
            .await;
        assert_eq!(
            parameter(&no_openid.location, "error").as_deref(),
            Some("invalid_scope")
        );
        let signed_out = Browser::new(&app)
            .get(&format!(
                "{}&prompt=none",
                authorize("grid-app", CALLBACK, &pkce)
            ))
            .await;
        assert_eq!(
            parameter(&signed_out.location, "error").as_deref(),
            Some("login_required")
        );

        let client = reqwest::Client::new();
        let token = |form: Vec<(&'static str, String)>, basic: Option<(&str, &str)>| {
            let pairs: Vec<(&str, &str)> = form
                .iter()
                .map(|(key, value)| (*key, value.as_str()))
                .collect();
            let mut request = client
                .post(format!("{}/oidc/token", app.address))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(super::form(&pairs));
            if let Some((id, secret)) = basic {
                request = request.basic_auth(id, Some(secret));
            }
            request.send()
        };
        let code_of = |location: &str| parameter(location, "code").unwrap();
        let code = code_of(
            &browser
                .get(&authorize("grid-app", CALLBACK, &pkce))
                .await
                .location,
        );
        let exchange = |code: &str, verifier: &str| {
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code.to_owned()),
                ("redirect_uri", CALLBACK.to_owned()),
                ("code_verifier", verifier.to_owned()),
            ]
        };
        let error_of =
            |body: &serde_json::Value| body["error"].as_str().unwrap_or_default().to_owned();
        let wrong_secret = token(
            exchange(&code, &"v".repeat(43)),
            Some(("grid-app", "not-the-secret")),
        )
        .await
        .unwrap();
        assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            error_of(&wrong_secret.json().await.unwrap()),
            "invalid_client"
        );
        let wrong_verifier = token(
            exchange(&code, &"w".repeat(43)),
            Some(("grid-app", &secret)),
        )
        .await
        .unwrap();
        assert_eq!(wrong_verifier.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            error_of(&wrong_verifier.json().await.unwrap()),
            "invalid_grant"
        );
        let burnt = token(
            exchange(&code, &"v".repeat(43)),
            Some(("grid-app", &secret)),
        )
        .await
        .unwrap();
        assert_eq!(
            error_of(&burnt.json().await.unwrap()),
            "invalid_grant",
            "a code is tried once"
        );

        // An expired code, a forged refresh token, an unknown grant type, a public client
        // pretending to hold a secret.
        let code = code_of(
            &browser
                .get(&authorize("grid-app", CALLBACK, &pkce))
                .await
                .location,
        );
        app.clock.advance(Duration::seconds(61));
        let late = token(
            exchange(&code, &"v".repeat(43)),
            Some(("grid-app", &secret)),
        )
        .await
        .unwrap();
        assert_eq!(error_of(&late.json().await.unwrap()), "invalid_grant");
        for (form, expected) in [
            (
                vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", "forged".to_owned()),
                ],
                "invalid_grant",
            ),
            (
                vec![("grant_type", "password".to_owned())],
                "unsupported_grant_type",
            ),
        ] {
            let answer = token(form, Some(("grid-app", &secret))).await.unwrap();
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
            assert_eq!(error_of(&answer.json().await.unwrap()), expected);
        }
        let pretender = token(exchange("x", "y"), Some(("hotline-spa", "made-up")))
            .await
            .unwrap();
        assert_eq!(pretender.status(), StatusCode::UNAUTHORIZED);

        // The public, first-party client: no consent, no secret, PKCE only.
        let public = authorize("hotline-spa", CALLBACK, &pkce);
        let code = code_of(&browser.get(&public).await.location);
        let mut form = exchange(&code, &"v".repeat(43));
        form.push(("client_id", "hotline-spa".to_owned()));
        let answer = token(form, None).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert!(
            body["id_token"]
                .as_str()
                .is_some_and(|token| token.split('.').count() == 3)
        );

        // Userinfo without a good token; logout without a hint ends nothing.
        let info = client
            .get(format!("{}/oidc/userinfo", app.address))
            .bearer_auth("forged")
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
        assert!(
            info.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let logout = browser.get("/oidc/logout?id_token_hint=a.b.c").await;
        assert_eq!(logout.location, "/console/account");
        assert_eq!(
            browser.get("/console/account").await.status,
            StatusCode::OK,
            "still signed in"
        );
        let jwks: serde_json::Value = client
            .get(format!("{}/oidc/jwks", app.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            jwks["keys"].as_array().unwrap().len(),
            2,
            "the current key and the retired one"
        );
    }

    #[tokio::test]
    async fn a_resident_sees_on_their_data_page_which_systems_they_signed_in_to() {
        let app = app().await;
        add_resident(&app).await;
        register(&app, "hotline-spa", true, true).await;
        let mut resident = Browser::new(&app);
        sign_in_resident(&app, &mut resident).await;
        let verifier = "r".repeat(43);
        let path = format!(
            "/oidc/authorize?response_type=code&client_id=hotline-spa&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback\
             &scope=openid%20phone&code_challenge={}&code_challenge_method=S256",
            huimin_domain::oidc::pkce_s256(&verifier)
        );
        let code = parameter(&resident.get(&path).await.location, "code").expect("a code");
        let body = super::form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", "hotline-spa"),
        ]);
        let client = reqwest::Client::new();
        let tokens: serde_json::Value = client
            .post(format!("{}/oidc/token", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let info: serde_json::Value = client
            .get(format!("{}/oidc/userinfo", app.address))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], "li.resident");
        assert!(
            info["phone_number"]
                .as_str()
                .is_some_and(|phone| phone.starts_with("+861")),
            "{info}"
        );
        let page = resident.get("/console/my-data").await;
        for expected in [
            "网格巡查系统",
            "您用惠民账号登录了该系统",
            "该系统读取了您的账号信息",
        ] {
            assert!(page.body.contains(expected), "{expected}: {}", page.body);
        }
    }

    #[tokio::test]
    async fn the_security_administrator_registers_clients_on_the_console() {
        let app = app().await;
        let mut worker = Browser::new(&app);
        sign_in(&app, &mut worker).await;
        assert_eq!(
            worker.get("/console/clients").await.status,
            StatusCode::NOT_FOUND
        );
        let mut security = Browser::new(&app);
        sign_in_as(&app, &mut security, "sun.li").await;
        let page = security.get("/console/clients").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.csrf();
        let refused = security
            .post(
                "/console/clients",
                &[
                    ("client_id", "grid-app"),
                    ("name", "网格巡查系统"),
                    ("redirect_uris", "http://grid.example/callback"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("https://"), "{}", refused.body);
        let registered = security
            .post(
                "/console/clients",
                &[
                    ("client_id", "grid-app"),
                    ("name", "网格巡查系统"),
                    (
                        "redirect_uris",
                        "https://grid.example/callback\r\nhttps://grid.example/other",
                    ),
                    ("first_party", "1"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
        let at = registered
            .body
            .find("id=\"client-secret\">")
            .expect("the secret, once")
            + 19;
        let secret = &registered.body[at..at + 64];
        let client = app.store.oidc_client("grid-app").await.unwrap().unwrap();
        assert!(client.secret_matches(secret) && client.first_party);
        assert_eq!(client.redirect_uris.len(), 2);
        let again = security.get("/console/clients").await;
        assert!(
            again.body.contains("网格巡查系统") && !again.body.contains(secret),
            "shown once"
        );
        let taken = security
            .post(
                "/console/clients",
                &[
                    ("client_id", "grid-app"),
                    ("name", "x"),
                    ("redirect_uris", "https://x.example/cb"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
