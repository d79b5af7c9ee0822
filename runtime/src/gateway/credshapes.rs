//! The built-in credential shapes that `logging.redactSensitive: "tools"` masks in log text, matched
//! by hand instead of by sixteen regular expressions.
//!
//! Why: every log line goes through every shape, and compiling the shapes as regexes cost the
//! gateway about 1.7 MiB of resident memory for its whole life (the regex compiler's code and the
//! compiled programs) — a tenth of the idle-RSS budget. Each finder here answers exactly what its
//! regex in [`PATTERNS`] would (leftmost match at or after a position, greedy, same groups); a
//! property test runs both on generated text and compares every match. Two deliberate differences,
//! both outside anything a credential contains: digits are ASCII digits (the regex's `\d` also takes
//! other scripts' digits), and case-insensitive words compare ASCII letters only (the regex's `(?i)`
//! also folds the long s and the Kelvin sign).
//!
//! Word boundaries follow the regex crate's Unicode `\b`: a word character is a letter, a digit or
//! `_` (`char::is_alphanumeric` or `_`; it differs from `\w` only for combining marks and rare
//! connector punctuation).

use std::ops::Range;

/// One match: the whole text matched, and the part that is the secret (what gets masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub whole: Range<usize>,
    pub secret: Range<usize>,
}

/// Finds the leftmost match starting at or after byte `from` (a char boundary of `text`); the
/// characters before `from` still count for word boundaries.
pub type Finder = fn(&str, usize) -> Option<Found>;

/// The shapes, in the order they are applied (each one sees the text the previous ones masked).
pub const SHAPES: &[Finder] = &[
    find_env_assignment,
    find_json_member,
    find_cli_flag,
    find_authorization,
    find_bearer,
    find_pem_private_key,
    |t, from| find_prefixed(t, from, |s| lit(s, "sk-"), key_char, 8),
    |t, from| find_prefixed(t, from, |s| lit(s, "ghp_"), ALNUM, 20),
    |t, from| find_prefixed(t, from, |s| lit(s, "github_pat_"), ALNUM_UNDERSCORE, 20),
    |t, from| find_prefixed(t, from, slack_prefix, ALNUM_DASH, 10),
    |t, from| find_prefixed(t, from, |s| lit(s, "xapp-"), ALNUM_DASH, 10),
    |t, from| find_prefixed(t, from, |s| lit(s, "gsk_"), key_char, 10),
    |t, from| find_prefixed(t, from, |s| lit(s, "AIza"), key_char, 20),
    |t, from| find_prefixed(t, from, |s| lit(s, "pplx-"), key_char, 10),
    |t, from| find_prefixed(t, from, |s| lit(s, "npm_"), ALNUM, 10),
    find_telegram_token,
];

/// The specification: the regular expression each finder of [`SHAPES`] implements, in the same
/// order. Where a pattern has groups, the last group that matched is the secret; otherwise the
/// whole match is.
pub const PATTERNS: &[&str] = &[
    // ENV-style assignments: OPENAI_API_KEY=…, GATEWAY_TOKEN: "…".
    r#"\b[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)\b\s*[=:]\s*(["']?)([^\s"'\\]+)\1"#,
    // JSON members: "apiKey": "…".
    r#""(?:apiKey|api_key|token|secret|password|passwd|accessToken|refreshToken|botToken|appToken|clientSecret)"\s*:\s*"([^"\\]+)""#,
    // Command-line flags: --token …, --api-key=….
    r#"--(?:api[-_]?key|token|secret|password|passwd)(?:\s+|=)(["']?)([^\s"']+)\1"#,
    // Authorization headers and bare bearer tokens.
    r"(?i)\bauthorization\s*[:=]\s*(?:bearer|basic)\s+([A-Za-z0-9._~+/=-]+)",
    r"\bBearer\s+([A-Za-z0-9._~+/=-]{18,})",
    // PEM private keys.
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----",
    // Well-known key prefixes.
    r"\b(sk-[A-Za-z0-9_-]{8,})",
    r"\b(ghp_[A-Za-z0-9]{20,})",
    r"\b(github_pat_[A-Za-z0-9_]{20,})",
    r"\b(xox[abposr]-[A-Za-z0-9-]{10,})",
    r"\b(xapp-[A-Za-z0-9-]{10,})",
    r"\b(gsk_[A-Za-z0-9_-]{10,})",
    r"\b(AIza[0-9A-Za-z_-]{20,})",
    r"\b(pplx-[A-Za-z0-9_-]{10,})",
    r"\b(npm_[A-Za-z0-9]{10,})",
    // Telegram bot tokens: 123456789:AA….
    r"\b(\d{6,}:[A-Za-z0-9_-]{20,})\b",
];

