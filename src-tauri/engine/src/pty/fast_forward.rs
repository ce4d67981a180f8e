//! Fast-forward over a flood of plain text that scrolls out of the screen's scrollback.
//!
//! A pane's mirror parses every byte its child writes, and a 60 MB/s parser on a slow core would
//! pace a child that floods at 100 MB/s. Most floods are plain lines (a build log, `cat`, `yes`),
//! and most of those lines are gone from the screen and its scrollback by the time the flood
//! ends. [`plan`] finds them; [`Screen::process`](super::Screen::process) skips them.
//!
//! Why skipping changes nothing. Let `T` be plain text (printable characters, `\t`, `\b`, `\r`,
//! `\n`: no escape, no other control, valid UTF-8 without C1 code points) that ends with `\r\n`
//! and holds at least `2 × rows + scrollback` line feeds, and let the parser be in its ground
//! state, with the scroll region the whole screen and no synchronized update pending. Plain text
//! changes no mode, pen, tab stop, charset or margin. Its first `rows` line feeds bring the
//! cursor to the last row, wherever it was; every further one scrolls a line into the
//! scrollback, which keeps at most `scrollback` lines, so the `rows + scrollback` lines left on
//! screen and in scrollback at the end were all written by `T`, and the final `\r\n` leaves the
//! cursor in column 0 with no wrap pending. So the state after `T` does not depend on the state
//! before it: any plain text `R` before `T` (the same conditions hold at `R`'s start) can be
//! left out, and `process(R + T)` equals `process(T)`.
//!
//! The parser's ground state and the margins are not public in `alacritty_terminal`: a
//! [`SeqTracker`] follows the bytes fed to it with vte's own state transitions, erring towards
//! "not ground" (which only means no skip).

/// What [`SeqTracker`] knows of the parser's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seq {
    Ground,
    Escape,
    EscapeIntermediate,
    Csi,
    Dcs,
    Osc,
    /// SOS, PM or APC string.
    Ignored,
}

/// Parameter bytes of a CSI kept to read a DECSTBM (`CSI top ; bottom r`); longer ones are not
/// a margin reset.
const CSI_KEPT: usize = 16;

/// Follows a byte stream as vte's parser does, far enough to say whether the parser is in its
/// ground state and whether the scroll region may be narrower than the screen.
#[derive(Debug, Clone)]
pub(crate) struct SeqTracker {
    seq: Seq,
    csi: [u8; CSI_KEPT],
    csi_len: usize,
    /// Parameter bytes beyond `CSI_KEPT`, or intermediates/private markers: not a plain DECSTBM.
    csi_other: bool,
    /// The scroll region is the whole screen (a DECSTBM that is not a reset clears this; a
    /// resize, a reset or a DECSTBM to the whole screen sets it).
    margins_full: bool,
}

impl Default for SeqTracker {
    fn default() -> Self {
        SeqTracker {
            seq: Seq::Ground,
            csi: [0; CSI_KEPT],
            csi_len: 0,
            csi_other: false,
            margins_full: true,
        }
    }
}

impl SeqTracker {
    /// The parser is in its ground state and the scroll region is the whole screen.
    pub(crate) fn clean(&self) -> bool {
        self.seq == Seq::Ground && self.margins_full
    }

    /// The screen was resized: alacritty resets the scroll region.
    pub(crate) fn resized(&mut self) {
        self.margins_full = true;
    }

    /// Follows `bytes`, fed to the parser with a screen of `rows` rows.
    pub(crate) fn feed(&mut self, bytes: &[u8], rows: usize) {
        let mut i = 0;
        while i < bytes.len() {
            if self.seq == Seq::Ground {
                // Only ESC leaves the ground state (C0 and C1 controls there are executed).
                match memchr::memchr(0x1b, &bytes[i..]) {
                    Some(at) => {
                        i += at + 1;
                        self.seq = Seq::Escape;
                    }
                    None => return,
                }
                continue;
            }
            self.step(bytes[i], rows);
            i += 1;
        }
    }

