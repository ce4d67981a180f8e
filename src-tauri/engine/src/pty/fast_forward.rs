//! Fast-forward: which output the screen mirror may leave unparsed, because it scrolls out of
//! the scrollback before anything could show it.
//!
//! A flood (a build log, `yes`) costs the mirror most of its time in alacritty's parser, and on
//! slow cores the mirror sets the pace of the whole pane. When the mirror is behind, a batch of
//! output often holds far more lines than the screen and its scrollback can keep. The lines that
//! would scroll out again leave nothing behind, provided nothing in between does more than write
//! text and move down. [`Scanner`] finds stretches of output that only do that ([`Run`]s), and
//! [`plan`] picks the part of one that may be skipped ([`Skip`]).
//!
//! Why a skip changes nothing the mirror can show. A run holds only:
//! - text (printable characters, UTF-8, DEL),
//! - C0 controls other than SO and SI (CR, LF, TAB, BS, BEL, ...), which move the cursor
//!   right, left or down, or do nothing,
//! - SGR sequences (`ESC [ digits ; : m`), which change the pen only.
//!
//! It starts where the parser is known to be in its ground state (after a complete escape
//! sequence or a C0 control; no UTF-8 character pending). The skip `[from, to)` ends at a CR,
//! and the rest of the run from there holds at least `2 × rows + history` LFs and one printable
//! character. So, with the scroll region the whole screen and no synchronized update held
//! (checked by the screen before it skips), after the skip:
//! - The cursor only moves down, so after `rows` of those LFs it is on the bottom row whether or
//!   not the skipped part was parsed. Each of the next `rows + history` LFs scrolls one new blank
//!   row in with the same pen, so every row of the screen and of the scrollback is then written
//!   by the same bytes in both cases. Cells of a recycled row are all reset when it scrolls in
//!   ([`super::Screen`] keeps alacritty's row buffers free of stale cells: see its `heal`).
//! - The pen: the SGRs of the skipped part are replayed from the last one that resets it
//!   (`ESC[m`, `ESC[0m`), in order ([`Skip::replay`]); a reset sets every attribute an SGR can.
//! - The cursor column and pending wrap: the CR at `to` resets both.
//! - The character a later `REP` (`CSI b`) repeats: the printable character after `to`.
//! - Modes, character sets, tab stops, the saved cursor, the title: nothing in a run changes
//!   them.
//!
//! The scanner follows vte's state machine (the parser alacritty uses) exactly as far as it
//! needs to: an ESC starts a new sequence from any state, so after every ESC it knows the state
//! again; anything it does not follow (DCS, SOS/PM/APC strings, a C0 inside a sequence) ends
//! the run and leaves it unsure until the next ESC.

use std::ops::Range;

/// ESC, SO and SI.
const ESC: u8 = 0x1b;
const SO: u8 = 0x0e;
const SI: u8 = 0x0f;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;
const BEL: u8 = 0x07;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Text and C0 controls; `run` says whether a run is open.
    Ground,
    /// Not followed (a DCS or SOS/PM/APC string): unsure until the next ESC.
    Unknown,
    /// After ESC (at `start`, saturating at 0 for a sequence begun in an earlier batch).
    Escape { start: usize },
    /// After `ESC` and an intermediate byte (`ESC ( B`).
    EscapeIntermediate,
    /// A control sequence. `sgr`: only parameter bytes so far; `zeros`: every parameter byte is
    /// `0`; `empty`: no byte at all.
    Csi {
        start: usize,
        sgr: bool,
        zeros: bool,
        empty: bool,
    },
    /// An OSC string (ends at BEL, CAN, SUB or ESC).
    Osc,
}

/// An SGR sequence inside a run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sgr {
    range: Range<usize>,
    /// `ESC[m`, `ESC[0m`: sets every attribute, whatever came before.
    reset: bool,
}

/// A stretch of a batch that only writes text and moves the cursor right, left or down
/// (see the module's docs), starting in the parser's ground state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub range: Range<usize>,
    /// No scroll region was set when it began (`ESC[r` or a resize since the last one).
    pub whole_screen_scrolls: bool,
    sgrs: Vec<Sgr>,
}

/// What [`plan`] found the mirror may leave unparsed: the bytes `from..to` of the batch, once
/// the SGR sequences `replay` (byte ranges of the batch, in order) are parsed instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skip {
    pub from: usize,
    pub to: usize,
    pub replay: Vec<Range<usize>>,
}

