//! `#[derive(Model)]` and `#[derive(Choices)]` on a model with every kind of field: its
//! description, its validation, and every generated query on both backends.

use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime};
use duet_models::{
    AutoNow, ChangeKind, Choices, Decimal, Error, FRAMEWORK_MIGRATIONS, FieldKind, ForeignKey, Input, Json, ListQuery,
    Literal, Lookup, MigrationSet, Model, ModelChange, Money, NewOwner, NewUser, Scope, User,
};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
enum Size {
    Small,
    #[choice(value = "xl", label = "Extra large")]
    ExtraLarge,
}

fn even(count: &i64) -> Result<(), &'static str> {
    if count % 2 == 0 { Ok(()) } else { Err("Must be even.") }
}

fn token() -> String {
    duet_models::random_hex(4)
}

/// Every kind of field, every option.
#[derive(Debug, Clone, PartialEq, Model)]
#[duet(index(name = "items_owner_made", fields(owner, made_at)))]
struct Item {
    id: i64,
    #[duet(owner)]
    owner: ForeignKey<User>,
    #[duet(max_length = 20, regex = "^[a-z-]+$", unique, verbose_name = "short name")]
    slug: String,
    #[duet(blank, max_length = 200, default = "")]
    note: String,
    #[duet(min = 0, max = 1_000_000)]
    price: Money,
    #[duet(default = Size::Small)]
    size: Size,
    weight: Option<Decimal<3>>,
    #[duet(default = false)]
    archived: bool,
    due: Option<NaiveDate>,
    #[duet(default = Json(json!({})))]
    extra: Json,
    #[duet(validate = even, help_text = "An even number.")]
    count: i64,
    #[duet(auto_now_add)]
    made_at: NaiveDateTime,
    #[duet(auto_now)]
    changed_at: NaiveDateTime,
    #[duet(read_only, default = token())]
    token: String,
}

const ITEMS: MigrationSet =
    duet_models::migration_set!("items", sqlite: "tests/items/sqlite", postgres: "tests/items/postgres");
const MIGRATIONS: [MigrationSet; 2] = [FRAMEWORK_MIGRATIONS, ITEMS];

fn input(value: Value, partial: bool) -> Input {
    let Value::Object(map) = value else { panic!("an object") };
    Input::new(map, partial)
}

#[test]
fn a_model_describes_itself() {
    assert_eq!(
        (Item::NAME, Item::TABLE, Item::OWNER_FIELD),
        ("item", "items", Some("owner"))
    );
    assert_eq!((Item::VERBOSE_NAME, Item::VERBOSE_NAME_PLURAL), ("item", "items"));
    let names: Vec<&str> = Item::fields().iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "id",
            "owner",
            "slug",
            "note",
            "price",
            "size",
            "weight",
            "archived",
            "due",
            "extra",
            "count",
            "made_at",
            "changed_at",
            "token"
        ]
    );
    let field = |name: &str| Item::field(name).unwrap();
    assert!(field("id").primary_key && field("id").read_only);
    assert_eq!(field("owner").column, "owner_id");
    assert_eq!(
        field("owner").kind,
        FieldKind::ForeignKey {
            model: "user",
            table: "users"
        }
    );
    assert!(field("owner").read_only, "the owner is set by the server");
    let slug = field("slug");
    assert_eq!(
        (slug.max_length, slug.pattern, slug.unique, slug.verbose_name),
        (Some(20), Some("^[a-z-]+$"), true, "short name")
    );
    assert_eq!(field("note").db_default, Some(Literal::Text("")));
    assert_eq!(
        (field("price").kind, field("price").min, field("price").max),
        (FieldKind::Money, Some(0), Some(1_000_000))
    );
    assert_eq!(field("size").kind, FieldKind::Choice(Size::CHOICES));
    assert_eq!(field("size").db_default, Some(Literal::Text("small")));
    assert_eq!(Size::CHOICES[1].label, "Extra large");
    assert_eq!(
        (field("weight").kind, field("weight").nullable),
        (FieldKind::Decimal { places: 3 }, true)
    );
    assert_eq!(field("archived").db_default, Some(Literal::Bool(false)));
    assert_eq!(field("due").kind, FieldKind::Date);
    assert_eq!(
        (field("extra").kind, field("extra").db_default),
        (FieldKind::Json, None)
    );
    assert_eq!(field("count").help_text, "An even number.");
    assert_eq!(
        (field("made_at").auto_now, field("changed_at").auto_now),
        (AutoNow::OnCreate, AutoNow::OnSave)
    );
    assert!(field("token").read_only);
    assert_eq!(Item::indexes()[0].columns, ["owner_id", "made_at"]);
    assert_eq!(Item::SLUG.name(), "slug");
}

