//! The handoff protocol: finds `## HANDOFF — Batch N Ready` and `## COMPLETE — Batch N Done` messages in an
//! agent's raw terminal output.
//!
//! Agents write these messages in markdown (see the seed), but Leapfrog sees them through a PTY: wrapped in
//! ANSI/VT escape sequences (colours, OSC titles, cursor moves), rendered by a TUI (Claude Code's `⏺` bullets and
//! `│ … │` box borders, markdown headings shown in bold without `##`), and repeated whenever the TUI redraws the
//! screen. [`HandoffScanner`] is fed the raw bytes in chunks of any size and emits each message once:
//!
//! 1. escape sequences are removed by a byte-level state machine (CSI, OSC, DCS/SOS/PM/APC strings, two-byte
//!    escapes); cursor movement to another row becomes a line break, cursor movement within a row a space;
//! 2. lines are decoded as UTF-8 lossily (terminal output may be invalid UTF-8) and stripped of TUI decoration;
//! 3. a header line opens a message; `Key: value` lines fill its fields, indented/list lines continue a field;
//!    the message closes at a blank line once its last field (`Verify command` / `Ready for`) is there, at the next
//!    header, after [`MAX_MESSAGE_LINES`] lines, or at [`HandoffScanner::finish`];
//! 4. a message is reported unless one with the same kind, batch and content (whitespace ignored) — or with
//!    all of its fields — was already reported; a still-incomplete message followed by a redraw (a header of
//!    itself or of a message already reported: streaming output) is dropped, the redraw shows it again.
//!
//! Limits (the scanner reads the byte stream, it does not emulate a screen): a full-screen program that wraps
//! a long line mid-word by moving the cursor (vim) gets its two halves joined with a space; a program that
//! updates a few cells of a row in place (a diff renderer) shows only those cells, as a line of their own.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::model::{Handoff, HandoffKind, VerifyResult};

/// A message with more lines than this is closed (protects against a header followed by endless output).
pub const MAX_MESSAGE_LINES: usize = 60;

/// A line longer than this many bytes is cut (a 50 MB capture without newlines must not grow one string).
const MAX_LINE_BYTES: usize = 16 * 1024;

/// Finds every handoff message in a complete capture (bytes of terminal output or markdown).
pub fn parse(bytes: &[u8]) -> Vec<Handoff> {
    let mut scanner = HandoffScanner::new();
    let mut found = scanner.feed(bytes);
    found.extend(scanner.finish());
    found
}

/// The text lines a capture shows once escape sequences and TUI decoration are removed (for diagnostics).
pub fn visible_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut stripper = Stripper::default();
    stripper.feed(bytes, &mut |raw| lines.push(clean_line(raw).text));
    if let Some(raw) = stripper.finish() {
        lines.push(clean_line(&raw).text);
    }
    lines
}

/// Incremental handoff finder: feed it the agent's output as it arrives, get each new message once.
#[derive(Debug, Default)]
pub struct HandoffScanner {
    stripper: Stripper,
    draft: Option<Draft>,
    /// Canonical forms of the messages reported so far.
    reported_keys: HashSet<String>,
    /// The messages reported so far, found by what they say (each check is a lookup, not a scan of
    /// every message: a capture holds tens of thousands of them).
    reported: Reported,
    /// Lines passed over without stripping them (see [`HandoffScanner::feed`]).
    passed_over: u64,
    /// Every line is stripped (for the tests that check that passing over changes nothing).
    strip_every_line: bool,
}

impl HandoffScanner {
    pub fn new() -> HandoffScanner {
        HandoffScanner::default()
    }

    /// Feeds a chunk of raw output (split anywhere, even inside an escape sequence or a UTF-8 character);
    /// returns the messages completed by it that were not reported before.
    ///
    /// Outside a message, whole lines that hold only text and control sequences that move nothing
    /// (colours: most of a build log) and that cannot be a header are passed over without being
    /// stripped (`passable_line`): stripping them would give a line that `HandoffScanner::line`
    /// ignores, and leave the stripper as it was, one row further down.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Handoff> {
        let mut out = Vec::new();
        let mut stripper = std::mem::take(&mut self.stripper);
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.draft.is_none() && stripper.at_line_start() && !self.strip_every_line {
                let mut lines = 0;
                while let Some(lf) = memchr::memchr(b'\n', rest) {
                    if !passable_line(&rest[..lf]) {
                        break;
                    }
                    lines += 1;
                    rest = &rest[lf + 1..];
                }
                stripper.passed_lines(lines);
                self.passed_over += lines as u64;
                if rest.is_empty() {
                    break;
                }
            }
            // Up to the end of the next line, stripped.
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |lf| lf + 1);
            stripper.feed(&rest[..end], &mut |raw| self.line(raw, &mut out));
            rest = &rest[end..];
        }
        self.stripper = stripper;
        out
    }

    /// Lines passed over so far without being stripped.
    pub fn passed_over(&self) -> u64 {
        self.passed_over
    }

    /// Ends the stream: the last line and any open message are completed.
    pub fn finish(&mut self) -> Vec<Handoff> {
        let mut out = Vec::new();
        if let Some(raw) = self.stripper.finish() {
            self.line(&raw, &mut out);
        }
        if let Some(draft) = self.draft.take() {
            self.close(draft, &mut out);
        }
        out
    }

    fn line(&mut self, raw: &[u8], out: &mut Vec<Handoff>) {
        // Outside a message only a header matters, and a header names its kind: most lines of a
        // flood are passed over here, without cleaning them or running the header's regex.
        if self.draft.is_none() && !mentions_kind(raw) {
            return;
        }
        let line = clean_line(raw);
        if let Some((kind, batch)) = header(&line.text) {
            if let Some(draft) = self.draft.take() {
                // A message not yet seen complete, followed by a header of itself or of a message already
                // reported: the screen is being redrawn (streaming output), the redraw will show it again.
                let redraw = (draft.kind == kind && draft.batch == batch)
                    || self.reported.batches.contains(&(kind, batch));
                if draft.is_confirmed() || !redraw {
                    self.close(draft, out);
                }
            }
            self.draft = Some(Draft::new(kind, batch));
            return;
        }
        let Some(draft) = self.draft.as_mut() else {
            return;
        };
        draft.lines += 1;
        let done = draft.push(&line) || draft.lines > MAX_MESSAGE_LINES;
        if done {
            let draft = self.draft.take().expect("draft is open");
            self.close(draft, out);
        }
    }

    fn close(&mut self, draft: Draft, out: &mut Vec<Handoff>) {
        if draft.fields.is_empty() {
            // A header alone (e.g. cut off by a redraw) carries nothing to act on.
            return;
        }
        let message = draft.build();
        let key = canonical(&message);
        if self.reported.covers(&message) || !self.reported_keys.insert(key) {
            return;
        }
        self.reported.insert(message.clone());
        out.push(message);
    }
}

