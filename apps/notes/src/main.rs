//! `notes`: the app that docs/tutorial.md builds, step by step.

mod api;
mod notes;
mod pages;
mod states;
mod webhooks;

use duet::App;
use duet::state::ModelList;

/// The whole app: its table, its JSON API, its state and pages, and its webhook.
fn app() -> App {
    App::new("notes")
        .migrations(notes::MIGRATIONS)
        .model::<notes::Note>()
        .api("/api", api::routes)
        .state::<ModelList<states::MyNotes>>()
        .ui(pages::ui())
        .with_settings(webhooks::enable)
}

fn main() -> std::process::ExitCode {
    duet::cli::run(app())
}
