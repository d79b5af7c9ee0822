#!/usr/bin/env python3
"""Import OpenClaw's config key list into spec/config.json5 and spec/types.json5.

Usage:  python3 spec/tools/import_keys.py [--src KEYS.jsonl] [--out SPEC_DIR] [--report]

The source is the OpenClaw 2026.9.6 config key list: one JSON object per config path with the
flattened JSON Schema facts of that path (type, enum, const, bounds, pattern, required, ...).
Path forms in the key list: `a.b`, `a.*` (additionalProperties), `a[]` (items), `a<anyOfN>` /
`a<oneOfN>` (an expanded union variant), `<root>`.

Pipeline (each step is a function below):
  1. convert   every row into a node of a tree (spec path forms: `.*`, `[]`, `<N>`), synthesising
               union variants, tuple items and missing properties from the inline summaries;
  2. overrides the hand-written part (OVERRIDES section): SecretRef/SecretInput, supersets, legacy
               keys, defaults, env/CLI bindings, secret flags, docs;
  3. factor    repeated subtrees (>= 4 nodes, >= 2 places) into named types, largest first;
  4. shorthand `list<T>` / `map<T>` / `A|B` where the child node carries nothing of its own;
  5. path attributes (reload, env, cli, legacy, superset) on config paths, and writing both files.

Re-running reproduces the files exactly. The spec files are edited by hand after the import (see
spec/README.md); re-running is not part of the build.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = "/work/shared/reference/openclaw-2026.9.6-config-keys.jsonl"
DEFAULT_OUT = os.path.dirname(HERE)

MAX_SAFE = 9007199254740991
SCALARS = ("string", "integer", "number", "boolean", "null")

# Problems we could not express faithfully: (path, what). Printed with --report.
UNFAITHFUL: list[tuple[str, str]] = []


def note(path: str, what: str) -> None:
    UNFAITHFUL.append((path, what))


# ============================================================================================
# OVERRIDES — everything hand-written lives here. Facts of the 2026.9.6 schema come from the
# key list; what is below is either read from OpenClaw's source (SecretRef patterns, the exec
# secret provider shape that the key list only summarises), our product decisions (supersets,
# legacy keys, reload classes, env/CLI bindings) or our own documentation.
# ============================================================================================

PROVIDER_ALIAS = r"^[a-z][a-z0-9_-]{0,63}$"
ENV_ID = r"^[A-Z][A-Z0-9_]{0,127}$"
# "value" (single-value files) or an absolute JSON pointer whose `~` only appears as `~0`/`~1`.
FILE_ID = r"^(?:value|/(?:[^~]|~[01])*)$"
# OpenClaw's EXEC_SECRET_REF_ID_JSON_SCHEMA_PATTERN (src/secrets/ref-contract.ts, 2026.9.6).
EXEC_ID = r"^(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9][A-Za-z0-9._:/#-]{0,255}$"

# Named types written by hand (flat, rooted at the type name). Key -> node.
HAND_TYPES: dict[str, dict] = {
    "SecretRef": {"type": "union", "discriminator": "source",
                  "doc": "A pointer to a credential held outside the config file, resolved by a named secret provider."},
    "SecretRef<0>": {"type": "object", "doc": "Read the credential from an environment variable."},
    "SecretRef<0>.source": {"type": "enum", "values": ["env"], "required": True},
    "SecretRef<0>.provider": {"type": "string", "pattern": PROVIDER_ALIAS, "required": True,
                              "doc": "Alias of the secret provider under secrets.providers."},
    "SecretRef<0>.id": {"type": "string", "pattern": ENV_ID, "required": True,
                        "doc": "Name of the environment variable."},
    "SecretRef<1>": {"type": "object", "doc": "Read the credential from a file provider."},
    "SecretRef<1>.source": {"type": "enum", "values": ["file"], "required": True},
    "SecretRef<1>.provider": {"type": "string", "pattern": PROVIDER_ALIAS, "required": True,
                              "doc": "Alias of the secret provider under secrets.providers."},
    "SecretRef<1>.id": {"type": "string", "pattern": FILE_ID, "required": True,
                        "doc": "Absolute JSON pointer into the file, or \"value\" for a single-value file."},
    "SecretRef<2>": {"type": "object", "doc": "Ask an external command for the credential."},
    "SecretRef<2>.source": {"type": "enum", "values": ["exec"], "required": True},
    "SecretRef<2>.provider": {"type": "string", "pattern": PROVIDER_ALIAS, "required": True,
                              "doc": "Alias of the secret provider under secrets.providers."},
    "SecretRef<2>.id": {"type": "string", "pattern": EXEC_ID, "required": True,
                        "doc": "Identifier handed to the command; `.` and `..` path segments are refused."},
    "SecretRef<3>": {"type": "object", "doc": "Read the credential from the gateway's own secret store."},
    "SecretRef<3>.source": {"type": "enum", "values": ["store"], "required": True},
    "SecretRef<3>.provider": {"type": "string", "pattern": PROVIDER_ALIAS, "required": True,
                              "doc": "Alias of the secret provider under secrets.providers."},
    "SecretRef<3>.id": {"type": "string", "pattern": ENV_ID, "required": True,
                        "doc": "Upper-case key of the stored secret."},
    "SecretInput": {"type": "string|SecretRef", "secret": True,
                    "doc": "A credential, given inline as a string or as a SecretRef to resolve at load time."},
}

# The key list only summarises variant 2 of `secrets.providers.*` (a nested union of the manual
# exec provider and the plugin-integration exec provider). Shape taken from OpenClaw's
# SecretsManualExecProviderSchema / SecretsPluginIntegrationExecProviderSchema
# (src/config/zod-schema.core.ts); the summary's property lists match it exactly.
SECRET_EXEC_PROVIDER: dict[str, dict] = {
    "": {"type": "union", "doc": "Run a command that prints secrets, or delegate to a plugin integration."},
    "<0>": {"type": "object", "doc": "Run a local command that prints the requested secrets."},
    "<0>.source": {"type": "enum", "values": ["exec"], "required": True},
    "<0>.command": {"type": "string", "minLength": 1, "required": True,
                    "doc": "Absolute path of the executable (checked on disk when the config loads)."},
    "<0>.args": {"type": "list", "maxItems": 128},
    "<0>.args[]": {"type": "string", "maxLength": 1024},
    "<0>.timeoutMs": {"type": "integer", "min": 1, "max": 120000},
    "<0>.noOutputTimeoutMs": {"type": "integer", "min": 1, "max": 120000},
    "<0>.maxOutputBytes": {"type": "integer", "min": 1, "max": 20971520},
    "<0>.jsonOnly": {"type": "boolean"},
    "<0>.env": {"type": "map"},
    "<0>.env.*": {"type": "string"},
    "<0>.passEnv": {"type": "list", "maxItems": 128},
    "<0>.passEnv[]": {"type": "string", "pattern": ENV_ID},
    "<0>.trustedDirs": {"type": "list", "maxItems": 64},
    "<0>.trustedDirs[]": {"type": "string", "minLength": 1, "doc": "An absolute directory path."},
    "<1>": {"type": "object", "doc": "Let a plugin integration supply the secrets."},
    "<1>.source": {"type": "enum", "values": ["exec"], "required": True},
    "<1>.pluginIntegration": {"type": "object", "required": True},
    "<1>.pluginIntegration.pluginId": {"type": "string", "minLength": 1, "maxLength": 128, "required": True},
    "<1>.pluginIntegration.integrationId": {"type": "string", "minLength": 1, "maxLength": 128, "required": True},
}

# Reload classes (path based; longest declared prefix wins). openclaw.md section 7.
RELOAD: dict[str, str] = {
    "gateway": "restart",
    "gateway.remote": "none",
    "gateway.reload": "none",
    "discovery": "restart",
    "canvasHost": "restart",
    "plugins": "restart",
    "plugins.load": "restart",
    "plugins.installs": "restart",
    "env": "restart",
    "update": "restart",
    "browser": "restart",
    "models.pricing": "restart",
    "proxy": "restart",
    "nodeHost": "restart",
    # Baseline rule 20 lists `secrets` as needing no restart; resolved values are re-read through
    # `secrets.reload`, so a change applies without restarting the gateway.
    "secrets": "hot",
    "hooks": "hot:reload-hooks",
    "hooks.gmail": "hot:restart-gmail-watcher",
    "agents.defaults.heartbeat": "hot:restart-heartbeat",
    "agents.defaults.models": "hot:restart-heartbeat",
    "agents.defaults.model": "hot:restart-heartbeat",
    "models": "hot:restart-heartbeat",
    "agents.entries": "hot:restart-heartbeat",
    "agents.list": "hot:restart-heartbeat",
    "agent": "hot:restart-heartbeat",
    "cron": "hot:restart-cron",
    "mcp": "hot:dispose-mcp-runtimes",
    "channels": "hot:restart-channel",
    "diagnostics.stuckSessionWarnMs": "none",
    "diagnostics.stuckSessionAbortMs": "none",
    "diagnostics.memoryPressureSnapshot": "hot",
    "meta": "none",
    "wizard": "none",
    "agents": "hot",
    "tools": "hot",
    "logging": "hot",
    "session": "hot",
    "messages": "hot",
    "ui": "hot",
    "identity": "hot",
    "bindings": "hot",
    "talk": "hot",
    "skills": "hot",
    "audio": "hot",
    "commands": "hot",
    "tts": "hot",
    "memory": "hot",
    "approvals": "hot",
}
DEFAULT_TOP_RELOAD = "restart"

# Environment / CLI bindings and precedence (openclaw.md section 8). Path based.
ENV_CLI: dict[str, dict] = {
    "gateway.port": {"env": "OPENCLAW_GATEWAY_PORT", "cli": "--port"},
    "gateway.bind": {"cli": "--bind"},
    "gateway.auth.mode": {"cli": "--auth"},
    # Default order (flag, then environment, then file). openclaw.md section 8 quotes docs that put
    # the file before the environment for the token, but the observed `gateway run --help` of
    # 2026.9.6 says the --token flag defaults to OPENCLAW_GATEWAY_TOKEN, i.e. env beats the file.
    "gateway.auth.token": {"env": "OPENCLAW_GATEWAY_TOKEN", "cli": "--token"},
    "gateway.auth.password": {"env": "OPENCLAW_GATEWAY_PASSWORD", "cli": "--password"},
    "gateway.tailscale.mode": {"cli": "--tailscale"},
    "gateway.handshakeTimeoutMs": {"env": "OPENCLAW_HANDSHAKE_TIMEOUT_MS"},
}

# Value attributes set on existing keys (applied before factoring, so they travel with types).
DEFAULTS: dict[str, object] = {
    "gateway.port": 18789,
    "gateway.bind": "loopback",
    "gateway.auth.rateLimit.maxAttempts": 10,
    "gateway.auth.rateLimit.windowMs": 60000,
    "gateway.auth.rateLimit.lockoutMs": 300000,
    "gateway.auth.rateLimit.exemptLoopback": True,
    "gateway.controlUi.enabled": True,
    "gateway.controlUi.dangerouslyDisableDeviceAuth": False,
    "gateway.allowRealIpFallback": False,
    "gateway.tls.enabled": False,
    "gateway.tls.autoGenerate": False,
    "gateway.http.endpoints.chatCompletions.enabled": False,
    "gateway.push.apns.relay.timeoutMs": 10000,
    "hooks.path": "/hooks",
    "hooks.maxBodyBytes": 262144,
    "hooks.allowRequestSessionKey": False,
    "logging.consoleLevel": "info",
    "logging.maxFileBytes": 524288000,
    "env.shellEnv.timeoutMs": 15000,
    "discovery.mdns.mode": "minimal",
}

# Keys 2026.9.6's schema does not have but we accept (openclaw.md, "Deliberate supersets").
# path -> node; `superset: true` is added by add_supersets().
SUPERSETS: dict[str, dict] = {
    "gateway.reload.mode": {"type": "enum", "values": ["off", "hot", "restart", "hybrid"], "default": "hybrid",
                            "doc": "How a changed config file is applied: not at all, hot only, by restarting, or hot with a restart when needed."},
    "gateway.reload.debounceMs": {"type": "integer", "min": 0, "default": 300,
                                  "doc": "Quiet time after the last file change before the reload runs."},
    "gateway.handshakeTimeoutMs": {"type": "integer", "min": 1, "default": 15000,
                                   "doc": "How long a new WebSocket may take to complete the connect handshake."},
    "env.*": {"type": "string",
              "doc": "An inline environment variable, applied only when the process environment lacks it."},
}
# Attributes the supersets add to their parent.
SUPERSET_PARENT_ATTRS: dict[str, dict] = {
    "env": {"keyPattern": r"^[A-Z_][A-Z0-9_]*$"},
}

# Legacy keys, built in add_legacy(). 2026.9.6 rejects `agent` and `identity` (so they are also
# supersets) but still accepts `agents.list` with a migration warning (openclaw.md O7).
LEGACY_REJECTED_BY_2026_9_6 = {"agent", "identity"}
LEGACY: dict[str, dict] = {
    "agent": {"to": "agents.defaults", "note": "The single-agent defaults moved under agents.defaults."},
    "identity": {"to": "agents.entries.*.identity", "note": "Moves to the identity of the default agent's entry."},
    "agents.list": {"to": "agents.entries", "note": "List entries become agents.entries keyed by their id."},
}

# Last path segments whose string values are credentials (`secret: true`).
SECRET_NAME = re.compile(r"(?i)(?:^|[a-z])(?:token|password|secret|apikey|privatekey|passphrase|clientkey|encryptkey)$")

# Types that must exist even where the shape occurs only once in the key list (readable Rust
# names for the shapes the runtime works with). Channel accounts are added by add_forced_types().
FORCED_TYPES = {
    "agents.defaults": "AgentDefaults",
    "agents.entries.*": "AgentEntry",
    "models.providers.*": "ModelProvider",
    "models.providers.*.models[]": "ModelEntry",
}
CHANNEL_NAMES = {"qa-channel": "QaChannel", "nextcloud-talk": "NextcloudTalk", "synology-chat": "SynologyChat",
                 "googlechat": "GoogleChat", "imessage": "Imessage", "msteams": "MsTeams", "whatsapp": "WhatsApp",
                 "zalouser": "ZaloUser", "clickclack": "ClickClack"}

# Hand-picked type names. Key: the config path of the first place the shape occurs (after
# renaming), or the automatic name. Value: the name to use.
TYPE_NAMES: dict[str, str] = {}

# Docs for named types, by final name.
TYPE_DOCS: dict[str, str] = {}

# Docs for config paths.
DOCS: dict[str, str] = {}

# Fixes for facts the spec format cannot carry as-is.
DROP_FORMATS = {"starts_with"}  # a zod artefact; the accompanying pattern already says it

# (docs, names and type docs are filled in at the end of the file)


# ============================================================================================
# Tree model
# ============================================================================================

class Node:
    __slots__ = ("attrs", "kids", "meta")

    def __init__(self, attrs: dict | None = None):
        self.attrs: dict = attrs if attrs is not None else {}
        self.kids: dict[str, Node] = {}  # segment -> child; segments: "name", "*", "[]", "<N>"
        self.meta: dict = {}

    def add(self, seg: str, node: "Node") -> "Node":
        if seg in self.kids:
            raise ValueError(f"duplicate child {seg}")
        self.kids[seg] = node
        return node

    def ordered(self):
        items = list(self.kids.items())
        if items and all(s.startswith("<") for s, _ in items):
            items.sort(key=lambda kv: int(kv[0][1:-1]))
        return items

    def walk(self, prefix: str = ""):
        """Yields (path, node) for this subtree (self first, depth-first, declaration order)."""
        yield prefix, self
        for seg, kid in self.ordered():
            yield from kid.walk(join(prefix, seg))

    def size(self) -> int:
        return 1 + sum(k.size() for k in self.kids.values())


SEG_RE = re.compile(r"\[\]|<(?:anyOf|oneOf)?(\d+)>|\.?([^.\[<]+)")


def split(path: str) -> list[str]:
    segs, pos = [], 0
    while pos < len(path):
        m = SEG_RE.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad path {path!r}")
        if m.group(0) == "[]":
            segs.append("[]")
        elif m.group(1) is not None:
            segs.append(f"<{m.group(1)}>")
        else:
            segs.append(m.group(2))
        pos = m.end()
    return segs


def join(prefix: str, seg: str) -> str:
    if seg == "[]" or seg.startswith("<"):
        return prefix + seg
    return f"{prefix}.{seg}" if prefix else seg


def join_all(segs) -> str:
    out = ""
    for s in segs:
        out = join(out, s)
    return out


def rename(path: str) -> str:
    """Key-list path -> spec path (`<anyOf2>` -> `<2>`)."""
    return re.sub(r"<(?:anyOf|oneOf)(\d+)>", r"<\1>", path)


def get(root: Node, path: str) -> Node | None:
    node = root
    for s in split(path) if path else []:
        node = node.kids.get(s)
        if node is None:
            return None
    return node


def ensure_parent(root: Node, path: str) -> tuple[Node, str]:
    segs = split(path)
    parent = get(root, join_all(segs[:-1]))
    if parent is None:
        raise KeyError(f"parent of {path} missing")
    return parent, segs[-1]


# ============================================================================================
# 1. Conversion of key-list rows
# ============================================================================================

def pascal(s: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", s)
    out = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if out and out[0].isdigit():
        out = "T" + out
    return out


def is_secret_ref_oneof(v: dict) -> bool:
    vs = v.get("oneOf")
    return (isinstance(vs, list) and len(vs) == 4 and all(
        x.get("type") == "object" and sorted(x.get("properties", [])) == ["id", "provider", "source"]
        for x in vs))


def is_secret_input(s: dict) -> bool:
    vs = s.get("anyOf")
    return (isinstance(vs, list) and len(vs) == 2 and vs[0] == {"type": "string"}
            and is_secret_ref_oneof(vs[1]))


def scalar_const_values(v: dict):
    """Values if `v` is a const/enum of scalars with nothing else, else None."""
    extra = set(v) - {"type", "const", "enum"}
    if extra:
        return None
    if "const" in v:
        vals = [v["const"]]
    elif "enum" in v:
        vals = list(v["enum"])
    else:
        return None
    if all(isinstance(x, (str, int, float, bool)) for x in vals):
        return vals
    return None


def combine_patterns(pats: list[str]) -> str:
    pats = [p for i, p in enumerate(pats) if p not in pats[:i]]
    if len(pats) == 1:
        return pats[0]
    # All patterns must match somewhere: one anchored lookahead per pattern.
    return "^" + "".join(f"(?=[\\s\\S]*?(?:{p}))" for p in pats)


def merge_allof(s: dict, path: str) -> dict:
    """Folds `allOf` members that only add constraints of the same type into one schema."""
    s = dict(s)
    members = s.pop("allOf")
    patterns = [s["pattern"]] if "pattern" in s else []
    leftovers = []
    simple_keys = {"type", "format", "pattern", "minLength", "maxLength"}
    for m in members:
        if set(m) <= simple_keys and m.get("type", s.get("type")) == s.get("type", m.get("type")):
            for k, v in m.items():
                if k == "pattern":
                    patterns.append(v)
                elif k == "type":
                    s.setdefault("type", v)
                else:
                    s[k] = v
        else:
            leftovers.append(m)
    if patterns:
        s["pattern"] = combine_patterns(patterns)
    if leftovers:
        kinds = sorted({k for m in leftovers for k in m})
        note(path, f"allOf with {'/'.join(kinds)} (cross-field rules) is not expressible; only the object structure is kept")
        s["_unchecked_allof"] = leftovers
    return s


def scalar_attrs(s: dict, t: str, path: str) -> dict:
    a: dict = {}
    if t == "string":
        for k in ("minLength", "maxLength", "pattern"):
            if k in s:
                a[k] = s[k]
        if "format" in s:
            if s["format"] in DROP_FORMATS:
                note(path, f"format {s['format']!r} dropped (zod artefact; the pattern expresses it)")
            else:
                a["format"] = s["format"]
    elif t in ("integer", "number"):
        lo, hi = s.get("minimum"), s.get("maximum")
        xlo, xhi = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
        if t == "integer":
            if lo == -MAX_SAFE:
                lo = None
            if hi == MAX_SAFE:
                hi = None
            if isinstance(xlo, (int, float)) and float(xlo).is_integer():
                cand = int(xlo) + 1
                lo = cand if lo is None else max(lo, cand)
                xlo = None
            if isinstance(xhi, (int, float)) and float(xhi).is_integer():
                cand = int(xhi) - 1
                hi = cand if hi is None else min(hi, cand)
                xhi = None
        if lo is not None:
            a["min"] = lo
        if hi is not None:
            a["max"] = hi
        if xlo is not None:
            a["exclusiveMin"] = xlo
        if xhi is not None:
            a["exclusiveMax"] = xhi
    return a


class Importer:
    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.row_paths = {r["path"] for r in rows}
        self.root = Node({"type": "object"})
        self.absorbed: list[str] = []  # key-list path prefixes whose rows a leaf node covers
        self.skipped_rows: list[str] = []

    # -- schema fragment -> node (recursively for inline parts) --------------------------------
    def build(self, s: dict, path: str, key_path: str | None) -> Node:
        """Converts schema `s` at spec path `path`. `key_path` is the key-list path when the
        fragment is a row (its children may come as rows), None for inline summaries."""
        node = Node()
        a = node.attrs
        if "allOf" in s:
            s = merge_allof(s, path)
        if "$ref" in s:
            a["type"] = "any"
            a["doc"] = f"Shaped by the plugin's own schema ({s['$ref']}); not checked here."
            note(path, f"$ref {s['$ref']} into the plugin's $defs kept as an unchecked `any`")
            return node
        if "$defs" in s:
            note(path, "$defs of this plugin schema are only used through $ref (see the `any` nodes below)")
        if is_secret_input(s):
            a["type"] = "SecretInput"
            self.absorb(key_path)
        elif is_secret_ref_oneof(s):
            a["type"] = "SecretRef"
            self.absorb(key_path)
        elif "anyOf" in s or "oneOf" in s:
            self.build_union(node, s, path, key_path)
        elif "const" in s:
            a["type"] = "enum"
            a["values"] = [s["const"]]
        elif "enum" in s:
            a["type"] = "enum"
            a["values"] = list(s["enum"])
        else:
            t = s.get("type")
            if isinstance(t, list):
                if all(x in SCALARS for x in t):
                    a["type"] = "|".join(t)
                else:
                    a["type"] = "union"
                    for i, x in enumerate(t):
                        if x in SCALARS:
                            node.add(f"<{i}>", Node({"type": x}))
                        elif x == "object":
                            node.add(f"<{i}>", Node({"type": "map<any>"}))
                        elif x == "array":
                            node.add(f"<{i}>", Node({"type": "list<any>"}))
            elif t == "object":
                self.build_object(node, s, path, key_path)
            elif t == "array":
                self.build_list(node, s, path, key_path)
            elif t in SCALARS:
                a["type"] = t
                a.update(scalar_attrs(s, t, path))
            elif t is None:
                a["type"] = "any"
                if key_path is not None:
                    self.absorb(key_path)
            else:
                raise ValueError(f"{path}: unknown type {t!r}")
        if "default" in s:
            a["default"] = s["default"]
        if "_unchecked_allof" in s:
            node.meta["unchecked_allof"] = s["_unchecked_allof"]
        known = {"path", "$schema", "type", "properties", "additionalProperties", "const", "minimum", "maximum",
                 "propertyNames", "anyOf", "oneOf", "items", "maxLength", "pattern", "exclusiveMinimum",
                 "exclusiveMaximum", "format", "maxItems", "minLength", "required", "enum", "additionalItems",
                 "minItems", "default", "allOf", "maxProperties", "$defs", "$ref", "minProperties", "uniqueItems",
                 "_unchecked_allof"}
        for k in s:
            if k not in known:
                note(path, f"unhandled schema keyword {k!r}")
        return node

    def absorb(self, key_path: str | None) -> None:
        if key_path is not None:
            self.absorbed.append(key_path)

    def build_union(self, node: Node, s: dict, path: str, key_path: str | None) -> None:
        kw = "anyOf" if "anyOf" in s else "oneOf"
        vs = s[kw]
        a = node.attrs
        consts = [scalar_const_values(v) for v in vs]
        if all(c is not None for c in consts):
            vals: list = []
            for c in consts:
                for x in c:
                    if not any(type(x) is type(y) and x == y for y in vals):
                        vals.append(x)
            a["type"] = "enum"
            a["values"] = vals
            self.absorb(key_path)
            return
        # Any JSON value at all: string | number | boolean | null | unconstrained array | object.
        kinds = [v.get("type") for v in vs]
        if sorted(k for k in kinds if isinstance(k, str)) == sorted(["string", "number", "boolean", "null", "array", "object"]) \
                and all(set(v) <= {"type", "items", "additionalProperties", "propertyNames"} for v in vs) \
                and all(self.unconstrained_container(v, key_path, kw, i) for i, v in enumerate(vs)):
            a["type"] = "any"
            self.absorb(key_path)
            return
        if all(set(v) == {"type"} and isinstance(v["type"], str) and v["type"] in SCALARS for v in vs):
            a["type"] = "|".join(v["type"] for v in vs)
            self.absorb(key_path)
            return
        a["type"] = "union"
        for i, v in enumerate(vs):
            vkey = f"{key_path}<{kw}{i}>" if key_path is not None else None
            if vkey is not None and vkey in self.row_paths:
                continue  # comes as its own row
            sub = join(path, f"<{i}>")
            if path == "secrets.providers.*" and i == 2:
                node.add(f"<{i}>", self.from_flat(SECRET_EXEC_PROVIDER))
                continue
            node.add(f"<{i}>", self.build_inline(v, sub))

    def unconstrained_container(self, v: dict, key_path, kw, i) -> bool:
        t = v.get("type")
        if t == "array":
            if v.get("items") not in ({}, None):
                return False
            item = f"{key_path}<{kw}{i}>[]" if key_path else None
            return item is None or item not in self.row_paths or set(self.row(item)) == {"path"}
        if t == "object":
            if v.get("additionalProperties") != "schema" or v.get("properties"):
                return False
            val = f"{key_path}<{kw}{i}>.*" if key_path else None
            return val is not None and val in self.row_paths and set(self.row(val)) == {"path"}
        return True

    def row(self, key_path: str) -> dict:
        if not hasattr(self, "_by_path"):
            self._by_path = {r["path"]: r for r in self.rows}
        return self._by_path[key_path]

    def build_inline(self, v: dict, path: str) -> Node:
        """A union variant known only from the inline summary of its union."""
        if v.get("type") == "object" and isinstance(v.get("properties"), list):
            node = Node({"type": "object"})
            if v.get("additionalProperties") is not False:
                node.attrs["open"] = True
            req = set(v.get("required") or [])
            for p in v["properties"]:
                kid = Node({"type": "any"})
                if p in req:
                    kid.attrs["required"] = True
                node.add(p, kid)
            note(path, "union variant known only from its summary: fields typed `any`")
            return node
        if "type" not in v and not any(k in v for k in ("anyOf", "oneOf", "const", "enum", "$ref")):
            return Node({"type": "any"})
        return self.build(v, path, None)

    def build_object(self, node: Node, s: dict, path: str, key_path: str | None) -> None:
        a = node.attrs
        props = s.get("properties")
        ap = s.get("additionalProperties", None)
        if isinstance(props, dict):
            raise ValueError(f"{path}: inline property schemas are not expected")
        props = props or []
        if ap == "schema":
            a["type"] = "object" if props else "map"
        elif ap is False:
            a["type"] = "object"
        else:
            # `additionalProperties: true`, or no such keyword: unknown fields are accepted.
            a["type"] = "object"
            a["open"] = True
        pn = s.get("propertyNames")
        if pn and ap == "schema":
            if "pattern" in pn:
                a["keyPattern"] = pn["pattern"]
            if "minLength" in pn:
                a["keyMinLength"] = pn["minLength"]
            if "maxLength" in pn:
                a["keyMaxLength"] = pn["maxLength"]
        for k, n in (("minProperties", "minProperties"), ("maxProperties", "maxProperties")):
            if k in s:
                a[n] = s[k]
        node.meta["props"] = list(props)
        node.meta["required"] = list(s.get("required") or [])
        if ap == "schema" and key_path is None:
            node.add("*", Node({"type": "any"}))

    def build_list(self, node: Node, s: dict, path: str, key_path: str | None) -> None:
        a = node.attrs
        a["type"] = "list"
        for k in ("minItems", "maxItems", "uniqueItems"):
            if k in s:
                a[k] = s[k]
        items = s.get("items")
        if isinstance(items, list):
            # Tuple: items share one shape; minItems/maxItems carry the arity.
            shapes = {json.dumps(i, sort_keys=True) for i in items}
            if len(shapes) != 1:
                note(path, "tuple with differently typed positions; item typed `any`")
                node.add("[]", Node({"type": "any"}))
            else:
                node.add("[]", self.build(items[0], join(path, "[]"), None))
        elif key_path is None or (key_path + "[]") not in self.row_paths:
            node.add("[]", self.build(items or {}, join(path, "[]"), None) if items else Node({"type": "any"}))

    def from_flat(self, flat: dict[str, dict]) -> Node:
        root = Node(dict(flat[""]))
        for rel, attrs in flat.items():
            if rel == "":
                continue
            segs = split("x" + rel)[1:]
            parent = root
            for s in segs[:-1]:
                parent = parent.kids[s]
            parent.add(segs[-1], Node(dict(attrs)))
        return root

    # -- all rows ----------------------------------------------------------------------------
    def run(self) -> Node:
        for r in self.rows:
            kp = r["path"]
            if kp in ("<root>", "$schema"):
                continue
            if any(kp == ab or kp.startswith(ab) and kp[len(ab)] in ".[<" for ab in self.absorbed):
                self.skipped_rows.append(kp)
                continue
            path = rename(kp)
            parent, seg = ensure_parent(self.root, path)
            parent.add(seg, self.build(r, path, kp))
        self.finish_objects(self.root, "")
        return self.root

    def finish_objects(self, node: Node, path: str) -> None:
        """Declared-but-missing properties become `any`; `required` moves onto the fields."""
        props = node.meta.pop("props", None)
        req = node.meta.pop("required", None)
        if props is not None:
            for p in props:
                if p not in node.kids:
                    note(join(path, p), "listed property without a row: typed `any`")
                    node.add(p, Node({"type": "any"}))
        for q in req or []:
            kid = node.kids.get(q)
            if kid is None:
                node.add(q, Node({"type": "any", "required": True}))
                note(join(path, q), "required property without a row: typed `any`")
            elif "default" in kid.attrs:
                # 2026.9.6 accepts the config without it (observed, openclaw.md O7): optional.
                pass
            else:
                kid.attrs["required"] = True
        for seg, kid in list(node.kids.items()):
            self.finish_objects(kid, join(path, seg))


# ============================================================================================
# 2. Overrides on the imported tree
# ============================================================================================

def set_node(root: Node, path: str, attrs: dict) -> Node:
    parent, seg = ensure_parent(root, path)
    if seg in parent.kids:
        parent.kids[seg].attrs = dict(attrs)
        parent.kids[seg].kids = {}
        return parent.kids[seg]
    return parent.add(seg, Node(dict(attrs)))


def apply_overrides(root: Node) -> list[str]:
    """Returns the list of paths that carry path-only attributes (they must stay in config)."""
    log = []
    # Supersets.
    for path, attrs in SUPERSETS.items():
        existing = get(root, path)
        if existing is not None:
            log.append(f"superset replaces imported {path}: {existing.attrs}")
        set_node(root, path, attrs)
    for path, extra in SUPERSET_PARENT_ATTRS.items():
        get(root, path).attrs.update(extra)
    # Defaults (only where the key exists; a missing key is reported).
    for path, value in DEFAULTS.items():
        n = get(root, path)
        if n is None:
            note(path, "default from openclaw.md not applied: 2026.9.6's schema has no such key")
            continue
        n.attrs["default"] = value
    # Secret flags by name.
    mark_secrets(root, "")
    # Legacy keys.
    add_legacy(root)
    return log


def mark_secrets(node: Node, path: str) -> None:
    for seg, kid in node.kids.items():
        p = join(path, seg)
        if seg not in ("*", "[]") and not seg.startswith("<") and SECRET_NAME.search(seg):
            t = kid.attrs.get("type", "")
            stringy = t == "string" or ("string" in t.split("|")) or (
                t == "union" and any(v.attrs.get("type") == "string" for v in kid.kids.values()))
            if stringy:
                kid.attrs["secret"] = True
        mark_secrets(kid, p)


def add_legacy(root: Node) -> None:
    # `agent`: same shape as agents.defaults (the type is forced in factor()).
    agent = copy.deepcopy(get(root, "agents.defaults"))
    agent.attrs.pop("doc", None)
    root.add("agent", agent)
    # `identity`: the per-agent identity shape.
    ident = copy.deepcopy(get(root, "agents.entries.*.identity"))
    root.add("identity", ident)
    # `agents.list`: agent entries as a list, each with its id.
    if get(root, "agents.list") is None:
        lst = get(root, "agents").add("list", Node({"type": "list"}))
        item = copy.deepcopy(get(root, "agents.entries.*"))
        fields = {"id": Node({"type": "string", "minLength": 1, "required": True,
                              "doc": "The agent's id (the key it gets under agents.entries)."})}
        fields.update(item.kids)
        item.kids = fields
        lst.add("[]", item)


# ============================================================================================
# 3. Factoring repeated shapes into named types
# ============================================================================================

FIELD_ATTRS = ("required", "default", "doc", "reload", "env", "cli", "legacy", "superset", "precedence")


class Factorer:
    def __init__(self, root: Node, pinned: set[str]):
        self.root = root
        self.pinned = pinned
        # Paths with a pinned path strictly inside: they must stay expanded in config.
        self.holds_pinned: set[str] = set()
        for p in pinned:
            segs = split(p)
            for i in range(1, len(segs)):
                self.holds_pinned.add(join_all(segs[:i]))
        self.types: dict[str, Node] = {}  # name -> body
        self.type_sites: dict[str, list[str]] = {}  # name -> referencing paths at creation
        self.intern: dict = {}

    def canon(self, node: Node, is_root: bool, memo: dict) -> tuple[int, int]:
        """(shape id, size) of a subtree. The root's field attributes do not count: they stay
        with the place that references the type."""
        key_id = id(node), is_root
        if key_id in memo:
            return memo[key_id]
        ak = node.meta.get("ak")
        if ak is None:
            ak = tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in node.attrs.items() if k != "doc"))
            node.meta["ak"] = ak
        attrs = tuple(kv for kv in ak if kv[0] not in FIELD_ATTRS) if is_root else ak
        kids, size = [], 1
        for seg, k in node.ordered():
            cid, ks = self.canon(k, False, memo)
            kids.append((seg, cid))
            size += ks
        key = (attrs, tuple(kids))
        cid = self.intern.setdefault(key, len(self.intern))
        memo[key_id] = (cid, size)
        return memo[key_id]

    def universe(self):
        """(path, node) for every node of config and of the type bodies (not the type roots)."""
        for p, n in self.root.walk(""):
            if p:
                yield p, n
        for name, body in self.types.items():
            for p, n in body.walk(name):
                if p != name:
                    yield p, n

    def make_type(self, name: str, sites: list[tuple[str, Node]]) -> None:
        first = sites[0][1]
        body = copy.deepcopy(first)
        for k in FIELD_ATTRS:
            body.attrs.pop(k, None)
        body.meta.pop("ak", None)
        # Merge docs from every site (first doc wins per relative position).
        for _, site in sites[1:]:
            for (rp, bn), (_, sn) in zip(body.walk(""), site.walk("")):
                if rp and "doc" not in bn.attrs and "doc" in sn.attrs:
                    bn.attrs["doc"] = sn.attrs["doc"]
        self.types[name] = body
        self.type_sites[name] = [p for p, _ in sites]
        for _, site in sites:
            keep = {k: v for k, v in site.attrs.items() if k in FIELD_ATTRS}
            site.attrs = {"type": name, **keep}
            site.kids = {}
            site.meta.pop("ak", None)

    def run(self, namer) -> None:
        # Forced types first (their shape may occur only once).
        # Innermost first, so an outer forced type refers to the inner one.
        for path, name in sorted(FORCED_TYPES.items(), key=lambda kv: -len(split(kv[0]))):
            node = get(self.root, path)
            sites = [(path, node)]
            if path == "agents.defaults":
                sites.append(("agent", get(self.root, "agent")))
            elig = [(p, n) for p, n in sites if p not in self.holds_pinned]
            # A place with path attributes inside (agents.defaults) keeps its fields; the loop
            # below then shares their pieces with the type.
            if elig:
                self.make_type(name, elig)
        while True:
            memo: dict = {}
            groups: dict[int, list[tuple[str, Node]]] = collections.defaultdict(list)
            sizes: dict[int, int] = {}
            for p, n in self.universe():
                if p in self.holds_pinned:
                    continue
                cid, size = self.canon(n, True, memo)
                if size < 4:
                    continue
                groups[cid].append((p, n))
                sizes[cid] = size
            best = None
            for cid, sites in groups.items():
                if len(sites) < 2:
                    continue
                # Drop sites nested inside other sites of the same shape.
                chosen: list[tuple[str, Node]] = []
                for p, n in sites:
                    if not any(p.startswith(q) and p[len(q)] in ".[<" for q, _ in chosen):
                        chosen.append((p, n))
                if len(chosen) < 2:
                    continue
                score = (sizes[cid], len(chosen))
                if best is None or score > best[0]:
                    best = (score, chosen)
            if best is None:
                break
            chosen = best[1]
            name = namer([p for p, _ in chosen], set(self.types))
            self.make_type(name, chosen)

    def uses(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = collections.defaultdict(list)
        for p, n in self.universe():
            t = n.attrs.get("type", "")
            for w in re.findall(r"[A-Z][A-Za-z0-9]*", t):
                out[w].append(p)
        for name, body in HAND_BODIES.items():
            for p, n in body.walk(name):
                for w in re.findall(r"[A-Z][A-Za-z0-9]*", n.attrs.get("type", "")):
                    out[w].append(p)
        return out


SINGULAR = {
    "accounts": "Account", "providers": "Provider", "entries": "Entry", "servers": "Server",
    "groups": "Group", "channels": "Channel", "personas": "Persona", "guilds": "Guild",
    "definitions": "Definition", "profiles": "Profile", "models": "Model", "mappings": "Mapping",
    "rooms": "Room", "peers": "Peer", "users": "User", "teams": "Team", "spaces": "Space",
    "dms": "Dm", "chats": "Chat", "topics": "Topic", "agents": "Agent", "tools": "Tool",
    "items": "Item", "rules": "Rule", "bindings": "Binding", "routes": "Route", "nodes": "Node",
    "workspaces": "Workspace", "contacts": "Contact", "threads": "Thread", "friends": "Friend",
    "relays": "Relay", "commands": "Command", "skills": "Skill", "hooks": "Hook", "jobs": "Job",
    "presets": "Preset", "apps": "App", "plugins": "Plugin", "tiers": "Tier",
    "tieredPricing": "PricingTier", "stickerSets": "StickerSet", "installs": "Install",
}
GENERIC = {"Config", "Enabled", "Options", "Settings", "Entry", "Item", "Value", "Mode", "Policy", "Default",
           "Defaults", "Auth", "Tls", "Http", "Limits", "Params", "Overrides", "Actions", "Filter", "Rules",
           "Commands", "Oauth", "Codex", "Streaming", "Network", "Dm", "Match", "Transform", "Serve",
           "Search", "Load", "Media", "Images", "Files", "Audio", "Video", "Image", "Sandbox", "Realtime",
           "Status", "Activity", "Capabilities", "Discovery", "Catchup", "Group", "Channel", "Account",
           "Provider", "Server", "Model", "Persona", "Definition", "Profile", "Room", "Tool", "Node"}


def meaningful(path: str) -> list[str]:
    """Trailing path segments turned into name words; map values/list items singularise their
    container (`accounts.*` -> Account)."""
    segs = split(path) if path else []
    words: list[str] = []
    i = len(segs) - 1
    pending_singular = False
    while i >= 0:
        s = segs[i]
        if s in ("*", "[]"):
            pending_singular = True
        elif s.startswith("<"):
            pass
        else:
            w = SINGULAR.get(s) if pending_singular else None
            if pending_singular and w is None:
                w = pascal(s[:-1]) if s.endswith("s") and len(s) > 3 else pascal(s) + ("Item" if segs[i + 1] == "[]" else "Value")
            words.insert(0, w or pascal(s))
            pending_singular = False
        i -= 1
    return words


CONTAINER_WORDS = {"channels", "accounts", "entries", "providers", "plugins", "config", "defaults", "list"}


def make_namer(fac: "Factorer"):
    def config_equiv(path: str) -> str:
        """A path inside a type body, re-expressed at the type's first config site."""
        for _ in range(16):
            head = split(path)[0]
            if head in fac.types or head in HAND_BODIES:
                site = FORCED_SITE.get(head) or (fac.type_sites.get(head) or [head])[0]
                if site == path:
                    break
                path = site + path[len(head):]
            else:
                break
        return path

    def namer(sites: list[str], taken: set[str]) -> str:
        eq = [config_equiv(p) for p in sites]
        if eq[0] in TYPE_NAMES:
            name = TYPE_NAMES[eq[0]]
        else:
            lists = [meaningful(p) for p in eq]
            common: list[str] = []
            for ws in zip(*[list(reversed(l)) for l in lists]):
                if all(w == ws[0] for w in ws):
                    common.insert(0, ws[0])
                else:
                    break
            words = common or lists[0] or ["Shape"]
            # Context shared by all sites (e.g. the channel): channels.telegram.groups and
            # channels.telegram.accounts.*.groups -> TelegramGroups.
            segs = [split(p) for p in eq]
            prefix = []
            for col in zip(*segs):
                if all(c == col[0] for c in col):
                    prefix.append(col[0])
                else:
                    break
            ctx = [pascal(c) for c in prefix if c not in ("*", "[]") and not c.startswith("<")
                   and c not in CONTAINER_WORDS]
            name = words[-1]
            n = 1
            while name in GENERIC or name in taken or len(name) < 4:
                if ctx and not name.startswith(ctx[-1]) and ctx[-1] not in words[-n:]:
                    name = ctx[-1] + name
                    if name not in taken:
                        break
                if n < len(words):
                    n += 1
                    name = "".join(words[-n:])
                else:
                    break
            name = TYPE_NAMES.get(name, name)
        base, k = name, 2
        while name in taken or name in HAND_TYPES:
            name = f"{base}{k}"
            k += 1
        return name
    return namer


