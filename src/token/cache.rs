//! What a service keeps in memory (tokens.md §5): the compiled tenant, token records and the
//! account switch, each used for at most the propagation bound (or until the store reports a
//! change), and the writer of last-used times, which keeps that write off the check's path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap as HashMap;

use super::record::TokenRecord;
use super::store::{StoreError, TokenStore};
use super::string::TokenId;
use crate::eval::Engine;

/// Where the compiled tenant comes from again when it is older than the propagation bound.
pub type Reload = Box<dyn Fn() -> Option<Engine> + Send + Sync>;

/// The compiled tenant and when it was read.
pub(super) struct EngineCache {
    current: RwLock<(Arc<Engine>, DateTime<Utc>)>,
    reload: Option<Reload>,
}

impl EngineCache {
    pub fn new(engine: Engine, now: DateTime<Utc>) -> EngineCache {
        EngineCache { current: RwLock::new((Arc::new(engine), now)), reload: None }
    }

    pub fn set_reload(&mut self, reload: Reload) {
        self.reload = Some(reload);
    }

    /// The compiled tenant, read again when older than `bound`; a tenant that fails to load
    /// keeps the last good one serving.
    pub fn get(&self, now: DateTime<Utc>, bound: Duration) -> Arc<Engine> {
        {
            let (engine, loaded_at) = &*self.current.read().expect("the engine lock is never poisoned");
            if self.reload.is_none() || now - *loaded_at <= bound {
                return Arc::clone(engine);
            }
        }
        let reloaded = self.reload.as_ref().and_then(|reload| reload());
        let mut current = self.current.write().expect("the engine lock is never poisoned");
        if let Some(engine) = reloaded {
            current.0 = Arc::new(engine);
        }
        current.1 = now;
        Arc::clone(&current.0)
    }

    /// Swaps the engine in and hands the old one back: freeing a large tenant takes a while,
    /// and it must not happen while the lock holds the checks back.
    pub fn replace(&self, engine: Engine, now: DateTime<Utc>) -> Arc<Engine> {
        let fresh = (Arc::new(engine), now);
        std::mem::replace(&mut *self.current.write().expect("the engine lock is never poisoned"), fresh).0
    }
}

struct CachedToken {
    /// Shared with every check that reads it: a check copies no strings.
    record: Arc<TokenRecord>,
    deleted: bool,
    fetched_at: DateTime<Utc>,
}

/// Token records as the check last read them.
#[derive(Default)]
pub(super) struct TokenCache {
    tokens: RwLock<HashMap<TokenId, CachedToken>>,
    /// Bumped by every [`TokenCache::forget`]: a record read before a change is not cached.
    forgotten: AtomicU64,
}

impl TokenCache {
    /// The cached record while it is younger than `bound`: `Some(None)` for a deleted token.
    pub fn fresh(&self, id: &str, now: DateTime<Utc>, bound: Duration) -> Option<Option<Arc<TokenRecord>>> {
        let tokens = self.tokens.read().expect("the token cache lock is never poisoned");
        let cached = tokens.get(id).filter(|c| now - c.fetched_at <= bound)?;
        Some((!cached.deleted).then(|| Arc::clone(&cached.record)))
    }

    /// The record from the cache while it is fresh, else from `fetch` (and then cached);
    /// `None` for unknown and deleted tokens.
    pub fn get_or_fetch(
        &self,
        id: &str,
        now: DateTime<Utc>,
        bound: Duration,
        fetch: impl FnOnce() -> Result<Option<(TokenRecord, bool)>, StoreError>,
    ) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        if let Some(cached) = self.fresh(id, now, bound) {
            return Ok(cached);
        }
        // A change made while the store is read must not be overwritten by what was read.
        let generation = self.forgotten.load(Ordering::Acquire);
        let Some((record, deleted)) = fetch()? else { return Ok(None) };
        let record = Arc::new(record);
        let mut tokens = self.tokens.write().expect("the token cache lock is never poisoned");
        if self.forgotten.load(Ordering::Acquire) == generation {
            tokens
                .insert(TokenId(id.to_string()), CachedToken { record: Arc::clone(&record), deleted, fetched_at: now });
        }
        Ok((!deleted).then_some(record))
    }

    /// Drops a token: the process that changed it sees the change at once.
    pub fn forget(&self, id: &TokenId) {
        let mut tokens = self.tokens.write().expect("the token cache lock is never poisoned");
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        tokens.remove(id);
    }

    /// Drops every token: changes may have been missed.
    pub fn forget_all(&self) {
        let mut tokens = self.tokens.write().expect("the token cache lock is never poisoned");
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        tokens.clear();
    }
}

