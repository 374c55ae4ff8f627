//! The mount router over real HTTP: prefixes, reserved paths, the SPA catch-all and assets.

mod common;

use common::{Server, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};

async fn get(client: &reqwest::Client, url: String) -> reqwest::Response {
    client.get(url).send().await.expect("request")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn prefixes_route_to_http_and_everything_else_to_the_spa(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let c = client();
        // (path, status, is the SPA shell)
        let table: &[(&str, u16, bool)] = &[
            ("/", 200, true),
            ("/login", 200, true),
            // Paths no page has: the shell with the 404 page, and HTTP 404.
            ("/apix", 404, true),
            ("/api-docs", 404, true),
            ("/API/orders/", 404, true),
            ("/api", 404, false),
            ("/api/", 404, false),
            ("/api/nope/", 404, false),
            ("/api/v1/nope/", 404, false),
            ("/webhooks/unknown/", 404, false),
            ("/accounts/unknown/", 404, false),
            ("/_duet/unknown.js", 404, false),
            ("/_duet", 404, false),
            ("/_duetx", 404, true),
            ("/_eventx", 404, true),
        ];
        for (path, status, shell) in table {
            let response = get(&c, server.url(path)).await;
            assert_eq!(response.status().as_u16(), *status, "{path}");
            let ct = content_type(&response);
            let body = response.text().await.unwrap();
            if *shell {
                assert!(ct.starts_with("text/html"), "{path}: {ct}");
                assert!(body.contains("<meta name=\"csrf-token\""), "{path}");
            } else {
                assert!(ct.starts_with("application/json"), "{path}: {ct}");
                assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["detail"], "Not found.", "{path}");
            }
        }
        // Pages that need a login send anonymous visitors to the login page, and back.
        for (path, next) in [("/orders", "%2Forders"), ("/orders/7?x=1", "%2Forders%2F7%3Fx%3D1")] {
            let response = get(&c, server.url(path)).await;
            assert_eq!(response.status(), 302, "{path}");
            assert_eq!(response.headers()["location"], format!("/login?next={next}").as_str());
        }
        // A backend route reached without its trailing slash redirects to it (method kept).
        let redirect = get(&c, server.url("/api/v1/orders?page=2")).await;
        assert_eq!(redirect.status(), 308);
        assert_eq!(redirect.headers()["location"], "/api/v1/orders/?page=2");
        // The API root lists the viewsets (anonymous may see the index).
        assert_eq!(get(&c, server.url("/_health")).await.status(), 200);
    }

    async fn the_shell_and_assets_are_cacheable_and_safe(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let c = client();
        let shell = get(&c, server.url("/")).await;
        assert!(shell.headers().get_all("set-cookie").iter().any(|v| v.to_str().unwrap().starts_with("csrftoken=")), "the shell sets the CSRF cookie");
        let html = shell.text().await.unwrap();
        let css = html.split("href=\"").nth(1).and_then(|s| s.split('"').next()).expect("a stylesheet link").to_owned();
        assert!(css.starts_with("/static/shop.") && css.ends_with(".css"), "{css}");

        // The runtime and the app spec: content-hashed, immutable, under /_duet/.
        for (prefix, suffix, ct) in [("/_duet/duet.", ".js", "text/javascript"), ("/_duet/app.", ".json", "application/json")] {
            let url = html.split('"').find(|s| s.starts_with(prefix) && s.ends_with(suffix)).unwrap_or_else(|| panic!("{prefix}…{suffix} in {html}")).to_owned();
            let file = get(&c, server.url(&url)).await;
            assert_eq!(file.status(), 200, "{url}");
            assert!(content_type(&file).starts_with(ct), "{url}: {}", content_type(&file));
            assert!(file.headers()["cache-control"].to_str().unwrap().contains("immutable"), "{url}");
        }
        assert!(html.contains(r#"<script id="duet-boot" type="application/json">{"user":null}</script>"#), "{html}");
        let asset = get(&c, server.url(&css)).await;
        assert_eq!(asset.status(), 200);
        assert_eq!(content_type(&asset), "text/css; charset=utf-8");
        assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
        assert!(asset.headers().contains_key("last-modified"));
        let etag = asset.headers()["etag"].to_str().unwrap().to_owned();
        assert!(asset.text().await.unwrap().contains("--accent"));

        let cached = c.get(server.url(&css)).header("If-None-Match", &etag).send().await.unwrap();
        assert_eq!(cached.status(), 304);
        let head = c.head(server.url(&css)).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert!(head.headers()["content-length"].to_str().unwrap().parse::<u64>().unwrap() > 0);
        assert_eq!(head.text().await.unwrap(), "");
        assert_eq!(c.head(server.url("/login")).send().await.unwrap().status(), 200, "HEAD works on pages");

        // Path traversal, plain and encoded, never reaches a file.
        for path in ["/static/../Cargo.toml", "/static/%2e%2e/Cargo.toml", "/static/..%2fCargo.toml", "/%2e%2e/%2e%2e/etc/passwd", "/static//shop.css"] {
            let response = get(&c, server.url(path)).await;
            let body = response.text().await.unwrap();
            assert!(!body.contains("[package]") && !body.contains("root:"), "{path} leaked a file");
        }
        // An unknown asset-looking path is not an asset.
        assert_eq!(get(&c, server.url("/static/nope.3f2a1b9c0d.css")).await.status(), 404);

        // Pages answer GET and HEAD only.
        let post = c.post(server.url("/orders")).send().await.unwrap();
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()["allow"], "GET, HEAD");
    }
}

#[test]
fn shop_routes_prints_the_table_and_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(shop(dir.path(), None, &["routes"]));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    for needle in [
        "/api",
        "/webhooks",
        "/accounts",
        "/_event",
        "/_health",
        "/api/orders/",
        "/api/v1/orders/{id}/",
        "GET, HEAD, PUT, PATCH, DELETE",
        "/accounts/login/",
        "/_duet/*",
        "(page \"Your orders · Shop\", login required)",
        "/orders/{id}",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
