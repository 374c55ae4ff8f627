//! The framework CLI, run as the `shop` binary: migrate (and its list and revert),
//! createuser, changepassword, token, routes, check, and bad configuration, on both backends.

mod common;

use common::{run, run_with_stdin, shop, stderr, stdout};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{ApiToken, TokenCheck, TokenScope, User};

/// How many migrations there are in `dir` (one directory each): the framework's, then the shop's.
fn migrations_in(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn framework_migrations() -> usize {
    migrations_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/sqlite"))
}

fn all_migrations() -> usize {
    framework_migrations() + migrations_in(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn migrate_twice_is_a_no_op(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let first = run(shop(dir.path(), Some(&test.url), &["migrate"]));
        assert!(first.status.success(), "{}", stderr(&first));
        assert!(stdout(&first).starts_with(&format!("Applied {} migration(s)", all_migrations())), "{}", stdout(&first));
        let second = run(shop(dir.path(), Some(&test.url), &["migrate"]));
        assert!(second.status.success(), "{}", stderr(&second));
        assert_eq!(stdout(&second).trim(), "No migrations to apply.");
    }

    async fn concurrent_starts_apply_migrations_once(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let mut a = shop(dir.path(), Some(&test.url), &["migrate"]);
        let mut b = shop(dir.path(), Some(&test.url), &["migrate"]);
        let (a, b) = (a.output_handle(), b.output_handle());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success() && b.status.success(), "{}\n{}", stderr(&a), stderr(&b));
        let applied = |o: &std::process::Output| {
            stdout(o).strip_prefix("Applied ").map_or(0, |rest| rest.split(' ').next().unwrap().parse::<usize>().unwrap())
        };
        assert_eq!(applied(&a) + applied(&b), all_migrations(), "{} / {}", stdout(&a), stdout(&b));
        let third = run(shop(dir.path(), Some(&test.url), &["migrate"]));
        assert_eq!(stdout(&third).trim(), "No migrations to apply.");
    }

    async fn migrate_lists_and_reverts(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let listed = run(shop(dir.path(), Some(&test.url), &["migrate", "--list"]));
        assert!(listed.status.success(), "{}", stderr(&listed));
        let lines: Vec<String> = stdout(&listed).lines().map(str::to_owned).collect();
        // The framework's migrations, then the shop's.
        let framework = framework_migrations();
        assert_eq!(lines.len(), all_migrations(), "{lines:?}");
        assert!(lines[..framework].iter().all(|l| l.starts_with("[ ] duet ")), "{lines:?}");
        assert!(lines[framework..].iter().all(|l| l.starts_with("[ ] shop ")), "{lines:?}");

        assert!(run(shop(dir.path(), Some(&test.url), &["migrate"])).status.success());
        let listed = stdout(&run(shop(dir.path(), Some(&test.url), &["migrate", "--list"])));
        assert!(listed.lines().all(|l| l.starts_with("[X] ")), "{listed}");

        // Each revert takes back the last applied migration: the shop's, newest first.
        let version = |line: &String| line.rsplit(' ').next().unwrap().to_owned();
        let shop_versions: Vec<String> = lines[framework..].iter().map(version).collect();
        for shop_version in shop_versions.iter().rev() {
            let reverted = run(shop(dir.path(), Some(&test.url), &["migrate", "--revert"]));
            assert!(reverted.status.success(), "{}", stderr(&reverted));
            assert_eq!(stdout(&reverted).trim(), format!("Reverted migration {shop_version}."));
            let listed = stdout(&run(shop(dir.path(), Some(&test.url), &["migrate", "--list"])));
            assert!(listed.contains("[X] duet") && listed.contains(&format!("[ ] shop {shop_version}")), "{listed}");
        }
        // The orders table is gone with its migration, and comes back with the next migrate.
        let all = duet_models::ListQuery::new(duet_models::Scope::All);
        assert!(<shop::orders::Order as duet_models::Model>::count(&test.db, &all).await.is_err());
        let again = run(shop(dir.path(), Some(&test.url), &["migrate"]));
        assert_eq!(
            stdout(&again).trim(),
            format!("Applied {} migration(s): {}", shop_versions.len(), shop_versions.join(", "))
        );

        let both = run(shop(dir.path(), Some(&test.url), &["migrate", "--list", "--revert"]));
        assert_eq!(both.status.code(), Some(2), "--list and --revert exclude each other");
    }

    async fn commands_other_than_migrate_refuse_pending_migrations(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let refused = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada"]), "pw\n");
        assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
        assert_eq!(
            stderr(&refused).trim(),
            format!(
                "shop: DATABASE_URL: the database has {} pending migration(s); apply them with `shop migrate`",
                all_migrations()
            )
        );
        let listed = stdout(&run(shop(dir.path(), Some(&test.url), &["migrate", "--list"])));
        assert!(listed.lines().all(|l| l.starts_with("[ ] ")), "nothing was applied: {listed}");
    }

    async fn createuser_reads_the_password_from_stdin(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(run(shop(dir.path(), Some(&test.url), &["migrate"])).status.success());
        let made = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada", "--staff"]), "s3cret pass\n");
        assert!(made.status.success(), "{}", stderr(&made));
        assert!(stdout(&made).starts_with("Created user \"ada\""), "{}", stdout(&made));
        let ada = User::authenticate(&test.db, "ada", "s3cret pass").await.unwrap().expect("the stdin password works");
        assert!(ada.is_staff && !ada.is_superuser);

        let taken = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada"]), "other\n");
        assert_eq!(taken.status.code(), Some(1));
        assert_eq!(stderr(&taken).trim(), "shop: that username is taken");

        let empty = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "bob"]), "\n");
        assert_eq!(empty.status.code(), Some(1));
        assert_eq!(stderr(&empty).trim(), "shop: the password must not be empty");
        let no_input = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "bob"]), "");
        assert_eq!(no_input.status.code(), Some(1));
        assert!(matches!(User::by_username(&test.db, "bob").await, Err(duet_models::Error::NotFound)));

        let argv = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "carol", "--password", "x"]), "x\n");
        assert_eq!(argv.status.code(), Some(2), "passwords are never taken from arguments");
    }

    async fn createuser_stores_the_email_as_sign_up_does(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(run(shop(dir.path(), Some(&test.url), &["migrate"])).status.success());
        let made = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada", "--email", "  Ada@Example.COM "]), "pw\n");
        assert!(made.status.success(), "{}", stderr(&made));
        let ada = User::by_username(&test.db, "ada").await.unwrap();
        assert_eq!(ada.email, "ada@example.com", "trimmed and lowercase");
        // The address as a sign-up or a reset request would be typed finds the account.
        let found = User::by_email(&test.db, &User::normalise_email(" ADA@example.com")).await.unwrap();
        assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), [ada.id]);

        let refused = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "bob", "--email", "bob at example"]), "pw\n");
        assert_eq!(refused.status.code(), Some(1));
        assert_eq!(stderr(&refused).trim(), "shop: --email: \"bob at example\" is not an email address");
        assert!(matches!(User::by_username(&test.db, "bob").await, Err(duet_models::Error::NotFound)));
    }

    async fn changepassword_reads_the_new_password_from_stdin(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(run(shop(dir.path(), Some(&test.url), &["migrate"])).status.success());
        assert!(run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada"]), "old pw\n").status.success());
        let changed = run_with_stdin(shop(dir.path(), Some(&test.url), &["changepassword", "ada"]), "new pw\n");
        assert!(changed.status.success(), "{}", stderr(&changed));
        assert_eq!(stdout(&changed).trim(), "Changed the password of \"ada\".");
        assert!(User::authenticate(&test.db, "ada", "old pw").await.unwrap().is_none());
        assert!(User::authenticate(&test.db, "ada", "new pw").await.unwrap().is_some());

        let nobody = run_with_stdin(shop(dir.path(), Some(&test.url), &["changepassword", "nobody"]), "x\n");
        assert_eq!(nobody.status.code(), Some(1));
        assert_eq!(stderr(&nobody).trim(), "shop: no user named \"nobody\"");
        let empty = run_with_stdin(shop(dir.path(), Some(&test.url), &["changepassword", "ada"]), "\n");
        assert_eq!(empty.status.code(), Some(1));
        assert!(User::authenticate(&test.db, "ada", "new pw").await.unwrap().is_some(), "unchanged");
    }

    async fn token_prints_a_key_stored_only_as_a_hash(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(run(shop(dir.path(), Some(&test.url), &["migrate"])).status.success());
        let made = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada"]), "pw\n");
        assert!(made.status.success(), "{}", stderr(&made));
        let issued = run(shop(dir.path(), Some(&test.url), &["token", "ada"]));
        assert!(issued.status.success(), "{}", stderr(&issued));
        let key = stdout(&issued).trim().to_owned();
        assert!(key.len() >= 40 && !key.contains(' '), "{key:?}");
        let now = duet_models::now();
        let check = ApiToken::authenticate(&test.db, &key, now).await.unwrap();
        assert!(matches!(&check, TokenCheck::Valid { user, scope: TokenScope::ReadWrite } if user.username == "ada"), "{check:?}");

        let hashes: Vec<String> = {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use duet_models::schema::api_tokens;
            duet_models::db_run!(test.db, |conn| api_tokens::table.select(api_tokens::key_hash).load(conn).await).unwrap()
        };
        assert_eq!(hashes, [ApiToken::hash_key(&key)], "only the hash is stored");

        let unknown = run(shop(dir.path(), Some(&test.url), &["token", "nobody"]));
        assert_eq!(unknown.status.code(), Some(1));
        assert_eq!(stderr(&unknown).trim(), "shop: no user named \"nobody\"");

        // Named, scoped and expiring; listed (never the key); revoked.
        let args = ["token", "ada", "--name", "ci deploy", "--expires", "30d", "--scope", "read"];
        let issued = run(shop(dir.path(), Some(&test.url), &args));
        assert!(issued.status.success(), "{}", stderr(&issued));
        let ci_key = stdout(&issued).trim().to_owned();
        let check = ApiToken::authenticate(&test.db, &ci_key, now).await.unwrap();
        assert!(matches!(check, TokenCheck::Valid { scope: TokenScope::Read, .. }), "{check:?}");
        let ci = ApiToken::of_user(&test.db, User::by_username(&test.db, "ada").await.unwrap().id).await.unwrap().remove(0);
        assert_eq!(ci.name, "ci deploy");
        let lifetime = ci.expires_at.expect("an expiry") - ci.created_at;
        assert!((lifetime - chrono::Duration::days(30)).num_seconds().abs() < 5, "{lifetime}");

        let listed = run(shop(dir.path(), Some(&test.url), &["token", "--list", "ada"]));
        assert!(listed.status.success(), "{}", stderr(&listed));
        let listed = stdout(&listed);
        let lines: Vec<&str> = listed.lines().collect();
        assert_eq!(lines.len(), 3, "a header and two tokens:\n{listed}");
        assert!(lines[0].contains("LAST USED"), "{listed}");
        assert!(lines[1].contains("ci deploy") && lines[1].contains(" read ") && !lines[1].contains("never"), "used, expiring: {listed}");
        assert!(lines[2].contains("token") && lines[2].contains("read_write") && lines[2].contains("never"), "{listed}");
        assert!(!listed.contains(&key) && !listed.contains(&ci_key), "keys are never listed");

        let revoked = run(shop(dir.path(), Some(&test.url), &["token", "--revoke", &ci.id.to_string()]));
        assert!(revoked.status.success(), "{}", stderr(&revoked));
        assert_eq!(stdout(&revoked).trim(), format!("Revoked token {} (\"ci deploy\").", ci.id));
        assert_eq!(ApiToken::authenticate(&test.db, &ci_key, now).await.unwrap(), TokenCheck::Invalid);
        let again = run(shop(dir.path(), Some(&test.url), &["token", "--revoke", &ci.id.to_string()]));
        assert_eq!(again.status.code(), Some(1));
        assert_eq!(stderr(&again).trim(), format!("shop: no token with id {}", ci.id));

        for bad in [&["token", "ada", "--scope", "admin"][..], &["token", "ada", "--list", "--revoke", "1"], &["token"]] {
            let refused = run(shop(dir.path(), Some(&test.url), bad));
            assert_eq!(refused.status.code(), Some(2), "{bad:?}: {}", stderr(&refused));
        }
        let forever = run(shop(dir.path(), Some(&test.url), &["token", "ada", "--expires", "soon"]));
        assert_eq!(forever.status.code(), Some(1));
        assert!(stderr(&forever).contains("--expires: \"soon\" is not a lifetime"), "{}", stderr(&forever));
    }
}

