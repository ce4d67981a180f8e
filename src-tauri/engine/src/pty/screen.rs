//! The Rust-side screen mirror: a vt100 parser fed the same frames as the UI.

use std::num::NonZeroU16;

use serde::{Deserialize, Serialize};

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
    pub(crate) fn of(screen: &vt100::Screen) -> Self {
        let (rows, cols) = screen.size();
        ScreenSnapshot {
            size: PaneSize::new(rows.get(), cols.get()),
            lines: screen
                .rows(0, cols.get())
                .map(|row| row.trim_end().to_string())
                .collect(),
            cursor: screen.cursor_position(),
            cursor_hidden: screen.hide_cursor(),
            alternate_screen: screen.alternate_screen(),
        }
    }

    /// The visible rows joined with `'\n'`, trailing blank rows dropped.
    pub fn text(&self) -> String {
        let used = self
            .lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        self.lines[..used].join("\n")
    }
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

pub(crate) fn new_mirror(size: PaneSize, scrollback: usize) -> Result<vt100::Parser, PtyError> {
    let (rows, cols) = nonzero_size(size)?;
    Ok(vt100::Parser::new(rows, cols, scrollback))
}

/// The screen and up to `scrollback` of the lines above it as bytes that draw them again in a
/// terminal of the same size (xterm.js, or another vt100): a reset, the scrollback lines (plain text
/// with colours), enough newlines to scroll them above the screen, then the screen itself with its
/// attributes, cursor and input modes. A full-screen program's alternate screen is drawn as such
/// (the lines of the main screen above it are not part of it).
///
/// `screen` is borrowed mutably only to read the scrollback (its view offset); it is left as it was.
pub(crate) fn formatted(screen: &mut vt100::Screen, scrollback: usize) -> Vec<u8> {
    let mut out = String::from("\x1bc");
    let (rows, cols) = screen.size();
    if !screen.alternate_screen() && scrollback > 0 {
        let saved = screen.scrollback();
        screen.set_scrollback(usize::MAX);
        let n = screen.scrollback().min(scrollback);
        // At view offset k, the top visible row is the k-th line above the screen.
        for k in (1..=n).rev() {
            screen.set_scrollback(k);
            if let Some(row) = screen.rows_formatted(0, cols.get()).next() {
                out.push_str(&row);
            }
            out.push_str("\x1b[m\r\n");
        }
        screen.set_scrollback(saved);
        if n > 0 {
            // From the last line written, rows - 1 more newlines scroll every one of them off.
            for _ in 1..rows.get() {
                out.push_str("\r\n");
            }
        }
    }
    if screen.alternate_screen() {
        out.push_str("\x1b[?1049h");
    }
    out.push_str(&screen.state_formatted());
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `bytes` on a fresh screen, formats it, draws that on another fresh screen, and
    /// compares what they show: the screen with attributes, the cursor, the input modes and
    /// every scrollback line kept.
    fn check_round_trip(bytes: &[u8], rows: u16, cols: u16, keep: usize) {
        let size = PaneSize::new(rows, cols);
        let mut a = new_mirror(size, 1000).unwrap();
        a.process(bytes);
        let snapshot = formatted(a.screen_mut(), keep);
        let mut b = new_mirror(size, 1000).unwrap();
        b.process(&snapshot);
        let (sa, sb) = (a.screen(), b.screen());
        assert_eq!(sb.contents_formatted(), sa.contents_formatted());
        assert_eq!(sb.cursor_position(), sa.cursor_position());
        assert_eq!(sb.input_mode_formatted(), sa.input_mode_formatted());
        assert_eq!(sb.alternate_screen(), sa.alternate_screen());
        let lines = |p: &mut vt100::Parser| {
            let s = p.screen_mut();
            s.set_scrollback(usize::MAX);
            let n = s.scrollback();
            let v: Vec<String> = (1..=n)
                .rev()
                .map(|k| {
                    s.set_scrollback(k);
                    s.rows(0, cols).next().unwrap_or_default()
                })
                .collect();
            s.set_scrollback(0);
            v
        };
        let alt = a.screen().alternate_screen();
        let (la, lb) = (lines(&mut a), lines(&mut b));
        if !alt {
            let kept = &la[la.len().saturating_sub(keep)..];
            assert_eq!(lb, kept, "scrollback");
        }
    }

    #[test]
    fn a_formatted_screen_draws_the_same_screen_and_scrollback() {
        let mut flood = Vec::new();
        for i in 0..300 {
            flood.extend_from_slice(
                format!(
                    "\x1b[3{}mline {i}\x1b[m and \x1b[1mbold\x1b[m text\r\n",
                    i % 8
                )
                .as_bytes(),
            );
        }
        flood.extend_from_slice(
            "\x1b[5;10H\x1b[44mmoved\x1b[m \u{2500}\u{2502} \u{6f22}\u{5b57}".as_bytes(),
        );
        check_round_trip(&flood, 24, 80, 1000);
        check_round_trip(&flood, 24, 80, 50);
        check_round_trip(b"short\r\nscreen", 24, 80, 1000);
        check_round_trip(b"", 10, 40, 1000);
        // A full-screen program on the alternate screen, with bracketed paste on.
        check_round_trip(
            b"main\r\n\x1b[?1049h\x1b[?2004h\x1b[2J\x1b[1;1Htop\x1b[10;5Hbottom\x1b[?25l",
            10,
            40,
            1000,
        );
    }
}
