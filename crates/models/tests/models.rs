//! duet-models against real databases: every query and migration on SQLite and PostgreSQL.

use std::time::Duration;

use duet_models::testing::TestDb;
use duet_models::{
    ApiToken, Claim, Db, DbConfig, Error, FRAMEWORK_MIGRATIONS, ListQuery, Model, NewUser, Scope, TokenCheck,
    TokenScope, TokenSpec, User, WebhookDelivery,
};

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        password: format!("{name}-password"),
        ..NewUser::default()
    }
}

async fn user(db: &Db, name: &str) -> User {
    User::create(db, new_user(name)).await.expect("create user")
}

duet_models::db_tests! {
    migrations: [FRAMEWORK_MIGRATIONS];

    async fn migrating_twice_is_a_no_op(db: Db) {
        let again = db.migrate(&[FRAMEWORK_MIGRATIONS]).await.expect("second migrate");
        assert!(again.is_empty(), "nothing left to apply, got {again:?}");
        db.ping().await.expect("ping");
    }

    async fn users_are_created_with_hashed_passwords(db: Db) {
        let ada = User::create(&db, NewUser { email: " ada@example.com ".into(), ..new_user("ada") }).await.unwrap();
        assert_eq!(ada.username, "ada");
        assert_eq!(ada.email, "ada@example.com");
        assert!(ada.is_active && !ada.is_staff && !ada.is_superuser);
        assert!(ada.password_hash.starts_with("$argon2id$"));
        assert!(!ada.password_hash.contains("ada-password"));
        assert_eq!(User::by_id(&db, ada.id).await.unwrap(), ada);
        assert_eq!(User::by_username(&db, "ada").await.unwrap(), ada);

        let root = User::create(&db, NewUser { is_superuser: true, ..new_user("root") }).await.unwrap();
        assert!(root.is_staff, "a superuser is staff");
    }

    async fn usernames_are_unique_and_required(db: Db) {
        user(&db, "ada").await;
        assert!(matches!(User::create(&db, new_user("ada")).await, Err(Error::UniqueViolation(_))));
        assert!(matches!(User::create(&db, new_user("  ")).await, Err(Error::Config(_))));
        let empty_password = NewUser { password: String::new(), ..new_user("bob") };
        assert!(matches!(User::create(&db, empty_password).await, Err(Error::Config(_))));
        assert!(matches!(User::by_id(&db, 999_999).await, Err(Error::NotFound)));
        assert!(matches!(User::by_username(&db, "nobody").await, Err(Error::NotFound)));
    }

    async fn authentication_checks_password_and_activity(db: Db) {
        let ada = user(&db, "ada").await;
        assert_eq!(User::authenticate(&db, "ada", "ada-password").await.unwrap(), Some(ada.clone()));
        assert_eq!(User::authenticate(&db, "ada", "wrong").await.unwrap(), None);
        assert_eq!(User::authenticate(&db, "nobody", "ada-password").await.unwrap(), None);
        assert_eq!(User::authenticate(&db, "ada", "").await.unwrap(), None);

        User::set_password(&db, ada.id, "new secret").await.unwrap();
        assert_eq!(User::authenticate(&db, "ada", "ada-password").await.unwrap(), None);
        assert!(User::authenticate(&db, "ada", "new secret").await.unwrap().is_some());

        User::set_active(&db, ada.id, false).await.unwrap();
        assert_eq!(User::authenticate(&db, "ada", "new secret").await.unwrap(), None, "inactive users are refused");
        assert!(matches!(User::set_password(&db, 999_999, "x").await, Err(Error::NotFound)));
    }

    async fn api_tokens_store_only_a_hash(db: Db) {
        let ada = user(&db, "ada").await;
        let key = ApiToken::issue(&db, ada.id).await.unwrap();
        assert!(key.len() >= 40, "{key}");
        let other = ApiToken::issue(&db, ada.id).await.unwrap();
        assert_ne!(key, other);

        let stored: Vec<String> = {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use duet_models::schema::api_tokens;
            duet_models::db_run!(db, |conn| api_tokens::table.select(api_tokens::key_hash).load(conn).await).unwrap()
        };
        assert_eq!(stored.len(), 2);
        assert!(!stored.contains(&key), "the plain token is never stored");
        assert!(stored.contains(&ApiToken::hash_key(&key)));

        let now = duet_models::now();
        assert!(matches!(ApiToken::authenticate(&db, &key, now).await.unwrap(), TokenCheck::Valid { user, .. } if user.id == ada.id));
        assert_eq!(ApiToken::authenticate(&db, "not-a-token", now).await.unwrap(), TokenCheck::Invalid);
        User::set_active(&db, ada.id, false).await.unwrap();
        assert_eq!(ApiToken::authenticate(&db, &key, now).await.unwrap(), TokenCheck::Invalid, "inactive users' tokens fail");
        assert_eq!(ApiToken::revoke_all(&db, ada.id).await.unwrap(), 2);
    }

    async fn tokens_expire_are_scoped_and_record_their_last_use(db: Db) {
        let ada = user(&db, "ada").await;
        let now = duet_models::now();
        let spec = TokenSpec { scope: TokenScope::Read, ..TokenSpec::named(" ci ").unwrap() }.expires_in("30d", now).unwrap();
        assert_eq!(spec.name, "ci");
        let (token, key) = ApiToken::issue_with(&db, ada.id, spec).await.unwrap();
        assert_eq!(token.expires_at, Some(now + chrono::Duration::days(30)));
        assert_eq!(token.last_used_at, None);

        let check = ApiToken::authenticate(&db, &key, now).await.unwrap();
        assert_eq!(check, TokenCheck::Valid { user: ada.clone(), scope: TokenScope::Read });
        let used = ApiToken::get(&db, Scope::All, token.id).await.unwrap();
        assert_eq!(used.last_used_at, Some(now), "the first use is recorded");

        // Within LAST_USED_PRECISION a use writes nothing; after it, it is recorded again.
        let soon = now + chrono::Duration::seconds(59);
        assert!(matches!(ApiToken::authenticate(&db, &key, soon).await.unwrap(), TokenCheck::Valid { .. }));
        assert_eq!(ApiToken::get(&db, Scope::All, token.id).await.unwrap().last_used_at, Some(now));
        let later = now + chrono::Duration::minutes(2);
        assert!(matches!(ApiToken::authenticate(&db, &key, later).await.unwrap(), TokenCheck::Valid { .. }));
        assert_eq!(ApiToken::get(&db, Scope::All, token.id).await.unwrap().last_used_at, Some(later));

        let expiry = now + chrono::Duration::days(30);
        assert_eq!(ApiToken::authenticate(&db, &key, expiry).await.unwrap(), TokenCheck::Expired);
        assert_eq!(ApiToken::get(&db, Scope::All, token.id).await.unwrap().last_used_at, Some(later), "an expired use is not a use");

        // Each user sees and revokes only their own; a revoked key is invalid.
        let bob = user(&db, "bob").await;
        let (bobs, bob_key) = ApiToken::issue_with(&db, bob.id, TokenSpec::named("laptop").unwrap()).await.unwrap();
        assert_eq!(ApiToken::of_user(&db, ada.id).await.unwrap().iter().map(|t| t.id).collect::<Vec<_>>(), [token.id]);
        assert!(matches!(ApiToken::revoke(&db, Scope::Owner(ada.id), bobs.id).await, Err(Error::NotFound)));
        assert!(matches!(ApiToken::authenticate(&db, &bob_key, now).await.unwrap(), TokenCheck::Valid { .. }));
        ApiToken::revoke(&db, Scope::Owner(bob.id), bobs.id).await.unwrap();
        assert_eq!(ApiToken::authenticate(&db, &bob_key, now).await.unwrap(), TokenCheck::Invalid);
        assert!(matches!(ApiToken::revoke(&db, Scope::All, bobs.id).await, Err(Error::NotFound)));
    }

    async fn tokens_issued_before_the_lifecycle_read_and_write_forever(db: Db) {
        use diesel_async::RunQueryDsl;
        let ada = user(&db, "ada").await;
        // A row as the code before names, scopes and expiries wrote it.
        let old_key = "a-token-issued-before-the-lifecycle";
        let insert = format!(
            "INSERT INTO api_tokens (user_id, key_hash, created_at) VALUES ({}, '{}', CURRENT_TIMESTAMP)",
            ada.id,
            ApiToken::hash_key(old_key)
        );
        duet_models::db_run!(db, |conn| diesel::sql_query(insert.clone()).execute(conn).await).unwrap();
        let token = ApiToken::of_user(&db, ada.id).await.unwrap().remove(0);
        assert_eq!((token.name.as_str(), token.scope, token.expires_at), ("token", TokenScope::ReadWrite, None));
        let check = ApiToken::authenticate(&db, old_key, duet_models::now()).await.unwrap();
        assert_eq!(check, TokenCheck::Valid { user: ada, scope: TokenScope::ReadWrite });
    }

    async fn webhook_deliveries_are_claimed_once(db: Db) {
        let stale = chrono::Duration::minutes(5);
        assert_eq!(WebhookDelivery::claim(&db, "stripe", "evt_1", stale).await.unwrap(), Claim::Claimed);
        assert_eq!(WebhookDelivery::claim(&db, "stripe", "evt_1", stale).await.unwrap(), Claim::InProgress);
        assert_eq!(WebhookDelivery::claim(&db, "github", "evt_1", stale).await.unwrap(), Claim::Claimed, "ids are per provider");
        WebhookDelivery::complete(&db, "stripe", "evt_1").await.unwrap();
        assert_eq!(WebhookDelivery::claim(&db, "stripe", "evt_1", stale).await.unwrap(), Claim::AlreadyDone);
        assert_eq!(WebhookDelivery::done_count(&db, "stripe").await.unwrap(), 1);

        // A failed handler releases its claim, so the sender's retry runs it again.
        assert_eq!(WebhookDelivery::claim(&db, "stripe", "evt_2", stale).await.unwrap(), Claim::Claimed);
        WebhookDelivery::release(&db, "stripe", "evt_2").await.unwrap();
        assert_eq!(WebhookDelivery::claim(&db, "stripe", "evt_2", stale).await.unwrap(), Claim::Claimed);

        // A claim abandoned by a crashed handler is taken over once it is stale.
        assert_eq!(
            WebhookDelivery::claim(&db, "stripe", "evt_2", chrono::Duration::zero() - chrono::Duration::seconds(1)).await.unwrap(),
            Claim::Claimed
        );
        // Releasing never undoes a completed delivery.
        WebhookDelivery::release(&db, "stripe", "evt_1").await.unwrap();
        assert_eq!(WebhookDelivery::claim(&db, "stripe", "evt_1", stale).await.unwrap(), Claim::AlreadyDone);
    }

    async fn concurrent_claims_have_one_winner(db: Db) {
        let claims = futures_util::future::join_all((0..8).map(|_| {
            let db = db.clone();
            tokio::spawn(async move { WebhookDelivery::claim(&db, "standard", "msg_1", chrono::Duration::minutes(5)).await })
        }))
        .await;
        let claims: Vec<Claim> = claims.into_iter().map(|c| c.unwrap().unwrap()).collect();
        assert_eq!(claims.iter().filter(|c| **c == Claim::Claimed).count(), 1, "{claims:?}");
        assert!(claims.iter().all(|c| matches!(c, Claim::Claimed | Claim::InProgress)));
    }

    async fn model_lists_filter_order_and_scope(db: Db) {
        for name in ["carol", "alice", "bob"] {
            user(&db, name).await;
        }
        let staff = User::create(&db, NewUser { is_staff: true, ..new_user("dave") }).await.unwrap();
        let names = |users: Vec<User>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();

        let all = User::list(&db, &ListQuery::new(Scope::All)).await.unwrap();
        assert_eq!(names(all), ["carol", "alice", "bob", "dave"], "primary-key order by default");

        let by_name = ListQuery::new(Scope::All).order_by("username", false);
        assert_eq!(names(User::list(&db, &by_name).await.unwrap()), ["alice", "bob", "carol", "dave"]);
        let desc = ListQuery::new(Scope::All).order_by("username", true).window(2, 1);
        assert_eq!(names(User::list(&db, &desc).await.unwrap()), ["carol", "bob"]);
        assert_eq!(User::count(&db, &desc).await.unwrap(), 4, "count ignores the window");

        let staff_only = ListQuery::new(Scope::All).filter("is_staff", true);
        assert_eq!(names(User::list(&db, &staff_only).await.unwrap()), ["dave"]);
        assert_eq!(User::count(&db, &staff_only).await.unwrap(), 1);

        let secret = ListQuery::new(Scope::All).filter("password_hash", "x");
        assert!(matches!(User::list(&db, &secret).await, Err(Error::Invalid(_))), "a secret field cannot be filtered on");
        let wrong_type = ListQuery::new(Scope::All).filter("is_staff", "maybe");
        assert!(matches!(User::count(&db, &wrong_type).await, Err(Error::Invalid(_))));
        let bad_order = ListQuery::new(Scope::All).order_by("email; drop table users", false);
        assert!(matches!(User::list(&db, &bad_order).await, Err(Error::Invalid(_))));

        // Users have no owner: an owner scope sees none of them.
        assert!(User::list(&db, &ListQuery::new(Scope::Owner(staff.id))).await.unwrap().is_empty());
        assert!(matches!(User::get(&db, Scope::Owner(staff.id), staff.id).await, Err(Error::NotFound)));
        assert_eq!(User::get(&db, Scope::All, staff.id).await.unwrap(), staff);

        let json = staff.to_json();
        assert_eq!(json["username"], "dave");
        assert!(json["created_at"].as_str().unwrap().ends_with('Z'));
        assert!(!json.contains_key("password_hash"), "secrets never reach JSON");
        assert!(User::field("password_hash").is_some_and(|f| f.secret), "a column, marked secret");

        User::delete(&db, Scope::All, staff.id).await.unwrap();
        assert!(matches!(User::delete(&db, Scope::All, staff.id).await, Err(Error::NotFound)));
    }
}

