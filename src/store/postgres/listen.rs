//! Hearing what other instances change: a connection of its own LISTENs on the schema's channel
//! and hands every announcement to the service, which drops its cached copy, so a disabled token
//! is refused everywhere within a second. While that connection is lost, changes reach this
//! instance within the propagation bound, as without it, and it reconnects with backoff; once
//! back, everything cached is dropped, since announcements may have been missed meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use super::pool::{Connector, store_error};
use super::schema::CHANNEL;
use crate::token::{Invalidation, InvalidationListener, StoreError, TokenId};

/// How often the thread looks whether it should stop.
const POLL: Duration = Duration::from_millis(250);
/// A quiet connection is asked whether it still stands this often.
const HEARTBEAT: Duration = Duration::from_secs(5);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// The listening thread; it stops when this is dropped.
pub(super) struct Listening {
    stop: Arc<AtomicBool>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Starts listening for `listener` on a thread of its own; `database` names it in the log.
pub(super) fn listen(connector: Arc<Connector>, database: String, listener: InvalidationListener) -> Listening {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("warden-listen".into())
        .spawn(move || keep_listening(&connector, &database, &listener, &stopped))
        .expect("a thread can be started");
    Listening { stop }
}

fn keep_listening(connector: &Connector, database: &str, listener: &InvalidationListener, stop: &AtomicBool) {
    let mut retry = FIRST_RETRY;
    let mut lost = false;
    while !stop.load(Ordering::Acquire) {
        let heard = hear(connector, listener, stop, || {
            if lost {
                tracing::info!("hearing changes from `{database}` again");
            }
            lost = false;
            retry = FIRST_RETRY;
        });
        let Err(error) = heard else { return };
        if !lost {
            tracing::warn!(
                "cannot hear changes from `{database}` ({error}); other instances' changes reach this one within the propagation bound until it is back"
            );
            lost = true;
        }
        let until = Instant::now() + retry;
        while Instant::now() < until && !stop.load(Ordering::Acquire) {
            std::thread::sleep(POLL.min(until - Instant::now()));
        }
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Listens on one connection until it is lost (the error) or the store is dropped.
fn hear(
    connector: &Connector,
    listener: &InvalidationListener,
    stop: &AtomicBool,
    on_listening: impl FnOnce(),
) -> Result<(), StoreError> {
    let mut client = connector.connect()?;
    client.batch_execute(&format!("LISTEN {CHANNEL}")).map_err(|e| store_error(&e))?;
    on_listening();
    listener(Invalidation::Everything);
    let mut heard_at = Instant::now();
    while !stop.load(Ordering::Acquire) {
        {
            let mut notifications = client.notifications();
            let mut arriving = notifications.timeout_iter(POLL);
            while let Some(notification) = arriving.next().map_err(|e| store_error(&e))? {
                listener(announced(notification.payload()));
                heard_at = Instant::now();
            }
        }
        if heard_at.elapsed() >= HEARTBEAT {
            client.is_valid(HEARTBEAT).map_err(|e| store_error(&e))?;
            heard_at = Instant::now();
        }
    }
    Ok(())
}

/// What an announcement names; one this warden does not know drops everything, to be safe.
fn announced(payload: &str) -> Invalidation {
    match payload.split_once(':') {
        Some(("token", id)) => Invalidation::Token(TokenId(id.into())),
        Some(("account", id)) => Invalidation::Account(id.to_string()),
        _ => Invalidation::Everything,
    }
}
