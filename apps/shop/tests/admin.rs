//! The staff admin at `/admin` over real HTTP, on both backends: login and back, search,
//! filters, sorting, pages, a bulk action after its confirmation, row actions, validation
//! errors next to the fields, history, stale edits refused (two saves racing: one wins), rows
//! deleted meanwhile,
//! permissions through groups, crafted requests, and the live change list.

mod common;

use std::time::Duration;

use common::{Browser, Server, make_order, make_user, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{
    AdminLogEntry, Group, GroupMember, ListQuery, Lookup, Model, NewGroup, NewGroupMember, NewPermissionGrant,
    PermissionAction, PermissionGrant, Scope, User,
};
use reqwest::Method;
use serde_json::json;
use shop::orders::{Order, OrderChanges, OrderStatus};

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

    async fn two_saves_racing_one_wins_and_the_other_is_shown_the_difference(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        staff_user(test, "boss", true).await;
        staff_user(test, "clerk", true).await;
        let ada = make_user(&test.db, "ada", "pw").await;

        // The model's conditional update, from two tasks released together by a barrier.
        let order = make_order(&test.db, &ada, 1250, "paid").await;
        let unchanged: serde_json::Map<String, serde_json::Value> =
            order.to_json().into_iter().filter(|(k, _)| ["total", "currency", "status"].contains(&k.as_str())).collect();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let race = |currency: &'static str| {
            let (db, barrier, unchanged) = (test.db.clone(), barrier.clone(), unchanged.clone());
            tokio::spawn(async move {
                let changes = OrderChanges { currency: Some(currency.into()), ..OrderChanges::default() };
                barrier.wait().await;
                Order::update_unchanged(&db, Scope::All, order.id, &unchanged, changes).await
            })
        };
        let (usd, gbp) = (race("USD"), race("GBP"));
        let (usd, gbp) = (usd.await.unwrap(), gbp.await.unwrap());
        let winner = match (&usd, &gbp) {
            (Ok(row), Err(duet_models::Error::NotFound)) | (Err(duet_models::Error::NotFound), Ok(row)) => row.currency.clone(),
            other => panic!("exactly one save wins: {other:?}"),
        };
        assert_eq!(Order::get(&test.db, Scope::All, order.id).await.unwrap().currency, winner);

        // Through the admin: two staff open the same order and save at once, three times over.
        let url = format!("/admin/shop/order/{}/", order.id);
        let (mut boss, _) = Staff::login(&server, "boss", &url).await;
        let (mut clerk, _) = Staff::login(&server, "clerk", &url).await;
        let mut before = winner;
        for (mine, theirs) in [("CHF", "JPY"), ("SEK", "NOK"), ("AUD", "CAD")] {
            let (a, b) = (boss.get(&url).await, clerk.get(&url).await);
            let (a, b) = (hidden(&a.html, "_original"), hidden(&b.html, "_original"));
            let form_a = [("_original", a.as_str()), ("total", "12.50"), ("currency", mine), ("status", "paid")];
            let form_b = [("_original", b.as_str()), ("total", "12.50"), ("currency", theirs), ("status", "paid")];
            let (a, b) = tokio::join!(boss.post(&url, &form_a), clerk.post(&url, &form_b));
            let (won, lost) = match (a.status, b.status) {
                (303, 409) => (mine, b),
                (409, 303) => (theirs, a),
                other => panic!("exactly one save wins: {other:?}"),
            };
            assert!(lost.html.contains("Someone else changed this order since you opened it."));
            assert!(lost.html.contains(&format!("<del>{before}</del> → <ins>{won}</ins>")), "the difference: {}", lost.html);
            assert_eq!(Order::get(&test.db, Scope::All, order.id).await.unwrap().currency, won, "no lost update");
            before = won.to_owned();
        }
    }

    async fn users_are_added_with_a_password_and_grants_name_registered_models(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        staff_user(test, "boss", true).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let order = make_order(&test.db, &ada, 1250, "paid").await;
        let (mut staff, _) = Staff::login(&server, "boss", "/admin/auth/user/add/").await;

        // The add form: a username and the password twice, never filled in again.
        let form = staff.get("/admin/auth/user/add/").await;
        assert_eq!(form.status, 200);
        assert!(form.html.contains("type=\"password\" name=\"password1\"") && form.html.contains("name=\"password2\""));
        assert!(!form.html.contains("password_hash"), "the hash is no field");
        let secret = "correct horse battery";
        let add = |username: &'static str, confirmation: &'static str| [("username", username), ("password1", secret), ("password2", confirmation)];
        let mismatch = staff.post("/admin/auth/user/add/", &add("carol", "staple")).await;
        assert_eq!(mismatch.status, 400);
        assert!(mismatch.html.contains("The two password fields didn’t match.") && mismatch.html.contains("value=\"carol\""));
        assert!(!mismatch.html.contains(secret), "a password is never sent back");
        let taken = staff.post("/admin/auth/user/add/", &add("ada", secret)).await;
        assert!(taken.status == 400 && taken.html.contains("A user with that username already exists."));
        let crafted = staff.post("/admin/auth/user/add/", &[("username", "eve"), ("password1", "x"), ("password2", "x"), ("is_superuser", "true")]).await;
        assert!(crafted.status == 400 && crafted.html.contains("&quot;is_superuser&quot;"), "only the form's fields");
        let added = staff.post("/admin/auth/user/add/", &add("carol", secret)).await;
        assert_eq!(added.status, 303);
        let carol = User::by_username(&test.db, "carol").await.unwrap();
        assert_eq!(added.location.as_deref(), Some(format!("/admin/auth/user/{}/", carol.id).as_str()), "then the rest of the user");
        assert!(carol.password_hash.starts_with("$argon2id$") && !carol.is_staff);
        assert!(User::authenticate(&test.db, "carol", secret).await.unwrap().is_some());
        let change = staff.get(&format!("/admin/auth/user/{}/", carol.id)).await;
        assert!(change.html.contains(&format!("href=\"/admin/auth/user/{}/password/\"", carol.id)), "a link to change the password");
        assert!(!change.html.contains("$argon2id$"));
        // The rest of the user on its change form (booleans compared in the conditional UPDATE).
        let original = hidden(&change.html, "_original");
        let form = [("_original", original.as_str()), ("username", "carol"), ("email", "carol@example.com"), ("is_active", "true"), ("is_staff", "true")];
        assert_eq!(staff.post(&format!("/admin/auth/user/{}/", carol.id), &form).await.status, 303);
        let carol = User::by_id(&test.db, carol.id).await.unwrap();
        assert!(carol.is_staff && !carol.is_superuser && carol.email == "carol@example.com");

        // Changing the password: twice, the same; then only the new one logs in.
        let url = format!("/admin/auth/user/{}/password/", carol.id);
        assert_eq!(staff.get(&url).await.status, 200);
        let new = "tr0ub4dor and then some";
        let mismatch = staff.post(&url, &[("password1", new), ("password2", "other")]).await;
        assert!(mismatch.status == 400 && !mismatch.html.contains(new));
        let empty = staff.post(&url, &[("password1", ""), ("password2", "")]).await;
        assert!(empty.status == 400 && empty.html.contains("This field is required."));
        let changed = staff.post(&url, &[("password1", new), ("password2", new)]).await;
        assert_eq!((changed.status, changed.location.as_deref()), (303, Some(format!("/admin/auth/user/{}/", carol.id).as_str())));
        assert!(User::authenticate(&test.db, "carol", secret).await.unwrap().is_none());
        assert!(User::authenticate(&test.db, "carol", new).await.unwrap().is_some());
        let history = staff.get(&format!("/admin/auth/user/{}/history/", carol.id)).await;
        assert!(history.html.contains("Added") && history.html.contains("change_password"));
        let logged = AdminLogEntry::list(&test.db, &ListQuery::new(Scope::All)).await.unwrap();
        let text = serde_json::to_string(&logged.iter().map(|e| e.changes.0.clone()).collect::<Vec<_>>()).unwrap();
        assert!(!text.contains(secret) && !text.contains(new) && !text.contains("argon2"), "never logged: {text}");
        assert_eq!(staff.get(&format!("/admin/shop/order/{}/password/", order.id)).await.status, 404, "orders have no password");

        // Permissions name a registered model, chosen from a select; anything else is refused.
        let grants = "/admin/auth/permission_grant/add/";
        let form = staff.get(grants).await;
        assert!(form.html.contains("<select id=\"f-model\" name=\"model\""), "{}", form.html);
        assert!(form.html.contains("<option value=\"shop.order\">shop.order</option>"));
        let carol_id = carol.id.to_string();
        let refused = staff.post(grants, &[("user", &carol_id), ("model", "shop.invoice"), ("action", "view")]).await;
        assert_eq!(refused.status, 400);
        assert!(refused.html.contains("Select a valid choice. shop.invoice is not one of the available choices."));
        assert_eq!(PermissionGrant::count(&test.db, &ListQuery::new(Scope::All)).await.unwrap(), 0);
        assert_eq!(staff.post(grants, &[("user", &carol_id), ("model", "shop.order"), ("action", "view")]).await.status, 303);
        let saved = PermissionGrant::list(&test.db, &ListQuery::new(Scope::All)).await.unwrap();
        assert_eq!((saved.len(), saved[0].model.as_str()), (1, "shop.order"));
        let edit = format!("/admin/auth/permission_grant/{}/", saved[0].id);
        let original = hidden(&staff.get(&edit).await.html, "_original");
        let crafted = staff.post(&edit, &[("_original", &original), ("user", &carol_id), ("model", "notes.secret"), ("action", "view")]).await;
        assert!(crafted.status == 400 && crafted.html.contains("notes.secret is not one of the available choices"));
    }

    async fn select_all_matching_acts_on_every_matching_row(test: &TestDb) {
        use diesel_async::SimpleAsyncConnection;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        staff_user(test, "boss", true).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        // One more than a batch: 1,001 paid orders whose reference says "bulk_".
        let rows = match test.db.backend() {
            "postgres" => "SELECT i FROM generate_series(1, 1001) AS i",
            _ => "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) SELECT i FROM n",
        };
        let sql = format!(
            "INSERT INTO orders (customer_id, total_cents, currency, status, placed_at, client_reference) \
             SELECT {}, 100, 'EUR', 'paid', '2026-01-01 00:00:00', 'ord_bulk_' || i FROM ({rows}) AS s",
            ada.id
        );
        duet_models::db_run!(test.db, |conn| conn.batch_execute(&sql).await).unwrap();
        let bulk = |status: &'static str| ListQuery::new(Scope::All).filter(Order::STATUS, status).search("bulk_", vec![Order::CLIENT_REFERENCE.into()]);
        let (mut staff, _) = Staff::login(&server, "boss", "/admin/shop/order/").await;
        assert!(staff.get("/admin/shop/order/?status=paid&q=bulk_").await.html.contains("1001 orders"));

        let form = [("action", "mark_shipped"), ("_filters", "status=paid&q=bulk_"), ("_select_across", "1")];
        let confirm = staff.post("/admin/shop/order/action/", &form).await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.html.contains("1001 orders, every one matching the list’s filters and search"), "{}", confirm.html);
        assert!(confirm.html.contains("and 951 more") && !confirm.html.contains("name=\"_selected\""));
        assert!(confirm.html.contains("name=\"_select_across\" value=\"1\""));
        assert_eq!(Order::count(&test.db, &bulk("paid")).await.unwrap(), 1001, "nothing before the confirmation");

        let mut confirmed = form.to_vec();
        confirmed.push(("confirm", "yes"));
        let done = staff.post("/admin/shop/order/action/", &confirmed).await;
        assert_eq!((done.status, done.location.as_deref()), (303, Some("/admin/shop/order/?status=paid&q=bulk_")));
        assert_eq!(Order::count(&test.db, &bulk("shipped")).await.unwrap(), 1001, "every matching row, past the first batch");
        let list = staff.get("/admin/shop/order/?status=paid&q=bulk_").await;
        assert!(list.html.contains("Mark shipped: 1001 orders in 2 batches of up to 1000."), "{}", list.html);
        let logged = AdminLogEntry::count(&test.db, &ListQuery::new(Scope::All).filter(AdminLogEntry::ACTION_NAME, "mark_shipped")).await.unwrap();
        assert_eq!(logged, 1001, "one log entry per row");

        // Nothing matches any more: said, and nothing done.
        let none = staff.post("/admin/shop/order/action/", &confirmed).await;
        assert_eq!(none.status, 303);
        assert!(staff.get("/admin/shop/order/").await.html.contains("No orders match: nothing to act on."));
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
