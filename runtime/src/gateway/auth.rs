//! Shared-secret authentication of `connect`: the token or password compared in constant time, the
//! failure messages and `details` OpenClaw clients key on, the per-address back-off after wrong
//! credentials, and the `gateway.auth.rateLimit` lockout.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

/// `gateway.auth.mode` as the running gateway applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    None,
    Token,
    Password,
    TrustedProxy,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Token => "token",
            AuthMode::Password => "password",
            AuthMode::TrustedProxy => "trusted-proxy",
        }
    }

    pub fn parse(s: &str) -> Option<AuthMode> {
        Some(match s {
            "none" => AuthMode::None,
            "token" => AuthMode::Token,
            "password" => AuthMode::Password,
            "trusted-proxy" => AuthMode::TrustedProxy,
            _ => return None,
        })
    }
}

/// `gateway.auth.rateLimit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub max_attempts: u32,
    pub window: Duration,
    pub lockout: Duration,
    pub exempt_loopback: bool,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            max_attempts: 10,
            window: Duration::from_millis(60_000),
            lockout: Duration::from_millis(300_000),
            exempt_loopback: true,
        }
    }
}

/// The gateway's credentials.
#[derive(Clone, Default)]
pub struct AuthSettings {
    pub mode: Option<AuthMode>,
    pub token: Option<String>,
    pub password: Option<String>,
    pub rate_limit: RateLimit,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("mode", &self.mode)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl AuthSettings {
    /// The effective mode: explicit, else password when only a password is set, else token.
    pub fn effective_mode(&self) -> AuthMode {
        match self.mode {
            Some(m) => m,
            None if self.password.is_some() && self.token.is_none() => AuthMode::Password,
            None => AuthMode::Token,
        }
    }
}

/// Credentials a client sent in `connect.params.auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presented {
    pub token: Option<String>,
    pub password: Option<String>,
    pub device_token: Option<String>,
}

impl Presented {
    pub fn from_params(auth: Option<&Value>) -> Presented {
        let get = |k: &str| {
            auth.and_then(|a| a.get(k))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Presented {
            token: get("token"),
            password: get("password"),
            device_token: get("deviceToken"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.token.is_none() && self.password.is_none() && self.device_token.is_none()
    }
}

/// How a connection authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    Token,
    Password,
    DeviceToken,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::Token => "token",
            AuthMethod::Password => "password",
            AuthMethod::DeviceToken => "device-token",
        }
    }
}

/// A rejected `connect`: answered as `INVALID_REQUEST` with these details, then close 1008.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthFailure {
    /// OpenClaw's internal reason (`token_mismatch`, …), echoed as `details.authReason`.
    pub reason: &'static str,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

impl AuthFailure {
    /// `details.code` for the reason.
    pub fn detail_code(&self) -> &'static str {
        match self.reason {
            "token_missing" => "AUTH_TOKEN_MISSING",
            "token_mismatch" => "AUTH_TOKEN_MISMATCH",
            "token_missing_config" => "AUTH_TOKEN_NOT_CONFIGURED",
            "password_missing" => "AUTH_PASSWORD_MISSING",
            "password_mismatch" => "AUTH_PASSWORD_MISMATCH",
            "password_missing_config" => "AUTH_PASSWORD_NOT_CONFIGURED",
            "rate_limited" => "AUTH_RATE_LIMITED",
            "device_token_mismatch" => "AUTH_DEVICE_TOKEN_MISMATCH",
            "" => "AUTH_REQUIRED",
            _ => "AUTH_UNAUTHORIZED",
        }
    }

    /// What the client should do next (`details.recommendedNextStep`).
    pub fn next_step(&self) -> &'static str {
        match self.reason {
            "rate_limited" => "wait_then_retry",
            "token_missing_config" | "password_missing_config" => "review_auth_configuration",
            "token_missing" | "password_missing" => "update_auth_configuration",
            _ => "update_auth_credentials",
        }
    }

    /// The `error.details` object.
    pub fn details(&self) -> Value {
        let mut d = json!({
            "code": self.detail_code(),
            "authReason": self.reason,
            "canRetryWithDeviceToken": false,
            "recommendedNextStep": self.next_step(),
        });
        if let (Some(ms), Some(m)) = (self.retry_after_ms, d.as_object_mut()) {
            m.insert("retryAfterMs".into(), json!(ms));
        }
        d
    }
}

