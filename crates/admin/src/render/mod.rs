//! The admin's HTML, written with maud's `html!` (checked by the compiler, escaped by
//! default): the page layout, and the pieces the views share.

mod values;
pub(crate) mod widgets;

use std::sync::LazyLock;

use duet_mount::Assets;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::context::Staff;
use crate::registry::Entry;
use crate::site::Site;

pub(crate) use values::{display, display_diff};

/// The admin's stylesheet and script: files under `/admin/_static/`, named by their content
/// (cached for good, compressed once), never inline, so pages keep the default
/// Content-Security-Policy (no `unsafe-inline`).
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    Assets::with_base(&format!("{}/_static", crate::PREFIX))
        .hashed("admin.css", include_str!("../../static/admin.css"))
        .hashed("admin.js", include_str!("../../static/admin.js"))
});

fn asset(name: &str) -> &'static str {
    ASSETS.url(name).expect("registered above")
}

/// What a page is about, for its title, breadcrumbs and the navigation's current item.
pub(crate) struct Frame<'a> {
    pub(crate) title: String,
    pub(crate) crumbs: Vec<(String, String)>,
    pub(crate) current: Option<&'a Entry>,
    pub(crate) flash: Option<String>,
}

impl<'a> Frame<'a> {
    pub(crate) fn new(title: impl Into<String>) -> Frame<'a> {
        Frame {
            title: title.into(),
            crumbs: Vec::new(),
            current: None,
            flash: None,
        }
    }

    pub(crate) fn crumb(mut self, label: impl Into<String>, href: impl Into<String>) -> Frame<'a> {
        self.crumbs.push((label.into(), href.into()));
        self
    }

    pub(crate) fn model(mut self, entry: &'a Entry) -> Frame<'a> {
        self.current = Some(entry);
        self.crumbs.push((entry.title(), entry.url()));
        self
    }

    pub(crate) fn flash(mut self, message: Option<String>) -> Frame<'a> {
        self.flash = message;
        self
    }
}

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · Admin" }
                link rel="stylesheet" href=(asset("admin.css"));
                script type="module" src=(asset("admin.js")) {}
            }
            body { (PreEscaped(body.into_string())) }
        }
    }
}

/// A page of the admin for a staff member: the top bar, the models they may see grouped by
/// app, breadcrumbs, the message left for them, and `content`.
pub(crate) fn layout(site: &Site, staff: &Staff, frame: Frame<'_>, content: Markup) -> Markup {
    let Frame {
        title,
        crumbs,
        current,
        flash,
    } = frame;
    let body = html! {
        a.skip href="#main" { "Skip to content" }
        header.top {
            a.brand href=(crate::INDEX_PATH) { "Admin" }
            nav aria-label="Account" {
                a href=(format!("{}history/", crate::INDEX_PATH)) { "History" }
                span { (staff.user.username) }
                form method="post" action=(crate::LOGOUT_PATH) {
                    input type="hidden" name="csrfmiddlewaretoken" value=(staff.csrf);
                    button type="submit" { "Log out" }
                }
            }
        }
        div.layout {
            aside.side aria-label="Models" {
                @for (app, entries) in grouped(site, staff) {
                    h2 { (app) }
                    ul {
                        @for entry in entries {
                            li {
                                a href=(entry.url()) aria-current=[current.filter(|c| c.key == entry.key).map(|_| "page")] {
                                    (entry.title())
                                }
                            }
                        }
                    }
                }
            }
            main #main tabindex="-1" {
                nav.crumbs aria-label="Breadcrumbs" {
                    a href=(crate::INDEX_PATH) { "Home" }
                    @for (label, href) in &crumbs { " / " a href=(href) { (label) } }
                }
                h1 { (title) }
                @if let Some(message) = &flash {
                    div.notice.ok role="status" { (message) }
                }
                (PreEscaped(content.into_string()))
            }
        }
    };
    document(&title, body)
}

/// The models `staff` may see, grouped by app in registration order.
pub(crate) fn grouped<'s>(site: &'s Site, staff: &Staff) -> Vec<(&'s str, Vec<&'s Entry>)> {
    let mut groups: Vec<(&str, Vec<&Entry>)> = Vec::new();
    for entry in site.entries.iter().filter(|e| staff.permissions.any(&e.key)) {
        match groups.iter_mut().find(|(app, _)| *app == entry.app) {
            Some((_, entries)) => entries.push(entry),
            None => groups.push((&entry.app, vec![entry])),
        }
    }
    groups
}

/// A page outside the layout: the login form, errors.
pub(crate) fn bare(title: &str, content: Markup) -> Markup {
    document(title, html! { main #main { (PreEscaped(content.into_string())) } })
}

/// The page of an error: its status, what happened, and a way back.
pub(crate) fn error_page(status: u16, title: &str, message: &str) -> Markup {
    bare(
        title,
        html! {
            div.panel.login role="alert" {
                p.count { (status) }
                h1 { (title) }
                p { (message) }
                p { a href=(crate::INDEX_PATH) { "Back to the admin" } }
            }
        },
    )
}

/// A hidden CSRF field for a form.
pub(crate) fn csrf(staff: &Staff) -> Markup {
    html! { input type="hidden" name="csrfmiddlewaretoken" value=(staff.csrf); }
}
