//! The token lifecycle (tokens.md §3, decisions D20–D22, D24): every operation checks its rules
//! (`admission.rs`) and the actor's rights (`actor.rs`), is audited, and refuses with the
//! [`Rule`] that refused it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;

use super::actor::{Actor, MANAGE_ALL, Reach, WRITE_OWN};
use super::admission::{
    duplicate_name, in_the_future, not_expired, not_rotated_out, only_brought_forward, overlap_allowed, rotated_name,
    within_caller,
};
use super::cache::{EngineCache, LastUsed, Reload, SwitchCache, TokenCache};
use super::clock::Clock;
use super::error::TokenError;
use super::reason::Rule;
use super::record::{Owner, Status, TokenRecord};
use super::settings::Settings;
use super::store::{AuditEntry, Change, Invalidation, StoreError, TokenStore};
use super::string::{TokenId, TokenSecret};
use crate::catalog::Catalog;
use crate::eval::{Engine, RequestError};
use crate::iam::Principal;

/// What a new token is to hold.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// 1 to 255 characters after trimming; not unique.
    pub name: String,
    /// Permissions of the catalog's token services.
    pub scopes: Vec<String>,
    /// Empty: the whole account.
    pub environments: Vec<String>,
    /// `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// A service user to own the token; `None`: the actor.
    pub service_user: Option<Principal>,
    /// Free-form labels.
    pub tags: Vec<String>,
}

/// A token just made: its record and the secret, shown this once.
#[derive(Debug)]
pub struct Created {
    /// What is stored.
    pub record: TokenRecord,
    /// The token string, never stored.
    pub secret: TokenSecret,
}

/// What a duplicate changes of the original: each `None` keeps the original's (the token
/// pages' prefilled form lets a person edit them). The owner is always the original's.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Duplication {
    /// `None`: `Duplicate of: <name>`.
    pub name: Option<String>,
    /// `Some(None)`: the duplicate never expires; `None`: the original's expiry.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// `None`: the original's scopes.
    pub scopes: Option<Vec<String>>,
    /// `Some` empty: the whole account; `None`: the original's resource.
    pub environments: Option<Vec<String>>,
}

/// How to rotate: the new token's name and expiry, and when the old one stops.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// `None`: the old name with today's date.
    pub name: Option<String>,
    /// `Some(None)`: the new token never expires; `None`: the old token's lifetime again.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// `None`: now.
    pub old_expires_at: Option<DateTime<Utc>>,
}

impl Rotation {
    /// The new token's name and expiry when a rotation of `record` at `now` is not told
    /// otherwise (D20): the old name with today's date, and the old token's lifetime again
    /// (never → never).
    pub fn proposal(record: &TokenRecord, now: DateTime<Utc>) -> (String, Option<DateTime<Utc>>) {
        (rotated_name(&record.name, now), record.expires_at.map(|at| now + (at - record.created_at)))
    }
}

/// Who acts, in which account: what every audit entry of an operation begins with.
struct Auditor {
    account: String,
    actor: String,
}

