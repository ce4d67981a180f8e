/// The app's own commands. Declaring them makes each one need a permission, so the capability
/// file lists exactly what the window may call.
const COMMANDS: &[&str] = &[
    "cockpit",
    "pane_attach",
    "pane_write",
    "pane_resize",
    "pane_ack",
    "logs_subscribe",
    "clipboard_read",
    "clipboard_write",
    "open_link",
    "new_window",
    "ui_mark",
    "board_view",
    "board_apply",
    "board_undo",
    "projects_list",
    "project_current",
    "project_open",
    "pick_folder",
    "project_inspect",
    "project_finish",
    "timeline",
    "live_state",
    "live_command",
    "live_stop",
    "project_hold",
    "project_hold_answer",
    "about",
    "diagnostics",
    "welcome",
    "cli_install",
    "demo_open",
    "review_batches",
    "batch_diff",
    "context_rules",
    "context_rules_save",
    "context_packs",
    "context_pack",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
