//! Metrics: with `DUET_METRICS_ADDR` set, a second listener (never the public port) serves
//! `/metrics` in the Prometheus text format (`metrics` + `metrics-exporter-prometheus`).
//!
//! Counted as they happen: HTTP requests by method, route pattern and status, with a latency
//! histogram ([`record_request`]); events by `state.handler` and outcome, with a latency
//! histogram (duet-state); broadcasts published, delivered and dropped by reason
//! (duet-state); webhook deliveries by provider and outcome (duet-webhooks); each database
//! checkout's wait, a histogram (duet-models). Sampled at each scrape: open sockets, running background work,
//! the database pool, the process's resident memory and open files. Labels are bounded:
//! route patterns, never raw paths; known methods; registered handlers.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, HttpServer, web};
use duet_models::{Db, POOL_WAIT_METRIC, Pool};
use duet_state::{BroadcastDrop, EventService};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::Error;

/// Latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets for the database pool's wait, in seconds: 10 µs to 30 s (a checkout from an idle
/// pool takes microseconds).
const POOL_WAIT_BUCKETS: &[f64] = &[
    0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
];

/// Whether a recorder is installed: requests are only counted then.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The process's one recorder (a second `serve` in the same process reuses it).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

fn handle() -> Result<PrometheusHandle, Error> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let invalid =
        |e: &dyn std::fmt::Display| Error::setting("DUET_METRICS_ADDR", format!("cannot record metrics: {e}"));
    let handle = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .map_err(|e| invalid(&e))?
        .set_buckets_for_metric(Matcher::Full(POOL_WAIT_METRIC.to_owned()), POOL_WAIT_BUCKETS)
        .map_err(|e| invalid(&e))?
        .install_recorder()
        .map_err(|e| invalid(&e))?;
    let handle = HANDLE.get_or_init(|| handle).clone();
    ENABLED.store(true, Ordering::Release);
    BroadcastDrop::register_all();
    Ok(handle)
}

/// Counts one HTTP request (when metrics are on).
pub(crate) fn record_request(method: &str, route: &str, status: u16, duration: Duration) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let method: &'static str = match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    };
    metrics::counter!(
        "duet_http_requests_total",
        "method" => method,
        "route" => route.to_owned(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "duet_http_request_duration_seconds",
        "method" => method,
        "route" => route.to_owned()
    )
    .record(duration.as_secs_f64());
}

/// What a scrape samples besides the counters.
struct Scrape {
    handle: PrometheusHandle,
    events: web::Data<EventService>,
    db: Db,
}

/// Starts the metrics listener on `addr`; stop it with the returned server's handle.
pub(crate) fn listen(addr: &str, events: web::Data<EventService>, db: Db) -> Result<actix_web::dev::Server, Error> {
    let scrape = web::Data::new(Scrape {
        handle: handle()?,
        events,
        db,
    });
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(scrape.clone())
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)
    .map_err(|e| Error::setting("DUET_METRICS_ADDR", format!("cannot listen on {addr}: {e}")))?;
    for bound in server.addrs() {
        tracing::info!("metrics on http://{bound}/metrics");
    }
    Ok(server.run())
}

/// `GET /metrics`.
async fn metrics(scrape: web::Data<Scrape>) -> HttpResponse {
    let sockets = scrape.events.sockets().len();
    metrics::gauge!("duet_websockets_open").set(sockets as f64);
    metrics::gauge!("duet_background_tasks").set(scrape.events.engine().background_running() as f64);
    let state = match scrape.db.pool() {
        Pool::Sqlite(pool) => pool.state(),
        Pool::Postgres(pool) => pool.state(),
    };
    metrics::gauge!("duet_db_pool_connections").set(f64::from(state.connections));
    metrics::gauge!("duet_db_pool_idle_connections").set(f64::from(state.idle_connections));
    metrics::gauge!("duet_db_pool_in_use_connections")
        .set(f64::from(state.connections.saturating_sub(state.idle_connections)));
    metrics::counter!("duet_db_pool_waits_total").absolute(state.statistics.get_waited);
    metrics::counter!("duet_db_pool_timeouts_total").absolute(state.statistics.get_timed_out);
    if let Some(bytes) = resident_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(bytes as f64);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(fds.count() as f64);
    }
    scrape.handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(scrape.handle.render())
}

/// `VmRSS` of `/proc/self/status`, in bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
