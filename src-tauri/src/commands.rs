//! The Tauri commands. Each validates its arguments and answers a bad one with a one-line error
//! (an unknown pane id, a zero size, an over-sized write), never a panic.

use leapfrog_engine::pty::PaneSize as EngineSize;
use tauri::ipc::Channel;
use tauri::State;

use crate::dto::{Cockpit, LogLine, PaneSize, UiMark};
use crate::logs::LogSink;
use crate::panes::{check_size, input_bytes};
use crate::{AppState, OutputChannel};

type Result<T> = std::result::Result<T, String>;

#[tauri::command]
pub fn cockpit(state: State<'_, AppState>) -> Cockpit {
    state.cockpit.clone()
}

/// Connects a pane's output to `output` (raw bytes) and sizes its terminal.
#[tauri::command]
pub fn pane_attach(
    state: State<'_, AppState>,
    live: State<'_, crate::live::Live>,
    pane_id: String,
    size: PaneSize,
    output: OutputChannel,
) -> Result<()> {
    if let Some(route) = live.route(&pane_id) {
        return crate::live::attach(route?, size, output);
    }
    let route = state.route(&pane_id)?;
    check_size(size.cols, size.rows)?;
    state
        .panes
        .resize(route.pane, EngineSize::new(size.rows, size.cols))
        .map_err(|e| e.to_string())?;
    let orphaned = route
        .delivery
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .attach(output);
    if orphaned > 0 {
        state
            .panes
            .ack(route.pane, orphaned as usize)
            .map_err(|e| e.to_string())?;
    }
    tracing::debug!(pane = %pane_id, cols = size.cols, rows = size.rows, "pane attached");
    Ok(())
}

/// Keystrokes or pasted text for a pane.
#[tauri::command]
pub fn pane_write(
    state: State<'_, AppState>,
    live: State<'_, crate::live::Live>,
    pane_id: String,
    data: String,
    binary: bool,
) -> Result<()> {
    if let Some(route) = live.route(&pane_id) {
        return crate::live::write(route?, &data, binary);
    }
    let route = state.route(&pane_id)?;
    let bytes = input_bytes(&data, binary)?;
    state
        .panes
        .write(route.pane, &bytes)
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub fn pane_resize(
    state: State<'_, AppState>,
    live: State<'_, crate::live::Live>,
    pane_id: String,
    size: PaneSize,
) -> Result<()> {
    if let Some(route) = live.route(&pane_id) {
        return crate::live::resize(route?, size);
    }
    let route = state.route(&pane_id)?;
    check_size(size.cols, size.rows)?;
    state
        .panes
        .resize(route.pane, EngineSize::new(size.rows, size.cols))
        .map_err(|e| e.to_string())
}

/// xterm.js has rendered `bytes` more bytes of the pane's output.
#[tauri::command]
pub fn pane_ack(
    state: State<'_, AppState>,
    live: State<'_, crate::live::Live>,
    pane_id: String,
    bytes: u32,
) -> Result<()> {
    if let Some(route) = live.route(&pane_id) {
        return crate::live::ack(route?, bytes);
    }
    let route = state.route(&pane_id)?;
    let acked = {
        let mut d = route.delivery.lock().unwrap_or_else(|e| e.into_inner());
        d.ack(u64::from(bytes))?;
        d.acked()
    };
    state
        .panes
        .ack(route.pane, bytes as usize)
        .map_err(|e| e.to_string())?;
    if let Some(bench) = &state.bench {
        bench.acked(&pane_id, acked);
    }
    Ok(())
}

struct ChannelSink(Channel<LogLine>);

impl LogSink for ChannelSink {
    fn send(&mut self, line: &LogLine) -> bool {
        self.0.send(line.clone()).is_ok()
    }
}

/// Streams the app's log to the Logs pane: the recent lines, then each new one.
#[tauri::command]
pub fn logs_subscribe(state: State<'_, AppState>, lines: Channel<LogLine>) {
    state.logs.subscribe(Box::new(ChannelSink(lines)));
}

/// One clipboard for the app's lifetime: on X11 the copied text is served by its owner, so a
/// clipboard dropped right after `set_text` would lose it (no clipboard manager under Xvfb).
static CLIPBOARD: std::sync::Mutex<Option<arboard::Clipboard>> = std::sync::Mutex::new(None);

fn with_clipboard<T>(f: impl FnOnce(&mut arboard::Clipboard) -> Result<T>) -> Result<T> {
    let mut guard = CLIPBOARD.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard =
            Some(arboard::Clipboard::new().map_err(|e| format!("clipboard unavailable: {e}"))?);
    }
    f(guard.as_mut().expect("clipboard set above"))
}

