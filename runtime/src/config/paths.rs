//! Where the config file and state directory are, as OpenClaw 2026.9.6 resolves them:
//! `OPENCLAW_CONFIG_PATH` > `OPENCLAW_STATE_DIR` > `--profile`/`--dev` > `OPENCLAW_HOME` > `~/.openclaw`.

use std::path::{Path, PathBuf};

use super::load::Env;

/// Global selection flags (`--dev`, `--profile NAME`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub dev: bool,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    DevWithProfile,
    BadProfileName(String),
    NoHome,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::DevWithProfile => f.write_str("Cannot combine --dev with --profile"),
            PathError::BadProfileName(n) => {
                write!(
                    f,
                    "Invalid --profile \"{n}\": use letters, digits, '_' and '-' only"
                )
            }
            PathError::NoHome => {
                f.write_str("Cannot find the home directory: set HOME or OPENCLAW_HOME")
            }
        }
    }
}

impl std::error::Error for PathError {}

impl Profile {
    /// The effective profile name: `dev` for `--dev`, the `--profile` value, or none.
    pub fn effective(&self) -> Result<Option<&str>, PathError> {
        match (self.dev, self.name.as_deref()) {
            (true, Some(_)) => Err(PathError::DevWithProfile),
            (true, None) => Ok(Some("dev")),
            (false, Some(n)) => {
                let ok = !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if ok {
                    Ok(Some(n))
                } else {
                    Err(PathError::BadProfileName(n.to_string()))
                }
            }
            (false, None) => Ok(None),
        }
    }
}

fn nonempty(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.trim().is_empty())
}

/// Expands a leading `~` and makes a relative path absolute against `cwd`.
pub fn expand_user(p: &str, home: Option<&Path>, cwd: &Path) -> PathBuf {
    let expanded = match (p.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            h.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(p),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        cwd.join(expanded)
    }
}

/// The user's home: `HOME` (what `~` means), required for default locations.
pub fn home(env: &dyn Env) -> Option<PathBuf> {
    nonempty(env, "HOME").map(PathBuf::from)
}

/// The state directory (config, paired devices, logs of the service, …).
pub fn state_dir(env: &dyn Env, profile: &Profile, cwd: &Path) -> Result<PathBuf, PathError> {
    let name = profile.effective()?;
    let home = home(env);
    if let Some(sd) = nonempty(env, "OPENCLAW_STATE_DIR") {
        return Ok(expand_user(&sd, home.as_deref(), cwd));
    }
    let base = match nonempty(env, "OPENCLAW_HOME") {
        Some(oh) => expand_user(&oh, home.as_deref(), cwd),
        None => home.clone().ok_or(PathError::NoHome)?,
    };
    Ok(match name {
        Some(n) if n != "default" => base.join(format!(".openclaw-{n}")),
        _ => base.join(".openclaw"),
    })
}

/// The config file path.
pub fn config_path(env: &dyn Env, profile: &Profile, cwd: &Path) -> Result<PathBuf, PathError> {
    // Validate the flags even when the env var wins, so `--dev --profile x` is always an error.
    profile.effective()?;
    if let Some(p) = nonempty(env, "OPENCLAW_CONFIG_PATH") {
        return Ok(expand_user(&p, home(env).as_deref(), cwd));
    }
    Ok(state_dir(env, profile, cwd)?.join("openclaw.json"))
}

