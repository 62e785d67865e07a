//! A monaco project as a tenant: the account resources of its YAML files (`policies`,
//! `boundaries`, `groups`, `users`, `serviceUsers`), one namespace of ids across the files.

use std::path::Path;

use super::format::TextKind;
use super::model::{
    At, Model, ModelBinding, ModelGroup, ModelLevel, ModelServiceUser, ModelUser, NamedText, PolicyRef,
};
use super::reader::{Found, Sources};
use super::traced::FileId;
use super::walk::walk;
use super::yaml::{self, Node};
use super::{Format, read as read_host, rules};
use crate::diagnostic::Diagnostic;

/// The project folders of a monaco directory (those its `manifest.yaml` lists, or the
/// directory itself), and the manifest's first account by name.
fn project_dirs(dir: &Path, sources: &mut Sources) -> (Vec<std::path::PathBuf>, Option<At<String>>) {
    let manifest = dir.join("manifest.yaml");
    let Ok(id) = sources.load(&manifest) else { return (vec![dir.to_path_buf()], None) };
    let Ok(documents) = yaml::parse(&sources.file(id).text) else { return (vec![dir.to_path_buf()], None) };
    let account = documents
        .iter()
        .flat_map(|d| d.get("accounts").map(Node::items).unwrap_or_default())
        .find_map(|a| a.get("name"))
        .and_then(|n| at(id, n));
    let projects: Vec<_> = documents
        .iter()
        .flat_map(|d| d.get("projects").map(Node::items).unwrap_or_default())
        .filter_map(|p| p.get("path").or_else(|| p.get("name")).and_then(Node::as_str))
        .map(|p| dir.join(p))
        .collect();
    (if projects.is_empty() { vec![dir.to_path_buf()] } else { projects }, account)
}

/// Whether `dir` is a monaco project: it has a manifest, or YAML files with account resources.
pub fn is_project(dir: &Path) -> bool {
    if dir.join("manifest.yaml").is_file() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| Format::from_path(p) == Some(Format::Yaml)).any(|p| {
        super::read_text(&p)
            .ok()
            .and_then(|text| yaml::parse(&text).ok())
            .is_some_and(|docs| yaml::flavour(&docs) == Some(yaml::Flavour::Monaco))
    })
}

/// One resource of the project with the file and node it is in.
struct Item<'a> {
    file: FileId,
    node: &'a Node,
}

