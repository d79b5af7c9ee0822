#!/usr/bin/env python3
"""Checks spec/config.json5 and spec/types.json5 (stdlib only).

Usage:  python3 spec/tools/check_spec.py [--spec SPEC_DIR] [--keys KEYS.jsonl] [-v]

Checks: both files parse as JSON5 with no duplicate keys; every node has a valid type
expression; every node's parent is declared and fits (fields under objects, `.*` under maps or
objects, `[]` under lists, `<N>` under unions, numbered without gaps); lists and maps declare
their child; referenced named types exist; enums have values; attributes apply to their kind;
defaults fit their node; reload/env/cli/legacy/precedence appear on config paths only, and
every top-level key declares a reload class; env vars and CLI flags are bound once; legacy
targets resolve; discriminated unions have the tag in every variant. Then every path of the
OpenClaw key list (`<anyOfN>`/`<oneOfN>` renamed to `<N>`) is resolved through the spec,
following named types and shorthand types, and the coverage is printed.

Exit status 0 when no error was found.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SPEC = os.path.dirname(HERE)
DEFAULT_KEYS = "/work/shared/reference/openclaw-2026.9.6-config-keys.jsonl"


# ------------------------------------------------------------------------------------------
# A small JSON5 reader
# ------------------------------------------------------------------------------------------

class J5Error(Exception):
    pass


class J5:
    def __init__(self, text: str, name: str):
        self.s = text.lstrip("\ufeff")
        self.i = 0
        self.name = name
        self.dups: list[str] = []

    def err(self, msg):
        line = self.s.count("\n", 0, self.i) + 1
        raise J5Error(f"{self.name}:{line}: {msg}")

    def ws(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n\v\f\u00a0\u2028\u2029\ufeff":
                self.i += 1
            elif s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j + 1
            elif s.startswith("/*", self.i):
                j = s.find("*/", self.i + 2)
                if j < 0:
                    self.err("unterminated comment")
                self.i = j + 2
            else:
                break

    def parse(self):
        self.ws()
        v = self.value()
        self.ws()
        if self.i != len(self.s):
            self.err("trailing content")
        return v

    def value(self):
        self.ws()
        if self.i >= len(self.s):
            self.err("unexpected end")
        c = self.s[self.i]
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c in "\"'":
            return self.string()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val
        return self.number()

    def obj(self):
        self.i += 1
        out: dict = {}
        while True:
            self.ws()
            if self.s[self.i] == "}":
                self.i += 1
                return out
            if self.s[self.i] in "\"'":
                key = self.string()
            else:
                m = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*").match(self.s, self.i)
                if not m:
                    self.err("expected a key")
                key = m.group(0)
                self.i = m.end()
            self.ws()
            if self.s[self.i] != ":":
                self.err("expected ':'")
            self.i += 1
            val = self.value()
            if key in out:
                self.dups.append(key)
            out[key] = val
            self.ws()
            if self.s[self.i] == ",":
                self.i += 1
            elif self.s[self.i] != "}":
                self.err("expected ',' or '}'")

    def arr(self):
        self.i += 1
        out = []
        while True:
            self.ws()
            if self.s[self.i] == "]":
                self.i += 1
                return out
            out.append(self.value())
            self.ws()
            if self.s[self.i] == ",":
                self.i += 1
            elif self.s[self.i] != "]":
                self.err("expected ',' or ']'")

    ESC = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0"}

    def string(self):
        q = self.s[self.i]
        self.i += 1
        out = []
        s = self.s
        while True:
            if self.i >= len(s):
                self.err("unterminated string")
            c = s[self.i]
            if c == q:
                self.i += 1
                return "".join(out)
            if c == "\\":
                n = s[self.i + 1]
                if n == "u":
                    code = int(s[self.i + 2:self.i + 6], 16)
                    self.i += 6
                    if 0xD800 <= code < 0xDC00 and s.startswith("\\u", self.i):
                        low = int(s[self.i + 2:self.i + 6], 16)
                        if 0xDC00 <= low < 0xE000:
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            self.i += 6
                    out.append(chr(code))
                    continue
                if n == "x":
                    out.append(chr(int(s[self.i + 2:self.i + 4], 16)))
                    self.i += 4
                    continue
                if n in "\r\n\u2028\u2029":
                    self.i += 2
                    if n == "\r" and s.startswith("\n", self.i):
                        self.i += 1
                    continue
                out.append(self.ESC.get(n, n))
                self.i += 2
                continue
            if c == "\n":
                self.err("newline in string")
            out.append(c)
            self.i += 1

    NUM = re.compile(r"[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")

    def number(self):
        m = self.NUM.match(self.s, self.i)
        if not m:
            self.err(f"unexpected character {self.s[self.i]!r}")
        self.i = m.end()
        t = m.group(0)
        sign = -1 if t.startswith("-") else 1
        body = t.lstrip("+-")
        if body.lower().startswith("0x"):
            return sign * int(body, 16)
        if body in ("Infinity", "NaN"):
            return sign * float("inf") if body == "Infinity" else float("nan")
        if re.fullmatch(r"\d+", body):
            return sign * int(body)
        return sign * float(body)


def load_j5(path: str):
    text = open(path, encoding="utf-8").read()
    p = J5(text, os.path.basename(path))
    return p.parse(), p.dups


# ------------------------------------------------------------------------------------------
# Paths and type expressions
# ------------------------------------------------------------------------------------------

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


def parent_of(path: str):
    segs = split(path)
    return (None if len(segs) == 1 else "".join(
        s if (s == "[]" or s.startswith("<")) else ("." + s if i else s) for i, s in enumerate(segs[:-1]))), segs[-1]


SCALARS = {"string", "integer", "number", "boolean", "null", "any"}
CONTAINERS = {"enum", "object", "map", "list", "union"}
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def parse_type(s: str):
    """-> ('word', w) | ('list', T) | ('map', T) | ('union', [T...]); raises ValueError."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(s):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    if depth != 0:
        raise ValueError(f"unbalanced <> in {s!r}")
    if len(parts) > 1:
        return ("union", [parse_type(p) for p in parts])
    a = s.strip()
    for pre in ("list<", "map<"):
        if a.startswith(pre):
            if not a.endswith(">"):
                raise ValueError(f"{a!r} lacks its closing >")
            return (pre[:-1], parse_type(a[len(pre):-1]))
    if not a or not re.fullmatch(r"[A-Za-z0-9_]+", a):
        raise ValueError(f"{a!r} is not a type")
    return ("word", a)


