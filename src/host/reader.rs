//! What the readers have in common: the files read ([`Sources`]), the host formats
//! ([`Format`]), the texts found ([`Found`]) and moving findings on a text to its host.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use smallvec::SmallVec;

use super::error::ReadError;
use super::format::{Format, TextKind};
use super::rules;
use super::traced::{FileId, Form, Traced};
use super::walk::{Walk, inside, read_text, walk_within};
use crate::diagnostic::{Diagnostic, Fix, SourceFile};

/// Every file read for one lint or tenant, by [`FileId`]; a file is read once however often
/// it is referenced.
#[derive(Default)]
pub struct Sources {
    files: Vec<(Option<PathBuf>, SourceFile)>,
    /// The texts again, shared: readers hold one while they evaluate (no copy per string).
    shared: Vec<Rc<str>>,
    by_path: HashMap<PathBuf, FileId>,
    /// Directories besides the working directory that files may be read from (resolved).
    bounds: Vec<PathBuf>,
    /// Values for Terraform variables (`--var`, `--var-file`).
    #[cfg(feature = "iac")]
    pub variables: super::terraform::Variables,
    /// Terraform modules evaluated, by directory.
    #[cfg(feature = "iac")]
    pub(super) terraform: HashMap<PathBuf, std::rc::Rc<super::terraform::Cached>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources").field("files", &self.files.len()).finish_non_exhaustive()
    }
}

impl Sources {
    /// No file yet.
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds a text read elsewhere (standard input, a test); a path already read keeps the
    /// text read first.
    pub fn add(&mut self, path: Option<&Path>, name: impl Into<String>, text: impl Into<String>) -> FileId {
        if let Some(id) = path.and_then(|path| self.id(path)) {
            return id;
        }
        let id = FileId(self.files.len() as u32);
        if let Some(path) = path {
            self.by_path.insert(normalize(path), id);
        }
        let file = SourceFile::new(name, text);
        self.shared.push(Rc::from(file.text.as_str()));
        self.files.push((path.map(normalize), file));
        id
    }

    /// Lets files inside `path` (a directory, or the directory of a file) be read, besides
    /// those inside the working directory: the paths a person named.
    pub fn read_within(&mut self, path: &Path) {
        let dir = if path.is_dir() { path } else { path.parent().unwrap_or(Path::new(".")) };
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(dir) = std::fs::canonicalize(dir) {
            self.bounds.push(dir);
        }
    }

    /// The directories files may be read from: the working directory and those named.
    pub fn bounds(&self) -> Vec<PathBuf> {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| std::fs::canonicalize(cwd).ok())
            .into_iter()
            .chain(self.bounds.iter().cloned())
            .collect()
    }

    /// Walks a directory, following symlinks to files only inside [`Sources::bounds`].
    pub fn walk(&self, dir: &Path) -> Walk {
        walk_within(dir, &self.bounds())
    }

    /// Reads a file (once), refusing what [`read_text`] refuses and any file outside
    /// [`Sources::bounds`], its symlinks resolved (`file("/proc/self/environ")` in a checkout
    /// linted in CI would otherwise be quoted into the log).
    pub fn load(&mut self, path: &Path) -> Result<FileId, ReadError> {
        let path = normalize(path);
        if let Some(id) = self.by_path.get(&path) {
            return Ok(*id);
        }
        if path.exists() && !inside(&path, &self.bounds()) {
            return Err(ReadError::Outside);
        }
        let text = read_text(&path)?;
        Ok(self.add(Some(&path), display(&path), text))
    }

    /// A file's name and text.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize].1
    }

    /// A file's text, shared.
    pub fn text(&self, id: FileId) -> Rc<str> {
        Rc::clone(&self.shared[id.0 as usize])
    }

    /// Where a file was read from (`None` for standard input).
    pub fn path(&self, id: FileId) -> Option<&Path> {
        self.files[id.0 as usize].0.as_deref()
    }

    /// The file read from `path`, if it was.
    pub fn id(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(&normalize(path)).copied()
    }

    /// Every file read, in order.
    pub fn ids(&self) -> impl Iterator<Item = FileId> {
        (0..self.files.len() as u32).map(FileId)
    }
}