/// Finds [`Run`]s in a pane's output, batch after batch (it keeps the parser's state between
/// them).
#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    /// Where the open run began, if one is open.
    run: Option<usize>,
    sgrs: Vec<Sgr>,
    /// A scroll region may be set (a `CSI … r` other than `ESC[r` since the last reset of it).
    region_set: bool,
    /// The last byte scanned was not ASCII: a UTF-8 character may be pending.
    utf8_pending: bool,
    /// Runs shorter than this are not kept.
    min_run: usize,
}

impl Scanner {
    /// A scanner at the start of a pane's output, keeping runs of at least `min_run` bytes.
    pub fn new(min_run: usize) -> Scanner {
        Scanner {
            state: State::Ground,
            run: None,
            sgrs: Vec::new(),
            region_set: false,
            utf8_pending: false,
            min_run: min_run.max(1),
        }
    }

    /// The screen was resized: alacritty sets the scroll region to the whole screen.
    pub fn resized(&mut self) {
        self.region_set = false;
    }

    /// Scans the next batch of output; returns its runs (of at least `min_run` bytes), in order.
    pub fn scan(&mut self, bytes: &[u8]) -> Vec<Run> {
        let mut runs = Vec::new();
        // Positions of a sequence begun in an earlier batch count from 0 here.
        self.state = match self.state {
            State::Escape { .. } => State::Escape { start: 0 },
            State::Csi {
                sgr, zeros, empty, ..
            } => State::Csi {
                start: 0,
                sgr,
                zeros,
                empty,
            },
            s => s,
        };
        self.run = match self.state {
            State::Ground if !self.utf8_pending => Some(0),
            _ => None,
        };
        self.sgrs.clear();
        let n = bytes.len();
        let mut i = 0;
        while i < n {
            match self.state {
                State::Ground => match memchr::memchr3(ESC, SO, SI, &bytes[i..]) {
                    None => i = n,
                    Some(k) => {
                        let at = i + k;
                        i = at + 1;
                        if bytes[at] == ESC {
                            self.state = State::Escape { start: at };
                        } else {
                            // SO / SI change the character set: the run ends before them, and a
                            // new one begins after (still in the ground state).
                            self.close(at, &mut runs);
                            self.open(i);
                        }
                    }
                },
                State::Unknown => match memchr::memchr(ESC, &bytes[i..]) {
                    None => i = n,
                    Some(k) => {
                        self.state = State::Escape { start: i + k };
                        i += k + 1;
                    }
                },
                State::Escape { start } => {
                    let b = bytes[i];
                    i += 1;
                    match b {
                        b'[' => {
                            self.state = State::Csi {
                                start,
                                sgr: true,
                                zeros: true,
                                empty: true,
                            }
                        }
                        _ => {
                            self.close(start, &mut runs);
                            match b {
                                b']' => self.state = State::Osc,
                                b'P' | b'X' | b'^' | b'_' => self.state = State::Unknown,
                                ESC => self.state = State::Escape { start: i - 1 },
                                CAN | SUB | 0x30..=0x7e => self.ground(i),
                                0x20..=0x2f => self.state = State::EscapeIntermediate,
                                // Other C0 controls are executed and the sequence goes on; DEL
                                // and bytes from 0x80 are ignored.
                                _ => {}
                            }
                        }
                    }
                }
                State::EscapeIntermediate => {
                    let b = bytes[i];
                    i += 1;
                    match b {
                        ESC => self.state = State::Escape { start: i - 1 },
                        CAN | SUB | 0x30..=0x7e => self.ground(i),
                        _ => {}
                    }
                }
                State::Csi {
                    start,
                    sgr,
                    zeros,
                    empty,
                } => {
                    // Parameter bytes, in one go.
                    let params = bytes[i..]
                        .iter()
                        .position(|b| !matches!(b, b'0'..=b'9' | b';' | b':'))
                        .unwrap_or(n - i);
                    if params > 0 {
                        self.state = State::Csi {
                            start,
                            sgr,
                            zeros: zeros && bytes[i..i + params].iter().all(|&b| b == b'0'),
                            empty: false,
                        };
                        i += params;
                        continue;
                    }
                    let b = bytes[i];
                    i += 1;
                    match b {
                        0x40..=0x7e => {
                            if sgr && b == b'm' {
                                if self.run.is_some() {
                                    self.sgrs.push(Sgr {
                                        range: start..i,
                                        reset: zeros,
                                    });
                                }
                            } else {
                                self.close(start, &mut runs);
                                if b == b'r' {
                                    // `ESC[r` alone sets the whole screen; anything else may not.
                                    self.region_set = !(sgr && empty);
                                }
                            }
                            self.ground(i);
                        }
                        CAN | SUB => {
                            self.close(start, &mut runs);
                            self.ground(i);
                        }
                        ESC => {
                            self.close(start, &mut runs);
                            self.state = State::Escape { start: i - 1 };
                        }
                        // Intermediates, private markers, C0 controls (executed inside the
                        // sequence), DEL and bytes from 0x80: not an SGR.
                        _ => {
                            self.state = State::Csi {
                                start,
                                sgr: false,
                                zeros,
                                empty: false,
                            }
                        }
                    }
                }
                State::Osc => {
                    let b = bytes[i];
                    i += 1;
                    match b {
                        BEL | CAN | SUB => self.ground(i),
                        ESC => self.state = State::Escape { start: i - 1 },
                        _ => {}
                    }
                }
            }
        }
        // The batch ends: an open run ends with it, or where a sequence still open began.
        let end = match self.state {
            State::Escape { start } | State::Csi { start, .. } => start,
            _ => n,
        };
        self.close(end, &mut runs);
        self.utf8_pending = n > 0 && bytes[n - 1] >= 0x80;
        runs
    }

