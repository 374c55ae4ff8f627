use duet_state::{EventCtx, EventResult, Registry, State, events};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::*;

#[derive(Debug, Default, Serialize, Deserialize, State)]
#[state(name = "counter")]
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Row {
    id: i64,
    status: String,
}

#[derive(Debug, Default, Serialize, Deserialize, State)]
#[state(name = "rows")]
struct Rows {
    rows: Vec<Row>,
}

#[events]
impl Rows {
    async fn refresh(&mut self, _ctx: &mut EventCtx) -> EventResult {
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize, State)]
#[state(name = "feed")]
struct Feed {
    items: duet_state::Stream<Row>,
    count: i64,
}

#[events]
impl Feed {}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<Counter>().unwrap();
    registry.register::<Rows>().unwrap();
    registry.register::<Feed>().unwrap();
    registry
}

fn error(page: Page) -> String {
    Ui::new("t").page(page).compile(&registry()).unwrap_err().to_string()
}

#[test]
fn unknown_names_are_start_up_errors_naming_page_and_component() {
    let cases = [
        (
            Page::new("/a").body(column([button("go").on_click(event::<Counter>("incremnt"))])),
            "page /a: component `div > button` runs counter.incremnt, which does not exist (handlers: increment)",
        ),
        (
            Page::new("/b").body(el("main").child(foreach(var::<Rows>("rows"), |r| {
                el("li").child(text!(r.field("status"), " ", var::<Counter>("total")))
            }))),
            "page /b: component `main > foreach > li > text` reads counter.total, which does not exist (vars: count)",
        ),
        (
            Page::new("/c").body(form([input("n").bind(var::<Counter>("count"), event::<Rows>("nope"))])),
            "page /c: component `form > input[n]` runs rows.nope, which does not exist (handlers: refresh)",
        ),
        (
            Page::new("/f").body(button("x").on_click(confirm("Sure?", event::<Rows>("wipe")))),
            "page /f: component `button` runs rows.wipe, which does not exist (handlers: refresh)",
        ),
        (
            Page::new("/g")
                .body(button("x").on_click(confirm(var::<Counter>("question"), event::<Counter>("increment")))),
            "page /g: component `button` reads counter.question, which does not exist (vars: count)",
        ),
        (
            Page::new("/h").body(Pagination::new(
                var::<Counter>("page"),
                var::<Counter>("count"),
                handler::<Counter>("increment"),
            )),
            "page /h: component `nav > button` reads counter.page, which does not exist (vars: count)",
        ),
        (
            Page::new("/i").body(Pagination::new(
                var::<Counter>("count"),
                var::<Counter>("count"),
                handler::<Counter>("go"),
            )),
            "page /i: component `nav > button` runs counter.go, which does not exist (handlers: increment)",
        ),
        (
            Page::new("/j").body(field(
                "On",
                checkbox("on").bind(var::<Counter>("on"), event::<Counter>("increment")),
            )),
            "page /j: component `label > input[on]` reads counter.on, which does not exist (vars: count)",
        ),
        (
            Page::new("/d").on_load(handler::<Rows>("reload")),
            "page /d: on_load: on_load for /d names rows.reload, which does not exist (handlers: refresh)",
        ),
    ];
    for (page, expected) in cases {
        let mut registry = registry();
        let ui = Ui::new("t").page(page);
        let got = ui
            .register_on_load(&mut registry)
            .and_then(|()| ui.compile(&registry).map(|_| ()))
            .unwrap_err()
            .to_string();
        assert_eq!(got, expected);
    }
    assert_eq!(
        error(Page::new("/e").body(text(var::<Counter>("errors").get("total")))),
        "page /e: component `text` reads counter.errors, which does not exist (vars: count)"
    );
    assert_eq!(
        error(Page::new("orders")),
        "page orders: a page's pattern is an absolute path such as /orders"
    );
}

#[test]
fn the_spec_has_every_page_with_keyed_lists() {
    let ui = Ui::new("shop").layout(|body| el("main").child(body)).page(
        Page::new("/rows")
            .title("Rows")
            .login_required()
            .body(Table::new(var::<Rows>("rows")).column("Status", |r| text(r.field("status")))),
    );
    let compiled = ui.compile(&registry()).unwrap();
    let spec: Value = serde_json::from_str(compiled.spec()).unwrap();
    let page = &spec["pages"][0];
    assert_eq!(page["path"], "/rows");
    assert_eq!(page["title"], "Rows");
    assert_eq!(page["login_required"], true);
    let table = &page["body"]["children"][0];
    assert_eq!(table["tag"], "table");
    let foreach = &table["children"][1]["children"][0];
    assert_eq!(foreach["t"], "foreach");
    assert_eq!(foreach["key"], "id", "the key comes from the state's list key");
    assert_eq!(foreach["list"], json!({"k": "var", "s": "rows", "v": "rows"}));
    assert_eq!(
        spec["not_found"]["body"]["tag"], "main",
        "the layout wraps the 404 page too"
    );
    assert!(compiled.page_for("/rows").unwrap().requires_login());
    assert!(compiled.page_for("/nope").is_none());
}

