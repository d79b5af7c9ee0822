//! Anchored character-class patterns (`^[a-z0-9_][a-z0-9_-]{0,63}$` and the like) matched without
//! a regex engine.
//!
//! Most `pattern`/`keyPattern` constraints in the spec are of this shape. Matching them directly
//! keeps the regex compiler out of an ordinary config load: compiling even one pattern (the
//! `agents.entries` key pattern, in every dev config) costs the gateway about 1 MiB of resident
//! memory for its lifetime. Anything outside the shape — groups, alternation, `.`, `\d` (which is
//! Unicode-aware in the regex), negated classes, flags, unanchored patterns — is left to the regex
//! engine ([`SimplePattern::parse`] returns `None`). A property test holds this matcher to
//! fancy-regex's answers.

/// A set of ASCII bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Set(u128);

impl Set {
    fn with(self, b: u8) -> Set {
        Set(self.0 | (1u128 << b))
    }

    fn range(self, lo: u8, hi: u8) -> Set {
        (lo..=hi).fold(self, Set::with)
    }

    fn has(self, b: u8) -> bool {
        b < 128 && self.0 & (1u128 << b) != 0
    }
}

/// One class (or literal) with its repetition bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Atom {
    set: Set,
    min: usize,
    /// `usize::MAX`: unbounded.
    max: usize,
}

/// `^ATOM…$`, where an atom is an ASCII literal or a `[…]` class of ASCII characters and ranges,
/// optionally followed by `?`, `*`, `+`, `{n}`, `{n,}` or `{n,m}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimplePattern {
    atoms: Vec<Atom>,
}

/// ASCII punctuation that may be escaped with `\` to stand for itself.
fn escapable(b: u8) -> bool {
    b.is_ascii_punctuation()
}

/// A literal outside a class: letters, digits and a few unambiguous punctuation characters.
fn plain_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'-'
                | b'#'
                | b'/'
                | b':'
                | b'@'
                | b'='
                | b','
                | b'%'
                | b'!'
                | b'~'
                | b'\''
                | b'"'
                | b'&'
                | b';'
                | b'<'
                | b'>'
                | b'`'
        )
}

impl SimplePattern {
    /// The pattern, when it has the simple shape.
    pub fn parse(pattern: &str) -> Option<SimplePattern> {
        let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
        // A trailing `\$` is an escaped dollar, not the anchor.
        if body.ends_with('\\') {
            return None;
        }
        let b = body.as_bytes();
        let mut i = 0;
        let mut atoms = Vec::new();
        while i < b.len() {
            let set;
            match b[i] {
                b'[' => {
                    let (s, next) = parse_class(b, i + 1)?;
                    set = s;
                    i = next;
                }
                b'\\' => {
                    let c = *b.get(i + 1)?;
                    if !escapable(c) {
                        return None;
                    }
                    set = Set(0).with(c);
                    i += 2;
                }
                c if plain_literal(c) => {
                    set = Set(0).with(c);
                    i += 1;
                }
                _ => return None,
            }
            let (min, max, next) = parse_quantifier(b, i)?;
            i = next;
            atoms.push(Atom { set, min, max });
        }
        Some(SimplePattern { atoms })
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        let s = s.as_bytes();
        let n = s.len();
        // reach[p]: the atoms so far can consume exactly s[..p].
        let mut reach = vec![false; n + 1];
        reach[0] = true;
        // run[p]: how many bytes from p are in the current atom's set.
        let mut run = vec![0usize; n + 1];
        let mut delta = vec![0i64; n + 2];
        for atom in &self.atoms {
            for p in (0..n).rev() {
                run[p] = if atom.set.has(s[p]) {
                    run[p + 1] + 1
                } else {
                    0
                };
            }
            // Each reachable p reaches p+min ..= p+min(max, run[p]) (a difference array keeps
            // this linear).
            delta.fill(0);
            for p in 0..=n {
                if !reach[p] || run[p] < atom.min {
                    continue;
                }
                delta[p + atom.min] += 1;
                delta[p + run[p].min(atom.max) + 1] -= 1;
            }
            let mut acc = 0;
            for (p, r) in reach.iter_mut().enumerate() {
                acc += delta[p];
                *r = acc > 0;
            }
        }
        reach[n]
    }
}

