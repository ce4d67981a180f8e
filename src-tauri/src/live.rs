//! The running project as the window shows it. The project runs in this user's Leapfrog
//! service (`leap serve`, [`leapfrog_engine::service`]), started on demand and detached, so its
//! agents outlive the window: this module is a client of the service, one among others (`leap
//! run`, `leap attach`). When a project with a `.leapfrog/project.json` is opened (the
//! `project-opened` event of `projects.rs`), it is opened in the service (or found running there)
//! over a connection of its own, which carries the run's events and, for each pane the webview
//! shows, the agent's screen and then its live output as raw frames. Those frames go to the same
//! raw-channel [`Delivery`] the login-shell panes use; a pane whose webview falls far behind drops
//! output and gets a fresh screen instead ([`Catchup`]). Engine events go to the UI as
//! `live-event` (typed values, never PTY bytes), to the Logs pane as log lines and, when they need
//! the user, as `notice` events. Those values are built in the engine
//! ([`leapfrog_engine::views`]); this module only carries them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leapfrog_engine::agents::cli_id;
use leapfrog_engine::control::server::{Lobby, ServerConfig};
use leapfrog_engine::control::ControlServer;
use leapfrog_engine::model::Role;
use leapfrog_engine::orchestrator::{is_damaged_run_state, EngineEvent, ProjectConfig, Snapshot};
use leapfrog_engine::service::{
    Incoming, ServiceClient, ServiceError, ServicePaths, ServiceRequest, ServiceStore,
};
use leapfrog_engine::store::{SledStore, Store};
use leapfrog_engine::views::{
    self, agent_title, engine_command, event_view, fresh_notice, main_role, short_command,
    HoldAnswer, HoldReason, LiveAgent, LiveCommand, LiveHeldSync, LiveRun, Notice, NoticeKind,
    ProjectHold,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Listener, Manager, State};
use ts_rs::TS;

use crate::dto::{Cockpit, PaneInfo, PaneSize};
use crate::panes::{check_size, input_bytes, Catchup, Delivery, SharedDelivery, FLOOD_QUIET};
use crate::timeline::TimelineData;
use crate::OutputChannel;

type Result<T> = std::result::Result<T, String>;

/// The whole running project, for the cockpit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LiveState {
    pub project: String,
    pub dir: String,
    /// Bumped when a (new) project starts: the UI re-creates its panes.
    #[ts(type = "number")]
    pub generation: u64,
    /// The agents' panes (ids are the agent ids).
    pub cockpit: Cockpit,
    pub agents: Vec<LiveAgent>,
    pub runs: Vec<LiveRun>,
    pub finished: bool,
    pub held_sync: Option<LiveHeldSync>,
}

/// A running agent's pane: what the webview was sent of it and the service attachment that
/// feeds it while the webview shows it.
struct AgentRoute {
    id: String,
    delivery: SharedDelivery<OutputChannel>,
    catchup: Mutex<Catchup>,
}

/// Which agent each service attachment feeds. Frames can arrive before the attach request's
/// reply names their attachment (the service queues the screen first): they wait in `early`.
#[derive(Default)]
struct Attachments {
    by_agent: BTreeMap<String, u32>,
    by_id: BTreeMap<u32, usize>,
    early: BTreeMap<u32, Vec<Incoming>>,
    /// Detached: their frames still in flight are dropped.
    gone: BTreeSet<u32>,
}

/// The project the window shows, running in the service.
struct Running {
    dir: PathBuf,
    /// How the service names it (its canonical folder).
    key: String,
    name: String,
    /// This run's own connection: its events and pane bytes, in order.
    client: Arc<ServiceClient>,
    agents: Vec<AgentRoute>,
    attachments: Mutex<Attachments>,
    infos: Vec<PaneInfo>,
    /// Each agent's roles (role enforcement: the phases it may take).
    roles: Vec<(String, Vec<String>)>,
    generation: u64,
    /// The window let go of it (another project, exit): the end of its connection is no news.
    released: AtomicBool,
}

