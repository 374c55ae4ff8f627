//! Turning a list request's query string into a [`ListQuery`], and a page of rows into
//! DRF's `{count, next, previous, results}`.

use actix_web::HttpRequest;
use duet_models::{FieldKind, FieldValue, ListQuery, Model, Scope};
use serde_json::{Value, json};

use crate::{ApiError, ApiResult};
use duet_models::parse_cents;

/// How a list endpoint pages its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pagination {
    /// `?page=N&page_size=M`, `page_size` capped at `max_page_size`.
    PageNumber {
        /// Rows per page unless the client asks otherwise.
        page_size: i64,
        /// The most a client may ask for.
        max_page_size: i64,
    },
    /// `?limit=N&offset=M`, `limit` capped at `max_limit`.
    LimitOffset {
        /// Rows unless the client asks otherwise.
        default_limit: i64,
        /// The most a client may ask for.
        max_limit: i64,
    },
}

impl Default for Pagination {
    fn default() -> Pagination {
        Pagination::PageNumber {
            page_size: 20,
            max_page_size: 100,
        }
    }
}

const PAGINATION_PARAMS: [&str; 4] = ["page", "page_size", "limit", "offset"];
const ORDERING_PARAM: &str = "ordering";

/// What a list endpoint allows its clients to ask for.
#[derive(Debug, Clone, Copy)]
pub struct ListOptions<'a> {
    /// Fields usable as `?field=value`.
    pub filter_fields: &'a [&'a str],
    /// Fields usable in `?ordering=a,-b`.
    pub ordering_fields: &'a [&'a str],
    /// Ordering when the client names none, e.g. `&["-placed_at"]`.
    pub default_ordering: &'a [&'a str],
    /// How results are paged.
    pub pagination: Pagination,
}

/// A parsed list request: the query, and the window it asked for.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// Scope, filters, ordering and window for [`Model::list`].
    pub query: ListQuery,
    limit: i64,
    offset: i64,
    pagination: Pagination,
}

/// Parses `req`'s query string for a list of `M` within `scope`. Unknown parameters, fields
/// that are not declared and values of the wrong type are 400s naming the problem.
pub fn parse_list_request<M: Model>(
    req: &HttpRequest,
    scope: Scope,
    options: ListOptions<'_>,
) -> ApiResult<ListRequest> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("Malformed query string: {e}")))?;
    let mut query = ListQuery::new(scope);
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &pairs {
        if seen.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "Query parameter \"{name}\" is given more than once."
            )));
        }
        seen.push(name);
        if PAGINATION_PARAMS.contains(&name.as_str()) {
            continue;
        }
        if name == ORDERING_PARAM {
            for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                query = add_ordering::<M>(query, key, options.ordering_fields)?;
            }
            continue;
        }
        let Some(field) = options.filter_fields.iter().find(|f| **f == name) else {
            return Err(ApiError::BadRequest(format!(
                "Unknown query parameter \"{name}\". Filter fields: {}.",
                list_or_none(options.filter_fields)
            )));
        };
        let typed = filter_value::<M>(field, value)?;
        query = query.filter(field_name::<M>(field)?, typed);
    }
    if query.ordering.is_empty() {
        // The server's own default may sort by any field of the model.
        let every_field: Vec<&str> = M::fields().iter().map(|f| f.name).collect();
        for key in options.default_ordering {
            query = add_ordering::<M>(query, key, &every_field)?;
        }
    }
    let get = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let (limit, offset) = match options.pagination {
        Pagination::PageNumber {
            page_size,
            max_page_size,
        } => {
            let size = get("page_size")
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(page_size);
            let size = size.min(max_page_size);
            let page = match get("page") {
                None => 1,
                Some(p) => p.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(invalid_page)?,
            };
            (size, (page - 1).checked_mul(size).ok_or_else(invalid_page)?)
        }
        Pagination::LimitOffset {
            default_limit,
            max_limit,
        } => {
            let limit = match get("limit") {
                None => default_limit,
                Some(l) => l.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| bad("limit"))?,
            };
            let offset = match get("offset") {
                None => 0,
                Some(o) => o.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| bad("offset"))?,
            };
            (limit.min(max_limit), offset)
        }
    };
    Ok(ListRequest {
        query: query.window(limit, offset),
        limit,
        offset,
        pagination: options.pagination,
    })
}

fn add_ordering<M: Model>(query: ListQuery, key: &str, allowed: &[&str]) -> ApiResult<ListQuery> {
    let (name, descending) = key.strip_prefix('-').map_or((key, false), |n| (n, true));
    if !allowed.contains(&name) {
        return Err(ApiError::BadRequest(format!(
            "Cannot order by \"{name}\". Ordering fields: {}.",
            list_or_none(allowed)
        )));
    }
    Ok(query.order_by(field_name::<M>(name)?, descending))
}

fn field_name<M: Model>(name: &str) -> ApiResult<&'static str> {
    M::field(name).map(|f| f.name).ok_or_else(|| {
        tracing::error!(
            model = M::NAME,
            field = name,
            "a viewset declares a field its model does not have"
        );
        ApiError::Internal
    })
}

