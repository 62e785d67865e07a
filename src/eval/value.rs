//! Compiled conditions and how they evaluate: three-valued (semantics.md §5), over single or
//! list-valued attributes, `MATCH` patterns with `*` (no regex engine), long `IN` lists as hash
//! lookups, and the typed `global:` keys compared in the value's zone.

use std::ops::Deref;

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use rustc_hash::FxHashSet;

use super::names;
use crate::catalog::{GlobalType, GlobalValue};
use crate::syntax::{Condition, Operator, Placeholder, Segment, unescape};

/// The value of a condition or statement: three-valued, Unknown when the request lacks an
/// attribute it tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

/// An attribute value of a request: one string or a list (semantics.md §2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// One value.
    One(String),
    /// A list: a condition holds when its operator holds for some element (or, negated, for
    /// none).
    Many(Vec<String>),
}

impl AttrValue {
    /// The values, one or many.
    pub fn as_slice(&self) -> &[String] {
        match self {
            AttrValue::One(value) => std::slice::from_ref(value),
            AttrValue::Many(values) => values,
        }
    }
}

impl std::fmt::Display for AttrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrValue::One(value) => write!(f, "{value:?}"),
            AttrValue::Many(values) => write!(f, "{values:?}"),
        }
    }
}

/// A `MATCH` pattern split at its wildcards: `lit0 * lit1 * … * litN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<String>,
}

impl Pattern {
    /// Compiles escaped pattern text (decisions D5): `*` is a wildcard, `\*` a star, `\\` a
    /// backslash.
    pub fn compile(escaped: &str) -> Pattern {
        let mut pieces = vec![String::new()];
        let mut chars = escaped.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => pieces.push(String::new()),
                '\\' => match chars.next() {
                    Some(next @ ('*' | '\\')) => pieces.last_mut().expect("never empty").push(next),
                    Some(other) => {
                        let last = pieces.last_mut().expect("never empty");
                        last.push('\\');
                        last.push(other);
                    }
                    None => pieces.last_mut().expect("never empty").push('\\'),
                },
                _ => pieces.last_mut().expect("never empty").push(c),
            }
        }
        Pattern { pieces }
    }

    /// The literal pieces between the wildcards.
    pub(crate) fn pieces(&self) -> &[String] {
        &self.pieces
    }

    /// Whether the whole value matches; linear in the value for each piece.
    pub fn matches(&self, value: &str) -> bool {
        let (first, rest) = self.pieces.split_first().expect("never empty");
        if !names::starts_with(value, first) {
            return false;
        }
        let mut tail = &value[first.len()..];
        let Some((last, middle)) = rest.split_last() else { return tail.is_empty() };
        for piece in middle {
            match tail.find(piece.as_str()) {
                Some(at) => tail = &tail[at + piece.len()..],
                None => return false,
            }
        }
        names::ends_with(tail, last)
    }
}

/// A value of a compiled condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Pattern(Pattern),
    /// `${global:userId}`, filled per request.
    UserId,
    /// `${global:userGroup}` as a whole list element: the principal's group ids.
    UserGroups,
    Typed(GlobalValue),
    /// Text around `${global:userId}`, filled per request.
    Template(Vec<Segment>),
}

/// From this many values on, a list also keeps its texts in a hash set: below it, comparing
/// each value is as fast as hashing the element.
const HASHED_FROM: usize = 16;

/// The values of a compiled condition, in their order. A long list also keeps its plain texts
/// in a hash set, so `=`, `IN` and `NOT IN` test an element with one lookup instead of one
/// comparison per value: a 100,000-value list against a 6,000-element attribute is 6,000
/// lookups, not 600 million comparisons.
#[derive(Debug, Clone)]
pub struct Values {
    list: Vec<Value>,
    hashed: Option<Box<HashedTexts>>,
    /// Every value is `${global:userGroup}`: the list is empty for a principal in no group.
    only_user_groups: bool,
    /// Every value is plain text.
    texts_only: bool,
    /// Every value is a pattern.
    patterns_only: bool,
}

/// A long list split for lookups: its plain texts, and the values that are not plain text
/// (placeholders), still compared one by one.
#[derive(Debug, Clone)]
struct HashedTexts {
    texts: FxHashSet<String>,
    others: Vec<Value>,
}

