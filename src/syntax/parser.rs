//! Builds the syntax tree from tokens. Every error is reported and the parser resumes at the
//! next `;` or statement keyword (decisions D4), so one run reports every error of a text.

use smallvec::{SmallVec, smallvec};

use super::ast::*;
use super::error::rules;
use super::lexer::{Keyword, Token, TokenKind, is_name_char, lex};
use crate::diagnostic::{Diagnostic, Fix};

/// The platform's limit on the statements of a policy (language.md §1).
pub const MAX_STATEMENTS: usize = 100;
/// The platform's limit on the conditions of a boundary (language.md §6).
pub const MAX_BOUNDARY_CONDITIONS: usize = 10;

/// A parsed text and the syntax diagnostics found on the way.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The syntax tree; a statement that did not parse is left out.
    pub document: Document,
    /// The lexer's and the parser's findings.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether a finding makes the text invalid.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses a policy or a boundary text. Never fails and never panics: problems are diagnostics.
pub fn parse(text: &str, kind: Kind) -> Parsed {
    parse_sharing(text, kind, &mut Names::default())
}

/// The well-formed names that parsed texts hold, each once with the kind it was judged as:
/// texts parsed with the same `Names` share their permissions and keys (see [`Name`]), and a
/// name seen in an earlier text is not judged again as that kind.
#[derive(Debug, Default)]
pub struct Names(rustc_hash::FxHashMap<std::sync::Arc<str>, NameKind>);

/// [`parse`], sharing the names of the texts parsed before with `names` (a tenant's files name
/// the same few hundred permissions and keys again and again).
pub fn parse_sharing(text: &str, kind: Kind, names: &mut Names) -> Parsed {
    let lexed = lex(text);
    let tokens = lexed.tokens.len();
    let mut parser = Parser {
        text,
        names,
        tokens: lexed.tokens,
        at: 0,
        diagnostics: lexed.diagnostics,
        document: Document {
            comments: lexed.comments,
            // About one statement per ten tokens and one keyword per four: grown once, not often.
            statements: Vec::with_capacity(tokens / 10),
            keywords: Vec::with_capacity(tokens / 4),
            ..Document::default()
        },
    };
    match kind {
        Kind::Policy => parser.policy(),
        Kind::Boundary => parser.boundary(),
    }
    let mut diagnostics = parser.diagnostics;
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    Parsed { document: parser.document, diagnostics }
}

/// Why a statement or condition could not be read; the error is already reported.
struct Abandoned;

type Step<T> = Result<T, Abandoned>;

