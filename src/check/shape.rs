//! Statements and conditions compared by what they say: key, operator and the set of values,
//! permissions as a set, without spans or order. Borrowed from the tree: no copies of text.

use crate::syntax::{Condition, Effect, Operator, Segment, Statement};

/// A sorted set of items; most statements name one permission and most conditions one value,
/// which then need no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Set<T> {
    One(T),
    More(Vec<T>),
}

impl<T: Ord> Set<T> {
    fn of(items: impl ExactSizeIterator<Item = T>) -> Set<T> {
        let mut items = items.peekable();
        if items.len() == 1 {
            return Set::One(items.next().expect("one item"));
        }
        let mut all: Vec<T> = items.collect();
        all.sort_unstable();
        all.dedup();
        Set::More(all)
    }

    pub fn contains(&self, item: &T) -> bool {
        match self {
            Set::One(one) => one == item,
            Set::More(all) => all.binary_search(item).is_ok(),
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            Set::One(one) => std::slice::from_ref(one).iter(),
            Set::More(all) => all.iter(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ConditionShape<'a> {
    pub key: &'a str,
    pub operator: Operator,
    pub values: Set<&'a [Segment]>,
}

pub(super) fn condition_shape(condition: &Condition) -> ConditionShape<'_> {
    let values = Set::of(condition.operand.values().iter().map(|v| v.segments.as_slice()));
    ConditionShape { key: &condition.key.text, operator: condition.operator, values }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct StatementShape<'a> {
    pub effect: Effect,
    pub permissions: Set<&'a str>,
    /// `None`: no conditions.
    pub conditions: Option<Set<ConditionShape<'a>>>,
}

impl<'a> StatementShape<'a> {
    pub fn conditions(&self) -> std::slice::Iter<'_, ConditionShape<'a>> {
        self.conditions.as_ref().map_or([].iter(), Set::iter)
    }

    pub fn has_condition(&self, condition: &ConditionShape<'a>) -> bool {
        self.conditions.as_ref().is_some_and(|all| all.contains(condition))
    }
}

pub(super) fn statement_shape(statement: &Statement) -> StatementShape<'_> {
    let permissions = Set::of(statement.permissions.iter().map(|p| &*p.text));
    let conditions = statement.conditions();
    let conditions = (!conditions.is_empty()).then(|| Set::of(conditions.iter().map(condition_shape)));
    StatementShape { effect: statement.effect, permissions, conditions }
}
