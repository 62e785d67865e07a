//! A text taken out of a host file, and where each of its bytes was written: policy text found
//! in a Terraform string or a YAML block scalar has had escapes undone and indentation
//! removed, so offset 40 of the text may be line 12, column 31 of `main.tf`. Every finding on
//! the text is moved to the host through this map, and every fix is escaped back for the
//! host's string form.

use std::ops::Range;
use std::sync::Arc;

use crate::diagnostic::Edit;

/// A host file among those read for one lint or tenant ([`super::Sources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(
    /// The position in [`super::Sources`].
    pub u32,
);

/// How a stretch of text is written in its host, so that a replacement can be escaped for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Form {
    /// The bytes themselves: a `.policy` or `.pol` file, a file read with `file()`.
    Raw,
    /// An HCL quoted string: `\"`, `\\`, `\n`, and `$${` for a literal `${`.
    HclQuoted,
    /// An HCL heredoc whose lines are indented by `indent` spaces (`<<-`); `$${` for `${`.
    HclHeredoc {
        /// Spaces before each line.
        indent: usize,
    },
    /// A template file read with `templatefile()`: `$${` for `${`.
    HclTemplate,
    /// A YAML literal block scalar (`|`, `|-`) whose lines are indented by `indent` spaces.
    YamlLiteral {
        /// Spaces before each line.
        indent: usize,
    },
    /// A YAML folded block scalar (`>`): line breaks fold into spaces.
    YamlFolded,
    /// A YAML plain (unquoted) scalar.
    YamlPlain,
    /// A YAML single-quoted scalar: `''` for `'`.
    YamlSingle,
    /// A YAML double-quoted scalar: backslash escapes.
    YamlDouble,
    /// A JSON string.
    Json,
    /// A value Terraform puts in place of an interpolation (`${team}` of a `templatefile()`):
    /// found where the interpolation stands, but not to be edited there.
    Interpolated,
    /// A JSON string of a `.tf.json` file, which Terraform reads as a template: JSON escapes
    /// around `$${` for `${`.
    TerraformJson,
}

impl Form {
    /// The replacement text as the host writes it; `None` when the form cannot hold it (a
    /// line break in a single-line YAML scalar).
    pub fn escape(self, text: &str) -> Option<String> {
        let template = |text: &str| text.replace("${", "$${").replace("%{", "%%{");
        match self {
            Form::Raw => Some(text.to_string()),
            Form::HclQuoted => {
                let mut out = String::with_capacity(text.len() + 2);
                for c in template(text).chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
                Some(out)
            }
            Form::HclHeredoc { indent } => Some(indent_lines(&template(text), indent)),
            Form::HclTemplate => Some(template(text)),
            Form::YamlLiteral { indent } => Some(indent_lines(text, indent)),
            Form::YamlFolded | Form::YamlPlain => {
                let unsafe_in_plain = text.contains(": ") || text.contains(" #") || text.ends_with(':');
                (!(text.contains('\n') || self == Form::YamlPlain && unsafe_in_plain)).then(|| text.to_string())
            }
            Form::YamlSingle => (!text.contains('\n')).then(|| text.replace('\'', "''")),
            Form::YamlDouble => Some(json_escape(text)),
            Form::Json => Some(json_escape(text)),
            Form::TerraformJson => Some(json_escape(&template(text))),
            Form::Interpolated => None,
        }
    }

    /// Whether the host keeps the text's lines as lines, so `fmt` may lay them out.
    pub fn holds_lines(self) -> bool {
        matches!(self, Form::Raw | Form::HclHeredoc { .. } | Form::HclTemplate | Form::YamlLiteral { .. })
    }
}

/// Every line after the first indented by `indent` spaces, empty lines left empty.
fn indent_lines(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
    }
    out
}

/// The inside of a JSON string for `text` (also valid in a YAML double-quoted scalar).
fn json_escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("a string always serializes");
    quoted[1..quoted.len() - 1].to_string()
}