    fn step(&mut self, b: u8, rows: usize) {
        // Anywhere (vte's `anywhere`, in every state but ground): CAN and SUB end a sequence,
        // ESC starts another.
        match b {
            0x18 | 0x1a => {
                self.seq = Seq::Ground;
                return;
            }
            0x1b => {
                self.seq = Seq::Escape;
                return;
            }
            _ => {}
        }
        match self.seq {
            Seq::Ground => {}
            Seq::Escape => match b {
                0x20..=0x2f => self.seq = Seq::EscapeIntermediate,
                b'P' => self.seq = Seq::Dcs,
                b'X' | b'^' | b'_' => self.seq = Seq::Ignored,
                b'[' => {
                    self.seq = Seq::Csi;
                    self.csi_len = 0;
                    self.csi_other = false;
                }
                b']' => self.seq = Seq::Osc,
                0x30..=0x7e => {
                    if b == b'c' {
                        // RIS: a full reset, margins included.
                        self.margins_full = true;
                    }
                    self.seq = Seq::Ground;
                }
                // C0 controls are executed, DEL and high bytes ignored: still an escape.
                _ => {}
            },
            Seq::EscapeIntermediate => {
                if (0x30..=0x7e).contains(&b) {
                    self.seq = Seq::Ground;
                }
            }
            Seq::Csi => match b {
                0x40..=0x7e => {
                    if b == b'r' {
                        self.margins_full = !self.csi_other && self.full_margins(rows);
                    }
                    self.seq = Seq::Ground;
                }
                b'0'..=b'9' | b';' => {
                    if self.csi_len < CSI_KEPT {
                        self.csi[self.csi_len] = b;
                        self.csi_len += 1;
                    } else {
                        self.csi_other = true;
                    }
                }
                0x20..=0x3f => self.csi_other = true,
                // C0 controls are executed, DEL and high bytes ignored.
                _ => {}
            },
            // DCS ends on ST (an ESC) or CAN/SUB; 8-bit ST may end it in vte, not here (erring
            // towards "not ground").
            Seq::Dcs | Seq::Ignored => {}
            Seq::Osc => {
                if b == 0x07 {
                    self.seq = Seq::Ground;
                }
            }
        }
    }

    /// Whether the DECSTBM just read sets the whole screen: `CSI r`, `CSI 1 r`, `CSI ; 0 r`,
    /// `CSI 1 ; rows r` and the like.
    fn full_margins(&self, rows: usize) -> bool {
        let text = &self.csi[..self.csi_len];
        let mut params = text.split(|&b| b == b';');
        let number = |p: &[u8]| -> Option<usize> {
            if p.is_empty() {
                return Some(0);
            }
            std::str::from_utf8(p).ok()?.parse().ok()
        };
        let top = params.next().map_or(Some(0), number);
        let bottom = params.next().map_or(Some(0), number);
        if params.next().is_some() {
            return false;
        }
        match (top, bottom) {
            (Some(top), Some(bottom)) => top <= 1 && (bottom == 0 || bottom >= rows),
            _ => false,
        }
    }
}

/// Bytes that may appear in skipped text: printable ASCII, `\t`, `\b`, `\r`, `\n` and the bytes
/// of UTF-8 characters (checked as such separately).
fn plain(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | b'\t' | 0x08 | b'\r' | b'\n' | 0x80..=0xff)
}

/// Longest SGR parameter string read as one (longer ones end a run).
const SGR_LONGEST: usize = 64;

/// The length of the SGR (`ESC [ params m`, params of digits, `;` and `:` only) at the start of
/// `bytes`, if one is there whole. An SGR sets the pen and nothing else.
fn sgr_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 3 || bytes[0] != 0x1b || bytes[1] != b'[' {
        return None;
    }
    let params = bytes[2..]
        .iter()
        .take(SGR_LONGEST)
        .position(|b| !matches!(b, b'0'..=b'9' | b';' | b':'))?;
    (bytes[2 + params] == b'm').then_some(params + 3)
}

/// Where the run of plain bytes and whole SGRs that starts at `i` ends.
fn run_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if plain(bytes[i]) {
            i += 1;
        } else if let Some(n) = sgr_len(&bytes[i..]) {
            i += n;
        } else {
            break;
        }
    }
    i
}

