//! Turning a list request's query string into a [`ListQuery`], and a page of rows into
//! DRF's `{count, next, previous, results}`.

use actix_web::HttpRequest;
use duet_models::{FieldKind, ListQuery, Lookup, Model, OrderBy, Scope};
use serde_json::{Value, json};

use crate::{ApiError, ApiResult};

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
const SEARCH_PARAM: &str = "search";

/// What a list endpoint allows its clients to ask for (DRF's `filterset_fields`,
/// `ordering_fields`, `search_fields`), and how it pages.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOptions {
    /// Fields usable as `?field=value`, with lookups: `?total__gte=10`, `?id__in=1,2`,
    /// `?note__isnull=true`.
    pub filter_fields: Vec<&'static str>,
    /// Fields usable in `?ordering=a,-b`.
    pub ordering_fields: Vec<&'static str>,
    /// Text fields `?search=` looks in (case-insensitive).
    pub search_fields: Vec<&'static str>,
    /// Ordering when the client names none.
    pub default_ordering: Vec<OrderBy>,
    /// How results are paged.
    pub pagination: Pagination,
}

impl ListOptions {
    /// Defaults from `M`'s description: every field but secret and JSON ones filters and
    /// orders; text fields are searched; rows come in primary key order unless the client
    /// or the viewset (`default_ordering`) asks for another.
    pub fn of<M: Model>() -> ListOptions {
        let usable: Vec<&'static str> = M::fields()
            .iter()
            .filter(|f| !f.secret && f.kind != FieldKind::Json)
            .map(|f| f.name)
            .collect();
        let search_fields = M::fields()
            .iter()
            .filter(|f| !f.secret && f.kind == FieldKind::Text)
            .map(|f| f.name)
            .collect();
        ListOptions {
            filter_fields: usable.clone(),
            ordering_fields: usable,
            search_fields,
            default_ordering: Vec::new(),
            pagination: Pagination::default(),
        }
    }
}

/// A parsed list request: the query, and the window it asked for.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// Scope, filters, search, ordering and window for [`Model::list`].
    pub query: ListQuery,
    limit: i64,
    offset: i64,
    pagination: Pagination,
}

/// Parses `req`'s query string for a list within `scope`. Unknown parameters and
/// fields that are not declared are 400s naming the problem; a value of the wrong type is
/// the model's own 400 when the query runs.
pub fn parse_list_request(req: &HttpRequest, scope: Scope, options: &ListOptions) -> ApiResult<ListRequest> {
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
                query = add_ordering(query, key, &options.ordering_fields)?;
            }
            continue;
        }
        if name == SEARCH_PARAM && !options.search_fields.is_empty() {
            if !value.trim().is_empty() {
                query = query.search(value.trim(), options.search_fields.clone());
            }
            continue;
        }
        let (field, lookup) = Lookup::split(name);
        let Some(field) = options.filter_fields.iter().find(|f| **f == field) else {
            return Err(ApiError::BadRequest(format!(
                "Unknown query parameter \"{name}\". Filter fields: {}.",
                list_or_none(&options.filter_fields)
            )));
        };
        query = query.filter_by(*field, lookup, Value::String(value.clone()));
    }
    if query.ordering.is_empty() {
        query.ordering.clone_from(&options.default_ordering);
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

fn add_ordering(query: ListQuery, key: &str, allowed: &[&'static str]) -> ApiResult<ListQuery> {
    let (name, descending) = key.strip_prefix('-').map_or((key, false), |n| (n, true));
    match allowed.iter().find(|f| **f == name) {
        Some(field) => Ok(query.order_by(*field, descending)),
        None => Err(ApiError::BadRequest(format!(
            "Cannot order by \"{name}\". Ordering fields: {}.",
            list_or_none(allowed)
        ))),
    }
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
            let origin = duet_auth::Client::of(req).origin();
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            format!("{origin}{}?{query}", req.path())
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

    fn options(pagination: Pagination) -> ListOptions {
        ListOptions {
            filter_fields: vec!["is_staff", "created_at"],
            ordering_fields: vec!["username"],
            search_fields: vec!["username"],
            default_ordering: vec![OrderBy {
                field: "id",
                descending: true,
            }],
            pagination,
        }
    }

    fn parse(uri: &str, pagination: Pagination) -> (HttpRequest, ApiResult<ListRequest>) {
        let req = TestRequest::with_uri(uri)
            .insert_header(("host", "h"))
            .to_http_request();
        let parsed = parse_list_request(&req, Scope::All, &options(pagination));
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
            vec![OrderBy {
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
    fn filters_search_and_ordering_are_declared() {
        let (_, staff) = parse(
            "/u/?is_staff=true&created_at__gte=2026-01-01&search=ad&ordering=-username",
            Pagination::default(),
        );
        let staff = staff.unwrap();
        assert_eq!(
            staff.query.filters,
            vec![
                duet_models::Filter {
                    field: "is_staff",
                    lookup: Lookup::Exact,
                    value: json!("true")
                },
                duet_models::Filter {
                    field: "created_at",
                    lookup: Lookup::Gte,
                    value: json!("2026-01-01")
                },
            ]
        );
        assert_eq!(staff.query.search.unwrap().fields, ["username"]);
        assert_eq!(
            staff.query.ordering,
            vec![OrderBy {
                field: "username",
                descending: true
            }]
        );
        for bad in [
            "/u/?username=ada",
            "/u/?email__in=a",
            "/u/?ordering=email",
            "/u/?a=1&a=2",
        ] {
            assert!(
                matches!(parse(bad, Pagination::default()).1, Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("/u/?page=0", Pagination::default()).1,
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn defaults_come_from_the_model() {
        let options = ListOptions::of::<User>();
        assert!(options.filter_fields.contains(&"is_staff") && options.ordering_fields.contains(&"created_at"));
        assert!(
            !options.filter_fields.contains(&"password_hash"),
            "secret fields are never filters"
        );
        assert_eq!(options.search_fields, ["username", "email"]);
    }
}
