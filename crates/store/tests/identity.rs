//! Accounts, role assignments and sessions on both backends: each change that matters to
//! security lands with its audit entry, failures lock an account at the fifth, sessions
//! move to a new token when they advance.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, Duration, TimeZone, Utc};
use huimin_domain::audit::{Actor, Outcome};
use huimin_domain::identity::{Account, AccountKind, Role, RoleAssignment, Session, SessionStage};
use huimin_domain::storage::{PageRequest, Store};
use std::sync::Arc;

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let (url, _directory) = huimin_store::testing::fresh_sqlite_database().await;
                    super::$test(huimin_store::connect(&url).await.unwrap()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(url) = huimin_store::testing::fresh_postgres_database().await else { return };
                    super::$test(huimin_store::connect(&url).await.unwrap()).await;
                }
            )*
        }
    };
}

on_both_backends!(
    certificates_find_their_account_by_serial_or_by_a_staff_identity_number,
    single_sign_on_codes_are_taken_once_and_refresh_tokens_rotate_once,
    a_residents_sms_code_is_kept_with_the_session_until_it_advances,
    accounts_and_roles_are_kept_with_their_audit_entries,
    failures_lock_at_the_limit_and_success_starts_the_count_again,
    sessions_advance_to_new_tokens_and_end_one_or_all,
);

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap() + Duration::minutes(minute)
}

fn admin() -> Actor {
    Actor {
        account: "security.admin".into(),
        role: "security_administrator".into(),
        ..Actor::default()
    }
}

fn staff(login: &str) -> Account {
    Account::new(
        login,
        AccountKind::Staff,
        "王丽",
        "$argon2id$placeholder".into(),
        at(0),
    )
}

async fn accounts_and_roles_are_kept_with_their_audit_entries(store: Arc<dyn Store>) {
    let mut account = staff("wang.li");
    account.department = Some("民政局".into());
    let event = admin().event("account.create", "account", "wang.li");
    assert!(store.create_account(&account, &event).await.unwrap());
    assert!(
        !store
            .create_account(&staff("wang.li"), &event)
            .await
            .unwrap(),
        "the login is taken"
    );
    assert_eq!(
        store.audit_size().await.unwrap(),
        1,
        "the refused create wrote nothing"
    );
    assert_eq!(
        store.account("wang.li").await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(store.account("nobody").await.unwrap(), None);

    let assignment = RoleAssignment {
        role: Role::GridWorker,
        jurisdiction: "321002001001001".into(),
        department: None,
        valid_from: at(0),
        valid_until: Some(at(60 * 24 * 365)),
    };
    let other = RoleAssignment {
        role: Role::CivilAffairsOfficer,
        jurisdiction: "321002".into(),
        department: Some("民政局".into()),
        valid_from: at(1),
        valid_until: None,
    };
    for assignment in [&assignment, &other] {
        let event = admin().event("account.assign_role", "account", "wang.li");
        store
            .assign_role("wang.li", assignment, &event, at(2))
            .await
            .unwrap();
    }
    assert_eq!(
        store.role_assignments("wang.li").await.unwrap(),
        vec![assignment, other]
    );
    assert_eq!(store.audit_size().await.unwrap(), 3);

    store.create_account(&staff("li.na"), &event).await.unwrap();
    let page = store.accounts(PageRequest::new(1, 1)).await.unwrap();
    assert_eq!((page.total, page.items[0].login.as_str()), (2, "li.na"));

    store
        .set_second_factor("wang.li", &[9; 20], Some(at(3)), Some(57))
        .await
        .unwrap();
    let stored = store.account("wang.li").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.totp_secret,
            stored.totp_enrolled_at,
            stored.totp_last_step
        ),
        (Some(vec![9; 20]), Some(at(3)), Some(57))
    );
}

