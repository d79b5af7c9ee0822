use super::*;
use proptest::prelude::*;

fn p(text: &str) -> Spanned {
    parse(text, 0).expect("valid JSON5")
}

#[test]
fn spans_point_at_keys_and_values() {
    let text = "{ gateway: { port: 'eighty', bind: \"lan\" } }";
    let v = p(text);
    let gw = v.member("gateway").expect("gateway");
    assert_eq!(&text[gw.key_span.start..gw.key_span.end], "gateway");
    let port = gw.value.member("port").expect("port");
    assert_eq!(
        &text[port.value.span.start..port.value.span.end],
        "'eighty'"
    );
    assert_eq!(port.value.as_str(), Some("eighty"));
}

#[test]
fn json5_numbers() {
    let v = p("[0x4965, +18789, 18789., .5e4, 1e3, -Infinity, NaN, 9007199254740993]");
    let Value::Array(items) = &v.value else {
        panic!("array")
    };
    let nums: Vec<Number> = items
        .iter()
        .map(|s| match s.value {
            Value::Number(n) => n,
            _ => panic!("number"),
        })
        .collect();
    assert_eq!(nums[0].int, Some(18789));
    assert_eq!(nums[1].int, Some(18789));
    assert_eq!(nums[2].int, Some(18789));
    assert_eq!(nums[3].int, Some(5000));
    assert_eq!(nums[4].int, Some(1000));
    assert!(nums[5].value.is_infinite() && nums[5].value < 0.0);
    assert!(nums[6].value.is_nan());
    assert!(!nums[7].is_safe_integer());
}

#[test]
fn syntax_errors_have_positions() {
    let text = "{\n  gateway: {\n    port: 19011\n    reload: { mode: \"hot\" }\n  }\n";
    let e = parse(text, 0).expect_err("missing comma");
    assert_eq!(e.line, 4, "{e:?}");
    assert_eq!(e.column, 5, "{e:?}");
    let e = parse("", 0).expect_err("empty");
    assert_eq!((e.line, e.column), (1, 1));
    let e = parse("{a: 'x\ny'}", 0).expect_err("raw newline in string");
    assert_eq!(e.line, 1);
}

#[test]
fn depth_is_bounded() {
    let deep = "[".repeat(5000) + &"]".repeat(5000);
    let e = parse(&deep, 0).expect_err("too deep");
    assert!(e.message.contains("nesting"), "{e}");
    let ok = "[".repeat(100) + &"]".repeat(100);
    assert!(parse(&ok, 0).is_ok());
}

#[test]
fn line_index_handles_all_terminators() {
    let text = "a\r\nb\rc\u{2028}dé\ne";
    let idx = LineIndex::new(text);
    assert_eq!(
        idx.line_col(text.find('b').unwrap_or(0)),
        LineCol { line: 2, column: 1 }
    );
    assert_eq!(
        idx.line_col(text.find('c').unwrap_or(0)),
        LineCol { line: 3, column: 1 }
    );
    assert_eq!(
        idx.line_col(text.find('e').unwrap_or(0)),
        LineCol { line: 5, column: 1 }
    );
    let after_e_acute = text.rfind('\n').unwrap_or(0);
    assert_eq!(idx.line_col(after_e_acute), LineCol { line: 4, column: 3 });
}

#[test]
fn duplicate_keys_last_wins() {
    let v = p("{a: 1, a: 2}");
    assert_eq!(v.to_json(), serde_json::json!({"a": 2}));
    assert_eq!(v.members().len(), 2);
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        (-1_000_000i64..1_000_000).prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 _\\-\"'\\\\é]{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,6}", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Prints a value as JSON5 with comments, unquoted keys and single quotes where possible.
fn to_json5(v: &serde_json::Value, out: &mut String, ws: &[&str], k: &mut usize) {
    fn pad(out: &mut String, ws: &[&str], k: &mut usize) {
        out.push_str(ws[*k % ws.len()]);
        *k += 1;
    }
    match v {
        serde_json::Value::Object(m) => {
            out.push('{');
            for (key, val) in m {
                pad(out, ws, k);
                out.push_str(key);
                out.push(':');
                pad(out, ws, k);
                to_json5(val, out, ws, k);
                out.push(',');
            }
            pad(out, ws, k);
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for val in a {
                pad(out, ws, k);
                to_json5(val, out, ws, k);
                out.push(',');
            }
            out.push(']');
        }
        serde_json::Value::String(s) if !s.contains('\'') => {
            out.push('\'');
            out.push_str(&s.replace('\\', "\\\\"));
            out.push('\'');
        }
        other => out.push_str(&other.to_string()),
    }
}

proptest! {
    #[test]
    fn every_value_span_reparses_to_the_same_value(v in arb_json(), seed in 0usize..7) {
        let ws = [" ", "\n", " /* c */ ", "\r\n  ", "\t", " // line\n", ""];
        let mut text = String::new();
        let mut k = seed;
        to_json5(&v, &mut text, &ws, &mut k);
        let tree = parse(&text, 0).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(tree.to_json(), v);
        fn check(node: &Spanned, text: &str) -> Result<(), TestCaseError> {
            let slice = &text[node.span.start..node.span.end];
            let again = parse(slice, 0).map_err(|e| TestCaseError::fail(format!("{e}: {slice}")))?;
            prop_assert_eq!(again.to_json(), node.to_json());
            match &node.value {
                Value::Array(items) => items.iter().try_for_each(|i| check(i, text)),
                Value::Object(ms) => ms.iter().try_for_each(|m| check(&m.value, text)),
                _ => Ok(()),
            }
        }
        check(&tree, &text)?;
    }
}
