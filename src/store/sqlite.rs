use std::fs::{OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::error::SchemaError;
use crate::token::{
    AuditEntry, Change, NOT_EMPTY, Owner, Snapshot, Status, StoreError, TokenDigest, TokenId, TokenRecord, TokenStore,
};

/// Schema versions, applied in order; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        platform_tokens INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        owner TEXT NOT NULL,
        owner_is_service_user INTEGER NOT NULL,
        creator TEXT NOT NULL,
        name TEXT NOT NULL,
        tags TEXT NOT NULL,
        environments TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        last_used_at INTEGER,
        digest BLOB NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX tokens_by_owner ON tokens (account, owner) WHERE deleted = 0;
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        token TEXT,
        outcome TEXT NOT NULL
    );
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    // Rotation lineage (D31); the account and the new token of an audit entry. Entries
    // written before this knew no account: those of a token take its account, and the rest
    // the only account of the database if there is one (else no account shows them).
    "ALTER TABLE tokens ADD COLUMN rotated_from TEXT;
    ALTER TABLE tokens ADD COLUMN rotated_to TEXT;
    ALTER TABLE audit ADD COLUMN account TEXT;
    ALTER TABLE audit ADD COLUMN new_token TEXT;
    DROP TRIGGER audit_is_append_only_update;
    UPDATE audit SET account = (SELECT account FROM tokens WHERE tokens.id = audit.token) WHERE token IS NOT NULL;
    UPDATE audit SET account = (SELECT id FROM accounts)
        WHERE account IS NULL AND (SELECT COUNT(*) FROM accounts) = 1;
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE INDEX audit_by_account ON audit (account, seq);",
    // The token pages (D36): the key of their form tokens, and the form tokens already used.
    "CREATE TABLE ui_form_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key BLOB NOT NULL
    );
    CREATE TABLE ui_spent_form_tokens (
        nonce TEXT PRIMARY KEY,
        until INTEGER NOT NULL
    );",
];

/// Busy waits are the database's job (decisions D25): at least five seconds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The token store on one SQLite file, which several processes may share.
pub struct SqliteStore {
    /// Write transactions wait here (and, across processes, on SQLite's lock)...
    writer: Mutex<Connection>,
    /// ...while reads, the token check's among them, go on beside them: WAL lets readers
    /// through while a write is under way.
    reader: Mutex<Connection>,
}

fn busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

fn error(e: rusqlite::Error) -> StoreError {
    if busy(&e) { StoreError::Busy } else { StoreError::Database(e.to_string()) }
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).expect("strings serialize")
}

fn list(text: String) -> Vec<String> {
    serde_json::from_str(&text).unwrap_or_default()
}

const COLUMNS: &str = "id, account, owner, owner_is_service_user, creator, name, tags, environments, scopes, \
                       created_at, expires_at, status, last_used_at, digest, deleted, rotated_from, rotated_to";

fn record(row: &Row<'_>) -> rusqlite::Result<(TokenRecord, bool)> {
    let digest: Vec<u8> = row.get(13)?;
    let status: String = row.get(11)?;
    Ok((
        TokenRecord {
            id: TokenId::from(row.get::<_, String>(0)?),
            account: row.get(1)?,
            owner: Owner { id: row.get(2)?, service_user: row.get(3)? },
            creator: row.get(4)?,
            name: row.get(5)?,
            tags: list(row.get(6)?),
            environments: list(row.get(7)?),
            scopes: list(row.get(8)?),
            created_at: time(row.get(9)?),
            expires_at: row.get::<_, Option<i64>>(10)?.map(time),
            status: if status == "disabled" { Status::Disabled } else { Status::Active },
            last_used_at: row.get::<_, Option<i64>>(12)?.map(time),
            rotated_from: row.get::<_, Option<String>>(15)?.map(TokenId::from),
            rotated_to: row.get::<_, Option<String>>(16)?.map(TokenId::from),
            digest: TokenDigest(digest.try_into().unwrap_or([0; 32])),
        },
        row.get(14)?,
    ))
}

/// The columns [`audit_entry`] reads.
const AUDIT_COLUMNS: &str = "at, account, actor, action, token, new_token, outcome";

fn audit_entry(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: time(row.get(0)?),
        // Entries from before accounts were recorded may have none (see the migrations).
        account: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
        actor: row.get(2)?,
        action: row.get(3)?,
        token: row.get::<_, Option<String>>(4)?.map(TokenId::from),
        new_token: row.get::<_, Option<String>>(5)?.map(TokenId::from),
        outcome: row.get(6)?,
    })
}

impl SqliteStore {
    /// The schema version this warden brings a database to.
    pub const VERSION: usize = MIGRATIONS.len();

