//! A named text and its line index: byte offsets to lines and character columns.

/// Every this many bytes the index remembers how many characters came before, so a column on a
/// long non-ASCII line costs a bounded count, never a scan from the line's start.
const CHECKPOINT: usize = 1024;

/// A named text with a line index, so byte offsets can be turned into 1-based lines and
/// character columns (decisions D7).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name diagnostics show: a path, or `builtin:<stem>`.
    pub name: String,
    /// The whole text.
    pub text: String,
    line_starts: Vec<usize>,
    /// `(byte offset, characters before it)` at char boundaries about every [`CHECKPOINT`] bytes;
    /// empty for an ASCII text, where both counts are the same.
    checkpoints: Vec<(usize, usize)>,
}

impl SourceFile {
    /// Indexes the lines of `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        let mut checkpoints = Vec::new();
        if !text.is_ascii() {
            let mut next = 0;
            for (count, (at, _)) in text.char_indices().enumerate() {
                if at >= next {
                    checkpoints.push((at, count));
                    next = at + CHECKPOINT;
                }
            }
        }
        SourceFile { name: name.into(), text, line_starts, checkpoints }
    }

    /// How many characters stand before a byte offset.
    fn chars_before(&self, offset: usize) -> usize {
        if self.checkpoints.is_empty() {
            return offset;
        }
        let (at, count) = self.checkpoints[self.checkpoints.partition_point(|&(at, _)| at <= offset) - 1];
        count + self.text[at..offset].chars().count()
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        (line + 1, self.chars_before(offset) - self.chars_before(self.line_starts[line]) + 1)
    }
}