/// The running project (managed by Tauri).
#[derive(Default)]
pub struct Live {
    running: Mutex<Option<Arc<Running>>>,
    generation: AtomicU64,
    /// A connection for requests that belong to no run (the store, approvals).
    service: Mutex<Option<Arc<ServiceClient>>>,
    /// Held while the window reads the store itself or starts the service, so that the two
    /// never race for sled's lock.
    store_turn: Mutex<()>,
    /// The control endpoint of the window: `leap start` opens projects in it (see [`serve_lobby`]).
    lobby: Mutex<Option<ControlServer>>,
    /// The open project that does not run, and why.
    hold: Mutex<Option<ProjectHold>>,
}

/// The pane of a live agent, for the pane commands.
pub struct LiveRoute {
    run: Arc<Running>,
    agent: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The service's words for the user: a broken connection means the service is gone.
fn said(e: ServiceError) -> String {
    match e {
        ServiceError::Io(why) => format!("the Leapfrog service stopped ({why})"),
        other => other.to_string(),
    }
}

impl Live {
    /// The window's connection to this user's Leapfrog service, starting the service when none
    /// runs (`leap serve`, detached: it outlives the window).
    fn service(&self) -> Result<Arc<ServiceClient>> {
        let mut slot = lock(&self.service);
        if let Some(c) = slot.as_ref() {
            if c.is_connected() {
                return Ok(c.clone());
            }
        }
        let client = Arc::new(connect_or_start(self)?);
        *slot = Some(client.clone());
        Ok(client)
    }

    /// `f` with the store, for reading: the service's when one runs; otherwise the database
    /// opened here for the call and closed after it (no service starts meanwhile from this
    /// window, so the two never race for sled's lock).
    pub fn with_read_store<T>(&self, f: impl FnOnce(Result<Arc<dyn Store>>) -> T) -> T {
        let _turn = lock(&self.store_turn);
        if let Ok(client) = ServiceClient::connect(&ServicePaths::for_user()) {
            return f(Ok(Arc::new(ServiceStore::new(Arc::new(client)))));
        }
        f(SledStore::open_default()
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| e.to_string()))
    }

    /// The store for writing (the wizard registers a project): always the service's.
    pub fn store(&self) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(ServiceStore::new(self.service()?)))
    }

    fn current(&self) -> Option<Arc<Running>> {
        lock(&self.running).clone()
    }

    /// The live agent `pane_id`, when a project runs and has it.
    pub fn route(&self, pane_id: &str) -> Option<Result<LiveRoute>> {
        let run = self.current()?;
        let agent = run.agents.iter().position(|a| a.id == pane_id)?;
        Some(Ok(LiveRoute { run, agent }))
    }

    /// The running project's state, from the service.
    pub fn state(&self) -> Result<Option<LiveState>> {
        let Some(run) = self.current() else {
            return Ok(None);
        };
        let snap = run.client.state(&run.key).map_err(said)?;
        Ok(Some(state_dto(&run, &snap)))
    }

    /// The live schedule in the timeline's shape (`leap simulate --json`), when a project runs.
    pub fn timeline_data(&self) -> Option<TimelineData> {
        let run = self.current()?;
        let p = run.client.progress(&run.key).ok()?;
        Some(TimelineData {
            forecast_minutes: p.forecast_minutes,
            schedule: p.summary,
            now: Some(p.now_minutes),
            source: crate::timeline::TimelineSource::Live,
            finished: p.finished,
        })
    }
}

/// Connects to the service, starting it when none runs; never while the window reads the
/// store itself.
fn connect_or_start(live: &Live) -> Result<ServiceClient> {
    let _turn = lock(&live.store_turn);
    ServiceClient::connect_or_start(&ServicePaths::for_user(), Path::new(&leap_program()))
        .map_err(|e| e.to_string())
}

/// `leap` next to the running `leapfrog`, else `leap` on PATH.
pub fn leap_program() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("leap")))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "leap".into())
}

