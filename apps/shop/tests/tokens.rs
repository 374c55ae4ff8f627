//! API tokens with a lifecycle over real HTTP, on both backends: issued, listed and revoked
//! from a session (CSRF-checked), never by a token; expiry, revocation and scope refused
//! with their reason; the last use recorded.

mod common;

use common::{Browser, Server, make_user, send, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{ApiToken, TokenScope, TokenSpec};
use reqwest::Method;
use serde_json::{Value, json};

/// `GET path` with `Authorization: Token key`, checked against the schema.
async fn get_with(server: &Server, key: &str, path: &str) -> (u16, Value) {
    send(
        reqwest::Client::new()
            .get(server.url(path))
            .header("Authorization", format!("Token {key}")),
    )
    .await
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn a_session_issues_lists_and_revokes_its_own_tokens(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        make_user(&test.db, "ada", "ada-pw").await;
        make_user(&test.db, "bob", "bob-pw").await;
        let mut ada = Browser::new(&server).await;
        assert_eq!(ada.login("ada", "ada-pw").await.status(), 200);

        // Issuing is an unsafe session request: CSRF-checked.
        let input = json!({"name": "ci", "scope": "read", "expires_in": "30d"});
        let refused = send(ada.client.post(ada.url("/accounts/tokens/")).json(&input)).await;
        assert_eq!(refused, (403, json!({"detail": "CSRF Failed: CSRF token missing."})));
        let (status, issued) = send(ada.unsafe_request(Method::POST, "/accounts/tokens/").json(&input)).await;
        assert_eq!(status, 201, "{issued}");
        assert_eq!((issued["name"].clone(), issued["scope"].clone(), issued["last_used_at"].clone()), (json!("ci"), json!("read"), Value::Null));
        let key = issued["key"].as_str().expect("the key, once").to_owned();
        let created = chrono::DateTime::parse_from_rfc3339(issued["created_at"].as_str().unwrap()).unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().unwrap()).unwrap();
        assert!(((expires - created) - chrono::Duration::days(30)).num_seconds().abs() <= 1);
        let (status, forever) = send(ada.unsafe_request(Method::POST, "/accounts/tokens/").json(&json!({"name": "laptop"}))).await;
        assert_eq!((status, forever["scope"].clone(), forever["expires_at"].clone()), (201, json!("read_write"), Value::Null));

        // Bad input: every field's error, in DRF's shape.
        let bad = json!({"scope": "admin", "expires_in": "soon"});
        let (status, errors) = send(ada.unsafe_request(Method::POST, "/accounts/tokens/").json(&bad)).await;
        assert_eq!(status, 400);
        assert_eq!(errors["name"], json!(["This field is required."]));
        assert_eq!(errors["scope"], json!(["\"admin\" is not a valid choice."]));
        assert!(errors["expires_in"][0].as_str().unwrap().starts_with("\"soon\" is not a lifetime"), "{errors}");

        // The read token reads, records its use, and may not write.
        assert_eq!(get_with(&server, &key, "/api/orders/").await.0, 200);
        let write = reqwest::Client::new().post(server.url("/api/orders/")).header("Authorization", format!("Bearer {key}"))
            .json(&json!({"total": "1.00", "currency": "EUR"}));
        let (status, body) = send(write).await;
        assert_eq!((status, body["detail"].clone()), (403, json!("This token's scope is read: POST needs a token with the read_write scope.")));

        // Listed newest first, with the last use, never the key or its hash.
        let (status, listed) = ada.get_json("/accounts/tokens/").await;
        assert_eq!(status, 200);
        let listed = listed.as_array().unwrap().clone();
        assert_eq!(listed.iter().map(|t| t["name"].clone()).collect::<Vec<_>>(), [json!("laptop"), json!("ci")]);
        assert!(listed[1]["last_used_at"].is_string(), "{listed:?}");
        assert!(listed[0]["last_used_at"].is_null(), "{listed:?}");
        let text = Value::Array(listed.clone()).to_string();
        assert!(!text.contains(&key) && !text.contains("key"), "{text}");

        // A token may not manage tokens, not even list them.
        let (status, body) = get_with(&server, forever["key"].as_str().unwrap(), "/accounts/tokens/").await;
        assert_eq!((status, body["detail"].clone()), (403, json!("API tokens are managed from a logged-in session, not with a token.")));
        let mint = reqwest::Client::new().post(server.url("/accounts/tokens/"))
            .header("Authorization", format!("Token {}", forever["key"].as_str().unwrap())).json(&json!({"name": "more"}));
        assert_eq!(send(mint).await.0, 403);
        let anonymous = send(reqwest::Client::new().get(server.url("/accounts/tokens/"))).await;
        assert_eq!(anonymous.0, 401);

        // Bob sees none of Ada's tokens and cannot revoke them.
        let mut bob = Browser::new(&server).await;
        assert_eq!(bob.login("bob", "bob-pw").await.status(), 200);
        assert_eq!(bob.get_json("/accounts/tokens/").await, (200, json!([])));
        let ci_path = format!("/accounts/tokens/{}/", issued["id"]);
        assert_eq!(send(bob.unsafe_request(Method::DELETE, &ci_path)).await, (404, json!({"detail": "Not found."})));
        assert_eq!(get_with(&server, &key, "/api/orders/").await.0, 200, "still Ada's");

        // Ada revokes it (CSRF-checked): it stops working at once, as an invalid token.
        assert_eq!(send(ada.client.delete(ada.url(&ci_path))).await.0, 403);
        assert_eq!(send(ada.unsafe_request(Method::DELETE, &ci_path)).await, (204, Value::Null));
        assert_eq!(get_with(&server, &key, "/api/orders/").await, (401, json!({"detail": "Invalid token."})));
        assert_eq!(send(ada.unsafe_request(Method::DELETE, &ci_path)).await.0, 404);
        assert_eq!(ada.get_json("/accounts/tokens/").await.1.as_array().unwrap().len(), 1);
    }

    async fn an_expired_token_is_refused_naming_why(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let ada = make_user(&test.db, "ada", "ada-pw").await;
        let past = duet_models::now() - chrono::Duration::seconds(1);
        let spec = TokenSpec { expires_at: Some(past), scope: TokenScope::ReadWrite, ..TokenSpec::named("old").unwrap() };
        let (_, key) = ApiToken::issue_with(&test.db, ada.id, spec).await.unwrap();
        let response = reqwest::Client::new().get(server.url("/api/orders/"))
            .header("Authorization", format!("Token {key}")).send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Token");
        assert_eq!(get_with(&server, &key, "/api/orders/").await, (401, json!({"detail": "Token has expired."})));
        let token = ApiToken::of_user(&test.db, ada.id).await.unwrap().remove(0);
        assert_eq!(token.last_used_at, None, "a refused use is not a use");
    }
}
