//! Rate limits, as DRF's throttling: a [`Throttle`] is a scope and a [`ThrottleRate`]
//! (`N/second|minute|hour|day`); a [`Limiter`] counts requests per scope and key (a client
//! address, a user id, a username) and answers [`AuthError::Throttled`] (429 with
//! `Retry-After`) past the rate.
//!
//! Counting is GCRA (the generic cell rate algorithm): a key may spend its `N` requests at
//! once, then gets one back every `period / N`. Over time that is `N` per period, as DRF's
//! sliding log; unlike it, a client that spent its burst waits `period / N` for the next
//! request rather than for the oldest one to leave the window, and the state per key is one
//! number instead of a list of timestamps. In memory ([`Limiter::memory`], one process) this
//! is `governor`; in Redis ([`Limiter::redis`], shared by every instance) one Lua script per
//! check — one round trip, atomic, the key expiring once its budget is whole again.
//!
//! The framework uses it for the API (`DUET_THROTTLE_ANON`, `DUET_THROTTLE_USER`, scoped
//! rates declared next to routes) and for logins ([`Throttles::login`]). Other views call
//! [`Limiter::check`] themselves, per address and per account:
//!
//! ```
//! use duet_auth::{Limiter, Throttle, ThrottleRate};
//!
//! const SIGNUPS: Throttle = Throttle::new("signup", ThrottleRate::per_hour(3));
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let limiter = Limiter::memory();
//! for _ in 0..3 {
//!     assert!(limiter.check(&SIGNUPS, "192.0.2.1").await.is_ok());
//! }
//! let refused = limiter.check(&SIGNUPS, "192.0.2.1").await.unwrap_err();
//! assert_eq!(refused.to_string(), "Request was throttled. Expected available in 1200 seconds.");
//! assert!(limiter.check(&SIGNUPS, "192.0.2.2").await.is_ok(), "another key, its own budget");
//! # }
//! ```

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::{HttpRequest, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use redis::aio::ConnectionManagerConfig;
use sha2::Digest;

use crate::redis_conn::PerThreadConnections;
use crate::{AuthConfig, AuthError, Client, Identity};

/// How many requests per period: `10/minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleRate {
    requests: NonZeroU32,
    period: Duration,
}

impl ThrottleRate {
    /// `requests` per `period`; at least one request.
    pub const fn new(requests: u32, period: Duration) -> ThrottleRate {
        ThrottleRate {
            requests: match NonZeroU32::new(requests) {
                Some(n) => n,
                None => NonZeroU32::MIN,
            },
            period,
        }
    }

    /// `requests` per second.
    pub const fn per_second(requests: u32) -> ThrottleRate {
        ThrottleRate::new(requests, Duration::from_secs(1))
    }

    /// `requests` per minute.
    pub const fn per_minute(requests: u32) -> ThrottleRate {
        ThrottleRate::new(requests, Duration::from_secs(60))
    }

    /// `requests` per hour.
    pub const fn per_hour(requests: u32) -> ThrottleRate {
        ThrottleRate::new(requests, Duration::from_secs(60 * 60))
    }

    /// `requests` per day.
    pub const fn per_day(requests: u32) -> ThrottleRate {
        ThrottleRate::new(requests, Duration::from_secs(24 * 60 * 60))
    }

    /// DRF's notation: `N/second`, `N/minute`, `N/hour` or `N/day` (only the period's first
    /// letter counts, so `N/s` and `N/min` do too); `off` is `None`.
    pub fn parse(raw: &str) -> Result<Option<ThrottleRate>, String> {
        let raw = raw.trim();
        if raw == "off" {
            return Ok(None);
        }
        let problem = || format!("{raw:?} is not a rate such as 100/minute (per second, minute, hour or day), or off");
        let (count, period) = raw.split_once('/').ok_or_else(problem)?;
        let count = count
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(problem)?;
        let rate = match period.trim().chars().next() {
            Some('s') => ThrottleRate::per_second(count),
            Some('m') => ThrottleRate::per_minute(count),
            Some('h') => ThrottleRate::per_hour(count),
            Some('d') => ThrottleRate::per_day(count),
            _ => return Err(problem()),
        };
        Ok(Some(rate))
    }

