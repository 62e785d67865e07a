//! The canonical layout (`warden fmt`): keywords as language.md §2 prints them, one statement
//! per line, long statements broken into one permission per line and indented `WHERE`/`AND`
//! lines, comments kept beside what they followed, values re-quoted with `"` where no escape
//! is needed.

use super::ast::*;
use super::parser::parse;

/// The longest line the formatter writes before it breaks a statement up.
const WIDTH: usize = 100;
const INDENT: &str = "  ";

const WEEK_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Formats a text of the given kind. `None` when it has syntax errors: a broken file is never
/// rewritten.
pub fn format(text: &str, kind: Kind) -> Option<String> {
    let parsed = parse(text, kind);
    if parsed.has_errors() {
        return None;
    }
    Some(Printer { text, document: &parsed.document, out: String::new() }.print(kind))
}

/// One line of output under construction: its text and the comments that end up beside it.
struct Line {
    text: String,
    comments: Vec<String>,
}

impl Line {
    fn new(text: String) -> Line {
        Line { text, comments: Vec::new() }
    }
}

struct Printer<'a> {
    text: &'a str,
    document: &'a Document,
    out: String,
}

impl Printer<'_> {
    fn print(mut self, kind: Kind) -> String {
        // Items in source order: (start, end, printer).
        let items: Vec<(Span, usize)> = match kind {
            Kind::Policy => self.document.statements.iter().enumerate().map(|(i, s)| (s.span.clone(), i)).collect(),
            Kind::Boundary => {
                self.document.boundary.iter().enumerate().map(|(i, (c, _))| (c.span.clone(), i)).collect()
            }
        };
        let comments = &self.document.comments;
        let mut next_comment = 0;
        let mut previous_end: Option<usize> = None;
        for (span, index) in &items {
            while next_comment < comments.len() && comments[next_comment].span.start < span.start {
                let comment = &comments[next_comment];
                self.separate(previous_end, comment.span.start);
                self.out.push_str(&format!("//{}\n", comment.text));
                previous_end = Some(comment.span.end);
                next_comment += 1;
            }
            self.separate(previous_end, span.start);
            let end = self.item_end(kind, *index);
            let mut inner = Vec::new();
            while next_comment < comments.len() && comments[next_comment].span.start < end {
                inner.push(&comments[next_comment]);
                next_comment += 1;
            }
            let mut lines = match kind {
                Kind::Policy => self.statement(&self.document.statements[*index], &inner),
                Kind::Boundary => self.boundary_condition(&self.document.boundary[*index].0, &inner),
            };
            // A comment after the item on the same line stays on its last line.
            let mut item_end = end;
            if let Some(comment) = comments
                .get(next_comment)
                .filter(|c| !c.own_line && self.text[end..c.span.start].chars().all(|ch| ch == ' ' || ch == '\t'))
            {
                lines.last_mut().expect("an item prints at least one line").comments.push(comment.text.clone());
                item_end = comment.span.end;
                next_comment += 1;
            }
            for line in lines {
                self.push_line(line);
            }
            previous_end = Some(item_end);
        }
        for comment in &comments[next_comment..] {
            self.separate(previous_end, comment.span.start);
            self.out.push_str(&format!("//{}\n", comment.text));
            previous_end = Some(comment.span.end);
        }
        self.out
    }

    /// The end of an item including its `;`.
    fn item_end(&self, kind: Kind, index: usize) -> usize {
        match kind {
            Kind::Policy => self.document.statements[index].span.end,
            Kind::Boundary => {
                let (condition, terminated) = &self.document.boundary[index];
                if *terminated {
                    self.text[condition.span.end..].find(';').map_or(condition.span.end, |i| condition.span.end + i + 1)
                } else {
                    condition.span.end
                }
            }
        }
    }

    /// Keeps one blank line where the source had at least one.
    fn separate(&mut self, previous_end: Option<usize>, next_start: usize) {
        if let Some(end) = previous_end {
            if self.text[end..next_start].matches('\n').count() >= 2 {
                self.out.push('\n');
            }
        }
    }

    fn push_line(&mut self, line: Line) {
        let mut comments = line.comments.into_iter();
        self.out.push_str(&line.text);
        if let Some(first) = comments.next() {
            self.out.push_str(&format!("  //{first}"));
        }
        self.out.push('\n');
        // Further comments go on lines of their own, at the margin: indenting them would not
        // survive a second pass where they stand after the `;`.
        for comment in comments {
            self.out.push_str(&format!("//{comment}\n"));
        }
    }

    fn statement(&self, statement: &Statement, inner: &[&Comment]) -> Vec<Line> {
        let permissions: Vec<&str> = statement.permissions.iter().map(|p| &*p.text).collect();
        let conditions: Vec<String> = statement.conditions().iter().map(condition).collect();
        let where_text = match &statement.where_clause {
            None => String::new(),
            Some(Where::Null(_)) => " WHERE null".to_string(),
            Some(Where::Conditions(_)) => format!(" WHERE {}", conditions.join(" AND ")),
        };
        let head = format!("{} {}", statement.effect.keyword(), permissions.join(", "));
        let one_line = format!("{head}{where_text};");
        if inner.is_empty() && one_line.chars().count() <= WIDTH {
            return vec![Line::new(one_line)];
        }

        // Anchors: the span end of each printed element, with the line index it lands on.
        let mut lines = Vec::new();
        let mut anchors: Vec<(usize, usize)> = Vec::new();
        let permissions_have_comments =
            inner.iter().any(|c| statement.permissions.last().is_some_and(|p| c.span.start < p.span.end));
        if head.chars().count() <= WIDTH && !permissions_have_comments {
            anchors.push((statement.permissions.last().expect("a statement has a permission").span.end, 0));
            anchors.push((statement.effect_span.end, 0));
            lines.push(Line::new(head));
        } else {
            lines.push(Line::new(statement.effect.keyword().to_string()));
            anchors.push((statement.effect_span.end, 0));
            let last = permissions.len() - 1;
            for (i, permission) in statement.permissions.iter().enumerate() {
                let comma = if i < last { "," } else { "" };
                anchors.push((permission.span.end, lines.len()));
                lines.push(Line::new(format!("{INDENT}{}{comma}", permission.text)));
            }
        }
        match &statement.where_clause {
            None => {}
            Some(Where::Null(span)) => {
                anchors.push((span.end, lines.len()));
                lines.push(Line::new(format!("{INDENT}WHERE null")));
            }
            Some(Where::Conditions(list)) => {
                for (i, (c, text)) in list.iter().zip(&conditions).enumerate() {
                    let lead = if i == 0 { format!("{INDENT}WHERE ") } else { format!("{INDENT}{INDENT}AND ") };
                    anchors.push((c.span.end, lines.len()));
                    if i == 0 {
                        // A comment between `WHERE` and the first condition belongs to that line.
                        anchors.push((c.key.span.start, lines.len()));
                    }
                    lines.push(Line::new(format!("{lead}{text}")));
                }
            }
        }
        lines.last_mut().expect("at least the head line").text.push(';');
        attach(&mut lines, &anchors, inner);
        // Comments that all land after the `;` do not force the statement apart.
        let (last, before) = lines.split_last_mut().expect("at least the head line");
        if before.iter().all(|line| line.comments.is_empty()) && one_line.chars().count() <= WIDTH {
            let mut line = Line::new(one_line);
            line.comments = std::mem::take(&mut last.comments);
            return vec![line];
        }
        lines
    }

    fn boundary_condition(&self, c: &Condition, inner: &[&Comment]) -> Vec<Line> {
        let mut line = Line::new(format!("{};", condition(c)));
        line.comments.extend(inner.iter().map(|comment| comment.text.clone()));
        vec![line]
    }
}

