//! The token lifecycle (tokens.md §3, decisions D20–D22, D24, D26): every rule checked, the
//! actor's rights resolved through the evaluator, every operation audited, refusals with the
//! id of the rule that refused.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use rustc_hash::FxHashMap as HashMap;

use chrono::{DateTime, Duration, Utc};

use super::clock::Clock;
use super::error::TokenError;
use super::record::{Owner, Status, TokenRecord};
use super::store::{AuditEntry, Change, StoreError, TokenStore};
use super::string::{DEFAULT_PREFIX, TokenId, TokenSecret, valid_prefix};
use crate::catalog::{Catalog, nearest};
use crate::eval::{AttrValue, Engine, Request};
use crate::iam::Principal;

/// The right to manage one's own tokens, and every token of the account (tokens.md §3).
pub const WRITE_OWN: &str = "platform-token:tokens:write";
pub const MANAGE_ALL: &str = "platform-token:tokens:manage";
const USE_SERVICE_USER: &str = "iam:service-users:use";
const SERVICE_USER_EMAIL: &str = "iam:service-user-email";

const MAX_NAME: usize = 255;
/// The longest propagation bound tokens.md §5 allows.
pub const MAX_PROPAGATION: Duration = Duration::seconds(300);

/// A deployment's settings (decisions D26).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Tokens one owner may hold in one account; every token not deleted counts.
    pub limit: usize,
    pub prefix: String,
    /// How long a cached token record or compiled tenant may be used before it is read again.
    pub propagation: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { limit: 10, prefix: DEFAULT_PREFIX.to_string(), propagation: Duration::seconds(60) }
    }
}

impl Settings {
    /// Checks the prefix shape and the propagation bound.
    pub fn validated(self) -> Result<Settings, String> {
        if !valid_prefix(&self.prefix) {
            return Err(format!("the token prefix `{}` does not match `dt0[a-z][0-9][0-9]`", self.prefix));
        }
        if self.propagation > MAX_PROPAGATION || self.propagation < Duration::zero() {
            return Err(format!(
                "the propagation bound is {} s; it must be between 0 and 300 s",
                self.propagation.num_seconds()
            ));
        }
        Ok(self)
    }
}

/// What a new token is to hold.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    /// Empty: the whole account.
    pub environments: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// A service user to own the token; `None`: the actor.
    pub service_user: Option<Principal>,
    pub tags: Vec<String>,
}

/// Who acts: a user or service user in person (the CLI's `--as`), or through one of its tokens
/// (the HTTP API), whose scopes bound every right it has and every scope it passes on (D21).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub principal: Principal,
    pub token: Option<&'a TokenRecord>,
}

impl From<Principal> for Actor<'_> {
    fn from(principal: Principal) -> Self {
        Actor { principal, token: None }
    }
}

/// A token just made: its record and the secret, shown this once.
#[derive(Debug)]
pub struct Created {
    pub record: TokenRecord,
    pub secret: TokenSecret,
}

/// How to rotate: the new token's name and expiry, and when the old one stops.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    pub name: Option<String>,
    /// `Some(None)`: the new token never expires; `None`: the old token's lifetime again.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// `None`: now.
    pub old_expires_at: Option<DateTime<Utc>>,
}

/// Where the compiled tenant comes from again when it is older than the propagation bound.
pub type Reload = Box<dyn Fn() -> Option<Engine> + Send + Sync>;

pub(super) struct CachedEngine {
    pub engine: Arc<Engine>,
    pub loaded_at: DateTime<Utc>,
}

pub(super) struct CachedToken {
    /// Shared with every check that reads it: a check copies no strings.
    pub record: Arc<TokenRecord>,
    pub deleted: bool,
    pub fetched_at: DateTime<Utc>,
}

