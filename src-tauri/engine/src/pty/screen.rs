//! The Rust-side screen mirror: [`Screen`], an `alacritty_terminal` emulator fed the same frames
//! as the UI, with the engine's own API over it (text, cursor, modes, scrollback, and a snapshot
//! that draws it again elsewhere).

use std::fmt::Write as _;
use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use alacritty_terminal::event::VoidListener;
use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{Color, NamedColor, Processor, Timeout};
use serde::{Deserialize, Serialize};

use super::fast_forward::{self, Scanner};
use super::{PaneSize, PtyError};

/// What a pane's screen shows right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenSnapshot {
    pub size: PaneSize,
    /// One entry per visible row, trailing blanks trimmed.
    pub lines: Vec<String>,
    /// Zero-based cursor row and column.
    pub cursor: (u16, u16),
    pub cursor_hidden: bool,
    /// Whether a full-screen program switched to the alternate screen.
    pub alternate_screen: bool,
}

impl ScreenSnapshot {
    pub(crate) fn of(screen: &Screen) -> Self {
        let (rows, cols) = screen.size();
        ScreenSnapshot {
            size: PaneSize::new(rows, cols),
            lines: screen.rows().collect(),
            cursor: screen.cursor_position(),
            cursor_hidden: screen.hide_cursor(),
            alternate_screen: screen.alternate_screen(),
        }
    }

    /// The visible rows joined with `'\n'`, trailing blank rows dropped.
    pub fn text(&self) -> String {
        join_rows(&self.lines)
    }
}

/// Rows joined with `'\n'`, trailing blank rows dropped.
fn join_rows(lines: &[String]) -> String {
    let used = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..used].join("\n")
}

pub(crate) fn nonzero_size(size: PaneSize) -> Result<(NonZeroU16, NonZeroU16), PtyError> {
    match (NonZeroU16::new(size.rows), NonZeroU16::new(size.cols)) {
        (Some(r), Some(c)) => Ok((r, c)),
        _ => Err(PtyError::InvalidSize {
            rows: size.rows,
            cols: size.cols,
        }),
    }
}

/// Longest a synchronized-output frame (`ESC[?2026h` without its `ESC[?2026l`) is held back from
/// the screen, by default: the coalescer's default `sync_timeout` (and alacritty's own).
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_millis(150);

/// A terminal screen: what a pane shows, parsed from its output.
///
/// An `alacritty_terminal` [`Term`] (with no event listener: it answers no queries, the pane's
/// real terminal does) and its parser. Chosen over vt100 by `emulator-bench` (README there):
/// with a 10 000-line scrollback it parses 1.8-2.5x faster (build log 70 vs 28 MB/s, TUI redraws
/// 138 vs 76 MB/s) and keeps up with a raw PTY reader where vt100 falls to 26-31 %.
///
/// Synchronized output (DEC mode 2026): the parser holds what follows `ESC[?2026h` until
/// `ESC[?2026l`, so a half-drawn frame is never read. A frame whose end never comes is applied
/// once its sync timeout has passed since it began: [`Screen::end_overdue_sync`] (the pane's
/// mirror thread calls it at [`Screen::sync_deadline`], and readers before they look).
///
/// Fast-forward: when a batch of output holds more lines than the screen and its scrollback
/// keep, the lines that would scroll out again unseen are not parsed (`pty::fast_forward`
/// says when that changes nothing the screen can show; the tests check it against a screen that
/// parses every byte). On by default, for skips of at least [`FAST_FORWARD_MIN`] bytes.
pub struct Screen {
    term: Term<VoidListener>,
    parser: Processor<SyncStart>,
    sync_timeout: Duration,
    /// Lines of scrollback kept at most.
    history: usize,
    /// `None`: every byte is parsed. Else the shortest skip worth making.
    fast_forward: Option<usize>,
    scanner: Scanner,
    /// Whether the main screen's and the alternate screen's row buffers are healed (see `heal`).
    healed: [bool; 2],
    /// Bytes left unparsed so far.
    skipped: u64,
}

/// The shortest stretch of output [`Screen`] leaves unparsed by default: below this, finding
/// it costs about what parsing it would.
pub const FAST_FORWARD_MIN: usize = 16 << 10;

/// The parser's synchronized-update clock: when the pending update began. (alacritty's own
/// `StdSyncHandler` only keeps a deadline that every `ESC[?2026h` pushes back and that nothing
/// enforces by itself; the deadline here is [`Screen::sync_deadline`], from the first one, so a
/// program that keeps opening frames without ending them cannot hold the screen longer. A frame
/// opened right after another ended, in the same chunk, keeps the earlier start: it may be
/// applied early, never late.)
#[derive(Debug, Default)]
struct SyncStart(Option<Instant>);

impl Timeout for SyncStart {
    fn set_timeout(&mut self, _: Duration) {
        self.0.get_or_insert_with(Instant::now);
    }

    fn clear_timeout(&mut self) {
        self.0 = None;
    }

    fn pending_timeout(&self) -> bool {
        self.0.is_some()
    }
}

struct Size {
    rows: usize,
    cols: usize,
}

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.rows
    }
    fn screen_lines(&self) -> usize {
        self.rows
    }
    fn columns(&self) -> usize {
        self.cols
    }
}