trait SpawnOutput {
    fn output_handle(&mut self) -> std::process::Child;
}

impl SpawnOutput for std::process::Command {
    fn output_handle(&mut self) -> std::process::Child {
        self.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn shop")
    }
}

/// Runs `shop migrate` with `env` and checks it fails with exit code 2 and one clear line
/// naming `variable`, without a panic.
fn check_bad_config(env: &[(&str, &str)], variable: &str, fragment: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), None, &["serve", "--addr", "127.0.0.1:0"]);
    cmd.env("RUST_LOG", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{env:?}: one line, got {err:?}");
    assert!(
        err.starts_with(&format!("shop: {variable}")),
        "{env:?}: {err:?} must name {variable}"
    );
    assert!(err.contains(fragment), "{env:?}: {err:?} lacks {fragment:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
}

#[test]
fn commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["token", "ada"][..],
        &["createuser", "ada"],
        &["changepassword", "ada"],
    ] {
        let out = run_with_stdin(shop(dir.path(), None, args), "pw\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).trim(),
            "shop: DATABASE_URL: the database var/shop.sqlite3 does not exist; create it with `shop migrate`"
        );
    }
    assert!(!dir.path().join("var").exists(), "nothing was created");
}

#[test]
fn help_lists_every_setting_with_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(shop(dir.path(), None, &["--help"]));
    assert!(help.status.success());
    let text = stdout(&help);
    for (var, default) in [
        ("DATABASE_URL", Some("sqlite://var/shop.sqlite3")),
        ("DATABASE_POOL_SIZE", Some("10")),
        ("DATABASE_TIMEOUT_SECS", Some("5")),
        ("REDIS_URL", None),
        ("REDIS_KEY_PREFIX", Some("shop")),
        ("REDIS_LOCK_TTL_MS", Some("10000")),
        ("REDIS_LEASE_IDLE_MS", Some("100")),
        ("DUET_SECRET_KEY", None),
        ("DUET_ENV", Some("development")),
        ("DUET_ADDR", Some("127.0.0.1:8000")),
        ("DUET_TRUSTED_ORIGINS", None),
        ("DUET_MIGRATIONS_DIR", None),
        ("DUET_LOG_FORMAT", Some("pretty")),
        ("DUET_SHUTDOWN_TIMEOUT_SECS", Some("10")),
        ("STRIPE_WEBHOOK_SECRET", None),
        ("GITHUB_WEBHOOK_SECRET", None),
        ("STANDARD_WEBHOOK_SECRET", None),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("[env: {var}")))
            .unwrap_or_else(|| panic!("{var} is not listed:\n{text}"));
        if let Some(default) = default {
            assert!(line.contains(&format!("[default: {default}]")), "{line}");
        }
    }
    for command in [
        "serve",
        "migrate",
        "makemigrations",
        "createuser",
        "changepassword",
        "token",
        "routes",
        "check",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(command)),
            "{command}:\n{text}"
        );
    }
    // A secret given in the environment never shows in the help.
    let mut secret = shop(dir.path(), None, &["--help"]);
    secret
        .env("DUET_SECRET_KEY", "k".repeat(64))
        .env("STRIPE_WEBHOOK_SECRET", "whsec_hidden");
    let text = stdout(&run(secret));
    assert!(
        !text.contains(&"k".repeat(64)) && !text.contains("whsec_hidden"),
        "{text}"
    );
}

