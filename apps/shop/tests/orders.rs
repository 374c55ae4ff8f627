//! The `Order` model: scoping, filters, ordering and JSON, on both backends.

use duet_models::{Choices, Db, Error, ListQuery, Model, Money, NewUser, Scope, User};
use shop::orders::{NewOrder, Order, OrderStatus};

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

fn new_order(customer: &User, total_cents: i64, status: &str, reference: &str) -> NewOrder {
    NewOrder {
        customer: customer.id.into(),
        total: Money::cents(total_cents),
        currency: "EUR".into(),
        status: OrderStatus::from_value(status).unwrap(),
        placed_at: duet_models::now(),
        client_reference: reference.into(),
    }
}

async fn order(db: &Db, customer: &User, total_cents: i64, status: &str, reference: &str) -> Order {
    Order::create(db, new_order(customer, total_cents, status, reference))
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
        let paid = ListQuery::new(Scope::Owner(ada.id)).filter(Order::STATUS, "paid").order_by(Order::TOTAL, true);
        let totals: Vec<i64> = Order::list(&db, &paid).await.unwrap().iter().map(|o| o.total.as_cents()).collect();
        assert_eq!(totals, [1000, 500]);
        assert_eq!(Order::count(&db, &paid).await.unwrap(), 2);
        let unknown = ListQuery::new(Scope::All).filter("customer_id", ada.id);
        assert!(matches!(Order::list(&db, &unknown).await, Err(Error::Invalid(_))), "columns are not fields");
    }

    async fn orders_enforce_their_constraints(db: Db) {
        let ada = customer(&db, "ada").await;
        order(&db, &ada, 100, "pending", "dup").await;
        match Order::create(&db, new_order(&ada, 1, "pending", "dup")).await {
            Err(Error::Invalid(errors)) => {
                assert_eq!(errors.get("client_reference").unwrap(), ["order with this client reference already exists."]);
            }
            other => panic!("a taken reference is a field error, got {other:?}"),
        }
        let no_customer = NewOrder { customer: 999_999.into(), ..new_order(&ada, 1, "pending", "y") };
        assert!(matches!(Order::create(&db, no_customer).await, Err(Error::ConstraintViolation(_))));
        // A negative total is refused by the model, and by the table's own CHECK.
        let negative = NewOrder { total: Money::cents(-1), ..new_order(&ada, 1, "pending", "z") };
        assert!(matches!(Order::create(&db, negative).await, Err(Error::ConstraintViolation(_))));
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
