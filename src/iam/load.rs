//! Loading a tenant: read the files, parse and lint every policy and boundary, resolve every
//! reference of `warden.toml`, and check the bind parameters (decisions D9, D13). Every problem
//! becomes a diagnostic on the file it is in; any error refuses the tenant.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use toml::Spanned;

use super::file::{BindingFile, ParameterFile, TenantFile};
use super::*;
use crate::catalog::Catalog;
use crate::check;
use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean, nearest};
use crate::syntax::{Kind, Operand, Placeholder, Segment};

/// The texts of a tenant directory, read into memory.
#[derive(Debug, Clone)]
pub struct TenantFiles {
    /// `warden.toml`: the account, environments, users, groups and bindings.
    pub config: SourceFile,
    /// The `.policy` files; each file's stem names its policy.
    pub policies: Vec<SourceFile>,
    /// The `.boundary` files; each file's stem names its boundary.
    pub boundaries: Vec<SourceFile>,
}

impl TenantFiles {
    /// Reads `warden.toml`, `policies/*.policy` and `boundaries/*.boundary` under `dir`, with
    /// the walker and the limits of every command (decisions D35): regular files of at most
    /// 16 MiB, symlinks to directories not followed.
    pub fn read(dir: &Path) -> std::io::Result<TenantFiles> {
        let name = |path: &Path| path.to_string_lossy().trim_start_matches("./").to_string();
        let read = |path: &Path| {
            crate::host::read_text(path)
                .map(|text| SourceFile::new(name(path), text))
                .map_err(|e| std::io::Error::other(format!("`{}`: {e}", path.display())))
        };
        let config = read(&dir.join("warden.toml"))?;
        let read_all = |folder: &str, extension: &str| -> std::io::Result<Vec<SourceFile>> {
            let folder = dir.join(folder);
            if !folder.is_dir() {
                return Ok(Vec::new());
            }
            let walk = crate::host::walk(&folder);
            if let Some((_, error)) = walk.failed.into_iter().next() {
                return Err(error);
            }
            walk.files
                .iter()
                .filter(|p| p.parent() == Some(folder.as_path()) && p.extension().is_some_and(|e| e == extension))
                .map(|p| read(p))
                .collect()
        };
        Ok(TenantFiles {
            config,
            policies: read_all("policies", "policy")?,
            boundaries: read_all("boundaries", "boundary")?,
        })
    }
}

/// One file's findings.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct FileFindings {
    /// The file.
    pub file: SourceFile,
    /// Its findings.
    pub diagnostics: Vec<Diagnostic>,
}

/// The outcome of loading: the tenant when nothing refused it, and every finding.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The tenant; `None` when an error refused it.
    pub tenant: Option<Tenant>,
    /// Every file's findings, warnings included.
    pub findings: Vec<FileFindings>,
}

impl Loaded {
    /// Whether a finding refused the tenant.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.diagnostics.iter().any(Diagnostic::is_error))
    }
}

