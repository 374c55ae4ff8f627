//! The `shop` binary: migrate, createuser, token and bad configuration, on both backends.

mod common;

use common::{run, run_with_stdin, shop, stderr, stdout};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{ApiToken, User};

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn migrate_twice_is_a_no_op(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let first = run(shop(dir.path(), Some(&test.url), &["migrate"]));
        assert!(first.status.success(), "{}", stderr(&first));
        assert!(stdout(&first).starts_with("Applied 3 migration(s)"), "{}", stdout(&first));
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
        assert_eq!(applied(&a) + applied(&b), 3, "{} / {}", stdout(&a), stdout(&b));
        let third = run(shop(dir.path(), Some(&test.url), &["migrate"]));
        assert_eq!(stdout(&third).trim(), "No migrations to apply.");
    }

    async fn createuser_reads_the_password_from_stdin(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
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

    async fn token_prints_a_key_stored_only_as_a_hash(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let made = run_with_stdin(shop(dir.path(), Some(&test.url), &["createuser", "ada"]), "pw\n");
        assert!(made.status.success(), "{}", stderr(&made));
        let issued = run(shop(dir.path(), Some(&test.url), &["token", "ada"]));
        assert!(issued.status.success(), "{}", stderr(&issued));
        let key = stdout(&issued).trim().to_owned();
        assert!(key.len() >= 40 && !key.contains(' '), "{key:?}");
        let owner = ApiToken::authenticate(&test.db, &key).await.unwrap().expect("the printed token works");
        assert_eq!(owner.username, "ada");

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
        &[("DUET_TRUST_FORWARDED_FOR", "yes")],
        "DUET_TRUST_FORWARDED_FOR",
        "true or false",
    );
    check_bad_config(&[("REDIS_TIMEOUT_MS", "5")], "REDIS_TIMEOUT_MS", "at least 10");
    check_bad_config(
        &[("DATABASE_QUERY_TIMEOUT_SECS", "-1")],
        "DATABASE_QUERY_TIMEOUT_SECS",
        "positive",
    );
}
