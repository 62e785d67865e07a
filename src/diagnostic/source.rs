use std::ops::Range;

/// A named text with a line index, so byte offsets can be turned into 1-based lines and
/// character columns (decisions D7).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        SourceFile { name: name.into(), text, line_starts }
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let before = &self.text[self.line_starts[line]..offset];
        let column = if before.is_ascii() { before.len() } else { before.chars().count() };
        (line + 1, column + 1)
    }

    /// The byte range of the 1-based line `line`, without its line break.
    pub fn line_span(&self, line: usize) -> Range<usize> {
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).map_or(self.text.len(), |&next| next - 1);
        let end = if end > start && self.text.as_bytes()[end - 1] == b'\r' { end - 1 } else { end };
        start..end
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}
