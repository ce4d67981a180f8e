//! Leapfrog's desktop shell: wires Tauri to the engine and nothing more. Every rule lives in
//! `leapfrog-engine`; this crate turns engine panes into IPC (raw byte channels out, commands in)
//! and forwards the app's log to the Logs pane.

pub mod about;
pub mod board;
pub mod cockpit;
pub mod commands;
pub mod context;
pub mod dto;
pub mod live;
pub mod logs;
pub mod panes;
pub mod projects;
pub mod recent;
pub mod review;
pub mod timeline;
pub mod welcome;
pub mod window_state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use leapfrog_engine::pty::{
    login_shell_program, CoalesceConfig, FlowControl, PaneConfig, PaneEvent, PaneId, Panes,
    SpawnSpec,
};
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::{Emitter, Manager};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::dto::{Cockpit, PaneExit};
use crate::logs::LogHub;
use crate::panes::{Delivery, SharedDelivery};

/// The raw output channel of one pane.
pub type OutputChannel = Channel<InvokeResponseBody>;

/// Flow control for a pane shown by xterm.js: reading pauses above 1 MiB un-acknowledged (a
/// fraction of a second of rendering), resumes below 256 KiB; acks arrive per rendered frame or every 64 KiB.
pub const UI_FLOW: FlowControl = FlowControl {
    high_watermark: 1024 * 1024,
    low_watermark: 256 * 1024,
};

/// Largest frame sent to the UI. Each frame over 1 KiB costs the webview a fetch round trip, so
/// during a flood fewer, larger frames go faster; interactive output stays small anyway.
pub const UI_MAX_FRAME: usize = 256 * 1024;

/// One agent pane: the engine's pane and what the UI has been sent of it.
pub struct Route {
    pub pane: PaneId,
    pub delivery: SharedDelivery<OutputChannel>,
}

/// Everything the commands reach.
pub struct AppState {
    pub cockpit: Cockpit,
    pub panes: Panes,
    pub routes: HashMap<String, Route>,
    pub logs: LogHub,
    pub bench: Option<bench::Bench>,
}

impl AppState {
    pub fn route(&self, pane_id: &str) -> Result<&Route, String> {
        self.routes.get(pane_id).ok_or_else(|| {
            let known: Vec<&str> = self.cockpit.panes.iter().map(|p| p.id.as_str()).collect();
            format!("no pane `{pane_id}` (panes: {})", known.join(", "))
        })
    }
}

pub mod bench;

/// The first argument that makes `leapfrog` open another window instead of handing its folder to
/// the one already running.
pub const NEW_WINDOW: &str = "--new-window";