/// A `[…]` class starting after its `[`: the set and the index after its `]`.
fn parse_class(b: &[u8], mut i: usize) -> Option<(Set, usize)> {
    if b.get(i) == Some(&b'^') {
        return None;
    }
    // `&&`, `--` and `~~` are set operations inside a class.
    let end = i + b[i..]
        .iter()
        .position(|&c| c == b']')
        .unwrap_or(b.len() - i);
    if b[i..end]
        .windows(2)
        .any(|w| matches!(w, b"&&" | b"--" | b"~~"))
    {
        return None;
    }
    let mut set = Set(0);
    let start = i;
    loop {
        let c = *b.get(i)?;
        // `&&`, `--` and `~~` are set operations inside a class.
        if matches!(c, b'&' | b'-' | b'~') && b.get(i + 1) == Some(&c) {
            return None;
        }
        let lit = match c {
            b']' if i > start => return Some((set, i + 1)),
            b'[' | b']' => return None,
            b'\\' => {
                let e = *b.get(i + 1)?;
                if !escapable(e) {
                    return None;
                }
                i += 1;
                e
            }
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => return None,
        };
        i += 1;
        // A range `a-z` (a `-` before `]` is a literal).
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|&n| n != b']') {
            let hi = *b.get(i + 1)?;
            if hi == b'\\' || hi == b'[' || !hi.is_ascii() || hi < lit {
                return None;
            }
            set = set.range(lit, hi);
            i += 2;
        } else {
            set = set.with(lit);
        }
    }
}

