//! The app served for real: its binary on a free port, asked over HTTP.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server process, stopped however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn it_serves_its_page_and_its_api() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_{{project-name}}"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", "sqlite://:memory:")
            .env(
                "DUET_SECRET_KEY",
                "a test key, at least sixty-four bytes long, never used for real data",
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("start the server"),
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/_health")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let hello: duet::serde_json::Value = client
        .get(format!("{base}/api/hello/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hello["hello"], "{{project-name}}");
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>{{project-name}}</title>")
    );
}
