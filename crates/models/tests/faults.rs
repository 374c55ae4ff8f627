//! Connections PostgreSQL takes away: a terminated backend is `ConnectionLost` (a 503 over
//! HTTP), and a read runs again on another connection.

use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use duet_models::testing::TestDb;
use duet_models::{Db, DbConfig, Error, FRAMEWORK_MIGRATIONS};

/// The PostgreSQL backend pid running `query` in this test's database, once it runs.
async fn backend_running(admin: &Db, query: &str) -> i32 {
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Pid> = duet_models::db_run!(admin, |conn| {
            diesel::sql_query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1 AND state = 'active'"
        )
        .bind::<Text, _>(query)
        .load(conn)
        .await
        })
        .unwrap();
        if let Some(found) = found.into_iter().next() {
            return found.pid;
        }
        assert!(Instant::now() < deadline, "{query} never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn terminate(admin: &Db, pid: i32) {
    duet_models::db_run!(admin, |conn| diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<diesel::sql_types::Integer, _>(pid)
        .execute(conn)
        .await)
    .unwrap();
}

#[tokio::test]
async fn a_terminated_connection_is_unavailable_not_an_error() {
    let Some(test) = TestDb::postgres(&[FRAMEWORK_MIGRATIONS]).await else {
        return;
    };
    let admin = Db::connect_url(&test.url).await.unwrap();
    const SLEEP: &str = "SELECT pg_sleep(5) -- terminated";
    let db = test.db.clone();
    let running =
        tokio::spawn(async move { duet_models::db_run!(db, |conn| diesel::sql_query(SLEEP).execute(conn).await) });
    terminate(&admin, backend_running(&admin, SLEEP).await).await;
    let error = running.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::ConnectionLost(_)), "{error:?}");
    assert!(error.is_unavailable(), "HTTP answers 503");
    // The pool does not hand the dead connection out again.
    test.db.ping().await.expect("a fresh connection");
}

#[tokio::test]
async fn a_read_whose_connection_is_terminated_runs_again() {
    let Some(test) = TestDb::postgres(&[FRAMEWORK_MIGRATIONS]).await else {
        return;
    };
    let admin = Db::connect_url(&test.url).await.unwrap();
    const READ: &str = "SELECT pg_sleep(1) -- a read";
    let db = test.db.clone();
    let reading =
        tokio::spawn(async move { duet_models::db_read!(db, |conn| diesel::sql_query(READ).execute(conn).await) });
    terminate(&admin, backend_running(&admin, READ).await).await;
    assert_eq!(reading.await.unwrap().expect("the read ran again"), 1);
}

#[tokio::test]
async fn a_query_past_its_time_is_unavailable_and_its_connection_dropped() {
    let Some(test) = TestDb::postgres(&[FRAMEWORK_MIGRATIONS]).await else {
        return;
    };
    let config = DbConfig::from_url(&test.url)
        .unwrap()
        .query_timeout(Duration::from_millis(300));
    let db = Db::connect(config).await.unwrap();
    let started = Instant::now();
    let error =
        duet_models::db_run!(db, |conn| diesel::sql_query("SELECT pg_sleep(5)").execute(conn).await).unwrap_err();
    assert!(matches!(error, Error::TimedOut(_)), "{error:?}");
    assert!(error.is_unavailable(), "HTTP answers 503");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    db.ping().await.expect("the pool serves again");
}
