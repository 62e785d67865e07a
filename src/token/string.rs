//! Token strings (tokens.md §1, decisions D19): `PREFIX.PUBLIC.SECRET`, 96 bytes with the
//! default prefix. PUBLIC is 24 random base32 characters; SECRET is 57 random characters and 7
//! that hold the CRC-32 of everything before them, so a scanner tells real tokens from
//! look-alikes offline. Only the SHA-256 digest of the whole string is ever stored.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// RFC 4648 base32.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The platform's prefix of platform tokens.
pub const DEFAULT_PREFIX: &str = "dt0s16";
const PUBLIC_LEN: usize = 24;
const RANDOM_SECRET_LEN: usize = 57;
const CHECKSUM_LEN: usize = 7;
const SECRET_LEN: usize = RANDOM_SECRET_LEN + CHECKSUM_LEN;
const PREFIX_LEN: usize = 6;
/// `PREFIX.PUBLIC.SECRET`.
const TOKEN_LEN: usize = PREFIX_LEN + 1 + PUBLIC_LEN + 1 + SECRET_LEN;

/// Whether a prefix has the platform's shape `dt0[a-z][0-9]{2}` (D19).
pub fn valid_prefix(prefix: &str) -> bool {
    valid_prefix_bytes(prefix.as_bytes())
}

fn valid_prefix_bytes(b: &[u8]) -> bool {
    b.len() == PREFIX_LEN
        && b.starts_with(b"dt0")
        && b[3].is_ascii_lowercase()
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

/// A token string with its secret. Its `Debug` shows the id only; the secret leaves only
/// through [`TokenSecret::expose`], for the one response that hands it out.
pub struct TokenSecret(String);

impl TokenSecret {
    /// A new token from the OS's random generator.
    pub fn generate(prefix: &str) -> Result<TokenSecret, rand::rand_core::OsError> {
        let mut random = [0u8; PUBLIC_LEN + RANDOM_SECRET_LEN];
        OsRng.try_fill_bytes(&mut random)?;
        // 32 divides 256: the low five bits of a uniform byte are uniform over the alphabet.
        let mut chars = random.iter().map(|b| ALPHABET[(b & 31) as usize] as char);
        let public: String = chars.by_ref().take(PUBLIC_LEN).collect();
        let mut text = format!("{prefix}.{public}.");
        text.extend(chars);
        text.extend(checksum(&text).map(char::from));
        random.fill(0);
        Ok(TokenSecret(text))
    }

    /// The whole token string: shown once, to the one who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token's id: `PREFIX.PUBLIC`.
    pub fn id(&self) -> TokenId {
        TokenId(verified_id(&self.0).expect("a generated token parses").into())
    }

    /// What is stored instead of the token.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSecret({}.<redacted>)", self.id().0)
    }
}

/// `PREFIX.PUBLIC`: safe to show, log and put in URLs. Shared, not copied: every allowed
/// check answers with its token's id, and a copy would be an allocation on the hot path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TokenId(pub Arc<str>);

impl TokenId {
    /// A token id as a user typed it. Someone may paste the whole token: only its first two
    /// parts are kept, so the secret is never echoed back in an error.
    pub fn from_input(text: &str) -> TokenId {
        let mut parts = text.trim().splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some(prefix), Some(public)) => TokenId(format!("{prefix}.{public}").into()),
            _ => TokenId(text.trim().into()),
        }
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for TokenId {
    fn from(id: String) -> TokenId {
        TokenId(id.into())
    }
}

