//! handoff (to be filled in).