/// The gateway port when neither `--port`, `OPENCLAW_GATEWAY_PORT` nor `gateway.port` sets one:
/// 18789 for the default profile, 19001 for `dev`, and for any other profile a port from
/// 20000–59999 derived from its name (32-bit FNV-1a of the UTF-8 bytes, modulo 40000), as OpenClaw
/// 2026.9.6 does — so `--profile foo` gateways listen where OpenClaw clients look for them (47223).
pub fn default_port(profile: Option<&str>) -> u16 {
    match profile {
        None => 18789,
        Some(p) if p.eq_ignore_ascii_case("default") => 18789,
        Some("dev") => 19001,
        Some(p) => {
            let hash = p.as_bytes().iter().fold(2_166_136_261u32, |h, b| {
                (h ^ u32::from(*b)).wrapping_mul(16_777_619)
            });
            // < 60000 by construction, so the conversion cannot fail.
            u16::try_from(20_000 + hash % 40_000).unwrap_or(18789)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn path(env: &MapEnv, dev: bool, name: Option<&str>) -> Result<String, PathError> {
        let p = Profile {
            dev,
            name: name.map(str::to_string),
        };
        config_path(env, &p, Path::new("/cwd")).map(|p| p.display().to_string())
    }

    /// The table observed with OpenClaw 2026.9.6 (`observed/cli/config-path-resolution.txt`).
    #[test]
    fn resolution_matches_openclaw() {
        let home = MapEnv::new([("HOME", "/home/user")]);
        assert_eq!(
            path(&home, false, None).as_deref(),
            Ok("/home/user/.openclaw/openclaw.json")
        );
        assert_eq!(
            path(&home, true, None).as_deref(),
            Ok("/home/user/.openclaw-dev/openclaw.json")
        );
        assert_eq!(
            path(&home, false, Some("foo")).as_deref(),
            Ok("/home/user/.openclaw-foo/openclaw.json")
        );
        assert_eq!(
            path(&home, false, Some("default")).as_deref(),
            Ok("/home/user/.openclaw/openclaw.json")
        );
        assert_eq!(
            path(&home, true, Some("foo")),
            Err(PathError::DevWithProfile)
        );
        let cp = MapEnv::new([
            ("HOME", "/home/user"),
            ("OPENCLAW_CONFIG_PATH", "/tmp/x/c.json5"),
        ]);
        assert_eq!(path(&cp, false, None).as_deref(), Ok("/tmp/x/c.json5"));
        assert_eq!(path(&cp, true, None).as_deref(), Ok("/tmp/x/c.json5"));
        let sd = MapEnv::new([("HOME", "/home/user"), ("OPENCLAW_STATE_DIR", "/tmp/sd")]);
        assert_eq!(
            path(&sd, false, None).as_deref(),
            Ok("/tmp/sd/openclaw.json")
        );
        assert_eq!(
            path(&sd, false, Some("foo")).as_deref(),
            Ok("/tmp/sd/openclaw.json")
        );
        let prof = MapEnv::new([("HOME", "/home/user"), ("OPENCLAW_PROFILE", "bar")]);
        assert_eq!(
            path(&prof, false, None).as_deref(),
            Ok("/home/user/.openclaw/openclaw.json")
        );
        let oh = MapEnv::new([("HOME", "/home/user"), ("OPENCLAW_HOME", "/tmp/oh")]);
        assert_eq!(
            path(&oh, false, None).as_deref(),
            Ok("/tmp/oh/.openclaw/openclaw.json")
        );
        let tilde = MapEnv::new([
            ("HOME", "/home/user"),
            ("OPENCLAW_CONFIG_PATH", "~/rel.json5"),
        ]);
        assert_eq!(
            path(&tilde, false, None).as_deref(),
            Ok("/home/user/rel.json5")
        );
        let rel = MapEnv::new([
            ("HOME", "/home/user"),
            ("OPENCLAW_CONFIG_PATH", "rel.json5"),
        ]);
        assert_eq!(path(&rel, false, None).as_deref(), Ok("/cwd/rel.json5"));
        assert!(matches!(
            path(&home, false, Some("a b")),
            Err(PathError::BadProfileName(_))
        ));
    }

    #[test]
    fn profile_ports_follow_openclaw() {
        assert_eq!(default_port(None), 18789);
        assert_eq!(default_port(Some("default")), 18789);
        assert_eq!(default_port(Some("Default")), 18789);
        assert_eq!(default_port(Some("dev")), 19001);
        // Observed on OpenClaw 2026.9.6: `--profile foo gateway status --json` → port 47223.
        assert_eq!(default_port(Some("foo")), 47223);
        assert_eq!(default_port(Some("bar")), 36602);
        for name in ["a", "work", "Dev", "x-y_z", "0123456789abcdef"] {
            let p = default_port(Some(name));
            assert!((20_000..60_000).contains(&p), "{name}: {p}");
        }
    }
}
