//! The caller's credentials (D33): the one `Authorization` header of a request. A request with
//! several is refused (`invalid_request`): no check ever picks one of them. A request with none
//! is answered with a bare challenge (RFC 6750 §3.1: no error code for a client that did not
//! try), one with a bad token with `error="invalid_token"`.

use axum::http::{HeaderMap, HeaderValue, header};

use super::error::{ApiError, challenge};
use crate::token::{CheckReason, bearer};

/// The challenge for a request that offered no bearer token at all.
const BARE_CHALLENGE: &str = r#"Bearer realm="warden""#;

/// The `Authorization` header of a request, empty when it has none.
pub struct Credentials(String);

impl Credentials {
    /// The request's one `Authorization` header; 400 `invalid_request` when it has several.
    pub fn of(headers: &HeaderMap) -> Result<Credentials, ApiError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let first = values.next();
        let more = values.count();
        if more > 0 {
            let reason = CheckReason::InvalidRequest;
            let message = format!("the request has {} `Authorization` headers; send exactly one", more + 1);
            return Err(ApiError::bad_request(reason, message).challenged(HeaderValue::from_static(challenge(reason))));
        }
        // A header that is not text is no token either: it is refused as one.
        let text = |value: &HeaderValue| match value.to_str() {
            Ok(text) => text.to_string(),
            Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
        };
        Ok(Credentials(first.map(text).unwrap_or_default()))
    }

    /// The header's value, for the check.
    pub fn header(&self) -> &str {
        &self.0
    }

    /// The `WWW-Authenticate` challenge for a refusal of these credentials.
    pub fn challenge(&self, reason: CheckReason) -> HeaderValue {
        match bearer(&self.0) {
            None => HeaderValue::from_static(BARE_CHALLENGE),
            Some(_) => HeaderValue::from_static(challenge(reason)),
        }
    }
}
