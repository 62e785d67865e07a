//! Splits a text into tokens (nom, over bytes), reporting what no token can hold: unknown
//! characters, unterminated strings, typographic quotes, non-ASCII spaces and foreign comment
//! styles. Whitespace is dropped; comments are kept beside the tokens for the formatter and for
//! suppressions.
//!
//! Names, punctuation, spaces and plain quotes are ASCII, so the pieces are recognised byte by
//! byte (nom's parsers over `&[u8]` are plain loops); only other characters are decoded.

use nom::bytes::complete::{tag, take_till, take_until, take_while, take_while1};
use nom::character::complete::satisfy;
use nom::combinator::recognize;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::ast::{Comment, Span};
use super::error;
use crate::diagnostic::{Diagnostic, Fix};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A run of name characters: keywords, permissions, keys (and anything mistaken for them).
    Word,
    /// A quoted string, closing quote included.
    Str,
    Semi,
    Comma,
    LParen,
    RParen,
    Eq,
    NotEq,
    Lt,
    Gt,
    /// `<permissions>`, `<conditions>`: a template slot copied from documentation.
    DocPlaceholder,
    /// Text the lexer could not read; already reported.
    Bad,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// For a word: the keyword it is, worked out once here for the parser's many looks.
    pub keyword: Option<Keyword>,
    pub span: Span,
}

/// The words of the language that are no names (language.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Allow,
    Deny,
    Where,
    And,
    In,
    Not,
    Match,
    StartsWith,
    Null,
}

impl Keyword {
    /// The spelling the formatter prints.
    pub fn spelling(self) -> &'static str {
        match self {
            Keyword::Allow => "ALLOW",
            Keyword::Deny => "DENY",
            Keyword::Where => "WHERE",
            Keyword::And => "AND",
            Keyword::In => "IN",
            Keyword::Not => "NOT",
            Keyword::Match => "MATCH",
            Keyword::StartsWith => "startsWith",
            Keyword::Null => "null",
        }
    }

    /// The keyword a word is, in any case.
    pub fn of(word: &str) -> Option<Keyword> {
        // Most words are permissions and keys, too long for a keyword or of another first
        // letter: the length and the first letter pick the one keyword a word can be.
        let keyword = match (word.len(), word.as_bytes().first()? | 0x20) {
            (5, b'a') => Keyword::Allow,
            (4, b'd') => Keyword::Deny,
            (5, b'w') => Keyword::Where,
            (3, b'a') => Keyword::And,
            (2, b'i') => Keyword::In,
            (3, b'n') => Keyword::Not,
            (5, b'm') => Keyword::Match,
            (10, b's') => Keyword::StartsWith,
            (4, b'n') => Keyword::Null,
            _ => return None,
        };
        keyword.spelling().eq_ignore_ascii_case(word).then_some(keyword)
    }
}

pub struct Lexed {
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

pub const fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-' | '*')
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Spaces that web pages put where a plain space belongs (decisions D6).
fn is_foreign_space(c: char) -> bool {
    matches!(c, '\u{a0}' | '\u{2000}'..='\u{200b}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

fn is_typographic_double(c: char) -> bool {
    matches!(c, '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{2033}')
}

fn is_typographic_single(c: char) -> bool {
    matches!(c, '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}')
}

fn is_quote(c: char) -> bool {
    c == '"' || c == '\'' || is_typographic_double(c) || is_typographic_single(c)
}

/// A name character as a byte: names are ASCII, so a byte that is one is a whole character.
fn is_name_byte(b: u8) -> bool {
    // A table: names are most of a policy's bytes, and one load beats five range tests a byte.
    const NAME_BYTES: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = is_name_char(b as u8 as char);
            b += 1;
        }
        table
    };
    NAME_BYTES[usize::from(b)]
}

/// How many bytes a piece that `parser` recognises at the start of `input` takes.
fn taken<'a>(
    input: &'a [u8],
    mut parser: impl Parser<&'a [u8], Output = &'a [u8], Error = nom::error::Error<&'a [u8]>>,
) -> Option<usize> {
    parser.parse(input).ok().map(|(rest, _)| input.len() - rest.len())
}

fn spaces(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).parse(input)
}

fn word(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_name_byte).parse(input)
}

