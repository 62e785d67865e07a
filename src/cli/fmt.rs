//! `warden fmt`: rewrite policies in the canonical layout, or check that they are. In host
//! files only the policy text of heredocs and YAML block scalars is rewritten (the forms that
//! hold lines); every other byte stays as it is.

use std::path::PathBuf;

use similar::TextDiff;
use warden::diagnostic::Edit;
use warden::host::{self, Form, Found, Sources, TextKind};
use warden::syntax::{self, Kind};

use super::files::{self, FromArg};
use super::{Exit, fail};

const EXAMPLES: &str = "Examples:
  warden fmt policies/               rewrite every policy file and policy host below policies/
  warden fmt --check .               in CI: print a diff and exit 1 when a file would change
  warden fmt - < team.policy         print the formatted text

In Terraform and YAML files, policies in heredocs (<<-EOT) and block scalars (|, |-) are laid
out; quoted strings are left as they are. A policy with syntax errors is left untouched (run
`warden lint` on it).";

/// Write policies and boundaries in one canonical layout
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Files, directories (searched for policy files and policy hosts) or `-` for standard input
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Change nothing: print a diff of what would change and exit 1 if anything would
    #[arg(long)]
    check: bool,
    /// Read standard input and the files named here as this [default: by file name and content;
    /// standard input: policy]
    #[arg(long, alias = "kind", value_enum, value_name = "FORMAT")]
    from: Option<FromArg>,
}

pub fn run(args: Args) -> Exit {
    let collected = match files::collect(&args.paths, args.from) {
        Ok(collected) => collected,
        Err(message) => return fail(message),
    };
    if let Some(input) = collected.inputs.iter().find(|i| !host::supported(i.format)) {
        return fail(format!("warden was built without the `iac` feature, so it cannot read `{}`", input.name));
    }
    let mut exit = Exit::Ok;
    for input in &collected.inputs {
        let text = match files::read(input) {
            Ok(text) => text,
            Err(message) => return fail(message),
        };
        let mut sources = Sources::new();
        let id = sources.add(input.path.as_deref(), input.name.clone(), text.clone());
        let extract = host::read(&mut sources, id, input.format);
        let mut edits = Vec::new();
        for found in extract.found.iter().filter(|f| f.text.files() == [id]) {
            match layout(found) {
                Ok(Some(edit)) => edits.push(edit),
                Ok(None) => {}
                Err(()) => {
                    let what = found.resource.as_ref().map_or_else(String::new, |r| format!(" (`{r}`)"));
                    eprintln!(
                        "{}{what}: has syntax errors, left as it is (`warden lint {}` shows them)",
                        input.name, input.name
                    );
                    exit = Exit::No;
                }
            }
        }
        edits.sort_by_key(|e| e.span.start);
        let formatted = apply(&text, &edits);
        match (&input.path, args.check) {
            (None, false) => print!("{formatted}"),
            (_, true) => {
                if formatted != text {
                    let diff = TextDiff::from_lines(&text, &formatted);
                    print!("{}", diff.unified_diff().header(&input.name, &format!("{} (formatted)", input.name)));
                    exit = Exit::No;
                }
            }
            (Some(path), false) => {
                if formatted != text {
                    if let Err(e) = std::fs::write(path, &formatted) {
                        return fail(format!("cannot write `{}`: {e}", path.display()));
                    }
                    eprintln!("formatted {}", input.name);
                }
            }
        }
    }
    exit
}

/// The edit that lays out one text where its host holds lines; `Err` when it has syntax errors.
fn layout(found: &Found) -> Result<Option<Edit>, ()> {
    let Some(form) = found.text.form().filter(|form| form.holds_lines()) else { return Ok(None) };
    let kind = match found.kind {
        TextKind::Policy => Kind::Policy,
        TextKind::Boundary => Kind::Boundary,
    };
    let text = found.text.text();
    let formatted = syntax::format(text, kind).ok_or(())?;
    // A host string keeps its own last line break (heredoc closer, block chomping).
    let (text, formatted) = match form {
        Form::Raw => (text, formatted.as_str()),
        _ => (text.trim_end_matches('\n'), formatted.trim_end_matches('\n')),
    };
    if text == formatted {
        return Ok(None);
    }
    let edit = Edit { span: 0..text.len(), replacement: formatted.to_string() };
    Ok(found.text.host_edit(&edit).map(|(_, edit)| edit))
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for edit in edits {
        if edit.span.start < at {
            continue;
        }
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.replacement);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    out
}
