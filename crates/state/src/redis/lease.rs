//! Tab leases: what this process keeps of a tab between two of its events.
//!
//! After a successful store the Redis manager may keep the tab's lock (renewed by the store
//! script) instead of deleting it, with the record it just wrote: the tab's next event in
//! this process then needs no lock-and-load round trip. [`Leases`] holds those leases, and
//! each tab's *turn* — the in-process queue that lets one event of a tab at a time hold its
//! lock here (FIFO), so that two sockets (or a socket and background work) of one tab in
//! this process hand the lease on instead of racing for the Redis lock.
//!
//! A kept lease is only a shortcut: every write still checks the lock's token in Redis, so
//! a lease that was lost (expired, Redis restarted or flushed) writes nothing, and the
//! manager forgets it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OwnedMutexGuard;

use crate::manager::TabRecord;

/// A tab's lock, kept between events, with what the holder last wrote.
pub(super) struct Lease {
    /// The lock's token.
    pub(super) fence: u64,
    /// The record as stored, with the replies Redis holds (for a resend).
    pub(super) record: TabRecord,
    /// The stored size of each state, as after the store.
    pub(super) sizes: HashMap<String, usize>,
    /// Past this instant the lock may have expired in Redis: the lease is not used again.
    pub(super) valid_until: Instant,
    /// When the tab's TTL was last set, and to what.
    pub(super) refreshed: (Instant, Duration),
    /// When the store that kept it was answered.
    pub(super) used: Instant,
}

impl Lease {
    /// Whether the lock can still be trusted to be held (else it is unlocked and taken
    /// afresh).
    pub(super) fn is_valid(&self) -> bool {
        Instant::now() < self.valid_until
    }
}

struct Slot {
    turn: Arc<tokio::sync::Mutex<()>>,
    lease: Option<Lease>,
}

#[derive(Default)]
struct Slots {
    tabs: HashMap<String, Slot>,
    /// The running sweeper's number (0: none runs).
    sweeper: u64,
    sweepers: u64,
}

/// The leases kept by one manager, and each tab's turn in this process.
#[derive(Default)]
pub(super) struct Leases {
    slots: Mutex<Slots>,
}

/// A tab's turn in this process: held from `lock` until the tab is stored or released.
pub(super) struct Turn {
    leases: Arc<Leases>,
    tab: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.leases.tidy(&self.tab);
    }
}

impl Turn {
    /// Takes the tab's kept lease (valid or not: see [`Lease::is_valid`]).
    pub(super) fn take_lease(&self) -> Option<Lease> {
        self.leases.slots().tabs.get_mut(&self.tab)?.lease.take()
    }

    /// Keeps `lease` for the tab's next event and ends the turn. When no sweeper runs, the
    /// number of the one the caller is to start.
    pub(super) fn keep(self, lease: Lease) -> Option<u64> {
        let mut slots = self.leases.slots();
        let slot = slots.tabs.entry(self.tab.clone()).or_insert_with(|| Slot {
            turn: Arc::new(tokio::sync::Mutex::new(())),
            lease: None,
        });
        slot.lease = Some(lease);
        let start = (slots.sweeper == 0).then(|| {
            slots.sweepers += 1;
            slots.sweeper = slots.sweepers;
            slots.sweeper
        });
        drop(slots);
        start
    }
}

impl Leases {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (at most `patience`) for the tab's turn in this process; `None` past it (the
    /// caller then goes without: it keeps no lease).
    pub(super) async fn turn(self: &Arc<Leases>, tab: &str, patience: Duration) -> Option<Turn> {
        let turn = {
            let mut slots = self.slots();
            let slot = slots.tabs.entry(tab.to_owned()).or_insert_with(|| Slot {
                turn: Arc::new(tokio::sync::Mutex::new(())),
                lease: None,
            });
            Arc::clone(&slot.turn)
        };
        let mut held = Turn {
            leases: Arc::clone(self),
            tab: tab.to_owned(),
            guard: None,
        };
        // Past `patience`, `held` is dropped without a guard, which tidies the slot.
        held.guard = Some(tokio::time::timeout(patience, turn.lock_owned()).await.ok()?);
        Some(held)
    }

    /// Forgets the tab's slot when nothing is kept and nobody holds or waits for its turn.
    fn tidy(&self, tab: &str) {
        let mut slots = self.slots();
        if slots
            .tabs
            .get(tab)
            .is_some_and(|slot| slot.lease.is_none() && Arc::strong_count(&slot.turn) == 1)
        {
            slots.tabs.remove(tab);
        }
    }

    /// Takes the tab's lease if nobody in this process holds or waits for its turn (for its
    /// socket's end).
    pub(super) fn take_unused(&self, tab: &str) -> Option<Lease> {
        let mut slots = self.slots();
        let slot = slots.tabs.get_mut(tab)?;
        let lease = unused(slot)?;
        if Arc::strong_count(&slot.turn) == 1 {
            slots.tabs.remove(tab);
        }
        Some(lease)
    }

    /// Takes every lease unused for `idle` (or no longer valid) whose turn nobody in this
    /// process holds or waits for, for sweeper `number`; the second value says whether it goes
    /// on (false when no lease is left: the next kept lease starts a new sweeper).
    pub(super) fn take_idle(&self, idle: Duration, number: u64) -> (Vec<(String, u64)>, bool) {
        let now = Instant::now();
        let mut slots = self.slots();
        let mut due = Vec::new();
        slots.tabs.retain(|tab, slot| {
            let stale = slot
                .lease
                .as_ref()
                .is_some_and(|lease| now.duration_since(lease.used) >= idle || now >= lease.valid_until);
            if stale && let Some(lease) = unused(slot) {
                due.push((tab.clone(), lease.fence));
            }
            slot.lease.is_some() || Arc::strong_count(&slot.turn) > 1
        });
        if slots.sweeper != number {
            return (due, false);
        }
        let more = slots.tabs.values().any(|slot| slot.lease.is_some());
        if !more {
            slots.sweeper = 0;
        }
        (due, more)
    }

    /// Sweeper `number` stopped (its runtime ended): the next kept lease starts another.
    pub(super) fn sweeper_stopped(&self, number: u64) {
        let mut slots = self.slots();
        if slots.sweeper == number {
            slots.sweeper = 0;
        }
    }

    /// Takes every lease whose turn is free (after Redis went away: they may be gone).
    pub(super) fn take_all(&self) -> Vec<(String, u64)> {
        let mut slots = self.slots();
        let mut taken = Vec::new();
        slots.tabs.retain(|tab, slot| {
            if let Some(lease) = unused(slot) {
                taken.push((tab.clone(), lease.fence));
            }
            slot.lease.is_some() || Arc::strong_count(&slot.turn) > 1
        });
        taken
    }

    /// How many leases are kept.
    pub(super) fn len(&self) -> usize {
        self.slots().tabs.values().filter(|slot| slot.lease.is_some()).count()
    }
}

/// The slot's lease, if nobody holds or waits for the tab's turn.
fn unused(slot: &mut Slot) -> Option<Lease> {
    let free = slot.turn.try_lock().is_ok();
    if free { slot.lease.take() } else { None }
}