/// The reported messages, indexed so that "was this message already reported?" costs a few hash
/// lookups. [`covers`]`(old, new)` asks that `old` has the same kind and batch and the same value
/// for every field `new` has; so each message is filed under every subset of the fields it has
/// (a hash of kind, batch, the subset and those fields' values without whitespace), and a new
/// message looks up the subset of the fields it has. A hash collision only costs a [`covers`]
/// call: every candidate is checked with it.
#[derive(Debug, Default)]
struct Reported {
    messages: Vec<Handoff>,
    /// Kind and batch of every reported message.
    batches: HashSet<(HandoffKind, u32)>,
    /// Hash of (kind, batch, field subset, values) → messages filed under it (one per distinct
    /// set of values: any of them covers the same messages).
    by_fields: HashMap<u64, Vec<usize>>,
}

/// The fields [`covers`] compares, in a fixed order; bit `i` of a subset is field `i`.
const COVER_FIELDS: usize = 7;

impl Reported {
    fn covers(&self, new: &Handoff) -> bool {
        let values = cover_values(new);
        let mask = present(&values);
        self.by_fields
            .get(&subset_hash(new, &values, mask))
            .is_some_and(|c| c.iter().any(|&i| covers(&self.messages[i], new)))
    }

    fn insert(&mut self, message: Handoff) {
        let values = cover_values(&message);
        let have = present(&values);
        let index = self.messages.len();
        // Every subset of the fields it has (sub = have, …, 0 in the usual bit trick).
        let mut sub = have;
        loop {
            let candidates = self
                .by_fields
                .entry(subset_hash(&message, &values, sub))
                .or_default();
            let same = candidates
                .iter()
                .any(|&i| same_fields(&cover_values(&self.messages[i]), &values, sub));
            if !same {
                candidates.push(index);
            }
            if sub == 0 {
                break;
            }
            sub = (sub - 1) & have;
        }
        self.batches.insert((message.kind, message.batch));
        self.messages.push(message);
    }
}

/// The fields of a message as [`covers`] compares them (whitespace removed); `None` when the
/// message does not have the field.
fn cover_values(h: &Handoff) -> [Option<String>; COVER_FIELDS] {
    let list = |v: &[String]| (!v.is_empty()).then(|| squash_all(v).join("\n"));
    [
        list(&h.tickets),
        list(&h.files),
        h.dependencies.as_deref().map(squash),
        h.verify_command.as_deref().map(squash),
        list(&h.commits),
        h.verify.map(|v| format!("{v:?}")),
        list(&h.ready_for),
    ]
}

fn present(values: &[Option<String>; COVER_FIELDS]) -> u8 {
    (0..COVER_FIELDS)
        .filter(|&i| values[i].is_some())
        .fold(0, |m, i| m | 1 << i)
}

fn same_fields(
    a: &[Option<String>; COVER_FIELDS],
    b: &[Option<String>; COVER_FIELDS],
    mask: u8,
) -> bool {
    (0..COVER_FIELDS)
        .filter(|&i| mask & (1 << i) != 0)
        .all(|i| a[i] == b[i])
}

fn subset_hash(h: &Handoff, values: &[Option<String>; COVER_FIELDS], mask: u8) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (h.kind, h.batch, mask).hash(&mut hasher);
    for (i, v) in values.iter().enumerate() {
        if mask & (1 << i) != 0 {
            v.hash(&mut hasher);
        }
    }
    hasher.finish()
}

// ---- 1. escape sequences ----

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum EscState {
    #[default]
    Ground,
    /// After ESC.
    Esc,
    /// After ESC and intermediate bytes (e.g. `ESC ( B`): the next final byte ends it.
    EscIntermediate,
    /// Inside `ESC [` … final byte.
    Csi,
    /// Inside an OSC/DCS/SOS/PM/APC string, ended by BEL or `ESC \`.
    Str,
    /// ESC seen inside a string.
    StrEsc,
}

/// The parameter bytes of a control sequence kept, at most (the rest are dropped).
const MAX_CSI_PARAMS: usize = 64;

/// Removes escape sequences and splits the output into raw lines (bytes, UTF-8 decoded later so that a
/// character split across chunks is reassembled).
#[derive(Debug, Default, Clone)]
struct Stripper {
    state: EscState,
    params: Vec<u8>,
    line: Vec<u8>,
    /// A `\r` put the cursor back at the start of the line: text written next overwrites it (a new line
    /// for us), a `\n` ends it (so `\r\n` and `\r\r\n` end one line).
    cr_pending: bool,
    /// The screen row the cursor is on, when a cursor-position sequence told us.
    row: Option<u32>,
}

