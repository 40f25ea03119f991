//! Local emulators of third parties, served under `/_local/*` on the stack's port.

pub mod creem;
pub mod creem_checkout;
pub mod fal;
pub mod google;
pub mod mailbox;
pub mod outage;
pub mod replicate;
