//! The gateway's implementation of the generated [`Handler`] trait: one method per RPC.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::Gateway;
use super::logfile;
use super::state::{agent_summaries, heartbeat_ms, now_ms};
use crate::generated::protocol::*;
use crate::protocol_support::RpcError;

/// A request's view of the gateway.
#[derive(Debug, Clone)]
pub struct Handlers {
    g: Gateway,
    conn_id: std::sync::Arc<str>,
    /// `deviceId|clientIp` of the caller (config writes are rate-limited by it).
    writer_key: std::sync::Arc<str>,
}

impl Handlers {
    pub fn new(g: Gateway, conn_id: std::sync::Arc<str>) -> Handlers {
        Handlers {
            g,
            writer_key: conn_id.clone(),
            conn_id,
        }
    }

    pub fn with_writer_key(mut self, key: std::sync::Arc<str>) -> Handlers {
        self.writer_key = key;
        self
    }
}

fn unavailable(msg: impl Into<String>) -> RpcError {
    RpcError::new(ErrorCode::Unavailable, msg)
}

/// The config JSON Schema as a value (parsed once).
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(crate::generated::CONFIG_SCHEMA_JSON).unwrap_or(Value::Null)
    })
}

/// UI hints: the doc of every declared config key, by dotted path.
fn ui_hints() -> &'static Value {
    static HINTS: OnceLock<Value> = OnceLock::new();
    HINTS.get_or_init(|| {
        let mut m = Map::new();
        for k in crate::generated::config::KEYS {
            let node = crate::config::schema::node(k.node);
            let mut hint = Map::new();
            if let Some(doc) = node.doc {
                hint.insert("help".into(), json!(doc));
            }
            if k.secret || node.secret {
                hint.insert("sensitive".into(), json!(true));
            }
            if !hint.is_empty() {
                m.insert(k.path.to_string(), Value::Object(hint));
            }
        }
        Value::Object(m)
    })
}

/// The schema node at a dotted path (`a.b`, `a.*`, `a[]`), following `$ref`s and `properties`,
/// `additionalProperties` and `items`.
fn schema_at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = root;
    for seg in path.split('.').flat_map(split_brackets) {
        node = deref(root, node);
        node = if seg == "[]"
            || seg.chars().all(|c| c.is_ascii_digit()) && node.get("items").is_some()
        {
            node.get("items")?
        } else if let Some(p) = node.get("properties").and_then(|p| p.get(seg)) {
            p
        } else if seg == "*"
            || node
                .get("additionalProperties")
                .is_some_and(Value::is_object)
        {
            node.get("additionalProperties").filter(|v| v.is_object())?
        } else {
            return None;
        };
    }
    Some(deref(root, node))
}

fn split_brackets(seg: &str) -> Vec<&str> {
    match seg.find('[') {
        Some(0) => vec!["[]"],
        Some(i) => vec![&seg[..i], "[]"],
        None => vec![seg],
    }
}

