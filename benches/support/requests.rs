//! The workload's requests (`N.requests.jsonl`): read, made into [`Request`]s, and the
//! engine's answers checked against the expected ones.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use warden::eval::{AttrValue, Decision, Engine, Request};

/// One line of `N.requests.jsonl`.
#[derive(Deserialize)]
pub struct Line {
    pub id: usize,
    pub email: String,
    pub environment: String,
    pub permission: String,
    pub attributes: BTreeMap<String, String>,
    pub expected: String,
}

impl Line {
    /// The line as a request to the engine.
    pub fn request(&self, engine: &Engine) -> Request {
        let principal = engine.tenant().find_user(&self.email).expect("a workload user");
        let mut request = Request::new(principal, self.permission.clone()).in_environment(self.environment.clone());
        request.attributes = self.attributes.iter().map(|(k, v)| (k.clone(), AttrValue::One(v.clone()))).collect();
        request
    }
}

/// The requests of tenant N.
pub fn read(dir: &Path, n: usize) -> Vec<Line> {
    let text = std::fs::read_to_string(dir.join(format!("{n}.requests.jsonl"))).expect("the requests read");
    text.lines().map(|l| serde_json::from_str(l).expect("a request line")).collect()
}

/// Whether a decision is the expected answer (a residual is no grant: the workload expects a
/// denial).
pub fn agrees(expected: &str, decision: &Decision) -> bool {
    matches!(
        (expected, decision),
        ("ALLOW", Decision::Allow { .. })
            | ("DENY_EXPLICIT", Decision::Deny { .. })
            | ("DENY_NO_MATCH", Decision::NoMatch | Decision::Conditional { .. })
    )
}
