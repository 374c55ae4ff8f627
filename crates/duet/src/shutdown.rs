//! Clean shutdown on SIGTERM or SIGINT, within `DUET_SHUTDOWN_TIMEOUT_SECS`: stop accepting
//! connections, tell every event socket to reconnect at once (elsewhere: a `bye` with
//! close code 1012, "service restart"), let background work, queued email and in-flight
//! HTTP requests finish, let go of the tab leases the state manager keeps, then stop.

use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::web;
use duet_state::EventService;

/// The close code of the sockets at shutdown: 1012, "service restart". The runtime
/// reconnects at once (to another instance behind a load balancer) and gets its tab back.
pub const RESTARTING: u16 = 1012;

/// Waits for SIGTERM or SIGINT; returns its name.
async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server cleanly");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// On the first signal: pauses accepting, closes the sockets with [`RESTARTING`], waits for
/// background work, then stops the server gracefully (in-flight requests finish) — all
/// within `timeout`, after which what is left is stopped.
pub(crate) async fn on_signal(
    server: ServerHandle,
    metrics: Option<ServerHandle>,
    events: web::Data<EventService>,
    mailer: duet_mail::Mailer,
    timeout: Duration,
) {
    let which = signal().await;
    let started = Instant::now();
    server.pause().await;
    let sockets = events.sockets().close_all(RESTARTING, "restarting");
    let background = events.engine().background_running();
    tracing::info!(
        signal = which,
        sockets,
        background,
        timeout_secs = timeout.as_secs_f64(),
        "shutting down: no new connections, sockets told to reconnect"
    );
    let deadline = started + timeout;
    if tokio::time::timeout_at(deadline.into(), events.engine().background_idle())
        .await
        .is_err()
    {
        tracing::warn!(
            running = events.engine().background_running(),
            "shutdown: background work still running at the deadline is stopped"
        );
    }
    if tokio::time::timeout_at(deadline.into(), mailer.idle()).await.is_err() {
        tracing::warn!(
            unsent = mailer.pending(),
            "shutdown: emails still queued at the deadline are not sent"
        );
    }
    // Tabs whose lock the state manager kept between events (Redis): let go now, so the
    // instances the sockets reconnect to need not wait for them.
    let _ = tokio::time::timeout_at(deadline.into(), events.engine().let_go_all()).await;
    if let Some(metrics) = metrics {
        metrics.stop(false).await;
    }
    match tokio::time::timeout_at(deadline.into(), server.stop(true)).await {
        Ok(()) => tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "shut down cleanly"),
        Err(_) => {
            tracing::warn!("shutdown: requests still running at the deadline are cut off");
            server.stop(false).await;
        }
    }
}
