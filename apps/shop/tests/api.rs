//! The JSON API over real HTTP: the plain handler, every viewset action, pagination,
//! filtering, ordering, isolation between users and bad input — on both backends.

mod common;

use common::{Browser, Server, make_order, make_user, send, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use reqwest::Method;
use serde_json::{Value, json};

async fn logged_in(server: &Server, test: &TestDb, name: &str) -> (Browser, duet_models::User) {
    let user = make_user(&test.db, name, "pw").await;
    let mut browser = Browser::new(server).await;
    assert_eq!(browser.login(name, "pw").await.status(), 200);
    (browser, user)
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn the_plain_handler_lists_only_my_orders(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let (ada, ada_user) = logged_in(&server, test, "ada").await;
        let bob = make_user(&test.db, "bob", "pw").await;
        let mine = make_order(&test.db, &ada_user, 1250, "pending").await;
        make_order(&test.db, &bob, 999, "paid").await;

        let (status, body) = ada.get_json("/api/orders/").await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"orders": [{"id": mine.id, "status": "pending", "total": "12.50"}]}));

        let anonymous = reqwest::get(server.url("/api/orders/")).await.unwrap();
        assert_eq!(anonymous.status(), 401);
        assert_eq!(anonymous.headers()["content-type"], "application/json");
        let key = duet_models::ApiToken::issue(&test.db, bob.id).await.unwrap();
        let (status, body) = send(reqwest::Client::new().get(server.url("/api/orders/")).header("Authorization", format!("Token {key}"))).await;
        assert_eq!((status, body["orders"][0]["total"].as_str()), (200, Some("9.99")));
    }

    async fn viewset_crud_is_scoped_to_the_user(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let (ada, _) = logged_in(&server, test, "ada").await;
        let (bob, _) = logged_in(&server, test, "bob").await;

        let (status, created) = send(ada.unsafe_request(Method::POST, "/api/v1/orders/").json(&json!({"total": "12.50", "currency": "EUR"}))).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!((created["total"].as_str(), created["status"].as_str()), (Some("12.50"), Some("pending")));
        let id = created["id"].as_i64().unwrap();
        let detail = format!("/api/v1/orders/{id}/");

        assert_eq!(ada.get_json(&detail).await, (200, created.clone()));
        let (status, updated) = send(ada.unsafe_request(Method::PATCH, &detail).json(&json!({"status": "paid"}))).await;
        assert_eq!((status, updated["status"].as_str(), updated["total"].as_str()), (200, Some("paid"), Some("12.50")));
        let (status, replaced) = send(ada.unsafe_request(Method::PUT, &detail).json(&json!({"total": 20, "currency": "USD", "status": "shipped"}))).await;
        assert_eq!((status, replaced["total"].as_str(), replaced["currency"].as_str()), (200, Some("20.00"), Some("USD")));
        // PUT needs every writable field; read-only fields are ignored.
        let (status, errors) = send(ada.unsafe_request(Method::PUT, &detail).json(&json!({"status": "paid", "id": 999, "customer": 1}))).await;
        assert_eq!(status, 400);
        assert_eq!(errors, json!({"currency": ["This field is required."], "total": ["This field is required."]}));

        // Bob cannot see, change or delete Ada's order: it does not exist for him.
        for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
            let (status, body) = send(bob.unsafe_request(method.clone(), &detail).json(&json!({"status": "cancelled"}))).await;
            assert_eq!((status, body["detail"].as_str()), (404, Some("Not found.")), "{method}");
        }
        assert_eq!(bob.get_json("/api/v1/orders/").await.1["count"], 0);
        assert_eq!(ada.get_json(&detail).await.1["status"], "shipped", "bob changed nothing");

        // The extra action: cancel, refused once shipped; 404 for someone else's order.
        let (status, body) = send(ada.unsafe_request(Method::POST, &format!("{detail}cancel/"))).await;
        assert_eq!((status, body["non_field_errors"][0].as_str()), (400, Some("A shipped order cannot be cancelled.")));
        assert_eq!(send(bob.unsafe_request(Method::POST, &format!("{detail}cancel/"))).await.0, 404);
        let (status, pending) = send(ada.unsafe_request(Method::POST, "/api/v1/orders/").json(&json!({"total": "1", "currency": "EUR"}))).await;
        assert_eq!(status, 201);
        let (status, cancelled) = send(ada.unsafe_request(Method::POST, &format!("/api/v1/orders/{}/cancel/", pending["id"]))).await;
        assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
        assert_eq!(ada.client.get(ada.url(&format!("{detail}cancel/"))).send().await.unwrap().status(), 405);

        let deleted = ada.unsafe_request(Method::DELETE, &detail).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        assert_eq!(ada.get_json(&detail).await.0, 404);
        assert_eq!(ada.get_json("/api/v1/orders/abc/").await.0, 404);

        let (status, root) = ada.get_json("/api/v1/").await;
        assert_eq!((status, root["orders"].as_str()), (200, Some(format!("{}/api/v1/orders/", server.base).as_str())));
    }

    async fn lists_paginate_filter_and_order(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let (ada, user) = logged_in(&server, test, "ada").await;
        for n in 0..25 {
            make_order(&test.db, &user, 100 * (n + 1), if n % 5 == 0 { "paid" } else { "pending" }).await;
        }
        let (status, first) = ada.get_json("/api/v1/orders/").await;
        assert_eq!((status, first["count"].as_i64()), (200, Some(25)));
        assert_eq!(first["results"].as_array().unwrap().len(), 20);
        assert_eq!(first["previous"], Value::Null);
        let next = first["next"].as_str().unwrap().to_owned();
        assert_eq!(next, format!("{}/api/v1/orders/?page=2", server.base));
        let (_, second) = send(ada.client.get(&next)).await;
        assert_eq!(second["results"].as_array().unwrap().len(), 5);
        assert_eq!(second["next"], Value::Null);
        assert_eq!(second["previous"].as_str().unwrap(), format!("{}/api/v1/orders/?page=1", server.base));

        let (_, small) = ada.get_json("/api/v1/orders/?page_size=10&page=3").await;
        assert_eq!(small["results"].as_array().unwrap().len(), 5);
        let (_, capped) = ada.get_json("/api/v1/orders/?page_size=1000").await;
        assert_eq!(capped["results"].as_array().unwrap().len(), 25, "page_size is capped at 100");
        for bad_page in ["?page=0", "?page=4", "?page=x"] {
            let (status, body) = ada.get_json(&format!("/api/v1/orders/{bad_page}")).await;
            assert_eq!((status, body["detail"].as_str()), (404, Some("Invalid page.")), "{bad_page}");
        }

        let (_, paid) = ada.get_json("/api/v1/orders/?status=paid&ordering=-total").await;
        let totals: Vec<&str> = paid["results"].as_array().unwrap().iter().map(|o| o["total"].as_str().unwrap()).collect();
        assert_eq!(totals, ["21.00", "16.00", "11.00", "6.00", "1.00"]);
        assert_eq!(paid["count"], 5);
        let (_, ascending) = ada.get_json("/api/v1/orders/?ordering=total&page_size=2").await;
        assert_eq!(ascending["results"][0]["total"], "1.00");

        // The collection's own action: reachable beside the detail route `{id}/`.
        let (status, summary) = ada.get_json("/api/v1/orders/summary/").await;
        assert_eq!(status, 200, "{summary}");
        assert_eq!(summary, json!({"pending": 20, "paid": 5, "shipped": 0, "cancelled": 0}));
        let (status, _) = send(ada.unsafe_request(Method::POST, "/api/v1/orders/summary/")).await;
        assert_eq!(status, 405);
        let anonymous = reqwest::get(server.url("/api/v1/orders/summary/")).await.unwrap();
        assert_eq!(anonymous.status(), 401);

        let cases = [
            ("?colour=red", 400, "detail"),
            ("?ordering=client_reference", 400, "detail"),
            ("?status=lost", 400, "status"),
            ("?status=paid&status=pending", 400, "detail"),
        ];
        for (query, status, key) in cases {
            let (got, body) = ada.get_json(&format!("/api/v1/orders/{query}")).await;
            assert_eq!(got, status, "{query}: {body}");
            assert!(body.get(key).is_some(), "{query}: {body}");
        }
    }

    async fn bad_input_gets_precise_errors(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let (ada, _) = logged_in(&server, test, "ada").await;
        let list = "/api/v1/orders/";
        let post = |body: &str, content_type: &str| {
            ada.unsafe_request(Method::POST, list).header("content-type", content_type.to_owned()).body(body.to_owned())
        };
        let (status, body) = send(post("{\"total\": ", "application/json")).await;
        assert_eq!(status, 400);
        assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error"), "{body}");
        let (status, body) = send(post("[1, 2]", "application/json")).await;
        assert_eq!((status, body), (400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})));
        let (status, body) = send(post("total=1", "application/x-www-form-urlencoded")).await;
        assert_eq!(status, 415, "{body}");
        let huge = format!("{{\"total\": \"1.00\", \"currency\": \"EUR\", \"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
        let (status, body) = send(post(&huge, "application/json")).await;
        assert_eq!((status, body["detail"].as_str()), (413, Some("Request body exceeds the limit of 1048576 bytes.")));
        let (status, body) = send(post("{\"total\": \"-3\", \"currency\": \"euro\", \"status\": \"lost\"}", "application/json")).await;
        assert_eq!(status, 400);
        assert_eq!(body["total"][0], "Ensure this value is greater than or equal to 0.00.", "DRF's min_value message");
        assert_eq!(body["currency"][0], "Ensure this field has no more than 3 characters.");
        assert_eq!(body["status"][0], "\"lost\" is not a valid choice.");

        let put_list = ada.unsafe_request(Method::PUT, list).json(&json!({})).send().await.unwrap();
        assert_eq!(put_list.status(), 405);
        assert_eq!(put_list.headers()["allow"], "GET, HEAD, POST");
        assert_eq!(put_list.json::<Value>().await.unwrap()["detail"], "Method \"PUT\" not allowed.");

        // The server is still fine afterwards.
        assert_eq!(ada.get_json(list).await.0, 200);
    }
}