/// Valid UTF-8 with no C1 control code point (U+0080-U+009F, which vte executes: NEL, HTS…).
fn plain_utf8(text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok()
        && !text
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
}

/// What stands for a skipped stretch: its SGRs from the last one that resets the pen (`ESC[m`,
/// `ESC[0m`, `ESC[0;…m`) on, so that the pen after it is the pen after the stretch.
pub(crate) fn pen(skipped: &[u8]) -> Vec<u8> {
    let mut sgrs: Vec<&[u8]> = Vec::new();
    for at in memchr::memchr_iter(0x1b, skipped) {
        let Some(n) = sgr_len(&skipped[at..]) else {
            continue;
        };
        let sgr = &skipped[at..at + n];
        let params = &sgr[2..n - 1];
        let first = params.split(|&b| b == b';').next().unwrap_or(b"");
        if first.is_empty() || first == b"0" {
            sgrs.clear();
        }
        sgrs.push(sgr);
    }
    sgrs.concat()
}

/// A stretch of `bytes` that may be left out: `bytes[start..end]`, both right after a `\r\n`.
/// [`pen`] of it is parsed in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skip {
    pub start: usize,
    pub end: usize,
}

/// The first stretch of `bytes` from `from` on that can be left out, keeping `keep` line feeds
/// of plain text after it: a run of plain bytes and whole SGRs, from just after its first
/// `\r\n` to just before its last `keep` line feeds (and the `\r\n` that ends the run's text).
/// Whether the parser is clean at `start` is for the caller to check (feeding `bytes[..start]`
/// first).
pub(crate) fn plan(bytes: &[u8], from: usize, keep: usize) -> Option<Skip> {
    // Each line takes at least two bytes: shorter runs cannot hold `keep + 2` lines.
    let shortest = 2 * (keep + 2);
    let mut i = from;
    while i < bytes.len() {
        let run_start = i;
        let run_end = run_end(bytes, i);
        if run_end == run_start {
            i += 1;
            continue;
        }
        i = run_end;
        if run_end - run_start < shortest {
            continue;
        }
        let run = &bytes[run_start..run_end];
        // Both ends of the skip follow a `\r\n`: the column is 0 there whether the text between
        // was parsed or not (a bare `\n` keeps the column, so what follows it depends on it).
        let after_crlf = |at: usize| at > 0 && run[at - 1] == b'\r';
        let Some(first) = memchr::memchr_iter(b'\n', run).find(|&at| after_crlf(at)) else {
            continue;
        };
        let start = run_start + first + 1;
        // The run's text ends after its last `\r\n`.
        let Some(last) = memchr::memrchr_iter(b'\n', run).find(|&at| after_crlf(at)) else {
            continue;
        };
        let end_of_text = run_start + last + 1;
        // Keep at least the last `keep` line feeds: the skip ends after the `\r\n` before them.
        let Some(end) = memchr::memrchr_iter(b'\n', &run[first + 1..=last])
            .enumerate()
            .find(|&(nth, at)| nth >= keep && after_crlf(first + 1 + at))
            .map(|(_, at)| start + at + 1)
        else {
            continue;
        };
        if end <= start || !plain_utf8(&bytes[start..end_of_text]) {
            continue;
        }
        return Some(Skip { start, end });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `plan` over `input` (`|` marks nothing: the plan is shown as `[start..end]` in the text).
    fn check_plan(input: &str, keep: usize, expect: Option<&str>) {
        let got = plan(input.as_bytes(), 0, keep).map(|s| {
            format!(
                "{}[{}]{}",
                &input[..s.start],
                &input[s.start..s.end],
                &input[s.end..]
            )
        });
        assert_eq!(got.as_deref(), expect, "plan of {input:?}, keep {keep}");
    }

    #[test]
    fn plans_skip_the_middle_of_plain_runs() {
        check_plan("a\r\nb\r\nc\r\nd\r\n", 1, Some("a\r\n[b\r\nc\r\n]d\r\n"));
        check_plan("a\r\nb\r\nc\r\nd\r\n", 2, Some("a\r\n[b\r\n]c\r\nd\r\n"));
        // Not enough lines after the first.
        check_plan("a\r\nb\r\nc\r\nd\r\n", 3, None);
        // Text after the last \r\n is kept, and so is a lone \n at the end.
        check_plan(
            "a\r\nb\r\nc\r\nd\r\ne\nf",
            1,
            Some("a\r\n[b\r\nc\r\n]d\r\ne\nf"),
        );
        // SGRs belong to runs; any other escape splits them, and the first run long enough
        // is planned.
        check_plan(
            "a\r\nb\x1b[1;31mc\r\nd\x1b[m\r\ne\r\nf\r\n",
            1,
            Some("a\r\n[b\x1b[1;31mc\r\nd\x1b[m\r\ne\r\n]f\r\n"),
        );
        check_plan(
            "a\r\nb\x1b[2Kc\r\nd\r\ne\r\nf\r\n",
            1,
            Some("a\r\nb\x1b[2Kc\r\n[d\r\ne\r\n]f\r\n"),
        );
        check_plan("a\r\nb\r\nc\x1b[?1mr\r\nd\r\n", 1, None);
        // Another control character splits runs too.
        check_plan("a\r\nb\r\n\x0ec\r\nd\r\n", 1, None);
        // A C1 code point (NEL, as UTF-8) is not plain text.
        check_plan("a\r\nb\r\n\u{85}c\r\nd\r\ne\r\n", 1, None);
        check_plan(
            "a\r\nb\r\néc\r\nd\r\ne\r\n",
            1,
            Some("a\r\n[b\r\néc\r\nd\r\n]e\r\n"),
        );
    }

    #[test]
    fn a_skipped_stretch_leaves_its_pen() {
        let check = |skipped: &str, expect: &str| {
            assert_eq!(String::from_utf8(pen(skipped.as_bytes())).unwrap(), expect);
        };
        check("plain\r\ntext\r\n", "");
        check("\x1b[1ma\x1b[32mb\r\n", "\x1b[1m\x1b[32m");
        check("\x1b[1ma\x1b[0mb\x1b[4:3mc\r\n", "\x1b[0m\x1b[4:3m");
        check("\x1b[1ma\x1b[mb\r\n", "\x1b[m");
        check("\x1b[1ma\x1b[0;33mb\x1b[44m\r\n", "\x1b[0;33m\x1b[44m");
        check("\x1b[1ma\x1b[;33mb\r\n", "\x1b[;33m");
        check("\x1b[1ma\x1b[10;33mb\r\n", "\x1b[1m\x1b[10;33m");
    }

    fn check_tracker(bytes: &str, rows: usize, expect_clean: bool) {
        let mut t = SeqTracker::default();
        t.feed(bytes.as_bytes(), rows);
        assert_eq!(t.clean(), expect_clean, "after {bytes:?}");
    }

    #[test]
    fn the_tracker_knows_ground_and_margins() {
        check_tracker("plain\r\n", 24, true);
        check_tracker("\x1b[31mred", 24, true);
        check_tracker("\x1b[3", 24, false);
        check_tracker("\x1b[31;1", 24, false);
        check_tracker("\x1b]0;title", 24, false);
        check_tracker("\x1b]0;title\x07after", 24, true);
        check_tracker("\x1b]0;title\x1b\\after", 24, true);
        check_tracker("\x1bP1$r text", 24, false);
        check_tracker("\x1bP1$r text\x1b\\", 24, true);
        check_tracker("\x1b_apc\x18", 24, true);
        check_tracker("\x1b(", 24, false);
        check_tracker("\x1b(B", 24, true);
        check_tracker("\x1b", 24, false);
        // Scroll regions.
        check_tracker("\x1b[2;10r", 24, false);
        check_tracker("\x1b[2;10rtext\x1b[r", 24, true);
        check_tracker("\x1b[2;10r\x1b[1;24r", 24, true);
        check_tracker("\x1b[2;10r\x1b[1;23r", 24, false);
        check_tracker("\x1b[2;10r\x1b[;0r", 24, true);
        check_tracker("\x1b[2;10r\x1bc", 24, true);
        // A private-mode CSI ending in r is not a margin reset.
        check_tracker("\x1b[2;10r\x1b[?r", 24, false);
        check_tracker("\x1b[?1049h", 24, true);
    }

    use super::super::{PaneSize, Screen};
    use proptest::prelude::*;
    use std::time::Duration;

    /// Everything a reader of the screen sees: rows, scrollback, cursor and modes, and the
    /// snapshot (attributes, soft wraps, pen).
    /// Rows, scrollback, cursor, modes and snapshot.
    type Seen = (Vec<String>, Vec<String>, (u16, u16), [bool; 4], Vec<u8>);
    /// Output bytes, then a resize to (rows, columns) if any.
    type Chunk = (Vec<u8>, Option<(u16, u16)>);

    fn seen(s: &mut Screen) -> Seen {
        let modes = [
            s.hide_cursor(),
            s.alternate_screen(),
            s.bracketed_paste(),
            s.application_cursor(),
        ];
        let snapshot = s.formatted(usize::MAX);
        (
            s.rows().collect(),
            s.scrollback_rows().collect(),
            s.cursor_position(),
            modes,
            snapshot,
        )
    }

    /// Feeds `chunks` (with resizes) to a fast-forwarding screen and to one that parses every
    /// byte; both must end the same. Returns the bytes the first one skipped.
    fn check_same(size: (u16, u16), scrollback: usize, chunks: &[Chunk]) -> u64 {
        let new = |ff: bool| {
            let s = Screen::new(PaneSize::new(size.0, size.1), scrollback)
                .unwrap()
                .with_sync_timeout(Duration::from_secs(3600));
            if ff {
                s
            } else {
                s.without_fast_forward()
            }
        };
        let (mut fast, mut every) = (new(true), new(false));
        for (bytes, resize) in chunks {
            fast.process(bytes);
            every.process(bytes);
            if let Some((rows, cols)) = resize {
                fast.set_size(PaneSize::new(*rows, *cols)).unwrap();
                every.set_size(PaneSize::new(*rows, *cols)).unwrap();
            }
        }
        assert_eq!(every.skipped_bytes(), 0);
        let skipped = fast.skipped_bytes();
        assert_eq!(seen(&mut fast), seen(&mut every), "after {chunks:?}");
        skipped
    }

    #[test]
    fn a_plain_flood_is_skipped_and_ends_the_same() {
        let mut flood = b"\x1b[32mgreen start\x1b[0m\r\n".to_vec();
        for i in 0..100_000 {
            flood.extend_from_slice(format!("line {i} of the flood\r\n").as_bytes());
        }
        flood.extend_from_slice(b"\x1b[1mdone\x1b[0m $ ");
        let total = flood.len() as u64;
        // One chunk, and the 1 MiB batches a pane's mirror thread takes from its backlog.
        let whole = check_same((24, 80), 2000, &[(flood.clone(), None)]);
        let frames: Vec<_> = flood.chunks(1 << 20).map(|c| (c.to_vec(), None)).collect();
        let framed = check_same((24, 80), 2000, &frames);
        assert!(whole > total * 9 / 10, "skipped {whole} of {total}");
        assert!(framed > total * 8 / 10, "skipped {framed} of {total}");
    }

    #[test]
    fn text_that_ends_an_open_sequence_is_parsed() {
        // `ESC [` left open: its parameters run on over a line end (C0 controls are executed
        // inside a CSI) and the next line's `m` ends it, as SGR 31. Skipping that line would
        // leave the flood's first letter to end it instead, and the flood would not be red.
        let mut bytes = b"\x1b[31\r\nm".to_vec();
        for i in 0..500 {
            bytes.extend_from_slice(format!("red {i}\r\n").as_bytes());
        }
        check_same((4, 10), 10, &[(bytes.clone(), None)]);
        // Once the sequence has ended, the same flood is skipped.
        let mut closed = b"\x1b[31m\r\n".to_vec();
        closed.extend_from_slice(&bytes[7..]);
        assert!(check_same((4, 10), 10, &[(closed, None)]) > 0);
    }

    /// Pieces of terminal output: plain floods of several shapes, and escapes that change the
    /// parser's or the screen's state (some left unfinished).
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        let flood = (0usize..150, 0usize..12).prop_map(|(n, shape)| {
            let mut out = Vec::new();
            for i in 0..n {
                let line = match shape {
                    0 => "y\r\n".to_string(),
                    1 => format!("line {i}\r\n"),
                    2 => format!("{}\r\n", "long ".repeat(i % 9)),
                    3 => format!("tab\there {i}\r\n"),
                    4 => format!("é漢字 {i}\r\n"),
                    5 => format!("{i}%\rbar {i}\r\n"),
                    6 => format!("raw {i}\n"),
                    // Longest first: a row written over and over keeps what the longest left.
                    7 => format!("{}\r\n", "z".repeat((n - i) % 30)),
                    // Coloured, each line reset.
                    8 => format!("ok \x1b[1;3{}m{i}\x1b[0m done\r\n", i % 8),
                    // Pens that add up, backgrounds that fill the new lines (BCE).
                    9 => format!("\x1b[4{}m{i}\x1b[{}m bg\r\n", i % 8, [1, 3, 4, 7, 9][i % 5]),
                    10 => format!("\x1b[38;5;{}m\x1b[4:{}mx{i}\r\n", i % 256, i % 4),
                    _ => format!("back\x08\x08x {i}\r\n"),
                };
                out.extend_from_slice(line.as_bytes());
            }
            out
        });
        let escape = prop::sample::select(vec![
            "\x1b[31m",
            "\x1b[0m",
            "\x1b[44;1m",
            "\x1b[5;3H",
            "\x1b[2A",
            "\x1b[2;4r",
            "\x1b[r",
            "\x1b[1;3r",
            "\x1b[?1049h",
            "\x1b[?1049l",
            "\x1b]0;title\x07",
            "\x1b]0;",
            "\x1b[3",
            "\x1b[?2026h",
            "\x1b[?2026l",
            "\x1b7",
            "\x1b8",
            "\x1bc",
            "\x1bH",
            "\x1b[3g",
            "\x0e",
            "\x0f",
            "\x1b(0",
            "\x1b(B",
            "\x1b[4h",
            "\x1b[4l",
            "\x1b[20h",
            "\x1b[20l",
            "\x1b[?6h",
            "\x1b[?7l",
            "\x1b[?7h",
            "\x1b[2J",
            "\x1b[K",
            "\x1b[3S",
            "\x1bD",
            "\x1bM",
            "\u{85}",
            "\x18",
            "\x1bP1$r",
            "\x1b\\",
            "\x1b_apc",
            "\x07",
            "\x1b]8;;http://x\x07",
            "\x1b]8;;\x07",
            "\x1b[?25l",
            "\x1b[?2004h",
            "\x1b[1;99r",
            "\x1b[;r",
            "\x1b[0;0r",
            "\x1b[?r",
            "\r\n",
            "\x1b",
            "\x1b[",
            // A scroll region, and the cursor below it: line feeds there do not scroll.
            "\x1b[1;2r\x1b[99;1H",
        ])
        .prop_map(|e| e.as_bytes().to_vec());
        prop_oneof![2 => flood, 3 => escape]
    }

    fn stream() -> impl Strategy<Value = ((u16, u16), usize, Vec<Chunk>)> {
        let size = (2u16..8, 4u16..20);
        let chunks = prop::collection::vec(
            (
                prop::collection::vec(piece(), 1..8).prop_map(|p| p.concat()),
                prop::option::weighted(0.1, (2u16..8, 4u16..20)),
            ),
            1..12,
        );
        (size, 0usize..20, chunks)
    }

    /// Whatever the output, the fast-forwarding screen ends as one that parses every byte (and
    /// the cases do skip: most of them hold a flood long enough).
    #[test]
    fn skipping_never_changes_what_the_screen_shows() {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::with_cases(300)
        });
        let (cases, skipping) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
        runner
            .run(&stream(), |(size, scrollback, chunks)| {
                cases.set(cases.get() + 1);
                if check_same(size, scrollback, &chunks) > 0 {
                    skipping.set(skipping.get() + 1);
                }
                Ok(())
            })
            .unwrap();
        assert!(
            skipping.get() * 5 > cases.get(),
            "{} of {} cases skipped anything",
            skipping.get(),
            cases.get()
        );
    }
}