/// Puts each inner comment beside the last element that ends before it.
fn attach(lines: &mut [Line], anchors: &[(usize, usize)], inner: &[&Comment]) {
    for comment in inner {
        let line = anchors
            .iter()
            .filter(|(end, _)| *end <= comment.span.start)
            .max_by_key(|(end, _)| *end)
            .map_or(0, |&(_, line)| line);
        lines[line].comments.push(comment.text.clone());
    }
}

/// One condition as the formatter writes it: `key OP value`.
pub fn condition(c: &Condition) -> String {
    let week_day = &*c.key.text == "global:week-day";
    let value = |s: &StringLit| quote(s, week_day);
    let operand = match &c.operand {
        Operand::Single(s) => value(s),
        Operand::List { items, .. } => format!("({})", items.iter().map(value).collect::<Vec<_>>().join(", ")),
    };
    format!("{} {} {}", c.key.text, c.operator, operand)
}

/// Writes a value back as a string literal: `"` unless the value holds `"` and no `'`.
fn quote(s: &StringLit, week_day: bool) -> String {
    let mut value = s.display_value();
    if week_day {
        if let Some(day) = WEEK_DAYS.iter().find(|day| day.eq_ignore_ascii_case(&value)) {
            value = day.to_string();
        }
    }
    let quote = if value.contains('"') && !value.contains('\'') { '\'' } else { '"' };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            // The text holds its escapes already (`\\`, `\*`).
            '\\' => {
                out.push(c);
                out.extend(chars.next());
            }
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push(quote);
    out
}