    /// The schema version of a database file, 0 for one not made yet; nothing is changed.
    pub fn version(path: &Path) -> Result<usize, StoreError> {
        if !path.exists() {
            return Ok(0);
        }
        let connection =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(error)?;
        connection.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(error)
    }

    /// Opens (and creates, on first use, readable by its owner only) the database file and
    /// brings its schema up to date. Other processes setting up or using the same file are
    /// waited for up to the busy timeout (D25).
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        create_private(path)?;
        let mut connection = Connection::open(path).map_err(error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
        switch_to_wal(&connection)?;
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(error)?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(error)?;
        let version: usize = transaction.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(error)?;
        if version > MIGRATIONS.len() {
            let newer = SchemaError::Newer { found: version, known: MIGRATIONS.len() };
            return Err(StoreError::Database(format!("`{}`: {newer}", path.display())));
        }
        for migration in MIGRATIONS.iter().skip(version) {
            transaction.execute_batch(migration).map_err(error)?;
        }
        transaction.pragma_update(None, "user_version", MIGRATIONS.len()).map_err(error)?;
        transaction.commit().map_err(error)?;
        let reader = Connection::open(path).map_err(error)?;
        reader.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
        reader.pragma_update(None, "query_only", true).map_err(error)?;
        Ok(SqliteStore { writer: Mutex::new(connection), reader: Mutex::new(reader) })
    }

    fn lock(connection: &Mutex<Connection>) -> Result<MutexGuard<'_, Connection>, StoreError> {
        connection.lock().map_err(|_| StoreError::Database("a thread panicked while using the database".into()))
    }

    fn read<T>(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        work(&*Self::lock(&self.reader)?).map_err(error)
    }

    /// One write transaction. BEGIN IMMEDIATE takes the write lock first, so what the work
    /// reads (a count before an insert) cannot change under it, across processes too (D25).
    fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut connection = Self::lock(&self.writer)?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(error)?;
        let value = work(&transaction)?;
        transaction.commit().map_err(error)?;
        Ok(value)
    }
}

/// Creates the database file with mode 0600 whatever the umask (D35): it holds owners, scopes,
/// digests and the audit log. SQLite gives the `-wal` and `-shm` files the database file's mode.
/// An existing file is left as it is.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let private = Permissions::from_mode(0o600);
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => file.set_permissions(private),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
    .map_err(|e| StoreError::Database(format!("cannot create `{}`: {e}", path.display())))
}

/// Puts the database in WAL mode, waiting for other connections up to the busy timeout: SQLite
/// answers a switch that meets another connection's lock with `busy` at once, without its busy
/// handler, and twenty processes creating one file meet exactly that.
fn switch_to_wal(connection: &Connection) -> Result<(), StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(e) if busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(error(e)),
        }
    }
}

fn insert_audit(connection: &Connection, audit: &AuditEntry) -> rusqlite::Result<()> {
    connection.execute(
        "INSERT INTO audit (at, account, actor, action, token, new_token, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            millis(audit.at),
            audit.account,
            audit.actor,
            audit.action,
            audit.token.as_ref().map(|t| t.as_str()),
            audit.new_token.as_ref().map(|t| t.as_str()),
            audit.outcome
        ],
    )?;
    Ok(())
}

