//! The sign-in benchmark (issue 3): full staff sign-ins — the form, the password step
//! (Argon2id, m = 19,456 KiB, t = 2, p = 1), the code page and a TOTP code — against the
//! release server, from concurrent clients, each sign-in with an account of its own (a
//! code is accepted once, so reusing accounts within a 30-second step would be refused).

use crate::bench::Row;
use anyhow::{Context, ensure};
use huimin_domain::audit::Actor;
use huimin_domain::identity::{Account, AccountKind, SecondFactor, hash_password};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 3_000;
const CLIENTS: usize = 8;
const SECONDS: u64 = 20;
const PASSWORD: &str = "bench-password-long-enough";

#[allow(clippy::disallowed_methods)] // the benchmark is an edge of the program: it reads the clock
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn secret(index: usize) -> Vec<u8> {
    let mut secret = vec![0x42; 20];
    secret[..8].copy_from_slice(&(index as u64).to_be_bytes());
    secret
}

pub fn run(runtime: &tokio::runtime::Runtime, binary: &Path, out: &Path) -> anyhow::Result<Row> {
    println!("sign-ins…");
    let database = format!("sqlite:{}", out.join("sign-in.db").display());
    let server = crate::bench::Server::start(binary, &database, 200, true)?;
    let address = server.address.clone();
    runtime.block_on(async {
        let store = huimin_store::connect(&database).await?;
        let hash = tokio::task::spawn_blocking(|| hash_password(PASSWORD, &[1; 16])).await?;
        let actor = Actor::system("bench");
        for index in 0..ACCOUNTS {
            let login = format!("bench.{index:05}");
            let mut account = Account::new(
                login.clone(),
                AccountKind::Staff,
                "压测账号",
                hash.clone(),
                now(),
            );
            account.totp_secret = Some(secret(index));
            account.totp_enrolled_at = Some(now());
            store
                .create_account(&account, &actor.event("account.create", "account", login))
                .await?;
        }
        anyhow::Ok(())
    })?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let latencies = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(SECONDS);
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let next = next.clone();
            let address = address.clone();
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()?;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= ACCOUNTS {
                        break;
                    }
                    let started = Instant::now();
                    sign_in(&client, &address, index).await?;
                    latencies.push(started.elapsed());
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        anyhow::Ok(all)
    })?;
    let run_seconds = started.elapsed().as_secs_f64();
    let mut latencies = latencies;
    ensure!(!latencies.is_empty(), "no sign-in finished");
    latencies.sort();
    let count = latencies.len();
    let p99 = latencies[(count * 99 / 100).min(count - 1)];
    let p50 = latencies[count / 2];
    let rate = count as f64 / run_seconds;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "  {count} sign-ins in {run_seconds:.1} s from {CLIENTS} clients: {rate:.1}/s ({:.1}/s per core), p50 {} ms, p99 {} ms",
        rate / cores as f64,
        p50.as_millis(),
        p99.as_millis()
    );
    drop(server);
    Ok(Row {
        what: format!(
            "staff sign-ins (password + TOTP), {CLIENTS} clients, Argon2id m=19456 KiB t=2 p=1"
        ),
        backend: "sqlite".to_owned(),
        result: format!(
            "{:.1}/s per core ({rate:.1}/s), p50 {} ms, p99 {} ms",
            rate / cores as f64,
            p50.as_millis(),
            p99.as_millis()
        ),
        peer: "target ≥ 15/s per core, p99 < 1 s".to_owned(),
        ratio: format!("{:.2}×", rate / cores as f64 / 15.0),
        memory: String::new(),
    })
}

fn hidden_csrf(body: &str) -> anyhow::Result<String> {
    let at = body
        .find("name=\"csrf\" value=\"")
        .context("a CSRF field")?;
    let rest = &body[at + 19..];
    Ok(rest[..rest.find('"').context("the field's end")?].to_owned())
}

fn cookie_from(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|text| text.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// One whole sign-in, as a browser does it.
async fn sign_in(client: &reqwest::Client, address: &str, index: usize) -> anyhow::Result<()> {
    let login = format!("bench.{index:05}");
    let form = client
        .get(format!("{address}/console/sign-in"))
        .send()
        .await?;
    let csrf_cookie = cookie_from(&form, "huimin_csrf").context("the CSRF cookie")?;
    let csrf = hidden_csrf(&form.text().await?)?;
    let body = format!("login={login}&password={PASSWORD}&csrf={csrf}");
    let password = client
        .post(format!("{address}/console/sign-in"))
        .header("cookie", format!("huimin_csrf={csrf_cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    ensure!(
        password.status() == reqwest::StatusCode::SEE_OTHER,
        "password step: {}",
        password.status()
    );
    let session = cookie_from(&password, "huimin_session").context("a session")?;
    let page = client
        .get(format!("{address}/console/sign-in/second-factor"))
        .header("cookie", format!("huimin_session={session}"))
        .send()
        .await?;
    let csrf = hidden_csrf(&page.text().await?)?;
    let factor = SecondFactor::new(&secret(index)).context("a factor")?;
    let body = format!("code={}&csrf={csrf}", factor.code_at(now()));
    let done = client
        .post(format!("{address}/console/sign-in/second-factor"))
        .header("cookie", format!("huimin_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    ensure!(
        done.headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            == Some("/console/account"),
        "code step: {}",
        done.status()
    );
    Ok(())
}
