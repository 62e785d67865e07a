//! Who is signed in (decisions D36): people sign in at a gateway, which names them in a header
//! that warden believes only from the gateway's addresses; and a form is taken only from a page
//! of the same origin.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};

use super::error::UiError;
use crate::iam::{Principal, Tenant};
use crate::server::State;
use crate::server::log::SignedInUser;

/// A block of peer addresses, `10.0.0.0/8` or one address (`127.0.0.1`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `address` is in the block; an IPv4 address mapped into IPv6 counts as IPv4.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').map_or((text, None), |(a, p)| (a, Some(p)));
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("`{text}` is not an address or a CIDR block such as `10.0.0.0/8`"))?
            .to_canonical();
        let longest = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => longest,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= longest)
                .ok_or_else(|| format!("`{text}`: the prefix length is 0 to {longest}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The one value of a header, `None` when absent; a header sent twice is refused.
pub(super) fn single<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value.to_str().map(Some).map_err(|_| ()),
        (Some(_), Some(_)) => Err(()),
    }
}

/// The person the gateway signed in: a user of the tenant, matched by email.
#[derive(Debug, Clone)]
pub(super) struct SignedIn {
    pub principal: Principal,
    pub email: String,
    /// The user's id: what form tokens are bound to.
    pub id: String,
}

impl FromRequestParts<Arc<State>> for SignedIn {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<SignedIn, UiError> {
        let pages = state.ui.as_ref().ok_or_else(UiError::not_found)?;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
        let header = &pages.config.user_header;
        if !peer.is_some_and(|peer| pages.config.trusted_proxies.iter().any(|block| block.contains(peer))) {
            return Err(UiError::unauthenticated(
                "these pages are reached through the sign-in gateway only; this request did not come from it",
            ));
        }
        let email = match single(&parts.headers, header) {
            Ok(Some(email)) if !email.contains(',') && !email.trim().is_empty() => email.trim(),
            Ok(None | Some("")) => {
                return Err(UiError::unauthenticated(format!(
                    "the gateway did not name the signed-in person: `{header}` is missing or empty"
                )));
            }
            // Twice, a list, or bytes that are no text: the gateway did not name one person.
            Ok(Some(_)) | Err(()) => {
                return Err(UiError::unauthenticated(format!(
                    "`{header}` names more than one person, or none clearly; the gateway must set it once, to one email"
                )));
            }
        };
        let engine = state.service.engine();
        let signed_in = sign_in(engine.tenant(), email)?;
        if let Some(logged) = parts.extensions.get::<SignedInUser>() {
            logged.set(&signed_in.email);
        }
        Ok(signed_in)
    }
}

/// The user with this email; service users never sign in (D36).
fn sign_in(tenant: &Tenant, email: &str) -> Result<SignedIn, UiError> {
    let user = tenant.users.iter().find(|user| user.email.eq_ignore_ascii_case(email));
    if let Some((user, principal)) = user.and_then(|user| Some((user, tenant.find_user(&user.id)?))) {
        return Ok(SignedIn { principal, email: user.email.to_string(), id: user.id.clone() });
    }
    let message = match tenant.service_users.iter().any(|s| s.email.eq_ignore_ascii_case(email)) {
        true => format!("`{email}` is a service user; service users use tokens, they do not sign in"),
        false => format!("`{email}` is not a user of account `{}`", tenant.account.id),
    };
    Err(UiError::new(StatusCode::FORBIDDEN, "Not a user of this account", message))
}

/// A state-changing request must come from a page of this origin (D36): `Sec-Fetch-Site:
/// same-origin`, or an `Origin` equal to the public origin.
pub(super) fn same_origin(headers: &HeaderMap, public_origin: &str) -> Result<(), UiError> {
    let refused = |why: &str| {
        UiError::new(
            StatusCode::FORBIDDEN,
            "Form refused",
            format!("{why}; open the page again and send the form from it"),
        )
    };
    let fetch_site = HeaderName::from_static("sec-fetch-site");
    let site = single(headers, &fetch_site).map_err(|()| refused("`Sec-Fetch-Site` is sent twice"))?;
    let origin = single(headers, &header::ORIGIN).map_err(|()| refused("`Origin` is sent twice"))?;
    if site == Some("same-origin") || origin.is_some_and(|origin| normalized_origin(origin) == public_origin) {
        return Ok(());
    }
    Err(refused(&format!("the form was not sent from a page of {public_origin}")))
}

/// `HTTPS://Tokens.example:443/` → `https://tokens.example`: what a browser puts in `Origin`.
pub fn normalized_origin(url: &str) -> String {
    let lower = url.trim().trim_end_matches('/').to_ascii_lowercase();
    match lower.strip_suffix(":80").filter(|_| lower.starts_with("http://")) {
        Some(origin) => origin.to_string(),
        None => lower.strip_suffix(":443").filter(|_| lower.starts_with("https://")).unwrap_or(&lower).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Cidr, normalized_origin};

    #[test]
    fn cidr_blocks_hold_the_addresses_they_should() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains("10.1.200.3".parse().unwrap()));
        assert!(!block.contains("10.2.0.1".parse().unwrap()));
        let one: Cidr = "127.0.0.2".parse().unwrap();
        assert!(one.contains("127.0.0.2".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.2".parse().unwrap()), "an IPv4-mapped peer is the IPv4 address");
        let everything: Cidr = "::/0".parse().unwrap();
        assert!(everything.contains("::1".parse().unwrap()));
        assert!(!everything.contains("127.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("localhost".parse::<Cidr>().is_err());
    }

    #[test]
    fn origins_compare_as_browsers_send_them() {
        assert_eq!(normalized_origin("HTTPS://Tokens.Example:443/"), "https://tokens.example");
        assert_eq!(normalized_origin("http://127.0.0.1:80"), "http://127.0.0.1");
        assert_eq!(normalized_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
