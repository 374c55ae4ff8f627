//! A login flood against the shop: token `GET /api/orders/` alone, then while 64 clients
//! send wrong passwords as fast as they are answered; the shop's peak memory after.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use duet_models::{Model, Money};
use shop::orders::{NewOrder, Order, OrderStatus};

use crate::load::{LoadResult, wrk};
use crate::servers::{Killed, bench_db, free_addr, login_form, sibling, wait_for};

/// Wrong-password logins answered, by status.
#[derive(Default)]
struct Answers {
    refused: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
}

/// The whole measurement; prints a Markdown table.
pub(crate) async fn run(seconds: u32, flooders: usize) -> Result<(), String> {
    let (dir, url, db, user) = bench_db("logins").await?;
    for n in 0..50 {
        let order = NewOrder {
            customer: user.id.into(),
            total: Money::cents(1000 + n),
            currency: "EUR".into(),
            status: OrderStatus::Paid,
            placed_at: duet_models::now(),
            client_reference: format!("bench-{n}"),
        };
        Order::create(&db, order).await.map_err(|e| e.to_string())?;
    }
    let token = duet_models::ApiToken::issue(&db, user.id)
        .await
        .map_err(|e| e.to_string())?;
    let addr = free_addr()?;
    let shop = Killed(
        Command::new(sibling("shop")?)
            .args(["serve", "--addr", &addr])
            .current_dir(&dir)
            .env("DATABASE_URL", &url)
            .env("DUET_ENV", "production")
            .env("DUET_ALLOWED_HOSTS", "127.0.0.1")
            .env("DUET_SECRET_KEY", "l".repeat(64))
            // The flood measures the bound on password checks, not the login rate.
            .env("DUET_THROTTLE_LOGIN", "off")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    wait_for(&addr).await?;
    let base = format!("http://{addr}");
    let orders = format!("{base}/api/orders/");
    let header = vec![format!("Authorization: Token {token}")];

    let alone = wrk(&orders, &header, seconds, 64)?;
    let flooding = Arc::new(AtomicBool::new(true));
    let answers = Arc::new(Answers::default());
    let mut tasks = Vec::new();
    for _ in 0..flooders {
        tasks.push(tokio::spawn(flood(
            base.clone(),
            Arc::clone(&flooding),
            Arc::clone(&answers),
        )));
    }
    // Every flooder has its session and is sending before the measurement starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let load = tokio::task::spawn_blocking({
        let (orders, header) = (orders.clone(), header.clone());
        move || wrk(&orders, &header, seconds, 64)
    });
    let flooded = load.await.map_err(|e| e.to_string())??;
    flooding.store(false, Ordering::Relaxed);
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let peak = peak_rss_mib(shop.0.id())?;
    print(&alone, &flooded, &answers, peak, flooders, seconds);
    drop(shop);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One client sending wrong passwords, one at a time, until told to stop.
async fn flood(base: String, flooding: Arc<AtomicBool>, answers: Arc<Answers>) -> Result<(), String> {
    let (client, csrf) = login_form(&base).await?;
    while flooding.load(Ordering::Relaxed) {
        let status = client
            .post(format!("{base}/accounts/login/"))
            .header("X-CSRFToken", &csrf)
            .json(&serde_json::json!({"username": "bench", "password": "wrong"}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status()
            .as_u16();
        let counter = match status {
            400 => &answers.refused,
            503 => &answers.busy,
            _ => &answers.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// A process's peak resident memory (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> Result<f64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM")?;
    Ok(kib / 1024.0)
}

#[allow(clippy::cast_precision_loss)]
fn print(alone: &LoadResult, flooded: &LoadResult, answers: &Answers, peak: f64, flooders: usize, seconds: u32) {
    let (refused, busy, other) = (
        answers.refused.load(Ordering::Relaxed),
        answers.busy.load(Ordering::Relaxed),
        answers.other.load(Ordering::Relaxed),
    );
    println!("\n### Login flood: token `GET /api/orders/` (64 connections, {seconds} s each)\n");
    println!("| | req/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---:|---:|---:|---:|");
    for (name, r) in [
        ("alone", alone),
        (&*format!("with {flooders} wrong-password logins at once"), flooded),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} |",
            r.requests_per_sec, r.p50_ms, r.p99_ms, r.non_2xx
        );
    }
    println!(
        "\nUnder the flood the API keeps {:.0}% of its rate. Logins answered: {refused} wrong \
         password (400), {busy} busy (503), {other} other ({:.0}/s in all). Peak RSS of the \
         shop: {peak:.0} MiB.",
        100.0 * flooded.requests_per_sec / alone.requests_per_sec,
        (refused + busy + other) as f64 / (f64::from(seconds) + 1.0),
    );
}