fn good() -> Value {
    json!({"slug": "blue-mug", "price": "12.50", "count": 2, "weight": "0.250", "due": "2026-12-24",
           "id": 99, "owner": 42, "token": "forged", "made_at": "2000-01-01T00:00:00Z"})
}

#[test]
fn new_rows_validate_as_drf_does() {
    let new = Item::validate_new(input(good(), false), NewOwner::User(7)).unwrap();
    assert_eq!(new.owner.id(), 7, "the owner comes from the caller, never the input");
    assert_eq!(
        (new.slug.as_str(), new.price, new.count),
        ("blue-mug", Money::cents(1250), 2)
    );
    assert_eq!(new.weight, Some(Decimal::scaled(250)));
    assert_eq!(
        (new.size, new.note.as_str(), new.archived),
        (Size::Small, "", false),
        "defaults"
    );
    assert_ne!(new.token, "forged", "read-only input is ignored");
    assert!(new.made_at.and_utc().timestamp() > 1_700_000_000, "auto_now_add is now");

    let errors = Item::validate_new(
        input(
            json!({"slug": "Blue Mug!", "price": "-1", "size": "huge", "count": 3, "due": "soon", "note": null}),
            false,
        ),
        NewOwner::User(7),
    )
    .unwrap_err();
    let errors = serde_json::to_value(errors).unwrap();
    assert_eq!(errors["slug"], json!(["Enter a valid value."]));
    assert_eq!(
        errors["price"],
        json!(["Ensure this value is greater than or equal to 0.00."])
    );
    assert_eq!(errors["size"], json!(["\"huge\" is not a valid choice."]));
    assert_eq!(errors["count"], json!(["Must be even."]));
    assert!(errors["due"][0].as_str().unwrap().starts_with("Date has wrong format."));
    assert_eq!(errors["note"], json!(["This field may not be null."]));
    assert!(errors.get("weight").is_none(), "nullable fields may be left out");

    let missing =
        serde_json::to_value(Item::validate_new(input(json!({}), false), NewOwner::User(7)).unwrap_err()).unwrap();
    assert_eq!(missing["slug"], json!(["This field is required."]));
    assert_eq!(missing["price"], json!(["This field is required."]));
    assert!(missing.get("size").is_none(), "a field with a default is not required");

    // Staff creating a row for someone: the owner comes from the input.
    let for_someone = json!({"owner": 3, "slug": "x", "price": 1, "count": 0});
    assert_eq!(
        Item::validate_new(input(for_someone, false), NewOwner::FromInput)
            .unwrap()
            .owner
            .id(),
        3
    );
}

#[test]
fn changes_read_only_what_is_sent() {
    let changes = Item::validate_changes(input(json!({"size": "xl", "token": "forged", "owner": 9}), true)).unwrap();
    assert_eq!(changes.size, Some(Size::ExtraLarge));
    assert!(changes.token.is_none() && changes.owner.is_none() && changes.slug.is_none());
    let full = serde_json::to_value(Item::validate_changes(input(json!({"size": "xl"}), false)).unwrap_err()).unwrap();
    assert_eq!(
        full["slug"],
        json!(["This field is required."]),
        "PUT needs every required field"
    );
    assert!(full.get("size").is_none() && full.get("weight").is_none());
}

async fn user(db: &duet_models::Db, name: &str) -> User {
    let new = NewUser {
        username: name.into(),
        password: "pw".into(),
        ..NewUser::default()
    };
    User::create(db, new).await.unwrap()
}

async fn item(db: &duet_models::Db, owner: &User, value: Value) -> Item {
    let new = Item::validate_new(input(value, false), NewOwner::User(owner.id)).unwrap();
    Item::create(db, new).await.unwrap()
}

