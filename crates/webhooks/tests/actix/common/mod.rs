//! A real actix-web server on 127.0.0.1 with one endpoint per scheme, a handler that
//! records what it saw (and can be told to fail, panic or dawdle), and an HTTP client.

mod raw;
mod routes;
mod schemes;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpServer, web};
use duet_models::Db;
use duet_webhooks::actix::{HandlerError, Verified, WebhookResult};
use serde_json::Value;

pub(crate) use raw::post_chunked;
pub(crate) use schemes::{ACME, GITHUB, SLACK, STANDARD, STRIPE, STRIPE_CONNECT, Scheme};

/// What one run of the recording handler saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) delivery_id: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) object: Option<Value>,
    pub(crate) event: Value,
    pub(crate) body_len: usize,
    pub(crate) has_db: bool,
}

/// The recording handler's memory and instructions, shared by every worker.
#[derive(Debug, Default)]
pub(crate) struct Probe {
    seen: Mutex<Vec<(&'static str, Seen)>>,
    fail: AtomicUsize,
    unavailable: AtomicUsize,
    panic: AtomicUsize,
    delay_ms: AtomicU64,
}

impl Probe {
    /// The handler of every deduplicating route: records, waits, then fails or panics if
    /// told to.
    pub(crate) async fn handle<V>(self: Arc<Self>, event: Verified<V>, req: HttpRequest) -> WebhookResult {
        let seen = Seen {
            delivery_id: event.delivery_id().map(str::to_owned),
            kind: event.kind().map(str::to_owned),
            object: event.object().cloned(),
            event: event.event().clone(),
            body_len: event.body().len(),
            has_db: req.app_data::<web::Data<Db>>().is_some(),
        };
        self.seen.lock().unwrap().push((event.provider(), seen));
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if take(&self.panic) {
            panic!("told to panic");
        }
        if take(&self.fail) {
            return Err(HandlerError::new("told to fail"));
        }
        if take(&self.unavailable) {
            return Err(HandlerError::unavailable("told to be unavailable"));
        }
        Ok(())
    }

    /// How many times the handler ran for `provider`.
    pub(crate) fn calls(&self, provider: &str) -> usize {
        self.seen(provider).len()
    }

    /// What the handler saw for `provider`, in order.
    pub(crate) fn seen(&self, provider: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(p, _)| *p == provider)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// The next `n` runs fail.
    pub(crate) fn fail_next(&self, n: usize) {
        self.fail.store(n, Ordering::SeqCst);
    }

    /// The next `n` runs fail as unavailable.
    pub(crate) fn unavailable_next(&self, n: usize) {
        self.unavailable.store(n, Ordering::SeqCst);
    }

    /// The next `n` runs panic.
    pub(crate) fn panic_next(&self, n: usize) {
        self.panic.store(n, Ordering::SeqCst);
    }

    /// Every run first sleeps this long.
    pub(crate) fn delay(&self, millis: u64) {
        self.delay_ms.store(millis, Ordering::SeqCst);
    }
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// An answer: status, `Allow` header and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) allow: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    /// The status and `detail`.
    pub(crate) fn detail(&self) -> (u16, &str) {
        (self.status, self.body["detail"].as_str().unwrap_or("<no detail>"))
    }
}

/// A server on its own thread and actix system, stopped when dropped.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) probe: Arc<Probe>,
    client: reqwest::Client,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves the test routes, with `db` as `web::Data<Db>` when given.
    pub(crate) async fn start(db: Option<Db>) -> Server {
        let probe = Arc::new(Probe::default());
        let configure = routes::routes(&probe);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let app = App::new();
                    let app = match &db {
                        Some(db) => app.app_data(web::Data::new(db.clone())),
                        None => app,
                    };
                    app.configure(|config| configure(config))
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(1)
                .bind(("127.0.0.1", 0))
                .expect("bind 127.0.0.1:0");
                let addr = server.addrs()[0];
                let server = server.run();
                sender.send((addr, server.handle())).expect("the test waits");
                server.await.expect("the server ran");
            });
        });
        let (addr, handle) = receiver.await.expect("the server started");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Server {
            addr,
            probe,
            client,
            handle,
            thread: Some(thread),
        }
    }

    /// POSTs `body` with `content_type` (none when `None`) and `headers`.
    pub(crate) async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        answer(request.send().await.expect("a response")).await
    }

    /// GETs `path`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        answer(self.client.get(self.url(path)).send().await.expect("a response")).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _stopping = self.handle.stop(false);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.expect("a body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("status {status}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    Answer { status, allow, body }
}

/// The current time in unix seconds.
pub(crate) fn unix_now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}
