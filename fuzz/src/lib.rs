//! What the fuzz targets share: the invariants every finding and every explanation must keep,
//! and the small in-memory tenant that the `evaluate` target binds its policy in.

use std::collections::BTreeMap;

use warden::diagnostic::{Diagnostic, SourceFile};

/// Every span of a finding (its own, its labels', its fix's edits) is a slice of its file's text
/// on character boundaries, and turns into a line and column.
pub fn assert_spans_inside(file: &SourceFile, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        let labels = diagnostic.labels.iter().map(|l| &l.span);
        let edits = diagnostic.fix.iter().flat_map(|f| f.edits.iter().map(|e| &e.span));
        for span in std::iter::once(&diagnostic.span).chain(labels).chain(edits) {
            assert!(
                span.start <= span.end && file.text.get(span.clone()).is_some(),
                "{}: span {span:?} of {} is not a slice of the {}-byte text",
                file.name,
                diagnostic.code(),
                file.text.len()
            );
            file.line_column(span.start);
            file.line_column(span.end);
        }
    }
}

/// One input of the `evaluate` target, a text in three parts:
///
/// ```text
/// ALLOW storage:logs:read WHERE storage:k8s.namespace.name IN ("${bindParam:spaces}");
/// === boundary
/// storage:k8s.cluster.name = "prod";
/// === request
/// storage:k8s.namespace.name=team-a
/// storage:k8s.cluster.name=[prod,dev]
/// @spaces=[team-a,team-b]
/// time=2026-03-01T10:00:00Z
/// ```
///
/// The policy, an optional boundary, and lines of the request: `KEY=VALUE` an attribute,
/// `KEY=[A,B]` a list (`[]` an empty one); `@NAME=…` a bind parameter of the bindings;
/// `time=RFC3339` the time of every request. Anything else in the request part is ignored.
#[derive(Debug, Default)]
pub struct Case<'a> {
    pub policy: &'a str,
    pub boundary: Option<&'a str>,
    pub attributes: BTreeMap<&'a str, Value<'a>>,
    pub parameters: BTreeMap<&'a str, Value<'a>>,
    pub time: Option<&'a str>,
}

/// One value or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    One(&'a str),
    Many(Vec<&'a str>),
}

impl<'a> Value<'a> {
    fn parse(text: &'a str) -> Value<'a> {
        match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some("") => Value::Many(Vec::new()),
            Some(list) => Value::Many(list.split(',').collect()),
            None => Value::One(text),
        }
    }

    /// The value as TOML (a JSON string is a TOML basic string).
    fn toml(&self) -> String {
        match self {
            Value::One(one) => quoted(one),
            Value::Many(many) => format!("[{}]", many.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", ")),
        }
    }
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

impl<'a> Case<'a> {
    pub fn parse(input: &'a str) -> Case<'a> {
        let (policy, rest) = input.split_once("\n=== request\n").unwrap_or((input, ""));
        let (policy, boundary) = match policy.split_once("\n=== boundary\n") {
            Some((policy, boundary)) => (policy, Some(boundary)),
            None => (policy, None),
        };
        let mut case = Case { policy, boundary, ..Case::default() };
        for line in rest.lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            match key.strip_prefix('@') {
                Some(name) => {
                    case.parameters.insert(name, Value::parse(value));
                }
                None if key == "time" => case.time = Some(value),
                None => {
                    case.attributes.insert(key, Value::parse(value));
                }
            }
        }
        case
    }

    /// The tenant around the policy: `alice` and the service user `robot` in group `bound`,
    /// bound to the policy at account level; `dave` in `stagers`, bound to it in environment
    /// `staging` only; `bob` in a group bound to nothing; `carol` in no group. Both bindings
    /// carry the case's parameters and its boundary.
    pub fn tenant_toml(&self) -> String {
        let parameters: Vec<String> =
            self.parameters.iter().map(|(k, v)| format!("{} = {}", quoted(k), v.toml())).collect();
        let boundaries = if self.boundary.is_some() { r#"["fence"]"# } else { "[]" };
        let binding = |group: &str, level: &str| {
            format!(
                "  {{ policy = \"fuzz\", groups = [\"{group}\"], level = \"{level}\", parameters = {{ {} }}, boundaries = {boundaries} }},\n",
                parameters.join(", ")
            )
        };
        format!("{TENANT}binding = [\n{}{}]\n", binding("bound", "account"), binding("stagers", "environment:staging"))
    }
}

/// The fixed part of [`Case::tenant_toml`], compact: it is parsed for every input.
const TENANT: &str = r#"account = { id = "acme" }
environment = [{ id = "prod" }, { id = "staging" }]
user = [
  { id = "00000000-0000-4000-8000-000000000001", email = "alice@acme.example" },
  { id = "00000000-0000-4000-8000-000000000002", email = "bob@acme.example" },
  { id = "00000000-0000-4000-8000-000000000003", email = "carol@acme.example" },
  { id = "00000000-0000-4000-8000-000000000004", email = "dave@acme.example" },
]
service_user = [{ id = "00000000-0000-4000-8000-000000000005", name = "robot" }]
group = [
  { id = "bound", members = ["alice@acme.example", "00000000-0000-4000-8000-000000000005"] },
  { id = "stagers", members = ["dave@acme.example"] },
  { id = "unbound", members = ["bob@acme.example"] },
]
"#;

#[cfg(test)]
mod tests {
    use warden::catalog::Catalog;
    use warden::diagnostic::SourceFile;
    use warden::iam::{TenantFiles, load};

    use super::{Case, Value};

    /// A seed that does not load would start the fuzzer where nothing is evaluated.
    #[test]
    fn every_evaluate_seed_loads() {
        let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/evaluate");
        for entry in std::fs::read_dir(seeds).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let case = Case::parse(&text);
            let files = TenantFiles {
                config: SourceFile::new("warden.toml", case.tenant_toml()),
                policies: vec![SourceFile::new("policies/fuzz.policy", case.policy)],
                boundaries: case
                    .boundary
                    .map(|b| SourceFile::new("boundaries/fence.boundary", b))
                    .into_iter()
                    .collect(),
            };
            let loaded = load(&files, Catalog::builtin());
            assert!(loaded.tenant.is_some(), "{}: {:#?}", path.display(), loaded.findings);
        }
    }

    #[test]
    fn a_case_has_its_parts() {
        let case = Case::parse(
            "ALLOW a:b:c;\n=== boundary\nx = \"y\";\n=== request\nk=v\nl=[1,2]\n@p=[a]\n@e=[]\ntime=T\nnoise",
        );
        assert_eq!(case.policy, "ALLOW a:b:c;");
        assert_eq!(case.boundary, Some("x = \"y\";"));
        assert_eq!(case.attributes["k"], Value::One("v"));
        assert_eq!(case.attributes["l"], Value::Many(vec!["1", "2"]));
        assert_eq!(case.parameters["p"], Value::Many(vec!["a"]));
        assert_eq!(case.parameters["e"], Value::Many(vec![]));
        assert_eq!(case.time, Some("T"));
    }
}
