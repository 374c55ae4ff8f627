//! `GET /api/orders/` through duet (session, database) vs the same JSON from a bare handler,
//! with two floors: a bare handler running the same query for a fixed user (what the
//! database alone costs), and one that also decodes the same session cookie and looks the
//! user up with the same query as duet (the work any server must do to answer "my orders");
//! and duet and the first floor again with compression negotiated, in the same rounds, with
//! what compressing the body costs.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use actix_web::http::header::{CONTENT_ENCODING, ContentEncoding, VARY};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use duet_auth::Identity;
use duet_models::schema::{user_logins, users};
use duet_models::{ApiToken, Model, Money, User};
use duet_mount::compress::{Effort, encode, negotiate};
use shop::api::{OrderSummary, OrdersOut};
use shop::orders::{NewOrder, Order, OrderStatus, orders};

use crate::load::{LoadResult, wrk};
use crate::servers::{Killed, bench_db, cpu_micros, free_addr, log_in, sibling, wait_for};

/// The whole HTTP comparison; prints a Markdown table.
pub(crate) async fn run(
    seconds: u32,
    connections: u32,
    accept_encoding: &str,
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

    let (shop, shop_addr) = start_shop(&dir, &url, &[]).await?;
    let base = format!("http://{shop_addr}");
    let client = reqwest::Client::new();
    let session = log_in(&base, "bench", "bench").await?;
    let body = get_orders(&client, &shop_addr, &session).await?;
    let body_file = dir.join("orders.json");
    std::fs::write(&body_file, &body).map_err(|e| e.to_string())?;

    let database = url.trim_start_matches("sqlite://");
    let bare_addr = free_addr()?;
    let body_path = body_file.to_string_lossy();
    let _bare = spawn_self(&["bare", "--addr", &bare_addr, "--body", &body_path])?;
    let floor_addr = free_addr()?;
    let customer = user.id.to_string();
    let _floor = spawn_self(&[
        "bare-sqlite",
        "--addr",
        &floor_addr,
        "--customer",
        &customer,
        "--database",
        database,
    ])?;
    let session_floor_addr = free_addr()?;
    let session_floor_server = spawn_self(&[
        "bare-sqlite",
        "--addr",
        &session_floor_addr,
        "--session",
        "--database",
        database,
    ])?;
    wait_for(&bare_addr).await?;
    for addr in [&floor_addr, &session_floor_addr] {
        wait_for(addr).await?;
        if get_orders(&client, addr, &session).await? != body {
            return Err("a bare SQLite server's body differs from duet's".into());
        }
    }

    let compressed = client
        .get(format!("{base}/api/orders/"))
        .header("Cookie", &session)
        .header("accept-encoding", accept_encoding)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let encoding = compressed
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("GET /api/orders/ with Accept-Encoding: {accept_encoding} came back uncompressed"))?
        .to_owned();
    let compressed_len = compressed.bytes().await.map_err(|e| e.to_string())?.len();

    let plain = vec![format!("Cookie: {session}")];
    let negotiated = vec![plain[0].clone(), format!("Accept-Encoding: {accept_encoding}")];
    let rounds = 3;
    let (mut bare, mut floor, mut floor_compressed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut duet, mut duet_compressed, mut session_floor) = (Vec::new(), Vec::new(), Vec::new());
    // CPU time per request (user and system, µs) of duet and the session floor, plain.
    let (mut duet_cpu, mut session_floor_cpu) = (Vec::new(), Vec::new());
    let (shop_pid, session_floor_pid) = (shop.0.id(), session_floor_server.0.id());
    println!(
        "GET /api/orders/, 50 orders, {} bytes ({compressed_len} bytes {encoding} with Accept-Encoding: {accept_encoding}), \
         {connections} connections, {seconds} s x {rounds} rounds",
        body.len(),
    );
    println!();
    println!(
        "| round | load average | duet, no Accept-Encoding | duet, {encoding} | compressed / plain | \
         floor, plain | floor, {encoding} | floor compressed / plain |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for round in 0..rounds {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split_whitespace().next().unwrap_or("?").to_owned();
        let url = |addr: &str| format!("http://{addr}/api/orders/");
        bare.push(wrk(&url(&bare_addr), &plain, seconds, connections)?);
        let (result, cpu) = wrk_with_cpu(
            session_floor_pid,
            &url(&session_floor_addr),
            &plain,
            seconds,
            connections,
        )?;
        session_floor.push(result);
        session_floor_cpu.push(cpu);
        // Plain and compressed back to back, in alternating order, so drift in the
        // machine's load falls on both.
        for (addr, plain_results, compressed_results) in [
            (&floor_addr, &mut floor, &mut floor_compressed),
            (&shop_addr, &mut duet, &mut duet_compressed),
        ] {
            let mut pair = [(&plain, plain_results), (&negotiated, compressed_results)];
            if round % 2 == 1 {
                pair.reverse();
            }
            for (headers, results) in pair {
                if addr == &shop_addr && headers == &plain {
                    let (result, cpu) = wrk_with_cpu(shop_pid, &url(addr), headers, seconds, connections)?;
                    results.push(result);
                    duet_cpu.push(cpu);
                } else {
                    results.push(wrk(&url(addr), headers, seconds, connections)?);
                }
            }
        }
        let (p, c) = (duet[round].requests_per_sec, duet_compressed[round].requests_per_sec);
        let (fp, fc) = (floor[round].requests_per_sec, floor_compressed[round].requests_per_sec);
        println!(
            "| {} | {load} | {p:.0} | {c:.0} | {:.1}% | {fp:.0} | {fc:.0} | {:.1}% |",
            round + 1,
            100.0 * c / p,
            100.0 * fc / fp
        );
    }
    let ratios_of = |plain: &[LoadResult], compressed: &[LoadResult]| -> Vec<f64> {
        plain
            .iter()
            .zip(compressed)
            .map(|(p, c)| c.requests_per_sec / p.requests_per_sec)
            .collect()
    };
    let (ratios, floor_ratios) = (ratios_of(&duet, &duet_compressed), ratios_of(&floor, &floor_compressed));
    let (bare, best_floor, best_floor_compressed) = (best(&bare), best(&floor), best(&floor_compressed));
    let (best_plain, best_compressed) = (best(&duet), best(&duet_compressed));
    println!();
    println!("Best round of each:");
    println!();
    println!("| server | requests/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---:|---:|---:|---:|");
    for (name, r) in [
        ("bare actix-web, JSON from memory".to_owned(), bare),
        (
            "bare actix-web, the same query (diesel, sync SQLite) + JSON".to_owned(),
            best_floor,
        ),
        (
            format!("the same floor, Accept-Encoding: {accept_encoding} ({encoding}, per response)"),
            best_floor_compressed,
        ),
        (
            "bare actix-web, the same session decode and user lookup, then the same query + JSON".to_owned(),
            best(&session_floor),
        ),
        ("duet: session + SQLite + JSON".to_owned(), best_plain),
        (
            format!("the same, Accept-Encoding: {accept_encoding} ({encoding})"),
            best_compressed,
        ),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} |",
            r.requests_per_sec, r.p50_ms, r.p99_ms, r.non_2xx
        );
    }
    println!();
    println!(
        "duet / bare = {:.0}% (target >= 50%); the query alone / bare = {:.0}%; duet / the query alone = {:.0}%",
        100.0 * best_plain.requests_per_sec / bare.requests_per_sec,
        100.0 * best_floor.requests_per_sec / bare.requests_per_sec,
        100.0 * best_plain.requests_per_sec / best_floor.requests_per_sec
    );
    let session_ratios = duet
        .iter()
        .zip(&session_floor)
        .map(|(duet, floor)| duet.requests_per_sec / floor.requests_per_sec)
        .collect();
    println!(
        "duet / the floor with the session and the user lookup, median of the rounds = {:.0}% (target >= 85%)",
        100.0 * median(session_ratios)
    );
    let (duet_cpu, session_floor_cpu) = (median(duet_cpu), median(session_floor_cpu));
    println!(
        "CPU time per request (user + system, the server process), median of the rounds: duet {duet_cpu:.1} µs, \
         the floor with the session {session_floor_cpu:.1} µs: duet / that floor by CPU = {:.0}%",
        100.0 * session_floor_cpu / duet_cpu
    );
    println!(
        "compressed / plain, median of the rounds: duet {:.1}% (target >= 95%), the bare floor {:.1}%",
        100.0 * median(ratios),
        100.0 * median(floor_ratios),
    );
    println!();
    let compressor_micros = compression_costs(&body, &encoding);
    // At saturation a request takes 1/throughput of the machine's time (both cores, the
    // load generator's share included).
    let extra = |plain: &[LoadResult], compressed: &[LoadResult]| {
        let (plain, compressed) = (median_rate(plain), median_rate(compressed));
        2e6 * (1.0 / compressed - 1.0 / plain)
    };
    println!(
        "A compressed response costs the two cores {:.1} µs more than a plain one through duet, \
         {:.1} µs more through the bare floor (medians of the rounds); the compressor alone takes \
         {compressor_micros:.1} µs of one core.",
        extra(&duet, &duet_compressed),
        extra(&floor, &floor_compressed),
    );
    println!();
    match redis {
        Some(redis) => throttle_rows(&dir, &url, redis, seconds, connections).await?,
        None => println!("(no Redis: set DUET_TEST_REDIS_URL for the throttle rows)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `GET /api/orders/` from the server at `addr`, with the session cookie.
async fn get_orders(client: &reqwest::Client, addr: &str, session: &str) -> Result<web::Bytes, String> {
    client
        .get(format!("http://{addr}/api/orders/"))
        .header("Cookie", session)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())
}

/// [`wrk`] against `url`, with the CPU time (user and system) the server process `pid` spent
/// per request meanwhile, in microseconds: what a request costs the server, however the
/// two cores were shared with the load generator.
fn wrk_with_cpu(
    pid: u32,
    url: &str,
    headers: &[String],
    seconds: u32,
    connections: u32,
) -> Result<(LoadResult, f64), String> {
    let before = cpu_micros(pid);
    let result = wrk(url, headers, seconds, connections)?;
    let spent = cpu_micros(pid).saturating_sub(before) as f64;
    let requests = (result.requests_per_sec * f64::from(seconds)).max(1.0);
    Ok((result, spent / requests))
}

/// This benchmark's own binary run with `args` (a floor server), with the shop's secret key.
fn spawn_self(args: &[&str]) -> Result<Killed, String> {
    Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(args)
        .env("DUET_SECRET_KEY", SECRET_KEY)
        .stdout(Stdio::null())
        .spawn()
        .map(Killed)
        .map_err(|e| e.to_string())
}

fn median_rate(results: &[LoadResult]) -> f64 {
    median(results.iter().map(|r| r.requests_per_sec).collect())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Prints what compressing `body` costs on one core at each fast setting, and at the one
/// duet uses per response ([`Effort::Fast`]); returns the µs of the latter in `encoding`
/// (`br` or `gzip`, as negotiated).
fn compression_costs(body: &[u8], encoding: &str) -> f64 {
    const RUNS: u32 = 2000;
    let time = |compress: &dyn Fn() -> Vec<u8>| {
        let started = Instant::now();
        let mut len = 0;
        for _ in 0..RUNS {
            len = std::hint::black_box(compress()).len();
        }
        (len, started.elapsed().as_secs_f64() * 1e6 / f64::from(RUNS))
    };
    let brotli = |quality: i32| {
        move || {
            let params = brotli::enc::BrotliEncoderParams {
                quality,
                size_hint: body.len(),
                ..Default::default()
            };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).expect("in memory");
            out
        }
    };
    let gzip = |level: u32| {
        move || {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            encoder.write_all(body).expect("in memory");
            encoder.finish().expect("in memory")
        }
    };
    println!(
        "Compressing the {} bytes of JSON once, on this machine ({RUNS} times each):",
        body.len()
    );
    println!();
    println!("| setting | bytes | µs per response |");
    println!("|---|---:|---:|");
    let mut rows: Vec<(String, (usize, f64))> = Vec::new();
    for quality in 0..=4 {
        rows.push((
            format!("brotli quality {quality} (default window)"),
            time(&brotli(quality)),
        ));
    }
    for level in 1..=3 {
        rows.push((format!("gzip level {level}"), time(&gzip(level))));
    }
    let mut negotiated = f64::NAN;
    for (name, token, content_encoding) in [
        ("brotli", "br", ContentEncoding::Brotli),
        ("gzip", "gzip", ContentEncoding::Gzip),
    ] {
        let (len, micros) = time(&|| encode(body, content_encoding, Effort::Fast).unwrap_or_default());
        if token == encoding {
            negotiated = micros;
        }
        rows.push((format!("duet's per-response {name} (`Effort::Fast`)"), (len, micros)));
    }
    for (name, (len, micros)) in rows {
        println!("| {name} | {len} | {micros:.1} |");
    }
    negotiated
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

/// Whose orders a database floor lists.
pub(crate) enum Customer {
    /// Always this user's; no session, no user lookup.
    Fixed(i64),
    /// The session's user: the session cookie decoded as duet decodes it (the same
    /// middleware, keyed with this secret), then the same user lookup as duet's, on the same
    /// connection as the list. What any server does to answer "my orders".
    FromSession(Vec<u8>),
}

/// What the database part costs without duet: a bare actix-web handler running the same
/// query as `GET /api/orders/` with diesel's synchronous SQLite connection (one per worker
/// thread, opened as duet opens its own), and the same JSON, compressed as the request's
/// `Accept-Encoding` asks with duet's per-response setting. With [`Customer::FromSession`],
/// the session and user lookup too.
pub(crate) fn serve_bare_sqlite(addr: &str, database: &str, customer: Customer) -> Result<(), String> {
    let database = database.to_owned();
    actix_web::rt::System::new().block_on(async move {
        let server = match customer {
            Customer::Fixed(id) => {
                HttpServer::new(move || App::new().route("/api/orders/", orders_route(database.clone(), Some(id))))
                    .bind(addr)
                    .map(HttpServer::run)
            }
            Customer::FromSession(secret) => {
                let session = duet_auth::SessionConfig::new(&secret);
                HttpServer::new(move || {
                    App::new()
                        .wrap(session.middleware(duet_auth::SessionBackend::cookie()))
                        .route("/api/orders/", orders_route(database.clone(), None))
                })
                .bind(addr)
                .map(HttpServer::run)
            }
        };
        server.map_err(|e| e.to_string())?.await.map_err(|e| e.to_string())
    })
}

/// `GET /api/orders/` of a floor: `customer`'s orders, or the session user's when `None`.
fn orders_route(database: String, customer: Option<i64>) -> actix_web::Route {
    web::get().to(move |req: HttpRequest| {
        let out = with_connection(&database, |conn| {
            let customer = match customer {
                Some(id) => id,
                None => match session_user(&req, conn)? {
                    Some(user) => user.id,
                    None => return Ok(None),
                },
            };
            my_orders(conn, customer).map(Some)
        });
        async move {
            match out.map_err(|e| e.to_string()).and_then(|out| {
                out.map(|out| serde_json::to_vec(&out))
                    .transpose()
                    .map_err(|e| e.to_string())
            }) {
                Ok(Some(json)) => json_response(json, negotiate(&req)),
                Ok(None) => HttpResponse::Unauthorized().finish(),
                Err(error) => HttpResponse::InternalServerError().body(error),
            }
        }
    })
}

/// Runs `work` on this thread's connection to `database`, opened (as duet opens its own) on
/// first use.
fn with_connection<T>(database: &str, work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T>) -> QueryResult<T> {
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
        work(conn)
    })
}

