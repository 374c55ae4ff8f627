//! Request headers, independent of any HTTP crate.
//!
//! Verifiers read headers through [`HeaderSource`]; it is implemented here for pairs of
//! names and values in slices, arrays, `Vec`s and the owned [`Headers`], and an HTTP
//! integration implements it for its own header map. [`required`] and [`optional`] fetch
//! a header that may appear at most once, with the checks every scheme shares.

use crate::{HeaderIssue, MAX_HEADER_LEN, WebhookError};

/// Read access to a request's headers.
///
/// Names are matched ASCII case-insensitively. Values are raw bytes: the verifiers check
/// that the ones they read are UTF-8.
///
/// ```
/// use duet_webhooks::HeaderSource;
///
/// let headers = [("Content-Type", "application/json"), ("x-tag", "a"), ("X-Tag", "b")];
/// assert_eq!(headers.get_all("X-TAG"), [b"a".as_slice(), b"b".as_slice()]);
/// assert!(headers.get_all("x-missing").is_empty());
/// ```
pub trait HeaderSource {
    /// Every value of the header `name`, in the order received; empty when absent.
    fn get_all(&self, name: &str) -> Vec<&[u8]>;
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        (**self).get_all(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.iter()
            .filter(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
            .collect()
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> HeaderSource for [(K, V); N] {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.as_slice().get_all(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for Vec<(K, V)> {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.as_slice().get_all(name)
    }
}

/// An owned list of headers: build one in tests, or copy a request's headers into it.
///
/// ```
/// use duet_webhooks::{HeaderSource, Headers};
///
/// let headers = Headers::new().with("X-GitHub-Delivery", "72d3162e").with("x-a", [0xff]);
/// assert_eq!(headers.get_all("x-github-delivery"), [b"72d3162e".as_slice()]);
/// assert_eq!(headers.get_all("X-A"), [[0xff].as_slice()]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value for `name`, keeping earlier values of the same header.
    pub fn append(&mut self, name: impl Into<String>, value: impl AsRef<[u8]>) {
        self.entries.push((name.into(), value.as_ref().to_vec()));
    }

    /// [`Headers::append`], by value, for chaining.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.append(name, value);
        self
    }
}

impl HeaderSource for Headers {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.entries.get_all(name)
    }
}

impl<K: Into<String>, V: AsRef<[u8]>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.append(name, value);
        }
        headers
    }
}

/// The value of a header that must appear exactly once.
///
/// The value is trimmed of surrounding ASCII whitespace. Errors:
/// [`WebhookError::MissingHeader`] when absent, and [`WebhookError::InvalidHeader`] when it
/// appears more than once, is longer than [`MAX_HEADER_LEN`], is not UTF-8 or is empty.
pub fn required<'h, H: HeaderSource + ?Sized>(headers: &'h H, name: &str) -> Result<&'h str, WebhookError> {
    optional(headers, name)?.ok_or_else(|| WebhookError::MissingHeader(name.to_owned()))
}

/// The value of a header that may appear at most once: `None` when absent, otherwise as
/// [`required`].
pub fn optional<'h, H: HeaderSource + ?Sized>(headers: &'h H, name: &str) -> Result<Option<&'h str>, WebhookError> {
    let invalid = |reason| WebhookError::invalid_header(name, reason);
    let value = match headers.get_all(name).as_slice() {
        [] => return Ok(None),
        [value] => *value,
        _ => return Err(invalid(HeaderIssue::Duplicated)),
    };
    if value.len() > MAX_HEADER_LEN {
        return Err(invalid(HeaderIssue::TooLong {
            len: value.len(),
            max: MAX_HEADER_LEN,
        }));
    }
    let value = std::str::from_utf8(value)
        .map_err(|_| invalid(HeaderIssue::NotUtf8))?
        .trim_ascii();
    if value.is_empty() {
        return Err(invalid(HeaderIssue::Empty));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(result: Result<Option<&str>, WebhookError>) -> HeaderIssue {
        match result {
            Err(WebhookError::InvalidHeader { header, reason }) => {
                assert_eq!(header, "X-Sig");
                reason
            }
            other => panic!("expected InvalidHeader, got {other:?}"),
        }
    }

    #[test]
    fn names_match_case_insensitively_and_values_keep_order() {
        let headers = vec![
            ("x-sig".to_owned(), "1".to_owned()),
            ("X-SIG".to_owned(), "2".to_owned()),
        ];
        assert_eq!(headers.get_all("X-Sig"), [b"1".as_slice(), b"2".as_slice()]);
        let slice: &[(&str, &str)] = &[("A", "x")];
        let dynamic: &dyn HeaderSource = &slice;
        assert_eq!(dynamic.get_all("a"), [b"x".as_slice()]);
    }

    #[test]
    fn headers_collect_from_pairs() {
        let headers: Headers = [("a", "1"), ("A", "2")].into_iter().collect();
        assert_eq!(headers.get_all("a").len(), 2);
    }

    #[test]
    fn required_and_optional() {
        assert_eq!(required(&[("x-sig", " v ")], "X-Sig"), Ok("v"));
        assert_eq!(optional(&[("x-sig", "v")], "X-Other"), Ok(None));
        assert_eq!(
            required(&[("a", "v")], "X-Sig"),
            Err(WebhookError::MissingHeader("X-Sig".into()))
        );
        let dup = [("x-sig", "v"), ("X-SIG", "v")];
        assert_eq!(issue(optional(&dup, "X-Sig")), HeaderIssue::Duplicated);
        assert_eq!(issue(optional(&[("x-sig", " \t")], "X-Sig")), HeaderIssue::Empty);
        let bytes: [(&str, &[u8]); 1] = [("x-sig", &[0xc3, 0x28])];
        assert_eq!(issue(optional(&bytes, "X-Sig")), HeaderIssue::NotUtf8);
        let long = "a".repeat(MAX_HEADER_LEN + 1);
        assert_eq!(
            issue(optional(&[("x-sig", long.as_str())], "X-Sig")),
            HeaderIssue::TooLong {
                len: MAX_HEADER_LEN + 1,
                max: MAX_HEADER_LEN
            }
        );
        let longest = "a".repeat(MAX_HEADER_LEN);
        assert!(optional(&[("x-sig", longest.as_str())], "X-Sig").is_ok());
    }
}
