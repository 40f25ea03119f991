//! Steps that several functions share. Each names what it needs as a small trait, so a
//! function's state provides it without carrying anything else.

pub mod codes;
pub mod enforcement;
pub mod jobs;
pub mod requests;