/// Where a stretch of text was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Copied byte for byte from the host at this offset.
    Verbatim {
        /// The host file.
        file: FileId,
        /// Where the bytes start there.
        at: usize,
    },
    /// Written as these host bytes: an escape such as `\"`, a line break folded away.
    Escaped {
        /// The host file.
        file: FileId,
        /// The host bytes.
        span: Range<usize>,
    },
    /// Something warden cannot resolve (an interpolation such as `${var.team}`): the text holds
    /// a filler in its place, and nothing found on the filler is reported.
    Opaque {
        /// The host file.
        file: FileId,
        /// The host bytes it stands for.
        span: Range<usize>,
        /// What they are, as written.
        what: Arc<str>,
    },
}

impl Origin {
    fn file(&self) -> FileId {
        match self {
            Origin::Verbatim { file, .. } | Origin::Escaped { file, .. } | Origin::Opaque { file, .. } => *file,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Where the piece starts in the text; it ends where the next one starts.
    start: usize,
    origin: Origin,
    form: Form,
}

/// A part of a text that stands for something warden could not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaquePart {
    /// The filler's range in the text.
    pub text: Range<usize>,
    /// The host file.
    pub file: FileId,
    /// The host bytes it stands for.
    pub span: Range<usize>,
    /// What it is, as the host wrote it (`${var.team}`).
    pub what: Arc<str>,
}

/// A text with the origin of every byte.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traced {
    text: String,
    pieces: Vec<Piece>,
}

impl Traced {
    /// An empty text.
    pub fn new() -> Traced {
        Traced::default()
    }

