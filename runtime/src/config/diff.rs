//! Field-by-field comparison of two typed configs. The generated code implements [`Diff`] for every
//! struct by calling it on each field; the impls here cover leaves, options, maps and lists.

use std::collections::BTreeMap;

use super::reload::{ReloadClass, reload_class};

/// One changed path and what applying it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub reload: ReloadClass,
}

pub trait Diff {
    /// Appends one [`Change`] per differing leaf path below `path`.
    fn diff(&self, other: &Self, path: &str, out: &mut Vec<Change>);
}

/// `a.b` + `c` → `a.b.c`; the root path is empty.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Records `path` as changed unless `equal`.
pub fn leaf(equal: bool, path: &str, out: &mut Vec<Change>) {
    if !equal {
        let path = if path.is_empty() {
            "<root>".to_string()
        } else {
            path.to_string()
        };
        out.push(Change {
            reload: reload_class(&path),
            path,
        });
    }
}

macro_rules! leaf_diff {
    ($($t:ty),*) => {$(
        impl Diff for $t {
            fn diff(&self, other: &Self, path: &str, out: &mut Vec<Change>) {
                leaf(self == other, path, out)
            }
        }
    )*};
}
leaf_diff!(String, bool, u16, u64, i64, f64, (), serde_json::Value);

impl<T: Diff + PartialEq> Diff for Vec<T> {
    /// Lists are compared whole, as OpenClaw does: a changed list is one change at its path.
    fn diff(&self, other: &Self, path: &str, out: &mut Vec<Change>) {
        leaf(self == other, path, out)
    }
}

impl<T: Diff> Diff for Option<T> {
    fn diff(&self, other: &Self, path: &str, out: &mut Vec<Change>) {
        match (self, other) {
            (Some(a), Some(b)) => a.diff(b, path, out),
            (None, None) => {}
            _ => leaf(false, path, out),
        }
    }
}

impl<T: Diff> Diff for BTreeMap<String, T> {
    fn diff(&self, other: &Self, path: &str, out: &mut Vec<Change>) {
        for (k, a) in self {
            match other.get(k) {
                Some(b) => a.diff(b, &join(path, k), out),
                None => leaf(false, &join(path, k), out),
            }
        }
        for k in other.keys().filter(|k| !self.contains_key(*k)) {
            leaf(false, &join(path, k), out);
        }
    }
}

impl<T: Diff> Diff for Box<T> {
    fn diff(&self, other: &Self, path: &str, out: &mut Vec<Change>) {
        (**self).diff(other, path, out)
    }
}
