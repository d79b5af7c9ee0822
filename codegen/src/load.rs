//! Reads the spec files, builds the node graph and reports every mistake with a span into its file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use jsonspan::{Member, Span, Spanned, Value as SV};
use miette::{NamedSource, SourceSpan};
use serde_json::Value;

use crate::error::{SpecError, SpecFileError, SpecProblem};
use crate::model::*;
use crate::names;

/// The spec files, in the order their source ids are assigned.
pub const SPEC_FILES: [&str; 5] = [
    "config.json5",
    "types.json5",
    "methods.json5",
    "events.json5",
    "errors.json5",
];
const CONFIG: u32 = 0;
const TYPES: u32 = 1;
const METHODS: u32 = 2;
const EVENTS: u32 = 3;
const ERRORS: u32 = 4;

/// Loads and checks the spec in `dir`. Missing files count as empty.
pub fn load_dir(dir: &Path) -> Result<Spec, SpecError> {
    let mut sources = Vec::new();
    for name in SPEC_FILES {
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(SpecError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        sources.push((format!("spec/{name}"), text));
    }
    load_sources(&sources)
}

/// Loads and checks a spec from in-memory texts, one per entry of [`SPEC_FILES`] (same order).
pub fn load_sources(sources: &[(String, String)]) -> Result<Spec, SpecError> {
    let mut l = Loader {
        nodes: Vec::new(),
        failed: Default::default(),
        problems: (0..sources.len()).map(|_| Vec::new()).collect(),
        texts: sources
            .iter()
            .map(|(_, t)| t.trim_start_matches('\u{feff}').to_string())
            .collect(),
    };
    let docs: Vec<Option<Spanned>> = l
        .texts
        .clone()
        .iter()
        .enumerate()
        .map(|(i, text)| {
            if text.trim().is_empty() {
                return None;
            }
            match jsonspan::parse(text, i as u32) {
                Ok(v) if matches!(v.value, SV::Object(_)) => Some(v),
                Ok(v) => {
                    l.problem(
                        v.span,
                        "a spec file must be one object of entries",
                        "not an object",
                        None,
                    );
                    None
                }
                Err(e) => {
                    l.problem(
                        Span::new(i as u32, e.offset, e.offset),
                        &format!("JSON5 syntax error: {}", e.message),
                        "here",
                        None,
                    );
                    None
                }
            }
        })
        .collect();
    let empty = Spanned::new(SV::Object(Vec::new()), Span::default());
    let doc = |i: u32| {
        docs.get(i as usize)
            .and_then(Option::as_ref)
            .unwrap_or(&empty)
    };

    let config_root = l.push(Node {
        path: String::new(),
        kind: Kind::Object {
            fields: Vec::new(),
            extra: None,
            open: false,
        },
        attrs: Attrs::default(),
        span: Span::new(CONFIG, 0, 0),
    });
    let config_paths = l.flat_tree(doc(CONFIG), false);
    let type_paths = l.flat_tree(doc(TYPES), true);
    l.link(&config_paths, Some(config_root), false);
    l.link(&type_paths, None, true);
    let types: BTreeMap<String, NodeId> = type_paths
        .iter()
        .filter(|(p, _)| !p.contains(['.', '[', '<']))
        .map(|(p, &id)| (p.clone(), id))
        .collect();

    let methods = l.methods(doc(METHODS));
    let events = l.events(doc(EVENTS));
    let errors = l.errors(doc(ERRORS));
    let spec = Spec {
        nodes: l.nodes,
        config_root,
        types,
        methods,
        events,
        errors,
    };
    // A types.json5 that did not parse would make every reference to it look dangling.
    let types_readable = docs.get(TYPES as usize).is_some_and(Option::is_some)
        || sources
            .get(TYPES as usize)
            .is_none_or(|(_, t)| t.trim().is_empty());
    let mut l = Loader {
        nodes: Vec::new(),
        failed: Default::default(),
        problems: l.problems,
        texts: l.texts,
    };
    crate::check::check(&spec, types_readable, &mut |span, msg, label, help| {
        l.problem(span, msg, label, help)
    });
    l.finish(sources)?;
    Ok(spec)
}

pub(crate) struct Loader {
    pub nodes: Vec<Node>,
    problems: Vec<Vec<SpecProblem>>,
    texts: Vec<String>,
    /// Entries that were reported and dropped: their children are not reported again as orphans.
    failed: std::collections::HashSet<String>,
}

/// How a declared path relates to its parent.
enum Role {
    Top(String),
    Field(String, String),
    Extra(String),
    Item(String),
    Variant(String, usize),
}

fn split_path(path: &str) -> Role {
    if let Some(parent) = path.strip_suffix("[]") {
        return Role::Item(parent.to_string());
    }
    if path.ends_with('>')
        && let Some(open) = path.rfind('<')
        && let Ok(n) = path[open + 1..path.len() - 1].parse::<usize>()
    {
        return Role::Variant(path[..open].to_string(), n);
    }
    match path.rsplit_once('.') {
        Some((parent, "*")) => Role::Extra(parent.to_string()),
        Some((parent, name)) => Role::Field(parent.to_string(), name.to_string()),
        None => Role::Top(path.to_string()),
    }
}

const NODE_ATTRS: &[&str] = &[
    "type",
    "doc",
    "required",
    "default",
    "values",
    "min",
    "max",
    "exclusiveMin",
    "exclusiveMax",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "keyPattern",
    "keyMinLength",
    "keyMaxLength",
    "minProperties",
    "maxProperties",
    "open",
    "reload",
    "env",
    "cli",
    "secret",
    "legacy",
    "superset",
    "discriminator",
    "precedence",
];

/// A parsed type expression: `string`, `list<T>`, `map<T>`, `A|B`, `PascalName`.
#[derive(Debug, Clone, PartialEq)]
enum TypeExpr {
    Word(String),
    List(Box<TypeExpr>),
    Map(Box<TypeExpr>),
    Union(Vec<TypeExpr>),
}

fn parse_type_expr(s: &str) -> Result<TypeExpr, String> {
    fn atom(s: &str) -> Result<TypeExpr, String> {
        let s = s.trim();
        for (prefix, wrap) in [
            ("list<", TypeExpr::List as fn(Box<TypeExpr>) -> TypeExpr),
            ("map<", TypeExpr::Map),
        ] {
            if let Some(inner) = s.strip_prefix(prefix) {
                let inner = inner
                    .strip_suffix('>')
                    .ok_or_else(|| format!("`{s}` is missing its closing `>`"))?;
                return Ok(wrap(Box::new(expr(inner)?)));
            }
        }
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{s}` is not a type"));
        }
        Ok(TypeExpr::Word(s.to_string()))
    }
    fn expr(s: &str) -> Result<TypeExpr, String> {
        // Split on `|` at nesting depth 0.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0i32, 0);
        for (i, c) in s.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                '|' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        if parts.len() == 1 {
            atom(parts[0])
        } else {
            Ok(TypeExpr::Union(
                parts.into_iter().map(atom).collect::<Result<_, _>>()?,
            ))
        }
    }
    expr(s)
}

const SCALARS: &[&str] = &["string", "integer", "number", "boolean", "null", "any"];
const CONTAINERS: &[&str] = &["enum", "object", "map", "list", "union"];

impl Loader {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    pub(crate) fn problem(&mut self, span: Span, message: &str, label: &str, help: Option<String>) {
        let file = (span.src as usize).min(self.problems.len().saturating_sub(1));
        self.problems[file].push(SpecProblem {
            message: message.to_string(),
            span: SourceSpan::new(span.start.into(), span.len()),
            label: label.to_string(),
            help,
        });
    }

    fn finish(self, sources: &[(String, String)]) -> Result<(), SpecError> {
        let files: Vec<SpecFileError> = self
            .problems
            .into_iter()
            .zip(sources.iter().zip(self.texts))
            .filter(|(p, _)| !p.is_empty())
            .map(|(problems, ((name, _), text))| SpecFileError {
                file: name.clone(),
                source_code: NamedSource::new(name.clone(), text),
                problems,
            })
            .collect();
        if files.is_empty() {
            Ok(())
        } else {
            Err(SpecError::Invalid { files })
        }
    }

    /// Creates one node per entry of a flat file; returns path → node.
    fn flat_tree(&mut self, doc: &Spanned, types: bool) -> BTreeMap<String, NodeId> {
        let mut paths: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for m in doc.members() {
            if let Some(first) = seen.insert(&m.key, m.key_span) {
                let lc =
                    jsonspan::LineIndex::new(&self.texts[first.src as usize]).line_col(first.start);
                self.problem(
                    m.key_span,
                    &format!("duplicate key `{}`", m.key),
                    "declared again here",
                    Some(format!(
                        "the first declaration is at line {}; remove one of them",
                        lc.line
                    )),
                );
                continue;
            }
            if types && !m.key.contains(['.', '[', '<']) && !names::is_pascal(&m.key) {
                self.problem(
                    m.key_span,
                    &format!("type name `{}` must be PascalCase", m.key),
                    "here",
                    None,
                );
            }
            match self.node_from_entry(&m.key, &m.value, m.key_span) {
                Some(id) => self.register(&mut paths, id),
                None => {
                    self.failed.insert(m.key.clone());
                }
            }
        }
        paths
    }

    /// Registers a node and the synthetic children created by shorthand types.
    fn register(&mut self, paths: &mut BTreeMap<String, NodeId>, id: NodeId) {
        paths.insert(self.nodes[id].path.clone(), id);
    }

    fn node_from_entry(&mut self, path: &str, v: &Spanned, key_span: Span) -> Option<NodeId> {
        if !matches!(v.value, SV::Object(_)) {
            self.problem(
                v.span,
                &format!("`{path}` must be an object of attributes"),
                "not an object",
                None,
            );
            return None;
        }
        let attrs = self.attrs(v, path);
        let Some(ty) = v.get("type") else {
            self.problem(
                key_span,
                &format!("`{path}` has no `type`"),
                "declared here",
                Some("add e.g. type: \"string\"".into()),
            );
            return None;
        };
        let Some(ty_str) = ty.as_str() else {
            self.problem(ty.span, "`type` must be a string", "here", None);
            return None;
        };
        let expr = match parse_type_expr(ty_str) {
            Ok(e) => e,
            Err(msg) => {
                self.problem(
                    ty.span,
                    &format!("bad type expression: {msg}"),
                    "here",
                    None,
                );
                return None;
            }
        };
        let open = v.get("open").and_then(Spanned::as_bool).unwrap_or(false);
        let discriminator = v
            .get("discriminator")
            .and_then(|d| d.as_str())
            .map(str::to_string);
        let values = v.get("values");
        let kind = self.kind_of(
            &expr,
            path,
            ty.span,
            values,
            open,
            discriminator.clone(),
            true,
        )?;
        self.check_attr_fit(&kind, &attrs, v);
        Some(self.push(Node {
            path: path.to_string(),
            kind,
            attrs,
            span: key_span,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn kind_of(
        &mut self,
        expr: &TypeExpr,
        path: &str,
        span: Span,
        values: Option<&Spanned>,
        open: bool,
        discriminator: Option<String>,
        top: bool,
    ) -> Option<Kind> {
        let synthetic = |l: &mut Loader, suffix: String, e: &TypeExpr| -> Option<NodeId> {
            let child_path = format!("{path}{suffix}");
            let kind = l.kind_of(e, &child_path, span, None, false, None, false)?;
            Some(l.push(Node {
                path: child_path,
                kind,
                attrs: Attrs::default(),
                span,
            }))
        };
        Some(match expr {
            TypeExpr::List(inner) => Kind::List(Some(synthetic(self, "[]".into(), inner)?)),
            TypeExpr::Map(inner) => Kind::Map(Some(synthetic(self, ".*".into(), inner)?)),
            TypeExpr::Union(parts) => {
                let mut variants = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    variants.push(synthetic(self, format!("<{i}>"), p)?);
                }
                Kind::Union {
                    variants,
                    discriminator: None,
                }
            }
            TypeExpr::Word(w) => match w.as_str() {
                "string" => Kind::String,
                "integer" => Kind::Integer,
                "number" => Kind::Number,
                "boolean" => Kind::Boolean,
                "null" => Kind::Null,
                "any" => Kind::Any,
                "object" if top => Kind::Object {
                    fields: Vec::new(),
                    extra: None,
                    open,
                },
                "map" if top => Kind::Map(None),
                "list" if top => Kind::List(None),
                "union" if top => Kind::Union {
                    variants: Vec::new(),
                    discriminator,
                },
                "enum" if top => {
                    let vals = match values.map(|v| &v.value) {
                        Some(SV::Array(items)) if !items.is_empty() => {
                            items.iter().map(Spanned::to_json).collect()
                        }
                        _ => {
                            self.problem(
                                span,
                                &format!("enum `{path}` needs a non-empty `values` list"),
                                "here",
                                None,
                            );
                            return None;
                        }
                    };
                    Kind::Enum(vals)
                }
                w if names::is_pascal(w) => Kind::Ref(w.to_string()),
                w => {
                    let all: Vec<&str> = SCALARS.iter().chain(CONTAINERS).copied().collect();
                    let help = names::suggest(w, all.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"));
                    let msg = if CONTAINERS.contains(&w) {
                        format!(
                            "`{w}` cannot be used inside a shorthand; declare it as its own entry"
                        )
                    } else {
                        format!("unknown type `{w}`")
                    };
                    self.problem(span, &msg, "here", help);
                    return None;
                }
            },
        })
    }

    fn attrs(&mut self, v: &Spanned, path: &str) -> Attrs {
        let mut a = Attrs::default();
        for m in v.members() {
            if !NODE_ATTRS.contains(&m.key.as_str()) {
                let help = names::suggest(&m.key, NODE_ATTRS.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"));
                self.problem(
                    m.key_span,
                    &format!("unknown attribute `{}` on `{path}`", m.key),
                    "unknown",
                    help,
                );
                continue;
            }
            self.attr(&mut a, m);
        }
        a
    }

    fn attr(&mut self, a: &mut Attrs, m: &Member) {
        let v = &m.value;
        let want = |l: &mut Loader, what: &str| {
            l.problem(v.span, &format!("`{}` must be {what}", m.key), "here", None);
        };
        let num = |l: &mut Loader| match &v.value {
            SV::Number(n) if n.value.is_finite() => Some(n.value),
            _ => {
                want(l, "a finite number");
                None
            }
        };
        let count = |l: &mut Loader| match &v.value {
            SV::Number(n) if n.int.is_some_and(|i| i >= 0) => n.int.map(|i| i as u64),
            _ => {
                want(l, "a non-negative integer");
                None
            }
        };
        let string = |l: &mut Loader| match &v.value {
            SV::String(s) => Some(s.clone()),
            _ => {
                want(l, "a string");
                None
            }
        };
        let boolean = |l: &mut Loader| match &v.value {
            SV::Bool(b) => *b,
            _ => {
                want(l, "true or false");
                false
            }
        };
        match m.key.as_str() {
            "doc" => a.doc = string(self),
            "required" => a.required = boolean(self),
            "default" => a.default = Some(v.to_json()),
            "min" => a.min = num(self),
            "max" => a.max = num(self),
            "exclusiveMin" => a.exclusive_min = num(self),
            "exclusiveMax" => a.exclusive_max = num(self),
            "minLength" => a.min_length = count(self),
            "maxLength" => a.max_length = count(self),
            "pattern" => a.pattern = string(self),
            "format" => a.format = string(self),
            "minItems" => a.min_items = count(self),
            "maxItems" => a.max_items = count(self),
            "uniqueItems" => a.unique_items = boolean(self),
            "keyPattern" => a.key_pattern = string(self),
            "keyMinLength" => a.key_min_length = count(self),
            "keyMaxLength" => a.key_max_length = count(self),
            "minProperties" => a.min_properties = count(self),
            "maxProperties" => a.max_properties = count(self),
            "env" => a.env = string(self),
            "cli" => a.cli = string(self),
            "precedence" => {
                if let Some(p) = string(self) {
                    let mut layers: Vec<&str> = p.split('>').map(str::trim).collect();
                    layers.sort_unstable();
                    if layers != ["cli", "env", "file"] {
                        self.problem(v.span, &format!("bad precedence `{p}`"), "here", Some("order the three layers cli, env and file with `>`, e.g. \"cli>file>env\"".into()));
                    } else {
                        a.precedence =
                            Some(p.split('>').map(str::trim).collect::<Vec<_>>().join(">"));
                    }
                }
            }
            "secret" => a.secret = boolean(self),
            "superset" => a.superset = boolean(self),
            "reload" => {
                if let Some(s) = string(self) {
                    match Reload::parse(&s) {
                        Some(r) => a.reload = Some(r),
                        None => {
                            self.problem(v.span, &format!("bad reload class `{s}`"), "here",
                                Some("use none, restart, hot, or hot:<action>[,<action>] with kebab-case actions".into()));
                            // Reported once; do not also report the key as lacking a reload class.
                            a.reload = Some(Reload::Restart);
                        }
                    }
                }
            }
            "legacy" => match (v.get("to").and_then(|t| t.as_str()), &v.value) {
                (Some(to), SV::Object(_)) => {
                    a.legacy = Some(Legacy {
                        to: to.to_string(),
                        note: v.get("note").and_then(|n| n.as_str()).map(str::to_string),
                    })
                }
                _ => want(self, "an object { to: \"new.path\", note?: \"…\" }"),
            },
            // Consumed while building the kind.
            "type" | "values" | "open" | "discriminator" => {}
            _ => {}
        }
    }

    fn check_attr_fit(&mut self, kind: &Kind, a: &Attrs, v: &Spanned) {
        let numeric = matches!(kind, Kind::Integer | Kind::Number);
        let stringy = matches!(kind, Kind::String);
        let listy = matches!(kind, Kind::List(_));
        let mappy = matches!(kind, Kind::Map(_) | Kind::Object { .. });
        let checks: [(&str, bool, bool); 16] = [
            ("min", a.min.is_some(), numeric),
            ("max", a.max.is_some(), numeric),
            ("exclusiveMin", a.exclusive_min.is_some(), numeric),
            ("exclusiveMax", a.exclusive_max.is_some(), numeric),
            ("minLength", a.min_length.is_some(), stringy),
            ("maxLength", a.max_length.is_some(), stringy),
            ("pattern", a.pattern.is_some(), stringy),
            ("format", a.format.is_some(), stringy),
            ("minItems", a.min_items.is_some(), listy),
            ("maxItems", a.max_items.is_some(), listy),
            ("uniqueItems", a.unique_items, listy),
            ("keyPattern", a.key_pattern.is_some(), mappy),
            ("keyMinLength", a.key_min_length.is_some(), mappy),
            ("keyMaxLength", a.key_max_length.is_some(), mappy),
            ("minProperties", a.min_properties.is_some(), mappy),
            ("maxProperties", a.max_properties.is_some(), mappy),
        ];
        for (name, present, fits) in checks {
            if present && !fits {
                let span = v.member(name).map_or(v.span, |m| m.key_span);
                self.problem(
                    span,
                    &format!("`{name}` does not apply to a {}", kind.name()),
                    "not applicable",
                    None,
                );
            }
        }
        for (name, fits) in [
            ("values", matches!(kind, Kind::Enum(_))),
            ("open", matches!(kind, Kind::Object { .. })),
            ("discriminator", matches!(kind, Kind::Union { .. })),
        ] {
            if let Some(m) = v.member(name)
                && !fits
            {
                self.problem(
                    m.key_span,
                    &format!("`{name}` does not apply to a {}", kind.name()),
                    "not applicable",
                    None,
                );
            }
        }
    }

    /// Attaches every node to its parent.
    fn link(&mut self, paths: &BTreeMap<String, NodeId>, root: Option<NodeId>, types: bool) {
        let mut variants: BTreeMap<NodeId, Vec<(usize, NodeId)>> = BTreeMap::new();
        // Declaration order keeps object fields in the order the spec lists them.
        let mut ordered: Vec<(&String, &NodeId)> = paths.iter().collect();
        ordered.sort_by_key(|(_, id)| **id);
        for (path, &id) in ordered {
            let span = self.nodes[id].span;
            let role = split_path(path);
            let parent_path = match &role {
                Role::Top(_) => None,
                Role::Field(p, _) | Role::Extra(p) | Role::Item(p) | Role::Variant(p, _) => {
                    Some(p.clone())
                }
            };
            let parent = match parent_path {
                None if types => continue,
                None => root,
                Some(pp) => match paths.get(&pp) {
                    Some(&p) => Some(p),
                    None if self
                        .failed
                        .iter()
                        .any(|f| pp == *f || pp.starts_with(&format!("{f}."))) =>
                    {
                        continue;
                    }
                    None => {
                        self.problem(
                            span,
                            &format!("`{path}` has no parent: `{pp}` is not declared"),
                            "orphan",
                            Some(format!(
                                "declare `{pp}` first (with type object, map, list or union)"
                            )),
                        );
                        continue;
                    }
                },
            };
            let Some(parent) = parent else { continue };
            let required = self.nodes[id].attrs.required;
            let parent_kind = self.nodes[parent].kind.name();
            let ok = match (&mut self.nodes[parent].kind, role) {
                (Kind::Object { fields, .. }, Role::Field(_, name) | Role::Top(name)) => {
                    fields.push(Field {
                        name,
                        node: id,
                        required,
                    });
                    true
                }
                (Kind::Object { extra, .. }, Role::Extra(_)) if extra.is_none() => {
                    *extra = Some(id);
                    true
                }
                (Kind::Map(slot @ None), Role::Extra(_))
                | (Kind::List(slot @ None), Role::Item(_)) => {
                    *slot = Some(id);
                    true
                }
                (Kind::Union { .. }, Role::Variant(_, n)) => {
                    variants.entry(parent).or_default().push((n, id));
                    true
                }
                _ => false,
            };
            if !ok {
                self.problem(span, &format!("`{path}` does not fit its parent, which is a {parent_kind}"), "here",
                    Some("fields belong to objects, `.*` to maps/objects, `[]` to lists, `<N>` to unions; shorthand types (list<T>, A|B) declare their children already".into()));
            }
        }
        for (parent, mut vs) in variants {
            vs.sort();
            let holes = vs.iter().enumerate().any(|(i, (n, _))| *n != i);
            if holes {
                let span = self.nodes[parent].span;
                let p = self.nodes[parent].path.clone();
                self.problem(
                    span,
                    &format!("union `{p}` must number its variants <0>, <1>, … without gaps"),
                    "here",
                    None,
                );
            }
            if let Kind::Union { variants, .. } = &mut self.nodes[parent].kind {
                *variants = vs.into_iter().map(|(_, id)| id).collect();
            }
        }
        for (path, &id) in paths {
            let span = self.nodes[id].span;
            let missing = match &self.nodes[id].kind {
                Kind::List(None) => Some(format!("list `{path}` has no item node `{path}[]`")),
                Kind::Map(None) => Some(format!("map `{path}` has no value node `{path}.*`")),
                Kind::Union { variants, .. } if variants.len() < 2 => Some(format!(
                    "union `{path}` needs at least two variants (`{path}<0>`, `{path}<1>`)"
                )),
                _ => None,
            };
            if let Some(msg) = missing {
                self.problem(
                    span,
                    &msg,
                    "declared here",
                    Some("declare the child entries, or use a shorthand like list<string>".into()),
                );
            }
        }
    }

    fn inline_fields(&mut self, owner: &str, obj: &Spanned, file: u32) -> Vec<Field> {
        let _ = file;
        let mut fields = Vec::new();
        for m in obj.members() {
            let path = format!("{owner}.{}", m.key);
            if let Some(id) = self.node_from_entry(&path, &m.value, m.key_span) {
                self.nodes[id].path = path;
                fields.push(Field {
                    name: m.key.clone(),
                    node: id,
                    required: self.nodes[id].attrs.required,
                });
            }
        }
        fields
    }

    fn payload(&mut self, owner: &str, entry: &Spanned, field: &str, file: u32) -> Payload {
        match entry.get(field) {
            None => Payload::Fields(Vec::new()),
            Some(p) => match &p.value {
                SV::Object(_) => Payload::Fields(self.inline_fields(owner, p, file)),
                SV::String(t) => {
                    let fake = Spanned::new(
                        SV::Object(vec![Member {
                            key: "type".into(),
                            key_span: p.span,
                            value: Spanned::new(SV::String(t.clone()), p.span),
                        }]),
                        p.span,
                    );
                    match self.node_from_entry(owner, &fake, p.span) {
                        Some(id) => Payload::Node(id),
                        None => Payload::Fields(Vec::new()),
                    }
                }
                _ => {
                    self.problem(
                        p.span,
                        &format!("`{field}` must be an object of fields or a type expression"),
                        "here",
                        None,
                    );
                    Payload::Fields(Vec::new())
                }
            },
        }
    }

    fn entry_str(&mut self, entry: &Spanned, key: &str) -> Option<String> {
        let v = entry.get(key)?;
        match v.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.problem(v.span, &format!("`{key}` must be a string"), "here", None);
                None
            }
        }
    }

    fn known_keys(&mut self, entry: &Spanned, name: &str, allowed: &[&str]) {
        for m in entry.members() {
            if !allowed.contains(&m.key.as_str()) {
                let help = names::suggest(&m.key, allowed.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"));
                self.problem(
                    m.key_span,
                    &format!("unknown attribute `{}` on `{name}`", m.key),
                    "unknown",
                    help,
                );
            }
        }
    }

    fn methods(&mut self, doc: &Spanned) -> Vec<Method> {
        let mut out = Vec::new();
        for m in doc.members() {
            let e = &m.value;
            self.known_keys(
                e,
                &m.key,
                &[
                    "doc",
                    "scope",
                    "params",
                    "result",
                    "errors",
                    "ignoreUnknownParams",
                ],
            );
            let params = match e.get("params") {
                Some(p) if matches!(p.value, SV::Object(_)) => {
                    self.inline_fields(&format!("method:{}.params", m.key), p, METHODS)
                }
                Some(p) => {
                    self.problem(p.span, "`params` must be an object of fields", "here", None);
                    Vec::new()
                }
                None => Vec::new(),
            };
            let result = self.payload(&format!("method:{}.result", m.key), e, "result", METHODS);
            let errors = match e.get("errors").map(|v| &v.value) {
                Some(SV::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            out.push(Method {
                name: m.key.clone(),
                doc: self.entry_str(e, "doc").unwrap_or_default(),
                scope: self.entry_str(e, "scope"),
                params,
                result,
                errors,
                ignore_unknown_params: e
                    .get("ignoreUnknownParams")
                    .and_then(Spanned::as_bool)
                    .unwrap_or(false),
                span: m.key_span,
            });
        }
        out
    }

    fn events(&mut self, doc: &Spanned) -> Vec<Event> {
        let mut out = Vec::new();
        for m in doc.members() {
            self.known_keys(&m.value, &m.key, &["doc", "payload"]);
            let payload = self.payload(
                &format!("event:{}.payload", m.key),
                &m.value,
                "payload",
                EVENTS,
            );
            out.push(Event {
                name: m.key.clone(),
                doc: self.entry_str(&m.value, "doc").unwrap_or_default(),
                payload,
                span: m.key_span,
            });
        }
        out
    }

    fn errors(&mut self, doc: &Spanned) -> Vec<ErrorCodeSpec> {
        let mut out = Vec::new();
        for m in doc.members() {
            self.known_keys(&m.value, &m.key, &["doc"]);
            if !m.key.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                self.problem(
                    m.key_span,
                    &format!("error code `{}` must be UPPER_SNAKE_CASE", m.key),
                    "here",
                    None,
                );
            }
            out.push(ErrorCodeSpec {
                code: m.key.clone(),
                doc: self.entry_str(&m.value, "doc").unwrap_or_default(),
                span: m.key_span,
            });
        }
        out
    }
}

/// Checks that a JSON value fits a node (used for `default`). Returns a message on mismatch.
pub fn check_value(spec: &Spec, id: NodeId, v: &Value) -> Result<(), String> {
    let node = &spec.nodes[id];
    let a = &node.attrs;
    match (&node.kind, v) {
        (Kind::Any, _) => Ok(()),
        (Kind::Ref(name), _) => match spec.types.get(name) {
            Some(&t) => check_value(spec, t, v),
            None => Ok(()),
        },
        (Kind::String, Value::String(s)) => {
            let n = s.chars().count() as u64;
            if a.min_length.is_some_and(|m| n < m) || a.max_length.is_some_and(|m| n > m) {
                return Err(format!("length {n} is outside the allowed range"));
            }
            if let Some(p) = &a.pattern
                && let Ok(re) = fancy_regex::Regex::new(&crate::regex::js_to_rust(p))
                && !re.is_match(s).unwrap_or(true)
            {
                return Err(format!("\"{s}\" does not match the pattern /{p}/"));
            }
            Ok(())
        }
        (Kind::Integer, Value::Number(n))
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() <= jsonspan::MAX_SAFE_INTEGER) =>
        {
            check_bounds(a, n.as_f64())
        }
        (Kind::Number, Value::Number(n)) => check_bounds(a, n.as_f64()),
        (Kind::Boolean, Value::Bool(_)) | (Kind::Null, Value::Null) => Ok(()),
        (Kind::Enum(values), v) => {
            if values.contains(v) {
                Ok(())
            } else {
                Err(format!("{v} is not one of the enum values"))
            }
        }
        (Kind::List(Some(item)), Value::Array(items)) => {
            let n = items.len() as u64;
            if a.min_items.is_some_and(|m| n < m) || a.max_items.is_some_and(|m| n > m) {
                return Err(format!("{n} items is outside the allowed count"));
            }
            if a.unique_items
                && items
                    .iter()
                    .enumerate()
                    .any(|(i, x)| items[..i].contains(x))
            {
                return Err("the items must be unique".into());
            }
            items.iter().try_for_each(|i| check_value(spec, *item, i))
        }
        (Kind::Map(Some(val)), Value::Object(o)) => {
            o.values().try_for_each(|i| check_value(spec, *val, i))
        }
        (
            Kind::Object {
                fields,
                extra,
                open,
            },
            Value::Object(o),
        ) => {
            for (k, x) in o {
                match fields.iter().find(|f| &f.name == k) {
                    Some(f) => check_value(spec, f.node, x)?,
                    None => match extra {
                        Some(e) => check_value(spec, *e, x)?,
                        None if *open => {}
                        None => return Err(format!("unknown field `{k}`")),
                    },
                }
            }
            match fields
                .iter()
                .find(|f| f.required && !o.contains_key(&f.name))
            {
                Some(f) => Err(format!("missing required field `{}`", f.name)),
                None => Ok(()),
            }
        }
        (Kind::Union { variants, .. }, v) => {
            if variants.iter().any(|&x| check_value(spec, x, v).is_ok()) {
                Ok(())
            } else {
                Err("no union variant fits".into())
            }
        }
        (k, v) => Err(format!("expected {}, found {}", k.name(), json_type(v))),
    }
}

fn check_bounds(a: &Attrs, n: Option<f64>) -> Result<(), String> {
    let Some(n) = n else { return Ok(()) };
    let bad = a.min.is_some_and(|m| n < m)
        || a.max.is_some_and(|m| n > m)
        || a.exclusive_min.is_some_and(|m| n <= m)
        || a.exclusive_max.is_some_and(|m| n >= m);
    if bad {
        Err(format!("{n} is out of range"))
    } else {
        Ok(())
    }
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