#[tauri::command]
pub async fn clipboard_read() -> Result<String> {
    with_clipboard(|c| match c.get_text() {
        Ok(text) => Ok(text),
        Err(arboard::Error::ContentNotAvailable) => Ok(String::new()),
        Err(e) => Err(format!("cannot read the clipboard: {e}")),
    })
}

/// Largest text put on the clipboard at once (16 MiB).
const MAX_CLIPBOARD: usize = 16 * 1024 * 1024;

#[tauri::command]
pub async fn clipboard_write(text: String) -> Result<()> {
    if text.len() > MAX_CLIPBOARD {
        return Err(format!(
            "copy of {} bytes exceeds the {MAX_CLIPBOARD}-byte limit",
            text.len()
        ));
    }
    with_clipboard(|c| {
        c.set_text(text)
            .map_err(|e| format!("cannot write the clipboard: {e}"))
    })
}

/// Accepts only plain http(s) links: no other scheme, no whitespace or control characters.
pub fn check_link(url: &str) -> Result<()> {
    let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok_scheme || !clean || url.len() > 4096 {
        return Err(format!(
            "refusing to open `{}`: only http(s) links are opened",
            url.chars().take(80).collect::<String>()
        ));
    }
    Ok(())
}

/// Opens a link clicked in a terminal with the desktop's browser.
#[tauri::command]
pub fn open_link(url: String) -> Result<()> {
    check_link(&url)?;
    std::process::Command::new("xdg-open")
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| tracing::info!(%url, "opened link"))
        .map_err(|e| format!("cannot open the link: {e}"))
}

/// Opens another window: a second `leapfrog` process (`--new-window`) on the same Leapfrog
/// service, showing the project in `dir` (the one this window shows) or none. Each window is a
/// client of the service, so both stay live: the same panes, runs and board in each.
#[tauri::command]
pub fn new_window(dir: Option<String>) -> Result<()> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find Leapfrog's program: {e}"))?;
    let mut command = std::process::Command::new(exe);
    command.arg(crate::NEW_WINDOW);
    if let Some(dir) = dir {
        command.arg(dir);
    }
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot open another window: {e}"))?;
    tracing::info!(pid = child.id(), "opened another window");
    // Reaped when it closes.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[tauri::command]
pub fn ui_mark(state: State<'_, AppState>, mark: UiMark) {
    match &mark {
        UiMark::FirstPaint { pane_id } => {
            let ms = state
                .bench
                .as_ref()
                .map(|b| b.started.elapsed().as_millis())
                .unwrap_or_default();
            tracing::info!(pane = %pane_id, "first output painted");
            if let Some(b) = &state.bench {
                b.first_paint(pane_id, ms);
            }
        }
        UiMark::FrameGap { max_ms } => {
            if let Some(b) = &state.bench {
                b.frame_gap(*max_ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_web_links_open() {
        let cases = [
            ("https://example.com/a?b=c", true),
            ("http://localhost:8080", true),
            ("file:///etc/passwd", false),
            ("javascript:alert(1)", false),
            ("https://x.com/a b", false),
            ("https://x.com/\u{7}", false),
            ("--help", false),
        ];
        for (url, ok) in cases {
            assert_eq!(check_link(url).is_ok(), ok, "{url}");
        }
    }
}
