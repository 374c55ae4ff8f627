//! `duet-bench soak`: two `shop` instances on one PostgreSQL database and one Redis of the
//! soak's own, under WebSocket clients and API load, while an instance is killed (and
//! restarted), Redis is restarted and PostgreSQL terminates the database's connections.
//! Checked, not just measured: every acknowledged event applied exactly once, no 500, no
//! request waiting past the configured timeouts, memory bounded. Exits non-zero otherwise.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::servers::{Killed, free_addr, log_in, sibling, wait_for};

/// How long a request may wait on Redis before it is answered anyway (`REDIS_TIMEOUT_MS`).
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a request may wait for a database connection (`DATABASE_TIMEOUT_SECS`).
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest any answered request may take: both waits, and a second for the work.
const LONGEST: Duration = Duration::from_secs(4);
/// The most memory an instance may hold.
const RSS_LIMIT_MIB: f64 = 300.0;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the clients saw.
#[derive(Default)]
struct Stats {
    acked: AtomicU64,
    unavailable: AtomicU64,
    reconnects: AtomicU64,
    requests: AtomicU64,
    ok: AtomicU64,
    status_503: AtomicU64,
    status_500: AtomicU64,
    other_status: AtomicU64,
    refused: AtomicU64,
    cut: AtomicU64,
    latencies_ms: Mutex<Vec<f64>>,
    violations: Mutex<Vec<String>>,
}

impl Stats {
    fn violation(&self, what: String) {
        let mut violations = self
            .violations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if violations.len() < 20 {
            violations.push(what);
        }
    }
}

/// A `shop serve` on a fixed address, which can be killed and started again there.
struct Instance {
    addr: String,
    env: Vec<(&'static str, String)>,
    dir: std::path::PathBuf,
    process: Option<Killed>,
}

impl Instance {
    async fn start(&mut self) -> Result<(), String> {
        let log_path = self.dir.join(format!("shop-{}.log", self.addr.replace(':', "-")));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(sibling("shop")?);
        cmd.args(["serve", "--addr", &self.addr])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(log);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        self.process = Some(Killed(cmd.spawn().map_err(|e| e.to_string())?));
        wait_for(&self.addr).await.map_err(|error| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            format!("{error}; shop said: {}", log.trim())
        })
    }

    /// `kill -9`: mid-event, holding whatever locks it holds.
    fn kill(&mut self) {
        self.process = None;
    }

    fn rss_mib(&self) -> Option<f64> {
        let pid = self.process.as_ref()?.0.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }
}

/// A redis-server of the soak's own, keeping every write on disk so that a restart loses
/// nothing (a restart that loses tabs would make exactly-once uncheckable).
struct Redis {
    addr: String,
    dir: std::path::PathBuf,
    process: Option<Killed>,
}

impl Redis {
    async fn start(&mut self) -> Result<(), String> {
        let port = self.addr.rsplit(':').next().unwrap_or_default().to_owned();
        let process = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        self.process = Some(Killed(process));
        wait_for(&self.addr).await
    }
}

