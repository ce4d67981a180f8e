//! Leapfrog's engine: every rule of the product, testable without a window.
//!
//! Only the shell (`src-tauri/src`) knows Tauri; this crate never does.

/// The engine's version (the workspace's), shown in the app's About dialog.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod agents;
pub mod board;
pub mod context;
pub mod control;
pub mod files;
pub mod git;
pub mod handoff;
pub mod model;
pub mod orchestrator;
pub mod project;
pub mod pty;
pub mod scheduler;
pub mod service;
pub mod store;
pub mod tickets;
pub mod trust;
pub mod verify;
pub mod views;