impl Stripper {
    fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&[u8])) {
        let mut i = 0;
        while i < bytes.len() {
            if self.state == EscState::Ground {
                // A run of printable bytes (most of any output) goes to the line in one copy.
                let run = printable_run(&bytes[i..]);
                if run > 0 {
                    self.push_run(&bytes[i..i + run], emit);
                    i += run;
                    continue;
                }
            }
            if self.state == EscState::Csi {
                // A sequence's parameter and intermediate bytes, in one go.
                let n = bytes[i..]
                    .iter()
                    .position(|b| !(0x20..=0x3f).contains(b))
                    .unwrap_or(bytes.len() - i);
                if n > 0 {
                    let room = MAX_CSI_PARAMS.saturating_sub(self.params.len());
                    self.params.extend_from_slice(&bytes[i..i + n.min(room)]);
                    i += n;
                    continue;
                }
            }
            let b = bytes[i];
            i += 1;
            match self.state {
                EscState::Ground => self.ground(b, emit),
                EscState::Esc => match b {
                    b'[' => {
                        self.params.clear();
                        self.state = EscState::Csi;
                    }
                    b']' | b'P' | b'X' | b'^' | b'_' => self.state = EscState::Str,
                    0x20..=0x2f => self.state = EscState::EscIntermediate,
                    0x1b => {}
                    // `ESC E` (next line), `ESC D` (index), `ESC M` (reverse index): another row.
                    b'E' | b'D' | b'M' => {
                        self.soft_break(emit);
                        self.state = EscState::Ground;
                    }
                    _ => self.state = EscState::Ground,
                },
                EscState::EscIntermediate => {
                    if !(0x20..=0x2f).contains(&b) {
                        self.state = EscState::Ground;
                    }
                }
                EscState::Csi => match b {
                    0x40..=0x7e => {
                        self.state = EscState::Ground;
                        self.csi(b, emit);
                    }
                    0x1b => self.state = EscState::Esc,
                    // A control character inside CSI is executed; anything else aborts the sequence.
                    0x0a | 0x0d => {
                        self.state = EscState::Ground;
                        self.ground(b, emit);
                    }
                    _ => self.state = EscState::Ground,
                },
                EscState::Str => match b {
                    0x07 => self.state = EscState::Ground,
                    0x1b => self.state = EscState::StrEsc,
                    // Skipped up to its end (a title, a hyperlink's address).
                    _ => {
                        i += bytes[i..]
                            .iter()
                            .position(|&b| b == 0x07 || b == 0x1b)
                            .unwrap_or(bytes.len() - i)
                    }
                },
                EscState::StrEsc => match b {
                    b'\\' => self.state = EscState::Ground,
                    0x1b => {}
                    _ => self.state = EscState::Str,
                },
            }
        }
    }

    fn ground(&mut self, b: u8, emit: &mut dyn FnMut(&[u8])) {
        match b {
            0x1b => self.state = EscState::Esc,
            b'\n' => self.hard_break(emit),
            b'\r' => self.cr_pending = true,
            b'\t' => self.push(b' ', emit),
            0x08 => {
                // Backspace: drop the last character (and any UTF-8 continuation bytes of it).
                while let Some(last) = self.line.pop() {
                    if last & 0xc0 != 0x80 {
                        break;
                    }
                }
            }
            0x00..=0x1f | 0x7f => {}
            _ => self.push(b, emit),
        }
    }

    fn push(&mut self, b: u8, emit: &mut dyn FnMut(&[u8])) {
        if self.cr_pending {
            self.soft_break(emit);
        }
        if self.line.len() >= MAX_LINE_BYTES {
            self.hard_break(emit);
        }
        self.line.push(b);
    }

    /// [`Stripper::push`] of each byte of `run` (printable bytes), a slice at a time.
    fn push_run(&mut self, mut run: &[u8], emit: &mut dyn FnMut(&[u8])) {
        if self.cr_pending {
            self.soft_break(emit);
        }
        while !run.is_empty() {
            if self.line.len() >= MAX_LINE_BYTES {
                self.hard_break(emit);
            }
            let take = run.len().min(MAX_LINE_BYTES - self.line.len());
            self.line.extend_from_slice(&run[..take]);
            run = &run[take..];
        }
    }

    fn csi(&mut self, final_byte: u8, emit: &mut dyn FnMut(&[u8])) {
        let private = self
            .params
            .first()
            .is_some_and(|p| matches!(p, b'?' | b'>' | b'<' | b'='));
        if private {
            return;
        }
        let param = |i: usize| -> Option<u32> {
            std::str::from_utf8(&self.params)
                .ok()?
                .split(';')
                .nth(i)
                .and_then(|s| s.parse().ok())
        };
        match final_byte {
            // Cursor position: to another row breaks the line, within the row separates words.
            b'H' | b'f' => {
                let row = param(0).unwrap_or(1);
                if self.row == Some(row) {
                    self.space();
                } else {
                    self.soft_break(emit);
                }
                self.row = Some(row);
            }
            b'd' => {
                let row = param(0).unwrap_or(1);
                if self.row != Some(row) {
                    self.soft_break(emit);
                }
                self.row = Some(row);
            }
            b'A' | b'B' | b'E' | b'F' | b'S' | b'T' => {
                self.soft_break(emit);
                self.row = None;
            }
            b'C' | b'G' | b'`' | b'a' => self.space(),
            b'J' if param(0).unwrap_or(0) >= 2 => {
                self.soft_break(emit);
                self.row = None;
            }
            _ => {}
        }
    }

    fn space(&mut self) {
        if self.line.last().is_some_and(|&b| b != b' ') {
            self.line.push(b' ');
        }
    }

    /// A line ended by `\n` or `\r`: always a line, even an empty one (blank lines end messages).
    fn hard_break(&mut self, emit: &mut dyn FnMut(&[u8])) {
        self.cr_pending = false;
        if let Some(row) = self.row.as_mut() {
            *row = row.wrapping_add(1);
        }
        emit(&self.line);
        self.line.clear();
    }

    /// The cursor moved to another row: a line only if something was written on this one.
    fn soft_break(&mut self, emit: &mut dyn FnMut(&[u8])) {
        self.cr_pending = false;
        if !self.line.is_empty() {
            emit(&self.line);
            self.line.clear();
        }
    }

    /// At the start of a line, in the ground state: what follows up to a `\n` is the whole line.
    fn at_line_start(&self) -> bool {
        self.state == EscState::Ground && self.line.is_empty() && !self.cr_pending
    }

    /// `lines` whole lines that [`passable_line`] allows were passed over from
    /// [`Stripper::at_line_start`]: each would have left the stripper as it was, a row further.
    fn passed_lines(&mut self, lines: u32) {
        if let Some(row) = self.row.as_mut() {
            *row = row.wrapping_add(lines);
        }
    }

    fn finish(&mut self) -> Option<Vec<u8>> {
        self.state = EscState::Ground;
        (!self.line.is_empty()).then(|| std::mem::take(&mut self.line))
    }
}