/// A path without `.` and with `dir/..` folded, so one file has one name.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

/// How a path is shown in findings.
pub(super) fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A text found in a host file that lives in another file: the `file()` call that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The host file holding the call.
    pub file: FileId,
    /// The call.
    pub span: Range<usize>,
    /// The resource whose attribute it is.
    pub resource: String,
}

/// A policy or boundary text found in a host file.
#[derive(Debug, Clone)]
pub struct Found {
    /// A policy or a boundary.
    pub kind: TextKind,
    /// The resource holding it (`dynatrace_iam_policy.admin`); `None` for a policy file.
    pub resource: Option<String>,
    /// The policy's display name, where the host gives one.
    pub name: Option<String>,
    /// The text, with the origin of every byte.
    pub text: Traced,
    /// The `file()` call, when the text lives in another file than its resource.
    pub via: Option<Via>,
    /// Text ranges whose findings are not reported: fillers, and what a filler standing for
    /// policy syntax can have thrown off (the rest of its statement).
    shadows: Vec<Range<usize>>,
}

impl Found {
    /// A text found, with what to leave unreported around its unresolved parts.
    pub fn new(
        kind: TextKind,
        resource: Option<String>,
        name: Option<String>,
        text: Traced,
        via: Option<Via>,
    ) -> Found {
        let shadows = text.opaque().map(|part| shadow(text.text(), part.text)).collect();
        Found { kind, resource, name, text, via, shadows }
    }

    /// The file the text was read from.
    pub fn file(&self) -> Option<FileId> {
        self.text.files().first().copied().or(self.via.as_ref().map(|via| via.file))
    }

    fn shadowed(&self, span: &Range<usize>) -> bool {
        self.shadows.iter().any(|s| s.start <= span.end && span.start <= s.end)
    }

    /// A finding on the text as a finding on its host file; `None` when it falls on
    /// something unresolved (it may be caused by it).
    pub fn to_host(&self, diagnostic: &Diagnostic, sources: &Sources) -> Option<(FileId, Diagnostic)> {
        if self.shadowed(&diagnostic.span) {
            return None;
        }
        let (file, span) = match self.text.host_span(diagnostic.span.clone()) {
            Some(found) => found,
            None => {
                let (file, at) = self.text.locate(diagnostic.span.start)?;
                (file, at..at)
            }
        };
        // The labels and the fix are placed on the host below, not cloned to be dropped.
        let Diagnostic { rule, message, span: _, labels, help, fix: _, resource, notes } = diagnostic;
        let mut moved = Diagnostic {
            rule,
            message: message.clone(),
            span,
            labels: SmallVec::with_capacity(labels.len()),
            help: help.clone(),
            fix: None,
            resource: resource.clone(),
            notes: notes.clone(),
        };
        for label in labels {
            if self.shadowed(&label.span) {
                continue;
            }
            if let Some((label_file, span)) = self.text.host_span(label.span.clone()) {
                if label_file == file {
                    moved.labels.push(crate::diagnostic::Label { span, message: label.message.clone() });
                }
            }
        }
        self.place(file, &mut moved, sources);
        moved.fix = diagnostic.fix.as_ref().and_then(|fix| {
            let edits: Option<Vec<_>> = fix
                .edits
                .iter()
                .map(|edit| self.text.host_edit(edit).filter(|(f, _)| *f == file).map(|(_, e)| e))
                .collect();
            Some(Box::new(Fix { description: fix.description.clone(), edits: edits? }))
        });
        Some((file, moved))
    }

