//! The pages: a welcome page, the login page, and the user's notes.

use duet::prelude::*;
use duet::ui::{
    Item, ModelForm, button, cond, el, field, foreach, form, handler, heading, input, input_kind, link, login, logout,
    paragraph, submit, text, user, var,
};

use crate::notes::Note;
use crate::states::MyNotes;

/// The state behind the notes page: `MyNotes`' vars and handlers.
type Notes = ModelList<MyNotes>;

/// Every page, in one layout; pages that need a login send visitors to `/login`.
pub fn ui() -> Ui {
    Ui::new("Notes")
        .layout(layout)
        .login_page("/login")
        .page(home())
        .page(login_page())
        .page(notes_page())
}

/// A navigation bar, who is logged in, and the page.
fn layout(page: Node) -> Node {
    let account = cond(
        user("username"),
        el("span").children([
            duet::ui::text!("Signed in as ", user("username"), " "),
            button("Log out").id("logout").on_click(logout("/")),
        ]),
        Some(link("Log in", "/login")),
    );
    let nav = [
        link("Home", "/"),
        text(" · "),
        link("My notes", "/notes"),
        text(" · "),
        account,
    ];
    el("div").children([el("nav").children(nav), el("main").child(page)])
}

fn home() -> Page {
    Page::new("/").title("Notes").body(el("section").children([
        heading(1, "Notes"),
        paragraph("Write notes here, over the API, or from any script through the inbox webhook."),
        link("Your notes →", "/notes"),
    ]))
}

fn login_page() -> Page {
    Page::new("/login").title("Log in · Notes").body(
        form([
            field("Username", input("username")),
            field("Password", input_kind("password", "password")),
            submit("Log in"),
        ])
        .id("login-form")
        .on_submit(login()),
    )
}

/// The user's notes, newest first, and a form to add one: the model's fields, labels,
/// constraints and validation errors. Loading the page runs the state's `refresh`.
fn notes_page() -> Page {
    let new_note = ModelForm::<MyNotes>::new([Note::TITLE, Note::BODY])
        .textarea(Note::BODY)
        .submit(submit("Add note"));
    let note = |note: &Item| {
        el("article").class("note").children([
            heading(2, note.get(Note::TITLE)),
            paragraph(note.get(Note::BODY)),
            el("small").child(text(note.get(Note::CREATED_AT))),
        ])
    };
    Page::new("/notes")
        .title("My notes · Notes")
        .login_required()
        .on_load(handler::<Notes>("refresh"))
        .body(el("section").children([
            heading(1, "My notes"),
            Node::from(new_note).id("new-note"),
            el("div").id("notes").child(foreach(var::<Notes>("notes"), note)),
        ]))
}
