//! The host names the app answers to (Django's `ALLOWED_HOSTS`).

/// The host names the app answers to. A request whose host — [`Client::of`](crate::Client::of)'s:
/// `Host`, or a trusted proxy's forwarded host — is not one of them is refused with 400
/// before anything reads it, so CSRF's same-origin check, the event socket's Origin check
/// and any URL built from the host only ever see a host the app owns.
///
/// Entries: `example.com` (that host), `.example.com` (it and every subdomain), `*` (any
/// host: for a proxy that already checks). Ports are ignored; case does not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<String>,
}

impl Default for AllowedHosts {
    /// The loopback names only: `localhost`, `127.0.0.1`, `[::1]` (development).
    fn default() -> AllowedHosts {
        AllowedHosts::loopback()
    }
}

impl AllowedHosts {
    /// `localhost`, `127.0.0.1` and `[::1]`.
    pub fn loopback() -> AllowedHosts {
        AllowedHosts {
            entries: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
        }
    }

    /// A comma-separated list (`DUET_ALLOWED_HOSTS=shop.example.com,.example.org`); names the
    /// first bad entry.
    pub fn parse(list: &str) -> Result<AllowedHosts, String> {
        let mut entries = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let name = entry.strip_prefix('.').unwrap_or(entry);
            let valid = entry == "*" || host_name(name) == Some(name);
            if !valid {
                return Err(format!(
                    "{entry:?} is not a host name (use example.com, .example.com or *)"
                ));
            }
            entries.push(entry.to_ascii_lowercase());
        }
        if entries.is_empty() {
            return Err("lists no host".into());
        }
        Ok(AllowedHosts { entries })
    }

    /// Whether any host is allowed (`*`).
    pub fn allows_any(&self) -> bool {
        self.entries.iter().any(|entry| entry == "*")
    }

    /// Whether `host` (as in a `Host` header: a name, maybe with a port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        let name = name.to_ascii_lowercase();
        self.entries.iter().any(|entry| {
            entry == "*"
                || *entry == name
                || entry
                    .strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(&format!(".{domain}")))
        })
    }
}

/// The name part of a `Host` value: `[::1]:8000` → `[::1]`, `example.com:443` →
/// `example.com`; `None` for anything that is not a plain host.
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        if !(rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        name
    } else {
        match host.split_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    plain.then_some(name)
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(list: &str, host: &str, allowed: bool) {
        let hosts = AllowedHosts::parse(list).unwrap();
        assert_eq!(hosts.allows(host), allowed, "{list:?} allows {host:?}");
    }

    #[test]
    fn hosts_match_exactly_or_by_domain() {
        check("shop.example.com", "shop.example.com", true);
        check("shop.example.com", "SHOP.example.com:8443", true);
        check("shop.example.com", "evil.com", false);
        check("shop.example.com", "shop.example.com.evil.com", false);
        check("shop.example.com", "shop.example.com@evil.com", false);
        check("shop.example.com", "shop.example.com:80:81", false);
        check(".example.com", "example.com", true);
        check(".example.com", "a.b.example.com", true);
        check(".example.com", "badexample.com", false);
        check("*", "anything.test:1", true);
        check("*", "bad host", false);
        check("localhost,127.0.0.1", "127.0.0.1:8000", true);
        check("[::1]", "[::1]:8000", true);
        check("[::1]", "[::1]x", false);
        assert!(AllowedHosts::default().allows("localhost:8000"));
        assert!(!AllowedHosts::default().allows("example.com"));
    }

    #[test]
    fn bad_lists_are_named() {
        assert!(AllowedHosts::parse("").is_err());
        assert!(AllowedHosts::parse(" , ").is_err());
        assert!(
            AllowedHosts::parse("example.com:80").is_err(),
            "ports are not part of an entry"
        );
        assert_eq!(
            AllowedHosts::parse("ok.com,http://x.com").unwrap_err(),
            "\"http://x.com\" is not a host name (use example.com, .example.com or *)"
        );
    }
}
