//! Event sockets against a running `shop`: connect with a session cookie, send frames,
//! read them back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::Server;

/// A client socket.
pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/_event` on `server`, with `cookie` if given.
pub(crate) async fn connect(server: &Server, cookie: Option<&str>) -> Socket {
    let mut request = server
        .url("/_event")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.expect("socket").0
}

/// Sends one frame.
pub(crate) async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next text frame, within 10 s.
pub(crate) async fn recv(socket: &mut Socket) -> Value {
    recv_within(socket, Duration::from_secs(10)).await
}

/// The next text frame, within `limit` (pings and pongs are skipped).
pub(crate) async fn recv_within(socket: &mut Socket, limit: Duration) -> Value {
    loop {
        match tokio::time::timeout(limit, socket.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// `hello` for tab `tab` (`None`: a new one) on `path`; returns the `hydrate` frame.
pub(crate) async fn hello(socket: &mut Socket, tab: Option<&str>, path: &str) -> Value {
    send(
        socket,
        json!({"type": "hello", "protocol": 1, "tab": tab, "route": {"path": path}}),
    )
    .await;
    recv(socket).await
}
