//! A PostgreSQL database as `--db` names it, `postgres://USER@HOST:PORT/DBNAME?sslmode=…`, and
//! its password, which comes from the URL in `WARDEN_DB`, from `PGPASSWORD` or from a password
//! file (`PGPASSFILE`, else `~/.pgpass`), in libpq's order. Neither `Debug` nor `Display` shows
//! it.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::store::error::DatabaseError;
use crate::store::{redact_password, userinfo_end};
use crate::token::StoreError;

/// How the connection is encrypted (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// Never.
    Disable,
    /// When the server offers it, without checking its certificate (libpq's default).
    Prefer,
    /// Always, without checking the server's certificate.
    Require,
    /// Always, with the server's certificate checked against `sslrootcert`.
    VerifyCa,
    /// Always, with the certificate checked and the host name matched against it.
    VerifyFull,
}

impl TlsMode {
    const ALL: [TlsMode; 5] =
        [TlsMode::Disable, TlsMode::Prefer, TlsMode::Require, TlsMode::VerifyCa, TlsMode::VerifyFull];

    /// libpq's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate is checked against a CA.
    pub(super) const fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }
}

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Host {
    /// A host name or IP address (TCP).
    Name(String),
    /// The directory of a Unix-domain socket.
    Socket(PathBuf),
}

/// libpq's default socket directory on Debian.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PARAMETERS: &str = "sslmode, sslrootcert, host, port, user, dbname, connect_timeout";

/// A password, never printed.
#[derive(Clone)]
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A PostgreSQL database and how to reach it.
#[derive(Debug, Clone)]
pub struct PostgresUrl {
    pub(super) host: Host,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) dbname: String,
    password: Option<Password>,
    pub(super) tls: TlsMode,
    /// The CA certificates (PEM) that `verify-ca` and `verify-full` trust.
    pub(super) root_cert: Option<PathBuf>,
    pub(super) connect_timeout: Duration,
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| format!("`{}` is not a percent-escape", &text[i..(i + 3).min(text.len())]))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a percent-escape does not decode to UTF-8".to_string())
}

impl PostgresUrl {
    /// Reads `postgres://[USER[:PASSWORD]@][HOST][:PORT][/DBNAME][?PARAM=VALUE&…]`. The host
    /// may be a socket directory (`%2Fvar%2Frun%2Fpostgresql`, or `?host=/path`); without one
    /// the socket in /var/run/postgresql is used. The user defaults to `$USER`, the database
    /// to the user.
    pub fn parse(text: &str) -> Result<PostgresUrl, DatabaseError> {
        let invalid = |reason: String| DatabaseError::InvalidName { text: redact_password(text), reason };
        let rest = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
            .ok_or_else(|| invalid("it does not start with `postgres://`".into()))?;
        if userinfo_end(rest).is_some_and(|at| rest[..at].contains(['/', '?'])) {
            return Err(invalid(
                "the password holds `/` or `?`; percent-encode them in a URL (`%2F`, `%3F`), or give the password in PGPASSWORD or a password file".into(),
            ));
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        let decode = |part: &str| percent_decode(part).map_err(&invalid);
        let (host, port) = match hostport.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) =
                    bracketed.split_once(']').ok_or_else(|| invalid("an IPv6 address lacks its `]`".into()))?;
                (host, after.strip_prefix(':'))
            }
            None => match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            },
        };
        let parse_port = |port: &str| {
            port.parse::<u16>().map_err(|_| invalid(format!("the port `{port}` is not a number from 1 to 65535")))
        };
        let mut url = PostgresUrl {
            host: match decode(host)? {
                host if host.is_empty() => Host::Socket(PathBuf::from(DEFAULT_SOCKET_DIR)),
                host if host.starts_with('/') => Host::Socket(PathBuf::from(host)),
                host => Host::Name(host),
            },
            port: port.filter(|p| !p.is_empty()).map(parse_port).transpose()?.unwrap_or(DEFAULT_PORT),
            user: decode(user)?,
            dbname: decode(path)?,
            password: password.map(decode).transpose()?.map(Password),
            tls: TlsMode::Prefer,
            root_cert: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value)?;
            match key {
                "sslmode" => {
                    url.tls = TlsMode::ALL.into_iter().find(|mode| mode.as_str() == value).ok_or_else(|| {
                        invalid(format!(
                            "sslmode `{value}` is none of disable, prefer, require, verify-ca, verify-full"
                        ))
                    })?
                }
                "sslrootcert" => url.root_cert = Some(PathBuf::from(value)),
                "host" if value.starts_with('/') => url.host = Host::Socket(PathBuf::from(value)),
                "host" => url.host = Host::Name(value),
                "port" => url.port = parse_port(&value)?,
                "user" => url.user = value,
                "dbname" => url.dbname = value,
                "connect_timeout" => {
                    let seconds = value
                        .parse::<u64>()
                        .map_err(|_| invalid(format!("connect_timeout `{value}` is not a number of seconds")))?;
                    url.connect_timeout = Duration::from_secs(seconds.max(1));
                }
                other => {
                    return Err(invalid(format!(
                        "warden does not know the parameter `{other}`; it takes {PARAMETERS}"
                    )));
                }
            }
        }
        if url.user.is_empty() {
            url.user = std::env::var("USER")
                .ok()
                .filter(|user| !user.is_empty())
                .ok_or_else(|| invalid("it names no user, and $USER is not set: `postgres://USER@HOST/DB`".into()))?;
        }
        if url.dbname.is_empty() {
            url.dbname = url.user.clone();
        }
        if url.tls.verifies() && matches!(url.host, Host::Socket(_)) {
            return Err(invalid(format!("sslmode={} needs a host name; a Unix socket has no TLS", url.tls.as_str())));
        }
        Ok(url)
    }

    /// Whether the URL itself holds a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The connection's encryption.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls
    }

    /// The password, in libpq's order: the URL's, `PGPASSWORD`, the password file's line for
    /// this host, port, database and user; `None` when there is none (the server may not ask).
    /// Read at every new connection, so a changed file takes effect without a restart.
    pub(super) fn password(&self) -> Result<Option<String>, StoreError> {
        if let Some(Password(password)) = &self.password {
            return Ok(Some(password.clone()));
        }
        if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
            return Ok(Some(password));
        }
        let file = match std::env::var_os("PGPASSFILE") {
            Some(file) => PathBuf::from(file),
            None => match std::env::var_os("HOME") {
                Some(home) => Path::new(&home).join(".pgpass"),
                None => return Ok(None),
            },
        };
        self.in_password_file(&file)
    }

    fn in_password_file(&self, file: &Path) -> Result<Option<String>, StoreError> {
        let Ok(metadata) = std::fs::metadata(file) else { return Ok(None) };
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StoreError::Database(format!(
                "the password file `{}` may be read by other users (mode {:04o}); `chmod 600` it",
                file.display(),
                mode & 0o7777
            )));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| StoreError::Database(format!("cannot read the password file `{}`: {e}", file.display())))?;
        // libpq matches "localhost" for a connection over a Unix socket.
        let host = match &self.host {
            Host::Name(name) => name.as_str(),
            Host::Socket(_) => "localhost",
        };
        let port = self.port.to_string();
        let wanted = [host, &port, &self.dbname, &self.user];
        Ok(text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
            let fields = password_file_fields(line);
            let matches =
                fields.len() == 5 && fields[..4].iter().zip(wanted).all(|(field, want)| field == "*" || field == want);
            matches.then(|| fields[4].clone())
        }))
    }
}

