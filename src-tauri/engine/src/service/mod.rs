//! The engine as a per-user service (`leap serve`): it owns the store, every running project's
//! orchestrator and every agent's pane, so that agents outlive the client that started them.
//!
//! # API
//!
//! ```text
//! Service::start(ServiceOptions) -> Result<Service>   lock, socket (0600) and token file (0600)
//!   .wait()                  until a client asks it to stop, or idle (no run in progress, no
//!                            agent alive, no client) for ServiceOptions::idle, or its socket
//!                            file was removed;
//!                            then stops every run
//! ServiceClient::connect(&ServicePaths) / ::connect_or_start(&paths, leap)   (starts `leap serve`
//!                            detached, in its own session, when none answers); Send + Sync
//!   .open(dir, fresh, trust) -> ProjectEntry    .projects()   .state(p)   .summary(p)
//!   .progress(p) -> RunProgress (the timeline: summary, forecast, now on the run's clock)
//!   .command(p, Command)     .subscribe(p)      .attach(p, agent, scrollback) -> attachment
//!   .detach(a)   .input(a, bytes)   .resync(a) (a fresh screen)   .screen(p, agent)
//!   .incoming() -> IncomingQueue: events, pane bytes (a guard: one reader at a time)
//!   .queued_bytes(a)         pane bytes queued for the consumer (bounded: INCOMING_BOUND)
//!   .trust_review(dir) -> TrustReview   .approve(dir, fingerprint) -> String   (the trust file
//!                            in the service's data dir, the one its runs check)
//! ServiceStore::new(Arc<ServiceClient>)   the service's Store for a client (StoreCall requests)
//! ```
//!
//! # How it works
//!
//! The wire format is [`protocol`]: frames on a Unix socket in the runtime directory, JSON for
//! the small typed messages and raw bytes for the panes (no JSON around terminal bytes). The first
//! message is a hello with the protocol version and the token; a mismatch is refused in words.
//!
//! Each project the service opens gets its own control endpoint (`projects/<hash>/` in the
//! runtime directory, with a `project` file naming the folder), so agents report with `leap
//! complete` as they do to the window, and several projects run at once.
//!
//! **Panes sync by state.** Every agent's pane has a fan-out sink (`fanout`) installed before
//! its agent starts. The fan-out never acks: the orchestrator's loop drains the pane as it does
//! with no window, so no client ever holds a child back. A client that attaches gets a
//! [`protocol::FrameKind::Screen`] frame first: the pane's screen and recent scrollback from the
//! engine's screen mirror, as bytes that draw it again, taken once the mirror has parsed every
//! byte delivered so far; then the pane's output from exactly that byte on. Each client has its
//! own queue; past [`CLIENT_BOUND`] bytes behind, its queued output for the pane is
//! dropped, and once it has caught up it gets a fresh screen instead of the backlog; a client
//! whose own renderer fell behind holds the pane (`hold`) and asks for one (`resync`), or gets
//! one unasked once the pane has been quiet for [`SETTLE_QUIET`]
//! ([`protocol::FrameKind::Settled`]). A [`ServiceClient`] does the same for its own consumer
//! (`leap attach` in a terminal slower than the flood): its reader thread queues at most
//! [`INCOMING_BOUND`] bytes of an attachment's output that the consumer has not taken; past it,
//! it holds the pane and drops its output, and asks for a fresh screen once the consumer is down
//! to [`INCOMING_LOW`] of it. A consumer that catches up by itself, as the window does, turns
//! that off (`consumer_catches_up`). A pane no client is attached to (hidden in the window)
//! sends nothing.
//!
//! **The store** is the service's (sled allows one process): a client reads and writes it with
//! [`protocol::StoreCall`] requests, through [`ServiceStore`], a [`crate::store::Store`].

mod client;
mod fanout;
pub mod protocol;
mod server;
mod store;

use std::path::{Path, PathBuf};

pub use client::{
    Incoming, IncomingQueue, PaneInput, ServiceClient, ServiceError, INCOMING_BOUND, INCOMING_LOW,
};
pub use fanout::{CLIENT_BOUND, SETTLE_QUIET};
pub use protocol::{ProjectEntry, RunSummary, ServiceRequest, StoreCall, PROTOCOL_VERSION};
pub use server::{project_runtime_dir, Service, ServiceOptions};
pub use store::ServiceStore;

/// The file in a project's control folder that names the project's folder.
pub const PROJECT_FILE: &str = "project";

/// Where a service listens and keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePaths {
    pub socket: PathBuf,
    pub token: PathBuf,
    pub lock: PathBuf,
    pub log: PathBuf,
}

impl ServicePaths {
    /// The service's files in a runtime directory.
    pub fn in_dir(runtime_dir: &Path) -> ServicePaths {
        ServicePaths {
            socket: runtime_dir.join("service.sock"),
            token: runtime_dir.join("service.token"),
            lock: runtime_dir.join("service.lock"),
            log: runtime_dir.join("service.log"),
        }
    }

    /// This user's service ([`crate::control::runtime_dir`]).
    pub fn for_user() -> ServicePaths {
        ServicePaths::in_dir(&crate::control::runtime_dir())
    }
}