/// The session's active user: the query of duet's `Login::user`, static.
fn session_user(req: &HttpRequest, conn: &mut SqliteConnection) -> QueryResult<Option<User>> {
    let Identity::Session {
        user_id,
        session_auth_id,
    } = Identity::from_session(&actix_session::SessionExt::get_session(req))
    else {
        return Ok(None);
    };
    let users = user_logins::table
        .inner_join(users::table)
        .filter(user_logins::key_hash.eq(ApiToken::hash_key(&session_auth_id)))
        .filter(user_logins::user_id.eq(user_id))
        .filter(users::is_active.eq(true))
        .select(User::as_select())
        .load::<User>(conn)?;
    Ok(users.into_iter().next())
}

/// `customer`'s orders, newest first: the query of `GET /api/orders/`.
fn my_orders(conn: &mut SqliteConnection, customer: i64) -> QueryResult<OrdersOut> {
    let rows = orders::table
        .filter(orders::customer_id.eq(customer))
        .order((orders::placed_at.desc(), orders::id.desc()))
        .select(Order::as_select())
        .load::<Order>(conn)?;
    Ok(OrdersOut {
        orders: rows.into_iter().map(OrderSummary::from).collect(),
    })
}

/// `json`, compressed in `encoding` when that is brotli or gzip.
fn json_response(json: Vec<u8>, encoding: ContentEncoding) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/json")
        .insert_header((VARY, "accept-encoding"));
    match encode(&json, encoding, Effort::Fast) {
        Some(compressed) => response
            .insert_header((CONTENT_ENCODING, encoding.to_header_value()))
            .body(compressed),
        None => response.body(json),
    }
}

