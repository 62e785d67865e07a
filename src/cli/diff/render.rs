//! The diff for a person (`human`), for a pull-request comment (`markdown`, one collapsible
//! section per principal) and as JSON. A change that is the same at several levels (a binding
//! at account level reaches every environment) is shown once, with its levels.

use warden::eval::AttrValue;
use warden::eval::diff::{Change, ChangeKind, Outcome, Report, Witness};

/// Changes of one principal that read the same at several levels and on several permissions
/// (a binding at account level reaches every environment; a statement may name several
/// permissions).
struct Group<'r> {
    change: &'r Change,
    levels: Vec<Option<&'r str>>,
    permissions: Vec<&'r str>,
}

impl Group<'_> {
    /// Whether `change` reads as this group's does, permission and level aside.
    fn reads_as(&self, change: &Change) -> bool {
        self.change.kind == change.kind
            && self.change.witness == change.witness
            && outcome(&self.change.old, true) == outcome(&change.old, true)
            && outcome(&self.change.new, true) == outcome(&change.new, true)
    }
}

/// Each principal (in the report's order) with its changes, grouped across levels, then
/// across permissions, sorted by permission.
fn by_principal(report: &Report) -> Vec<(&str, Vec<Group<'_>>)> {
    let mut principals: Vec<(&str, Vec<Group<'_>>)> = Vec::new();
    for change in &report.changes {
        let position = match principals.iter().position(|(name, _)| *name == change.principal) {
            Some(position) => position,
            None => {
                principals.push((&change.principal, Vec::new()));
                principals.len() - 1
            }
        };
        let groups = &mut principals[position].1;
        let level = change.environment.as_deref();
        match groups.iter_mut().find(|g| g.permissions[0] == change.permission && g.reads_as(change)) {
            Some(group) => group.levels.push(level),
            None => groups.push(Group { change, levels: vec![level], permissions: vec![&change.permission] }),
        }
    }
    for (_, groups) in &mut principals {
        let mut merged: Vec<Group<'_>> = Vec::new();
        for group in groups.drain(..) {
            match merged.iter_mut().find(|m| m.levels == group.levels && m.reads_as(group.change)) {
                Some(into) => into.permissions.extend(group.permissions),
                None => merged.push(group),
            }
        }
        for group in &mut merged {
            group.permissions.sort_unstable();
        }
        merged.sort_by(|a, b| (&a.permissions, a.change.kind).cmp(&(&b.permissions, b.change.kind)));
        *groups = merged;
    }
    principals
}

/// "at account level and in prod, dev".
fn levels(levels: &[Option<&str>]) -> String {
    let environments: Vec<&str> = levels.iter().flatten().copied().collect();
    let account = levels.contains(&None);
    match (account, environments.is_empty()) {
        (true, true) => "at account level".to_string(),
        (true, false) => format!("at account level and in {}", environments.join(", ")),
        (false, _) => format!("in {}", environments.join(", ")),
    }
}

/// The request's attributes in one line (the others absent); empty for none.
fn attributes(witness: &Witness) -> String {
    let parts: Vec<String> = witness
        .attributes
        .iter()
        .map(|(key, value)| match value {
            AttrValue::One(one) => format!("{key} = {one:?}"),
            AttrValue::Many(many) => format!("{key} = {many:?}"),
        })
        .collect();
    parts.join(", ")
}

/// The request's time, when time conditions take part.
fn time(witness: &Witness) -> Option<String> {
    witness.at.map(|at| format!("at {} ({})", at.format("%Y-%m-%dT%H:%M:%SZ"), at.format("%A")))
}

/// The request in one line: its attributes and its time.
fn witness(witness: &Witness) -> String {
    let mut parts = vec![match attributes(witness) {
        none if none.is_empty() => "no attributes".to_string(),
        some => some,
    }];
    parts.extend(time(witness));
    parts.join(", ")
}

/// How one side decided, and through which statements (and bindings, unless the tenant was
/// made for a lone policy), a line each.
fn outcome(outcome: &Outcome, bindings: bool) -> Vec<String> {
    let statements = |verb: &str| -> Vec<String> {
        let mut lines = Vec::new();
        for d in &outcome.statements {
            let s = &d.statement;
            lines.push(format!("{verb} {}:{} ({})", s.file, s.line, s.effect));
            if bindings {
                lines.push(format!("  via {}: {}", d.binding_at, s.via));
            }
        }
        lines
    };
    match outcome.reason {
        "allowed" => statements("allowed by"),
        "explicit_deny" => statements("denied by"),
        "conditional" => {
            let mut lines = vec!["conditional: it depends on attributes the request lacks".to_string()];
            lines.extend(statements("  residual from"));
            lines
        }
        "no_match" => vec!["denied: no statement allows it".to_string()],
        _ => vec![format!("denied: {}", outcome.summary)],
    }
}

/// How much was compared.
fn compared(report: &Report) -> String {
    format!("{} compared", report.scope())
}

/// The closing line: who gains and loses, and that nothing changed when so.
fn summary(report: &Report) -> String {
    match report.is_unchanged() {
        true => format!("{}: access is unchanged ({})", report.summary(), compared(report)),
        false => report.summary(),
    }
}

/// The diff for a person; `bindings`: whether to name the binding of each statement.
pub fn human(report: &Report, bindings: bool) -> String {
    let mut out = String::new();
    for (principal, groups) in by_principal(report) {
        out.push_str(&format!("{principal}\n"));
        for group in groups {
            let change = group.change;
            out.push_str(&format!(
                "  {:<8} {} {}\n",
                change.kind.as_str(),
                group.permissions.join(", "),
                levels(&group.levels)
            ));
            out.push_str(&format!("    request: {}\n", witness(&change.witness)));
            for (side, decided) in [("old", &change.old), ("new", &change.new)] {
                for (i, line) in outcome(decided, bindings).iter().enumerate() {
                    let label = if i == 0 { format!("{side}:") } else { String::new() };
                    out.push_str(&format!("    {label:<4} {line}\n"));
                }
            }
        }
        out.push('\n');
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// Text for a Markdown table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Text inside HTML (the collapsible sections' titles).
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Text in a Markdown code span that holds any backtick.
fn code(text: &str) -> String {
    let fence = if text.contains('`') { "`` " } else { "`" };
    let close = if text.contains('`') { " ``" } else { "`" };
    format!("{fence}{}{close}", cell(text))
}

fn markdown_witness(witness: &Witness) -> String {
    let mut parts = vec![match attributes(witness) {
        none if none.is_empty() => "no attributes".to_string(),
        some => code(&some),
    }];
    parts.extend(time(witness));
    parts.join(", ")
}

fn markdown_outcome(outcome: &Outcome, bindings: bool) -> String {
    let places: Vec<String> = outcome
        .statements
        .iter()
        .map(|d| {
            let s = &d.statement;
            match bindings {
                true => format!("{} `{}:{}` (binding `{}`)", s.effect, s.file, s.line, d.binding_at),
                false => format!("{} `{}:{}`", s.effect, s.file, s.line),
            }
        })
        .collect();
    match outcome.reason {
        "allowed" => format!("allow: {}", places.join(", ")),
        "explicit_deny" => format!("deny: {}", places.join(", ")),
        "conditional" => format!("conditional: {}", places.join(", ")),
        "no_match" => "deny: nothing allows it".to_string(),
        _ => format!("deny: {}", cell(&outcome.summary)),
    }
}

/// The diff as a pull-request comment, comparing `old` with `new`.
pub fn markdown(report: &Report, old: &str, new: &str, bindings: bool) -> String {
    let mut out = match report.is_unchanged() {
        true => format!(
            "### warden diff: access is unchanged\n\nComparing {} with {}: {} ({}).\n",
            code(old),
            code(new),
            report.summary(),
            compared(report)
        ),
        false => format!(
            "### warden diff: {}\n\nComparing {} with {} ({}).\n",
            report.summary(),
            code(old),
            code(new),
            compared(report)
        ),
    };
    for (principal, groups) in by_principal(report) {
        let mut kinds: Vec<String> = Vec::new();
        for kind in [ChangeKind::Gained, ChangeKind::Widened, ChangeKind::Narrowed, ChangeKind::Lost] {
            let mut permissions: Vec<&str> =
                groups.iter().filter(|g| g.change.kind == kind).flat_map(|g| g.permissions.iter().copied()).collect();
            permissions.sort_unstable();
            permissions.dedup();
            match permissions.len() {
                0 => {}
                1 => kinds.push(format!("{} 1 permission", kind.as_str())),
                n => kinds.push(format!("{} {n} permissions", kind.as_str())),
            }
        }
        out.push_str(&format!(
            "\n<details>\n<summary><b>{}</b>: {}</summary>\n\n| change | permission | where | request | old | new |\n|---|---|---|---|---|---|\n",
            html(principal),
            kinds.join(", ")
        ));
        for group in groups {
            let change = group.change;
            let kind = match change.kind.is_gain() {
                true => format!("**{}**", change.kind.as_str()),
                false => change.kind.as_str().to_string(),
            };
            out.push_str(&format!(
                "| {kind} | {} | {} | {} | {} | {} |\n",
                group.permissions.iter().map(|p| code(p)).collect::<Vec<_>>().join(", "),
                cell(&levels(&group.levels)),
                markdown_witness(&change.witness),
                markdown_outcome(&change.old, bindings),
                markdown_outcome(&change.new, bindings)
            ));
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// The report as one JSON document, with its summary.
pub fn json(report: &Report) -> String {
    #[derive(serde::Serialize)]
    struct Document<'r> {
        summary: String,
        unchanged: bool,
        #[serde(flatten)]
        report: &'r Report,
    }
    let document = Document { summary: report.summary(), unchanged: report.is_unchanged(), report };
    serde_json::to_string_pretty(&document).expect("a report serializes")
}
