//! Projects: the open project (its board session and TICKETS.md watcher), the sidebar's list, the setup
//! wizard's inspect/finish, and opening `leapfrog PROJECT_DIR`. Every rule is `engine::project` and
//! `engine::board`; this module only keeps the open one and turns calls into IPC.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use leapfrog_engine::board::Board;
use leapfrog_engine::model::Pattern;
use leapfrog_engine::project::setup::{self, DetectOptions, SetupPlan};
use leapfrog_engine::project::ProjectFile;
use leapfrog_engine::store::Store;
use leapfrog_engine::tickets::sync::{watch, SyncEvent};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};

type Result<T> = std::result::Result<T, String>;

/// A project as the sidebar lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ProjectSummary {
    pub id: String,
    pub name: String,
    pub dir: String,
}

/// What the wizard decided; carried out with `engine::project::setup`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct SetupChoices {
    pub pattern: Pattern,
    /// Agent slot (`designer`, `builder`, `reviewer`) to command line.
    #[serde(default)]
    pub assignments: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub verify: String,
    pub lookahead: u32,
    pub sync_every: u32,
    /// A QA phase for every batch after its passing review.
    #[serde(default)]
    pub qa: bool,
    #[serde(default)]
    pub git_init: bool,
}

/// The open project.
pub struct OpenProject {
    pub summary: ProjectSummary,
    pub dir: PathBuf,
    pub file: Option<ProjectFile>,
    pub board: Board,
    /// Set to stop the TICKETS.md watcher thread.
    stop: Arc<AtomicBool>,
}