#[test]
fn check_deploy_lists_unsafe_production_settings() {
    let dir = tempfile::tempdir().unwrap();
    let development = run(shop(dir.path(), None, &["check", "--deploy"]));
    assert_eq!(development.status.code(), Some(1), "{}", stderr(&development));
    let text = stdout(&development);
    for expected in [
        "duet.W001: DUET_ENV is not production",
        "duet.W002: DUET_SECRET_KEY is unset",
        "duet.W004: DUET_ALLOWED_HOSTS is unset",
        "duet.W006: DUET_TRUSTED_PROXIES is unset: duet serves plain HTTP",
        "app.W001: STRIPE_WEBHOOK_SECRET is unset",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    assert!(!dir.path().join("var").exists(), "check touches no database");

    let mut production = shop(dir.path(), None, &["check", "--deploy"]);
    production
        .env("DUET_ENV", "production")
        .env("DUET_SECRET_KEY", "0123456789abcdef".repeat(4))
        .env("DUET_ALLOWED_HOSTS", "shop.example.com")
        .env("DUET_TRUSTED_PROXIES", "10.0.0.0/8")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_shop_test_secret")
        .env("GITHUB_WEBHOOK_SECRET", "gh-secret")
        .env("STANDARD_WEBHOOK_SECRET", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    let production = run(production);
    assert!(
        production.status.success(),
        "{}{}",
        stdout(&production),
        stderr(&production)
    );
    assert!(
        stdout(&production).contains("no deployment problems found"),
        "{}",
        stdout(&production)
    );
}

#[test]
fn check_and_routes_describe_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let checked = run(shop(dir.path(), None, &["check"]));
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(
        stdout(&checked).starts_with("shop: the app passed its check"),
        "{}",
        stdout(&checked)
    );
    assert!(!dir.path().join("var").exists(), "check touches no database");

    let routes = stdout(&run(shop(dir.path(), None, &["routes"])));
    for line in ["/api/orders/", "/api/v1/orders/{id}/", "/accounts/login/", "/_event"] {
        assert!(routes.contains(line), "{line}:\n{routes}");
    }
    assert!(
        !routes.contains("/webhooks/stripe/"),
        "disabled without its secret:\n{routes}"
    );
    let mut with_secret = shop(dir.path(), None, &["routes"]);
    with_secret.env("STRIPE_WEBHOOK_SECRET", "whsec_test");
    let routes = stdout(&run(with_secret));
    assert!(
        routes.contains("/webhooks/stripe/") && routes.contains("(under /webhooks)"),
        "{routes}"
    );
}

#[test]
fn unreachable_postgres_says_why() {
    let Some(admin) = duet_models::testing::required_env(duet_models::testing::POSTGRES_ENV, "PostgreSQL") else {
        return;
    };
    let mut url = url::Url::parse(&admin).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let check = |url: &url::Url, fragment: &str| {
        let out = run(shop(dir.path(), Some(url.as_str()), &["migrate"]));
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("shop: DATABASE_URL: cannot reach the database"),
            "{err}"
        );
        assert!(err.contains(fragment), "{url}: {err:?} lacks {fragment:?}");
    };
    url.set_path("/duet_no_such_database");
    check(&url, "database \"duet_no_such_database\" does not exist");
    let mut role = url.clone();
    role.set_username("duet_no_such_role").unwrap();
    check(&role, "role \"duet_no_such_role\" does not exist");
    let mut closed = url.clone();
    closed.set_port(Some(common::free_port())).unwrap();
    check(&closed, "Connection refused");
}