// -- character classes ------------------------------------------------------------------------

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `[A-Za-z0-9_-]`
fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}
const ALNUM: fn(char) -> bool = |c| c.is_ascii_alphanumeric();
const ALNUM_UNDERSCORE: fn(char) -> bool = |c| c.is_ascii_alphanumeric() || c == '_';
const ALNUM_DASH: fn(char) -> bool = |c| c.is_ascii_alphanumeric() || c == '-';

/// `[A-Za-z0-9._~+/=-]`: the characters of a bearer/basic credential.
fn token68(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '+' | '/' | '=' | '-')
}

// -- small scanning helpers -------------------------------------------------------------------

fn char_at(t: &str, i: usize) -> Option<char> {
    t.get(i..).and_then(|s| s.chars().next())
}

fn char_before(t: &str, i: usize) -> Option<char> {
    t.get(..i).and_then(|s| s.chars().next_back())
}

/// Whether a word starts at `i` (`\b` before a word character).
fn word_starts_at(t: &str, i: usize) -> bool {
    char_at(t, i).is_some_and(is_word) && !char_before(t, i).is_some_and(is_word)
}

/// `\b` at `i`.
fn is_boundary(t: &str, i: usize) -> bool {
    char_before(t, i).is_some_and(is_word) != char_at(t, i).is_some_and(is_word)
}

/// The end of the run of characters satisfying `f` that starts at `i`.
fn run_end(t: &str, i: usize, f: impl Fn(char) -> bool) -> usize {
    let rest = &t[i..];
    i + rest.find(|c: char| !f(c)).unwrap_or(rest.len())
}

fn skip_ws(t: &str, i: usize) -> usize {
    run_end(t, i, char::is_whitespace)
}

/// The length of `word` when `s` starts with it.
fn lit(s: &str, word: &str) -> Option<usize> {
    s.starts_with(word).then_some(word.len())
}

/// `s` starts with `word`, ASCII case-insensitively.
fn starts_with_ci(s: &str, word: &str) -> bool {
    s.len() >= word.len() && s.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
}

/// Every start of `needle` in `t` at or after `from`, in order, overlapping ones included (`---`
/// holds `--` twice). `needle` starts with an ASCII character, so every next start is a char
/// boundary.
fn starts_of<'a>(t: &'a str, from: usize, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let mut at = from;
    std::iter::from_fn(move || {
        let i = at + t.get(at..)?.find(needle)?;
        at = i + 1;
        Some(i)
    })
}

/// Every word start at or after `from`, in order.
fn word_starts(t: &str, from: usize) -> impl Iterator<Item = usize> + '_ {
    let mut at = from;
    std::iter::from_fn(move || {
        while at < t.len() {
            let i = at;
            let c = char_at(t, i)?;
            if word_starts_at(t, i) {
                // No other word starts inside this word.
                at = run_end(t, i, is_word);
                return Some(i);
            }
            at = i + c.len_utf8();
        }
        None
    })
}

/// `(["']?)VALUE\1` at `i`, where VALUE is a non-empty run of `value` characters (which never
/// include quotes): the value's range and the end of the whole.
fn quoted_value(t: &str, i: usize, value: impl Fn(char) -> bool) -> Option<(Range<usize>, usize)> {
    let quote = char_at(t, i).filter(|c| matches!(c, '"' | '\''));
    let start = i + quote.map_or(0, char::len_utf8);
    let end = run_end(t, start, value);
    if end == start {
        return None;
    }
    match quote {
        None => Some((start..end, end)),
        Some(q) if char_at(t, end) == Some(q) => Some((start..end, end + 1)),
        // An opening quote that is not closed: with an empty group 1 the value would have to
        // start at the quote, which it cannot.
        Some(_) => None,
    }
}

// -- the shapes -------------------------------------------------------------------------------

