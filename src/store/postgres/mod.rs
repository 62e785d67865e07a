//! [`PostgresStore`]: [`TokenStore`] on a PostgreSQL database that several warden instances
//! share, with the guarantees SQLite gives one host: the per-owner limit under racing creates,
//! ids never reused, an append-only audit log, one transaction per operation. Changes are
//! announced to every instance (LISTEN/NOTIFY, see `listen.rs`), last uses arrive in batches,
//! and an unreachable server is [`StoreError::Unavailable`] (503), never a half-made token.
//!
//! Times are kept to the millisecond, as in SQLite, so a copy between the two is exact.

mod listen;
mod pool;
mod schema;
mod tls;
mod url;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};

pub use url::{PostgresUrl, TlsMode};

use self::listen::Listening;
use self::pool::{Connector, Failure, Pool, Session, store_error};
use self::schema::NotMigrated;
use super::error::DatabaseError;
use super::{Migrated, Schema};
use crate::token::{
    AuditEntry, Change, InvalidationListener, NOT_EMPTY, Owner, Snapshot, Status, StoreError, TokenDigest, TokenId,
    TokenRecord, TokenStore,
};

/// Connections one store keeps at most: enough for a 2-core instance's concurrent writes,
/// few enough that many instances fit under the server's `max_connections`.
const POOL_SIZE: usize = 8;

/// The token store on PostgreSQL.
pub struct PostgresStore {
    /// The database, without its password: what messages and the log name.
    database: String,
    connector: Arc<Connector>,
    pool: Pool,
    listening: Mutex<Vec<Listening>>,
}

fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(at.timestamp_millis()).single().unwrap_or(at)
}

const STATUS_ACTIVE: &str = "active";
const STATUS_DISABLED: &str = "disabled";

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => STATUS_ACTIVE,
        Status::Disabled => STATUS_DISABLED,
    }
}

/// The columns [`record`] reads, for `concat!`.
macro_rules! token_columns {
    () => {
        "id, account, owner, owner_is_service_user, creator, name, tags, environments, scopes, \
         created_at, expires_at, status, last_used_at, digest, deleted, rotated_from, rotated_to"
    };
}

fn record(row: &Row) -> (TokenRecord, bool) {
    let digest: Vec<u8> = row.get(13);
    let status: &str = row.get(11);
    (
        TokenRecord {
            id: TokenId::from(row.get::<_, String>(0)),
            account: row.get(1),
            owner: Owner { id: row.get(2), service_user: row.get(3) },
            creator: row.get(4),
            name: row.get(5),
            tags: row.get(6),
            environments: row.get(7),
            scopes: row.get(8),
            created_at: row.get(9),
            expires_at: row.get(10),
            status: if status == STATUS_DISABLED { Status::Disabled } else { Status::Active },
            last_used_at: row.get(12),
            rotated_from: row.get::<_, Option<String>>(15).map(TokenId::from),
            rotated_to: row.get::<_, Option<String>>(16).map(TokenId::from),
            digest: TokenDigest(digest.try_into().unwrap_or([0; 32])),
        },
        row.get(14),
    )
}

/// The columns [`audit_entry`] reads, for `concat!`.
macro_rules! audit_columns {
    () => {
        "at, account, actor, action, token, new_token, outcome"
    };
}

fn audit_entry(row: &Row) -> AuditEntry {
    AuditEntry {
        at: row.get(0),
        account: row.get(1),
        actor: row.get(2),
        action: row.get(3),
        token: row.get::<_, Option<String>>(4).map(TokenId::from),
        new_token: row.get::<_, Option<String>>(5).map(TokenId::from),
        outcome: row.get(6),
    }
}

const INSERT_TOKEN: &str = concat!(
    "INSERT INTO tokens (",
    token_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
);

