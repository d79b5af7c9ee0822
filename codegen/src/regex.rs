//! OpenClaw's patterns are JavaScript regular expressions; the runtime matches them with
//! `fancy-regex` (for look-around). The few syntax differences are rewritten here, once, at build time.

/// Rewrites a JavaScript pattern into the equivalent `fancy-regex` pattern:
/// a `[` inside a character class is literal in JS but opens a nested class in Rust; `\0` is NUL;
/// `\uXXXX` is a code point; `&&`, `--` and `~~` inside a class are operators in Rust.
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
        for p in [
            r"^[^.[\]]+$",
            r"^\/(?!\/)[^\0]*[^/\0]$",
            r"^(?!\s)(?![\s\S]*\s$)[^\p{Cs}]{1,128}$",
        ] {
            assert!(fancy_regex::Regex::new(&js_to_rust(p)).is_ok(), "{p}");
        }
    }
}
