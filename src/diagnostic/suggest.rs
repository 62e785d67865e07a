//! Did-you-mean: the name a person most likely meant when they wrote one that does not exist,
//! and the one wording of a suggestion. Distances are optimal string alignment (`strsim`):
//! Levenshtein's edits plus the transposition of two neighbours, so `raed` is one edit from
//! `read`, as a person sees it.

use strsim::osa_distance;

/// Names longer than this are no typos of a known name; skipping them keeps a lookup linear in
/// the number of candidates, however long a name a request or a file holds.
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
/// Where `name` or a candidate is over 256 bytes, no typo, the difference in length stands for
/// the distance (it is the least the distance can be), so a huge name costs no comparison.
pub fn nearest_few<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>, count: usize) -> Vec<&'c str> {
    if count == 0 {
        return Vec::new();
    }
    let name = name.to_lowercase();
    let length = name.chars().count();
    let part = name.rsplit(':').next().filter(|part| part.len() >= 3);
    // The `count` best so far, in order: (misses the part, distance), then the name.
    let mut best: Vec<((bool, usize), &str)> = Vec::with_capacity(count + 1);
    for candidate in candidates {
        if best.iter().any(|(_, kept)| *kept == candidate) {
            continue;
        }
        let lowered = candidate.to_lowercase();
        let misses_part = part.is_none_or(|part| !lowered.contains(part));
        let floor = lowered.chars().count().abs_diff(length);
        // What the floor alone puts behind the worst kept cannot be among the best.
        if best.len() == count && best.last().is_some_and(|(worst, _)| (misses_part, floor) > *worst) {
            continue;
        }
        let distance = match name.len().max(lowered.len()) > LONGEST {
            true => floor,
            false => osa_distance(&name, &lowered),
        };
        let ranked = ((misses_part, distance), candidate);
        best.insert(best.partition_point(|kept| *kept < ranked), ranked);
        best.truncate(count);
    }
    best.into_iter().map(|(_, candidate)| candidate).collect()
}

/// The expected field nearest to the unknown one that serde's error message names ("unknown
/// field `nme`, expected one of `id`, `name`, `platform_tokens`", the wording of
/// `serde::de::Error::unknown_field` that the TOML and JSON readers keep), when near enough.
pub fn nearest_expected_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let expected = expected.strip_prefix(", expected ")?;
    nearest(field, expected.split('`').skip(1).step_by(2))
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

    /// The pruned ranking keeps what ranking every candidate and taking the first few gives.
    #[test]
    fn nearest_few_keeps_the_order_of_a_full_ranking() {
        let full = |name: &str, keys: &[&'static str], count: usize| {
            let name = name.to_lowercase();
            let part = name.rsplit(':').next().filter(|part| part.len() >= 3);
            let mut ranked: Vec<((bool, usize), &str)> = keys
                .iter()
                .map(|key| ((part.is_none_or(|part| !key.contains(part)), osa_distance(&name, key)), *key))
                .collect();
            ranked.sort_unstable();
            ranked.dedup();
            ranked.into_iter().take(count).map(|(_, key)| key).collect::<Vec<_>>()
        };
        let keys = ["b:xy", "a:xy", "a:xy", "c:namespace", "abc", "ab", "storage:k8s.namespace.name", "x", ""];
        for name in ["a:x", "q:namespace", "storage:namespace", "abcdefgh", "", "xy"] {
            for count in 0..=keys.len() {
                assert_eq!(nearest_few(name, keys, count), full(name, &keys, count), "{name:?}, {count}");
            }
        }
        assert_eq!(nearest_few("a:x", keys, 3), ["a:xy", "ab", "abc"]);
    }

    /// A 100 KB name against a catalog of 100,000 names: no typo, and no quadratic comparison
    /// per candidate on the way (the test would not end); the few nearest are ranked by length.
    #[test]
    fn huge_names_are_no_typos_and_cost_no_comparison() {
        let catalog: Vec<String> = (0..100_000).map(|i| format!("service{i}:things:read")).collect();
        let names = || catalog.iter().map(String::as_str);
        let huge = "service1:things:read".repeat(5_000);
        assert_eq!(nearest(&huge, names()), None);
        assert_eq!(nearest_few(&huge, names(), 2), ["service10000:things:read", "service10001:things:read"]);
        let long_candidate = "x".repeat(100_000);
        let with_long = || names().chain([long_candidate.as_str()]);
        assert_eq!(nearest_few("service7:thing:read", with_long(), 1), ["service7:things:read"]);
        // No part in common: the candidate of the nearest length comes first.
        let other_huge = "y".repeat(99_999);
        assert!(nearest_few(&other_huge, with_long(), 1) == [long_candidate.as_str()], "the long one first");
        assert_eq!(nearest("service7:thing:read", names()), Some("service7:things:read"));
    }

    #[test]
    fn an_unknown_field_suggests_the_expected_one_nearest() {
        let message = "unknown field `nme`, expected one of `id`, `name`, `platform_tokens` at line 2";
        assert_eq!(nearest_expected_field(message), Some("name"));
        assert_eq!(nearest_expected_field("unknown field `emial`, expected `id` or `email`"), Some("email"));
        assert_eq!(nearest_expected_field("unknown field `token_limt`, expected `token_limit`"), Some("token_limit"));
        assert_eq!(nearest_expected_field("unknown field `colour`, expected `id` or `email`"), None);
        assert_eq!(nearest_expected_field("unknown field `x`, there are no fields"), None);
        assert_eq!(nearest_expected_field("invalid type: string \"a\", expected `name`"), None);
    }

    #[test]
    fn a_suggestion_is_worded_one_way() {
        assert_eq!(did_you_mean("prod"), "did you mean `prod`?");
        assert_eq!(did_you_mean_clause(nearest("prdo", ["prod", "dev"])), "; did you mean `prod`?");
        assert_eq!(did_you_mean_clause(nearest("staging", ["prod", "dev"])), "");
    }
}
