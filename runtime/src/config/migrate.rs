//! Legacy config keys and the migrations `openclaw doctor --fix` applies to them.
//!
//! Two pure steps. [`detect`] looks at a parsed config document and lists every legacy shape it
//! holds, each with the merge patch that moves it to its current place (or none, when the move
//! needs a human decision). [`apply`] runs those patches on the file *text* through
//! [`edit::merge_patch`], so only the moved members change and every other byte — comments, layout,
//! quoting — stays as written.
//!
//! The migrations:
//!
//! | id | legacy shape | becomes |
//! |---|---|---|
//! | `legacy-agents-list` | `agents.list: [{id, …}]` | `agents.entries.<id>: {…}` (the first item keeps being the default) |
//! | `legacy-agent` | top-level `agent: {…}` | `agents.defaults` |
//! | `legacy-identity` | top-level `identity: {…}` | the default agent's `agents.entries.<id>.identity` |
//! | `legacy-gateway-token` | `gateway.token` | `gateway.auth.token` |
//! | `legacy-bind-alias` | `gateway.bind: "0.0.0.0"` / `"127.0.0.1"` / another IPv4 | `lan` / `loopback` / `custom` + `customBindHost` |
//! | `gateway-mode-missing` | no `gateway.mode` | `gateway.mode: "local"` |
//!
//! Moving never overwrites: when the new place already holds a setting, the new place wins and the
//! finding says which old settings are dropped.

use jsonspan::LineIndex;
/// The parsed-document types [`detect`] works on, for callers without a `jsonspan` dependency.
pub use jsonspan::{Member, Span, Spanned, Value as Node};
use serde_json::{Map, Value, json};

use super::edit::{self, EditError, EditErrorKind};

/// Which migration a [`Legacy`] finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    AgentsList,
    AgentDefaults,
    Identity,
    GatewayToken,
    BindAlias,
    GatewayMode,
}

impl Kind {
    /// Stable id, used in doctor's check ids (`core/doctor/<id>`).
    pub fn id(self) -> &'static str {
        match self {
            Kind::AgentsList => "legacy-agents-list",
            Kind::AgentDefaults => "legacy-agent",
            Kind::Identity => "legacy-identity",
            Kind::GatewayToken => "legacy-gateway-token",
            Kind::BindAlias => "legacy-bind-alias",
            Kind::GatewayMode => "gateway-mode-missing",
        }
    }
}

/// One legacy shape found in a config document.
#[derive(Debug, Clone, PartialEq)]
pub struct Legacy {
    pub kind: Kind,
    /// The config path of the legacy key (`agent`, `gateway.token`, `gateway.bind`, `gateway.mode`).
    pub path: String,
    /// What is wrong, in a sentence.
    pub message: String,
    /// What `doctor --fix` does about it, or what to do by hand when `patch` is `None`.
    pub fix: String,
    /// 1-based line of the key in the text, when it is there.
    pub line: Option<usize>,
    /// The RFC 7396 merge patch that performs the migration; `None` when it needs a human.
    pub patch: Option<Value>,
}

impl Legacy {
    /// Whether `doctor --fix` can apply it.
    pub fn automatic(&self) -> bool {
        self.patch.is_some()
    }
}

/// The outcome of [`apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    /// The migrated text (the input when nothing applied).
    pub text: String,
    /// The migrations performed, in order.
    pub applied: Vec<Legacy>,
    /// Legacy shapes still in the text: those that need a human, and those inside `$include`d
    /// content (which is not in this text), with the reason in `fix`.
    pub remaining: Vec<Legacy>,
}

/// Pattern of an `agents.entries` key.
fn valid_agent_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

/// Parses config text for detection: `None` for a document without a value (empty, or comments
/// only), an error for text that is not JSON5.
pub fn parse(text: &str) -> Result<Option<Spanned>, EditError> {
    let tree = edit::document_json(text)?;
    match jsonspan::parse(text, 0) {
        Ok(root) => Ok(Some(root)),
        Err(_) if tree.as_object().is_some_and(Map::is_empty) => Ok(None),
        Err(e) => Err(EditError {
            kind: EditErrorKind::Syntax,
            path: String::new(),
            message: format!("not valid JSON5: {}", e.message),
            line: Some(e.line),
            column: Some(e.column),
            help: None,
        }),
    }
}

