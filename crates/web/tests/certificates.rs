//! Certificate login over mutual TLS, on a real port: the tests make their own CA (and a
//! stranger's), a server certificate and client certificates — one bound to an account
//! by serial, one carrying a staff member's identity number in its subject, one expired,
//! one from the other CA, one bound to nobody — and speak HTTP over rustls to the server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, TimeZone, Utc};
use huimin_domain::audit::{Actor, Outcome};
use huimin_domain::identity::{Account, AccountKind, Role, RoleAssignment};
use huimin_domain::storage::{AuditQuery, PageRequest, Store};
use huimin_web::{AppState, Clock, WebConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STAFF_ID: &str = "11010519491231002X";

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A client certificate with `serial`, a subject, and a validity from `from` to `until`
/// (years), signed by `issuer`; returns (certificate PEM, key PEM).
fn client(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    serial: u8,
    subject: &[(DnType, &str)],
    from: i32,
    until: i32,
) -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params.serial_number = Some(SerialNumber::from_slice(&[0x1f, serial]));
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(until, 1, 1);
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, issuer).unwrap();
    (certificate.pem(), key.serialize_pem())
}

struct Server {
    address: std::net::SocketAddr,
    ca: CertificateDer<'static>,
    store: Arc<dyn Store>,
    _directory: tempfile::TempDir,
}

async fn server(issuer: &CertifiedIssuer<'static, KeyPair>) -> Server {
    let (url, directory) = huimin_store::testing::fresh_sqlite_database().await;
    let store = huimin_store::connect(&url).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    for (login, citizen_id) in [("wang.li", None), ("zhao.min", Some(STAFF_ID))] {
        let mut account = Account::new(login, AccountKind::Staff, "王丽", String::new(), now);
        account.citizen_id = citizen_id.map(str::to_owned);
        let actor = Actor::system("test");
        store
            .create_account(&account, &actor.event("account.create", "account", login))
            .await
            .unwrap();
        let assignment = RoleAssignment {
            role: Role::GridWorker,
            jurisdiction: "321002001001001".into(),
            department: None,
            valid_from: now,
            valid_until: None,
        };
        store
            .assign_role(
                login,
                &assignment,
                &actor.event("account.assign_role", "account", login),
                now,
            )
            .await
            .unwrap();
    }
    let bind = Actor::system("test").event("account.bind_certificate", "account", "wang.li");
    assert!(
        store
            .bind_certificate("wang.li", "1f01", &bind, now)
            .await
            .unwrap()
    );

    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "huimin.test");
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, issuer).unwrap();
    let config = huimin_web::tls::server_config(
        certificate.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        Some(issuer.pem().as_bytes()),
    )
    .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now));
    let web = WebConfig {
        certificate_login: true,
        ..WebConfig::default()
    };
    let state = AppState::new(store.clone(), clock.clone(), web)
        .await
        .unwrap();
    let app = huimin_web::router(state, huimin_web::ExtraRoutes::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(huimin_web::tls::serve_tls(
        listener,
        app,
        config,
        store.clone(),
        clock,
        std::future::pending(),
    ));
    Server {
        address,
        ca: issuer.der().clone(),
        store,
        _directory: directory,
    }
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|line| line.split_once(": "))
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.to_owned())
            .collect()
    }

    /// `name=value` of a `Set-Cookie`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie")
            .into_iter()
            .find(|cookie| cookie.starts_with(&format!("{name}=")))
            .map(|cookie| cookie.split(';').next().unwrap().to_owned())
    }
}

