//! Identity providers behind small interfaces, so another is one new module.

pub mod google;