fn slugs(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.slug.as_str()).collect()
}

duet_models::db_tests! {
    migrations: MIGRATIONS;

    async fn every_query_on_both_backends(db: duet_models::Db) {
        let changes: Arc<Mutex<Vec<ModelChange>>> = Arc::default();
        let seen = Arc::clone(&changes);
        assert!(db.on_change(Arc::new(move |change| seen.lock().unwrap().push(*change))));
        let (ada, bob) = (user(&db, "ada").await, user(&db, "bob").await);
        changes.lock().unwrap().clear();

        let mug = item(&db, &ada, json!({"slug": "mug", "note": "Blue 50% off", "price": "12.50", "count": 2, "due": "2026-12-24"})).await;
        let cup = item(&db, &ada, json!({"slug": "cup", "price": 3, "count": 4, "size": "xl", "weight": "1.5"})).await;
        let pot = item(&db, &bob, json!({"slug": "pot", "price": "99.99", "count": 0, "archived": true})).await;
        assert_eq!(mug.made_at, mug.changed_at);
        assert_eq!(Item::get(&db, Scope::All, mug.id).await.unwrap(), mug, "what is read is what was written");
        assert_eq!(mug.to_json()["price"], json!("12.50"));
        assert_eq!(cup.to_json()["weight"], json!("1.500"));
        assert_eq!(cup.to_json()["size"], json!("xl"));
        assert_eq!(mug.to_json()["due"], json!("2026-12-24"));
        assert_eq!(pot.to_json()["owner"], json!(bob.id));

        let all = ListQuery::new(Scope::All).order_by("slug", false);
        assert_eq!(slugs(&Item::list(&db, &all).await.unwrap()), ["cup", "mug", "pot"]);
        let adas = ListQuery::new(Scope::Owner(ada.id)).order_by("price", true);
        assert_eq!(slugs(&Item::list(&db, &adas).await.unwrap()), ["mug", "cup"], "scoped to the owner");
        assert_eq!(Item::count(&db, &adas).await.unwrap(), 2);
        assert!(matches!(Item::get(&db, Scope::Owner(ada.id), pot.id).await, Err(Error::NotFound)), "other users' rows are not found");

        let query = |f: fn(ListQuery) -> ListQuery| f(ListQuery::new(Scope::All).order_by("slug", false));
        let cases: [(ListQuery, &[&str]); 10] = [
            (query(|q| q.filter("size", "xl")), &["cup"]),
            (query(|q| q.filter("archived", true)), &["pot"]),
            (query(|q| q.filter_by("price", Lookup::Gte, "12.50")), &["mug", "pot"]),
            (query(|q| q.filter_by("price", Lookup::Lt, 12.5)), &["cup"]),
            (query(|q| q.filter_by("count", Lookup::In, "0,4")), &["cup", "pot"]),
            (query(|q| q.filter_by("weight", Lookup::IsNull, true)), &["mug", "pot"]),
            (query(|q| q.filter_by("due", Lookup::Lte, "2026-12-31")), &["mug"]),
            (query(|q| q.search("50%", vec!["note", "slug"])), &["mug"]),
            (query(|q| q.search("U", vec!["slug"])), &["cup", "mug"]),
            (query(|q| q.search("u", vec!["note"])), &["mug"]),
        ];
        for (query, expected) in cases {
            assert_eq!(slugs(&Item::list(&db, &query).await.unwrap()), expected, "{query:?}");
            assert_eq!(Item::count(&db, &query).await.unwrap(), expected.len() as i64, "{query:?}");
        }
        let window = ListQuery::new(Scope::All).order_by("slug", true).window(1, 1);
        assert_eq!(slugs(&Item::list(&db, &window).await.unwrap()), ["mug"]);
        for bad in [
            ListQuery::new(Scope::All).filter("price", "lots"),
            ListQuery::new(Scope::All).filter("colour", "red"),
            ListQuery::new(Scope::All).order_by("colour", false),
            ListQuery::new(Scope::All).search("x", vec!["price"]),
        ] {
            assert!(matches!(Item::list(&db, &bad).await, Err(Error::Invalid(_))), "{bad:?}");
        }

        // A list's SQL text is kept per shape: each run below reuses a text built before
        // (with other values), or builds its own for a new shape (another number of `IN`
        // values, another flag, window or direction), and finds the rows of its own values.
        let by_slug = || ListQuery::new(Scope::All).order_by("slug", false);
        for _ in 0..2 {
            let shaped: [(ListQuery, &[&str]); 11] = [
                (query(|q| q.filter_by("count", Lookup::In, "0,4")), &["cup", "pot"]),
                (query(|q| q.filter_by("count", Lookup::In, "2,9")), &["mug"]),
                (query(|q| q.filter_by("count", Lookup::In, "2")), &["mug"]),
                (query(|q| q.filter_by("count", Lookup::In, json!([0, 2, 4]))), &["cup", "mug", "pot"]),
                (query(|q| q.filter_by("weight", Lookup::IsNull, false)), &["cup"]),
                (query(|q| q.filter_by("weight", Lookup::IsNull, true)), &["mug", "pot"]),
                (by_slug().search_ids("id", vec![pot.id]), &["pot"]),
                (by_slug().search_ids("id", vec![mug.id, cup.id]), &["cup", "mug"]),
                (ListQuery::new(Scope::All).order_by("slug", true).window(2, 0), &["pot", "mug"]),
                (ListQuery::new(Scope::All).order_by("slug", true).window(2, 2), &["cup"]),
                (ListQuery::new(Scope::Owner(bob.id)).order_by("slug", false), &["pot"]),
            ];
            for (query, expected) in shaped {
                assert_eq!(slugs(&Item::list(&db, &query).await.unwrap()), expected, "{query:?}");
                // A count ignores the window.
                let counted = if query.limit.is_some() { 3 } else { expected.len() as i64 };
                assert_eq!(Item::count(&db, &query).await.unwrap(), counted, "{query:?}");
            }
            assert_eq!(Item::get(&db, Scope::Owner(bob.id), pot.id).await.unwrap(), pot);
            assert!(matches!(Item::get(&db, Scope::Owner(bob.id), cup.id).await, Err(Error::NotFound)));
            assert_eq!(Item::get(&db, Scope::All, cup.id).await.unwrap(), cup);
        }

        let before = mug.changed_at;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let changes_in = Item::validate_changes(input(json!({"note": "Sold out", "size": "xl"}), true)).unwrap();
        let updated = Item::update(&db, Scope::Owner(ada.id), mug.id, changes_in).await.unwrap();
        assert_eq!((updated.note.as_str(), updated.size, updated.price), ("Sold out", Size::ExtraLarge, mug.price));
        assert!(updated.changed_at > before && updated.made_at == mug.made_at, "auto_now moves, auto_now_add stays");
        let note = ItemChanges { note: Some("mine".into()), ..ItemChanges::default() };
        let someone_elses = Item::update(&db, Scope::Owner(bob.id), mug.id, note);
        assert!(matches!(someone_elses.await, Err(Error::NotFound)));

        let taken = Item::validate_new(input(json!({"slug": "cup", "price": 1, "count": 0}), false), NewOwner::User(bob.id)).unwrap();
        match Item::create(&db, taken).await {
            Err(Error::Invalid(errors)) => {
                assert_eq!(errors.get("slug").unwrap(), ["item with this short name already exists."]);
            }
            other => panic!("a taken slug is a field error, got {other:?}"),
        }

        assert!(matches!(Item::delete(&db, Scope::Owner(bob.id), mug.id).await, Err(Error::NotFound)));
        assert_eq!(Item::delete(&db, Scope::All, mug.id).await.unwrap().id, mug.id);
        assert!(matches!(Item::get(&db, Scope::All, mug.id).await, Err(Error::NotFound)));

        let seen: Vec<(i64, Option<i64>, ChangeKind)> =
            changes.lock().unwrap().iter().map(|c| (c.pk, c.owner, c.change)).collect();
        assert_eq!(
            seen,
            [
                (mug.id, Some(ada.id), ChangeKind::Created),
                (cup.id, Some(ada.id), ChangeKind::Created),
                (pot.id, Some(bob.id), ChangeKind::Created),
                (mug.id, Some(ada.id), ChangeKind::Updated),
                (mug.id, Some(ada.id), ChangeKind::Deleted),
            ],
            "every write, and only writes, is announced"
        );
    }
}
