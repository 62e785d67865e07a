//! Conditions compared by meaning of their text: key, operator and the set of values, without
//! spans or list order.

use crate::syntax::{Condition, Operator};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ConditionShape {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

pub(super) fn condition_shape(condition: &Condition) -> ConditionShape {
    let mut values: Vec<String> = condition.operand.values().iter().map(|v| v.display_value()).collect();
    values.sort();
    values.dedup();
    ConditionShape { key: condition.key.text.clone(), operator: condition.operator, values }
}