async fn failures_lock_at_the_limit_and_success_starts_the_count_again(store: Arc<dyn Store>) {
    let event = admin().event("account.create", "account", "wang.li");
    store
        .create_account(&staff("wang.li"), &event)
        .await
        .unwrap();
    let failure = huimin_domain::audit::AuditEvent {
        outcome: Outcome::Failed,
        ..Actor::default().event("session.password", "account", "wang.li")
    };
    for attempt in 1..=4 {
        let locked = store
            .record_sign_in_failure("wang.li", 5, at(20), &failure, at(attempt))
            .await
            .unwrap();
        assert!(!locked, "attempt {attempt}");
    }
    assert_eq!(
        store
            .account("wang.li")
            .await
            .unwrap()
            .unwrap()
            .failed_attempts,
        4
    );
    store
        .record_sign_in_success("wang.li", &failure, at(5))
        .await
        .unwrap();
    assert_eq!(
        store
            .account("wang.li")
            .await
            .unwrap()
            .unwrap()
            .failed_attempts,
        0
    );
    for attempt in 1..=4 {
        store
            .record_sign_in_failure("wang.li", 5, at(20), &failure, at(5 + attempt))
            .await
            .unwrap();
    }
    assert!(
        store
            .record_sign_in_failure("wang.li", 5, at(25), &failure, at(10))
            .await
            .unwrap()
    );
    let locked = store.account("wang.li").await.unwrap().unwrap();
    assert_eq!(
        (locked.locked_until, locked.failed_attempts),
        (Some(at(25)), 0)
    );
    assert!(locked.is_locked_at(at(24)) && !locked.is_locked_at(at(25)));
    // An unknown login changes no account; its event is still in the log.
    let before = store.audit_size().await.unwrap();
    assert!(
        !store
            .record_sign_in_failure("nobody", 5, at(30), &failure, at(11))
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), before + 1);
    let entry = store.audit_entry(before + 1).await.unwrap().unwrap().entry;
    assert_eq!(
        (entry.event.action.as_str(), entry.event.outcome),
        ("session.password", Outcome::Failed)
    );
}