/// Starts the app. `started` is when the process began (for the start-up figure in bench mode).
pub fn run() {
    let started = Instant::now();
    // CLIs installed from the welcome screen live in ~/.local/bin, which a desktop session's PATH
    // may lack: add it (at the end) before any thread starts, so detection and agent launches
    // find them.
    if let Some(home) = std::env::var_os("HOME") {
        let path = leapfrog_engine::agents::install::with_user_bin(
            std::env::var_os("PATH").as_deref(),
            std::path::Path::new(&home),
        );
        std::env::set_var("PATH", path);
    }
    paint_on_the_cpu_without_a_gpu();
    let logs = LogHub::default();
    // The log on disk, rotated, in the XDG state folder (About's "Copy diagnostics" reads the
    // recent lines from the hub).
    if let Some(dir) = logs::log_dir(|k| std::env::var_os(k)) {
        match logs::LogFile::open(&dir, logs::LOG_FILE_BYTES, logs::LOG_FILES_KEPT) {
            Ok(file) => logs.subscribe(Box::new(file)),
            Err(e) => eprintln!("leapfrog: no log file in {}: {e}", dir.display()),
        }
    }
    let filter = EnvFilter::try_from_env("LEAPFROG_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(logs.layer().with_filter(
            EnvFilter::try_from_env("LEAPFROG_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        ))
        .try_init();

    let agents = match std::env::var("LEAPFROG_AGENTS") {
        Ok(text) => match cockpit::parse_agents(&text) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("leapfrog: LEAPFROG_AGENTS: {e}");
                std::process::exit(2);
            }
        },
        Err(_) => cockpit::default_agents(),
    };
    let bench = std::env::var_os("LEAPFROG_BENCH").map(|_| bench::Bench::new(started));
    // `leapfrog [--new-window] [PROJECT_DIR]`: open that project (its panes start there too).
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let new_window = args.first().is_some_and(|a| a == NEW_WINDOW);
    if new_window {
        args.remove(0);
    }
    let project_dir = args.first().map(std::path::PathBuf::from);
    // A second launch hands its folder to the Leapfrog already running, and ends; unless it was
    // asked for another window (`new_window`), which is one more client of the same service.
    if let Some(dir) = &project_dir {
        if bench.is_none() && !new_window {
            if let Some(said) = projects::pass_to_running(dir) {
                println!("{said}");
                return;
            }
        }
    }
    if let Some(dir) = &project_dir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("leapfrog: cannot open {}: {e}", dir.display());
            std::process::exit(2);
        }
    }

    // The window's size and position, written shortly after each change (the first window's
    // only: another one opens where the window manager puts it).
    let geometry = (!new_window).then(window_state::Tracker::start);
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .manage(projects::Projects::default())
        .invoke_handler(tauri::generate_handler![
            commands::cockpit,
            commands::pane_attach,
            commands::pane_write,
            commands::pane_resize,
            commands::pane_ack,
            commands::logs_subscribe,
            commands::clipboard_read,
            commands::clipboard_write,
            commands::open_link,
            commands::new_window,
            commands::ui_mark,
            board::board_view,
            board::board_apply,
            board::board_undo,
            projects::projects_list,
            projects::project_current,
            projects::project_open,
            projects::pick_folder,
            projects::project_inspect,
            projects::project_finish,
            timeline::timeline,
            live::live_state,
            live::live_command,
            live::live_stop,
            live::project_hold,
            live::project_hold_answer,
            about::about,
            about::diagnostics,
            welcome::welcome,
            welcome::cli_install,
            welcome::demo_open,
            review::review_batches,
            review::batch_diff,
            context::context_rules,
            context::context_rules_save,
            context::context_packs,
            context::context_pack,
        ])
        .on_window_event(move |window, event| {
            match event {
                tauri::WindowEvent::Moved(_) | tauri::WindowEvent::Resized(_) => {
                    if let (Some(geometry), Some(g)) = (&geometry, window_state::of(window)) {
                        geometry.changed(g);
                    }
                }
                tauri::WindowEvent::CloseRequested { .. } | tauri::WindowEvent::Destroyed => {
                    if let Some(geometry) = &geometry {
                        geometry.flush()
                    }
                }
                _ => {}
            }
            // A folder (or a file in it) dropped on the window opens as a project.
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                match projects::dropped_folder(paths) {
                    Some(dir) => {
                        if let Err(e) = projects::open(window.app_handle(), &dir) {
                            tracing::warn!("{}: not opened: {e}", dir.display());
                        }
                    }
                    None => tracing::warn!("only a folder can be dropped here"),
                }
            }
        })
        .setup(move |app| {
            if let Some(window) = app.get_webview_window("main") {
                if !new_window {
                    window_state::restore(&window);
                }
            }
            let state = start_panes(app.handle(), &agents, logs, bench)?;
            if state.bench.is_some() {
                bench::read_commands(app.handle().clone());
            }
            app.manage(state);
            live::install(app.handle());
            projects::forward_notices(app.handle());
            if let Some(dir) = &project_dir {
                if let Err(e) = projects::open(app.handle(), dir) {
                    tracing::error!("{e}");
                }
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("leapfrog: cannot build the application");

    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            live::stop(handle);
            if let Some(state) = handle.try_state::<AppState>() {
                for id in state.panes.ids() {
                    let _ = state.panes.remove(id);
                }
            }
        }
    });
}

fn start_panes<R: tauri::Runtime>(
    handle: &tauri::AppHandle<R>,
    agents: &[cockpit::AgentSpec],
    logs: LogHub,
    bench: Option<bench::Bench>,
) -> Result<AppState, Box<dyn std::error::Error>> {
    let program = login_shell_program();
    let program_name = std::path::Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.clone());
    let workdir = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("/"));
    let infos = cockpit::panes(agents, &program_name);
    let panes = Panes::new();
    let mut routes = HashMap::new();
    let config = PaneConfig {
        flow: UI_FLOW,
        coalesce: CoalesceConfig {
            max_frame: UI_MAX_FRAME,
            ..CoalesceConfig::default()
        },
        ..PaneConfig::default()
    };
    for info in &infos {
        let delivery: SharedDelivery<OutputChannel> = Arc::new(Mutex::new(Delivery::default()));
        let sink_delivery = delivery.clone();
        let emitter = handle.clone();
        let agent = info.id.clone();
        let spec = SpawnSpec::login_shell()
            .cwd(&workdir)
            .env("LEAPFROG_AGENT", &info.id);
        let pane = panes.spawn(&spec, config, move |event: PaneEvent| match event {
            PaneEvent::Output(frame) => {
                sink_delivery
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .frame(frame);
            }
            PaneEvent::Exit(exit) => {
                let code = if exit.signal.is_none() {
                    i32::try_from(exit.code).ok()
                } else {
                    None
                };
                match &exit.signal {
                    Some(signal) => tracing::info!(pane = %agent, %signal, "pane process killed"),
                    None => tracing::info!(pane = %agent, code = exit.code, "pane process exited"),
                }
                let _ = emitter.emit(
                    "pane-exit",
                    PaneExit {
                        pane_id: agent.clone(),
                        code,
                    },
                );
            }
        })?;
        tracing::info!(pane = %info.id, pid = pane.pid().unwrap_or(0), "started {} in {}", program, workdir.display());
        routes.insert(
            info.id.clone(),
            Route {
                pane: pane.id(),
                delivery,
            },
        );
    }
    Ok(AppState {
        cockpit: Cockpit {
            panes: infos,
            workdir: workdir.display().to_string(),
            bench: bench.is_some(),
            gpu: has_gpu(),
        },
        panes,
        routes,
        logs,
        bench,
    })
}

