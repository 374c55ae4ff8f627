//! Who is on the other end of a request — the client's address, the scheme and the host it
//! asked for — read once per request by [`Client::of`], the one place every consumer (host
//! checks, CSRF's Origin check, the event socket, throttling, logs, links) asks.
//!
//! Behind a reverse proxy the TCP peer is the proxy: the client's address, scheme and host
//! then come from the proxy's `Forwarded` (RFC 7239) or `X-Forwarded-For`/`-Proto`/`-Host`
//! headers. Anyone can send those headers, so they are read only when the peer is one of
//! the [`TrustedProxies`] (`DUET_TRUSTED_PROXIES`); from anyone else they are ignored.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::header::{HOST, HeaderMap};
use actix_web::{HttpMessage, HttpRequest, web};
use ipnet::IpNet;

use crate::AuthConfig;

/// The proxies whose forwarding headers are believed: addresses or CIDR blocks
/// (`DUET_TRUSTED_PROXIES=127.0.0.1,10.0.0.0/8`). Empty (the default): every request is
/// taken as it arrived, and forwarding headers are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// A comma-separated list of addresses (`127.0.0.1`, `::1`) and CIDR blocks
    /// (`10.0.0.0/8`); names the first bad entry.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = IpNet::from_str(entry)
                .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address or a CIDR block (such as 10.0.0.0/8)"))?;
            nets.push(net);
        }
        if nets.is_empty() {
            return Err("lists no address".into());
        }
        Ok(TrustedProxies { nets })
    }

    /// Whether every address is trusted (`0.0.0.0/0`, `::/0`): then anyone may forge a
    /// client address, scheme or host.
    pub fn trusts_anyone(&self) -> bool {
        self.nets.iter().any(|net| net.prefix_len() == 0)
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.nets.iter().any(|net| net.contains(&address))
    }
}

/// `http` or `https`, as the client used it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The request as the client made it: its address, scheme and host, believed from a
/// trusted proxy's headers and otherwise taken from the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The client's address: the TCP peer's, or (from a trusted proxy) the nearest address
    /// of the forwarding chain that is not a trusted proxy. `None` when the server does not
    /// know its peer (a test request without one).
    pub address: Option<IpAddr>,
    /// The scheme the client used.
    pub scheme: Scheme,
    /// The host the client asked for (`Host`, or a trusted proxy's forwarded host), maybe
    /// with a port.
    pub host: String,
}

impl Client {
    /// The request's client, worked out on first use and kept in the request's extensions.
    /// The trusted proxies are [`AuthConfig`]'s (none without one).
    pub fn of(req: &HttpRequest) -> Client {
        if let Some(client) = req.extensions().get::<Client>() {
            return client.clone();
        }
        let client = match req.app_data::<web::Data<AuthConfig>>() {
            Some(config) => Client::resolve(req, &config.trusted_proxies),
            None => Client::resolve(req, &TrustedProxies::default()),
        };
        req.extensions_mut().insert(client.clone());
        client
    }

    /// `scheme://host`: the origin the client sees this site as.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.host)
    }

    fn resolve(req: &HttpRequest, proxies: &TrustedProxies) -> Client {
        let peer = req.peer_addr().map(|a| canonical(a.ip()));
        let direct = Client {
            address: peer,
            scheme: if req.app_config().secure() {
                Scheme::Https
            } else {
                Scheme::Http
            },
            host: direct_host(req),
        };
        match peer {
            Some(peer) if proxies.contains(peer) => direct.forwarded(req.headers(), proxies),
            _ => direct,
        }
    }

    /// `self` (the connection, from a trusted proxy) completed by the proxy's headers:
    /// `Forwarded` when present, else `X-Forwarded-*`. Each proxy appends to the address
    /// chain, so it is read from the right, skipping trusted proxies; the scheme and host
    /// are the last values, which the proxy next to us set.
    fn forwarded(mut self, headers: &HeaderMap, proxies: &TrustedProxies) -> Client {
        let hops = forwarded_hops(headers);
        let (chain, proto, host) = if hops.is_empty() {
            (
                list(headers, "x-forwarded-for"),
                list(headers, "x-forwarded-proto").pop(),
                list(headers, "x-forwarded-host").pop(),
            )
        } else {
            let last = hops.last().cloned().unwrap_or_default();
            (hops.into_iter().filter_map(|h| h.for_).collect(), last.proto, last.host)
        };
        for entry in chain.iter().rev() {
            match node_address(entry) {
                Some(address) => {
                    self.address = Some(address);
                    if !proxies.contains(address) {
                        break;
                    }
                }
                // An obfuscated or unknown node: nothing further left can be believed.
                None => break,
            }
        }
        match proto.map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("https") => self.scheme = Scheme::Https,
            Some("http") => self.scheme = Scheme::Http,
            _ => {}
        }
        if let Some(host) = host.filter(|h| !h.is_empty()) {
            self.host = host;
        }
        self
    }
}