#[test]
fn bad_configuration_is_one_clear_line() {
    check_bad_config(
        &[("DATABASE_URL", "mysql://localhost/shop")],
        "DATABASE_URL",
        "unsupported scheme",
    );
    check_bad_config(&[("DATABASE_URL", "postgres://")], "DATABASE_URL", "names no host");
    check_bad_config(
        &[
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
            ("DATABASE_TIMEOUT_SECS", "2"),
        ],
        "DATABASE_URL",
        "cannot reach the database",
    );
    check_bad_config(&[("DUET_SECRET_KEY", "too-short")], "DUET_SECRET_KEY", "at least 64");
    check_bad_config(
        &[("DUET_ENV", "production")],
        "DUET_SECRET_KEY",
        "required when DUET_ENV=production",
    );
    check_bad_config(&[("DUET_ENV", "staging")], "DUET_ENV", "development or production");
    check_bad_config(&[("DATABASE_POOL_SIZE", "0")], "DATABASE_POOL_SIZE", "positive");
    check_bad_config(
        &[("DATABASE_TIMEOUT_SECS", "soon")],
        "DATABASE_TIMEOUT_SECS",
        "positive",
    );
    check_bad_config(&[("REDIS_URL", "localhost:6379")], "REDIS_URL", "redis://");
    check_bad_config(&[("REDIS_LOCK_TTL_MS", "5")], "REDIS_LOCK_TTL_MS", "at least 100");
    check_bad_config(
        &[("DUET_TRUSTED_ORIGINS", "https://ok.example.com,admin.example.com")],
        "DUET_TRUSTED_ORIGINS",
        "not an origin",
    );
    check_bad_config(
        &[("STANDARD_WEBHOOK_SECRET", "not-base64!")],
        "STANDARD_WEBHOOK_SECRET",
        "",
    );
    check_bad_config(
        &[("DUET_ENV", "production"), ("DUET_SECRET_KEY", &"k".repeat(64))],
        "DUET_ALLOWED_HOSTS",
        "required when DUET_ENV=production",
    );
    check_bad_config(
        &[("DUET_ALLOWED_HOSTS", "https://shop.example")],
        "DUET_ALLOWED_HOSTS",
        "not a host name",
    );
    check_bad_config(
        &[("DUET_NEW_TABS_PER_ADDRESS", "lots")],
        "DUET_NEW_TABS_PER_ADDRESS",
        "per minute",
    );
    check_bad_config(
        &[("DUET_TRUSTED_PROXIES", "10.0.0.1,proxy.local")],
        "DUET_TRUSTED_PROXIES",
        "not an address or a CIDR block",
    );
    check_bad_config(&[("REDIS_TIMEOUT_MS", "5")], "REDIS_TIMEOUT_MS", "at least 10");
    check_bad_config(
        &[("DATABASE_QUERY_TIMEOUT_SECS", "-1")],
        "DATABASE_QUERY_TIMEOUT_SECS",
        "positive",
    );
}
