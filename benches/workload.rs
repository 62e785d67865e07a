//! Decisions and tenant loading on the shared workload (`../shared/bench/workload`, or the
//! folder `BENCH_WORKLOAD` names), each beside a hand-written floor that does the same work on
//! the same statements with nothing else to do:
//!
//! - `decide/N`: one pass over the 1000 prepared requests of tenant N (`Engine::evaluate`);
//!   `decide-floor/N`: the same decisions by the hand-written permission index (statements as
//!   closures behind a `HashMap` keyed by permission, looked up on every decision, a group bit
//!   mask per statement: the peers' `rust-indexed`).
//! - `request/N`: the 1000 requests from their names (`Engine::query` + `Engine::evaluate` on a
//!   `Request` holding the permission, environment and attributes by name); `request-floor/N`:
//!   the hand-written path from the same names to the decision (one FxHash lookup for the
//!   permission, its statements and the keys it accepts; one for the environment; one per
//!   attribute key; then the floor's decision).
//! - `compile/N` builds the engine from loaded tenant N, and `load/N` parses, checks and
//!   compiles tenant N from texts already in memory.
//!
//! Every decision, warden's and the floors', is checked against `expected` before anything is
//! timed. Run: `cargo bench --bench workload`; one group: `cargo bench --bench workload --
//! decide/1000`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::{TenantFiles, load};

mod support;

use support::{compile, workload_dir};

/// One line of `N.requests.jsonl`.
#[derive(Deserialize)]
struct Line {
    id: usize,
    email: String,
    environment: String,
    permission: String,
    attributes: BTreeMap<String, String>,
    expected: String,
}

fn agrees(expected: &str, decision: &Decision) -> bool {
    matches!(
        (expected, decision),
        ("ALLOW", Decision::Allow { .. })
            | ("DENY_EXPLICIT", Decision::Deny { .. })
            | ("DENY_NO_MATCH", Decision::NoMatch | Decision::Conditional { .. })
    )
}

/// The hand-written floors: the workload's statements as plain Rust, with two-valued logic (a
/// condition on a missing attribute is false), which gives the same yes/no answers here.
mod floor {
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
                        let tests: Vec<Test> =
                            statement.conditions().iter().map(|c| test(c, keys[&*c.key.text])).collect();
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
                    (user.email.clone(), tenant.groups_of(principal).iter().fold(0u64, |mask, &g| mask | 1 << g))
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
}

fn workload(c: &mut Criterion) {
    let dir = workload_dir();
    if !dir.join("tenant-10").is_dir() {
        eprintln!(
            "warden bench: the shared workload is missing at {} (set BENCH_WORKLOAD): decide/N and load/N are skipped",
            dir.display()
        );
        return;
    }
    for n in [10, 100, 1000, 10000] {
        let files = TenantFiles::read(&dir.join(format!("tenant-{n}"))).expect("the tenant reads");
        let engine = compile(&files);
        let text = std::fs::read_to_string(dir.join(format!("{n}.requests.jsonl"))).expect("the requests read");
        let lines: Vec<Line> = text.lines().map(|l| serde_json::from_str(l).expect("a request line")).collect();
        // Native requests are built before timing, as the peers' were.
        let requests: Vec<Request> = lines
            .iter()
            .map(|line| {
                let principal = engine.tenant().find_user(&line.email).expect("a workload user");
                let mut request =
                    Request::new(principal, line.permission.clone()).in_environment(line.environment.clone());
                request.attributes =
                    line.attributes.iter().map(|(k, v)| (k.clone(), AttrValue::One(v.clone()))).collect();
                request
            })
            .collect();
        let queries: Vec<_> = requests.iter().map(|r| engine.query(r).expect("a valid request")).collect();
        for (line, query) in lines.iter().zip(&queries) {
            let decision = engine.evaluate(query);
            assert!(
                agrees(&line.expected, &decision),
                "N={n} request {}: expected {}, got {decision:?}",
                line.id,
                line.expected
            );
        }
        let floor = floor::Index::new(engine.tenant());
        let prepared: Vec<(u64, &str, floor::Attributes<'_>)> = lines
            .iter()
            .map(|line| (floor.users[&line.email], line.permission.as_str(), floor.attributes(&line.attributes)))
            .collect();
        for (line, (groups, permission, attributes)) in lines.iter().zip(&prepared) {
            let verdict = floor.decide(*groups, permission, attributes);
            assert!(verdict.agrees(&line.expected), "floor, N={n} request {}: {verdict:?}", line.id);
            let named = floor.request(*groups, permission, &line.environment, &requests[line.id].attributes);
            assert_eq!(named, Some(verdict), "floor from names, N={n} request {}", line.id);
        }

        let mut group = c.benchmark_group("decide");
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for query in &queries {
                    black_box(engine.evaluate(black_box(query)));
                }
            })
        });
        group.finish();
        let mut group = c.benchmark_group("decide-floor");
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for (groups, permission, attributes) in &prepared {
                    black_box(floor.decide(*groups, black_box(permission), black_box(attributes)));
                }
            })
        });
        group.finish();

        let mut group = c.benchmark_group("request");
        group.throughput(Throughput::Elements(requests.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for request in &requests {
                    let query = engine.query(black_box(request)).expect("a valid request");
                    black_box(engine.evaluate(&query));
                }
            })
        });
        group.finish();
        let mut group = c.benchmark_group("request-floor");
        group.throughput(Throughput::Elements(requests.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for (request, (groups, _, _)) in requests.iter().zip(&prepared) {
                    let environment = request.environment.as_deref().unwrap_or_default();
                    black_box(floor.request(
                        *groups,
                        black_box(&request.permission),
                        environment,
                        black_box(&request.attributes),
                    ));
                }
            })
        });
        group.finish();

        // Compiling alone: bindings, parameters and boundaries into the permission index.
        let tenant = load(&files, Catalog::builtin()).tenant.expect("the workload tenants load");
        let mut group = c.benchmark_group("compile");
        if n >= 1000 {
            group.sample_size(10);
        }
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(|| tenant.clone(), |t| black_box(Engine::new(t, Catalog::builtin())), BatchSize::LargeInput)
        });
        group.finish();

        let mut group = c.benchmark_group("load");
        if n >= 1000 {
            group.sample_size(10);
        }
        group.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| black_box(compile(black_box(&files)))));
        group.finish();
    }
}

criterion_group!(benches, workload);
criterion_main!(benches);
