//! The service's clock, so expiry, rotation overlaps and propagation are tested without sleeping.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

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
    /// What `Utc::now` gives, to the nanosecond, without working the calendar date out of the
    /// seconds at every call (a tenth of a warm check): see `since_epoch`.
    fn now(&self) -> DateTime<Utc> {
        since_epoch(SystemTime::now().duration_since(UNIX_EPOCH).expect("the system clock is past 1970"))
    }
}

/// The time `elapsed` after 1970-01-01T00:00:00Z. The date changes once a day: each thread
/// keeps the last one it worked out and only the time of day is made anew.
fn since_epoch(elapsed: std::time::Duration) -> DateTime<Utc> {
    thread_local! {
        static TODAY: Cell<(u64, NaiveDate)> = const { Cell::new((u64::MAX, NaiveDate::MIN)) };
    }
    let (day, second) = (elapsed.as_secs() / SECONDS_A_DAY, elapsed.as_secs() % SECONDS_A_DAY);
    let date = TODAY.with(|today| match today.get() {
        (known, date) if known == day => date,
        _ => {
            let midnight = i64::try_from(day * SECONDS_A_DAY).expect("a day of the calendar");
            let date = DateTime::from_timestamp(midnight, 0).expect("a day of the calendar").date_naive();
            today.set((day, date));
            date
        }
    });
    let time = NaiveTime::from_num_seconds_from_midnight_opt(second as u32, elapsed.subsec_nanos())
        .expect("a second of the day and its nanoseconds");
    date.and_time(time).and_utc()
}

const SECONDS_A_DAY: u64 = 86_400;

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::DateTime;

    use super::since_epoch;

    #[test]
    fn the_kept_date_gives_what_the_calendar_gives_across_midnights() {
        // 2024-02-28T23:59:59.999999999Z, then across the leap day and into March.
        let start = 1_709_164_799;
        for step in [0, 1, 2, 86_400, 86_401, 172_800, 31_536_000, 1] {
            let elapsed = Duration::new(start + step, 999_999_999);
            let expected = DateTime::from_timestamp((start + step) as i64, 999_999_999).expect("in range");
            assert_eq!(since_epoch(elapsed), expected, "{step} s on");
        }
        assert_eq!(since_epoch(Duration::ZERO), DateTime::UNIX_EPOCH);
    }
}
