//! The hand-written floors: the workload's statements as plain Rust, with two-valued logic (a
//! condition on a missing attribute is false), which gives the same yes/no answers here.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use warden::eval::AttrValue;
use warden::iam::Tenant;
use warden::syntax::{Condition, Effect, Operator};

/// The workload's condition keys fit one word: a permission's accepted keys are a mask.
pub const KEYS: usize = 64;

/// The attributes of a request by key position.
pub type Attributes<'r> = [Option<&'r str>; KEYS];

type Test = Box<dyn Fn(&Attributes<'_>) -> bool>;

struct Statement {
    deny: bool,
    groups: u64,
    test: Test,
}

#[derive(Default)]
struct Permission {
    statements: Vec<Statement>,
    accepted: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    NoMatch,
}

impl Verdict {
    pub fn agrees(self, expected: &str) -> bool {
        matches!(
            (expected, self),
            ("ALLOW", Verdict::Allow) | ("DENY_EXPLICIT", Verdict::Deny) | ("DENY_NO_MATCH", Verdict::NoMatch)
        )
    }
}

/// The statements by permission, the keys by position, each user's groups as a mask.
pub struct Index {
    permissions: HashMap<String, Permission>,
    keys: HashMap<String, usize>,
    environments: HashSet<String>,
    pub users: HashMap<String, u64>,
}

/// `*` matches any run of characters.
fn matches(pattern: &str, value: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else { return false };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else { return rest.is_empty() };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn test(condition: &Condition, key: usize) -> Test {
    let values: Vec<String> = condition.operand.values().iter().map(|v| v.display_value()).collect();
    match condition.operator {
        Operator::Eq | Operator::In => Box::new(move |a| a[key].is_some_and(|v| values.iter().any(|x| x == v))),
        Operator::StartsWith => Box::new(move |a| a[key].is_some_and(|v| v.starts_with(values[0].as_str()))),
        Operator::Match => Box::new(move |a| a[key].is_some_and(|v| values.iter().any(|p| matches(p, v)))),
        other => panic!("the workload has no {other}"),
    }
}

impl Index {
    /// Built from warden's parse of the tenant (not timed): one closure per statement.
    pub fn new(tenant: &Tenant) -> Index {
        let mut keys: HashMap<String, usize> = HashMap::default();
        let mut permissions: HashMap<String, Permission> = HashMap::default();
        let catalog = warden::catalog::Catalog::builtin();
        for permission in catalog.permissions() {
            let mut accepted = 0;
            for key in permission.keys.keys() {
                let next = keys.len();
                let id = *keys.entry(key.clone()).or_insert(next);
                accepted |= 1 << id;
            }
            permissions.insert(permission.name.clone(), Permission { statements: Vec::new(), accepted });
        }
        assert!(keys.len() <= KEYS, "the floor's masks hold {KEYS} keys");
        for binding in &tenant.bindings {
            let groups = binding.groups.iter().fold(0u64, |mask, &g| mask | 1 << g);
            for statement in &tenant.policies[&binding.policy].document.statements {
                for name in &statement.permissions {
                    let tests: Vec<Test> = statement.conditions().iter().map(|c| test(c, keys[&*c.key.text])).collect();
                    permissions.get_mut(&*name.text).expect("a catalog permission").statements.push(Statement {
                        deny: statement.effect == Effect::Deny,
                        groups,
                        test: Box::new(move |a| tests.iter().all(|t| t(a))),
                    });
                }
            }
        }
        assert!(tenant.groups.len() <= 64, "the floor's masks hold 64 groups");
        let users = tenant
            .users
            .iter()
            .map(|user| {
                let principal = tenant.find_user(&user.email).expect("a user");
                (user.email.to_string(), tenant.groups_of(principal).iter().fold(0u64, |mask, &g| mask | 1 << g))
            })
            .collect();
        let environments = tenant.environments.iter().map(|e| e.id.clone()).collect();
        Index { permissions, keys, environments, users }
    }

    /// The attributes of a request by key position (prepared before timing).
    pub fn attributes<'r>(&self, named: &'r BTreeMap<String, String>) -> Attributes<'r> {
        let mut attributes = [None; KEYS];
        for (key, value) in named {
            attributes[self.keys[key]] = Some(value.as_str());
        }
        attributes
    }

    /// The permission index: one lookup, then every statement on the permission.
    pub fn decide(&self, groups: u64, permission: &str, attributes: &Attributes<'_>) -> Verdict {
        let Some(permission) = self.permissions.get(permission) else { return Verdict::NoMatch };
        let mut allowed = false;
        for statement in &permission.statements {
            if statement.groups & groups != 0 && (statement.test)(attributes) {
                if statement.deny {
                    return Verdict::Deny;
                }
                allowed = true;
            }
        }
        if allowed { Verdict::Allow } else { Verdict::NoMatch }
    }

    /// From names to the decision: the permission, the environment and each attribute key
    /// looked up (an unknown one, or one the permission does not accept, refused), then the
    /// decision.
    pub fn request(
        &self,
        groups: u64,
        permission: &str,
        environment: &str,
        attributes: &BTreeMap<String, AttrValue>,
    ) -> Option<Verdict> {
        let found = self.permissions.get(permission)?;
        if !self.environments.contains(environment) {
            return None;
        }
        let mut by_key = [None; KEYS];
        for (key, value) in attributes {
            let &id = self.keys.get(key.as_str())?;
            if found.accepted & 1 << id == 0 {
                return None;
            }
            let AttrValue::One(value) = value else { return None };
            by_key[id] = Some(value.as_str());
        }
        let mut allowed = false;
        for statement in &found.statements {
            if statement.groups & groups != 0 && (statement.test)(&by_key) {
                if statement.deny {
                    return Some(Verdict::Deny);
                }
                allowed = true;
            }
        }
        Some(if allowed { Verdict::Allow } else { Verdict::NoMatch })
    }
}
