//! Semantic checks over the linked spec: references resolve, defaults fit, reload classes and
//! overrides are where they belong, patterns compile.

use std::collections::HashMap;

use jsonspan::Span;

use crate::load::check_value;
use crate::model::*;
use crate::names;

type Report<'a> = dyn FnMut(Span, &str, &str, Option<String>) + 'a;

/// Runs every semantic check. `types_readable` is false when types.json5 did not parse (then
/// references to named types are not reported as dangling: the syntax error says it all).
pub fn check(spec: &Spec, types_readable: bool, report: &mut Report<'_>) {
    let in_types = |n: &Node| n.span.src == 1;
    let mut envs: HashMap<&str, Span> = HashMap::new();
    let mut clis: HashMap<&str, Span> = HashMap::new();
    for (id, node) in spec.nodes.iter().enumerate() {
        if let Kind::Ref(name) = &node.kind
            && types_readable
            && !spec.types.contains_key(name)
        {
            let help = names::suggest(name, spec.types.keys().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"));
            report(
                node.span,
                &format!(
                    "`{}` refers to type `{name}`, which types.json5 does not declare",
                    node.path
                ),
                "unknown type",
                help,
            );
        }
        let a = &node.attrs;
        if let Some(d) = &a.default
            && let Err(msg) = check_value(spec, id, d)
        {
            report(
                node.span,
                &format!("default of `{}` does not fit its type: {msg}", node.path),
                "bad default",
                None,
            );
        }
        for p in [&a.pattern, &a.key_pattern].into_iter().flatten() {
            if let Err(e) = fancy_regex::Regex::new(&crate::regex::js_to_rust(p)) {
                report(
                    node.span,
                    &format!("pattern of `{}` does not compile: {e}", node.path),
                    "bad pattern",
                    None,
                );
            }
        }
        let path_only = [
            ("reload", a.reload.is_some()),
            ("env", a.env.is_some()),
            ("cli", a.cli.is_some()),
            ("legacy", a.legacy.is_some()),
        ];
        if in_types(node) || node.path.contains(':') {
            for (name, present) in path_only {
                if present {
                    report(
                        node.span,
                        &format!("`{name}` belongs to config paths, not to `{}`", node.path),
                        "not allowed here",
                        None,
                    );
                }
            }
        }
        if let Some(env) = &a.env {
            if !env
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                report(
                    node.span,
                    &format!("env var name `{env}` must be UPPER_SNAKE_CASE"),
                    "here",
                    None,
                );
            }
            if let Some(_first) = envs.insert(env, node.span) {
                report(
                    node.span,
                    &format!("env var `{env}` is bound to two keys"),
                    "second binding",
                    None,
                );
            }
        }
        if let Some(cli) = &a.cli {
            if !cli.starts_with("--") {
                report(
                    node.span,
                    &format!("CLI flag `{cli}` must start with `--`"),
                    "here",
                    None,
                );
            }
            if clis.insert(cli, node.span).is_some() {
                report(
                    node.span,
                    &format!("CLI flag `{cli}` is bound to two keys"),
                    "second binding",
                    None,
                );
            }
        }
        if let Kind::Union {
            variants,
            discriminator: Some(tag),
        } = &node.kind
        {
            for &v in variants {
                let target = resolve(spec, v);
                let has = matches!(&spec.nodes[target].kind, Kind::Object { fields, .. } if fields.iter().any(|f| &f.name == tag));
                if !has {
                    report(
                        node.span,
                        &format!(
                            "union `{}` is discriminated by `{tag}`, but variant `{}` has no such field",
                            node.path, spec.nodes[v].path
                        ),
                        "here",
                        None,
                    );
                }
            }
        }
    }
    check_names(spec, report);
    for (id, node) in spec.nodes.iter().enumerate() {
        check_limits(spec, id, node, report);
    }
    if let Kind::Object { fields, .. } = &spec.nodes[spec.config_root].kind {
        for f in fields {
            let n = &spec.nodes[f.node];
            if n.attrs.reload.is_none() {
                report(
                    n.span,
                    &format!("top-level key `{}` must declare `reload`", f.name),
                    "no reload class",
                    Some("add reload: \"hot\", \"restart\" or \"none\"".into()),
                );
            }
        }
    }
    for m in &spec.methods {
        let known = spec
            .errors
            .iter()
            .map(|e| e.code.as_str())
            .collect::<Vec<_>>();
        for e in &m.errors {
            if !known.contains(&e.as_str()) {
                report(
                    m.span,
                    &format!(
                        "method `{}` lists error `{e}`, which errors.json5 does not declare",
                        m.name
                    ),
                    "here",
                    None,
                );
            }
        }
    }
}

/// Follows named-type references to the node that defines the shape.
pub fn resolve(spec: &Spec, mut id: NodeId) -> NodeId {
    for _ in 0..64 {
        match &spec.nodes[id].kind {
            Kind::Ref(name) => match spec.types.get(name) {
                Some(&t) => id = t,
                None => return id,
            },
            _ => return id,
        }
    }
    id
}

