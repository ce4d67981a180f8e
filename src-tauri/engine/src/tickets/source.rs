//! The lossless layer: the original text cut into line spans, plus the regions no structure is read from.
//!
//! Every byte of the input belongs to exactly one span (the BOM, then each line with its own ending), so
//! concatenating the spans gives the input back. Nothing here normalises anything.

use std::ops::Range;

/// One line of the file: `start..content_end` is its text, `content_end..end` its ending (`\n`, `\r\n` or
/// nothing on a last line without a final newline). Offsets index `Source::text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub content_end: usize,
    pub end: usize,
}

/// Why a line is opaque: no heading, ticket, field or checkbox is recognised in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opaque {
    No,
    /// A fence line or a line inside fenced code (``` or ~~~).
    Fence,
    /// Inside `<!-- … -->`.
    Comment,
    /// A YAML `---` or TOML `+++` block at the top of the file.
    FrontMatter,
}

#[derive(Debug, Clone)]
pub struct Source {
    /// The whole file, BOM included.
    pub text: String,
    /// Length of the BOM (0 or 3).
    pub bom: usize,
    pub lines: Vec<Line>,
    pub opaque: Vec<Opaque>,
    /// A fence was still open at the end of the file (line index of its opening).
    pub unclosed_fence: Option<usize>,
}

const BOM: &str = "\u{feff}";

impl Source {
    pub fn new(text: String) -> Source {
        let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
        let lines = split_lines(&text, bom);
        let mut src = Source {
            text,
            bom,
            lines,
            opaque: Vec::new(),
            unclosed_fence: None,
        };
        src.mark_opaque();
        src
    }

    /// The text of line `i` without its ending.
    pub fn line(&self, i: usize) -> &str {
        let l = self.lines[i];
        &self.text[l.start..l.content_end]
    }

    /// The ending of line `i` (`"\n"`, `"\r\n"` or `""`).
    pub fn ending(&self, i: usize) -> &str {
        let l = self.lines[i];
        &self.text[l.content_end..l.end]
    }

    /// Lines `r` with their endings, exactly as in the file.
    pub fn slice_lines(&self, r: Range<usize>) -> &str {
        if r.start >= r.end || r.start >= self.lines.len() {
            return "";
        }
        let end = r.end.min(self.lines.len());
        &self.text[self.lines[r.start].start..self.lines[end - 1].end]
    }

    pub fn is_opaque(&self, i: usize) -> bool {
        self.opaque[i] != Opaque::No
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The file rebuilt from its spans: BOM, then every line with its own ending.
    pub fn serialize(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        out.push_str(&self.text[..self.bom]);
        for l in &self.lines {
            out.push_str(&self.text[l.start..l.end]);
        }
        out
    }

    /// The line ending most lines use (`"\n"` when there is none).
    pub fn dominant_ending(&self) -> &'static str {
        let crlf = self
            .lines
            .iter()
            .filter(|l| l.end - l.content_end == 2)
            .count();
        let lf = self
            .lines
            .iter()
            .filter(|l| l.end - l.content_end == 1)
            .count();
        if crlf > lf {
            "\r\n"
        } else {
            "\n"
        }
    }

    pub fn has_final_newline(&self) -> bool {
        self.lines
            .last()
            .map(|l| l.end > l.content_end)
            .unwrap_or(false)
    }