fn line_comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    preceded(tag("//"), take_till(|b| b == b'\n' || b == b'\r')).parse(input)
}

/// `<permissions>`, `<conditions>`: a letter, then letters, digits, spaces and `:_-.`, closed by
/// `>`.
fn doc_placeholder(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let slot = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b' ' | b':' | b'_' | b'-' | b'.');
    delimited(tag("<"), recognize(preceded(satisfy(|c| c.is_ascii_alphabetic()), take_while(slot))), tag(">"))
        .parse(input)
}

fn block_comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    delimited(tag("/*"), take_until("*/"), tag("*/")).parse(input)
}

struct Lexer<'a> {
    text: &'a str,
    at: usize,
    out: Lexed,
    /// Whether a token or comment stands on the current line already (for `own_line`).
    line_taken: bool,
}

/// Tokenizes `text`. Never fails: whatever cannot be read becomes a [`TokenKind::Bad`] token
/// and a diagnostic.
pub fn lex(text: &str) -> Lexed {
    let mut lexer = Lexer {
        text,
        at: if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 },
        out: Lexed { tokens: Vec::with_capacity(text.len() / 4), comments: Vec::new(), diagnostics: Vec::new() },
        line_taken: false,
    };
    while lexer.at < text.len() {
        lexer.next();
    }
    lexer.out
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn push(&mut self, kind: TokenKind, len: usize) {
        let span = self.at..self.at + len;
        let keyword = if kind == TokenKind::Word { Keyword::of(&self.text[span.clone()]) } else { None };
        self.out.tokens.push(Token { kind, keyword, span });
        self.at += len;
        self.line_taken = true;
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.out.diagnostics.push(diagnostic);
    }

    /// A comment of `len` bytes whose text follows a marker of `marker_len` bytes.
    fn comment(&mut self, len: usize, marker_len: usize, text: &str) {
        let own_line = !self.line_taken;
        self.out.comments.push(Comment {
            text: text.trim_end().to_string(),
            text_start: self.at + marker_len,
            span: self.at..self.at + len,
            own_line,
        });
        self.at += len;
        self.line_taken = true;
    }

    fn next(&mut self) {
        let bytes = &self.text.as_bytes()[self.at..];
        // Names, punctuation, spaces and plain quotes are ASCII: one byte each, no decoding.
        match bytes[0] {
            b' ' | b'\t' | b'\r' | b'\n' => {
                let len = taken(bytes, spaces).expect("starts with a space");
                if bytes[..len].contains(&b'\n') {
                    self.line_taken = false;
                }
                self.at += len;
            }
            b'/' if bytes.starts_with(b"//") => {
                let len = taken(bytes, line_comment).expect("starts with //");
                let body = &self.text[self.at + 2..self.at + len];
                self.comment(len, 2, body);
            }
            b'/' if bytes.starts_with(b"/*") => self.block_comment(),
            b'-' if bytes.starts_with(b"--") => self.foreign_line_comment(2),
            b'#' => self.foreign_line_comment(1),
            b';' => self.push(TokenKind::Semi, 1),
            b',' => self.push(TokenKind::Comma, 1),
            b'(' => self.push(TokenKind::LParen, 1),
            b')' => self.push(TokenKind::RParen, 1),
            b'=' => self.push(TokenKind::Eq, 1),
            b'!' if bytes.starts_with(b"!=") => self.push(TokenKind::NotEq, 2),
            b'>' => self.push(TokenKind::Gt, 1),
            b'<' => match taken(bytes, doc_placeholder) {
                Some(len) => self.push(TokenKind::DocPlaceholder, len),
                None => self.push(TokenKind::Lt, 1),
            },
            b'"' => self.string('"'),
            b'\'' => self.string('\''),
            b if is_name_byte(b) => self.push(TokenKind::Word, taken(bytes, word).expect("starts with a name byte")),
            b if b.is_ascii() => self.unknown(),
            _ => {
                let c = self.rest().chars().next().expect("lexer only runs on non-empty input");
                if is_foreign_space(c) {
                    let span = self.at..self.at + c.len_utf8();
                    self.report(error::foreign_space(span, c));
                    self.at += c.len_utf8();
                } else if is_quote(c) {
                    self.string(c);
                } else {
                    self.unknown();
                }
            }
        }
    }

    /// A quoted string up to its closing quote, or up to the line break when unterminated.
    fn string(&mut self, open: char) {
        let rest = self.rest();
        let closes = |c: char| match open {
            '"' => c == '"',
            '\'' => c == '\'',
            _ if is_typographic_double(open) => c == '"' || is_typographic_double(c),
            _ => c == '\'' || is_typographic_single(c),
        };
        let end = match open {
            // A plain quote closes at the same byte; bytes of other characters are never ASCII.
            '"' | '\'' => {
                let (bytes, quote) = (rest.as_bytes(), open as u8);
                let mut i = 1;
                loop {
                    match bytes.get(i) {
                        Some(b'\\') if matches!(bytes.get(i + 1), Some(b'\n' | b'\r') | None) => break None,
                        Some(b'\\') => i += 2,
                        Some(b'\n' | b'\r') | None => break None,
                        Some(&b) if b == quote => break Some((i, open)),
                        Some(_) => i += 1,
                    }
                }
            }
            _ => {
                let mut chars = rest.char_indices().skip(1);
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, '\n' | '\r')) | None = chars.next() {
                                break;
                            }
                        }
                        '\n' | '\r' => break,
                        _ if closes(c) => {
                            end = Some((i, c));
                            break;
                        }
                        _ => {}
                    }
                }
                end
            }
        };
        let Some((close_at, close)) = end else {
            let len = rest.find(['\n', '\r']).unwrap_or(rest.len());
            let span = self.at..self.at + len;
            self.report(error::unterminated_string(span, open));
            self.push(TokenKind::Bad, len);
            return;
        };
        let len = close_at + close.len_utf8();
        let typographic: Vec<(usize, char)> =
            [(0, open), (close_at, close)].into_iter().filter(|&(_, c)| c != '"' && c != '\'').collect();
        if !typographic.is_empty() {
            let body = &rest[open.len_utf8()..close_at];
            self.report(error::typographic_quotes(self.at, &typographic, body));
        }
        self.push(TokenKind::Str, len);
    }

    fn block_comment(&mut self) {
        let rest = self.rest();
        // `/*` and `*/` are ASCII: the body between them lies on character boundaries.
        let (len, body) = match block_comment(rest.as_bytes()) {
            Ok((after, body)) => (rest.len() - after.len(), &rest[2..2 + body.len()]),
            Err(_) => (rest.len(), &rest[2..]),
        };
        let replacement: Vec<String> = body.lines().map(|line| format!("// {}", line.trim())).collect();
        let span = self.at..self.at + len;
        self.report(error::foreign_comment(span, "/* */", replacement.join("\n")));
        self.comment(len, 2, body);
    }

    fn foreign_line_comment(&mut self, marker_len: usize) {
        let rest = self.rest();
        let len = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let body = &rest[marker_len..len];
        let span = self.at..self.at + marker_len;
        self.report(error::foreign_comment(span, &rest[..marker_len], "//".to_string()));
        self.comment(len, marker_len, body);
    }

    /// A run of characters no token starts with, reported once.
    fn unknown(&mut self) {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(_, c)| {
                is_space(c)
                    || is_foreign_space(c)
                    || is_name_char(c)
                    || is_quote(c)
                    || matches!(c, ';' | ',' | '(' | ')' | '=' | '<' | '>' | '/' | '#')
            })
            .map_or(rest.len(), |(i, _)| i.max(rest.chars().next().map_or(1, char::len_utf8)));
        let span = self.at..self.at + len;
        self.report(error::unexpected_characters(span, &rest[..len]));
        self.push(TokenKind::Bad, len);
    }
}

/// A fix that replaces each typographic quote of a string with `"` (or `'` when the body
/// holds a `"`).
pub(super) fn requote_fix(start: usize, quotes: &[(usize, char)], body: &str) -> Fix {
    let straight = if body.contains('"') { "'" } else { "\"" };
    Fix {
        description: format!("replace the typographic quotes with `{straight}`"),
        edits: quotes
            .iter()
            .map(|&(offset, c)| crate::diagnostic::Edit {
                span: start + offset..start + offset + c.len_utf8(),
                replacement: straight.to_string(),
            })
            .collect(),
    }
}
