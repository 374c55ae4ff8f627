//! The browser runtime under a 1,000-row kept list and a 10,000-row stream: the time from
//! an event sent to the DOM updated, measured in headless Chromium (`performance.now()`
//! around `duet.send`, whose promise resolves once the reply's delta is applied to the DOM;
//! a MutationObserver checks the table really changed).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use duet_models::Db;
use duet_models::{Model, Money, Scope};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use shop::orders::{NewOrder, Order, OrderChanges, OrderStatus};

use crate::servers::{Killed, bench_db, free_addr, sibling, wait_for};

const ROWS: i64 = 1000;
/// The rows the stream shows (`/feed`, a page of 50 at a time).
const STREAM_ROWS: i64 = 10_000;

/// One measurement in the page: sends `state.handler(payload)` (the arguments), resolves
/// with the timings once the DOM of the table `#table` has the change.
const MEASURE: &str = r"
const [table, state, handler, payload] = arguments;
const done = arguments[arguments.length - 1];
const tbody = document.querySelector(`#${table} tbody`);
let mutations = 0;
const observer = new MutationObserver((records) => { mutations += records.length; });
observer.observe(tbody, { childList: true, subtree: true, characterData: true, attributes: true });
const started = performance.now();
duet.send(state, handler, payload).then((reply) => {
  const applied = performance.now();
  requestAnimationFrame(() => {
    const frame = performance.now();
    setTimeout(() => {
      observer.disconnect();
      done({
        dom: applied - started,
        frame: frame - started,
        apply: duet.lastApplyMs,
        mutations,
        rows: tbody.querySelectorAll('tr').length,
        ops: JSON.stringify(reply.changes).length,
      });
    }, 0);
  });
}, (error) => done({ error: String(error) }));
";

struct Sample {
    dom: f64,
    frame: f64,
    apply: f64,
}