struct Parser<'a> {
    text: &'a str,
    /// Every distinct name once (see [`Name`]).
    names: &'a mut Names,
    tokens: Vec<Token>,
    at: usize,
    diagnostics: Vec<Diagnostic>,
    document: Document,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn slice(&self, token: &Token) -> &'a str {
        &self.text[token.span.clone()]
    }

    fn keyword(&self, token: &Token) -> Option<(Keyword, &'static str)> {
        token.keyword.map(|keyword| (keyword, keyword.spelling()))
    }

    fn peek_keyword(&self) -> Option<Keyword> {
        self.peek().and_then(|t| self.keyword(t)).map(|(k, _)| k)
    }

    /// Consumes a keyword token, recording how it was written for the case lint.
    fn take_keyword(&mut self) -> Span {
        let token = self.tokens[self.at].clone();
        let (_, canonical) = self.keyword(&token).expect("caller checked for a keyword");
        self.document.keywords.push(KeywordUse { span: token.span.clone(), canonical });
        self.at += 1;
        token.span
    }

    fn end_of_previous(&self) -> usize {
        self.at.checked_sub(1).map_or(0, |i| self.tokens[i].span.end)
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Describes the token at the cursor for "expected …, found …" messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the text".to_string(),
            Some(token) => match token.kind {
                TokenKind::Str => "a string".to_string(),
                _ => format!("`{}`", self.slice(token)),
            },
        }
    }

    /// Reports "expected X" at the cursor (or at the end of the text) and gives up on the
    /// construct; a token the lexer already reported is not reported twice.
    fn expected<T>(&mut self, what: &str, help: &'static str) -> Step<T> {
        let span = match self.peek() {
            Some(token) if token.kind == TokenKind::Bad => return Err(Abandoned),
            Some(token) if token.kind == TokenKind::DocPlaceholder => {
                let span = token.span.clone();
                let slot = self.slice(&self.tokens[self.at]);
                self.report(
                    Diagnostic::new(
                        &rules::TEMPLATE_SLOT,
                        span,
                        format!("`{slot}` is a template slot from documentation"),
                    )
                    .with_help(format!("replace `{slot}` with {what}")),
                );
                return Err(Abandoned);
            }
            Some(token) => token.span.clone(),
            None => self.end_of_previous()..self.end_of_previous(),
        };
        let message = format!("expected {what}, found {}", self.found());
        self.report(Diagnostic::new(&rules::UNEXPECTED_TOKEN, span, message).with_help(help));
        Err(Abandoned)
    }

    /// Whether the token begins a statement: `ALLOW`/`DENY`, or one glued to a permission.
    fn starts_statement(&self, token: &Token) -> bool {
        matches!(self.keyword(token), Some((Keyword::Allow | Keyword::Deny, _)))
            || (token.kind == TokenKind::Word && glued_effect(self.slice(token)).is_some())
    }

    /// Skips to just after the next `;`, or to the next statement keyword (D4).
    fn recover(&mut self, skip_first: bool) {
        if skip_first {
            self.at += 1;
        }
        while let Some(token) = self.peek() {
            if token.kind == TokenKind::Semi {
                self.at += 1;
                return;
            }
            if self.starts_statement(token) {
                return;
            }
            self.at += 1;
        }
    }

    fn policy(&mut self) {
        while let Some(token) = self.peek().cloned() {
            if token.kind == TokenKind::Semi {
                self.stray_semicolon(token.span);
                continue;
            }
            let start = self.at;
            match self.statement() {
                Ok(statement) => {
                    if self.document.statements.len() == MAX_STATEMENTS {
                        self.report(
                            Diagnostic::new(
                                &rules::TOO_MANY_STATEMENTS,
                                statement.span.clone(),
                                format!(
                                    "a policy holds at most {MAX_STATEMENTS} statements; this is statement {}",
                                    MAX_STATEMENTS + 1
                                ),
                            )
                            .with_help("split the statements into several policies and bind each of them"),
                        );
                    }
                    self.document.statements.push(statement);
                }
                Err(Abandoned) => self.recover(self.at == start),
            }
        }
    }

    fn stray_semicolon(&mut self, span: Span) {
        self.report(
            Diagnostic::new(&rules::UNEXPECTED_TOKEN, span.clone(), "unexpected `;` with no statement before it")
                .with_help("remove the extra `;`")
                .with_fix(Fix::replace("remove the `;`", span, "")),
        );
        self.at += 1;
    }

    fn statement(&mut self) -> Step<Statement> {
        let token = self.peek().cloned().expect("called with tokens left");
        let word = self.slice(&token);
        let (effect, effect_span, glued_permission) = match self.keyword(&token) {
            Some((Keyword::Allow, _)) => (Effect::Allow, self.take_keyword(), None),
            Some((Keyword::Deny, _)) => (Effect::Deny, self.take_keyword(), None),
            _ if token.kind == TokenKind::Word && glued_effect(word).is_some() => {
                let (effect, split) = glued_effect(word).expect("checked");
                let effect_span = token.span.start..token.span.start + split;
                self.report(
                    Diagnostic::new(
                        &rules::GLUED_KEYWORD,
                        token.span.clone(),
                        format!("missing space between `{}` and `{}`", &word[..split], &word[split..]),
                    )
                    .with_help("a keyword ends at a space, a comment or punctuation")
                    .with_fix(Fix::insert("insert a space", effect_span.end, " ")),
                );
                self.document.keywords.push(KeywordUse { span: effect_span.clone(), canonical: effect.keyword() });
                self.at += 1;
                let permission = self.name(effect_span.end..token.span.end, NameKind::Permission)?;
                (effect, effect_span, Some(permission))
            }
            Some((Keyword::Where, _)) => {
                return self.expected(
                    "`ALLOW` or `DENY` to start a statement",
                    "this is a condition without its statement; write `ALLOW <permission> WHERE …`",
                );
            }
            _ if token.kind == TokenKind::Str && self.quoted_statement(&token) => return Err(Abandoned),
            _ => {
                return self.expected(
                    "`ALLOW` or `DENY` to start a statement",
                    "every statement starts with `ALLOW` or `DENY`",
                );
            }
        };
        let mut permissions = SmallVec::new();
        match glued_permission {
            Some(permission) => permissions.push(permission),
            None => permissions.push(self.permission(effect.keyword())?),
        }
        while self.peek().is_some_and(|t| t.kind == TokenKind::Comma) {
            self.at += 1;
            permissions.push(self.permission("`,`")?);
        }
        let where_clause = match self.peek_keyword() {
            Some(Keyword::Where) => {
                self.take_keyword();
                Some(self.where_clause()?)
            }
            _ => None,
        };
        let terminated = self.terminator(Kind::Policy, "`,`, `WHERE` or `;`")?;
        Ok(Statement {
            effect,
            effect_span: effect_span.clone(),
            permissions,
            where_clause,
            span: effect_span.start..self.end_of_previous(),
            terminated,
        })
    }

    /// A string at the start of a statement that holds a statement: the quotes are the error.
    fn quoted_statement(&mut self, token: &Token) -> bool {
        let raw = self.slice(token);
        let inner = raw.get(1..raw.len() - 1).unwrap_or("");
        let first = inner.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
        if !(first.eq_ignore_ascii_case("allow") || first.eq_ignore_ascii_case("deny")) {
            return false;
        }
        let span = token.span.clone();
        let close = span.end - raw.chars().next_back().map_or(1, char::len_utf8);
        self.report(
            Diagnostic::new(&rules::QUOTED_STATEMENT, span.clone(), "the whole statement is inside quotes")
                .with_help("a policy holds statements, not strings; remove the quotes")
                .with_fix(Fix {
                    description: "remove the quotes".to_string(),
                    edits: vec![
                        crate::diagnostic::Edit { span: span.start..span.start + 1, replacement: String::new() },
                        crate::diagnostic::Edit { span: close..span.end, replacement: String::new() },
                    ],
                }),
        );
        true
    }

    /// After a statement or a boundary condition: `;`, the end of the text (a warning), or the
    /// start of the next one (an error with a fix).
    fn terminator(&mut self, kind: Kind, what: &str) -> Step<bool> {
        let end = self.end_of_previous();
        match self.peek().cloned() {
            Some(token) if token.kind == TokenKind::Semi => {
                self.at += 1;
                Ok(true)
            }
            None => {
                let last = self.tokens[self.at - 1].span.clone();
                let what = if kind == Kind::Policy { "statement" } else { "condition" };
                self.report(
                    Diagnostic::new(
                        &rules::MISSING_FINAL_SEMICOLON,
                        last,
                        format!("the last {what} has no closing `;`"),
                    )
                    .with_help(format!("end every {what} with `;`"))
                    .with_fix(Fix::insert("insert `;`", end, ";")),
                );
                Ok(false)
            }
            Some(token) if self.starts_next(kind, &token) => {
                let previous = self.tokens[self.at - 1].clone();
                let diagnostic = Diagnostic::new(
                    &rules::MISSING_SEMICOLON,
                    previous.span.clone(),
                    format!("missing `;` before `{}`", self.slice(&token)),
                )
                .with_label(token.span.clone(), "the next one starts here");
                let previous_text = self.slice(&previous);
                let what = if kind == Kind::Policy { "statement" } else { "condition" };
                // `"default_;"`: the `;` slipped inside the quotes.
                let close = previous_text.char_indices().next_back().map_or(0, |(i, _)| i);
                let diagnostic = if previous.kind == TokenKind::Str && previous_text[..close].ends_with(';') {
                    let quote = &previous_text[close..];
                    let semicolon = previous.span.start + close - 1;
                    diagnostic
                        .with_help(format!("the `;` inside {previous_text} belongs after the closing quote"))
                        .with_fix(Fix::replace("move the `;` out of the quotes", semicolon..end, format!("{quote};")))
                } else {
                    diagnostic.with_help(format!("end every {what} with `;`")).with_fix(Fix::insert(
                        "insert `;`",
                        end,
                        ";",
                    ))
                };
                self.report(diagnostic);
                Ok(false)
            }
            Some(_) if self.peek_keyword() == Some(Keyword::And) && kind == Kind::Boundary => {
                let span = self.peek().expect("checked").span.clone();
                self.report(
                    Diagnostic::new(
                        &rules::UNEXPECTED_TOKEN,
                        span.clone(),
                        "boundary conditions are separated by `;`, not `AND`",
                    )
                    .with_help("a boundary lists one condition per `;`; all of them apply")
                    .with_fix(Fix::replace("replace `AND` with `;`", span, ";")),
                );
                Err(Abandoned)
            }
            Some(_) => self.expected(what, "end every statement with `;`"),
        }
    }

    fn starts_next(&self, kind: Kind, token: &Token) -> bool {
        match kind {
            Kind::Policy => self.starts_statement(token),
            Kind::Boundary => token.kind == TokenKind::Word && self.keyword(token).is_none(),
        }
    }

    fn permission(&mut self, after: &str) -> Step<Name> {
        match self.peek().cloned() {
            Some(token) if token.kind == TokenKind::Word && self.keyword(&token).is_none() => {
                self.at += 1;
                self.name(token.span, NameKind::Permission)
            }
            _ => self.expected(&format!("a permission after {after}"), "a permission looks like `storage:logs:read`"),
        }
    }

    fn where_clause(&mut self) -> Step<Where> {
        if self.peek_keyword() == Some(Keyword::Null) {
            return Ok(Where::Null(self.take_keyword()));
        }
        let mut conditions = vec![self.condition()?];
        while self.peek_keyword() == Some(Keyword::And) {
            self.take_keyword();
            conditions.push(self.condition()?);
        }
        Ok(Where::Conditions(conditions))
    }

    fn condition(&mut self) -> Step<Condition> {
        let key = match self.peek().cloned() {
            Some(token) if token.kind == TokenKind::Word && self.keyword(&token).is_none() => {
                self.at += 1;
                self.name(token.span, NameKind::Key)?
            }
            _ => {
                return self
                    .expected("a condition key", "a condition looks like `storage:k8s.cluster.name = \"prod\"`");
            }
        };
        let (operator, operator_span) = self.operator(&key)?;
        let operand = self.operand(operator)?;
        let span = key.span.start..operand.span().end;
        Ok(Condition { key, operator, operator_span, operand, span })
    }

    /// A permission or a condition key: no wildcards, the right number of well-formed parts.
    fn name(&mut self, span: Span, kind: NameKind) -> Step<Name> {
        let text = &self.text[span.clone()];
        // A name seen before as this kind was well-formed then; a permission written where a
        // key stands is judged (and refused) as a key.
        if let Some((shared, _)) = self.names.0.get_key_value(text).filter(|&(_, &seen)| seen == kind) {
            return Ok(Name { text: shared.clone(), span });
        }
        if text.as_bytes().contains(&b'*') {
            self.report(
                Diagnostic::new(
                    &rules::WILDCARD,
                    span,
                    format!("wildcards are not supported in {}s: `{text}`", kind.what()),
                )
                .with_help(kind.wildcard_help()),
            );
            return Err(Abandoned);
        }
        if !kind.shaped(text) {
            self.report(
                Diagnostic::new(&rules::MALFORMED_NAME, span, format!("`{text}` is not a {}", kind.what()))
                    .with_help(kind.shape_help(text)),
            );
            return Err(Abandoned);
        }
        let shared: std::sync::Arc<str> = text.into();
        self.names.0.insert(shared.clone(), kind);
        Ok(Name { text: shared, span })
    }

    fn operator(&mut self, key: &Name) -> Step<(Operator, Span)> {
        let Some(token) = self.peek().cloned() else {
            return self.expected(&format!("an operator after `{}`", key.text), OPERATORS_HELP);
        };
        let single = match token.kind {
            TokenKind::Eq => Some(Operator::Eq),
            TokenKind::NotEq => Some(Operator::NotEq),
            TokenKind::Lt => Some(Operator::Lt),
            TokenKind::Gt => Some(Operator::Gt),
            _ => None,
        };
        if let Some(operator) = single {
            self.at += 1;
            return Ok((operator, token.span));
        }
        match self.keyword(&token).map(|(k, _)| k) {
            Some(Keyword::In) => Ok((Operator::In, self.take_keyword())),
            Some(Keyword::Match) => Ok((Operator::Match, self.take_keyword())),
            Some(Keyword::StartsWith) => Ok((Operator::StartsWith, self.take_keyword())),
            Some(Keyword::Not) => {
                let start = self.take_keyword().start;
                match self.peek_keyword() {
                    Some(Keyword::In) => Ok((Operator::NotIn, start..self.take_keyword().end)),
                    Some(Keyword::StartsWith) => Ok((Operator::NotStartsWith, start..self.take_keyword().end)),
                    _ => self.expected("`IN` or `startsWith` after `NOT`", OPERATORS_HELP),
                }
            }
            _ => self.expected(&format!("an operator after `{}`", key.text), OPERATORS_HELP),
        }
    }

    fn operand(&mut self, operator: Operator) -> Step<Operand> {
        match self.peek().cloned() {
            Some(token) if token.kind == TokenKind::Str => {
                self.at += 1;
                Ok(Operand::Single(self.string(token.span)?))
            }
            Some(token) if token.kind == TokenKind::LParen => {
                self.at += 1;
                let mut items = Vec::new();
                if self.peek().is_some_and(|t| t.kind == TokenKind::RParen) {
                    let span = token.span.start..self.tokens[self.at].span.end;
                    self.report(
                        Diagnostic::new(&rules::EMPTY_LIST, span, "empty value list `()`")
                            .with_help("give at least one quoted value: `(\"a\", \"b\")`"),
                    );
                    self.at += 1;
                    return Err(Abandoned);
                }
                loop {
                    match self.peek().cloned() {
                        Some(item) if item.kind == TokenKind::Str => {
                            self.at += 1;
                            items.push(self.string(item.span)?);
                        }
                        _ => return self.unquoted_value("a quoted value in the list"),
                    }
                    match self.peek().map(|t| t.kind) {
                        Some(TokenKind::Comma) => self.at += 1,
                        Some(TokenKind::RParen) => {
                            self.at += 1;
                            break;
                        }
                        _ => {
                            return self.expected(
                                "`,` or `)` in the value list",
                                "separate values with `,` and close the list with `)`",
                            );
                        }
                    }
                }
                Ok(Operand::List { items, span: token.span.start..self.end_of_previous() })
            }
            _ => {
                let what =
                    if operator.takes_list() { "a value list such as `(\"a\", \"b\")`" } else { "a quoted value" };
                self.unquoted_value(what)
            }
        }
    }

    /// A value written without quotes gets a fix that adds them.
    fn unquoted_value<T>(&mut self, what: &str) -> Step<T> {
        match self.peek().cloned() {
            Some(token) if token.kind == TokenKind::Word && self.keyword(&token).is_none() => {
                let word = self.slice(&token);
                self.report(
                    Diagnostic::new(
                        &rules::UNEXPECTED_TOKEN,
                        token.span.clone(),
                        format!("expected {what}, found `{word}` without quotes"),
                    )
                    .with_help("every value is a string: put it in double quotes")
                    .with_fix(Fix::replace("quote the value", token.span, format!("\"{word}\""))),
                );
                Err(Abandoned)
            }
            _ => self.expected(what, "values are quoted strings, such as `\"prod\"`"),
        }
    }

    /// Decodes a string token: escapes (D5) and placeholders.
    fn string(&mut self, span: Span) -> Step<StringLit> {
        let raw = &self.text[span.clone()];
        let open = raw.chars().next().map_or(1, char::len_utf8);
        let close = raw.chars().next_back().map_or(1, char::len_utf8);
        let body_start = span.start + open;
        let body = &raw[open..raw.len() - close];
        // Most values are plain text: no escape, no placeholder.
        if !body.bytes().any(|byte| matches!(byte, b'\\' | b'$')) {
            return Ok(StringLit { segments: smallvec![Segment::Text(body.to_string())], span });
        }
        let mut segments = SmallVec::new();
        let mut text = String::with_capacity(body.len());
        let mut ok = true;
        let mut rest = body.char_indices().peekable();
        while let Some((i, c)) = rest.next() {
            match c {
                '\\' => {
                    match rest.next() {
                        Some((_, e @ ('"' | '\''))) => text.push(e),
                        // Kept escaped: `MATCH` tells a backslash from an escaped star (D5).
                        Some((_, '\\')) => text.push_str("\\\\"),
                        Some((_, '*')) => text.push_str("\\*"),
                        other => {
                            let end = other.map_or(body.len(), |(j, e)| j + e.len_utf8());
                            let sequence = &body[i..end];
                            self.report(
                            Diagnostic::new(&rules::INVALID_ESCAPE, body_start + i..body_start + end, format!("unknown escape `{sequence}`"))
                                .with_help("strings know `\\\\` (backslash), `\\\"`, `\\'` and `\\*` (a literal star in `MATCH`)"),
                        );
                            ok = false;
                        }
                    }
                }
                '$' if body[i..].starts_with("${") => {
                    let Some(len) = body[i..].find('}') else {
                        self.report(
                            Diagnostic::new(
                                &rules::INVALID_PLACEHOLDER,
                                body_start + i..body_start + body.len(),
                                "unclosed placeholder `${`",
                            )
                            .with_help("close the placeholder with `}`, as in `${bindParam:team}`"),
                        );
                        ok = false;
                        break;
                    };
                    let inner = &body[i + 2..i + len];
                    match placeholder(inner) {
                        Some(p) => {
                            if !text.is_empty() {
                                segments.push(Segment::Text(std::mem::take(&mut text)));
                            }
                            segments.push(Segment::Placeholder(p));
                        }
                        None => {
                            self.report(
                                Diagnostic::new(
                                    &rules::INVALID_PLACEHOLDER,
                                    body_start + i..body_start + i + len + 1,
                                    format!("unknown placeholder `${{{inner}}}`"),
                                )
                                .with_help("placeholders are `${bindParam:NAME}`, `${global:userId}`, `${global:userGroup}` and `${global:levelId}`"),
                            );
                            ok = false;
                        }
                    }
                    while rest.peek().is_some_and(|&(j, _)| j <= i + len) {
                        rest.next();
                    }
                }
                _ => text.push(c),
            }
        }
        if !text.is_empty() || segments.is_empty() {
            segments.push(Segment::Text(text));
        }
        if ok { Ok(StringLit { segments, span }) } else { Err(Abandoned) }
    }

    fn boundary(&mut self) {
        while let Some(token) = self.peek().cloned() {
            if token.kind == TokenKind::Semi {
                self.stray_semicolon(token.span);
                continue;
            }
            let start = self.at;
            if self.starts_statement(&token) {
                let word = self.slice(&token).to_string();
                self.report(
                    Diagnostic::new(&rules::UNEXPECTED_TOKEN, token.span.clone(), format!("a boundary holds conditions only, found `{word}`"))
                        .with_help("a boundary is a list of conditions such as `storage:k8s.namespace.name IN (\"dev\");`; statements belong in a policy"),
                );
                self.recover(true);
                continue;
            }
            let parsed = self.condition().and_then(|condition| {
                let terminated = self.terminator(Kind::Boundary, "`;` after the condition")?;
                Ok((condition, terminated))
            });
            match parsed {
                Ok((condition, terminated)) => {
                    if self.document.boundary.len() == MAX_BOUNDARY_CONDITIONS {
                        self.report(
                            Diagnostic::new(
                                &rules::TOO_MANY_CONDITIONS,
                                condition.span.clone(),
                                format!("a boundary holds at most {MAX_BOUNDARY_CONDITIONS} conditions; this is condition {}", MAX_BOUNDARY_CONDITIONS + 1),
                            )
                            .with_help("split the conditions into several boundaries and attach each to the binding"),
                        );
                    }
                    self.document.boundary.push((condition, terminated));
                }
                Err(Abandoned) => self.recover(self.at == start),
            }
        }
    }
}

