//! Semantic checks over the linked spec: references resolve, defaults fit, reload classes and
//! overrides are where they belong, patterns compile.

use std::collections::HashMap;

use jsonspan::Span;

use crate::load::check_value;
use crate::model::*;
use crate::names;

type Report<'a> = dyn FnMut(Span, &str, &str, Option<String>) + 'a;

pub fn check(spec: &Spec, report: &mut Report<'_>) {
    let in_types = |n: &Node| n.span.src == 1;
    let mut envs: HashMap<&str, Span> = HashMap::new();
    let mut clis: HashMap<&str, Span> = HashMap::new();
    for (id, node) in spec.nodes.iter().enumerate() {
        if let Kind::Ref(name) = &node.kind
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
