//! Which terminal emulator should hold a pane's state in the engine service?
//!
//! Measures vt100, alacritty_terminal and termwiz on the same inputs (40x120 screen, 10 000
//! lines of scrollback): parse throughput on three synthetic streams, the cost of feeding a
//! real PTY reader (inline and on a mirror thread), snapshot (screen + scrollback as bytes)
//! time and size, and memory per pane (counting global allocator). See README.md.
//!
//! Usage: `cargo run --release -- [--runs N] [--pty-runs N] [--quick]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Counting allocator: live bytes, for memory per pane.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_add(new_size, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// The emulators behind one trait.

const ROWS: u16 = 40;
const COLS: u16 = 120;
const SCROLLBACK: usize = 10_000;

trait Emu: Send + 'static {
    const NAME: &'static str;
    fn new(rows: u16, cols: u16, scrollback: usize) -> Self;
    fn feed(&mut self, bytes: &[u8]);
    /// Visible rows, trailing blanks trimmed, joined with '\n' (trailing blank rows dropped).
    fn screen_text(&mut self) -> String;
    /// Scrollback rows then visible rows, each trimmed.
    fn history_text(&mut self) -> Vec<String>;
    fn scrollback_len(&mut self) -> usize;
    /// Bytes that reproduce the screen and the last `n` scrollback lines in a fresh terminal
    /// (xterm.js) of the same size.
    fn snapshot(&mut self, n: usize) -> Vec<u8>;
}

fn join_screen(lines: impl Iterator<Item = String>) -> String {
    let mut v: Vec<String> = lines.map(|l| l.trim_end().to_string()).collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v.join("\n")
}

// --- vt100 -----------------------------------------------------------------------------------

struct Vt100(vt100::Parser);

impl Emu for Vt100 {
    const NAME: &'static str = "vt100 0.18";
    fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        Vt100(vt100::Parser::new(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
            scrollback,
        ))
    }
    fn feed(&mut self, bytes: &[u8]) {
        self.0.process(bytes);
    }
    fn screen_text(&mut self) -> String {
        let s = self.0.screen();
        join_screen(s.rows(0, s.size().1.get()))
    }
    fn history_text(&mut self) -> Vec<String> {
        let len = self.scrollback_len();
        let rows = ROWS as usize;
        let cols = self.0.screen().size().1.get();
        let mut out = Vec::new();
        let mut offset = len;
        while offset > 0 {
            self.0.screen_mut().set_scrollback(offset);
            let take = offset.min(rows);
            out.extend(self.0.screen().rows(0, cols).take(take).map(|r| r.trim_end().to_string()));
            offset -= take;
        }
        self.0.screen_mut().set_scrollback(0);
        out.extend(self.0.screen().rows(0, cols).map(|r| r.trim_end().to_string()));
        out
    }
    fn scrollback_len(&mut self) -> usize {
        self.0.screen().scrollback_len()
    }
    fn snapshot(&mut self, n: usize) -> Vec<u8> {
        let (rows, cols) = self.0.screen().size();
        let (rows, cols) = (rows.get() as usize, cols.get());
        let n = n.min(self.scrollback_len());
        let mut out = String::from("\x1b[m\x1b[H\x1b[2J");
        let mut offset = n;
        while offset > 0 {
            self.0.screen_mut().set_scrollback(offset);
            let take = offset.min(rows);
            for row in self.0.screen().rows_formatted(0, cols).take(take) {
                out.push_str(&row);
                out.push_str("\x1b[m\r\n");
            }
            offset -= take;
        }
        self.0.screen_mut().set_scrollback(0);
        // Push every scrollback line off the screen, then draw the screen over a blank one.
        for _ in 0..rows.saturating_sub(1) {
            out.push_str("\r\n");
        }
        out.push_str(&self.0.screen().state_formatted());
        out.into_bytes()
    }
}

// --- alacritty_terminal ----------------------------------------------------------------------

mod alac {
    use alacritty_terminal::event::VoidListener;
    use alacritty_terminal::grid::{Dimensions, Row};
    use alacritty_terminal::index::{Column, Line};
    use alacritty_terminal::term::cell::{Cell, Flags};
    use alacritty_terminal::term::{Config, Term, TermMode};
    use alacritty_terminal::vte::ansi::{Color, NamedColor, Processor};
    use std::fmt::Write;

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

    pub struct Alacritty {
        term: Term<VoidListener>,
        parser: Processor,
    }

    fn row_text(row: &Row<Cell>, cols: usize) -> String {
        let mut s = String::with_capacity(cols);
        for c in 0..cols {
            let cell = &row[Column(c)];
            if cell
                .flags
                .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
            {
                continue;
            }
            s.push(cell.c);
            if let Some(zw) = cell.zerowidth() {
                s.extend(zw);
            }
        }
        s.truncate(s.trim_end().len());
        s
    }

    const STYLE: Flags = Flags::INVERSE
        .union(Flags::BOLD)
        .union(Flags::ITALIC)
        .union(Flags::ALL_UNDERLINES)
        .union(Flags::DIM)
        .union(Flags::HIDDEN)
        .union(Flags::STRIKEOUT);

    fn color(out: &mut String, c: Color, fg: bool) {
        let base = if fg { 30 } else { 40 };
        match c {
            Color::Named(n) => {
                let i = n as usize;
                if i < 8 {
                    let _ = write!(out, ";{}", base + i);
                } else if i < 16 {
                    let _ = write!(out, ";{}", base + 60 + i - 8);
                } else if matches!(n, NamedColor::Foreground | NamedColor::Background) {
                    // default: nothing after the reset
                } else {
                    // Dim* / Bright* variants: approximate by the base colour.
                }
            }
            Color::Indexed(i) => {
                let _ = write!(out, ";{};5;{}", base + 8, i);
            }
            Color::Spec(rgb) => {
                let _ = write!(out, ";{};2;{};{};{}", base + 8, rgb.r, rgb.g, rgb.b);
            }
        }
    }

    fn sgr(out: &mut String, cell: &Cell) {
        out.push_str("\x1b[0");
        let f = cell.flags;
        for (flag, code) in [
            (Flags::BOLD, "1"),
            (Flags::DIM, "2"),
            (Flags::ITALIC, "3"),
            (Flags::UNDERLINE, "4"),
            (Flags::INVERSE, "7"),
            (Flags::HIDDEN, "8"),
            (Flags::STRIKEOUT, "9"),
            (Flags::DOUBLE_UNDERLINE, "21"),
        ] {
            if f.contains(flag) {
                out.push(';');
                out.push_str(code);
            }
        }
        color(out, cell.fg, true);
        color(out, cell.bg, false);
        out.push('m');
    }

