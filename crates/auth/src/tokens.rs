//! The API token views: list, issue and revoke one's own tokens, under
//! `/accounts/tokens/`. Mounted by duet-mount beside the account views.
//!
//! Tokens are managed from a logged-in session only (unsafe methods CSRF-checked as
//! everywhere): a request authenticated by a token is refused (403), so a leaked token can
//! neither mint a longer-lived or wider one nor revoke its owner's others.

use std::rc::Rc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use duet_models::{ApiToken, Choices, Db, Scope, TokenScope, TokenSpec, User};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::identity::current_user;
use crate::{AuthError, Identity};

/// `GET` one's tokens, `POST` to issue one.
pub const TOKENS_PATH: &str = "/accounts/tokens/";

/// A token as its owner sees it: never its key or its hash.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiTokenInfo)]
struct TokenInfo {
    id: i64,
    /// What it is for.
    name: String,
    #[schema(schema_with = scope_schema)]
    scope: &'static str,
    /// When it was issued.
    #[schema(value_type = String, format = DateTime)]
    created_at: Value,
    /// When it stops working; `null`: never.
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Value,
    /// When it last authenticated a request, to the minute; `null`: never used.
    #[schema(value_type = Option<String>, format = DateTime)]
    last_used_at: Value,
}

impl From<&ApiToken> for TokenInfo {
    fn from(token: &ApiToken) -> TokenInfo {
        let at = |at: &Option<_>| at.as_ref().map_or(Value::Null, duet_models::datetime_to_json);
        TokenInfo {
            id: token.id,
            name: token.name.clone(),
            scope: token.scope.value(),
            created_at: duet_models::datetime_to_json(&token.created_at),
            expires_at: at(&token.expires_at),
            last_used_at: at(&token.last_used_at),
        }
    }
}

/// A token just issued, with its key: shown this once.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = IssuedApiToken)]
struct IssuedToken {
    #[serde(flatten)]
    token: TokenInfo,
    /// The key, for `Authorization: Token <key>`: shown only in this response.
    key: String,
}

/// What `POST /accounts/tokens/` reads. Each field is read as JSON and checked on its own,
/// so that every field's error is reported (DRF's shape).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ApiTokenInput)]
struct TokenInput {
    /// What it is for (at most 100 characters).
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    name: Value,
    #[serde(default)]
    #[schema(schema_with = scope_input_schema)]
    scope: Value,
    /// How long it works, such as `30d`, `12h` or `90min`; absent or `null`: forever.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    expires_in: Value,
}

fn scope_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(TokenScope::CHOICES.iter().map(|c| c.value)))
        .description(Some(
            "read: GET, HEAD and OPTIONS only; read_write: everything its user may do.",
        ))
        .build()
}

fn scope_input_schema() -> Object {
    let mut schema = scope_schema();
    schema.default = Some(json!(TokenScope::ReadWrite.value()));
    schema
}

/// The logged-in user of a session; tokens may not manage tokens.
async fn session_user(req: &HttpRequest) -> Result<Rc<User>, AuthError> {
    if matches!(Identity::of(req), Identity::Token(_)) {
        tracing::warn!(path = req.path(), "token management refused: authenticated by a token");
        return Err(AuthError::TokenManagesTokens);
    }
    current_user(req).await?.ok_or(AuthError::NotAuthenticated)
}