#[test]
fn a_stream_is_shown_only_by_a_foreach_over_it() {
    let ui = Ui::new("t").page(Page::new("/feed").body(foreach(var::<Feed>("items"), |i| {
        el("li").child(text(i.field("status")))
    })));
    let spec: Value = serde_json::from_str(ui.compile(&registry()).unwrap().spec()).unwrap();
    let node = &spec["pages"][0]["body"];
    assert_eq!(node["stream"], true, "the runtime is told: {node}");
    assert_eq!(node["key"], "id", "keyed by the state's list key");
    let kept = Ui::new("t").page(Page::new("/rows").body(foreach(var::<Rows>("rows"), |r| text(r.field("id")))));
    let spec: Value = serde_json::from_str(kept.compile(&registry()).unwrap().spec()).unwrap();
    assert!(
        spec["pages"][0]["body"].get("stream").is_none(),
        "a kept list is not a stream"
    );

    for (page, component) in [
        (Page::new("/a").body(text(var::<Feed>("items").len())), "text"),
        (
            Page::new("/b").body(cond(var::<Feed>("items"), text("some"), None)),
            "cond",
        ),
    ] {
        assert_eq!(
            error(page.clone()),
            format!(
                "page {}: component `{component}` reads feed.items, a stream: only a foreach (or Table) over it \
                 can show it (the server keeps no items to count or compare)",
                page.pattern()
            )
        );
    }
}

#[test]
fn on_load_registers_once() {
    let mut registry = registry();
    registry.on_load("/rows", "rows", "refresh").unwrap();
    let ui = Ui::new("t").page(Page::new("/rows").on_load(handler::<Rows>("refresh")));
    ui.register_on_load(&mut registry).unwrap();
    ui.register_on_load(&mut registry).unwrap();
    assert_eq!(registry.resolve("/rows").1.len(), 1);
}

#[test]
fn the_runtime_is_an_es_module_speaking_protocol_1() {
    assert!(RUNTIME_JS.contains("const PROTOCOL = 1;"));
    assert!(RUNTIME_JS.contains("export "));
}

#[test]
fn the_action_builders_are_what_the_runtime_reads() {
    let action = |a: Action| serde_json::to_value(a).unwrap();
    assert_eq!(
        action(event::<Counter>("increment").with_field("n").into()),
        json!({"do": "event", "state": "counter", "handler": "increment", "payload": {"from": "field", "name": "n"}})
    );
    assert_eq!(
        action(event::<Counter>("increment").with(42_i64).into()),
        json!({"do": "event", "state": "counter", "handler": "increment", "payload": {"from": "value", "v": {"k": "lit", "v": 42}}})
    );
    assert_eq!(
        action(handler::<Counter>("increment").into()),
        json!({"do": "event", "state": "counter", "handler": "increment", "payload": {"from": "default"}})
    );
    assert_eq!(
        action(post("/accounts/verify/").with_query("token").then("/account").into()),
        json!({"do": "post", "to": "/accounts/verify/", "query": ["token"], "then": "/account"})
    );
    assert_eq!(
        action(post("/accounts/signup/").into()),
        json!({"do": "post", "to": "/accounts/signup/"})
    );
}

#[test]
fn controls_render_as_the_runtime_expects() {
    let choice = select("status", [("", "All"), ("paid", "Paid")]).bind(var::<Rows>("rows"), event::<Rows>("refresh"));
    let spec = serde_json::to_value(&choice).unwrap();
    assert_eq!(spec["tag"], "select");
    assert_eq!(spec["children"][1]["attrs"]["value"], json!({"k": "lit", "v": "paid"}));
    assert_eq!(
        spec["children"][1]["children"][0]["v"],
        json!({"k": "lit", "v": "Paid"})
    );
    assert_eq!(spec["on"]["input"]["handler"], "refresh");

    let action: Action = confirm("Sure?", event::<Counter>("increment"))
        .yes("Do it")
        .no("Keep")
        .into();
    assert_eq!(
        serde_json::to_value(&action).unwrap(),
        json!({"do": "confirm", "message": {"k": "lit", "v": "Sure?"}, "yes": "Do it", "no": "Keep",
               "then": {"do": "event", "state": "counter", "handler": "increment", "payload": {"from": "default"}}})
    );

    let count = var::<Counter>("count");
    let pages: Node = Pagination::new(count.clone(), count, handler::<Counter>("increment")).into();
    let spec = serde_json::to_value(&pages).unwrap();
    assert_eq!(spec["tag"], "nav");
    assert_eq!(spec["attrs"]["aria-label"], json!({"k": "lit", "v": "Pagination"}));
    let buttons = spec["children"].as_array().unwrap();
    assert_eq!(buttons.len(), 7, "previous, five page slots, next");
    // Previous is disabled unless 1 < page, and goes to page - 1.
    assert_eq!(
        buttons[0]["attrs"]["disabled"],
        json!({"k": "not", "e": {"k": "lt", "a": {"k": "lit", "v": 1}, "b": {"k": "var", "s": "counter", "v": "count"}}})
    );
    assert_eq!(
        buttons[0]["on"]["click"]["payload"]["v"],
        json!({"k": "add", "a": {"k": "var", "s": "counter", "v": "count"}, "b": {"k": "lit", "v": -1}})
    );
    assert_eq!(buttons[3]["attrs"]["aria-current"], json!({"k": "lit", "v": "page"}));
    assert_eq!(buttons[1]["t"], "cond", "pages either side show only when they exist");
}
