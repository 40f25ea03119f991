//! Local emulators of third parties, served under `/_local/*` on the stack's port.

pub mod google;
pub mod mailbox;