impl Drop for OpenProject {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The app's project state (managed by Tauri).
#[derive(Default)]
pub struct Projects {
    open: Mutex<Option<OpenProject>>,
}

impl Projects {
    pub fn lock(&self) -> MutexGuard<'_, Option<OpenProject>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Opens the project in `dir` (its `.leapfrog/project.json` when there is one, else a bare TICKETS.md),
/// starts watching its tickets file and makes it the open project.
pub fn open(handle: &AppHandle, dir: &Path) -> Result<ProjectSummary> {
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let file = ProjectFile::load(&dir)?;
    let tickets = dir.join(file.as_ref().map_or("TICKETS.md", |f| f.tickets.as_str()));
    if !tickets.is_file() {
        return Err(format!(
            "{} has no {}; create the project with New project",
            dir.display(),
            tickets.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    let board = Board::open(&tickets).map_err(|e| e.to_string())?;
    let name = file.as_ref().map(|f| f.name.clone()).unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string())
    });
    let summary = ProjectSummary {
        id: file
            .as_ref()
            .and_then(|f| f.id.clone())
            .unwrap_or_else(|| name.clone()),
        name,
        dir: dir.display().to_string(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    start_watch(handle.clone(), tickets, stop.clone())?;
    tracing::info!(project = %summary.name, dir = %summary.dir, "project opened");
    crate::recent::opened(&summary.name, &dir);
    let state = handle.state::<Projects>();
    *state.lock() = Some(OpenProject {
        summary: summary.clone(),
        dir,
        file,
        board,
        stop,
    });
    let _ = handle.emit("project-opened", &summary);
    Ok(summary)
}

/// Watches TICKETS.md: an edit on disk (an agent's, an editor's) reloads the board and sends it to the
/// UI as `board-changed`.
fn start_watch(handle: AppHandle, tickets: PathBuf, stop: Arc<AtomicBool>) -> Result<()> {
    let watcher = watch(&tickets).map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("tickets-watch".into())
        .spawn(move || {
            // Own the whole Watch (a closure would capture only `events` and drop the watcher).
            let watcher = watcher;
            while !stop.load(Ordering::Relaxed) {
                match watcher.events.recv_timeout(Duration::from_millis(250)) {
                    Ok(SyncEvent::Changed { changes, .. }) => {
                        tracing::info!("TICKETS.md changed on disk ({} ticket(s))", changes.len());
                        let state = handle.state::<Projects>();
                        let mut open = state.lock();
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Some(p) = open.as_mut() {
                            match p.board.reload() {
                                Ok(view) => {
                                    let _ = handle.emit("board-changed", &view);
                                }
                                Err(e) => {
                                    tracing::warn!("TICKETS.md changed but cannot be read: {e}")
                                }
                            }
                        }
                    }
                    Ok(SyncEvent::Removed) => tracing::warn!("{} was removed", tickets.display()),
                    Ok(SyncEvent::Error(e)) => tracing::warn!("TICKETS.md: {e}"),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        })
        .map_err(|e| format!("cannot start the TICKETS.md watcher: {e}"))?;
    Ok(())
}

/// The sidebar's list: the projects registered in `store` (by the wizard or `leap demo init`), plus
/// the open one when it is not registered.
///
/// `store` is [`crate::live::Live::with_read_store`]: the service's when one runs (sled locks its
/// files, so an open here would fail then), else the database opened for this call.
pub fn list_projects(
    store: Result<Arc<dyn Store>>,
    open: Option<&ProjectSummary>,
) -> Vec<ProjectSummary> {
    let mut list: Vec<ProjectSummary> =
        match store.and_then(|s| s.projects().map_err(|e| e.to_string())) {
            Ok(projects) => projects
                .into_iter()
                .map(|p| ProjectSummary {
                    id: p.id,
                    name: p.name,
                    dir: p.repo_path.display().to_string(),
                })
                .collect(),
            Err(e) => {
                tracing::debug!("project store unavailable: {e}");
                Vec::new()
            }
        };
    // One entry per folder (the sidebar is keyed by it): a store written by older versions may
    // hold a project under two ids.
    let mut seen = std::collections::HashSet::new();
    list.retain(|p| seen.insert(p.dir.clone()));
    if let Some(open) = open {
        if !list.iter().any(|p| p.dir == open.dir) {
            list.push(open.clone());
        }
    }
    // The most recently opened first (recent.json), the others after them as registered.
    let recent: Vec<String> = leapfrog_engine::store::data_dir()
        .map(|d| crate::recent::load(&d).into_iter().map(|r| r.dir).collect())
        .unwrap_or_default();
    list.sort_by_key(|p| {
        recent
            .iter()
            .position(|d| *d == p.dir)
            .unwrap_or(usize::MAX)
    });
    list
}

#[tauri::command]
pub async fn projects_list(
    state: State<'_, Projects>,
    live: State<'_, crate::live::Live>,
) -> Result<Vec<ProjectSummary>> {
    let open = state.lock().as_ref().map(|p| p.summary.clone());
    Ok(live.with_read_store(|store| list_projects(store, open.as_ref())))
}

#[tauri::command]
pub fn project_current(state: State<'_, Projects>) -> Option<ProjectSummary> {
    state.lock().as_ref().map(|p| p.summary.clone())
}

/// Opens a project (reads its files, starts its run when approved): off the UI thread.
#[tauri::command]
pub async fn project_open(handle: AppHandle, dir: String) -> Result<ProjectSummary> {
    tauri::async_runtime::spawn_blocking(move || open(&handle, Path::new(dir.trim())))
        .await
        .map_err(|e| e.to_string())?
}

/// The native open-folder dialog (the only dialog the app uses); `None` when cancelled.
#[tauri::command]
pub async fn pick_folder(handle: AppHandle) -> Option<String> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = std::sync::mpsc::channel();
    handle
        .dialog()
        .file()
        .set_title("Choose the project's repository folder")
        .pick_folder(move |folder| {
            let _ = tx.send(folder.and_then(|f| f.into_path().ok()));
        });
    tauri::async_runtime::spawn_blocking(move || rx.recv().ok().flatten())
        .await
        .ok()
        .flatten()
        .map(|p| p.display().to_string())
}

/// What setup would do in `dir`: git state, detected CLIs with versions, pattern slots, verify command,
/// TICKETS.md to create or adopt.
#[tauri::command]
pub async fn project_inspect(dir: String) -> Result<SetupPlan> {
    let dir = PathBuf::from(dir.trim());
    tauri::async_runtime::spawn_blocking(move || {
        setup::inspect(&dir, &DetectOptions::default()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Applies the wizard's choices to the plan (pattern, agents, verify, lookahead, sync interval), carries
/// it out (git init if asked, TICKETS.md created or adopted, never overwritten) and opens the project.
pub fn finish_plan(mut plan: SetupPlan, choices: &SetupChoices) -> Result<SetupPlan> {
    if plan.pattern != choices.pattern {
        plan.set_pattern(choices.pattern);
    }
    for (slot, command) in &choices.assignments {
        if !command.trim().is_empty() {
            setup::assign_agent(&mut plan, slot, command).map_err(|e| e.to_string())?;
        }
    }
    if plan.verify.as_deref().unwrap_or("") != choices.verify.trim() {
        plan.set_verify(&choices.verify);
    }
    plan.lookahead = Some(choices.lookahead);
    plan.sync_every = Some(choices.sync_every);
    plan.qa = choices.qa;
    plan.git_init = choices.git_init && !plan.git.is_repo;
    Ok(plan)
}

#[tauri::command]
pub async fn project_finish(
    handle: AppHandle,
    plan: SetupPlan,
    choices: SetupChoices,
) -> Result<ProjectSummary> {
    let plan = finish_plan(plan, &choices)?;
    let dir = plan.dir.clone();
    // The service's store (started when none runs): it holds sled's lock.
    let store = handle.state::<crate::live::Live>().store().ok();
    tauri::async_runtime::spawn_blocking(move || {
        let report = setup::finish(&plan, store.as_deref()).map_err(|e| e.to_string())?;
        tracing::info!(
            "project {} set up: TICKETS.md {:?}, registered: {}",
            report.project.name,
            report.tickets.action,
            report.registered
        );
        // The user chose these commands in the wizard: approve them, so the first run does not ask.
        let commands = leapfrog_engine::trust::ProjectCommands::load(&plan.dir)?;
        leapfrog_engine::trust::TrustFile::default_location()?.approve(&commands)?;
        Ok::<_, String>(())
    })
    .await
    .map_err(|e| e.to_string())??;
    open(&handle, &dir)
}

/// What a `notice` event carries (live.rs): shown as a desktop notification too, when the window is
/// not focused (the UI shows it as a toast and a badge on the pane).
#[derive(Debug, Clone, Deserialize)]
pub struct NoticePayload {
    pub title: String,
    pub body: String,
}

/// Turns every `notice` event into a desktop notification while the window is in the background.
pub fn forward_notices(handle: &AppHandle) {
    use tauri::Listener;
    let app = handle.clone();
    handle.listen("notice", move |event| {
        let Ok(notice) = serde_json::from_str::<NoticePayload>(event.payload()) else {
            return;
        };
        let focused = app
            .get_webview_window("main")
            .and_then(|w| w.is_focused().ok())
            .unwrap_or(false);
        if focused {
            return;
        }
        use tauri_plugin_notification::NotificationExt;
        if let Err(e) = app
            .notification()
            .builder()
            .title(&notice.title)
            .body(&notice.body)
            .show()
        {
            tracing::debug!("desktop notification not shown: {e}");
        }
    });
}

/// What a drop on the window opens: the first folder dropped, else the folder of the first file
/// (a dropped TICKETS.md opens its project).
pub fn dropped_folder(paths: &[PathBuf]) -> Option<PathBuf> {
    paths.iter().find(|p| p.is_dir()).cloned().or_else(|| {
        paths
            .iter()
            .find(|p| p.is_file())
            .and_then(|p| p.parent().map(Path::to_path_buf))
    })
}

/// When a Leapfrog already answers on this user's control socket, hands it `dir` (it opens the
/// folder in its window and comes to the front) and returns its answer: this process then ends.
/// `None` when none runs, or the one that runs cannot open projects (a headless `leap run`).
pub fn pass_to_running(dir: &Path) -> Option<String> {
    use leapfrog_engine::control::{ControlClient, OpenProjectRequest, Request};
    let dir = dir.canonicalize().ok()?;
    let mut client = ControlClient::discover().ok()?;
    client.agent = None;
    let reply = client
        .request(Request::OpenProject(OpenProjectRequest {
            path: dir.clone(),
        }))
        .ok()?;
    Some(if reply.message.is_empty() {
        format!("opened {} in the running Leapfrog", dir.display())
    } else {
        reply.message
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_drop_opens_the_first_folder_or_the_folder_of_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let file = b.join("TICKETS.md");
        std::fs::write(&file, "# T\n").unwrap();
        let gone = tmp.path().join("gone");
        let cases: Vec<(Vec<PathBuf>, Option<PathBuf>)> = vec![
            (vec![a.clone(), b.clone()], Some(a.clone())),
            (vec![file.clone(), a.clone()], Some(a.clone())),
            (vec![file.clone()], Some(b.clone())),
            (vec![gone.clone()], None),
            (vec![], None),
        ];
        for (paths, want) in cases {
            assert_eq!(super::dropped_folder(&paths), want, "{paths:?}");
        }
    }

    use super::*;
    use leapfrog_engine::model::Project;
    use leapfrog_engine::store::SledStore;

    fn summary(id: &str, dir: &str) -> ProjectSummary {
        ProjectSummary {
            id: id.into(),
            name: id.into(),
            dir: dir.into(),
        }
    }

    /// `registered` projects in a real sled store that a running project holds open; `open` is the
    /// project in the window. The list is every registered project, then the open one if new.
    fn check(registered: &[(&str, &str)], open: Option<(&str, &str)>, expect: &[&str]) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db");
        let running: Arc<dyn Store> = Arc::new(SledStore::open(&path).unwrap());
        for (id, dir) in registered {
            running
                .put_project(&Project {
                    id: id.to_string(),
                    name: id.to_string(),
                    repo_path: PathBuf::from(dir),
                    agents: Vec::new(),
                    pattern: Default::default(),
                    lookahead: None,
                    sync_interval: None,
                    verify_command: None,
                })
                .unwrap();
        }
        // What the sidebar did before: a second open of the store fails while the run holds it.
        assert!(SledStore::open(&path).is_err());
        let open = open.map(|(id, dir)| summary(id, dir));
        let got: Vec<String> = list_projects(Ok(running.clone()), open.as_ref())
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn the_sidebar_lists_every_project_while_one_runs() {
        check(
            &[("a", "/p/a"), ("b", "/p/b")],
            Some(("a", "/p/a")),
            &["a", "b"],
        );
        check(&[("a", "/p/a")], Some(("bare", "/p/bare")), &["a", "bare"]);
        check(&[("a", "/p/a"), ("b", "/p/b")], None, &["a", "b"]);
        check(&[], Some(("bare", "/p/bare")), &["bare"]);
        // One folder under two ids (older versions registered a run under a second id): listed
        // once, or the sidebar, keyed by folder, would not render.
        check(
            &[("a", "/p/a"), ("a-1f2e", "/p/a"), ("b", "/p/b")],
            Some(("a", "/p/a")),
            &["a", "b"],
        );
    }

    #[test]
    fn an_unreadable_store_lists_the_open_project() {
        let open = summary("x", "/p/x");
        assert_eq!(
            list_projects(Err("locked".into()), Some(&open)),
            vec![open.clone()]
        );
        assert_eq!(list_projects(Err("locked".into()), None), vec![]);
    }
}
