//! The syntax tree of policies and boundaries. Every node carries its byte span.

use std::fmt;
use std::ops::Range;

use smallvec::SmallVec;

/// Byte offsets into the parsed text.
pub type Span = Range<usize>;

/// What a statement does when it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants the permissions.
    Allow,
    /// Refuses them, whatever any ALLOW says.
    Deny,
}

impl Effect {
    /// `ALLOW` or `DENY`.
    pub fn keyword(self) -> &'static str {
        match self {
            Effect::Allow => "ALLOW",
            Effect::Deny => "DENY",
        }
    }
}

/// The operators of language.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `<`: the typed `global:` time keys only.
    Lt,
    /// `>`: the typed `global:` time keys only.
    Gt,
    /// `IN (…)`
    In,
    /// `NOT IN (…)`
    NotIn,
    /// `startsWith`
    StartsWith,
    /// `NOT startsWith`
    NotStartsWith,
    /// `MATCH (…)`: patterns with `*` wildcards.
    Match,
}

impl Operator {
    /// Every operator, in the order of language.md §3.
    pub const ALL: [Operator; 9] = [
        Operator::Eq,
        Operator::NotEq,
        Operator::Lt,
        Operator::Gt,
        Operator::In,
        Operator::NotIn,
        Operator::StartsWith,
        Operator::NotStartsWith,
        Operator::Match,
    ];

    /// The canonical spelling, as the formatter prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::NotEq => "!=",
            Operator::Lt => "<",
            Operator::Gt => ">",
            Operator::In => "IN",
            Operator::NotIn => "NOT IN",
            Operator::StartsWith => "startsWith",
            Operator::NotStartsWith => "NOT startsWith",
            Operator::Match => "MATCH",
        }
    }

    /// The operator with this canonical spelling.
    pub fn parse(text: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|op| op.as_str() == text)
    }

    /// Whether the operator takes a parenthesised list.
    pub fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::NotIn | Operator::Match)
    }

    /// `!=`, `NOT IN`, `NOT startsWith`: true when no element satisfies the positive form.
    pub fn is_negative(self) -> bool {
        matches!(self, Operator::NotEq | Operator::NotIn | Operator::NotStartsWith)
    }

    /// The positive form of a negative operator (and the operator itself otherwise).
    pub fn positive(self) -> Operator {
        match self {
            Operator::NotEq => Operator::Eq,
            Operator::NotIn => Operator::In,
            Operator::NotStartsWith => Operator::StartsWith,
            other => other,
        }
    }

    /// The operator that takes the other operand shape (`=` ↔ `IN`, `!=` ↔ `NOT IN`).
    pub fn other_shape(self) -> Option<Operator> {
        match self {
            Operator::Eq => Some(Operator::In),
            Operator::In => Some(Operator::Eq),
            Operator::NotEq => Some(Operator::NotIn),
            Operator::NotIn => Some(Operator::NotEq),
            _ => None,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A placeholder inside a string (language.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    /// `${bindParam:name}`: filled in from the binding.
    BindParam(String),
    /// `${global:userId}`: the principal's id.
    UserId,
    /// `${global:userGroup}`: the principal's group ids.
    UserGroup,
    /// `${global:levelId}`: the binding's account or environment id.
    LevelId,
}

impl Placeholder {
    /// Whether the placeholder stands for a list of values (decisions D14); bind parameters
    /// may be lists too, which only a binding knows.
    pub fn is_list(&self) -> bool {
        matches!(self, Placeholder::UserGroup)
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placeholder::BindParam(name) => write!(f, "${{bindParam:{name}}}"),
            Placeholder::UserId => f.write_str("${global:userId}"),
            Placeholder::UserGroup => f.write_str("${global:userGroup}"),
            Placeholder::LevelId => f.write_str("${global:levelId}"),
        }
    }
}

/// A piece of a string value: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Text, with the escapes that matter to `MATCH` kept (see [`StringLit`]).
    Text(String),
    /// A placeholder.
    Placeholder(Placeholder),
}

/// A string literal, decoded: quotes and quote escapes resolved, placeholders split out. The
/// text keeps the two escapes that matter to `MATCH` (decisions D5): a backslash is held as
/// `\\` and an escaped star as `\*`, so `"a\\*"` (backslash, then wildcard) and `"a\*"` (a
/// literal star) stay apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StringLit {
    /// The pieces, in order (`""` is one empty text). Most strings are one piece of text, held
    /// inline.
    pub segments: SmallVec<[Segment; 1]>,
    /// From the opening quote to the closing one.
    pub span: Span,
}

