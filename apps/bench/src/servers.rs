//! Starting the servers a benchmark compares: child processes killed on drop, free ports,
//! and waiting until they listen.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A child process, killed when dropped (also when a benchmark fails half-way).
pub(crate) struct Killed(pub(crate) std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address nothing listens on right now.
pub(crate) fn free_addr() -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.to_string())
}

/// CPU time (user and system) a process has used so far, in microseconds, from
/// `/proc/PID/stat` (clock ticks of 10 ms: rows of thousands of events or requests make that
/// fine).
pub(crate) fn cpu_micros(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start at `state`.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks * 10_000
}

/// A binary built next to this one (e.g. `shop`).
pub(crate) fn sibling(name: &str) -> Result<PathBuf, String> {
    let path = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("{} not built: cargo build --release -p {name}", path.display()))
    }
}

/// Waits up to 30 s until something accepts connections on `addr`.
pub(crate) async fn wait_for(addr: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("nothing listens on {addr}"))
}

/// A fresh SQLite file `name` in a scratch directory of this run, migrated, with a user
/// `bench`/`bench`: the directory, the database's URL, the pool and the user.
pub(crate) async fn bench_db(name: &str) -> Result<(PathBuf, String, duet_models::Db, duet_models::User), String> {
    let dir = std::env::temp_dir().join(format!("duet-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}", dir.join(format!("{name}.sqlite3")).display());
    let db = duet_models::Db::connect_url(&url).await.map_err(|e| e.to_string())?;
    db.migrate(&shop::MIGRATIONS).await.map_err(|e| e.to_string())?;
    let user = duet_models::User::create(
        &db,
        duet_models::NewUser {
            username: "bench".into(),
            password: "bench".into(),
            ..duet_models::NewUser::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok((dir, url, db, user))
}

/// A client with a cookie jar that has loaded the login form, and the form's CSRF token:
/// what a login `POST` needs.
pub(crate) async fn login_form(base: &str) -> Result<(reqwest::Client, String), String> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let form: serde_json::Value = client
        .get(format!("{base}/accounts/login/"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = form["csrftoken"].as_str().unwrap_or_default().to_owned();
    Ok((client, csrf))
}

/// Logs `username` in at `base`: the `sessionid=…` cookie.
pub(crate) async fn log_in(base: &str, username: &str, password: &str) -> Result<String, String> {
    let (client, csrf) = login_form(base).await?;
    let login = client
        .post(format!("{base}/accounts/login/"))
        .header("X-CSRFToken", &csrf)
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sessionid="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "login set no session cookie".to_owned())
}