    /// How many requests per period.
    pub fn requests(self) -> u32 {
        self.requests.get()
    }

    /// The period.
    pub fn period(self) -> Duration {
        self.period
    }

    /// How often one request comes back: `period / requests`.
    fn interval(self) -> Duration {
        (self.period / self.requests.get()).max(Duration::from_micros(1))
    }
}

impl std::fmt::Display for ThrottleRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let period = match self.period.as_secs() {
            1 => "second".to_owned(),
            60 => "minute".to_owned(),
            3600 => "hour".to_owned(),
            86400 => "day".to_owned(),
            _ => format!("{:?}", self.period),
        };
        write!(f, "{}/{period}", self.requests)
    }
}

/// A limit: a scope (its name, part of every counter's key, said once where the limit is
/// declared) and a rate. Scoped API rates are constants next to their routes, as DRF's
/// `throttle_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Throttle {
    /// The scope's name.
    pub scope: &'static str,
    /// Its rate.
    pub rate: ThrottleRate,
}

impl Throttle {
    /// The limit `rate` in `scope`.
    pub const fn new(scope: &'static str, rate: ThrottleRate) -> Throttle {
        Throttle { scope, rate }
    }
}

/// The framework's rates: `DUET_THROTTLE_ANON`, `DUET_THROTTLE_USER`, `DUET_THROTTLE_LOGIN`
/// (`None`: off), and the limiter that counts them.
#[derive(Debug, Clone)]
pub struct Throttles {
    /// Where requests are counted.
    pub limiter: Limiter,
    /// Anonymous API requests, per client address.
    pub anon: Option<ThrottleRate>,
    /// Authenticated API requests (session or token), per user.
    pub user: Option<ThrottleRate>,
    /// `POST /accounts/login/` (and the admin's login form), per address and per username.
    pub login: Option<ThrottleRate>,
}

impl Default for Throttles {
    /// In memory; the API unthrottled; logins 10 per minute.
    fn default() -> Throttles {
        Throttles {
            limiter: Limiter::memory(),
            anon: None,
            user: None,
            login: Some(ThrottleRate::per_minute(10)),
        }
    }
}

const ANON: &str = "anon";
const USER: &str = "user";
const LOGIN_ADDRESS: &str = "login_address";
const LOGIN_USERNAME: &str = "login_username";

impl Throttles {
    /// Counts an API request as DRF's `AnonRateThrottle`, `UserRateThrottle` and
    /// `ScopedRateThrottle` would: with `defaults`, anonymous requests against `anon` per
    /// client address and authenticated ones against `user` per user; and against `scoped`
    /// (if the route declares one) per user, or per address when anonymous.
    pub async fn check_request(
        &self,
        req: &HttpRequest,
        defaults: bool,
        scoped: Option<&Throttle>,
    ) -> Result<(), AuthError> {
        let ident = match Identity::of(req) {
            Identity::Session { user_id, .. } => Ident::User(user_id),
            Identity::Token(user) => Ident::User(user.id),
            Identity::Anonymous | Identity::Unavailable => Ident::Address(address_of(req)),
        };
        let (default, key) = match &ident {
            Ident::User(id) => (self.user.map(|rate| Throttle::new(USER, rate)), id.to_string()),
            Ident::Address(address) => (self.anon.map(|rate| Throttle::new(ANON, rate)), address.clone()),
        };
        if let Some(throttle) = default.filter(|_| defaults) {
            self.limiter.check(&throttle, &key).await?;
        }
        if let Some(throttle) = scoped {
            let key = match &ident {
                Ident::User(id) => format!("user:{id}"),
                Ident::Address(address) => format!("address:{address}"),
            };
            self.limiter.check(throttle, &key).await?;
        }
        Ok(())
    }