/// How many bytes at the start of `bytes` are printable in the ground state: neither a C0 control
/// (ESC, CR, LF, tab, backspace, ...) nor DEL. Eight bytes at a time: any byte below 0x20 or equal
/// to 0x7f in a word is found with the usual bit tricks, then located byte by byte.
fn printable_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let special = |b: u8| b < 0x20 || b == 0x7f;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let w = u64::from_ne_bytes(bytes[i..i + 8].try_into().expect("eight bytes"));
        // A byte below 0x20; a byte equal to 0x7f (zero after the xor).
        let below = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        let x = w ^ (ONES * 0x7f);
        let del = x.wrapping_sub(ONES) & !x & HIGHS;
        if below | del != 0 {
            break;
        }
        i += 8;
    }
    i + bytes[i..]
        .iter()
        .position(|&b| special(b))
        .unwrap_or(bytes.len() - i)
}

// ---- 2. TUI decoration ----

#[derive(Debug)]
struct Line {
    /// Without borders, bullets and emphasis markers; trimmed.
    text: String,
    /// The line was a list item (`- x`, `* x`, `1. x`); `text` is without the marker.
    item: bool,
}

fn is_border(c: char) -> bool {
    matches!(c, '│' | '┃' | '║' | '|' | '▌' | '▐' | '┆' | '┊')
        || ('\u{2500}'..='\u{259f}').contains(&c)
}

fn is_bullet(c: char) -> bool {
    matches!(
        c,
        '⏺' | '●'
            | '•'
            | '◦'
            | '∙'
            | '⎿'
            | '▶'
            | '►'
            | '▸'
            | '✻'
            | '✶'
            | '✳'
            | '·'
            | '○'
            | '◉'
            | '⦿'
    )
}

/// Whether the line `raw` (a stripped line, or a raw one whose only escapes are control
/// sequences) holds `handoff` or `complete` in any case, with `*` (bold markers, which
/// [`clean_line`] removes) and control sequences (which the stripper removes) allowed anywhere
/// inside: every line [`header`] can match does.
fn mentions_kind(raw: &[u8]) -> bool {
    fn at(raw: &[u8], word: &[u8]) -> bool {
        let mut i = 0;
        for &c in word {
            loop {
                match raw.get(i) {
                    None => return false,
                    Some(b'*') => i += 1,
                    Some(0x1b) => match csi_end(&raw[i..]) {
                        Some(len) => i += len,
                        None => return false,
                    },
                    Some(&b) if b.to_ascii_lowercase() == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => return false,
                }
            }
        }
        true
    }
    // Where either word may start (SIMD search: most lines of a flood hold neither).
    memchr::memchr2_iter(b'h', b'H', raw).any(|i| at(&raw[i..], b"handoff"))
        || memchr::memchr2_iter(b'c', b'C', raw).any(|i| at(&raw[i..], b"complete"))
}

/// The length of the control sequence (`ESC [` parameters final) at the start of `bytes`, as the
/// stripper reads one: parameter and intermediate bytes in 0x20–0x3f, a final byte in 0x40–0x7e.
fn csi_end(bytes: &[u8]) -> Option<usize> {
    if bytes.get(..2) != Some(b"\x1b[") {
        return None;
    }
    let params = bytes[2..].iter().position(|b| !(0x20..=0x3f).contains(b))?;
    let end = 2 + params;
    (0x40..=0x7e).contains(&bytes[end]).then_some(end + 1)
}

/// The final bytes of the control sequences [`Stripper::csi`] acts on (a line break or a space):
/// the others are removed and do nothing else.
const CSI_MOVES: &[u8] = b"HfdABEFSTCG`aJ";

/// Whether the stripper, at the start of a line outside a message, may pass over the line `line`
/// (its `\n` left out; a PTY's `\r` before it allowed): it holds only printable bytes and
/// control sequences that move nothing (so the stripper would emit it whole, as one line, and
/// keep its row count), it is not cut for length, and it cannot be a header ([`mentions_kind`]).
fn passable_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE_BYTES {
        return false;
    }
    let mut i = 0;
    loop {
        i += printable_run(&line[i..]);
        if i == line.len() {
            break;
        }
        // A control byte: only a control sequence that moves nothing is allowed (see `Stripper::csi`).
        match csi_end(&line[i..]) {
            Some(len) if !CSI_MOVES.contains(&line[i + len - 1]) => i += len,
            _ => return false,
        }
    }
    !mentions_kind(line)
}