/// `GET /accounts/tokens/`: the user's tokens, newest first, expired ones included.
#[utoipa::path(
    get,
    path = "/tokens/",
    operation_id = "accounts_tokens_list",
    tag = "accounts",
    security(("session" = [])),
    responses(
        (status = 200, description = "The user's tokens, newest first.", body = Vec<TokenInfo>),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
        (status = 403, description = "Authenticated by a token: tokens are managed from a session.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn list(req: HttpRequest, db: web::Data<Db>) -> Result<HttpResponse, AuthError> {
    let user = session_user(&req).await?;
    let tokens = ApiToken::of_user(&db, user.id).await?;
    Ok(HttpResponse::Ok().json(tokens.iter().map(TokenInfo::from).collect::<Vec<_>>()))
}

/// `POST /accounts/tokens/` with JSON `{"name", "scope"?, "expires_in"?}`: issues a token
/// and returns it with its key, which is never shown again.
#[utoipa::path(
    post,
    path = "/tokens/",
    operation_id = "accounts_tokens_create",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    request_body(content = TokenInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued: the key is in this response only.", body = IssuedToken),
        (status = 400, description = "A field is missing or invalid, or the body is not JSON.", body = ref("#/components/schemas/Invalid")),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
        (status = 403, description = "The CSRF check failed, or authenticated by a token.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Not JSON.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn issue(req: HttpRequest, db: web::Data<Db>, body: web::Bytes) -> Result<HttpResponse, AuthError> {
    let user = session_user(&req).await?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(AuthError::UnsupportedMediaType(content_type.to_owned()));
    }
    let input: TokenInput =
        serde_json::from_slice(&body).map_err(|e| AuthError::BadRequest(format!("JSON parse error - {e}")))?;
    let spec = match token_spec(&input) {
        Ok(spec) => spec,
        Err(errors) => return Ok(HttpResponse::BadRequest().json(errors)),
    };
    let (token, key) = ApiToken::issue_with(&db, user.id, spec).await?;
    tracing::info!(
        user_id = user.id,
        token_id = token.id,
        scope = token.scope.value(),
        "API token issued"
    );
    Ok(HttpResponse::Created().json(IssuedToken {
        token: TokenInfo::from(&token),
        key,
    }))
}

/// The spec `input` asks for, or every field's errors in DRF's shape.
fn token_spec(input: &TokenInput) -> Result<TokenSpec, Map<String, Value>> {
    let mut errors = Map::new();
    let mut fail = |field: &str, message: String| {
        errors.insert(field.to_owned(), json!([message]));
    };
    let mut spec = match &input.name {
        Value::String(name) => TokenSpec::named(name).map_err(|e| fail("name", e)).ok(),
        Value::Null => {
            fail("name", "This field is required.".to_owned());
            None
        }
        _ => {
            fail("name", "Not a valid string.".to_owned());
            None
        }
    }
    .unwrap_or_default();
    if !input.scope.is_null() {
        match duet_models::choice_from_json::<TokenScope>(&input.scope) {
            Ok(scope) => spec.scope = scope,
            Err(e) => fail("scope", e),
        }
    }
    match &input.expires_in {
        Value::Null => {}
        Value::String(lifetime) => match spec.clone().expires_in(lifetime, duet_models::now()) {
            Ok(expiring) => spec = expiring,
            Err(e) => fail("expires_in", e),
        },
        _ => fail("expires_in", "Not a valid string.".to_owned()),
    }
    match errors.is_empty() {
        true => Ok(spec),
        false => Err(errors),
    }
}

/// `DELETE /accounts/tokens/{id}/`: revokes (deletes) one of the user's tokens; it stops
/// working at once, on every instance. Other users' tokens are not found.
#[utoipa::path(
    delete,
    path = "/tokens/{id}/",
    operation_id = "accounts_tokens_revoke",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The token's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
        (status = 403, description = "The CSRF check failed, or authenticated by a token.", body = ref("#/components/schemas/Error")),
        (status = 404, description = "No such token of this user.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn revoke(req: HttpRequest, db: web::Data<Db>, id: web::Path<i64>) -> Result<HttpResponse, AuthError> {
    let user = session_user(&req).await?;
    match ApiToken::revoke(&db, Scope::Owner(user.id), *id).await {
        Ok(token) => {
            tracing::info!(user_id = user.id, token_id = token.id, "API token revoked");
            Ok(HttpResponse::NoContent().finish())
        }
        Err(duet_models::Error::NotFound) => Err(AuthError::NotFound),
        Err(other) => Err(other.into()),
    }
}
