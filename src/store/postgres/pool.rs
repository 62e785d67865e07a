//! Connections to PostgreSQL: opening one (password, TLS, timeouts), a small pool of them for
//! the store's operations, and what a failure means to the caller: unavailable (503, nothing
//! changed), busy, or an error.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement, Transaction};

use super::tls::Tls;
use super::url::{Host, PostgresUrl, TlsMode};
use crate::token::StoreError;

/// How long an operation waits for a connection of the pool before the database counts as busy.
const CHECKOUT_WAIT: Duration = Duration::from_secs(5);
/// After a connection attempt found the server unreachable, further attempts wait this long, so
/// a stopped server is answered at once rather than by every request in turn.
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// Opens connections to one database.
pub(super) struct Connector {
    url: PostgresUrl,
    tls: Tls,
}

impl Connector {
    pub fn new(url: &PostgresUrl) -> Result<Connector, StoreError> {
        Ok(Connector { url: url.clone(), tls: Tls::new(url)? })
    }

    /// A new connection; the password is looked up now (see [`PostgresUrl::password`]).
    pub fn connect(&self) -> Result<Client, StoreError> {
        let url = &self.url;
        let mut config = postgres::Config::new();
        config
            .user(&url.user)
            .dbname(&url.dbname)
            .port(url.port)
            .application_name("warden")
            .connect_timeout(url.connect_timeout)
            .keepalives_idle(Duration::from_secs(30));
        let tls = match &url.host {
            Host::Name(name) => {
                config.host(name);
                url.tls
            }
            // libpq does not encrypt a Unix socket either.
            Host::Socket(dir) => {
                config.host_path(dir);
                TlsMode::Disable
            }
        };
        config.ssl_mode(match tls {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        });
        if let Some(password) = url.password()? {
            config.password(password);
        }
        config.connect(self.tls.clone()).map_err(|error| store_error(&error))
    }
}

/// What stopped an operation.
pub(super) enum Failure {
    /// The database failed before the commit was sent: nothing happened.
    Database(postgres::Error),
    /// The commit itself failed: if the connection was lost, it may or may not have happened.
    AtCommit(postgres::Error),
    /// The store's own answer (the limit, an unknown token).
    Store(StoreError),
}

impl From<postgres::Error> for Failure {
    fn from(error: postgres::Error) -> Failure {
        Failure::Database(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Store(error)
    }
}

impl Failure {
    fn into_store_error(self) -> StoreError {
        match self {
            Failure::Database(error) | Failure::AtCommit(error) => store_error(&error),
            Failure::Store(error) => error,
        }
    }
}

/// What a PostgreSQL error means to the caller. Messages come from the server or the driver and
/// never hold the password.
pub(super) fn store_error(error: &postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        return match code {
            // connection exceptions; shutting down, crashed, starting up; too many connections
            _ if code.starts_with("08") => StoreError::Unavailable(db.message().to_string()),
            "57P01" | "57P02" | "57P03" | "53300" => StoreError::Unavailable(db.message().to_string()),
            // serialization failure, deadlock, lock not available, statement timeout
            "40001" | "40P01" | "55P03" | "57014" => StoreError::Busy,
            _ => StoreError::Database(db.message().to_string()),
        };
    }
    if error.is_closed() {
        return StoreError::Unavailable("the connection to the database was lost".into());
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls) => StoreError::Database(format!("TLS: {tls}")),
                None => StoreError::Unavailable(io.to_string()),
            };
        }
        source = cause.source();
    }
    StoreError::Database(error.to_string())
}

/// A connection and the statements prepared on it.
pub(super) struct Connection {
    client: Client,
    prepared: HashMap<&'static str, Statement>,
}

/// Work on one connection, in a transaction or not: statements are prepared once per
/// connection, so each runs in one round trip.
pub(super) struct Session<'a, C> {
    client: &'a mut C,
    prepared: &'a mut HashMap<&'static str, Statement>,
}

impl<C: GenericClient> Session<'_, C> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }

    pub fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    pub fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    pub fn query_one(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params)
    }

    pub fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    /// Statements without parameters, unprepared (locks, `SET`).
    pub fn batch(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client.batch_execute(sql)
    }
}

