//! The PostgreSQL schema: versioned migrations, each recorded as a row of
//! `warden_schema_version`, run in one transaction under an advisory lock (two instances started
//! with `--migrate` at once do not race); the grants of the service's role; and the triggers
//! that keep the audit log append-only, keep token ids from being reused, and announce changes
//! on [`CHANNEL`] (LISTEN/NOTIFY), delivered when their transaction commits.

use postgres::GenericClient;

use crate::store::Migrated;
use crate::store::error::SchemaError;

/// Where changes to tokens (`token:<id>`) and accounts (`account:<id>`) are announced.
pub(super) const CHANNEL: &str = "warden_changes";

/// One lock id for every migrating warden (an arbitrary constant: "warden" in ASCII).
const MIGRATION_LOCK: i64 = 0x7761_7264_656e;

/// Schema versions, applied in order; `warden_schema_version` holds one row per version run.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE warden_schema_version (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE accounts (
    id text PRIMARY KEY,
    platform_tokens boolean NOT NULL
);
-- One row per owner: a create locks it, so creates for one owner take turns (see insert).
CREATE TABLE owners (
    account text NOT NULL,
    owner text NOT NULL,
    PRIMARY KEY (account, owner)
);
CREATE TABLE tokens (
    id text PRIMARY KEY,
    account text NOT NULL,
    owner text NOT NULL,
    owner_is_service_user boolean NOT NULL,
    creator text NOT NULL,
    name text NOT NULL,
    tags text[] NOT NULL,
    environments text[] NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    status text NOT NULL CHECK (status IN ('active', 'disabled')),
    last_used_at timestamptz,
    digest bytea NOT NULL CHECK (length(digest) = 32),
    deleted boolean NOT NULL DEFAULT false,
    -- The rotation lineage (D31).
    rotated_from text,
    rotated_to text
);
CREATE INDEX tokens_by_owner ON tokens (account, owner) WHERE NOT deleted;
CREATE TABLE audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    account text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    token text,
    new_token text,
    outcome text NOT NULL
);
CREATE INDEX audit_by_account ON audit (account, seq);
-- The token pages (D36): the key of their form tokens, and the form tokens already used.
CREATE TABLE ui_form_key (
    id integer PRIMARY KEY CHECK (id = 1),
    key bytea NOT NULL
);
CREATE TABLE ui_spent_form_tokens (
    nonce text PRIMARY KEY,
    until timestamptz NOT NULL
);

-- The second wall around the audit log (the first: the service's role may only insert).
CREATE FUNCTION warden_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_is_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION warden_audit_is_append_only();
CREATE TRIGGER audit_is_never_truncated BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION warden_audit_is_append_only();

-- A deleted token keeps its row, so its id is never given out again.
CREATE FUNCTION warden_tokens_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'tokens are never removed: a deleted token keeps its row so its id is never reused';
    END IF;
    IF NEW.id <> OLD.id OR (OLD.deleted AND NOT NEW.deleted) THEN
        RAISE EXCEPTION 'a token keeps its id, and a deleted token stays deleted';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tokens_stay BEFORE UPDATE OR DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION warden_tokens_stay();
CREATE TRIGGER tokens_are_never_truncated BEFORE TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION warden_tokens_stay();

-- Every instance drops its cached copy when one of these commits (a changed last use does not
-- count: it decides nothing).
CREATE FUNCTION warden_announce_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('warden_changes', 'token:' || NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER tokens_announce AFTER UPDATE ON tokens FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.deleted IS DISTINCT FROM NEW.deleted)
    EXECUTE FUNCTION warden_announce_token();
CREATE FUNCTION warden_announce_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('warden_changes', 'account:' || NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_announce AFTER INSERT OR UPDATE ON accounts FOR EACH ROW
    EXECUTE FUNCTION warden_announce_account();
"#];

/// The schema version this warden brings a database to.
pub(super) const VERSION: usize = MIGRATIONS.len();

/// The database's schema version: 0 before the first migration.
pub(super) fn version(client: &mut impl GenericClient) -> Result<usize, postgres::Error> {
    let exists: bool = client.query_one("SELECT to_regclass('warden_schema_version') IS NOT NULL", &[])?.get(0);
    if !exists {
        return Ok(0);
    }
    let version: Option<i32> = client.query_one("SELECT max(version) FROM warden_schema_version", &[])?.get(0);
    Ok(version.map_or(0, |v| usize::try_from(v).unwrap_or(0)))
}

/// Whether a database of version `found` fits this warden.
pub(super) fn fits(found: usize) -> Result<(), SchemaError> {
    match found.cmp(&VERSION) {
        std::cmp::Ordering::Less => Err(SchemaError::Behind { found, known: VERSION }),
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(SchemaError::Newer { found, known: VERSION }),
    }
}

/// Why a migration did not happen.
pub(super) enum NotMigrated {
    Schema(SchemaError),
    Database(postgres::Error),
}

impl From<postgres::Error> for NotMigrated {
    fn from(error: postgres::Error) -> NotMigrated {
        NotMigrated::Database(error)
    }
}

/// Runs the migrations the database lacks, in one transaction; with `grant`, gives that role
/// what the service needs and nothing more: no UPDATE or DELETE on the audit log, no DELETE on
/// tokens, no schema changes (it may delete only used form tokens of the token pages).
pub(super) fn migrate(client: &mut postgres::Client, grant: Option<&str>) -> Result<Migrated, NotMigrated> {
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let found = version(&mut transaction)?;
    if found > VERSION {
        return Err(NotMigrated::Schema(SchemaError::Newer { found, known: VERSION }));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found) {
        transaction.batch_execute(migration)?;
        let version = i32::try_from(index + 1).expect("fewer migrations than i32::MAX");
        transaction.execute("INSERT INTO warden_schema_version (version) VALUES ($1)", &[&version])?;
    }
    if let Some(role) = grant {
        let role = format!("\"{}\"", role.replace('"', "\"\""));
        transaction.batch_execute(&format!(
            "GRANT SELECT ON warden_schema_version TO {role};
             GRANT SELECT, INSERT, UPDATE ON accounts, owners, tokens TO {role};
             GRANT SELECT, INSERT ON audit, ui_form_key TO {role};
             GRANT SELECT, INSERT, DELETE ON ui_spent_form_tokens TO {role};"
        ))?;
    }
    transaction.commit()?;
    Ok(Migrated { from: found, to: VERSION })
}
