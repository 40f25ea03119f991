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
pub mod images;
pub mod metrics;
pub mod moto;
pub mod openapi;
pub mod provision;
pub mod raw_aws;
pub mod signing;
pub mod site;
pub mod stack;
pub mod template;

pub use stack::{LocalStack, StackOptions};

/// The one HTTP client of the local stack's emulators, fault proxy and tools, shared
/// by all of them in a process. Building a client loads the platform's root
/// certificates, about 40 ms in a debug build: a stack made five, and every
/// end-to-end test starts one.
pub fn http_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            shared::adapters::outbound::install_crypto();
            reqwest::Client::new()
        })
        .clone()
}
