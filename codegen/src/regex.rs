//! OpenClaw's patterns are JavaScript regular expressions; the runtime matches them with
//! `fancy-regex` (for look-around). The few syntax differences are rewritten here, once, at build time.

/// Rewrites a JavaScript pattern into the equivalent `fancy-regex` pattern:
/// a `[` inside a character class is literal in JS but opens a nested class in Rust; `\0` is NUL;
/// `\uXXXX` is a code point; `&&`, `--` and `~~` inside a class are operators in Rust; and the
/// class escapes `\d \w \s` (and their negations) are ASCII digits, ASCII word characters and
/// JavaScript's whitespace set in JS, but Unicode-aware classes in Rust, so they are spelled out.
pub fn js_to_rust(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                if n == '0' && !chars.get(i + 2).is_some_and(char::is_ascii_digit) {
                    out.push_str("\\x00");
                    i += 2;
                    continue;
                }
                if n == 'u'
                    && i + 5 < chars.len()
                    && chars[i + 2..(i + 6).min(chars.len())]
                        .iter()
                        .all(char::is_ascii_hexdigit)
                    && i + 6 <= chars.len()
                {
                    let hex: String = chars[i + 2..i + 6].iter().collect();
                    out.push_str(&format!("\\x{{{hex}}}"));
                    i += 6;
                    continue;
                }
                if let Some(set) = js_class(n) {
                    let negated = n.is_ascii_uppercase();
                    match (in_class, negated) {
                        (true, false) => out.push_str(set),
                        // A nested class: legal inside a Rust class, and exactly the JS meaning.
                        (true, true) | (false, true) => {
                            out.push_str("[^");
                            out.push_str(set);
                            out.push(']');
                        }
                        (false, false) => {
                            out.push('[');
                            out.push_str(set);
                            out.push(']');
                        }
                    }
                    i += 2;
                    continue;
                }
                out.push(c);
                out.push(n);
                i += 2;
                continue;
            }
            '[' if in_class => out.push_str("\\["),
            '[' => {
                in_class = true;
                out.push('[');
                // A leading `^` and a leading `]` belong to the class syntax.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '-' | '~' if in_class && chars.get(i + 1) == Some(&c) => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The members of a JS class escape, written as the inside of a Rust character class.
fn js_class(escape: char) -> Option<&'static str> {
    match escape {
        'd' | 'D' => Some("0-9"),
        'w' | 'W' => Some("0-9A-Za-z_"),
        // ECMAScript WhiteSpace and LineTerminator.
        's' | 'S' => Some(
            "\\t\\n\\x0B\\x0C\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::js_to_rust;

    #[test]
    fn rewrites() {
        assert_eq!(js_to_rust(r"^[^.[\]]+$"), r"^[^.\[\]]+$");
        assert_eq!(
            js_to_rust(r"^\/(?!\/)[^\0]*[^/\0]$"),
            r"^\/(?!\/)[^\x00]*[^/\x00]$"
        );
        assert_eq!(
            js_to_rust(r"^[a-z][a-z0-9_-]{0,63}$"),
            r"^[a-z][a-z0-9_-]{0,63}$"
        );
        assert_eq!(js_to_rust(r"\u00e9"), r"\x{00e9}");
        assert_eq!(js_to_rust(r"^\d+$"), r"^[0-9]+$");
        assert_eq!(js_to_rust(r"[\w.-]"), r"[0-9A-Za-z_.-]");
        assert_eq!(js_to_rust(r"\D"), r"[^0-9]");
        assert_eq!(js_to_rust(r"[a\D]"), r"[a[^0-9]]");
        for p in [
            r"^[^.[\]]+$",
            r"^\/(?!\/)[^\0]*[^/\0]$",
            r"^(?!\s)(?![\s\S]*\s$)[^\p{Cs}]{1,128}$",
        ] {
            assert!(fancy_regex::Regex::new(&js_to_rust(p)).is_ok(), "{p}");
        }
        let re = |p: &str| fancy_regex::Regex::new(&js_to_rust(p)).expect("compiles");
        let any = re(r"^[\s\S]+$");
        assert!(any.is_match("a\u{feff} \n").unwrap_or(false));
        assert!(!re(r"^\d+$").is_match("\u{663}").unwrap_or(true));
        assert!(re(r"^\s$").is_match("\u{feff}").unwrap_or(false));
        assert!(!re(r"^\S$").is_match("\u{3000}").unwrap_or(true));
        assert!(!re(r"^\w+$").is_match("é").unwrap_or(true));
    }
}