/// `true` for the CLI's client ids (OpenClaw words its hints for them).
fn is_cli(client_id: &str, client_mode: &str) -> bool {
    client_id == "cli" || client_mode == "cli"
}

fn message(reason: &'static str, client_id: &str, client_mode: &str, local: bool) -> String {
    let cli = is_cli(client_id, client_mode);
    let ui = matches!(client_id, "openclaw-control-ui" | "webchat-ui" | "webchat")
        || client_mode == "webchat"
        || client_mode == "ui";
    let token_hint = if cli {
        if local {
            "use this gateway's gateway.auth.token or pair the device"
        } else {
            "set gateway.remote.token to match gateway.auth.token"
        }
    } else if ui {
        "open the dashboard URL and paste the token in Control UI settings"
    } else {
        "provide gateway auth token"
    };
    let password_hint = if cli {
        if local {
            "use this gateway's gateway.auth.password"
        } else {
            "set gateway.remote.password to match gateway.auth.password"
        }
    } else if ui {
        "enter the password in Control UI settings"
    } else {
        "provide gateway auth password"
    };
    match reason {
        "token_missing" => format!("unauthorized: gateway token missing ({token_hint})"),
        "token_mismatch" => format!("unauthorized: gateway token mismatch ({token_hint})"),
        "token_missing_config" => {
            "unauthorized: gateway token not configured on gateway (set gateway.auth.token)".into()
        }
        "password_missing" => format!("unauthorized: gateway password missing ({password_hint})"),
        "password_mismatch" => {
            format!("unauthorized: gateway password mismatch ({password_hint})")
        }
        "password_missing_config" => {
            "unauthorized: gateway password not configured on gateway (set gateway.auth.password)"
                .into()
        }
        "rate_limited" => {
            "unauthorized: too many failed authentication attempts (retry later)".into()
        }
        "device_token_mismatch" => {
            "unauthorized: device token mismatch (rotate/reissue device token)".into()
        }
        _ => "unauthorized".into(),
    }
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Checks presented shared credentials against the settings. `Ok(None)` means the client sent no
/// shared secret at all (the caller then requires a device identity or device token).
pub fn check_shared(
    settings: &AuthSettings,
    presented: &Presented,
    client_id: &str,
    client_mode: &str,
    local: bool,
) -> Result<Option<AuthMethod>, AuthFailure> {
    let fail = |reason: &'static str| AuthFailure {
        reason,
        message: message(reason, client_id, client_mode, local),
        retry_after_ms: None,
    };
    match settings.effective_mode() {
        AuthMode::None => Ok(Some(AuthMethod::None)),
        AuthMode::Token => match (&presented.token, &settings.token) {
            (None, _) if presented.password.is_none() => Ok(None),
            (None, _) => Err(fail("token_missing")),
            (Some(_), None) => Err(fail("token_missing_config")),
            (Some(p), Some(t)) if ct_eq(p, t) => Ok(Some(AuthMethod::Token)),
            (Some(_), Some(_)) => Err(fail("token_mismatch")),
        },
        AuthMode::Password => match (&presented.password, &settings.password) {
            (None, _) if presented.token.is_none() => Ok(None),
            (None, _) => Err(fail("password_missing")),
            (Some(_), None) => Err(fail("password_missing_config")),
            (Some(p), Some(t)) if ct_eq(p, t) => Ok(Some(AuthMethod::Password)),
            (Some(_), Some(_)) => Err(fail("password_mismatch")),
        },
        // Identity headers from a trusted proxy are not supported here; shared secrets still work.
        AuthMode::TrustedProxy => {
            match (
                &presented.token,
                &settings.token,
                &presented.password,
                &settings.password,
            ) {
                (Some(p), Some(t), _, _) if ct_eq(p, t) => Ok(Some(AuthMethod::Token)),
                (_, _, Some(p), Some(t)) if ct_eq(p, t) => Ok(Some(AuthMethod::Password)),
                _ if presented.token.is_none() && presented.password.is_none() => Ok(None),
                _ => Err(fail("trusted_proxy_untrusted_source")),
            }
        }
    }
}

