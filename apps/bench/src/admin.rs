//! The admin's change list over a large table: 100,000 orders on SQLite and PostgreSQL, the
//! first page, a filtered page, a search and the last page, each fetched one at a time by a
//! superuser (API token: the same user resolution as a session), timed on the client over
//! loopback (server time plus a round trip well under a millisecond).

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::servers::{Killed, free_addr, sibling, wait_for};

/// What the table holds: `rows` orders, a quarter in each status, a minute apart.
fn fill_sql(backend: &str, user: i64, rows: u64) -> String {
    match backend {
        "postgres" => format!(
            "INSERT INTO orders (customer_id, total_cents, currency, status, placed_at, client_reference) \
             SELECT {user}, 100 + (i % 5000), 'EUR', (ARRAY['pending','paid','shipped','cancelled'])[i % 4 + 1], \
             timestamp '2026-01-01' + i * interval '1 minute', 'ord_bench_' || i FROM generate_series(1, {rows}) AS i; ANALYZE;"
        ),
        _ => format!(
            "INSERT INTO orders (customer_id, total_cents, currency, status, placed_at, client_reference) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             SELECT {user}, 100 + (i % 5000), 'EUR', CASE i % 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'paid' \
             WHEN 2 THEN 'shipped' ELSE 'cancelled' END, datetime('2026-01-01', '+' || i || ' minutes'), \
             'ord_bench_' || i FROM n; ANALYZE;"
        ),
    }
}

async fn sql(db: &duet_models::Db, sql: &str) -> Result<(), String> {
    use diesel_async::SimpleAsyncConnection;
    duet_models::db_run!(db, |conn| conn.batch_execute(sql).await).map_err(|e| e.to_string())
}

/// Median and slowest of `times` in ms.
fn summary(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() - 1])
}

/// The whole measurement; prints a Markdown table.
pub(crate) async fn run(rows: u64, repeats: usize, postgres: Option<String>) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("duet-bench-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut backends = vec![("SQLite", format!("sqlite://{}", dir.join("admin.sqlite3").display()))];
    let scratch = format!("duet_bench_admin_{}", std::process::id());
    let server = match &postgres {
        Some(url) => Some(duet_models::Db::connect_url(url).await.map_err(|e| e.to_string())?),
        None => None,
    };
    if let (Some(db), Some(url)) = (&server, &postgres) {
        sql(db, &format!("CREATE DATABASE {scratch}")).await?;
        let mut url = url::Url::parse(url).map_err(|e| e.to_string())?;
        url.set_path(&scratch);
        backends.push(("PostgreSQL", url.to_string()));
    }
    println!("Admin change list of {rows} orders, one request at a time, {repeats} each: median / slowest ms");
    println!();
    println!("| backend | first page | filtered (status=paid) | search (client reference) | last page | index |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, url) in &backends {
        let db = duet_models::Db::connect_url(url).await.map_err(|e| e.to_string())?;
        db.migrate(&shop::MIGRATIONS).await.map_err(|e| e.to_string())?;
        let new = duet_models::NewUser {
            username: "boss".into(),
            password: "bench".into(),
            is_superuser: true,
            ..duet_models::NewUser::default()
        };
        let boss = duet_models::User::create(&db, new).await.map_err(|e| e.to_string())?;
        sql(&db, &fill_sql(db.backend(), boss.id, rows)).await?;
        let token = duet_models::ApiToken::issue(&db, boss.id)
            .await
            .map_err(|e| e.to_string())?;
        let addr = free_addr()?;
        let _shop = Killed(
            Command::new(sibling("shop")?)
                .args(["serve", "--addr", &addr])
                .current_dir(&dir)
                .env("DATABASE_URL", url)
                .env("DUET_ENV", "production")
                .env("DUET_ALLOWED_HOSTS", "127.0.0.1")
                .env("DUET_SECRET_KEY", "a".repeat(64))
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?,
        );
        wait_for(&addr).await?;
        let client = reqwest::Client::new();
        let last = rows.div_ceil(50);
        let paths = [
            "/admin/shop/order/".to_owned(),
            "/admin/shop/order/?status=paid".to_owned(),
            "/admin/shop/order/?q=bench_4242".to_owned(),
            format!("/admin/shop/order/?p={last}"),
            "/admin/".to_owned(),
        ];
        let mut cells = Vec::new();
        for path in &paths {
            let mut times = Vec::new();
            for _ in 0..=repeats {
                let started = Instant::now();
                let response = client
                    .get(format!("http://{addr}{path}"))
                    .header("Authorization", format!("Token {token}"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let body = response.text().await.map_err(|e| e.to_string())?;
                if !status.is_success() || !body.contains("</html>") {
                    return Err(format!("{path}: {status}"));
                }
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            // The first request warms the statement cache and the pool: not counted.
            let (median, slowest) = summary(times.split_off(1));
            cells.push(format!("{median:.1} / {slowest:.1}"));
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
    if let Some(db) = &server {
        sql(db, &format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