fn insert_token<C: GenericClient>(session: &mut Session<'_, C>, r: &TokenRecord, deleted: bool) -> Result<(), Failure> {
    let (created, expires, used) = (millis(r.created_at), r.expires_at.map(millis), r.last_used_at.map(millis));
    let digest = r.digest.0.as_slice();
    let (from, to) = (r.rotated_from.as_ref().map(|t| t.as_str()), r.rotated_to.as_ref().map(|t| t.as_str()));
    let params: [&(dyn ToSql + Sync); 17] = [
        &r.id.as_str(),
        &r.account,
        &r.owner.id,
        &r.owner.service_user,
        &r.creator,
        &r.name,
        &r.tags,
        &r.environments,
        &r.scopes,
        &created,
        &expires,
        &status_name(r.status),
        &used,
        &digest,
        &deleted,
        &from,
        &to,
    ];
    session.execute(INSERT_TOKEN, &params)?;
    Ok(())
}

const INSERT_AUDIT: &str = concat!("INSERT INTO audit (", audit_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)");

fn insert_audit<C: GenericClient>(session: &mut Session<'_, C>, audit: &AuditEntry) -> Result<(), Failure> {
    let token = audit.token.as_ref().map(|t| t.as_str());
    let new_token = audit.new_token.as_ref().map(|t| t.as_str());
    let at = millis(audit.at);
    session.execute(
        INSERT_AUDIT,
        &[&at, &audit.account, &audit.actor, &audit.action, &token, &new_token, &audit.outcome],
    )?;
    Ok(())
}

impl PostgresStore {
    /// The schema version this warden brings a database to.
    pub const VERSION: usize = schema::VERSION;

    /// Connects and checks the schema: with [`Schema::Migrate`] it is brought up to date first,
    /// else a schema behind or ahead of this warden is refused.
    pub fn open(url: &PostgresUrl, schema: Schema) -> Result<PostgresStore, DatabaseError> {
        let database = url.to_string();
        let failed = |error| DatabaseError::Store { database: database.clone(), error };
        let connector = Arc::new(Connector::new(url).map_err(failed)?);
        let mut client = connector.connect().map_err(failed)?;
        match schema {
            Schema::Migrate => {
                schema::migrate(&mut client, None).map_err(|e| not_migrated(&database, e))?;
            }
            Schema::Expect => {
                let found = schema::version(&mut client).map_err(|e| failed(store_error(&e)))?;
                schema::fits(found).map_err(|error| DatabaseError::Schema { database: database.clone(), error })?;
            }
        }
        let pool = Pool::new(Arc::clone(&connector), POOL_SIZE, client);
        Ok(PostgresStore { database, connector, pool, listening: Mutex::new(Vec::new()) })
    }

    /// Brings the schema up to date; with `grant`, gives that role the service's rights.
    pub fn migrate(url: &PostgresUrl, grant: Option<&str>) -> Result<Migrated, DatabaseError> {
        let database = url.to_string();
        let failed = |error| DatabaseError::Store { database: database.clone(), error };
        let mut client = Connector::new(url).and_then(|c| c.connect()).map_err(failed)?;
        schema::migrate(&mut client, grant).map_err(|e| not_migrated(&database, e))
    }
}

fn not_migrated(database: &str, error: NotMigrated) -> DatabaseError {
    match error {
        NotMigrated::Schema(error) => DatabaseError::Schema { database: database.to_string(), error },
        NotMigrated::Database(error) => {
            DatabaseError::Store { database: database.to_string(), error: store_error(&error) }
        }
    }
}

impl TokenStore for PostgresStore {
    /// The limit holds across instances because every create first locks its owner's row in
    /// `owners` (made on the owner's first token) and only then counts: creates for one owner
    /// take turns, each counting what the one before it committed, while creates for other
    /// owners go on beside them. SERIALIZABLE would give the same answer, but by failing racing
    /// creates and retrying them, which costs more the more instances race.
    fn insert(&self, record: &TokenRecord, limit: Option<usize>, audit: &AuditEntry) -> Result<(), StoreError> {
        self.pool.write(|session| {
            if let Some(limit) = limit {
                session.execute(
                    "INSERT INTO owners (account, owner) VALUES ($1, $2)
                     ON CONFLICT (account, owner) DO UPDATE SET owner = EXCLUDED.owner",
                    &[&record.account, &record.owner.id],
                )?;
                let count: i64 = session
                    .query_one(
                        "SELECT count(*) FROM tokens WHERE account = $1 AND owner = $2 AND NOT deleted",
                        &[&record.account, &record.owner.id],
                    )?
                    .get(0);
                if usize::try_from(count).unwrap_or(usize::MAX) >= limit {
                    return Err(StoreError::LimitReached(limit).into());
                }
            }
            insert_token(session, record, false)?;
            insert_audit(session, audit)
        })
    }

