//! A reference evaluator written straight from semantics.md: no index, no compilation. For
//! every request it walks every binding of the tenant, substitutes the binding's parameters into
//! the policy's syntax tree, applies the binding's boundaries, and judges every resulting
//! statement with its own three-valued logic and its own `MATCH`. Shared by
//! `tests/engine/differential.rs` and the largest-account bench, which checks the engine's
//! decisions against it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use warden::catalog::Catalog;
use warden::eval::AttrValue;
use warden::iam::{Level, Parameter, Principal, Tenant};
use warden::syntax::{Condition, Effect, Operand, Operator, Placeholder, Segment, StringLit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

/// The decision kinds of semantics §5 (Deny is the explicit one, NoMatch the implicit one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    Deny,
    NoMatch,
    Conditional,
}

/// A statement of the pool (semantics §3): one permission (implied), an effect, conditions
/// whose bind parameters and `${global:levelId}` are already filled in.
pub struct Statement {
    pub effect: Effect,
    pub conditions: Vec<Condition>,
}

/// What conditions are judged against (semantics §2): the request and its principal.
pub struct Facts<'a> {
    pub attributes: &'a BTreeMap<String, AttrValue>,
    pub environment: Option<&'a str>,
    pub user_id: String,
    pub groups: Vec<String>,
    pub time: DateTime<Utc>,
}

impl<'a> Facts<'a> {
    pub fn new(
        tenant: &Tenant,
        principal: Principal,
        environment: Option<&'a str>,
        attributes: &'a BTreeMap<String, AttrValue>,
        time: DateTime<Utc>,
    ) -> Facts<'a> {
        let user_id = tenant.id(principal).to_string();
        // `global:userGroup` compares group *ids* (D14).
        let groups = tenant.groups.iter().filter(|g| g.members.contains(&principal)).map(|g| g.id.clone()).collect();
        Facts { attributes, environment, user_id, groups, time }
    }
}

/// The whole evaluation: the pool of statements on `permission` that reach the principal,
/// then the decision of semantics §5. Request attributes on keys the permission does not
/// accept (D15) never meet a condition: the checker let no such condition into a policy,
/// and boundaries only append keys the permission accepts.
pub fn evaluate(tenant: &Tenant, facts: &Facts<'_>, permission: &str) -> Outcome {
    decide(&pool(tenant, facts, permission), facts)
}

/// Semantics §3: every binding at account level, and at the request's environment level
/// (none for an account-level request, D16), whose groups meet the principal's groups.
pub fn pool(tenant: &Tenant, facts: &Facts<'_>, permission: &str) -> Vec<Statement> {
    let catalog = Catalog::builtin();
    let accepts = |key: &str| catalog.permission(permission).is_some_and(|p| catalog.operators(p, key).is_some());
    let mut pool = Vec::new();
    for binding in &tenant.bindings {
        let level_id = match &binding.level {
            Level::Account => tenant.account.id.as_str(),
            Level::Environment(id) if facts.environment == Some(id.as_str()) => id.as_str(),
            Level::Environment(_) => continue,
        };
        if !binding.groups.iter().any(|&g| facts.groups.contains(&tenant.groups[g].id)) {
            continue;
        }
        // §3.1: parameters first, in the policy and in the boundaries alike.
        let fill = |c: &Condition| substitute(c, &binding.parameters, level_id);
        let boundaries: Vec<Vec<Condition>> =
            binding.boundaries.iter().map(|b| tenant.boundaries[b].conditions.iter().map(fill).collect()).collect();
        for statement in &tenant.policies[&binding.policy].document.statements {
            // §4.1 and §5: one statement per permission; only the requested one takes part.
            for _ in statement.permissions.iter().filter(|p| &*p.text == permission) {
                let own: Vec<Condition> = statement.conditions().iter().map(fill).collect();
                // §4.2, §4.5: DENYs, and everything when no boundary is attached, pass unchanged.
                if statement.effect == Effect::Deny || boundaries.is_empty() {
                    pool.push(Statement { effect: statement.effect, conditions: own });
                    continue;
                }
                // §4.3: each boundary on its own; the copies of all boundaries are united.
                for boundary in &boundaries {
                    // D18: a line applies when the permission accepts its key, whatever the operator.
                    let lines = boundary.iter().filter(|c| accepts(&c.key.text));
                    // §4.4, D18: `=`, `IN`, `startsWith`, `MATCH` lines of one key are
                    // alternatives (one copy each, a cartesian product over keys); `<`, `>`
                    // and the negative operators all apply together.
                    let mut together = own.clone();
                    let mut alternatives: Vec<(&str, Vec<&Condition>)> = Vec::new();
                    for line in lines {
                        if !matches!(
                            line.operator,
                            Operator::Eq | Operator::In | Operator::StartsWith | Operator::Match
                        ) {
                            together.push(line.clone());
                        } else if let Some((_, choices)) = alternatives.iter_mut().find(|(k, _)| *k == &*line.key.text)
                        {
                            choices.push(line);
                        } else {
                            alternatives.push((&line.key.text, vec![line]));
                        }
                    }
                    let mut copies = vec![together];
                    for (_, choices) in &alternatives {
                        copies = copies
                            .iter()
                            .flat_map(|copy| choices.iter().map(move |&c| [copy.clone(), vec![c.clone()]].concat()))
                            .collect();
                    }
                    pool.extend(copies.into_iter().map(|conditions| Statement { effect: Effect::Allow, conditions }));
                }
            }
        }
    }
    pool
}