/// The file stem of a policy or boundary file.
fn stem(file: &SourceFile) -> String {
    Path::new(&file.name).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// A policy's tree as the tenant keeps it, as long as it lives: without the room the parser
/// reserved, and without the keywords' spellings, which only the lints read.
fn kept(mut document: crate::syntax::Document) -> crate::syntax::Document {
    document.statements.shrink_to_fit();
    document.keywords = Vec::new();
    document
}

/// Loads and checks a tenant.
pub fn load(files: &TenantFiles, catalog: &Catalog) -> Loaded {
    let mut findings: Vec<FileFindings> = Vec::new();
    // `warden.toml` is read on a thread of its own while the policies are checked, and that
    // thread then checks policies too, taking each next file that neither thread has taken:
    // in a large account the two take about as long, in the shared workload the policies longer.
    let next = AtomicUsize::new(0);
    let lint_policies = || {
        let mut names = crate::syntax::Names::default();
        let mut linted = Vec::new();
        loop {
            let at = next.fetch_add(1, Ordering::Relaxed);
            let Some(file) = files.policies.get(at) else { return linted };
            let result = check::lint_sharing(file, Kind::Policy, catalog, &mut names);
            // The policy is made on the thread that checked it: the main thread has more to do.
            let policy = Policy { name: stem(file), file: file.clone(), document: kept(result.document) };
            linted.push((at, policy, result.diagnostics));
        }
    };
    let (parsed, policy_files) = std::thread::scope(|scope| {
        let helper = scope.spawn(|| (toml::from_str::<TenantFile>(&files.config.text), lint_policies()));
        let mut linted = lint_policies();
        let (parsed, theirs) = helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // Back in the files' order: each thread took its files in order, so this merges two runs.
        linted.extend(theirs);
        linted.sort_by_key(|&(at, ..)| at);
        (parsed, linted.into_iter().map(|(_, policy, diagnostics)| (policy, diagnostics)))
    });
    // Collected at once: built from its sorted entries, the map takes no search per policy.
    let mut policies: BTreeMap<String, Policy> = policy_files
        .map(|(policy, diagnostics)| {
            if !diagnostics.is_empty() {
                findings.push(FileFindings { file: policy.file.clone(), diagnostics });
            }
            (policy.name.clone(), policy)
        })
        .collect();
    let mut record = |file: &SourceFile, mut result: check::Linted| {
        if !result.diagnostics.is_empty() {
            findings.push(FileFindings { file: file.clone(), diagnostics: std::mem::take(&mut result.diagnostics) });
        }
        result
    };
    let mut linted = |file: &SourceFile, kind: Kind| record(file, check::lint(file, kind, catalog));
    for (stem, text) in &BUILTIN_POLICIES {
        let name = format!("builtin:{stem}");
        let file = SourceFile::new(format!("builtin/{stem}.policy"), *text);
        let document = kept(crate::syntax::parse(text, Kind::Policy).document);
        policies.insert(name.clone(), Policy { name, file, document });
    }
    let mut boundaries = BTreeMap::new();
    for file in &files.boundaries {
        let conditions = linted(file, Kind::Boundary).document.boundary.into_iter().map(|(c, _)| c).collect();
        boundaries.insert(stem(file), Boundary { name: stem(file), file: file.clone(), conditions });
    }

    let mut config = Config::new(&files.config, files.config.name.as_str().into(), catalog);
    let tenant = match parsed {
        Ok(parsed) => Some(config.resolve(parsed, policies, boundaries, &mut linted)),
        Err(error) => {
            config.report(super::file::invalid_config(
                &error,
                "the tenant file has [account], [[environment]], [[user]], [[service_user]], [[group]], [[boundary]] and [[binding]] tables; see the README",
            ));
            None
        }
    };
    if !config.diagnostics.is_empty() {
        let mut diagnostics = config.diagnostics;
        diagnostics.sort_by_key(|d| d.span.start);
        findings.insert(0, FileFindings { file: files.config.clone(), diagnostics });
    }
    let refused = findings.iter().any(|f| f.diagnostics.iter().any(Diagnostic::is_error));
    Loaded { tenant: if refused { None } else { tenant }, findings }
}

struct Config<'a> {
    file: &'a SourceFile,
    /// The file's name, which every binding keeps.
    file_name: std::sync::Arc<str>,
    catalog: &'a Catalog,
    diagnostics: Vec<Diagnostic>,
    /// The bind parameters each policy uses, worked out once for all of its bindings without
    /// boundaries (a large account binds one policy hundreds of times).
    uses: rustc_hash::FxHashMap<String, std::rc::Rc<HashMap<String, ParameterUse>>>,
}

/// From this many bindings on, two threads resolve them: below, a thread costs more than it saves.
const PARALLEL_BINDINGS: usize = 1000;

/// How many bindings a thread takes at once.
const BINDINGS_RUN: usize = 256;

