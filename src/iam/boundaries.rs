//! What a binding's boundaries leave unrestricted (semantics.md §4.3–5). A boundary whose keys a
//! permission does not accept passes that permission through unchanged, and the copies that a
//! binding's boundaries make of its policy unite: so one boundary that does not apply to a
//! permission lifts, for that permission, the limit every other boundary of the binding sets.

use toml::Spanned;

use super::{Boundary, Policy, rules};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::syntax::Effect;

/// How many permissions a finding names before it counts the rest.
const NAMED: usize = 5;

/// The permissions the policy grants that some boundary of the binding leaves unrestricted: a
/// security warning where that lifts another boundary's limit, a note where no boundary applies.
/// `names` are the boundary references of the binding in warden.toml, `attached` what they name.
pub(super) fn unrestricted(
    policy: &Policy,
    names: &[Spanned<String>],
    attached: &[&Boundary],
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    // Permissions sharing which boundaries restrict them share one finding.
    let mut groups: Vec<(Vec<bool>, Vec<&str>)> = Vec::new();
    for statement in policy.document.statements.iter().filter(|s| s.effect == Effect::Allow) {
        for name in &statement.permissions {
            let Some(permission) = catalog.permission(&name.text) else { continue };
            let restricts: Vec<bool> = attached.iter().map(|b| b.restricts(permission, catalog)).collect();
            if restricts.iter().all(|&r| r) {
                continue;
            }
            match groups.iter_mut().find(|(r, _)| *r == restricts) {
                Some((_, permissions)) if permissions.contains(&&*name.text) => {}
                Some((_, permissions)) => permissions.push(&name.text),
                None => groups.push((restricts, vec![&name.text])),
            }
        }
    }
    groups
        .iter()
        .map(|(restricts, permissions)| {
            let (lifting, limiting): (Vec<usize>, Vec<usize>) = (0..attached.len()).partition(|&i| !restricts[i]);
            match limiting.is_empty() {
                true => no_boundary_applies(names, attached, &lifting, permissions),
                false => limits_lifted(names, attached, &lifting, &limiting, permissions, catalog),
            }
        })
        .collect()
}

fn limits_lifted(
    names: &[Spanned<String>],
    attached: &[&Boundary],
    lifting: &[usize],
    limiting: &[usize],
    permissions: &[&str],
    catalog: &Catalog,
) -> Diagnostic {
    let (it, _) = pronouns(permissions);
    let message = format!(
        "{} {} granted with no restriction: {} {} not apply to {it}, and a binding's boundaries unite, so {} the limit of {}",
        listed(permissions),
        if permissions.len() == 1 { "is" } else { "are" },
        boundaries(attached, lifting),
        if lifting.len() == 1 { "does" } else { "do" },
        if lifting.len() == 1 { "it lifts" } else { "they lift" },
        boundaries(attached, limiting),
    );
    let mut diagnostic = Diagnostic::new(&rules::BOUNDARY_LIFTS_LIMITS, names[lifting[0]].span(), message);
    let subject = match permissions {
        [one] => format!("`{one}` takes"),
        _ => "they take".to_string(),
    };
    for &i in lifting {
        diagnostic =
            diagnostic.with_label(names[i].span(), format!("{subject} none of its keys ({})", keys(attached[i])));
    }
    let first = catalog.permission(permissions[0]).expect("grouped permissions are in the catalog");
    let object = match permissions {
        [one] => format!("`{one}`"),
        _ => "them".to_string(),
    };
    for &i in limiting {
        let restricting: Vec<String> =
            attached[i].conditions_on(first, catalog).map(|c| format!("`{}`", c.key.text)).collect();
        diagnostic = diagnostic
            .with_label(names[i].span(), format!("would restrict {object} by {}", dedup(restricting).join(", ")));
    }
    diagnostic.with_help(format!(
        "each boundary of a binding makes its own copy of the policy's ALLOWs and the copies unite, so a \
         boundary that does not apply to a permission grants it whatever the other boundaries say. To keep the \
         limit of {} on {object}, grant {it} through a separate policy and binding whose boundaries all apply to {it}",
        boundaries(attached, limiting)
    ))
}

fn no_boundary_applies(
    names: &[Spanned<String>],
    attached: &[&Boundary],
    lifting: &[usize],
    permissions: &[&str],
) -> Diagnostic {
    let (it, they) = pronouns(permissions);
    let message = format!(
        "{} {} not apply to {}: this binding grants {it} unrestricted",
        boundaries(attached, lifting),
        if lifting.len() == 1 { "does" } else { "do" },
        listed(permissions),
    );
    let mut diagnostic = Diagnostic::new(&rules::BOUNDARY_DOES_NOT_APPLY, names[lifting[0]].span(), message);
    for &i in &lifting[1..] {
        diagnostic = diagnostic.with_label(names[i].span(), "does not apply either");
    }
    let all_keys: Vec<String> = lifting.iter().map(|&i| keys(attached[i])).collect();
    let object = match permissions {
        [one] => format!("`{one}`"),
        _ => "these permissions".to_string(),
    };
    diagnostic.with_help(format!(
        "a boundary restricts only the permissions that accept its keys ({}) and passes the others through \
         unchanged. To limit {object} as well, bind {it} with a boundary on keys {they} accept{}",
        all_keys.join("; "),
        if permissions.len() == 1 { "s" } else { "" }
    ))
}

/// "it"/"them" and the subject form, for one permission or several.
fn pronouns(permissions: &[&str]) -> (&'static str, &'static str) {
    if permissions.len() == 1 { ("it", "it") } else { ("them", "they") }
}

/// "`a`, `b` and 3 more permissions".
fn listed(permissions: &[&str]) -> String {
    let named: Vec<String> = permissions.iter().take(NAMED).map(|p| format!("`{p}`")).collect();
    match permissions.len() {
        n if n > NAMED => format!("{} and {} more", named.join(", "), n - NAMED),
        _ => match named.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, init)) => format!("{} and {last}", init.join(", ")),
            None => String::new(),
        },
    }
}

/// "boundary `a`" or "boundaries `a` and `b`".
fn boundaries(attached: &[&Boundary], which: &[usize]) -> String {
    let names: Vec<&str> = which.iter().map(|&i| attached[i].name.as_str()).collect();
    match names.as_slice() {
        [one] => format!("boundary `{one}`"),
        _ => format!("boundaries {}", listed(&names)),
    }
}

/// "`k1`, `k2`": a boundary's keys.
fn keys(boundary: &Boundary) -> String {
    boundary.keys().iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
    items
}
