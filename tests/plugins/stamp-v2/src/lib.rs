//! Test fixture: version 2 of a CA plugin that stamps its version into
//! each certificate (see stamp.rs), for the hot reload tests.

const STAMP: &str = "v2";

include!("../../stamp-v1/src/stamp.rs");
