//! The shapes of the generated schema table (`generated::schema_table`), and lookups over it.

/// A literal enum value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    Str(&'static str),
    Int(i64),
    Num(f64),
    Bool(bool),
    Null,
}

impl Lit {
    pub fn to_json(&self) -> serde_json::Value {
        match *self {
            Lit::Str(s) => serde_json::Value::from(s),
            Lit::Int(i) => serde_json::Value::from(i),
            Lit::Num(f) => serde_json::Value::from(f),
            Lit::Bool(b) => serde_json::Value::from(b),
            Lit::Null => serde_json::Value::Null,
        }
    }
}

impl std::fmt::Display for Lit {
    /// As OpenClaw quotes allowed values: strings in double quotes, other values bare.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Str(s) => write!(f, "{}", serde_json::Value::from(*s)),
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Num(n) => write!(f, "{n}"),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Null => f.write_str("null"),
        }
    }
}

/// A named field of an object node.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub node: u32,
    pub required: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum NodeKind {
    String,
    Integer,
    Number,
    Boolean,
    Null,
    Any,
    Enum(&'static [Lit]),
    /// `fields` are sorted by name.
    Object {
        fields: &'static [FieldDef],
        extra: Option<u32>,
        open: bool,
    },
    Map(u32),
    List(u32),
    Union {
        variants: &'static [u32],
        discriminator: Option<&'static str>,
    },
    /// A named type: the node index of its root.
    Ref(u32),
}

/// One node of the spec. Limits live behind a reference because most nodes have none, which keeps
/// the table (and so the binary's relocated data) small.
#[derive(Debug, Clone, Copy)]
pub struct SchemaNode {
    pub path: &'static str,
    pub kind: NodeKind,
    pub doc: Option<&'static str>,
    /// The default as JSON text.
    pub default: Option<&'static str>,
    pub limits: &'static Limits,
    pub secret: bool,
    pub legacy: Option<&'static str>,
    pub superset: bool,
}

/// Bounds, lengths, patterns and counts of one node.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub exclusive_min: Option<f64>,
    pub exclusive_max: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<&'static str>,
    pub format: Option<&'static str>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub key_pattern: Option<&'static str>,
    pub key_min_length: Option<u64>,
    pub key_max_length: Option<u64>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
}

impl Limits {
    pub const NONE: Limits = Limits {
        min: None,
        max: None,
        exclusive_min: None,
        exclusive_max: None,
        min_length: None,
        max_length: None,
        pattern: None,
        format: None,
        min_items: None,
        max_items: None,
        unique_items: false,
        key_pattern: None,
        key_min_length: None,
        key_max_length: None,
        min_properties: None,
        max_properties: None,
    };
}

impl SchemaNode {
    /// All attributes unset; generated entries fill in what they declare.
    pub const BLANK: SchemaNode = SchemaNode {
        path: "",
        kind: NodeKind::Any,
        doc: None,
        default: None,
        limits: &Limits::NONE,
        secret: false,
        legacy: None,
        superset: false,
    };
}

/// A row of the generated `KEYS` table.
#[derive(Debug, Clone, Copy)]
pub struct KeyMeta {
    pub path: &'static str,
    pub node: u32,
    pub env: Option<&'static str>,
    pub cli: Option<&'static str>,
    pub secret: bool,
}

/// A row of the generated `RELOAD_RULES` table.
#[derive(Debug, Clone, Copy)]
pub struct ReloadRule {
    pub prefix: &'static str,
    pub class: &'static str,
    pub actions: &'static [&'static str],
}

/// A row of the generated `OVERRIDES` table: a key an env var or flag can set.
#[derive(Debug, Clone, Copy)]
pub struct Override {
    pub path: &'static str,
    pub node: u32,
    pub env: Option<&'static str>,
    pub cli: Option<&'static str>,
    /// `cli>env>file` or another order of the three layers.
    pub precedence: &'static str,
}

use crate::generated::schema_table::{NODES, ROOT};

pub fn node(id: u32) -> &'static SchemaNode {
    &NODES[id as usize]
}

/// Follows named-type references.
pub fn resolve(mut id: u32) -> u32 {
    for _ in 0..64 {
        match NODES[id as usize].kind {
            NodeKind::Ref(t) => id = t,
            _ => return id,
        }
    }
    id
}

pub fn root() -> u32 {
    ROOT
}

/// The field `name` of an object node, if declared.
pub fn field(fields: &'static [FieldDef], name: &str) -> Option<&'static FieldDef> {
    fields
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &fields[i])
}

/// Looks up the schema node for a concrete dotted path (`gateway.auth.mode`,
/// `channels.telegram.accounts.main.botToken`, `agents.list.0.id`). Map keys and list indices are
/// matched by the map's value node and the list's item node; unions are searched in order.
pub fn lookup(path: &str) -> Option<u32> {
    let mut id = ROOT;
    if path.is_empty() {
        return Some(id);
    }
    for seg in path.split('.') {
        id = child(id, seg)?;
    }
    Some(id)
}

fn child(id: u32, seg: &str) -> Option<u32> {
    match node(resolve(id)).kind {
        NodeKind::Object { fields, extra, .. } => field(fields, seg).map(|f| f.node).or(extra),
        NodeKind::Map(v) => Some(v),
        NodeKind::List(v) => seg.parse::<usize>().ok().map(|_| v),
        NodeKind::Union { variants, .. } => variants.iter().find_map(|&v| child(v, seg)),
        _ => None,
    }
}

/// Visits every value in `root` that the schema marks secret — a secret node, or a union with a
/// secret variant (a string or a SecretRef) — with its dotted path (`gateway.auth.token`,
/// `models.providers.openai.apiKey`, list items by index). Objects under a union are walked through
/// every object variant, so a key that is secret in any of them counts. The one walk behind the
/// gateway's redaction of `config.get` and the audits' plaintext-secret scan.
pub fn visit_secrets<'a>(
    root: &'a jsonspan::Spanned,
    visit: &mut dyn FnMut(&str, &'a jsonspan::Spanned),
) {
    walk_secrets(root, self::root(), "", 0, visit);
}

fn walk_secrets<'a>(
    v: &'a jsonspan::Spanned,
    node_id: u32,
    path: &str,
    depth: usize,
    visit: &mut dyn FnMut(&str, &'a jsonspan::Spanned),
) {
    use jsonspan::Value as V;
    if depth > 64 || matches!(v.value, V::Null) {
        return;
    }
    let n = node(resolve(node_id));
    let secret_union = matches!(&n.kind, NodeKind::Union { variants, .. }
        if variants.iter().any(|&var| node(resolve(var)).secret));
    if n.secret || secret_union {
        visit(path, v);
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (&n.kind, &v.value) {
        (NodeKind::Object { fields, extra, .. }, V::Object(members)) => {
            for m in members {
                let child = field(fields, &m.key).map(|f| f.node).or(*extra);
                if let Some(child) = child {
                    walk_secrets(&m.value, child, &join(&m.key), depth + 1, visit);
                }
            }
        }
        (NodeKind::Map(item), V::Object(members)) => {
            for m in members {
                walk_secrets(&m.value, *item, &join(&m.key), depth + 1, visit);
            }
        }
        (NodeKind::List(item), V::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                walk_secrets(it, *item, &join(&i.to_string()), depth + 1, visit);
            }
        }
        (NodeKind::Union { variants, .. }, V::Object(_)) => {
            for &var in variants.iter() {
                if matches!(node(resolve(var)).kind, NodeKind::Object { .. }) {
                    walk_secrets(v, var, path, depth + 1, visit);
                }
            }
        }
        _ => {}
    }
}
