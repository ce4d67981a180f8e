//! scheduler (to be filled in).
