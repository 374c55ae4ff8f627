//! What the integration tests share: a test state with every kind of handler, written by
//! hand (no macros), and a test app on a real port (`app`).
#![allow(dead_code, unreachable_pub)]

pub mod app;
pub mod proxy;

use duet_state::{Background, EventCtx, EventError, EventResult, Events, HandlerDef, Registry, State};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
    secret: String,
    rows: Vec<Value>,
}

fn increment<'a>(s: &'a mut Counter, _: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        s.count += 1;
        s.secret = format!("clicked {} times", s.count);
        Ok(())
    })
}

fn set_to<'a>(s: &'a mut Counter, _: &'a mut EventCtx, payload: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        s.count = serde_json::from_value(payload).map_err(EventError::bad_payload)?;
        Ok(())
    })
}

fn fail<'a>(s: &'a mut Counter, _: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        s.count = -1;
        Err(EventError::msg("nope"))
    })
}

fn boom<'a>(s: &'a mut Counter, _: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        s.count = -2;
        panic!("handler bug");
    })
}

fn add_row<'a>(s: &'a mut Counter, _: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        let id = s.rows.len();
        s.rows.push(json!({"id": id, "status": "paid", "total": "12.50"}));
        Ok(())
    })
}

fn fill<'a>(s: &'a mut Counter, _: &'a mut EventCtx, payload: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        let n = payload.as_u64().unwrap_or(0) as usize;
        s.rows = (0..n)
            .map(|id| json!({"id": id, "status": "paid", "total": "12.50"}))
            .collect();
        Ok(())
    })
}

fn load<'a>(s: &'a mut Counter, ctx: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        s.count = ctx.route().params.get("id").and_then(|id| id.parse().ok()).unwrap_or(0);
        Ok(())
    })
}

fn watch<'a>(_: &'a mut Counter, ctx: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        ctx.subscribe("counter:news", "set_to");
        Ok(())
    })
}

/// Counts the messages published on `counter:tally` (each one increments).
fn tally<'a>(_: &'a mut Counter, ctx: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        ctx.subscribe("counter:tally", "increment");
        Ok(())
    })
}

/// Subscribes to `counter:rows`: each message (a number n) fills the list with n rows.
fn follow<'a>(_: &'a mut Counter, ctx: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        ctx.subscribe("counter:rows", "fill");
        Ok(())
    })
}

/// Counts up to `n`, showing each step (progress).
fn count_to<'a>(s: &'a mut Counter, ctx: &'a mut EventCtx, payload: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        let n: i64 = serde_json::from_value(payload).map_err(EventError::bad_payload)?;
        while s.count < n {
            s.count += 1;
            ctx.flush(s).await;
        }
        Ok(())
    })
}

/// Shows two steps of progress, then fails.
fn count_and_fail<'a>(s: &'a mut Counter, ctx: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        for _ in 0..2 {
            s.count += 1;
            ctx.flush(s).await;
        }
        Err(EventError::msg("gave up"))
    })
}

/// Sets the count to `value` in the background, 50 ms after answering.
fn later<'a>(_: &'a mut Counter, ctx: &'a mut EventCtx, payload: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        let value: i64 = serde_json::from_value(payload).map_err(EventError::bad_payload)?;
        ctx.spawn(move |tab: Background<Counter>| async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            tab.update(move |s| s.count = value).await.expect("the tab is there");
        })
    })
}

impl Events for Counter {
    fn handlers() -> Vec<HandlerDef<Self>> {
        vec![
            HandlerDef {
                name: "increment",
                call: increment,
            },
            HandlerDef {
                name: "set_to",
                call: set_to,
            },
            HandlerDef {
                name: "fail",
                call: fail,
            },
            HandlerDef {
                name: "boom",
                call: boom,
            },
            HandlerDef {
                name: "add_row",
                call: add_row,
            },
            HandlerDef {
                name: "fill",
                call: fill,
            },
            HandlerDef {
                name: "load",
                call: load,
            },
            HandlerDef {
                name: "watch",
                call: watch,
            },
            HandlerDef {
                name: "tally",
                call: tally,
            },
            HandlerDef {
                name: "follow",
                call: follow,
            },
            HandlerDef {
                name: "count_to",
                call: count_to,
            },
            HandlerDef {
                name: "count_and_fail",
                call: count_and_fail,
            },
            HandlerDef {
                name: "later",
                call: later,
            },
        ]
    }

    fn computed(&self) -> Map<String, Value> {
        [("doubled".to_owned(), json!(self.count * 2))].into_iter().collect()
    }
}

impl State for Counter {
    const NAME: &'static str = "counter";
    const BACKEND_VARS: &'static [&'static str] = &["secret"];
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Private {
    note: String,
}

impl Events for Private {
    fn handlers() -> Vec<HandlerDef<Self>> {
        Vec::new()
    }
}

impl State for Private {
    const NAME: &'static str = "private";
    const LOGIN_REQUIRED: bool = true;
}

/// A registry with `Counter`, `Private`, and `Counter.load` on `/orders/{id}`.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<Counter>().unwrap();
    registry.register::<Private>().unwrap();
    registry.on_load("/orders/{id}", "counter", "load").unwrap();
    registry
}