/// A token's cache is looked up by the id borrowed from the header: a check copies no string.
impl Borrow<str> for TokenId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 of the whole token string, compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    /// The digest of a token string.
    pub fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether two digests are equal, compared in constant time.
    pub fn matches(&self, other: &TokenDigest) -> bool {
        // The differences of all four words gathered without a branch, then one constant-time
        // test of the whole: as constant in time as byte by byte, with far fewer steps.
        let word =
            |digest: &[u8; 32], i: usize| u64::from_ne_bytes(digest[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        let differences = (0..4).fold(0, |differ, i| differ | (word(&self.0, i) ^ word(&other.0, i)));
        differences.ct_eq(&0).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

/// Why a string is not a token.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Not `PREFIX.PUBLIC.SECRET` with the platform's prefix and lengths in base32.
    Shape,
    /// The shape is right but the secret's checksum does not match: a typo or a look-alike.
    Checksum,
}

/// Splits and verifies a token string: its id and digest, or why it is no token. Works for
/// any prefix of the platform's shape.
pub fn parse(token: &str) -> Result<(TokenId, TokenDigest), Malformed> {
    verified_id(token).map(|id| (TokenId(id.into()), TokenDigest::of(token)))
}

/// Verifies a token string's shape and checksum and borrows its id (`PREFIX.PUBLIC`) from it.
pub(super) fn verified_id(token: &str) -> Result<&str, Malformed> {
    let id = shaped_id(token).ok_or(Malformed::Shape)?;
    let (body, sum) = token.split_at(TOKEN_LEN - CHECKSUM_LEN);
    if checksum(body) != sum.as_bytes() {
        return Err(Malformed::Checksum);
    }
    Ok(id)
}

/// The id (`PREFIX.PUBLIC`) of a string of a token's shape, its checksum not verified: enough
/// to find a cached record, whose digest then tells whether this is the very token (a string
/// whose checksum fails is not the one that was made, so its digest differs).
pub(super) fn shaped_id(token: &str) -> Option<&str> {
    let bytes = token.as_bytes();
    let public_end = PREFIX_LEN + 1 + PUBLIC_LEN;
    // Every part has a fixed length, so the dots have fixed places; the base32 test runs over
    // all characters without stopping early, which the compiler turns into vector code.
    let base32 = |part: &[u8]| part.iter().fold(true, |all, &b| all & matches!(b, b'A'..=b'Z' | b'2'..=b'7'));
    let shaped = bytes.len() == TOKEN_LEN
        && valid_prefix_bytes(&bytes[..PREFIX_LEN])
        && bytes[PREFIX_LEN] == b'.'
        && bytes[public_end] == b'.'
        && base32(&bytes[PREFIX_LEN + 1..public_end])
        && base32(&bytes[public_end + 1..]);
    shaped.then(|| &token[..public_end])
}

/// CRC-32 (IEEE) of the text as a 35-bit big-endian number in seven base32 characters.
fn checksum(text: &str) -> [u8; CHECKSUM_LEN] {
    let crc = u64::from(crc32fast::hash(text.as_bytes()));
    std::array::from_fn(|i| ALPHABET[((crc >> (5 * (CHECKSUM_LEN - 1 - i))) & 31) as usize])
}

/// Finds verified token strings in a text: `(line, id)` for each; look-alikes whose checksum
/// fails are skipped.
pub fn scan(text: &str) -> Vec<(usize, TokenId)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut at = 0;
        while let Some(offset) = line[at..].find("dt0") {
            let start = at + offset;
            let end = start + TOKEN_LEN;
            if let Some(candidate) = line.get(start..end) {
                let bounded = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
                if bounded {
                    if let Ok(id) = verified_id(candidate) {
                        found.push((number + 1, TokenId(id.into())));
                        at = end;
                        continue;
                    }
                }
            }
            at = start + 3;
        }
    }
    found
}

/// The text with the secret part of every token-shaped string (`dt0s16.PUBLIC.SECRET`, checksum
/// or not, any length) replaced by `…`: for client input quoted back in errors and logs. Clients
/// and proxies percent-encode, so the text is also searched percent-decoded once and twice
/// (`dt0s16%2EPUBLIC%2ESECRET`, `%252E`); a secret found there is cut where its encoded bytes
/// are, and the rest of the text is kept as it was.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut secrets = secret_spans(text.as_bytes());
    if text.contains('%') {
        let once = Decoded::of(text.as_bytes());
        secrets.extend(once.secret_spans());
        secrets.extend(once.decoded_again().secret_spans());
    }
    if secrets.is_empty() {
        return Cow::Borrowed(text);
    }
    // The same secret may be found in several forms: overlapping spans are one cut.
    secrets.sort_unstable_by_key(|span| span.start);
    let mut cuts: Vec<Range<usize>> = Vec::new();
    for span in secrets {
        match cuts.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => cuts.push(span),
        }
    }
    let mut redacted = String::new();
    let mut copied = 0;
    for cut in cuts {
        // Cuts start and end at ASCII bytes: a secret's characters or their escapes.
        redacted.push_str(&text[copied..cut.start]);
        redacted.push('…');
        copied = cut.end;
    }
    redacted.push_str(&text[copied..]);
    Cow::Owned(redacted)
}

/// The byte ranges of the SECRET parts of the token-shaped strings in a text.
fn secret_spans(bytes: &[u8]) -> Vec<Range<usize>> {
    let alphanumeric_run = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(3).position(|window| window == b"dt0") {
        let start = at + offset;
        at = start + 3;
        let public = start + 7;
        let prefix = bytes.get(start..start + 6).and_then(|prefix| std::str::from_utf8(prefix).ok());
        if !prefix.is_some_and(valid_prefix) || bytes.get(start + 6) != Some(&b'.') {
            continue;
        }
        let public_len = alphanumeric_run(public);
        let secret = public + public_len + 1;
        if public_len == 0 || bytes.get(secret - 1) != Some(&b'.') || secret >= bytes.len() {
            continue;
        }
        let secret_len = alphanumeric_run(secret);
        if secret_len > 0 {
            spans.push(secret..secret + secret_len);
            at = secret + secret_len;
        }
    }
    spans
}

/// A percent-decoded text, each byte with the range of the original text it came from.
struct Decoded {
    bytes: Vec<u8>,
    origins: Vec<Range<usize>>,
}

