//! JSON5 numbers: decimal, hexadecimal, signed, with bare decimal points, `Infinity` and `NaN`.

/// A number as written in JSON5. `value` is its IEEE double (what JavaScript, and so OpenClaw, sees);
/// `int` is set when the number is integral and fits in an `i64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number {
    pub value: f64,
    pub int: Option<i64>,
}

/// Largest integer that a double represents exactly, and so the bound OpenClaw applies to integers.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

impl Number {
    pub fn from_f64(value: f64) -> Number {
        let int = if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.2e18 {
            Some(value as i64)
        } else {
            None
        };
        Number { value, int }
    }

    pub fn from_i64(i: i64) -> Number {
        Number {
            value: i as f64,
            int: Some(i),
        }
    }

    /// Parses the literal text of a JSON5 number (as validated by the json5 parser).
    pub fn parse(raw: &str) -> Number {
        let (neg, body) = match raw.as_bytes().first() {
            Some(b'-') => (true, &raw[1..]),
            Some(b'+') => (false, &raw[1..]),
            _ => (false, raw),
        };
        let sign = if neg { -1.0 } else { 1.0 };
        if body == "Infinity" {
            return Number {
                value: sign * f64::INFINITY,
                int: None,
            };
        }
        if body == "NaN" {
            return Number {
                value: f64::NAN,
                int: None,
            };
        }
        if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            return match u64::from_str_radix(hex, 16) {
                Ok(u) if u <= i64::MAX as u64 => {
                    let i = if neg { -(u as i64) } else { u as i64 };
                    Number {
                        value: i as f64,
                        int: Some(i),
                    }
                }
                _ => {
                    // Too large for u64: accumulate as a double, like JavaScript does.
                    let v = hex
                        .chars()
                        .filter_map(|c| c.to_digit(16))
                        .fold(0.0, |acc, d| acc * 16.0 + f64::from(d));
                    Number::from_f64(sign * v)
                }
            };
        }
        // Integral decimal literals are parsed exactly when they fit in i64.
        if !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_digit())
            && let Ok(u) = body.parse::<i64>()
        {
            let i = if neg { -u } else { u };
            return Number {
                value: i as f64,
                int: Some(i),
            };
        }
        // "5." and ".5" are valid JSON5 but not valid Rust float syntax in every position.
        let mut text = String::with_capacity(body.len() + 2);
        if body.starts_with('.') {
            text.push('0');
        }
        text.push_str(body);
        if let Some(dot) = text.find('.') {
            let after = &text[dot + 1..];
            if after.is_empty() || after.starts_with(['e', 'E']) {
                text.insert(dot + 1, '0');
            }
        }
        let v: f64 = text.parse().unwrap_or(f64::NAN);
        Number::from_f64(sign * v)
    }

    pub fn from_json(n: &serde_json::Number) -> Number {
        match n.as_i64() {
            Some(i) => Number::from_i64(i),
            None => Number::from_f64(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    /// True when the value is an integer JavaScript represents exactly (|n| ≤ 2⁵³−1).
    pub fn is_safe_integer(&self) -> bool {
        self.value.is_finite() && self.value.fract() == 0.0 && self.value.abs() <= MAX_SAFE_INTEGER
    }

    pub fn is_integral(&self) -> bool {
        self.value.is_finite() && self.value.fract() == 0.0
    }

    pub fn to_json(&self) -> serde_json::Value {
        if let Some(i) = self.int {
            return serde_json::Value::from(i);
        }
        serde_json::Number::from_f64(self.value)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.int {
            Some(i) => write!(f, "{i}"),
            None if self.value.is_nan() => f.write_str("NaN"),
            None if self.value.is_infinite() => f.write_str(if self.value > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }),
            None => write!(f, "{}", self.value),
        }
    }
}