    fn is_blank(cell: &Cell) -> bool {
        cell.c == ' '
            && cell.bg == Color::Named(NamedColor::Background)
            && !cell.flags.intersects(Flags::INVERSE | Flags::ALL_UNDERLINES)
    }

    /// One row's cells as text with SGR; returns whether the row wraps into the next.
    fn row_formatted(out: &mut String, row: &Row<Cell>, cols: usize) -> bool {
        let wrapped = row[Column(cols - 1)].flags.contains(Flags::WRAPLINE);
        let end = if wrapped {
            cols
        } else {
            (0..cols).rev().find(|&c| !is_blank(&row[Column(c)])).map_or(0, |c| c + 1)
        };
        let mut cur: Option<(Color, Color, Flags)> = None;
        for c in 0..end {
            let cell = &row[Column(c)];
            if cell
                .flags
                .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
            {
                continue;
            }
            let key = (cell.fg, cell.bg, cell.flags & STYLE);
            if cur != Some(key) {
                sgr(out, cell);
                cur = Some(key);
            }
            out.push(cell.c);
            if let Some(zw) = cell.zerowidth() {
                out.extend(zw);
            }
        }
        out.push_str("\x1b[m");
        wrapped
    }

    impl super::Emu for Alacritty {
        const NAME: &'static str = "alacritty_terminal 0.26";
        fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
            let config = Config { scrolling_history: scrollback, ..Config::default() };
            let size = Size { rows: rows as usize, cols: cols as usize };
            Alacritty { term: Term::new(config, &size, VoidListener), parser: Processor::new() }
        }
        fn feed(&mut self, bytes: &[u8]) {
            self.parser.advance(&mut self.term, bytes);
        }
        fn screen_text(&mut self) -> String {
            let g = self.term.grid();
            let cols = g.columns();
            super::join_screen((0..g.screen_lines() as i32).map(|l| row_text(&g[Line(l)], cols)))
        }
        fn history_text(&mut self) -> Vec<String> {
            let g = self.term.grid();
            let cols = g.columns();
            (-(g.history_size() as i32)..g.screen_lines() as i32)
                .map(|l| row_text(&g[Line(l)], cols))
                .collect()
        }
        fn scrollback_len(&mut self) -> usize {
            self.term.grid().history_size()
        }
        fn snapshot(&mut self, n: usize) -> Vec<u8> {
            let g = self.term.grid();
            let (rows, cols) = (g.screen_lines(), g.columns());
            let n = n.min(g.history_size()) as i32;
            let mut out = String::from("\x1b[m\x1b[H\x1b[2J");
            for l in -n..0 {
                let wrapped = row_formatted(&mut out, &g[Line(l)], cols);
                if !wrapped || l == -1 {
                    out.push_str("\r\n");
                }
            }
            for _ in 0..rows.saturating_sub(1) {
                out.push_str("\r\n");
            }
            out.push_str("\x1b[H\x1b[2J");
            for l in 0..rows as i32 {
                let _ = write!(out, "\x1b[{};1H", l + 1);
                row_formatted(&mut out, &g[Line(l)], cols);
            }
            let cursor = g.cursor.point;
            let _ = write!(out, "\x1b[{};{}H", cursor.line.0 + 1, cursor.column.0 + 1);
            let mode = *self.term.mode();
            for (m, set, reset) in [
                (TermMode::SHOW_CURSOR, "", "\x1b[?25l"),
                (TermMode::APP_CURSOR, "\x1b[?1h", ""),
                (TermMode::APP_KEYPAD, "\x1b=", ""),
                (TermMode::BRACKETED_PASTE, "\x1b[?2004h", ""),
                (TermMode::MOUSE_REPORT_CLICK, "\x1b[?1000h", ""),
                (TermMode::MOUSE_DRAG, "\x1b[?1002h", ""),
                (TermMode::MOUSE_MOTION, "\x1b[?1003h", ""),
                (TermMode::SGR_MOUSE, "\x1b[?1006h", ""),
                (TermMode::FOCUS_IN_OUT, "\x1b[?1004h", ""),
            ] {
                out.push_str(if mode.contains(m) { set } else { reset });
            }
            out.into_bytes()
        }
    }
}

use alac::Alacritty;

// --- termwiz ---------------------------------------------------------------------------------

mod tw {
    //! termwiz has a parser (escape::parser::Parser -> Action) and a cell model
    //! (surface::Surface of Lines, with a change log and a renderer), but not the state machine
    //! between them (that is wezterm-term, not on crates.io). This adapter is the minimum a
    //! service would have to write: cursor moves, erase, SGR, scroll region, insert/delete
    //! line, alternate screen, and a scrollback of Lines kept by hand.

    use std::collections::VecDeque;
    use termwiz::caps::{Capabilities, ProbeHints};
    use termwiz::cell::{grapheme_column_width, AttributeChange, CellAttributes};
    use termwiz::color::ColorAttribute;
    use termwiz::escape::csi::{
        Cursor, DecPrivateMode, DecPrivateModeCode, Edit, EraseInDisplay, EraseInLine, Mode, Sgr,
        CSI,
    };
    use termwiz::escape::esc::EscCode;
    use termwiz::escape::parser::Parser;
    use termwiz::escape::{Action, ControlCode, Esc};
    use termwiz::render::terminfo::TerminfoRenderer;
    use termwiz::render::RenderTty;
    use termwiz::surface::{Change, CursorVisibility, Line, Position, Surface};

    pub struct State {
        primary: Surface,
        alt: Option<Surface>,
        pub scrollback: VecDeque<Line>,
        cap: usize,
        rows: usize,
        cols: usize,
        top: usize,
        bottom: usize,
        attr: CellAttributes,
        text: String,
        saved: (usize, usize),
    }

    pub struct Termwiz {
        parser: Parser,
        pub st: State,
    }