impl Decoded {
    fn of(text: &[u8]) -> Decoded {
        Decoded::decode(text, |at| at..at + 1)
    }

    fn decoded_again(&self) -> Decoded {
        Decoded::decode(&self.bytes, |at| self.origins[at].clone())
    }

    /// Decodes `%XX` escapes; a `%` without two hex digits stays as it is.
    fn decode(text: &[u8], origin: impl Fn(usize) -> Range<usize>) -> Decoded {
        let hex = |at: usize| text.get(at).and_then(|b| (*b as char).to_digit(16));
        let mut decoded = Decoded { bytes: Vec::with_capacity(text.len()), origins: Vec::with_capacity(text.len()) };
        let mut at = 0;
        while at < text.len() {
            match (text[at], hex(at + 1), hex(at + 2)) {
                (b'%', Some(high), Some(low)) => {
                    decoded.bytes.push((high * 16 + low) as u8);
                    decoded.origins.push(origin(at).start..origin(at + 2).end);
                    at += 3;
                }
                (byte, _, _) => {
                    decoded.bytes.push(byte);
                    decoded.origins.push(origin(at));
                    at += 1;
                }
            }
        }
        decoded
    }

    /// The secrets in the decoded text, as ranges of the original.
    fn secret_spans(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        secret_spans(&self.bytes).into_iter().map(|span| self.origins[span.start].start..self.origins[span.end - 1].end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_published_shape_and_verify() {
        let token = TokenSecret::generate(DEFAULT_PREFIX).unwrap();
        let text = token.expose();
        assert_eq!(text.len(), 96);
        assert!(text.starts_with("dt0s16."));
        let (id, digest) = parse(text).unwrap();
        assert_eq!(id, token.id());
        assert_eq!(id.0.len(), 31);
        assert!(digest.matches(&token.digest()));
        assert!(!format!("{token:?}").contains(&text[32..]), "Debug hides the secret");
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let token = TokenSecret::generate(DEFAULT_PREFIX).unwrap();
        let mut text = token.expose().to_string();
        let replacement = if text.as_bytes()[40] == b'A' { "B" } else { "A" };
        text.replace_range(40..41, replacement);
        assert_eq!(parse(&text), Err(Malformed::Checksum));
        assert_eq!(parse("dt0s16.short.secret"), Err(Malformed::Shape));
        assert_eq!(parse(&token.expose().to_lowercase()), Err(Malformed::Shape));
    }

    #[test]
    fn scan_finds_real_tokens_only() {
        let token = TokenSecret::generate("dt0c01").unwrap();
        let fake = format!("dt0s16.{}.{}", "A".repeat(24), "B".repeat(64));
        let text = format!("key: {fake}\nexport T=\"{}\"\n", token.expose());
        assert_eq!(scan(&text), vec![(2, token.id())]);
    }

    #[test]
    fn redact_finds_secrets_percent_encoded_once_and_twice() {
        let cases = [
            ("/nope/dt0s16%2EPUBLIC%2ESECRET", "/nope/dt0s16%2EPUBLIC%2E…"),
            ("/nope/dt0s16%252EPUBLIC%252ESECRET/x", "/nope/dt0s16%252EPUBLIC%252E…/x"),
            ("dt0s16.PUBLIC.SEC%52ET and dt0s16.P.S", "dt0s16.PUBLIC.… and dt0s16.P.…"),
            ("%64t0s16%2ePUBLIC%2e%53ECRET", "%64t0s16%2ePUBLIC%2e…"),
            ("dt0s16.PUBLIC.%2553ECRET", "dt0s16.PUBLIC.…"),
            ("%4dt0s16.PUBLIC.SECRET", "%4dt0s16.PUBLIC.…"),
            ("é%2Edt0s16%2EP%2ESECRET€", "é%2Edt0s16%2EP%2E…€"),
        ];
        for (text, expected) in cases {
            assert_eq!(redact(text), expected, "{text}");
            assert!(!redact(text).contains("SECRET") && !redact(text).contains("ECRET"), "{text}");
        }
        for harmless in ["/v1/auth?permission=a%2Eb", "100%", "%%2E%", "dt0s16%2EPUBLIC%2E", "%E2%82%AC"] {
            assert_eq!(redact(harmless), harmless);
        }
    }

    #[test]
    fn redact_cuts_every_token_shaped_string_to_its_id() {
        let token = TokenSecret::generate(DEFAULT_PREFIX).unwrap();
        let text = format!("unknown variant `{}`, and dt0c01.ABC.xyz9.", token.expose());
        assert_eq!(redact(&text), format!("unknown variant `{}.…`, and dt0c01.ABC.….", token.id()));
        for harmless in ["dt0s16.ABC", "dt0s16..", "dt0s16.ABC.", "dtx0s16.A.B", "x dt0"] {
            assert_eq!(redact(harmless), harmless);
        }
    }
}
