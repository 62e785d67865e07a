//! What the token pages of `warden serve` (`/ui/`, decisions D36) keep in the token database:
//! the key that signs their form tokens, and the form tokens already used.

use chrono::{DateTime, Utc};
use rand::TryRngCore;
use rand::rngs::OsRng;

use super::error::TokenError;
use super::service::TokenService;

impl TokenService {
    /// The key that signs the pages' form tokens: made from the OS generator the first time,
    /// then read from the database, so every process sharing it accepts the others' forms.
    pub fn ui_form_key(&self) -> Result<[u8; 32], TokenError> {
        let mut candidate = [0u8; 32];
        OsRng.try_fill_bytes(&mut candidate).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(self.store.ui_form_key(&candidate)?)
    }

    /// Marks a form token as used until `until` (when it would have expired anyway): `false`
    /// when it was used already.
    pub fn spend_ui_form_token(&self, nonce: &str, until: DateTime<Utc>) -> Result<bool, TokenError> {
        Ok(self.store.spend_ui_form_token(nonce, until, self.clock.now())?)
    }
}
