//! The JSON API of the real `notes` binary over HTTP, on both backends: `/api/notes/` as
//! docs/tutorial.md shows it.

mod common;

use common::{Server, make_user, token};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::{Value, json};

/// The titles `auth` gets from `GET /api/notes/{query}`.
async fn titles(server: &Server, auth: &str, query: &str) -> Vec<String> {
    let response = reqwest::Client::new()
        .get(server.url(&format!("/api/notes/{query}")))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    let list: Value = response.json().await.unwrap();
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn the_api_serves_each_user_their_own_notes(test: &TestDb) {
        let server = Server::start(&test.url).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let bob = make_user(&test.db, "bob", "pw").await;
        let (ada, bob) = (token(&test.db, &ada).await, token(&test.db, &bob).await);
        let client = reqwest::Client::new();
        let send = |request: reqwest::RequestBuilder, auth: &str| {
            let request = request.header("authorization", auth);
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
                (status, location, response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };

        let post = |body: Value| client.post(server.url("/api/notes/")).json(&body);
        let (status, location, first) = send(post(json!({"title": "Milk", "body": "Two litres."})), &ada).await;
        assert_eq!(status, 201, "{first}");
        let id = first["id"].as_i64().unwrap();
        assert_eq!(location.as_deref(), Some(format!("/api/notes/{id}/").as_str()));
        assert_eq!((first["title"].as_str(), first["body"].as_str()), (Some("Milk"), Some("Two litres.")));
        assert!(first["created_at"].as_str().unwrap().ends_with('Z'), "{first}");
        let (status, _, second) = send(post(json!({"title": "Call Bob", "body": "About Friday."})), &ada).await;
        assert_eq!(status, 201);
        let (status, _, bobs) = send(post(json!({"title": "Bob's", "body": "Private."})), &bob).await;
        assert_eq!(status, 201);

        // Invalid input: DRF's shape, nothing written.
        let (status, _, errors) = send(post(json!({"title": " ", "body": "x".repeat(10_001)})), &ada).await;
        assert_eq!(status, 400);
        assert_eq!(errors["title"], json!(["This field may not be blank."]));
        assert_eq!(errors["body"], json!(["Ensure this field has no more than 10000 characters."]));

        // Ada sees her two notes, newest first; Bob's do not exist for her.
        let (status, _, list) = send(client.get(server.url("/api/notes/")), &ada).await;
        assert_eq!(status, 200);
        assert_eq!(list["count"], 2, "{list}");
        let titles: Vec<&str> = list["results"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Call Bob", "Milk"]);
        let (_, _, by_title) = send(client.get(server.url("/api/notes/?ordering=title")), &ada).await;
        assert_eq!(by_title["results"][0]["title"], "Call Bob");
        let bobs_url = server.url(&format!("/api/notes/{}/", bobs["id"]));
        assert_eq!(send(client.get(&bobs_url), &ada).await.0, 404);
        assert_eq!(send(client.delete(&bobs_url), &ada).await.0, 404);

        // Partial update, then delete.
        let second_url = server.url(&format!("/api/notes/{}/", second["id"]));
        let (status, _, patched) = send(client.patch(&second_url).json(&json!({"body": "About Saturday."})), &ada).await;
        assert_eq!((status, patched["title"].as_str(), patched["body"].as_str()), (200, Some("Call Bob"), Some("About Saturday.")));
        assert_eq!(send(client.delete(&second_url), &ada).await.0, 204);
        assert_eq!(send(client.get(&second_url), &ada).await.0, 404);

        // Without a token or a session: refused.
        let anonymous = client.get(server.url("/api/notes/")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let (status, _, root) = send(client.get(server.url("/api/")), &ada).await;
        assert_eq!(status, 200);
        assert!(root["notes"].as_str().unwrap().ends_with("/api/notes/"), "{root}");
    }

    async fn the_model_gives_the_api_filters_search_and_validation(test: &TestDb) {
        let server = Server::start(&test.url).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let ada = token(&test.db, &ada).await;
        let client = reqwest::Client::new();
        let post = |body: Value| client.post(server.url("/api/notes/")).header("authorization", &ada).json(&body).send();
        for (title, body) in [("Milk", "Two litres."), ("Call Bob", "About Friday."), ("Bread", "Rye, not milk bread.")] {
            assert_eq!(post(json!({"title": title, "body": body})).await.unwrap().status(), 201);
        }

        // ?search= looks in the text fields, ignoring case; newest first still.
        assert_eq!(titles(&server, &ada, "?search=MILK").await, ["Bread", "Milk"]);
        assert_eq!(titles(&server, &ada, "?search=friday").await, ["Call Bob"]);
        // Every field filters, with Django's lookups.
        assert_eq!(titles(&server, &ada, "?title=Milk").await, ["Milk"]);
        assert_eq!(titles(&server, &ada, "?title__in=Milk,Bread&ordering=title").await, ["Bread", "Milk"]);
        let unknown = client.get(server.url("/api/notes/?colour=red")).header("authorization", &ada).send().await.unwrap();
        assert_eq!(unknown.status(), 400);
        assert_eq!(
            unknown.json::<Value>().await.unwrap(),
            json!({"detail": "Unknown query parameter \"colour\". Filter fields: id, owner, title, body, created_at."})
        );

        // The model's validation, in DRF's words: what the tutorial shows.
        let invalid = post(json!({"title": ""})).await.unwrap();
        assert_eq!(invalid.status(), 400);
        assert_eq!(
            invalid.text().await.unwrap(),
            r#"{"body":["This field is required."],"title":["This field may not be blank."]}"#
        );
        assert_eq!(titles(&server, &ada, "").await.len(), 3, "nothing written");
    }
}