FORCED_SITE: dict[str, str] = {}


def add_forced_types(root: Node) -> None:
    """Channel accounts (`channels.<id>.accounts.*`) become `<Channel>Account` types."""
    channels = root.kids["channels"]
    for cid, ch in channels.kids.items():
        holders = [(f"channels.{cid}", ch)] + [(f"channels.{cid}{s}", v) for s, v in ch.kids.items() if s.startswith("<")]
        for hp, holder in holders:
            acc = holder.kids.get("accounts")
            if acc is None or "*" not in acc.kids:
                continue
            val = acc.kids["*"]
            if val.attrs.get("type") not in ("object", "union") or val.size() < 4:
                continue
            name = CHANNEL_NAMES.get(cid, pascal(cid)) + "Account"
            FORCED_TYPES[f"{hp}.accounts.*"] = name
            TYPE_DOCS.setdefault(name, f"One {CHANNEL_NAMES.get(cid, pascal(cid))} account, keyed by account id under "
                                       f"channels.{cid}.accounts; it carries the account's own login and overrides.")
    FORCED_SITE.update({name: path for path, name in FORCED_TYPES.items()})


def inline_small_types(root: Node, fac: "Factorer", keep: set[str]) -> list[str]:
    """Puts back types that shrank to almost nothing once their pieces became types of their
    own (<= 2 nodes, or 3 nodes used only twice): they read better inline."""
    gone = []
    changed = True
    while changed:
        changed = False
        uses = fac.uses()
        for name in list(fac.types):
            size = fac.types[name].size()
            if name in keep or not (size <= 2 or (size == 3 and len(uses.get(name, [])) <= 2)):
                continue
            body = fac.types.pop(name)
            gone.append(name)
            changed = True
            trees = [root] + list(fac.types.values())
            for t in trees:
                for _, n in list(t.walk("")):
                    if n.attrs.get("type") == name and not n.kids:
                        keep_attrs = {k: v for k, v in n.attrs.items() if k in FIELD_ATTRS}
                        clone = copy.deepcopy(body)
                        n.attrs = {**clone.attrs, **keep_attrs}
                        n.kids = clone.kids
                    elif name in re.findall(r"[A-Z][A-Za-z0-9]*", n.attrs.get("type", "")):
                        raise ValueError(f"cannot inline {name} used in shorthand {n.attrs['type']}")
            break
    return gone