/// An account's switch as read, and when.
struct SwitchRead {
    account: String,
    switch: Option<bool>,
    at: DateTime<Utc>,
}

/// The account's platform-tokens switch as last read, which every create consults.
#[derive(Default)]
pub(super) struct SwitchCache {
    read: RwLock<Option<SwitchRead>>,
    /// Bumped by every [`SwitchCache::forget`], as for tokens.
    forgotten: AtomicU64,
}

impl SwitchCache {
    /// The account's switch from memory while younger than `bound`, else from `fetch`.
    pub fn get_or_fetch(
        &self,
        account: &str,
        now: DateTime<Utc>,
        bound: Duration,
        fetch: impl FnOnce() -> Result<Option<bool>, StoreError>,
    ) -> Result<Option<bool>, StoreError> {
        if let Some(read) = &*self.read.read().expect("the switch lock is never poisoned") {
            if read.account == account && now - read.at <= bound {
                return Ok(read.switch);
            }
        }
        let generation = self.forgotten.load(Ordering::Acquire);
        let switch = fetch()?;
        let mut read = self.read.write().expect("the switch lock is never poisoned");
        if self.forgotten.load(Ordering::Acquire) == generation {
            *read = Some(SwitchRead { account: account.to_string(), switch, at: now });
        }
        Ok(switch)
    }

    /// Drops the switch: it is read again at the next create.
    pub fn forget(&self) {
        let mut read = self.read.write().expect("the switch lock is never poisoned");
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        *read = None;
    }
}

/// How long the writer waits before it tries again to write uses the store refused.
const RETRY_USES: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes last-used times on a thread of its own, at most once a minute per token (tokens.md §2),
/// many in one transaction; uses the store could not take are kept and written later.
pub(super) struct LastUsed {
    written: Mutex<HashMap<TokenId, DateTime<Utc>>>,
    uses: Option<Sender<(TokenId, DateTime<Utc>)>>,
    writer: Option<JoinHandle<()>>,
}

impl LastUsed {
    pub fn new(store: Arc<dyn TokenStore>) -> LastUsed {
        let (uses, received) = channel::<(TokenId, DateTime<Utc>)>();
        let writer = std::thread::spawn(move || write_uses(&*store, &received));
        LastUsed { written: Mutex::new(HashMap::default()), uses: Some(uses), writer: Some(writer) }
    }

    /// Records a use, unless one was recorded less than a minute ago.
    pub fn record(&self, id: &TokenId, now: DateTime<Utc>) {
        let mut written = self.written.lock().expect("the last-used lock is never poisoned");
        let due = written.get(id).is_none_or(|last| now - *last >= Duration::seconds(60));
        if due {
            written.insert(id.clone(), now);
            if let Some(uses) = &self.uses {
                let _ = uses.send((id.clone(), now));
            }
        }
    }
}

/// The writer's loop: waits for a use, takes every other one already sent, writes them in one
/// go; until the channel closes, after which it writes what it holds once more.
fn write_uses(store: &dyn TokenStore, received: &Receiver<(TokenId, DateTime<Utc>)>) {
    let mut pending: HashMap<TokenId, DateTime<Utc>> = HashMap::default();
    loop {
        let next = match pending.is_empty() {
            true => received.recv().map_err(|_| RecvTimeoutError::Disconnected),
            false => received.recv_timeout(RETRY_USES),
        };
        let open = match next {
            Ok((id, at)) => {
                pending.insert(id, at);
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        pending.extend(received.try_iter());
        let batch: Vec<(TokenId, DateTime<Utc>)> = pending.iter().map(|(id, at)| (id.clone(), *at)).collect();
        if !batch.is_empty() && store.touch(&batch).is_ok() {
            pending.clear();
        }
        if !open {
            return;
        }
    }
}

impl Drop for LastUsed {
    fn drop(&mut self) {
        // Let the writer finish what it was given.
        self.uses.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