/// The rate-limited failure answer.
pub fn rate_limited(
    client_id: &str,
    client_mode: &str,
    local: bool,
    retry: Duration,
) -> AuthFailure {
    AuthFailure {
        reason: "rate_limited",
        message: message("rate_limited", client_id, client_mode, local),
        retry_after_ms: Some(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// A failure for a device token that does not verify.
pub fn device_token_mismatch(client_id: &str, client_mode: &str, local: bool) -> AuthFailure {
    AuthFailure {
        reason: "device_token_mismatch",
        message: message("device_token_mismatch", client_id, client_mode, local),
        retry_after_ms: None,
    }
}

#[derive(Debug, Default)]
struct Record {
    /// Consecutive failures (drives the back-off).
    consecutive: u32,
    /// Failures inside the current window (drives the lockout).
    window_start: Option<Instant>,
    window_failures: u32,
    locked_until: Option<Instant>,
    last_failure: Option<Instant>,
}

/// Per-address failure memory: the back-off before answering a wrong credential (250 ms, doubling,
/// capped at 5 s) and the lockout of `gateway.auth.rateLimit`.
#[derive(Debug)]
pub struct Limiter {
    limit: std::sync::RwLock<RateLimit>,
    records: Mutex<HashMap<IpAddr, Record>>,
}

/// First back-off step and its cap.
pub const BACKOFF_BASE: Duration = Duration::from_millis(250);
pub const BACKOFF_CAP: Duration = Duration::from_millis(5_000);
/// Addresses tracked at most; the oldest records go first beyond this.
const MAX_RECORDS: usize = 65_536;

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit: std::sync::RwLock::new(limit),
            records: Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force.
    pub fn limit(&self) -> RateLimit {
        match self.limit.read() {
            Ok(l) => *l,
            Err(p) => *p.into_inner(),
        }
    }

    /// Replaces the policy (hot reload of `gateway.auth.rateLimit`); records are kept.
    pub fn set_limit(&self, limit: RateLimit) {
        match self.limit.write() {
            Ok(mut l) => *l = limit,
            Err(p) => *p.into_inner() = limit,
        }
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        self.limit().exempt_loopback && ip.is_loopback()
    }

    /// `Some(remaining)` while `ip` is locked out.
    pub fn locked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        if self.exempt(ip) {
            return None;
        }
        let records = self.records.lock().ok()?;
        let until = records.get(&ip)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Records a failure; returns how long to wait before answering it.
    pub fn failure(&self, ip: IpAddr, now: Instant) -> Duration {
        let Ok(mut records) = self.records.lock() else {
            return BACKOFF_BASE;
        };
        if records.len() >= MAX_RECORDS && !records.contains_key(&ip) {
            self.prune(&mut records, now);
        }
        let limit = self.limit();
        let r = records.entry(ip).or_default();
        // A quiet window forgets the streak.
        if r.last_failure
            .is_some_and(|t| now.duration_since(t) > limit.window)
        {
            r.consecutive = 0;
        }
        r.consecutive = r.consecutive.saturating_add(1);
        r.last_failure = Some(now);
        match r.window_start {
            Some(start) if now.duration_since(start) <= limit.window => {
                r.window_failures += 1;
            }
            _ => {
                r.window_start = Some(now);
                r.window_failures = 1;
            }
        }
        if !(limit.exempt_loopback && ip.is_loopback()) && r.window_failures >= limit.max_attempts {
            r.locked_until = Some(now + limit.lockout);
            r.window_failures = 0;
            r.window_start = None;
        }
        let shift = r.consecutive.saturating_sub(1).min(8);
        (BACKOFF_BASE * (1u32 << shift)).min(BACKOFF_CAP)
    }

    /// A successful authentication clears the address's record.
    pub fn success(&self, ip: IpAddr) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(&ip);
        }
    }

    fn prune(&self, records: &mut HashMap<IpAddr, Record>, now: Instant) {
        let limit = self.limit();
        let window = limit.window.max(limit.lockout);
        records.retain(|_, r| {
            r.locked_until.is_some_and(|t| t > now)
                || r.last_failure
                    .is_some_and(|t| now.duration_since(t) <= window)
        });
        if records.len() >= MAX_RECORDS {
            records.clear();
        }
    }

    /// Drops records that no longer matter (called periodically).
    pub fn prune_now(&self, now: Instant) {
        if let Ok(mut records) = self.records.lock() {
            self.prune(&mut records, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> AuthSettings {
        AuthSettings {
            token: Some(t.into()),
            ..AuthSettings::default()
        }
    }

    fn presented(token: Option<&str>, password: Option<&str>) -> Presented {
        Presented {
            token: token.map(str::to_string),
            password: password.map(str::to_string),
            device_token: None,
        }
    }

    #[test]
    fn shared_token() {
        let s = token("devtok123");
        assert_eq!(
            check_shared(&s, &presented(Some("devtok123"), None), "cli", "cli", true),
            Ok(Some(AuthMethod::Token))
        );
        let e = check_shared(&s, &presented(Some("WRONG"), None), "cli", "cli", true)
            .expect_err("an error");
        assert_eq!(
            e.message,
            "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)"
        );
        assert_eq!(
            e.details(),
            json!({"code":"AUTH_TOKEN_MISMATCH","authReason":"token_mismatch","canRetryWithDeviceToken":false,"recommendedNextStep":"update_auth_credentials"})
        );
        assert_eq!(
            check_shared(&s, &presented(None, None), "cli", "cli", true),
            Ok(None)
        );
        let e = check_shared(&s, &presented(None, Some("pw")), "x", "backend", false)
            .expect_err("an error");
        assert_eq!(e.detail_code(), "AUTH_TOKEN_MISSING");
        let none = AuthSettings::default();
        let e = check_shared(&none, &presented(Some("x"), None), "cli", "cli", true)
            .expect_err("an error");
        assert_eq!(e.detail_code(), "AUTH_TOKEN_NOT_CONFIGURED");
    }

    #[test]
    fn password_mode_is_inferred() {
        let s = AuthSettings {
            password: Some("pw".into()),
            ..AuthSettings::default()
        };
        assert_eq!(s.effective_mode(), AuthMode::Password);
        assert_eq!(
            check_shared(&s, &presented(None, Some("pw")), "cli", "cli", true),
            Ok(Some(AuthMethod::Password))
        );
        let e = check_shared(&s, &presented(None, Some("no")), "cli", "cli", false)
            .expect_err("an error");
        assert_eq!(e.detail_code(), "AUTH_PASSWORD_MISMATCH");
        assert!(e.message.contains("gateway.remote.password"));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_to_a_cap_and_resets_on_success() {
        let l = Limiter::new(RateLimit::default());
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let waits: Vec<u128> = (0..8)
            .map(|_| l.failure(ip, Instant::now()).as_millis())
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        // Loopback is exempt from the lockout by default.
        assert_eq!(l.locked(ip, Instant::now()), None);
        l.success(ip);
        assert_eq!(l.failure(ip, Instant::now()).as_millis(), 250);
        // A quiet minute forgets the streak.
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(l.failure(ip, Instant::now()).as_millis(), 250);
    }

    #[tokio::test(start_paused = true)]
    async fn lockout_after_max_attempts() {
        let l = Limiter::new(RateLimit::default());
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        for _ in 0..9 {
            l.failure(ip, Instant::now());
        }
        assert_eq!(l.locked(ip, Instant::now()), None);
        l.failure(ip, Instant::now());
        assert_eq!(
            l.locked(ip, Instant::now()),
            Some(Duration::from_millis(300_000))
        );
        tokio::time::advance(Duration::from_millis(300_001)).await;
        assert_eq!(l.locked(ip, Instant::now()), None);
        let strict = Limiter::new(RateLimit {
            exempt_loopback: false,
            ..RateLimit::default()
        });
        let lo: IpAddr = "::1".parse().expect("ip");
        for _ in 0..10 {
            strict.failure(lo, Instant::now());
        }
        assert!(strict.locked(lo, Instant::now()).is_some());
    }
}