    fn mark_opaque(&mut self) {
        let n = self.lines.len();
        let mut opaque = vec![Opaque::No; n];
        let mut i = 0;
        // Front matter: `---`/`+++` on line 1 closed by the same marker (or `...`) within 200 lines, with
        // `key: value`-looking content. Kept opaque; none was seen in real files but agents add it.
        if n > 1 {
            let first = self.line(0).trim_end();
            if first == "---" || first == "+++" {
                let limit = n.min(200);
                if let Some(close) = (1..limit).find(|&j| {
                    let t = self.line(j).trim_end();
                    t == first || (first == "---" && t == "...")
                }) {
                    let looks_like_keys = (1..close).all(|j| {
                        let t = self.line(j);
                        t.trim().is_empty()
                            || t.starts_with([' ', '\t', '-', '#'])
                            || t.contains(':')
                            || t.contains('=')
                    }) && close > 1;
                    if looks_like_keys {
                        for o in opaque.iter_mut().take(close + 1) {
                            *o = Opaque::FrontMatter;
                        }
                        i = close + 1;
                    }
                }
            }
        }
        let mut fence: Option<(char, usize, usize)> = None; // (char, run length, opening line)
        let mut in_comment = false;
        while i < n {
            let line = self.line(i);
            if let Some((ch, len, _)) = fence {
                opaque[i] = Opaque::Fence;
                if is_fence_close(line, ch, len) {
                    fence = None;
                }
                i += 1;
                continue;
            }
            if in_comment {
                opaque[i] = Opaque::Comment;
                if line.contains("-->") {
                    in_comment = false;
                }
                i += 1;
                continue;
            }
            if let Some((ch, len)) = fence_open(line) {
                opaque[i] = Opaque::Fence;
                fence = Some((ch, len, i));
                i += 1;
                continue;
            }
            let t = line.trim_start();
            if t.starts_with("<!--") && line.len() - t.len() <= 3 {
                opaque[i] = Opaque::Comment;
                if !t[4..].contains("-->") {
                    in_comment = true;
                }
            }
            i += 1;
        }
        self.unclosed_fence = fence.map(|(_, _, open)| open);
        self.opaque = opaque;
    }
}

fn split_lines(text: &str, from: usize) -> Vec<Line> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(bytes.len() / 40 + 1);
    let mut start = from;
    while start < bytes.len() {
        match memchr_nl(&bytes[start..]) {
            Some(off) => {
                let nl = start + off;
                let content_end = if nl > start && bytes[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                lines.push(Line {
                    start,
                    content_end,
                    end: nl + 1,
                });
                start = nl + 1;
            }
            None => {
                lines.push(Line {
                    start,
                    content_end: bytes.len(),
                    end: bytes.len(),
                });
                start = bytes.len();
            }
        }
    }
    lines
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Number of leading spaces (a tab counts as 4).
pub fn indent_width(line: &str) -> usize {
    let mut w = 0;
    for c in line.chars() {
        match c {
            ' ' => w += 1,
            '\t' => w += 4 - (w % 4),
            _ => break,
        }
    }
    w
}

/// An opening code fence: ``` or ~~~ (length ≥ 3). Any indentation is accepted, because fences inside
/// list items are indented; a backtick fence's info string may not contain a backtick.
pub fn fence_open(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start_matches([' ', '\t']);
    let ch = t.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let len = t.chars().take_while(|&c| c == ch).count();
    if len < 3 {
        return None;
    }
    let info = &t[len..];
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((ch, len))
}

fn is_fence_close(line: &str, ch: char, len: usize) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    let run = t.chars().take_while(|&c| c == ch).count();
    run >= len && t[run * ch.len_utf8()..].trim().is_empty()
}

/// An ATX heading: up to 3 spaces, 1–6 `#`, then a space/tab or the end of the line.
/// Returns the level and the byte range (within the line) of its text, without a closing `#` run.
pub fn atx_heading(line: &str) -> Option<(u8, Range<usize>)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let after = &rest[hashes..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let mut start = indent + hashes;
    let bytes = line.as_bytes();
    while start < line.len() && (bytes[start] == b' ' || bytes[start] == b'\t') {
        start += 1;
    }
    let mut end = line.len();
    while end > start && (bytes[end - 1] == b' ' || bytes[end - 1] == b'\t') {
        end -= 1;
    }
    // Optional closing sequence: a run of `#` preceded by a space.
    let mut k = end;
    while k > start && bytes[k - 1] == b'#' {
        k -= 1;
    }
    if k < end && (k == start || bytes[k - 1] == b' ' || bytes[k - 1] == b'\t') {
        end = k;
        while end > start && (bytes[end - 1] == b' ' || bytes[end - 1] == b'\t') {
            end -= 1;
        }
    }
    Some((hashes as u8, start..end.max(start)))
}

