//! Logins: a session is logged in only while its login row exists, so logout ends it
//! whatever store keeps the session.

use std::time::Duration;

use duet_models::{Db, FRAMEWORK_MIGRATIONS, Login, NewUser, User};

const TWO_WEEKS: Duration = Duration::from_secs(14 * 24 * 60 * 60);

async fn user(db: &Db, name: &str) -> User {
    User::create(
        db,
        NewUser {
            username: name.into(),
            password: "pw".into(),
            ..NewUser::default()
        },
    )
    .await
    .unwrap()
}

duet_models::db_tests! {
    migrations: [FRAMEWORK_MIGRATIONS];

    async fn a_login_counts_until_it_ends(db: Db) {
        let ada = user(&db, "ada").await;
        let bob = user(&db, "bob").await;
        let phone = Login::start(&db, ada.id, TWO_WEEKS).await.unwrap();
        let laptop = Login::start(&db, ada.id, TWO_WEEKS).await.unwrap();
        assert_ne!(phone, laptop);
        assert_eq!(Login::user(&db, ada.id, &phone).await.unwrap().map(|u| u.id), Some(ada.id));
        assert_eq!(Login::user(&db, bob.id, &phone).await.unwrap(), None, "a login is one user's");
        assert_eq!(Login::user(&db, ada.id, "forged").await.unwrap(), None);

        assert!(Login::end(&db, &phone).await.unwrap());
        assert!(!Login::end(&db, &phone).await.unwrap(), "ended once");
        assert_eq!(Login::user(&db, ada.id, &phone).await.unwrap(), None, "logged out");
        assert!(Login::user(&db, ada.id, &laptop).await.unwrap().is_some(), "the other login stays");

        User::set_active(&db, ada.id, false).await.unwrap();
        assert_eq!(Login::user(&db, ada.id, &laptop).await.unwrap(), None, "deactivated");
        User::set_active(&db, ada.id, true).await.unwrap();
        assert_eq!(Login::end_all(&db, ada.id).await.unwrap(), 1, "out everywhere");
        assert_eq!(Login::user(&db, ada.id, &laptop).await.unwrap(), None);
    }

    async fn old_logins_are_forgotten_at_the_next_login(db: Db) {
        let ada = user(&db, "ada").await;
        let old = Login::start(&db, ada.id, TWO_WEEKS).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let new = Login::start(&db, ada.id, Duration::from_millis(10)).await.unwrap();
        assert_eq!(Login::user(&db, ada.id, &old).await.unwrap(), None, "older than the max age");
        assert!(Login::user(&db, ada.id, &new).await.unwrap().is_some());
    }
}