    /// Counts a login attempt for `username` from `req`'s client, per address and per
    /// username (case-insensitive), before anything looks the user up: the answer is the
    /// same whether the username exists or not.
    pub async fn check_login(&self, req: &HttpRequest, username: &str) -> Result<(), AuthError> {
        let Some(rate) = self.login else {
            return Ok(());
        };
        let (address, username) = (address_of(req), username.to_lowercase());
        let (per_address, per_username) = (Throttle::new(LOGIN_ADDRESS, rate), Throttle::new(LOGIN_USERNAME, rate));
        // Both are counted, whichever refuses.
        let (by_address, by_username) = futures_util::join!(
            self.limiter.check(&per_address, &address),
            self.limiter.check(&per_username, &username)
        );
        by_address.and(by_username)
    }

    /// The request's [`AuthConfig`] throttles (the defaults without one).
    pub fn of(req: &HttpRequest) -> Throttles {
        req.app_data::<web::Data<AuthConfig>>()
            .map(|config| config.throttles.clone())
            .unwrap_or_default()
    }
}

enum Ident {
    User(i64),
    Address(String),
}

pub(crate) fn address_of(req: &HttpRequest) -> String {
    Client::of(req)
        .address
        .map_or_else(|| "unknown".to_owned(), |a| a.to_string())
}

/// Where requests are counted: this process's memory, or Redis (shared by instances).
/// Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    store: Arc<Store>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match *self.store {
            Store::Memory(_) => "Limiter(memory)",
            Store::Redis(_) => "Limiter(redis)",
        })
    }
}

enum Store {
    Memory(Memory),
    Redis(Box<RedisCounts>),
}

impl Limiter {
    /// Counters in this process (one instance).
    pub fn memory() -> Limiter {
        Limiter {
            store: Arc::new(Store::Memory(Memory::default())),
        }
    }

    /// Counters in Redis at `url`, under `{prefix}:throttle:`, each command bounded by
    /// `timeout`; fails when Redis cannot be reached now.
    pub async fn redis(url: &str, prefix: &str, timeout: Duration) -> Result<Limiter, redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        let conns = PerThreadConnections::new(redis::Client::open(url)?, config);
        tokio::time::timeout(timeout, conns.get())
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "Redis did not answer in time")))??;
        Ok(Limiter {
            store: Arc::new(Store::Redis(Box::new(RedisCounts {
                conns,
                prefix: format!("{prefix}:throttle"),
                script: redis::Script::new(GCRA),
                timeout,
            }))),
        })
    }

    /// Counts one request of `key` (an address, a user id, a username…) against
    /// `throttle`: [`AuthError::Throttled`] with the wait when it is over the rate (the
    /// refused request is not counted), [`AuthError::Unavailable`] when Redis does not
    /// answer.
    pub async fn check(&self, throttle: &Throttle, key: &str) -> Result<(), AuthError> {
        let wait = match &*self.store {
            Store::Memory(memory) => memory.check(throttle, key),
            // Boxed: the Redis check's future is several KB, and every future awaiting a
            // check (the API's throttle middleware, which actix-web moves into a box on each
            // request) would carry that size on the in-memory path too.
            Store::Redis(redis) => Box::pin(redis.check(throttle, key)).await?,
        };
        match wait {
            None => Ok(()),
            Some(wait) => {
                tracing::info!(scope = throttle.scope, rate = %throttle.rate, wait_ms = wait.as_millis() as u64, "throttled");
                Err(AuthError::Throttled(wait))
            }
        }
    }
}

type Limiters = HashMap<Throttle, Arc<DefaultKeyedRateLimiter<String>>>;

#[derive(Default)]
struct Memory {
    limiters: Mutex<Limiters>,
    checks: AtomicU64,
}

