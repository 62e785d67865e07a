//! Splits a text into tokens (nom), reporting what no token can hold: unknown characters,
//! unterminated strings, typographic quotes, non-ASCII spaces and foreign comment styles.
//! Whitespace is dropped; comments are kept beside the tokens for the formatter and for
//! suppressions.

use nom::bytes::complete::{tag, take_till, take_until, take_while, take_while1};
use nom::character::complete::satisfy;
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
    pub span: Span,
}

pub struct Lexed {
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn is_name_char(c: char) -> bool {
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

fn word(input: &str) -> IResult<&str, &str> {
    take_while1(is_name_char)(input)
}

fn line_comment(input: &str) -> IResult<&str, &str> {
    preceded(tag("//"), take_till(|c| c == '\n' || c == '\r')).parse(input)
}

fn doc_placeholder(input: &str) -> IResult<&str, &str> {
    let slot = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | ':' | '_' | '-' | '.');
    delimited(
        tag("<"),
        nom::combinator::recognize(preceded(satisfy(|c| c.is_ascii_alphabetic()), take_while(slot))),
        tag(">"),
    )
    .parse(input)
}

fn block_comment(input: &str) -> IResult<&str, &str> {
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
        self.out.tokens.push(Token { kind, span: self.at..self.at + len });
        self.at += len;
        self.line_taken = true;
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.out.diagnostics.push(diagnostic);
    }

    fn comment(&mut self, len: usize, text: &str) {
        let own_line = !self.line_taken;
        self.out.comments.push(Comment { text: text.trim_end().to_string(), span: self.at..self.at + len, own_line });
        self.at += len;
        self.line_taken = true;
    }

    fn next(&mut self) {
        let rest = self.rest();
        let c = rest.chars().next().expect("lexer only runs on non-empty input");
        match c {
            _ if is_space(c) => {
                let len = rest.find(|c: char| !is_space(c)).unwrap_or(rest.len());
                if rest[..len].contains('\n') {
                    self.line_taken = false;
                }
                self.at += len;
            }
            _ if is_foreign_space(c) => {
                let span = self.at..self.at + c.len_utf8();
                self.report(error::foreign_space(span, c));
                self.at += c.len_utf8();
            }
            '/' if rest.starts_with("//") => {
                let (after, body) = line_comment(rest).expect("starts with //");
                self.comment(rest.len() - after.len(), body);
            }
            '/' if rest.starts_with("/*") => self.block_comment(),
            '-' if rest.starts_with("--") => self.foreign_line_comment(2),
            '#' => self.foreign_line_comment(1),
            ';' => self.push(TokenKind::Semi, 1),
            ',' => self.push(TokenKind::Comma, 1),
            '(' => self.push(TokenKind::LParen, 1),
            ')' => self.push(TokenKind::RParen, 1),
            '=' => self.push(TokenKind::Eq, 1),
            '!' if rest.starts_with("!=") => self.push(TokenKind::NotEq, 2),
            '>' => self.push(TokenKind::Gt, 1),
            '<' => match doc_placeholder(rest) {
                Ok((after, _)) => self.push(TokenKind::DocPlaceholder, rest.len() - after.len()),
                Err(_) => self.push(TokenKind::Lt, 1),
            },
            _ if is_quote(c) => self.string(c),
            _ if is_name_char(c) => {
                let (after, _) = word(rest).expect("starts with a name character");
                self.push(TokenKind::Word, rest.len() - after.len());
            }
            _ => self.unknown(),
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
        let (len, body) = match block_comment(rest) {
            Ok((after, body)) => (rest.len() - after.len(), body),
            Err(_) => (rest.len(), &rest[2..]),
        };
        let replacement: Vec<String> = body.lines().map(|line| format!("// {}", line.trim())).collect();
        let span = self.at..self.at + len;
        self.report(error::foreign_comment(span, "/* */", replacement.join("\n")));
        self.comment(len, body.trim());
    }

    fn foreign_line_comment(&mut self, marker_len: usize) {
        let rest = self.rest();
        let len = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let body = &rest[marker_len..len];
        let span = self.at..self.at + marker_len;
        self.report(error::foreign_comment(span, &rest[..marker_len], "//".to_string()));
        self.comment(len, body);
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
