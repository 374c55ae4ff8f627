//! The start-up check: routes live inside their prefix, every problem is listed at once, and
//! what was checked is what serves.

use duet::actix_web::HttpResponse;
use duet::mount::{Assets, SpaShell};
use duet::state::{EventCtx, EventResult, State, events};
use duet::ui::{Page, Ui, text, var};
use duet::views::{route, utoipa};
use duet::{App, Error};
use serde::{Deserialize, Serialize};

async fn ok() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Lists orders.
#[utoipa::path(get, path = "/orders/", responses((status = 200, description = "The orders.")))]
async fn orders() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Takes Stripe's events.
#[utoipa::path(post, path = "/stripe/", security(()), responses((status = 200, description = "Taken.")))]
async fn stripe() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Answers.
#[utoipa::path(get, path = "/ping/", responses((status = 200, description = "Pong.")))]
async fn ping() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[derive(Debug, Default, Serialize, Deserialize, State)]
struct CounterState {
    count: i64,
}

#[events]
impl CounterState {
    async fn increment(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.count += 1;
        Ok(())
    }
}

fn problems(app: App) -> Vec<String> {
    match app.check() {
        Err(Error::Check(problems)) => problems,
        other => panic!("expected the check to fail, got {other:?}"),
    }
}

#[test]
fn routes_are_declared_inside_their_prefix_and_listed_with_it() {
    let app = App::new("t")
        .api("/api", |api| {
            route!(api, orders);
        })
        .webhooks("/webhooks/", |hooks| {
            route!(hooks, stripe);
        });
    let checked = app.check().expect("valid");
    let paths = checked.openapi()["paths"].as_object().expect("paths");
    for documented in ["/api/orders/", "/webhooks/stripe/", "/accounts/login/", "/api/schema/"] {
        assert!(paths.contains_key(documented), "{documented} in the OpenAPI document");
    }
    let listed: Vec<(&str, &str)> = checked
        .routes()
        .iter()
        .map(|(route, prefix)| (route.path.as_str(), prefix.as_str()))
        .collect();
    assert!(listed.contains(&("/api/orders/", "/api")), "{listed:?}");
    assert!(listed.contains(&("/webhooks/stripe/", "/webhooks")), "{listed:?}");
    assert!(
        listed.contains(&("/accounts/login/", "/accounts")),
        "the framework's own routes are listed too: {listed:?}"
    );
    let text = checked.to_string();
    assert!(
        text.contains("/api/orders/") && text.contains("GET, HEAD") && text.contains("/_event"),
        "{text}"
    );
}

#[test]
fn every_problem_is_listed_at_once() {
    let typo = Page::new("/").body(text(var::<CounterState>("cuont")));
    let app = App::new("t")
        .api("/api", |api| {
            api.get("/x/", ok);
            api.get("/x/", ok);
            api.post("orders/", ok);
        })
        .api("/api/v1", |_| {})
        .state::<CounterState>()
        .ui(Ui::new("t").page(typo))
        .shell(SpaShell::new("t").stylesheet("app.css"));
    let problems = problems(app);
    let expected = [
        "backend prefixes `/api` and `/api/v1` overlap",
        "route GET /api/x/ is registered more than once",
        "route \"orders/\" under /api does not start with `/`; write it as \"/orders/\"",
        "route GET /api/x/ is missing from the OpenAPI schema: describe its handler with #[utoipa::path]",
        "ui: page /: component",
    ];
    for fragment in expected {
        assert!(
            problems.iter().any(|p| p.contains(fragment)),
            "{fragment:?} not in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn a_route_missing_from_the_openapi_document_fails_the_check() {
    let webhook = App::new("t").webhooks("/webhooks", |hooks| {
        hooks.post("/github/", ok);
    });
    assert_eq!(
        problems(webhook),
        [
            "route POST /webhooks/github/ is missing from the OpenAPI schema: describe its handler with \
          #[utoipa::path] and register it with `route!` (docs/http-api.md)"
        ]
    );
}

#[test]
fn a_missing_shell_asset_is_named() {
    let missing = App::new("t").shell(SpaShell::new("t").stylesheet("app.css"));
    assert_eq!(
        problems(missing),
        ["the SPA shell refers to asset `app.css`, which is not registered"]
    );
    let present = App::new("t")
        .assets(Assets::new().hashed("app.css", "body{}"))
        .shell(SpaShell::new("t").stylesheet("app.css"));
    assert!(present.check().is_ok());
}

#[test]
fn a_prefix_is_declared_once() {
    let twice = App::new("t").api("/api", |_| {}).webhooks("/api/", |_| {});
    let problems = problems(twice);
    assert!(
        problems[0].contains("`/api/` is declared more than once"),
        "{problems:?}"
    );
    let framework = App::new("t").api("/accounts", |_| {});
    assert!(problems_of(framework).contains("collides with `/accounts`"));
}

fn problems_of(app: App) -> String {
    problems(app).join("\n")
}

#[derive(Debug, duet::clap::Args)]
struct Extra {
    #[arg(long, env = "DUET_TEST_CHECK_EXTRA_PREFIX")]
    extra_prefix: Option<String>,
}

/// The variable this test sets, in a child run of itself (a test must not change its own
/// process's environment).
const EXTRA: &str = "DUET_TEST_CHECK_EXTRA_PREFIX";

#[test]
fn the_apps_own_settings_are_read_from_the_environment_outside_the_cli() {
    let app = App::new("t").with_settings(|app, extra: &Extra| {
        Ok(match &extra.extra_prefix {
            Some(prefix) => app.api(prefix, |api| {
                route!(api, ping);
            }),
            None => app,
        })
    });
    let listing = app.check().expect("valid").to_string();
    if let Ok(prefix) = std::env::var(EXTRA) {
        assert!(listing.contains(&format!("{prefix}/ping/")), "{listing}");
        return;
    }
    assert!(!listing.contains("/ping/"), "{listing}");
    let status = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "the_apps_own_settings_are_read_from_the_environment_outside_the_cli",
        ])
        .env(EXTRA, "/extra")
        .status()
        .expect("run this test again with the variable set");
    assert!(status.success(), "with {EXTRA}=/extra the route is not listed");
}