    /// Says where a finding on `file` belongs: in the resource, when the file is the host;
    /// read by the resource, when the file is one the host reads.
    fn place(&self, file: FileId, diagnostic: &mut Diagnostic, sources: &Sources) {
        match self.via.as_ref().filter(|via| via.file != file) {
            Some(via) => {
                let reader = sources.file(via.file);
                let (line, _) = reader.line_column(via.span.start);
                diagnostic.notes.push(format!("read by `{}` ({}:{line})", via.resource, reader.name).into());
            }
            None => diagnostic.resource = self.resource.clone(),
        }
    }

    /// One suggestion per part that could not be resolved: what was not checked.
    pub fn not_checked(&self, help: &str, sources: &Sources) -> Vec<(FileId, Diagnostic)> {
        let mut seen: Vec<(FileId, Range<usize>)> = Vec::new();
        let mut out = Vec::new();
        for part in self.text.opaque() {
            if seen.contains(&(part.file, part.span.clone())) {
                continue;
            }
            seen.push((part.file, part.span.clone()));
            let what = part.what.trim();
            let message = format!("`{what}` was not checked: warden cannot resolve it here");
            let mut diagnostic =
                Diagnostic::new(&rules::NOT_CHECKED, part.span.clone(), message).with_help(help.to_string());
            self.place(part.file, &mut diagnostic, sources);
            out.push((part.file, diagnostic));
        }
        out
    }
}

/// What a filler at `part` can throw off: itself, when it stands inside a string value or
/// alone on its lines; else the rest of its statement, up to and with the next `;`.
fn shadow(text: &str, part: Range<usize>) -> Range<usize> {
    let filler = &text[part.clone()];
    if filler.trim().is_empty() || inside_string(text, part.start) {
        return part;
    }
    let end = next_semicolon(text, part.end).map_or(text.len(), |at| at + 1);
    part.start..end
}

/// Whether `at` lies inside a `"…"` or `'…'` of policy text (strings end at a line break).
fn inside_string(text: &str, at: usize) -> bool {
    string_state(&text[line_start(text, at)..at]).is_some()
}

/// Where the line holding `at` starts: strings and comments end at a line break, so what is
/// open at `at` is decided by its line alone (scanning from the top for each of 50,000 unresolved
/// parts took minutes).
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |newline| newline + 1)
}

/// The open quote at the end of `text`, if a string is open there.
fn string_state(text: &str) -> Option<char> {
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q || c == '\n' => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '/') if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    quote
}

fn next_semicolon(text: &str, from: usize) -> Option<usize> {
    let mut quote = string_state(&text[line_start(text, from)..from]);
    let mut chars = text[from..].char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q || c == '\n' => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, ';') => return Some(from + i),
            _ => {}
        }
    }
    None
}

/// What reading one host file gave.
#[derive(Debug, Default)]
pub struct Extract {
    /// Whether the file is a policy host at all (a YAML or JSON file may not be).
    pub host: bool,
    /// The policy and boundary texts found.
    pub found: Vec<Found>,
    /// Problems of the host file itself.
    pub findings: Vec<(FileId, Diagnostic)>,
}

/// A host file that does not parse.
#[cfg(feature = "iac")]
pub(super) fn host_error(language: &str, span: Range<usize>, message: &str) -> Diagnostic {
    Diagnostic::new(
        &rules::INVALID_HOST_FILE,
        span,
        format!("invalid {language}: {}", message.trim().trim_end_matches('.')),
    )
    .with_help("warden reads the policies of a file only when the file parses")
}

/// Whether this build reads the format: without the `iac` feature only policy and boundary
/// files.
pub fn supported(format: Format) -> bool {
    cfg!(feature = "iac") || matches!(format, Format::Policy | Format::Boundary)
}

/// Reads the policy and boundary texts of a host file already in `sources`. A format this
/// build does not read ([`supported`]) gives nothing.
pub fn read(sources: &mut Sources, file: FileId, format: Format) -> Extract {
    if let Format::Policy | Format::Boundary = format {
        let kind = if format == Format::Policy { TextKind::Policy } else { TextKind::Boundary };
        let text = Traced::verbatim(&sources.file(file).text, file, 0, Form::Raw);
        return Extract { host: true, found: vec![Found::new(kind, None, None, text, None)], findings: Vec::new() };
    }
    read_host(sources, file, format)
}

