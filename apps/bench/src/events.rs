//! Event round trips: duet's `/_event` (hello, then `counter.increment` events, each
//! answered with a delta) against a bare actix-ws server echoing the same frames, and the
//! Redis state manager against the in-memory one (with Redis commands counted per event).

use std::cell::RefCell;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::servers::{Killed, cpu_micros, free_addr, sibling, wait_for};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The bare baseline: echoes every text frame. With `redis`, each frame first costs two
/// Redis round trips on the worker thread's connection (`HGETALL`, then `HSET`): the floor
/// of any design that locks and loads, then stores, in Redis.
pub(crate) fn serve_echo(addr: &str, redis: Option<String>) -> Result<(), String> {
    thread_local! {
        static REDIS: RefCell<Option<redis::aio::MultiplexedConnection>> = const { RefCell::new(None) };
    }
    async fn two_round_trips(url: &str, key: &str, n: u64) -> redis::RedisResult<()> {
        let mut conn = match REDIS.with_borrow(Clone::clone) {
            Some(conn) => conn,
            None => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
                let conn = redis::Client::open(url)?
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                REDIS.with_borrow_mut(|slot| slot.insert(conn).clone())
            }
        };
        let _: Vec<String> = redis::cmd("HGETALL").arg(key).query_async(&mut conn).await?;
        redis::cmd("HSET").arg(key).arg("n").arg(n).query_async(&mut conn).await
    }
    async fn echo(
        req: HttpRequest,
        body: web::Payload,
        redis: web::Data<Option<String>>,
    ) -> Result<HttpResponse, actix_web::Error> {
        let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
        let redis = redis.get_ref().clone();
        actix_web::rt::spawn(async move {
            let key = format!("echo:{}", socket_number());
            let mut n = 0;
            while let Some(Ok(message)) = stream.recv().await {
                match message {
                    actix_ws::Message::Text(text) => {
                        n += 1;
                        if let Some(url) = &redis
                            && two_round_trips(url, &key, n).await.is_err()
                        {
                            break;
                        }
                        if session.text(text.clone()).await.is_err() {
                            break;
                        }
                    }
                    actix_ws::Message::Close(_) => break,
                    _ => {}
                }
            }
        });
        Ok(response)
    }
    let redis = web::Data::new(redis);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || App::new().app_data(redis.clone()).route("/_event", web::get().to(echo)))
            .backlog(4096)
            .bind(addr)
            .map_err(|e| e.to_string())?
            .run()
            .await
            .map_err(|e| e.to_string())
    })
}

/// Numbers the floor's sockets, each with a Redis key of its own.
fn socket_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// As the browser runtime sends it: `acked` lets the server forget the previous reply.
const EVENT: &str = r#"{"type":"event","seq":SEQ,"acked":ACKED,"state":"counter","handler":"increment"}"#;

async fn connect(url: &str, duet: bool) -> Result<Socket, String> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    if duet {
        let hello = r#"{"type":"hello","protocol":1,"tab":null,"route":{"path":"/"}}"#;
        socket.send(Message::text(hello)).await.map_err(|e| e.to_string())?;
        next_text(&mut socket).await?;
    }
    Ok(socket)
}

async fn next_text(socket: &mut Socket) -> Result<(), String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => return Ok(()),
            Some(Ok(_)) => {}
            other => return Err(format!("socket ended: {other:?}")),
        }
    }
}

struct Figures {
    events: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time per event of each process watched (in the order given), in microseconds.
    cpu_us: Vec<f64>,
}

/// `clients` sockets, connected (and hydrated) before the clock starts.
async fn open(url: &str, duet: bool, clients: usize) -> Result<Vec<Socket>, String> {
    let mut sockets = Vec::with_capacity(clients);
    for _ in 0..clients {
        sockets.push(connect(url, duet).await?);
    }
    Ok(sockets)
}

