//! Statements and conditions compared by what they say: key, operator and the set of values,
//! permissions as a set, without spans or order. Borrowed from the tree: no copies of text.

use crate::syntax::{Condition, Effect, Operator, Segment, Statement};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ConditionShape<'a> {
    pub key: &'a str,
    pub operator: Operator,
    pub values: Vec<&'a [Segment]>,
}

pub(super) fn condition_shape(condition: &Condition) -> ConditionShape<'_> {
    let mut values: Vec<&[Segment]> = condition.operand.values().iter().map(|v| v.segments.as_slice()).collect();
    values.sort_unstable();
    values.dedup();
    ConditionShape { key: &condition.key.text, operator: condition.operator, values }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct StatementShape<'a> {
    pub effect: Effect,
    pub permissions: Vec<&'a str>,
    pub conditions: Vec<ConditionShape<'a>>,
}

pub(super) fn statement_shape(statement: &Statement) -> StatementShape<'_> {
    let mut permissions: Vec<&str> = statement.permissions.iter().map(|p| p.text.as_str()).collect();
    permissions.sort_unstable();
    permissions.dedup();
    let mut conditions: Vec<ConditionShape<'_>> = statement.conditions().iter().map(condition_shape).collect();
    conditions.sort_unstable();
    conditions.dedup();
    StatementShape { effect: statement.effect, permissions, conditions }
}
