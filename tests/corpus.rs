//! The corpora. Lints: every file of tests/corpus/ok must lint without errors, every file of
//! tests/corpus/err must get at least one; each file's findings are a snapshot. The parser:
//! every file of tests/parser/ok must parse without errors, every one of tests/parser/err must
//! get at least one; each file's tree, with the span of every node, and its syntax findings are
//! a golden file beside it (`x.policy` → `x.tree`). After a change to the parser, review the
//! differences and write the new trees with `WARDEN_BLESS=1 cargo test --test corpus`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use warden::catalog::Catalog;
use warden::check;
use warden::diagnostic::{FileReport, SourceFile, human};
use warden::syntax::{self, Condition, Document, Kind, Operand, Segment, Span, StringLit, Where};

/// The files of a folder, sorted, with the kind their extension says.
fn inputs(dir: &Path) -> Vec<(PathBuf, Kind)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| match path.extension()?.to_str()? {
            "policy" => Some((path, Kind::Policy)),
            "boundary" => Some((path, Kind::Boundary)),
            _ => None,
        })
        .collect()
}

fn run(folder: &str, expect_errors: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(folder);
    let paths = inputs(&dir);
    assert!(paths.len() >= 6, "{folder}: too few files");
    for (path, kind) in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file = SourceFile::new(format!("{folder}/{name}"), std::fs::read_to_string(&path).unwrap());
        let linted = check::lint(&file, kind, Catalog::builtin());
        assert_eq!(linted.has_errors(), expect_errors, "{folder}/{name}: {:#?}", linted.diagnostics);
        let rendered = human::render(&FileReport { file: &file, diagnostics: &linted.diagnostics }, false);
        insta::assert_snapshot!(format!("{folder}__{name}"), format!("{}---- findings\n{rendered}", file.text));
    }
}

#[test]
fn ok_files_have_no_errors() {
    run("ok", false);
}

#[test]
fn err_files_report_their_errors() {
    run("err", true);
}

/// Parses every file of tests/parser/<folder> and compares its tree with the golden file.
fn parse_golden(folder: &str, expect_errors: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parser").join(folder);
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let paths = inputs(&dir);
    assert!(paths.len() >= 6, "{folder}: too few files");
    let mut differ = Vec::new();
    for (path, kind) in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = syntax::parse(&text, kind);
        assert_eq!(parsed.has_errors(), expect_errors, "{}: {:#?}", path.display(), parsed.diagnostics);
        let mut tree = document(&text, &parsed.document);
        tree.push_str("diagnostics\n");
        for d in &parsed.diagnostics {
            writeln!(tree, "  {} {}{}: {}", d.severity(), d.code(), at(&d.span), d.message).unwrap();
        }
        let golden = path.with_extension("tree");
        if bless {
            std::fs::write(&golden, &tree).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(tree.as_str()) {
            differ.push(format!("{}:\n{tree}", golden.display()));
        }
    }
    assert!(
        differ.is_empty(),
        "these trees differ from their golden files (review, then WARDEN_BLESS=1 cargo test --test corpus):\n\n{}",
        differ.join("\n")
    );
}

fn at(span: &Span) -> String {
    format!("@{}..{}", span.start, span.end)
}

/// The source text of a span, as written, on one line.
fn source(text: &str, span: &Span) -> String {
    format!("`{}`", text[span.clone()].replace('\n', "\\n"))
}

/// A node with its span and the text it covers.
fn node(out: &mut String, depth: usize, name: &str, span: &Span, text: &str) {
    writeln!(out, "{:indent$}{name}{} {}", "", at(span), source(text, span), indent = depth * 2).unwrap();
}

/// The tree, one node a line, indented by depth: rust-analyzer's golden tests, for this language.
fn document(text: &str, document: &Document) -> String {
    let mut out = String::new();
    for statement in &document.statements {
        let ending = if statement.terminated { "" } else { " (no `;`)" };
        writeln!(out, "Statement{}{ending}", at(&statement.span)).unwrap();
        node(&mut out, 1, &format!("Effect {:?}", statement.effect), &statement.effect_span, text);
        for permission in &statement.permissions {
            node(&mut out, 1, "Permission", &permission.span, text);
        }
        match &statement.where_clause {
            None => {}
            Some(Where::Null(span)) => node(&mut out, 1, "WhereNull", span, text),
            Some(Where::Conditions(conditions)) => {
                writeln!(out, "  Where").unwrap();
                for c in conditions {
                    condition(&mut out, 2, text, c);
                }
            }
        }
    }
    for (c, terminated) in &document.boundary {
        writeln!(out, "BoundaryLine{}", if *terminated { "" } else { " (no `;`)" }).unwrap();
        condition(&mut out, 1, text, c);
    }
    for comment in &document.comments {
        let place = if comment.own_line { "own line" } else { "trailing" };
        node(&mut out, 0, &format!("Comment ({place})"), &comment.span, text);
    }
    let keywords: Vec<String> = document.keywords.iter().map(|k| format!("{}{}", k.canonical, at(&k.span))).collect();
    writeln!(out, "Keywords {}", keywords.join(" ")).unwrap();
    out
}

fn condition(out: &mut String, depth: usize, text: &str, c: &Condition) {
    node(out, depth, "Condition", &c.span, text);
    node(out, depth + 1, "Key", &c.key.span, text);
    node(out, depth + 1, &format!("Operator {:?}", c.operator), &c.operator_span, text);
    match &c.operand {
        Operand::Single(string) => literal(out, depth + 1, text, string),
        Operand::List { items, span } => {
            node(out, depth + 1, "List", span, text);
            for item in items {
                literal(out, depth + 2, text, item);
            }
        }
    }
}

fn literal(out: &mut String, depth: usize, text: &str, string: &StringLit) {
    let segments: Vec<String> = string
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Text(t) => format!("text({t})"),
            Segment::Placeholder(p) => format!("placeholder({p})"),
        })
        .collect();
    writeln!(
        out,
        "{:indent$}String{} {} = {}",
        "",
        at(&string.span),
        source(text, &string.span),
        segments.join(" "),
        indent = depth * 2
    )
    .unwrap();
}

#[test]
fn parser_ok_files_parse_to_their_golden_trees() {
    parse_golden("ok", false);
}

#[test]
fn parser_err_files_recover_to_their_golden_trees() {
    parse_golden("err", true);
}

/// Texts parsed with one `Names` share the names they hold; a name is shared as the kind it was
/// judged as, so a permission of one file used as a key in the next is still refused there.
#[test]
fn a_shared_name_is_judged_again_as_another_kind() {
    let mut names = syntax::Names::default();
    let first = syntax::parse_sharing("ALLOW storage:logs:read;", Kind::Policy, &mut names);
    assert!(!first.has_errors(), "{:#?}", first.diagnostics);
    let second =
        syntax::parse_sharing("ALLOW storage:logs:write WHERE storage:logs:read = \"x\";", Kind::Policy, &mut names);
    let codes: Vec<_> = second.diagnostics.iter().map(|d| d.code()).collect();
    assert_eq!(codes, ["E0012"], "{:#?}", second.diagnostics);
}