impl Screen {
    /// A blank screen of `size` keeping up to `scrollback` lines above it.
    pub fn new(size: PaneSize, scrollback: usize) -> Result<Screen, PtyError> {
        nonzero_size(size)?;
        let config = Config {
            scrolling_history: scrollback,
            ..Config::default()
        };
        let size = Size {
            rows: size.rows as usize,
            cols: size.cols as usize,
        };
        Ok(Screen {
            term: Term::new(config, &size, VoidListener),
            parser: Processor::new(),
            sync_timeout: DEFAULT_SYNC_TIMEOUT,
            history: scrollback,
            fast_forward: Some(FAST_FORWARD_MIN),
            scanner: Scanner::new(FAST_FORWARD_MIN),
            healed: [true, true],
            skipped: 0,
        })
    }

    /// Fast-forward on for skips of at least `min` bytes, or off (`None`: every byte is parsed).
    pub fn with_fast_forward(mut self, min: Option<usize>) -> Screen {
        self.fast_forward = min;
        self.scanner = Scanner::new(min.unwrap_or(usize::MAX));
        self
    }

    /// Bytes of output left unparsed by fast-forward so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// How long a synchronized-output frame may wait for its end ([`DEFAULT_SYNC_TIMEOUT`]).
    pub fn with_sync_timeout(mut self, timeout: Duration) -> Screen {
        self.sync_timeout = timeout;
        self
    }

    /// Parses `bytes` of terminal output (first applying a synchronized frame that is overdue).
    pub fn process(&mut self, bytes: &[u8]) {
        self.end_overdue_sync(Instant::now());
        let mut at = 0;
        if let Some(min_skip) = self.fast_forward {
            // Enough LFs that the cursor reaches the bottom row, then scrolls every row of the
            // screen and the scrollback out.
            let lines = 2 * self.term.grid().screen_lines() + self.history;
            for run in self.scanner.scan(bytes) {
                if !run.whole_screen_scrolls {
                    continue;
                }
                let Some(skip) = fast_forward::plan(bytes, &run, lines, min_skip) else {
                    continue;
                };
                self.parser.advance(&mut self.term, &bytes[at..skip.from]);
                at = skip.from;
                if self.may_skip() {
                    for sgr in skip.replay {
                        self.parser.advance(&mut self.term, &bytes[sgr]);
                    }
                    at = skip.to;
                    self.skipped += (skip.to - skip.from) as u64;
                }
            }
        }
        self.parser.advance(&mut self.term, &bytes[at..]);
    }

    /// Whether the parser may leave a run unparsed here: no synchronized update is held (its
    /// bytes wait in the parser), and the screen shown has healed row buffers.
    fn may_skip(&self) -> bool {
        !self.parser.sync_timeout().pending_timeout()
            && self.parser.sync_bytes_count() == 0
            && self.healed[usize::from(self.alternate_screen())]
    }

    /// Makes every reset of a row of the screen shown (and of its scrollback) reset all of its
    /// cells. alacritty resets a recycled row only up to the last cell written since its last
    /// reset, unless its last cell's background differs from the pen's; a resize can leave
    /// cells past that point with another background (columns added, lines reflowed), which a
    /// later reset then keeps. Which rows get recycled depends on how many lines scrolled, so
    /// without this a fast-forward could change those stale backgrounds. Here: the row buffers
    /// past the scrollback are dropped, and every row's next reset is a full one. (The other
    /// screen, not reachable through alacritty's API, is healed when next resized while shown.)
    fn heal(&mut self) {
        let alternate = self.alternate_screen();
        let grid = self.term.grid_mut();
        grid.truncate();
        let top = -(grid.history_size() as i32);
        for line in top..grid.screen_lines() as i32 {
            grid[Line(line)].last_mut();
        }
        self.healed[usize::from(alternate)] = true;
        self.healed[usize::from(!alternate)] = false;
    }

    /// Resizes the screen (alacritty reflows wrapped lines to the new width).
    pub fn set_size(&mut self, size: PaneSize) -> Result<(), PtyError> {
        nonzero_size(size)?;
        if self.size() == (size.rows, size.cols) {
            // alacritty changes nothing then, not even the scroll region.
            return Ok(());
        }
        self.term.resize(Size {
            rows: size.rows as usize,
            cols: size.cols as usize,
        });
        self.heal();
        if self.parser.sync_bytes_count() == 0 && !self.parser.sync_timeout().pending_timeout() {
            // The scroll region is the whole screen now, unless a `CSI r` the scanner has seen
            // waits in a synchronized update, to be applied after this resize.
            self.scanner.resized();
        }
        Ok(())
    }

    /// (rows, columns).
    pub fn size(&self) -> (u16, u16) {
        let g = self.term.grid();
        (g.screen_lines() as u16, g.columns() as u16)
    }

