//! `warden db copy`: everything one store holds — accounts' switches, tokens (deleted ones
//! included, so their ids stay taken) and the audit log — into another, empty one, then read
//! back and compared by counts and by a digest of the whole.

use sha2::{Digest, Sha256};

use super::error::DatabaseError;
use super::{Database, Schema};
use crate::token::{Snapshot, Status};

/// What a copy moved, and the digest both stores read back as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Accounts (their platform-tokens switch).
    pub accounts: usize,
    /// Tokens, deleted ones included.
    pub tokens: usize,
    /// Of those, the deleted ones.
    pub deleted: usize,
    /// Audit entries.
    pub audit: usize,
    /// SHA-256 of everything copied, in hex (see [`digest`]).
    pub digest: String,
}

/// Copies everything `from` holds into `to`, which must hold nothing yet (its schema is
/// brought up to date first), and checks that `to` reads back as `from` did.
pub fn copy(from: &Database, to: &Database) -> Result<Copied, DatabaseError> {
    // Opening a file that is not there would make an empty one to copy from.
    match from {
        Database::Sqlite(path) if !path.exists() => {
            return Err(DatabaseError::InvalidName { text: from.to_string(), reason: "no such file".into() });
        }
        _ => {}
    }
    let failed = |database: &Database| {
        let database = database.to_string();
        move |error| DatabaseError::Store { database, error }
    };
    let source = from.open(Schema::Expect)?;
    let destination = to.open(Schema::Migrate)?;
    let snapshot = source.export().map_err(failed(from))?;
    destination.import(&snapshot).map_err(failed(to))?;
    let back = destination.export().map_err(failed(to))?;
    let counts = |s: &Snapshot| (s.accounts.len(), s.tokens.len(), s.audit.len());
    let mismatch =
        |difference: String| DatabaseError::CopyMismatch { from: from.to_string(), to: to.to_string(), difference };
    if counts(&snapshot) != counts(&back) {
        let ((a, t, e), (a2, t2, e2)) = (counts(&snapshot), counts(&back));
        return Err(mismatch(format!(
            "{a} accounts, {t} tokens and {e} audit entries were copied, {a2}, {t2} and {e2} read back"
        )));
    }
    let (sent, received) = (digest(&snapshot), digest(&back));
    if sent != received {
        return Err(mismatch(format!("the digests differ ({sent} copied, {received} read back)")));
    }
    Ok(Copied {
        accounts: snapshot.accounts.len(),
        tokens: snapshot.tokens.len(),
        deleted: snapshot.tokens.iter().filter(|(_, deleted)| *deleted).count(),
        audit: snapshot.audit.len(),
        digest: sent,
    })
}

/// SHA-256 over every field of every account, token and audit entry, in the snapshot's order,
/// each field length-prefixed so no two snapshots read alike; times count to the millisecond,
/// as both stores keep them. In hex.
pub fn digest(snapshot: &Snapshot) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    let time =
        |at: Option<chrono::DateTime<chrono::Utc>>| at.map_or(String::new(), |at| at.timestamp_millis().to_string());
    for (id, allowed) in &snapshot.accounts {
        field(b"account");
        field(id.as_bytes());
        field(&[u8::from(*allowed)]);
    }
    for (token, deleted) in &snapshot.tokens {
        field(b"token");
        for text in [&*token.id.0, &token.account, &token.owner.id, &token.creator, &token.name] {
            field(text.as_bytes());
        }
        field(&[u8::from(token.owner.service_user), u8::from(token.status == Status::Active), u8::from(*deleted)]);
        for list in [&token.tags, &token.environments, &token.scopes] {
            field(&(list.len() as u64).to_le_bytes());
            for item in list {
                field(item.as_bytes());
            }
        }
        for at in [Some(token.created_at), token.expires_at, token.last_used_at] {
            field(time(at).as_bytes());
        }
        for lineage in [&token.rotated_from, &token.rotated_to] {
            field(&[u8::from(lineage.is_some())]);
            field(lineage.as_ref().map_or(&[][..], |t| t.0.as_bytes()));
        }
        field(&token.digest.0);
    }
    for entry in &snapshot.audit {
        field(b"audit");
        field(time(Some(entry.at)).as_bytes());
        for text in [&entry.account, &entry.actor, &entry.action, &entry.outcome] {
            field(text.as_bytes());
        }
        for token in [&entry.token, &entry.new_token] {
            field(&[u8::from(token.is_some())]);
            field(token.as_ref().map_or(&[][..], |t| t.0.as_bytes()));
        }
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
