//! Did-you-mean: the name a person most likely meant when they wrote one that does not exist,
//! and the one wording of a suggestion. Distances are optimal string alignment (`strsim`):
//! Levenshtein's edits plus the transposition of two neighbours, so `raed` is one edit from
//! `read`, as a person sees it.

use strsim::osa_distance;

/// Names longer than this are no typos of a known name; skipping them keeps a lookup linear.
const LONGEST: usize = 256;

/// The candidate nearest to `name` (ignoring case), when near enough to be a likely typo: at
/// most one edit in four characters, and never more than four.
pub fn nearest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    if name.len() > LONGEST {
        return None;
    }
    let length = name.chars().count();
    let limit = (length / 4).clamp(1, 4);
    let name = name.to_lowercase();
    candidates
        .into_iter()
        // The distance is at least the difference in length: skip what cannot be near.
        .filter(|candidate| candidate.chars().count().abs_diff(length) <= limit)
        .map(|candidate| (osa_distance(&name, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// The `count` candidates nearest to `name`, nearest first: the names a person most likely meant
/// when none is near enough for [`nearest`] to call it a typo. Candidates holding the last part
/// of `name` (`namespace` of `storage:namespace`) come first, then by distance, then by name.
pub fn nearest_few<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>, count: usize) -> Vec<&'c str> {
    let name = name.to_lowercase();
    let part = name.rsplit(':').next().filter(|part| part.len() >= 3);
    let rank = |candidate: &str| {
        let candidate = candidate.to_lowercase();
        (part.is_none_or(|part| !candidate.contains(part)), osa_distance(&name, &candidate))
    };
    let mut ranked: Vec<((bool, usize), &str)> =
        candidates.into_iter().map(|candidate| (rank(candidate), candidate)).collect();
    ranked.sort_unstable();
    ranked.dedup_by_key(|(_, candidate)| *candidate);
    ranked.into_iter().take(count).map(|(_, candidate)| candidate).collect()
}

/// "did you mean `storage:logs:read`?": how every suggestion is worded, in a help or at the end
/// of a message.
pub fn did_you_mean(suggestion: &str) -> String {
    format!("did you mean `{suggestion}`?")
}

/// "; did you mean `…`?", or nothing without a suggestion: the end of a one-line message about
/// an unknown name.
pub fn did_you_mean_clause(suggestion: Option<&str>) -> String {
    suggestion.map(|suggestion| format!("; {}", did_you_mean(suggestion))).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_ignores_strangers() {
        let names = ["settings:objects:read", "storage:logs:read"];
        assert_eq!(nearest("settings:obects:read", names), Some("settings:objects:read"));
        assert_eq!(nearest("Storage:Logs:Read", names), Some("storage:logs:read"));
        assert_eq!(nearest("vault:secrets:read", names), None);
    }

    #[test]
    fn a_transposition_is_one_edit() {
        // Four characters allow one edit: Levenshtein counts two for a swap, OSA one.
        assert_eq!(nearest("raed", ["read", "write"]), Some("read"));
        assert_eq!(nearest("dev", ["prod", "staging"]), None);
    }

    #[test]
    fn nearest_few_puts_names_holding_the_last_part_first() {
        let keys = ["storage:host.name", "storage:k8s.namespace.name", "storage:log.source", "storage:bucket-name"];
        assert_eq!(nearest_few("storage:namespace", keys, 2), ["storage:k8s.namespace.name", "storage:host.name"]);
        assert_eq!(nearest_few("x", keys, 9).len(), 4);
    }

    #[test]
    fn a_suggestion_is_worded_one_way() {
        assert_eq!(did_you_mean("prod"), "did you mean `prod`?");
        assert_eq!(did_you_mean_clause(nearest("prdo", ["prod", "dev"])), "; did you mean `prod`?");
        assert_eq!(did_you_mean_clause(nearest("staging", ["prod", "dev"])), "");
    }
}