fn clean_line(raw: &[u8]) -> Line {
    let decoded = String::from_utf8_lossy(raw);
    let mut s: &str = decoded.trim();
    // Borders on both sides (`│ text │`), box-drawing rules (`╭────╮`), blockquote and bullet prefixes.
    loop {
        let before = s;
        s = s.trim_matches(|c: char| is_border(c) || c.is_whitespace());
        s = s.trim_start_matches(|c: char| is_bullet(c) || c.is_whitespace());
        if let Some(rest) = s.strip_prefix('>') {
            s = rest;
        }
        if s == before {
            break;
        }
    }
    // Markdown bold (`**Tickets:**`), but not a glob's `**` (`src/**/*.rs`) or a dunder name (`__init__.py`).
    let mut text = BOLD.replace_all(s, "$1").into_owned();
    let mut item = false;
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = text.strip_prefix(marker) {
            text = rest.trim_start().to_string();
            item = true;
            break;
        }
    }
    if !item {
        if let Some(m) = NUMBERED_ITEM.find(&text) {
            text = text[m.end()..].to_string();
            item = true;
        }
    }
    Line {
        text: text.trim().to_string(),
        item,
    }
}

static BOLD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*\*([^*]+)\*\*").unwrap());

static NUMBERED_ITEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{1,3}[.)]\s+").unwrap());

// ---- 3. messages ----

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:#{1,6}\s*)?(handoff|complete)\s*[-–—:]+\s*batch\s*#?\s*(\d{1,6})\b(?:\s*[-–—:]?\s*(?:ready|done|completed?)\b)?")
        .unwrap()
});

fn header(text: &str) -> Option<(HandoffKind, u32)> {
    let caps = HEADER.captures(text)?;
    let kind = if caps[1].eq_ignore_ascii_case("handoff") {
        HandoffKind::Handoff
    } else {
        HandoffKind::Complete
    };
    Some((kind, caps[2].parse().ok()?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Tickets,
    Files,
    Dependencies,
    VerifyCommand,
    Commits,
    Verify,
    ReadyFor,
}

fn field_key(key: &str) -> Option<Field> {
    let key = key
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Some(match key.as_str() {
        "tickets" | "ticket" | "tickets completed" | "completed tickets" | "tickets done"
        | "completed" => Field::Tickets,
        "files affected" | "files" | "affected files" | "files changed" | "changed files"
        | "files touched" => Field::Files,
        "dependencies" | "dependency" | "deps" | "setup" => Field::Dependencies,
        "verify command" | "verify cmd" | "verification command" | "verify with" => {
            Field::VerifyCommand
        }
        "commits" | "commit" => Field::Commits,
        "verify" | "verification" | "verify result" | "verified" => Field::Verify,
        "ready for" | "next" => Field::ReadyFor,
        _ => return None,
    })
}

/// `Key: value` with a known key.
fn field_line(text: &str) -> Option<(Field, &str)> {
    let (key, value) = text.split_once(':')?;
    let key = key.trim().trim_matches('`');
    if key.len() > 30 {
        return None;
    }
    Some((field_key(key)?, value.trim()))
}

/// `Word words: …` that is not a field (e.g. `Codex: Execute when ready.`): ends the current field.
fn other_key_line(text: &str) -> bool {
    text.split_once(':').is_some_and(|(key, _)| {
        !key.is_empty()
            && key.len() <= 30
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
    })
}

#[derive(Debug)]
struct Draft {
    kind: HandoffKind,
    batch: u32,
    /// Each field with its items: the inline value first (if any), then one item per list line.
    fields: Vec<(Field, Vec<String>)>,
    /// The field that continuation lines extend.
    current: Option<Field>,
    lines: usize,
    /// `lines` when the last field (`Verify command` / `Ready for`) was set.
    last_field_at: Option<usize>,
}

impl Draft {
    fn new(kind: HandoffKind, batch: u32) -> Draft {
        Draft {
            kind,
            batch,
            fields: Vec::new(),
            current: None,
            lines: 0,
            last_field_at: None,
        }
    }

    fn last_field(&self) -> Field {
        match self.kind {
            HandoffKind::Handoff => Field::VerifyCommand,
            HandoffKind::Complete => Field::ReadyFor,
        }
    }

    fn items(&mut self, field: Field) -> &mut Vec<String> {
        if let Some(i) = self.fields.iter().position(|(f, _)| *f == field) {
            &mut self.fields[i].1
        } else {
            self.fields.push((field, Vec::new()));
            &mut self.fields.last_mut().unwrap().1
        }
    }

    fn is_complete(&self) -> bool {
        let last = self.last_field();
        self.fields
            .iter()
            .any(|(f, items)| *f == last && !items.is_empty())
    }

    /// Complete, and a line came after the last field, so its value was not cut off mid-redraw.
    fn is_confirmed(&self) -> bool {
        self.is_complete() && self.last_field_at.is_some_and(|at| self.lines > at)
    }

    /// Takes one line of the message; true when the message is over.
    fn push(&mut self, line: &Line) -> bool {
        // Lines without a letter or digit (`~` filler rows of an editor, `---` rules) count as blank.
        if !line.text.chars().any(char::is_alphanumeric) {
            self.current = None;
            return self.is_complete();
        }
        if let Some((field, value)) = field_line(&line.text) {
            let items = self.items(field);
            items.clear();
            if !value.is_empty() {
                items.push(value.to_string());
            }
            self.current = Some(field);
            if field == self.last_field() {
                self.last_field_at = Some(self.lines);
            }
            return false;
        }
        let Some(field) = self.current else {
            // Prose inside or after the message: after the last field, it is over.
            return self.is_complete();
        };
        if other_key_line(&line.text) && !line.item {
            self.current = None;
            return self.is_complete();
        }
        let items = self.items(field);
        match items.last_mut() {
            Some(last) if !line.item => {
                last.push(' ');
                last.push_str(&line.text);
            }
            _ => items.push(line.text.clone()),
        }
        false
    }

    fn build(&self) -> Handoff {
        let mut h = Handoff {
            kind: self.kind,
            batch: self.batch,
            tickets: Vec::new(),
            files: Vec::new(),
            dependencies: None,
            verify_command: None,
            commits: Vec::new(),
            verify: None,
            ready_for: Vec::new(),
        };
        for (field, items) in &self.fields {
            match field {
                Field::Tickets => h.tickets = items.iter().flat_map(|i| parse_tickets(i)).collect(),
                Field::Files => h.files = list(items, &[',', ';']),
                Field::Commits => h.commits = list(items, &[',', ';']),
                Field::ReadyFor => h.ready_for = ready_for(items),
                Field::Dependencies => h.dependencies = text(items),
                Field::VerifyCommand => h.verify_command = text(items).map(|t| unquote(&t)),
                Field::Verify => h.verify = items.first().and_then(|v| verify_result(v)),
            }
        }
        h
    }
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('`').trim().to_string()
}

fn text(items: &[String]) -> Option<String> {
    let joined = items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    (!joined.is_empty()).then_some(joined)
}

/// Items of a list field: an inline value is split at `seps`; list lines are one item each.
fn list(items: &[String], seps: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let pieces: Vec<&str> = if i == 0 && items.len() == 1 {
            item.split(seps).collect()
        } else {
            vec![item]
        };
        for p in pieces {
            let p = unquote(p);
            if !p.is_empty() {
                out.push(p);
            }
        }
    }
    out
}

fn ready_for(items: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        let item = item.trim().trim_end_matches('.');
        for part in item.split(['/', ',', ';']) {
            for part in part.split(" or ").flat_map(|p| p.split(" and ")) {
                let part = part.trim();
                if !part.is_empty() {
                    out.push(part.to_string());
                }
            }
        }
    }
    out
}

