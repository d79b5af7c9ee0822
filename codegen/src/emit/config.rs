//! `config.rs`: the typed config tree (serde), its field-by-field `Diff`, the key table, the reload
//! rules and the override table used by the precedence resolver.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::runtime_paths::{DIFF, SCHEMA};
use crate::check::resolve;
use crate::model::*;
use crate::names;

/// Assigns a Rust type name to every node that needs its own type.
#[derive(Debug)]
pub struct TypeNames {
    names: BTreeMap<NodeId, String>,
}

impl TypeNames {
    pub fn new(spec: &Spec) -> TypeNames {
        let mut names = BTreeMap::new();
        let mut used: HashSet<String> = HashSet::new();
        used.extend(names::RESERVED_TYPES.iter().map(|s| s.to_string()));
        names.insert(spec.config_root, "Config".to_string());
        for (name, &id) in &spec.types {
            used.insert(name.clone());
            names.insert(id, name.clone());
        }
        // Nodes inside named types first, then config, then protocol: adding a config key never
        // renames a type that lives in types.json5.
        let mut order: Vec<(NodeId, &Node)> = spec.nodes.iter().enumerate().collect();
        order.sort_by_key(|(id, n)| {
            (
                match n.span.src {
                    1 => 0,
                    0 => 1,
                    _ => 2,
                },
                *id,
            )
        });
        for (id, n) in order {
            if names.contains_key(&id) || !needs_type(&n.kind) {
                continue;
            }
            let base = path_type_name(&n.path);
            let mut name = base.clone();
            let mut i = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}{i}");
                i += 1;
            }
            names.insert(id, name);
        }
        TypeNames { names }
    }

    pub fn get(&self, id: NodeId) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }
}

fn needs_type(kind: &Kind) -> bool {
    match kind {
        Kind::Object { .. } | Kind::Union { .. } => true,
        Kind::Enum(values) => string_enum(values),
        _ => false,
    }
}

fn string_enum(values: &[serde_json::Value]) -> bool {
    values.iter().all(|v| v.is_string())
}

/// `gateway.auth.mode` → `GatewayAuthMode`, `models.providers.*` → `ModelsProvidersValue`,
/// `x[]` → `XItem`, `x<1>` → `XV1`, `method:health.params.probe` → `HealthParamsProbe`.
pub fn path_type_name(path: &str) -> String {
    let path = path.split_once(':').map_or(path, |(_, rest)| rest);
    let mut out = String::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[]") {
            out.push_str("Item");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>').unwrap_or(r.len());
            out.push('V');
            out.push_str(&r[..end]);
            rest = r.get(end + 1..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('.') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            out.push_str("Value");
            rest = r;
        } else {
            let end = rest.find(['.', '[', '<']).unwrap_or(rest.len());
            out.push_str(&names::pascal(&rest[..end]));
            rest = &rest[end..];
        }
    }
    if out.is_empty() { "Root".into() } else { out }
}

fn ident(s: &str) -> TokenStream {
    s.parse().unwrap_or_else(|_| quote!(invalid_identifier))
}

fn path_tokens(s: &str) -> TokenStream {
    ident(s)
}

