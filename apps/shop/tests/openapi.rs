//! The OpenAPI document: generated from the shop's declarations, valid OpenAPI 3.1 (checked
//! by `openapi-spec-validator`), listing every route, served at `/api/schema/` with Swagger
//! UI at `/api/docs/` from files in the binary.

mod common;

use common::{Server, run, shop, stdout};
use serde_json::{Value, json};

/// The document as the `openapi` command prints it.
fn printed(dir: &std::path::Path) -> Value {
    let output = run(shop(dir, None, &["openapi"]));
    assert!(output.status.success(), "{}", common::stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("the openapi command prints JSON")
}

#[test]
#[allow(clippy::print_stderr)] // says it was skipped, as the other service-backed tests do
fn the_document_is_valid_openapi_3_1() {
    let dir = tempfile::tempdir().unwrap();
    let document = printed(dir.path());
    assert_eq!(document["openapi"], "3.1.0");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let validated = std::process::Command::new("openapi-spec-validator").arg(&file).output();
    match validated {
        Ok(output) => assert!(
            output.status.success(),
            "openapi-spec-validator refuses the document:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "skipped: openapi-spec-validator is not installed ({error}); `pip install openapi-spec-validator` runs this check"
            );
        }
        Err(error) => panic!("CI must install openapi-spec-validator (PyPI): {error}"),
    }
}

#[test]
fn every_backend_route_is_in_the_document() {
    let checked = shop::app().check().expect("the shop passes its check");
    let paths = checked.openapi()["paths"].as_object().unwrap();
    let mut seen = 0;
    // The admin is staff HTML, not part of the API the document describes.
    let api_routes = checked.routes().iter().filter(|(_, base)| base != duet::admin::PREFIX);
    for (route, _base) in api_routes {
        let template = route.path.replace("{file:.*}", "{file}");
        for method in route.methods.iter().filter(|m| m.as_str() != "HEAD") {
            let operation = &paths
                .get(&template)
                .unwrap_or_else(|| panic!("{template} is not in the document"))[method.as_str().to_ascii_lowercase()];
            assert!(operation.is_object(), "{method} {template} is not in the document");
            seen += 1;
        }
    }
    assert!(
        seen >= 14,
        "the accounts, the plain handler, the viewset and the docs: {seen}"
    );
}

#[test]
fn the_viewset_is_described_from_the_model() {
    let document = shop::app().check().unwrap().openapi().clone();
    let order = &document["components"]["schemas"]["Order"]["properties"];
    assert_eq!(order["total"]["type"], "string", "money is a decimal string");
    assert_eq!(order["total"]["pattern"], "^-?[0-9]+\\.[0-9]{2}$");
    assert_eq!(
        order["status"]["enum"],
        json!(["pending", "paid", "shipped", "cancelled"])
    );
    assert_eq!(order["client_reference"]["readOnly"], true);
    assert_eq!(order["customer"]["readOnly"], true, "the owner is set by the server");
    let input = &document["components"]["schemas"]["OrderInput"];
    assert_eq!(input["required"], json!(["total", "currency"]));
    assert_eq!(input["properties"]["currency"]["maxLength"], 3);
    assert!(input["properties"].get("client_reference").is_none());

    let list = &document["paths"]["/api/v1/orders/"]["get"];
    let parameters: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for expected in ["status", "status__in", "currency", "ordering", "page", "page_size"] {
        assert!(parameters.contains(&expected), "{expected} in {parameters:?}");
    }
    assert!(
        !parameters.contains(&"total"),
        "only the declared filters: {parameters:?}"
    );
    let ordering = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ordering")
        .unwrap();
    assert_eq!(
        ordering["schema"]["pattern"],
        "^-?(placed_at|total|id)(,-?(placed_at|total|id))*$"
    );
    assert_eq!(
        list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PaginatedOrderList"
    );
    let cancel = &document["paths"]["/api/v1/orders/{id}/cancel/"]["post"];
    assert_eq!(cancel["summary"], "Cancel a pending or paid order.");
    assert_eq!(cancel["security"][0], json!({"session": [], "csrf": []}));
    assert_eq!(cancel["security"][1], json!({"token": []}));
    let summary = &document["paths"]["/api/v1/orders/summary/"]["get"];
    assert_eq!(
        summary["responses"]["200"]["content"]["application/json"]["schema"]["required"],
        json!(["pending", "paid", "shipped", "cancelled"])
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        (schemes["session"]["in"].as_str(), schemes["session"]["name"].as_str()),
        (Some("cookie"), Some("sessionid"))
    );
    assert_eq!(schemes["csrf"]["name"], "X-CSRFToken");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    let plain = &document["paths"]["/api/orders/"]["get"];
    assert_eq!(
        plain["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OrdersOut"
    );
    assert!(
        document["components"]["schemas"]["OrderSummary"].is_object(),
        "referenced by OrdersOut"
    );
}

#[tokio::test]
async fn the_document_and_its_docs_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let expected = printed(dir.path());
    let server = Server::start(shop(dir.path(), None, &[])).await;
    let schema = reqwest::get(server.url("/api/schema/")).await.unwrap();
    assert_eq!(schema.status(), 200);
    assert_eq!(schema.headers()["content-type"], "application/vnd.oai.openapi+json");
    assert_eq!(
        schema.json::<Value>().await.unwrap(),
        expected,
        "the CLI prints what is served"
    );

    let page = reqwest::get(server.url("/api/docs/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("//cdn") && !html.contains("https://"),
        "no file from elsewhere: {html}"
    );
    for file in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer.js"] {
        assert!(html.contains(file), "the page loads {file}");
        let response = reqwest::get(server.url(&format!("/api/docs/{file}"))).await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        if file == "swagger-initializer.js" {
            assert!(
                response.text().await.unwrap().contains("/api/schema/"),
                "Swagger UI reads the document"
            );
        }
    }
    let missing = reqwest::get(server.url("/api/docs/nothing.js")).await.unwrap();
    assert_eq!(missing.status(), 404);
}