/// A password file's line split at its unescaped colons, `\:` and `\\` unescaped.
fn password_file_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("one field at least").extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field at least").push(c),
        }
    }
    fields
}

/// What a URL's user part cannot hold as it is.
fn percent_encode(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '@' | ':' | '/' | '%' | '?' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// The URL without its password.
impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (user, port, dbname) = (percent_encode(&self.user), self.port, percent_encode(&self.dbname));
        match &self.host {
            Host::Name(host) if host.contains(':') => write!(f, "postgres://{user}@[{host}]:{port}/{dbname}")?,
            Host::Name(host) => write!(f, "postgres://{user}@{host}:{port}/{dbname}")?,
            Host::Socket(dir) => write!(f, "postgres://{user}@:{port}/{dbname}?host={}", dir.display())?,
        }
        let separator = if matches!(self.host, Host::Socket(_)) { '&' } else { '?' };
        write!(f, "{separator}sslmode={}", self.tls.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> PostgresUrl {
        PostgresUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn every_part_is_read() {
        let u = url(
            "postgres://svc%40x:s%3Acret@db.example:6543/tokens?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=2",
        );
        assert_eq!(u.host, Host::Name("db.example".into()));
        assert_eq!((u.port, u.user.as_str(), u.dbname.as_str()), (6543, "svc@x", "tokens"));
        assert_eq!(u.password().unwrap().as_deref(), Some("s:cret"));
        assert_eq!((u.tls, u.root_cert.as_deref()), (TlsMode::VerifyFull, Some(Path::new("/ca.pem"))));
        assert_eq!(u.connect_timeout, Duration::from_secs(2));
        assert_eq!(u.to_string(), "postgres://svc%40x@db.example:6543/tokens?sslmode=verify-full");
    }

    #[test]
    fn sockets_ipv6_and_defaults() {
        let u = url("postgresql://me@%2Ftmp%2Fpg/");
        assert_eq!((u.host, u.port, u.dbname.as_str()), (Host::Socket("/tmp/pg".into()), 5432, "me"));
        let u = url("postgres://me@/d?host=/run/pg&port=7");
        assert_eq!((u.host.clone(), u.port), (Host::Socket("/run/pg".into()), 7));
        assert_eq!(u.to_string(), "postgres://me@:7/d?host=/run/pg&sslmode=prefer");
        let u = url("postgres://me@[::1]:5433/d");
        assert_eq!((u.host.clone(), u.port), (Host::Name("::1".into()), 5433));
        assert_eq!(u.to_string(), "postgres://me@[::1]:5433/d?sslmode=prefer");
    }

    #[test]
    fn mistakes_are_named_and_never_echo_the_password() {
        for (text, expected) in [
            ("postgres://u:pw@h/d?sslmode=verify", "sslmode `verify` is none of"),
            ("postgres://u:pw@h:99999/d", "the port `99999`"),
            ("postgres://u:pw@h/d?ssl=true", "does not know the parameter `ssl`"),
            ("postgres://u:pw@h/d%zz", "`%zz` is not a percent-escape"),
            ("postgres://u:pw@/d?sslmode=verify-full", "needs a host name"),
        ] {
            let error = PostgresUrl::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("pw"), "{text}: {error}");
        }
        assert_eq!(format!("{:?}", url("postgres://u:hunter2@h/d")).matches("hunter2").count(), 0);
    }

    #[test]
    fn password_file_lines_match_like_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:no\ndb.example:6543:*:svc:a\\:b\\\\c\n*:*:*:*:fallback\n")
            .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let u = url("postgres://svc@db.example:6543/tokens");
        assert_eq!(u.in_password_file(&file).unwrap().as_deref(), Some("a:b\\c"));
        let u = url("postgres://svc@elsewhere/tokens");
        assert_eq!(u.in_password_file(&file).unwrap().as_deref(), Some("fallback"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = u.in_password_file(&file).unwrap_err().to_string();
        assert!(error.contains("may be read by other users (mode 0644)"), "{error}");
    }
}