/// Bind parameters are raw text, while string values keep their escapes (D5): a backslash
/// of a parameter stands for itself; a `*` of a parameter is a wildcard in `MATCH`.
fn escape(raw: &str) -> String {
    raw.replace('\\', "\\\\")
}

/// Semantics §3.1, D14: `${bindParam:…}` and `${global:levelId}` are filled in; a list
/// parameter standing as a whole list element expands into its elements (none for `[]`).
pub fn substitute(condition: &Condition, parameters: &BTreeMap<String, Parameter>, level_id: &str) -> Condition {
    let mut items = Vec::new();
    for value in condition.operand.values() {
        if let [Segment::Placeholder(Placeholder::BindParam(name))] = value.segments.as_slice() {
            if let Some(Parameter::Many(list)) = parameters.get(name) {
                let text = |v: &String| StringLit {
                    segments: warden::smallvec![Segment::Text(escape(v))],
                    span: value.span.clone(),
                };
                items.extend(list.iter().map(text));
                continue;
            }
        }
        let segments = value
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Placeholder(Placeholder::BindParam(name)) => match &parameters[name] {
                    Parameter::One(v) => Segment::Text(escape(v)),
                    Parameter::Many(_) => panic!("a list parameter in a single-value position (refused, D14)"),
                },
                Segment::Placeholder(Placeholder::LevelId) => Segment::Text(level_id.to_string()),
                other => other.clone(),
            })
            .collect();
        items.push(StringLit { segments, span: value.span.clone() });
    }
    Condition { operand: Operand::List { items, span: condition.operand.span() }, ..condition.clone() }
}

/// Semantics §5.
pub fn decide(pool: &[Statement], facts: &Facts<'_>) -> Outcome {
    let truths: Vec<(Effect, Truth)> = pool.iter().map(|s| (s.effect, statement(s, facts))).collect();
    let some = |effect: Effect, truth: Truth| truths.contains(&(effect, truth));
    if some(Effect::Deny, Truth::True) {
        Outcome::Deny // 1. DENY beats ALLOW
    } else if some(Effect::Allow, Truth::True) && !some(Effect::Deny, Truth::Unknown) {
        Outcome::Allow // 2.
    } else if some(Effect::Allow, Truth::True) || some(Effect::Allow, Truth::Unknown) {
        Outcome::Conditional // 3.
    } else {
        Outcome::NoMatch // 4. implicit deny
    }
}

/// True when all conditions are True, False when any is False, otherwise Unknown.
fn statement(statement: &Statement, facts: &Facts<'_>) -> Truth {
    let truths: Vec<Truth> = statement.conditions.iter().map(|c| condition(c, facts)).collect();
    if truths.contains(&Truth::False) {
        Truth::False
    } else if truths.contains(&Truth::Unknown) {
        Truth::Unknown
    } else {
        Truth::True
    }
}

fn negative(operator: Operator) -> bool {
    matches!(operator, Operator::NotEq | Operator::NotIn | Operator::NotStartsWith)
}

fn truth(holds: bool) -> Truth {
    if holds { Truth::True } else { Truth::False }
}

