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
