//! Third parties behind small interfaces, reached over HTTP with base URLs from
//! configuration (so the local emulators and the real services are interchangeable).

pub mod fal;
pub mod moderation;
pub mod video;