    /// A whole host text, byte for byte.
    pub fn verbatim(text: &str, file: FileId, at: usize, form: Form) -> Traced {
        let mut traced = Traced::new();
        traced.push_verbatim(text, file, at, form);
        traced
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    fn push(&mut self, text: &str, origin: Origin, form: Form) {
        if text.is_empty() {
            return;
        }
        if let (Some(last), Origin::Verbatim { file, at }) = (self.pieces.last(), &origin) {
            let joins = match &last.origin {
                Origin::Verbatim { file: last_file, at: last_at } => {
                    last_file == file && last_at + (self.text.len() - last.start) == *at && last.form == form
                }
                _ => false,
            };
            if joins {
                self.text.push_str(text);
                return;
            }
        }
        self.pieces.push(Piece { start: self.text.len(), origin, form });
        self.text.push_str(text);
    }

    /// Appends host bytes copied as they are.
    pub fn push_verbatim(&mut self, text: &str, file: FileId, at: usize, form: Form) {
        self.push(text, Origin::Verbatim { file, at }, form);
    }

    /// Appends text that the host writes as the bytes `span` (an escape sequence).
    pub fn push_escaped(&mut self, text: &str, file: FileId, span: Range<usize>, form: Form) {
        self.push(text, Origin::Escaped { file, span }, form);
    }

    /// Appends a filler standing for host bytes warden cannot resolve.
    pub fn push_opaque(&mut self, filler: &str, file: FileId, span: Range<usize>, what: &str) {
        self.push(filler, Origin::Opaque { file, span, what: what.into() }, Form::Raw);
    }

    /// Appends another traced text.
    pub fn append(&mut self, other: &Traced) {
        for (i, piece) in other.pieces.iter().enumerate() {
            let end = other.pieces.get(i + 1).map_or(other.text.len(), |next| next.start);
            self.push(&other.text[piece.start..end], piece.origin.clone(), piece.form);
        }
    }

    /// Appends `range` of another traced text, keeping the origins of its bytes.
    pub fn append_range(&mut self, other: &Traced, range: Range<usize>) {
        let mut index = other.piece_at(range.start);
        while let Some(piece) = other.pieces.get(index) {
            let end = other.pieces.get(index + 1).map_or(other.text.len(), |next| next.start);
            let (from, to) = (piece.start.max(range.start), end.min(range.end));
            if from >= range.end {
                break;
            }
            let origin = match &piece.origin {
                Origin::Verbatim { file, at } => Origin::Verbatim { file: *file, at: at + (from - piece.start) },
                other => other.clone(),
            };
            self.push(&other.text[from..to], origin, piece.form);
            index += 1;
        }
    }

    /// Appends `text` written as `range` of another traced text (an escape undone on a text
    /// that was decoded once already, as JSON inside `.tf.json`).
    pub fn append_escaped_from(&mut self, text: &str, other: &Traced, range: Range<usize>) {
        let Some((file, span)) = other.host_span(range.clone()) else { return };
        let form = other.pieces[other.piece_at(range.start)].form;
        self.push_escaped(text, file, span, form);
    }

    /// The piece holding text offset `offset` (the last piece for the end of the text).
    fn piece_at(&self, offset: usize) -> usize {
        self.pieces.partition_point(|piece| piece.start <= offset).saturating_sub(1)
    }

    fn piece_end(&self, index: usize) -> usize {
        self.pieces.get(index + 1).map_or(self.text.len(), |next| next.start)
    }

    /// The host file and offset of text offset `offset`.
    pub fn locate(&self, offset: usize) -> Option<(FileId, usize)> {
        let piece = self.pieces.get(self.piece_at(offset))?;
        Some(match &piece.origin {
            Origin::Verbatim { file, at } => (*file, at + offset.saturating_sub(piece.start)),
            Origin::Escaped { file, span } | Origin::Opaque { file, span, .. } => {
                (*file, if offset >= self.piece_end(self.piece_at(offset)) { span.end } else { span.start })
            }
        })
    }

    /// The host span of a text range, when it lies in one host file.
    pub fn host_span(&self, range: Range<usize>) -> Option<(FileId, Range<usize>)> {
        let (file, start) = self.locate(range.start)?;
        if range.is_empty() {
            return Some((file, start..start));
        }
        let last = self.piece_at(range.end - 1);
        let piece = &self.pieces[last];
        let end = match &piece.origin {
            Origin::Verbatim { at, .. } => at + (range.end - piece.start),
            Origin::Escaped { span, .. } | Origin::Opaque { span, .. } => span.end,
        };
        (piece.origin.file() == file && end >= start).then_some((file, start..end))
    }

    /// Whether any byte of `range` (or, for an empty range, the byte at it) is a filler.
    pub fn touches_opaque(&self, range: &Range<usize>) -> bool {
        self.opaque().any(|part| part.text.start <= range.end && range.start <= part.text.end)
    }

    /// The parts of the text that stand for something unresolved.
    pub fn opaque(&self) -> impl Iterator<Item = OpaquePart> + '_ {
        self.pieces.iter().enumerate().filter_map(|(i, piece)| match &piece.origin {
            Origin::Opaque { file, span, what } => Some(OpaquePart {
                text: piece.start..self.piece_end(i),
                file: *file,
                span: span.clone(),
                what: what.clone(),
            }),
            _ => None,
        })
    }

    /// The string form of the whole text, when it is written in one.
    pub fn form(&self) -> Option<Form> {
        let form = self.pieces.first()?.form;
        self.pieces
            .iter()
            .all(|piece| piece.form == form && !matches!(piece.origin, Origin::Opaque { .. }))
            .then_some(form)
    }

    /// The files the text comes from, in order of first appearance.
    pub fn files(&self) -> Vec<FileId> {
        let mut files: Vec<FileId> = Vec::new();
        for piece in &self.pieces {
            if !files.contains(&piece.origin.file()) {
                files.push(piece.origin.file());
            }
        }
        files
    }

