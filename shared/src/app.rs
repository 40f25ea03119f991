//! Use cases that several functions (or a function and the operator's tool) share.
//! Each is a struct of the stores and clients it needs, built by `edge::wiring`, so a
//! function's state holds it without carrying anything else.

pub mod appeals;
pub mod emailed_codes;
pub mod enforcement;
pub mod inputs;
pub mod jobs;
pub mod refusals;
pub mod removal;
pub mod rights_requests;