/// The same request with sessions in Redis, without and with the user throttle (its counter
/// in Redis too), in alternating order per round, so that the difference is the throttle's.
async fn throttle_rows(dir: &Path, url: &str, redis: &str, seconds: u32, connections: u32) -> Result<(), String> {
    let prefix = format!("duet-bench-{}", std::process::id());
    let mut servers = Vec::new();
    for throttle in ["off", "1000000/minute"] {
        let env = [
            ("REDIS_URL", redis),
            ("REDIS_KEY_PREFIX", prefix.as_str()),
            ("DUET_THROTTLE_USER", throttle),
        ];
        let (server, addr) = start_shop(dir, url, &env).await?;
        let session = log_in(&format!("http://{addr}"), "bench", "bench").await?;
        servers.push((server, addr, vec![format!("Cookie: {session}")]));
    }
    let rounds = 2;
    let (mut unthrottled, mut throttled) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut pair = [(&servers[0], &mut unthrottled), (&servers[1], &mut throttled)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for ((_, addr, headers), results) in pair {
            results.push(wrk(
                &format!("http://{addr}/api/orders/"),
                headers,
                seconds,
                connections,
            )?);
        }
    }
    let (unthrottled, throttled) = (best(&unthrottled), best(&throttled));
    println!("Redis sessions, {connections} connections, {seconds} s x {rounds} rounds (best round):");
    println!();
    println!("| server | requests/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---:|---:|---:|---:|");
    for (name, r) in [
        ("duet: Redis session + SQLite + JSON", unthrottled),
        ("duet: Redis session + user throttle (Redis) + SQLite + JSON", throttled),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} |",
            r.requests_per_sec, r.p50_ms, r.p99_ms, r.non_2xx
        );
    }
    let ratio = 100.0 * throttled.requests_per_sec / unthrottled.requests_per_sec;
    let verdict = if ratio >= 90.0 { "met" } else { "MISSED" };
    println!();
    println!("user throttle in Redis / no throttle (both Redis sessions) = {ratio:.0}% (target >= 90%: {verdict})");
    drop(servers);
    forget(redis, &prefix).await
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
/// The shop's `DUET_SECRET_KEY` (and the session floor's, which decodes its cookies).
const SECRET_KEY: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn start_shop(dir: &Path, url: &str, env: &[(&str, &str)]) -> Result<(Killed, String), String> {
    let addr = free_addr()?;
    let shop = Killed(
        Command::new(sibling("shop")?)
            .args(["serve", "--addr", &addr])
            .current_dir(dir)
            .env("DATABASE_URL", url)
            .env("DUET_ENV", "production")
            .env("DUET_ALLOWED_HOSTS", "127.0.0.1")
            .env("DUET_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    wait_for(&addr).await?;
    Ok((shop, addr))
}