impl FromIterator<Value> for Values {
    fn from_iter<I: IntoIterator<Item = Value>>(values: I) -> Values {
        let list: Vec<Value> = values.into_iter().collect();
        let hashed = (list.len() >= HASHED_FROM).then(|| {
            let mut hashed = HashedTexts { texts: FxHashSet::default(), others: Vec::new() };
            for value in &list {
                match value {
                    Value::Text(text) => _ = hashed.texts.insert(text.clone()),
                    other => hashed.others.push(other.clone()),
                }
            }
            Box::new(hashed)
        });
        let only_user_groups = list.iter().all(|v| matches!(v, Value::UserGroups));
        let texts_only = list.iter().all(|v| matches!(v, Value::Text(_)));
        let patterns_only = list.iter().all(|v| matches!(v, Value::Pattern(_)));
        Values { list, hashed, only_user_groups, texts_only, patterns_only }
    }
}

impl Default for Values {
    fn default() -> Values {
        Values::from_iter(std::iter::empty())
    }
}

impl Deref for Values {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        &self.list
    }
}

/// What a condition tests: a request attribute (by interned key) or a `global:` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Attribute(u32),
    Global(GlobalType),
}

/// In declaration order: what a decision reads (subject, operator, test, values) comes first,
/// within a cache line or two of the start, ahead of what explanations read.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct CompiledCondition {
    pub subject: Subject,
    pub operator: Operator,
    /// How an element is compared, worked out from the operator and the values once.
    test: Test,
    pub values: Values,
    /// The condition as it reads after substitution, for residuals and explanations.
    pub source: Condition,
    /// The boundary it was appended from, if any.
    pub boundary: Option<String>,
}

/// How a condition compares an element with its values: the common forms (plain texts,
/// patterns) chosen when the condition is compiled rather than on each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    /// `=`, `IN` and their negations on a short list of plain texts.
    Equals,
    /// `STARTS_WITH` and its negation on plain texts.
    StartsWith,
    /// `MATCH` on patterns.
    Matches,
    /// Placeholders, long lists and the rest: each value by its kind.
    General,
}

/// What a condition needs from the request while it evaluates.
pub struct Context<'q> {
    /// The request's attributes the permission accepts, by key id.
    pub attributes: super::Attributes<'q>,
    /// The environment's id: one element for `global:environmentId`.
    pub environment: Option<&'q String>,
    pub user_id: &'q str,
    pub groups: &'q [String],
    pub time: DateTime<Utc>,
}

impl CompiledCondition {
    /// A condition on its subject, with how it compares chosen from its operator and values.
    pub fn new(source: Condition, boundary: Option<String>, subject: Subject, values: Values) -> CompiledCondition {
        let operator = source.operator;
        let test = match operator.positive() {
            Operator::Eq | Operator::In if values.texts_only && values.hashed.is_none() => Test::Equals,
            Operator::StartsWith if values.texts_only => Test::StartsWith,
            Operator::Match if values.patterns_only => Test::Matches,
            _ => Test::General,
        };
        CompiledCondition { source, boundary, subject, operator, values, test }
    }

    pub fn evaluate(&self, context: &Context<'_>) -> Truth {
        // D14: a list that expanded to nothing (`IN ("${bindParam:empty}")`, a principal in no
        // group) is False for `IN` and `MATCH` and True for `NOT IN`, whatever the request holds.
        if self.values.is_empty() || self.values.only_user_groups && context.groups.is_empty() {
            return if self.operator.is_negative() { Truth::True } else { Truth::False };
        }
        let elements: &[String] = match self.subject {
            Subject::Attribute(key) => match context.attributes.get(key) {
                Some(value) => value.as_slice(),
                None => return Truth::Unknown,
            },
            Subject::Global(GlobalType::Environment) => match context.environment {
                Some(environment) => std::slice::from_ref(environment),
                None => return Truth::Unknown,
            },
            Subject::Global(GlobalType::Groups) => context.groups,
            Subject::Global(_) => return self.temporal(context.time),
        };
        let values = &self.values;
        let holds = match self.test {
            // Plain texts and patterns need nothing of the principal: compared in place.
            Test::Equals => elements
                .iter()
                .any(|element| values.iter().any(|v| matches!(v, Value::Text(t) if names::same(t, element)))),
            Test::StartsWith => elements
                .iter()
                .any(|element| values.iter().any(|v| matches!(v, Value::Text(t) if names::starts_with(element, t)))),
            Test::Matches => elements
                .iter()
                .any(|element| values.iter().any(|v| matches!(v, Value::Pattern(p) if p.matches(element)))),
            Test::General => {
                let positive = self.operator.positive();
                match values.hashed.as_deref() {
                    Some(hashed) if matches!(positive, Operator::Eq | Operator::In) => elements.iter().any(|element| {
                        hashed.texts.contains(element.as_str())
                            || hashed.others.iter().any(|v| satisfies(positive, element, v, context))
                    }),
                    _ => elements.iter().any(|element| values.iter().any(|v| satisfies(positive, element, v, context))),
                }
            }
        };
        if holds != self.operator.is_negative() { Truth::True } else { Truth::False }
    }

