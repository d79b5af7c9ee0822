//! The naming obstacle course: wire names that are Rust keywords, that collide after case
//! conversion, that start with a digit, or that meet names the emitter invents must still give
//! Rust that compiles. Compiling the output in a scratch crate would be slow, so this parses it
//! with `syn` and checks what rustc would reject first: duplicate items, fields and variants.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use openclaw_codegen as codegen;
use openclaw_codegen::{Output, SpecError};
use syn::ext::IdentExt;

fn dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn report(e: &SpecError) -> String {
    let mut text = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let _ = handler.render_report(&mut text, e);
    text
}

fn render_dir(rel: &str) -> Vec<Output> {
    let spec = codegen::load::load_dir(&dir(rel))
        .unwrap_or_else(|e| panic!("{rel} does not load:\n{}", report(&e)));
    codegen::render(&spec).unwrap_or_else(|e| panic!("{rel} does not render:\n{}", report(&e)))
}

/// Loads and renders a spec from in-memory texts (config, types, methods, events, errors).
fn render_texts(texts: [&str; 5]) -> Result<Vec<Output>, SpecError> {
    let sources: Vec<(String, String)> = codegen::load::SPEC_FILES
        .iter()
        .zip(texts)
        .map(|(name, text)| (format!("spec/{name}"), text.to_string()))
        .collect();
    codegen::render(&codegen::load::load_sources(&sources)?)
}

fn text<'a>(outputs: &'a [Output], name: &str) -> &'a str {
    outputs
        .iter()
        .find(|o| o.name == name)
        .map(|o| o.text.as_str())
        .unwrap_or_else(|| panic!("render() has no {name}"))
}

/// A name as rustc compares it (`r#type` and `type` are the same name).
fn name(i: &syn::Ident) -> String {
    i.unraw().to_string()
}

/// The `rename = "…"` of a `#[serde(…)]` attribute, if any.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut wire = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let s: syn::LitStr = meta.value()?.parse()?;
                wire = Some(s.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        })
        .expect("serde attribute parses");
    }
    wire
}

/// Records `what` under `scope` and reports it when it was already there.
struct Seen {
    seen: BTreeMap<String, BTreeSet<String>>,
    problems: Vec<String>,
}

/// Names the generated code uses unqualified; a generated type with one of these names shadows the
/// prelude (or `serde_json::Value`'s siblings) for the whole module.
const PRELUDE: &[&str] = &[
    "String",
    "Vec",
    "Option",
    "Result",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Send",
    "Sync",
    "Sized",
    "ToString",
    "Into",
    "From",
    "Iterator",
];

impl Seen {
    fn add(&mut self, scope: &str, kind: &str, what: String) {
        if kind == "type" && PRELUDE.contains(&what.as_str()) {
            self.problems
                .push(format!("{scope}: type `{what}` shadows the prelude name"));
        }
        if what == "invalid_identifier" || what == "invalid" {
            self.problems.push(format!(
                "{scope}: fallback identifier `{what}` (a name did not lex)"
            ));
        }
        if !self
            .seen
            .entry(format!("{scope} {kind}"))
            .or_default()
            .insert(what.clone())
        {
            self.problems
                .push(format!("{scope}: duplicate {kind} `{what}`"));
        }
    }
}

/// Names of the types a value of type `ty` stores inline (through `Option` and tuples, not through
/// `Vec`, `BTreeMap` or `Box`, which allocate).
fn inline_types(ty: &syn::Type, out: &mut Vec<String>) {
    match ty {
        syn::Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return;
            };
            let n = name(&last.ident);
            if n == "Option" {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    for a in &args.args {
                        if let syn::GenericArgument::Type(t) = a {
                            inline_types(t, out);
                        }
                    }
                }
            } else {
                out.push(n);
            }
        }
        syn::Type::Tuple(t) => t.elems.iter().for_each(|e| inline_types(e, out)),
        syn::Type::Paren(t) => inline_types(&t.elem, out),
        _ => {}
    }
}