async fn sessions_advance_to_new_tokens_and_end_one_or_all(store: Arc<dyn Store>) {
    let event = admin().event("account.create", "account", "wang.li");
    store
        .create_account(&staff("wang.li"), &event)
        .await
        .unwrap();
    let session = Session {
        login: "wang.li".into(),
        stage: SessionStage::SecondFactor,
        csrf_token: "c".repeat(64),
        created_at: at(0),
        last_seen_at: at(0),
        client: "10.0.0.9".into(),
        sms_code: None,
    };
    store.create_session(b"first", &session).await.unwrap();
    store
        .create_session(
            b"second",
            &Session {
                stage: SessionStage::SignedIn,
                ..session.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.session(b"first").await.unwrap(),
        Some(session.clone())
    );
    store
        .advance_session(b"first", b"third", SessionStage::SignedIn, at(1))
        .await
        .unwrap();
    assert_eq!(
        store.session(b"first").await.unwrap(),
        None,
        "the old token signs nobody in"
    );
    let advanced = store.session(b"third").await.unwrap().unwrap();
    assert_eq!(
        (advanced.stage, advanced.last_seen_at, advanced.created_at),
        (SessionStage::SignedIn, at(1), at(0))
    );
    store.touch_session(b"third", at(9)).await.unwrap();
    assert_eq!(
        store.session(b"third").await.unwrap().unwrap().last_seen_at,
        at(9)
    );

    let size = store.audit_size().await.unwrap();
    let sign_out = Actor::default().event("session.sign_out", "account", "wang.li");
    store
        .end_session(b"third", &sign_out, at(10))
        .await
        .unwrap();
    assert_eq!(store.session(b"third").await.unwrap(), None);
    store.create_session(b"fourth", &session).await.unwrap();
    assert_eq!(
        store
            .end_sessions_of("wang.li", &sign_out, at(11))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.session(b"second").await.unwrap(), None);
    assert_eq!(store.audit_size().await.unwrap(), size + 2);
}

async fn a_residents_sms_code_is_kept_with_the_session_until_it_advances(store: Arc<dyn Store>) {
    let mut resident = Account::new(
        "li.na",
        AccountKind::Resident,
        "李娜",
        "$argon2id$placeholder".into(),
        at(0),
    );
    resident.citizen_id = Some("321002199001010017".into());
    resident.phone = Some("13812345678".into());
    let event = admin().event("account.create", "account", "li.na");
    assert!(store.create_account(&resident, &event).await.unwrap());
    assert_eq!(store.account("li.na").await.unwrap(), Some(resident));

    let session = Session {
        login: "li.na".into(),
        stage: SessionStage::SecondFactor,
        csrf_token: "c".repeat(64),
        created_at: at(0),
        last_seen_at: at(0),
        client: "10.0.0.9".into(),
        sms_code: None,
    };
    store.create_session(b"pending", &session).await.unwrap();
    store
        .set_sms_code(b"pending", b"first code", at(1))
        .await
        .unwrap();
    store
        .set_sms_code(b"pending", b"second code", at(2))
        .await
        .unwrap();
    assert_eq!(
        store.session(b"pending").await.unwrap().unwrap().sms_code,
        Some((b"second code".to_vec(), at(2))),
        "a code sent again replaces the first"
    );
    store
        .advance_session(b"pending", b"signed", SessionStage::SignedIn, at(3))
        .await
        .unwrap();
    assert_eq!(
        store.session(b"signed").await.unwrap().unwrap().sms_code,
        None,
        "the code is good once"
    );
}

async fn single_sign_on_codes_are_taken_once_and_refresh_tokens_rotate_once(store: Arc<dyn Store>) {
    use huimin_domain::oidc::{AuthorizationGrant, IssuedToken, OidcClient, TokenKind};
    let event = admin().event("account.create", "account", "wang.li");
    store
        .create_account(&staff("wang.li"), &event)
        .await
        .unwrap();
    let client = OidcClient {
        client_id: "grid-app".into(),
        name: "网格巡查系统".into(),
        secret_hash: Some(vec![1; 32]),
        redirect_uris: vec![
            "https://grid.example/cb".into(),
            "https://grid.example/cb2".into(),
        ],
        post_logout_redirect_uris: vec![],
        first_party: false,
        created_at: at(0),
    };
    let registered = admin().event("oidc.register_client", "oidc_client", "grid-app");
    assert!(
        store
            .create_oidc_client(&client, &registered)
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_oidc_client(&client, &registered)
            .await
            .unwrap(),
        "the id is taken"
    );
    assert_eq!(
        store.oidc_client("grid-app").await.unwrap(),
        Some(client.clone())
    );
    assert_eq!(store.oidc_clients().await.unwrap(), vec![client]);

    let grant = AuthorizationGrant {
        client_id: "grid-app".into(),
        login: "wang.li".into(),
        redirect_uri: "https://grid.example/cb".into(),
        scope: "openid profile".into(),
        nonce: Some("n-1".into()),
        code_challenge: "c".repeat(43),
        auth_time: at(0),
        created_at: at(1),
        family: "family-1".into(),
    };
    let authorized = admin().event("oidc.authorize", "oidc_client", "grid-app");
    store
        .put_authorization_code(b"code", &grant, &authorized)
        .await
        .unwrap();
    assert_eq!(
        store.take_authorization_code(b"code", at(1)).await.unwrap(),
        Some((grant.clone(), true))
    );
    assert_eq!(
        store.take_authorization_code(b"code", at(2)).await.unwrap(),
        Some((grant, false)),
        "a second exchange is a replay"
    );
    assert_eq!(
        store
            .take_authorization_code(b"other", at(2))
            .await
            .unwrap(),
        None
    );

    let token = |kind| IssuedToken {
        kind,
        client_id: "grid-app".into(),
        login: "wang.li".into(),
        scope: "openid".into(),
        family: "family-1".into(),
        nonce: None,
        auth_time: at(0),
        created_at: at(2),
        expires_at: at(12),
        revoked_at: None,
        rotated_at: None,
    };
    let issued = admin().event("oidc.token", "oidc_client", "grid-app");
    assert!(
        store
            .issue_oidc_tokens(
                &[
                    (b"access-1".to_vec(), token(TokenKind::Access)),
                    (b"refresh-1".to_vec(), token(TokenKind::Refresh))
                ],
                None,
                &issued,
                at(2)
            )
            .await
            .unwrap()
    );
    let rotated = store
        .issue_oidc_tokens(
            &[(b"refresh-2".to_vec(), token(TokenKind::Refresh))],
            Some(b"refresh-1"),
            &issued,
            at(3),
        )
        .await
        .unwrap();
    assert!(rotated);
    let again = store
        .issue_oidc_tokens(
            &[(b"refresh-3".to_vec(), token(TokenKind::Refresh))],
            Some(b"refresh-1"),
            &issued,
            at(4),
        )
        .await
        .unwrap();
    assert!(!again, "a refresh token rotates once");
    assert_eq!(
        store.oidc_token(b"refresh-3").await.unwrap(),
        None,
        "and the loser writes nothing"
    );
    assert_eq!(
        store
            .oidc_token(b"refresh-1")
            .await
            .unwrap()
            .unwrap()
            .rotated_at,
        Some(at(3))
    );

    let revoked = admin().event("oidc.revoke", "oidc_client", "grid-app");
    assert_eq!(
        store
            .revoke_oidc_family("family-1", &revoked, at(5))
            .await
            .unwrap(),
        3
    );
    let access = store.oidc_token(b"access-1").await.unwrap().unwrap();
    assert_eq!(access.revoked_at, Some(at(5)));
    assert!(!access.is_usable_at(at(5)));

    assert_eq!(
        store.oidc_consent("wang.li", "grid-app").await.unwrap(),
        None
    );
    let consented = admin().event("oidc.consent", "oidc_client", "grid-app");
    store
        .put_oidc_consent("wang.li", "grid-app", "openid", &consented, at(6))
        .await
        .unwrap();
    store
        .put_oidc_consent("wang.li", "grid-app", "openid profile", &consented, at(7))
        .await
        .unwrap();
    assert_eq!(
        store
            .oidc_consent("wang.li", "grid-app")
            .await
            .unwrap()
            .as_deref(),
        Some("openid profile")
    );
    let audited = store
        .audit_entries(
            &huimin_domain::storage::AuditQuery {
                action: Some("oidc.".into()),
                ..Default::default()
            },
            PageRequest::new(1, 50),
        )
        .await
        .unwrap();
    assert_eq!(
        audited.total, 7,
        "every change with its entry, and the refused rotation without one"
    );
}

async fn certificates_find_their_account_by_serial_or_by_a_staff_identity_number(
    store: Arc<dyn Store>,
) {
    let id = "11010519491231002X";
    let mut officer = staff("wang.li");
    officer.citizen_id = Some(id.into());
    let mut resident = Account::new(
        "wang.li.home",
        AccountKind::Resident,
        "王丽",
        String::new(),
        at(0),
    );
    resident.citizen_id = Some(id.into());
    for account in [&officer, &resident, &staff("zhao.min")] {
        let event = admin().event("account.create", "account", account.login.clone());
        store.create_account(account, &event).await.unwrap();
    }
    let bind = admin().event("account.bind_certificate", "account", "zhao.min");
    assert!(
        store
            .bind_certificate("zhao.min", "1f01", &bind, at(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .bind_certificate("nobody", "1f02", &bind, at(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .bind_certificate("wang.li", "1f01", &bind, at(1))
            .await
            .is_err(),
        "a serial signs in one account"
    );
    let found = |serial: &'static str, number: Option<&'static str>| {
        let store = store.clone();
        async move {
            store
                .account_for_certificate(serial, number)
                .await
                .unwrap()
                .map(|account| account.login)
        }
    };
    assert_eq!(
        found("1f01", Some(id)).await.as_deref(),
        Some("zhao.min"),
        "the serial first"
    );
    assert_eq!(
        found("ffff", Some(id)).await.as_deref(),
        Some("wang.li"),
        "the staff account, not the resident's"
    );
    assert_eq!(found("ffff", None).await, None);
    let mut twin = staff("wang.li.2");
    twin.citizen_id = Some(id.into());
    let event = admin().event("account.create", "account", "wang.li.2");
    store.create_account(&twin, &event).await.unwrap();
    assert_eq!(
        found("ffff", Some(id)).await,
        None,
        "two staff accounts: the certificate does not say which"
    );
    assert_eq!(
        store
            .account("zhao.min")
            .await
            .unwrap()
            .unwrap()
            .certificate_serial
            .as_deref(),
        Some("1f01")
    );
}