impl StringLit {
    /// The escaped text when the string holds no placeholder: what `MATCH` reads as a pattern.
    pub fn pattern(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [] => Some(""),
            [Segment::Text(text)] => Some(text),
            _ => None,
        }
    }

    /// The value other operators compare with, when the string holds no placeholder: `\\` is
    /// one backslash, and `\*` keeps its backslash (D5).
    pub fn literal(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.pattern().map(unescape)
    }

    /// The placeholders in it, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Placeholder(p) => Some(p),
            Segment::Text(_) => None,
        })
    }

    /// The text with placeholders written as in the source (`${bindParam:x}`), escapes kept.
    pub fn display_value(&self) -> String {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Text(text) => text.clone(),
                Segment::Placeholder(p) => p.to_string(),
            })
            .collect()
    }
}

/// Turns escaped text into the value it stands for outside `MATCH`: `\\` → `\`; `\*` stays.
pub fn unescape(text: &str) -> std::borrow::Cow<'_, str> {
    // A byte search finds most texts free of any backslash faster than a search for two.
    if !text.contains('\\') || !text.contains("\\\\") {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.replace("\\\\", "\\"))
}

/// What an operator compares with: one string, or a parenthesised list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    /// `"value"`
    Single(StringLit),
    /// `("a", "b")`
    List {
        /// The elements.
        items: Vec<StringLit>,
        /// From `(` to `)`.
        span: Span,
    },
}

impl Operand {
    /// Where it is written.
    pub fn span(&self) -> Span {
        match self {
            Operand::Single(s) => s.span.clone(),
            Operand::List { span, .. } => span.clone(),
        }
    }

    /// Its strings: the one, or the list's.
    pub fn values(&self) -> &[StringLit] {
        match self {
            Operand::Single(s) => std::slice::from_ref(s),
            Operand::List { items, .. } => items,
        }
    }
}

/// A name with its span: a permission or a condition key. The text is shared: a policy names
/// the same permissions and keys again and again, and each copy costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    /// The name as written.
    pub text: std::sync::Arc<str>,
    /// Where it is written.
    pub span: Span,
}

/// `key operator operand`: one condition of a `WHERE` or of a boundary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    /// The condition key.
    pub key: Name,
    /// The operator.
    pub operator: Operator,
    /// Where the operator is written.
    pub operator_span: Span,
    /// What it compares with.
    pub operand: Operand,
    /// From the key to the end of the operand.
    pub span: Span,
}

/// A statement's `WHERE` clause.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Where {
    /// `WHERE null`: the same as no WHERE.
    Null(Span),
    /// Conditions joined by `AND`.
    Conditions(Vec<Condition>),
}

/// `ALLOW|DENY permissions [WHERE conditions];`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statement {
    /// ALLOW or DENY.
    pub effect: Effect,
    /// Where the effect keyword is written.
    pub effect_span: Span,
    /// The permissions, in the order written. Most statements name one, held inline.
    pub permissions: SmallVec<[Name; 1]>,
    /// The `WHERE` clause, if written.
    pub where_clause: Option<Where>,
    /// From the effect keyword to the `;` (or the last token when the `;` is missing).
    pub span: Span,
    /// Whether its `;` was written.
    pub terminated: bool,
}

impl Statement {
    /// Its conditions; none without a `WHERE` or with `WHERE null`.
    pub fn conditions(&self) -> &[Condition] {
        match &self.where_clause {
            Some(Where::Conditions(conditions)) => conditions,
            _ => &[],
        }
    }
}

/// A comment: `//`, or a foreign one (`/* */`, `#`, `--`) that the lexer reports and keeps;
/// `own_line` when nothing but whitespace precedes it on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The text after `//` (or after a foreign marker such as `/*` or `#`).
    pub text: String,
    /// Where `text` begins in the source: an offset in `text` plus this is an offset there.
    pub text_start: usize,
    /// From the marker to the end of the line; a `/* */` comment through its `*/` (or to the end
    /// of the text when it is never closed).
    pub span: Span,
    /// Whether it stands alone on its line.
    pub own_line: bool,
}

/// A keyword as written, with the spelling the formatter prints (for the case lint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordUse {
    /// Where it is written.
    pub span: Span,
    /// How the formatter spells it.
    pub canonical: &'static str,
}

/// What a text is: a policy (statements) or a boundary (conditions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Statements (`.policy`).
    Policy,
    /// Conditions only (`.boundary`).
    Boundary,
}

/// A parsed text: its statements (policy) or conditions (boundary), comments, and keyword uses.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// A policy's statements.
    pub statements: Vec<Statement>,
    /// Boundary conditions, each with whether its `;` was written.
    pub boundary: Vec<(Condition, bool)>,
    /// Every comment, in order.
    pub comments: Vec<Comment>,
    /// Every keyword, as written.
    pub keywords: Vec<KeywordUse>,
}
