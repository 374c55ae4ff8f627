//! Behind a real TLS-terminating reverse proxy: Debian's nginx (`DUET_TEST_NGINX`), with a
//! self-signed certificate made by `openssl`, in front of the shop. The proxy's forwarded
//! scheme, host and client address count; the same headers sent straight to the shop by
//! an untrusted address do not.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Browser, Server, free_port, make_user, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};

/// nginx connects to the shop from this address, the only one the shop trusts; the test's
/// own requests come from 127.0.0.1.
const PROXY_ADDRESS: &str = "127.0.0.2";

/// nginx in the foreground with its own prefix and configuration; killed on drop.
struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(nginx: &str, dir: &Path, upstream: &str) -> Nginx {
        let port = free_port();
        let conf = format!(
            r#"daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
{locations}
    }}
}}
"#,
            dir = dir.display(),
            locations = locations(upstream),
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .args(["-p", &dir.display().to_string(), "-c", "nginx.conf"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, port }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `location` blocks of docs/deployment.md's snippet, pointed at `upstream` and
/// connecting from [`PROXY_ADDRESS`].
fn locations(upstream: &str) -> String {
    let guide = include_str!("../../../docs/deployment.md");
    let start = guide.find("    location / {").expect("the guide's nginx snippet");
    let end = start + guide[start..].find("\n}\n").expect("the end of the server block");
    guide[start..end]
        .replace("http://shop", &format!("http://{upstream}"))
        .replace(
            "proxy_http_version 1.1;",
            &format!("proxy_http_version 1.1;\n        proxy_bind {PROXY_ADDRESS};"),
        )
}

/// A certificate for `localhost` and 127.0.0.1 in `dir` (`cert.pem`, `key.pem`), signed by
/// a self-signed authority made for the test: the authority's certificate, for the client.
fn certificate(dir: &Path) -> Vec<u8> {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(status.success(), "openssl {args:?} failed");
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-days",
                "1",
                "-subj",
                "/CN=duet test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ][..],
            &ec,
        ]
        .concat(),
    );
    openssl(
        &[
            &[
                "req",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
            ][..],
            &ec,
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-days",
        "1",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    std::fs::read(dir.join("ca.pem")).unwrap()
}

fn secure_cookie(response: &reqwest::Response, name: &str) -> bool {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with(&format!("{name}=")))
        .any(|v| v.split(';').any(|part| part.trim().eq_ignore_ascii_case("secure")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_csrf_work_over_https_through_nginx_and_forged_headers_are_ignored() {
    let Some(nginx) = required_env("DUET_TEST_NGINX", "reverse proxy (nginx)") else {
        return;
    };
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("shop.log");
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_ENV", "production")
        .env("DUET_SECRET_KEY", "0123456789abcdef".repeat(4))
        .env("DUET_ALLOWED_HOSTS", "localhost,127.0.0.1")
        .env("DUET_TRUSTED_PROXIES", PROXY_ADDRESS)
        .env("DUET_LOG_FORMAT", "json")
        .env("RUST_LOG", "duet::http=info");
    let server = Server::start_logged(cmd, &log).await;
    make_user(&test.db, "ada", "ada-pw").await;
    let cert = certificate(dir.path());
    let proxy = Nginx::start(&nginx, dir.path(), server.base.trim_start_matches("http://"));

    // Over https through nginx: the shop sees the scheme and host the browser used.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let mut browser = Browser {
        client,
        base: format!("https://localhost:{}", proxy.port),
        csrf: String::new(),
    };
    browser.refresh_csrf().await;
    let login = browser
        .unsafe_request(reqwest::Method::POST, "/accounts/login/")
        .header("X-Forwarded-For", "203.0.113.7")
        .json(&serde_json::json!({"username": "ada", "password": "ada-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "Origin {} accepted", browser.base);
    assert!(secure_cookie(&login, "sessionid"), "the session cookie is Secure");
    assert!(secure_cookie(&login, "csrftoken"), "the CSRF cookie is Secure");
    browser.refresh_csrf().await;
    let (status, me) = browser.get_json("/accounts/me/").await;
    assert_eq!((status, me["user"]["username"].as_str()), (200, Some("ada")));
    let (status, root) = browser.get_json("/api/v1/").await;
    assert_eq!(status, 200);
    assert_eq!(
        root["orders"],
        format!("https://localhost:{}/api/v1/orders/", proxy.port),
        "links use the forwarded scheme and host"
    );
    let foreign = browser
        .client
        .post(browser.url("/accounts/logout/"))
        .header("X-CSRFToken", &browser.csrf)
        .header("Origin", format!("http://localhost:{}", proxy.port))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "the http:// origin is not this https site");
    let logout = browser
        .unsafe_request(reqwest::Method::POST, "/accounts/logout/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        logout.status(),
        200,
        "a session-authenticated unsafe request passes CSRF"
    );

    // Straight to the shop from an untrusted address: forwarding headers are ignored.
    let direct = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let mut browser = Browser {
        client: direct,
        base: server.base.clone(),
        csrf: String::new(),
    };
    browser.refresh_csrf().await;
    let forged_https = browser
        .client
        .post(browser.url("/accounts/login/"))
        .header("X-CSRFToken", &browser.csrf)
        .header("Origin", server.base.replace("http://", "https://"))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-For", "203.0.113.9")
        .header("Forwarded", "for=203.0.113.10;proto=https")
        .json(&serde_json::json!({"username": "ada", "password": "ada-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged_https.status(),
        403,
        "a forged X-Forwarded-Proto makes no https origin"
    );
    let detail = forged_https.json::<serde_json::Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("Origin checking failed"), "{detail}");
    let forged_host = browser
        .client
        .get(browser.url("/accounts/me/"))
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged_host.status(),
        401,
        "the forged host is ignored, not refused nor used"
    );

    // The log names the client nginx saw (127.0.0.1), never the proxy's own address nor
    // the forged ones.
    drop(proxy);
    drop(server);
    let lines = std::fs::read_to_string(&log).unwrap();
    let clients: Vec<String> = lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| line["client"].as_str().map(str::to_owned))
        .collect();
    assert!(clients.len() >= 8, "a line per request: {lines}");
    assert!(clients.iter().all(|c| c == "127.0.0.1"), "{clients:?}");
}
