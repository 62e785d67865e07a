//! New secrets waiting to be shown (D36): a generated token is held in memory under a random
//! key, the browser is sent to a page with that key, and the page takes it out as it shows it,
//! so a reload shows no secret and creates nothing. Nothing here is ever written anywhere.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::token::{TokenRecord, TokenSecret};

/// How long a secret waits for its page; a browser is redirected at once.
const WAIT: Duration = Duration::from_secs(300);
/// How many secrets wait for one person: one is usual (the browser follows the redirect), and a
/// person who generates and deletes without ever looking would otherwise pile them up.
const MOST_PER_PERSON: usize = 10;

/// A new token to show once.
pub(super) struct NewSecret {
    pub record: TokenRecord,
    pub secret: TokenSecret,
    /// Scopes the owner's policies do not allow anywhere: they grant nothing today.
    pub idle_scopes: Vec<String>,
}

struct Held {
    user: String,
    secret: NewSecret,
    since: Instant,
}

/// Secrets waiting for their one page, by key.
#[derive(Default)]
pub(crate) struct OneTimeSecrets {
    held: Mutex<HashMap<String, Held>>,
}

impl OneTimeSecrets {
    /// Holds a secret for `user`; the key names its page. `None` when the OS gave no randomness.
    pub fn hold(&self, user: &str, secret: NewSecret) -> Option<String> {
        let mut random = [0u8; 16];
        OsRng.try_fill_bytes(&mut random).ok()?;
        let key: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let mut held = self.held.lock().expect("the secrets lock is never poisoned");
        held.retain(|_, waiting| waiting.since.elapsed() < WAIT);
        let mut theirs: Vec<(Instant, String)> =
            held.iter().filter(|(_, waiting)| waiting.user == user).map(|(key, w)| (w.since, key.clone())).collect();
        if theirs.len() >= MOST_PER_PERSON {
            // The oldest make room: their pages say the token was shown already.
            theirs.sort();
            for (_, key) in &theirs[..=theirs.len() - MOST_PER_PERSON] {
                held.remove(key);
            }
        }
        held.insert(key.clone(), Held { user: user.to_string(), secret, since: Instant::now() });
        Some(key)
    }

    /// The secret held under `key` for `user`, taken out: a second look finds nothing.
    pub fn take(&self, key: &str, user: &str) -> Option<NewSecret> {
        let mut held = self.held.lock().expect("the secrets lock is never poisoned");
        let ready = held.get(key).is_some_and(|waiting| waiting.user == user && waiting.since.elapsed() < WAIT);
        if !ready {
            return None;
        }
        held.remove(key).map(|waiting| waiting.secret)
    }
}
