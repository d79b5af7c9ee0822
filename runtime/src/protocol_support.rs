//! Hand-written pieces the generated protocol code calls: the wire error and params decoding.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::generated::protocol::ErrorCode;

/// An error answered on the wire as `{ code, message, details?, retryable?, retryAfterMs? }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    #[serde(rename = "retryAfterMs", skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl RpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            details: None,
            retryable: None,
            retry_after_ms: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> RpcError {
        RpcError::new(ErrorCode::InvalidRequest, message)
    }

    pub fn with_details(mut self, details: serde_json::Value) -> RpcError {
        self.details = Some(details);
        self
    }

    /// `connect` after the handshake.
    pub fn connect_not_first() -> RpcError {
        RpcError::invalid_request("connect is only valid as the first request")
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// Decodes a method's params; a missing `params` is an empty object. The message names the field.
pub fn parse_params<T: DeserializeOwned>(
    method: &str,
    params: serde_json::Value,
) -> Result<T, RpcError> {
    let params = if params.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        params
    };
    serde_json::from_value(params).map_err(|e| {
        RpcError::invalid_request(format!(
            "invalid {method} params: {}",
            ajv_words(&e.to_string())
        ))
    })
}

/// serde's messages in the AJV wording OpenClaw clients see (`at root: unexpected property 'x'`,
/// `must have required property 'x'`); anything else is kept as serde says it.
fn ajv_words(serde: &str) -> String {
    let quoted = |s: &str| -> Option<String> {
        let a = s.find('`')?;
        let b = s[a + 1..].find('`')?;
        Some(s[a + 1..a + 1 + b].to_string())
    };
    if serde.starts_with("unknown field")
        && let Some(f) = quoted(serde)
    {
        return format!("at root: unexpected property '{f}'");
    }
    if serde.starts_with("missing field")
        && let Some(f) = quoted(serde)
    {
        return format!("must have required property '{f}'");
    }
    if serde.starts_with("invalid type: ") || serde.starts_with("invalid value: ") {
        // e.g. "invalid type: string \"x\", expected u64": the field is not named by serde here.
        if let Some((_, expected)) = serde.rsplit_once("expected ") {
            let t = match expected {
                e if e.contains("u64") || e.contains("i64") || e.contains("integer") => "integer",
                e if e.contains("bool") => "boolean",
                e if e.contains("string") => "string",
                e if e.contains("sequence") => "array",
                e if e.contains("map") || e.contains("struct") => "object",
                e => e,
            };
            return format!("must be {t} ({serde})");
        }
    }
    serde.to_string()
}

/// Encodes a handler's result.
pub fn to_payload<T: Serialize>(value: T) -> Result<serde_json::Value, RpcError> {
    serde_json::to_value(value)
        .map_err(|e| RpcError::new(ErrorCode::Unavailable, format!("cannot encode result: {e}")))
}