/// `leap start DIR` reaches the window: opens DIR here.
fn open_here(handle: &AppHandle, path: PathBuf) -> Result<String> {
    let opened = crate::projects::open(handle, &path)
        .map(|p| format!("opened {} in the running Leapfrog", p.dir))?;
    // The user asked for this window (`leap start`, a second launch): bring it to the front.
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    Ok(opened)
}

/// The window serves a [`Lobby`] on the well-known control socket for as long as it is open, so
/// `leap start` opens projects in it instead of starting a second app. (Agents report to their
/// project's own endpoint in the service.)
pub fn serve_lobby(handle: &AppHandle) {
    let live = handle.state::<Live>();
    let mut lobby = lock(&live.lobby);
    if lobby.is_some() {
        return;
    }
    let h = handle.clone();
    match ControlServer::start(
        ServerConfig::default_location(),
        Arc::new(Lobby::new(move |path| open_here(&h, path))),
    ) {
        Ok(server) => *lobby = Some(server),
        Err(e) => tracing::warn!("leap start cannot reach this window: {e}"),
    }
}

fn close_lobby(live: &Live) {
    let server = lock(&live.lobby).take();
    if let Some(server) = server {
        server.shutdown();
    }
}

/// Shows the project in `dir`, running in the Leapfrog service (started when none runs; the
/// project is opened there, or found running). A folder without `.leapfrog/project.json` keeps
/// the login-shell cockpit. A project that cannot run yet (its commands not approved, its run
/// state damaged, an error) is held: [`project_hold`] says why and [`project_hold_answer`] goes
/// on.
pub fn start(handle: &AppHandle, dir: &Path) -> Result<()> {
    start_with(handle, dir, false)
}

fn start_with(handle: &AppHandle, dir: &Path, fresh: bool) -> Result<()> {
    let live = handle.state::<Live>();
    let result = start_project(handle, dir, fresh);
    let hold = match &result {
        Ok(hold) => hold.clone(),
        Err(e) => Some(held(dir, HoldReason::Failed, e.clone())),
    };
    *lock(&live.hold) = hold;
    let _ = handle.emit("live-changed", 0);
    result.map(|_| ())
}

fn held(dir: &Path, reason: HoldReason, message: String) -> ProjectHold {
    let name = ProjectConfig::load_checked(dir)
        .map(|c| c.name_or_folder(dir))
        .unwrap_or_else(|_| {
            dir.file_name().map_or(dir.display().to_string(), |n| {
                n.to_string_lossy().into_owned()
            })
        });
    ProjectHold {
        dir: dir.display().to_string(),
        name,
        reason,
        message,
    }
}