#[cfg(not(feature = "iac"))]
fn read_host(_: &mut Sources, _: FileId, _: Format) -> Extract {
    Extract::default()
}

#[cfg(feature = "iac")]
fn read_host(sources: &mut Sources, file: FileId, format: Format) -> Extract {
    let mut extract = match format {
        Format::Policy | Format::Boundary => unreachable!("read by `read`"),
        Format::Terraform => super::terraform::read_file(sources, file),
        Format::TerraformJson => super::json::read_terraform(sources, file),
        Format::Json => super::json::read_iam(&sources.text(file), file),
        Format::Yaml => super::yaml::read(&sources.text(file), file, None),
        Format::Monaco => super::yaml::read(&sources.file(file).text, file, Some(super::yaml::Flavour::Monaco)),
        Format::Crossplane => super::yaml::read(&sources.file(file).text, file, Some(super::yaml::Flavour::Crossplane)),
        Format::Dtiam => super::yaml::read(&sources.file(file).text, file, Some(super::yaml::Flavour::Dtiam)),
    };
    unquote_all(&mut extract);
    extract
}

#[cfg(feature = "iac")]
/// A policy held inside literal quotes (`"\"ALLOW …;\""`): the quotes would reach the
/// platform. Reported once, with a fix that removes them, and the text inside is linted.
fn unquote_all(extract: &mut Extract) {
    for found in &mut extract.found {
        if found.kind != TextKind::Policy {
            continue;
        }
        let text = found.text.text();
        let inner_start = text.len() - text.trim_start().len();
        let inner_end = text.trim_end().len();
        if inner_end < inner_start + 2 {
            continue;
        }
        let quote = text[inner_start..].chars().next().expect("not empty");
        let quoted = matches!(quote, '"' | '\'')
            && text[..inner_end].ends_with(quote)
            && ["ALLOW", "DENY"]
                .iter()
                .any(|k| text[inner_start + 1..].trim_start().to_ascii_uppercase().starts_with(k));
        if !quoted {
            continue;
        }
        let open = inner_start..inner_start + 1;
        let close = inner_end - 1..inner_end;
        let (Some((file, open_span)), Some((_, close_span))) =
            (found.text.host_span(open.clone()), found.text.host_span(close.clone()))
        else {
            continue;
        };
        let mut diagnostic = Diagnostic::new(
            &rules::QUOTED_IN_HOST,
            open_span.start..close_span.end,
            "the policy is wrapped in quotes inside the string, and the quotes are part of the policy text",
        )
        .with_help("the string itself is the policy: remove the inner quotes")
        .with_fix(Fix {
            description: "remove the quotes around the policy".into(),
            edits: vec![
                crate::diagnostic::Edit { span: open_span, replacement: String::new() },
                crate::diagnostic::Edit { span: close_span, replacement: String::new() },
            ],
        });
        diagnostic.resource = found.resource.clone();
        extract.findings.push((file, diagnostic));
        let mut inner = Traced::new();
        inner.append_range(&found.text, open.end..close.start);
        *found = Found::new(found.kind, found.resource.take(), found.name.take(), inner, found.via.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filler_shadows_what_it_can_throw_off() {
        let text = "ALLOW x WHERE k = \"opaque\";\nALLOW opaque;\nALLOW a:b:c;";
        let inside = text.find("opaque").unwrap();
        assert_eq!(shadow(text, inside..inside + 6), inside..inside + 6);
        let outside = text.rfind("opaque").unwrap();
        assert_eq!(shadow(text, outside..outside + 6), outside..outside + 7);
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalize(Path::new("./a/b/../c.pol")), PathBuf::from("a/c.pol"));
        assert_eq!(Format::from_path(Path::new("x/main.tf.json")), Some(Format::TerraformJson));
        assert_eq!(Format::from_path(Path::new("x/README.md")), None);
    }
}