const OPERATORS_HELP: &str =
    "the operators are `=`, `!=`, `<`, `>`, `IN`, `NOT IN`, `startsWith`, `NOT startsWith` and `MATCH`";

/// The two kinds of names (language.md §2). Case is left to the catalog check, which can say
/// which spelling it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameKind {
    /// `service:resource:action`
    Permission,
    /// `namespace:attribute`
    Key,
}

impl NameKind {
    fn what(self) -> &'static str {
        match self {
            NameKind::Permission => "permission",
            NameKind::Key => "condition key",
        }
    }

    fn wildcard_help(self) -> &'static str {
        match self {
            NameKind::Permission => "list every permission you mean, separated by `,`",
            NameKind::Key => "name the key in full; to match values by pattern use `MATCH`",
        }
    }

    fn shape_help(self, text: &str) -> &'static str {
        match self {
            NameKind::Permission => {
                "a permission has three parts, `service:resource:action`, such as `storage:logs:read`"
            }
            NameKind::Key if text.split(':').count() == 3 => {
                "this looks like a permission; a condition key has two parts, `namespace:attribute`"
            }
            NameKind::Key => "a condition key has two parts, `namespace:attribute`, such as `storage:k8s.cluster.name`",
        }
    }

    fn shaped(self, text: &str) -> bool {
        let alnum = |b: u8| b.is_ascii_alphanumeric();
        let service = |p: &[u8]| part_is(p, alnum, |b| alnum(b) || b == b'-');
        let dotted =
            |first: fn(u8) -> bool, p: &[u8]| part_is(p, first, |b| alnum(b) || matches!(b, b'.' | b'_' | b'-'));
        let mut parts = text.as_bytes().split(|&b| b == b':');
        let (first, second, third, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
        match (self, first, second, third, rest) {
            (NameKind::Permission, Some(s), Some(resource), Some(action), None) => {
                service(s) && dotted(|b| b.is_ascii_alphanumeric(), resource) && service(action)
            }
            (NameKind::Key, Some(namespace), Some(attribute), None, None) => {
                service(namespace) && dotted(|b| b.is_ascii_alphanumeric() || b == b'_', attribute)
            }
            _ => false,
        }
    }
}

