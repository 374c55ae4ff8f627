//! Rate limits on new tabs: a visitor who only opens sockets cannot make the store hold
//! tab after tab.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

/// A rate: `burst` at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many may come at once.
    pub burst: u32,
    /// How often one more may come after that.
    pub every: Duration,
}

impl Rate {
    /// `burst` at once, then one every `every`.
    pub const fn new(burst: u32, every: Duration) -> Rate {
        Rate { burst, every }
    }

    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.every.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// New tabs per client address, shared by every socket of the process.
pub(crate) struct AddressLimits {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl AddressLimits {
    pub(crate) fn new(rate: Rate) -> AddressLimits {
        AddressLimits {
            limiter: DefaultKeyedRateLimiter::keyed(rate.quota()),
            checks: AtomicU64::new(0),
        }
    }

    fn allow(&self, address: IpAddr) -> bool {
        // Addresses whose budget is whole again are forgotten now and then, so the map
        // holds only recent ones.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&address).is_ok()
    }
}

/// The budget of new tabs of one connection: its own rate, and its address's.
pub(crate) struct NewTabs {
    connection: DefaultDirectRateLimiter,
    address: Option<(IpAddr, Arc<AddressLimits>)>,
}

impl NewTabs {
    pub(crate) fn new(per_connection: Rate, address: Option<(IpAddr, Arc<AddressLimits>)>) -> NewTabs {
        NewTabs {
            connection: DefaultDirectRateLimiter::direct(per_connection.quota()),
            address,
        }
    }

    /// Whether one more new tab may be opened now (and counts it).
    pub(crate) fn allow(&self) -> bool {
        self.connection.check().is_ok()
            && self
                .address
                .as_ref()
                .is_none_or(|(address, limits)| limits.allow(*address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_and_addresses_each_have_a_budget() {
        let per_connection = Rate::new(3, Duration::from_secs(60));
        let addresses = Arc::new(AddressLimits::new(Rate::new(4, Duration::from_secs(60))));
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        let first = NewTabs::new(per_connection, Some((here, Arc::clone(&addresses))));
        assert_eq!((0..5).filter(|_| first.allow()).count(), 3, "three per connection");
        let second = NewTabs::new(per_connection, Some((here, Arc::clone(&addresses))));
        assert_eq!((0..5).filter(|_| second.allow()).count(), 1, "four per address");
        let elsewhere = NewTabs::new(per_connection, Some(("192.0.2.2".parse().unwrap(), addresses)));
        assert!(elsewhere.allow(), "another address has its own budget");
    }
}
