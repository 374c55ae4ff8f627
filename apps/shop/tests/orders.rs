//! The `Order` model: scoping, filters, ordering and JSON, on both backends.

use duet_models::{Db, Error, FieldValue, ListQuery, Model, NewUser, Scope, User};
use shop::orders::{NewOrder, Order};

async fn customer(db: &Db, name: &str) -> User {
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

async fn order(db: &Db, customer: &User, total_cents: i64, status: &str, reference: &str) -> Order {
    Order::create(
        db,
        &NewOrder {
            customer_id: customer.id,
            total_cents,
            currency: "EUR".into(),
            status: status.into(),
            placed_at: duet_models::now(),
            client_reference: reference.into(),
        },
    )
    .await
    .unwrap()
}

duet_models::db_tests! {
    migrations: shop::MIGRATIONS;

    async fn orders_are_scoped_to_their_customer(db: Db) {
        let ada = customer(&db, "ada").await;
        let bob = customer(&db, "bob").await;
        let ada_order = order(&db, &ada, 1250, "pending", "ref-1").await;
        order(&db, &bob, 999, "paid", "ref-2").await;

        let mine = Order::list(&db, &ListQuery::new(Scope::Owner(ada.id))).await.unwrap();
        assert_eq!(mine, std::slice::from_ref(&ada_order));
        assert_eq!(Order::get(&db, Scope::Owner(ada.id), ada_order.id).await.unwrap(), ada_order);
        assert!(matches!(Order::get(&db, Scope::Owner(bob.id), ada_order.id).await, Err(Error::NotFound)), "other users' rows are not found");
        assert!(matches!(Order::delete(&db, Scope::Owner(bob.id), ada_order.id).await, Err(Error::NotFound)));
        assert_eq!(Order::count(&db, &ListQuery::new(Scope::All)).await.unwrap(), 2, "bob's delete touched nothing");
        Order::delete(&db, Scope::Owner(ada.id), ada_order.id).await.unwrap();
        assert_eq!(Order::count(&db, &ListQuery::new(Scope::Owner(ada.id))).await.unwrap(), 0);
    }

    async fn orders_filter_and_order_on_declared_fields(db: Db) {
        let ada = customer(&db, "ada").await;
        for (n, (total, status)) in [(500, "paid"), (1500, "pending"), (1000, "paid")].into_iter().enumerate() {
            order(&db, &ada, total, status, &format!("ref-{n}")).await;
        }
        let paid = ListQuery::new(Scope::Owner(ada.id)).filter("status", FieldValue::Text("paid".into())).order_by("total", true);
        let totals: Vec<i64> = Order::list(&db, &paid).await.unwrap().iter().map(|o| o.total_cents).collect();
        assert_eq!(totals, [1000, 500]);
        assert_eq!(Order::count(&db, &paid).await.unwrap(), 2);
        let unknown = ListQuery::new(Scope::All).filter("customer_id", FieldValue::Integer(ada.id));
        assert!(matches!(Order::list(&db, &unknown).await, Err(Error::Config(_))));
    }

    async fn orders_enforce_their_constraints(db: Db) {
        let ada = customer(&db, "ada").await;
        order(&db, &ada, 100, "pending", "dup").await;
        let again = NewOrder {
            customer_id: ada.id, total_cents: 1, currency: "EUR".into(), status: "pending".into(),
            placed_at: duet_models::now(), client_reference: "dup".into(),
        };
        assert!(matches!(Order::create(&db, &again).await, Err(Error::UniqueViolation(_))));
        let bad_status = NewOrder { status: "lost".into(), client_reference: "x".into(), ..again.clone() };
        assert!(matches!(Order::create(&db, &bad_status).await, Err(Error::ConstraintViolation(_))));
        let no_customer = NewOrder { customer_id: 999_999, client_reference: "y".into(), ..again };
        assert!(matches!(Order::create(&db, &no_customer).await, Err(Error::ConstraintViolation(_))));
    }

    async fn orders_serialise_money_as_decimal_strings(db: Db) {
        let ada = customer(&db, "ada").await;
        let o = order(&db, &ada, 1250, "pending", "ref").await;
        let json = o.to_json();
        assert_eq!(json["total"], "12.50");
        assert_eq!(json["customer"], ada.id);
        assert_eq!(json["status"], "pending");
        assert_eq!(json.keys().map(String::as_str).collect::<Vec<_>>().len(), Order::fields().len());
        for field in Order::fields() {
            assert!(json.contains_key(field.name), "{} is in the JSON", field.name);
        }
    }
}
