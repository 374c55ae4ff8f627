//! [`HeaderSource`] for actix-web's header map.

use actix_web::http::header::{HeaderMap, HeaderValue};

use crate::HeaderSource;

/// Every value of `name` (matched case-insensitively, as HTTP header names are), as bytes.
/// A name that is not a valid header name has no values.
impl HeaderSource for HeaderMap {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        HeaderMap::get_all(self, name).map(HeaderValue::as_bytes).collect()
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn all_values_case_insensitively() {
        let mut map = HeaderMap::new();
        let name = HeaderName::from_static("x-github-delivery");
        map.append(name.clone(), HeaderValue::from_static("a"));
        map.append(name, HeaderValue::from_bytes(b"\xffb").unwrap());
        let source: &dyn HeaderSource = &map;
        assert_eq!(
            source.get_all("X-GitHub-Delivery"),
            [b"a".as_slice(), b"\xffb".as_slice()]
        );
        assert!(source.get_all("x-hub-signature-256").is_empty());
        assert!(source.get_all("not a header name").is_empty());
        assert_eq!(
            crate::headers::optional(&map, "X-GITHUB-DELIVERY").unwrap_err(),
            crate::WebhookError::invalid_header("X-GITHUB-DELIVERY", crate::HeaderIssue::Duplicated)
        );
    }
}