/// Names are ASCII (the lexer's name characters are), so bytes can be judged one by one.
fn part_is(part: &[u8], first: impl Fn(u8) -> bool, rest: impl Fn(u8) -> bool) -> bool {
    part.split_first().is_some_and(|(&head, tail)| first(head) && tail.iter().all(|&b| rest(b)))
}

/// `ALLOWapp-engine:apps:run`: an upper-case `ALLOW`/`DENY` run into a lower-case permission
/// (decisions D3). `allowlist:x:y` is not split: there the case shows it is one word.
fn glued_effect(word: &str) -> Option<(Effect, usize)> {
    [(Effect::Allow, "ALLOW"), (Effect::Deny, "DENY")].into_iter().find_map(|(effect, keyword)| {
        let rest = word.strip_prefix(keyword)?;
        let first = rest.chars().next()?;
        let shaped = (first.is_ascii_lowercase() || first.is_ascii_digit())
            && rest.split(':').count() == 3
            && rest.chars().all(is_name_char);
        shaped.then_some((effect, keyword.len()))
    })
}

fn placeholder(inner: &str) -> Option<Placeholder> {
    match inner {
        "global:userId" => Some(Placeholder::UserId),
        "global:userGroup" => Some(Placeholder::UserGroup),
        "global:levelId" => Some(Placeholder::LevelId),
        _ => {
            let name = inner.strip_prefix("bindParam:")?;
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            valid.then(|| Placeholder::BindParam(name.to_string()))
        }
    }
}
