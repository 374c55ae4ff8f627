//! A Redis server of a test's own, on a free port, so stopping, pausing or restarting it
//! disturbs no one (the shared Redis is never touched).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis server of the test's own, on a free port, so restarting it disturbs no one.
pub(crate) struct OwnRedis {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// A Redis keeping nothing on disk: a restart forgets everything.
    pub(crate) fn start(port: u16) -> Option<OwnRedis> {
        OwnRedis::spawn(port, &["--appendonly", "no"])
    }

    /// A Redis keeping every write in an append-only file in `dir`: a restart keeps
    /// sessions and tabs.
    pub(crate) fn start_persistent(port: u16, dir: &std::path::Path) -> Option<OwnRedis> {
        let dir = dir.to_str().expect("a UTF-8 path");
        OwnRedis::spawn(port, &["--appendonly", "yes", "--appendfsync", "always", "--dir", dir])
    }

    fn spawn(port: u16, extra: &[&str]) -> Option<OwnRedis> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(extra)
            .stdout(Stdio::null())
            .spawn();
        match child {
            Ok(child) => Some(OwnRedis {
                port,
                child: Some(child),
            }),
            Err(error) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "redis-server cannot be started: {error}"
                );
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "[duet] Redis restart test skipped: redis-server not found ({error})"
                );
                None
            }
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) async fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(client) = redis_client(&self.url())
                && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis_query::<String>(&mut conn, &["PING"]).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    /// Stops the process without ending it (`SIGSTOP`): connections stay open and nothing
    /// answers, as in a network stall.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused Redis run again (`SIGCONT`).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running redis-server");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn redis_client(url: &str) -> Result<redis::Client, redis::RedisError> {
    redis::Client::open(url)
}

pub(crate) async fn redis_query<T: redis::FromRedisValue>(
    conn: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> Result<T, redis::RedisError> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(conn).await
}
