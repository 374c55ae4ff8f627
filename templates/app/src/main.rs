//! {{project-name}}: a duet app. `cargo run` serves it on http://127.0.0.1:8000;
//! `cargo run -- --help` lists the commands and every setting.

use duet::prelude::*;
use duet::ui::{button, column, event, heading, text, var};
use serde::{Deserialize, Serialize};

/// A counter kept on the server: each click is an event, each change a delta to the page.
#[derive(Debug, Default, Serialize, Deserialize, State)]
struct Counter {
    count: i64,
}

#[events]
impl Counter {
    async fn increment(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.count += 1;
        Ok(())
    }
}

/// JSON for scripts and mobile apps; described here once for the OpenAPI document
/// (`/api/schema/`, `/api/docs/`).
#[utoipa::path(get, path = "/hello/", security(()), responses((status = 200, description = "A greeting.")))]
async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(duet::serde_json::json!({ "hello": "{{project-name}}" }))
}

fn app() -> App {
    let home = Page::new("/").title("{{project-name}}").body(column([
        heading(1, "{{project-name}}"),
        text(var::<Counter>("count")).id("count"),
        button("+1")
            .id("increment")
            .on_click(event::<Counter>("increment")),
    ]));
    App::new("{{crate_name}}")
        .api("/api", |api| {
            route!(api, hello); // GET /api/hello/
        })
        .state::<Counter>()
        .ui(Ui::new("{{project-name}}").page(home))
}

fn main() -> std::process::ExitCode {
    duet::cli::run(app())
}