/// `PASSED`, `FAILED`, `✅ passed (42 passed, 0 failed)`: the first word decides, else the one of pass/fail
/// mentioned; `PASSED/FAILED` (the
/// template, not filled in) and values without a verdict give `None`.
pub fn verify_result(value: &str) -> Option<VerifyResult> {
    let v = value.to_lowercase();
    let squashed: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    if ["pass/fail", "passed/failed", "fail/pass", "failed/passed"]
        .iter()
        .any(|t| squashed.contains(t))
    {
        return None;
    }
    let marks = ['✅', '✓', '✔', '❌', '✗', '✘'];
    let first = v
        .split(|c: char| !c.is_alphanumeric() && !marks.contains(&c))
        .find(|w| !w.is_empty())
        .unwrap_or("");
    if first.starts_with("pass") || ["ok", "green", "✅", "✓", "✔"].contains(&first) {
        Some(VerifyResult::Passed)
    } else if first.starts_with("fail") || ["red", "broken", "❌", "✗", "✘"].contains(&first) {
        Some(VerifyResult::Failed)
    } else {
        // No verdict first (`dev verify FAILED`): a value that mentions exactly one of them.
        match (v.contains("pass"), v.contains("fail")) {
            (true, false) => Some(VerifyResult::Passed),
            (false, true) => Some(VerifyResult::Failed),
            _ => None,
        }
    }
}

// ---- ticket ids and ranges ----

static TICKET_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z][A-Za-z_]*)(-?)(\d+)$").unwrap());

static TICKET_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^([A-Za-z][A-Za-z_]*)(-?)(\d+)\s*(?:[-–—]|\.\.\.?|\bto\b|\bthrough\b)\s*(?:([A-Za-z][A-Za-z_]*)(-?))?(\d+)$")
        .unwrap()
});

/// The largest range expanded; a larger one is kept as written.
const MAX_RANGE: u64 = 500;

/// Ticket ids of a `Tickets:` value: ids and ranges separated by commas, `and`, `&` or spaces. A range
/// (`T-001–T-004`, `T1-T4`, `T-1..T-3`, `T-1 to T-3`, `T-001–004`) is expanded when unambiguous: same
/// prefix, ascending, same zero-padding, at most 500 ids; otherwise it is kept as written, like any
/// token that is no id (e.g. the template's `T#-T#`).
pub fn parse_tickets(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let value = value.replace(['`', '[', ']', '(', ')'], " ");
    for piece in value.split([',', ';', '&']).flat_map(|p| p.split(" and ")) {
        let piece = piece.trim().trim_end_matches('.');
        if piece.is_empty() {
            continue;
        }
        if let Some(ids) = expand(piece) {
            out.extend(ids);
            continue;
        }
        // Several ids separated by spaces, perhaps with words between them.
        let tokens: Vec<Vec<String>> = piece.split_whitespace().filter_map(expand).collect();
        if tokens.is_empty() {
            out.push(piece.to_string());
        } else {
            out.extend(tokens.into_iter().flatten());
        }
    }
    out
}

/// One id, or one range (expanded, or kept as written when ambiguous); `None` for anything else.
fn expand(token: &str) -> Option<Vec<String>> {
    let token = token.trim();
    if TICKET_ID.is_match(token) {
        return Some(vec![token.to_string()]);
    }
    let c = TICKET_RANGE.captures(token)?;
    let (prefix, dash, from) = (&c[1], &c[2], &c[3]);
    let to = &c[6];
    let same_prefix = match c.get(4) {
        Some(p) => p.as_str() == prefix && &c[5] == dash,
        None => true,
    };
    let padded = |d: &str| d.len() > 1 && d.starts_with('0');
    let width_ok = if padded(from) || padded(to) {
        from.len() == to.len()
    } else {
        true
    };
    let (Ok(a), Ok(b)) = (from.parse::<u64>(), to.parse::<u64>()) else {
        return Some(vec![token.to_string()]);
    };
    if !same_prefix || !width_ok || a > b || b - a >= MAX_RANGE {
        return Some(vec![token.to_string()]);
    }
    let width = if padded(from) { from.len() } else { 0 };
    Some(
        (a..=b)
            .map(|n| format!("{prefix}{dash}{n:0width$}"))
            .collect(),
    )
}