/// The token service: the lifecycle and the check (see `check.rs`) over a [`TokenStore`].
pub struct TokenService {
    pub(super) store: Arc<dyn TokenStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Settings,
    pub(super) catalog: Catalog,
    pub(super) engine: RwLock<CachedEngine>,
    pub(super) reload: Option<Reload>,
    pub(super) tokens: RwLock<HashMap<TokenId, CachedToken>>,
    /// Bumped by every [`TokenService::forget`]: a record read before a change is not cached.
    pub(super) forgotten: AtomicU64,
    pub(super) touched: Mutex<HashMap<TokenId, DateTime<Utc>>>,
    touches: Option<Sender<(TokenId, DateTime<Utc>)>>,
    toucher: Option<JoinHandle<()>>,
}

impl Drop for TokenService {
    fn drop(&mut self) {
        // Let the last-used writer finish what it was given.
        self.touches.take();
        if let Some(toucher) = self.toucher.take() {
            let _ = toucher.join();
        }
    }
}

impl TokenService {
    /// A service over `store` for the tenant compiled into `engine`. The tenant's account
    /// switch seeds the database the first time (D26); after that the database holds the truth.
    pub fn new(
        store: Arc<dyn TokenStore>,
        clock: Arc<dyn Clock>,
        engine: Engine,
        catalog: &Catalog,
        settings: Settings,
    ) -> Result<TokenService, TokenError> {
        let account = &engine.tenant().account;
        if store.account_switch(&account.id)?.is_none() {
            store.set_account_switch(&account.id, account.platform_tokens, None)?;
        }
        let (sender, receiver) = channel::<(TokenId, DateTime<Utc>)>();
        let writer = Arc::clone(&store);
        // Last-used is written off the check's path (tokens.md §2: at most once a minute).
        let toucher = std::thread::spawn(move || {
            for (id, at) in receiver {
                let _ = writer.touch(&id, at);
            }
        });
        let loaded_at = clock.now();
        Ok(TokenService {
            store,
            clock,
            settings,
            catalog: catalog.clone(),
            engine: RwLock::new(CachedEngine { engine: Arc::new(engine), loaded_at }),
            reload: None,
            tokens: RwLock::new(HashMap::default()),
            forgotten: AtomicU64::new(0),
            touched: Mutex::new(HashMap::default()),
            touches: Some(sender),
            toucher: Some(toucher),
        })
    }

    /// Reads the tenant again with `reload` whenever the compiled one is older than the
    /// propagation bound; a tenant that fails to load keeps the last good one serving.
    pub fn with_reload(mut self, reload: Reload) -> TokenService {
        self.reload = Some(reload);
        self
    }

    /// Replaces the compiled tenant at once (the process that changed policies sees it now).
    pub fn replace_engine(&self, engine: Engine) {
        let mut cached = self.engine.write().expect("the engine lock is never poisoned");
        *cached = CachedEngine { engine: Arc::new(engine), loaded_at: self.clock.now() };
    }

    /// Whether the database's account switch differs from the tenant file's (D26: warn).
    pub fn switch_differs_from_tenant(&self) -> Result<bool, TokenError> {
        let engine = self.engine();
        let account = &engine.tenant().account;
        Ok(self.store.account_switch(&account.id)? != Some(account.platform_tokens))
    }

    /// The compiled tenant, read again when older than the propagation bound.
    pub fn engine(&self) -> Arc<Engine> {
        let now = self.clock.now();
        {
            let cached = self.engine.read().expect("the engine lock is never poisoned");
            if self.reload.is_none() || now - cached.loaded_at <= self.settings.propagation {
                return Arc::clone(&cached.engine);
            }
        }
        let reloaded = self.reload.as_ref().and_then(|reload| reload());
        let mut cached = self.engine.write().expect("the engine lock is never poisoned");
        if let Some(engine) = reloaded {
            cached.engine = Arc::new(engine);
        }
        cached.loaded_at = now;
        Arc::clone(&cached.engine)
    }

