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