/// Runs the project in the service and shows it, or says why it is held (`Ok(Some(hold))`).
fn start_project(handle: &AppHandle, dir: &Path, fresh: bool) -> Result<Option<ProjectHold>> {
    let began = Instant::now();
    let live = handle.state::<Live>();
    if let Some(run) = live.current() {
        if run.dir == dir && !fresh {
            return Ok(None);
        }
    }
    // The window shows one project: it lets go of the one it showed (which runs on in the
    // service).
    release_running(&live);
    let _ = handle.emit("live-changed", 0);
    if !leapfrog_engine::orchestrator::config::config_path(dir).is_file() {
        // Not a Leapfrog project (yet): the cockpit keeps its login shells.
        return Ok(None);
    }
    let config = ProjectConfig::load_checked(dir)?;
    // This run's own connection: its events and pane bytes arrive on it in order.
    let client = Arc::new(connect_or_start(&live)?);
    // Each pane's `Catchup` holds it and asks for its screens (with or without scrollback).
    client.consumer_catches_up();
    // Opening a folder runs nothing its user has not approved on this machine.
    let review = client.trust_review(dir).map_err(said)?;
    if !review.approved {
        let message = review.refusal();
        tracing::info!("{message}");
        return Ok(Some(held(dir, HoldReason::Trust { review }, message)));
    }
    let entry = match client.open(dir, fresh, false) {
        Ok(e) => e,
        Err(ServiceError::Failed(e)) if is_damaged_run_state(&e) => {
            return Ok(Some(held(dir, HoldReason::DamagedRunState, e)))
        }
        Err(e) => return Err(said(e)),
    };
    let mut agents = Vec::new();
    let mut infos = Vec::new();
    for profile in &config.agents {
        let command = profile
            .command
            .clone()
            .unwrap_or_else(|| cli_id(profile.cli).to_string());
        infos.push(PaneInfo {
            id: profile.id.clone(),
            title: agent_title(profile),
            role: main_role(profile)
                .map_or("build", |r| r.as_str())
                .to_string(),
            program: short_command(&command),
            agent_command: command,
        });
        agents.push(AgentRoute {
            id: profile.id.clone(),
            delivery: Arc::new(Mutex::new(Delivery::default())),
            catchup: Mutex::new(Catchup::default()),
        });
    }
    client.subscribe(&entry.project).map_err(said)?;
    let generation = live.generation.fetch_add(1, Ordering::Relaxed) + 1;
    let run = Arc::new(Running {
        dir: dir.to_path_buf(),
        key: entry.project.clone(),
        name: config.name_or_folder(dir),
        client,
        agents,
        attachments: Mutex::new(Attachments::default()),
        infos,
        roles: config
            .agents
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    a.roles
                        .iter()
                        .map(|r: &Role| r.as_str().to_string())
                        .collect(),
                )
            })
            .collect(),
        generation,
        released: AtomicBool::new(false),
    });
    *lock(&live.running) = Some(run.clone());
    receive(handle.clone(), run.clone())?;
    tracing::info!(
        "{} shown: running in the Leapfrog service (pid {}), {} agents, in {} ms",
        run.name,
        run.client.pid,
        run.agents.len(),
        began.elapsed().as_millis()
    );
    let _ = handle.emit("live-changed", generation);
    Ok(None)
}

/// Serves `leap start` and shows the projects the app opens.
pub fn install(handle: &AppHandle) {
    handle.manage(Live::default());
    serve_lobby(handle);
    let h = handle.clone();
    handle.listen_any("project-opened", move |event| {
        #[derive(Deserialize)]
        struct Opened {
            dir: PathBuf,
        }
        let Ok(opened) = serde_json::from_str::<Opened>(event.payload()) else {
            return;
        };
        let h = h.clone();
        // Off the event thread: it may start the service, which starts agents.
        std::thread::spawn(move || {
            if let Err(e) = start(&h, &opened.dir) {
                tracing::warn!("{}: not started: {e}", opened.dir.display());
            }
        });
    });
}

/// The window closes: its project runs on in the service, every agent working.
pub fn stop(handle: &AppHandle) {
    if let Some(live) = handle.try_state::<Live>() {
        release_running(&live);
        close_lobby(&live);
    }
}

fn release_running(live: &Live) {
    let old = lock(&live.running).take();
    if let Some(run) = old {
        run.released.store(true, Ordering::SeqCst);
        tracing::info!(project = %run.name, "the window let go of the project; it runs on in the Leapfrog service");
        // Hanging up ends its subscription and attachments (dropping the last handle closes it).
        run.client.hang_up();
    }
}

