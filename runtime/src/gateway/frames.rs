//! Wire frames: decoding what clients send (with OpenClaw's AJV-style messages for malformed
//! frames) and encoding what the gateway sends. Every frame is one JSON object in a text frame.

use serde_json::{Map, Value};

use crate::protocol_support::RpcError;

/// A request frame: `{ type: "req", id, method, params? }` (closed).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: String,
    pub method: String,
    pub params: Value,
}

/// Why a JSON value is not a request frame; `id` is the frame's id when it had a usable one.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    pub id: Option<String>,
    /// AJV-style detail, e.g. `must have required property 'id'` or `at /type: must be equal to constant`.
    pub detail: String,
}

impl FrameError {
    /// `invalid request frame: <detail>` as an `INVALID_REQUEST` error.
    pub fn to_rpc(&self) -> RpcError {
        RpcError::invalid_request(format!("invalid request frame: {}", self.detail))
    }
}

/// The common case, decoded without building a JSON tree: a well-formed request frame borrowed
/// from the message bytes. Anything unusual (a missing or mistyped field, an extra key) returns
/// `None` and goes through [`parse_request`], which words the error as OpenClaw does.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FastRequest<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub method: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    pub params: Option<&'a serde_json::value::RawValue>,
}

/// Tries the fast decoding; `None` means "use the slow path" (or not JSON at all).
pub fn fast_request(bytes: &[u8]) -> Option<FastRequest<'_>> {
    let r: FastRequest<'_> = serde_json::from_slice(bytes).ok()?;
    (r.kind == "req" && !r.id.is_empty() && !r.method.is_empty()).then_some(r)
}

impl FastRequest<'_> {
    /// `true` when there are no params to decode (absent, `null` or `{}`).
    pub fn params_empty(&self) -> bool {
        self.params.is_none_or(|p| {
            let t = p.get().trim();
            t == "null"
                || (t.starts_with('{') && t.ends_with('}') && t[1..t.len() - 1].trim().is_empty())
        })
    }

    /// The params as a JSON value (`null` when absent).
    pub fn params_value(&self) -> Value {
        self.params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null)
    }
}

/// Decodes a request frame from parsed JSON, checking the closed frame schema.
pub fn parse_request(v: Value) -> Result<Request, FrameError> {
    let Value::Object(mut m) = v else {
        return Err(FrameError {
            id: None,
            detail: "must be object".into(),
        });
    };
    let id = match m.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let err = |detail: String| FrameError {
        id: id.clone(),
        detail,
    };
    // Required properties first (AJV reports them before property checks).
    for key in ["type", "id", "method"] {
        if !m.contains_key(key) {
            return Err(err(format!("must have required property '{key}'")));
        }
    }
    match m.get("type") {
        Some(Value::String(t)) if t == "req" => {}
        _ => return Err(err("at /type: must be equal to constant".into())),
    }
    match m.get("id") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::String(_)) => {
            return Err(err("at /id: must NOT have fewer than 1 characters".into()));
        }
        _ => return Err(err("at /id: must be string".into())),
    }
    let method = match m.get("method") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(err(
                "at /method: must NOT have fewer than 1 characters".into()
            ));
        }
        _ => return Err(err("at /method: must be string".into())),
    };
    if let Some(extra) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "id" | "method" | "params"))
    {
        return Err(err(format!(
            "must NOT have additional properties: \"{extra}\""
        )));
    }
    let params = m.remove("params").unwrap_or(Value::Null);
    Ok(Request {
        id: id.unwrap_or_default(),
        method,
        params,
    })
}

/// `{"type":"res","id":…,"ok":true,"payload":…}`.
pub fn response_ok(id: &str, payload: &Value) -> String {
    let mut out = String::with_capacity(64);
    out.push_str("{\"type\":\"res\",\"id\":");
    push_json_str(&mut out, id);
    out.push_str(",\"ok\":true,\"payload\":");
    push_json(&mut out, payload);
    out.push('}');
    out
}

/// `{"type":"res","id":…,"ok":true,"payload":<raw>}` with an already-encoded payload.
pub fn response_raw(id: &str, payload_json: &str) -> String {
    let mut out = String::with_capacity(48 + id.len() + payload_json.len());
    out.push_str("{\"type\":\"res\",\"id\":");
    push_json_str(&mut out, id);
    out.push_str(",\"ok\":true,\"payload\":");
    out.push_str(payload_json);
    out.push('}');
    out
}

/// `{"type":"res","id":…,"ok":false,"error":{code,message,details?,retryable?,retryAfterMs?}}`.
pub fn response_err(id: &str, error: &RpcError) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("{\"type\":\"res\",\"id\":");
    push_json_str(&mut out, id);
    out.push_str(",\"ok\":false,\"error\":");
    match serde_json::to_string(error) {
        Ok(s) => out.push_str(&s),
        Err(_) => out.push_str("{\"code\":\"UNAVAILABLE\",\"message\":\"unencodable error\"}"),
    }
    out.push('}');
    out
}

