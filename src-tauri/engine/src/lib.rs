//! Leapfrog's engine: every rule of the product, testable without a window.
//!
//! Only the shell (`src-tauri/src`) knows Tauri; this crate never does.

pub mod agents;
pub mod board;
pub mod control;
pub mod handoff;
pub mod model;
pub mod orchestrator;
pub mod project;
pub mod pty;
pub mod scheduler;
pub mod store;
pub mod tickets;
pub mod verify;
