//! `config.schema.json`: a draft-07 JSON Schema of the config for editors (`$schema`) and
//! `openclaw config schema`. Named types become `definitions` referenced with `$ref`.

use serde_json::{Map, Value, json};

use crate::model::*;

pub fn emit(spec: &Spec) -> String {
    let mut root = schema(spec, spec.config_root);
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("$schema".into(), json!({ "type": "string", "description": "URL or path of this JSON Schema, for editors." }));
    }
    let defs: Map<String, Value> = spec
        .types
        .iter()
        .map(|(name, &id)| (name.clone(), schema(spec, id)))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    doc.insert(
        "title".into(),
        json!("OpenClaw configuration (openclaw.json)"),
    );
    if let Value::Object(r) = root {
        doc.extend(r);
    }
    doc.insert("definitions".into(), Value::Object(defs));
    let mut text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
    text.push('\n');
    text
}

fn schema(spec: &Spec, id: NodeId) -> Value {
    let n = &spec.nodes[id];
    let a = &n.attrs;
    let mut s = Map::new();
    let ty = |t: &str| json!(t);
    match &n.kind {
        Kind::String => {
            s.insert("type".into(), ty("string"));
        }
        Kind::Integer => {
            s.insert("type".into(), ty("integer"));
        }
        Kind::Number => {
            s.insert("type".into(), ty("number"));
        }
        Kind::Boolean => {
            s.insert("type".into(), ty("boolean"));
        }
        Kind::Null => {
            s.insert("type".into(), ty("null"));
        }
        Kind::Any => {}
        Kind::Enum(values) => {
            s.insert("enum".into(), Value::Array(values.clone()));
        }
        Kind::Object {
            fields,
            extra,
            open,
        } => {
            s.insert("type".into(), ty("object"));
            let props: Map<String, Value> = fields
                .iter()
                .map(|f| (f.name.clone(), schema(spec, f.node)))
                .collect();
            s.insert("properties".into(), Value::Object(props));
            let required: Vec<Value> = fields
                .iter()
                .filter(|f| f.required)
                .map(|f| json!(f.name))
                .collect();
            if !required.is_empty() {
                s.insert("required".into(), Value::Array(required));
            }
            match (extra, open) {
                (Some(e), _) => {
                    s.insert("additionalProperties".into(), schema(spec, *e));
                }
                (None, false) => {
                    s.insert("additionalProperties".into(), json!(false));
                }
                (None, true) => {}
            }
        }
        Kind::Map(v) => {
            s.insert("type".into(), ty("object"));
            if let Some(v) = v {
                s.insert("additionalProperties".into(), schema(spec, *v));
            }
        }
        Kind::List(v) => {
            s.insert("type".into(), ty("array"));
            if let Some(v) = v {
                s.insert("items".into(), schema(spec, *v));
            }
        }
        Kind::Union { variants, .. } => {
            s.insert(
                "anyOf".into(),
                Value::Array(variants.iter().map(|&v| schema(spec, v)).collect()),
            );
        }
        Kind::Ref(name) => {
            s.insert("$ref".into(), json!(format!("#/definitions/{name}")));
        }
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            s.insert(k.into(), v);
        }
    };
    put("description", a.doc.as_ref().map(|d| json!(d)));
    put("default", a.default.clone());
    put("minimum", a.min.map(|v| json!(v)));
    put("maximum", a.max.map(|v| json!(v)));
    put("exclusiveMinimum", a.exclusive_min.map(|v| json!(v)));
    put("exclusiveMaximum", a.exclusive_max.map(|v| json!(v)));
    put("minLength", a.min_length.map(|v| json!(v)));
    put("maxLength", a.max_length.map(|v| json!(v)));
    put("pattern", a.pattern.as_ref().map(|v| json!(v)));
    put("format", a.format.as_ref().map(|v| json!(v)));
    put("minItems", a.min_items.map(|v| json!(v)));
    put("maxItems", a.max_items.map(|v| json!(v)));
    put("uniqueItems", a.unique_items.then_some(json!(true)));
    put("minProperties", a.min_properties.map(|v| json!(v)));
    put("maxProperties", a.max_properties.map(|v| json!(v)));
    put("deprecated", a.legacy.as_ref().map(|_| json!(true)));
    let mut names = Map::new();
    if let Some(p) = &a.key_pattern {
        names.insert("pattern".into(), json!(p));
    }
    if let Some(v) = a.key_min_length {
        names.insert("minLength".into(), json!(v));
    }
    if let Some(v) = a.key_max_length {
        names.insert("maxLength".into(), json!(v));
    }
    if !names.is_empty() {
        s.insert("propertyNames".into(), Value::Object(names));
    }
    Value::Object(s)
}