/// Legacy shapes in config text (see [`detect`]).
pub fn detect_text(text: &str) -> Result<Vec<Legacy>, EditError> {
    Ok(detect(parse(text)?.as_ref(), text))
}

/// Every legacy shape in a parsed document, in the order [`apply`] migrates them. `text` is the
/// text `root` was parsed from (for line numbers); `root` is `None` for a blank document.
pub fn detect(root: Option<&Spanned>, text: &str) -> Vec<Legacy> {
    let empty = Spanned::new(Node::Object(Vec::new()), Span::new(0, 0, 0));
    let root = root.unwrap_or(&empty);
    if !matches!(root.value, Node::Object(_)) {
        return Vec::new();
    }
    let lines = LineIndex::new(text);
    let line_of = |m: &Member| Some(lines.line_col(m.key_span.start).line);
    let mut out = Vec::new();
    agents_list(root, &line_of, &mut out);
    agent_defaults(root, &line_of, &mut out);
    identity(root, &line_of, &mut out);
    gateway_token(root, &line_of, &mut out);
    bind_alias_check(root, &line_of, &mut out);
    gateway_mode(root, &line_of, &mut out);
    out
}

/// Applies every automatic migration to `text`, one after the other (each re-detected on the text
/// the previous one produced), keeping comments and layout outside the moved members.
pub fn apply(text: &str) -> Result<Migrated, EditError> {
    let mut text = text.to_string();
    let mut applied = Vec::new();
    let mut blocked: Vec<(Kind, String)> = Vec::new();
    // Each migration removes its own trigger, so this ends after at most one round per kind; the
    // bound only guards against a migration that fails to.
    for _ in 0..32 {
        let found = detect_text(&text)?;
        let Some(next) = found
            .into_iter()
            .find(|l| l.automatic() && !blocked.iter().any(|(k, _)| *k == l.kind))
        else {
            break;
        };
        let Some(patch) = &next.patch else { break };
        match edit::merge_patch(&text, patch, &[]) {
            Ok(p) if p.text != text => {
                text = p.text;
                applied.push(next);
            }
            Ok(_) => blocked.push((next.kind, "the migration changes nothing".into())),
            Err(e) if e.kind == EditErrorKind::Include => blocked.push((
                next.kind,
                format!(
                    "it is (or would land) inside $include'd content: {}; move it by hand",
                    e.message
                ),
            )),
            Err(e) => return Err(e),
        }
    }
    let mut remaining = detect_text(&text)?;
    for l in &mut remaining {
        if let Some((_, why)) = blocked.iter().find(|(k, _)| *k == l.kind) {
            l.fix = format!("not migrated automatically: {why}");
            l.patch = None;
        }
    }
    Ok(Migrated {
        text,
        applied,
        remaining,
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// `value` without the (nested) settings `existing` already has; the dotted paths of the dropped
/// settings go to `dropped`. Nulls are dropped too (in a merge patch they would delete).
fn missing_only(
    value: &Value,
    existing: Option<&Value>,
    prefix: &str,
    dropped: &mut Vec<String>,
) -> Value {
    match (value, existing) {
        (Value::Object(m), Some(Value::Object(e))) => {
            let mut out = Map::new();
            for (k, v) in m {
                let path = format!("{prefix}.{k}");
                if v.is_null() {
                    continue;
                }
                match e.get(k) {
                    None | Some(Value::Null) => {
                        out.insert(k.clone(), edit::strip_nulls(v));
                    }
                    Some(ev @ Value::Object(_)) if v.is_object() => {
                        let sub = missing_only(v, Some(ev), &path, dropped);
                        if sub.as_object().is_some_and(|s| !s.is_empty()) {
                            out.insert(k.clone(), sub);
                        }
                    }
                    Some(ev) if ev == v => {}
                    Some(_) => dropped.push(path),
                }
            }
            Value::Object(out)
        }
        (v, None | Some(Value::Null)) => edit::strip_nulls(v),
        (v, Some(e)) if e == v => Value::Object(Map::new()),
        (_, Some(_)) => {
            dropped.push(prefix.to_string());
            Value::Object(Map::new())
        }
    }
}

fn dropped_note(dropped: &[String], new_prefix: &str, old_prefix: &str) -> String {
    if dropped.is_empty() {
        return String::new();
    }
    let list: Vec<String> = dropped.iter().map(|d| format!("{old_prefix}{d}")).collect();
    format!(
        "; {} dropped because {new_prefix} already sets {}",
        list.join(", "),
        if dropped.len() == 1 { "it" } else { "them" }
    )
}

/// An object member's value as JSON, when it is an object.
fn object_json(v: Option<&Spanned>) -> Option<Value> {
    v.filter(|v| matches!(v.value, Node::Object(_)))
        .map(Spanned::to_json)
}

/// `true` when a member is absent or holds an object (so members can be added to it).
fn absent_or_object(v: Option<&Spanned>) -> bool {
    v.is_none_or(|v| matches!(v.value, Node::Object(_) | Node::Null))
}

type LineOf<'a> = dyn Fn(&Member) -> Option<usize> + 'a;

// ---------------------------------------------------------------------------------------------
// The migrations

fn agents_list(root: &Spanned, line_of: &LineOf<'_>, out: &mut Vec<Legacy>) {
    let Some(agents) = root.get("agents") else {
        return;
    };
    let Some(m) = agents.member("list") else {
        return;
    };
    let Node::Array(items) = &m.value.value else {
        return;
    };
    let message = "agents.list is the legacy list form of the agents; they now live in agents.entries, keyed by id".to_string();
    let mut legacy = Legacy {
        kind: Kind::AgentsList,
        path: "agents.list".into(),
        message,
        fix: String::new(),
        line: line_of(m),
        patch: None,
    };
    let entries = agents.get("entries");
    if !absent_or_object(entries) {
        legacy.fix = "agents.entries is not an object; merge the list into it by hand".into();
        out.push(legacy);
        return;
    }
    let existing = object_json(entries).unwrap_or_else(|| json!({}));
    let any_default_before = existing
        .as_object()
        .is_some_and(|e| e.values().any(|v| v.get("default") == Some(&json!(true))));
    let mut new_entries = Map::new();
    let mut dropped = Vec::new();
    let mut problems = Vec::new();
    let any_default_in_list = items
        .iter()
        .any(|i| i.get("default").and_then(Spanned::as_bool) == Some(true));
    for (n, item) in items.iter().enumerate() {
        let mut v = item.to_json();
        let Some(obj) = v.as_object_mut() else {
            problems.push(format!("agents.list[{n}] is not an object"));
            continue;
        };
        let id = match obj.remove("id") {
            Some(Value::String(id)) if valid_agent_key(&id) => id,
            Some(Value::String(id)) => {
                problems.push(format!(
                    "agents.list[{n}].id \"{id}\" cannot be an agents.entries key (use lowercase letters, digits, '_' and '-', at most 64)"
                ));
                continue;
            }
            _ => {
                problems.push(format!("agents.list[{n}] has no id"));
                continue;
            }
        };
        if new_entries.contains_key(&id) {
            problems.push(format!("agents.list has the id \"{id}\" twice"));
            continue;
        }
        // The first item was the default when none was marked; a map has no order to rely on.
        if n == 0 && !any_default_in_list && !any_default_before && items.len() > 1 {
            obj.insert("default".into(), Value::Bool(true));
        }
        let moved = missing_only(&v, existing.get(&id), &id, &mut dropped);
        new_entries.insert(id, moved);
    }
    if !problems.is_empty() {
        legacy.fix = format!(
            "move the entries to agents.entries by hand: {}",
            problems.join("; ")
        );
        out.push(legacy);
        return;
    }
    let ids: Vec<&str> = new_entries.keys().map(String::as_str).collect();
    legacy.fix = format!(
        "move the {} to agents.entries ({}){}",
        if ids.len() == 1 { "entry" } else { "entries" },
        ids.join(", "),
        dropped_note(&dropped, "agents.entries", "agents.entries.")
    );
    let entries_patch: Map<String, Value> = new_entries
        .into_iter()
        .filter(|(k, v)| existing.get(k).is_none() || v.as_object().is_some_and(|o| !o.is_empty()))
        .collect();
    let mut agents_patch = Map::new();
    agents_patch.insert("list".into(), Value::Null);
    if !entries_patch.is_empty() {
        agents_patch.insert("entries".into(), Value::Object(entries_patch));
    }
    legacy.patch = Some(json!({ "agents": agents_patch }));
    out.push(legacy);
}

fn agent_defaults(root: &Spanned, line_of: &LineOf<'_>, out: &mut Vec<Legacy>) {
    let Some(m) = root.member("agent") else {
        return;
    };
    let mut legacy = Legacy {
        kind: Kind::AgentDefaults,
        path: "agent".into(),
        message:
            "\"agent\" is the legacy place of the agent defaults; they now live in agents.defaults"
                .into(),
        fix: String::new(),
        line: line_of(m),
        patch: None,
    };
    let agents = root.get("agents");
    let defaults = agents.and_then(|a| a.get("defaults"));
    if matches!(m.value.value, Node::Null) {
        legacy.fix = "remove the empty \"agent\" key".into();
        legacy.patch = Some(json!({ "agent": null }));
    } else if !matches!(m.value.value, Node::Object(_)) {
        legacy.fix =
            "\"agent\" is not an object; move its settings to agents.defaults by hand".into();
    } else if !absent_or_object(agents) || !absent_or_object(defaults) {
        legacy.fix = "agents or agents.defaults is not an object; move the settings by hand".into();
    } else {
        let existing = object_json(defaults).unwrap_or_else(|| json!({}));
        let mut dropped = Vec::new();
        let moved = missing_only(&m.value.to_json(), Some(&existing), "", &mut dropped);
        legacy.fix = format!(
            "move its settings to agents.defaults{}",
            dropped_note(&dropped, "agents.defaults", "agent")
        );
        legacy.patch = Some(if moved.as_object().is_some_and(|o| !o.is_empty()) {
            json!({ "agent": null, "agents": { "defaults": moved } })
        } else {
            json!({ "agent": null })
        });
    }
    out.push(legacy);
}

/// The id of the default agent, as the gateway picks it: the entry marked `default`, else the
/// first entry, else `main`. `Err` when the default is still in the legacy `agents.list`.
fn default_agent(root: &Spanned) -> Result<String, String> {
    let agents = root.get("agents");
    if let Some(Node::Array(items)) = agents.and_then(|a| a.get("list")).map(|l| &l.value)
        && !items.is_empty()
    {
        return Err("agents.list must be migrated first".into());
    }
    let entries = agents.and_then(|a| a.get("entries")).map(Spanned::members);
    let entries = entries.unwrap_or(&[]);
    let marked = entries
        .iter()
        .find(|m| m.value.get("default").and_then(Spanned::as_bool) == Some(true));
    Ok(marked
        .or(entries.first())
        .map_or_else(|| "main".to_string(), |m| m.key.clone()))
}

fn identity(root: &Spanned, line_of: &LineOf<'_>, out: &mut Vec<Legacy>) {
    let Some(m) = root.member("identity") else {
        return;
    };
    let mut legacy = Legacy {
        kind: Kind::Identity,
        path: "identity".into(),
        message: "the top-level \"identity\" is legacy; an identity now belongs to an agent (agents.entries.<id>.identity)".into(),
        fix: String::new(),
        line: line_of(m),
        patch: None,
    };
    let agents = root.get("agents");
    let entries = agents.and_then(|a| a.get("entries"));
    if matches!(m.value.value, Node::Null) {
        legacy.fix = "remove the empty \"identity\" key".into();
        legacy.patch = Some(json!({ "identity": null }));
        out.push(legacy);
        return;
    }
    if !matches!(m.value.value, Node::Object(_)) {
        legacy.fix = "\"identity\" is not an object; move it to the default agent by hand".into();
        out.push(legacy);
        return;
    }
    let id = match default_agent(root) {
        Ok(id) => id,
        Err(why) => {
            legacy.fix = format!("move it to the default agent's identity ({why})");
            out.push(legacy);
            return;
        }
    };
    let entry = entries.and_then(|e| e.get(&id));
    let current = entry.and_then(|e| e.get("identity"));
    if !absent_or_object(agents)
        || !absent_or_object(entries)
        || !absent_or_object(entry)
        || !absent_or_object(current)
    {
        legacy.fix = format!(
            "move it to agents.entries.{id}.identity by hand (something on the way is not an object)"
        );
        out.push(legacy);
        return;
    }
    let existing = object_json(current).unwrap_or_else(|| json!({}));
    let mut dropped = Vec::new();
    let moved = missing_only(&m.value.to_json(), Some(&existing), "", &mut dropped);
    let target = format!("agents.entries.{id}.identity");
    legacy.fix = format!(
        "move it to {target} (the default agent){}",
        dropped_note(&dropped, &target, "identity")
    );
    legacy.patch = Some(if moved.as_object().is_some_and(|o| !o.is_empty()) {
        json!({ "identity": null, "agents": { "entries": { id: { "identity": moved } } } })
    } else {
        json!({ "identity": null })
    });
    out.push(legacy);
}

fn gateway_token(root: &Spanned, line_of: &LineOf<'_>, out: &mut Vec<Legacy>) {
    let Some(gateway) = root.get("gateway") else {
        return;
    };
    let Some(m) = gateway.member("token") else {
        return;
    };
    let mut legacy = Legacy {
        kind: Kind::GatewayToken,
        path: "gateway.token".into(),
        message:
            "gateway.token is the legacy place of the gateway token; it is now gateway.auth.token"
                .into(),
        fix: String::new(),
        line: line_of(m),
        patch: None,
    };
    let auth = gateway.get("auth");
    let current = auth.and_then(|a| a.get("token"));
    let value = m.value.to_json();
    if value.is_null() {
        legacy.fix = "remove the empty gateway.token".into();
        legacy.patch = Some(json!({ "gateway": { "token": null } }));
    } else if !absent_or_object(auth) {
        legacy.fix = "gateway.auth is not an object; move the token by hand".into();
    } else {
        match current.map(Spanned::to_json) {
            None | Some(Value::Null) => {
                legacy.fix = "move it to gateway.auth.token".into();
                legacy.patch =
                    Some(json!({ "gateway": { "token": null, "auth": { "token": value } } }));
            }
            Some(c) if c == value => {
                legacy.fix = "remove it: gateway.auth.token already holds the same token".into();
                legacy.patch = Some(json!({ "gateway": { "token": null } }));
            }
            Some(_) => {
                legacy.fix = "gateway.token and gateway.auth.token differ: keep the one your clients use in gateway.auth.token and delete gateway.token".into();
            }
        }
    }
    out.push(legacy);
}

/// The bind mode a legacy host alias stands for, and the host for `custom`.
pub fn bind_alias(host: &str) -> Option<(&'static str, Option<String>)> {
    match host.trim() {
        "0.0.0.0" | "::" | "[::]" | "*" => Some(("lan", None)),
        "127.0.0.1" | "localhost" | "::1" | "[::1]" => Some(("loopback", None)),
        h => h.parse::<std::net::Ipv4Addr>().ok().map(|ip| {
            if ip.is_loopback() {
                ("loopback", None)
            } else {
                ("custom", Some(ip.to_string()))
            }
        }),
    }
}

fn bind_alias_check(root: &Spanned, line_of: &LineOf<'_>, out: &mut Vec<Legacy>) {
    let Some(gateway) = root.get("gateway") else {
        return;
    };
    let Some(m) = gateway.member("bind") else {
        return;
    };
    let Some(host) = m.value.as_str() else {
        return;
    };
    let Some((mode, custom)) = bind_alias(host) else {
        return;
    };
    let mut legacy = Legacy {
        kind: Kind::BindAlias,
        path: "gateway.bind".into(),
        message: format!(
            "gateway.bind \"{host}\" is a legacy host alias; bind takes a mode (auto, lan, loopback, custom, tailnet)"
        ),
        fix: String::new(),
        line: line_of(m),
        patch: None,
    };
    match custom {
        None => {
            legacy.fix = format!("set gateway.bind to \"{mode}\"");
            legacy.patch = Some(json!({ "gateway": { "bind": mode } }));
        }
        Some(ip) => match gateway.get("customBindHost").and_then(Spanned::as_str) {
            Some(h) if h != ip => {
                legacy.fix = format!(
                    "gateway.customBindHost is already \"{h}\": set gateway.bind to \"custom\" and choose the host by hand"
                );
            }
            _ => {
                legacy.fix = format!(
                    "set gateway.bind to \"custom\" and gateway.customBindHost to \"{ip}\""
                );
                legacy.patch =
                    Some(json!({ "gateway": { "bind": "custom", "customBindHost": ip } }));
            }
        },
    }
    out.push(legacy);
}

fn gateway_mode(root: &Spanned, line_of: &LineOf<'_>, out: &mut Vec<Legacy>) {
    let gateway = root.get("gateway");
    if !absent_or_object(gateway) {
        return;
    }
    if gateway.and_then(|g| g.get("mode")).is_some() {
        return;
    }
    let line = root.member("gateway").and_then(line_of);
    let remote = gateway
        .and_then(|g| g.get("remote"))
        .and_then(|r| r.get("url"))
        .is_some();
    let mut legacy = Legacy {
        kind: Kind::GatewayMode,
        path: "gateway.mode".into(),
        message: "gateway.mode is not set, so the gateway refuses to start on this machine".into(),
        fix: String::new(),
        line,
        patch: None,
    };
    if remote {
        legacy.fix = "gateway.remote.url is set: set gateway.mode to \"remote\" if this machine only connects to a gateway elsewhere, or \"local\" if it runs one".into();
    } else {
        legacy.fix = "set gateway.mode to \"local\"".into();
        legacy.patch = Some(json!({ "gateway": { "mode": "local" } }));
    }
    out.push(legacy);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, bool)> {
        detect_text(text)
            .expect("parses")
            .into_iter()
            .map(|l| (l.kind, l.automatic()))
            .collect()
    }

    fn tree(text: &str) -> Value {
        edit::document_json(text).expect("parses")
    }

    #[test]
    fn current_config_has_nothing_to_migrate() {
        let text = "{ gateway: { mode: \"local\", bind: \"lan\", auth: { token: \"x\" } } }";
        assert_eq!(kinds(text), vec![]);
        let m = apply(text).expect("applies");
        assert_eq!(m.text, text);
        assert!(m.applied.is_empty() && m.remaining.is_empty());
    }

    #[test]
    fn blank_document_only_needs_the_mode() {
        assert_eq!(kinds(""), vec![(Kind::GatewayMode, true)]);
        assert_eq!(kinds("// nothing yet\n"), vec![(Kind::GatewayMode, true)]);
        let m = apply("").expect("applies");
        assert_eq!(tree(&m.text), json!({ "gateway": { "mode": "local" } }));
    }

    #[test]
    fn syntax_errors_are_reported_not_migrated() {
        let e = detect_text("{ gateway: ").expect_err("not JSON5");
        assert_eq!(e.kind, EditErrorKind::Syntax);
        assert!(apply("{ gateway: ").is_err());
    }

    #[test]
    fn agent_moves_to_agents_defaults_keeping_comments() {
        let text = r#"// my config
{
  // the gateway
  gateway: { mode: "local" }, // local
  agent: {
    model: "anthropic/claude", // old place
    workspace: "~/ws",
  },
  agents: {
    // existing defaults win
    defaults: { workspace: "~/new-ws" },
  },
}
"#;
        let found = detect_text(text).expect("parses");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, Kind::AgentDefaults);
        assert_eq!(found[0].line, Some(5));
        assert!(
            found[0]
                .fix
                .contains("agent.workspace dropped because agents.defaults already sets it"),
            "{}",
            found[0].fix
        );
        let m = apply(text).expect("applies");
        assert_eq!(
            tree(&m.text),
            json!({
                "gateway": { "mode": "local" },
                "agents": { "defaults": { "workspace": "~/new-ws", "model": "anthropic/claude" } }
            })
        );
        for c in [
            "// my config",
            "// the gateway",
            "// local",
            "// existing defaults win",
        ] {
            assert!(m.text.contains(c), "lost {c}:\n{}", m.text);
        }
        assert_eq!(m.applied.len(), 1);
        assert!(m.remaining.is_empty());
    }

    #[test]
    fn agents_list_becomes_entries_and_the_first_stays_default() {
        let text = r#"{
  gateway: { mode: "local" },
  agents: {
    list: [
      { id: "main", name: "Main" },
      { id: "helper", workspace: "~/h" },
    ],
  },
  identity: { name: "Claw", emoji: "🦞" },
}"#;
        assert_eq!(
            kinds(text),
            vec![(Kind::AgentsList, true), (Kind::Identity, false)]
        );
        let m = apply(text).expect("applies");
        assert_eq!(
            tree(&m.text),
            json!({
                "gateway": { "mode": "local" },
                "agents": { "entries": {
                    "main": { "name": "Main", "default": true, "identity": { "name": "Claw", "emoji": "🦞" } },
                    "helper": { "workspace": "~/h" },
                } },
            })
        );
        let ids: Vec<Kind> = m.applied.iter().map(|l| l.kind).collect();
        assert_eq!(ids, vec![Kind::AgentsList, Kind::Identity]);
    }

    #[test]
    fn agents_list_without_ids_needs_a_human() {
        let text = "{ gateway: { mode: \"local\" }, agents: { list: [{ name: \"x\" }] } }";
        let m = apply(text).expect("applies");
        assert_eq!(m.text, text);
        assert_eq!(m.remaining.len(), 1);
        assert!(m.remaining[0].fix.contains("agents.list[0] has no id"));
        let bad = "{ gateway: { mode: \"local\" }, agents: { list: [{ id: \"Big Agent\" }] } }";
        assert_eq!(kinds(bad), vec![(Kind::AgentsList, false)]);
    }

    #[test]
    fn identity_goes_to_the_marked_default_or_main() {
        let text = "{ gateway: { mode: \"local\" }, identity: { name: \"A\" } }";
        let m = apply(text).expect("applies");
        assert_eq!(
            tree(&m.text),
            json!({ "gateway": { "mode": "local" }, "agents": { "entries": { "main": { "identity": { "name": "A" } } } } })
        );
        let text = "{ gateway: { mode: \"local\" }, identity: { name: \"A\", theme: \"t\" }, agents: { entries: { a: {}, b: { default: true, identity: { name: \"B\" } } } } }";
        let m = apply(text).expect("applies");
        assert_eq!(
            tree(&m.text)["agents"]["entries"]["b"]["identity"],
            json!({ "name": "B", "theme": "t" })
        );
        assert!(m.applied[0].fix.contains("identity.name dropped"));
    }

    #[test]
    fn gateway_token_moves_under_auth() {
        let text = "{\n  gateway: {\n    mode: \"local\",\n    token: \"abc\", // old\n  },\n}\n";
        let found = detect_text(text).expect("parses");
        assert_eq!(found[0].kind, Kind::GatewayToken);
        assert_eq!(found[0].line, Some(4));
        let m = apply(text).expect("applies");
        assert_eq!(
            tree(&m.text),
            json!({ "gateway": { "mode": "local", "auth": { "token": "abc" } } })
        );
        // The same token in both places: the legacy one goes.
        let same = "{ gateway: { mode: \"local\", token: \"a\", auth: { token: \"a\" } } }";
        assert_eq!(
            tree(&apply(same).expect("applies").text),
            json!({ "gateway": { "mode": "local", "auth": { "token": "a" } } })
        );
        // Different tokens: a human decides.
        let differ = "{ gateway: { mode: \"local\", token: \"a\", auth: { token: \"b\" } } }";
        assert_eq!(kinds(differ), vec![(Kind::GatewayToken, false)]);
        assert_eq!(apply(differ).expect("applies").text, differ);
    }

    #[test]
    fn bind_aliases_become_modes() {
        for (host, want) in [
            ("0.0.0.0", json!({ "mode": "local", "bind": "lan" })),
            ("127.0.0.1", json!({ "mode": "local", "bind": "loopback" })),
            ("localhost", json!({ "mode": "local", "bind": "loopback" })),
            (
                "192.168.1.5",
                json!({ "mode": "local", "bind": "custom", "customBindHost": "192.168.1.5" }),
            ),
        ] {
            let text = format!("{{ gateway: {{ mode: \"local\", bind: \"{host}\" }} }}");
            let m = apply(&text).expect("applies");
            assert_eq!(tree(&m.text), json!({ "gateway": want }), "{host}");
        }
        // Modes and unknown words are not aliases.
        assert_eq!(
            kinds("{ gateway: { mode: \"local\", bind: \"lan\" } }"),
            vec![]
        );
        assert_eq!(
            kinds("{ gateway: { mode: \"local\", bind: \"lna\" } }"),
            vec![]
        );
    }

    #[test]
    fn missing_mode_is_stamped_unless_remote() {
        let m = apply("{ gateway: { port: 1234 } }").expect("applies");
        assert_eq!(
            tree(&m.text),
            json!({ "gateway": { "port": 1234, "mode": "local" } })
        );
        let remote = "{ gateway: { remote: { url: \"ws://10.0.0.2:18789\" } } }";
        assert_eq!(kinds(remote), vec![(Kind::GatewayMode, false)]);
    }

    #[test]
    fn included_content_is_left_alone() {
        let text = "{ gateway: { mode: \"local\" }, agents: { \"$include\": \"./agents.json5\" }, agent: { model: \"m\" } }";
        let m = apply(text).expect("applies");
        assert_eq!(m.text, text);
        assert_eq!(m.remaining.len(), 1);
        assert!(
            m.remaining[0].fix.contains("$include"),
            "{}",
            m.remaining[0].fix
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A config with optional legacy parts, a unique comment on every line that is not part
        /// of a legacy member, and the comments it holds.
        fn config() -> impl Strategy<Value = (String, Vec<String>)> {
            (
                prop::option::of(prop::sample::select(vec![
                    "0.0.0.0",
                    "127.0.0.1",
                    "lan",
                    "10.1.2.3",
                ])),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(bind, mode, token, agent, defaults, identity, list)| {
                    let mut comments = Vec::new();
                    let mut c = |s: &mut String, tag: &str| {
                        let text = format!("// c-{tag}");
                        s.push_str(&text);
                        s.push('\n');
                        comments.push(text);
                    };
                    let mut s = String::new();
                    c(&mut s, "head");
                    s.push_str("{\n  ");
                    c(&mut s, "gw");
                    s.push_str("  gateway: {\n    port: 18789, ");
                    c(&mut s, "port");
                    if mode {
                        s.push_str("    mode: \"local\", ");
                        c(&mut s, "mode");
                    }
                    if let Some(b) = bind {
                        s.push_str(&format!("    bind: \"{b}\",\n"));
                    }
                    if token {
                        s.push_str("    token: \"secret-token\",\n");
                    }
                    s.push_str("  }, ");
                    c(&mut s, "gw-end");
                    if agent {
                        s.push_str(
                            "  agent: {\n    model: \"a/b\",\n    workspace: \"~/w\",\n  },\n",
                        );
                    }
                    if identity {
                        s.push_str("  identity: { name: \"Claw\" },\n");
                    }
                    if defaults || list {
                        s.push_str("  agents: { ");
                        c(&mut s, "agents");
                        if defaults {
                            s.push_str("    defaults: { workspace: \"~/keep\" }, ");
                            c(&mut s, "defaults");
                        }
                        if list {
                            s.push_str("    list: [{ id: \"main\" }, { id: \"two\" }],\n");
                        }
                        s.push_str("  },\n");
                    }
                    s.push_str("  logging: { level: \"info\" }, ");
                    c(&mut s, "logging");
                    s.push_str("}\n");
                    c(&mut s, "tail");
                    (s, comments)
                })
        }

        proptest! {
            #[test]
            fn migration_keeps_comments_and_is_idempotent((text, comments) in config()) {
                let m = apply(&text).expect("applies");
                for c in &comments {
                    prop_assert!(m.text.contains(c.as_str()), "lost {c}:\n{}", m.text);
                }
                // Everything automatic is done, and doing it again changes nothing.
                prop_assert!(m.remaining.iter().all(|l| !l.automatic()), "{:?}", m.remaining);
                let again = apply(&m.text).expect("applies");
                prop_assert_eq!(&again.text, &m.text);
                prop_assert!(again.applied.is_empty());
                let after = tree(&m.text);
                for key in ["agent", "identity"] {
                    prop_assert!(after.get(key).is_none());
                }
                prop_assert!(after["gateway"].get("token").is_none());
                prop_assert_eq!(&after["logging"], &json!({ "level": "info" }));
                prop_assert_eq!(&after["gateway"]["port"], &json!(18789));
            }

            #[test]
            fn nothing_moved_is_lost((text, _c) in config()) {
                let before = tree(&text);
                let after = tree(&apply(&text).expect("applies").text);
                if let Some(t) = before["gateway"].get("token") {
                    prop_assert_eq!(&after["gateway"]["auth"]["token"], t);
                }
                if before.get("agent").is_some() {
                    prop_assert_eq!(&after["agents"]["defaults"]["model"], &json!("a/b"));
                    let want = if before["agents"].get("defaults").is_some() { "~/keep" } else { "~/w" };
                    prop_assert_eq!(&after["agents"]["defaults"]["workspace"], &json!(want));
                }
                if before.get("identity").is_some() {
                    prop_assert_eq!(&after["agents"]["entries"]["main"]["identity"]["name"], &json!("Claw"));
                }
            }
        }
    }
}
