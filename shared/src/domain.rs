//! Domain types and rules: plain Rust, no I/O.

pub mod account;
pub mod email;
pub mod ledger;
pub mod sensitive;
pub mod video;
