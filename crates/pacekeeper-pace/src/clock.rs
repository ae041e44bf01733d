//! The runner's clock: the system's, or a virtual one that jumps to the next instant instead
//! of sleeping (rehearsals and tests, against a server run with `--trust-client-time`).

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// Waits are cut into steps of at most this, so that what a long pause would sleep through
/// (items left in the inbox by `pace add`) is seen within it.
pub const LONGEST_SLEEP: Duration = Duration::from_secs(5);

/// Where the runner reads the time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
    /// Waits until `t` (or [`LONGEST_SLEEP`], whichever comes first).
    fn sleep_until(&self, t: Timestamp) -> impl Future<Output = ()> + Send;
    /// True when requests must carry the instant (`at`): the server's clock is not ours.
    fn is_virtual(&self) -> bool;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        #[allow(clippy::disallowed_methods)] // the one place the runner reads the real time
        Timestamp::now()
    }

    async fn sleep_until(&self, t: Timestamp) {
        let wait = self.now().duration_until(t).unsigned_abs();
        let wait = if t > self.now() { wait.min(LONGEST_SLEEP) } else { Duration::ZERO };
        tokio::time::sleep(wait).await;
    }

    fn is_virtual(&self) -> bool {
        false
    }
}

/// A clock that starts at an instant and jumps forward instead of sleeping.
#[derive(Debug)]
pub struct VirtualClock(Mutex<Timestamp>);

impl VirtualClock {
    /// Starts at `start`.
    pub fn new(start: Timestamp) -> VirtualClock {
        VirtualClock(Mutex::new(start))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.checked_add(d).unwrap_or(*now);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sleep_until(&self, t: Timestamp) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = (*now).max(t);
    }

    fn is_virtual(&self) -> bool {
        true
    }
}