def words(t) -> list[str]:
    if t[0] == "word":
        return [t[1]]
    if t[0] in ("list", "map"):
        return words(t[1])
    return [w for p in t[1] for w in words(p)]


# ------------------------------------------------------------------------------------------
# The checker
# ------------------------------------------------------------------------------------------

NODE_ATTRS = {"type", "doc", "required", "default", "values", "min", "max", "exclusiveMin", "exclusiveMax",
              "minLength", "maxLength", "pattern", "format", "minItems", "maxItems", "uniqueItems", "keyPattern",
              "keyMinLength", "keyMaxLength", "minProperties", "maxProperties", "open", "reload", "env", "cli",
              "secret", "legacy", "superset", "discriminator", "precedence"}
PATH_ONLY = ("reload", "env", "cli", "legacy", "precedence", "superset")
RELOAD_RE = re.compile(r"^(?:none|restart|hot|hot:[a-z0-9-]+(?:,[a-z0-9-]+)*)$")


class Spec:
    def __init__(self, config: dict, types: dict):
        self.cfg = config
        self.types = types
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def err(self, msg):
        self.errors.append(msg)

    # Node views: (table, path) for declared nodes, or ('virtual', parsed type) for shorthand parts.
    def node(self, ref):
        if ref[0] == "virtual":
            return None
        return (self.cfg if ref[0] == "cfg" else self.types).get(ref[1])

    def kind(self, ref):
        """-> ('word', w) | ('list', T) | ... for the node's type."""
        if ref[0] == "virtual":
            return ref[1]
        a = self.node(ref)
        return parse_type(a["type"])

    def deref(self, ref, depth=0):
        """Follows named-type references; returns the defining ref."""
        while depth < 64:
            k = self.kind(ref)
            if k[0] == "word" and PASCAL.match(k[1]) and k[1] in self.types:
                ref = ("types", k[1])
                depth += 1
                continue
            return ref
        return ref

    def child(self, ref, seg):
        """The child ref for a segment, through shorthands; None if it does not exist."""
        ref = self.deref(ref)
        k = self.kind(ref)
        if k[0] == "list" and seg == "[]":
            return ("virtual", k[1])
        if k[0] == "map" and seg == "*":
            return ("virtual", k[1])
        if k[0] == "union" and seg.startswith("<"):
            n = int(seg[1:-1])
            return ("virtual", k[1][n]) if n < len(k[1]) else None
        if ref[0] == "virtual":
            return None
        table = self.cfg if ref[0] == "cfg" else self.types
        p = join(ref[1], seg)
        return (ref[0], p) if p in table else None

    def children(self, ref):
        ref = self.deref(ref)
        if ref[0] == "virtual":
            return {}
        return self.kids.get(ref, {})

    # -- structure -----------------------------------------------------------------------
    def structure(self):
        self.kids: dict = collections.defaultdict(dict)
        for table_name, table in (("cfg", self.cfg), ("types", self.types)):
            for path, a in table.items():
                where = f"{table_name}:{path}"
                if not isinstance(a, dict):
                    self.err(f"{where}: not an object of attributes")
                    continue
                for k in a:
                    if k not in NODE_ATTRS:
                        self.err(f"{where}: unknown attribute {k!r}")
                if "type" not in a:
                    self.err(f"{where}: no type")
                    continue
                try:
                    t = parse_type(a["type"])
                except ValueError as e:
                    self.err(f"{where}: bad type: {e}")
                    continue
                for w in words(t):
                    if w in CONTAINERS and t[0] != "word":
                        self.err(f"{where}: {w} inside a shorthand")
                    elif w not in SCALARS | CONTAINERS and not PASCAL.match(w):
                        self.err(f"{where}: unknown type word {w!r}")
                    elif PASCAL.match(w) and w not in self.types:
                        self.err(f"{where}: refers to undeclared type {w}")
                if t == ("word", "enum"):
                    v = a.get("values")
                    if not isinstance(v, list) or not v:
                        self.err(f"{where}: enum without values")
                    elif not all(isinstance(x, (str, int, float, bool)) for x in v):
                        self.err(f"{where}: enum values must be scalars")
                self.fit_attrs(where, t, a)
                if table_name == "types":
                    for k in PATH_ONLY:
                        if k in a:
                            self.err(f"{where}: {k} belongs to config paths only")
                    head = split(path)[0]
                    if head != path and head not in self.types:
                        self.err(f"{where}: type {head} has no root entry")
                    if head == path and not PASCAL.match(path):
                        self.err(f"{where}: type names are PascalCase")
                # Parent.
                par, seg = parent_of(path)
                if par is None:
                    if table_name == "cfg":
                        if seg in ("*", "[]") or seg.startswith("<"):
                            self.err(f"{where}: the root only has named fields")
                        self.kids[("cfg", "")][seg] = ("cfg", path)
                    continue
                if par not in table:
                    self.err(f"{where}: parent {par} is not declared")
                    continue
                try:
                    pk = parse_type(table[par]["type"])
                except (ValueError, KeyError):
                    continue
                pw = pk[1] if pk[0] == "word" else None
                ok = (pw == "object" and (not seg.startswith("<") and seg != "[]")) or \
                     (pw == "map" and seg == "*") or (pw == "list" and seg == "[]") or \
                     (pw == "union" and seg.startswith("<"))
                if not ok:
                    self.err(f"{where}: does not fit its parent {par} ({table[par]['type']})")
                self.kids[(table_name, par)][seg] = (table_name, path)
        # Containers have their children; unions number variants without gaps.
        for table_name, table in (("cfg", self.cfg), ("types", self.types)):
            for path, a in table.items():
                t = a.get("type")
                kids = self.kids.get((table_name, path), {})
                if t == "list" and "[]" not in kids:
                    self.err(f"{table_name}:{path}: list without item node")
                if t == "map" and "*" not in kids:
                    self.err(f"{table_name}:{path}: map without value node")
                if t == "union":
                    ns = sorted(int(s[1:-1]) for s in kids if s.startswith("<"))
                    if ns != list(range(len(ns))) or len(ns) < 2:
                        self.err(f"{table_name}:{path}: union variants {ns} are not <0>..<n> (n >= 1)")
                if "discriminator" in a:
                    tag = a["discriminator"]
                    for s, kref in kids.items():
                        target = self.deref(kref)
                        tk = self.kind(target)
                        has = tk == ("word", "object") and tag in self.kids.get(target, {})
                        if not has:
                            self.err(f"{table_name}:{path}: variant {s} lacks discriminator field {tag}")
                        else:
                            fld = self.deref(self.kids[target][tag])
                            if self.kind(fld) != ("word", "enum"):
                                self.err(f"{table_name}:{path}: discriminator {tag} of {s} is not an enum")

    def fit_attrs(self, where, t, a):
        w = t[1] if t[0] == "word" else None
        numeric = w in ("integer", "number")
        stringy = w == "string"
        listy = w == "list" or t[0] == "list"
        mappy = w in ("map", "object") or t[0] == "map"
        rules = {"min": numeric, "max": numeric, "exclusiveMin": numeric, "exclusiveMax": numeric,
                 "minLength": stringy, "maxLength": stringy, "pattern": stringy, "format": stringy,
                 "minItems": listy, "maxItems": listy, "uniqueItems": listy, "keyPattern": mappy,
                 "keyMinLength": mappy, "keyMaxLength": mappy, "minProperties": mappy, "maxProperties": mappy,
                 "values": w == "enum", "open": w == "object", "discriminator": w == "union"}
        for k, fits in rules.items():
            if k in a and not fits:
                self.err(f"{where}: {k} does not apply to {a['type']}")
        if "reload" in a and not RELOAD_RE.match(str(a["reload"])):
            self.err(f"{where}: bad reload class {a['reload']!r}")
        if "legacy" in a and not (isinstance(a["legacy"], dict) and isinstance(a["legacy"].get("to"), str)):
            self.err(f"{where}: legacy must be {{to: …}}")
        if "precedence" in a:
            layers = [x.strip() for x in str(a["precedence"]).split(">")]
            if sorted(layers) != ["cli", "env", "file"]:
                self.err(f"{where}: bad precedence {a['precedence']!r}")
        for k in ("pattern", "keyPattern"):
            if k in a:
                try:
                    re.compile(js_to_py(a[k]))
                except re.error as e:
                    self.warnings.append(f"{where}: {k} does not compile as a Python regex ({e}); JS syntax may still be fine")

    # -- values --------------------------------------------------------------------------
    def fits(self, ref, v, depth=0) -> str | None:
        """None when value v fits the node, else a reason."""
        if depth > 64:
            return None
        ref = self.deref(ref)
        k = self.kind(ref)
        a = {} if ref[0] == "virtual" else self.node(ref)
        if k[0] == "list":
            if not isinstance(v, list):
                return "expected a list"
            for x in v:
                r = self.fits(("virtual", k[1]), x, depth + 1)
                if r:
                    return r
            return self.list_bounds(a, v)
        if k[0] == "map":
            if not isinstance(v, dict):
                return "expected an object"
            for x in v.values():
                r = self.fits(("virtual", k[1]), x, depth + 1)
                if r:
                    return r
            return None
        if k[0] == "union":
            rs = [self.fits(("virtual", p), v, depth + 1) for p in k[1]]
            return None if any(r is None for r in rs) else "no variant fits"
        w = k[1]
        kids = self.children(ref)
        if w == "any":
            return None
        if w == "string":
            if not isinstance(v, str):
                return "expected a string"
            if "minLength" in a and len(v) < a["minLength"] or "maxLength" in a and len(v) > a["maxLength"]:
                return "length out of range"
            if "pattern" in a:
                try:
                    if not re.search(js_to_py(a["pattern"]), v):
                        return "pattern does not match"
                except re.error:
                    pass
            return None
        if w in ("integer", "number"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return f"expected {w}"
            if w == "integer" and float(v) != int(v):
                return "expected an integer"
            if "min" in a and v < a["min"] or "max" in a and v > a["max"]:
                return "out of range"
            if "exclusiveMin" in a and v <= a["exclusiveMin"] or "exclusiveMax" in a and v >= a["exclusiveMax"]:
                return "out of range"
            return None
        if w == "boolean":
            return None if isinstance(v, bool) else "expected a boolean"
        if w == "null":
            return None if v is None else "expected null"
        if w == "enum":
            return None if any(type(v) is type(x) and v == x for x in a.get("values", [])) else f"{v!r} is not an allowed value"
        if w == "list":
            if not isinstance(v, list):
                return "expected a list"
            for x in v:
                r = self.fits(kids["[]"], x, depth + 1) if "[]" in kids else None
                if r:
                    return r
            return self.list_bounds(a, v)
        if w in ("map", "object"):
            if not isinstance(v, dict):
                return "expected an object"
            for key, x in v.items():
                if key in kids and w == "object":
                    r = self.fits(kids[key], x, depth + 1)
                elif "*" in kids:
                    r = self.fits(kids["*"], x, depth + 1)
                elif a.get("open"):
                    r = None
                else:
                    r = f"unknown field {key}"
                if r:
                    return r
            for key, kref in kids.items():
                if w == "object" and key not in ("*",) and self.node(kref) and self.node(kref).get("required") and key not in v:
                    return f"missing required field {key}"
            return None
        if w == "union":
            rs = [self.fits(kref, v, depth + 1) for s, kref in sorted(kids.items()) if s.startswith("<")]
            return None if any(r is None for r in rs) else "no variant fits"
        return None

    @staticmethod
    def list_bounds(a, v):
        if "minItems" in a and len(v) < a["minItems"] or "maxItems" in a and len(v) > a["maxItems"]:
            return "item count out of range"
        return None

    def defaults(self):
        for table_name, table in (("cfg", self.cfg), ("types", self.types)):
            for path, a in table.items():
                if "default" in a:
                    r = self.fits((table_name, path), a["default"])
                    if r:
                        self.err(f"{table_name}:{path}: default {a['default']!r} does not fit: {r}")

    # -- config-only rules ---------------------------------------------------------------
    def config_rules(self):
        envs, clis = {}, {}
        for path, a in self.cfg.items():
            par, seg = parent_of(path)
            if par is None and "reload" not in a:
                self.err(f"cfg:{path}: top-level key without reload")
            if "env" in a:
                if not re.fullmatch(r"[A-Z0-9_]+", a["env"]):
                    self.err(f"cfg:{path}: env {a['env']} is not UPPER_SNAKE_CASE")
                if a["env"] in envs:
                    self.err(f"cfg:{path}: env {a['env']} also bound to {envs[a['env']]}")
                envs[a["env"]] = path
            if "cli" in a:
                if not a["cli"].startswith("--"):
                    self.err(f"cfg:{path}: cli flag must start with --")
                if a["cli"] in clis:
                    self.err(f"cfg:{path}: cli {a['cli']} also bound to {clis[a['cli']]}")
                clis[a["cli"]] = path
            if "legacy" in a and isinstance(a["legacy"], dict):
                to = a["legacy"].get("to", "")
                if self.resolve(split(to))[0] == "missing":
                    self.err(f"cfg:{path}: legacy target {to} does not resolve")

    # -- resolution of key-list paths ------------------------------------------------------
    def resolve(self, segs):
        """-> (how, detail): how in exact | type | shorthand | any | missing."""
        ref = ("cfg", "")
        how = "exact"
        for i, seg in enumerate(segs):
            if ref == ("cfg", ""):
                nxt = ("cfg", seg) if seg in self.cfg else None
            else:
                d = self.deref(ref)
                if d != ref and how == "exact":
                    how = "type"
                if self.kind(d) == ("word", "any"):
                    return "any", join_all(segs[:i])
                nxt = self.child(ref, seg)
                if nxt is not None and nxt[0] == "virtual":
                    how = "shorthand" if how in ("exact", "type") else how
                elif nxt is not None and nxt[0] == "types" and how == "exact":
                    how = "type"
            if nxt is None:
                return "missing", join_all(segs[:i + 1])
            ref = nxt
        return how, ""


def join_all(segs) -> str:
    out = ""
    for s in segs:
        out = join(out, s)
    return out


def js_to_py(p: str) -> str:
    """Rough translation of JS regex syntax that Python's re rejects (for a smoke test only)."""
    p = p.replace("(?<", "(?P<") if re.search(r"\(\?<[A-Za-z]", p) else p
    p = re.sub(r"\\p\{[^}]*\}", r"\\w", p)
    p = p.replace("\\/", "/")
    return p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--keys", default=DEFAULT_KEYS)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    errors = []
    try:
        cfg, d1 = load_j5(os.path.join(args.spec, "config.json5"))
        types, d2 = load_j5(os.path.join(args.spec, "types.json5"))
    except (J5Error, OSError) as e:
        print(f"PARSE ERROR: {e}")
        return 1
    errors += [f"duplicate key in config.json5: {k}" for k in d1]
    errors += [f"duplicate key in types.json5: {k}" for k in d2]
    type_names = [p for p in types if not re.search(r"[.\[<]", p)]
    print(f"parsed: config.json5 {len(cfg)} entries, types.json5 {len(types)} entries ({len(type_names)} types)")

    spec = Spec(cfg, types)
    spec.structure()
    spec.defaults()
    spec.config_rules()
    errors += spec.errors

    # Type usage.
    uses = collections.Counter()
    for table in (cfg, types):
        for p, a in table.items():
            try:
                for w in words(parse_type(a.get("type", "any"))):
                    if PASCAL.match(w):
                        uses[w] += 1
            except ValueError:
                pass
    unused = [t for t in type_names if uses[t] == 0]
    if unused:
        spec.warnings.append(f"types never referenced: {', '.join(unused)}")

    # Coverage of the key list.
    if os.path.exists(args.keys):
        rows = [json.loads(l) for l in open(args.keys, encoding="utf-8") if l.strip()]
        stats = collections.Counter()
        missing = []
        for r in rows:
            p = r["path"]
            if p in ("<root>", "$schema"):
                stats["skipped (root, $schema)"] += 1
                continue
            segs = split(re.sub(r"<(?:anyOf|oneOf)(\d+)>", r"<\1>", p))
            how, detail = spec.resolve(segs)
            stats[how] += 1
            if how == "missing":
                missing.append(f"{p} (stops at {detail})")
        total = sum(v for k, v in stats.items() if not k.startswith("skipped"))
        covered = total - stats["missing"]
        print(f"key-list coverage: {covered}/{total} paths ({100.0 * covered / max(total, 1):.2f}%)")
        for k in ("exact", "type", "shorthand", "any", "missing", "skipped (root, $schema)"):
            label = {"exact": "declared in config.json5", "type": "reached through a named type",
                     "shorthand": "reached through a shorthand (list<T>, map<T>, A|B)",
                     "any": "inside an `any` node", "missing": "NOT COVERED"}.get(k, k)
            print(f"  {stats[k]:5d}  {label}")
        for m in missing:
            errors.append(f"key-list path not covered: {m}")

    print(f"named types: {len(type_names)}; referenced {sum(uses.values())} times")
    if args.verbose:
        for t in type_names:
            print(f"  {t}: {uses[t]}")
    for w in spec.warnings:
        print(f"warning: {w}")
    for e in errors:
        print(f"ERROR: {e}")
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