/// Without a GPU, WebKitGTK composites the page through software GL (llvmpipe): the window
/// idling with eight panes cost its web process 10–12 % of a core and a frame 30–80 ms
/// (`app_attach_bench`, Xvfb, WebKitGTK 2.50). Its non-composited mode paints on the CPU: 1.3 %
/// and 2 ms. Called before any thread starts and before WebKit reads its environment; a value the
/// user set is kept.
fn paint_on_the_cpu_without_a_gpu() {
    if cfg!(target_os = "linux")
        && !has_gpu()
        && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// A GPU render node is present (Linux: `/dev/dri/renderD*`); elsewhere assume one.
pub(crate) fn has_gpu() -> bool {
    if std::env::var_os("LEAPFROG_NO_GPU").is_some() {
        return false;
    }
    if cfg!(target_os = "linux") {
        std::fs::read_dir("/dev/dri")
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
            })
            .unwrap_or(false)
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    //! Commands called through Tauri's real IPC (mock runtime, no window), with real shells.
    use super::*;
    use serde_json::{json, Value};
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
    use tauri::webview::InvokeRequest;

    fn app() -> (
        tauri::App<tauri::test::MockRuntime>,
        tauri::WebviewWindow<tauri::test::MockRuntime>,
    ) {
        let app = mock_builder()
            .invoke_handler(tauri::generate_handler![
                commands::cockpit,
                commands::pane_write,
                commands::pane_resize,
                commands::pane_ack,
                commands::open_link,
            ])
            .manage(live::Live::default())
            .build(mock_context(noop_assets()))
            .expect("mock app");
        let state = start_panes(
            app.handle(),
            &cockpit::default_agents(),
            LogHub::default(),
            None,
        )
        .expect("start the panes");
        app.manage(state);
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock webview");
        (app, webview)
    }

    fn invoke(
        webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        args: Value,
    ) -> Result<Value, Value> {
        get_ipc_response(
            webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    #[test]
    fn commands_reject_bad_arguments_with_one_line_errors() {
        let (app, webview) = app();
        let size = |cols: u32, rows: u32| json!({ "cols": cols, "rows": rows });
        let cases: Vec<(&str, Value, Result<Value, &str>)> = vec![
            (
                "pane_write",
                json!({"paneId": "designer", "data": "true\r", "binary": false}),
                Ok(Value::Null),
            ),
            (
                "pane_write",
                json!({"paneId": "nobody", "data": "x", "binary": false}),
                Err("no pane `nobody` (panes: designer, builder)"),
            ),
            (
                "pane_write",
                json!({"paneId": "builder", "data": "\u{100}", "binary": true}),
                Err("binary input holds a non-byte character U+0100"),
            ),
            (
                "pane_resize",
                json!({"paneId": "builder", "size": size(100, 30)}),
                Ok(Value::Null),
            ),
            (
                "pane_resize",
                json!({"paneId": "builder", "size": size(0, 30)}),
                Err("invalid terminal size 0x30: columns and rows must be between 1 and 4096"),
            ),
            (
                "pane_resize",
                json!({"paneId": "", "size": size(80, 24)}),
                Err("no pane `` (panes: designer, builder)"),
            ),
            (
                "pane_ack",
                json!({"paneId": "designer", "bytes": 4_000_000_000u32}),
                Err("ack of 4000000000 bytes exceeds the 0 bytes sent and not yet acknowledged"),
            ),
            (
                "open_link",
                json!({"url": "file:///etc/passwd"}),
                Err("refusing to open `file:///etc/passwd`: only http(s) links are opened"),
            ),
        ];
        for (cmd, args, want) in cases {
            let got = invoke(&webview, cmd, args.clone());
            let want = want.map_err(|e| Value::String(e.to_string()));
            assert_eq!(got, want, "{cmd} {args}");
        }
        // Malformed arguments are refused by Tauri's deserialisation, also without a panic.
        let got = invoke(
            &webview,
            "pane_resize",
            json!({"paneId": "builder", "size": {"cols": -1, "rows": 2}}),
        );
        assert!(got.is_err(), "{got:?}");

        let cockpit = invoke(&webview, "cockpit", json!({})).expect("cockpit");
        assert_eq!(cockpit["panes"][0]["title"], "Designer · claude");
        assert_eq!(cockpit["panes"][1]["title"], "Builder · codex");

        let state = app.state::<AppState>();
        for id in state.panes.ids() {
            let _ = state.panes.remove(id);
        }
    }
}
