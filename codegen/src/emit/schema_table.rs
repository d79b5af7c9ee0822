//! `schema_table.rs`: every spec node as a static `SchemaNode`, indexed by node id. The config
//! validator walks this table, so it sees the whole spec, however deep.

use std::fmt::Write;

use super::{f64_lit, lit, opt_lit, runtime_paths::SCHEMA};
use crate::model::*;

pub fn emit(spec: &Spec) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#[allow(unused_imports)]\nuse {SCHEMA}::{{FieldDef, Limits, Lit, NodeKind, SchemaNode}};"
    );
    let _ = writeln!(
        out,
        "/// Index of the config root in [`NODES`].\npub const ROOT: u32 = {};",
        spec.config_root
    );
    let _ = writeln!(
        out,
        "/// Named types: name → node index.\npub static TYPES: &[(&str, u32)] = &["
    );
    for (name, id) in &spec.types {
        let _ = writeln!(out, "({}, {id}),", lit(name));
    }
    let _ = writeln!(
        out,
        "];\n/// Every node of the spec, by id.\npub static NODES: &[SchemaNode] = &["
    );
    for (id, n) in spec.nodes.iter().enumerate() {
        let _ = writeln!(out, "// {id}\n{},", node(spec, n));
    }
    out.push_str("];\n");
    out
}

fn node(spec: &Spec, n: &Node) -> String {
    let a = &n.attrs;
    let kind = match &n.kind {
        Kind::String => "NodeKind::String".to_string(),
        Kind::Integer => "NodeKind::Integer".to_string(),
        Kind::Number => "NodeKind::Number".to_string(),
        Kind::Boolean => "NodeKind::Boolean".to_string(),
        Kind::Null => "NodeKind::Null".to_string(),
        Kind::Any => "NodeKind::Any".to_string(),
        Kind::Enum(values) => {
            let vals: Vec<String> = values.iter().map(lit_value).collect();
            format!("NodeKind::Enum(&[{}])", vals.join(", "))
        }
        Kind::Object {
            fields,
            extra,
            open,
        } => {
            // Sorted by name so the validator can binary-search.
            let mut fs: Vec<&Field> = fields.iter().collect();
            fs.sort_by(|a, b| a.name.cmp(&b.name));
            let fields: Vec<String> = fs
                .iter()
                .map(|f| {
                    format!(
                        "FieldDef {{ name: {}, node: {}, required: {} }}",
                        lit(&f.name),
                        f.node,
                        f.required
                    )
                })
                .collect();
            format!(
                "NodeKind::Object {{ fields: &[{}], extra: {}, open: {open} }}",
                fields.join(", "),
                extra.map_or("None".to_string(), |e| format!("Some({e})"))
            )
        }
        Kind::Map(v) => format!("NodeKind::Map({})", v.unwrap_or(0)),
        Kind::List(v) => format!("NodeKind::List({})", v.unwrap_or(0)),
        Kind::Union {
            variants,
            discriminator,
        } => format!(
            "NodeKind::Union {{ variants: &[{}], discriminator: {} }}",
            variants
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            opt_lit(discriminator.as_deref())
        ),
        Kind::Ref(name) => format!(
            "NodeKind::Ref({})",
            spec.types.get(name).copied().unwrap_or(0)
        ),
    };
    let mut lim = String::new();
    let mut opt = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = write!(lim, "{name}: Some({v}), ");
        }
    };
    opt("min", a.min.map(f64_lit));
    opt("max", a.max.map(f64_lit));
    opt("exclusive_min", a.exclusive_min.map(f64_lit));
    opt("exclusive_max", a.exclusive_max.map(f64_lit));
    opt("min_length", a.min_length.map(|v| v.to_string()));
    opt("max_length", a.max_length.map(|v| v.to_string()));
    opt(
        "pattern",
        a.pattern
            .as_deref()
            .map(|p| lit(&crate::regex::js_to_rust(p))),
    );
    opt("format", a.format.as_deref().map(lit));
    opt("min_items", a.min_items.map(|v| v.to_string()));
    opt("max_items", a.max_items.map(|v| v.to_string()));
    opt(
        "key_pattern",
        a.key_pattern
            .as_deref()
            .map(|p| lit(&crate::regex::js_to_rust(p))),
    );
    opt("key_min_length", a.key_min_length.map(|v| v.to_string()));
    opt("key_max_length", a.key_max_length.map(|v| v.to_string()));
    opt("min_properties", a.min_properties.map(|v| v.to_string()));
    opt("max_properties", a.max_properties.map(|v| v.to_string()));
    if a.unique_items {
        lim.push_str("unique_items: true, ");
    }
    let mut s = format!("SchemaNode {{ path: {}, kind: {kind}", lit(&n.path));
    if !lim.is_empty() {
        let _ = write!(s, ", limits: &Limits {{ {lim}..Limits::NONE }}");
    }
    if let Some(d) = &a.doc {
        let _ = write!(s, ", doc: Some({})", lit(d));
    }
    if let Some(d) = &a.default {
        let _ = write!(s, ", default: Some({})", lit(&d.to_string()));
    }
    if let Some(l) = &a.legacy {
        let _ = write!(s, ", legacy: Some({})", lit(&l.to));
    }
    if a.secret {
        s.push_str(", secret: true");
    }
    if a.superset {
        s.push_str(", superset: true");
    }
    s.push_str(", ..SchemaNode::BLANK }");
    s
}

fn lit_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("Lit::Str({})", lit(s)),
        serde_json::Value::Bool(b) => format!("Lit::Bool({b})"),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => format!("Lit::Int({i})"),
            None => format!("Lit::Num({})", f64_lit(n.as_f64().unwrap_or(0.0))),
        },
        _ => "Lit::Null".to_string(),
    }
}
