//! `warden test`: the cases admins keep beside a tenant (`tests/*.toml`), each a request and
//! the decision it must get.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::ValueEnum;
use serde::Deserialize;
use warden::diagnostic::{SourceFile, did_you_mean_clause, nearest_expected_field};
use warden::eval::{AttrValue, Decision, Engine, Request};

use super::tenant::{compile, parse_time, read};
use super::{CatalogArg, Exit, color_for, fail};

const EXAMPLES: &str = "A test file, e.g. policies/example/tests/payments.toml:

  [[case]]
  name = \"payments developers read their team's logs in production\"
  principal = \"bob@acme.example\"              # a user (email or id) or a service user (email, id, name)
  permission = \"storage:logs:read\"
  environment = \"prod\"                        # optional: without it the request is account-level
  attributes = { \"storage:k8s.namespace.name\" = \"team-payments\", \"storage:k8s.cluster.name\" = \"prod-eu-1\" }
  at = \"2026-05-04T10:00:00+02:00\"             # optional: the time of the request (default: now)
  expect = \"allow\"                            # allow, deny or conditional

Examples:
  warden test policies/example
  warden test --format junit > warden-tests.xml

Exit codes: 0 every case passed · 1 a case failed · 2 could not run (no cases, a file that does
not parse, a case naming an unknown principal, permission, environment or attribute) · 3 the
tenant has errors";

/// Run the test cases kept beside a tenant (tests/*.toml): each request must get the decision
/// it expects; a failure is shown with the explanation of the decision it got
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The tenant directory; its cases are in DIR/tests/*.toml
    #[arg(value_name = "DIR", default_value = ".")]
    tenant: PathBuf,
    /// How to print the results
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    catalog: CatalogArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// one line per case, the explanation of each failure, a summary
    Human,
    /// JUnit XML for CI dashboards
    Junit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    case: Vec<toml::Spanned<Case>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: Option<String>,
    principal: String,
    permission: String,
    environment: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, AttrValue>,
    at: Option<Time>,
    expect: Expect,
}

/// A time written as a string or as a TOML date-time.
#[derive(Deserialize)]
#[serde(untagged)]
enum Time {
    Text(String),
    Toml(toml::value::Datetime),
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Allow,
    Deny,
    Conditional,
}

impl Expect {
    fn of(decision: &Decision) -> Expect {
        match decision {
            Decision::Allow { .. } => Expect::Allow,
            Decision::Conditional { .. } => Expect::Conditional,
            Decision::Deny { .. } | Decision::NoMatch => Expect::Deny,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::Conditional => "conditional",
        }
    }
}

/// What became of one case.
enum Verdict {
    Passed,
    /// The decision it expected, the one it got, and the explanation of that one.
    Failed {
        expected: Expect,
        got: Expect,
        explanation: String,
    },
    /// The case (or its file) cannot be run.
    Error(String),
}

struct Outcome {
    file: String,
    line: usize,
    name: String,
    verdict: Verdict,
}

pub fn run(args: Args) -> Exit {
    test(args).unwrap_or_else(|exit| exit)
}

fn test(args: Args) -> Result<Exit, Exit> {
    let catalog = args.catalog.load().map_err(fail)?;
    let files = read(&args.tenant)?;
    let shown = args.tenant.display();
    let engine =
        compile(&files, &catalog, &format!("the tenant `{shown}`"), &format!("`warden lint {shown}` lists them"))?;
    let paths = test_files(&args.tenant)?;
    let color = matches!(args.format, Format::Human) && color_for(&std::io::stdout());
    let mut outcomes = Vec::new();
    for path in &paths {
        outcomes.extend(run_file(&engine, path, color));
    }
    if outcomes.is_empty() {
        return Err(fail(format!(
            "no test cases: the files in `{}` hold no [[case]]",
            args.tenant.join("tests").display()
        )));
    }
    match args.format {
        Format::Human => print!("{}", human(&outcomes)),
        Format::Junit => print!("{}", junit(&outcomes)),
    }
    let errors = outcomes.iter().any(|o| matches!(o.verdict, Verdict::Error(_)));
    let failures = outcomes.iter().any(|o| matches!(o.verdict, Verdict::Failed { .. }));
    Ok(if errors {
        Exit::CouldNotRun
    } else if failures {
        Exit::No
    } else {
        Exit::Ok
    })
}

/// `DIR/tests/*.toml`, sorted.
fn test_files(dir: &Path) -> Result<Vec<PathBuf>, Exit> {
    let folder = dir.join("tests");
    let entries = std::fs::read_dir(&folder)
        .map_err(|e| fail(format!("no test cases: cannot read `{}`: {e}", folder.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

fn run_file(engine: &Engine, path: &Path, color: bool) -> Vec<Outcome> {
    let name = path.display().to_string();
    let error = |line: usize, message: String| Outcome {
        file: name.clone(),
        line,
        name: "(the file)".to_string(),
        verdict: Verdict::Error(message),
    };
    // Through the walker's reader: a regular file of at most 16 MiB, never a FIFO (D35).
    let text = match warden::host::read_text(path) {
        Ok(text) => text,
        Err(e) => return vec![error(1, format!("cannot read it: {e}"))],
    };
    let source = SourceFile::new(name.clone(), text);
    let parsed: TestFile = match toml::from_str(&source.text) {
        Ok(parsed) => parsed,
        Err(e) => {
            let line = e.span().map_or(1, |span| source.line_column(span.start).0);
            let message = e.message().trim().replace('\n', " ");
            let hint = did_you_mean_clause(nearest_expected_field(&message));
            return vec![error(line, format!("{message}{hint}"))];
        }
    };
    parsed
        .case
        .into_iter()
        .map(|case| {
            let line = source.line_column(case.span().start).0;
            let case = case.into_inner();
            let name = case.name.clone().unwrap_or_else(|| default_name(&case));
            let verdict = judge(engine, &case, color);
            Outcome { file: source.name.clone(), line, name, verdict }
        })
        .collect()
}

/// "bob@acme.example → storage:logs:read in prod", as `explain` heads its answer.
fn default_name(case: &Case) -> String {
    let place = case.environment.as_ref().map_or_else(|| "at account level".to_string(), |e| format!("in {e}"));
    format!("{} → {} {place}", case.principal, case.permission)
}

fn judge(engine: &Engine, case: &Case, color: bool) -> Verdict {
    let tenant = engine.tenant();
    let principal = match tenant.principal(&case.principal, None) {
        Ok(principal) => principal,
        Err(unknown) => return Verdict::Error(unknown.to_string()),
    };
    let at = match &case.at {
        None => Utc::now(),
        Some(time) => {
            let text = match time {
                Time::Text(text) => text.clone(),
                Time::Toml(datetime) => datetime.to_string(),
            };
            match parse_time(&text) {
                Ok(at) => at,
                Err(e) => return Verdict::Error(format!("`at`: {e}")),
            }
        }
    };
    let mut request = Request::new(principal, case.permission.clone()).at(at);
    request.environment = case.environment.clone();
    request.attributes = case.attributes.clone();
    let query = match engine.query(&request) {
        Ok(query) => query,
        Err(e) => return Verdict::Error(e.to_string()),
    };
    let decision = engine.evaluate(&query);
    let got = Expect::of(&decision);
    if got == case.expect {
        return Verdict::Passed;
    }
    let explanation = engine.render_explanation(&engine.explain(&query, &decision), color);
    Verdict::Failed { expected: case.expect, got, explanation }
}

/// Passed, failed, could not run.
fn counts<'o>(outcomes: impl IntoIterator<Item = &'o Outcome>) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for outcome in outcomes {
        match outcome.verdict {
            Verdict::Passed => counts.0 += 1,
            Verdict::Failed { .. } => counts.1 += 1,
            Verdict::Error(_) => counts.2 += 1,
        }
    }
    counts
}

fn human(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for outcome in outcomes {
        let place = format!("{}:{}", outcome.file, outcome.line);
        match &outcome.verdict {
            Verdict::Passed => out.push_str(&format!("ok    {place}  {}\n", outcome.name)),
            Verdict::Failed { expected, got, explanation } => {
                out.push_str(&format!(
                    "FAIL  {place}  {}: expected {}, got {}\n",
                    outcome.name,
                    expected.as_str(),
                    got.as_str()
                ));
                for line in explanation.lines() {
                    out.push_str(&format!("      {line}\n"));
                }
            }
            Verdict::Error(message) => out.push_str(&format!("ERROR {place}  {}: {message}\n", outcome.name)),
        }
    }
    let (passed, failed, errors) = counts(outcomes);
    out.push_str(&format!("\n{passed} passed, {failed} failed"));
    if errors > 0 {
        out.push_str(&format!(", {errors} could not run"));
    }
    out.push('\n');
    out
}

/// Text for XML content and attribute values. Control characters other than tab and line
/// breaks cannot stand in XML 1.0 even escaped: they become U+FFFD, so the report stays one a
/// dashboard reads.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test suite per file, one test case per case.
fn junit(outcomes: &[Outcome]) -> String {
    let (passed, failed, errors) = counts(outcomes);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"warden test\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\">\n",
        passed + failed + errors
    );
    let mut files: Vec<&str> = outcomes.iter().map(|o| o.file.as_str()).collect();
    files.dedup();
    for file in files {
        let cases: Vec<&Outcome> = outcomes.iter().filter(|o| o.file == file).collect();
        let (passed, failed, errors) = counts(cases.iter().copied());
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\">\n",
            xml(file),
            passed + failed + errors
        ));
        for case in cases {
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                xml(&case.name),
                xml(file),
                xml(file),
                case.line
            ));
            match &case.verdict {
                Verdict::Passed => out.push_str("/>\n"),
                Verdict::Failed { expected, got, explanation } => out.push_str(&format!(
                    ">\n      <failure message=\"expected {}, got {}\">{}</failure>\n    </testcase>\n",
                    expected.as_str(),
                    got.as_str(),
                    xml(explanation)
                )),
                Verdict::Error(message) => {
                    out.push_str(&format!(">\n      <error message=\"{}\"/>\n    </testcase>\n", xml(message)))
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