# ============================================================================================
# 4. Shorthands
# ============================================================================================

SIMPLE_WORD = re.compile(r"^(?:string|integer|number|boolean|null|any|[A-Z][A-Za-z0-9]*)$")


def shorthand(node: Node) -> None:
    for kid in node.kids.values():
        shorthand(kid)
    t = node.attrs.get("type")
    if t in ("list", "map") and len(node.kids) == 1:
        seg = "[]" if t == "list" else "*"
        kid = node.kids.get(seg)
        if kid is not None and not kid.kids and set(kid.attrs) == {"type"} and SIMPLE_WORD.match(kid.attrs["type"]):
            node.attrs["type"] = f"{t}<{kid.attrs['type']}>"
            node.kids = {}


# ============================================================================================
# 5. Discriminators, path attributes, output
# ============================================================================================

def resolve_type(n: Node, types: dict[str, Node]) -> Node:
    seen = 0
    while seen < 32 and re.fullmatch(r"[A-Z][A-Za-z0-9]*", n.attrs.get("type", "")):
        n = types.get(n.attrs["type"]) or HAND_BODIES.get(n.attrs["type"]) or n
        seen += 1
    return n


HAND_BODIES: dict[str, Node] = {}


def add_discriminators(node: Node, types: dict[str, Node]) -> None:
    for kid in node.kids.values():
        add_discriminators(kid, types)
    if node.attrs.get("type") != "union" or "discriminator" in node.attrs:
        return
    variants = [resolve_type(v, types) for _, v in node.ordered()]
    if not variants or any(v.attrs.get("type") != "object" for v in variants):
        return
    common = [k for k in variants[0].kids if all(k in v.kids for v in variants)]
    for prop in sorted(common, key=lambda k: (k not in ("source", "kind", "type", "mode"), common.index(k))):
        sets = []
        for v in variants:
            pn = resolve_type(v.kids[prop], types)
            if pn.attrs.get("type") != "enum":
                break
            sets.append(pn.attrs["values"])
        else:
            flat = [json.dumps(x) for s in sets for x in s]
            if len(flat) == len(set(flat)):
                node.attrs["discriminator"] = prop
                return


