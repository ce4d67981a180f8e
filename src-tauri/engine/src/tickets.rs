//! tickets (to be filled in).
