//! `warden diff OLD.policy NEW.policy`: one policy alone, bound at account level to a
//! principal with no boundary. The two sides are tenants built around each policy that differ
//! in nothing else.
//!
//! What a binding would fix is left open as far as the texts can tell it apart: every
//! environment a `global:environmentId` condition names, and one it does not; a principal in
//! every combination of the groups `global:userGroup` conditions name; each bind parameter
//! stands for itself (its value is its own placeholder text, the same on both sides).

use std::collections::BTreeSet;

use warden::catalog::Catalog;
use warden::diagnostic::SourceFile;
use warden::eval::Engine;
use warden::iam::{TenantDir, TenantFiles};
use warden::syntax::{self, Kind, Placeholder};

use crate::cli::tenant::compile;
use crate::cli::{Exit, fail};

/// More named groups than this would mean more principals than a diff should invent.
const MOST_GROUPS: usize = 6;

/// What the policy texts name that a binding or a request would otherwise fix.
#[derive(Default)]
struct Mentions {
    environments: BTreeSet<String>,
    groups: BTreeSet<String>,
}

/// The bind parameters a text uses.
fn parameters(text: &str) -> BTreeSet<String> {
    let parsed = syntax::parse(text, Kind::Policy);
    let mut names = BTreeSet::new();
    for statement in &parsed.document.statements {
        for condition in statement.conditions() {
            for value in condition.operand.values() {
                for placeholder in value.placeholders() {
                    if let Placeholder::BindParam(name) = placeholder {
                        names.insert(name.clone());
                    }
                }
            }
        }
    }
    names
}

fn mentions(texts: &[&str]) -> Mentions {
    let mut mentions = Mentions::default();
    for text in texts {
        let parsed = syntax::parse(text, Kind::Policy);
        for statement in &parsed.document.statements {
            for condition in statement.conditions() {
                let into = match &*condition.key.text {
                    "global:environmentId" => &mut mentions.environments,
                    "global:userGroup" => &mut mentions.groups,
                    _ => continue,
                };
                into.extend(condition.operand.values().iter().filter_map(|v| v.literal().map(|l| l.into_owned())));
            }
        }
    }
    mentions
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A name not in `taken`: `base`, else `base-2`, …
fn fresh(base: &str, taken: &BTreeSet<String>) -> String {
    (1..)
        .map(|i| if i == 1 { base.to_string() } else { format!("{base}-{i}") })
        .find(|n| !taken.contains(n))
        .expect("a free name")
}

/// The tenant around one policy file: the principals and environments `mentions` calls for.
fn config(policy: &str, parameters: &BTreeSet<String>, mentions: &Mentions) -> String {
    let mut out = String::from("[account]\nid = \"account\"\n");
    if !mentions.environments.is_empty() {
        let other = fresh("any-other-environment", &mentions.environments);
        for environment in mentions.environments.iter().chain([&other]) {
            out.push_str(&format!("[[environment]]\nid = {}\n", quote(environment)));
        }
    }
    let named: Vec<&String> = mentions.groups.iter().collect();
    let binding_group = fresh("bound", &mentions.groups);
    let mut members: Vec<Vec<String>> = vec![Vec::new(); named.len()];
    let mut everyone = Vec::new();
    for subset in 0..1usize << named.len() {
        let inside: Vec<&str> =
            (0..named.len()).filter(|g| subset & (1 << g) != 0).map(|g| named[g].as_str()).collect();
        let email = match (named.is_empty(), inside.is_empty()) {
            (true, _) => "principal bound to the policy".to_string(),
            (false, true) => "principal bound to the policy, in no named group".to_string(),
            (false, false) => format!("principal bound to the policy, in {}", inside.join(", ")),
        };
        out.push_str(&format!("[[user]]\nid = \"00000000-0000-4000-8000-{subset:012}\"\nemail = {}\n", quote(&email)));
        for (g, list) in members.iter_mut().enumerate() {
            if subset & (1 << g) != 0 {
                list.push(quote(&email));
            }
        }
        everyone.push(quote(&email));
    }
    out.push_str(&format!("[[group]]\nid = {}\nmembers = [{}]\n", quote(&binding_group), everyone.join(", ")));
    for (group, list) in named.iter().zip(&members) {
        out.push_str(&format!("[[group]]\nid = {}\nmembers = [{}]\n", quote(group), list.join(", ")));
    }
    let values: Vec<String> =
        parameters.iter().map(|p| format!("{} = {}", quote(p), quote(&format!("${{bindParam:{p}}}")))).collect();
    out.push_str(&format!(
        "[[binding]]\npolicy = {}\ngroups = [{}]\nlevel = \"account\"\nparameters = {{ {} }}\n",
        quote(policy),
        quote(&binding_group),
        values.join(", ")
    ));
    out
}

/// The two engines of `warden diff OLD.policy NEW.policy`; `shown` names each file as the
/// output shows it.
pub fn engines(files: [SourceFile; 2], catalog: &Catalog) -> Result<[Engine; 2], Exit> {
    let mentions = mentions(&[files[0].text.as_str(), files[1].text.as_str()]);
    if mentions.groups.len() > MOST_GROUPS {
        return Err(fail(format!(
            "the policies name {} groups in `global:userGroup` conditions; compare them inside a tenant instead (at most {MOST_GROUPS})",
            mentions.groups.len()
        )));
    }
    let engine = |file: SourceFile| -> Result<Engine, Exit> {
        let stem =
            std::path::Path::new(&file.name).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let config = config(&stem, &parameters(&file.text), &mentions);
        let name = file.name.clone();
        let files = TenantFiles {
            config: SourceFile::new("warden.toml (made for the policy)", config),
            policies: vec![file],
            boundaries: vec![],
        };
        compile(
            &TenantDir::Warden(files),
            catalog,
            &format!("the policy `{name}`"),
            &format!("`warden lint {name}` lists them"),
        )
    };
    let [old, new] = files;
    Ok([engine(old)?, engine(new)?])
}