/// Reads the run's connection: events to the UI (as `live-event`, `notice` and log lines), pane
/// bytes to their panes. When the service goes away the window says so and starts it again; the
/// new service reconciles the run from the store.
fn receive(handle: AppHandle, run: Arc<Running>) -> Result<()> {
    std::thread::Builder::new()
        .name("live-service".into())
        .spawn(move || {
            let mut asking = BTreeSet::new();
            loop {
                let next = run.client.next_incoming();
                match next {
                    Incoming::Event { event, .. } => forward_event(&handle, &mut asking, &event),
                    Incoming::Output { attachment, .. } | Incoming::Screen { attachment, .. } => {
                        pane_bytes(&run, attachment, next)
                    }
                    Incoming::Closed => break,
                }
            }
            if run.released.load(Ordering::SeqCst) {
                return;
            }
            tracing::warn!(project = %run.name, "the Leapfrog service stopped");
            let _ = handle.emit(
                "notice",
                Notice {
                    kind: NoticeKind::ServiceStopped,
                    title: "The Leapfrog service stopped".into(),
                    body: format!("starting it again; {} picks up where it was", run.name),
                    pane: None,
                },
            );
            let live = handle.state::<Live>();
            let still_shown = live.current().is_some_and(|r| Arc::ptr_eq(&r, &run));
            if still_shown {
                release_running(&live);
                if let Err(e) = start(&handle, &run.dir) {
                    tracing::warn!("{}: not restarted: {e}", run.dir.display());
                }
            }
        })
        .map_err(|e| format!("cannot start the service reader: {e}"))?;
    Ok(())
}

fn forward_event(handle: &AppHandle, asking: &mut BTreeSet<String>, event: &EngineEvent) {
    if let Some(notice) = fresh_notice(asking, event) {
        let _ = handle.emit("notice", notice);
    }
    let dto = event_view(event);
    match event {
        EngineEvent::Log { source, line } => {
            tracing::info!(target: "leapfrog::run", "{source}: {line}")
        }
        _ => tracing::info!(target: "leapfrog::run", "{}", dto.text),
    }
    let _ = handle.emit("live-event", dto);
}

/// Output or a screen of an attachment, to its pane: dropped while the webview is far behind
/// ([`Catchup`]).
fn pane_bytes(run: &Arc<Running>, attachment: u32, incoming: Incoming) {
    let mut a = lock(&run.attachments);
    let Some(&agent) = a.by_id.get(&attachment) else {
        if !a.gone.contains(&attachment) {
            a.early.entry(attachment).or_default().push(incoming);
        }
        return;
    };
    drop(a);
    deliver(run, agent, incoming);
}

fn deliver(run: &Arc<Running>, agent: usize, incoming: Incoming) {
    let route = &run.agents[agent];
    let mut delivery = lock(&route.delivery);
    let mut catchup = lock(&route.catchup);
    match incoming {
        Incoming::Screen {
            attachment,
            bytes,
            settled,
        } => {
            // A screen of the service's accord ends the hold (the pane's output stopped): the
            // flood's end, drawn without waiting for the next screen's turn.
            if settled {
                catchup.settled(Instant::now());
            } else {
                catchup.screen(Instant::now());
            }
            delivery.screen(bytes);
            if catchup.is_flooded() {
                check_flood_over(run, agent, attachment, catchup.falls());
            }
        }
        Incoming::Output { attachment, bytes } => {
            if catchup.fell_behind(delivery.output_backlog(), bytes.len(), Instant::now()) {
                // The service stops sending it (no copy through the socket, no work here) until
                // the webview has caught up and asks for a fresh screen: sent before that ask
                // can be (the ask needs this catchup's lock), without waiting for the reply.
                if let Err(e) = run.client.hold(attachment) {
                    tracing::debug!("hold: {e}");
                }
                // One frame alone can be past the bound (a paused reader's backlog goes out in
                // one): with nothing left to render, no ack would come to ask for the screen.
                if let Some(wait) = catchup.acked(delivery.backlog(), Instant::now()) {
                    ask_owed_screen(run, agent, attachment, wait, catchup.with_scrollback());
                }
            }
            if !catchup.is_behind() {
                delivery.frame(bytes);
            }
        }
        _ => {}
    }
}

fn state_dto(run: &Running, snap: &Snapshot) -> LiveState {
    LiveState {
        project: run.name.clone(),
        dir: run.dir.display().to_string(),
        generation: run.generation,
        cockpit: Cockpit {
            panes: run.infos.clone(),
            workdir: run.dir.display().to_string(),
            bench: false,
            gpu: crate::has_gpu(),
        },
        agents: views::agents_view(snap, &run.roles),
        runs: views::runs_view(snap),
        finished: snap.finished,
        held_sync: views::held_sync_view(snap),
    }
}