    /// The typed time keys: the request's time in the value's zone (week days in UTC, D17).
    fn temporal(&self, now: DateTime<Utc>) -> Truth {
        let compare = |ordering: std::cmp::Ordering| match self.operator {
            Operator::Lt => ordering.is_lt(),
            Operator::Gt => ordering.is_gt(),
            Operator::Eq | Operator::In => ordering.is_eq(),
            Operator::NotEq | Operator::NotIn => !ordering.is_eq(),
            _ => false,
        };
        let negative = self.operator.is_negative();
        let result = if negative {
            // `!=`, `NOT IN`: no value equals.
            self.values.iter().all(|v| compare_one(now, v).is_some_and(&compare))
        } else {
            self.values.iter().any(|v| compare_one(now, v).is_some_and(&compare))
        };
        if result { Truth::True } else { Truth::False }
    }
}

/// The request's time against one typed value: `now.cmp(value)`.
fn compare_one(now: DateTime<Utc>, value: &Value) -> Option<std::cmp::Ordering> {
    let Value::Typed(typed) = value else { return None };
    Some(match *typed {
        GlobalValue::Date(date, zone) => now.with_timezone(&zone).date_naive().cmp(&date),
        // Time comparisons are to the second (D17).
        GlobalValue::DateTime(instant) => now.with_nanosecond(0).unwrap_or(now).cmp(&instant.with_timezone(&Utc)),
        GlobalValue::TimeOfDay(time, zone) => {
            let local = now.with_timezone(&zone).time();
            local.with_nanosecond(0).unwrap_or(local).cmp(&time)
        }
        GlobalValue::WeekDay(day) => weekday_number(now.weekday()).cmp(&weekday_number(day)),
    })
}

fn weekday_number(day: Weekday) -> u32 {
    day.num_days_from_monday()
}

/// The positive form of an operator on one element and one value.
fn satisfies(operator: Operator, element: &str, value: &Value, context: &Context<'_>) -> bool {
    match value {
        Value::Text(text) => compare(operator, element, text),
        Value::Pattern(pattern) => operator == Operator::Match && pattern.matches(element),
        Value::UserId => compare(operator, element, context.user_id),
        Value::UserGroups => context.groups.iter().any(|group| compare(operator, element, group)),
        Value::Typed(_) => false,
        Value::Template(segments) => {
            let escaped = fill_template(segments, context.user_id);
            match operator {
                Operator::Match => Pattern::compile(&escaped).matches(element),
                _ => compare(operator, element, &unescape(&escaped)),
            }
        }
    }
}

/// A template's escaped text for this user: `${global:userId}` filled, other placeholders empty.
pub(crate) fn fill_template(segments: &[Segment], user_id: &str) -> String {
    segments
        .iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.as_str(),
            Segment::Placeholder(Placeholder::UserId) => user_id,
            Segment::Placeholder(_) => "",
        })
        .collect()
}

fn compare(operator: Operator, element: &str, value: &str) -> bool {
    match operator {
        Operator::Eq | Operator::In => names::same(element, value),
        Operator::StartsWith => names::starts_with(element, value),
        Operator::Match => Pattern::compile(value).matches(element),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_values() {
        let p = Pattern::compile("crn-70400-*");
        assert!(p.matches("crn-70400-alpha") && p.matches("crn-70400-") && !p.matches("xcrn-70400-a"));
        let p = Pattern::compile("*-database-*");
        assert!(p.matches("eu-database-1") && p.matches("-database-") && !p.matches("eu-databas-1"));
        assert!(Pattern::compile("a*b*a").matches("aba") && !Pattern::compile("a*b*a").matches("ab"));
        assert!(Pattern::compile("*").matches("") && Pattern::compile("**").matches("x"));
        assert!(Pattern::compile(r"a\*").matches("a*") && !Pattern::compile(r"a\*").matches("ab"));
        assert!(Pattern::compile(r"a\\*").matches(r"a\bc"));
        assert!(!Pattern::compile("ab").matches("a") && !Pattern::compile("aa*aa").matches("aaa"));
    }
}