/// One HTTP/1.1 request over a fresh TLS connection, with `identity` (certificate and
/// key PEM) as the client certificate, if any.
async fn request(
    server: &Server,
    identity: Option<&(String, String)>,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> std::io::Result<Answer> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.address).await?;
    let mut stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {head:?}")))?;
    Ok(Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// The certificate sign-in, as the sign-in page's form posts it; returns the answer and
/// the session cookie it set.
async fn certificate_sign_in(
    server: &Server,
    identity: Option<&(String, String)>,
) -> std::io::Result<(Answer, Option<String>)> {
    let form = request(server, identity, "GET", "/console/sign-in", "", "").await?;
    assert!(
        form.body.contains("sign-in-certificate"),
        "certificate login is offered"
    );
    let csrf_cookie = form.cookie("huimin_csrf").unwrap();
    let csrf = csrf_cookie.trim_start_matches("huimin_csrf=").to_owned();
    let answer = request(
        server,
        identity,
        "POST",
        "/console/sign-in/certificate",
        &csrf_cookie,
        &format!("csrf={csrf}"),
    )
    .await?;
    let session = answer.cookie("huimin_session");
    Ok((answer, session))
}

async fn refused_handshakes(server: &Server) -> u64 {
    let query = AuditQuery {
        action: Some("session.certificate".into()),
        outcome: Some(Outcome::Denied),
        ..AuditQuery::default()
    };
    server
        .store
        .audit_entries(&query, PageRequest::new(1, 50))
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn a_certificate_from_the_city_ca_signs_in_its_account_and_others_are_refused() {
    let city = authority("扬州市政务 CA（测试）");
    let server = server(&city).await;

    // Bound by serial.
    let bound = client(&city, 1, &[(DnType::CommonName, "王丽")], 2026, 2027);
    let (answer, session) = certificate_sign_in(&server, Some(&bound)).await.unwrap();
    assert_eq!(
        (answer.status, answer.header("location")),
        (303, vec!["/console/account".to_owned()]),
        "{}",
        answer.body
    );
    let account = request(
        &server,
        Some(&bound),
        "GET",
        "/console/account",
        &session.unwrap(),
        "",
    )
    .await
    .unwrap();
    assert_eq!(account.status, 200);
    assert!(account.body.contains("wang.li"), "{}", account.body);

    // Found by the identity number in the subject's serialNumber.
    let by_number = client(
        &city,
        2,
        &[
            (DnType::CommonName, "赵敏"),
            (DnType::CustomDnType(vec![2, 5, 4, 5]), STAFF_ID),
        ],
        2026,
        2027,
    );
    let (answer, _) = certificate_sign_in(&server, Some(&by_number))
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    let sign_ins = server
        .store
        .audit_entries(
            &AuditQuery {
                action: Some("session.sign_in".into()),
                ..AuditQuery::default()
            },
            PageRequest::new(1, 10),
        )
        .await
        .unwrap();
    let actors: Vec<&str> = sign_ins
        .items
        .iter()
        .map(|entry| entry.event.actor.as_str())
        .collect();
    assert_eq!(actors, ["zhao.min", "wang.li"]);
    assert!(sign_ins.items[1].event.detail.contains("1f01"));

    // A good certificate bound to nobody, and no certificate at all: the sign-in page
    // again, 401, the password form still there.
    let stranger = client(&city, 3, &[(DnType::CommonName, "某人")], 2026, 2027);
    let (answer, session) = certificate_sign_in(&server, Some(&stranger)).await.unwrap();
    assert_eq!((answer.status, session), (401, None));
    assert!(answer.body.contains("未绑定"), "{}", answer.body);
    let (answer, _) = certificate_sign_in(&server, None).await.unwrap();
    assert_eq!(answer.status, 401);
    assert!(answer.body.contains("没有出示数字证书"), "{}", answer.body);
    let unbound = server
        .store
        .audit_entries(
            &AuditQuery {
                action: Some("session.certificate".into()),
                outcome: Some(Outcome::Failed),
                ..AuditQuery::default()
            },
            PageRequest::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(unbound.total, 1, "the unbound certificate is audited");

    // Another CA's certificate and an expired one end at the handshake, audited.
    let other = authority("Somewhere else CA");
    for (what, identity) in [
        (
            "another CA",
            client(&other, 1, &[(DnType::CommonName, "王丽")], 2026, 2027),
        ),
        (
            "expired",
            client(&city, 1, &[(DnType::CommonName, "王丽")], 2020, 2021),
        ),
    ] {
        let before = refused_handshakes(&server).await;
        let answer = request(&server, Some(&identity), "GET", "/console/sign-in", "", "").await;
        assert!(
            answer.is_err(),
            "{what}: {:?}",
            answer.as_ref().map(|a| a.status)
        );
        let mut audited = false;
        for _ in 0..50 {
            if refused_handshakes(&server).await > before {
                audited = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(audited, "{what}: the refused handshake is audited");
    }
}

#[test]
fn unusable_tls_settings_are_refused_with_what_is_wrong() {
    let city = authority("CA");
    let key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &city)
        .unwrap();
    let (chain, private) = (certificate.pem(), key.serialize_pem());
    /// The chain, the key, the client CA bundle, and what the error must name.
    type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>, &'a str);
    let cases: [Case; 3] = [
        (
            b"not a certificate",
            private.as_bytes(),
            None,
            "the server certificate",
        ),
        (chain.as_bytes(), b"no key here", None, "private key"),
        (
            chain.as_bytes(),
            private.as_bytes(),
            Some(b"garbage"),
            "the client CA bundle",
        ),
    ];
    for (chain, private_key, ca, expected) in cases {
        let error = huimin_web::tls::server_config(chain, private_key, ca)
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}