/// The running project, or `None` (the cockpit shows login shells).
#[tauri::command]
pub async fn live_state(live: State<'_, Live>) -> Result<Option<LiveState>> {
    live.state()
}

/// The open project that does not run, and why; `None` when it runs or none is open.
#[tauri::command]
pub fn project_hold(live: State<'_, Live>) -> Option<ProjectHold> {
    lock(&live.hold).clone()
}

/// Goes on from a [`ProjectHold`]: approve the commands shown and run, start fresh, or retry.
/// Answers a line; the cockpit follows `live-changed`.
#[tauri::command]
pub async fn project_hold_answer(handle: AppHandle, answer: HoldAnswer) -> Result<String> {
    let hold = project_hold(handle.state::<Live>())
        .ok_or_else(|| "no project is waiting for an answer".to_string())?;
    let dir = PathBuf::from(&hold.dir);
    tauri::async_runtime::spawn_blocking(move || answer_hold(&handle, &dir, answer))
        .await
        .map_err(|e| e.to_string())?
}

fn answer_hold(handle: &AppHandle, dir: &Path, answer: HoldAnswer) -> Result<String> {
    let fresh = match answer {
        HoldAnswer::Approve { fingerprint } => {
            let live = handle.state::<Live>();
            // The service approves what the user saw, never what the folder says after it
            // changed (then it refuses, and the hold shows the commands again).
            if let Err(e) = live.service()?.approve(dir, &fingerprint) {
                start_with(handle, dir, false)?;
                return Err(said(e));
            }
            tracing::info!(target: "leapfrog::run", "user approved the commands of {}", dir.display());
            false
        }
        HoldAnswer::StartFresh => true,
        HoldAnswer::Retry => false,
    };
    start_with(handle, dir, fresh)?;
    let hold = project_hold(handle.state::<Live>());
    Ok(match hold {
        Some(h) => h.message,
        None if fresh => "started a fresh run (the damaged state file is kept beside it)".into(),
        None => "running".into(),
    })
}

/// A control of the cockpit: verify, pause/resume/restart an agent, retry or mark complete a phase.
#[tauri::command]
pub async fn live_command(live: State<'_, Live>, command: LiveCommand) -> Result<String> {
    let run = live
        .current()
        .ok_or_else(|| "no project is running".to_string())?;
    let ids: Vec<&str> = run.agents.iter().map(|a| a.id.as_str()).collect();
    let cmd = engine_command(command, &ids)?;
    tracing::info!(target: "leapfrog::run", "user: {cmd:?}");
    tauri::async_runtime::spawn_blocking(move || run.client.command(&run.key, cmd).map_err(said))
        .await
        .map_err(|e| e.to_string())?
}

/// Stops the shown project's run in the service: its agents are hung up and its state saved.
/// The project stays open, held as stopped, with the way to run it again.
#[tauri::command]
pub async fn live_stop(handle: AppHandle) -> Result<String> {
    tauri::async_runtime::spawn_blocking(move || stop_run(&handle))
        .await
        .map_err(|e| e.to_string())?
}

fn stop_run(handle: &AppHandle) -> Result<String> {
    let live = handle.state::<Live>();
    let run = live
        .current()
        .ok_or_else(|| "no project is running".to_string())?;
    run.client
        .request(ServiceRequest::Stop {
            project: run.key.clone(),
        })
        .map_err(said)?;
    tracing::info!(target: "leapfrog::run", "user stopped the run of {}", run.name);
    release_running(&live);
    let message =
        "stopped: its agents were hung up and its state saved; Run again picks it up".to_string();
    *lock(&live.hold) = Some(held(&run.dir, HoldReason::Stopped, message.clone()));
    let _ = handle.emit("live-changed", 0);
    Ok(message)
}

