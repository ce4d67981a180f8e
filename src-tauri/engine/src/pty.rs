//! pty (to be filled in).
