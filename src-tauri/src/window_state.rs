//! The window remembers its size and position: saved to `<data dir>/window.json` shortly after
//! each move or resize (so a crash loses nothing), restored when the app starts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The main window's outer position and inner size, in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub maximized: bool,
}

impl Geometry {
    /// A geometry worth restoring: not smaller than the window's minimum, not absurdly large,
    /// not far off any screen.
    pub fn plausible(&self) -> bool {
        (640..=20_000).contains(&self.width)
            && (400..=20_000).contains(&self.height)
            && (-10_000..=40_000).contains(&self.x)
            && (-10_000..=40_000).contains(&self.y)
    }
}

fn file() -> Option<PathBuf> {
    leapfrog_engine::store::data_dir()
        .ok()
        .map(|d| d.join("window.json"))
}

/// The saved geometry, when there is a plausible one.
pub fn load() -> Option<Geometry> {
    let path = file()?;
    let bytes = leapfrog_engine::files::read_regular(&path, "window state", 64 * 1024).ok()?;
    let g: Geometry = serde_json::from_slice(&bytes).ok()?;
    g.plausible().then_some(g)
}

fn save(g: &Geometry) {
    let Some(path) = file() else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension("json.tmp");
    if let Ok(text) = serde_json::to_vec(g) {
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

/// The latest geometry and whether it still has to be written.
#[derive(Default, Clone)]
pub struct Tracker {
    latest: Arc<Mutex<Option<Geometry>>>,
    dirty: Arc<AtomicBool>,
}

impl Tracker {
    /// Starts the writer: it writes the latest geometry at most every 400 ms while it changes.
    pub fn start() -> Tracker {
        let t = Tracker::default();
        let w = t.clone();
        let _ = std::thread::Builder::new()
            .name("window-state".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(400));
                w.flush();
            });
        t
    }

    pub fn changed(&self, g: Geometry) {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(g);
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Writes the latest geometry now if it changed.
    pub fn flush(&self) {
        if self.dirty.swap(false, Ordering::SeqCst) {
            let g = *self.latest.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(g) = g.filter(Geometry::plausible) {
                save(&g);
            }
        }
    }
}

/// The window's geometry now.
pub fn of<R: tauri::Runtime>(window: &tauri::Window<R>) -> Option<Geometry> {
    let pos = window.outer_position().ok()?;
    let size = window.inner_size().ok()?;
    Some(Geometry {
        x: pos.x,
        y: pos.y,
        width: size.width,
        height: size.height,
        maximized: window.is_maximized().unwrap_or(false),
    })
}

/// Puts the main window where it was.
pub fn restore<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    let Some(g) = load() else { return };
    let _ = window.set_size(tauri::PhysicalSize::new(g.width, g.height));
    let _ = window.set_position(tauri::PhysicalPosition::new(g.x, g.y));
    if g.maximized {
        let _ = window.maximize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_geometries_are_restored() {
        let ok = Geometry {
            x: 10,
            y: 20,
            width: 1200,
            height: 700,
            maximized: false,
        };
        let cases = [
            (ok, true),
            (Geometry { width: 10, ..ok }, false),
            (Geometry { height: 100, ..ok }, false),
            (Geometry { x: -50_000, ..ok }, false),
            (
                Geometry {
                    width: 90_000,
                    ..ok
                },
                false,
            ),
        ];
        for (g, want) in cases {
            assert_eq!(g.plausible(), want, "{g:?}");
        }
    }
}
