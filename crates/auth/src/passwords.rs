//! A bound on the password checks running at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::AuthError;

/// Bounds the password checks (Argon2: tens of milliseconds of CPU and 19 MiB of memory
/// each) running at once, so a flood of logins cannot take the CPU and memory that other
/// requests need.
///
/// At most `concurrent` checks run; at most `queue` more wait, each for at most `wait`. A
/// login beyond that, or one whose wait runs out, is refused with 503 and `Retry-After`
/// ([`AuthError::Busy`]) without hashing anything. Clones share one bound.
#[derive(Clone)]
pub struct PasswordChecks {
    inner: Arc<Inner>,
}

struct Inner {
    running: Semaphore,
    concurrent: usize,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
}

impl std::fmt::Debug for PasswordChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChecks")
            .field("concurrent", &self.inner.concurrent)
            .field("queue", &self.inner.queue)
            .field("wait", &self.inner.wait)
            .finish()
    }
}

impl Default for PasswordChecks {
    /// Half the CPUs checking (at least one, at most four: each check holds 19 MiB), 32
    /// waiting, for at most 2 s each.
    fn default() -> PasswordChecks {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        PasswordChecks::new((cpus / 2).clamp(1, 4), 32, Duration::from_secs(2))
    }
}

impl PasswordChecks {
    /// At most `concurrent` checks at once (at least one), `queue` waiting for at most `wait`.
    pub fn new(concurrent: usize, queue: usize, wait: Duration) -> PasswordChecks {
        let concurrent = concurrent.max(1);
        PasswordChecks {
            inner: Arc::new(Inner {
                running: Semaphore::new(concurrent),
                concurrent,
                waiting: AtomicUsize::new(0),
                queue,
                wait,
            }),
        }
    }

    /// Runs `check` once a place is free; [`AuthError::Busy`] when the queue is full or the
    /// wait runs out (then `check` is not run).
    pub async fn run<T>(&self, check: impl Future<Output = T>) -> Result<T, AuthError> {
        let inner = &self.inner;
        let permit = match inner.running.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.queue {
                    inner.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(AuthError::Busy);
                }
                let waited = tokio::time::timeout(inner.wait, inner.running.acquire()).await;
                inner.waiting.fetch_sub(1, Ordering::AcqRel);
                match waited {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(AuthError::Busy),
                }
            }
        };
        let result = check.await;
        drop(permit);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_beyond_the_bound_wait_then_are_refused() {
        let checks = PasswordChecks::new(1, 1, Duration::from_millis(100));
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let checks = checks.clone();
            async move { checks.run(hold).await }
        });
        tokio::task::yield_now().await;
        // One waits (the queue holds one) and times out; a third is refused at once.
        let started = std::time::Instant::now();
        let (waited, refused) = tokio::join!(checks.run(async {}), async {
            tokio::task::yield_now().await;
            checks.run(async {}).await
        });
        assert!(matches!(refused, Err(AuthError::Busy)), "the queue is full");
        assert!(matches!(waited, Err(AuthError::Busy)), "the wait ran out");
        assert!(started.elapsed() >= Duration::from_millis(100));
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        assert_eq!(checks.run(async { 7 }).await.unwrap(), 7, "free again");
    }
}