/// A condition's truth. Unknown means the attribute is not in the request (§5), or the
/// environment of an account-level request (D16). Positive operators hold when some element
/// satisfies them, negative ones when no element satisfies the positive form ("Conditions
/// on list-valued attributes").
pub fn condition(condition: &Condition, facts: &Facts<'_>) -> Truth {
    // D14: a list that expanded to no element is False for `IN`/`MATCH` and True for
    // `NOT IN`, whether or not the request carries the attribute.
    if condition.operator.takes_list() && values(condition, facts).is_empty() {
        return truth(negative(condition.operator));
    }
    let elements: Vec<String> = match &*condition.key.text {
        "global:environmentId" => match facts.environment {
            Some(environment) => vec![environment.to_string()],
            None => return Truth::Unknown,
        },
        "global:userGroup" => facts.groups.clone(),
        "global:date" | "global:date-time" | "global:time-of-day" | "global:week-day" => {
            return temporal(condition, facts);
        }
        key => match facts.attributes.get(key) {
            Some(AttrValue::One(value)) => vec![value.clone()],
            Some(AttrValue::Many(values)) => values.clone(),
            None => return Truth::Unknown,
        },
    };
    let values = values(condition, facts);
    let satisfies = |element: &str, value: &str| match condition.operator {
        Operator::Eq | Operator::NotEq | Operator::In | Operator::NotIn => element == literal(value),
        Operator::StartsWith | Operator::NotStartsWith => element.starts_with(&literal(value)),
        Operator::Match => matches(value, element),
        Operator::Lt | Operator::Gt => panic!("`<` and `>` only on the typed global keys"),
    };
    let some = elements.iter().any(|e| values.iter().any(|v| satisfies(e, v)));
    truth(some != negative(condition.operator))
}

/// The operand's values for this request, still escaped: `${global:userId}` is the
/// principal's id, `${global:userGroup}` (a whole element) one value per group id.
fn values(condition: &Condition, facts: &Facts<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for value in condition.operand.values() {
        if let [Segment::Placeholder(Placeholder::UserGroup)] = value.segments.as_slice() {
            out.extend(facts.groups.iter().map(|g| escape(g)));
            continue;
        }
        let text = value.segments.iter().map(|segment| match segment {
            Segment::Text(text) => text.clone(),
            Segment::Placeholder(Placeholder::UserId) => escape(&facts.user_id),
            Segment::Placeholder(other) => panic!("`{other}` left after substitution"),
        });
        out.push(text.collect());
    }
    out
}

/// What an escaped value means outside `MATCH` (D5): `\\` is a backslash, `\*` keeps its
/// backslash.
fn literal(escaped: &str) -> String {
    let (mut out, mut chars) = (String::new(), escaped.chars().peekable());
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' && chars.peek() == Some(&'\\') {
            chars.next();
        }
    }
    out
}

/// `MATCH` (language §3, D5): the whole value matches; `*` is any run of characters (also
/// empty), `\*` a star, `\\` a backslash. A textbook dynamic programme over the value.
fn matches(pattern: &str, value: &str) -> bool {
    let value: Vec<char> = value.chars().collect();
    // reach[i]: the pattern read so far can match value[..i].
    let mut reach = vec![false; value.len() + 1];
    reach[0] = true;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '*' => {
                for i in 1..=value.len() {
                    reach[i] |= reach[i - 1];
                }
                continue;
            }
            '\\' => chars.next().unwrap_or('\\'),
            c => c,
        };
        reach = (0..=value.len()).map(|i| i > 0 && reach[i - 1] && value[i - 1] == literal).collect();
    }
    reach[value.len()]
}

/// The typed global keys ("Global conditions"): the request's time converted to the value's
/// zone, compared to the second; week days in UTC, in any case (D17).
fn temporal(condition: &Condition, facts: &Facts<'_>) -> Truth {
    let now = facts.time;
    let key = &*condition.key.text;
    let compare = |value: &str| -> Ordering {
        let parse = |text: String| DateTime::parse_from_rfc3339(&text).expect("checked value");
        match key {
            "global:week-day" => {
                let days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
                let day = days.iter().position(|d| d.eq_ignore_ascii_case(value)).expect("a week day");
                (now.weekday().num_days_from_monday() as usize).cmp(&day)
            }
            "global:date-time" => now.timestamp().cmp(&parse(value.to_string()).timestamp()),
            "global:date" => {
                let (date, zone) = value.split_at(10);
                let midnight = parse(format!("{date}T00:00:00{zone}"));
                now.with_timezone(midnight.offset()).date_naive().cmp(&midnight.date_naive())
            }
            _ => {
                let at = value.find(['Z', '+', '-']).expect("a zone");
                let (time, zone) = value.split_at(at);
                let seconds = if time.len() == 5 { ":00" } else { "" };
                let instant = parse(format!("2000-01-01T{time}{seconds}{zone}"));
                now.with_timezone(instant.offset()).time().with_nanosecond(0).unwrap().cmp(&instant.time())
            }
        }
    };
    let orderings: Vec<Ordering> = values(condition, facts).iter().map(|v| compare(&literal(v))).collect();
    truth(match condition.operator {
        Operator::Lt => orderings.iter().any(|o| o.is_lt()),
        Operator::Gt => orderings.iter().any(|o| o.is_gt()),
        Operator::Eq | Operator::In => orderings.iter().any(|o| o.is_eq()),
        Operator::NotEq | Operator::NotIn => !orderings.iter().any(|o| o.is_eq()),
        other => panic!("`{other}` on `{key}`"),
    })
}