    pub(super) fn touch(&self, id: &TokenId, now: DateTime<Utc>) {
        let mut touched = self.touched.lock().expect("the last-used lock is never poisoned");
        let due = touched.get(id).is_none_or(|last| now - *last >= Duration::seconds(60));
        if due {
            touched.insert(id.clone(), now);
            if let Some(touches) = &self.touches {
                let _ = touches.send((id.clone(), now));
            }
        }
    }

    fn audit(&self, actor: &str, action: &str, token: Option<&TokenId>, outcome: &str) -> AuditEntry {
        AuditEntry {
            at: self.clock.now(),
            actor: actor.to_string(),
            action: action.to_string(),
            token: token.cloned(),
            outcome: outcome.to_string(),
        }
    }

    /// Runs an operation and writes its refusal to the audit log when a rule refused it (D24).
    fn audited<T>(
        &self,
        actor: &str,
        action: &str,
        token: Option<&TokenId>,
        work: impl FnOnce() -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        let result = work();
        if let Err(error @ (TokenError::Refused { .. } | TokenError::Store(StoreError::LimitReached(_)))) = &result {
            let _ = self.store.record_audit(&self.audit(actor, action, token, error.rule()));
        }
        result
    }

    /// Whether the actor's policies allow `permission` at account level (D21); Conditional
    /// counts as refused.
    fn allows(
        &self,
        engine: &Engine,
        actor: Actor,
        permission: &str,
        attribute: Option<(&str, &str)>,
    ) -> Result<bool, TokenError> {
        if actor.token.is_some_and(|token| !token.holds_account_right(permission)) {
            return Ok(false);
        }
        let mut request = Request::new(actor.principal, permission).at(self.clock.now());
        if let Some((key, value)) = attribute {
            request.attributes.insert(key.to_string(), AttrValue::One(value.to_string()));
        }
        let query = engine.query(&request)?;
        Ok(engine.evaluate(&query).is_allowed())
    }

    fn require(&self, engine: &Engine, actor: Actor, permission: &str, what: &str) -> Result<(), TokenError> {
        if self.allows(engine, actor, permission, None)? {
            Ok(())
        } else {
            Err(not_permitted(engine, actor, permission, what))
        }
    }

    /// The token, if the actor may see and manage it: owner or creator with `tokens:write`, or
    /// an account admin (D21).
    fn managed(&self, engine: &Engine, actor: Actor, id: &TokenId, what: &str) -> Result<TokenRecord, TokenError> {
        self.reach(engine, actor, id, what, true)
    }

    /// The token, if the actor is its owner or creator with `tokens:write` (duplicate and
    /// rotate mint a token in the owner's name: an admin's reach does not extend to them).
    fn own(&self, engine: &Engine, actor: Actor, id: &TokenId, what: &str) -> Result<TokenRecord, TokenError> {
        self.reach(engine, actor, id, what, false)
    }

    fn reach(
        &self,
        engine: &Engine,
        actor: Actor,
        id: &TokenId,
        what: &str,
        admin: bool,
    ) -> Result<TokenRecord, TokenError> {
        let account = &engine.tenant().account.id;
        let record = match self.store.get(id)? {
            Some((record, false)) if &record.account == account => record,
            _ => return Err(TokenError::UnknownToken(TokenId::from_input(&id.0))),
        };
        let actor_id = engine.tenant().id(actor.principal);
        let own = record.owner.id == actor_id || record.creator == actor_id;
        if own && self.allows(engine, actor, WRITE_OWN, None)?
            || admin && self.allows(engine, actor, MANAGE_ALL, None)?
        {
            return Ok(record);
        }
        let needs = if own || !admin { WRITE_OWN } else { MANAGE_ALL };
        Err(not_permitted(engine, actor, needs, &format!("{what} `{id}`")))
    }