/// Reads a monaco project as a tenant model.
pub fn read(dir: &Path) -> Result<Model, super::ReadError> {
    let mut model = Model::default();
    let mut files: Vec<(FileId, Vec<Node>)> = Vec::new();
    let (projects, account) = project_dirs(dir, &mut model.sources);
    model.account = account;
    for project in projects {
        for path in walk(&project).files {
            if Format::from_path(&path) != Some(Format::Yaml) || path.file_name().is_some_and(|n| n == "manifest.yaml")
            {
                continue;
            }
            let id = model.sources.load(&path)?;
            let extract = read_host(&mut model.sources, id, Format::Yaml);
            if !extract.host {
                continue;
            }
            model.findings.extend(extract.findings);
            if let Ok(documents) = yaml::parse(&model.sources.file(id).text) {
                if yaml::flavour(&documents) == Some(yaml::Flavour::Monaco) {
                    files.push((id, documents));
                }
            }
        }
    }
    let items = |list: &str| -> Vec<Item<'_>> {
        files
            .iter()
            .flat_map(|(file, docs)| {
                docs.iter().flat_map(move |d| {
                    d.get(list).map(Node::items).unwrap_or_default().iter().map(move |node| Item { file: *file, node })
                })
            })
            .collect()
    };
    let (policies, boundaries, groups) = (items("policies"), items("boundaries"), items("groups"));

    for (list, field, kind) in [(&policies, "policy", TextKind::Policy), (&boundaries, "query", TextKind::Boundary)] {
        for item in list.iter() {
            let Some(id) = item.node.get("id").and_then(Node::as_str) else { continue };
            let Some(scalar) = item.node.get(field).and_then(Node::scalar) else { continue };
            let text = yaml::traced(&model.sources.file(item.file).text, item.file, scalar);
            let what = if kind == TextKind::Policy { "policies" } else { "boundaries" };
            let name = item.node.get("name").and_then(Node::as_str).map(str::to_string);
            let found = Found::new(kind, Some(format!("{what}[id={id}]")), name, text, None);
            let named = NamedText { key: id.to_string(), found };
            match kind {
                TextKind::Policy => model.policies.push(named),
                TextKind::Boundary => model.boundaries.push(named),
            }
            if let Some(env) = item.node.get("level").and_then(|l| l.get("environment")) {
                if let Some(at) = at(item.file, env) {
                    model.environment(at);
                }
            }
        }
    }
    let by_name = |list: &[Item<'_>], name: &str| {
        list.iter()
            .find(|i| i.node.get("name").and_then(Node::as_str) == Some(name))
            .and_then(|i| i.node.get("id").and_then(Node::as_str))
            .map(str::to_string)
    };
    for item in &groups {
        let Some(id) = item.node.get("id").and_then(|n| at(item.file, n)) else { continue };
        let name = item.node.get("name").and_then(Node::as_str).unwrap_or_default().to_string();
        let mut levels: Vec<(At<ModelLevel>, &Node)> = Vec::new();
        if let Some(account) = item.node.get("account") {
            let span = item.node.get("account").and_then(Node::scalar).map_or(id.span.clone(), |s| s.span.clone());
            levels.push((At::new(ModelLevel::Account, item.file, span), account));
        }
        for env in item.node.get("environments").map(Node::items).unwrap_or_default() {
            let Some(env_id) = env.get("environment").and_then(|n| at(item.file, n)) else { continue };
            model.environment(env_id.clone());
            levels.push((At::new(ModelLevel::Environment(env_id.value.clone()), item.file, env_id.span), env));
        }
        for (level, node) in levels {
            for binding in node.get("policies").map(Node::items).unwrap_or_default() {
                let (policy_node, boundary_nodes) = match binding.get("policy") {
                    Some(policy) => (policy, binding.get("boundaries").map(Node::items).unwrap_or_default()),
                    None => (binding, &[][..]),
                };
                let Some(policy) = reference(
                    item.file,
                    policy_node,
                    |name| Some(by_name(&policies, name).map_or(PolicyRef::Builtin(name.to_string()), PolicyRef::Key)),
                    PolicyRef::Key,
                ) else {
                    continue;
                };
                let boundaries = boundary_nodes
                    .iter()
                    .filter_map(|b| reference(item.file, b, |name| by_name(&boundaries, name), |id| id))
                    .collect();
                model.bindings.push(ModelBinding {
                    policy,
                    group: id.clone(),
                    level: level.clone(),
                    parameters: Vec::new(),
                    boundaries,
                });
            }
        }
        model.groups.push(ModelGroup { id, name });
    }
    let group_refs = |model: &mut Model, file: FileId, node: Option<&Node>| -> Vec<At<String>> {
        let mut out = Vec::new();
        for group in node.map(Node::items).unwrap_or_default() {
            match reference(file, group, |name| by_name(&groups, name), |id| id) {
                Some(at) => out.push(at),
                None => {
                    if let Some(name) = group.as_str() {
                        let span = group.scalar().map_or(0..0, |s| s.span.clone());
                        model.unresolved.push((
                            file,
                            Diagnostic::new(&rules::UNRESOLVED_REFERENCE, span, format!("the project has no group named `{name}`"))
                                .with_help("warden knows the groups of the project only: define the group here, or refer to one with `{type: reference, id: …}`"),
                        ));
                    }
                }
            }
        }
        out
    };
    for (file, docs) in &files {
        for doc in docs {
            for user in doc.get("users").map(Node::items).unwrap_or_default() {
                let Some(email) = user.get("email").and_then(|n| at(*file, n)) else { continue };
                let groups = group_refs(&mut model, *file, user.get("groups"));
                model.users.push(ModelUser { id: email.clone(), email, groups });
            }
            for service in doc.get("serviceUsers").map(Node::items).unwrap_or_default() {
                let Some(name) = service.get("name").and_then(|n| at(*file, n)) else { continue };
                let id = service.get("originObjectId").and_then(|n| at(*file, n)).unwrap_or_else(|| name.clone());
                let groups = group_refs(&mut model, *file, service.get("groups"));
                model.service_users.push(ModelServiceUser { id, name: name.value, groups });
            }
        }
    }
    Ok(model)
}

/// A scalar with its place.
fn at(file: FileId, node: &Node) -> Option<At<String>> {
    let scalar = node.scalar()?;
    Some(At::new(scalar.value.clone(), file, scalar.span.clone()))
}

/// A monaco reference: a name (`My Policy`, resolved by `by_name`) or `{type: reference, id}`.
fn reference<T>(
    file: FileId,
    node: &Node,
    by_name: impl Fn(&str) -> Option<T>,
    by_id: impl Fn(String) -> T,
) -> Option<At<T>> {
    if let Some(scalar) = node.scalar() {
        return by_name(&scalar.value).map(|value| At::new(value, file, scalar.span.clone()));
    }
    let id = node.get("id").and_then(Node::scalar)?;
    Some(At::new(by_id(id.value.clone()), file, id.span.clone()))
}