// ---- the pane commands for a live agent (called from commands.rs) ----

/// How many lines above the screen a (re)attaching pane gets. It attaches with its screen alone,
/// which paints at once, then asks for this once the screen is drawn ([`Catchup::screen_first`]):
/// eight panes with 1 000 lines each painted 670–840 ms after `leap start` when each came with its
/// scrollback, and 354–456 ms this way, their scrollback in place at 507–840 ms
/// (`app_attach_bench`).
const ATTACH_SCROLLBACK: usize = leapfrog_engine::orchestrator::AGENT_SCROLLBACK;

impl LiveRoute {
    fn route(&self) -> &AgentRoute {
        &self.run.agents[self.agent]
    }

    fn attachment(&self) -> Option<u32> {
        lock(&self.run.attachments)
            .by_agent
            .get(&self.route().id)
            .copied()
    }
}

/// The webview shows the pane (first, or again after a reload): it is sized, then attached to
/// the service afresh, so it gets the agent's screen and scrollback, then its live output.
pub fn attach(r: LiveRoute, size: PaneSize, output: OutputChannel) -> Result<()> {
    let began = Instant::now();
    check_size(size.cols, size.rows)?;
    let (run, route) = (&r.run, r.route());
    resize_in_service(&r, size)?;
    let old = lock(&run.attachments).by_agent.remove(&route.id);
    if let Some(old) = old {
        let mut a = lock(&run.attachments);
        a.by_id.remove(&old);
        a.gone.insert(old);
        drop(a);
        let _ = run.client.detach(old);
    }
    {
        // What the old page was sent is moot: the new one starts from a screen.
        let mut d = lock(&route.delivery);
        *d = Delivery::default();
        d.attach(output);
        *lock(&route.catchup) = Catchup::screen_first();
    }
    let id = run.client.attach(&run.key, &route.id, 0).map_err(said)?;
    // The frames that came before the reply (the screen first) are delivered before any frame
    // after it: the reader finds the attachment only once this lock is released.
    let mut a = lock(&run.attachments);
    a.by_agent.insert(route.id.clone(), id);
    a.by_id.insert(id, r.agent);
    for incoming in a.early.remove(&id).unwrap_or_default() {
        deliver(run, r.agent, incoming);
    }
    drop(a);
    tracing::debug!(
        "pane {} attached to the service in {} ms",
        route.id,
        began.elapsed().as_millis()
    );
    Ok(())
}

pub fn write(r: LiveRoute, data: &str, binary: bool) -> Result<()> {
    let bytes = input_bytes(data, binary)?;
    let id = r
        .attachment()
        .ok_or_else(|| format!("{}'s pane is not shown yet", r.route().id))?;
    r.run.client.input(id, &bytes).map_err(said)
}

pub fn resize(r: LiveRoute, size: PaneSize) -> Result<()> {
    check_size(size.cols, size.rows)?;
    resize_in_service(&r, size)
}

fn resize_in_service(r: &LiveRoute, size: PaneSize) -> Result<()> {
    match r
        .run
        .client
        .resize(&r.run.key, &r.route().id, size.rows, size.cols)
    {
        Ok(()) => Ok(()),
        // An agent not started yet (or exited) takes the size when its pane starts.
        Err(ServiceError::Failed(e)) => {
            tracing::debug!("resize: {e}");
            Ok(())
        }
        Err(e) => Err(said(e)),
    }
}

/// The webview rendered `bytes` more: once a pane that fell behind has caught up, a fresh
/// screen is asked for (no sooner than `SCREEN_INTERVAL` after the last one).
pub fn ack(r: LiveRoute, bytes: u32) -> Result<()> {
    let route = r.route();
    let resync = {
        let mut d = lock(&route.delivery);
        // A page's late ack (its pane was re-created) can exceed what the current page was
        // sent: not an error here.
        if let Err(e) = d.ack(u64::from(bytes)) {
            tracing::debug!("late ack: {e}");
        }
        let mut catchup = lock(&route.catchup);
        catchup
            .acked(d.backlog(), Instant::now())
            .map(|wait| (wait, catchup.with_scrollback()))
    };
    if let Some((wait, scrollback)) = resync {
        if let Some(id) = r.attachment() {
            ask_owed_screen(&r.run, r.agent, id, wait, scrollback);
        }
    }
    Ok(())
}

