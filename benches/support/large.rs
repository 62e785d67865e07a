//! The platform's largest account, generated (the same bytes on every run, from a fixed seed):
//! 200 policies of 100 statements, 5,000 groups, 10,000 users each in 5 groups, 30,000
//! group–policy bindings (one group, one policy drawn at random each), of which 10 % carry bind
//! parameters and 5 % boundaries (as drawn: within a few tenths of a percent), a fifth at
//! environment level.
//!
//! - Statements use only catalog vocabulary: a permission (a few popular ones carry most
//!   statements), 0–2 conditions on keys the permission accepts with an operator
//!   the key takes there (`=`, `IN`, `startsWith`), values from a pool of 40 per key (a listed
//!   key's own values); one in ten statements with conditions is a `DENY`.
//! - Policies `p000`–`p019` are parameterised: every fifth statement compares a key with
//!   `${bindParam:team}`, and their bindings (every binding of those policies: one in ten) each
//!   carry their own `team`. The other statements of those policies, and every statement of the other
//!   policies, compile once for all bindings that bring them the same way.
//! - Ten boundaries on a key many permissions accept; one binding in twenty has one of them.

use warden::catalog::{Catalog, Permission};
use warden::diagnostic::SourceFile;
use warden::iam::TenantFiles;
use warden::syntax::Operator;

/// The published limits.
pub const POLICIES: usize = 200;
pub const STATEMENTS: usize = 100;
pub const GROUPS: usize = 5_000;
pub const USERS: usize = 10_000;
pub const GROUPS_PER_USER: usize = 5;
pub const BINDINGS: usize = 30_000;
/// Policies `p000`… below this one take bind parameters: with bindings drawn evenly over the
/// policies, 10 % of the bindings.
const PARAMETERISED: usize = POLICIES / 10;
const BOUNDARIES: usize = 10;
const VALUES: u64 = 40;

/// splitmix64: a fixed stream of numbers, so the tenant is the same on every run.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A number below `n`, small ones far more often (popularity).
    pub fn skewed(&mut self, n: usize) -> usize {
        let x = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((x * x * x) * n as f64) as usize
    }
}

/// The permissions the statements use, those that take keys first (they carry conditions).
pub fn permissions(catalog: &Catalog) -> Vec<&Permission> {
    let mut permissions: Vec<&Permission> = catalog.permissions().collect();
    permissions.sort_by_key(|p| (!p.takes_conditions || p.keys.is_empty(), p.name.clone()));
    permissions
}

/// A value of a key: one of its listed values, else one of a pool.
pub fn value(catalog: &Catalog, key: &str, random: &mut Random) -> String {
    match catalog.enumerated_values(key) {
        Some(listed) if !listed.is_empty() => listed[random.below(listed.len())].clone(),
        _ => format!("v{}", random.next() % VALUES),
    }
}

/// The keys of a permission with the comparing operators they take there.
fn comparable<'c>(catalog: &'c Catalog, permission: &'c Permission) -> Vec<(&'c str, Vec<Operator>)> {
    permission
        .keys
        .keys()
        .filter_map(|key| {
            let set = catalog.operators(permission, key)?;
            let operators: Vec<Operator> =
                [Operator::Eq, Operator::In, Operator::StartsWith].into_iter().filter(|&o| set.contains(o)).collect();
            (!operators.is_empty()).then_some((key.as_str(), operators))
        })
        .collect()
}

fn statement(catalog: &Catalog, permissions: &[&Permission], random: &mut Random, parameterised: bool) -> String {
    let candidates: Vec<&Permission> = match parameterised {
        true => permissions.iter().copied().filter(|p| !comparable(catalog, p).is_empty()).collect(),
        false => permissions.to_vec(),
    };
    let permission = candidates[random.skewed(candidates.len())];
    let keys = match permission.takes_conditions {
        true => comparable(catalog, permission),
        false => Vec::new(),
    };
    let wanted = match (parameterised, random.below(100)) {
        (true, _) => 1,
        (false, 0..35) => 0,
        (false, 35..80) => 1,
        (false, _) => 2,
    };
    let mut conditions = Vec::new();
    let first = if keys.is_empty() { 0 } else { random.below(keys.len()) };
    for (key, operators) in keys.iter().cycle().skip(first).take(wanted.min(keys.len())) {
        let operator = operators[random.below(operators.len())];
        let condition = match (parameterised && conditions.is_empty(), operator) {
            (true, _) if operators.contains(&Operator::In) => format!("{key} IN (\"${{bindParam:team}}\")"),
            (true, _) => format!("{key} = \"${{bindParam:team}}\""),
            (false, Operator::In) => {
                let values: Vec<String> =
                    (0..2 + random.below(3)).map(|_| format!("\"{}\"", value(catalog, key, random))).collect();
                format!("{key} IN ({})", values.join(", "))
            }
            (false, Operator::StartsWith) => format!("{key} startsWith \"{}\"", value(catalog, key, random)),
            (false, _) => format!("{key} = \"{}\"", value(catalog, key, random)),
        };
        conditions.push(condition);
    }
    // DENYs are narrow, as in real tenants: one in ten statements with conditions.
    let effect = if !parameterised && !conditions.is_empty() && random.below(10) == 0 { "DENY" } else { "ALLOW" };
    match conditions.is_empty() {
        true => format!("{effect} {};\n", permission.name),
        false => format!("{effect} {} WHERE {};\n", permission.name, conditions.join(" AND ")),
    }
}

