//! Forms sent to the pages: read within the body limit, taken only from a page of the same
//! origin, and each carrying a single-use form token bound to the signed-in user (D36): an
//! HMAC-SHA-256 under a key kept in the token database, over the user's id, a random nonce and
//! the time it was issued. A used nonce is recorded in the database, so a form is taken once,
//! by whichever process sharing the database sees it first.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

use super::error::UiError;
use super::signin::{SignedIn, same_origin, single};
use crate::server::State;
use crate::server::json::RawBody;

/// How long a page's forms may be sent after it was shown.
const FORM_LIFETIME: Duration = Duration::hours(4);
/// The name of the hidden field that carries the form token.
pub(super) const FORM_TOKEN: &str = "form_token";

/// Issues and checks form tokens.
pub(crate) struct FormKey {
    key: [u8; 32],
}

impl FormKey {
    pub fn new(key: [u8; 32]) -> FormKey {
        FormKey { key }
    }

    fn mac(&self, user: &str, nonce: &str, issued: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        for part in ["warden ui form", user, nonce, &issued.to_string()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// A new form token for `user`: `NONCE.ISSUED.MAC`, hex and seconds.
    pub fn issue(&self, user: &str, now: DateTime<Utc>) -> String {
        let mut random = [0u8; 16];
        // Without the OS generator no form can be made; an empty token is refused when sent.
        if OsRng.try_fill_bytes(&mut random).is_err() {
            return String::new();
        }
        let nonce = hex(&random);
        let issued = now.timestamp();
        let mac = self.mac(user, &nonce, issued).finalize().into_bytes();
        format!("{nonce}.{issued}.{}", hex(&mac))
    }

    /// The nonce of a form token that `user` was given and may still send, and when it
    /// expires; whether it was used already is the database's to say.
    fn verify(&self, token: &str, user: &str, now: DateTime<Utc>) -> Result<(String, DateTime<Utc>), UiError> {
        let refused = |why: &str| UiError::bad_form(format!("{why}; open the page again and send the form from it"));
        let mut parts = token.split('.');
        let (Some(nonce), Some(issued), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused("the form carries no valid form token"));
        };
        let (Ok(issued), Some(mac)) = (issued.parse::<i64>(), unhex(mac)) else {
            return Err(refused("the form carries no valid form token"));
        };
        if nonce.len() != 32 || self.mac(user, nonce, issued).verify_slice(&mac).is_err() {
            return Err(refused("the form token is not one this page gave you"));
        }
        let until = DateTime::from_timestamp(issued, 0).unwrap_or_default() + FORM_LIFETIME;
        if until < now {
            return Err(refused("the form is too old"));
        }
        Ok((nonce.to_string(), until))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// The fields of a form, in the order sent.
#[derive(Debug, Default)]
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    /// The value of a field that is sent once; a field sent twice is a malformed form.
    pub fn one<'f>(&'f self, name: &str) -> Result<Option<&'f str>, UiError> {
        let mut values = self.all(name);
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            (_, Some(_)) => Err(UiError::bad_form(format!("the form sends `{name}` more than once"))),
        }
    }

    /// Every value of a field that may be sent many times (checkboxes).
    pub fn all<'f, 'n>(&'f self, name: &'n str) -> impl Iterator<Item = &'f str> + use<'f, 'n> {
        self.0.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// A form from the signed-in user, from a page of this origin, with a form token that was
/// theirs and is now used up.
pub(super) struct Submitted {
    pub user: SignedIn,
    pub fields: Fields,
}

impl FromRequest<Arc<State>> for Submitted {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &Arc<State>) -> Result<Submitted, UiError> {
        let (mut parts, body) = request.into_parts();
        let user = SignedIn::from_request_parts(&mut parts, state).await?;
        let pages = state.ui.as_ref().ok_or_else(UiError::not_found)?;
        same_origin(&parts.headers, &pages.origin)?;
        let form_type = single(&parts.headers, &header::CONTENT_TYPE).ok().flatten().unwrap_or_default();
        if !form_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
            return Err(UiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Form refused",
                "the pages take forms as application/x-www-form-urlencoded",
            ));
        }
        let RawBody(body) = RawBody::from_request(Request::from_parts(parts, body), state).await?;
        let fields = Fields(form_urlencoded::parse(&body).into_owned().collect());
        let token = fields.one(FORM_TOKEN)?.unwrap_or_default();
        let (nonce, until) = pages.forms.verify(token, &user.id, Utc::now())?;
        let service = Arc::clone(&state.service);
        let fresh =
            tokio::task::spawn_blocking(move || service.spend_ui_form_token(&nonce, until)).await.map_err(|_| {
                UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "the form stopped")
            })??;
        if !fresh {
            return Err(UiError::bad_form(
                "this form was sent already; nothing was done again. Open the page again to do more",
            ));
        }
        Ok(Submitted { user, fields })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::FormKey;

    #[test]
    fn a_form_token_holds_for_its_user_only_and_not_forever_nor_altered() {
        let key = FormKey::new([7; 32]);
        let now = Utc::now();
        let token = key.issue("alice", now);
        assert!(key.verify(&token, "alice", now).is_ok());
        assert!(key.verify(&token, "bob", now).is_err(), "bound to the user");
        assert!(key.verify(&token, "alice", now + Duration::hours(5)).is_err(), "expires");
        assert!(FormKey::new([8; 32]).verify(&token, "alice", now).is_err(), "bound to the key");
        let (nonce, rest) = token.split_once('.').unwrap();
        let other_nonce = nonce.replace(&nonce[..1], if &nonce[..1] == "0" { "1" } else { "0" });
        assert!(key.verify(&format!("{other_nonce}.{rest}"), "alice", now).is_err(), "the nonce is signed");
        assert!(key.verify("", "alice", now).is_err());
        assert!(key.verify("a.b.c.d", "alice", now).is_err());
    }
}
