//! The start-up check: an app whose routes stray outside its prefixes refuses to start.

use actix_web::HttpResponse;
use duet_auth::{SessionBackend, SessionConfig};
use duet_mount::{Assets, Duet, MountError, Services, SpaShell};

async fn ok() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[test]
fn a_route_outside_every_prefix_is_named() {
    let app = Duet::new("t").backend_prefixes(["/api"]).http(|routes| {
        routes.get("/api/orders/", ok);
        routes.post("/reports/export/", ok);
    });
    let error = app.check().unwrap_err();
    assert!(matches!(error, MountError::RouteOutsidePrefixes { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "route POST /reports/export/ is not under any backend prefix (declared: /accounts, /api); \
         add its prefix to backend_prefixes or move the route"
    );
}

#[test]
fn routes_under_prefixes_pass_and_are_listed() {
    let app = Duet::new("t")
        .backend_prefixes(["/api", "/webhooks"])
        .csrf_exempt("/webhooks")
        .http(|routes| {
            routes.get("/api/orders/", ok);
            routes.post("/webhooks/stripe/", ok);
        });
    let mounted = app.check().expect("valid");
    let listed: Vec<(String, String)> = mounted
        .routes
        .iter()
        .map(|(r, p)| (r.path.clone(), p.clone()))
        .collect();
    assert!(listed.contains(&("/api/orders/".into(), "/api".into())));
    assert!(listed.contains(&("/webhooks/stripe/".into(), "/webhooks".into())));
    assert!(
        listed.contains(&("/accounts/login/".into(), "/accounts".into())),
        "the framework's routes are checked too"
    );
    let text = mounted.to_string();
    assert!(
        text.contains("/api/orders/") && text.contains("GET, HEAD") && text.contains("/_event"),
        "{text}"
    );
}

#[test]
fn other_misconfigurations_are_refused() {
    let duplicate = Duet::new("t").backend_prefixes(["/api"]).http(|routes| {
        routes.get("/api/x/", ok);
        routes.get("/api/x/", ok);
    });
    assert!(matches!(duplicate.check(), Err(MountError::DuplicateRoute { .. })));

    let exempt = Duet::new("t").backend_prefixes(["/api"]).csrf_exempt("/webhooks");
    assert!(matches!(exempt.check(), Err(MountError::UnknownExemptPrefix(p)) if p == "/webhooks"));

    let missing_asset = Duet::new("t").shell(SpaShell::new("t").stylesheet("app.css"));
    assert!(matches!(missing_asset.check(), Err(MountError::MissingAsset(a)) if a == "app.css"));
    let present = Duet::new("t")
        .assets(Assets::new().hashed("app.css", "body{}"))
        .shell(SpaShell::new("t").stylesheet("app.css"));
    assert!(present.check().is_ok());

    let overlapping = Duet::new("t").backend_prefixes(["/api", "/api/v1"]);
    assert!(matches!(
        overlapping.check(),
        Err(MountError::OverlappingPrefixes { .. })
    ));
}

#[actix_web::test]
async fn serve_refuses_to_start_before_binding() {
    let db = duet_models::Db::connect_url("sqlite://:memory:").await.unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let app = Duet::new("t").backend_prefixes(["/api"]).http(|routes| {
        routes.get("/orders/", ok);
    });
    let services = Services {
        db,
        sessions: SessionConfig::new(&[1; 64]),
        session_backend: SessionBackend::cookie(),
        allowed_hosts: duet_auth::AllowedHosts::loopback(),
        state_manager: std::sync::Arc::new(duet_state::MemoryStateManager::new(std::time::Duration::from_secs(60))),
        broadcaster: duet_state::Broadcaster::new(),
    };
    let error = app.serve(services, &addr).await.unwrap_err();
    assert!(
        matches!(error, MountError::RouteOutsidePrefixes { ref route, .. } if route == "/orders/"),
        "{error:?}"
    );
    assert!(std::net::TcpListener::bind(&addr).is_ok(), "nothing was bound");
}