/// The key most permissions accept with `IN`: what the boundaries restrict.
pub fn boundary_key(catalog: &Catalog) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for permission in catalog.permissions() {
        for (key, _) in comparable(catalog, permission) {
            *counts.entry(key).or_default() += 1;
        }
    }
    let best = counts.into_iter().max_by_key(|&(key, n)| (n, std::cmp::Reverse(key))).expect("a key");
    best.0.to_string()
}

/// The email of user `i`.
pub fn email(i: usize) -> String {
    format!("u{i:05}@large.example")
}

/// The largest account's files, as `warden.toml` and one policy file per policy.
pub fn tenant() -> TenantFiles {
    let catalog = Catalog::builtin();
    let permissions = permissions(catalog);
    let mut random = Random::new(42);
    let mut config = String::from(
        "# The platform's largest account, generated (benches/support/large.rs).\n\n\
         [account]\nid = \"large\"\nname = \"Large\"\n\n[[environment]]\nid = \"prod\"\n\n[[environment]]\nid = \"dev\"\n\n",
    );
    for i in 0..USERS {
        let (a, b) = (random.next(), random.next());
        config.push_str(&format!(
            "[[user]]\nid = \"{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}\"\nemail = \"{}\"\n\n",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff,
            email(i)
        ));
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); GROUPS];
    for user in 0..USERS {
        let mut mine: Vec<usize> = Vec::with_capacity(GROUPS_PER_USER);
        while mine.len() < GROUPS_PER_USER {
            let group = random.below(GROUPS);
            if !mine.contains(&group) {
                mine.push(group);
            }
        }
        for group in mine {
            members[group].push(user);
        }
    }
    for (group, members) in members.iter().enumerate() {
        let emails: Vec<String> = members.iter().map(|&u| format!("\"{}\"", email(u))).collect();
        config.push_str(&format!("[[group]]\nid = \"g{group:04}\"\nmembers = [{}]\n\n", emails.join(", ")));
    }
    let key = boundary_key(catalog);
    for b in 0..BOUNDARIES {
        let values: Vec<String> = (0..3).map(|k| format!("\"v{}\"", (b * 3 + k) as u64 % VALUES)).collect();
        config.push_str(&format!("[[boundary]]\nname = \"b{b}\"\nquery = '{key} IN ({});'\n\n", values.join(", ")));
    }
    for i in 0..BINDINGS {
        let (policy, group) = (random.below(POLICIES), random.below(GROUPS));
        let level = if random.below(5) == 0 { "environment:prod" } else { "account" };
        config.push_str(&format!(
            "[[binding]]\npolicy = \"p{policy:03}\"\ngroups = [\"g{group:04}\"]\nlevel = \"{level}\"\n"
        ));
        if policy < PARAMETERISED {
            config.push_str(&format!("parameters = {{ team = \"team-{i}\" }}\n"));
        }
        if random.below(20) == 0 {
            config.push_str(&format!("boundaries = [\"b{}\"]\n", random.below(BOUNDARIES)));
        }
        config.push('\n');
    }
    let policies = (0..POLICIES)
        .map(|p| {
            let text: String = (0..STATEMENTS)
                .map(|s| statement(catalog, &permissions, &mut random, p < PARAMETERISED && s % 5 == 0))
                .collect();
            SourceFile::new(format!("policies/p{p:03}.policy"), text)
        })
        .collect();
    TenantFiles { config: SourceFile::new("warden.toml", config), policies, boundaries: Vec::new() }
}
