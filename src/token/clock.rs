//! The service's clock, so expiry, rotation overlaps and propagation are tested without sleeping.

use chrono::{DateTime, Utc};

#[cfg(feature = "test-util")]
pub use manual::ManualClock;

/// Where the service reads the time: expiry, overlaps and the propagation bound are judged by it.
pub trait Clock: Send + Sync {
    /// The time now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(feature = "test-util")]
mod manual {
    use std::sync::Mutex;

    use chrono::{DateTime, Duration, Utc};

    use super::Clock;

    /// A clock that stands still until moved (feature `test-util`).
    pub struct ManualClock(Mutex<DateTime<Utc>>);

    impl ManualClock {
        /// A clock standing at `at`.
        pub fn new(at: DateTime<Utc>) -> ManualClock {
            ManualClock(Mutex::new(at))
        }

        /// Moves the clock on.
        pub fn advance(&self, by: Duration) {
            *self.0.lock().expect("the clock lock is never poisoned") += by;
        }

        /// Puts the clock at `at`.
        pub fn set(&self, at: DateTime<Utc>) {
            *self.0.lock().expect("the clock lock is never poisoned") = at;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().expect("the clock lock is never poisoned")
        }
    }
}