    /// Every create rule but the limit (decisions D20: duplicate and rotate re-check them).
    fn admit(&self, engine: &Engine, actor: Actor, owner: Principal, token: &NewToken) -> Result<String, TokenError> {
        let tenant = engine.tenant();
        if self.store.account_switch(&tenant.account.id)? == Some(false) {
            return Err(TokenError::refused(
                "tokens_disabled",
                format!("account `{}` does not allow platform tokens", tenant.account.id),
            ));
        }
        self.require(engine, actor, WRITE_OWN, "create platform tokens")?;
        if token.service_user.is_some() {
            let email = tenant.email(owner);
            if !self.allows(engine, actor, USE_SERVICE_USER, Some((SERVICE_USER_EMAIL, email)))? {
                return Err(TokenError::refused(
                    "service_user_not_allowed",
                    format!(
                        "`{}` may not act for the service user `{email}`: that needs `{USE_SERVICE_USER}` where `{SERVICE_USER_EMAIL}` is its email",
                        tenant.email(actor.principal)
                    ),
                ));
            }
        }
        let name = token.name.trim();
        let length = name.chars().count();
        if length == 0 || length > MAX_NAME {
            return Err(TokenError::refused(
                "invalid_name",
                format!("a token name has 1 to {MAX_NAME} characters; this one has {length}"),
            ));
        }
        if let Some(at) = token.expires_at {
            if at <= self.clock.now() {
                return Err(TokenError::refused(
                    "expiry_in_past",
                    format!("the expiry {} is not in the future", at.to_rfc3339()),
                ));
            }
        }
        for environment in &token.environments {
            if tenant.environment(environment).is_none() {
                return Err(TokenError::refused(
                    "unknown_environment",
                    format!("account `{}` has no environment `{environment}`", tenant.account.id),
                ));
            }
        }
        if token.scopes.is_empty() {
            return Err(TokenError::refused("no_scopes", "a token needs at least one scope"));
        }
        for scope in &token.scopes {
            let service = scope.split(':').next().unwrap_or_default();
            let known = self.catalog.permission(scope).is_some();
            if !known || !self.catalog.service(service).is_some_and(|s| s.token_scope) {
                let scopes = self.catalog.permissions().filter(|p| {
                    self.catalog.service(p.name.split(':').next().unwrap_or_default()).is_some_and(|s| s.token_scope)
                });
                let hint = nearest(scope, scopes.map(|p| p.name.as_str()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                let why =
                    if known { "its service cannot be a token scope" } else { "it is not a permission of the catalog" };
                return Err(TokenError::refused("unknown_scope", format!("`{scope}` cannot be a scope: {why}{hint}")));
            }
        }
        if let Some(caller) = actor.token {
            if let Some(scope) = token.scopes.iter().find(|scope| !caller.scopes.contains(scope)) {
                return Err(TokenError::refused(
                    "scope_not_held",
                    format!(
                        "`{scope}` is not a scope of the calling token `{}`: a token passes on only scopes it holds",
                        caller.id
                    ),
                ));
            }
        }
        Ok(name.to_string())
    }

    fn mint(
        &self,
        engine: &Engine,
        actor: Actor,
        owner: Principal,
        name: String,
        token: &NewToken,
    ) -> Result<Created, TokenError> {
        let secret = TokenSecret::generate(&self.settings.prefix).map_err(|e| TokenError::Random(e.to_string()))?;
        let tenant = engine.tenant();
        let record = TokenRecord {
            id: secret.id(),
            name,
            tags: token.tags.clone(),
            owner: Owner { id: tenant.id(owner).to_string(), service_user: matches!(owner, Principal::ServiceUser(_)) },
            creator: tenant.id(actor.principal).to_string(),
            account: tenant.account.id.clone(),
            environments: token.environments.clone(),
            scopes: token.scopes.clone(),
            created_at: self.clock.now(),
            expires_at: token.expires_at,
            status: Status::Active,
            last_used_at: None,
            digest: secret.digest(),
        };
        Ok(Created { record, secret })
    }

    /// Creates a token for the actor or for a service user; the secret is in the result only.
    pub fn create<'a>(&self, actor: impl Into<Actor<'a>>, token: NewToken) -> Result<Created, TokenError> {
        let actor = actor.into();
        let engine = self.engine();
        let actor_email = engine.tenant().email(actor.principal).to_string();
        self.audited(&actor_email, "create", None, || {
            let owner = token.service_user.unwrap_or(actor.principal);
            let name = self.admit(&engine, actor, owner, &token)?;
            let created = self.mint(&engine, actor, owner, name, &token)?;
            self.store.insert(
                &created.record,
                Some(self.settings.limit),
                &self.audit(&actor_email, "create", Some(&created.record.id), "ok"),
            )?;
            Ok(created)
        })
    }

    /// The actor's own tokens, or with `all` every token of the account (admins only).
    pub fn list<'a>(&self, actor: impl Into<Actor<'a>>, all: bool) -> Result<Vec<TokenRecord>, TokenError> {
        self.list_in(&self.engine(), actor.into(), all)
    }

