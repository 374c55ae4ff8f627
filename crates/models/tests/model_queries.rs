//! `model_queries!` as an app uses it: beside `use diesel::prelude::*` (whose synchronous
//! `RunQueryDsl` must not make its queries ambiguous), for a model with an owner and no
//! filters, without a warning in the caller's crate (denied here); every filter refused, on
//! both backends.
#![deny(warnings)]

use diesel::prelude::*;
use duet_models::schema::api_tokens;
use duet_models::{ApiToken, Db, Error, FRAMEWORK_MIGRATIONS, Field, FieldKind, FieldValue, ListQuery, Model, NewUser};
use duet_models::{Scope, User};
use serde_json::{Map, Value, json};

/// An API token row, seen as a model owned by its user.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
struct Token {
    id: i64,
    user_id: i64,
}

impl Model for Token {
    const NAME: &'static str = "token";
    const TABLE: &'static str = "api_tokens";
    const OWNER_FIELD: Option<&'static str> = Some("user");
    const FIELDS: &'static [Field] = &[
        Field::read_only("id", FieldKind::Integer),
        Field::read_only("user", FieldKind::ForeignKey("user")),
    ];

    fn pk(&self) -> i64 {
        self.id
    }

    fn owner_id(&self) -> Option<i64> {
        Some(self.user_id)
    }

    fn to_json(&self) -> Map<String, Value> {
        duet_models::json_object([("id", json!(self.id)), ("user", json!(self.user_id))])
    }

    duet_models::model_queries! {
        table: api_tokens,
        pk: api_tokens::id,
        owner: api_tokens::user_id,
        filters: {},
        ordering: { "id" => api_tokens::id },
    }
}

duet_models::db_tests! {
    migrations: [FRAMEWORK_MIGRATIONS];

    async fn a_model_without_filters_lists_and_refuses_filters(db: Db) {
        let new = |name: &str| NewUser { username: name.into(), password: "pw".into(), ..NewUser::default() };
        let ada = User::create(&db, new("ada")).await.unwrap();
        let bob = User::create(&db, new("bob")).await.unwrap();
        for user in [&ada, &bob, &ada] {
            ApiToken::issue(&db, user.id).await.unwrap();
        }
        let adas = ListQuery::new(Scope::Owner(ada.id)).order_by("id", true);
        let tokens = Token::list(&db, &adas).await.unwrap();
        assert_eq!(tokens.iter().map(|t| t.user_id).collect::<Vec<_>>(), [ada.id, ada.id]);
        assert!(tokens[0].id > tokens[1].id, "newest first: {tokens:?}");
        assert_eq!(Token::count(&db, &ListQuery::new(Scope::All)).await.unwrap(), 3);
        let filtered = ListQuery::new(Scope::All).filter("user", FieldValue::Integer(ada.id));
        let refused = Token::list(&db, &filtered).await.unwrap_err();
        assert!(matches!(&refused, Error::Config(m) if m.starts_with("cannot filter on \"user\"")), "{refused:?}");
        assert!(matches!(Token::count(&db, &filtered).await, Err(Error::Config(_))));
    }
}