/// Asks for the fresh screen [`Catchup::acked`] said to ask for: now, or after `wait` if the
/// pane's catch-up still owes it then ([`Catchup::owed_screen`]: a screen that came meanwhile,
/// the service's settled one, may have made it moot).
fn ask_owed_screen(
    run: &Arc<Running>,
    agent: usize,
    attachment: u32,
    wait: Duration,
    scrollback: bool,
) {
    if wait.is_zero() {
        ask_screen(&run.client, attachment, scrollback);
        return;
    }
    let run = run.clone();
    std::thread::spawn(move || {
        std::thread::sleep(wait);
        let owed = lock(&run.agents[agent].catchup).owed_screen();
        if let Some(scrollback) = owed {
            ask_screen(&run.client, attachment, scrollback);
        }
    });
}

/// Asks the service for a fresh screen of `attachment`, with its scrollback or alone (the
/// attachment keeps the choice for the screens after), off the calling thread (the reply comes
/// through the connection's reader thread, which may be the caller).
fn ask_screen(client: &Arc<ServiceClient>, attachment: u32, scrollback: bool) {
    let client = client.clone();
    let lines = if scrollback { ATTACH_SCROLLBACK } else { 0 };
    std::thread::spawn(move || {
        if let Err(e) = client.resync_with_scrollback(attachment, lines) {
            tracing::debug!("resync: {e}");
        }
    });
}

/// A flooded pane's screen arrived (after `falls` falls behind): [`FLOOD_QUIET`] later, if it has
/// not fallen behind since, the flood is over and its screen with the scrollback is asked for.
fn check_flood_over(run: &Arc<Running>, agent: usize, attachment: u32, falls: u64) {
    let run = run.clone();
    std::thread::spawn(move || {
        std::thread::sleep(FLOOD_QUIET);
        let over = lock(&run.agents[agent].catchup).flood_over(falls);
        if over {
            ask_screen(&run.client, attachment, true);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use leapfrog_engine::views::{LiveEvent, LiveWorktree};

    /// The TypeScript declarations in `ui/src/lib/bindings/` match these types (rewrite them with
    /// `UPDATE_BINDINGS=1 cargo test -p leapfrog --lib live_bindings_are_fresh`).
    #[test]
    fn live_bindings_are_fresh() {
        fn one<T: TS + 'static>(name: &'static str) -> (&'static str, String) {
            (name, T::export_to_string().expect("ts-rs renders the type"))
        }
        let dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings");
        let update = std::env::var_os("UPDATE_BINDINGS").is_some();
        let mut stale = Vec::new();
        for (name, text) in [
            one::<LiveAgent>("LiveAgent"),
            one::<LiveWorktree>("LiveWorktree"),
            one::<LiveHeldSync>("LiveHeldSync"),
            one::<LiveRun>("LiveRun"),
            one::<LiveState>("LiveState"),
            one::<LiveCommand>("LiveCommand"),
            one::<LiveEvent>("LiveEvent"),
            one::<ProjectHold>("ProjectHold"),
            one::<HoldReason>("HoldReason"),
            one::<HoldAnswer>("HoldAnswer"),
        ] {
            let path = dir.join(format!("{name}.ts"));
            if std::fs::read_to_string(&path).unwrap_or_default() != text {
                if update {
                    std::fs::write(&path, &text).unwrap();
                } else {
                    stale.push(name);
                }
            }
        }
        assert!(
            stale.is_empty(),
            "stale bindings {stale:?}: run with UPDATE_BINDINGS=1"
        );
    }
}