impl<'a> Config<'a> {
    fn new(file: &'a SourceFile, file_name: std::sync::Arc<str>, catalog: &'a Catalog) -> Config<'a> {
        Config { file, file_name, catalog, diagnostics: Vec::new(), uses: Default::default() }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// A reference to something the tenant does not have: the nearest known name as the help,
    /// else what such a reference should name.
    fn unknown<'k>(
        &mut self,
        rule: &'static crate::diagnostic::Rule,
        reference: &Spanned<String>,
        message: String,
        known: impl IntoIterator<Item = &'k str>,
        otherwise: &'static str,
    ) {
        let help = match nearest(reference.get_ref(), known) {
            Some(s) => did_you_mean(s),
            None => otherwise.to_string(),
        };
        self.report(Diagnostic::new(rule, reference.span(), message).with_help(help));
    }

    /// Reports a second use of an id.
    fn unique(&mut self, seen: &mut HashMap<String, Range<usize>>, what: &str, id: &Spanned<String>) {
        if let Some(first) = seen.get(id.get_ref()) {
            self.report(
                Diagnostic::new(&rules::DUPLICATE_ID, id.span(), format!("a second {what} `{}`", id.get_ref()))
                    .with_label(first.clone(), "first defined here")
                    .with_help(format!("every {what} needs an id of its own")),
            );
        } else {
            seen.insert(id.get_ref().clone(), id.span());
        }
    }

    /// Ids and parameter values are put into policy text (`${global:userId}`, residuals), where
    /// the language can write neither a `${` (it reads as a placeholder) nor a line break (it
    /// ends the string). `what` names the value (quoted), written only for a problem. False
    /// when it reported one.
    fn writable(&mut self, what: impl FnOnce() -> String, value: &str, span: Range<usize>) -> bool {
        let problem = if value.contains("${") {
            "holds `${`, which policy text reads as a placeholder"
        } else if value.contains(['\n', '\r']) {
            "holds a line break, which a string in policy text cannot"
        } else {
            return true;
        };
        self.report(Diagnostic::new(&rules::UNWRITABLE_VALUE, span, format!("{} {problem}", what())).with_help(
            "ids and parameter values are put into policy text as they are: write the value itself, on one line",
        ));
        false
    }

    fn resolve(
        &mut self,
        parsed: TenantFile,
        policies: BTreeMap<String, Policy>,
        mut boundaries: BTreeMap<String, Boundary>,
        linted: &mut impl FnMut(&SourceFile, Kind) -> check::Linted,
    ) -> Tenant {
        // The ids that `${global:userId}`, `${global:userGroup}` and `${global:levelId}` stand
        // for (errors refuse the tenant, whatever these return).
        let ids = std::iter::once(("account", &parsed.account.id))
            .chain(parsed.environment.iter().map(|e| ("environment", &e.id)))
            .chain(parsed.user.iter().map(|u| ("user", &u.id)))
            .chain(parsed.service_user.iter().map(|s| ("service user", &s.id)))
            .chain(parsed.group.iter().map(|g| ("group", &g.id)));
        for (what, id) in ids {
            let what = || format!("the {what} id `{}`", id.get_ref().escape_debug());
            let _ = self.writable(what, id.get_ref(), id.span());
        }
        let mut seen = HashMap::new();
        let environments: Vec<Environment> = parsed
            .environment
            .iter()
            .map(|e| {
                self.unique(&mut seen, "environment", &e.id);
                Environment { id: e.id.get_ref().clone(), name: e.name.clone() }
            })
            .collect();
        let mut seen = HashMap::new();
        let users: Vec<User> = parsed
            .user
            .iter()
            .map(|u| {
                self.unique(&mut seen, "user", &u.id);
                // A user may be known by its email alone (tenants kept as Terraform or monaco).
                if u.email.get_ref() != u.id.get_ref() {
                    self.unique(&mut seen, "user", &u.email);
                }
                User { id: u.id.get_ref().clone(), email: u.email.get_ref().as_str().into() }
            })
            .collect();
        let service_users: Vec<ServiceUser> = parsed
            .service_user
            .iter()
            .map(|s| {
                self.unique(&mut seen, "user", &s.id);
                let email = format!("{}@{SERVICE_USER_DOMAIN}", s.id.get_ref()).into();
                ServiceUser { id: s.id.get_ref().clone(), name: s.name.clone(), email }
            })
            .collect();
        let stamp = Stamp::new();
        let user = |i| Principal::new(stamp, PrincipalKind::User, i);
        let service_user = |i| Principal::new(stamp, PrincipalKind::ServiceUser, i);
        let mut principals: rustc_hash::FxHashMap<&str, Principal> = Default::default();
        for (i, u) in users.iter().enumerate() {
            principals.insert(&u.email, user(i));
            principals.insert(&u.id, user(i));
        }
        for (i, s) in service_users.iter().enumerate() {
            principals.insert(&s.email, service_user(i));
            principals.insert(&s.id, service_user(i));
        }
        let mut seen = HashMap::new();
        let mut groups = Vec::with_capacity(parsed.group.len());
        for g in &parsed.group {
            self.unique(&mut seen, "group", &g.id);
            let mut members = Vec::new();
            for member in &g.members {
                match principals.get(member.get_ref().as_str()) {
                    Some(p) => members.push(*p),
                    None => {
                        self.unknown(
                            &rules::UNKNOWN_MEMBER,
                            member,
                            format!("`{}` is no user or service user of this tenant", member.get_ref()),
                            principals.keys().copied(),
                            "members are user emails or ids, or service-user ids or emails",
                        );
                    }
                }
            }
            groups.push(Group { id: g.id.get_ref().clone(), name: g.name.clone(), members });
        }

        let mut seen: HashMap<String, Range<usize>> = boundaries.keys().map(|k| (k.clone(), 0..0)).collect();
        for b in &parsed.boundary {
            self.unique(&mut seen, "boundary", &b.name);
            let name = b.name.get_ref().clone();
            let file = SourceFile::new(format!("{} [boundary {name}]", self.file.name), b.query.get_ref().clone());
            let conditions = linted(&file, Kind::Boundary).document.boundary.into_iter().map(|(c, _)| c).collect();
            boundaries.insert(name.clone(), Boundary { name, file, conditions });
        }

        let group_index: rustc_hash::FxHashMap<&str, usize> =
            groups.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
        // Room for every binding at once: the tenant keeps them as long as it lives, and a
        // vector grown one binding at a time would keep up to twice the room.
        let mut bindings = Vec::with_capacity(parsed.binding.len());
        // Each binding looks its policy up: by hash, not down the sorted map.
        let by_name: rustc_hash::FxHashMap<&str, &Policy> = policies.iter().map(|(k, p)| (k.as_str(), p)).collect();
        let known = Known { policies: &policies, by_name: &by_name, boundaries: &boundaries, groups: &group_index };
        // A large account's bindings are resolved on two threads, each taking the next run of
        // bindings that neither has taken, with the findings of each run kept apart: in the
        // bindings' order they are the findings of resolving them one by one.
        let next = AtomicUsize::new(0);
        let resolve_runs = |config: &mut Config<'_>| {
            let mut resolved = Vec::new();
            loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some(run) = parsed.binding.chunks(BINDINGS_RUN).nth(at) else { return resolved };
                let before = config.diagnostics.len();
                let bindings: Vec<Binding> =
                    run.iter().filter_map(|binding| config.binding(binding, &known, &environments)).collect();
                resolved.push((at, bindings, config.diagnostics.split_off(before)));
            }
        };
        let (file, file_name, catalog) = (self.file, std::sync::Arc::clone(&self.file_name), self.catalog);
        let mut resolved = std::thread::scope(|scope| {
            let helper = (parsed.binding.len() >= PARALLEL_BINDINGS)
                .then(|| scope.spawn(|| resolve_runs(&mut Config::new(file, file_name, catalog))));
            let mut resolved = resolve_runs(self);
            if let Some(helper) = helper {
                resolved.extend(helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            }
            resolved
        });
        resolved.sort_by_key(|&(at, ..)| at);
        for (_, run, diagnostics) in resolved {
            bindings.extend(run);
            self.diagnostics.extend(diagnostics);
        }
        let mut user_names = rustc_hash::FxHashMap::default();
        for (i, u) in users.iter().enumerate() {
            user_names.entry(u.email.to_string()).or_insert(user(i));
            user_names.entry(u.id.clone()).or_insert(user(i));
        }
        let mut service_user_names = rustc_hash::FxHashMap::default();
        for (i, s) in service_users.iter().enumerate() {
            for name in [&*s.email, &s.id, &s.name] {
                service_user_names.entry(name.to_string()).or_insert(service_user(i));
            }
        }
        Tenant {
            stamp,
            user_names,
            service_user_names,
            account: Account {
                id: parsed.account.id.into_inner(),
                name: parsed.account.name,
                platform_tokens: parsed.account.platform_tokens,
            },
            environments,
            users,
            service_users,
            groups,
            policies,
            boundaries,
            bindings,
        }
    }

    fn binding(&mut self, binding: &BindingFile, known: &Known<'_>, environments: &[Environment]) -> Option<Binding> {
        let Known { policies, by_name, boundaries, groups: group_index } = *known;
        let mut ok = true;
        let policy = by_name.get(binding.policy.get_ref().as_str()).copied();
        if policy.is_none() {
            self.unknown(
                &rules::UNKNOWN_POLICY,
                &binding.policy,
                format!("no policy `{}` in this tenant", binding.policy.get_ref()),
                policies.keys().map(String::as_str),
                "name a file stem of policies/*.policy, or `builtin:<name>`",
            );
            ok = false;
        }
        let mut groups = Vec::with_capacity(binding.groups.len());
        for group in &binding.groups {
            match group_index.get(group.get_ref().as_str()) {
                Some(&i) => groups.push(i),
                None => {
                    self.unknown(
                        &rules::UNKNOWN_GROUP,
                        group,
                        format!("no group `{}` in this tenant", group.get_ref()),
                        group_index.keys().copied(),
                        "add the group as a [[group]] table",
                    );
                    ok = false;
                }
            }
        }
        let level = match binding.level.get_ref().as_str() {
            "account" => Some(Level::Account),
            other => match other.strip_prefix("environment:") {
                Some(id) if environments.iter().any(|e| e.id == id) => Some(Level::Environment(id.to_string())),
                _ => None,
            },
        };
        if level.is_none() {
            let ids: Vec<String> = environments.iter().map(|e| format!("`environment:{}`", e.id)).collect();
            self.report(
                Diagnostic::new(
                    &rules::UNKNOWN_LEVEL,
                    binding.level.span(),
                    format!("unknown level `{}`", binding.level.get_ref()),
                )
                .with_help(format!(
                    "a level is `account` or one of {}",
                    if ids.is_empty() { "none: the tenant has no environment".to_string() } else { ids.join(", ") }
                )),
            );
            ok = false;
        }
        let mut attached = Vec::new();
        for boundary in &binding.boundaries {
            match boundaries.get(boundary.get_ref().as_str()) {
                Some(b) => attached.push(b),
                None => {
                    self.unknown(
                        &rules::UNKNOWN_BOUNDARY,
                        boundary,
                        format!("no boundary `{}` in this tenant", boundary.get_ref()),
                        boundaries.keys().map(String::as_str),
                        "define it as a [[boundary]] table or a boundaries/<name>.boundary file",
                    );
                    ok = false;
                }
            }
        }
        let policy = policy?;
        ok &= self.parameters(binding, policy, &attached);
        // Without boundaries nothing is left unrestricted by one.
        if !attached.is_empty() && attached.len() == binding.boundaries.len() {
            for finding in super::boundaries::unrestricted(policy, &binding.boundaries, &attached, self.catalog) {
                self.report(finding);
            }
        }
        let parameters = binding
            .parameters
            .iter()
            .map(|(name, value)| {
                let value = match value.get_ref() {
                    ParameterFile::One(v) => Parameter::One(v.clone()),
                    ParameterFile::Many(vs) => Parameter::Many(vs.clone()),
                };
                (name.get_ref().clone(), value)
            })
            .collect();
        ok.then(|| Binding {
            policy: policy.name.clone(),
            groups,
            level: level.expect("checked"),
            parameters,
            boundaries: attached.iter().map(|b| b.name.clone()).collect(),
            file: std::sync::Arc::clone(&self.file_name),
            line: self.file.line_column(binding.policy.span().start).0,
        })
    }

    /// Every placeholder gets a value, every value is used, lists stand only where a whole list
    /// element does (D13, D14).
    fn parameters(&mut self, binding: &BindingFile, policy: &Policy, boundaries: &[&Boundary]) -> bool {
        let uses = match boundaries.is_empty() {
            true => match self.uses.get(&policy.name) {
                Some(cached) => std::rc::Rc::clone(cached),
                None => {
                    let uses = std::rc::Rc::new(bind_param_uses(policy, &[]));
                    self.uses.insert(policy.name.clone(), std::rc::Rc::clone(&uses));
                    uses
                }
            },
            false => std::rc::Rc::new(bind_param_uses(policy, boundaries)),
        };
        let mut ok = true;
        let given: HashSet<&str> = binding.parameters.keys().map(|k| k.get_ref().as_str()).collect();
        let missing: BTreeSet<&str> = uses.keys().map(String::as_str).filter(|name| !given.contains(name)).collect();
        for name in missing {
            self.report(
                Diagnostic::new(
                    &rules::MISSING_PARAMETER,
                    binding.policy.span(),
                    format!(
                        "policy `{}` uses `${{bindParam:{name}}}`, but this binding gives no `{name}`",
                        policy.name
                    ),
                )
                .with_help(format!("add `{name} = \"…\"` to the binding's `parameters`")),
            );
            ok = false;
        }
        for (name, value) in &binding.parameters {
            let values = match value.get_ref() {
                ParameterFile::One(one) => std::slice::from_ref(one),
                ParameterFile::Many(many) => many.as_slice(),
            };
            // A parameter may stand for itself (`team = "${bindParam:team}"`, as `warden diff`
            // binds a policy compared alone): in policy text it reads as what it is.
            let itself = format!("${{bindParam:{}}}", name.get_ref());
            for text in values.iter().filter(|&text| *text != itself) {
                ok &= self.writable(
                    || format!("the parameter value `{} = {text:?}`", name.get_ref()),
                    text,
                    value.span(),
                );
            }
            match uses.get(name.get_ref()) {
                None => {
                    self.report(
                        Diagnostic::new(
                            &rules::UNUSED_PARAMETER,
                            name.span(),
                            format!("no placeholder of policy `{}` uses `{}`", policy.name, name.get_ref()),
                        )
                        .with_help(format!("remove it, or use `${{bindParam:{}}}` in the policy", name.get_ref())),
                    );
                    ok = false;
                }
                Some(use_) if matches!(value.get_ref(), ParameterFile::Many(_)) && !use_.whole_elements_only => {
                    let (file, line) = &use_.single_value_at;
                    self.report(
                        Diagnostic::new(&rules::LIST_PARAMETER, value.span(), format!("`{}` is a list, but {file} line {line} has room for one value", name.get_ref()))
                            .with_help("a list parameter stands only as a whole element of an `IN`, `NOT IN` or `MATCH` list, e.g. `IN (\"${bindParam:clusters}\")`; give one value here"),
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        ok
    }
}

/// What a binding may name: the tenant's policies (by hash, and in order for the help of an
/// unknown one), boundaries and groups.
#[derive(Clone, Copy)]
struct Known<'k> {
    policies: &'k BTreeMap<String, Policy>,
    by_name: &'k rustc_hash::FxHashMap<&'k str, &'k Policy>,
    boundaries: &'k BTreeMap<String, Boundary>,
    groups: &'k rustc_hash::FxHashMap<&'k str, usize>,
}

struct ParameterUse {
    whole_elements_only: bool,
    /// Where a use stands in a single-value position: file name and line.
    single_value_at: (String, usize),
}

/// The bind parameters a policy and the boundaries of a binding use.
fn bind_param_uses(policy: &Policy, boundaries: &[&Boundary]) -> HashMap<String, ParameterUse> {
    let mut uses: HashMap<String, ParameterUse> = HashMap::new();
    let statements =
        policy.document.statements.iter().flat_map(|s| s.conditions().iter().map(move |c| (&policy.file, c)));
    let boundary_conditions = boundaries.iter().flat_map(|b| b.conditions.iter().map(move |c| (&b.file, c)));
    for (file, condition) in statements.chain(boundary_conditions) {
        let in_list = matches!(condition.operand, Operand::List { .. }) && condition.operator.takes_list();
        for value in condition.operand.values() {
            let whole = in_list && value.segments.len() == 1;
            for segment in &value.segments {
                if let Segment::Placeholder(Placeholder::BindParam(name)) = segment {
                    let entry = uses
                        .entry(name.clone())
                        .or_insert(ParameterUse { whole_elements_only: true, single_value_at: (String::new(), 0) });
                    if !whole && entry.whole_elements_only {
                        entry.whole_elements_only = false;
                        entry.single_value_at = (file.name.clone(), file.line_column(value.span.start).0);
                    }
                }
            }
        }
    }
    uses
}