/// A list item marker: returns (indent width, byte offset where the item text starts, ordered?).
pub fn list_item(line: &str) -> Option<(usize, usize, bool)> {
    let ws = line.len() - line.trim_start_matches([' ', '\t']).len();
    let rest = &line[ws..];
    let b = rest.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (mlen, ordered) = if matches!(b[0], b'-' | b'*' | b'+') {
        (1, false)
    } else if b[0] == 0xE2 && rest.starts_with('•') {
        ('•'.len_utf8(), false)
    } else {
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 || digits >= b.len() || !matches!(b[digits], b'.' | b')') {
            return None;
        }
        (digits + 1, true)
    };
    let after = &rest[mlen..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    // `---`, `***` are thematic breaks, not items.
    if !ordered && is_thematic_break(line) {
        return None;
    }
    let text_off = ws + mlen + (after.len() - after.trim_start_matches([' ', '\t']).len());
    Some((indent_width(line), text_off, ordered))
}

pub fn is_thematic_break(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3
        && (t.chars().all(|c| c == '-')
            || t.chars().all(|c| c == '*')
            || t.chars().all(|c| c == '_'))
        && indent_width(line) <= 3
}

pub fn is_table_row(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('|') && indent_width(line) <= 3
}

pub fn is_table_delimiter(line: &str) -> bool {
    let t = line.trim();
    if !t.contains('-') {
        return false;
    }
    t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t')) && t.contains('|')
}

/// Splits a table row into cells, with each cell's byte range within the line (trimmed).
/// `|` inside backticks or escaped as `\|` does not split.
pub fn table_cells(line: &str) -> Vec<Range<usize>> {
    let mut cells = Vec::new();
    let bytes = line.as_bytes();
    let mut i = line.len() - line.trim_start().len();
    if i < bytes.len() && bytes[i] == b'|' {
        i += 1;
    }
    let mut start = i;
    let mut in_code = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'`' => in_code = !in_code,
            b'|' if !in_code => {
                cells.push(trim_range(line, start..i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = trim_range(line, start.min(line.len())..line.len());
    if !line[last.clone()].is_empty() {
        cells.push(last);
    }
    cells
}

pub fn trim_range(s: &str, r: Range<usize>) -> Range<usize> {
    let sub = &s[r.clone()];
    let lead = sub.len() - sub.trim_start().len();
    let trail = sub.len() - sub.trim_end().len();
    (r.start + lead)..(r.end - trail).max(r.start + lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_round_trip(input: &str) {
        let s = Source::new(input.to_string());
        assert_eq!(s.serialize(), input);
    }

    #[test]
    fn spans_cover_every_byte() {
        for input in [
            "",
            "\n",
            "a",
            "a\r\nb",
            "\u{feff}# T\r\n\r\n",
            "x\ny\n\n",
            "a\rb\n",
            "```\n# not\n",
        ] {
            check_round_trip(input);
        }
    }

    #[test]
    fn fences_are_opaque_and_unclosed_fence_runs_to_eof() {
        let s = Source::new("# A\n```sh\n# comment\n```\n# B\n~~~~\n# c\n~~~\n".into());
        let o: Vec<bool> = (0..s.len()).map(|i| s.is_opaque(i)).collect();
        assert_eq!(o, [false, true, true, true, false, true, true, true]);
        assert_eq!(s.unclosed_fence, Some(5));
    }

    #[test]
    fn headings() {
        assert_eq!(atx_heading("## T-1: x ##"), Some((2, 3..9)));
        assert_eq!(atx_heading("#1 tag"), None);
        assert_eq!(atx_heading("    # code"), None);
        assert_eq!(atx_heading("#"), Some((1, 1..1)));
        assert_eq!(atx_heading("run # Title"), None);
    }
}