struct Slots {
    idle: Vec<Connection>,
    /// Connections in use or idle.
    open: usize,
    /// No new connection is tried before then, and why.
    paused: Option<(Instant, String)>,
}

/// At most `size` connections, opened when needed and kept.
pub(super) struct Pool {
    connector: Arc<Connector>,
    size: usize,
    slots: Mutex<Slots>,
    returned: Condvar,
}

impl Pool {
    pub fn new(connector: Arc<Connector>, size: usize, first: Client) -> Pool {
        let first = Connection { client: first, prepared: HashMap::new() };
        Pool {
            connector,
            size,
            slots: Mutex::new(Slots { idle: vec![first], open: 1, paused: None }),
            returned: Condvar::new(),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection (`true`) or a new one (`false`), waiting while all are in use.
    fn checkout(&self) -> Result<(Connection, bool), StoreError> {
        let deadline = Instant::now() + CHECKOUT_WAIT;
        let mut slots = self.slots();
        loop {
            if let Some(connection) = slots.idle.pop() {
                return Ok((connection, true));
            }
            if slots.open < self.size {
                return self.open(slots).map(|connection| (connection, false));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Busy);
            }
            slots = self.returned.wait_timeout(slots, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// A new connection in a free slot, unless the server was just found unreachable.
    fn open(&self, mut slots: MutexGuard<'_, Slots>) -> Result<Connection, StoreError> {
        if let Some((until, why)) = &slots.paused {
            if Instant::now() < *until {
                return Err(StoreError::Unavailable(why.clone()));
            }
        }
        slots.open += 1;
        drop(slots);
        let connected = self.connector.connect();
        let mut slots = self.slots();
        match connected {
            Ok(client) => {
                slots.paused = None;
                Ok(Connection { client, prepared: HashMap::new() })
            }
            Err(error) => {
                slots.open -= 1;
                if let StoreError::Unavailable(why) = &error {
                    slots.paused = Some((Instant::now() + RECONNECT_PAUSE, why.clone()));
                }
                self.returned.notify_one();
                Err(error)
            }
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut slots = self.slots();
        if connection.client.is_closed() {
            slots.open -= 1;
        } else {
            slots.idle.push(connection);
        }
        self.returned.notify_one();
    }

    /// Drops a lost connection and the idle ones, which a restarted server has lost too.
    fn drop_lost(&self) {
        let mut slots = self.slots();
        let idle = std::mem::take(&mut slots.idle);
        slots.open -= 1 + idle.len();
        self.returned.notify_all();
    }

    /// Runs `work` on a connection. When a connection that sat idle turns out lost (the server
    /// restarted since), nothing `work` sent took effect, so it runs once more on a new one.
    fn run<T>(&self, mut work: impl FnMut(&mut Connection) -> Result<T, Failure>) -> Result<T, StoreError> {
        let (mut connection, mut reused) = self.checkout()?;
        loop {
            let failure = match work(&mut connection) {
                Ok(value) => {
                    self.give_back(connection);
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            let lost = connection.client.is_closed()
                || matches!(&failure, Failure::Database(e) | Failure::AtCommit(e) if e.is_closed());
            if !lost {
                self.give_back(connection);
                return Err(failure.into_store_error());
            }
            self.drop_lost();
            if !(reused && matches!(failure, Failure::Database(_))) {
                return Err(failure.into_store_error());
            }
            connection = self.open(self.slots())?;
            reused = false;
        }
    }

    /// Work outside a transaction (one statement: reads).
    pub fn read<T>(
        &self,
        mut work: impl FnMut(&mut Session<'_, Client>) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.run(|connection| {
            let Connection { client, prepared } = connection;
            work(&mut Session { client, prepared })
        })
    }

    /// Work in one transaction, committed when it succeeds and rolled back when it fails.
    pub fn write<T>(
        &self,
        mut work: impl FnMut(&mut Session<'_, Transaction<'_>>) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.run(|connection| {
            let Connection { client, prepared } = connection;
            let mut transaction = client.transaction()?;
            let value = work(&mut Session { client: &mut transaction, prepared })?;
            transaction.commit().map_err(Failure::AtCommit)?;
            Ok(value)
        })
    }
}