    /// The visible rows, top to bottom, each with trailing blanks trimmed.
    pub fn rows(&self) -> impl Iterator<Item = String> + '_ {
        let g = self.term.grid();
        (0..g.screen_lines()).map(move |l| row_text(&g[Line(l as i32)], g.columns()))
    }

    /// Visible row `row` (zero-based), trailing blanks trimmed.
    pub fn row(&self, row: u16) -> Option<String> {
        let g = self.term.grid();
        ((row as usize) < g.screen_lines()).then(|| row_text(&g[Line(row as i32)], g.columns()))
    }

    /// The visible rows joined with `'\n'`, trailing blanks of each trimmed, trailing blank rows
    /// dropped. (Unlike vt100's `contents`, a soft-wrapped line stays one row per line.)
    pub fn contents(&self) -> String {
        join_rows(&self.rows().collect::<Vec<_>>())
    }

    /// Lines scrolled off the top and kept, oldest first, trailing blanks trimmed (none on the
    /// alternate screen, which has no scrollback).
    pub fn scrollback_rows(&self) -> impl Iterator<Item = String> + '_ {
        let g = self.term.grid();
        (-(g.history_size() as i32)..0).map(move |l| row_text(&g[Line(l)], g.columns()))
    }

    /// How many lines of scrollback are kept.
    pub fn scrollback_len(&self) -> usize {
        self.term.grid().history_size()
    }

    /// Zero-based (row, column) of the cursor.
    pub fn cursor_position(&self) -> (u16, u16) {
        let p = self.term.grid().cursor.point;
        (p.line.0.max(0) as u16, p.column.0 as u16)
    }

    /// Whether the program hid the cursor (`ESC[?25l`).
    pub fn hide_cursor(&self) -> bool {
        !self.mode(TermMode::SHOW_CURSOR)
    }

    /// Whether a full-screen program switched to the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.mode(TermMode::ALT_SCREEN)
    }

    /// Whether the program asked for bracketed paste (`ESC[?2004h`).
    pub fn bracketed_paste(&self) -> bool {
        self.mode(TermMode::BRACKETED_PASTE)
    }

    /// Whether the program asked for application cursor keys (`ESC[?1h`).
    pub fn application_cursor(&self) -> bool {
        self.mode(TermMode::APP_CURSOR)
    }

    fn mode(&self, mode: TermMode) -> bool {
        self.term.mode().contains(mode)
    }

    /// When the synchronized-output frame being held must be applied, if one is.
    pub fn sync_deadline(&self) -> Option<Instant> {
        self.parser.sync_timeout().0.map(|t| t + self.sync_timeout)
    }

    /// Applies the synchronized-output frame being held, if any (as if its end had come).
    /// Returns whether there was one.
    pub fn end_sync(&mut self) -> bool {
        if !self.parser.sync_timeout().pending_timeout() {
            return false;
        }
        self.parser.stop_sync(&mut self.term);
        true
    }

    /// [`Screen::end_sync`] if the frame's deadline is at or before `now`. Returns whether the
    /// screen changed.
    pub fn end_overdue_sync(&mut self, now: Instant) -> bool {
        match self.sync_deadline() {
            Some(deadline) if deadline <= now => self.end_sync(),
            _ => false,
        }
    }

    /// The screen and up to `scrollback` of the lines above it as bytes that draw them again in a
    /// terminal of the same size (xterm.js, another [`Screen`], vt100): a reset (`ESC c`), the
    /// scrollback lines (text with attributes), enough newlines to scroll them above the screen,
    /// then the screen itself with its attributes and soft wraps, the cursor (position, pending
    /// wrap, visibility, pen) and the modes (application cursor keys and keypad, bracketed
    /// paste, mouse reporting, focus events, autowrap, insert). A full-screen program's
    /// alternate screen is drawn as such (the main screen and its scrollback are not part of
    /// it). Not drawn: the scroll region, saved cursor, character sets, tab stops, hyperlinks,
    /// the title, kitty keyboard modes (not tracked).
    ///
    /// A synchronized-output frame being held is applied first (the snapshot stands for every
    /// byte parsed), and the snapshot then ends with `ESC[?2026h`, so that the terminal drawing
    /// it holds the rest of the frame until its end, as this one would have. The snapshot itself
    /// is one synchronized frame (`ESC[?2026h` after the reset, `ESC[?2026l` at its end): a
    /// terminal that parses it in slices (xterm.js does, 12 ms at a time) draws it once.
    pub fn formatted(&mut self, scrollback: usize) -> Vec<u8> {
        let in_sync = self.end_sync();
        let g = self.term.grid();
        let (rows, cols) = (g.screen_lines(), g.columns());
        // Reset, then hold the drawing until the snapshot's end. (A reset ends synchronized
        // output, so the hold comes after it.)
        let mut out = String::from("\x1bc\x1b[?2026h");
        if self.alternate_screen() {
            out.push_str("\x1b[?1049h");
        } else {
            let n = scrollback.min(g.history_size()) as i32;
            for l in -n..0 {
                let next = (l + 1 < 0).then(|| &g[Line(l + 1)]);
                if !write_row(&mut out, &g[Line(l)], next, cols) {
                    out.push_str("\r\n");
                }
            }
            if n > 0 {
                // The last line is followed by `rows` newlines in all: every line written is then
                // above the screen. (A last line that wraps into the screen loses that link.)
                if g[Line(-1)][Column(cols - 1)]
                    .flags
                    .contains(Flags::WRAPLINE)
                {
                    out.push_str("\r\n");
                }
                for _ in 1..rows {
                    out.push_str("\r\n");
                }
            }
        }
        // The screen is blank here (reset, scrolled or alternate): draw its rows, each from its
        // first column unless the row above wraps into it.
        let mut continues = false;
        for l in 0..rows as i32 {
            if !continues {
                let _ = write!(out, "\x1b[{};1H", l + 1);
            }
            let next = (l + 1 < rows as i32).then(|| &g[Line(l + 1)]);
            continues = write_row(&mut out, &g[Line(l)], next, cols);
        }
        let mode = *self.term.mode();
        if mode.contains(TermMode::ORIGIN) {
            // Before the cursor is placed: setting it homes the cursor.
            out.push_str("\x1b[?6h");
        }
        let cursor = &g.cursor;
        let (line, col) = (cursor.point.line, cursor.point.column.0);
        if cursor.input_needs_wrap && line.0 >= 0 && (line.0 as usize) < rows {
            // The last character written filled the row: write it again, so the next one wraps.
            let row = &g[line];
            let at = if col > 0 && row[Column(col)].flags.contains(Flags::WIDE_CHAR_SPACER) {
                col - 1
            } else {
                col
            };
            let _ = write!(out, "\x1b[{};{}H", line.0 + 1, at + 1);
            sgr(&mut out, &row[Column(at)]);
            push_cell(&mut out, &row[Column(at)]);
        } else {
            let _ = write!(out, "\x1b[{};{}H", line.0 + 1, col + 1);
        }
        sgr(&mut out, &cursor.template);
        for (m, differs) in [
            (TermMode::SHOW_CURSOR, "\x1b[?25l"),
            (TermMode::LINE_WRAP, "\x1b[?7l"),
            (TermMode::ALTERNATE_SCROLL, "\x1b[?1007l"),
        ] {
            if !mode.contains(m) {
                out.push_str(differs);
            }
        }
        for (m, set) in [
            (TermMode::APP_CURSOR, "\x1b[?1h"),
            (TermMode::APP_KEYPAD, "\x1b="),
            (TermMode::BRACKETED_PASTE, "\x1b[?2004h"),
            (TermMode::MOUSE_REPORT_CLICK, "\x1b[?1000h"),
            (TermMode::MOUSE_DRAG, "\x1b[?1002h"),
            (TermMode::MOUSE_MOTION, "\x1b[?1003h"),
            (TermMode::UTF8_MOUSE, "\x1b[?1005h"),
            (TermMode::SGR_MOUSE, "\x1b[?1006h"),
            (TermMode::FOCUS_IN_OUT, "\x1b[?1004h"),
            (TermMode::INSERT, "\x1b[4h"),
            (TermMode::LINE_FEED_NEW_LINE, "\x1b[20h"),
        ] {
            if mode.contains(m) {
                out.push_str(set);
            }
        }
        // Draw it all now; a frame that was being held is held again from here.
        out.push_str("\x1b[?2026l");
        if in_sync {
            out.push_str("\x1b[?2026h");
        }
        out.into_bytes()
    }
}

