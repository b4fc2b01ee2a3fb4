//! Test fixture: version 1 of a CA plugin that stamps its version into
//! each certificate (see stamp.rs), for the hot reload tests.

const STAMP: &str = "v1";

include!("stamp.rs");