fn percentile(values: &mut [f64], q: usize) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get((values.len() * q / 100).min(values.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// Pages the stream in, `more` after `more`, until the server says there is no more.
const LOAD_STREAM: &str = r"
const done = arguments[arguments.length - 1];
(async () => {
  while (duet.states.order_feed.more) await duet.send('order_feed', 'more');
  return document.querySelectorAll('#feed tbody tr').length;
})().then(done, (error) => done(String(error)));
";

/// Runs `table`'s `state.handler(payload)` in the page and measures it.
async fn measure(
    client: &Client,
    table: &str,
    state: &str,
    handler: &str,
    payload: Value,
) -> Result<(Sample, Value), String> {
    let args = vec![json!(table), json!(state), json!(handler), payload];
    let result = client.execute_async(MEASURE, args).await.map_err(|e| e.to_string())?;
    if let Some(error) = result.get("error") {
        return Err(format!("the event failed in the page: {error}"));
    }
    if result["mutations"].as_u64().unwrap_or(0) == 0 {
        return Err(format!("the DOM did not change: {result}"));
    }
    let number = |k: &str| result[k].as_f64().unwrap_or(f64::NAN);
    Ok((
        Sample {
            dom: number("dom"),
            frame: number("frame"),
            apply: number("apply"),
        },
        result,
    ))
}

/// The whole benchmark; prints a Markdown table.
pub(crate) async fn run(iterations: usize, chromedriver: &str) -> Result<(), String> {
    let (dir, url, db, user) = bench_db("ui").await?;
    let user_id = user.id;
    let new_order = |n: i64| NewOrder {
        customer: user.id.into(),
        total: Money::cents(1000 + n),
        currency: "EUR".into(),
        status: OrderStatus::Paid,
        placed_at: duet_models::now(),
        client_reference: format!("bench-ui-{n}"),
    };
    let mut ids = Vec::new();
    for n in 0..ROWS {
        ids.push(Order::create(&db, new_order(n)).await.map_err(|e| e.to_string())?.id);
    }

    let shop_addr = free_addr()?;
    let _shop = Killed(
        Command::new(sibling("shop")?)
            .args(["serve", "--addr", &shop_addr])
            .current_dir(&dir)
            .env("DATABASE_URL", &url)
            .env("DUET_SECRET_KEY", "u".repeat(64))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let driver_addr = free_addr()?;
    let driver_port = driver_addr.rsplit(':').next().unwrap_or_default().to_owned();
    let _driver = Killed(
        Command::new(chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {chromedriver}: {e}"))?,
    );
    wait_for(&shop_addr).await?;
    wait_for(&driver_addr).await?;

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-dev-shm-usage", "--window-size=1100,800"]}),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://{driver_addr}"))
        .await
        .map_err(|e| e.to_string())?;
    let mut result = bench(&client, &db, &shop_addr, iterations, &ids, &new_order).await;
    if result.is_ok() {
        result = bench_stream(&client, &db, iterations, &new_order, user_id).await;
    }
    let _ = client.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(
    client: &Client,
    db: &Db,
    shop_addr: &str,
    iterations: usize,
    ids: &[i64],
    new_order: &dyn Fn(i64) -> NewOrder,
) -> Result<(), String> {
    let cmd = |e: fantoccini::error::CmdError| e.to_string();
    client
        .goto(&format!("http://{shop_addr}/login?next=/orders"))
        .await
        .map_err(cmd)?;
    client
        .wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .map_err(cmd)?
        .send_keys("bench")
        .await
        .map_err(cmd)?;
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .map_err(cmd)?
        .send_keys("bench")
        .await
        .map_err(cmd)?;
    client
        .find(Locator::Css("#login-submit"))
        .await
        .map_err(cmd)?
        .click()
        .await
        .map_err(cmd)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .execute(
                "return window.duet && duet.status === 'open' && document.querySelectorAll('#orders tbody tr').length",
                vec![],
            )
            .await
            .map_err(cmd)?;
        if ready.as_i64() == Some(ROWS) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the /orders page did not show {ROWS} rows: {ready}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Warm up, then measure: a new order (inserted at the top) and a changed one.
    let mut added = Vec::new();
    let mut updated = Vec::new();
    let mut example = (Value::Null, Value::Null);
    for i in 0..iterations + 5 {
        let n = ROWS + i as i64;
        Order::create(db, new_order(n)).await.map_err(|e| e.to_string())?;
        let (sample, raw) = measure(client, "orders", "orders", "refresh", Value::Null).await?;
        if i >= 5 {
            added.push(sample);
        }
        example.0 = raw;
        // Every order starts `paid`; each iteration ships another one.
        let id = ids[i % ids.len()];
        let status = if (i / ids.len()).is_multiple_of(2) {
            OrderStatus::Shipped
        } else {
            OrderStatus::Paid
        };
        let changes = OrderChanges {
            status: Some(status),
            ..OrderChanges::default()
        };
        Order::update(db, Scope::All, id, changes)
            .await
            .map_err(|e| e.to_string())?;
        let (sample, raw) = measure(client, "orders", "orders", "refresh", Value::Null).await?;
        if i >= 5 {
            updated.push(sample);
        }
        example.1 = raw;
    }

    println!("Event sent → DOM updated in headless Chromium, /orders with {ROWS}+ rows, {iterations} events per row");
    println!("(`orders.refresh` re-reads the user's orders from SQLite and answers with list ops)");
    println!();
    print_table(&[
        ("add one order (insert at the top)", &added, &example.0),
        ("update one order's status (replace)", &updated, &example.1),
    ]);
    Ok(())
}

/// The same page of orders as a stream (`/feed`) with 10,000 rows shown: one order
/// added (`order_feed.create`, an insert at the top) and one changed
/// (`order_feed.update`, replaced in place), each a write through the state whose reply
/// carries the one row.
async fn bench_stream(
    client: &Client,
    db: &Db,
    iterations: usize,
    new_order: &dyn Fn(i64) -> NewOrder,
    user_id: i64,
) -> Result<(), String> {
    let cmd = |e: fantoccini::error::CmdError| e.to_string();
    let existing = Order::count(db, &duet_models::ListQuery::new(Scope::Owner(user_id)))
        .await
        .map_err(|e| e.to_string())?;
    for n in existing..STREAM_ROWS {
        Order::create(db, new_order(n)).await.map_err(|e| e.to_string())?;
    }
    // A new tab (the same login): the /orders tab above holds the kept list and its
    // subscription, which would refresh 10,000 rows after every write.
    let history = client
        .current_url()
        .await
        .map_err(cmd)?
        .join("/feed")
        .map_err(|e| e.to_string())?;
    client
        .execute("sessionStorage.clear(); return 1", vec![])
        .await
        .map_err(cmd)?;
    client.goto(history.as_str()).await.map_err(cmd)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .execute(
            "return !!window.duet && duet.status === 'open' && duet.pending === 0 && document.querySelectorAll('#feed tbody tr').length > 0",
            vec![],
        )
        .await
        .map_err(cmd)?
        != json!(true)
    {
        if Instant::now() > deadline {
            return Err("the /feed page did not show its first page".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = client.execute_async(LOAD_STREAM, vec![]).await.map_err(cmd)?;
    if shown.as_i64().is_none_or(|n| n < STREAM_ROWS) {
        return Err(format!("the stream shows {shown} rows, not {STREAM_ROWS}"));
    }
    let first_id = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .execute(
                    "return Number(document.querySelector('#feed tbody tr a').textContent.slice(1))",
                    vec![],
                )
                .await
                .map_err(|e| e.to_string())
        }
    };

    let mut added = Vec::new();
    let mut updated = Vec::new();
    let mut example = (Value::Null, Value::Null);
    for i in 0..iterations + 5 {
        let (sample, raw) = measure(
            client,
            "feed",
            "order_feed",
            "create",
            json!({"total": "10.00", "currency": "EUR"}),
        )
        .await?;
        if i >= 5 {
            added.push(sample);
        }
        example.0 = raw;
        let id = first_id(client).await?;
        let status = if i % 2 == 0 { "shipped" } else { "paid" };
        let (sample, raw) = measure(
            client,
            "feed",
            "order_feed",
            "update",
            json!({"id": id, "status": status}),
        )
        .await?;
        if i >= 5 {
            updated.push(sample);
        }
        example.1 = raw;
    }
    println!();
    println!("The same orders as a stream (/feed, the server keeps none of the rows), {STREAM_ROWS}+ rows shown");
    println!("(`order_feed.create` / `order_feed.update` write one order; the reply carries that one row)");
    println!();
    print_table(&[
        ("add one order (stream insert at the top)", &added, &example.0),
        (
            "update one order's status (stream update in place)",
            &updated,
            &example.1,
        ),
    ]);
    Ok(())
}

/// One Markdown row per change: the event → DOM percentiles, the next frame, the runtime's
/// own apply time and the reply's size.
fn print_table(rows: &[(&str, &Vec<Sample>, &Value)]) {
    println!("| change | p50 ms | p90 ms | max ms | next frame p50 ms | DOM apply p50 ms | delta bytes |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, samples, raw) in rows {
        let mut dom: Vec<f64> = samples.iter().map(|s| s.dom).collect();
        let mut frame: Vec<f64> = samples.iter().map(|s| s.frame).collect();
        let mut apply: Vec<f64> = samples.iter().map(|s| s.apply).collect();
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            percentile(&mut dom, 50),
            percentile(&mut dom, 90),
            percentile(&mut dom, 100),
            percentile(&mut frame, 50),
            percentile(&mut apply, 50),
            raw["ops"],
        );
    }
}
