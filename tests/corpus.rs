//! The corpus: every file of tests/corpus/ok must lint without errors, every file of
//! tests/corpus/err must get at least one; each file's findings are a snapshot.

use std::path::Path;

use warden::catalog::Catalog;
use warden::check;
use warden::diagnostic::{FileReport, SourceFile, human};
use warden::syntax::Kind;

fn run(folder: &str, expect_errors: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(folder);
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert!(paths.len() >= 6, "{folder}: too few files");
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let kind = if name.ends_with(".boundary") { Kind::Boundary } else { Kind::Policy };
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
