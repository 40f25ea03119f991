//! Video providers, reached over HTTP with base URLs from configuration (so the local
//! emulator and the real service are interchangeable). [`video`] is the interface and
//! the registry; each provider is one module beside it.

pub mod fal;
pub mod fal_webhook;
pub mod output_url;
pub mod replicate;
pub mod video;
