//! The only place that names hand-written runtime items from generated code (smithy's RuntimeType
//! rule): if the runtime moves something, only this file changes.

/// Schema table types used by the validator.
pub const SCHEMA: &str = "crate::config::schema";
/// The `Diff` trait and `Change` record.
pub const DIFF: &str = "crate::config::diff";
/// Protocol plumbing: `RpcError`.
pub const RPC: &str = "crate::protocol_support";