/// Generated Rust names must not collide: two wire names that meet after case conversion, named
/// types that shadow generated items or std names, or the implicit `$schema` key declared again.
fn check_names(spec: &Spec, report: &mut Report<'_>) {
    let mut generated: HashMap<String, (Span, String)> = HashMap::new();
    let mut claim = |name: String, span: Span, what: String, report: &mut Report<'_>| {
        if let Some((first, first_what)) = generated.get(&name) {
            let _ = first;
            report(
                span,
                &format!("{what} becomes the Rust name `{name}`, which {first_what} already has"),
                "name collision",
                Some("rename one of them in the spec".into()),
            );
        } else {
            generated.insert(name, (span, what));
        }
    };
    for (name, &id) in &spec.types {
        let span = spec.nodes[id].span;
        if names::RESERVED_TYPES.contains(&name.as_str()) {
            report(
                span,
                &format!(
                    "type name `{name}` is reserved (the generated code or the Rust prelude uses it)"
                ),
                "reserved name",
                Some(format!("choose another name, e.g. `{name}Spec`")),
            );
        }
        claim(name.clone(), span, format!("type `{name}`"), report);
    }
    for m in &spec.methods {
        let base = names::pascal(&m.name);
        claim(
            format!("Method::{base}"),
            m.span,
            format!("method `{}`", m.name),
            report,
        );
        claim(
            format!("{base}Params"),
            m.span,
            format!("the params of method `{}`", m.name),
            report,
        );
        claim(
            format!("{base}Result"),
            m.span,
            format!("the result of method `{}`", m.name),
            report,
        );
    }
    for e in &spec.events {
        let base = names::pascal(&e.name);
        claim(
            format!("Event::{base}"),
            e.span,
            format!("event `{}`", e.name),
            report,
        );
        claim(
            format!("{base}Payload"),
            e.span,
            format!("the payload of event `{}`", e.name),
            report,
        );
    }
    for e in &spec.errors {
        claim(
            format!("ErrorCode::{}", names::pascal(&e.code)),
            e.span,
            format!("error code `{}`", e.code),
            report,
        );
    }
    if let Kind::Object { fields, .. } = &spec.nodes[spec.config_root].kind {
        for f in fields.iter().filter(|f| f.name == "$schema") {
            report(
                spec.nodes[f.node].span,
                "`$schema` is implicit at the config root; do not declare it",
                "here",
                None,
            );
        }
    }
}

/// Contradictory limits, duplicate enum values, `precedence` without an override, `legacy.to`
/// naming a path that is not declared.
fn check_limits(spec: &Spec, _id: NodeId, node: &Node, report: &mut Report<'_>) {
    let a = &node.attrs;
    let pairs = [
        (
            "min",
            a.min.or(a.exclusive_min),
            "max",
            a.max.or(a.exclusive_max),
        ),
        (
            "minLength",
            a.min_length.map(|v| v as f64),
            "maxLength",
            a.max_length.map(|v| v as f64),
        ),
        (
            "minItems",
            a.min_items.map(|v| v as f64),
            "maxItems",
            a.max_items.map(|v| v as f64),
        ),
        (
            "minProperties",
            a.min_properties.map(|v| v as f64),
            "maxProperties",
            a.max_properties.map(|v| v as f64),
        ),
    ];
    for (lo_name, lo, hi_name, hi) in pairs {
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            report(
                node.span,
                &format!(
                    "`{}` has {lo_name} {lo} above {hi_name} {hi}: no value can pass",
                    node.path
                ),
                "contradictory limits",
                None,
            );
        }
    }
    if let Kind::Enum(values) = &node.kind {
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                report(
                    node.span,
                    &format!("enum `{}` lists {v} twice", node.path),
                    "duplicate value",
                    None,
                );
            }
        }
    }
    if a.precedence.is_some() && a.env.is_none() && a.cli.is_none() {
        report(
            node.span,
            &format!(
                "`{}` sets `precedence` but has no `env` or `cli` to order",
                node.path
            ),
            "nothing to order",
            Some("remove `precedence`, or add `env`/`cli`".into()),
        );
    }
    if let Some(l) = &a.legacy
        && config_path_node(spec, &l.to).is_none()
    {
        report(
            node.span,
            &format!(
                "`{}` is legacy for `{}`, which config.json5 does not declare",
                node.path, l.to
            ),
            "unknown target",
            Some("`to` must be a declared config path (use `*` for map keys)".into()),
        );
    }
}

/// The node of a declared config path, following fields, `*` (map values) and `[]` (list items).
fn config_path_node(spec: &Spec, path: &str) -> Option<NodeId> {
    let mut id = spec.config_root;
    for seg in path.split('.') {
        let (name, items) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        id = match &spec.nodes[resolve(spec, id)].kind {
            Kind::Object { fields, extra, .. } => match fields.iter().find(|f| f.name == name) {
                Some(f) => f.node,
                None if name == "*" => (*extra)?,
                None => return None,
            },
            Kind::Map(Some(v)) if name == "*" => *v,
            _ => return None,
        };
        if items {
            id = match &spec.nodes[resolve(spec, id)].kind {
                Kind::List(Some(i)) => *i,
                _ => return None,
            };
        }
    }
    Some(id)
}
