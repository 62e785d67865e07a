//! What a service keeps in memory (tokens.md §5): the compiled tenant, token records and the
//! account switch, each used for at most the propagation bound (or until the store reports a
//! change), and the writer of last-used times, which keeps that write off the check's path.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap as HashMap;

use super::record::TokenRecord;
use super::store::{StoreError, TokenStore};
use super::string::TokenId;
use crate::eval::Engine;
use crate::iam::{Principal, Tenant};

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

    /// `use_it` of the compiled tenant in place while it is no older than `bound`; `None` when
    /// it is due to be read again (then [`EngineCache::get`] reads it). The check's hot path:
    /// no reference count changes hands.
    pub fn with_current<R>(&self, now: DateTime<Utc>, bound: Duration, use_it: impl FnOnce(&Engine) -> R) -> Option<R> {
        let (engine, loaded_at) = &*self.current.read().expect("the engine lock is never poisoned");
        (self.reload.is_none() || now - *loaded_at <= bound).then(|| use_it(engine))
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
    /// `fetched_at + bound`, worked out once: a check compares two times, it does not subtract
    /// them; `None`: never (a bound too large for the calendar).
    stale_after: Option<DateTime<Utc>>,
    /// When a use of the token was last recorded, as far as the checks that read it here know.
    last_use: UseStamp,
    owner: KnownOwner,
}

/// A cached token as a check reads it in place.
pub(super) struct Cached<'c> {
    pub record: &'c TokenRecord,
    pub last_use: &'c UseStamp,
    pub owner: &'c KnownOwner,
}

/// The owner of a cached token as a principal of the tenant it was first looked up in: later
/// checks against that tenant need no lookup by id. Set once; after a reload of the tenant
/// the owner is looked up at every check, as without it, until the record is read again.
#[derive(Default)]
pub(super) struct KnownOwner(OnceLock<Principal>);

impl KnownOwner {
    /// The owner of `record` in `tenant`; `None` when the owner is no longer in it.
    pub fn principal(&self, record: &TokenRecord, tenant: &Tenant) -> Option<Principal> {
        match self.0.get() {
            Some(&owner) if tenant.owns(owner) => Some(owner),
            _ => {
                let owner = record.owner.principal(tenant)?;
                let _ = self.0.set(owner);
                Some(owner)
            }
        }
    }
}

impl CachedToken {
    fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.stale_after.is_none_or(|after| now <= after)
    }
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
    pub fn fresh(&self, id: &str, now: DateTime<Utc>) -> Option<Option<Arc<TokenRecord>>> {
        let tokens = self.tokens.read().expect("the token cache lock is never poisoned");
        let cached = tokens.get(id).filter(|c| c.is_fresh(now))?;
        Some((!cached.deleted).then(|| Arc::clone(&cached.record)))
    }

    /// `use_it` of the cached record and what is kept beside it, in place, while they are
    /// fresh (`None` for a deleted token); `None` when the token is not cached or stale. The
    /// lock is held while `use_it` runs: it must wait for nothing slow.
    pub fn with_fresh<R>(
        &self,
        id: &str,
        now: DateTime<Utc>,
        use_it: impl FnOnce(Option<Cached<'_>>) -> R,
    ) -> Option<R> {
        let tokens = self.tokens.read().expect("the token cache lock is never poisoned");
        let cached = tokens.get(id).filter(|c| c.is_fresh(now))?;
        let found = Cached { record: &cached.record, last_use: &cached.last_use, owner: &cached.owner };
        Some(use_it((!cached.deleted).then_some(found)))
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
        if let Some(cached) = self.fresh(id, now) {
            return Ok(cached);
        }
        // A change made while the store is read must not be overwritten by what was read.
        let generation = self.forgotten.load(Ordering::Acquire);
        let Some((record, deleted)) = fetch()? else { return Ok(None) };
        let record = Arc::new(record);
        let mut tokens = self.tokens.write().expect("the token cache lock is never poisoned");
        if self.forgotten.load(Ordering::Acquire) == generation {
            let cached = CachedToken {
                record: Arc::clone(&record),
                deleted,
                stale_after: now.checked_add_signed(bound),
                last_use: UseStamp::default(),
                owner: KnownOwner::default(),
            };
            tokens.insert(TokenId(id.into()), cached);
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

    /// Records a use, unless one was recorded less than a minute ago. `stamp`, kept beside a
    /// cached record, answers most checks of a busy token without the lock and the map.
    pub fn record(&self, id: &TokenId, now: DateTime<Utc>, stamp: Option<&UseStamp>) {
        if stamp.is_some_and(|stamp| stamp.within_a_minute(now)) {
            return;
        }
        let mut written = self.written.lock().expect("the last-used lock is never poisoned");
        let last = match written.get(id) {
            Some(&last) if now - last < USE_INTERVAL => last,
            _ => {
                written.insert(id.clone(), now);
                if let Some(uses) = &self.uses {
                    let _ = uses.send((id.clone(), now));
                }
                now
            }
        };
        if let Some(stamp) = stamp {
            stamp.set(last);
        }
    }
}

/// At most one use a minute is written per token (tokens.md §2).
const USE_INTERVAL: Duration = Duration::seconds(60);

/// The second of the last use [`LastUsed`] recorded of a token, as a cached record keeps it: a
/// check within the minute after it needs no lock. Whole seconds, so that it fits an atomic:
/// the stamp `s` of a use at `t` has `s <= t < s + 1`, and `now < s + 59` (as whole seconds,
/// `now_s - s < 59`) gives `now < t + 60`, so no use can be due then; everything else asks
/// the map, which decides exactly as before.
pub(super) struct UseStamp(AtomicI64);

impl Default for UseStamp {
    fn default() -> UseStamp {
        UseStamp(AtomicI64::new(i64::MIN))
    }
}

impl UseStamp {
    fn within_a_minute(&self, now: DateTime<Utc>) -> bool {
        now.timestamp().saturating_sub(self.0.load(Ordering::Relaxed)) < USE_INTERVAL.num_seconds() - 1
    }

    fn set(&self, last: DateTime<Utc>) {
        self.0.fetch_max(last.timestamp(), Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::UseStamp;

    #[test]
    fn a_use_stamp_answers_only_where_no_use_can_be_due() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("a time");
        let stamp = UseStamp::default();
        assert!(!stamp.within_a_minute(at("2026-01-01T00:00:00Z")), "no use known: the map decides");
        stamp.set(at("2026-01-01T00:00:00.900Z"));
        assert!(stamp.within_a_minute(at("2026-01-01T00:00:58.999Z")));
        // 58.1 s after the use, but its second is not known more precisely: the map decides.
        assert!(!stamp.within_a_minute(at("2026-01-01T00:00:59Z")));
        assert!(!stamp.within_a_minute(at("2026-01-01T00:01:00.900Z")));
        // An earlier use reported late does not move the stamp back.
        stamp.set(at("2025-12-31T23:59:00Z"));
        assert!(stamp.within_a_minute(at("2026-01-01T00:00:30Z")));
    }
}
