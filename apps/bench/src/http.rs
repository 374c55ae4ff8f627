//! `GET /api/orders/` through duet (session, database) vs the same JSON from a bare handler,
//! with a third server showing what the database query alone costs.

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Stdio};

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use duet_models::{Model, Money};
use shop::api::{OrderSummary, OrdersOut};
use shop::orders::{NewOrder, Order, OrderStatus, orders};

use crate::load::{LoadResult, wrk};
use crate::servers::{Killed, bench_db, free_addr, sibling, wait_for};

/// The whole HTTP comparison; prints a Markdown table.
pub(crate) async fn run(
    seconds: u32,
    connections: u32,
    accept_encoding: Option<&str>,
    redis: Option<&str>,
) -> Result<(), String> {
    let (dir, url, db, user) = bench_db("http").await?;
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

    let (_shop, shop_addr) = start_shop(&dir, &url, &[]).await?;
    let base = format!("http://{shop_addr}");
    let client = reqwest::Client::new();
    let session = log_in(&base).await?;
    let body = client
        .get(format!("{base}/api/orders/"))
        .header("Cookie", &session)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let body_file = dir.join("orders.json");
    std::fs::write(&body_file, &body).map_err(|e| e.to_string())?;

    let bare_addr = free_addr()?;
    let _bare = Killed(
        Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .args(["bare", "--addr", &bare_addr, "--body"])
            .arg(&body_file)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let floor_addr = free_addr()?;
    let _floor = Killed(
        Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .args(["bare-sqlite", "--addr", &floor_addr, "--customer", &user.id.to_string()])
            .arg("--database")
            .arg(url.trim_start_matches("sqlite://"))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    wait_for(&bare_addr).await?;
    wait_for(&floor_addr).await?;
    let floor_body = reqwest::get(format!("http://{floor_addr}/api/orders/"))
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    if floor_body != body {
        return Err("the bare SQLite server's body differs from duet's".into());
    }

    // With Redis: the same request with sessions in Redis, without and with the user
    // throttle (its counter in Redis too), so that the difference is the throttle's.
    let prefix = format!("duet-bench-{}", std::process::id());
    let mut redis_servers = Vec::new();
    if let Some(redis) = redis {
        for throttle in ["off", "1000000/minute"] {
            let env = [
                ("REDIS_URL", redis),
                ("REDIS_KEY_PREFIX", prefix.as_str()),
                ("DUET_THROTTLE_USER", throttle),
            ];
            let (server, addr) = start_shop(&dir, &url, &env).await?;
            let session = log_in(&format!("http://{addr}")).await?;
            redis_servers.push((server, addr, session));
        }
    }

    let with_encoding = |session: &str| {
        let mut headers = vec![format!("Cookie: {session}")];
        if let Some(encoding) = accept_encoding {
            headers.push(format!("Accept-Encoding: {encoding}"));
        }
        headers
    };
    let rounds = 2;
    let mut targets = vec![
        (bare_addr.clone(), with_encoding(&session)),
        (floor_addr.clone(), with_encoding(&session)),
        (shop_addr.clone(), with_encoding(&session)),
    ];
    targets.extend(
        redis_servers
            .iter()
            .map(|(_, addr, session)| (addr.clone(), with_encoding(session))),
    );
    let mut results = vec![Vec::new(); targets.len()];
    for _ in 0..rounds {
        for ((addr, headers), results) in targets.iter().zip(&mut results) {
            results.push(wrk(
                &format!("http://{addr}/api/orders/"),
                headers,
                seconds,
                connections,
            )?);
        }
    }
    let results: Vec<LoadResult> = results.iter().map(|r| best(r)).collect();
    let (bare, floor, duet) = (results[0], results[1], results[2]);
    println!(
        "GET /api/orders/, 50 orders, {} bytes, {connections} connections, {seconds} s x {rounds} rounds (best round){}",
        body.len(),
        accept_encoding
            .map(|e| format!(", Accept-Encoding: {e}"))
            .unwrap_or_default()
    );
    println!();
    println!("| server | requests/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---:|---:|---:|---:|");
    let mut rows = vec![
        ("bare actix-web, JSON from memory", bare),
        ("bare actix-web, the same query (diesel, sync SQLite) + JSON", floor),
        ("duet: session + SQLite + JSON", duet),
    ];
    if let [unthrottled, throttled] = results[3..] {
        rows.push(("duet: Redis session + SQLite + JSON", unthrottled));
        rows.push(("duet: Redis session + user throttle (Redis) + SQLite + JSON", throttled));
    }
    for (name, r) in rows {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} |",
            r.requests_per_sec, r.p50_ms, r.p99_ms, r.non_2xx
        );
    }
    println!();
    println!(
        "duet / bare = {:.0}% (target >= 50%); the query alone / bare = {:.0}%; duet / the query alone = {:.0}%",
        100.0 * duet.requests_per_sec / bare.requests_per_sec,
        100.0 * floor.requests_per_sec / bare.requests_per_sec,
        100.0 * duet.requests_per_sec / floor.requests_per_sec
    );
    if let [unthrottled, throttled] = results[3..] {
        let ratio = 100.0 * throttled.requests_per_sec / unthrottled.requests_per_sec;
        let verdict = if ratio >= 90.0 { "met" } else { "MISSED" };
        println!("user throttle in Redis / no throttle (both Redis sessions) = {ratio:.0}% (target >= 90%: {verdict})");
    } else {
        println!("(no Redis: set DUET_TEST_REDIS_URL for the throttle rows)");
    }
    drop(redis_servers);
    if let Some(redis) = redis {
        forget(redis, &prefix).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Deletes the run's keys (sessions, throttle counters) from the shared Redis.
async fn forget(redis: &str, prefix: &str) -> Result<(), String> {
    let client = redis::Client::open(redis).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if !keys.is_empty() {
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `shop serve` in production on `url` with `env` added: the process and its address.
async fn start_shop(dir: &Path, url: &str, env: &[(&str, &str)]) -> Result<(Killed, String), String> {
    let addr = free_addr()?;
    let shop = Killed(
        Command::new(sibling("shop")?)
            .args(["serve", "--addr", &addr])
            .current_dir(dir)
            .env("DATABASE_URL", url)
            .env("DUET_ENV", "production")
            .env("DUET_ALLOWED_HOSTS", "127.0.0.1")
            .env("DUET_SECRET_KEY", "b".repeat(64))
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    wait_for(&addr).await?;
    Ok((shop, addr))
}

/// Logs `bench` in at `base`: the `sessionid=…` cookie.
async fn log_in(base: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let form: serde_json::Value = client
        .get(format!("{base}/accounts/login/"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let login = client
        .post(format!("{base}/accounts/login/"))
        .header("X-CSRFToken", form["csrftoken"].as_str().unwrap_or_default())
        .json(&serde_json::json!({"username": "bench", "password": "bench"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sessionid="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "login set no session cookie".to_owned())
}

fn best(results: &[LoadResult]) -> LoadResult {
    results
        .iter()
        .copied()
        .max_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec))
        .unwrap_or(LoadResult {
            requests_per_sec: 0.0,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            non_2xx: 0,
        })
}

/// The bare baseline: one route, the body from memory.
pub(crate) fn serve_bare(addr: &str, body: &Path) -> Result<(), String> {
    let body = web::Bytes::from(std::fs::read(body).map_err(|e| e.to_string())?);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let body = body.clone();
            App::new().route(
                "/api/orders/",
                web::get().to(move || {
                    let body = body.clone();
                    async move { HttpResponse::Ok().content_type("application/json").body(body) }
                }),
            )
        })
        .bind(addr)
        .map_err(|e| e.to_string())?
        .run()
        .await
        .map_err(|e| e.to_string())
    })
}

thread_local! {
    static CONNECTION: RefCell<Option<SqliteConnection>> = const { RefCell::new(None) };
}

/// What the database part costs without duet: a bare actix-web handler running the same
/// query as `GET /api/orders/` with diesel's synchronous SQLite connection (one per worker
/// thread, opened as duet opens its own), and the same JSON. No session, no user lookup.
pub(crate) fn serve_bare_sqlite(addr: &str, database: &str, customer: i64) -> Result<(), String> {
    fn my_orders(database: &str, customer: i64) -> QueryResult<OrdersOut> {
        CONNECTION.with_borrow_mut(|slot| {
            let conn = match slot {
                Some(conn) => conn,
                None => {
                    let mut conn = SqliteConnection::establish(database)
                        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
                    conn.batch_execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    )?;
                    slot.insert(conn)
                }
            };
            let rows = orders::table
                .filter(orders::customer_id.eq(customer))
                .order((orders::placed_at.desc(), orders::id.desc()))
                .select(Order::as_select())
                .load::<Order>(conn)?;
            Ok(OrdersOut {
                orders: rows.into_iter().map(OrderSummary::from).collect(),
            })
        })
    }
    let database = database.to_owned();
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let database = database.clone();
            App::new().route(
                "/api/orders/",
                web::get().to(move || {
                    let out = my_orders(&database, customer);
                    async move {
                        match out {
                            Ok(out) => HttpResponse::Ok().json(out),
                            Err(error) => HttpResponse::InternalServerError().body(error.to_string()),
                        }
                    }
                }),
            )
        })
        .bind(addr)
        .map_err(|e| e.to_string())?
        .run()
        .await
        .map_err(|e| e.to_string())
    })
}
