//! Handlers that fail or panic, and a database that cannot be reached.

use std::time::Duration;

use duet_models::testing::TestDb;
use duet_models::{Db, DbConfig, WebhookDelivery};

use crate::common::{STANDARD, STRIPE, Server};
use crate::matrix::deliver;

duet_models::db_tests! {
    migrations: [duet_models::FRAMEWORK_MIGRATIONS];

    async fn a_failed_handler_is_run_again_by_the_retry(db: Db) {
        let server = Server::start(Some(db.clone())).await;
        server.probe.fail_next(1);
        assert_eq!(deliver(&server, &STRIPE, "evt_1").await.detail(), (500, "handler failed"));
        assert_eq!(server.probe.calls("stripe"), 1);
        assert_eq!(WebhookDelivery::done_count(&db, "stripe").await.unwrap(), 0);
        assert_eq!(deliver(&server, &STRIPE, "evt_1").await.detail(), (200, "ok"));
        assert_eq!(server.probe.calls("stripe"), 2);
        let repeat = deliver(&server, &STRIPE, "evt_1").await;
        assert_eq!(repeat.detail(), (200, "already processed"));
        assert_eq!(server.probe.calls("stripe"), 2);
        assert_eq!(WebhookDelivery::done_count(&db, "stripe").await.unwrap(), 1);
    }

    async fn an_unavailable_handler_answers_503(db: Db) {
        let server = Server::start(Some(db)).await;
        server.probe.unavailable_next(1);
        let answer = deliver(&server, &STANDARD, "msg_1").await;
        assert_eq!(answer.detail(), (503, "handler failed"));
        assert_eq!(deliver(&server, &STANDARD, "msg_1").await.detail(), (200, "ok"));
        assert_eq!(server.probe.calls("standard-webhooks"), 2);
    }

    async fn a_panicking_handler_fails_and_the_server_goes_on(db: Db) {
        let server = Server::start(Some(db)).await;
        // more panics than workers: none of them takes a worker down
        server.probe.panic_next(3);
        for _ in 0..3 {
            let answer = deliver(&server, &STRIPE, "evt_panic").await;
            assert_eq!(answer.detail(), (500, "handler failed"));
        }
        assert_eq!(deliver(&server, &STRIPE, "evt_other").await.detail(), (200, "ok"));
        assert_eq!(deliver(&server, &STRIPE, "evt_panic").await.detail(), (200, "ok"));
        assert_eq!(server.probe.calls("stripe"), 5);
    }

    async fn an_unreachable_database_answers_503(test_db: &TestDb) {
        let config = DbConfig::from_url(&test_db.url)
            .unwrap()
            .max_connections(1)
            .connect_timeout(Duration::from_millis(300));
        let db = Db::connect(config).await.unwrap();
        let server = Server::start(Some(db.clone())).await;
        // hold the pool's only connection until the request has been refused
        let (held, is_held) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let holder = db.clone();
        let holding = tokio::spawn(async move {
            duet_models::db_run!(holder, |conn| {
                let _ = conn;
                held.send(()).unwrap();
                let _ = tokio::time::timeout(Duration::from_secs(20), released).await;
                Ok::<(), duet_models::Error>(())
            })
        });
        is_held.await.unwrap();
        let answer = deliver(&server, &STRIPE, "evt_1").await;
        assert_eq!(answer.detail(), (503, "temporarily unavailable"));
        release.send(()).unwrap();
        holding.await.unwrap().unwrap();
        assert_eq!(deliver(&server, &STRIPE, "evt_1").await.detail(), (200, "ok"));
        assert_eq!(server.probe.calls("stripe"), 1);
    }
}
