//! Config machinery and the gateway runtime of openclaw-rs.
//!
//! Most types here are generated from `spec/` by `openclaw-codegen` (see `build.rs`) and reach the
//! crate through [`generated`]; the hand-written code around them loads, validates, resolves and
//! diffs configs.

pub mod config;
pub mod gateway;
pub mod generated;
pub mod protocol_support;
