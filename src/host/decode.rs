//! Undoing each host's string forms while keeping the origin of every byte: HCL escapes and
//! heredoc indentation, YAML block and flow scalars, JSON strings. Every decoding is checked
//! against the value the host's own parser produced; where they disagree the text keeps the
//! parser's value and points at the string as a whole, so a position is coarse, never wrong.

use std::ops::Range;

use super::traced::{FileId, Form, Traced};

/// The decoded text when it is the parser's value (or starts with it: YAML chomping drops
/// trailing line breaks), else the value as one piece pointing at the whole host span.
pub fn checked(mut decoded: Traced, expected: &str, file: FileId, span: Range<usize>, form: Form) -> Traced {
    if decoded.text() == expected {
        return decoded;
    }
    if decoded.text().starts_with(expected) {
        decoded.truncate(expected.len());
        return decoded;
    }
    let mut whole = Traced::new();
    whole.push_escaped(expected, file, span, form);
    whole
}

/// Copies `host[from..to]` verbatim, then the decoded `text` of the escape `host[to..end]`.
struct Decoder<'a> {
    host: &'a str,
    file: FileId,
    form: Form,
    out: Traced,
    /// Start of the verbatim run not yet copied.
    run: usize,
}

impl<'a> Decoder<'a> {
    fn new(host: &'a str, file: FileId, form: Form, at: usize) -> Decoder<'a> {
        Decoder { host, file, form, out: Traced::new(), run: at }
    }

    fn flush(&mut self, to: usize) {
        if to > self.run {
            self.out.push_verbatim(&self.host[self.run..to], self.file, self.run, self.form);
        }
        self.run = self.run.max(to);
    }

    /// `text` written as `host[at..end]`.
    fn escape(&mut self, text: &str, at: usize, end: usize) {
        self.flush(at);
        self.out.push_escaped(text, self.file, at..end, self.form);
        self.run = end;
    }

    /// Skips `host[at..end]` (indentation): nothing of the text comes from it.
    fn skip(&mut self, at: usize, end: usize) {
        self.flush(at);
        self.run = end;
    }

    fn finish(mut self, end: usize) -> Traced {
        self.flush(end);
        self.out
    }
}

/// The `$${` and `%%{` escapes of HCL templates, at `host[at..]`: the text and the length.
fn template_escape(rest: &str) -> Option<(&'static str, usize)> {
    if rest.starts_with("$${") {
        Some(("${", 3))
    } else if rest.starts_with("%%{") {
        Some(("%{", 3))
    } else {
        None
    }
}

/// A literal part of an HCL quoted string: `\n \r \t \" \\ \uNNNN \UNNNNNNNN`, `$${`, `%%{`.
pub fn hcl_quoted(host: &str, span: Range<usize>, file: FileId) -> Traced {
    let mut decoder = Decoder::new(host, file, Form::HclQuoted, span.start);
    let mut at = span.start;
    while at < span.end {
        let rest = &host[at..span.end];
        let escape: Option<(String, usize)> = match rest.as_bytes()[0] {
            b'\\' => match rest.as_bytes().get(1) {
                Some(b'n') => Some(("\n".into(), 2)),
                Some(b'r') => Some(("\r".into(), 2)),
                Some(b't') => Some(("\t".into(), 2)),
                Some(b'"') => Some(("\"".into(), 2)),
                Some(b'\\') => Some(("\\".into(), 2)),
                Some(b'u') => unicode(rest, 4),
                Some(b'U') => unicode(rest, 8),
                _ => None,
            },
            b'$' | b'%' => template_escape(rest).map(|(text, len)| (text.to_string(), len)),
            _ => None,
        };
        match escape {
            Some((text, len)) => {
                decoder.escape(&text, at, at + len);
                at += len;
            }
            None => at += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    decoder.finish(span.end)
}

/// `\u` followed by `digits` hex digits.
fn unicode(rest: &str, digits: usize) -> Option<(String, usize)> {
    let hex = rest.get(2..2 + digits)?;
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((c.to_string(), 2 + digits))
}

/// A literal part of a heredoc (or of a template file): lines lose `indent` leading
/// characters (`<<-`), `$${` and `%%{` are escapes, CRLF reads as LF. `at_line_start` says
/// whether the part begins a line (it does not after an interpolation).
pub fn heredoc(host: &str, span: Range<usize>, file: FileId, indent: usize, at_line_start: bool, form: Form) -> Traced {
    let mut decoder = Decoder::new(host, file, form, span.start);
    let mut line_start = at_line_start;
    let mut at = span.start;
    while at < span.end {
        if line_start {
            line_start = false;
            let line_end = host[at..span.end].find('\n').map_or(span.end, |i| at + i);
            let line = host[at..line_end].trim_end_matches('\r');
            if !line.is_empty() && indent > 0 {
                let skip: usize = line.chars().take(indent).map(char::len_utf8).sum();
                decoder.skip(at, at + skip);
                at += skip;
                continue;
            }
        }
        // Jump to the next byte that can matter: an escape, a line break.
        let Some(next) = host.as_bytes()[at..span.end].iter().position(|b| matches!(b, b'$' | b'%' | b'\r' | b'\n'))
        else {
            break;
        };
        at += next;
        let rest = &host[at..span.end];
        if let Some((text, len)) = template_escape(rest) {
            decoder.escape(text, at, at + len);
            at += len;
        } else if rest.starts_with("\r\n") {
            decoder.escape("\n", at, at + 2);
            at += 2;
            line_start = true;
        } else {
            at += 1;
            line_start = rest.starts_with('\n');
        }
    }
    decoder.finish(span.end)
}

/// A JSON string literal, quotes included in `span`.
pub fn json_string(host: &str, span: Range<usize>, file: FileId, form: Form) -> Traced {
    let (start, end) = (span.start + 1, span.end.saturating_sub(1).max(span.start + 1));
    let mut decoder = Decoder::new(host, file, form, start);
    let mut at = start;
    while at < end {
        let rest = &host[at..end];
        if !rest.starts_with('\\') {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let simple = match rest.as_bytes().get(1) {
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'/') => Some('/'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            Some(b't') => Some('\t'),
            _ => None,
        };
        let (c, len) = match simple {
            Some(c) => (Some(c), 2),
            None => json_unicode(rest),
        };
        match c {
            Some(c) => {
                decoder.escape(&c.to_string(), at, at + len);
                at += len;
            }
            None => at += 1,
        }
    }
    decoder.finish(end)
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`.
fn json_unicode(rest: &str) -> (Option<char>, usize) {
    let unit = |from: usize| {
        rest.get(from..from + 2)
            .filter(|p| *p == "\\u")
            .and_then(|_| rest.get(from + 2..from + 6))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    match unit(0) {
        Some(high @ 0xD800..=0xDBFF) => match unit(6) {
            Some(low @ 0xDC00..=0xDFFF) => (char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), 12),
            _ => (None, 6),
        },
        Some(code) => (char::from_u32(code), 6),
        None => (None, 2),
    }
}

/// The lines of a YAML block scalar whose first content character is at `start`, indented by
/// `indent` columns: for each line, its content range in the host and its line break.
fn block_lines(host: &str, start: usize, end: usize, indent: usize) -> Vec<(Range<usize>, Range<usize>)> {
    let mut lines = Vec::new();
    let mut at = start;
    let mut first = true;
    while at < end.min(host.len()) {
        let line_end = host[at..].find('\n').map_or(host.len(), |i| at + i);
        let content_end = if host[at..line_end].ends_with('\r') { line_end - 1 } else { line_end };
        let break_end = (line_end + 1).min(host.len());
        let content_start = if first {
            at
        } else {
            let spaces = host[at..content_end].bytes().take_while(|b| *b == b' ').count();
            if spaces < indent && spaces < content_end - at {
                break;
            }
            at + spaces.min(indent)
        };
        first = false;
        lines.push((content_start..content_end, content_end..break_end));
        at = break_end;
    }
    lines
}

/// A YAML literal block scalar (`|`): lines kept, indentation removed.
pub fn yaml_literal(host: &str, start: usize, end: usize, indent: usize, file: FileId) -> Traced {
    let form = Form::YamlLiteral { indent };
    let mut out = Traced::new();
    for (content, line_break) in block_lines(host, start, end, indent) {
        out.push_verbatim(&host[content.clone()], file, content.start, form);
        if !line_break.is_empty() {
            out.push_escaped("\n", file, line_break, form);
        }
    }
    out
}

/// A YAML folded block scalar (`>`): a line break between two text lines becomes a space,
/// empty lines become line breaks; more-indented lines keep theirs.
pub fn yaml_folded(host: &str, start: usize, end: usize, indent: usize, file: FileId) -> Traced {
    let form = Form::YamlFolded;
    let lines = block_lines(host, start, end, indent);
    let mut out = Traced::new();
    let mut i = 0;
    while i < lines.len() {
        let (content, line_break) = &lines[i];
        out.push_verbatim(&host[content.clone()], file, content.start, form);
        let mut j = i + 1;
        while j < lines.len() && lines[j].0.is_empty() {
            j += 1;
        }
        let text_line =
            |k: usize| lines.get(k).is_some_and(|(c, _)| !c.is_empty() && !host[c.clone()].starts_with(' '));
        let breaks = j - i - 1;
        if j < lines.len() && text_line(i) && text_line(j) && breaks == 0 {
            out.push_escaped(" ", file, line_break.start..lines[j].0.start, form);
        } else if j < lines.len() && text_line(i) && text_line(j) {
            for (_, empty_break) in &lines[i + 1..j] {
                out.push_escaped("\n", file, empty_break.clone(), form);
            }
        } else {
            out.push_escaped("\n", file, line_break.clone(), form);
            for (_, empty_break) in &lines[i + 1..j] {
                out.push_escaped("\n", file, empty_break.clone(), form);
            }
        }
        i = j;
    }
    out
}

/// The three YAML flow scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Plain,
    Single,
    Double,
}

/// A YAML flow scalar (`span` includes the quotes): line breaks fold into spaces, empty lines
/// into line breaks, escapes (`''`, or backslashes in double quotes) are undone.
pub fn yaml_flow(host: &str, span: Range<usize>, file: FileId, flow: Flow) -> Traced {
    let form = match flow {
        Flow::Plain => Form::YamlPlain,
        Flow::Single => Form::YamlSingle,
        Flow::Double => Form::YamlDouble,
    };
    let (start, end) = match flow {
        Flow::Plain => (span.start, span.end),
        _ => (span.start + 1, span.end.saturating_sub(1).max(span.start + 1)),
    };
    let mut decoder = Decoder::new(host, file, form, start);
    let mut at = start;
    while at < end {
        let rest = &host[at..end];
        let c = rest.chars().next().expect("inside the span");
        if c == '\n' || rest.starts_with("\r\n") {
            // Fold: trailing blanks of this line, the break, empty lines, leading blanks.
            let trailing = decoder_trailing_blanks(host, decoder.run, at);
            let mut next = at;
            let mut breaks = 0;
            loop {
                let line_break = if host[next..end].starts_with("\r\n") { 2 } else { 1 };
                next += line_break;
                breaks += 1;
                next += host[next..end].bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
                if !(host[next..end].starts_with('\n') || host[next..end].starts_with("\r\n")) {
                    break;
                }
            }
            let folded = if breaks == 1 { " ".to_string() } else { "\n".repeat(breaks - 1) };
            decoder.escape(&folded, trailing, next);
            at = next;
            continue;
        }
        match (flow, c) {
            (Flow::Single, '\'') if rest.starts_with("''") => {
                decoder.escape("'", at, at + 2);
                at += 2;
            }
            (Flow::Double, '\\') => {
                let after = &rest[1..];
                if after.starts_with('\n') || after.starts_with("\r\n") {
                    // A line continuation: no space, and the next line's leading blanks go too.
                    let mut next = at + 1 + if after.starts_with('\n') { 1 } else { 2 };
                    next += host[next..end].bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
                    decoder.skip(at, next);
                    at = next;
                } else {
                    let (text, len) = yaml_escape(after);
                    match text {
                        Some(text) => decoder.escape(&text, at, at + 1 + len),
                        None => decoder.skip(at, at + 1 + len),
                    }
                    at += 1 + len;
                }
            }
            _ => at += c.len_utf8(),
        }
    }
    decoder.finish(end)
}

/// Where the blanks before a line break at `at` start (not before `floor`).
fn decoder_trailing_blanks(host: &str, floor: usize, at: usize) -> usize {
    let mut start = at;
    while start > floor && matches!(host.as_bytes()[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    start
}

/// A YAML double-quoted escape after its backslash: the text and the length consumed.
fn yaml_escape(after: &str) -> (Option<String>, usize) {
    let Some(c) = after.chars().next() else { return (None, 0) };
    let simple = match c {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(s) = simple {
        return (Some(s.to_string()), c.len_utf8());
    }
    let digits = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return (None, c.len_utf8()),
    };
    let code = after.get(1..1 + digits).and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32);
    (code.map(String::from), 1 + digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileId = FileId(0);

    /// Decodes `host[span]` and checks that every text byte maps back to the host byte that
    /// shows it, where the two are the same character.
    fn positions_hold(host: &str, traced: &Traced) {
        for (offset, c) in traced.text().char_indices() {
            let (_, span) = traced.host_span(offset..offset + c.len_utf8()).unwrap();
            let shown = &host[span.clone()];
            if shown.chars().count() == 1 {
                assert_eq!(shown, c.to_string(), "text offset {offset} maps to {span:?}");
            }
        }
    }

    #[test]
    fn hcl_quoted_escapes() {
        let host = r#"x = "ALLOW a:b:c WHERE k = \"$${bindParam:t}\" AND é = \"\u00e9\";""#;
        let span = 5..host.len() - 1;
        let t = hcl_quoted(host, span, F);
        assert_eq!(t.text(), "ALLOW a:b:c WHERE k = \"${bindParam:t}\" AND é = \"é\";");
        positions_hold(host, &t);
        let at = t.text().find("${").unwrap();
        assert_eq!(t.host_span(at..at + 2), Some((F, host.find("$${").unwrap()..host.find("$${").unwrap() + 3)));
    }

    #[test]
    fn heredoc_indentation() {
        let host = "q = <<-EOT\n    ALLOW a:b:c\n      WHERE k = \"$${bindParam:t}\";\n\n    DENY x:y:z;\n    EOT\n";
        let start = host.find("    ALLOW").unwrap();
        let end = host.rfind("    EOT").unwrap();
        let t = heredoc(host, start..end, F, 4, true, Form::HclHeredoc { indent: 4 });
        assert_eq!(t.text(), "ALLOW a:b:c\n  WHERE k = \"${bindParam:t}\";\n\nDENY x:y:z;\n");
        positions_hold(host, &t);
        let deny = t.text().find("DENY").unwrap();
        assert_eq!(t.locate(deny), Some((F, host.find("DENY").unwrap())));
    }

    #[test]
    fn yaml_blocks_and_flows() {
        let host = "policy: |-\n  ALLOW a:b:c;\n\n    DENY x:y:z;\nnext: 1\n";
        let start = host.find("ALLOW").unwrap();
        let t = yaml_literal(host, start, host.find("next").unwrap(), 2, F);
        let t = checked(t, "ALLOW a:b:c;\n\n  DENY x:y:z;", F, start..start, Form::YamlLiteral { indent: 2 });
        assert_eq!(t.text(), "ALLOW a:b:c;\n\n  DENY x:y:z;");
        positions_hold(host, &t);

        let host = "q: ALLOW a:b:c\n   WHERE k = \"v\";\n";
        let span = 3..host.len() - 1;
        let t = yaml_flow(host, span, F, Flow::Plain);
        assert_eq!(t.text(), "ALLOW a:b:c WHERE k = \"v\";");
        positions_hold(host, &t);

        let host = "q: \"ALLOW a:b:c WHERE k = \\\"v\\u00e9\\\"\\\n  ;\"\n";
        let span = 3..host.len() - 1;
        let t = yaml_flow(host, span, F, Flow::Double);
        assert_eq!(t.text(), "ALLOW a:b:c WHERE k = \"vé\";");
        positions_hold(host, &t);

        let host = "q: 'it''s'";
        let t = yaml_flow(host, 3..host.len(), F, Flow::Single);
        assert_eq!(t.text(), "it's");
    }

    #[test]
    fn json_escapes() {
        let host = r#"{"statementQuery": "ALLOW a:b:c WHERE k = \"v\u00e9\ud83d\ude00\";"}"#;
        let start = host.find("\"ALLOW").unwrap();
        let end = host.rfind('"').unwrap() + 1;
        let t = json_string(host, start..end, F, Form::Json);
        assert_eq!(t.text(), "ALLOW a:b:c WHERE k = \"vé😀\";");
        positions_hold(host, &t);
    }

    #[test]
    fn a_decoding_that_disagrees_points_at_the_whole_string() {
        let t = checked(Traced::verbatim("abc", F, 10, Form::Raw), "xyz", F, 9..14, Form::YamlFolded);
        assert_eq!(t.text(), "xyz");
        assert_eq!(t.host_span(1..2), Some((F, 9..14)));
    }
}