/// The text of a cell: its character (a tab's cell shows blank) and any zero-width ones after it.
fn push_cell(out: &mut String, cell: &Cell) {
    out.push(if cell.c == '\t' { ' ' } else { cell.c });
    if let Some(zw) = cell.zerowidth() {
        out.extend(zw);
    }
}

fn is_spacer(cell: &Cell) -> bool {
    cell.flags
        .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
}

fn row_text(row: &Row<Cell>, cols: usize) -> String {
    let mut s = String::with_capacity(cols);
    for c in 0..cols {
        let cell = &row[Column(c)];
        if !is_spacer(cell) {
            push_cell(&mut s, cell);
        }
    }
    s.truncate(s.trim_end().len());
    s
}

/// Attributes that show on a cell (and so start a new run of SGR).
const STYLE: Flags = Flags::INVERSE
    .union(Flags::BOLD)
    .union(Flags::ITALIC)
    .union(Flags::ALL_UNDERLINES)
    .union(Flags::DIM)
    .union(Flags::HIDDEN)
    .union(Flags::STRIKEOUT);

fn color(out: &mut String, c: Color, base: usize) {
    match c {
        Color::Named(n) => {
            let i = n as usize;
            if i < 8 {
                let _ = write!(out, ";{}", base + i);
            } else if i < 16 {
                let _ = write!(out, ";{}", base + 60 + i - 8);
            }
            // Foreground / Background: the default, nothing after the reset. (The parser
            // stores no other named colour in a cell.)
        }
        Color::Indexed(i) => {
            let _ = write!(out, ";{};5;{}", base + 8, i);
        }
        Color::Spec(rgb) => {
            let _ = write!(out, ";{};2;{};{};{}", base + 8, rgb.r, rgb.g, rgb.b);
        }
    }
}

/// SGR for `cell`'s attributes, from a reset.
fn sgr(out: &mut String, cell: &Cell) {
    out.push_str("\x1b[0");
    let f = cell.flags;
    for (flag, code) in [
        (Flags::BOLD, "1"),
        (Flags::DIM, "2"),
        (Flags::ITALIC, "3"),
        (Flags::UNDERLINE, "4"),
        (Flags::DOUBLE_UNDERLINE, "21"),
        (Flags::UNDERCURL, "4:3"),
        (Flags::DOTTED_UNDERLINE, "4:4"),
        (Flags::DASHED_UNDERLINE, "4:5"),
        (Flags::INVERSE, "7"),
        (Flags::HIDDEN, "8"),
        (Flags::STRIKEOUT, "9"),
    ] {
        if f.contains(flag) {
            out.push(';');
            out.push_str(code);
        }
    }
    color(out, cell.fg, 30);
    color(out, cell.bg, 40);
    match cell.underline_color() {
        Some(Color::Named(n)) if (n as usize) < 16 => {
            let _ = write!(out, ";58;5;{}", n as usize);
        }
        Some(Color::Indexed(i)) => {
            let _ = write!(out, ";58;5;{i}");
        }
        Some(Color::Spec(rgb)) => {
            let _ = write!(out, ";58;2;{};{};{}", rgb.r, rgb.g, rgb.b);
        }
        _ => {}
    }
    out.push('m');
}

