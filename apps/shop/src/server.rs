//! The HTTP server: one process, one port, every surface.

use actix_web::{App, HttpResponse, HttpServer, web};
use duet_models::Db;
use serde_json::json;

/// `GET /_health`: 200 when the database answers, 503 with the reason when it does not.
async fn health(db: web::Data<Db>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "db": "ok"})),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "db": error.to_string()}))
        }
    }
}

/// Registers the shop's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_health", web::get().to(health));
}

/// Serves on `addr` until interrupted.
pub async fn serve(db: Db, addr: &str) -> std::io::Result<()> {
    let data = web::Data::new(db);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(tracing_actix_web::TracingLogger::default())
            .app_data(data.clone())
            .configure(configure)
    })
    .bind(addr)?;
    for bound in server.addrs() {
        tracing::info!("listening on http://{bound}");
    }
    server.run().await
}