async fn concurrent_first_migrations(url: &str) {
    let a = Db::connect_url(url).await.unwrap();
    let b = Db::connect_url(url).await.unwrap();
    let sets = [FRAMEWORK_MIGRATIONS];
    let (ra, rb) = tokio::join!(a.migrate(&sets), b.migrate(&sets));
    let (ra, rb) = (ra.expect("first instance"), rb.expect("second instance"));
    let framework = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/sqlite"))
        .unwrap()
        .count();
    assert_eq!(
        ra.len() + rb.len(),
        framework,
        "each migration is applied exactly once: {ra:?} {rb:?}"
    );
    assert!(ra.is_empty() || rb.is_empty(), "by one instance: {ra:?} {rb:?}");
    assert!(a.migrate(&[FRAMEWORK_MIGRATIONS]).await.unwrap().is_empty());
    user(&a, "ada").await;
    assert_eq!(User::by_username(&b, "ada").await.unwrap().username, "ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_migrating_at_once_sqlite() {
    let empty = TestDb::sqlite(&[]).await;
    concurrent_first_migrations(&empty.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_migrating_at_once_postgres() {
    let Some(empty) = TestDb::postgres(&[]).await else {
        return;
    };
    concurrent_first_migrations(&empty.url).await;
}

#[tokio::test]
async fn in_memory_sqlite_is_one_database() {
    let db = Db::connect_url("sqlite://:memory:").await.unwrap();
    db.migrate(&[FRAMEWORK_MIGRATIONS]).await.unwrap();
    user(&db, "ada").await;
    // Many sequential checkouts all see the same in-memory database.
    for _ in 0..5 {
        assert_eq!(User::by_username(&db, "ada").await.unwrap().username, "ada");
    }
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let config = DbConfig::from_url("postgres://nobody@127.0.0.1:1/none")
        .unwrap()
        .connect_timeout(Duration::from_secs(2));
    let err = Db::connect(config).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn sqlite_file_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/deeper/app.sqlite3").display());
    let db = Db::connect_url(&url).await.unwrap();
    db.migrate(&[FRAMEWORK_MIGRATIONS]).await.unwrap();
    assert!(dir.path().join("nested/deeper/app.sqlite3").exists());
    assert_eq!(db.backend(), "sqlite");
}