fn deref<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(r) = node.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(p) = r.strip_prefix('#') else { break };
        match root.pointer(p) {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

impl Handler for Handlers {
    async fn health(&self, params: HealthParams) -> Result<HealthResult, RpcError> {
        if params.probe == Some(true) {
            return Ok(serde_json::from_str(&self.g.refresh_health()).unwrap_or(Value::Null));
        }
        Ok(self.g.health())
    }

    async fn status(&self, _params: StatusParams) -> Result<StatusResult, RpcError> {
        let config = self.g.config();
        let s = self.g.settings();
        let agents: Vec<Value> = agent_summaries(&config)
            .into_iter()
            .map(|a| {
                let every = heartbeat_ms(&config);
                json!({ "agentId": a["agentId"], "enabled": false, "every": a["heartbeat"]["every"], "everyMs": every })
            })
            .collect();
        Ok(json!({
            "runtimeVersion": super::SERVER_VERSION,
            "buildId": super::BUILD_ID,
            "uptimeMs": self.g.uptime_ms(),
            "startedAtMs": self.g.started_ms(),
            "gateway": {
                "port": s.port,
                "bind": s.bind,
                "authMode": s.auth.effective_mode().as_str(),
                "configPath": config.path.display().to_string(),
                "configValid": config.valid,
                "stateDir": s.state_dir.display().to_string(),
            },
            "connections": self.g.connection_count(),
            "presenceCount": self.g.presence().len(),
            "heartbeat": {
                "defaultAgentId": agents.first().map(|a| a["agentId"].clone()).unwrap_or(json!("main")),
                "agents": agents,
            },
            "channelSummary": [],
            "queuedSystemEvents": self.g.system_events(),
        }))
    }

    async fn system_presence(
        &self,
        _params: SystemPresenceParams,
    ) -> Result<SystemPresenceResult, RpcError> {
        Ok(self.g.presence())
    }

    async fn system_event(&self, p: SystemEventParams) -> Result<SystemEventResult, RpcError> {
        let text = p.text.trim().to_string();
        if text.is_empty() {
            return Err(RpcError::invalid_request(
                "invalid system-event params: at /text: must NOT have fewer than 1 characters",
            ));
        }
        let ts = now_ms();
        let mut entry = Map::new();
        let fields: [(&str, Option<Value>); 11] = [
            ("host", p.host.map(Value::from)),
            ("ip", p.ip.map(Value::from)),
            ("mode", p.mode.map(Value::from)),
            ("version", p.version.map(Value::from)),
            ("platform", p.platform.map(Value::from)),
            ("deviceFamily", p.device_family.map(Value::from)),
            ("modelIdentifier", p.model_identifier.map(Value::from)),
            ("lastInputSeconds", p.last_input_seconds.map(Value::from)),
            ("reason", p.reason.map(Value::from)),
            ("tags", p.tags.map(Value::from)),
            ("instanceId", p.instance_id.map(Value::from)),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                entry.insert(k.into(), v);
            }
        }
        entry.insert("text".into(), json!(text));
        entry.insert("ts".into(), json!(ts));
        let key = entry
            .get("instanceId")
            .or_else(|| entry.get("host"))
            .and_then(Value::as_str)
            .map(str::to_string);
        self.g
            .push_system_event(json!({ "text": text, "ts": ts, "connId": &*self.conn_id }));
        if let Some(key) = key {
            self.g.upsert_presence(key, Value::Object(entry));
        }
        Ok(SystemEventResult { ok: true })
    }

    async fn last_heartbeat(
        &self,
        _params: LastHeartbeatParams,
    ) -> Result<LastHeartbeatResult, RpcError> {
        // This gateway runs no heartbeat agent: there is never a last run to report.
        Ok(Value::Null)
    }

    async fn config_get(&self, _params: ConfigGetParams) -> Result<ConfigGetResult, RpcError> {
        // The file as last seen; when a reload found it invalid, that is not the config running
        // (`resolved`/`config`, and `runningHash`), which stays the last good one.
        let running = self.g.config();
        let c = self
            .g
            .reload_status()
            .file
            .unwrap_or_else(|| running.clone());
        let redacted = running.redacted();
        Ok(json!({
            "path": c.path.display().to_string(),
            "includedPaths": c.included.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "exists": c.exists,
            "raw": c.redacted_raw(),
            "parsed": c.redacted(),
            "resolved": redacted,
            "config": redacted,
            "hash": c.hash,
            "runningHash": running.hash,
            "valid": c.valid,
            "issues": c.issues,
            "warnings": c.warnings,
        }))
    }

    async fn config_set(&self, p: ConfigSetParams) -> Result<ConfigSetResult, RpcError> {
        super::config_write::run(
            &self.g,
            &self.writer_key,
            super::config_write::WriteRequest {
                kind: super::config_write::Kind::Set,
                raw: p.raw,
                base_hash: p.base_hash,
                replace_paths: Vec::new(),
                restart_delay_ms: None,
            },
        )
        .await
    }

    async fn config_patch(&self, p: ConfigPatchParams) -> Result<ConfigPatchResult, RpcError> {
        super::config_write::run(
            &self.g,
            &self.writer_key,
            super::config_write::WriteRequest {
                kind: super::config_write::Kind::Patch,
                raw: p.raw,
                base_hash: p.base_hash,
                replace_paths: p.replace_paths.unwrap_or_default(),
                restart_delay_ms: p.restart_delay_ms,
            },
        )
        .await
    }

    async fn config_apply(&self, p: ConfigApplyParams) -> Result<ConfigApplyResult, RpcError> {
        super::config_write::run(
            &self.g,
            &self.writer_key,
            super::config_write::WriteRequest {
                kind: super::config_write::Kind::Apply,
                raw: p.raw,
                base_hash: p.base_hash,
                replace_paths: Vec::new(),
                restart_delay_ms: p.restart_delay_ms,
            },
        )
        .await
    }

    async fn config_schema_lookup(
        &self,
        p: ConfigSchemaLookupParams,
    ) -> Result<ConfigSchemaLookupResult, RpcError> {
        let path = p.path.trim();
        let valid = !path.is_empty()
            && path.len() <= 1024
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./[]-*".contains(c));
        if !valid {
            return Err(RpcError::invalid_request(
                "invalid config.schema.lookup params: at /path: must match pattern \"^[A-Za-z0-9_./\\[\\]\\-*]+$\"",
            ));
        }
        let root = schema();
        let Some(node) = schema_at(root, path) else {
            return Err(RpcError::invalid_request(format!(
                "config schema path not found: {path}"
            )));
        };
        let mut shallow = node.clone();
        let children: Vec<String> = node
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(m) = shallow.as_object_mut() {
            // Children are listed by name; the caller looks them up one by one.
            if let Some(props) = m.get_mut("properties").and_then(Value::as_object_mut) {
                for v in props.values_mut() {
                    let child = deref(root, v);
                    let mut short = serde_json::Map::new();
                    for k in ["type", "enum", "anyOf", "description"] {
                        if let Some(x) = child.get(k) {
                            short.insert(k.into(), x.clone());
                        }
                    }
                    if child.get("properties").is_some() {
                        short.insert("type".into(), json!("object"));
                    }
                    *v = Value::Object(short);
                }
            }
        }
        let hint_key = path.replace("[]", ".*");
        let hint = ui_hints().get(&hint_key).cloned();
        Ok(json!({
            "path": path,
            "schema": shallow,
            "hint": hint,
            "hintPath": hint.as_ref().map(|_| hint_key),
            "children": children,
        }))
    }

    async fn models_list(&self, p: ModelsListParams) -> Result<ModelsListResult, RpcError> {
        let _ = p.view;
        let c = self.g.config();
        let mut models = Vec::new();
        if let Some(Value::Object(providers)) = c.get("models.providers") {
            for (provider, entry) in providers {
                let Some(Value::Array(list)) = entry.get("models") else {
                    continue;
                };
                for m in list {
                    let Some(id) = m.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    let mut out = json!({
                        "id": id,
                        "name": m.get("name").and_then(Value::as_str).unwrap_or(id),
                        "provider": provider,
                    });
                    if let Some(o) = out.as_object_mut() {
                        for k in ["contextWindow", "maxTokens", "reasoning", "input"] {
                            if let Some(v) = m.get(k) {
                                o.insert(k.into(), v.clone());
                            }
                        }
                    }
                    models.push(out);
                }
            }
        }
        Ok(ModelsListResult { models })
    }

    async fn agents_list(&self, _params: AgentsListParams) -> Result<AgentsListResult, RpcError> {
        let c = self.g.config();
        let agents = agent_summaries(&c);
        let default_id = super::state::default_agent_id(&agents).to_string();
        let list: Vec<Value> = agents
            .iter()
            .map(|a| {
                let mut o = json!({ "id": a["agentId"], "default": a["isDefault"] });
                if let (Some(m), Some(name)) = (o.as_object_mut(), a["name"].as_str()) {
                    m.insert("name".into(), json!(name));
                }
                o
            })
            .collect();
        Ok(json!({
            "defaultId": default_id,
            "mainKey": "main",
            "scope": "per-sender",
            "agents": list,
        }))
    }

    async fn config_schema(
        &self,
        _params: ConfigSchemaParams,
    ) -> Result<ConfigSchemaResult, RpcError> {
        Ok(ConfigSchemaResult {
            schema: schema().clone(),
            ui_hints: ui_hints().clone(),
            version: super::SERVER_VERSION.to_string(),
            generated_at: build_time(),
        })
    }

    async fn secrets_reload(
        &self,
        _params: SecretsReloadParams,
    ) -> Result<SecretsReloadResult, RpcError> {
        use crate::config::secrets::{Failure, Resolver, describe};
        // One reload or config write at a time: a config reload applied in between would be
        // undone by settings built from the config it replaced.
        let reloader = self.g.reloader().cloned();
        let _guard = match &reloader {
            Some(r) => Some(r.lock().await),
            None => None,
        };
        let before = self.g.settings();
        let old = before.config.secrets.clone();
        let parsed = before.config.parsed.clone();
        let resolved = tokio::task::spawn_blocking(move || {
            old.reload(|| {
                let cwd = std::env::current_dir().unwrap_or_default();
                Resolver::from_value(&parsed, &crate::config::ProcessEnv, &cwd)
            })
        })
        .await
        .map_err(|e| unavailable(format!("secrets.reload failed: {e}")))?;
        let new = match resolved {
            Ok(s) => s,
            Err(failures) => {
                tracing::warn!(
                    "secrets.reload failed; the previous secrets stay in force:\n{}",
                    describe(&failures)
                );
                let first = failures
                    .first()
                    .map(|f| format!(" First: {}: {}", f.key, f.message))
                    .unwrap_or_default();
                return Err(unavailable(format!(
                    "secrets.reload failed: {} SecretRef(s) could not be resolved; the previous secrets stay in force.{first}",
                    failures.len()
                ))
                .with_details(json!({
                    "failures": failures.iter().map(Failure::to_json).collect::<Vec<_>>()
                })));
            }
        };
        let now = self.g.settings();
        if !std::sync::Arc::ptr_eq(&now.config, &before.config) {
            return Err(unavailable(
                "secrets.reload failed: the config changed while the secrets were being resolved; nothing was swapped, try again",
            ));
        }
        let mut settings = (*now).clone();
        for path in new.applied() {
            let value = new.get(path).map(str::to_string);
            match path {
                "gateway.auth.token" => settings.auth.token = value,
                "gateway.auth.password" => settings.auth.password = value,
                _ => {}
            }
        }
        let warnings: Vec<String> = new.warnings().iter().map(|w| w.to_string()).collect();
        let resolved = new.resolved();
        let mut config = (*now.config).clone();
        config.secrets = std::sync::Arc::new(new);
        settings.config = std::sync::Arc::new(config);
        self.g.apply_settings(settings);
        tracing::info!(
            resolved,
            warnings = warnings.len(),
            "secrets reloaded: the new values are in force"
        );
        Ok(SecretsReloadResult {
            ok: true,
            resolved: resolved as u64,
            warning_count: warnings.len() as u64,
            warnings,
        })
    }

    async fn logs_tail(&self, p: LogsTailParams) -> Result<LogsTailResult, RpcError> {
        let limit = match p.limit {
            None => 200,
            Some(n @ 1..=5000) => n as usize,
            Some(_) => {
                return Err(RpcError::invalid_request(
                    "invalid logs.tail params: at /limit: must be >= 1 and <= 5000",
                ));
            }
        };
        let max_bytes = match p.max_bytes {
            None => 250_000,
            Some(n @ 1..=1_000_000) => n,
            Some(_) => {
                return Err(RpcError::invalid_request(
                    "invalid logs.tail params: at /maxBytes: must be >= 1 and <= 1000000",
                ));
            }
        };
        let cursor = p.cursor;
        let Some(target) = self.g.settings().log_file.clone() else {
            return Err(unavailable("the gateway is not writing a log file"));
        };
        // Today's file, or the newest dated one when today's has no line yet (just past midnight).
        let t = tokio::task::spawn_blocking(move || {
            logfile::tail(&target.readable_path(), cursor, limit, max_bytes)
        })
        .await
        .map_err(|e| unavailable(format!("logs.tail failed: {e}")))?
        .map_err(|e| unavailable(format!("cannot read the log file: {e}")))?;
        Ok(LogsTailResult {
            file: t.file,
            cursor: t.cursor as i64,
            size: t.size as i64,
            lines: t.lines,
            truncated: t.truncated.then_some(true),
            reset: t.reset.then_some(true),
        })
    }
}

fn build_time() -> String {
    // ISO-8601 of process start is the closest honest "generated at" for a compiled-in schema.
    static AT: OnceLock<String> = OnceLock::new();
    AT.get_or_init(|| super::logfile::iso8601(now_ms())).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_lookup_walks_properties() {
        let root = schema();
        let port = schema_at(root, "gateway.port").expect("gateway.port");
        assert_eq!(port["type"], json!("integer"));
        assert!(schema_at(root, "gateway.nope").is_none());
        assert!(
            schema_at(root, "gateway")
                .and_then(|g| g.get("properties"))
                .is_some()
        );
    }
}