fn filter_value<M: Model>(name: &str, raw: &str) -> ApiResult<FieldValue> {
    let field = M::field(name).ok_or(ApiError::Internal)?;
    let invalid = |what: &str| {
        let mut errors = crate::ValidationErrors::new();
        errors.add(name, format!("\"{raw}\" is not {what}."));
        ApiError::Validation(errors)
    };
    Ok(match field.kind {
        FieldKind::Choice(choices) if choices.iter().any(|c| c.value == raw) => FieldValue::Text(raw.to_owned()),
        FieldKind::Choice(_) => return Err(invalid("a valid choice")),
        FieldKind::Text => FieldValue::Text(raw.to_owned()),
        FieldKind::Bool => match raw {
            "true" | "1" | "True" => FieldValue::Bool(true),
            "false" | "0" | "False" => FieldValue::Bool(false),
            _ => return Err(invalid("a boolean")),
        },
        FieldKind::Integer | FieldKind::ForeignKey { .. } => {
            FieldValue::Integer(raw.parse().map_err(|_| invalid("an integer"))?)
        }
        FieldKind::Money => FieldValue::Integer(parse_cents(raw).ok_or_else(|| invalid("an amount"))?),
        _ => return Err(invalid("filterable")),
    })
}

fn invalid_page() -> ApiError {
    ApiError::NotFound("Invalid page.".into())
}

fn bad(param: &str) -> ApiError {
    ApiError::BadRequest(format!("\"{param}\" must be a non-negative whole number."))
}

fn list_or_none(fields: &[&str]) -> String {
    if fields.is_empty() {
        "none".into()
    } else {
        fields.join(", ")
    }
}

impl ListRequest {
    /// DRF's page body for `results` out of `count` matching rows; `next`/`previous` are
    /// absolute URLs of the neighbouring pages. A page past the end is 404 "Invalid page.".
    pub fn page(&self, req: &HttpRequest, count: i64, results: &[Value]) -> ApiResult<Value> {
        if self.offset > 0 && self.offset >= count && matches!(self.pagination, Pagination::PageNumber { .. }) {
            return Err(invalid_page());
        }
        let link = |offset: i64| -> String {
            let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
            let (set, value) = match self.pagination {
                Pagination::PageNumber { .. } => ("page", (offset / self.limit + 1).to_string()),
                Pagination::LimitOffset { .. } => ("offset", offset.to_string()),
            };
            pairs.retain(|(k, _)| k != set);
            if let Pagination::LimitOffset { .. } = self.pagination {
                pairs.retain(|(k, _)| k != "limit");
                pairs.push(("limit".into(), self.limit.to_string()));
            }
            pairs.push((set.into(), value));
            let info = req.connection_info();
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            format!("{}://{}{}?{query}", info.scheme(), info.host(), req.path())
        };
        let next = (self.offset + self.limit < count).then(|| link(self.offset + self.limit));
        let previous = (self.offset > 0).then(|| link((self.offset - self.limit).max(0)));
        Ok(json!({ "count": count, "next": next, "previous": previous, "results": results }))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use duet_models::{Scope, User};
    use serde_json::json;

    use super::*;

    fn options(pagination: Pagination) -> ListOptions<'static> {
        ListOptions {
            filter_fields: &["is_staff"],
            ordering_fields: &["username"],
            default_ordering: &["-id"],
            pagination,
        }
    }

    fn parse(uri: &str, pagination: Pagination) -> (HttpRequest, ApiResult<ListRequest>) {
        let req = TestRequest::with_uri(uri)
            .insert_header(("host", "h"))
            .to_http_request();
        let parsed = parse_list_request::<User>(&req, Scope::All, options(pagination));
        (req, parsed)
    }

    const LIMIT_OFFSET: Pagination = Pagination::LimitOffset {
        default_limit: 10,
        max_limit: 50,
    };

    #[test]
    fn limit_offset_windows_and_links() {
        let (req, list) = parse("/u/?limit=5&offset=10", LIMIT_OFFSET);
        let list = list.unwrap();
        assert_eq!((list.query.limit, list.query.offset), (Some(5), 10));
        let page = list.page(&req, 30, &[]).unwrap();
        assert_eq!(page["next"], json!("http://h/u/?limit=5&offset=15"));
        assert_eq!(page["previous"], json!("http://h/u/?limit=5&offset=5"));
        let (_, capped) = parse("/u/?limit=500", LIMIT_OFFSET);
        assert_eq!(capped.unwrap().query.limit, Some(50));
        let (_, defaulted) = parse("/u/", LIMIT_OFFSET);
        let defaulted = defaulted.unwrap();
        assert_eq!((defaulted.query.limit, defaulted.query.offset), (Some(10), 0));
        assert_eq!(
            defaulted.query.ordering,
            vec![duet_models::OrderBy {
                field: "id",
                descending: true
            }],
            "default ordering"
        );
        for bad in ["/u/?limit=0", "/u/?limit=x", "/u/?offset=-1"] {
            assert!(
                matches!(parse(bad, LIMIT_OFFSET).1, Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
        // Past the end is an empty window, not an error, with limit/offset.
        let (req, past) = parse("/u/?offset=100", LIMIT_OFFSET);
        assert_eq!(past.unwrap().page(&req, 3, &[]).unwrap()["next"], json!(null));
    }

    #[test]
    fn filters_and_ordering_are_typed_and_declared() {
        let (_, staff) = parse("/u/?is_staff=true&ordering=-username", Pagination::default());
        let staff = staff.unwrap();
        assert_eq!(
            staff.query.filters,
            vec![duet_models::Filter {
                field: "is_staff",
                value: duet_models::FieldValue::Bool(true)
            }]
        );
        assert_eq!(
            staff.query.ordering,
            vec![duet_models::OrderBy {
                field: "username",
                descending: true
            }]
        );
        assert!(matches!(
            parse("/u/?is_staff=maybe", Pagination::default()).1,
            Err(ApiError::Validation(_))
        ));
        assert!(matches!(
            parse("/u/?username=ada", Pagination::default()).1,
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse("/u/?ordering=email", Pagination::default()).1,
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse("/u/?page=0", Pagination::default()).1,
            Err(ApiError::NotFound(_))
        ));
    }
}
