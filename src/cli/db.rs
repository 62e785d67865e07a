//! `warden db`: the token database itself — migrate its schema, copy it to another store — and
//! how every command names a database and reports what went wrong with one.

use clap::Subcommand;
use warden::store::{Database, DatabaseError, Origin, SchemaError, copy};
use warden::token::StoreError;

use super::{Exit, fail};

const DB_HELP: &str = "Databases are named as `--db` names them: a file path or `sqlite:PATH` for SQLite, \
`postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=CA.pem` for PostgreSQL. A PostgreSQL password \
comes from WARDEN_DB (the whole URL), PGPASSWORD or a PGPASSFILE (default ~/.pgpass), never from a flag.";

const MIGRATE_EXAMPLES: &str = "Examples:
  WARDEN_DB=postgres://warden_admin@db.internal/warden?sslmode=verify-full warden db migrate --grant warden
  warden db migrate --db sqlite:/var/lib/warden/tokens.db

Run it as a role that may change the schema (the database's owner); `warden serve` then runs as the
granted role, which may read and write tokens and append to the audit log, nothing more.";

const COPY_EXAMPLES: &str = "Example (a team that outgrows one host):
  PGPASSWORD=… warden db copy --from /var/lib/warden/tokens.db --to 'postgres://warden_admin@db.internal/warden'

The destination's schema is brought up to date and it must hold nothing yet. Tokens (deleted ones
too, so their ids stay taken), account switches and the audit log are copied in one transaction,
read back, and compared by counts and a SHA-256 digest of everything.";

#[derive(Subcommand)]
#[command(after_help = DB_HELP)]
pub enum DbCommand {
    /// Bring the database's schema up to date (and grant the service's role its rights)
    #[command(after_help = MIGRATE_EXAMPLES)]
    Migrate {
        /// The token database [env: WARDEN_DB]
        #[arg(long, value_name = "PATH|URL")]
        db: Option<String>,
        /// A PostgreSQL role to give what `warden serve` needs: SELECT, INSERT and UPDATE on
        /// tokens and accounts, SELECT and INSERT on the audit log
        #[arg(long, value_name = "ROLE")]
        grant: Option<String>,
    },
    /// Copy every token, account switch and audit entry into another, empty database
    #[command(after_help = COPY_EXAMPLES)]
    Copy {
        /// The database to copy from
        #[arg(long, value_name = "PATH|URL")]
        from: String,
        /// The database to copy into: it must hold nothing yet
        #[arg(long, value_name = "PATH|URL")]
        to: String,
    },
}

pub fn run(command: DbCommand) -> Exit {
    let run = || -> Result<Exit, Exit> {
        match command {
            DbCommand::Migrate { db, grant } => {
                let database = named(db.as_deref(), None)?;
                let migrated = database.migrate(grant.as_deref()).map_err(failed)?;
                match migrated.from == migrated.to {
                    true => eprintln!("{database}: the schema is at version {}, up to date", migrated.to),
                    false => eprintln!("{database}: schema version {} → {}", migrated.from, migrated.to),
                }
                if let Some(role) = grant {
                    eprintln!("granted `{role}` what warden serve needs");
                }
                Ok(Exit::Ok)
            }
            DbCommand::Copy { from, to } => {
                let (from, to) = (parse(&from, Origin::Flag)?, parse(&to, Origin::Flag)?);
                let copied = copy(&from, &to).map_err(failed)?;
                println!(
                    "copied {} account{}, {} token{} ({} deleted) and {} audit entr{} from {from} to {to}",
                    copied.accounts,
                    if copied.accounts == 1 { "" } else { "s" },
                    copied.tokens,
                    if copied.tokens == 1 { "" } else { "s" },
                    copied.deleted,
                    copied.audit,
                    if copied.audit == 1 { "y" } else { "ies" },
                );
                println!("both read back alike: sha256 {}", copied.digest);
                Ok(Exit::Ok)
            }
        }
    };
    run().unwrap_or_else(|exit| exit)
}

fn parse(text: &str, origin: Origin) -> Result<Database, Exit> {
    Database::parse(text, origin).map_err(failed)
}

/// The database `--db` names, else `WARDEN_DB`, else the tenant's `[deployment] database`.
pub fn named(flag: Option<&str>, tenant_file: Option<&str>) -> Result<Database, Exit> {
    if let Some(text) = flag {
        return parse(text, Origin::Flag);
    }
    if let Some(text) = std::env::var("WARDEN_DB").ok().filter(|text| !text.is_empty()) {
        return parse(&text, Origin::Environment);
    }
    match tenant_file {
        Some(text) => parse(text, Origin::TenantFile),
        None => Err(fail("name the token database with `--db PATH|URL` or WARDEN_DB")),
    }
}

/// Prints what went wrong with a database: exit 3 for a password in the tenant's files, else 2
/// (D1), with what to do about a schema that does not fit.
pub fn failed(error: DatabaseError) -> Exit {
    let exit = match &error {
        DatabaseError::PasswordInTenantFile => Exit::TenantErrors,
        _ => Exit::CouldNotRun,
    };
    eprintln!("error: {error}");
    match &error {
        DatabaseError::Schema { error: SchemaError::Behind { .. }, .. } => eprintln!(
            "(run `warden db migrate --db URL --grant ROLE` as a role that may change the schema, ROLE being the one warden serve runs as; where one role does both, start `warden serve --migrate`)"
        ),
        DatabaseError::Store { error: StoreError::Unavailable(_), .. } => {
            eprintln!("(is the database server running, and does it take connections from here?)")
        }
        _ => {}
    }
    exit
}