    /// A text edit as an edit of the host file, escaped for the host's string form. `None`
    /// when the edit touches a filler, spans two files or strings, or the form cannot hold it.
    pub fn host_edit(&self, edit: &Edit) -> Option<(FileId, Edit)> {
        if self.touches_opaque(&edit.span) {
            return None;
        }
        let first = self.piece_at(edit.span.start);
        let last = if edit.span.is_empty() { first } else { self.piece_at(edit.span.end - 1) };
        let form = self.pieces.get(first)?.form;
        if self.pieces[first..=last].iter().any(|piece| piece.form != form) {
            return None;
        }
        let (file, span) = self.host_span(edit.span.clone())?;
        Some((file, Edit { span, replacement: form.escape(&edit.replacement)? }))
    }

    /// Cuts the text at `len` (a char boundary), dropping what follows.
    pub fn truncate(&mut self, len: usize) {
        self.text.truncate(len);
        self.pieces.retain(|piece| piece.start < len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileId = FileId(0);

    #[test]
    fn escapes_map_to_their_host_bytes() {
        // host: `"k = \"v\""` at offset 10: the text `k = "v"`.
        let mut t = Traced::new();
        t.push_verbatim("k = ", F, 11, Form::HclQuoted);
        t.push_escaped("\"", F, 15..17, Form::HclQuoted);
        t.push_verbatim("v", F, 17, Form::HclQuoted);
        t.push_escaped("\"", F, 18..20, Form::HclQuoted);
        assert_eq!(t.text(), "k = \"v\"");
        assert_eq!(t.host_span(4..7), Some((F, 15..20)));
        assert_eq!(t.host_span(5..6), Some((F, 17..18)));
        assert_eq!(t.locate(7), Some((F, 20)));
        let edit = Edit { span: 4..5, replacement: "'".into() };
        assert_eq!(t.host_edit(&edit), Some((F, Edit { span: 15..17, replacement: "'".into() })));
        let edit = Edit { span: 0..0, replacement: "\"x\"".into() };
        assert_eq!(t.host_edit(&edit).unwrap().1.replacement, "\\\"x\\\"");
    }

    #[test]
    fn verbatim_runs_join_and_ranges_copy() {
        let mut t = Traced::new();
        t.push_verbatim("ALLOW ", F, 0, Form::Raw);
        t.push_verbatim("a:b:c;", F, 6, Form::Raw);
        assert_eq!(t.pieces.len(), 1);
        let mut u = Traced::new();
        u.append_range(&t, 6..11);
        assert_eq!(u.text(), "a:b:c");
        assert_eq!(u.host_span(0..5), Some((F, 6..11)));
    }

    #[test]
    fn fillers_are_opaque() {
        let mut t = Traced::new();
        t.push_verbatim("k = \"", F, 0, Form::HclHeredoc { indent: 2 });
        t.push_opaque("opaque", F, 5..17, "${var.team}");
        t.push_verbatim("\";", F, 17, Form::HclHeredoc { indent: 2 });
        assert!(t.touches_opaque(&(7..8)));
        assert!(!t.touches_opaque(&(0..3)));
        assert_eq!(t.host_span(5..11), Some((F, 5..17)));
        let parts: Vec<_> = t.opaque().collect();
        assert_eq!(parts[0].text, 5..11);
        assert_eq!(&*parts[0].what, "${var.team}");
        assert!(t.host_edit(&Edit { span: 6..8, replacement: String::new() }).is_none());
        let newline = Edit { span: 0..0, replacement: "\nALLOW\n\n".into() };
        assert_eq!(t.host_edit(&newline).unwrap().1.replacement, "\n  ALLOW\n\n");
    }

    #[test]
    fn forms_escape_what_they_must() {
        assert_eq!(Form::HclQuoted.escape("${bindParam:x} \"a\\b\"").unwrap(), "$${bindParam:x} \\\"a\\\\b\\\"");
        assert_eq!(Form::YamlSingle.escape("it's").unwrap(), "it''s");
        assert_eq!(Form::YamlPlain.escape("a\nb"), None);
        assert_eq!(Form::YamlPlain.escape("k: v"), None);
        assert_eq!(Form::TerraformJson.escape("\"${x}\"").unwrap(), "\\\"$${x}\\\"");
    }
}
