//! The staff admin at `/admin` over real HTTP, on both backends: login and back, search,
//! filters, sorting, pages, a bulk action after its confirmation, row actions, validation
//! errors next to the fields, history, stale edits refused, rows deleted meanwhile,
//! permissions through groups, crafted requests, and the live change list.

mod common;

use std::time::Duration;

use common::{Browser, Server, make_order, make_user, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{
    Group, GroupMember, ListQuery, Lookup, Model, NewGroup, NewGroupMember, NewPermissionGrant, PermissionAction,
    PermissionGrant, Scope, User,
};
use reqwest::Method;
use serde_json::json;
use shop::orders::{Order, OrderStatus};

/// A cookie-keeping client that uses the admin as a browser does: HTML forms with the
/// session's CSRF token in `csrfmiddlewaretoken`.
struct Staff {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

struct Page {
    status: u16,
    location: Option<String>,
    html: String,
}

impl Staff {
    fn new(server: &Server) -> Staff {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Staff {
            client,
            base: server.base.clone(),
            csrf: String::new(),
        }
    }

    /// Logs in through the admin's login page, as someone sent there from `next`.
    async fn login(server: &Server, username: &str, next: &str) -> (Staff, Page) {
        let mut staff = Staff::new(server);
        let redirected = staff.get(next).await;
        assert_eq!(redirected.status, 302, "anonymous visitors go to the login page");
        let login = redirected.location.unwrap();
        assert!(login.starts_with("/admin/login/?next="), "{login}");
        let form = staff.get(&login).await;
        assert_eq!(form.status, 200);
        staff.csrf = hidden(&form.html, "csrfmiddlewaretoken");
        let next_field = hidden(&form.html, "next");
        assert_eq!(next_field, next);
        let done = staff
            .post(
                "/admin/login/",
                &[("username", username), ("password", "pw"), ("next", &next_field)],
            )
            .await;
        (staff, done)
    }

    async fn get(&mut self, path: &str) -> Page {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        self.page(response).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        pairs.push(("csrfmiddlewaretoken", &self.csrf));
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .form(&pairs)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    async fn page(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let html = response.text().await.unwrap();
        if html.contains("name=\"csrfmiddlewaretoken\"") {
            self.csrf = hidden(&html, "csrfmiddlewaretoken");
        }
        Page { status, location, html }
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the form field `name` on the page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
    unescape(&html[start..start + html[start..].find('"').unwrap()])
}

/// The ids of the change list's rows, in order.
fn pks(html: &str) -> Vec<i64> {
    html.split("data-pk=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

async fn staff_user(test: &TestDb, name: &str, superuser: bool) -> User {
    let new = duet_models::NewUser {
        username: name.into(),
        password: "pw".into(),
        is_staff: true,
        is_superuser: superuser,
        ..Default::default()
    };
    User::create(&test.db, new).await.unwrap()
}

async fn status_of(test: &TestDb, id: i64) -> OrderStatus {
    Order::get(&test.db, Scope::All, id).await.unwrap().status
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn staff_search_filter_sort_page_and_ship_after_a_confirmation(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        staff_user(test, "boss", true).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let bob = make_user(&test.db, "bob", "pw").await;
        let mut orders = Vec::new();
        for i in 0..55 {
            let customer = if i % 5 == 0 { &bob } else { &ada };
            let status = if i % 3 == 0 { "paid" } else { "pending" };
            orders.push(make_order(&test.db, customer, 100 + i, status).await);
        }

        let (mut staff, done) = Staff::login(&server, "boss", "/admin/shop/order/").await;
        assert_eq!((done.status, done.location.as_deref()), (303, Some("/admin/shop/order/")), "back where it was sent from");
        // The server seeded its demo data at start-up: the expectations ask the database.
        let count = |query: ListQuery| async move { Order::count(&test.db, &query).await.unwrap() };
        let ids = |query: ListQuery| async move { Order::list(&test.db, &query).await.unwrap().iter().map(|o| o.id).collect::<Vec<_>>() };
        let all = ListQuery::new(Scope::All);
        let total = count(all.clone()).await;
        let index = staff.get("/admin/").await;
        assert_eq!(index.status, 200);
        assert!(index.html.contains(&format!("data-count=\"shop.order\">{total}<")), "the index counts the orders");

        // Newest first, 50 to a page; the last page has the rest.
        let newest = all.clone().order_by(Order::PLACED_AT, true);
        let first = staff.get("/admin/shop/order/").await;
        assert_eq!(first.status, 200);
        assert!(first.html.contains(&format!("{total} orders")), "the count");
        assert_eq!(pks(&first.html), ids(newest.clone().window(50, 0)).await);
        let second = staff.get("/admin/shop/order/?p=2").await;
        assert_eq!(pks(&second.html), ids(newest.clone().window(50, 50)).await);

        // Search by id, by client reference, by the customer's name.
        let target = &orders[7];
        assert!(pks(&staff.get(&format!("/admin/shop/order/?q={}", target.id)).await.html).contains(&target.id));
        assert_eq!(pks(&staff.get(&format!("/admin/shop/order/?q=%23{}", target.id)).await.html), [target.id], "#id: the id alone");
        let reference = &target.client_reference[4..14];
        assert_eq!(pks(&staff.get(&format!("/admin/shop/order/?q={reference}")).await.html), [target.id]);
        let bobs = pks(&staff.get("/admin/shop/order/?q=BOB").await.html);
        assert_eq!(bobs, ids(newest.clone().filter(Order::CUSTOMER, bob.id)).await, "bob's orders, by his username");
        assert_eq!(bobs.len(), 11);

        // Filter by status, sort by total both ways, a date range.
        let paid = staff.get("/admin/shop/order/?status=paid").await;
        let paid_count = count(all.clone().filter(Order::STATUS, "paid")).await;
        assert!(paid.html.contains(&format!("{paid_count} orders")));
        assert!(pks(&paid.html).len() as i64 == paid_count.min(50));
        let cheapest = pks(&staff.get("/admin/shop/order/?o=total").await.html);
        assert_eq!(cheapest, ids(all.clone().order_by(Order::TOTAL, false).order_by(Order::PLACED_AT, true).window(50, 0)).await);
        let dearest = staff.get("/admin/shop/order/?o=-total&status=pending").await;
        assert!(dearest.html.contains("aria-sort=\"descending\""));
        let pending = all.clone().filter(Order::STATUS, "pending").order_by(Order::TOTAL, true).order_by(Order::PLACED_AT, true);
        assert_eq!(pks(&dearest.html), ids(pending.window(50, 0)).await);
        let today = duet_models::now().date().to_string();
        let tomorrow = (duet_models::now().date() + chrono::Days::new(1)).to_string();
        let ranged = staff.get(&format!("/admin/shop/order/?placed_at__gte={today}&placed_at__lte={today}")).await;
        let today_count = count(
            all.clone()
                .filter_by(Order::PLACED_AT, Lookup::Gte, format!("{today}T00:00:00Z"))
                .filter_by(Order::PLACED_AT, Lookup::Lt, format!("{tomorrow}T00:00:00Z")),
        )
        .await;
        assert!(today_count >= 55);
        assert!(ranged.html.contains(&format!("{today_count} orders")));
        let none = staff.get(&format!("/admin/shop/order/?placed_at__gte={tomorrow}")).await;
        assert!(none.html.contains("0 orders"));

        // Select three, run "mark shipped": a confirmation first, then the action.
        let three: Vec<String> = [orders[0].id, orders[3].id, orders[6].id].iter().map(i64::to_string).collect();
        let mut form = vec![("action", "mark_shipped"), ("_filters", "status=paid")];
        form.extend(three.iter().map(|id| ("_selected", id.as_str())));
        let confirm = staff.post("/admin/shop/order/action/", &form).await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.html.contains("Mark shipped") && confirm.html.contains("3 orders"), "the confirmation lists them");
        assert_eq!(status_of(test, orders[0].id).await, OrderStatus::Paid, "nothing happens before the confirmation");
        form.push(("confirm", "yes"));
        let done = staff.post("/admin/shop/order/action/", &form).await;
        assert_eq!((done.status, done.location.as_deref()), (303, Some("/admin/shop/order/?status=paid")));
        for id in [orders[0].id, orders[3].id, orders[6].id] {
            assert_eq!(status_of(test, id).await, OrderStatus::Shipped);
        }
        let list = staff.get("/admin/shop/order/?status=paid").await;
        assert!(list.html.contains("3 orders marked shipped."), "the message");
        let history = staff.get("/admin/history/").await;
        assert_eq!(history.html.matches("Action: mark_shipped").count(), 3, "one entry per row");
        assert!(history.html.contains("<del>Paid</del> → <ins>Shipped</ins>"), "field by field");

        // A cancelled order among the selection stops the action before any ships.
        let cancelled = make_order(&test.db, &ada, 999, "cancelled").await;
        let pending = orders[1].id.to_string();
        let cancelled_id = cancelled.id.to_string();
        let refused = staff.post("/admin/shop/order/action/", &[("action", "mark_shipped"), ("_selected", &pending), ("_selected", &cancelled_id), ("confirm", "yes")]).await;
        assert_eq!(refused.status, 400);
        assert!(refused.html.contains("cannot be shipped"), "the model's message");
        assert_eq!(status_of(test, orders[1].id).await, OrderStatus::Pending);

        // The row action: cancel one order after its confirmation; a shipped one refuses.
        let path = format!("/admin/shop/order/{}/action/cancel/", orders[1].id);
        assert_eq!(staff.post(&path, &[]).await.status, 200);
        let done = staff.post(&path, &[("confirm", "yes")]).await;
        assert_eq!(done.status, 303);
        assert_eq!(status_of(test, orders[1].id).await, OrderStatus::Cancelled);
        let shipped = staff.post(&format!("/admin/shop/order/{}/action/cancel/", orders[0].id), &[("confirm", "yes")]).await;
        assert_eq!(shipped.status, 400);
        assert!(shipped.html.contains("A shipped order cannot be cancelled."));
    }

    async fn edits_show_validation_errors_refuse_stale_saves_and_keep_history(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        staff_user(test, "boss", true).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let order = make_order(&test.db, &ada, 1250, "paid").await;
        let url = format!("/admin/shop/order/{}/", order.id);
        let (mut staff, _) = Staff::login(&server, "boss", &url).await;

        let form = staff.get(&url).await;
        assert_eq!(form.status, 200);
        assert!(form.html.contains("<label for=\"f-total\">Total</label>"), "labelled widgets");
        assert!(form.html.contains("data-field=\"client_reference\""), "read-only fields are shown, not editable");
        assert!(!form.html.contains("name=\"client_reference\""));
        let original = hidden(&form.html, "_original");

        // The model's own rules, next to the fields.
        let invalid = staff.post(&url, &[("_original", &original), ("total", "-1"), ("currency", "eur"), ("status", "paid")]).await;
        assert_eq!(invalid.status, 400);
        assert!(invalid.html.contains("id=\"f-currency-errors\""), "the error is next to its field");
        assert!(invalid.html.contains("Use a three-letter ISO 4217 code such as &quot;EUR&quot;."));
        assert!(invalid.html.contains("Ensure this value is greater than or equal to 0.00."));
        assert_eq!(Order::get(&test.db, Scope::All, order.id).await.unwrap(), order, "nothing saved");

        let saved = staff.post(&url, &[("_original", &original), ("total", "13.00"), ("currency", "USD"), ("status", "paid")]).await;
        assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/admin/shop/order/")));
        let now = Order::get(&test.db, Scope::All, order.id).await.unwrap();
        assert_eq!((now.total.to_string(), now.currency.as_str()), ("13.00".to_owned(), "USD"));
        let history = staff.get(&format!("{url}history/")).await;
        assert!(history.html.contains("<del>EUR</del> → <ins>USD</ins>") && history.html.contains("<del>12.50</del> → <ins>13.00</ins>"), "{}", history.html);
        assert!(history.html.contains("boss"));

        // Opened by two; the customer changes it through the API meanwhile: the save is refused.
        let form = staff.get(&url).await;
        let original = hidden(&form.html, "_original");
        let mut ada_api = Browser::new(&server).await;
        assert_eq!(ada_api.login("ada", "pw").await.status(), 200);
        let patched = ada_api.unsafe_request(Method::PATCH, &format!("/api/v1/orders/{}/", order.id)).json(&json!({"currency": "GBP"})).send().await.unwrap();
        assert_eq!(patched.status(), 200);
        let stale = staff.post(&url, &[("_original", &original), ("total", "14.00"), ("currency", "USD"), ("status", "shipped")]).await;
        assert_eq!(stale.status, 409);
        assert!(stale.html.contains("Someone else changed this order since you opened it."));
        assert!(stale.html.contains("<del>USD</del> → <ins>GBP</ins>"), "what changed meanwhile");
        let now = Order::get(&test.db, Scope::All, order.id).await.unwrap();
        assert_eq!((now.currency.as_str(), now.status), ("GBP", OrderStatus::Paid), "no lost update");
        // Saving again from the refused form overwrites knowingly.
        let again = hidden(&stale.html, "_original");
        assert_eq!(staff.post(&url, &[("_original", &again), ("total", "14.00"), ("currency", "USD"), ("status", "shipped")]).await.status, 303);
        assert_eq!(status_of(test, order.id).await, OrderStatus::Shipped);

        // Deleted meanwhile: the save says so.
        let form = staff.get(&url).await;
        let original = hidden(&form.html, "_original");
        Order::delete(&test.db, Scope::All, order.id).await.unwrap();
        let gone = staff.post(&url, &[("_original", &original), ("total", "1.00"), ("currency", "USD"), ("status", "paid")]).await;
        assert_eq!(gone.status, 410);
        assert!(gone.html.contains("was deleted by someone else since you opened it"));

        // Add, then delete with its confirmation; both in the history.
        let customer = ada.id.to_string();
        let added = staff.post("/admin/shop/order/add/", &[("customer", &customer), ("total", "5.00"), ("currency", "EUR"), ("status", "pending")]).await;
        assert_eq!(added.status, 303);
        let id: i64 = added.location.unwrap().split('/').nth(4).unwrap().parse().unwrap();
        assert_eq!(Order::get(&test.db, Scope::Owner(ada.id), id).await.unwrap().total.to_string(), "5.00", "the chosen customer owns it");
        let confirm = staff.get(&format!("/admin/shop/order/{id}/delete/")).await;
        assert!(confirm.status == 200 && confirm.html.contains("This cannot be undone."));
        assert_eq!(staff.post(&format!("/admin/shop/order/{id}/delete/"), &[]).await.status, 303);
        assert!(Order::get(&test.db, Scope::All, id).await.is_err());
        let history = staff.get(&format!("/admin/shop/order/{id}/history/")).await;
        assert!(history.html.contains("Added") && history.html.contains("Deleted"));
    }

    async fn permissions_are_checked_on_every_request(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let order = make_order(&test.db, &ada, 1250, "paid").await;
        let url = format!("/admin/shop/order/{}/", order.id);

        // Not staff: 403, whatever the page.
        let (mut customer, done) = Staff::login(&server, "ada", "/admin/").await;
        assert_eq!(done.status, 303);
        let refused = customer.get("/admin/").await;
        assert_eq!(refused.status, 403);
        assert!(refused.html.contains("is not a staff account"));
        assert_eq!(customer.get(&url).await.status, 403);

        // Staff without permissions: no models, every model page 403.
        let clerk = staff_user(test, "clerk", false).await;
        let (mut staff, _) = Staff::login(&server, "clerk", "/admin/").await;
        let index = staff.get("/admin/").await;
        assert!(index.status == 200 && index.html.contains("You have no permission on any model yet."));
        assert_eq!(staff.get("/admin/shop/order/").await.status, 403);
        assert_eq!(staff.get(&url).await.status, 403);

        // View through a group: read-only pages; a crafted change is refused.
        let group = Group::create(&test.db, NewGroup { name: "Support".into() }).await.unwrap();
        GroupMember::create(&test.db, NewGroupMember { user: clerk.id.into(), group: group.id.into() }).await.unwrap();
        let grant = |user: Option<i64>, group: Option<i64>, action| NewPermissionGrant { user: user.map(Into::into), group: group.map(Into::into), model: "shop.order".into(), action };
        PermissionGrant::create(&test.db, grant(None, Some(group.id), PermissionAction::View)).await.unwrap();
        let list = staff.get("/admin/shop/order/").await;
        assert_eq!(list.status, 200);
        assert!(!list.html.contains("name=\"_selected\""), "no bulk actions without change permission");
        assert!(!list.html.contains("data-count=\"auth.user\""), "other models stay hidden");
        assert_eq!(staff.get("/admin/auth/user/").await.status, 403);
        let form = staff.get(&url).await;
        assert!(form.status == 200 && form.html.contains("You may view this order but not change it."));
        assert!(!form.html.contains("name=\"status\""), "no inputs");
        let original = hidden(&form.html, "_original");
        let crafted = staff.post(&url, &[("_original", &original), ("status", "cancelled")]).await;
        assert_eq!(crafted.status, 403);
        let bulk = staff.post("/admin/shop/order/action/", &[("action", "mark_shipped"), ("_selected", &order.id.to_string())]).await;
        assert_eq!(bulk.status, 403);
        assert_eq!(staff.post(&format!("{url}delete/"), &[]).await.status, 403);
        assert_eq!(status_of(test, order.id).await, OrderStatus::Paid);

        // Change granted to the user directly: read-only and unknown fields are still refused.
        PermissionGrant::create(&test.db, grant(Some(clerk.id), None, PermissionAction::Change)).await.unwrap();
        for (field, value) in [("client_reference", "ord_mine"), ("customer", "1"), ("id", "99"), ("placed_at", "2020-01-01T00:00"), ("favourite", "x")] {
            let crafted = staff.post(&url, &[("_original", &original), ("status", "paid"), (field, value)]).await;
            assert_eq!(crafted.status, 400, "{field}");
            assert!(crafted.html.contains(&format!("&quot;{field}&quot;")), "the error names {field}");
        }
        assert_eq!(Order::get(&test.db, Scope::All, order.id).await.unwrap(), order);
        let saved = staff.post(&url, &[("_original", &original), ("status", "shipped"), ("total", "12.50"), ("currency", "EUR")]).await;
        assert_eq!(saved.status, 303);
        assert_eq!(staff.post(&format!("{url}delete/"), &[]).await.status, 403, "still no delete");

        // Unknown models, rows and actions.
        assert_eq!(staff.get("/admin/shop/invoice/").await.status, 404);
        assert_eq!(staff.get("/admin/notes/order/").await.status, 404, "another app's name");
        assert_eq!(staff.get("/admin/shop/order/999999/").await.status, 404);
        assert_eq!(staff.get("/admin/shop/order/abc/").await.status, 404);
        assert_eq!(staff.get("/admin/shop/order/?secret=1").await.status, 400, "an unknown filter");
        assert_eq!(staff.get("/admin/shop/order/?o=favourite").await.status, 400, "an unknown ordering");
        let unknown = staff.post("/admin/shop/order/action/", &[("action", "refund"), ("_selected", "1")]).await;
        assert_eq!(unknown.status, 400);
        // A form without its CSRF token is refused before any handler.
        let forged = staff.client.post(format!("{}{url}", server.base)).header("Origin", &server.base).form(&[("status", "cancelled")]).send().await.unwrap();
        assert_eq!(forged.status(), 403);
        assert_eq!(status_of(test, order.id).await, OrderStatus::Shipped);
    }

    async fn the_change_list_hears_changes_made_elsewhere(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        staff_user(test, "boss", true).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let order = make_order(&test.db, &ada, 1250, "pending").await;
        let (mut staff, _) = Staff::login(&server, "boss", "/admin/shop/order/").await;
        let mut live = staff.client.get(format!("{}/admin/shop/order/live/", server.base)).send().await.unwrap();
        assert_eq!(live.status(), 200);
        assert_eq!(live.headers()["content-type"], "text/event-stream");
        let first = live.chunk().await.unwrap().unwrap();
        assert_eq!(&first[..], b": live\n\n");

        let mut ada_api = Browser::new(&server).await;
        assert_eq!(ada_api.login("ada", "pw").await.status(), 200);
        let patched = ada_api.unsafe_request(Method::PATCH, &format!("/api/v1/orders/{}/", order.id)).json(&json!({"status": "paid"})).send().await.unwrap();
        assert_eq!(patched.status(), 200);
        let event = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let chunk = live.chunk().await.unwrap().unwrap();
                let text = String::from_utf8_lossy(&chunk).into_owned();
                if text.starts_with("event: change") {
                    return text;
                }
            }
        })
        .await
        .expect("a change event");
        assert!(event.contains(&format!("\"id\":{}", order.id)), "{event}");
        let rows = staff.get("/admin/shop/order/?_rows=1").await;
        assert!(rows.html.starts_with("<tbody>") && rows.html.contains(">Paid<"), "the refetched rows");
    }
}