// ---- 4. reporting once ----

/// The message's content with all whitespace removed: the same message wrapped at another width is equal.
fn canonical(h: &Handoff) -> String {
    let json = serde_json::to_string(h).expect("handoff serialises");
    json.chars().filter(|c| !c.is_whitespace()).collect()
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn squash_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| squash(s)).collect()
}

/// `old` says everything `new` says: same kind and batch, and each field `new` has is equal in `old`.
fn covers(old: &Handoff, new: &Handoff) -> bool {
    fn list_ok(old: &[String], new: &[String]) -> bool {
        new.is_empty() || squash_all(old) == squash_all(new)
    }
    fn opt_ok(old: &Option<String>, new: &Option<String>) -> bool {
        match new {
            None => true,
            Some(n) => old.as_deref().map(squash) == Some(squash(n)),
        }
    }
    old.kind == new.kind
        && old.batch == new.batch
        && list_ok(&old.tickets, &new.tickets)
        && list_ok(&old.files, &new.files)
        && opt_ok(&old.dependencies, &new.dependencies)
        && opt_ok(&old.verify_command, &new.verify_command)
        && list_ok(&old.commits, &new.commits)
        && (new.verify.is_none() || old.verify == new.verify)
        && list_ok(&old.ready_for, &new.ready_for)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines that may be a header are never passed over; the rest of a flood is.
    #[test]
    fn only_lines_naming_a_kind_are_read_outside_a_message() {
        for (raw, may_be_header) in [
            ("HANDOFF — Batch 2", true),
            ("## complete: batch 3 done", true),
            ("**Hand**off - batch 1", true),
            ("│ **COMPLETE** — Batch 12 │", true),
            ("Completed", true),
            ("src/pane.rs:42:7: ok frame coalesced", false),
            ("hand off the batch", false),
            ("compile", false),
            ("", false),
        ] {
            assert_eq!(mentions_kind(raw.as_bytes()), may_be_header, "{raw:?}");
            if !may_be_header {
                assert_eq!(header(&clean_line(raw.as_bytes()).text), None, "{raw:?}");
            }
        }
    }

    /// A message with each field taken from a small pool (or left out), so that many cover others.
    fn message(pick: &[usize; 9]) -> Handoff {
        let list = |n: usize, words: &[&str]| -> Vec<String> {
            words[..n].iter().map(|w| w.to_string()).collect()
        };
        let opt = |n: usize, words: &[&str]| (n > 0).then(|| words[n - 1].to_string());
        Handoff {
            kind: [HandoffKind::Handoff, HandoffKind::Complete][pick[0] % 2],
            batch: (pick[1] % 3) as u32,
            tickets: list(pick[2] % 3, &["T-1", "T-2"]),
            files: list(pick[3] % 3, &["a.rs", "b c.rs"]),
            dependencies: opt(pick[4] % 3, &["none", "n o n e"]),
            verify_command: opt(pick[5] % 3, &["cargo test", "make"]),
            commits: list(pick[6] % 2, &["abc"]),
            verify: [None, Some(VerifyResult::Passed), Some(VerifyResult::Failed)][pick[7] % 3],
            ready_for: list(pick[8] % 2, &["review"]),
        }
    }

    /// The raw lines a stripper emits for `bytes` fed in `chunk`-byte pieces, the last one included.
    fn stripped(bytes: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let mut stripper = Stripper::default();
        let mut lines = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            stripper.feed(piece, &mut |raw| lines.push(raw.to_vec()));
        }
        lines.extend(stripper.finish());
        lines
    }

    #[test]
    fn a_long_run_of_text_is_cut_as_byte_by_byte() {
        let mut bytes = b"\rsome text\r".to_vec();
        bytes.extend(std::iter::repeat_n(b'y', 3 * MAX_LINE_BYTES + 7));
        bytes.extend_from_slice(b"\x1b]0;a title\x07tail\n\x7fz");
        let whole = stripped(&bytes, bytes.len());
        assert_eq!(whole, stripped(&bytes, 1));
        assert_eq!(
            whole.iter().map(Vec::len).collect::<Vec<_>>(),
            [9, MAX_LINE_BYTES, MAX_LINE_BYTES, MAX_LINE_BYTES, 11, 1]
        );
    }

    /// What a stripper keeps from one byte to the next (its parameter bytes are scratch space,
    /// cleared at each sequence's start).
    fn kept(s: &Stripper) -> (EscState, &[u8], bool, Option<u32>) {
        (s.state, &s.line, s.cr_pending, s.row)
    }

    /// The control sequences left out of [`CSI_MOVES`] do nothing but disappear; each in it does
    /// something (so a line holding one is never passed over, and the list is no longer than that).
    #[test]
    fn only_the_control_sequences_in_csi_moves_act() {
        for final_byte in 0x40u8..=0x7e {
            let acts = ["", "2", "5;1", "?25", "1;32"].iter().any(|params| {
                let mut stripper = Stripper::default();
                stripper.feed(b"\x1b[3;1Hab", &mut |_| {});
                let before = stripper.clone();
                let mut emitted = false;
                let seq = format!("\x1b[{params}{}", final_byte as char);
                stripper.feed(seq.as_bytes(), &mut |_| emitted = true);
                emitted || kept(&stripper) != kept(&before)
            });
            assert_eq!(
                acts,
                CSI_MOVES.contains(&final_byte),
                "{:?}",
                final_byte as char
            );
        }
    }

    /// The lines a scanner passes over without stripping them, for each line (its `\n` left out).
    #[test]
    fn lines_of_text_and_colours_that_name_no_kind_are_passed_over() {
        for (line, passed) in [
            (
                "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced\r",
                true,
            ),
            ("plain text", true),
            ("", true),
            ("\r", true),
            ("erased to the end\x1b[K", true),
            ("\x1b[?25lcursor hidden", true),
            ("\u{2502} box \u{2502}", true),
            ("HANDOFF — Batch 2", false),
            ("\x1b[1mHand\x1b[0moff - batch 1", false),
            ("**Com**plete: batch 3", false),
            ("progress\rdone", false),
            ("tab\there", false),
            ("\x1b[2;1Hmoved", false),
            ("\x1b[2Jcleared", false),
            ("\x1b[Cright", false),
            ("title \x1b]0;t\x07", false),
            ("charset \x1b(B", false),
            ("back\x08space", false),
            ("cut \x1b[1", false),
        ] {
            assert_eq!(passable_line(line.as_bytes()), passed, "{line:?}");
        }
        let long = "y".repeat(MAX_LINE_BYTES + 1);
        assert!(!passable_line(long.as_bytes()));
        assert!(passable_line(&long.as_bytes()[1..]));
    }

    /// A handoff inside a build log is found, and the log's lines around it are passed over.
    #[test]
    fn a_message_inside_a_flood_of_log_lines_is_found() {
        let log = "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced\r\n".repeat(1000);
        let message = "## HANDOFF — Batch 4 Ready\r\n- **Tickets:** T-1\r\n- **Files:** a.rs\r\n\
                       - **Dependencies:** none\r\n- **Verify command:** make\r\n\r\n";
        let bytes = format!("{log}{message}{log}");
        let mut scanner = HandoffScanner::new();
        let mut found = Vec::new();
        for piece in bytes.as_bytes().chunks(4096) {
            found.extend(scanner.feed(piece));
        }
        found.extend(scanner.finish());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].kind, found[0].batch), (HandoffKind::Handoff, 4));
        assert_eq!(found[0].tickets, ["T-1"]);
        // Lines cut by a piece's end are stripped; the rest are passed over.
        assert!(scanner.passed_over() > 1900, "{}", scanner.passed_over());
    }

    proptest::proptest! {
        /// Passing over lines finds the messages that stripping every line finds, and leaves the
        /// stripper where stripping every line would have.
        #[test]
        fn passing_over_lines_changes_nothing_found(
            picks in proptest::collection::vec(0usize..26, 0..300),
            chunk in 1usize..200,
        ) {
            const PIECES: [&str; 26] = [
                "src/a.rs:1: \x1b[1;32mok\x1b[0m built\r\n", "plain log line\n", "\r\n", "\n",
                "## HANDOFF — Batch 2 Ready\r\n", "COMPLETE: batch 1 done\n",
                "\x1b[1mHand\x1b[0moff - batch 3\r\n", "- **Tickets:** T-1, T-2\r\n",
                "Files: a.rs\n", "Dependencies: none\n", "Verify command: make\n",
                "Verify: passed\n", "Ready for: review\n", "Commits: abc\n",
                "\x1b[2;1H", "\x1b[5;1H", "\r", "\t", "\x1b[K", "\x1b[?25l", "**", "hand", "off",
                "\x1b]0;title\x07", "\x1b[2J", "\x1b[1;32",
            ];
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| PIECES[i].bytes()).collect();
            let mut fast = HandoffScanner::new();
            let mut every = HandoffScanner { strip_every_line: true, ..HandoffScanner::new() };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for piece in bytes.chunks(chunk) {
                a.extend(fast.feed(piece));
                b.extend(every.feed(piece));
                proptest::prop_assert_eq!(kept(&fast.stripper), kept(&every.stripper));
            }
            a.extend(fast.finish());
            b.extend(every.finish());
            proptest::prop_assert_eq!(a, b);
        }

        /// Runs of printable bytes and of a string's contents, taken at once, give the lines that
        /// the state machine gives a byte at a time.
        #[test]
        fn runs_taken_at_once_give_what_single_bytes_give(
            picks in proptest::collection::vec(0usize..22, 0..400),
            chunk in 2usize..64,
        ) {
            const PIECES: [&[u8]; 22] = [
                b"a", b"word ", b"HANDOFF", b"\x1b", b"[", b"?", b"]", b"2", b";", b"H", b"m",
                b"\r", b"\n", b"\x07", b"\\", b"\x08", b"\t", b"\x7f", "\u{2502}".as_bytes(),
                b"\x1b[3;1H", b"\x1bP", &[0xe2, 0x94],
            ];
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| PIECES[i].iter().copied()).collect();
            let one = stripped(&bytes, 1);
            proptest::prop_assert_eq!(&stripped(&bytes, bytes.len()), &one);
            proptest::prop_assert_eq!(&stripped(&bytes, chunk), &one);
        }

        /// The index answers what comparing with every reported message answers.
        #[test]
        fn the_index_agrees_with_a_scan_of_every_message(
            picks in proptest::collection::vec(proptest::array::uniform9(0usize..6), 1..80)
        ) {
            let mut index = Reported::default();
            let mut all: Vec<Handoff> = Vec::new();
            for pick in &picks {
                let m = message(pick);
                let scan = all.iter().any(|old| covers(old, &m));
                proptest::prop_assert_eq!(index.covers(&m), scan, "{:?}", m);
                if !scan {
                    index.insert(m.clone());
                    all.push(m);
                }
            }
        }
    }
}
