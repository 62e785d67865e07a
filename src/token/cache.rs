//! What a service keeps in memory (tokens.md §5): the compiled tenant and token records, each
//! used for at most the propagation bound, and the writer of last-used times, which keeps that
//! write off the check's path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
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
    pub fn fresh(&self, id: &TokenId, now: DateTime<Utc>, bound: Duration) -> Option<Option<Arc<TokenRecord>>> {
        let tokens = self.tokens.read().expect("the token cache lock is never poisoned");
        let cached = tokens.get(id).filter(|c| now - c.fetched_at <= bound)?;
        Some((!cached.deleted).then(|| Arc::clone(&cached.record)))
    }

    /// The record from the cache while it is fresh, else from `fetch` (and then cached);
    /// `None` for unknown and deleted tokens.
    pub fn get_or_fetch(
        &self,
        id: &TokenId,
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
            tokens.insert(id.clone(), CachedToken { record: Arc::clone(&record), deleted, fetched_at: now });
        }
        Ok((!deleted).then_some(record))
    }

    /// Drops a token: the process that changed it sees the change at once.
    pub fn forget(&self, id: &TokenId) {
        let mut tokens = self.tokens.write().expect("the token cache lock is never poisoned");
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        tokens.remove(id);
    }
}

/// Writes last-used times on a thread of its own, at most once a minute per token (tokens.md §2).
pub(super) struct LastUsed {
    written: Mutex<HashMap<TokenId, DateTime<Utc>>>,
    uses: Option<Sender<(TokenId, DateTime<Utc>)>>,
    writer: Option<JoinHandle<()>>,
}

impl LastUsed {
    pub fn new(store: Arc<dyn TokenStore>) -> LastUsed {
        let (uses, received) = channel::<(TokenId, DateTime<Utc>)>();
        let writer = std::thread::spawn(move || {
            for (id, at) in received {
                let _ = store.touch(&id, at);
            }
        });
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

impl Drop for LastUsed {
    fn drop(&mut self) {
        // Let the writer finish what it was given.
        self.uses.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
