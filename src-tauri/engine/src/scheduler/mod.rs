//! The pipeline scheduler (contract: `shared/design/pipeline.md`).
//!
//! DOC-PLACEHOLDER

pub mod bound;
mod core;
pub mod estimate;
pub mod plan;
pub mod sim;
pub mod workload;

pub use self::bound::lower_bound;
pub use self::core::{
    validate_plan, Effect, Event, Minutes, PhaseId, PhaseKind, PlanError, Scheduler,
};
pub use self::plan::{
    preset_agents, AgentSpec, BatchSpec, Estimates, Plan, PreambleSpec, PriorityRule,
};
pub use self::sim::{simulate, SimOptions, SimOutput};
pub use self::workload::{Workload, WorkloadError};