def apply_path_attrs(root: Node) -> None:
    for path, cls in RELOAD.items():
        n = get(root, path)
        if n is None:
            note(path, f"reload class {cls!r} not applied: no such key in 2026.9.6")
            continue
        n.attrs["reload"] = cls
    for seg, kid in root.kids.items():
        kid.attrs.setdefault("reload", DEFAULT_TOP_RELOAD)
    for path, extra in ENV_CLI.items():
        n = get(root, path)
        if n is None:
            note(path, f"env/cli binding {extra} not applied: no such key")
            continue
        n.attrs.update(extra)
    for path in SUPERSETS:
        get(root, path).attrs["superset"] = True
    for path, leg in LEGACY.items():
        get(root, path).attrs["legacy"] = dict(leg)
        if path in LEGACY_REJECTED_BY_2026_9_6:
            get(root, path).attrs["superset"] = True


def apply_docs(root: Node, types: dict[str, Node]) -> list[str]:
    missing = []
    for path, doc in DOCS.items():
        n = get(root, path)
        if n is None:
            # The path may lie inside a named type: put the doc on the type's node.
            n = find_in_types(root, path, types)
        if n is None:
            missing.append(path)
            continue
        n.attrs["doc"] = doc
    for name, body in types.items():
        if name in TYPE_DOCS:
            body.attrs["doc"] = TYPE_DOCS[name]
    return missing