/// A cell that shows nothing: trailing ones need not be drawn.
fn is_blank(cell: &Cell) -> bool {
    (cell.c == ' ' || cell.c == '\t')
        && cell.zerowidth().is_none()
        && cell.bg == Color::Named(NamedColor::Background)
        && !cell
            .flags
            .intersects(Flags::INVERSE | Flags::ALL_UNDERLINES | Flags::STRIKEOUT)
}

/// Writes one row's cells with SGR, ending with a reset. Returns whether the row was written to
/// its last column so that the next character wraps into `next` (the row wraps and `next` starts
/// with something to draw); otherwise the caller moves to the next row itself.
fn write_row(out: &mut String, row: &Row<Cell>, next: Option<&Row<Cell>>, cols: usize) -> bool {
    let last_drawn = |r: &Row<Cell>| (0..cols).rev().find(|&c| !is_blank(&r[Column(c)]));
    let wraps = row[Column(cols - 1)].flags.contains(Flags::WRAPLINE)
        && next.is_some_and(|n| last_drawn(n).is_some());
    let end = if wraps {
        cols
    } else {
        last_drawn(row).map_or(0, |c| c + 1)
    };
    let mut cur: Option<(Color, Color, Flags, Option<Color>)> = None;
    for c in 0..end {
        let cell = &row[Column(c)];
        if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
            continue;
        }
        let key = (cell.fg, cell.bg, cell.flags & STYLE, cell.underline_color());
        if cur != Some(key) {
            sgr(out, cell);
            cur = Some(key);
        }
        if cell.flags.contains(Flags::LEADING_WIDE_CHAR_SPACER) {
            // A wide character that did not fit here went to the next row: a blank takes its
            // place, so the row still ends at its last column.
            out.push(' ');
        } else {
            push_cell(out, cell);
        }
    }
    out.push_str("\x1b[m");
    wraps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(rows: u16, cols: u16, scrollback: usize, bytes: &[u8]) -> Screen {
        let mut s = Screen::new(PaneSize::new(rows, cols), scrollback).unwrap();
        s.process(bytes);
        s
    }

    /// An independent emulator's view of a snapshot: vt100's screen text, cursor, modes and
    /// scrollback lines (oldest first).
    struct Vt100View {
        rows: Vec<String>,
        cursor: (u16, u16),
        hide_cursor: bool,
        alternate: bool,
        bracketed_paste: bool,
        application_cursor: bool,
        scrollback: Vec<String>,
    }

    fn vt100_view(bytes: &[u8], rows: u16, cols: u16) -> Vt100View {
        let mut p = vt100::Parser::new(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
            10_000,
        );
        p.process(bytes);
        let trim = |r: String| r.trim_end().to_string();
        let s = p.screen_mut();
        s.set_scrollback(usize::MAX);
        let n = s.scrollback();
        let scrollback: Vec<String> = (1..=n)
            .rev()
            .map(|k| {
                s.set_scrollback(k);
                trim(s.rows(0, cols).next().unwrap_or_default())
            })
            .collect();
        s.set_scrollback(0);
        let s = p.screen();
        Vt100View {
            rows: s.rows(0, cols).map(trim).collect(),
            cursor: s.cursor_position(),
            hide_cursor: s.hide_cursor(),
            alternate: s.alternate_screen(),
            bracketed_paste: s.bracketed_paste(),
            application_cursor: s.application_cursor(),
            scrollback,
        }
    }

    /// Draws `bytes` on a fresh screen, formats it, and draws that again on a fresh [`Screen`]
    /// and on vt100 (an independent emulator): both show the same rows, cursor, modes and the
    /// last `keep` scrollback lines; the fresh `Screen` also has the same attributes (its own
    /// snapshot of the screen alone is the same bytes).
    fn check_round_trip(bytes: &[u8], rows: u16, cols: u16, keep: usize) {
        let mut a = screen(rows, cols, 1000, bytes);
        let snapshot = a.formatted(keep);
        let want_rows: Vec<String> = a.rows().collect();
        let alt = a.alternate_screen();
        let want_scrollback: Vec<String> = if alt {
            Vec::new()
        } else {
            let all: Vec<String> = a.scrollback_rows().collect();
            all[all.len().saturating_sub(keep)..].to_vec()
        };

        let mut b = screen(rows, cols, 1000, &snapshot);
        assert_eq!(b.rows().collect::<Vec<_>>(), want_rows, "rows");
        assert_eq!(b.cursor_position(), a.cursor_position(), "cursor");
        assert_eq!(b.hide_cursor(), a.hide_cursor());
        assert_eq!(b.alternate_screen(), alt);
        assert_eq!(b.term.mode(), a.term.mode(), "modes");
        assert_eq!(
            b.term.grid().cursor.input_needs_wrap,
            a.term.grid().cursor.input_needs_wrap,
            "pending wrap"
        );
        assert_eq!(b.scrollback_rows().collect::<Vec<_>>(), want_scrollback);
        assert_eq!(
            String::from_utf8(b.formatted(0)).unwrap(),
            String::from_utf8(a.formatted(0)).unwrap(),
            "attributes"
        );
        if keep >= a.scrollback_len() {
            // All of it was sent: the scrollback's attributes and soft wraps came too.
            assert_eq!(
                String::from_utf8(b.formatted(keep)).unwrap(),
                String::from_utf8(a.formatted(keep)).unwrap(),
                "scrollback attributes"
            );
        }

        let v = vt100_view(&snapshot, rows, cols);
        assert_eq!(v.rows, want_rows, "vt100 rows");
        // vt100 shows a wrap pending after the last column as a cursor past it.
        let (row, col) = a.cursor_position();
        let pending = a.term.grid().cursor.input_needs_wrap;
        assert_eq!(
            v.cursor,
            (row, if pending { cols } else { col }),
            "vt100 cursor"
        );
        assert_eq!(v.hide_cursor, a.hide_cursor());
        assert_eq!(v.alternate, alt);
        assert_eq!(v.bracketed_paste, a.bracketed_paste());
        assert_eq!(v.application_cursor, a.application_cursor());
        assert_eq!(v.scrollback, want_scrollback, "vt100 scrollback");
    }

    #[test]
    fn a_formatted_screen_draws_the_same_screen_and_scrollback() {
        let mut flood = Vec::new();
        for i in 0..300 {
            flood.extend_from_slice(
                format!(
                    "\x1b[3{}mline {i}\x1b[m and \x1b[1mbold\x1b[m \x1b[38;2;1;2;3;48;5;200mtext\x1b[m\r\n",
                    i % 8
                )
                .as_bytes(),
            );
            if i % 37 == 0 {
                // A line longer than the screen is wide: it wraps.
                flood.extend_from_slice(format!("{}\r\n", "wrap ".repeat(30)).as_bytes());
            }
            if i % 53 == 0 {
                flood.extend_from_slice(b"\r\n\tafter a blank line and a tab\r\n");
            }
        }
        flood.extend_from_slice(
            "\x1b[5;10H\x1b[44mmoved\x1b[m \u{2500}\u{2502} \u{6f22}\u{5b57}".as_bytes(),
        );
        check_round_trip(&flood, 24, 80, 1000);
        check_round_trip(&flood, 24, 80, 50);
        check_round_trip(b"short\r\nscreen", 24, 80, 1000);
        check_round_trip(b"", 10, 40, 1000);
        // The cursor waiting to wrap after the last column; a wide character that wrapped.
        check_round_trip(
            &[b"x".repeat(40), b"\r\n".to_vec(), b"y".repeat(40)].concat(),
            10,
            40,
            1000,
        );
        check_round_trip(
            format!("{}\u{6f22}\u{5b57} end", "z".repeat(39)).as_bytes(),
            10,
            40,
            1000,
        );
        // Input modes and a hidden cursor on the main screen.
        check_round_trip(
            b"prompt> \x1b[?2004h\x1b[?1h\x1b=\x1b[?25l\x1b[1;31m",
            10,
            40,
            1000,
        );
        // A full-screen program on the alternate screen, with bracketed paste on.
        check_round_trip(
            b"main\r\n\x1b[?1049h\x1b[?2004h\x1b[2J\x1b[1;1Htop\x1b[10;5Hbottom\x1b[?25l",
            10,
            40,
            1000,
        );
    }

    #[test]
    fn text_rows_cursor_and_size() {
        let s = screen(4, 20, 0, b"one\r\n  two  \r\n\x1b[?25l");
        assert_eq!(s.size(), (4, 20));
        assert_eq!(s.contents(), "one\n  two");
        assert_eq!(s.row(1).as_deref(), Some("  two"));
        assert_eq!(s.row(4), None);
        assert_eq!(s.cursor_position(), (2, 0));
        assert!(s.hide_cursor());
        assert_eq!(ScreenSnapshot::of(&s).lines, vec!["one", "  two", "", ""]);
    }

    #[test]
    fn scrollback_keeps_what_scrolled_off_up_to_its_limit() {
        let mut bytes = Vec::new();
        for i in 0..10 {
            bytes.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        let s = screen(3, 20, 5, &bytes);
        assert_eq!(s.scrollback_len(), 5);
        let kept: Vec<String> = s.scrollback_rows().collect();
        assert_eq!(kept, ["line 3", "line 4", "line 5", "line 6", "line 7"]);
        assert_eq!(s.contents(), "line 8\nline 9");
        assert_eq!(screen(3, 20, 0, &bytes).scrollback_len(), 0);
    }

    #[test]
    fn a_synchronized_frame_is_held_until_its_end() {
        let mut s = screen(5, 20, 0, b"before\r\n\x1b[?2026hhalf");
        assert_eq!(s.contents(), "before");
        assert!(s.sync_deadline().is_some());
        s.process(b" drawn\x1b[?2026l");
        assert_eq!(s.contents(), "before\nhalf drawn");
        assert!(s.sync_deadline().is_none());
    }

    #[test]
    fn a_synchronized_frame_without_its_end_shows_after_the_timeout() {
        let timeout = Duration::from_millis(30);
        let mut s = Screen::new(PaneSize::new(5, 20), 0)
            .unwrap()
            .with_sync_timeout(timeout);
        let began = Instant::now();
        s.process(b"\x1b[?2026hnever ended");
        assert_eq!(s.contents(), "");
        let deadline = s.sync_deadline().expect("a frame is held");
        assert!(deadline >= began + timeout && deadline <= Instant::now() + timeout);
        // Opening it again does not push the deadline back.
        s.process(b"\x1b[?2026h");
        assert_eq!(s.sync_deadline(), Some(deadline));
        // Before the deadline nothing changes; at it, the frame is applied.
        assert!(!s.end_overdue_sync(deadline - Duration::from_millis(1)));
        assert_eq!(s.contents(), "");
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        assert!(s.end_overdue_sync(Instant::now()));
        assert_eq!(s.contents(), "never ended");
        assert!(s.sync_deadline().is_none());
        // Later output is drawn at once; the frame's late end is harmless.
        s.process(b" more\x1b[?2026l!");
        assert_eq!(s.contents(), "never ended more!");
        // Output after an overdue frame applies the frame first, then itself.
        let mut s = Screen::new(PaneSize::new(5, 20), 0)
            .unwrap()
            .with_sync_timeout(Duration::ZERO);
        s.process(b"\x1b[?2026hheld");
        s.process(b"");
        assert_eq!(s.contents(), "held");
    }

    #[test]
    fn a_snapshot_taken_during_a_synchronized_frame_holds_the_rest_of_it() {
        let mut a = screen(5, 20, 0, b"top\r\n\x1b[?2026hfirst half");
        let snapshot = a.formatted(0);
        assert!(snapshot.ends_with(b"\x1b[?2026h"));
        assert_eq!(a.contents(), "top\nfirst half");
        let mut b = screen(5, 20, 0, &snapshot);
        assert_eq!(b.contents(), "top\nfirst half");
        b.process(b", second\x1b[?2026l");
        a.process(b", second\x1b[?2026l");
        assert_eq!(b.contents(), "top\nfirst half, second");
        assert_eq!(b.contents(), a.contents());
    }

    /// Everything of `s` that output can change and a later snapshot or sequence can show:
    /// every cell of the screen and the scrollback (character, colours, flags, combining
    /// characters), the cursor (position, pending wrap, pen, character sets), the saved cursor
    /// and the modes.
    fn full_state(s: &Screen) -> String {
        let g = s.term.grid();
        let mut out = format!(
            "history {} cursor {:?} saved {:?} mode {:?}\n",
            g.history_size(),
            g.cursor,
            g.saved_cursor,
            s.term.mode()
        );
        for line in -(g.history_size() as i32)..g.screen_lines() as i32 {
            for col in 0..g.columns() {
                let _ = write!(out, "{:?}|", g[Line(line)][Column(col)]);
            }
            out.push('\n');
        }
        out
    }

    /// Output pieces for the fast-forward property: text, controls, SGRs (resets among them),
    /// and every kind of sequence the scanner must not skip across.
    const PIECES: &[&[u8]] = &[
        b"ab",
        b"wxyz0123",
        b" ",
        b"\r\n",
        b"\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"\t",
        b"\x08",
        b"\x07",
        b"\xe4\xb8\xad",
        b"e\xcc\x81",
        b"\xc3\xa4",
        b"\x1b[m",
        b"\x1b[0m",
        b"\x1b[1m",
        b"\x1b[41m",
        b"\x1b[1;32m",
        b"\x1b[38;5;196m",
        b"\x1b[48:2::10:20:30m",
        b"\x1b[7;44m",
        b"\x1b[K",
        b"\x1b[1K",
        b"\x1b[2J",
        b"\x1b[H",
        b"\x1b[3;2H",
        b"\x1b[2A",
        b"\x1bM",
        b"\x1b7",
        b"\x1b8",
        b"\x1b[2;4r",
        b"\x1b[r",
        b"\x1b[?1049h",
        b"\x1b[?1049l",
        b"\x1b[?7l",
        b"\x1b[?7h",
        b"\x1b[4h",
        b"\x1b[4l",
        b"\x1b(0",
        b"\x1b(B",
        b"\x0e",
        b"\x0f",
        b"\x1b]0;t\x07",
        b"\x1b[3b",
        b"\x1b[?2026h",
        b"\x1b[?2026l",
        b"\x1b[3J",
        b"\x1b[S",
        b"\x1b[T",
        b"\x1bc",
        b"\x1b[1;3",
        b"\xe4\xb8\xad\x1b[m",
        b"\x1bP1$r\x1b\\",
        b"\x1b[1\n;2m",
        b"\x18",
        b"\xe4",
    ];

    /// A flood of `n` lines, coloured or not: what fast-forward skips.
    fn flood(n: usize, coloured: bool, tag: usize) -> String {
        (0..n)
            .map(|i| {
                if coloured {
                    format!(
                        "{tag}:\x1b[1;3{}m{i}\x1b[0m line\x1b[4{}m!\r\n",
                        i % 8,
                        tag % 8
                    )
                } else {
                    format!("{tag} line {i}\r\n")
                }
            })
            .collect()
    }

    /// Feeds `ops` to a screen that parses every byte and to one that fast-forwards (any skip
    /// of a byte or more): after each step both hold the same state. Returns the bytes skipped.
    fn check_fast_forward(rows: u16, cols: u16, history: usize, ops: &[Op]) -> u64 {
        let size = PaneSize::new(rows, cols);
        let mut every = Screen::new(size, history).unwrap().with_fast_forward(None);
        let mut fast = Screen::new(size, history)
            .unwrap()
            .with_fast_forward(Some(1));
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Output(bytes) => {
                    every.process(bytes);
                    fast.process(bytes);
                }
                Op::Resize(r, c) => {
                    every.set_size(PaneSize::new(*r, *c)).unwrap();
                    fast.set_size(PaneSize::new(*r, *c)).unwrap();
                }
            }
            assert_eq!(
                full_state(&fast),
                full_state(&every),
                "after step {i} ({op:?}) of {ops:?}"
            );
        }
        assert_eq!(fast.formatted(usize::MAX), every.formatted(usize::MAX));
        fast.skipped()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Output(Vec<u8>),
        Resize(u16, u16),
    }

    #[test]
    fn a_flood_is_fast_forwarded_to_the_same_screen() {
        // Coloured lines wider than the screen, after a scroll region came and went, with a
        // background colour set when the flood ends.
        let mut out = b"\x1b[2;3rtop\x1b[r\x1b[44m".to_vec();
        out.extend(flood(200, true, 1).as_bytes());
        out.extend(b"\x1b[45mlast\x1b[3b");
        let skipped = check_fast_forward(4, 10, 5, &[Op::Output(out)]);
        assert!(skipped > 5_000, "skipped {skipped}");
        // Nothing is skipped inside a scroll region, nor on a screen not healed since a resize.
        let mut region = b"\x1b[2;4r".to_vec();
        region.extend(flood(200, false, 2).as_bytes());
        assert_eq!(check_fast_forward(5, 10, 5, &[Op::Output(region)]), 0);
        let ops = [
            Op::Output(b"\x1b[?1049h".to_vec()),
            Op::Resize(6, 12),
            Op::Output(b"\x1b[?1049l".to_vec()),
            Op::Output(flood(200, false, 3).into_bytes()),
        ];
        assert_eq!(check_fast_forward(5, 10, 5, &ops), 0);
    }

    #[test]
    fn a_resize_to_the_same_size_keeps_the_scroll_region() {
        // Found by the property below: alacritty leaves the scroll region alone when the size
        // does not change, so the flood inside it is not skipped.
        let ops = [
            Op::Output(b"\x1b[2;4r\r".to_vec()),
            Op::Resize(6, 8),
            Op::Output(flood(12, false, 2).into_bytes()),
        ];
        assert_eq!(check_fast_forward(6, 8, 0, &ops), 0);
    }

    #[test]
    fn a_flood_after_a_resize_that_left_stale_backgrounds_is_fast_forwarded_the_same() {
        // Found by the property below before `heal`: the screen cleared with a truecolour
        // background, then resized (alacritty's added cells are default, the others keep that
        // background, and a row's reset keeps them when its last cell matches the pen), then a
        // coloured flood. Which rows a flood recycles depends on how many lines scrolled, so
        // skipping lines changed which stale backgrounds were left.
        let out = |b: &[u8]| Op::Output(b.to_vec());
        let ops = [
            out(b"\x1b[48:2::10:20:30m"),
            out(b"\x1b[2J"),
            out(b" "),
            Op::Resize(3, 9),
            out(b"ab"),
            out(b"ab"),
            out(b"\x1b[4l"),
            out(b"ab"),
            out(b"ab"),
            out(format!("abab{}", flood(14, true, 10)).as_bytes()),
            Op::Resize(2, 3),
            out(b"ab"),
        ];
        assert!(check_fast_forward(5, 3, 1, &ops) > 0);
    }

    #[test]
    fn a_scroll_region_held_in_a_synchronized_update_outlives_a_resize() {
        // Found by the property below: the region is set by the update's end, after the resize.
        let out = |b: &[u8]| Op::Output(b.to_vec());
        let ops = [
            out(b"\x1b[?2026h\x1b[1;2r\r"),
            Op::Resize(3, 4),
            out(b"\x1b[?2026l"),
            out(flood(12, false, 1).as_bytes()),
        ];
        assert_eq!(check_fast_forward(3, 3, 0, &ops), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        #[test]
        fn fast_forward_leaves_the_screen_as_parsing_every_byte_does(
            rows in 2u16..7,
            cols in 3u16..12,
            history in 0usize..8,
            steps in proptest::collection::vec(
                (0usize..PIECES.len() + 6, 1usize..30, 0usize..6, 0usize..4, 2u16..7, 3u16..12),
                1..60,
            ),
        ) {
            let mut ops = Vec::new();
            let mut pending = Vec::new();
            for (i, (pick, lines, split, resize, r, c)) in steps.into_iter().enumerate() {
                if pick < PIECES.len() {
                    pending.extend(PIECES[pick]);
                } else {
                    pending.extend(flood(lines, pick % 2 == 0, i).as_bytes());
                }
                if split == 0 {
                    // Batches end anywhere: inside a sequence, a character, a flood.
                    let mut batch = std::mem::take(&mut pending);
                    let rest = batch.split_off(lines * 37 % (batch.len() + 1));
                    ops.push(Op::Output(batch));
                    ops.push(Op::Output(rest));
                    if resize == 0 {
                        ops.push(Op::Resize(r, c));
                    }
                }
            }
            ops.push(Op::Output(pending));
            let k = check_fast_forward(rows, cols, history, &ops); eprintln!("SKIPPED {k}");
        }
    }
}
