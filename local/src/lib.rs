//! The local stack: every function's routes on one port, against a local AWS endpoint
//! (moto's server mode) and local emulators of the third parties. Never deployed.
//!
//! The tests start it in-process on a free port; `main.rs` starts it for people.

pub mod bench;
pub mod consumers;
pub mod docs;
pub mod dump;
pub mod emulators;
pub mod faults;
pub mod functions;
pub mod hot_path;
pub mod moto;
pub mod openapi;
pub mod provision;
pub mod signing;
pub mod site;
pub mod stack;
pub mod template;

pub use stack::{LocalStack, StackOptions};