    impl State {
        fn s(&mut self) -> &mut Surface {
            self.alt.as_mut().unwrap_or(&mut self.primary)
        }
        fn surface(&self) -> &Surface {
            self.alt.as_ref().unwrap_or(&self.primary)
        }
        fn pos(&self) -> (usize, usize) {
            self.surface().cursor_position()
        }
        fn goto(&mut self, x: usize, y: usize) {
            self.s().add_change(Change::CursorPosition {
                x: Position::Absolute(x),
                y: Position::Absolute(y),
            });
        }
        fn linefeed(&mut self) {
            let (_, y) = self.pos();
            if y == self.bottom {
                if self.top == 0 && self.alt.is_none() && self.cap > 0 {
                    let line = self.primary.screen_lines()[0].clone().into_owned();
                    if self.scrollback.len() == self.cap {
                        self.scrollback.pop_front();
                    }
                    self.scrollback.push_back(line);
                }
                let (first_row, region_size) = (self.top, self.bottom - self.top + 1);
                self.s().add_change(Change::ScrollRegionUp { first_row, region_size, scroll_count: 1 });
            } else if y + 1 < self.rows {
                self.s().add_change(Change::CursorPosition {
                    x: Position::Relative(0),
                    y: Position::Relative(1),
                });
            }
        }
        fn flush_text(&mut self) {
            if self.text.is_empty() {
                return;
            }
            let text = std::mem::take(&mut self.text);
            let (mut x, _) = self.pos();
            let mut seg_start = 0;
            for (i, ch) in text.char_indices() {
                let w = if ch.is_ascii() {
                    1
                } else {
                    grapheme_column_width(&text[i..i + ch.len_utf8()], None)
                };
                if x + w > self.cols {
                    // Flush the segment, wrap (deferred wrap as a terminal does).
                    if seg_start < i {
                        self.s().add_change(Change::Text(text[seg_start..i].to_string()));
                    }
                    self.s().add_change(Change::CursorPosition {
                        x: Position::Absolute(0),
                        y: Position::Relative(0),
                    });
                    self.linefeed();
                    x = 0;
                    seg_start = i;
                }
                x += w;
            }
            if seg_start < text.len() {
                self.s().add_change(Change::Text(text[seg_start..].to_string()));
            }
            self.text = text;
            self.text.clear();
        }
        fn sgr(&mut self, sgr: Sgr) {
            let change = match sgr {
                Sgr::Reset => {
                    self.attr = CellAttributes::default();
                    self.s().add_change(Change::AllAttributes(CellAttributes::default()));
                    return;
                }
                Sgr::Intensity(i) => AttributeChange::Intensity(i),
                Sgr::Underline(u) => AttributeChange::Underline(u),
                Sgr::Italic(b) => AttributeChange::Italic(b),
                Sgr::Blink(b) => AttributeChange::Blink(b),
                Sgr::Inverse(b) => AttributeChange::Reverse(b),
                Sgr::Invisible(b) => AttributeChange::Invisible(b),
                Sgr::StrikeThrough(b) => AttributeChange::StrikeThrough(b),
                Sgr::Foreground(c) => AttributeChange::Foreground(ColorAttribute::from(c)),
                Sgr::Background(c) => AttributeChange::Background(ColorAttribute::from(c)),
                _ => return,
            };
            self.s().add_change(Change::Attribute(change));
        }
        fn erase_cells(&mut self, from: usize, to: usize) {
            let (x, y) = self.pos();
            if to > from {
                self.goto(from, y);
                let blanks = " ".repeat(to - from);
                self.s().add_change(Change::Text(blanks));
            }
            self.goto(x, y);
        }
        fn apply(&mut self, action: Action) {
            if let Action::Print(c) = action {
                self.text.push(c);
                return;
            }
            self.flush_text();
            match action {
                Action::PrintString(s) => {
                    self.text = s;
                    self.flush_text();
                }
                Action::Control(c) => match c {
                    ControlCode::LineFeed | ControlCode::VerticalTab | ControlCode::FormFeed => {
                        self.linefeed()
                    }
                    ControlCode::CarriageReturn => {
                        let y = self.pos().1;
                        self.goto(0, y)
                    }
                    ControlCode::Backspace => {
                        let (x, y) = self.pos();
                        self.goto(x.saturating_sub(1), y)
                    }
                    ControlCode::HorizontalTab => {
                        let (x, y) = self.pos();
                        self.goto(((x / 8 + 1) * 8).min(self.cols - 1), y)
                    }
                    _ => {}
                },
                Action::CSI(csi) => self.csi(csi),
                Action::Esc(Esc::Code(code)) => match code {
                    EscCode::DecSaveCursorPosition => self.saved = self.pos(),
                    EscCode::DecRestoreCursorPosition => {
                        let (x, y) = self.saved;
                        self.goto(x, y)
                    }
                    EscCode::Index => self.linefeed(),
                    EscCode::ReverseIndex => {
                        let (x, y) = self.pos();
                        if y == self.top {
                            let (first_row, region_size) = (self.top, self.bottom - self.top + 1);
                            self.s().add_change(Change::ScrollRegionDown {
                                first_row,
                                region_size,
                                scroll_count: 1,
                            });
                        } else {
                            self.goto(x, y.saturating_sub(1));
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        fn csi(&mut self, csi: CSI) {
            let (x, y) = self.pos();
            let (rows, cols, bottom) = (self.rows, self.cols, self.bottom);
            match csi {
                CSI::Sgr(s) => self.sgr(s),
                CSI::Cursor(c) => match c {
                    Cursor::Position { line, col } | Cursor::CharacterAndLinePosition { line, col } => self
                        .goto(
                            (col.as_zero_based() as usize).min(cols - 1),
                            (line.as_zero_based() as usize).min(rows - 1),
                        ),
                    Cursor::Up(n) | Cursor::LinePositionBackward(n) => {
                        self.goto(x, y.saturating_sub(n as usize))
                    }
                    Cursor::Down(n) | Cursor::LinePositionForward(n) => {
                        self.goto(x, (y + n as usize).min(rows - 1))
                    }
                    Cursor::Left(n) | Cursor::CharacterPositionBackward(n) => {
                        self.goto(x.saturating_sub(n as usize), y)
                    }
                    Cursor::Right(n) | Cursor::CharacterPositionForward(n) => {
                        self.goto((x + n as usize).min(cols - 1), y)
                    }
                    Cursor::CharacterAbsolute(c) | Cursor::CharacterPositionAbsolute(c) => {
                        self.goto((c.as_zero_based() as usize).min(cols - 1), y)
                    }
                    Cursor::LinePositionAbsolute(l) => {
                        self.goto(x, (l.saturating_sub(1) as usize).min(rows - 1))
                    }
                    Cursor::NextLine(n) => self.goto(0, (y + n as usize).min(rows - 1)),
                    Cursor::PrecedingLine(n) => self.goto(0, y.saturating_sub(n as usize)),
                    Cursor::SaveCursor => self.saved = (x, y),
                    Cursor::RestoreCursor => {
                        let (x, y) = self.saved;
                        self.goto(x, y)
                    }
                    Cursor::SetTopAndBottomMargins { top, bottom } => {
                        let t = top.as_zero_based() as usize;
                        let b = (bottom.as_zero_based() as usize).min(rows - 1);
                        if t < b {
                            (self.top, self.bottom) = (t, b);
                        } else {
                            (self.top, self.bottom) = (0, rows - 1);
                        }
                        self.goto(0, 0);
                    }
                    _ => {}
                },
                CSI::Edit(e) => match e {
                    Edit::EraseInLine(EraseInLine::EraseToEndOfLine) => {
                        self.s().add_change(Change::ClearToEndOfLine(ColorAttribute::Default));
                    }
                    Edit::EraseInLine(EraseInLine::EraseToStartOfLine) => self.erase_cells(0, x + 1),
                    Edit::EraseInLine(EraseInLine::EraseLine) => {
                        self.goto(0, y);
                        self.s().add_change(Change::ClearToEndOfLine(ColorAttribute::Default));
                        self.goto(x, y);
                    }
                    Edit::EraseInDisplay(EraseInDisplay::EraseToEndOfDisplay) => {
                        self.s().add_change(Change::ClearToEndOfScreen(ColorAttribute::Default));
                    }
                    Edit::EraseInDisplay(EraseInDisplay::EraseDisplay) => {
                        self.s().add_change(Change::ClearScreen(ColorAttribute::Default));
                        self.goto(x, y);
                    }
                    Edit::EraseInDisplay(EraseInDisplay::EraseScrollback) => self.scrollback.clear(),
                    Edit::EraseCharacter(n) => self.erase_cells(x, (x + n as usize).min(cols)),
                    Edit::InsertLine(n) if y >= self.top && y <= self.bottom => {
                        self.s().add_change(Change::ScrollRegionDown {
                            first_row: y,
                            region_size: bottom - y + 1,
                            scroll_count: n as usize,
                        });
                    }
                    Edit::DeleteLine(n) if y >= self.top && y <= self.bottom => {
                        self.s().add_change(Change::ScrollRegionUp {
                            first_row: y,
                            region_size: bottom - y + 1,
                            scroll_count: n as usize,
                        });
                    }
                    _ => {}
                },
                CSI::Mode(Mode::SetDecPrivateMode(DecPrivateMode::Code(code))) => match code {
                    DecPrivateModeCode::ShowCursor => {
                        self.s().add_change(Change::CursorVisibility(CursorVisibility::Visible));
                    }
                    DecPrivateModeCode::ClearAndEnableAlternateScreen if self.alt.is_none() => {
                        self.saved = (x, y);
                        let mut alt = Surface::new(cols, rows);
                        alt.add_change(Change::CursorPosition {
                            x: Position::Absolute(x),
                            y: Position::Absolute(y),
                        });
                        self.alt = Some(alt);
                    }
                    _ => {}
                },
                CSI::Mode(Mode::ResetDecPrivateMode(DecPrivateMode::Code(code))) => match code {
                    DecPrivateModeCode::ShowCursor => {
                        self.s().add_change(Change::CursorVisibility(CursorVisibility::Hidden));
                    }
                    DecPrivateModeCode::ClearAndEnableAlternateScreen if self.alt.is_some() => {
                        self.alt = None;
                        let (x, y) = self.saved;
                        self.goto(x, y);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }

    struct Out<'a>(&'a mut Vec<u8>, usize, usize);
    impl std::io::Write for Out<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl RenderTty for Out<'_> {
        fn get_size_in_cells(&mut self) -> termwiz::Result<(usize, usize)> {
            Ok((self.1, self.2))
        }
    }

    fn line_text(l: &Line) -> String {
        l.as_str().trim_end().to_string()
    }

    impl super::Emu for Termwiz {
        const NAME: &'static str = "termwiz 0.23 (+adapter)";
        fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
            let (rows, cols) = (rows as usize, cols as usize);
            Termwiz {
                parser: Parser::new(),
                st: State {
                    primary: Surface::new(cols, rows),
                    alt: None,
                    scrollback: VecDeque::new(),
                    cap: scrollback,
                    rows,
                    cols,
                    top: 0,
                    bottom: rows - 1,
                    attr: CellAttributes::default(),
                    text: String::new(),
                    saved: (0, 0),
                },
            }
        }
        fn feed(&mut self, bytes: &[u8]) {
            let st = &mut self.st;
            self.parser.parse(bytes, |a| st.apply(a));
            st.flush_text();
            // The Surface logs every change for its renderer: drop the log.
            for s in [Some(&mut st.primary), st.alt.as_mut()].into_iter().flatten() {
                let seq = s.current_seqno();
                s.flush_changes_older_than(seq);
            }
        }
        fn screen_text(&mut self) -> String {
            super::join_screen(self.st.surface().screen_lines().iter().map(|l| line_text(l)))
        }
        fn history_text(&mut self) -> Vec<String> {
            let mut v: Vec<String> = self.st.scrollback.iter().map(line_text).collect();
            v.extend(self.st.surface().screen_lines().iter().map(|l| line_text(l)));
            v
        }
        fn scrollback_len(&mut self) -> usize {
            self.st.scrollback.len()
        }
        fn snapshot(&mut self, n: usize) -> Vec<u8> {
            let caps = Capabilities::new_with_hints(
                ProbeHints::default()
                    .term(Some("xterm-256color".into()))
                    .colorterm(Some("truecolor".into())),
            )
            .expect("caps");
            let mut renderer = TerminfoRenderer::new(caps);
            let (rows, cols) = (self.st.rows, self.st.cols);
            let mut changes = vec![Change::ClearScreen(ColorAttribute::Default)];
            let sb = &self.st.scrollback;
            let n = n.min(sb.len());
            for line in sb.iter().skip(sb.len() - n) {
                changes.extend(line.changes(&CellAttributes::default()));
                changes.push(Change::AllAttributes(CellAttributes::default()));
                changes.push(Change::Text("\r\n".into()));
            }
            changes.push(Change::Text("\r\n".repeat(rows - 1)));
            let (_, screen) = self.st.surface().get_changes(0);
            changes.extend(screen.iter().cloned());
            let mut out = Vec::new();
            renderer.render_to(&changes, &mut Out(&mut out, cols, rows)).expect("render");
            out
        }
    }

    /// termwiz's parser alone (actions counted, no screen), the upper bound of any termwiz
    /// based emulator.
    pub struct ParserOnly {
        parser: Parser,
        pub actions: u64,
    }

    impl super::Emu for ParserOnly {
        const NAME: &'static str = "termwiz 0.23 parser only";
        fn new(_: u16, _: u16, _: usize) -> Self {
            ParserOnly { parser: Parser::new(), actions: 0 }
        }
        fn feed(&mut self, bytes: &[u8]) {
            let n = &mut self.actions;
            self.parser.parse(bytes, |a| {
                *n += 1;
                drop(a)
            });
        }
        fn screen_text(&mut self) -> String {
            String::new()
        }
        fn history_text(&mut self) -> Vec<String> {
            Vec::new()
        }
        fn scrollback_len(&mut self) -> usize {
            0
        }
        fn snapshot(&mut self, _: usize) -> Vec<u8> {
            Vec::new()
        }
    }
}

use tw::{ParserOnly, Termwiz};

/// vt100 with no scrollback: the engine's current default mirror, for reference.
struct Vt100NoScrollback(Vt100);

impl Emu for Vt100NoScrollback {
    const NAME: &'static str = "vt100 0.18, scrollback 0 (today's default)";
    fn new(rows: u16, cols: u16, _: usize) -> Self {
        Vt100NoScrollback(Vt100::new(rows, cols, 0))
    }
    fn feed(&mut self, bytes: &[u8]) {
        self.0.feed(bytes)
    }
    fn screen_text(&mut self) -> String {
        self.0.screen_text()
    }
    fn history_text(&mut self) -> Vec<String> {
        self.0.history_text()
    }
    fn scrollback_len(&mut self) -> usize {
        0
    }
    fn snapshot(&mut self, n: usize) -> Vec<u8> {
        self.0.snapshot(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs.

const MIB: usize = 1024 * 1024;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

fn yes_flood(size: usize) -> Vec<u8> {
    b"y\n".iter().copied().cycle().take(size).collect()
}

const CRATES: &[&str] = &[
    "serde", "serde_derive", "proc-macro2", "quote", "syn", "tokio", "libc", "regex",
    "regex-automata", "memchr", "aho-corasick", "unicode-ident", "bitflags", "parking_lot",
    "tracing", "tracing-subscriber", "leapfrog-engine", "portable-pty", "vt100", "sled",
];
const WORDS: &[&str] = &[
    "value", "borrowed", "here", "after", "move", "unused", "variable", "field", "never", "read",
    "function", "mismatched", "types", "expected", "found", "struct", "trait", "bound", "lifetime",
    "closure", "may", "outlive", "the", "current", "consider", "using", "clone", "reference",
];

/// cargo/rustc-like output with SGR colours and CRLF (what a PTY delivers).
fn build_log(size: usize) -> Vec<u8> {
    let mut r = Rng(0x5eed_1234);
    let mut out = Vec::with_capacity(size + 4096);
    let mut line = 0usize;
    while out.len() < size {
        line += 1;
        let s = match r.below(10) {
            0..=3 => format!(
                "\x1b[1m\x1b[32m   Compiling\x1b[0m {} v{}.{}.{}\r\n",
                r.pick(CRATES),
                r.below(3),
                r.below(40),
                r.below(20)
            ),
            4 => format!(
                "\x1b[1m\x1b[33mwarning\x1b[0m\x1b[1m: {} {} `{}`\x1b[0m\r\n",
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS)
            ),
            5 => format!(
                "\x1b[1m\x1b[38;5;12m  --> \x1b[0msrc/{}/{}.rs:{}:{}\r\n",
                r.pick(WORDS),
                r.pick(WORDS),
                r.below(900) + 1,
                r.below(80) + 1
            ),
            6 => {
                let n = 4 + r.below(14);
                let words: Vec<&str> = (0..n).map(|_| *r.pick(WORDS)).collect();
                format!(
                    "\x1b[1m\x1b[38;5;12m{:>4} |\x1b[0m     let {} = {};\r\n",
                    line % 1000,
                    r.pick(WORDS),
                    words.join(".")
                )
            }
            7 => format!(
                "\x1b[1m\x1b[38;5;12m     |\x1b[0m         \x1b[1m\x1b[31m^^^^^^\x1b[0m \x1b[1m\x1b[31m{} {} {}\x1b[0m\r\n",
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS)
            ),
            8 => {
                // A long line that wraps (a linker command, a long path).
                let n = 25 + r.below(30);
                let words: Vec<&str> = (0..n).map(|_| *r.pick(WORDS)).collect();
                format!("\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: {}\r\n", words.join(" "))
            }
            _ => format!(
                "\x1b[1m\x1b[36m    Finished\x1b[0m `dev` profile [unoptimized + debuginfo] target(s) in {}.{:02}s\r\n",
                r.below(90),
                r.below(100)
            ),
        };
        out.extend_from_slice(s.as_bytes());
    }
    out.truncate(size);
    out
}

/// A Claude Code / Codex-like redraw stream: inline (no alternate screen), each frame in DEC 2026
/// synchronized output, a spinner line and a boxed prompt redrawn with cursor moves and
/// erase-line, truecolor SGR, box drawing and CJK; every few frames new conversation lines are
/// appended above the prompt (Ink's erase-and-rewrite), and sometimes a ratatui-style insert
/// through a scroll region.
fn tui_stream(size: usize) -> Vec<u8> {
    let mut r = Rng(0x7e11_c0de);
    let mut out = Vec::with_capacity(size + 16384);
    out.extend_from_slice(b"\x1b[?1049l\x1b[?25l\x1b[?2004h\x1b[H\x1b[2J");
    let spinners = ["✻", "✶", "✳", "✢", "·", "*"];
    let cjk = ["你好世界", "テスト中", "코드 검토", "変更を適用", "正在思考", "ファイル"];
    let bodies = [
        "Reading src-tauri/engine/src/pty/pane.rs",
        "Update(src/agents/screen.rs) ⎿ Updated with 3 additions and 1 removal",
        "Bash(cargo test -p leapfrog-engine) ⎿ test result: ok. 212 passed",
        "● I'll look at how the mirror thread parses frames before changing it.",
        "  ⎿  Found 14 matches in 6 files",
    ];
    let prompt_h = 5usize; // box top, input, box bottom, two status lines
    let mut frame = 0usize;
    let mut inline_lines = 0usize; // lines of the live region drawn last frame
    while out.len() < size {
        frame += 1;
        let mut f = String::with_capacity(4096);
        f.push_str("\x1b[?2026h");
        // Ink: erase the previous live region line by line, from the bottom up.
        for _ in 0..inline_lines {
            f.push_str("\x1b[2K\x1b[1A");
        }
        if inline_lines > 0 {
            f.push_str("\x1b[2K\x1b[G");
        }
        // New conversation output, written above the prompt and scrolling into history.
        if frame % 3 == 0 {
            for _ in 0..1 + r.below(4) {
                let (cr, cg, cb) = (r.below(256), r.below(256), r.below(256));
                f.push_str(&format!(
                    "\x1b[38;2;{cr};{cg};{cb}m⏺\x1b[39m {} \x1b[2m{}\x1b[22m\r\n",
                    r.pick(&bodies),
                    r.pick(&cjk)
                ));
            }
        }
        // The live region: spinner, boxed prompt, status.
        let sp = r.pick(&spinners);
        f.push_str(&format!(
            "\x1b[38;2;215;119;87m{sp}\x1b[39m \x1b[38;2;215;119;87mThinking… {}\x1b[39m \x1b[2m({}s · ↑ {} tokens · esc to interrupt)\x1b[22m\r\n",
            r.pick(&cjk),
            frame / 10,
            r.below(20000)
        ));
        f.push_str("\x1b[2m╭");
        f.push_str(&"─".repeat(COLS as usize - 2));
        f.push_str("╮\x1b[22m\r\n");
        let typed = &"fix the failing test in pty::pane and explain why"[..(frame % 40)];
        f.push_str(&format!("\x1b[2m│\x1b[22m > {typed}\x1b[7m \x1b[27m"));
        f.push_str(&format!("\x1b[{}G\x1b[2m│\x1b[22m\r\n", COLS));
        f.push_str("\x1b[2m╰");
        f.push_str(&"─".repeat(COLS as usize - 2));
        f.push_str("╯\x1b[22m\r\n");
        f.push_str(&format!(
            "  \x1b[38;5;244m⏵⏵ accept edits on\x1b[39m \x1b[2m(shift+tab to cycle)\x1b[22m   \x1b[38;2;80;200;120m◯ {} 模型\x1b[39m",
            r.pick(&["opus", "sonnet", "gpt-5-codex"])
        ));
        inline_lines = prompt_h;
        // Now and then a Codex (ratatui inline viewport) style history insert through a
        // scroll region, then an absolute-positioned repaint of the bottom rows.
        if frame % 7 == 0 {
            let top = ROWS as usize - prompt_h - 1;
            f.push_str(&format!("\x1b[1;{top}r\x1b[{top};1H"));
            for _ in 0..2 {
                f.push_str(&format!(
                    "\r\n\x1b[1m•\x1b[22m Ran \x1b[36mcargo check\x1b[39m — {} {}",
                    r.pick(&cjk),
                    r.pick(&bodies)
                ));
            }
            f.push_str("\x1b[r");
            for row in top + 1..=ROWS as usize {
                f.push_str(&format!(
                    "\x1b[{row};1H\x1b[K\x1b[48;2;40;40;40m\x1b[38;2;200;200;200m{}\x1b[0m",
                    r.pick(&bodies)
                ));
            }
            f.push_str(&format!("\x1b[{};1H", ROWS));
            inline_lines = 0;
            f.push_str("\r\n");
        }
        f.push_str("\x1b[?25h\x1b[?2026l");
        out.extend_from_slice(f.as_bytes());
    }
    out.truncate(size);
    out
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers.

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Feed chunk: the engine's read_chunk (16 KiB).
const CHUNK: usize = 16 * 1024;

fn parse_run<E: Emu>(input: &[u8]) -> Duration {
    let mut e = E::new(ROWS, COLS, SCROLLBACK);
    let t = Instant::now();
    for c in input.chunks(CHUNK) {
        e.feed(c);
    }
    let d = t.elapsed();
    std::hint::black_box(&mut e);
    d
}

/// Stop adding runs to one measurement once it has taken this long (at least one run).
const CELL_BUDGET: Duration = Duration::from_secs(30);

type Cell<'a> = (String, Box<dyn FnMut() -> f64 + 'a>);

/// Runs every cell once per round, for up to `runs` rounds, so that load from other processes
/// on this shared machine falls on all emulators alike; a cell stops getting rounds once it has
/// used CELL_BUDGET (it always gets one). Returns (label, median, runs).
fn interleave(mut cells: Vec<Cell<'_>>, runs: usize) -> Vec<(String, f64, usize)> {
    let mut results: Vec<(Vec<f64>, Duration)> = cells.iter().map(|_| (Vec::new(), Duration::ZERO)).collect();
    for round in 0..runs {
        for ((label, f), (v, spent)) in cells.iter_mut().zip(results.iter_mut()) {
            if round > 0 && *spent >= CELL_BUDGET {
                continue;
            }
            let t = Instant::now();
            v.push(f());
            *spent += t.elapsed();
            eprintln!("  round {round} {label:<64} {:>8.1} MB/s", v.last().unwrap());
        }
    }
    cells
        .into_iter()
        .zip(results)
        .map(|((label, _), (v, _))| {
            let m = median(v.clone());
            let all: Vec<String> = v.iter().map(|x| format!("{x:.1}")).collect();
            eprintln!("  {label:<64} median {m:>8.1} MB/s  runs [{}]", all.join(", "));
            (label, m, v.len())
        })
        .collect()
}

fn parse_cell<'a, E: Emu>(name: &str, input: &'a [u8]) -> Cell<'a> {
    (format!("{} | {name}", E::NAME), Box::new(move || mbps(input.len(), parse_run::<E>(input))))
}

fn pty_cell<'a, E: Emu>(mode: Mode, total: usize, opost: bool) -> Cell<'a> {
    let label = match mode {
        Mode::Raw if !opost => "(kernel ceiling) raw reader, child's tty `stty -opost`".to_string(),
        Mode::Raw => "raw reader".to_string(),
        Mode::RawChannel => "raw reader + bounded channel, no parse".to_string(),
        Mode::Inline => format!("{} inline", E::NAME),
        Mode::Thread => format!("{} mirror thread", E::NAME),
    };
    (label, Box::new(move || {
        let (n, d) = pty_run::<E>(&mode, total, opost);
        mbps(n, d)
    }))
}

/// Pane state after a build log that overflows the scrollback: memory, snapshot time/size,
/// round trip.
struct PaneFacts {
    mem_log: f64,
    mem_yes: f64,
    snap_ms: f64,
    snap_bytes: usize,
    sb_len: usize,
    round_trip_same: String,
    round_trip_vt100: String,
}

fn fill_log() -> Vec<u8> {
    // ~14 000 lines (some wrap) > 10 000 + 40.
    let log = build_log(1_100_000);
    log
}

fn compare(a: &[String], b: &[String]) -> String {
    if a == b {
        return format!("ok ({} lines)", a.len());
    }
    let diff = a.iter().zip(b).position(|(x, y)| x != y);
    format!(
        "DIFF: {} vs {} lines, first difference at {:?}",
        a.len(),
        b.len(),
        diff.map(|i| (i, &a[i], &b[i]))
    )
}

fn pane_facts<E: Emu>(log: &[u8], runs: usize) -> PaneFacts {
    // Memory: live bytes held by one emulator after the input (drops the input's own bytes).
    let mem = |input: &[u8]| {
        let before = LIVE.load(Relaxed);
        let mut e = E::new(ROWS, COLS, SCROLLBACK);
        for c in input.chunks(CHUNK) {
            e.feed(c);
        }
        let after = LIVE.load(Relaxed);
        let sb = e.scrollback_len();
        drop(e);
        ((after - before) as f64 / MIB as f64, sb)
    };
    let (mem_log, sb_len) = mem(log);
    let yes: Vec<u8> = b"y\r\n".iter().copied().cycle().take(3 * 12_000).collect();
    let (mem_yes, _) = mem(&yes);

    let mut e = E::new(ROWS, COLS, SCROLLBACK);
    for c in log.chunks(CHUNK) {
        e.feed(c);
    }
    let mut times = Vec::new();
    let mut snap = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        snap = e.snapshot(SCROLLBACK);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let want = e.history_text();
    let want_screen = e.screen_text();
    // Replay into a fresh emulator of the same kind, and into vt100.
    let mut same = E::new(ROWS, COLS, SCROLLBACK);
    same.feed(&snap);
    let got = same.history_text();
    let mut rt_same = compare(&want, &got);
    if same.screen_text() != want_screen {
        rt_same.push_str(" (screen differs)");
    }
    let mut v = Vt100::new(ROWS, COLS, SCROLLBACK);
    v.feed(&snap);
    let mut rt_vt = compare(&want, &v.history_text());
    if v.screen_text() != want_screen {
        rt_vt.push_str(" (screen differs)");
    }
    PaneFacts {
        mem_log,
        mem_yes,
        snap_ms: median(times),
        snap_bytes: snap.len(),
        sb_len,
        round_trip_same: rt_same,
        round_trip_vt100: rt_vt,
    }
}

// --- PTY -------------------------------------------------------------------------------------

enum Mode {
    Raw,
    RawChannel,
    Inline,
    Thread,
}

/// Bounded channel between reader and mirror thread: 64 chunks of <= 16 KiB (1 MiB, the order of
/// the engine's flow-control watermark).
const CHANNEL_CHUNKS: usize = 64;

fn pty_run<E: Emu>(mode: &Mode, total: usize, opost: bool) -> (usize, Duration) {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    let pair = native_pty_system()
        .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
        .expect("openpty");
    let mut cmd = CommandBuilder::new("sh");
    cmd.arg("-c");
    let stty = if opost { "" } else { "stty -opost; " };
    cmd.arg(format!("{stty}yes | head -c {total}"));
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let t = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut buf = vec![0u8; CHUNK];
    let mut n_read = 0usize;
    let mut read = |f: &mut dyn FnMut(&[u8])| loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                n_read += n;
                f(&buf[..n]);
            }
        }
    };
    match mode {
        Mode::Raw => read(&mut |b| {
            std::hint::black_box(b);
        }),
        Mode::Inline => {
            let mut e = E::new(ROWS, COLS, SCROLLBACK);
            read(&mut |b| e.feed(b));
            std::hint::black_box(&mut e);
        }
        Mode::RawChannel | Mode::Thread => {
            let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(CHANNEL_CHUNKS);
            let parse = matches!(mode, Mode::Thread);
            let h = std::thread::spawn(move || {
                let mut e = parse.then(|| E::new(ROWS, COLS, SCROLLBACK));
                for chunk in rx {
                    if let Some(e) = e.as_mut() {
                        e.feed(&chunk);
                    } else {
                        std::hint::black_box(&chunk);
                    }
                }
                std::hint::black_box(&mut e);
            });
            read(&mut |b| tx.send(b.to_vec()).unwrap());
            drop(tx);
            h.join().unwrap();
        }
    }
    let d = t.elapsed();
    let _ = child.wait();
    drop(pair.master);
    (n_read, d)
}

// ---------------------------------------------------------------------------------------------

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let runs = arg(&args, "--runs", if quick { 1 } else { 5 });
    let pty_runs = arg(&args, "--pty-runs", if quick { 1 } else { 5 });
    // The brief asks for 256 MiB; through a cooked PTY (onlcr) that is 384 MiB at ~5-10 MB/s
    // per run and variant on this machine, so the default is smaller (see README).
    let pty_mib = arg(&args, "--pty-mib", 32);
    let scale = if quick { 16 } else { 1 };
    let skip_pty = args.iter().any(|a| a == "--no-pty");

    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("yes", yes_flood(64 * MIB / scale)),
        ("build-log", build_log(64 * MIB / scale)),
        ("tui", tui_stream(32 * MIB / scale)),
    ];

    // Sanity: every emulator shows the same screen text at the end of each input.
    eprintln!("== sanity: final screen text per input (vs vt100)");
    for (name, input) in &inputs {
        // Cut at the end of a synchronized frame: alacritty holds a frame until `?2026l`.
        let mut cut = input.len().min(4 * MIB);
        let end = b"\x1b[?2026l";
        if let Some(i) = input[..cut].windows(end.len()).rposition(|w| w == end) {
            cut = i + end.len();
        }
        let head = &input[..cut];
        let run = |e: &mut dyn FnMut(&[u8])| {
            for c in head.chunks(CHUNK) {
                e(c)
            }
        };
        let mut v = Vt100::new(ROWS, COLS, SCROLLBACK);
        run(&mut |b| v.feed(b));
        let mut a = Alacritty::new(ROWS, COLS, SCROLLBACK);
        run(&mut |b| a.feed(b));
        let mut t = Termwiz::new(ROWS, COLS, SCROLLBACK);
        run(&mut |b| t.feed(b));
        let vs = v.screen_text();
        let verdict = |s: String| {
            if s == vs {
                "same".to_string()
            } else {
                let (a, b): (Vec<&str>, Vec<&str>) = (vs.lines().collect(), s.lines().collect());
                let i = a.iter().zip(&b).position(|(x, y)| x != y);
                format!("differs ({} vs {} lines; first at {:?})", a.len(), b.len(), i.map(|i| (a[i], b[i])))
            }
        };
        eprintln!(
            "  {name:<10} alacritty: {}  termwiz: {}  (scrollback v/a/t: {}/{}/{})",
            verdict(a.screen_text()),
            verdict(t.screen_text()),
            v.scrollback_len(),
            a.scrollback_len(),
            t.scrollback_len()
        );
        if args.iter().any(|a| a == "--show") {
            eprintln!("--- vt100\n{vs}\n--- alacritty\n{}\n--- termwiz\n{}", a.screen_text(), t.screen_text());
        }
    }

    eprintln!("== parse throughput, {ROWS}x{COLS}, scrollback {SCROLLBACK}, {CHUNK}-byte chunks, median of {runs}");
    let mut cells: Vec<Cell<'_>> = Vec::new();
    for (n, i) in &inputs {
        cells.push(parse_cell::<Vt100>(n, i));
        cells.push(parse_cell::<Alacritty>(n, i));
        cells.push(parse_cell::<Termwiz>(n, i));
        cells.push(parse_cell::<ParserOnly>(n, i));
        cells.push(parse_cell::<Vt100NoScrollback>(n, i));
    }
    let parsed = interleave(cells, runs);
    let names = [Vt100::NAME, Alacritty::NAME, Termwiz::NAME, ParserOnly::NAME, Vt100NoScrollback::NAME];
    let table: Vec<(String, Vec<(f64, usize)>)> = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let v = (0..inputs.len()).map(|i| {
                let (_, m, n) = &parsed[i * names.len() + k];
                (*m, *n)
            });
            (name.to_string(), v.collect())
        })
        .collect();

    eprintln!("== pane state: build log overflowing the scrollback");
    let log = fill_log();
    let facts = vec![
        (Vt100::NAME, pane_facts::<Vt100>(&log, runs)),
        (Alacritty::NAME, pane_facts::<Alacritty>(&log, runs)),
        (Termwiz::NAME, pane_facts::<Termwiz>(&log, runs)),
    ];
    for (name, f) in &facts {
        eprintln!(
            "  {name:<26} mem {:.1} MiB (log) {:.1} MiB (y) | scrollback {} | snapshot {:.1} ms, {} bytes | replay same: {} | replay vt100: {}",
            f.mem_log, f.mem_yes, f.sb_len, f.snap_ms, f.snap_bytes, f.round_trip_same, f.round_trip_vt100
        );
    }

    let mut pty: Vec<(String, (f64, usize))> = Vec::new();
    if !skip_pty {
        let total = pty_mib * MIB / scale;
        eprintln!("== PTY: child `yes | head -c {total}` (CRLF via onlcr), {CHUNK}-byte reads, median of <= {pty_runs}");
        let cells: Vec<Cell<'_>> = vec![
            pty_cell::<Vt100>(Mode::Raw, total, true),
            pty_cell::<Vt100>(Mode::RawChannel, total, true),
            pty_cell::<Vt100>(Mode::Inline, total, true),
            pty_cell::<Vt100>(Mode::Thread, total, true),
            pty_cell::<Alacritty>(Mode::Inline, total, true),
            pty_cell::<Alacritty>(Mode::Thread, total, true),
            pty_cell::<Termwiz>(Mode::Inline, total, true),
            pty_cell::<Termwiz>(Mode::Thread, total, true),
            pty_cell::<Vt100NoScrollback>(Mode::Inline, total, true),
            pty_cell::<Vt100NoScrollback>(Mode::Thread, total, true),
            pty_cell::<Vt100>(Mode::Raw, total, false),
        ];
        pty = interleave(cells, pty_runs).into_iter().map(|(l, m, n)| (l, (m, n))).collect();
    }

    // Markdown tables on stdout.
    println!("### Parse throughput (MB/s of input, median of up to {runs} runs (runs in brackets); {ROWS}x{COLS}, scrollback {SCROLLBACK})\n");
    println!("| emulator | yes (64 MiB) | build log (64 MiB) | TUI redraw (32 MiB) |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, v) in &table {
        println!(
            "| {name} | {:.1} ({}) | {:.1} ({}) | {:.1} ({}) |",
            v[0].0, v[0].1, v[1].0, v[1].1, v[2].0, v[2].1
        );
    }
    println!("\n### Pane state (10 000-line scrollback filled by a build log)\n");
    println!("| emulator | memory, build log | memory, `y` lines | snapshot of 10 000 lines + screen | snapshot size | replay into same emulator | replay into vt100 |");
    println!("| --- | ---: | ---: | ---: | ---: | --- | --- |");
    for (name, f) in &facts {
        println!(
            "| {name} | {:.1} MiB | {:.1} MiB | {:.1} ms | {:.2} MB | {} | {} |",
            f.mem_log,
            f.mem_yes,
            f.snap_ms,
            f.snap_bytes as f64 / 1e6,
            f.round_trip_same,
            f.round_trip_vt100
        );
    }
    if !pty.is_empty() {
        let raw = pty[0].1 .0;
        println!("\n### Real PTY, child `yes | head -c {}` ({pty_runs} runs max, runs in brackets)\n", pty_mib * MIB / scale);
        println!("| reader | MB/s read | ratio of raw reader |");
        println!("| --- | ---: | ---: |");
        for (name, (v, n)) in &pty {
            println!("| {name} | {v:.1} ({n}) | {:.0} % |", 100.0 * v / raw);
        }
    }
}
