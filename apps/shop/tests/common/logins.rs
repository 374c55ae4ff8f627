//! One user logged in twice, each login with a live socket, and the account flows that end
//! the other login: run on one instance or across two, whatever the session store.

use serde_json::{Value, json};

use super::Server;
use super::session_login;
use super::ws::{connect, hello, recv, send};

/// The password [`other_logins_end`] expects `ada` to have.
pub(crate) const FIRST_PASSWORD: &str = "first password";

/// `POST path` as the session `cookie`; the status and the JSON body.
async fn post_as(server: &Server, (cookie, csrf): &(String, String), path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("cookie", cookie)
        .header("x-csrftoken", csrf)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `GET /accounts/me/` as the session `cookie`: 200 logged in, 401 anonymous.
async fn me(server: &Server, (cookie, _): &(String, String)) -> u16 {
    reqwest::Client::new()
        .get(server.url("/accounts/me/"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("GET /accounts/me/")
        .status()
        .as_u16()
}

/// `ada` (password [`FIRST_PASSWORD`]) logs in on `a` and on `b`, each login with a live
/// socket on its own instance. A password change on `a` ends the login on `b`: its socket
/// is closed (4401) and its cookie is anonymous on both instances, while `a`'s login and
/// socket carry on. Then "log out everywhere" asked on `b` ends `a`'s login the same way.
/// `a` and `b` may be one server.
pub(crate) async fn other_logins_end(a: &Server, b: &Server) {
    let here = session_login(a, "ada", FIRST_PASSWORD).await;
    let there = session_login(b, "ada", FIRST_PASSWORD).await;
    let mut here_socket = connect(a, Some(&here.0)).await;
    assert_eq!(hello(&mut here_socket, None, "/").await["type"], "hydrate");
    let mut there_socket = connect(b, Some(&there.0)).await;
    assert_eq!(hello(&mut there_socket, None, "/orders").await["type"], "hydrate");

    let change = json!({"old_password": FIRST_PASSWORD, "password": "second password"});
    let (status, body) = post_as(a, &here, "/accounts/password/change/", change).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        recv(&mut there_socket).await,
        json!({"type": "bye", "code": 4401, "message": "logged out"}),
        "the other login's socket is closed"
    );
    for server in [a, b] {
        assert_eq!(
            me(server, &there).await,
            401,
            "the other login ended, on {}",
            server.base
        );
        assert_eq!(me(server, &here).await, 200, "this login stays, on {}", server.base);
    }
    // This login's socket is still open and still its user's.
    send(
        &mut here_socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut here_socket).await["seq"], 1);

    let again = session_login(b, "ada", "second password").await;
    let (status, body) = post_as(b, &again, "/accounts/logout-everywhere/", json!({})).await;
    assert_eq!((status, &body["ended"]), (200, &json!(1)), "{body}");
    assert_eq!(
        recv(&mut here_socket).await,
        json!({"type": "bye", "code": 4401, "message": "logged out"}),
        "logging out everywhere from the other instance closes this socket"
    );
    for server in [a, b] {
        assert_eq!(me(server, &here).await, 401);
        assert_eq!(me(server, &again).await, 200);
    }
}