/// Each socket sends one event and waits for its answer, for `seconds`.
async fn drive(sockets: Vec<Socket>, seconds: u64, watched: &[u32]) -> Figures {
    let cpu_before: Vec<u64> = watched.iter().map(|&pid| cpu_micros(pid)).collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for mut socket in sockets {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut seq = 0u64;
            while Instant::now() < deadline {
                seq += 1;
                let started = Instant::now();
                if socket
                    .send(Message::text(
                        EVENT
                            .replace("SEQ", &seq.to_string())
                            .replace("ACKED", &(seq - 1).to_string()),
                    ))
                    .await
                    .is_err()
                {
                    break;
                }
                if next_text(&mut socket).await.is_err() {
                    break;
                }
                latencies.push(started.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    let cpu_after: Vec<u64> = watched.iter().map(|&pid| cpu_micros(pid)).collect();
    latencies.sort();
    let events = latencies.len().max(1) as f64;
    let cpu_us = cpu_before
        .iter()
        .zip(&cpu_after)
        .map(|(before, after)| after.saturating_sub(*before) as f64 / events)
        .collect();
    let at = |q: usize| {
        latencies
            .get(latencies.len() * q / 100)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        events: latencies.len(),
        per_second: latencies.len() as f64 / seconds as f64,
        p50_ms: at(50),
        p99_ms: at(99),
        cpu_us,
    }
}

/// Drives `clients` sockets of `url` for `seconds`, with the CPU time per event of the
/// `watched` processes (the server first; the load generator, this process, is added last).
async fn round_trips(url: &str, duet: bool, clients: usize, seconds: u64, watched: &[u32]) -> Result<Figures, String> {
    let mut watched = watched.to_vec();
    watched.push(std::process::id());
    Ok(drive(open(url, duet, clients).await?, seconds, &watched).await)
}

/// A Redis server of the benchmark's own, so that every command it counts is the shop's.
struct OwnRedis {
    process: Killed,
    url: String,
}

impl OwnRedis {
    async fn start() -> Result<OwnRedis, String> {
        let addr = free_addr()?;
        let port = addr.rsplit(':').next().unwrap_or("6379").to_owned();
        let process = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        let process = Killed(process);
        wait_for(&addr).await?;
        Ok(OwnRedis {
            process,
            url: format!("redis://{addr}"),
        })
    }

    /// Requests Redis has received from clients so far (`INFO commandstats`), and every
    /// command including those inside pipelines and scripts. A request is one round trip:
    /// a lock-and-load pipeline (counted by its one `HGETALL`, a command the shop sends
    /// nowhere else), an `EVALSHA`, or an `EVAL`, `SCRIPT`, `BLPOP`, `PUBLISH`, `INFO`. (The
    /// floor's `HGETALL`s fall outside the window, and the benchmark sends no resends, whose
    /// reply is one more read.)
    async fn counts(&self) -> Result<(u64, u64), String> {
        let client = redis::Client::open(self.url.as_str()).map_err(|e| e.to_string())?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let (mut requests, mut all) = (0, 0);
        for line in info.lines() {
            let Some((name, stats)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(':')) else {
                continue;
            };
            let calls: u64 = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            all += calls;
            if ["hgetall", "evalsha", "eval", "script", "blpop", "publish", "info"].contains(&name) {
                requests += calls;
            }
        }
        Ok((requests, all))
    }
}

/// Like [`round_trips`], also counting Redis round trips and Redis commands (those inside
/// transactions and scripts included) per event while the clock runs.
/// The CPU times are the server's, Redis' and the load generator's.
async fn round_trips_on_redis(
    url: &str,
    server: u32,
    redis: &OwnRedis,
    clients: usize,
    seconds: u64,
) -> Result<(Figures, f64, f64), String> {
    let sockets = open(url, true, clients).await?;
    let (requests_before, all_before) = redis.counts().await?;
    let watched = [server, redis.process.0.id(), std::process::id()];
    let figures = drive(sockets, seconds, &watched).await;
    let (requests_after, all_after) = redis.counts().await?;
    // The first INFO is counted in the second reading, not in the first.
    let events = figures.events.max(1) as f64;
    let requests = (requests_after - requests_before - 1) as f64 / events;
    let all = (all_after - all_before - 1) as f64 / events;
    Ok((figures, requests, all))
}

fn start_shop(dir: &std::path::Path, addr: &str, name: &str, redis: Option<&str>) -> Result<Killed, String> {
    let mut cmd = Command::new(sibling("shop")?);
    cmd.args(["serve", "--addr", addr])
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join(format!("{name}.sqlite3")).display()),
        )
        .env("DUET_ENV", "production")
        .env("DUET_ALLOWED_HOSTS", "127.0.0.1")
        // Thousands of sockets from one address, each opening a tab.
        .env("DUET_NEW_TABS_PER_ADDRESS", "off")
        .env("DUET_SECRET_KEY", "e".repeat(64))
        .env("RUST_LOG", "error")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null());
    if let Some(url) = redis {
        cmd.env("REDIS_URL", url).env("REDIS_KEY_PREFIX", "bench");
    }
    Ok(Killed(cmd.spawn().map_err(|e| e.to_string())?))
}