/// `\b[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)\b\s*[=:]\s*(["']?)([^\s"'\\]+)\1`
fn find_env_assignment(t: &str, from: usize) -> Option<Found> {
    const SUFFIXES: [&str; 5] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD"];
    word_starts(t, from).find_map(|i| {
        let end = run_end(t, i, is_word);
        let word = &t[i..end];
        if !word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            || !SUFFIXES.iter().any(|s| word.ends_with(s))
        {
            return None;
        }
        let k = skip_ws(t, end);
        if !matches!(char_at(t, k), Some('=' | ':')) {
            return None;
        }
        let k = skip_ws(t, k + 1);
        let (secret, whole_end) = quoted_value(t, k, |c| {
            !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\')
        })?;
        Some(Found {
            whole: i..whole_end,
            secret,
        })
    })
}

/// `"(?:apiKey|…|clientSecret)"\s*:\s*"([^"\\]+)"`
fn find_json_member(t: &str, from: usize) -> Option<Found> {
    const NAMES: [&str; 11] = [
        "apiKey",
        "api_key",
        "token",
        "secret",
        "password",
        "passwd",
        "accessToken",
        "refreshToken",
        "botToken",
        "appToken",
        "clientSecret",
    ];
    starts_of(t, from, "\"").find_map(|i| {
        let rest = &t[i + 1..];
        let name = NAMES
            .iter()
            .find(|n| rest.starts_with(*n) && rest[n.len()..].starts_with('"'))?;
        let k = skip_ws(t, i + 1 + name.len() + 1);
        if char_at(t, k) != Some(':') {
            return None;
        }
        let k = skip_ws(t, k + 1);
        if char_at(t, k) != Some('"') {
            return None;
        }
        let start = k + 1;
        let end = run_end(t, start, |c| c != '"' && c != '\\');
        if end == start || char_at(t, end) != Some('"') {
            return None;
        }
        Some(Found {
            whole: i..end + 1,
            secret: start..end,
        })
    })
}

/// `--(?:api[-_]?key|token|secret|password|passwd)(?:\s+|=)(["']?)([^\s"']+)\1`
fn find_cli_flag(t: &str, from: usize) -> Option<Found> {
    starts_of(t, from, "--").find_map(|i| {
        let rest = &t[i + 2..];
        let name_len = if let Some(after) = rest.strip_prefix("api") {
            if after.starts_with("key") {
                6
            } else if (after.starts_with('-') || after.starts_with('_'))
                && after[1..].starts_with("key")
            {
                7
            } else {
                return None;
            }
        } else {
            ["token", "secret", "password", "passwd"]
                .iter()
                .find(|n| rest.starts_with(*n))?
                .len()
        };
        let k = i + 2 + name_len;
        let k = match char_at(t, k) {
            Some(c) if c.is_whitespace() => skip_ws(t, k),
            Some('=') => k + 1,
            _ => return None,
        };
        let (secret, whole_end) =
            quoted_value(t, k, |c| !c.is_whitespace() && !matches!(c, '"' | '\''))?;
        Some(Found {
            whole: i..whole_end,
            secret,
        })
    })
}

/// `(?i)\bauthorization\s*[:=]\s*(?:bearer|basic)\s+([A-Za-z0-9._~+/=-]+)`
fn find_authorization(t: &str, from: usize) -> Option<Found> {
    const WORD: &str = "authorization";
    // Candidates: every `a`/`A` that starts a word.
    word_starts(t, from).find_map(|i| {
        if !starts_with_ci(&t[i..], WORD) {
            return None;
        }
        let k = skip_ws(t, i + WORD.len());
        if !matches!(char_at(t, k), Some(':' | '=')) {
            return None;
        }
        let k = skip_ws(t, k + 1);
        let scheme = ["bearer", "basic"]
            .iter()
            .find(|s| starts_with_ci(&t[k..], s))?;
        let k = k + scheme.len();
        let start = skip_ws(t, k);
        if start == k {
            return None;
        }
        let end = run_end(t, start, token68);
        (end > start).then_some(Found {
            whole: i..end,
            secret: start..end,
        })
    })
}