fn insert_token(connection: &Connection, r: &TokenRecord, deleted: bool) -> rusqlite::Result<()> {
    connection.execute(
        &format!(
            "INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        ),
        params![
            r.id.0,
            r.account,
            r.owner.id,
            r.owner.service_user,
            r.creator,
            r.name,
            json(&r.tags),
            json(&r.environments),
            json(&r.scopes),
            millis(r.created_at),
            r.expires_at.map(millis),
            if r.status == Status::Active { "active" } else { "disabled" },
            r.last_used_at.map(millis),
            r.digest.0.as_slice(),
            deleted,
            r.rotated_from.as_ref().map(|t| t.as_str()),
            r.rotated_to.as_ref().map(|t| t.as_str()),
        ],
    )?;
    Ok(())
}

impl TokenStore for SqliteStore {
    fn insert(&self, record: &TokenRecord, limit: Option<usize>, audit: &AuditEntry) -> Result<(), StoreError> {
        self.write(|transaction| {
            if let Some(limit) = limit {
                let count: usize = transaction
                    .query_row(
                        "SELECT COUNT(*) FROM tokens WHERE account = ?1 AND owner = ?2 AND deleted = 0",
                        params![record.account, record.owner.id],
                        |row| row.get(0),
                    )
                    .map_err(error)?;
                if count >= limit {
                    return Err(StoreError::LimitReached(limit));
                }
            }
            insert_token(transaction, record, false).map_err(error)?;
            insert_audit(transaction, audit).map_err(error)
        })
    }

    fn get(&self, id: &TokenId) -> Result<Option<(TokenRecord, bool)>, StoreError> {
        self.read(|c| c.query_row(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"), [&id.0], record).optional())
    }

    fn list(&self, account: &str, owner: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM tokens WHERE account = ?1 AND deleted = 0 AND (?2 IS NULL OR owner = ?2) ORDER BY created_at, id"
            ))?;
            let rows = statement.query_map(params![account, owner], record)?;
            rows.map(|r| r.map(|(record, _)| record)).collect()
        })
    }

    fn change(&self, id: &TokenId, change: &Change, audit: &AuditEntry) -> Result<(), StoreError> {
        self.write(|transaction| {
            let changed = match change {
                Change::Status(status) => transaction.execute(
                    "UPDATE tokens SET status = ?2 WHERE id = ?1 AND deleted = 0",
                    params![id.0, if *status == Status::Active { "active" } else { "disabled" }],
                ),
                Change::Expiry(at) => transaction.execute(
                    "UPDATE tokens SET expires_at = ?2 WHERE id = ?1 AND deleted = 0",
                    params![id.0, at.map(millis)],
                ),
                Change::Delete => {
                    transaction.execute("UPDATE tokens SET deleted = 1 WHERE id = ?1 AND deleted = 0", [&id.0])
                }
            }
            .map_err(error)?;
            if changed == 0 {
                return Err(StoreError::NotFound(id.clone()));
            }
            insert_audit(transaction, audit).map_err(error)
        })
    }

    fn rotate(
        &self,
        old: &TokenId,
        old_expires: DateTime<Utc>,
        new: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.write(|transaction| {
            let changed = transaction
                .execute(
                    "UPDATE tokens SET expires_at = ?2, rotated_to = ?3 WHERE id = ?1 AND deleted = 0 AND rotated_to IS NULL",
                    params![old.0, millis(old_expires), new.id.0],
                )
                .map_err(error)?;
            if changed == 0 {
                let rotated: Option<bool> = transaction
                    .query_row("SELECT rotated_to IS NOT NULL FROM tokens WHERE id = ?1 AND deleted = 0", [&old.0], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(error)?;
                return Err(match rotated {
                    Some(true) => StoreError::AlreadyRotated(old.clone()),
                    _ => StoreError::NotFound(old.clone()),
                });
            }
            insert_token(transaction, new, false).map_err(error)?;
            insert_audit(transaction, audit).map_err(error)
        })
    }

    fn account_switch(&self, account: &str) -> Result<Option<bool>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT platform_tokens FROM accounts WHERE id = ?1", [account], |row| row.get(0)).optional()
        })
    }

    fn set_account_switch(&self, account: &str, allowed: bool, audit: Option<&AuditEntry>) -> Result<(), StoreError> {
        self.write(|transaction| {
            transaction
                .execute(
                    "INSERT INTO accounts (id, platform_tokens) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET platform_tokens = excluded.platform_tokens",
                    params![account, allowed],
                )
                .map_err(error)?;
            match audit {
                Some(audit) => insert_audit(transaction, audit).map_err(error),
                None => Ok(()),
            }
        })
    }

    fn record_audit(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        self.write(|transaction| insert_audit(transaction, audit).map_err(error))
    }

    fn audit_log(
        &self,
        account: &str,
        since: Option<DateTime<Utc>>,
        token: Option<&TokenId>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit
                 WHERE account = ?1 AND at >= ?2 AND (?3 IS NULL OR token = ?3 OR new_token = ?3) ORDER BY seq"
            ))?;
            let since = since.map_or(i64::MIN, millis);
            let rows = statement.query_map(params![account, since, token.map(|t| t.as_str())], audit_entry)?;
            rows.collect()
        })
    }

    fn touch(&self, uses: &[(TokenId, DateTime<Utc>)]) -> Result<(), StoreError> {
        self.write(|transaction| {
            let mut update = transaction
                .prepare(
                    "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
                )
                .map_err(error)?;
            for (id, at) in uses {
                update.execute(params![id.0, millis(*at)]).map_err(error)?;
            }
            Ok(())
        })
    }

    fn ui_form_key(&self, candidate: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        self.write(|transaction| {
            let insert = "INSERT INTO ui_form_key (id, key) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING";
            transaction.execute(insert, [candidate.as_slice()]).map_err(error)?;
            let key: Vec<u8> = transaction
                .query_row("SELECT key FROM ui_form_key WHERE id = 1", [], |row| row.get(0))
                .map_err(error)?;
            key.try_into().map_err(|_| StoreError::Database("the stored form key is not 32 bytes".into()))
        })
    }

    fn spend_ui_form_token(&self, nonce: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(|transaction| {
            transaction.execute("DELETE FROM ui_spent_form_tokens WHERE until < ?1", [millis(now)]).map_err(error)?;
            let insert =
                "INSERT INTO ui_spent_form_tokens (nonce, until) VALUES (?1, ?2) ON CONFLICT (nonce) DO NOTHING";
            let inserted = transaction.execute(insert, params![nonce, millis(until)]).map_err(error)?;
            Ok(inserted == 1)
        })
    }

    fn export(&self) -> Result<Snapshot, StoreError> {
        // One read transaction, so the three parts are of one moment.
        self.read(|c| {
            c.execute_batch("BEGIN")?;
            let snapshot = (|| {
                let accounts = c
                    .prepare("SELECT id, platform_tokens FROM accounts ORDER BY id")?
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let tokens = c
                    .prepare(&format!("SELECT {COLUMNS} FROM tokens ORDER BY id"))?
                    .query_map([], record)?
                    .collect::<rusqlite::Result<_>>()?;
                let audit = c
                    .prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))?
                    .query_map([], audit_entry)?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(Snapshot { accounts, tokens, audit })
            })();
            c.execute_batch("COMMIT")?;
            snapshot
        })
    }

    fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.write(|transaction| {
            let held: i64 = transaction
                .query_row(
                    "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM audit)",
                    [],
                    |row| row.get(0),
                )
                .map_err(error)?;
            if held > 0 {
                return Err(StoreError::Database(NOT_EMPTY.into()));
            }
            for (account, allowed) in &snapshot.accounts {
                transaction
                    .execute("INSERT INTO accounts (id, platform_tokens) VALUES (?1, ?2)", params![account, allowed])
                    .map_err(error)?;
            }
            for (token, deleted) in &snapshot.tokens {
                insert_token(transaction, token, *deleted).map_err(error)?;
            }
            for entry in &snapshot.audit {
                insert_audit(transaction, entry).map_err(error)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another process holds the new file's first write lock while it is still in rollback
    /// mode, as one does while it switches the file to WAL: opening waits for it (SQLite answers
    /// a switch to WAL at such a moment with `busy` at once, not through the busy timeout).
    #[test]
    fn opening_waits_for_another_process_setting_the_file_up() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let path = dir.join("fresh.db");
        let mut other = Connection::open(&path).unwrap();
        let holder = std::thread::spawn(move || {
            let transaction = other.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
            transaction.execute_batch("CREATE TABLE elsewhere (x)").unwrap();
            std::thread::sleep(Duration::from_millis(300));
            transaction.commit().unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
        let opened = SqliteStore::open(&path);
        holder.join().unwrap();
        assert!(opened.is_ok(), "{:?}", opened.err());
    }

    /// A database of the first schema, with a token, its audit entry and a switch's entry,
    /// comes up to date: each entry lands in the account it happened in.
    #[test]
    fn a_first_version_database_is_migrated() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let path = dir.join("v1.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(MIGRATIONS[0]).unwrap();
        old.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO accounts VALUES ('acme', 1);
             INSERT INTO tokens (id, account, owner, owner_is_service_user, creator, name, tags, environments,
                 scopes, created_at, expires_at, status, last_used_at, digest)
                 VALUES ('dt0s16.OLD', 'acme', 'u-alice', 0, 'u-alice', 'old', '[]', '[]', '[\"x:y:z\"]', 0,
                 NULL, 'active', NULL, x'00');
             INSERT INTO audit (at, actor, action, token, outcome) VALUES (0, 'alice', 'create', 'dt0s16.OLD', 'ok');
             INSERT INTO audit (at, actor, action, token, outcome) VALUES (1, 'admin', 'deny_tokens', NULL, 'ok');",
        )
        .unwrap();
        drop(old);

        let store = SqliteStore::open(&path).unwrap();
        let (record, deleted) = store.get(&TokenId("dt0s16.OLD".into())).unwrap().unwrap();
        assert_eq!((record.name.as_str(), deleted, record.rotated_from, record.rotated_to), ("old", false, None, None));
        let actions: Vec<String> = store.audit_log("acme", None, None).unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["create", "deny_tokens"]);
        assert!(store.audit_log("globex", None, None).unwrap().is_empty());
        let updated = store.writer.lock().unwrap().execute("UPDATE audit SET outcome = 'x'", []);
        assert!(updated.is_err(), "the audit log is append-only again");
        drop(store);
    }
}