/// The soak; prints its figures and fails on any violation.
pub(crate) async fn run(seconds: u64, postgres: &str, clients: usize, api_clients: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("duet-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let database = format!("duet_soak_{}", std::process::id());
    let mut admin = AsyncPgConnection::establish(postgres)
        .await
        .map_err(|e| e.to_string())?;
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .await
        .map_err(|e| e.to_string())?;
    let result = soak(&dir, postgres, &database, seconds, clients, api_clients).await;
    // The database is the soak's own: nobody else's connections are touched.
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .await;
    match &result {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        // The instances' logs stay for a look.
        Err(_) => println!("The instances' logs are in {}", dir.display()),
    }
    result
}

async fn soak(
    dir: &std::path::Path,
    postgres: &str,
    database: &str,
    seconds: u64,
    clients: usize,
    api_clients: usize,
) -> Result<(), String> {
    let mut url = url::Url::parse(postgres).map_err(|e| e.to_string())?;
    url.set_path(database);
    let database_url = url.to_string();
    let mut redis = Redis {
        addr: free_addr()?,
        dir: dir.join("redis"),
        process: None,
    };
    std::fs::create_dir_all(&redis.dir).map_err(|e| e.to_string())?;
    redis.start().await?;
    let env = vec![
        ("DATABASE_URL", database_url.clone()),
        ("DATABASE_TIMEOUT_SECS", DATABASE_TIMEOUT.as_secs().to_string()),
        ("REDIS_URL", format!("redis://{}", redis.addr)),
        ("REDIS_KEY_PREFIX", "soak".to_owned()),
        ("REDIS_LOCK_TTL_MS", "2000".to_owned()),
        ("REDIS_TIMEOUT_MS", REDIS_TIMEOUT.as_millis().to_string()),
        ("DUET_ENV", "production".to_owned()),
        ("DUET_ALLOWED_HOSTS", "127.0.0.1".to_owned()),
        ("DUET_NEW_TABS_PER_ADDRESS", "off".to_owned()),
        ("DUET_SECRET_KEY", "s".repeat(64)),
        ("RUST_LOG", "error".to_owned()),
    ];
    let migrate = Command::new(sibling("shop")?)
        .arg("migrate")
        .current_dir(dir)
        .env("DATABASE_URL", &database_url)
        .output()
        .map_err(|e| e.to_string())?;
    if !migrate.status.success() {
        return Err(format!("shop migrate: {}", String::from_utf8_lossy(&migrate.stderr)));
    }
    let db = duet_models::Db::connect_url(&database_url)
        .await
        .map_err(|e| e.to_string())?;
    let (token, orders) = fixtures(&db).await?;
    let mut instances = [free_addr()?, free_addr()?].map(|addr| Instance {
        addr,
        env: env.clone(),
        dir: dir.to_owned(),
        process: None,
    });
    for instance in &mut instances {
        instance.start().await?;
    }
    let addrs: Arc<[String; 2]> = Arc::new([instances[0].addr.clone(), instances[1].addr.clone()]);
    let cookie = log_in(&format!("http://{}", addrs[0]), "soak", "soak").await?;

    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for n in 0..clients {
        tasks.push(tokio::spawn(ws_client(
            n,
            Arc::clone(&addrs),
            Arc::clone(&stop),
            Arc::clone(&stats),
        )));
    }
    let mut api = Vec::new();
    for n in 0..api_clients {
        api.push(tokio::spawn(api_client(
            n,
            Arc::clone(&addrs),
            ApiAuth {
                token: token.clone(),
                cookie: cookie.clone(),
                orders: orders.clone(),
            },
            Arc::clone(&stop),
            Arc::clone(&stats),
        )));
    }

    // The chaos, at fixed fractions of the run.
    let started = Instant::now();
    let at = |fraction: f64| started + Duration::from_secs_f64(seconds as f64 * fraction);
    let mut peak_rss: f64 = 0.0;
    let mut faults = Vec::new();
    let schedule: [(f64, &str); 7] = [
        (0.15, "kill -9 instance A"),
        (0.25, "start instance A again"),
        (0.40, "restart Redis"),
        (0.55, "terminate the database's PostgreSQL connections"),
        (0.65, "kill -9 instance B"),
        (0.75, "start instance B again"),
        (0.85, "terminate the database's PostgreSQL connections"),
    ];
    for (fraction, fault) in schedule {
        while Instant::now() < at(fraction) {
            peak_rss = peak_rss.max(rss(&instances));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match fault {
            "kill -9 instance A" => instances[0].kill(),
            "start instance A again" => instances[0].start().await?,
            "kill -9 instance B" => instances[1].kill(),
            "start instance B again" => instances[1].start().await?,
            "restart Redis" => {
                redis.process = None;
                redis.start().await?;
            }
            _ => faults.push(terminate(postgres, database).await?),
        }
    }
    while Instant::now() < at(1.0) {
        peak_rss = peak_rss.max(rss(&instances));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in api {
        task.await.map_err(|e| e.to_string())?;
    }
    let mut tabs = Vec::new();
    for task in tasks {
        tabs.push(task.await.map_err(|e| e.to_string())?);
    }
    // Exactly once: each tab, read back, holds exactly its acknowledged events.
    for (n, tab) in tabs.iter().enumerate() {
        tab.verify(n, &addrs, &stats).await;
    }
    report(&stats, seconds, clients, api_clients, peak_rss, &faults)
}

/// The shop's user `soak` with an API token and ten orders.
async fn fixtures(db: &duet_models::Db) -> Result<(String, Vec<i64>), String> {
    let user = duet_models::User::create(
        db,
        duet_models::NewUser {
            username: "soak".into(),
            password: "soak".into(),
            ..duet_models::NewUser::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let token = duet_models::ApiToken::issue(db, user.id)
        .await
        .map_err(|e| e.to_string())?;
    let mut orders = Vec::new();
    for n in 0..10 {
        let order = shop::orders::NewOrder {
            customer: user.id.into(),
            total: duet_models::Money::cents(100 + n),
            currency: "EUR".into(),
            status: shop::orders::OrderStatus::Pending,
            placed_at: duet_models::now(),
            client_reference: format!("soak-{n}"),
        };
        orders.push(
            <shop::orders::Order as duet_models::Model>::create(db, order)
                .await
                .map_err(|e| e.to_string())?
                .id,
        );
    }
    Ok((token, orders))
}

/// `pg_terminate_backend` on every connection to the soak's database; how many.
async fn terminate(postgres: &str, database: &str) -> Result<String, String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Terminated {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut admin = AsyncPgConnection::establish(postgres)
        .await
        .map_err(|e| e.to_string())?;
    let done: Terminated = diesel::sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<diesel::sql_types::Text, _>(database)
    .get_result(&mut admin)
    .await
    .map_err(|e| e.to_string())?;
    Ok(format!("{} connections terminated", done.n))
}

fn rss(instances: &[Instance; 2]) -> f64 {
    instances.iter().filter_map(Instance::rss_mib).fold(0.0, f64::max)
}

/// One tab's client: increments, one at a time, resending what it has no reply for after
/// every reconnect, to either instance. What it knows at the end.
struct Tab {
    token: Option<String>,
    /// Acknowledged increments, each checked to have been applied once.
    applied: i64,
    /// The last acknowledged seq.
    acked: u64,
    /// A seq sent without a reply yet (applied or not).
    pending: Option<u64>,
}

async fn connect(addr: &str) -> Option<Socket> {
    let url = format!("ws://{addr}/_event");
    let connecting = tokio_tungstenite::connect_async(url);
    match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok((socket, _))) => Some(socket),
        _ => None,
    }
}

async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(LONGEST + REDIS_TIMEOUT * 4, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            _ => return None,
        }
    }
}

impl Tab {
    /// `hello` for this tab on `socket`; the hydrate frame, or `None` to reconnect.
    async fn hello(&mut self, socket: &mut Socket, stats: &Stats) -> Option<Value> {
        let hello =
            json!({"type": "hello", "protocol": 1, "tab": self.token, "route": {"path": "/"}, "acked": self.acked});
        socket.send(Message::text(hello.to_string())).await.ok()?;
        let frame = next_frame(socket).await?;
        if frame["type"] != "hydrate" {
            if frame["code"] == "unavailable" {
                stats.unavailable.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.violation(format!("hello answered {frame}"));
            }
            return None;
        }
        let token = frame["tab"].as_str().map(str::to_owned);
        if self.token.is_some() && token != self.token {
            stats.violation(format!("tab {:?} lost: hello gave {token:?}", self.token));
        }
        self.token = token;
        Some(frame)
    }

    /// Checks a hydrate against what was acknowledged.
    fn check(&self, hydrate: &Value, stats: &Stats) {
        let count = hydrate["states"]["counter"]["count"].as_i64().unwrap_or(-1);
        let seq = hydrate["seq"].as_u64().unwrap_or(0);
        let expected = match self.pending {
            Some(pending) if seq == pending => self.applied + 1,
            _ => self.applied,
        };
        if count != expected || (seq != self.acked && Some(seq) != self.pending) {
            stats.violation(format!(
                "tab {:?}: count {count} at seq {seq}, but {} acknowledged up to seq {} (pending {:?})",
                self.token, self.applied, self.acked, self.pending
            ));
        }
    }

    /// Reads the tab back at the end.
    async fn verify(&self, n: usize, addrs: &[String; 2], stats: &Stats) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut attempt = n;
        while Instant::now() < deadline {
            attempt += 1;
            let Some(mut socket) = connect(&addrs[attempt % 2]).await else {
                continue;
            };
            let hello = json!({"type": "hello", "protocol": 1, "tab": self.token, "route": {"path": "/"}});
            if socket.send(Message::text(hello.to_string())).await.is_err() {
                continue;
            }
            if let Some(frame) = next_frame(&mut socket).await
                && frame["type"] == "hydrate"
            {
                return self.check(&frame, stats);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        stats.violation(format!("tab {:?} could not be read back", self.token));
    }
}

async fn ws_client(n: usize, addrs: Arc<[String; 2]>, stop: Arc<AtomicBool>, stats: Arc<Stats>) -> Tab {
    let mut tab = Tab {
        token: None,
        applied: 0,
        acked: 0,
        pending: None,
    };
    let mut attempt = n;
    'connection: while !stop.load(Ordering::Relaxed) {
        attempt += 1;
        let Some(mut socket) = connect(&addrs[attempt % 2]).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        stats.reconnects.fetch_add(1, Ordering::Relaxed);
        let Some(hydrate) = tab.hello(&mut socket, &stats).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if tab.acked > 0 || tab.pending.is_some() {
            tab.check(&hydrate, &stats);
        }
        while !stop.load(Ordering::Relaxed) {
            let seq = *tab.pending.get_or_insert(tab.acked + 1);
            let event =
                json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment", "acked": tab.acked});
            if socket.send(Message::text(event.to_string())).await.is_err() {
                continue 'connection;
            }
            let reply = loop {
                let Some(frame) = next_frame(&mut socket).await else {
                    continue 'connection;
                };
                if frame["seq"].as_u64() == Some(seq) {
                    break frame;
                }
            };
            match reply["type"].as_str() {
                Some("delta") => {
                    let count = reply["changes"]["counter"]["count"]["value"].as_i64().unwrap_or(-1);
                    if count != tab.applied + 1 {
                        stats.violation(format!(
                            "tab {:?} seq {seq}: count {count} after {} acknowledged increments ({})",
                            tab.token,
                            tab.applied,
                            if count > tab.applied + 1 {
                                "applied twice"
                            } else {
                                "lost"
                            }
                        ));
                    }
                    tab.applied += 1;
                    tab.acked = seq;
                    tab.pending = None;
                    stats.acked.fetch_add(1, Ordering::Relaxed);
                }
                _ if reply["code"] == "unavailable" => {
                    // Nothing of it was stored: send the same seq again.
                    stats.unavailable.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ if reply["code"] == "not_hydrated" => continue 'connection,
                _ => {
                    stats.violation(format!("event answered {reply}"));
                    continue 'connection;
                }
            }
        }
    }
    tab
}

/// What the API clients authenticate with.
struct ApiAuth {
    token: String,
    cookie: String,
    orders: Vec<i64>,
}

/// Token reads and writes and session reads, round robin over the instances.
async fn api_client(n: usize, addrs: Arc<[String; 2]>, auth: ApiAuth, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let mut i = n;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let addr = &addrs[i % 2];
        let request = match i % 4 {
            0 => client
                .patch(format!(
                    "http://{addr}/api/v1/orders/{}/",
                    auth.orders[i % auth.orders.len()]
                ))
                .header("Authorization", format!("Token {}", auth.token))
                .json(&json!({"status": if i.is_multiple_of(8) { "paid" } else { "pending" }})),
            1 => client
                .get(format!("http://{addr}/accounts/me/"))
                .header("Cookie", &auth.cookie),
            _ => client
                .get(format!("http://{addr}/api/orders/"))
                .header("Authorization", format!("Token {}", auth.token)),
        };
        let started = Instant::now();
        let sent = request.send().await;
        let took = started.elapsed();
        match sent {
            Ok(response) => {
                stats.requests.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut latencies) = stats.latencies_ms.lock() {
                    latencies.push(took.as_secs_f64() * 1000.0);
                }
                if took > LONGEST {
                    stats.violation(format!("{} took {took:?}", response.url()));
                }
                let status = response.status().as_u16();
                let counter = match status {
                    200..=299 => &stats.ok,
                    503 => &stats.status_503,
                    500 => &stats.status_500,
                    _ => &stats.other_status,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if !matches!(status, 200..=299 | 503) {
                    let url = response.url().to_string();
                    let body = response.text().await.unwrap_or_default();
                    stats.violation(format!("{url} answered {status}: {body}"));
                }
            }
            // The instance is down: the load balancer's job; try the other.
            Err(error) if error.is_connect() => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Cut mid-request by a kill -9.
            Err(_) => {
                stats.cut.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn report(
    stats: &Stats,
    seconds: u64,
    clients: usize,
    api_clients: usize,
    peak_rss: f64,
    faults: &[String],
) -> Result<(), String> {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut latencies = stats.latencies_ms.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let mut violations = stats.violations.lock().map(|v| v.clone()).unwrap_or_default();
    if peak_rss > RSS_LIMIT_MIB {
        violations.push(format!("an instance held {peak_rss:.0} MiB"));
    }
    if load(&stats.acked) == 0 || load(&stats.ok) == 0 {
        violations.push("nothing was served".into());
    }
    println!("\n### Soak: {seconds} s, {clients} WebSocket tabs, {api_clients} API clients, two instances\n");
    println!(
        "Faults: kill -9 of each instance (restarted), a Redis restart, PostgreSQL connections terminated twice ({}).\n",
        faults.join(", ")
    );
    println!("| | |");
    println!("|---|---:|");
    println!(
        "| events acknowledged (each checked applied once) | {} |",
        load(&stats.acked)
    );
    println!(
        "| events answered `unavailable` (resent) | {} |",
        load(&stats.unavailable)
    );
    println!("| socket connections made | {} |", load(&stats.reconnects));
    println!("| HTTP requests answered | {} |", load(&stats.requests));
    println!(
        "| … 2xx / 503 / 500 / other | {} / {} / {} / {} |",
        load(&stats.ok),
        load(&stats.status_503),
        load(&stats.status_500),
        load(&stats.other_status)
    );
    println!(
        "| … refused (instance down) / cut by a kill | {} / {} |",
        load(&stats.refused),
        load(&stats.cut)
    );
    println!(
        "| HTTP p50 / p99 / max ms | {:.1} / {:.1} / {:.1} |",
        percentile(0.5),
        percentile(0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    println!("| peak RSS of an instance | {peak_rss:.0} MiB |");
    println!("| violations | {} |", violations.len());
    if violations.is_empty() {
        println!(
            "\nNo acknowledged event lost or applied twice, no 500, no request over {LONGEST:?}, RSS under {RSS_LIMIT_MIB} MiB."
        );
        Ok(())
    } else {
        for violation in &violations {
            println!("- {violation}");
        }
        Err(format!("{} violation(s)", violations.len()))
    }
}