/// Types that contain themselves without indirection (rustc: "recursive type has infinite size";
/// for aliases: "cycle detected when expanding type alias").
fn infinite_types(file: &str, ast: &syn::File) -> Vec<String> {
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in &ast.items {
        let (ty, fields): (String, Vec<&syn::Type>) = match item {
            syn::Item::Struct(st) => (name(&st.ident), st.fields.iter().map(|f| &f.ty).collect()),
            syn::Item::Enum(en) => (
                name(&en.ident),
                en.variants
                    .iter()
                    .flat_map(|v| v.fields.iter().map(|f| &f.ty))
                    .collect(),
            ),
            syn::Item::Type(t) => (name(&t.ident), vec![&*t.ty]),
            _ => continue,
        };
        let e = edges.entry(ty).or_default();
        for f in fields {
            inline_types(f, e);
        }
    }
    let mut problems = Vec::new();
    for start in edges.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut visited = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    problems.push(format!(
                        "{file}: `{start}` contains itself without indirection: {} -> {start}",
                        trail.join(" -> ")
                    ));
                    stack.clear();
                    break;
                }
                if visited.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    problems
}

/// Every name clash rustc (or serde) would reject in one generated file. Returns the file's
/// type-namespace names too, so clashes across files can be checked.
fn name_problems(file: &str, source: &str) -> (Vec<String>, BTreeSet<String>) {
    let ast = syn::parse_file(source).unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
    let mut s = Seen {
        seen: BTreeMap::new(),
        problems: Vec::new(),
    };
    let mut types = BTreeSet::new();
    for item in &ast.items {
        match item {
            syn::Item::Struct(st) => {
                let ty = name(&st.ident);
                types.insert(ty.clone());
                s.add(file, "type", ty.clone());
                for f in &st.fields {
                    if let Some(i) = &f.ident {
                        s.add(&format!("{file}: struct {ty}"), "field", name(i));
                    }
                    if let Some(w) = serde_rename(&f.attrs) {
                        s.add(&format!("{file}: struct {ty}"), "wire name", w);
                    }
                }
            }
            syn::Item::Enum(en) => {
                let ty = name(&en.ident);
                types.insert(ty.clone());
                s.add(file, "type", ty.clone());
                for v in &en.variants {
                    s.add(&format!("{file}: enum {ty}"), "variant", name(&v.ident));
                    if let Some(w) = serde_rename(&v.attrs) {
                        s.add(&format!("{file}: enum {ty}"), "wire name", w);
                    }
                }
            }
            syn::Item::Type(t) => {
                types.insert(name(&t.ident));
                s.add(file, "type", name(&t.ident));
            }
            syn::Item::Trait(t) => {
                let ty = name(&t.ident);
                types.insert(ty.clone());
                s.add(file, "type", ty.clone());
                for ti in &t.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        s.add(&format!("{file}: trait {ty}"), "fn", name(&f.sig.ident));
                    }
                }
            }
            syn::Item::Fn(f) => s.add(file, "value", name(&f.sig.ident)),
            syn::Item::Const(c) => s.add(file, "value", name(&c.ident)),
            syn::Item::Static(c) => s.add(file, "value", name(&c.ident)),
            syn::Item::Impl(imp) if imp.trait_.is_none() => {
                let ty = match &*imp.self_ty {
                    syn::Type::Path(p) => p
                        .path
                        .segments
                        .last()
                        .map(|seg| name(&seg.ident))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                for ii in &imp.items {
                    match ii {
                        syn::ImplItem::Fn(f) => {
                            s.add(&format!("{file}: impl {ty}"), "item", name(&f.sig.ident))
                        }
                        syn::ImplItem::Const(c) => {
                            s.add(&format!("{file}: impl {ty}"), "item", name(&c.ident))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    s.problems.extend(infinite_types(file, &ast));
    (s.problems, types)
}

/// All name problems in config.rs and protocol.rs. protocol.rs glob-imports config.rs, so a
/// protocol type with the name of a config type silently shadows it: that counts as a clash too.
fn all_name_problems(outputs: &[Output]) -> Vec<String> {
    let (mut problems, config_types) = name_problems("config.rs", text(outputs, "config.rs"));
    let (p, protocol_types) = name_problems("protocol.rs", text(outputs, "protocol.rs"));
    problems.extend(p);
    for t in config_types.intersection(&protocol_types) {
        problems.push(format!(
            "protocol.rs: `{t}` shadows the config.rs type of the same name"
        ));
    }
    // schema_table.rs is plain data; it must parse.
    syn::parse_file(text(outputs, "schema_table.rs")).expect("schema_table.rs parses");
    problems
}

fn assert_clean(what: &str, outputs: &[Output]) {
    let problems = all_name_problems(outputs);
    assert!(
        problems.is_empty(),
        "{what}: the generated Rust would not compile:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn naming_fixture_has_no_clashes() {
    assert_clean("fixtures/spec/naming", &render_dir("fixtures/spec/naming"));
}

#[test]
fn minimal_fixture_has_no_clashes() {
    assert_clean(
        "fixtures/spec/minimal",
        &render_dir("fixtures/spec/minimal"),
    );
}

#[test]
fn real_spec_has_no_clashes() {
    assert_clean("spec", &render_dir("spec"));
}

/// Spot checks that the obstacle course really contains the obstacles (so a change to the fixture
/// cannot quietly make the test above trivial).
#[test]
fn naming_fixture_escapes_keywords_and_dedups() {
    let outputs = render_dir("fixtures/spec/naming");
    let config = text(&outputs, "config.rs");
    let protocol = text(&outputs, "protocol.rs");
    for needle in [
        "pub r#type: Type2,", // keyword field, struct renamed away from the named type `Type`
        "pub self_: Option<", // `self` cannot be raw
        "pub r#match: Option<bool>", // keyword field
        "pub r#async: Option<i64>",
        "pub r#gen: Option<i64>",
        "pub struct Self_ {",   // `Self` cannot be a type name
        "pub struct Match2 {",  // `match` gives way to the named type `Match`
        "pub struct Config3 {", // `config` gives way to the root and to the named type `Config2`
        "pub struct FooBar {",
        "pub struct FooBar2 {",
        "pub struct FooBar3 {",
        "pub struct SecretRefSource2",
        "pub _2fa: Option<bool>",
        "pub additional3: std::collections::BTreeMap<String, i64>", // after `additional`, `additional2`
        "pub additional2: std::collections::BTreeMap<String, serde_json::Value>", // open object
    ] {
        let found =
            config.contains(needle) || config.contains(&needle.replace("pub struct", "pub enum"));
        assert!(found, "config.rs lacks `{needle}`");
    }
    for needle in [
        "fn r#type(",
        "fn self_match(",
        "fn async_fn(",
        "pub r#async: bool",
        "Match(MatchPayload)",
        "ErrorCode::Type =>",
    ] {
        assert!(protocol.contains(needle), "protocol.rs lacks `{needle}`");
    }
}

// ---------------------------------------------------------------------------------------------
// Regression tests for emitter bugs found by the naming review. Each holds the smallest spec that
// showed one; the spec must now either be rejected with a diagnostic or render clean Rust.

/// A spec is fine if it is rejected with a pointed diagnostic, or if it renders to Rust without
/// clashes. An internal emitter error is not fine: the spec author gets no line number.
fn assert_rejected_or_clean(what: &str, texts: [&str; 5]) {
    match render_texts(texts) {
        Err(SpecError::Invalid { .. }) => {}
        Err(e) => panic!(
            "{what}: internal emitter error instead of a spec diagnostic:\n{}",
            report(&e)
        ),
        Ok(outputs) => assert_clean(what, &outputs),
    }
}

/// A config with one object key, for the cases that only need the other files.
const CONFIG: &str = r#"{ "x": { type: "object", reload: "none" } }"#;

#[test]
fn the_sanity_check_catches_clashes() {
    // The helpers above must find what they look for, or the regression tests below prove nothing.
    let src = "pub struct A { pub x: u8, pub r#x: u8 }\npub enum A { V, V }\npub struct B { pub b: Option<B> }";
    let (problems, _) = name_problems("t.rs", src);
    assert_eq!(
        problems,
        [
            "t.rs: struct A: duplicate field `x`",
            "t.rs: duplicate type `A`",
            "t.rs: enum A: duplicate variant `V`",
            "t.rs: `B` contains itself without indirection: B -> B",
        ]
    );
}

#[test]

fn bug_enum_variant_fallback_collides() {
    // `a-b` -> AB, `v2` -> V2, `a_b` -> AB (taken) -> V2 (index 2, taken again).
    assert_rejected_or_clean(
        "enum values a-b, v2, a_b",
        [
            r#"{ "x": { type: "object", reload: "none" }, "x.e": { type: "enum", values: ["a-b", "v2", "a_b"] } }"#,
            "",
            "",
            "",
            "",
        ],
    );
}

#[test]

fn bug_union_variant_fallback_collides() {
    // <0> string -> String, <1> named type String2 -> String2, <2> string -> String (taken) -> String2.
    assert_rejected_or_clean(
        "union string|String2|string",
        [
            r#"{ "x": { type: "object", reload: "none" }, "x.u": { type: "string|String2|string" } }"#,
            r#"{ "String2": { type: "object" } }"#,
            "",
            "",
            "",
        ],
    );
}

#[test]

fn bug_protocol_fields_collide() {
    assert_rejected_or_clean(
        "params fooBar and foo_bar",
        [
            CONFIG,
            "",
            r#"{ "m": { params: { fooBar: { type: "string" }, foo_bar: { type: "string" } }, result: "any" } }"#,
            "",
            "",
        ],
    );
}

#[test]

fn bug_method_names_collide() {
    assert_rejected_or_clean(
        "methods a.b and a-b",
        [
            CONFIG,
            "",
            r#"{ "a.b": { result: "any" }, "a-b": { result: "any" } }"#,
            "",
            "",
        ],
    );
}

#[test]

fn bug_event_names_collide() {
    assert_rejected_or_clean(
        "events a.b and a-b",
        [
            CONFIG,
            "",
            "",
            r#"{ "a.b": { payload: "any" }, "a-b": { payload: "any" } }"#,
            "",
        ],
    );
}

#[test]

fn bug_error_codes_collide() {
    assert_rejected_or_clean(
        "errors A_B and A__B",
        [
            CONFIG,
            "",
            "",
            "",
            r#"{ "A_B": { doc: "one" }, "A__B": { doc: "two" } }"#,
        ],
    );
}

#[test]

fn bug_result_alias_named_like_named_type() {
    assert_rejected_or_clean(
        "method ping with result type PingResult",
        [
            CONFIG,
            r#"{ "PingResult": { type: "object" }, "PingResult.ok": { type: "boolean" } }"#,
            r#"{ "ping": { result: "PingResult" } }"#,
            "",
            "",
        ],
    );
}

#[test]

fn bug_named_type_config() {
    assert_rejected_or_clean(
        "named type Config",
        [CONFIG, r#"{ "Config": { type: "object" } }"#, "", "", ""],
    );
}

#[test]

fn bug_named_type_self() {
    assert_rejected_or_clean(
        "named type Self",
        [CONFIG, r#"{ "Self": { type: "object" } }"#, "", "", ""],
    );
}

#[test]

fn bug_root_schema_url() {
    assert_rejected_or_clean(
        "top-level key schemaUrl",
        [
            r#"{ "schemaUrl": { type: "string", reload: "none" } }"#,
            "",
            "",
            "",
            "",
        ],
    );
}

#[test]

fn bug_root_dollar_schema() {
    assert_rejected_or_clean(
        "top-level key $schema",
        [
            r#"{ "$schema": { type: "string", reload: "none" } }"#,
            "",
            "",
            "",
            "",
        ],
    );
}

#[test]

fn bug_key_without_ascii_alnum() {
    assert_rejected_or_clean(
        "key `é`",
        [
            r#"{ "x": { type: "object", reload: "none" }, "x.é": { type: "string" } }"#,
            "",
            "",
            "",
            "",
        ],
    );
}

#[test]

fn bug_recursive_named_type() {
    assert_rejected_or_clean(
        "Node.child: Node",
        [
            CONFIG,
            r#"{ "Node": { type: "object" }, "Node.child": { type: "Node" } }"#,
            "",
            "",
            "",
        ],
    );
}

#[test]

fn bug_named_type_shadows_prelude() {
    assert_rejected_or_clean(
        "named type Option",
        [
            r#"{ "x": { type: "object", reload: "none" }, "x.o": { type: "Option" }, "x.s": { type: "string" } }"#,
            r#"{ "Option": { type: "object" } }"#,
            "",
            "",
            "",
        ],
    );
}