    /// A sequence ended at `at` with the parser in its ground state: a run may begin there.
    fn ground(&mut self, at: usize) {
        self.state = State::Ground;
        if self.run.is_none() {
            self.open(at);
        }
    }

    fn open(&mut self, at: usize) {
        self.run = Some(at);
        self.sgrs.clear();
    }

    /// Ends the open run (if any) at `end`, keeping it if it is long enough.
    fn close(&mut self, end: usize, runs: &mut Vec<Run>) {
        let Some(start) = self.run.take() else {
            return;
        };
        if end.saturating_sub(start) >= self.min_run {
            runs.push(Run {
                range: start..end,
                whole_screen_scrolls: !self.region_set,
                sgrs: std::mem::take(&mut self.sgrs),
            });
        } else {
            self.sgrs.clear();
        }
    }
}

/// The part of `run` (a run of `bytes`) the mirror may skip: everything before the last CR that
/// is followed, within the run, by at least `lines` LFs and a printable character; `None` when
/// that leaves less than `min_skip` bytes.
pub(crate) fn plan(bytes: &[u8], run: &Run, lines: usize, min_skip: usize) -> Option<Skip> {
    let Range { start, end } = run.range.clone();
    if end - start < min_skip.max(1) || lines == 0 {
        return None;
    }
    let run_bytes = &bytes[start..end];
    // The `lines`-th LF from the end.
    let nth_lf = memchr::memrchr_iter(b'\n', run_bytes).nth(lines - 1)?;
    let cr = start + memchr::memrchr(b'\r', &run_bytes[..nth_lf])?;
    if cr - start < min_skip.max(1) {
        return None;
    }
    // SGRs that end before the CR; replayed from the last reset among them.
    let before = run.sgrs.partition_point(|s| s.range.end <= cr);
    let from_reset = run.sgrs[..before]
        .iter()
        .rposition(|s| s.reset)
        .unwrap_or(0);
    // A printable character after the CR (outside SGRs, whose bytes are printable too).
    let mut sgrs = run.sgrs[before..].iter().peekable();
    let mut i = cr;
    let printable = loop {
        if i >= end {
            break false;
        }
        if let Some(s) = sgrs.peek() {
            if s.range.start == i {
                i = s.range.end;
                sgrs.next();
                continue;
            }
        }
        if (0x20..=0x7e).contains(&bytes[i]) {
            break true;
        }
        i += 1;
    };
    printable.then(|| Skip {
        from: start,
        to: cr,
        replay: run.sgrs[from_reset..before]
            .iter()
            .map(|s| s.range.clone())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of `bytes` (scanned in one batch), as `start..end` with the SGRs each holds.
    fn runs(bytes: &[u8]) -> Vec<(Range<usize>, usize)> {
        Scanner::new(1)
            .scan(bytes)
            .into_iter()
            .map(|r| (r.range, r.sgrs.len()))
            .collect()
    }

    #[test]
    fn text_and_sgrs_are_one_run() {
        let b = b"ab\x1b[1;32mok\x1b[0m\r\ncd";
        assert_eq!(runs(b), vec![(0..b.len(), 2)]);
    }

    #[test]
    fn other_sequences_end_a_run_and_one_begins_after_them() {
        // Cursor up, then an OSC title ended by BEL, then a charset designation.
        let b = b"abc\x1b[2Adef\x1b]0;title\x07ghi\x1b(Bjk";
        assert_eq!(
            runs(b),
            vec![(0..3, 0), (7..10, 0), (20..23, 0), (26..28, 0)]
        );
    }

    #[test]
    fn so_and_si_end_a_run() {
        assert_eq!(
            runs(b"ab\x0ecd\x0fe"),
            vec![(0..2, 0), (3..5, 0), (6..7, 0)]
        );
    }

    #[test]
    fn a_dcs_string_is_not_part_of_a_run() {
        // The scanner does not follow the DCS; its ST (`ESC \\`) ends it.
        let b = b"ab\x1bPq#0\x1b\\cd\x1b[mef";
        assert_eq!(runs(b), vec![(0..2, 0), (9..16, 1)]);
    }

    #[test]
    fn private_and_intermediate_sequences_are_not_sgrs() {
        assert_eq!(
            runs(b"a\x1b[?25lb\x1b[>4;1mc"),
            vec![(0..1, 0), (7..8, 0), (15..16, 0)]
        );
    }

    #[test]
    fn a_sequence_split_across_batches_is_followed() {
        let mut s = Scanner::new(1);
        let first = s.scan(b"ab\x1b[3");
        assert_eq!(first[0].range, 0..2);
        // The SGR ends in the second batch: its end starts a run, not its middle.
        let second = s.scan(b"1mcd\x1b[2J");
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].range, 2..4);
    }

    #[test]
    fn a_batch_ending_inside_a_utf8_character_starts_no_run_in_the_next() {
        let mut s = Scanner::new(1);
        s.scan("ab\u{e9}".as_bytes());
        assert!(s.scan(b"\xa9cd").is_empty());
        let third = s.scan(b"x");
        assert_eq!(third.len(), 1, "ASCII at the end of the batch before");
    }

    #[test]
    fn a_scroll_region_marks_the_runs_after_it() {
        let mut s = Scanner::new(1);
        let r = s.scan(b"a\x1b[2;5rb\x1b[rc\x1b[0rd");
        let flags: Vec<bool> = r.iter().map(|r| r.whole_screen_scrolls).collect();
        assert_eq!(flags, vec![true, false, true, false]);
        s.resized();
        assert!(s.scan(b"e")[0].whole_screen_scrolls);
    }

    /// `plan` over one run of `bytes`, shown as the skipped bytes and the replayed SGRs.
    fn check_plan(bytes: &[u8], lines: usize, expect: Option<(&str, Vec<&str>)>) {
        let runs = Scanner::new(1).scan(bytes);
        assert_eq!(runs.len(), 1, "{runs:?}");
        let got = plan(bytes, &runs[0], lines, 1).map(|s| {
            (
                String::from_utf8_lossy(&bytes[s.from..s.to]).into_owned(),
                s.replay
                    .iter()
                    .map(|r| String::from_utf8_lossy(&bytes[r.clone()]).into_owned())
                    .collect::<Vec<_>>(),
            )
        });
        let expect = expect.map(|(s, r)| {
            (
                s.to_string(),
                r.into_iter().map(str::to_string).collect::<Vec<_>>(),
            )
        });
        assert_eq!(got, expect);
    }

    #[test]
    fn the_skip_ends_at_the_last_cr_with_enough_lfs_after_it() {
        check_plan(b"a\r\nb\r\nc\r\nd\r\n", 2, Some(("a\r\nb\r\nc", vec![])));
        check_plan(b"a\r\nb", 2, None);
    }

    #[test]
    fn sgrs_are_replayed_from_the_last_reset() {
        check_plan(
            b"\x1b[41ma\x1b[0m\x1b[1mb\x1b[32mc\r\nd\r\ne\r\n",
            2,
            Some((
                "\x1b[41ma\x1b[0m\x1b[1mb\x1b[32mc\r\nd",
                vec!["\x1b[0m", "\x1b[1m", "\x1b[32m"],
            )),
        );
        check_plan(
            b"\x1b[41ma\x1b[1mb\r\nd\r\ne\r\n",
            2,
            Some(("\x1b[41ma\x1b[1mb\r\nd", vec!["\x1b[41m", "\x1b[1m"])),
        );
    }

    #[test]
    fn no_skip_without_a_printable_character_after_it() {
        check_plan(b"abc\r\n\r\n\r\n", 2, None);
        check_plan(b"abc\r\n\r\n\x1b[1m\r\n", 2, None);
        check_plan(b"abc\r\n\r\n\x1b[1m\r\nx", 2, Some(("abc\r\n", vec![])));
    }
}
