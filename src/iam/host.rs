//! Tenants kept as Terraform modules or monaco projects. The host's model is written as the
//! equivalent `warden.toml` tenant (which `warden tenant export` saves), loaded with every
//! tenant check, and each finding is moved back to the host line it comes from. What warden
//! cannot resolve refuses the tenant (decisions D13): a dropped boundary or DENY would widen
//! access.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::BUILTIN_POLICIES;
use super::load::{FileFindings, Loaded, TenantFiles, load};
use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, Label, SourceFile};
use crate::host::{
    self, At, FileId, Found, Model, ModelLevel, ModelParameter, NamedText, PolicyRef, TenantHost, Variables, rules,
};

/// A tenant read from a Terraform module or a monaco project.
#[derive(Debug)]
pub struct HostTenant {
    dir: PathBuf,
    host: TenantHost,
    model: Model,
    files: TenantFiles,
    /// Where each value of the generated `warden.toml` was written in the host.
    origins: Vec<(Range<usize>, FileId, Range<usize>)>,
    /// The generated policy and boundary files, by name: the text they were made from.
    texts: HashMap<String, (bool, usize)>,
    /// What refuses the tenant before any check: references warden cannot resolve.
    unresolved: Vec<(FileId, Diagnostic)>,
}

/// Where a host wrote a value.
type Place = (FileId, Range<usize>);

/// `warden.toml` written value by value, remembering where each came from.
#[derive(Default)]
struct Writer {
    text: String,
    origins: Vec<(Range<usize>, FileId, Range<usize>)>,
}

impl Writer {
    fn raw(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn string(&mut self, value: &str, at: Option<Place>) {
        let start = self.text.len();
        self.text.push_str(&toml::Value::String(value.to_string()).to_string());
        if let Some((file, span)) = at {
            self.origins.push((start..self.text.len(), file, span));
        }
    }

    fn at<T>(&mut self, key: &str, value: &str, at: &At<T>) {
        self.raw(&format!("{key} = "));
        self.string(value, Some((at.file, at.span.clone())));
        self.raw("\n");
    }

    fn list(&mut self, items: &[(String, Option<Place>)]) {
        self.raw("[");
        for (i, (value, at)) in items.iter().enumerate() {
            if i > 0 {
                self.raw(", ");
            }
            self.string(value, at.clone());
        }
        self.raw("]");
    }
}

/// A policy key or boundary name as a file stem: letters, digits, `.`, `_` and `-`.
fn stem_of(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect()
}

/// Gives each key a stem of its own.
fn stems<'a>(keys: impl Iterator<Item = &'a str>) -> HashMap<String, String> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut stems = HashMap::new();
    for key in keys {
        let base = stem_of(key);
        let count = taken.entry(base.clone()).or_insert(0);
        *count += 1;
        let stem = if *count == 1 { base } else { format!("{base}-{count}") };
        stems.insert(key.to_string(), stem);
    }
    stems
}

impl HostTenant {
    /// Reads `dir` as the host it is.
    pub fn read(dir: &Path, host: TenantHost, variables: &Variables) -> Result<HostTenant, host::ReadError> {
        let model = host::read_tenant(dir, host, variables)?;
        Ok(HostTenant::from_model(dir, host, model))
    }

