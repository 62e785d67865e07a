use thiserror::Error;

/// Why a diff could not give a proven answer. It never answers "no change" in these cases.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffError {
    /// The search met its limit: the conditions on one permission are too intricate.
    #[error(
        "the conditions on `{permission}` for `{principal}` {place} are too intricate to compare exactly within warden's limits"
    )]
    TooComplex {
        /// The principal's email.
        principal: String,
        /// "at account level" or "in `env`".
        place: String,
        /// The permission.
        permission: String,
    },
    /// The evaluator did not confirm a witness the search found: a defect in warden.
    #[error(
        "internal error: the evaluator does not confirm the {kind} witness for `{principal}` {place} on `{permission}` (please report it)"
    )]
    Unconfirmed {
        /// The principal's email.
        principal: String,
        /// "at account level" or "in `env`".
        place: String,
        /// The permission.
        permission: String,
        /// `gain` or `loss`.
        kind: &'static str,
    },
}

/// The search's own limit was reached (the caller says where).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exhausted;