/// `\bBearer\s+([A-Za-z0-9._~+/=-]{18,})`
fn find_bearer(t: &str, from: usize) -> Option<Found> {
    starts_of(t, from, "Bearer").find_map(|i| {
        if !word_starts_at(t, i) {
            return None;
        }
        let k = i + "Bearer".len();
        let start = skip_ws(t, k);
        if start == k {
            return None;
        }
        // The class is ASCII: bytes are characters.
        let end = run_end(t, start, token68);
        (end - start >= 18).then_some(Found {
            whole: i..end,
            secret: start..end,
        })
    })
}

/// At `i`: `-----<tag> [A-Z ]*PRIVATE KEY-----`; the end of the match.
fn pem_line_end(t: &str, i: usize, tag: &str) -> Option<usize> {
    let p = i + lit(&t[i..], "-----")? + lit(&t[i + 5..], tag)?;
    let run = run_end(t, p, |c| c.is_ascii_uppercase() || c == ' ');
    (t[p..run].ends_with("PRIVATE KEY") && t[run..].starts_with("-----")).then_some(run + 5)
}

/// `-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----` (all of it is
/// the secret).
fn find_pem_private_key(t: &str, from: usize) -> Option<Found> {
    let (i, body) =
        starts_of(t, from, "-----BEGIN ").find_map(|i| Some((i, pem_line_end(t, i, "BEGIN ")?)))?;
    // At least one character of body, then the first END line that completes. When this BEGIN
    // has none, no later BEGIN can have one either.
    let first = char_at(t, body)?.len_utf8();
    let end = starts_of(t, body + first, "-----END ").find_map(|q| pem_line_end(t, q, "END "))?;
    Some(Found {
        whole: i..end,
        secret: i..end,
    })
}

/// `xox[abposr]-`
fn slack_prefix(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (s.starts_with("xox") && b.len() >= 5 && b"abposr".contains(&b[3]) && b[4] == b'-').then_some(5)
}

/// `\b(PREFIX[class]{min,})`: `prefix` gives the prefix's length when the text starts with it.
fn find_prefixed(
    t: &str,
    from: usize,
    prefix: fn(&str) -> Option<usize>,
    class: fn(char) -> bool,
    min: usize,
) -> Option<Found> {
    word_starts(t, from).find_map(|i| {
        let body = i + prefix(&t[i..])?;
        let end = run_end(t, body, class);
        (end - body >= min).then_some(Found {
            whole: i..end,
            secret: i..end,
        })
    })
}

/// `\b(\d{6,}:[A-Za-z0-9_-]{20,})\b`
fn find_telegram_token(t: &str, from: usize) -> Option<Found> {
    word_starts(t, from).find_map(|i| {
        let digits = run_end(t, i, |c| c.is_ascii_digit());
        if digits - i < 6 || char_at(t, digits) != Some(':') {
            return None;
        }
        let start = digits + 1;
        let run = run_end(t, start, key_char);
        // The longest run of at least 20 that ends on a word boundary (the class is ASCII).
        (start + 20..=run)
            .rev()
            .find(|&e| is_boundary(t, e))
            .map(|e| Found {
                whole: i..e,
                secret: i..e,
            })
    })
}

/// Every match of `find` in `text`, each search starting where the previous match ended (one
/// character further after an empty match).
pub fn find_all<'a>(
    find: impl Fn(&str, usize) -> Option<Found> + 'a,
    text: &'a str,
) -> impl Iterator<Item = Found> + 'a {
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let found = find(text, at?)?;
        let end = found.whole.end;
        at = if end > found.whole.start {
            Some(end)
        } else {
            text[end..].chars().next().map(|c| end + c.len_utf8())
        };
        Some(found)
    })
}