impl Memory {
    fn check(&self, throttle: &Throttle, key: &str) -> Option<Duration> {
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(limiters.entry(*throttle).or_insert_with(|| {
                let quota = Quota::with_period(throttle.rate.interval())
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(throttle.rate.requests);
                Arc::new(DefaultKeyedRateLimiter::keyed(quota))
            }))
        };
        // Keys whose budget is whole again are forgotten now and then.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&key.to_owned())
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// GCRA in one script: KEYS[1] holds the key's theoretical arrival time (µs, Redis' clock,
/// so every instance agrees); ARGV[1] is the interval, ARGV[2] the burst (µs). Returns 0
/// when the request is allowed (and counted), else the wait in µs.
const GCRA: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000))
return 0
";

struct RedisCounts {
    conns: PerThreadConnections,
    prefix: String,
    script: redis::Script,
    timeout: Duration,
}

impl RedisCounts {
    async fn check(&self, throttle: &Throttle, key: &str) -> Result<Option<Duration>, AuthError> {
        // Keys are hashed: bounded, and no username is stored in Redis.
        let digest = sha2::Sha256::digest(key.as_bytes());
        let key = format!("{}:{}:{}", self.prefix, throttle.scope, hex::encode(&digest[..16]));
        let interval = throttle.rate.interval().as_micros() as u64;
        let burst = interval * u64::from(throttle.rate.requests());
        let mut invocation = self.script.key(key);
        invocation.arg(interval).arg(burst);
        // A connection from before a Redis restart fails at once: the check is sent once
        // more on a fresh one, within the same timeout (as sessions do).
        let attempts = async {
            let mut conn = self.conns.get().await?;
            match invocation.invoke_async::<u64>(&mut conn).await {
                Err(error) if error.is_io_error() || error.is_connection_dropped() => {
                    tracing::debug!(%error, "throttle: stale Redis connection; trying a fresh one");
                    self.conns.forget();
                    let mut conn = self.conns.get().await?;
                    invocation.invoke_async::<u64>(&mut conn).await
                }
                other => other,
            }
        };
        let wait = match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Ok(wait)) => wait,
            Ok(Err(error)) => {
                tracing::warn!(%error, "throttle: Redis failed");
                self.conns.forget();
                return Err(AuthError::Unavailable);
            }
            Err(_) => {
                tracing::warn!("throttle: Redis did not answer in time");
                self.conns.forget();
                return Err(AuthError::Unavailable);
            }
        };
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_parsed_as_drf_writes_them() {
        assert_eq!(ThrottleRate::parse("10/minute"), Ok(Some(ThrottleRate::per_minute(10))));
        assert_eq!(ThrottleRate::parse("3/s"), Ok(Some(ThrottleRate::per_second(3))));
        assert_eq!(ThrottleRate::parse("1000/hour"), Ok(Some(ThrottleRate::per_hour(1000))));
        assert_eq!(ThrottleRate::parse(" 5/day "), Ok(Some(ThrottleRate::per_day(5))));
        assert_eq!(ThrottleRate::parse("off"), Ok(None));
        for bad in ["0/minute", "10", "10/fortnight", "ten/minute", "-1/s", ""] {
            assert!(
                ThrottleRate::parse(bad).unwrap_err().contains("such as 100/minute"),
                "{bad}"
            );
        }
        assert_eq!(ThrottleRate::per_minute(10).to_string(), "10/minute");
    }

    #[tokio::test]
    async fn memory_counts_per_scope_and_key_and_names_the_wait() {
        let limiter = Limiter::memory();
        let three = Throttle::new("three", ThrottleRate::per_minute(3));
        let other = Throttle::new("other", ThrottleRate::per_minute(3));
        for _ in 0..3 {
            limiter.check(&three, "a").await.unwrap();
        }
        match limiter.check(&three, "a").await {
            Err(AuthError::Throttled(wait)) => {
                assert!(
                    wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
                    "{wait:?}"
                );
            }
            other => panic!("throttled: {other:?}"),
        }
        limiter.check(&three, "b").await.unwrap();
        limiter.check(&other, "a").await.unwrap();
    }
}