/// A quantifier at `i` (or none): `(min, max, next index)`.
fn parse_quantifier(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let (min, max, next) = match b.get(i) {
        Some(b'?') => (0, 1, i + 1),
        Some(b'*') => (0, usize::MAX, i + 1),
        Some(b'+') => (1, usize::MAX, i + 1),
        Some(b'{') => {
            let close = i + b[i..].iter().position(|&c| c == b'}')?;
            let inner = std::str::from_utf8(&b[i + 1..close]).ok()?;
            let num = |s: &str| -> Option<usize> {
                (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                    .then(|| s.parse().ok())
                    .flatten()
            };
            let (min, max) = match inner.split_once(',') {
                None => {
                    let n = num(inner)?;
                    (n, n)
                }
                Some((lo, "")) => (num(lo)?, usize::MAX),
                Some((lo, hi)) => (num(lo)?, num(hi)?),
            };
            if min > max {
                return None;
            }
            (min, max, close + 1)
        }
        _ => (1, 1, i),
    };
    // Lazy or possessive suffixes, or a second quantifier: leave it to the regex engine.
    if next > i && matches!(b.get(next), Some(b'?' | b'+' | b'*' | b'{')) {
        return None;
    }
    Some((min, max, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Simple-shaped patterns beyond the spec's own (edge cases of the shape).
    const SIMPLE: &[&str] = &[
        "^[A-Z_][A-Z0-9_]*$",
        "^[a-z0-9-]+$",
        "^#?[0-9a-fA-F]{6}$",
        "^[a-z][a-z0-9_-]{0,63}$",
        "^[A-Z][A-Z0-9_]{0,127}$",
        "^[a-z0-9_][a-z0-9_-]{0,63}$",
        "^[a-z0-9][a-z0-9._-]{0,63}$",
        "^[A-Za-z0-9][A-Za-z0-9_-]*$",
        "^[a-z0-9][a-z0-9-]{0,63}$",
        "^[a-z]*[a-z]$",
        "^a{2}b{1,}c?$",
        "^[-a]+$",
        "^[a\\-z]+$",
        "^\\.x$",
        "^$",
    ];

    /// Patterns the matcher must leave to the regex engine.
    const NOT_SIMPLE: &[&str] = &[
        "^[^,]+$",
        "^/",
        "^\\d+$",
        "^.+$",
        "^(?:a|b)$",
        "^a+?$",
        "^[a-z]{3,1}$",
        "^(?!x)[a-z]$",
        "[a-z]+$",
        "^a\\$",
        "\\S",
        "^[a-z&&[^x]]$",
        "^[a--]$",
        "^[\\]&&a]$",
    ];

    #[test]
    fn shapes_are_recognised() {
        for p in SIMPLE {
            assert!(SimplePattern::parse(p).is_some(), "{p} should be simple");
        }
        for p in NOT_SIMPLE {
            assert_eq!(SimplePattern::parse(p), None, "{p} is not simple");
        }
    }

    #[test]
    fn examples() {
        let key = SimplePattern::parse("^[a-z0-9_][a-z0-9_-]{0,63}$").expect("simple");
        assert!(key.is_match("dev"));
        assert!(key.is_match("_x-1"));
        assert!(!key.is_match("-x"));
        assert!(!key.is_match("Dev"));
        assert!(!key.is_match(""));
        assert!(!key.is_match("é"));
        assert!(key.is_match(&"a".repeat(64)));
        assert!(!key.is_match(&"a".repeat(65)));
        let back = SimplePattern::parse("^[a-z]*[a-z]$").expect("simple");
        assert!(back.is_match("abc"));
        assert!(!back.is_match(""));
    }

    fn alphabet() -> impl Strategy<Value = String> {
        let wide = prop::sample::select(vec![
            'a', 'b', 'c', 'z', 'A', 'F', 'Z', '0', '9', '_', '-', '.', '#', 'é', ' ', '\n', 'x',
        ]);
        // Long runs of few characters reach the `{0,63}`-style length limits.
        let narrow = prop::sample::select(vec!['a', 'b', '0', '_', '-', 'A']);
        prop_oneof![
            prop::collection::vec(wide, 0..70),
            prop::collection::vec(narrow, 0..140),
        ]
        .prop_map(|v| v.into_iter().collect())
    }

    /// Every simple-shaped `pattern`/`keyPattern` of the spec, then [`SIMPLE`], each with its
    /// regex.
    fn regexes() -> &'static [(&'static str, SimplePattern, fancy_regex::Regex)] {
        static ALL: std::sync::OnceLock<Vec<(&str, SimplePattern, fancy_regex::Regex)>> =
            std::sync::OnceLock::new();
        ALL.get_or_init(|| {
            let mut patterns: Vec<&str> = crate::generated::schema_table::NODES
                .iter()
                .flat_map(|n| [n.limits.pattern, n.limits.key_pattern])
                .flatten()
                .filter(|p| SimplePattern::parse(p).is_some())
                .collect();
            patterns.sort_unstable();
            patterns.dedup();
            patterns.extend(SIMPLE);
            patterns
                .into_iter()
                .map(|p| {
                    (
                        p,
                        SimplePattern::parse(p).expect("simple"),
                        fancy_regex::Regex::new(p).expect("compiles"),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn most_spec_patterns_are_simple() {
        // The point of the matcher: the spec's common patterns need no regex engine (the count
        // guards against a parser change that silently sends them all back to the regex path).
        let simple = regexes().len() - SIMPLE.len();
        assert!(simple >= 10, "only {simple} spec patterns are simple");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn agrees_with_the_regex_engine(s in alphabet()) {
            for (pattern, simple, re) in regexes() {
                let expected = re.is_match(&s).unwrap_or(false);
                prop_assert_eq!(simple.is_match(&s), expected, "{} on {:?}", pattern, s);
            }
        }
    }
}