    fn get(&self, id: &TokenId) -> Result<Option<(TokenRecord, bool)>, StoreError> {
        self.pool.read(|session| {
            let row = session
                .query_opt(concat!("SELECT ", token_columns!(), " FROM tokens WHERE id = $1"), &[&id.as_str()])?;
            Ok(row.as_ref().map(record))
        })
    }

    fn list(&self, account: &str, owner: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        self.pool.read(|session| {
            let rows = session.query(
                concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens WHERE account = $1 AND NOT deleted AND ($2::text IS NULL OR owner = $2)
                     ORDER BY created_at, id COLLATE \"C\""
                ),
                &[&account, &owner],
            )?;
            Ok(rows.iter().map(|row| record(row).0).collect())
        })
    }

    fn change(&self, id: &TokenId, change: &Change, audit: &AuditEntry) -> Result<(), StoreError> {
        self.pool.write(|session| {
            let changed = match change {
                Change::Status(status) => session.execute(
                    "UPDATE tokens SET status = $2 WHERE id = $1 AND NOT deleted",
                    &[&id.as_str(), &status_name(*status)],
                )?,
                Change::Expiry(at) => session.execute(
                    "UPDATE tokens SET expires_at = $2 WHERE id = $1 AND NOT deleted",
                    &[&id.as_str(), &at.map(millis)],
                )?,
                Change::Delete => session
                    .execute("UPDATE tokens SET deleted = true WHERE id = $1 AND NOT deleted", &[&id.as_str()])?,
            };
            if changed == 0 {
                return Err(StoreError::NotFound(id.clone()).into());
            }
            insert_audit(session, audit)
        })
    }

    fn rotate(
        &self,
        old: &TokenId,
        old_expires: DateTime<Utc>,
        new: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.pool.write(|session| {
            let changed = session.execute(
                "UPDATE tokens SET expires_at = $2, rotated_to = $3 WHERE id = $1 AND NOT deleted AND rotated_to IS NULL",
                &[&old.as_str(), &millis(old_expires), &new.id.as_str()],
            )?;
            if changed == 0 {
                let rotated =
                    session.query_opt("SELECT rotated_to IS NOT NULL FROM tokens WHERE id = $1 AND NOT deleted", &[&old.as_str()])?;
                return Err(match rotated.map(|row| row.get::<_, bool>(0)) {
                    Some(true) => StoreError::AlreadyRotated(old.clone()),
                    _ => StoreError::NotFound(old.clone()),
                }
                .into());
            }
            insert_token(session, new, false)?;
            insert_audit(session, audit)
        })
    }

    fn account_switch(&self, account: &str) -> Result<Option<bool>, StoreError> {
        self.pool.read(|session| {
            let row = session.query_opt("SELECT platform_tokens FROM accounts WHERE id = $1", &[&account])?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn set_account_switch(&self, account: &str, allowed: bool, audit: Option<&AuditEntry>) -> Result<(), StoreError> {
        self.pool.write(|session| {
            session.execute(
                "INSERT INTO accounts (id, platform_tokens) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET platform_tokens = EXCLUDED.platform_tokens",
                &[&account, &allowed],
            )?;
            audit.map_or(Ok(()), |audit| insert_audit(session, audit))
        })
    }

    fn record_audit(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        self.pool.write(|session| insert_audit(session, audit))
    }

    fn audit_log(
        &self,
        account: &str,
        since: Option<DateTime<Utc>>,
        token: Option<&TokenId>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let token = token.map(|t| t.as_str());
        self.pool.read(|session| {
            let rows = session.query(
                concat!(
                    "SELECT ",
                    audit_columns!(),
                    " FROM audit WHERE account = $1 AND ($2::timestamptz IS NULL OR at >= $2)
                     AND ($3::text IS NULL OR token = $3 OR new_token = $3) ORDER BY seq"
                ),
                &[&account, &since, &token],
            )?;
            Ok(rows.iter().map(audit_entry).collect())
        })
    }

    fn touch(&self, uses: &[(TokenId, DateTime<Utc>)]) -> Result<(), StoreError> {
        let ids: Vec<&str> = uses.iter().map(|(id, _)| id.as_str()).collect();
        let times: Vec<DateTime<Utc>> = uses.iter().map(|(_, at)| millis(*at)).collect();
        self.pool.write(|session| {
            session.execute(
                "UPDATE tokens SET last_used_at = used.at
                 FROM unnest($1::text[], $2::timestamptz[]) AS used (id, at)
                 WHERE tokens.id = used.id AND (last_used_at IS NULL OR last_used_at < used.at)",
                &[&ids, &times],
            )?;
            Ok(())
        })
    }

    fn ui_form_key(&self, candidate: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        self.pool.write(|session| {
            let candidate = candidate.as_slice();
            session.execute(
                "INSERT INTO ui_form_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&candidate],
            )?;
            let key: Vec<u8> = session.query_one("SELECT key FROM ui_form_key WHERE id = 1", &[])?.get(0);
            key.try_into().map_err(|_| StoreError::Database("the stored form key is not 32 bytes".into()).into())
        })
    }

    fn spend_ui_form_token(&self, nonce: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.pool.write(|session| {
            session.execute("DELETE FROM ui_spent_form_tokens WHERE until < $1", &[&now])?;
            let inserted = session.execute(
                "INSERT INTO ui_spent_form_tokens (nonce, until) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
                &[&nonce, &until],
            )?;
            Ok(inserted == 1)
        })
    }

    fn subscribe(&self, listener: InvalidationListener) {
        let listening = listen::listen(Arc::clone(&self.connector), self.database.clone(), listener);
        self.listening.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(listening);
    }

    fn export(&self) -> Result<Snapshot, StoreError> {
        // One snapshot of the database for the three reads.
        self.pool.write(|session| {
            session.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            let accounts = session.query("SELECT id, platform_tokens FROM accounts ORDER BY id COLLATE \"C\"", &[])?;
            let tokens =
                session.query(concat!("SELECT ", token_columns!(), " FROM tokens ORDER BY id COLLATE \"C\""), &[])?;
            let audit = session.query(concat!("SELECT ", audit_columns!(), " FROM audit ORDER BY seq"), &[])?;
            Ok(Snapshot {
                accounts: accounts.iter().map(|row| (row.get(0), row.get(1))).collect(),
                tokens: tokens.iter().map(record).collect(),
                audit: audit.iter().map(audit_entry).collect(),
            })
        })
    }

    fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.pool.write(|session| {
            // No token is made or changed while the copy checks that the store is empty and fills
            // it (the audit log cannot be locked by a role that may only append to it).
            session.batch("LOCK TABLE accounts, owners, tokens IN EXCLUSIVE MODE")?;
            let held: i64 = session
                .query_one(
                    "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit)",
                    &[],
                )?
                .get(0);
            if held > 0 {
                return Err(StoreError::Database(NOT_EMPTY.into()).into());
            }
            for (account, allowed) in &snapshot.accounts {
                session.execute("INSERT INTO accounts (id, platform_tokens) VALUES ($1, $2)", &[account, allowed])?;
            }
            for (token, deleted) in &snapshot.tokens {
                insert_token(session, token, *deleted)?;
            }
            for entry in &snapshot.audit {
                insert_audit(session, entry)?;
            }
            Ok(())
        })
    }
}