def find_in_types(root: Node, path: str, types: dict[str, Node]) -> Node | None:
    node = root
    for s in split(path):
        node = resolve_type(node, types)
        nxt = node.kids.get(s)
        if nxt is None:
            return None
        node = nxt
    return node


ATTR_ORDER = ["type", "required", "values", "min", "max", "exclusiveMin", "exclusiveMax", "minLength", "maxLength",
              "pattern", "format", "minItems", "maxItems", "uniqueItems", "keyPattern", "keyMinLength", "keyMaxLength",
              "minProperties", "maxProperties", "open", "discriminator", "default", "secret", "env", "cli",
              "precedence", "reload", "legacy", "superset", "doc"]


def j5(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k}: {j5(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(j5(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=True)


def entry(path: str, attrs: dict) -> str:
    keys = sorted(attrs, key=lambda k: ATTR_ORDER.index(k) if k in ATTR_ORDER else 99)
    for k in keys:
        if k not in ATTR_ORDER:
            raise ValueError(f"{path}: unknown attribute {k}")
    body = ", ".join(f"{k}: {j5(attrs[k])}" for k in keys)
    return f"  {json.dumps(path)}: {{ {body} }},"


HEADER = """\
// spec/{file} — the spec source of truth for {what} (see spec/README.md).
// First imported from the OpenClaw 2026.9.6 config key list by spec/tools/import_keys.py,
// edited by hand since: edit this file directly; re-running the importer is not part of the build.
"""


def render(entries: list[tuple[str, dict]], file: str, what: str) -> str:
    out = [HEADER.format(file=file, what=what), "{"]
    out += [entry(p, a) for p, a in entries]
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=DEFAULT_SRC)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--report", action="store_true", help="print what could not be expressed and the type table")
    args = ap.parse_args(argv)

    rows = [json.loads(l) for l in open(args.src, encoding="utf-8") if l.strip()]
    imp = Importer(rows)
    root = imp.run()
    override_log = apply_overrides(root)

    pinned = set(RELOAD) | set(ENV_CLI) | set(SUPERSETS) | set(LEGACY)
    pinned = {p for p in pinned if get(root, p) is not None}
    # Top-level keys always carry a reload class.
    pinned |= set(root.kids)
    shorthand(root)
    add_forced_types(root)
    fac = Factorer(root, pinned)
    fac.run(make_namer(fac))
    inlined = inline_small_types(root, fac, set(FORCED_TYPES.values()))
    types = fac.types
    for body in types.values():
        shorthand(body)
    shorthand(root)

    # Hand-written types as trees (for discriminator lookups).
    for name in HAND_TYPES:
        if not re.search(r"[.\[<]", name):
            HAND_BODIES[name] = build_flat_tree(HAND_TYPES, name)
    add_discriminators(root, types)
    for body in types.values():
        add_discriminators(body, types)
    apply_path_attrs(root)
    missing_docs = apply_docs(root, types)

    # Move the legacy top-level keys to the end of the root.
    for k in ("agent", "identity"):
        root.kids[k] = root.kids.pop(k)

    cfg_entries = [(p, n.attrs) for p, n in root.walk("") if p]
    type_entries = list(HAND_TYPES.items())
    uses = fac.uses()
    # Hand-written types first, then the imported ones by name.
    for name in sorted(types):
        type_entries += [(p, n.attrs) for p, n in types[name].walk(name)]

    with open(os.path.join(args.out, "config.json5"), "w", encoding="utf-8") as f:
        f.write(render(cfg_entries, "config.json5", "every config key"))
    with open(os.path.join(args.out, "types.json5"), "w", encoding="utf-8") as f:
        f.write(render(type_entries, "types.json5", "the named config types"))

    print(f"config entries: {len(cfg_entries)}; types: {len(HAND_BODIES) + len(types)} "
          f"({len(type_entries)} entries); key-list rows absorbed by leaf nodes: {len(imp.skipped_rows)}")
    if args.report:
        for l in override_log:
            print("override:", l)
        print("\n== named types (uses) ==")
        for name in list(HAND_BODIES) + list(types):
            u = uses.get(name, [])
            print(f"{name}: {len(u)} uses, {types[name].size() if name in types else '-'} nodes; {', '.join(u[:6])}")
        print("inlined again (too small after inner factoring):", ", ".join(inlined))
        print("\n== not expressed faithfully ==")
        for p, w in UNFAITHFUL:
            print(f"{p}: {w}")
        if missing_docs:
            print("\n== doc paths not found ==")
            for p in missing_docs:
                print(p)
        print("\n== top-level keys without doc ==")
        for k, n in root.kids.items():
            if "doc" not in n.attrs:
                print(k)
        print("\n== types without doc ==")
        for name, body in types.items():
            if "doc" not in body.attrs:
                print(name, fac.type_sites.get(name, [])[:2])
    return 0


def build_flat_tree(flat: dict[str, dict], name: str) -> Node:
    root = Node(dict(flat[name]))
    for path, attrs in flat.items():
        if path == name or not (path.startswith(name + ".") or path.startswith(name + "<") or path.startswith(name + "[")):
            continue
        segs = split(path)[1:]
        parent = root
        for s in segs[:-1]:
            parent = parent.kids[s]
        parent.add(segs[-1], Node(dict(attrs)))
    return root


# ============================================================================================
# OVERRIDES (continued): type names and docs
# ============================================================================================

TYPE_NAMES.update({
    "agents.list[].tools": "AgentTools",
    "channels.discord.voice": "DiscordVoice",
    "agents.defaults.sandbox": "AgentSandbox",
    "tools.media.image": "MediaUnderstanding",
    "channels.discord.guilds": "DiscordGuilds",
    "memory.search": "MemorySearch",
    "tools.media.models[].request": "ProviderRequest",
    "tools.exec": "ExecTool",
    "channels.telegram.direct": "TelegramDirectChats",
    "nodeHost.mcp.servers": "McpServers",
    "channels.telegram.groups": "TelegramGroups",
    "agents.list[].tts": "AgentTts",
    "tts": "TtsSettings",
    "channels.slack.streaming": "SlackStreaming",
    "channels.slack.channels": "SlackChannels",
    "agents.defaults.compaction": "Compaction",
    "channels.discord.streaming": "ChannelStreaming",
    "channels.matrix.groups": "MatrixRooms",
    "channels.mattermost.streaming": "MattermostStreaming",
    "models.providers.*.request.proxy": "ProviderRequestProxy",
    "channels.discord.actions": "DiscordActions",
    "agents.defaults.mediaModels": "MediaModels",
    "plugins.entries.a2a": "PluginEntry",
    "channels.signal.transport": "SignalTransport",
    "agents.defaults.heartbeat": "Heartbeat",
    "tools.codeMode": "CodeMode",
    "channels.irc.groups": "IrcGroups",
    "agents.defaults.subagents": "SubagentDefaults",
    "agents.list[].heartbeat": "AgentHeartbeat",
    "channels.feishu.tts": "FeishuTts",
    "channels.feishu.groups": "FeishuGroups",
    "channels.imessage.groups": "ChatGroups",
    "channels.imessage.actions": "ImessageActions",
    "channels.signal.groups": "SignalGroups",
    "channels.telegram.direct.*.topics": "TelegramTopics",
    "tools.message": "MessageTool",
    "channels.clickclack.groups": "ClickclackGroups",
    "channels.googlechat.groups": "GooglechatGroups",
    "channels.qa-channel.groups": "QaChannelGroups",
    "models.providers.*.request.auth": "ProviderRequestAuth",
    "approvals.exec": "ApprovalForwarding",
    "channels.nextcloud-talk.rooms": "NextcloudTalkRooms",
    "agents.defaults.models": "ModelCatalog",
    "tools.media.audio.scope": "ScopeRules",
    "agents.list[].subagents": "AgentSubagents",
    "agents.list[].runtime": "AgentRuntime",
    "agents.list[].tts.personas": "TtsPersonas",
    "channels.matrix.execApprovals": "ChannelExecApprovals",
    "agents.defaults.contextPruning": "ContextPruning",
    "tools.swarm": "SwarmTool",
    "bindings[]<0>.match": "BindingMatch",
    "channels.discord.execApprovals": "DiscordExecApprovals",
    "channels.feishu.streaming": "FeishuStreaming",
    "channels.matrix.streaming.progress": "StreamingProgress",
    "channels.mattermost.commands": "MattermostCommands",
    "channels.slack.actions": "SlackActions",
    "channels.telegram.actions": "TelegramActions",
    "agents.list[].tts.modelOverrides": "TtsModelOverrides",
    "channels.googlechat.streaming": "BlockStreaming",
    "agents.defaults.startupContext": "StartupContext",
    "channels.feishu.tools": "FeishuTools",
    "channels.line.groups": "LineGroups",
    "channels.zalouser.groups": "ZalouserGroups",
    "channels.discord.commands": "NativeCommands",
    "models.providers.*.request.tls": "ProviderRequestTls",
    "models.providers.*.models[].compat.openRouterRouting.preferred_min_throughput": "RoutingPercentiles",
    "agents.defaults.embeddedAgent": "EmbeddedAgent",
    "channels.buzz.groups": "BuzzGroups",
    "channels.irc.nickserv": "IrcNickserv",
    "gateway.http.endpoints.chatCompletions.images": "HttpImageInput",
    "channels.slack.streaming.preview": "StreamingPreview",
    "plugins.entries.active-memory.hooks": "PluginHookPolicy",
    "plugins.entries.active-memory.llm": "PluginLlmPolicy",
    "agents.defaults.imageModel": "TimedModelChoice",
    "session.threadBindings": "ThreadBindings",
    "channels.matrix.streaming.block": "StreamingBlock",
    "browser.ssrfPolicy": "SsrfPolicy",
    "tools.byProvider": "ToolPolicyByProvider",
    "tools.github": "GithubTool",
    "channels.imessage.catchup": "ImessageCatchup",
    "channels.line.threadBindings": "LineThreadBindings",
    "channels.defaults.botLoopProtection": "BotLoopProtection",
    "agents.defaults.model": "ModelChoice",
    "agents.list[].identity": "AgentIdentity",
    "channels.telegram.autoTopicLabel": "TelegramAutoTopicLabel",
    "tools.elevated": "ElevatedTool",
    "channels.clickclack.discussions": "ClickclackDiscussions",
    "channels.discord.intents": "DiscordIntents",
    "channels.mattermost.dmChannelRetry": "MattermostDmRetry",
    "channels.qa-channel.actions": "QaChannelActions",
    "channels.slack.slashCommand": "SlackSlashCommand",
    "channels.slack.dm": "SlackDm",
    "channels.defaults.heartbeatVisibility": "HeartbeatVisibility",
    "channels.msteams.teams.*.tools": "ToolPolicy",
    "channels.discord.mentionPatterns": "MentionPatternPolicy",
    "channels.defaults.implicitMentions": "ImplicitMentions",
    "session.reset": "SessionReset",
    "talk.providers": "ProviderSettings",
    "agents.defaults.humanDelay": "HumanDelay",
    "channels.mattermost.replyToModeByChatType": "ReplyToModeByChatType",
    "agents.defaults.blockStreamingChunk": "BlockStreamingChunk",
    "agents.defaults.blockStreamingCoalesce": "BlockStreamingCoalesce",
    "agents.list[].groupChat": "AgentGroupChat",
    "tools.media.audio.attachments": "MediaAttachments",
    "channels.discord.dm": "DiscordDm",
    "channels.discord.autoPresence": "DiscordAutoPresence",
    "channels.feishu.dms": "FeishuDms",
    "channels.googlechat.serviceAccount": "GooglechatServiceAccount",
    "channels.slack.relay": "SlackRelay",
    "channels.slack.thread": "SlackThread",
    "channels.telegram.capabilities": "TelegramCapabilities",
    "channels.telegram.customCommands": "TelegramCustomCommands",
    "channels.telegram.network": "TelegramNetwork",
    "agents.defaults.heartbeat.activeHours": "ActiveHours",
})


# --- Docs: top-level keys -------------------------------------------------------------------
DOCS.update({
    "meta": "Bookkeeping written by OpenClaw itself (last version that touched the file, finished migrations).",
    "env": "Environment variables the gateway supplies to itself and its tools when the process does not already have them.",
    "wizard": "State recorded by the onboarding wizard about its last run.",
    "diagnostics": "Diagnostic switches: debug flags, OpenTelemetry export and cache tracing.",
    "logging": "Where and how much the gateway logs, and what it redacts.",
    "update": "How the gateway looks for and applies new releases.",
    "telemetry": "Whether anonymous usage telemetry is sent, and when consent was given.",
    "browser": "The managed browser that agents can drive (profiles, CDP endpoint, sandboxing).",
    "ui": "Appearance preferences for the Control UI and native apps.",
    "secrets": "Secret providers that SecretRef values are resolved through, and their defaults.",
    "auth": "Model-provider credential profiles and the order in which they are tried.",
    "accessGroups": "Named groups of people, defined by channel membership or explicit sender lists, usable in access rules.",
    "acp": "Agent Client Protocol bridging: which external coding agents may run and how their output streams.",
    "models": "Model providers, their endpoints and credentials, and the model catalog they offer.",
    "nodeHost": "Settings for this machine when it acts as a node host for a remote gateway.",
    "agents": "Agent defaults and the individually configured agents.",
    "worktreeRoot": "Directory under which per-task git worktrees are created.",
    "worktreeAcceleration": "Whether git worktrees are prepared ahead of time to speed up new tasks.",
    "tools": "Which tools agents may use and how each built-in tool behaves.",
    "security": "Security auditing and the policy for installing skills and plugins.",
    "bindings": "Rules that route inbound conversations to specific agents.",
    "broadcast": "Fan-out groups that deliver one inbound message to several agents.",
    "attachments": "Retention of files received as message attachments.",
    "messages": "How replies are formatted, acknowledged, queued and debounced.",
    "tts": "Text-to-speech: when replies are spoken and by which provider and voice.",
    "commands": "Chat commands (slash commands, bash, config edits) and who may use them.",
    "approvals": "Forwarding of exec and plugin approval requests to chat targets.",
    "session": "How conversations map to sessions, when sessions reset, and where they are stored.",
    "cron": "Scheduled jobs and their webhook triggers.",
    "transcripts": "Recording of conversation transcripts.",
    "hooks": "Inbound webhooks that wake agents or start agent runs, plus the Gmail watcher and internal hooks.",
    "channels": "Messaging channels (Telegram, Discord, Slack, WhatsApp, ...) and their accounts; other keys name plugin channels and must match an installed channel plugin.",
    "discovery": "How the gateway advertises itself on the local network and over wide-area DNS.",
    "talk": "Voice conversation mode: speech providers, realtime sessions and turn taking.",
    "gateway": "The gateway server itself: port, bind address, authentication, HTTP endpoints and remote access.",
    "cloudWorkers": "Cloud worker profiles used to run agent tasks on remote machines.",
    "desktop": "Desktop host integration settings.",
    "memory": "Long-term memory: citation style and semantic search over memory files and sessions.",
    "mcp": "Model Context Protocol servers offered to agents, and MCP app hosting.",
    "skills": "Which skills are loaded, installed and enabled, with their per-skill settings.",
    "plugins": "Plugin loading, allow and deny lists, slot assignments and per-plugin settings.",
    "surfaces": "Per-surface presentation settings, keyed by surface id.",
    "proxy": "An outbound HTTP proxy for the gateway's own network requests.",
    "agent": "Old single-agent settings; accepted and moved to agents.defaults by doctor --fix.",
    "identity": "Old top-level agent identity; accepted and moved to the default agent's identity by doctor --fix.",
    "agents.list": "Old list form of the agent entries; accepted and converted to agents.entries by doctor --fix.",
})

# Cross-field rules of plugin schemas that the spec format cannot state (allOf with not / if-then).
DOCS.update({
    "plugins.entries.memory-wiki.config": "Settings of the memory-wiki plugin; OpenClaw also rejects an agent-scoped vault combined with unsafe-local mode or with the official Obsidian CLI, which is not checked here.",
    "plugins.entries.onepassword.config": "Settings of the 1Password plugin; OpenClaw also requires vault and items to be given together, which is not checked here.",
})

# --- Docs: gateway ----------------------------------------------------------------------------
DOCS.update({
    "gateway.port": "TCP port for the WebSocket and HTTP listener.",
    "gateway.mode": "Whether this machine runs the gateway (local) or connects to one elsewhere (remote); the server only starts in local mode.",
    "gateway.bind": "Which interfaces the listener binds to: loopback only, the LAN, the tailnet, a custom host, or chosen automatically.",
    "gateway.customBindHost": "IPv4 address to bind when bind is custom.",
    "gateway.publicOrigin": "The externally visible origin of the gateway, used when building links and checking origins.",
    "gateway.portals": "Public portal settings for reaching the gateway through an ingress.",
    "gateway.portals.ingress": "The ingress domain and port the portal is published on.",
    "gateway.portals.ingress.domain": "Domain name the ingress answers on.",
    "gateway.portals.ingress.port": "Port the ingress answers on.",
    "gateway.controlUi": "The browser-based Control UI served by the gateway.",
    "gateway.controlUi.dangerouslyDisableDeviceAuth": "Skips device pairing for Control UI sessions; only for trusted, isolated setups.",
    "gateway.controlUi.enabled": "Serve the Control UI from the gateway.",
    "gateway.controlUi.basePath": "URL path prefix under which the Control UI is served.",
    "gateway.controlUi.experimental": "Experimental Control UI features.",
    "gateway.controlUi.experimental.customPlugins": "Let the Control UI load custom UI plugins.",
    "gateway.controlUi.root": "Directory of Control UI assets to serve instead of the bundled ones.",
    "gateway.controlUi.environment": "A label and colour badge shown in the Control UI to tell environments apart.",
    "gateway.controlUi.environment.label": "Short text of the environment badge.",
    "gateway.controlUi.environment.color": "Colour of the environment badge.",
    "gateway.controlUi.communityInvite": "Show the community invite in the Control UI.",
    "gateway.controlUi.github": "GitHub access used by Control UI features.",
    "gateway.controlUi.github.token": "GitHub token the Control UI uses for its GitHub features.",
    "gateway.controlUi.sessionObserver": "Enable the live session observer view.",
    "gateway.controlUi.embedSandbox": "How strictly embedded content is sandboxed in the Control UI.",
    "gateway.controlUi.allowExternalEmbedUrls": "Allow embedding content from external URLs in the Control UI.",
    "gateway.controlUi.automaticallyFetchFavicons": "Fetch site favicons automatically for links shown in the Control UI.",
    "gateway.controlUi.allowedOrigins": "Extra browser origins allowed to open Control UI WebSocket sessions.",
    "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback": "Accept the Host header as origin when a browser sends no Origin; weakens cross-site protection.",
    "gateway.cliAgents": "Running CLI coding agents through the gateway.",
    "gateway.cliAgents.enabled": "Allow CLI agent sessions on this gateway.",
    "gateway.terminal": "The remote terminal feature.",
    "gateway.terminal.enabled": "Allow terminal sessions through the gateway.",
    "gateway.terminal.shell": "Shell started for terminal sessions.",
    "gateway.terminal.detachedSessionTimeoutSeconds": "How long a terminal session survives with no client attached.",
    "gateway.auth": "How clients authenticate to the gateway.",
    "gateway.auth.mode": "Authentication method; when unset it is inferred from which of token and password is configured.",
    "gateway.auth.token": "Shared token clients present to connect.",
    "gateway.auth.password": "Shared password clients present to connect.",
    "gateway.auth.allowTailscale": "Accept Tailscale identity headers as authentication when served through Tailscale.",
    "gateway.auth.identityScopes": "Operator scopes granted to specific authenticated identities.",
    "gateway.auth.identityScopes.*": "Scopes granted to this identity.",
    "gateway.auth.rateLimit": "Lockout after repeated failed authentication attempts.",
    "gateway.auth.rateLimit.maxAttempts": "Failed attempts allowed within the window before a lockout.",
    "gateway.auth.rateLimit.windowMs": "Length of the window in which failures are counted.",
    "gateway.auth.rateLimit.lockoutMs": "How long a client stays locked out.",
    "gateway.auth.rateLimit.exemptLoopback": "Never lock out clients connecting from loopback.",
    "gateway.auth.trustedProxy": "Authentication delegated to a reverse proxy that passes the user in a header.",
    "gateway.auth.trustedProxy.userHeader": "Request header that carries the authenticated user.",
    "gateway.auth.trustedProxy.requiredHeaders": "Headers that must be present for a proxied request to be trusted.",
    "gateway.auth.trustedProxy.allowUsers": "Users the proxy may authenticate; empty means any.",
    "gateway.auth.trustedProxy.allowLoopback": "Also trust proxied requests arriving from loopback.",
    "gateway.auth.trustedProxy.cloudflareAccessOidc": "Verify Cloudflare Access identity tokens instead of trusting the header alone.",
    "gateway.auth.trustedProxy.cloudflareAccessOidc.issuer": "Cloudflare Access team issuer URL.",
    "gateway.auth.trustedProxy.cloudflareAccessOidc.providerId": "Identity provider id configured in Cloudflare Access.",
    "gateway.auth.trustedProxy.cloudflareAccessOidc.githubAccountIdClaim": "Token claim that holds the GitHub account id.",
    "gateway.auth.trustedProxy.deviceAutoApprove": "Approve new devices automatically for proxy-authenticated users.",
    "gateway.auth.trustedProxy.deviceAutoApprove.enabled": "Turn device auto-approval on.",
    "gateway.auth.trustedProxy.deviceAutoApprove.scopes": "Scopes given to auto-approved devices.",
    "gateway.roles": "Role-based access for operators: a default role and the role definitions.",
    "gateway.roles.default": "Role given to operators without an explicit one.",
    "gateway.roles.definitions": "Role definitions keyed by role name.",
    "gateway.roles.definitions.*": "What operators with this role may see and do.",
    "gateway.roles.definitions.*.sessions": "Access to sessions that belong to other operators.",
    "gateway.roles.definitions.*.sessions.others": "Level of access to other operators' sessions.",
    "gateway.roles.definitions.*.sandbox": "Whether this role's agent runs must be sandboxed.",
    "gateway.roles.definitions.*.agents": "Agents the role may use: \"*\" for all, or a list of agent ids.",
    "gateway.roles.definitions.*.scopes": "Operator scopes the role grants.",
    "gateway.roles.definitions.*.accessPolicyPlugin": "Plugin that makes further access decisions for this role.",
    "gateway.trustedProxies": "Addresses of reverse proxies whose forwarded-client headers are believed.",
    "gateway.allowRealIpFallback": "Use X-Real-IP when a trusted proxy sends no X-Forwarded-For.",
    "gateway.tools": "Tool policy for the HTTP tool-invocation endpoint.",
    "gateway.tools.deny": "Tools the HTTP endpoint refuses to invoke.",
    "gateway.tools.allow": "Tools the HTTP endpoint may invoke.",
    "gateway.tailscale": "Exposing the gateway through Tailscale Serve or Funnel.",
    "gateway.tailscale.mode": "Off, Serve (tailnet only) or Funnel (public internet).",
    "gateway.tailscale.preserveFunnel": "Leave an existing Funnel configuration in place on shutdown.",
    "gateway.remote": "How the CLI and apps reach a gateway on another machine; these are client credentials, not server auth.",
    "gateway.remote.url": "WebSocket URL of the remote gateway.",
    "gateway.remote.transport": "Reach the remote gateway through an SSH tunnel or directly.",
    "gateway.remote.remotePort": "Gateway port on the remote host when tunnelling over SSH.",
    "gateway.remote.token": "Token to present to the remote gateway.",
    "gateway.remote.password": "Password to present to the remote gateway.",
    "gateway.remote.edgeAuth": "Extra headers, such as access-proxy service tokens, sent when connecting to the remote gateway.",
    "gateway.remote.tlsFingerprint": "Expected TLS certificate fingerprint of the remote gateway.",
    "gateway.remote.sshTarget": "SSH destination (user@host) for the tunnel.",
    "gateway.remote.sshIdentity": "SSH private key file for the tunnel.",
    "gateway.remote.sshHostKeyPolicy": "Whether unknown SSH host keys are refused or handled as OpenSSH would.",
    "gateway.reload": "How edits to the config file are picked up while the gateway runs.",
    "gateway.tls": "TLS for the gateway listener; unknown keys here are tolerated.",
    "gateway.tls.enabled": "Serve over TLS.",
    "gateway.tls.autoGenerate": "Create a self-signed certificate when none is configured.",
    "gateway.tls.certPath": "PEM certificate file.",
    "gateway.tls.keyPath": "PEM private key file.",
    "gateway.tls.caPath": "CA bundle for verifying client certificates.",
    "gateway.http": "OpenAI-compatible HTTP endpoints and response headers.",
    "gateway.http.endpoints": "Optional HTTP API endpoints.",
    "gateway.http.endpoints.chatCompletions": "The chat completions endpoint.",
    "gateway.http.endpoints.chatCompletions.enabled": "Serve the chat completions endpoint.",
    "gateway.http.endpoints.chatCompletions.images": "Limits for images passed to the chat completions endpoint.",
    "gateway.http.endpoints.responses": "The responses endpoint.",
    "gateway.http.endpoints.responses.enabled": "Serve the responses endpoint.",
    "gateway.http.endpoints.responses.maxUrlParts": "Most URL-referenced inputs accepted in one request.",
    "gateway.http.endpoints.responses.files": "Limits for files passed to the responses endpoint.",
    "gateway.http.endpoints.responses.files.allowUrl": "Accept files given by URL.",
    "gateway.http.endpoints.responses.files.urlAllowlist": "Hosts files may be fetched from.",
    "gateway.http.endpoints.responses.files.allowedMimes": "Accepted file MIME types.",
    "gateway.http.endpoints.responses.files.maxBytes": "Largest accepted file.",
    "gateway.http.endpoints.responses.files.maxRedirects": "Redirects followed when fetching a file.",
    "gateway.http.endpoints.responses.files.timeoutMs": "Time limit for fetching a file.",
    "gateway.http.endpoints.responses.files.maxChars": "Most characters of extracted text kept per file.",
    "gateway.http.endpoints.responses.files.pdf": "PDF extraction limits.",
    "gateway.http.endpoints.responses.files.pdf.maxPages": "Most pages read from a PDF.",
    "gateway.http.endpoints.responses.files.pdf.maxPixels": "Largest page rendering, in pixels, when a PDF page is rasterised.",
    "gateway.http.endpoints.responses.files.pdf.minTextChars": "Below this much extracted text a page is treated as an image.",
    "gateway.http.endpoints.responses.images": "Limits for images passed to the responses endpoint.",
    "gateway.http.securityHeaders": "Security headers added to HTTP responses.",
    "gateway.http.securityHeaders.strictTransportSecurity": "Strict-Transport-Security value to send, or false to send none.",
    "gateway.push": "Push notifications to the mobile apps.",
    "gateway.push.apns": "Apple push notifications.",
    "gateway.push.apns.relay": "The relay that forwards pushes to Apple.",
    "gateway.push.apns.relay.baseUrl": "Base URL of the push relay.",
    "gateway.push.apns.relay.timeoutMs": "Time limit for a relay request.",
    "gateway.nodes": "Paired nodes (phones, desktops, servers) and what they may do.",
    "gateway.nodes.browser": "Routing browser control to a node.",
    "gateway.nodes.browser.mode": "Pick the browser node automatically, use the named one, or never.",
    "gateway.nodes.browser.node": "Node that hosts the browser when mode is manual.",
    "gateway.nodes.pairing": "How new nodes get approved.",
    "gateway.nodes.pairing.autoApproveLocal": "Approve nodes pairing from this machine without asking.",
    "gateway.nodes.pairing.autoApproveCidrs": "Networks whose nodes are approved without asking.",
    "gateway.nodes.pairing.sshVerify": "Verify a pairing node over SSH before approving it: true, or the SSH settings to use.",
    "gateway.nodes.pairing.sshVerify<1>.user": "SSH user for verification.",
    "gateway.nodes.pairing.sshVerify<1>.identity": "SSH key file for verification.",
    "gateway.nodes.pairing.sshVerify<1>.timeoutMs": "Time limit for the SSH check.",
    "gateway.nodes.pairing.sshVerify<1>.cidrs": "Networks for which the SSH check applies.",
    "gateway.nodes.pluginTools": "Tools that plugins expose on nodes.",
    "gateway.nodes.pluginTools.enabled": "Offer node plugin tools to agents.",
    "gateway.nodes.allowSkills": "Let nodes contribute skills.",
    "gateway.nodes.commands": "Which node commands agents may call.",
    "gateway.nodes.commands.allow": "Node commands that are allowed.",
    "gateway.nodes.commands.deny": "Node commands that are refused.",
})

# --- Docs: logging ----------------------------------------------------------------------------
DOCS.update({
    "logging.level": "Lowest severity written to the log file.",
    "logging.file": "Log file path; by default a dated file under /tmp/openclaw.",
    "logging.maxFileBytes": "Size at which the log file stops growing; later writes are dropped.",
    "logging.consoleLevel": "Lowest severity printed to the console (debug with --verbose).",
    "logging.consoleStyle": "Console output as readable text or one JSON object per line.",
    "logging.redactPatterns": "Extra regular expressions whose matches are masked in logs.",
    "logging.audit": "The audit log of security-relevant actions.",
    "logging.audit.enabled": "Write the audit log.",
    "logging.audit.executionIdentity": "Record which identity ran each command.",
    "logging.audit.messages": "Which messages the audit log records: none, direct messages only, or all.",
})

# --- Docs: secrets ----------------------------------------------------------------------------
DOCS.update({
    "secrets.egressProxy": "A local proxy that injects secrets into outbound requests so tools never see them.",
    "secrets.egressProxy.enabled": "Run the secret-injecting egress proxy.",
    "secrets.egressProxy.allowedHosts": "Exact host names the proxy may send secrets to.",
    "secrets.egressProxy.bypassHosts": "Exact host names that skip the proxy.",
    "secrets.providers": "Secret providers keyed by the alias that SecretRefs name.",
    "secrets.providers.*": "One secret provider: environment, file, command, or the built-in store.",
    "secrets.providers.*<0>": "Reads secrets from the gateway's environment.",
    "secrets.providers.*<0>.source": "Marks an environment provider.",
    "secrets.providers.*<0>.allowlist": "Environment variables this provider may hand out; empty means any.",
    "secrets.providers.*<1>": "Reads secrets from a file.",
    "secrets.providers.*<1>.source": "Marks a file provider.",
    "secrets.providers.*<1>.path": "File that holds the secrets.",
    "secrets.providers.*<1>.mode": "Whether the file holds one value or a JSON document addressed by pointer.",
    "secrets.providers.*<1>.timeoutMs": "Time limit for reading the file.",
    "secrets.providers.*<1>.maxBytes": "Largest file the provider reads.",
    "secrets.providers.*<2>": "Obtains secrets from a command or a plugin integration.",
    "secrets.providers.*<2><0>.source": "Marks a command provider.",
    "secrets.providers.*<2><0>.command": "Absolute path of the executable; it must be a regular file.",
    "secrets.providers.*<2><0>.args": "Arguments passed to the command.",
    "secrets.providers.*<2><0>.timeoutMs": "Time limit for one run of the command.",
    "secrets.providers.*<2><0>.noOutputTimeoutMs": "Give up when the command prints nothing for this long.",
    "secrets.providers.*<2><0>.maxOutputBytes": "Largest output read from the command.",
    "secrets.providers.*<2><0>.jsonOnly": "Require the command to answer in JSON.",
    "secrets.providers.*<2><0>.env": "Environment variables set for the command.",
    "secrets.providers.*<2><0>.passEnv": "Gateway environment variables passed through to the command.",
    "secrets.providers.*<2><0>.trustedDirs": "Directories the command must live in.",
    "secrets.providers.*<2><1>.source": "Marks a plugin-backed command provider.",
    "secrets.providers.*<2><1>.pluginIntegration": "The plugin integration that supplies the secrets.",
    "secrets.providers.*<2><1>.pluginIntegration.pluginId": "Plugin that provides the integration.",
    "secrets.providers.*<2><1>.pluginIntegration.integrationId": "Integration within that plugin.",
    "secrets.providers.*<3>": "Uses the gateway's built-in secret store.",
    "secrets.providers.*<3>.source": "Marks the built-in store provider.",
    "secrets.defaults": "Provider alias assumed for each source when a SecretRef omits one.",
    "secrets.defaults.env": "Default provider for env references.",
    "secrets.defaults.file": "Default provider for file references.",
    "secrets.defaults.exec": "Default provider for exec references.",
    "secrets.defaults.store": "Default provider for store references.",
})

# --- Docs: hooks ------------------------------------------------------------------------------
DOCS.update({
    "hooks.enabled": "Accept inbound webhook requests.",
    "hooks.path": "URL path under which webhooks are received; it may not be the root.",
    "hooks.token": "Secret webhook callers must present; required when hooks are on and distinct from the gateway credential.",
    "hooks.defaultSessionKey": "Session that webhook-triggered runs use when nothing else chooses one.",
    "hooks.allowRequestSessionKey": "Let a webhook request choose its own session key.",
    "hooks.allowedSessionKeyPrefixes": "Prefixes a requested session key must start with.",
    "hooks.allowedAgentIds": "Agents webhooks may target.",
    "hooks.presets": "Built-in webhook mappings to enable, by name.",
    "hooks.transformsDir": "Directory that holds transform modules for mappings.",
    "hooks.mappings": "Rules that turn matching webhook requests into agent actions.",
    "hooks.mappings[]": "One webhook mapping.",
    "hooks.mappings[].id": "Identifier of the mapping.",
    "hooks.mappings[].match": "Which requests the mapping applies to; unknown fields are tolerated.",
    "hooks.mappings[].match.path": "Sub-path under the hooks path that must match.",
    "hooks.mappings[].match.source": "Source name that must match.",
    "hooks.mappings[].action": "Wake the agent with an event, or start a full agent run.",
    "hooks.mappings[].wakeMode": "Deliver the wake now or with the next heartbeat.",
    "hooks.mappings[].name": "Display name of the mapping.",
    "hooks.mappings[].agentId": "Agent that handles matching requests.",
    "hooks.mappings[].sessionKey": "Session used for the run; may be templated.",
    "hooks.mappings[].sessionMode": "Start a fresh session per request or keep one going.",
    "hooks.mappings[].messageTemplate": "Template that builds the agent prompt from the request.",
    "hooks.mappings[].textTemplate": "Template that builds the wake text from the request.",
    "hooks.mappings[].forEach": "Field of the payload whose items each trigger their own action.",
    "hooks.mappings[].deliver": "Send the agent's reply to a chat channel.",
    "hooks.mappings[].allowUnsafeExternalContent": "Pass the payload to the agent without marking it as untrusted external content.",
    "hooks.mappings[].channel": "Channel the reply is delivered on.",
    "hooks.mappings[].to": "Recipient the reply is delivered to.",
    "hooks.mappings[].model": "Model override for runs of this mapping.",
    "hooks.mappings[].thinking": "Thinking level for runs of this mapping.",
    "hooks.mappings[].timeoutSeconds": "Time limit for a run of this mapping.",
    "hooks.mappings[].transform": "A module that rewrites the request before it is used.",
    "hooks.mappings[].transform.module": "Module file, relative to the transforms directory.",
    "hooks.mappings[].transform.export": "Exported function to call.",
    "hooks.gmail": "Watching a Gmail inbox through Pub/Sub push notifications.",
    "hooks.gmail.account": "Gmail account to watch.",
    "hooks.gmail.label": "Label whose new messages are reported.",
    "hooks.gmail.topic": "Pub/Sub topic Gmail publishes to.",
    "hooks.gmail.subscription": "Pub/Sub push subscription name.",
    "hooks.gmail.pushToken": "Shared token that authenticates Pub/Sub push requests.",
    "hooks.gmail.hookUrl": "Webhook URL the notifications are forwarded to.",
    "hooks.gmail.includeBody": "Include message bodies in what the agent sees.",
    "hooks.gmail.maxBytes": "Most bytes of a message body passed on.",
    "hooks.gmail.renewEveryMinutes": "How often the Gmail watch is renewed.",
    "hooks.gmail.allowUnsafeExternalContent": "Pass mail content without marking it as untrusted.",
    "hooks.gmail.serve": "The local listener that receives push requests.",
    "hooks.gmail.serve.bind": "Address the push listener binds to.",
    "hooks.gmail.serve.port": "Port of the push listener.",
    "hooks.gmail.serve.path": "URL path of the push listener.",
    "hooks.gmail.tailscale": "Exposing the push listener through Tailscale.",
    "hooks.gmail.tailscale.mode": "Off, Serve or Funnel.",
    "hooks.gmail.tailscale.path": "Public path on the Tailscale hostname.",
    "hooks.gmail.tailscale.target": "Local target that Tailscale forwards to.",
    "hooks.gmail.model": "Model used for mail-triggered runs.",
    "hooks.gmail.thinking": "Thinking level for mail-triggered runs.",
    "hooks.internal": "Hooks run inside the gateway on its own events.",
    "hooks.internal.enabled": "Run internal hooks.",
    "hooks.internal.entries": "Per-hook settings keyed by hook name.",
    "hooks.internal.entries.*": "Settings of one internal hook; extra keys are passed to it.",
    "hooks.internal.entries.*.enabled": "Run this hook.",
    "hooks.internal.entries.*.env": "Environment variables for this hook.",
    "hooks.internal.load": "Where internal hooks are loaded from.",
    "hooks.internal.load.extraDirs": "Additional directories searched for hooks.",
})

# --- Docs: named types ------------------------------------------------------------------------
TYPE_DOCS.update({
    "AgentDefaults": "Settings every agent starts from unless its own entry overrides them.",
    "AgentEntry": "One configured agent: identity, workspace, model and per-agent overrides.",
    "ModelProvider": "One model provider: endpoint, API flavour, credentials, request options and the models it serves.",
    "ModelEntry": "One model offered by a provider: id, display name, capabilities, limits and cost.",
    "AgentTools": "Tool policy and tool settings of one agent.",
    "DiscordVoice": "Discord voice-channel participation: speech in and out and the realtime provider.",
    "AgentSandbox": "Sandboxing of agent tool runs (container, workspace access and scope).",
    "MediaUnderstanding": "How one kind of inbound media is turned into text for the agent.",
    "DiscordGuilds": "Per-guild Discord settings keyed by guild id.",
    "MemorySearch": "Semantic search over memory files and past sessions.",
    "ProviderRequest": "HTTP request options for a model or media provider: headers, auth, proxy and TLS.",
    "ExecTool": "Behaviour and approval policy of the shell exec tool.",
    "TelegramDirectChats": "Per-chat settings for Telegram direct chats keyed by chat id.",
    "McpServers": "MCP servers keyed by name, each launched locally or reached by URL.",
    "TelegramGroups": "Per-group Telegram settings keyed by group id.",
    "AgentTts": "Text-to-speech settings of one agent.",
    "TtsSettings": "Text-to-speech settings: when to speak, provider, voices and personas.",
    "SlackStreaming": "How Slack replies stream while the agent is still working.",
    "SlackChannels": "Per-channel Slack settings keyed by channel id or name.",
    "Compaction": "When and how long conversations are compacted to fit the context window.",
    "ChannelStreaming": "How replies stream into a chat while the agent works.",
    "MatrixRooms": "Per-room Matrix settings keyed by room id or alias.",
    "MattermostStreaming": "How Mattermost replies stream while the agent works.",
    "ProviderRequestProxy": "Proxy for provider requests: from the environment or an explicit URL.",
    "DiscordActions": "Which Discord actions the agent may take.",
    "MediaModels": "Models used for generating images, video and music.",
    "PluginEntry": "Enablement and policies of a plugin that has no settings of its own.",
    "SignalTransport": "How the gateway talks to Signal: a managed daemon, an external one, or a container.",
    "Heartbeat": "Periodic heartbeat runs: schedule, target and prompt.",
    "CodeMode": "Code mode for tool calls: on, off, automatic, or detailed settings.",
    "IrcGroups": "Per-channel IRC settings keyed by channel name.",
    "SubagentDefaults": "Limits and defaults for sub-agents spawned by agents.",
    "AgentHeartbeat": "Heartbeat schedule and target of one agent.",
    "FeishuTts": "Text-to-speech settings for Feishu replies.",
    "FeishuGroups": "Per-group Feishu settings keyed by chat id.",
    "ChatGroups": "Per-group settings keyed by group id, for phone-number based channels.",
    "ImessageActions": "Which iMessage actions the agent may take.",
    "SignalGroups": "Per-group Signal settings keyed by group id.",
    "TelegramTopics": "Per-topic settings inside a Telegram chat keyed by topic id.",
    "MessageTool": "Behaviour of the message tool that sends to channels.",
    "ClickclackGroups": "Per-group ClickClack settings.",
    "GooglechatGroups": "Per-space Google Chat settings.",
    "QaChannelGroups": "Per-group settings of the QA test channel.",
    "ProviderRequestAuth": "How provider requests authenticate: the provider default, a bearer token, or a custom header.",
    "ApprovalForwarding": "Forwarding approval prompts to chat sessions or explicit targets.",
    "NextcloudTalkRooms": "Per-room Nextcloud Talk settings keyed by room token.",
    "ModelCatalog": "Allowed models keyed by provider/model, with aliases and parameters.",
    "ScopeRules": "An allow/deny rule list matched against channel, chat type and session key.",
    "AgentSubagents": "Sub-agent limits of one agent.",
    "AgentRuntime": "Where an agent runs: embedded in the gateway or through an ACP backend.",
    "TtsPersonas": "Named speaking personas keyed by persona id.",
    "ChannelExecApprovals": "Exec approval prompts delivered in a chat channel, and who may answer them.",
    "ContextPruning": "Pruning of old tool output from the context.",
    "SwarmTool": "The swarm tool that runs groups of sub-agents: on/off or detailed limits.",
    "BindingMatch": "Conditions a conversation must meet for a binding to apply.",
    "DiscordExecApprovals": "Exec approval prompts delivered in Discord, and who may answer them.",
    "FeishuStreaming": "How Feishu replies stream while the agent works.",
    "StreamingProgress": "Progress messages shown while a reply is being produced.",
    "MattermostCommands": "Mattermost slash command registration.",
    "SlackActions": "Which Slack actions the agent may take.",
    "TelegramActions": "Which Telegram actions the agent may take.",
    "TtsModelOverrides": "Which speech settings the model may override in its reply.",
    "StartupContext": "Context loaded into a fresh or reset session (recent memory files).",
    "FeishuTools": "Which Feishu workspace tools the agent may use.",
    "LineGroups": "Per-group LINE settings.",
    "ZalouserGroups": "Per-group Zalo personal-account settings.",
    "NativeCommands": "Registration of native slash commands and skill commands on the platform.",
    "ProviderRequestTls": "TLS material and checks for provider connections.",
    "RoutingPercentiles": "A single number or per-percentile values (p50, p75, p90, p99) for provider routing.",
    "EmbeddedAgent": "Settings of the embedded agent runtime.",
    "BuzzGroups": "Per-group Buzz settings keyed by group UUID.",
    "IrcNickserv": "NickServ identification for the IRC nick.",
    "HttpImageInput": "Limits for images accepted by an HTTP endpoint (URL fetching, types, size).",
    "StreamingPreview": "Draft preview shown while a reply streams.",
    "PluginHookPolicy": "What a plugin's hooks may do and how long they may take.",
    "PluginLlmPolicy": "Which models a plugin may call and which overrides it may request.",
    "TimedModelChoice": "A model id, or a primary model with fallbacks and a time limit.",
    "ThreadBindings": "Binding chat threads to sessions: lifetime and spawning.",
    "SsrfPolicy": "Which private networks and host names outbound fetches may reach.",
    "ToolPolicyByProvider": "Tool policies keyed by model provider.",
    "GithubTool": "GitHub access for the agent's git and GitHub tools.",
    "ImessageCatchup": "Replaying iMessages that arrived while the gateway was down.",
    "LineThreadBindings": "Binding LINE threads to sessions.",
    "BotLoopProtection": "Throttling of conversations with other bots to stop reply loops.",
    "ModelChoice": "A model id, or a primary model with ordered fallbacks.",
    "AgentIdentity": "How an agent presents itself: name, theme, emoji and avatar.",
    "TelegramAutoTopicLabel": "Automatic naming of Telegram forum topics: on/off or with a prompt.",
    "ElevatedTool": "Elevated (host-level) command execution and who may request it.",
    "ClickclackDiscussions": "ClickClack discussion threads.",
    "DiscordIntents": "Privileged Discord gateway intents to request.",
    "MattermostDmRetry": "Retries when opening a Mattermost direct channel fails.",
    "QaChannelActions": "Which actions the QA test channel allows.",
    "SlackSlashCommand": "The Slack slash command that talks to the agent.",
    "SlackDm": "Slack direct and group direct message handling.",
    "HeartbeatVisibility": "Which heartbeat results are posted to the chat.",
    "ToolPolicy": "Allow, additionally allow, and deny lists of tool names.",
    "MentionPatternPolicy": "Where text mention patterns count as mentioning the agent.",
    "ImplicitMentions": "Situations treated as mentioning the agent without an explicit mention.",
    "SessionReset": "When a session starts over: never, daily at an hour, or after idle time.",
    "ProviderSettings": "Per-provider settings keyed by provider id, with an API key and free-form options.",
    "HumanDelay": "Artificial typing delay before replies.",
    "ReplyToModeByChatType": "Reply threading mode per chat type.",
    "BlockStreamingChunk": "How streamed text is cut into blocks.",
    "BlockStreamingCoalesce": "How small streamed pieces are merged before sending.",
    "AgentGroupChat": "Group chat behaviour of one agent.",
    "MediaAttachments": "Which attachments of a message are processed.",
    "DiscordDm": "Discord direct and group direct message handling.",
    "DiscordAutoPresence": "Automatic Discord presence updates.",
    "FeishuDms": "Per-user Feishu direct message settings.",
    "GooglechatServiceAccount": "Google service account credentials: a file path, inline JSON, or a SecretRef.",
    "SlackRelay": "Receiving Slack events through a relay instead of a public URL.",
    "SlackThread": "How Slack thread history is gathered.",
    "TelegramCapabilities": "Telegram features to enable, as a list or with inline-button scope.",
    "TelegramCustomCommands": "Extra commands shown in the Telegram command menu.",
    "TelegramNetwork": "Network tweaks for the Telegram Bot API connection.",
    "ActiveHours": "Daily window in which heartbeats may run.",
    "StreamingBlock": "Sending a reply in blocks as it is produced, and how small blocks are merged.",
    "BlockStreaming": "Block-wise reply streaming for channels that post finished blocks instead of editing a live message.",
})


if __name__ == "__main__":
    sys.exit(main())