/// Server memory per idle connection: RSS before and after opening `count` sockets.
async fn idle_memory(url: &str, duet: bool, pid: u32, count: usize) -> Result<f64, String> {
    let before = rss_kib(pid);
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        sockets.push(connect(url, duet).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    drop(sockets);
    Ok((after.saturating_sub(before) as f64) * 1024.0 / count as f64)
}

/// One row: the figures, the CPU times (server, then Redis when watched, then the load
/// generator) and, on Redis, round trips and commands per event.
fn print_row(clients: usize, server: &str, figures: &Figures, redis: Option<(f64, f64)>) {
    let cpu = |i: usize| figures.cpu_us.get(i).map_or(String::new(), |us| format!("{us:.1}"));
    let (redis_cpu, generator) = if figures.cpu_us.len() == 3 {
        (cpu(1), cpu(2))
    } else {
        (String::new(), cpu(1))
    };
    let (trips, commands) = redis.map_or((String::new(), String::new()), |(t, c)| {
        (format!("{t:.2}"), format!("{c:.1}"))
    });
    println!(
        "| {clients} | {server} | {:.0} | {:.2} | {:.2} | {} | {redis_cpu} | {generator} | {trips} | {commands} |",
        figures.per_second,
        figures.p50_ms,
        figures.p99_ms,
        cpu(0)
    );
}

fn print_ratio(label: &str, row: &Figures, base: &Figures) {
    println!(
        "| | {label} | {:.0}% | | {:.2}x | | | | | |",
        100.0 * row.per_second / base.per_second,
        row.p99_ms / base.p99_ms
    );
}

/// A part of the comparison, to run alone (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Part {
    /// Event round trips (in memory and on Redis) against the echo.
    RoundTrips,
    /// Server memory per idle connection against the echo.
    Idle,
}

/// The whole comparison, or its `only` part; prints Markdown tables.
pub(crate) async fn run(seconds: u64, clients: usize, idle: usize, only: Option<Part>) -> Result<(), String> {
    let runs = |part: Part| only.is_none_or(|only| only == part);
    let dir = std::env::temp_dir().join(format!("duet-bench-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let echo_addr = free_addr()?;
    let echo = Killed(
        Command::new(&me)
            .args(["echo-server", "--addr", &echo_addr])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let shop_addr = free_addr()?;
    let shop = start_shop(&dir, &shop_addr, "events", None)?;
    let redis = if runs(Part::RoundTrips) {
        match OwnRedis::start().await {
            Ok(redis) => Some(redis),
            Err(error) => {
                println!("(no Redis rows: {error})");
                None
            }
        }
    } else {
        None
    };
    let redis_shop_addr = free_addr()?;
    let redis_shop = match &redis {
        Some(redis) => Some(start_shop(&dir, &redis_shop_addr, "events-redis", Some(&redis.url))?),
        None => None,
    };
    let floor_addr = free_addr()?;
    let floor = match &redis {
        Some(redis) => Some(Killed(
            Command::new(&me)
                .args(["echo-server", "--addr", &floor_addr, "--redis", &redis.url])
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?,
        )),
        None => None,
    };
    wait_for(&echo_addr).await?;
    wait_for(&shop_addr).await?;
    if redis.is_some() {
        wait_for(&redis_shop_addr).await?;
        wait_for(&floor_addr).await?;
    }
    let (echo_url, duet_url) = (format!("ws://{echo_addr}/_event"), format!("ws://{shop_addr}/_event"));
    let redis_url = format!("ws://{redis_shop_addr}/_event");
    let floor_url = format!("ws://{floor_addr}/_event");

    if runs(Part::RoundTrips) {
        println!("Event round trips (send one event, wait for its answer), {seconds} s per row");
        println!();
        println!(
            "| clients | server | events/s | p50 ms | p99 ms | server CPU µs per event | Redis CPU µs per event | load generator CPU µs per event | Redis round trips per event | Redis commands per event (in scripts too) |"
        );
        println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let pid = |process: &Option<Killed>| process.as_ref().map_or(0, |p| p.0.id());
        for n in [1, clients] {
            let bare = round_trips(&echo_url, false, n, seconds, &[echo.0.id()]).await?;
            let duet = round_trips(&duet_url, true, n, seconds, &[shop.0.id()]).await?;
            print_row(n, "bare actix-ws echo", &bare, None);
            print_row(n, "duet `counter.increment`, memory manager", &duet, None);
            print_ratio("duet (memory) / bare", &duet, &bare);
            if let Some(redis) = &redis {
                let watched = [pid(&floor), redis.process.0.id()];
                let floor = round_trips(&floor_url, false, n, seconds, &watched).await?;
                print_row(
                    n,
                    "bare actix-ws echo + two Redis round trips (`HGETALL`, `HSET`)",
                    &floor,
                    Some((2.0, 2.0)),
                );
                print_ratio("(echo + Redis) / echo", &floor, &bare);
                let (on_redis, per_event, commands) =
                    round_trips_on_redis(&redis_url, pid(&redis_shop), redis, n, seconds).await?;
                print_row(
                    n,
                    "duet `counter.increment`, Redis manager",
                    &on_redis,
                    Some((per_event, commands)),
                );
                print_ratio("duet (Redis) / duet (memory)", &on_redis, &duet);
            }
        }
        println!();
    }
    if runs(Part::Idle) {
        let bare_idle = idle_memory(&echo_url, false, echo.0.id(), idle).await?;
        let duet_idle = idle_memory(&duet_url, true, shop.0.id(), idle).await?;
        println!("| idle connections | server | bytes per connection (RSS) |");
        println!("|---:|---|---:|");
        println!("| {idle} | bare actix-ws echo | {bare_idle:.0} |");
        println!("| {idle} | duet (hydrated tab) | {duet_idle:.0} |");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
