//! The checked, linked spec: a tree (in fact a DAG, through named types) of schema nodes, plus the
//! protocol declarations.

use std::collections::BTreeMap;

use jsonspan::Span;
use serde_json::Value;

pub type NodeId = usize;

#[derive(Debug)]
pub struct Spec {
    pub nodes: Vec<Node>,
    /// The implicit root object of the config.
    pub config_root: NodeId,
    /// Named types from `types.json5`, by name.
    pub types: BTreeMap<String, NodeId>,
    pub methods: Vec<Method>,
    pub events: Vec<Event>,
    pub errors: Vec<ErrorCodeSpec>,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// The path as declared (`gateway.auth.mode`, `SecretRef.source`, `method:health.params.probe`).
    pub path: String,
    pub kind: Kind,
    pub attrs: Attrs,
    /// Where the node is declared (its key in the spec file).
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Null,
    Any,
    Enum(Vec<Value>),
    Object {
        fields: Vec<Field>,
        extra: Option<NodeId>,
        open: bool,
    },
    Map(Option<NodeId>),
    List(Option<NodeId>),
    Union {
        variants: Vec<NodeId>,
        discriminator: Option<String>,
    },
    Ref(String),
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Null => "null",
            Kind::Any => "any",
            Kind::Enum(_) => "enum",
            Kind::Object { .. } => "object",
            Kind::Map(_) => "map",
            Kind::List(_) => "list",
            Kind::Union { .. } => "union",
            Kind::Ref(_) => "named type",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub node: NodeId,
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs {
    pub doc: Option<String>,
    pub required: bool,
    pub default: Option<Value>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub exclusive_min: Option<f64>,
    pub exclusive_max: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub format: Option<String>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub key_pattern: Option<String>,
    pub key_min_length: Option<u64>,
    pub key_max_length: Option<u64>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub reload: Option<Reload>,
    pub env: Option<String>,
    pub cli: Option<String>,
    /// Order of the layers for this key, e.g. `cli>file>env` (the default is `cli>env>file`).
    pub precedence: Option<String>,
    pub secret: bool,
    pub legacy: Option<Legacy>,
    pub superset: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    None,
    Restart,
    Hot(Vec<String>),
}

impl Reload {
    pub fn parse(s: &str) -> Option<Reload> {
        match s {
            "none" => Some(Reload::None),
            "restart" => Some(Reload::Restart),
            "hot" => Some(Reload::Hot(Vec::new())),
            _ => {
                let actions = s.strip_prefix("hot:")?;
                let list: Vec<String> = actions.split(',').map(|a| a.trim().to_string()).collect();
                let ok = list.iter().all(|a| {
                    !a.is_empty()
                        && a.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                });
                ok.then_some(Reload::Hot(list))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Legacy {
    pub to: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub doc: String,
    pub scope: Option<String>,
    pub params: Vec<Field>,
    pub result: Payload,
    pub errors: Vec<String>,
    pub ignore_unknown_params: bool,
    pub span: Span,
}

/// The shape of a result or event payload.
#[derive(Debug, Clone)]
pub enum Payload {
    /// An object with these fields.
    Fields(Vec<Field>),
    /// A single node (a named type, a list, `any`, …).
    Node(NodeId),
}

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub doc: String,
    pub payload: Payload,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ErrorCodeSpec {
    pub code: String,
    pub doc: String,
    pub span: Span,
}