/// The token service: the lifecycle and the check (see `check.rs`) over a [`TokenStore`].
pub struct TokenService {
    pub(super) store: Arc<dyn TokenStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Settings,
    pub(super) catalog: Catalog,
    pub(super) engine: EngineCache,
    pub(super) tokens: Arc<TokenCache>,
    switch: Arc<SwitchCache>,
    pub(super) last_used: LastUsed,
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
        let now = clock.now();
        let tokens = Arc::new(TokenCache::default());
        let switch = Arc::new(SwitchCache::default());
        // What other processes change reaches this one as soon as the store hears of it; the
        // caches are the service's, so the store holds them only weakly.
        let (forget_tokens, forget_switch) = (Arc::downgrade(&tokens), Arc::downgrade(&switch));
        store.subscribe(Box::new(move |change| {
            let (Some(tokens), Some(switch)) = (forget_tokens.upgrade(), forget_switch.upgrade()) else { return };
            match change {
                Invalidation::Token(id) => tokens.forget(&id),
                Invalidation::Account(_) => switch.forget(),
                Invalidation::Everything => {
                    tokens.forget_all();
                    switch.forget();
                }
            }
        }));
        Ok(TokenService {
            last_used: LastUsed::new(Arc::clone(&store)),
            store,
            clock,
            settings,
            catalog: catalog.clone(),
            engine: EngineCache::new(engine, now),
            tokens,
            switch,
        })
    }

    /// Reads the tenant again with `reload` whenever the compiled one is older than the
    /// propagation bound; a tenant that fails to load keeps the last good one serving.
    pub fn with_reload(mut self, reload: Reload) -> TokenService {
        self.engine.set_reload(reload);
        self
    }

    /// Replaces the compiled tenant at once (the process that changed policies sees it now),
    /// and returns the one it replaced: checks in flight may still hold it, and whoever lets go
    /// of it last frees it (see the server's reload, which frees it off the checks' threads).
    pub fn replace_engine(&self, engine: Engine) -> Arc<Engine> {
        self.engine.replace(engine, self.clock.now())
    }

    /// The compiled tenant, read again when older than the propagation bound.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine_at(self.clock.now())
    }

    /// The compiled tenant as of `now`, for a caller that has read the clock already.
    pub(super) fn engine_at(&self, now: DateTime<Utc>) -> Arc<Engine> {
        self.engine.get(now, self.settings.propagation)
    }

    /// The account's switch, from memory within the propagation bound (D26: `None` before it
    /// was ever set).
    pub(super) fn account_switch(&self, account: &str) -> Result<Option<bool>, StoreError> {
        let (now, bound) = (self.clock.now(), self.settings.propagation);
        self.switch.get_or_fetch(account, now, bound, || self.store.account_switch(account))
    }

    /// The compiled tenant, and the actor as one of its principals. A principal looked up in an
    /// earlier load of the tenant (one reloaded since) is found again through the token it acts
    /// through; without a token it is refused ([`RequestError::ForeignPrincipal`]).
    pub fn engine_for<'a>(&self, actor: Actor<'a>) -> Result<(Arc<Engine>, Actor<'a>), TokenError> {
        let engine = self.engine();
        let tenant = engine.tenant();
        if tenant.owns(actor.principal) {
            return Ok((engine, actor));
        }
        let Some(token) = actor.token else { return Err(RequestError::ForeignPrincipal.into()) };
        let principal = token.owner.principal(tenant).ok_or_else(|| {
            TokenError::refused(Rule::UnknownOwner, format!("the owner of `{}` is no longer in the tenant", token.id))
        })?;
        Ok((engine, Actor { principal, token: Some(token) }))
    }

    /// Whether the database's account switch differs from the tenant file's (D26: warn).
    pub fn switch_differs_from_tenant(&self) -> Result<bool, TokenError> {
        let engine = self.engine();
        let account = &engine.tenant().account;
        Ok(self.store.account_switch(&account.id)? != Some(account.platform_tokens))
    }

    fn auditor(&self, engine: &Engine, actor: Actor) -> Auditor {
        let tenant = engine.tenant();
        Auditor { account: tenant.account.id.clone(), actor: tenant.email(actor.principal).to_string() }
    }

    fn entry(
        &self,
        by: &Auditor,
        action: &str,
        token: Option<&TokenId>,
        new_token: Option<&TokenId>,
        outcome: &str,
    ) -> AuditEntry {
        AuditEntry {
            at: self.clock.now(),
            account: by.account.clone(),
            actor: by.actor.clone(),
            action: action.to_string(),
            token: token.cloned(),
            new_token: new_token.cloned(),
            outcome: outcome.to_string(),
        }
    }

    /// Runs an operation and writes its refusal to the audit log when a rule refused it (D24).
    fn audited<T>(
        &self,
        by: &Auditor,
        action: &str,
        token: Option<&TokenId>,
        work: impl FnOnce() -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        let result = work();
        if let Err(error) = &result {
            let rule = error.rule();
            if rule.is_refusal() {
                let _ = self.store.record_audit(&self.entry(by, action, token, None, rule.as_str()));
            }
        }
        result
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
            owner: Owner { id: tenant.id(owner).to_string(), service_user: owner.is_service_user() },
            creator: tenant.id(actor.principal).to_string(),
            account: tenant.account.id.clone(),
            environments: once_each(&token.environments),
            scopes: once_each(&token.scopes),
            created_at: self.clock.now(),
            expires_at: token.expires_at,
            status: Status::Active,
            last_used_at: None,
            rotated_from: None,
            rotated_to: None,
            digest: secret.digest(),
        };
        Ok(Created { record, secret })
    }

    /// Creates a token for the actor or for a service user; the secret is in the result only.
    pub fn create<'a>(&self, actor: impl Into<Actor<'a>>, token: NewToken) -> Result<Created, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        let by = self.auditor(&engine, actor);
        self.audited(&by, "create", None, || {
            let owner = token.service_user.unwrap_or(actor.principal);
            if !engine.tenant().owns(owner) {
                return Err(RequestError::ForeignPrincipal.into());
            }
            let name = self.admit(&engine, actor, owner, &token)?;
            let created = self.mint(&engine, actor, owner, name, &token)?;
            let entry = self.entry(&by, "create", Some(&created.record.id), None, "ok");
            self.store.insert(&created.record, Some(self.settings.limit), &entry)?;
            Ok(created)
        })
    }

    /// The actor's own tokens, or with `all` every token of the account (admins only).
    pub fn list<'a>(&self, actor: impl Into<Actor<'a>>, all: bool) -> Result<Vec<TokenRecord>, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        self.list_in(&engine, actor, all)
    }

    /// What the actor may see: every token of the account for an admin, else their own (D21).
    pub fn visible<'a>(&self, actor: impl Into<Actor<'a>>) -> Result<Vec<TokenRecord>, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        if self.allows(&engine, actor, MANAGE_ALL, None)? {
            return Ok(self.store.list(&engine.tenant().account.id, None)?);
        }
        self.list_in(&engine, actor, false)
    }

    /// Whether the actor holds an account-level right (D21: through a token, its scopes ∩ its
    /// owner's policies; Conditional counts as no).
    pub fn permits<'a>(&self, actor: impl Into<Actor<'a>>, permission: &str) -> Result<bool, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        self.allows(&engine, actor, permission, None)
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

    /// One token, if the actor may see it.
    pub fn show<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<TokenRecord, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        self.reach(&engine, actor, id, "see", Reach::Managed)
    }

    fn apply(
        &self,
        actor: Actor,
        id: &TokenId,
        action: &str,
        change: Change,
        check: impl FnOnce(&TokenRecord) -> Result<(), TokenError>,
    ) -> Result<(), TokenError> {
        let (engine, actor) = self.engine_for(actor)?;
        let by = self.auditor(&engine, actor);
        self.audited(&by, action, Some(id), || {
            let record = self.reach(&engine, actor, id, action, Reach::Managed)?;
            check(&record)?;
            self.store.change(id, &change, &self.entry(&by, action, Some(id), None, "ok"))?;
            self.tokens.forget(id);
            Ok(())
        })
    }

    /// Disables a token: it is refused until enabled again.
    pub fn disable<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<(), TokenError> {
        self.apply(actor.into(), id, "disable", Change::Status(Status::Disabled), |_| Ok(()))
    }

    /// Enables a disabled token.
    pub fn enable<'a>(&self, actor: impl Into<Actor<'a>>, id: &TokenId) -> Result<(), TokenError> {
        self.apply(actor.into(), id, "enable", Change::Status(Status::Active), |_| Ok(()))
    }

    /// Deletes a token for good; its id is never reused.
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
        let actor = actor.into();
        let now = self.clock.now();
        self.apply(actor, id, "set_expiry", Change::Expiry(expires_at), |record| {
            not_expired(record, now, "given a new expiry")?;
            expires_at.map_or(Ok(()), |at| in_the_future(at, now))?;
            only_brought_forward(record, expires_at)?;
            within_caller(actor, expires_at)
        })
    }

    /// The token's properties as a request for a new one, and its owner.
    fn copy(&self, engine: &Engine, record: &TokenRecord) -> Result<(Principal, NewToken), TokenError> {
        let owner = record.owner.principal(engine.tenant()).ok_or_else(|| {
            TokenError::refused(Rule::UnknownOwner, format!("the owner of `{}` is no longer in the tenant", record.id))
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
        self.duplicate_with(actor, id, Duplication::default())
    }

    /// A new token with the original's properties but for those `changes` gives, for the same
    /// owner; needs a free slot. Every create rule holds for it (D20), a rotated-out token is not
    /// duplicated (D31), and the audit entry names the original and the duplicate.
    pub fn duplicate_with<'a>(
        &self,
        actor: impl Into<Actor<'a>>,
        id: &TokenId,
        changes: Duplication,
    ) -> Result<Created, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        let by = self.auditor(&engine, actor);
        self.audited(&by, "duplicate", Some(id), || {
            let record = self.reach(&engine, actor, id, "duplicate", Reach::Own)?;
            not_expired(&record, self.clock.now(), "duplicated")?;
            not_rotated_out(&record, "duplicated")?;
            let (owner, mut new) = self.copy(&engine, &record)?;
            new.name = changes.name.unwrap_or_else(|| duplicate_name(&record.name));
            new.expires_at = changes.expires_at.unwrap_or(new.expires_at);
            new.scopes = changes.scopes.unwrap_or(new.scopes);
            new.environments = changes.environments.unwrap_or(new.environments);
            let name = self.admit(&engine, actor, owner, &new)?;
            let created = self.mint(&engine, actor, owner, name, &new)?;
            let entry = self.entry(&by, "duplicate", Some(id), Some(&created.record.id), "ok");
            self.store.insert(&created.record, Some(self.settings.limit), &entry)?;
            Ok(created)
        })
    }

    /// A new token in place of an old one, which stops now or at the end of an overlap window of
    /// at most 30 days (never later than its own expiry). No free slot is needed (D20), and a
    /// token is rotated once (D31): neither it nor, during the overlap, its successor again.
    pub fn rotate<'a>(
        &self,
        actor: impl Into<Actor<'a>>,
        id: &TokenId,
        rotation: Rotation,
    ) -> Result<Created, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        let by = self.auditor(&engine, actor);
        let now = self.clock.now();
        self.audited(&by, "rotate", Some(id), || {
            let record = self.reach(&engine, actor, id, "rotate", Reach::Own)?;
            not_expired(&record, now, "rotated")?;
            not_rotated_out(&record, "rotated")?;
            self.no_rotation_in_progress(&record, now)?;
            let old_expires = rotation.old_expires_at.unwrap_or(now);
            overlap_allowed(&record, old_expires, now)?;
            let (owner, mut new) = self.copy(&engine, &record)?;
            let (proposed_name, proposed_expiry) = Rotation::proposal(&record, now);
            new.name = rotation.name.clone().unwrap_or(proposed_name);
            new.expires_at = rotation.expires_at.unwrap_or(proposed_expiry);
            let name = self.admit(&engine, actor, owner, &new)?;
            let mut created = self.mint(&engine, actor, owner, name, &new)?;
            created.record.rotated_from = Some(record.id.clone());
            let entry = self.entry(&by, "rotate", Some(id), Some(&created.record.id), "ok");
            self.store.rotate(id, old_expires, &created.record, &entry).map_err(|error| match error {
                // Another rotation came first.
                StoreError::AlreadyRotated(_) => TokenError::refused(
                    Rule::AlreadyRotated,
                    format!("`{id}` was rotated while this rotation was under way; rotate its successor instead"),
                ),
                other => other.into(),
            })?;
            self.tokens.forget(id);
            Ok(created)
        })
    }

    /// Turns token creation on or off for the account (admins only).
    pub fn set_account_switch<'a>(&self, actor: impl Into<Actor<'a>>, allowed: bool) -> Result<(), TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        let by = self.auditor(&engine, actor);
        let action = if allowed { "allow_tokens" } else { "deny_tokens" };
        self.audited(&by, action, None, || {
            self.require(&engine, actor, MANAGE_ALL, "turn platform tokens on or off")?;
            let entry = self.entry(&by, action, None, None, "ok");
            self.store.set_account_switch(&by.account, allowed, Some(&entry))?;
            self.switch.forget();
            Ok(())
        })
    }

    /// The audit log: everything for an admin; an owner sees the entries of their own tokens (D24).
    pub fn audit_log<'a>(
        &self,
        actor: impl Into<Actor<'a>>,
        since: Option<DateTime<Utc>>,
        token: Option<&TokenId>,
    ) -> Result<Vec<AuditEntry>, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        let account = &engine.tenant().account.id;
        if self.allows(&engine, actor, MANAGE_ALL, None)? {
            return Ok(self.store.audit_log(account, since, token)?);
        }
        self.require(&engine, actor, WRITE_OWN, "read the audit log of platform tokens")?;
        // The entries of tokens the actor owns or created, deleted ones included.
        let actor_id = engine.tenant().id(actor.principal);
        let mut mine: HashMap<TokenId, bool> = HashMap::default();
        let mut entries = Vec::new();
        for entry in self.store.audit_log(account, since, token)? {
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
}

/// Each of `items` once, in the order first given: scopes and environments are sets, and a
/// form may repeat one a thousand times.
fn once_each(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.iter().filter(|item| seen.insert(item.as_str())).cloned().collect()
}