/// The Rust type of a node's value.
pub fn rust_type(spec: &Spec, tn: &TypeNames, id: NodeId) -> TokenStream {
    if let Some(name) = tn.get(id) {
        let i = format_ident!("{}", name);
        return quote!(#i);
    }
    structural_type(spec, tn, id)
}

/// The Rust type of a node's shape, ignoring any name the node itself has.
fn structural_type(spec: &Spec, tn: &TypeNames, id: NodeId) -> TokenStream {
    let n = &spec.nodes[id];
    match &n.kind {
        Kind::String => quote!(String),
        Kind::Integer => {
            let min = n.attrs.min.or(n.attrs.exclusive_min.map(|m| m + 1.0));
            match (min, n.attrs.max) {
                (Some(lo), Some(hi)) if lo >= 0.0 && hi <= 65535.0 => quote!(u16),
                (Some(lo), _) if lo >= 0.0 => quote!(u64),
                _ => quote!(i64),
            }
        }
        Kind::Number => quote!(f64),
        Kind::Boolean => quote!(bool),
        Kind::Null => quote!(()),
        Kind::Any | Kind::Enum(_) => quote!(serde_json::Value),
        Kind::Map(Some(v)) => {
            let t = rust_type(spec, tn, *v);
            quote!(std::collections::BTreeMap<String, #t>)
        }
        Kind::List(Some(v)) => {
            let t = rust_type(spec, tn, *v);
            quote!(Vec<#t>)
        }
        Kind::Map(None) | Kind::List(None) => quote!(serde_json::Value),
        Kind::Ref(name) => {
            let i = format_ident!("{}", name);
            quote!(#i)
        }
        Kind::Object { .. } | Kind::Union { .. } => quote!(serde_json::Value),
    }
}

/// Whether a field of this node is stored directly (objects, which have a `Default`) or as `Option`.
fn is_struct(spec: &Spec, id: NodeId) -> bool {
    matches!(spec.nodes[resolve(spec, id)].kind, Kind::Object { .. })
}

pub fn emit(spec: &Spec) -> TokenStream {
    let tn = TypeNames::new(spec);
    let diff_mod = path_tokens(DIFF);
    let mut items = Vec::new();
    for (&id, name) in &tn.names {
        let n = &spec.nodes[id];
        let ty = format_ident!("{}", name);
        let doc = n.attrs.doc.clone().unwrap_or_else(|| describe(n));
        match &n.kind {
            Kind::Object {
                fields,
                extra,
                open,
            } => items.push(emit_struct(spec, &tn, id, &ty, &doc, fields, *extra, *open)),
            Kind::Enum(values) => {
                let mut uniq = names::Uniq::default();
                let variants: Vec<(proc_macro2::Ident, String)> = values
                    .iter()
                    .map(|v| {
                        let s = v.as_str().unwrap_or_default().to_string();
                        (format_ident!("{}", uniq.fresh(&names::pascal(&s))), s)
                    })
                    .collect();
                let decl = variants
                    .iter()
                    .map(|(v, s)| quote!(#[serde(rename = #s)] #v,));
                let arms = variants.iter().map(|(v, s)| quote!(#ty::#v => #s,));
                let all = variants.iter().map(|(v, _)| quote!(#ty::#v,));
                items.push(quote! {
                    #[doc = #doc]
                    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
                    pub enum #ty { #(#decl)* }
                    impl #ty {
                        /// Every value, in spec order.
                        pub const ALL: &'static [#ty] = &[#(#all)*];
                        /// The value as written in the config file.
                        pub fn as_str(&self) -> &'static str { match self { #(#arms)* } }
                    }
                    impl #diff_mod::Diff for #ty {
                        fn diff(&self, other: &Self, path: &str, out: &mut Vec<#diff_mod::Change>) {
                            #diff_mod::leaf(self == other, path, out)
                        }
                    }
                });
            }
            Kind::Union {
                variants,
                discriminator,
            } => {
                let mut uniq = names::Uniq::default();
                let vs: Vec<TokenStream> = variants
                    .iter()
                    .map(|&v| {
                        let mut t = rust_type(spec, &tn, v);
                        if reaches(spec, v, id) {
                            t = quote!(Box<#t>);
                        }
                        let base = discriminator
                            .as_deref()
                            .and_then(|tag| tag_value(spec, v, tag))
                            .map_or_else(|| variant_name(spec, &tn, v), |t| names::pascal(&t));
                        let vi = format_ident!("{}", uniq.fresh(&base));
                        quote!(#vi(#t),)
                    })
                    .collect();
                items.push(quote! {
                    #[doc = #doc]
                    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
                    #[serde(untagged)]
                    pub enum #ty { #(#vs)* }
                    impl #diff_mod::Diff for #ty {
                        fn diff(&self, other: &Self, path: &str, out: &mut Vec<#diff_mod::Change>) {
                            #diff_mod::leaf(self == other, path, out)
                        }
                    }
                });
            }
            _ => {
                // A named type that is a list, map, scalar or alias: a type alias.
                let t = structural_type(spec, &tn, id);
                items.push(quote!(#[doc = #doc] pub type #ty = #t;));
            }
        }
    }
    let tables = emit_tables(spec);
    let schema_mod = path_tokens(SCHEMA);
    quote! {

        use #schema_mod::{KeyMeta, Override, ReloadRule};
        #(#items)*
        #tables
    }
}

fn describe(n: &Node) -> String {
    if n.path.is_empty() {
        "The whole config file (`openclaw.json`).".to_string()
    } else {
        format!("`{}`", n.path)
    }
}

/// For a variant of a discriminated union: the single value its tag field allows (`env` for the
/// env variant of `SecretRef`), which names the Rust variant.
fn tag_value(spec: &Spec, variant: NodeId, tag: &str) -> Option<String> {
    let Kind::Object { fields, .. } = &spec.nodes[resolve(spec, variant)].kind else {
        return None;
    };
    let f = fields.iter().find(|f| f.name == tag)?;
    match &spec.nodes[resolve(spec, f.node)].kind {
        Kind::Enum(values) if values.len() == 1 => values[0].as_str().map(str::to_string),
        _ => None,
    }
}

fn variant_name(spec: &Spec, tn: &TypeNames, id: NodeId) -> String {
    if let Some(name) = tn.get(id)
        && spec.types.values().any(|&t| t == id)
    {
        return name.to_string();
    }
    match &spec.nodes[id].kind {
        Kind::String => "String".into(),
        Kind::Integer => "Integer".into(),
        Kind::Number => "Number".into(),
        Kind::Boolean => "Bool".into(),
        Kind::Null => "Null".into(),
        Kind::Any => "Any".into(),
        Kind::Enum(_) => "Enum".into(),
        Kind::Object { .. } => "Object".into(),
        Kind::Map(_) => "Map".into(),
        Kind::List(_) => "List".into(),
        Kind::Union { .. } => "Union".into(),
        Kind::Ref(name) => name.clone(),
    }
}

/// Whether a value of node `from` can contain a value of node `target` with no heap indirection
/// between them (so embedding it would give a type of infinite size).
fn reaches(spec: &Spec, from: NodeId, target: NodeId) -> bool {
    fn walk(spec: &Spec, id: NodeId, target: NodeId, seen: &mut HashSet<NodeId>) -> bool {
        let id = resolve(spec, id);
        if id == target {
            return true;
        }
        if !seen.insert(id) {
            return false;
        }
        match &spec.nodes[id].kind {
            Kind::Object { fields, .. } => fields.iter().any(|f| walk(spec, f.node, target, seen)),
            Kind::Union { variants, .. } => variants.iter().any(|&v| walk(spec, v, target, seen)),
            _ => false,
        }
    }
    walk(spec, from, target, &mut HashSet::new())
}

#[allow(clippy::too_many_arguments)]
fn emit_struct(
    spec: &Spec,
    tn: &TypeNames,
    self_id: NodeId,
    ty: &proc_macro2::Ident,
    doc: &str,
    fields: &[Field],
    extra: Option<NodeId>,
    open: bool,
) -> TokenStream {
    let diff_mod = path_tokens(DIFF);
    let mut uniq = names::Uniq::default();
    let mut decls = Vec::new();
    let mut diffs = Vec::new();
    let is_root = self_id == spec.config_root;
    for f in fields {
        let fi = ident(&uniq.fresh(&names::snake(&f.name)));
        let wire = &f.name;
        let node = &spec.nodes[f.node];
        let fdoc = node
            .attrs
            .doc
            .clone()
            .unwrap_or_else(|| format!("`{wire}`"));
        let t = rust_type(spec, tn, f.node);
        if reaches(spec, f.node, self_id) {
            // A recursive shape: break the cycle with a box.
            decls.push(quote! {
                #[doc = #fdoc]
                #[serde(rename = #wire, default, skip_serializing_if = "Option::is_none")]
                pub #fi: Option<Box<#t>>,
            });
        } else if is_struct(spec, f.node) {
            decls.push(quote! {
                #[doc = #fdoc]
                #[serde(rename = #wire, default, skip_serializing_if = "crate::config::is_default")]
                pub #fi: #t,
            });
        } else {
            decls.push(quote! {
                #[doc = #fdoc]
                #[serde(rename = #wire, default, skip_serializing_if = "Option::is_none")]
                pub #fi: Option<#t>,
            });
        }
        diffs.push(quote!(self.#fi.diff(&other.#fi, &#diff_mod::join(path, #wire), out);));
    }
    if is_root {
        // The root also accepts `$schema` (an editor hint), which is not a config key.
        let fi = ident(&uniq.fresh("schema_url"));
        decls.push(quote! {
            /// `$schema`: URL or path of the JSON Schema, for editors.
            #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
            pub #fi: Option<String>,
        });
    }
    let deny = if extra.is_none() && !open {
        quote!(#[serde(deny_unknown_fields)])
    } else {
        quote!()
    };
    let ei = ident(&uniq.fresh("additional"));
    match (extra, open) {
        (Some(e), _) => {
            let t = rust_type(spec, tn, e);
            decls.push(quote! {
                /// Keys other than the named fields.
                #[serde(flatten)]
                pub #ei: std::collections::BTreeMap<String, #t>,
            });
            diffs.push(quote!(self.#ei.diff(&other.#ei, path, out);));
        }
        (None, true) => {
            decls.push(quote! {
                /// Keys other than the named fields (this object is not strict).
                #[serde(flatten)]
                pub #ei: std::collections::BTreeMap<String, serde_json::Value>,
            });
            diffs.push(quote!(self.#ei.diff(&other.#ei, path, out);));
        }
        (None, false) => {}
    }
    let unused = if diffs.is_empty() {
        quote!(let _ = (other, path, out);)
    } else {
        quote!()
    };
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #deny
        pub struct #ty { #(#decls)* }
        impl #diff_mod::Diff for #ty {
            fn diff(&self, other: &Self, path: &str, out: &mut Vec<#diff_mod::Change>) {
                #unused
                #(#diffs)*
            }
        }
    }
}

/// KEYS, RELOAD_RULES and OVERRIDES, from the config paths declared in config.json5.
fn emit_tables(spec: &Spec) -> TokenStream {
    let mut keys = Vec::new();
    let mut rules = Vec::new();
    let mut overrides = Vec::new();
    let config_nodes: Vec<(NodeId, &Node)> = spec
        .nodes
        .iter()
        .enumerate()
        .filter(|(id, n)| n.span.src == 0 && *id != spec.config_root)
        .collect();
    for (id, n) in &config_nodes {
        let path = &n.path;
        let a = &n.attrs;
        let id = *id as u32;
        let env = opt(a.env.as_deref());
        let cli = opt(a.cli.as_deref());
        let secret = a.secret || is_secret_type(spec, id as usize);
        keys.push(
            quote!(KeyMeta { path: #path, node: #id, env: #env, cli: #cli, secret: #secret },),
        );
        if let Some(r) = &a.reload {
            let (class, actions) = match r {
                Reload::None => ("none", Vec::new()),
                Reload::Restart => ("restart", Vec::new()),
                Reload::Hot(acts) => ("hot", acts.clone()),
            };
            rules.push((path.clone(), class, actions));
        }
        if a.env.is_some() || a.cli.is_some() {
            let precedence = a
                .precedence
                .clone()
                .unwrap_or_else(|| "cli>env>file".to_string());
            overrides.push(quote!(Override { path: #path, node: #id, env: #env, cli: #cli, precedence: #precedence },));
        }
    }
    // Longest (most segments) first, so the first match is the most specific.
    rules.sort_by(|a, b| segments(&b.0).cmp(&segments(&a.0)).then(a.0.cmp(&b.0)));
    let rule_tokens = rules.iter().map(|(p, class, actions)| {
        quote!(ReloadRule { prefix: #p, class: #class, actions: &[#(#actions),*] },)
    });
    quote! {
        /// Every key declared in spec/config.json5, in spec order.
        pub static KEYS: &[KeyMeta] = &[#(#keys)*];
        /// Reload classes, most specific prefix first (the first matching rule wins).
        pub static RELOAD_RULES: &[ReloadRule] = &[#(#rule_tokens)*];
        /// Keys that an env var or a CLI flag can set, with their precedence.
        pub static OVERRIDES: &[Override] = &[#(#overrides)*];
    }
}

fn segments(path: &str) -> usize {
    path.split('.').count()
}

fn opt(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => quote!(Some(#s)),
        None => quote!(None),
    }
}

fn is_secret_type(spec: &Spec, id: NodeId) -> bool {
    let t = resolve(spec, id);
    spec.nodes[t].attrs.secret
}