/// The `Host` header, else the request line's authority (HTTP/2), else the server's own
/// name (actix's `AppConfig::host`, as its `ConnectionInfo` does).
fn direct_host(req: &HttpRequest) -> String {
    req.headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_else(|| req.app_config().host().to_owned())
}

/// Every comma-separated value of header `name`, in order, over all its lines.
fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// One element of `Forwarded` (one hop).
#[derive(Debug, Clone, Default)]
struct Hop {
    for_: Option<String>,
    proto: Option<String>,
    host: Option<String>,
}

fn forwarded_hops(headers: &HeaderMap) -> Vec<Hop> {
    list(headers, "forwarded")
        .iter()
        .map(|element| {
            let mut hop = Hop::default();
            for pair in element.split(';') {
                let Some((name, value)) = pair.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"').to_owned();
                match name.trim().to_ascii_lowercase().as_str() {
                    "for" => hop.for_ = Some(value),
                    "proto" => hop.proto = Some(value),
                    "host" => hop.host = Some(value),
                    _ => {}
                }
            }
            hop
        })
        .collect()
}

/// The address of a forwarded node: `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]:443`,
/// `2001:db8::1`; `None` for `unknown` or an obfuscated name.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = node.parse::<std::net::SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, from a dual-stack socket) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    const PEER: &str = "10.0.0.5:40000";

    fn client(proxies: &str, headers: &[(&str, &str)]) -> Client {
        let mut req = TestRequest::get()
            .uri("/")
            .peer_addr(PEER.parse().unwrap())
            .insert_header(("host", "app.internal:8000"));
        for header in headers {
            req = req.append_header(*header);
        }
        let proxies = match proxies {
            "" => TrustedProxies::default(),
            list => TrustedProxies::parse(list).unwrap(),
        };
        Client::resolve(&req.to_http_request(), &proxies)
    }

    fn check(proxies: &str, headers: &[(&str, &str)], address: &str, origin: &str) {
        let found = client(proxies, headers);
        assert_eq!(
            (found.address.unwrap().to_string().as_str(), found.origin().as_str()),
            (address, origin),
            "trusting {proxies:?}, {headers:?}"
        );
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let forged = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
        ];
        check("", &forged, "10.0.0.5", "http://app.internal:8000");
        check(
            "10.0.0.6,192.168.0.0/16",
            &forged,
            "10.0.0.5",
            "http://app.internal:8000",
        );
        check("10.0.0.0/24", &forged, "203.0.113.9", "https://evil.example");
        check("10.0.0.5", &[], "10.0.0.5", "http://app.internal:8000");
        check(
            "10.0.0.5",
            &[(
                "forwarded",
                "for=\"[2001:db8::1]:4711\";proto=https;host=shop.example.com",
            )],
            "2001:db8::1",
            "https://shop.example.com",
        );
    }

    #[test]
    fn the_address_chain_is_read_from_the_right() {
        // The client put a forged address first; the proxy appended the one it saw.
        let chain = [("x-forwarded-for", "1.1.1.1, 198.51.100.7")];
        check("10.0.0.5", &chain, "198.51.100.7", "http://app.internal:8000");
        // Two proxies, both trusted: the address before them.
        let chain = [("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.0.0.9")];
        check("10.0.0.0/24", &chain, "198.51.100.7", "http://app.internal:8000");
        let chain = [("forwarded", "for=1.1.1.1, for=198.51.100.7;proto=https")];
        check("10.0.0.5", &chain, "198.51.100.7", "https://app.internal:8000");
        // An unknown node stops the walk at the last address believed.
        let chain = [("forwarded", "for=1.1.1.1, for=unknown")];
        check("10.0.0.5", &chain, "10.0.0.5", "http://app.internal:8000");
        // A trusted peer's forwarded scheme is the last one, set by the peer.
        let chain = [("x-forwarded-proto", "http, https")];
        check("10.0.0.5", &chain, "10.0.0.5", "https://app.internal:8000");
    }

    #[test]
    fn lists_are_parsed_with_a_reason() {
        let proxies = TrustedProxies::parse("127.0.0.1, ::1, 10.0.0.0/8").unwrap();
        assert!(proxies.contains("10.200.1.1".parse().unwrap()));
        assert!(proxies.contains("::ffff:127.0.0.1".parse().unwrap()), "IPv4-mapped");
        assert!(!proxies.contains("11.0.0.1".parse().unwrap()));
        assert!(!proxies.trusts_anyone());
        assert!(TrustedProxies::parse("10.0.0.1,0.0.0.0/0").unwrap().trusts_anyone());
        assert!(TrustedProxies::parse(" , ").is_err());
        assert_eq!(
            TrustedProxies::parse("10.0.0.1,proxy.local").unwrap_err(),
            "\"proxy.local\" is not an address or a CIDR block (such as 10.0.0.0/8)"
        );
    }
}