    fn from_model(dir: &Path, host: TenantHost, model: Model) -> HostTenant {
        let mut unresolved = model.unresolved.clone();
        let policy_stems = stems(model.policies.iter().map(|p| p.key.as_str()));
        let boundary_stems = stems(model.boundaries.iter().map(|b| b.key.as_str()));
        let mut w = Writer::default();
        let what = match host {
            TenantHost::Terraform => "the Terraform module",
            TenantHost::Monaco => "the monaco project",
        };
        w.raw(&format!(
            "# The tenant of {what} `{}`, as `warden tenant export` writes it.\n\n[account]\nid = ",
            dir.display()
        ));
        match &model.account {
            Some(account) => w.string(&account.value, Some((account.file, account.span.clone()))),
            None => w.string("account", None),
        }
        w.raw("\n");
        for environment in &model.environments {
            w.raw("\n[[environment]]\n");
            w.at("id", &environment.value, environment);
        }
        for user in &model.users {
            w.raw("\n[[user]]\n");
            w.at("id", &user.id.value, &user.id);
            w.at("email", &user.email.value, &user.email);
        }
        for service in &model.service_users {
            w.raw("\n[[service_user]]\n");
            w.at("id", &service.id.value, &service.id);
            w.raw("name = ");
            w.string(&service.name, None);
            w.raw("\n");
        }
        for group in &model.groups {
            w.raw("\n[[group]]\n");
            w.at("id", &group.id.value, &group.id);
            if !group.name.is_empty() {
                w.raw("name = ");
                w.string(&group.name, None);
                w.raw("\n");
            }
            let members: Vec<(String, Option<Place>)> = model
                .users
                .iter()
                .flat_map(|u| {
                    u.groups
                        .iter()
                        .filter(|g| g.value == group.id.value)
                        .map(|g| (u.email.value.clone(), Some((g.file, g.span.clone()))))
                })
                .chain(model.service_users.iter().flat_map(|s| {
                    s.groups
                        .iter()
                        .filter(|g| g.value == group.id.value)
                        .map(|g| (s.id.value.clone(), Some((g.file, g.span.clone()))))
                }))
                .collect();
            if !members.is_empty() {
                w.raw("members = ");
                w.list(&members);
                w.raw("\n");
            }
        }
        // Members of groups the tenant does not define: the tenant checks report them.
        for (email, group) in model.users.iter().flat_map(|u| u.groups.iter().map(move |g| (&u.email, g))) {
            if !model.groups.iter().any(|g| g.id.value == group.value) {
                unresolved.push((
                    group.file,
                    Diagnostic::new(
                        &rules::UNRESOLVED_REFERENCE,
                        group.span.clone(),
                        format!("`{}` is a member of `{}`, which the tenant does not define", email.value, group.value),
                    )
                    .with_help("define the group in the tenant"),
                ));
            }
        }
        for binding in &model.bindings {
            let policy = match &binding.policy.value {
                PolicyRef::Key(key) => policy_stems.get(key).cloned().unwrap_or_else(|| stem_of(key)),
                PolicyRef::Builtin(name) => match builtin(name) {
                    Some(stem) => format!("builtin:{stem}"),
                    None => {
                        let known: Vec<String> = BUILTIN_POLICIES.iter().map(|(stem, _)| format!("`{stem}`")).collect();
                        unresolved.push((
                            binding.policy.file,
                            Diagnostic::new(
                                &rules::UNRESOLVED_REFERENCE,
                                binding.policy.span.clone(),
                                format!("warden does not know the platform policy `{name}`"),
                            )
                            .with_help(format!(
                                "warden knows the platform policies {}; define this one in the tenant to check it",
                                known.join(", ")
                            )),
                        ));
                        continue;
                    }
                },
            };
            w.raw("\n[[binding]]\npolicy = ");
            w.string(&policy, Some((binding.policy.file, binding.policy.span.clone())));
            w.raw("\ngroups = ");
            w.list(&[(binding.group.value.clone(), Some((binding.group.file, binding.group.span.clone())))]);
            w.raw("\nlevel = ");
            let level = match &binding.level.value {
                ModelLevel::Account => "account".to_string(),
                ModelLevel::Environment(id) => format!("environment:{id}"),
            };
            w.string(&level, Some((binding.level.file, binding.level.span.clone())));
            w.raw("\n");
            if !binding.parameters.is_empty() {
                w.raw("parameters = { ");
                for (i, (name, value)) in binding.parameters.iter().enumerate() {
                    if i > 0 {
                        w.raw(", ");
                    }
                    w.string(&name.value, Some((name.file, name.span.clone())));
                    w.raw(" = ");
                    let at = Some((value.file, value.span.clone()));
                    match &value.value {
                        ModelParameter::One(one) => w.string(one, at),
                        ModelParameter::Many(many) => {
                            w.list(&many.iter().map(|v| (v.clone(), at.clone())).collect::<Vec<_>>())
                        }
                    }
                }
                w.raw(" }\n");
            }
            if !binding.boundaries.is_empty() {
                w.raw("boundaries = ");
                let items: Vec<_> = binding
                    .boundaries
                    .iter()
                    .map(|b| {
                        (
                            boundary_stems.get(&b.value).cloned().unwrap_or_else(|| stem_of(&b.value)),
                            Some((b.file, b.span.clone())),
                        )
                    })
                    .collect();
                w.list(&items);
                w.raw("\n");
            }
        }
        let base = dir.display().to_string();
        let mut texts = HashMap::new();
        let mut file_of =
            |folder: &str, extension: &str, stem: &str, text: &NamedText, is_policy: bool, index: usize| {
                let name = format!("{base}/{folder}/{stem}.{extension}");
                texts.insert(name.clone(), (is_policy, index));
                SourceFile::new(name, text.found.text.text())
            };
        let policies = model
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| file_of("policies", "policy", &policy_stems[&p.key], p, true, i))
            .collect();
        let boundaries = model
            .boundaries
            .iter()
            .enumerate()
            .map(|(i, b)| file_of("boundaries", "boundary", &boundary_stems[&b.key], b, false, i))
            .collect();
        for text in model.policies.iter().chain(&model.boundaries) {
            for part in text.found.text.opaque() {
                unresolved.push((
                    part.file,
                    Diagnostic::new(
                        &rules::UNRESOLVED_REFERENCE,
                        part.span.clone(),
                        format!(
                            "the text of `{}` uses `{}`, which warden cannot resolve",
                            text.found.resource.as_deref().unwrap_or(&text.key),
                            part.what.trim()
                        ),
                    )
                    .with_help("a text with a part warden cannot check would be bound unseen: give the value (`--var`, `--var-file`) or write the text out"),
                ));
            }
        }
        let config = SourceFile::new(format!("{base} (as warden.toml)"), w.text);
        HostTenant {
            dir: dir.to_path_buf(),
            host,
            files: TenantFiles { config, policies, boundaries },
            origins: w.origins,
            texts,
            unresolved,
            model,
        }
    }

    /// The generated tenant files (for a fingerprint of what was read).
    pub fn files(&self) -> &TenantFiles {
        &self.files
    }

    /// What kind of host the tenant is.
    pub fn host(&self) -> TenantHost {
        self.host
    }

    fn found(&self, name: &str) -> Option<&Found> {
        let (is_policy, index) = self.texts.get(name)?;
        let list = if *is_policy { &self.model.policies } else { &self.model.boundaries };
        Some(&list[*index].found)
    }

    /// A finding on the generated `warden.toml`, at the host line of the value it is about.
    fn config_to_host(&self, diagnostic: &Diagnostic) -> Option<(FileId, Diagnostic)> {
        let origin = |span: &Range<usize>| {
            self.origins
                .iter()
                .find(|(toml, _, _)| toml.start <= span.start && span.start < toml.end.max(toml.start + 1))
        };
        let (_, file, span) = origin(&diagnostic.span)?;
        let labels = diagnostic
            .labels
            .iter()
            .filter_map(|label| {
                let (_, label_file, label_span) = origin(&label.span)?;
                (label_file == file).then(|| Label { span: label_span.clone(), message: label.message.clone() })
            })
            .collect();
        Some((*file, Diagnostic { span: span.clone(), labels, fix: None, ..diagnostic.clone() }))
    }

    /// Loads and checks the tenant; every finding is on a host file (or, when it has no
    /// place there, on the generated `warden.toml`). References warden cannot resolve refuse it.
    pub fn load(&self, catalog: &Catalog) -> Loaded {
        let loaded = load(&self.files, catalog);
        let mut by_file: BTreeMap<FileId, Vec<Diagnostic>> = BTreeMap::new();
        let mut generated: Vec<Diagnostic> = Vec::new();
        for findings in &loaded.findings {
            for diagnostic in &findings.diagnostics {
                let moved = if findings.file.name == self.files.config.name {
                    self.config_to_host(diagnostic)
                } else {
                    self.found(&findings.file.name).and_then(|found| found.to_host(diagnostic, &self.model.sources))
                };
                match moved {
                    Some((file, moved)) => by_file.entry(file).or_default().push(moved),
                    None if findings.file.name == self.files.config.name => generated.push(diagnostic.clone()),
                    None => {}
                }
            }
        }
        for (file, diagnostic) in self.model.findings.iter().chain(&self.unresolved) {
            by_file.entry(*file).or_default().push(diagnostic.clone());
        }
        let mut findings: Vec<FileFindings> = by_file
            .into_iter()
            .map(|(file, mut diagnostics)| {
                diagnostics.sort_by_key(|d| (d.span.start, d.span.end, d.code()));
                diagnostics.dedup_by(|a, b| a.code() == b.code() && a.span == b.span && a.message == b.message);
                FileFindings { file: self.model.sources.file(file).clone(), diagnostics }
            })
            .collect();
        if !generated.is_empty() {
            findings.push(FileFindings { file: self.files.config.clone(), diagnostics: generated });
        }
        let refused = findings.iter().any(|f| f.diagnostics.iter().any(Diagnostic::is_error));
        Loaded { tenant: if refused { None } else { loaded.tenant }, findings }
    }

    /// The findings `warden lint` adds for the directory: the tenant checks, and what loading
    /// would refuse as warnings (W0711). The texts' own findings `lint` has already.
    pub fn lint_findings(&self, catalog: &Catalog) -> Vec<FileFindings> {
        let loaded = load(&self.files, catalog);
        let mut by_file: BTreeMap<FileId, Vec<Diagnostic>> = BTreeMap::new();
        for findings in loaded.findings.iter().filter(|f| f.file.name == self.files.config.name) {
            for diagnostic in &findings.diagnostics {
                if let Some((file, moved)) = self.config_to_host(diagnostic) {
                    by_file.entry(file).or_default().push(moved);
                }
            }
        }
        let texts: Vec<(FileId, Range<usize>)> = self
            .model
            .policies
            .iter()
            .chain(&self.model.boundaries)
            .flat_map(|t| t.found.text.opaque().map(|p| (p.file, p.span)))
            .collect();
        for (file, diagnostic) in &self.unresolved {
            if texts.contains(&(*file, diagnostic.span.clone())) {
                continue;
            }
            let warning = Diagnostic { rule: &rules::UNRESOLVED_REFERENCE_LINT, ..diagnostic.clone() };
            by_file.entry(*file).or_default().push(warning);
        }
        by_file
            .into_iter()
            .map(|(file, diagnostics)| FileFindings { file: self.model.sources.file(file).clone(), diagnostics })
            .collect()
    }

    /// The equivalent `warden.toml` tenant: paths relative to its directory, and their texts.
    pub fn export(&self) -> Vec<(PathBuf, String)> {
        let relative = |file: &SourceFile| {
            let name = file.name.strip_prefix(&format!("{}/", self.dir.display())).unwrap_or(&file.name);
            PathBuf::from(name)
        };
        let mut out = vec![(PathBuf::from("warden.toml"), self.files.config.text.clone())];
        for file in self.files.policies.iter().chain(&self.files.boundaries) {
            let mut text = file.text.clone();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            out.push((relative(file), text));
        }
        out
    }
}

/// The stem of a built-in policy by its platform name (`Storage All Grail Data Read`) or stem.
fn builtin(name: &str) -> Option<&'static str> {
    let slug = host::slug(name.strip_prefix("builtin:").unwrap_or(name));
    BUILTIN_POLICIES.iter().map(|(stem, _)| *stem).find(|stem| *stem == slug)
}
