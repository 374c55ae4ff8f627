//! Webhook throughput: a Rust load generator (each request is signed, which wrk cannot do)
//! against the verification path alone, a bare handler, and the shop's full path.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use duet_webhooks::{StripeVerifier, WebhookVerifier};

use crate::servers::{Killed, free_addr, sibling, wait_for};

const SECRET: &str = "whsec_bench_secret";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A ~1 KiB Stripe event with a fresh id.
fn event(n: u64) -> String {
    let padding = "x".repeat(880);
    format!(
        r#"{{"id":"evt_bench_{n:016}","object":"event","type":"invoice.paid","data":{{"object":{{"id":"in_{n}","memo":"{padding}"}}}}}}"#
    )
}

/// Serves the baselines: `bare` answers 200; `verify` checks the signature first.
pub(crate) fn serve(addr: &str, mode: &str) -> Result<(), String> {
    let verify = match mode {
        "bare" => false,
        "verify" => true,
        other => return Err(format!("unknown mode {other:?}")),
    };
    let verifier = web::Data::new(StripeVerifier::new([SECRET]).map_err(|e| e.to_string())?);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new().app_data(verifier.clone()).route(
                "/webhooks/stripe/",
                web::post().to(
                    move |req: HttpRequest, body: web::Bytes, v: web::Data<StripeVerifier>| async move {
                        if verify && v.verify(&body, req.headers(), now()).is_err() {
                            return HttpResponse::BadRequest().finish();
                        }
                        HttpResponse::Ok().finish()
                    },
                ),
            )
        })
        .bind(addr)
        .map_err(|e| e.to_string())?
        .run()
        .await
        .map_err(|e| e.to_string())
    })
}

struct Figures {
    per_second: f64,
    p99_ms: f64,
    failures: u64,
}

/// Fires signed events at `url` from `concurrency` tasks for `seconds`.
async fn load(url: &str, seconds: u64, concurrency: usize, first_id: u64) -> Figures {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(first_id));
    let failures = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, failures, url) = (client.clone(), Arc::clone(&next), Arc::clone(&failures), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let body = event(next.fetch_add(1, Ordering::Relaxed));
                let signature = duet_webhooks::stripe::sign(SECRET, now(), body.as_bytes());
                let started = Instant::now();
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("Stripe-Signature", signature)
                    .body(body)
                    .send()
                    .await;
                latencies.push(started.elapsed());
                if !sent.is_ok_and(|r| r.status() == 200) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    latencies.sort();
    let p99 = latencies.get(latencies.len() * 99 / 100).copied().unwrap_or_default();
    Figures {
        per_second: latencies.len() as f64 / seconds as f64,
        p99_ms: p99.as_secs_f64() * 1000.0,
        failures: failures.load(Ordering::Relaxed),
    }
}

fn spawn_baseline(mode: &str) -> Result<(Killed, String), String> {
    let addr = free_addr()?;
    let child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["webhook-server", "--addr", &addr, "--mode", mode])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok((Killed(child), addr))
}

fn spawn_shop(database_url: &str, dir: &std::path::Path) -> Result<(Killed, String), String> {
    let addr = free_addr()?;
    let child = Command::new(sibling("shop")?)
        .args(["serve", "--addr", &addr])
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("DUET_ENV", "production")
        .env("DUET_ALLOWED_HOSTS", "127.0.0.1")
        .env("DUET_SECRET_KEY", "b".repeat(64))
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok((Killed(child), addr))
}

/// The whole webhook comparison; prints Markdown tables.
pub(crate) async fn run(seconds: u64, concurrency: usize, postgres: Option<String>) -> Result<(), String> {
    println!(
        "Signed Stripe POSTs, {} bytes, a fresh event id each, {concurrency} concurrent, {seconds} s",
        event(0).len()
    );
    println!();
    let (_bare, bare_addr) = spawn_baseline("bare")?;
    let (_verify, verify_addr) = spawn_baseline("verify")?;
    wait_for(&bare_addr).await?;
    wait_for(&verify_addr).await?;
    let url = |addr: &str| format!("http://{addr}/webhooks/stripe/");
    let bare = load(&url(&bare_addr), seconds, concurrency, 0).await;
    let verify = load(&url(&verify_addr), seconds, concurrency, 10_000_000).await;
    println!("| path | requests/s | p99 ms | failures |");
    println!("|---|---:|---:|---:|");
    println!(
        "| bare actix handler, 200 | {:.0} | {:.2} | {} |",
        bare.per_second, bare.p99_ms, bare.failures
    );
    println!(
        "| signature verification, then 200 | {:.0} | {:.2} | {} |",
        verify.per_second, verify.p99_ms, verify.failures
    );
    println!();
    println!(
        "verification / bare = {:.0}% (target >= 85%)",
        100.0 * verify.per_second / bare.per_second
    );
    println!();

    let dir = std::env::temp_dir().join(format!("duet-bench-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut backends = vec![("SQLite", format!("sqlite://{}", dir.join("hooks.sqlite3").display()))];
    let scratch = format!("duet_bench_{}", std::process::id());
    let admin = match &postgres {
        Some(url) => Some(duet_models::Db::connect_url(url).await.map_err(|e| e.to_string())?),
        None => None,
    };
    if let (Some(db), Some(url)) = (&admin, &postgres) {
        admin_sql(db, &format!("CREATE DATABASE {scratch}")).await?;
        let mut url = url::Url::parse(url).map_err(|e| e.to_string())?;
        url.set_path(&scratch);
        backends.push(("PostgreSQL", url.to_string()));
    }
    println!("| full path: verify + record the delivery | deliveries/s | p99 ms | failures |");
    println!("|---|---:|---:|---:|");
    for (n, (name, database_url)) in backends.iter().enumerate() {
        let (_shop, addr) = spawn_shop(database_url, &dir)?;
        wait_for(&addr).await?;
        let full = load(&url(&addr), seconds, concurrency, 20_000_000 + n as u64 * 10_000_000).await;
        println!(
            "| {name} | {:.0} | {:.2} | {} |",
            full.per_second, full.p99_ms, full.failures
        );
    }
    if let Some(db) = &admin {
        admin_sql(db, &format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn admin_sql(db: &duet_models::Db, sql: &str) -> Result<(), String> {
    use diesel_async::SimpleAsyncConnection;
    duet_models::db_run!(db, |conn| conn.batch_execute(sql).await).map_err(|e| e.to_string())
}