    /// What the actor may see: every token of the account for an admin, else their own (D21).
    pub fn visible<'a>(&self, actor: impl Into<Actor<'a>>) -> Result<Vec<TokenRecord>, TokenError> {
        let actor = actor.into();
        let engine = self.engine();
        if self.allows(&engine, actor, MANAGE_ALL, None)? {
            return Ok(self.store.list(&engine.tenant().account.id, None)?);
        }
        self.list_in(&engine, actor, false)
    }

    /// Whether the actor holds an account-level right (D21: through a token, its scopes ∩ its
    /// owner's policies; Conditional counts as no).
    pub fn permits<'a>(&self, actor: impl Into<Actor<'a>>, permission: &str) -> Result<bool, TokenError> {
        self.allows(&self.engine(), actor.into(), permission, None)
    }

    /// Whether the account allows platform tokens; reading it also shows the database answers.
    pub fn tokens_allowed(&self) -> Result<bool, TokenError> {
        let engine = self.engine();
        let account = &engine.tenant().account;
        Ok(self.store.account_switch(&account.id)?.unwrap_or(account.platform_tokens))
    }

    fn list_in(&self, engine: &Engine, actor: Actor, all: bool) -> Result<Vec<TokenRecord>, TokenError> {
        let tenant = engine.tenant();
        if all {
            self.require(engine, actor, MANAGE_ALL, "list every token of the account")?;
            return Ok(self.store.list(&tenant.account.id, None)?);
        }
        self.require(engine, actor, WRITE_OWN, "list platform tokens")?;
        let id = tenant.id(actor.principal);
        let mut mine = self.store.list(&tenant.account.id, Some(id))?;
        // Tokens the actor created for service users are theirs to manage too.
        mine.extend(
            self.store.list(&tenant.account.id, None)?.into_iter().filter(|r| r.creator == id && r.owner.id != id),
        );
        mine.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(mine)
    }

    pub fn show<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<TokenRecord, TokenError> {
        let engine = self.engine();
        self.managed(&engine, actor.into(), id, "see")
    }

    fn apply(
        &self,
        actor: Actor,
        id: &TokenId,
        action: &str,
        change: Change,
        check: impl FnOnce(&TokenRecord) -> Result<(), TokenError>,
    ) -> Result<(), TokenError> {
        let engine = self.engine();
        let actor_email = engine.tenant().email(actor.principal).to_string();
        self.audited(&actor_email, action, Some(id), || {
            let record = self.managed(&engine, actor, id, action)?;
            check(&record)?;
            self.store.change(id, &change, &self.audit(&actor_email, action, Some(id), "ok"))?;
            self.forget(id);
            Ok(())
        })
    }

    pub fn disable<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<(), TokenError> {
        self.apply(actor.into(), id, "disable", Change::Status(Status::Disabled), |_| Ok(()))
    }

    pub fn enable<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<(), TokenError> {
        self.apply(actor.into(), id, "enable", Change::Status(Status::Active), |_| Ok(()))
    }

    pub fn delete<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<(), TokenError> {
        self.apply(actor.into(), id, "delete", Change::Delete, |_| Ok(()))
    }

    /// A new expiry in the future, or never; not for an expired token (D20).
    pub fn set_expiry<'a>(
        &self,
        actor: impl Into<Actor<'a>>,
        id: &TokenId,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), TokenError> {
        let now = self.clock.now();
        self.apply(actor.into(), id, "set_expiry", Change::Expiry(expires_at), |record| {
            not_expired(record, now, "given a new expiry")?;
            match expires_at {
                Some(at) if at <= now => Err(TokenError::refused(
                    "expiry_in_past",
                    format!("the expiry {} is not in the future", at.to_rfc3339()),
                )),
                _ => Ok(()),
            }
        })
    }

    /// The token's properties as a request for a new one, and its owner.
    fn copy(&self, engine: &Engine, record: &TokenRecord) -> Result<(Principal, NewToken), TokenError> {
        let tenant = engine.tenant();
        let owner = match record.owner.service_user {
            true => tenant.find_service_user(&record.owner.id),
            false => tenant.find_user(&record.owner.id),
        }
        .ok_or_else(|| {
            TokenError::refused("unknown_owner", format!("the owner of `{}` is no longer in the tenant", record.id))
        })?;
        let new = NewToken {
            name: record.name.clone(),
            scopes: record.scopes.clone(),
            environments: record.environments.clone(),
            expires_at: record.expires_at,
            service_user: record.owner.service_user.then_some(owner),
            tags: record.tags.clone(),
        };
        Ok((owner, new))
    }

    /// A new token with the same properties, named `Duplicate of: <name>`; needs a free slot.
    pub fn duplicate<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<Created, TokenError> {
        let actor = actor.into();
        let engine = self.engine();
        let actor_email = engine.tenant().email(actor.principal).to_string();
        self.audited(&actor_email, "duplicate", Some(id), || {
            let record = self.own(&engine, actor, id, "duplicate")?;
            not_expired(&record, self.clock.now(), "duplicated")?;
            let (owner, mut new) = self.copy(&engine, &record)?;
            new.name = format!("Duplicate of: {}", record.name).chars().take(MAX_NAME).collect();
            let name = self.admit(&engine, actor, owner, &new)?;
            let created = self.mint(&engine, actor, owner, name, &new)?;
            let audit = self.audit(&actor_email, "duplicate", Some(&created.record.id), "ok");
            self.store.insert(&created.record, Some(self.settings.limit), &audit)?;
            Ok(created)
        })
    }

    /// A new token in place of an old one, which stops now or at the end of an overlap window
    /// (never later than its own expiry). No free slot is needed (D20).
    pub fn rotate<'a>(
        &self,
        actor: impl Into<Actor<'a>>,
        id: &TokenId,
        rotation: Rotation,
    ) -> Result<Created, TokenError> {
        let actor = actor.into();
        let engine = self.engine();
        let actor_email = engine.tenant().email(actor.principal).to_string();
        let now = self.clock.now();
        self.audited(&actor_email, "rotate", Some(id), || {
            let record = self.own(&engine, actor, id, "rotate")?;
            not_expired(&record, now, "rotated")?;
            let old_expires = rotation.old_expires_at.unwrap_or(now);
            if old_expires < now || record.expires_at.is_some_and(|at| old_expires > at) {
                return Err(TokenError::refused(
                    "invalid_overlap",
                    format!("the old token can stop between now and its expiry, not at {}", old_expires.to_rfc3339()),
                ));
            }
            let (owner, mut new) = self.copy(&engine, &record)?;
            new.name = rotation.name.clone().unwrap_or_else(|| rotated_name(&record.name, now));
            new.expires_at =
                rotation.expires_at.unwrap_or_else(|| record.expires_at.map(|at| now + (at - record.created_at)));
            let name = self.admit(&engine, actor, owner, &new)?;
            let created = self.mint(&engine, actor, owner, name, &new)?;
            self.store.rotate(id, old_expires, &created.record, &self.audit(&actor_email, "rotate", Some(id), "ok"))?;
            self.forget(id);
            Ok(created)
        })
    }

    /// Turns token creation on or off for the account (admins only).
    pub fn set_account_switch<'a>(&self, actor: impl Into<Actor<'a>>, allowed: bool) -> Result<(), TokenError> {
        let actor = actor.into();
        let engine = self.engine();
        let actor_email = engine.tenant().email(actor.principal).to_string();
        let action = if allowed { "allow_tokens" } else { "deny_tokens" };
        self.audited(&actor_email, action, None, || {
            self.require(&engine, actor, MANAGE_ALL, "turn platform tokens on or off")?;
            let account = &engine.tenant().account.id;
            Ok(self.store.set_account_switch(account, allowed, Some(&self.audit(&actor_email, action, None, "ok")))?)
        })
    }

    /// The audit log: everything for an admin; an owner sees the entries of their own tokens (D24).
    pub fn audit_log<'a>(
        &self,
        actor: impl Into<Actor<'a>>,
        since: Option<DateTime<Utc>>,
        token: Option<&TokenId>,
    ) -> Result<Vec<AuditEntry>, TokenError> {
        let actor = actor.into();
        let engine = self.engine();
        if self.allows(&engine, actor, MANAGE_ALL, None)? {
            return Ok(self.store.audit_log(since, token)?);
        }
        self.require(&engine, actor, WRITE_OWN, "read the audit log of platform tokens")?;
        // The entries of tokens the actor owns or created, deleted ones included.
        let actor_id = engine.tenant().id(actor.principal);
        let mut mine: HashMap<TokenId, bool> = HashMap::default();
        let mut entries = Vec::new();
        for entry in self.store.audit_log(since, token)? {
            let Some(id) = &entry.token else { continue };
            let own = match mine.get(id) {
                Some(own) => *own,
                None => {
                    let own = self.store.get(id)?.is_some_and(|(r, _)| r.owner.id == actor_id || r.creator == actor_id);
                    mine.insert(id.clone(), own);
                    own
                }
            };
            if own {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Drops a token from the check's cache: this process sees its own changes at once.
    fn forget(&self, id: &TokenId) {
        let mut tokens = self.tokens.write().expect("the token cache lock is never poisoned");
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        tokens.remove(id);
    }
}

/// A refusal for want of a right, naming what stood in the way: the calling token or the policies.
fn not_permitted(engine: &Engine, actor: Actor, permission: &str, what: &str) -> TokenError {
    let who = engine.tenant().email(actor.principal);
    let why = match actor.token {
        Some(token) if !token.scopes.iter().any(|s| s == permission) => {
            format!("the calling token `{}` does not hold the scope `{permission}`", token.id)
        }
        Some(token) if !token.environments.is_empty() => format!(
            "the calling token `{}` is limited to environments, and `{permission}` is an account-level right",
            token.id
        ),
        _ => format!("that needs `{permission}`"),
    };
    TokenError::refused("not_permitted", format!("`{who}` may not {what}: {why}"))
}

fn not_expired(record: &TokenRecord, now: DateTime<Utc>, what: &str) -> Result<(), TokenError> {
    if record.is_expired(now) {
        return Err(TokenError::refused("token_expired", format!("`{}` has expired and cannot be {what}", record.id)));
    }
    Ok(())
}

/// `K8s operator 2026-01-02` → `K8s operator 2026-11-27`; other names get the date appended (D20).
fn rotated_name(name: &str, now: DateTime<Utc>) -> String {
    let today = now.format("%Y-%m-%d").to_string();
    let strict_date = |text: &str| {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        shaped && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
    };
    let stem = match name.rsplit_once(' ') {
        Some((stem, date)) if strict_date(date) => stem,
        _ => name,
    };
    let mut rotated: String = stem.chars().take(MAX_NAME - today.len() - 1).collect();
    rotated.push(' ');
    rotated.push_str(&today);
    rotated
}