/// A regex's leftmost match at or after `from`, read the way the shapes are: the whole match, and
/// as the secret the last group that matched something (else the whole match). A regex that hits
/// fancy-regex's backtrack limit reports no match.
pub fn regex_match(re: &fancy_regex::Regex, text: &str, from: usize) -> Option<Found> {
    let caps = re.captures_from_pos(text, from).ok()??;
    let whole = caps.get(0)?;
    let secret = (1..caps.len())
        .rev()
        .find_map(|i| caps.get(i).filter(|m| !m.as_str().is_empty()))
        .unwrap_or(whole);
    Some(Found {
        whole: whole.range(),
        secret: secret.range(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(find: impl Fn(&str, usize) -> Option<Found>, t: &str) -> Vec<Found> {
        find_all(find, t).collect()
    }

    fn regexes() -> &'static [fancy_regex::Regex] {
        static RES: std::sync::OnceLock<Vec<fancy_regex::Regex>> = std::sync::OnceLock::new();
        RES.get_or_init(|| {
            PATTERNS
                .iter()
                .map(|p| fancy_regex::Regex::new(p).expect("built-in pattern compiles"))
                .collect()
        })
    }

    #[test]
    fn one_finder_per_pattern() {
        assert_eq!(SHAPES.len(), PATTERNS.len());
    }

    #[test]
    fn examples_match_like_the_regexes() {
        let res = regexes();
        let lines = [
            "OPENAI_API_KEY=sk-abcdefghijklmnop and GATEWAY_TOKEN: \"tok123456\"",
            "apiKEY=x MY_KEY = 'quoted value' X_PASSWORD=\"unterminated",
            r#"{"apiKey": "k-123", "token":"abc\"def", "secret" : "s"}"#,
            "run --token abc --api-key=xyz --api_key 'q' --passwd=\"p\" --tokenx y ---secret z",
            "Authorization: Bearer abc.def-ghi AUTHORIZATION=basic Zm9vOmJhcg== xauthorization: bearer q",
            "Bearer abcdefghijklmnopqrstu Bearer short xBearer abcdefghijklmnopqrstuvwxyz",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY----- tail",
            "-----BEGIN PRIVATE KEY----------END PRIVATE KEY-----x-----END PRIVATE KEY-----",
            "sk-12345678 ghp_abcdefghijklmnopqrstuvwxyz github_pat_abc_defghijklmnopqrstuvwx",
            "xoxb-1234567890 xoxz-1234567890 xapp-1-abcdefghij gsk_0123456789 AIzaabcdefghijklmnopqrstuv",
            "pplx-0123456789 npm_0123456789 é sk-abcdefghij 中sk-abcdefghij",
            "bot 123456789:AAabcdefghijklmnopqrstuvwxyz-- and 12345:AAabcdefghijklmnopqrstuvwxyz",
            "123456789:abcdefghijklmnopqrst-é 123456789:abcdefghijklmnopqrstu-",
        ];
        for (i, (find, re)) in SHAPES.iter().zip(res).enumerate() {
            for line in lines {
                assert_eq!(
                    all(find, line),
                    all(|t, at| regex_match(re, t, at), line),
                    "shape {i} ({}) on {line:?}",
                    PATTERNS[i]
                );
            }
        }
    }

    /// Text built from pieces that make the shapes match, nearly match and fail in every way.
    fn text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "KEY",
            "TOKEN",
            "SECRET",
            "PASSWORD",
            "PASSWD",
            "API_",
            "MY",
            "key",
            "=",
            ":",
            " ",
            "  ",
            "\n",
            "\t",
            "\"",
            "'",
            "\\",
            "--",
            "-",
            "_",
            "token",
            "secret",
            "password",
            "passwd",
            "api",
            "api-key",
            "api_key",
            "apiKey",
            "\"apiKey\"",
            "\"token\"",
            "accessToken",
            "authorization",
            "Authorization",
            "AUTHORIZATION",
            "bearer",
            "Bearer",
            "BASIC",
            "basic",
            "-----BEGIN ",
            "-----END ",
            "RSA ",
            "PRIVATE KEY",
            "-----",
            "sk-",
            "ghp_",
            "github_pat_",
            "xoxb-",
            "xoxq-",
            "xox",
            "xapp-",
            "gsk_",
            "AIza",
            "pplx-",
            "npm_",
            "123456",
            "1234567",
            "12",
            "abcdefghij",
            "ABCDEFGHIJ",
            "0123456789",
            "klmnopqrst",
            ".",
            "~",
            "+",
            "/",
            "é",
            "中",
            "x",
            "Z9",
        ]);
        prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(768))]

        #[test]
        fn finders_agree_with_their_regexes(t in text()) {
            let res = regexes();
            for (i, (find, re)) in SHAPES.iter().zip(res).enumerate() {
                let ours = all(find, &t);
                let theirs = all(|s, at| regex_match(re, s, at), &t);
                prop_assert_eq!(ours, theirs, "shape {} ({}) on {:?}", i, PATTERNS[i], t);
            }
        }
    }
}
