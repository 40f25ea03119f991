//! Rules and numbers: plain Rust, no I/O. Imports nothing else of this crate.

pub mod account;
pub mod billing;
pub mod clock;
pub mod crypto;
pub mod email;
pub mod ids;
pub mod inventory;
pub mod ledger;
pub mod models;
pub mod moderation;
pub mod policy;
pub mod privacy;
pub mod retention;
pub mod secret;
pub mod sensitive;
pub mod sharing;
pub mod video;
pub mod webhook_signatures;
