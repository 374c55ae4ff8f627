//! A TCP proxy in front of a real service that can go silent: `freeze` stops forwarding on
//! the connections open now, in both directions, without closing them — a network
//! partition, or a connection a middlebox forgot. New connections pass.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Proxy {
    pub addr: SocketAddr,
    live: Arc<std::sync::Mutex<Vec<Arc<AtomicBool>>>>,
    accepted: Arc<AtomicUsize>,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`) on a free local port, running on the current
    /// runtime.
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let live: Arc<std::sync::Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (connections, count) = (Arc::clone(&live), Arc::clone(&accepted));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let frozen = Arc::new(AtomicBool::new(false));
                connections.lock().unwrap().push(Arc::clone(&frozen));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(client_read, server_write, Arc::clone(&frozen)));
                tokio::spawn(forward(server_read, client_write, frozen));
            }
        });
        Proxy { addr, live, accepted }
    }

    /// Stops forwarding on every connection open now; they stay open.
    pub fn freeze(&self) {
        for frozen in self.live.lock().unwrap().drain(..) {
            frozen.store(true, Ordering::SeqCst);
        }
    }

    /// How many connections have been made through the proxy.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        if frozen.load(Ordering::SeqCst) {
            // Silent: keep both sockets open and pass nothing on, ever.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
}