/// An event frame; `seq` and `state_version` are added when given.
pub fn event(
    name: &str,
    payload: &Value,
    seq: Option<u64>,
    state_version: Option<&Value>,
) -> String {
    let sv = state_version.map(Value::to_string);
    event_raw(name, &payload.to_string(), seq, sv.as_deref())
}

/// [`event`] with the payload and state version already encoded.
pub fn event_raw(
    name: &str,
    payload: &str,
    seq: Option<u64>,
    state_version: Option<&str>,
) -> String {
    let mut out = String::with_capacity(payload.len() + 96);
    out.push_str("{\"type\":\"event\",\"event\":");
    push_json_str(&mut out, name);
    out.push_str(",\"payload\":");
    out.push_str(payload);
    if let Some(seq) = seq {
        out.push_str(",\"seq\":");
        out.push_str(&seq.to_string());
    }
    if let Some(sv) = state_version {
        out.push_str(",\"stateVersion\":");
        out.push_str(sv);
    }
    out.push('}');
    out
}

pub fn push_json(out: &mut String, v: &Value) {
    match serde_json::to_string(v) {
        Ok(s) => out.push_str(&s),
        Err(_) => out.push_str("null"),
    }
}

pub fn push_json_str(out: &mut String, s: &str) {
    // Plain ids (the overwhelming case) need no escaping.
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        push_json(out, &Value::String(s.to_string()));
    }
}

/// Cuts a close reason to the WebSocket limit (123 bytes) on a character boundary.
pub fn close_reason(reason: &str) -> &str {
    if reason.len() <= 123 {
        return reason;
    }
    let mut end = 123;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// A JSON object from pairs, for payloads built by hand.
pub fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_frames_are_checked_like_openclaw() {
        let ok = parse_request(json!({"type":"req","id":"a","method":"health"}));
        assert_eq!(
            ok,
            Ok(Request {
                id: "a".into(),
                method: "health".into(),
                params: Value::Null
            })
        );
        let e = parse_request(json!({"type":"req","method":"health"})).expect_err("an error");
        assert_eq!(e.id, None);
        assert_eq!(e.detail, "must have required property 'id'");
        let e =
            parse_request(json!({"type":"evt","id":"x","method":"health"})).expect_err("an error");
        assert_eq!(e.id.as_deref(), Some("x"));
        assert_eq!(e.detail, "at /type: must be equal to constant");
        let e = parse_request(json!({"type":"req","id":"x"})).expect_err("an error");
        assert_eq!(e.detail, "must have required property 'method'");
        let e = parse_request(json!({"type":"req","id":"x","method":"m","extra":1}))
            .expect_err("an error");
        assert_eq!(e.detail, "must NOT have additional properties: \"extra\"");
        assert!(parse_request(json!([1, 2, 3])).is_err());
        assert!(parse_request(json!({"type":"req","id":"","method":"m"})).is_err());
    }

    #[test]
    fn fast_path_accepts_only_well_formed_requests() {
        let r = fast_request(br#"{"type":"req","id":"a","method":"health","params":{}}"#)
            .expect("fast");
        assert_eq!((r.id.as_ref(), r.method.as_ref()), ("a", "health"));
        assert!(r.params_empty());
        let r = fast_request(br#"{"type":"req","id":"a\"b","method":"m","params":{"x":1}}"#)
            .expect("escaped id");
        assert_eq!(r.id, "a\"b");
        assert!(!r.params_empty());
        assert_eq!(r.params_value(), json!({"x": 1}));
        for slow in [
            &br#"{"type":"req","method":"health"}"#[..],
            br#"{"type":"evt","id":"x","method":"health"}"#,
            br#"{"type":"req","id":"x","method":"m","extra":1}"#,
            br#"{"type":"req","id":"","method":"m"}"#,
            br#"[1,2]"#,
            b"{not json",
        ] {
            assert!(
                fast_request(slow).is_none(),
                "{}",
                String::from_utf8_lossy(slow)
            );
        }
    }

    #[test]
    fn encodes_frames() {
        assert_eq!(
            response_ok("q\"1", &Value::Null),
            r#"{"type":"res","id":"q\"1","ok":true,"payload":null}"#
        );
        let e = RpcError::invalid_request("unknown method: x");
        assert_eq!(
            response_err("1", &e),
            r#"{"type":"res","id":"1","ok":false,"error":{"code":"INVALID_REQUEST","message":"unknown method: x"}}"#
        );
        assert_eq!(
            event("tick", &json!({"ts": 5}), Some(1), None),
            r#"{"type":"event","event":"tick","payload":{"ts":5},"seq":1}"#
        );
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123 && long.starts_with(cut));
    }
}
