//! Device identity for `connect`: public-key decoding, the device id fingerprint, the signed
//! v2/v3 payloads, the checks OpenClaw runs on `ConnectParams.device`, and the paired-device
//! store with its device tokens. Pure library code: no sockets, no async.
//!
//! # Wire facts (OpenClaw 2026.9.6)
//!
//! * `device.publicKey` is the raw 32-byte Ed25519 key as base64url without padding. The decoder
//!   is Node's lenient base64 (either alphabet, padding optional, whitespace and stray characters
//!   skipped, stops at the first `=`). A string containing `BEGIN` is read as a PEM SPKI
//!   (`-----BEGIN PUBLIC KEY-----`) instead. Inputs longer than 1024 UTF-16 units, or base64 that
//!   does not decode to exactly 32 bytes, are rejected before any crypto.
//! * `device.id` = lowercase hex SHA-256 of the 32 raw key bytes (not of the SPKI DER).
//! * `device.signature` = base64url Ed25519 signature (64 bytes, at most 256 chars) over the UTF-8
//!   payload, pipe-joined:
//!   * v3: `v3|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce|platform|deviceFamily`
//!   * v2: `v2|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce`
//!
//!   `scopes` is the requested scope array joined with `,` (order kept, no normalisation).
//!   `token` is `auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""` (see
//!   [`signature_token`]). `platform` and `deviceFamily` are trimmed and ASCII-lowercased, and a
//!   missing value becomes an empty slot ([`normalize_device_metadata_for_auth`]). The server tries
//!   v3 first, then v2.
//! * Check order in [`verify`], each failing with `INVALID_REQUEST`, `details: {code, reason}`, and
//!   close 1008 with the message:
//!
//!   | reason | `details.code` | message |
//!   |---|---|---|
//!   | `device-id-mismatch` | `DEVICE_AUTH_DEVICE_ID_MISMATCH` | `device identity mismatch` |
//!   | `device-signature-stale` | `DEVICE_AUTH_SIGNATURE_EXPIRED` | `device signature expired` |
//!   | `device-nonce-missing` | `DEVICE_AUTH_NONCE_REQUIRED` | `device nonce required` |
//!   | `device-nonce-mismatch` | `DEVICE_AUTH_NONCE_MISMATCH` | `device nonce mismatch` |
//!   | `device-signature` | `DEVICE_AUTH_SIGNATURE_INVALID` | `device signature invalid` |
//!   | `device-public-key` | `DEVICE_AUTH_PUBLIC_KEY_INVALID` | `device public key invalid` |
//!
//!   "Stale" means `|now - signedAt| > 120 000 ms` ([`DEVICE_SIGNATURE_SKEW_MS`]). The nonce is
//!   trimmed before it is checked and signed.
//!
//! # Paired-device store
//!
//! [`PairingStore`] reads and writes `<stateDir>/devices/paired.json`, OpenClaw's path. The file
//! is a JSON object keyed by device id, and each value has OpenClaw's `PairedDevice` shape
//! (`deviceId`, `publicKey`, `displayName`, `platform`, `clientId`, `clientMode`, `role`, `roles`,
//! `scopes`, `approvedScopes`, `remoteIp`, `tokens{role: {...}}`, `createdAtMs`, `approvedAtMs`).
//! Unknown fields are kept on rewrite. **One difference:** OpenClaw keeps each device token in
//! plaintext under `token`. This store writes only `tokenSha256`, the lowercase hex SHA-256 of
//! the token. On load it still accepts a plaintext `token` written by OpenClaw and hashes it; the
//! next write drops the plaintext. Tokens are 32 random bytes as base64url (43 chars), the same
//! format as OpenClaw. They are compared in constant time. Writes go to a temporary file in the
//! same directory, which is then renamed over the target. On unix the file is mode 0600 and the
//! directory 0700. A missing file is an empty store. A file that cannot be parsed is a
//! [`StoreError::Corrupt`] naming the file. `pending.json` (pairing requests) is not handled here.
//!
//! # API
//!
//! * Verify a claim: [`verify`]`(&DeviceClaim, &SignContext) -> Result<VerifiedDevice, DeviceAuthError>`.
//! * Client side and tests: [`build_payload`], [`sign_payload`], [`sign_claim`],
//!   [`encode_public_key`].
//! * Key helpers: [`derive_device_id`], [`derive_device_id_from_public_key`],
//!   [`normalize_device_public_key_base64url`], [`verify_device_signature`].
//! * Store: [`PairingStore::open`], `is_paired`, `get`, `pair`, `verify_device_token`,
//!   `verify_device_token_for_role`, `revoke_token`, `remove`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Allowed clock skew between `device.signedAt` and the gateway clock, in ms (`2 * 60 * 1000`
/// since v2026.3.2; it was 10 minutes before).
pub const DEVICE_SIGNATURE_SKEW_MS: i64 = 120_000;
/// Upper bound on `device.publicKey` length (UTF-16 units), checked before any parsing.
pub const MAX_DEVICE_PUBLIC_KEY_INPUT_CHARS: usize = 1024;
/// Upper bound on `device.signature` length (UTF-16 units), checked before any parsing.
pub const MAX_DEVICE_SIGNATURE_INPUT_CHARS: usize = 256;
/// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// Random bytes in a device token (`PAIRING_TOKEN_BYTES`).
pub const PAIRING_TOKEN_BYTES: usize = 32;
/// Sub-directory of the state dir that holds the device pairing files.
pub const DEVICES_DIR: &str = "devices";
/// File name of the paired-device store inside [`DEVICES_DIR`].
pub const PAIRED_FILE: &str = "paired.json";

// ---------------------------------------------------------------------------------------------
// Claim, context, errors
// ---------------------------------------------------------------------------------------------

/// The `device` object of `ConnectParams`: `{ id, publicKey, signature, signedAt, nonce }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceClaim {
    pub id: String,
    pub public_key: String,
    pub signature: String,
    pub signed_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// What the gateway knows about the connect request the claim must be bound to.
#[derive(Debug, Clone, Copy)]
pub struct SignContext<'a> {
    /// `client.id`.
    pub client_id: &'a str,
    /// `client.mode`.
    pub client_mode: &'a str,
    /// The parsed role (`connectParams.role ?? "operator"`).
    pub role: &'a str,
    /// The requested scopes exactly as sent (`[]` when missing).
    pub scopes: &'a [String],
    /// `auth.token ?? auth.deviceToken ?? auth.bootstrapToken`; see [`signature_token`].
    pub token: Option<&'a str>,
    /// `client.platform` (raw; normalised here).
    pub platform: Option<&'a str>,
    /// `client.deviceFamily` (raw; normalised here).
    pub device_family: Option<&'a str>,
    /// The nonce sent in the `connect.challenge` event.
    pub expected_nonce: &'a str,
    /// The gateway clock, epoch ms.
    pub now_ms: i64,
}

/// Which payload layout the signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadVersion {
    V2,
    V3,
}

impl PayloadVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadVersion::V2 => "v2",
            PayloadVersion::V3 => "v3",
        }
    }
}

/// A device claim that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDevice {
    /// `device.id` (equal to the fingerprint of the key).
    pub device_id: String,
    /// The public key as canonical raw base64url (what the pairing store keeps).
    pub public_key: String,
    /// The layout the signature matched.
    pub payload_version: PayloadVersion,
    /// The trimmed nonce that was signed.
    pub nonce: String,
}

/// A rejected device claim. Sent as `INVALID_REQUEST` with `message`, and
/// `details: {code: detail_code, reason}`. The socket is then closed with 1008 and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthError {
    pub reason: &'static str,
    pub detail_code: &'static str,
    pub message: String,
}

impl DeviceAuthError {
    /// The `error.code` OpenClaw uses for every device-auth failure.
    pub const ERROR_CODE: &'static str = "INVALID_REQUEST";
    /// The close code that follows the error response.
    pub const CLOSE_CODE: u16 = 1008;

    fn new(reason: &'static str, detail_code: &'static str, message: &str) -> DeviceAuthError {
        DeviceAuthError {
            reason,
            detail_code,
            message: message.to_owned(),
        }
    }

    pub fn device_id_mismatch() -> DeviceAuthError {
        Self::new(
            "device-id-mismatch",
            "DEVICE_AUTH_DEVICE_ID_MISMATCH",
            "device identity mismatch",
        )
    }

    pub fn signature_stale() -> DeviceAuthError {
        Self::new(
            "device-signature-stale",
            "DEVICE_AUTH_SIGNATURE_EXPIRED",
            "device signature expired",
        )
    }

    pub fn nonce_missing() -> DeviceAuthError {
        Self::new(
            "device-nonce-missing",
            "DEVICE_AUTH_NONCE_REQUIRED",
            "device nonce required",
        )
    }

    pub fn nonce_mismatch() -> DeviceAuthError {
        Self::new(
            "device-nonce-mismatch",
            "DEVICE_AUTH_NONCE_MISMATCH",
            "device nonce mismatch",
        )
    }

    pub fn signature_invalid() -> DeviceAuthError {
        Self::new(
            "device-signature",
            "DEVICE_AUTH_SIGNATURE_INVALID",
            "device signature invalid",
        )
    }

    pub fn public_key_invalid() -> DeviceAuthError {
        Self::new(
            "device-public-key",
            "DEVICE_AUTH_PUBLIC_KEY_INVALID",
            "device public key invalid",
        )
    }

    /// `error.details` as OpenClaw sends it: `{ "code": ..., "reason": ... }`.
    pub fn details(&self) -> Value {
        json!({ "code": self.detail_code, "reason": self.reason })
    }
}

impl fmt::Display for DeviceAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeviceAuthError {}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Runs OpenClaw's device checks in OpenClaw's order: id, skew, nonce present, nonce matches,
/// signature (v3 then v2), public-key normalisation.
pub fn verify(
    claim: &DeviceClaim,
    ctx: &SignContext<'_>,
) -> Result<VerifiedDevice, DeviceAuthError> {
    match derive_device_id_from_public_key(&claim.public_key) {
        Some(derived) if derived == claim.id => {}
        _ => return Err(DeviceAuthError::device_id_mismatch()),
    }
    if ctx.now_ms.abs_diff(claim.signed_at) > DEVICE_SIGNATURE_SKEW_MS.unsigned_abs() {
        return Err(DeviceAuthError::signature_stale());
    }
    let nonce = claim.nonce.as_deref().map(js_trim).unwrap_or("");
    if nonce.is_empty() {
        return Err(DeviceAuthError::nonce_missing());
    }
    if nonce != ctx.expected_nonce {
        return Err(DeviceAuthError::nonce_mismatch());
    }
    let fields = PayloadFields {
        client_id: ctx.client_id,
        client_mode: ctx.client_mode,
        role: ctx.role,
        scopes: ctx.scopes,
        signed_at_ms: claim.signed_at,
        token: ctx.token,
        nonce,
        platform: ctx.platform,
        device_family: ctx.device_family,
    };
    let payload_version = [PayloadVersion::V3, PayloadVersion::V2]
        .into_iter()
        .find(|version| {
            let payload = build_payload(*version, &claim.id, &fields);
            verify_device_signature(&claim.public_key, &payload, &claim.signature)
        })
        .ok_or_else(DeviceAuthError::signature_invalid)?;
    let public_key = normalize_device_public_key_base64url(&claim.public_key)
        .ok_or_else(DeviceAuthError::public_key_invalid)?;
    Ok(VerifiedDevice {
        device_id: claim.id.clone(),
        public_key,
        payload_version,
        nonce: nonce.to_owned(),
    })
}

/// The token slot of the signed payload: `auth.token ?? auth.deviceToken ?? auth.bootstrapToken`.
/// As with JS `??`, an empty string counts as present.
pub fn signature_token<'a>(
    token: Option<&'a str>,
    device_token: Option<&'a str>,
    bootstrap_token: Option<&'a str>,
) -> Option<&'a str> {
    token.or(device_token).or(bootstrap_token)
}

// ---------------------------------------------------------------------------------------------
// Payloads and signing
// ---------------------------------------------------------------------------------------------

/// Every payload field except the device id.
#[derive(Debug, Clone, Copy)]
pub struct PayloadFields<'a> {
    pub client_id: &'a str,
    pub client_mode: &'a str,
    pub role: &'a str,
    pub scopes: &'a [String],
    pub signed_at_ms: i64,
    pub token: Option<&'a str>,
    pub nonce: &'a str,
    /// Raw `client.platform`; v3 only, normalised by [`normalize_device_metadata_for_auth`].
    pub platform: Option<&'a str>,
    /// Raw `client.deviceFamily`; v3 only, normalised likewise.
    pub device_family: Option<&'a str>,
}

/// `buildDeviceAuthPayload` (v2) / `buildDeviceAuthPayloadV3` (v3).
pub fn build_payload(version: PayloadVersion, device_id: &str, f: &PayloadFields<'_>) -> String {
    let signed_at = f.signed_at_ms.to_string();
    let scopes = f.scopes.join(",");
    let mut parts: Vec<&str> = vec![
        version.as_str(),
        device_id,
        f.client_id,
        f.client_mode,
        f.role,
        &scopes,
        &signed_at,
        f.token.unwrap_or(""),
        f.nonce,
    ];
    let platform;
    let device_family;
    if version == PayloadVersion::V3 {
        platform = normalize_device_metadata_for_auth(f.platform);
        device_family = normalize_device_metadata_for_auth(f.device_family);
        parts.push(&platform);
        parts.push(&device_family);
    }
    parts.join("|")
}

/// `normalizeDeviceMetadataForAuth`: JS-trim, then lowercase ASCII `A-Z` only; `None` → `""`.
pub fn normalize_device_metadata_for_auth(value: Option<&str>) -> String {
    value.map(js_trim).unwrap_or("").to_ascii_lowercase()
}

/// Signs a payload the way `signDevicePayload` does: Ed25519 over the UTF-8 bytes, base64url.
pub fn sign_payload(signing_key: &SigningKey, payload: &str) -> String {
    URL_SAFE_NO_PAD.encode(signing_key.sign(payload.as_bytes()).to_bytes())
}

/// The `publicKey` a client sends: raw 32 bytes, base64url without padding.
pub fn encode_public_key(verifying_key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(verifying_key.as_bytes())
}

/// Builds a complete, signed `device` claim as an OpenClaw client would.
pub fn sign_claim(
    signing_key: &SigningKey,
    version: PayloadVersion,
    f: &PayloadFields<'_>,
) -> DeviceClaim {
    let verifying_key = signing_key.verifying_key();
    let id = derive_device_id(verifying_key.as_bytes());
    let payload = build_payload(version, &id, f);
    DeviceClaim {
        signature: sign_payload(signing_key, &payload),
        public_key: encode_public_key(&verifying_key),
        id,
        signed_at: f.signed_at_ms,
        nonce: Some(f.nonce.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// The device id: lowercase hex SHA-256 of the raw 32-byte public key.
pub fn derive_device_id(public_key_raw: &[u8; 32]) -> String {
    hex(&Sha256::digest(public_key_raw))
}

/// `deriveDeviceIdFromPublicKey`: accepts raw base64/base64url or an Ed25519 PEM SPKI.
pub fn derive_device_id_from_public_key(public_key: &str) -> Option<String> {
    parse_public_key(public_key).map(|raw| derive_device_id(&raw))
}

/// `normalizeDevicePublicKeyBase64Url`: canonical raw base64url (no padding) of the key.
pub fn normalize_device_public_key_base64url(public_key: &str) -> Option<String> {
    parse_public_key(public_key).map(|raw| URL_SAFE_NO_PAD.encode(raw))
}

/// `verifyDeviceSignature`: false for malformed keys or signatures, never an error.
pub fn verify_device_signature(public_key: &str, payload: &str, signature: &str) -> bool {
    let Some(raw) = parse_public_key(public_key) else {
        return false;
    };
    let Some(sig) = parse_signature(signature) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&raw) else {
        return false;
    };
    key.verify(payload.as_bytes(), &sig).is_ok()
}

/// Decodes a `publicKey` to its 32 raw bytes, or `None` if OpenClaw would not accept it.
/// PEM input must be an Ed25519 `PUBLIC KEY` (SPKI). OpenClaw would also fingerprint other SPKI
/// key types and then fail on the signature; here they fail earlier, with `device-id-mismatch`.
fn parse_public_key(input: &str) -> Option<[u8; 32]> {
    let len = js_length(input);
    if len == 0 || len > MAX_DEVICE_PUBLIC_KEY_INPUT_CHARS {
        return None;
    }
    if input.contains("BEGIN") {
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        let start = input.find(BEGIN)? + BEGIN.len();
        let body = &input[start..];
        let der = node_base64_decode(&body[..body.find(END)?]);
        let raw = der.strip_prefix(&ED25519_SPKI_PREFIX[..])?;
        return raw.try_into().ok();
    }
    node_base64_decode(input).as_slice().try_into().ok()
}

fn parse_signature(input: &str) -> Option<Signature> {
    let len = js_length(input);
    if len == 0 || len > MAX_DEVICE_SIGNATURE_INPUT_CHARS {
        return None;
    }
    let bytes: [u8; 64] = node_base64_decode(input).as_slice().try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// Node's `Buffer.from(s, "base64")`: both alphabets, characters outside them skipped, decoding
/// stops at the first `=`, leftover bits dropped.
fn node_base64_decode(input: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    for b in input.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// JS `String.prototype.length` (UTF-16 code units).
fn js_length(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// JS `String.prototype.trim`: Unicode white space plus BOM, but not U+0085.
fn js_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c == '\u{feff}' || (c.is_whitespace() && c != '\u{85}'))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Current wall-clock time in epoch ms (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Pairing store
// ---------------------------------------------------------------------------------------------

/// One device token entry (`tokens[role]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthToken {
    /// Lowercase hex SHA-256 of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// Plaintext token as OpenClaw writes it; read once, converted to `token_sha256`, never written.
    #[serde(default, skip_serializing)]
    token: Option<String>,
    pub role: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at_ms: Option<i64>,
    /// Fields this implementation does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One paired device, OpenClaw's `PairedDevice` shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedDevice {
    pub device_id: String,
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokens: BTreeMap<String, DeviceAuthToken>,
    #[serde(default)]
    pub created_at_ms: i64,
    #[serde(default)]
    pub approved_at_ms: i64,
    /// Fields this implementation does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What [`PairingStore::pair`] records. Pass [`VerifiedDevice::public_key`] as `public_key`.
#[derive(Debug, Clone, Copy)]
pub struct PairRequest<'a> {
    pub device_id: &'a str,
    pub public_key: &'a str,
    pub role: &'a str,
    pub scopes: &'a [String],
    pub display_name: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub device_family: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_mode: Option<&'a str>,
    pub remote_ip: Option<&'a str>,
}

/// A freshly issued device token. The plaintext is only available here.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedDeviceToken {
    pub token: String,
    pub role: String,
    pub scopes: Vec<String>,
    pub issued_at_ms: i64,
}

impl fmt::Debug for IssuedDeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedDeviceToken")
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .finish()
    }
}

/// Why a device token was refused, with OpenClaw's `verifyDeviceToken` reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    DeviceNotPaired,
    RoleMissing,
    TokenMissing,
    TokenRevoked,
    TokenMismatch,
}

impl TokenRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRejection::DeviceNotPaired => "device-not-paired",
            TokenRejection::RoleMissing => "role-missing",
            TokenRejection::TokenMissing => "token-missing",
            TokenRejection::TokenRevoked => "token-revoked",
            TokenRejection::TokenMismatch => "token-mismatch",
        }
    }
}

/// Failure to read or write the pairing store.
#[derive(Debug)]
pub enum StoreError {
    /// The file or directory could not be read or written.
    Io { path: PathBuf, source: io::Error },
    /// The file exists but is not a JSON object of paired devices.
    Corrupt { path: PathBuf, detail: String },
    /// The caller passed an empty device id or role.
    InvalidInput(&'static str),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { path, source } => {
                write!(f, "device pairing store {}: {source}", path.display())
            }
            StoreError::Corrupt { path, detail } => write!(
                f,
                "device pairing store {} is corrupt ({detail}); fix the JSON or move the file \
                 aside to start with no paired devices (devices will then need to pair again)",
                path.display()
            ),
            StoreError::InvalidInput(what) => write!(f, "device pairing store: {what}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The paired-device store at `<stateDir>/devices/paired.json`. It is not synchronised; wrap it
/// in a mutex when it is shared.
#[derive(Debug)]
pub struct PairingStore {
    path: PathBuf,
    devices: BTreeMap<String, PairedDevice>,
}

impl PairingStore {
    /// Loads `<state_dir>/devices/paired.json`. A missing file gives an empty store. Nothing is
    /// created until the first write.
    pub fn open(state_dir: &Path) -> Result<PairingStore, StoreError> {
        let path = state_dir.join(DEVICES_DIR).join(PAIRED_FILE);
        let devices = load_devices(&path)?;
        Ok(PairingStore { path, devices })
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file, replacing the in-memory state.
    pub fn reload(&mut self) -> Result<(), StoreError> {
        self.devices = load_devices(&self.path)?;
        Ok(())
    }

    pub fn is_paired(&self, device_id: &str) -> bool {
        self.get(device_id).is_some()
    }

    pub fn get(&self, device_id: &str) -> Option<&PairedDevice> {
        self.devices.get(device_id.trim())
    }

    pub fn devices(&self) -> impl Iterator<Item = &PairedDevice> {
        self.devices.values()
    }

    /// Approves a device (or extends an existing pairing) and issues a new token for `role`,
    /// replacing any earlier token for that role. This mirrors `approveDevicePairing`: roles and
    /// scopes are merged into the existing record, `createdAtMs` is kept, and `approvedAtMs` is
    /// set to `now_ms`. The token's scopes are the normalised requested scopes
    /// ([`normalize_device_auth_scopes`]). The store changes only if the write succeeds.
    pub fn pair(
        &mut self,
        req: &PairRequest<'_>,
        now_ms: i64,
    ) -> Result<IssuedDeviceToken, StoreError> {
        let device_id = req.device_id.trim();
        if device_id.is_empty() {
            return Err(StoreError::InvalidInput("deviceId required"));
        }
        let role = req.role.trim();
        if role.is_empty() {
            return Err(StoreError::InvalidInput("role required"));
        }
        let mut devices = self.devices.clone();
        let existing = devices.remove(device_id);
        let token = generate_token();
        let token_scopes = normalize_device_auth_scopes(req.scopes);
        let requested: Vec<String> = req.scopes.to_vec();

        let (mut tokens, created_at_ms, extra) = match &existing {
            Some(e) => (e.tokens.clone(), e.created_at_ms, e.extra.clone()),
            None => (BTreeMap::new(), now_ms, Map::new()),
        };
        let previous = tokens.get(role);
        let entry = DeviceAuthToken {
            token_sha256: Some(hex(&Sha256::digest(token.as_bytes()))),
            token: None,
            role: role.to_owned(),
            scopes: token_scopes.clone(),
            created_at_ms: previous.map_or(now_ms, |p| p.created_at_ms),
            rotated_at_ms: previous.map(|_| now_ms),
            revoked_at_ms: None,
            last_used_at_ms: previous.and_then(|p| p.last_used_at_ms),
            extra: previous.map(|p| p.extra.clone()).unwrap_or_default(),
        };
        tokens.insert(role.to_owned(), entry);

        let prior = existing.as_ref();
        let owned = |v: Option<&str>| v.map(str::to_owned);
        let device = PairedDevice {
            device_id: device_id.to_owned(),
            public_key: req.public_key.to_owned(),
            display_name: owned(req.display_name)
                .or_else(|| prior.and_then(|p| p.display_name.clone())),
            platform: owned(req.platform).or_else(|| prior.and_then(|p| p.platform.clone())),
            device_family: owned(req.device_family)
                .or_else(|| prior.and_then(|p| p.device_family.clone())),
            client_id: owned(req.client_id).or_else(|| prior.and_then(|p| p.client_id.clone())),
            client_mode: owned(req.client_mode)
                .or_else(|| prior.and_then(|p| p.client_mode.clone())),
            role: Some(role.to_owned()),
            roles: merge_unique(&[
                prior.and_then(|p| p.roles.as_deref()).unwrap_or(&[]),
                prior.map(|p| p.role.as_slice()).unwrap_or(&[]),
                &[role.to_owned()],
            ]),
            scopes: merge_unique(&[
                prior.and_then(|p| p.scopes.as_deref()).unwrap_or(&[]),
                &requested,
            ]),
            approved_scopes: merge_unique(&[
                prior
                    .and_then(|p| p.approved_scopes.as_deref())
                    .unwrap_or(&[]),
                prior.and_then(|p| p.scopes.as_deref()).unwrap_or(&[]),
                &requested,
            ]),
            remote_ip: owned(req.remote_ip).or_else(|| prior.and_then(|p| p.remote_ip.clone())),
            tokens,
            created_at_ms,
            approved_at_ms: now_ms,
            extra,
        };
        devices.insert(device_id.to_owned(), device);
        write_devices(&self.path, &devices)?;
        self.devices = devices;
        Ok(IssuedDeviceToken {
            token,
            role: role.to_owned(),
            scopes: token_scopes,
            issued_at_ms: now_ms,
        })
    }

    /// Finds which live (not revoked) token of `device_id` equals `token`, comparing hashes in
    /// constant time. Returns that token's `(role, scopes)`.
    pub fn verify_device_token(
        &self,
        device_id: &str,
        token: &str,
    ) -> Option<(String, Vec<String>)> {
        let device = self.get(device_id)?;
        let provided = Sha256::digest(token.as_bytes());
        let mut found = None;
        for entry in device.tokens.values() {
            if entry.revoked_at_ms.is_none() && token_matches(entry, &provided) && found.is_none() {
                found = Some((entry.role.clone(), entry.scopes.clone()));
            }
        }
        found
    }

    /// OpenClaw's `verifyDeviceToken` without the scope check: the token for `role` must exist,
    /// be live, and match. The caller then checks the requested scopes against the returned
    /// entry's `scopes`. Unlike OpenClaw, this does not persist `lastUsedAtMs`.
    pub fn verify_device_token_for_role(
        &self,
        device_id: &str,
        token: &str,
        role: &str,
    ) -> Result<&DeviceAuthToken, TokenRejection> {
        let device = self.get(device_id).ok_or(TokenRejection::DeviceNotPaired)?;
        let role = role.trim();
        if role.is_empty() {
            return Err(TokenRejection::RoleMissing);
        }
        let entry = device
            .tokens
            .get(role)
            .ok_or(TokenRejection::TokenMissing)?;
        if entry.revoked_at_ms.is_some() {
            return Err(TokenRejection::TokenRevoked);
        }
        if !token_matches(entry, &Sha256::digest(token.as_bytes())) {
            return Err(TokenRejection::TokenMismatch);
        }
        Ok(entry)
    }

    /// Marks the token for `role` revoked. Returns false if there was no such token.
    pub fn revoke_token(
        &mut self,
        device_id: &str,
        role: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut devices = self.devices.clone();
        let Some(entry) = devices
            .get_mut(device_id.trim())
            .and_then(|d| d.tokens.get_mut(role.trim()))
        else {
            return Ok(false);
        };
        entry.revoked_at_ms = Some(now_ms);
        write_devices(&self.path, &devices)?;
        self.devices = devices;
        Ok(true)
    }

    /// Forgets a paired device. Returns false if it was not paired.
    pub fn remove(&mut self, device_id: &str) -> Result<bool, StoreError> {
        let mut devices = self.devices.clone();
        if devices.remove(device_id.trim()).is_none() {
            return Ok(false);
        }
        write_devices(&self.path, &devices)?;
        self.devices = devices;
        Ok(true)
    }
}

/// `normalizeDeviceAuthScopes`: trim, drop empties, dedupe, `operator.admin` implies
/// `operator.read` and `operator.write`, `operator.write` implies `operator.read`; sorted.
pub fn normalize_device_auth_scopes(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = scopes
        .iter()
        .map(|s| js_trim(s))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let has = |out: &[String], s: &str| out.iter().any(|x| x == s);
    if has(&out, "operator.admin") {
        out.push("operator.read".to_owned());
        out.push("operator.write".to_owned());
    } else if has(&out, "operator.write") {
        out.push("operator.read".to_owned());
    }
    out.sort();
    out.dedup();
    out
}

fn merge_unique(lists: &[&[String]]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in lists.iter().flat_map(|l| l.iter()) {
        let trimmed = item.trim();
        if !trimmed.is_empty() && !out.iter().any(|x| x == trimmed) {
            out.push(trimmed.to_owned());
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

fn token_matches(entry: &DeviceAuthToken, provided_sha256: &[u8]) -> bool {
    let Some(stored) = entry.token_sha256.as_deref() else {
        return false;
    };
    let stored_hex = hex(provided_sha256);
    bool::from(stored.as_bytes().ct_eq(stored_hex.as_bytes()))
}

/// 32 random bytes as base64url, from two v4 UUIDs (244 random bits; uuid draws from the OS RNG).
fn generate_token() -> String {
    let mut bytes = [0u8; PAIRING_TOKEN_BYTES];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn load_devices(path: &Path) -> Result<BTreeMap<String, PairedDevice>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut devices: BTreeMap<String, PairedDevice> =
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    let mut migrated = 0usize;
    for device in devices.values_mut() {
        for entry in device.tokens.values_mut() {
            if let Some(plain) = entry.token.take() {
                if entry.token_sha256.is_none() {
                    entry.token_sha256 = Some(hex(&Sha256::digest(plain.as_bytes())));
                }
                migrated += 1;
            }
        }
    }
    if migrated > 0 {
        tracing::info!(
            path = %path.display(),
            tokens = migrated,
            "device pairing store has plaintext device tokens; they will be stored hashed on the next write"
        );
    }
    Ok(devices)
}

fn write_devices(path: &Path, devices: &BTreeMap<String, PairedDevice>) -> Result<(), StoreError> {
    let io_err = |p: &Path| {
        let p = p.to_owned();
        move |source| StoreError::Io { path: p, source }
    };
    let dir = path.parent().ok_or_else(|| StoreError::Io {
        path: path.to_owned(),
        source: io::Error::new(
            io::ErrorKind::InvalidInput,
            "store path has no parent directory",
        ),
    })?;
    create_private_dir(dir).map_err(io_err(dir))?;
    let mut text = serde_json::to_string_pretty(devices).map_err(|e| StoreError::Io {
        path: path.to_owned(),
        source: io::Error::other(e),
    })?;
    text.push('\n');

    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(PAIRED_FILE);
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = write_private_file(&tmp, text.as_bytes()).and_then(|()| fs::rename(&tmp, path));
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Io {
            path: path.to_owned(),
            source,
        });
    }
    // Make the rename durable; not every platform can open a directory for syncing.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The umask may have narrowed the mode further; make it exactly 0600.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed of the key in a third-party 2026.9.6 conformance test (PKCS#8
    /// `MC4CAQAwBQYDK2VwBCIEIF9cO3QSM/aqeyrgJPpWznK2jp/P+bJeOldm86gw0hkh`). Its id and public key
    /// were re-derived, and its signatures made, with Node's crypto running OpenClaw's code.
    const KNOWN_SEED: [u8; 32] = [
        0x5f, 0x5c, 0x3b, 0x74, 0x12, 0x33, 0xf6, 0xaa, 0x7b, 0x2a, 0xe0, 0x24, 0xfa, 0x56, 0xce,
        0x72, 0xb6, 0x8e, 0x9f, 0xcf, 0xf9, 0xb2, 0x5e, 0x3a, 0x57, 0x66, 0xf3, 0xa8, 0x30, 0xd2,
        0x19, 0x21,
    ];
    const KNOWN_ID: &str = "dc6ba159fbbaa3549c8eb997b6ac1062ef433c8fc233b1ac17ea3cf0aa96b8ad";
    const KNOWN_PUBLIC_KEY: &str = "kNeQYMUWDXzuYR3hVvnYwIHRQqsxxefxmqEZEyZupB0";
    const KNOWN_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkNeQYMUWDXzuYR3hVvnYwIHRQqsxxefxmqEZEyZupB0=\n-----END PUBLIC KEY-----\n";
    const NONCE: &str = "7f7c6b0e-0d8e-4f56-9d1a-2c1d0f1b9e21";
    const SIGNED_AT: i64 = 1_790_605_209_429;
    /// Node `crypto.sign(null, payload, key)` output, base64url, for the v3/v2 payloads below.
    const NODE_SIG_V3: &str =
        "tr4MVJXPiKdb1UDr4IN2M_o_jQxG6d6qJoCGcGp-pKrIA9stzSw5mYEHY7Z3OOiNUvwaS4cWJcYtf-EX7HzBDw";
    const NODE_SIG_V2: &str =
        "Lz5YAZL_wcIKxPNP7bSlzQhjkdgyohBhLeVAmA1KETLkkIbqO3XYF60Dt5TAN9IXipVcLesfl3R5yWeOrm3FAg";

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn known_scopes() -> Vec<String> {
        scopes(&["operator.read", "operator.write"])
    }

    fn ctx(scopes: &[String]) -> SignContext<'_> {
        SignContext {
            client_id: "cli",
            client_mode: "cli",
            role: "operator",
            scopes,
            token: Some("shared-token"),
            platform: Some(" Linux "),
            device_family: Some("Desktop"),
            expected_nonce: NONCE,
            now_ms: SIGNED_AT + 1_000,
        }
    }

    fn fields<'a>(c: &SignContext<'a>) -> PayloadFields<'a> {
        PayloadFields {
            client_id: c.client_id,
            client_mode: c.client_mode,
            role: c.role,
            scopes: c.scopes,
            signed_at_ms: SIGNED_AT,
            token: c.token,
            nonce: NONCE,
            platform: c.platform,
            device_family: c.device_family,
        }
    }

    fn known_claim(signature: &str) -> DeviceClaim {
        DeviceClaim {
            id: KNOWN_ID.to_owned(),
            public_key: KNOWN_PUBLIC_KEY.to_owned(),
            signature: signature.to_owned(),
            signed_at: SIGNED_AT,
            nonce: Some(NONCE.to_owned()),
        }
    }

    // --- payload vectors from openclaw src/gateway/device-auth.test.ts ---

    #[test]
    fn openclaw_payload_vectors() {
        let s = scopes(&["operator.admin", "operator.read"]);
        let base = PayloadFields {
            client_id: "openclaw-macos",
            client_mode: "ui",
            role: "operator",
            scopes: &s,
            signed_at_ms: 1_700_000_000_000,
            token: None,
            nonce: "nonce-abc",
            platform: None,
            device_family: None,
        };
        assert_eq!(
            build_payload(PayloadVersion::V2, "dev-1", &base),
            "v2|dev-1|openclaw-macos|ui|operator|operator.admin,operator.read|1700000000000||nonce-abc"
        );
        let v3 = PayloadFields {
            token: Some("tok-123"),
            platform: Some("  IOS  "),
            device_family: Some("  iPhone  "),
            ..base
        };
        assert_eq!(
            build_payload(PayloadVersion::V3, "dev-1", &v3),
            "v3|dev-1|openclaw-macos|ui|operator|operator.admin,operator.read|1700000000000|tok-123|nonce-abc|ios|iphone"
        );
        let s2 = scopes(&["operator.read"]);
        let empty = PayloadFields {
            client_id: "openclaw-ios",
            scopes: &s2,
            signed_at_ms: 1_700_000_000_001,
            nonce: "nonce-def",
            ..base
        };
        assert_eq!(
            build_payload(PayloadVersion::V3, "dev-2", &empty),
            "v3|dev-2|openclaw-ios|ui|operator|operator.read|1700000000001||nonce-def||"
        );
    }

    #[test]
    fn metadata_normalisation_lowercases_ascii_only() {
        assert_eq!(normalize_device_metadata_for_auth(Some("  İOS  ")), "İos");
        assert_eq!(normalize_device_metadata_for_auth(Some("  MAC  ")), "mac");
        assert_eq!(normalize_device_metadata_for_auth(None), "");
        assert_eq!(
            normalize_device_metadata_for_auth(Some("\u{feff} x \n")),
            "x"
        );
    }

    // --- key vectors ---

    /// From openclaw src/infra/device-identity.test.ts: the Swift raw-key fixture (seed 0..31).
    #[test]
    fn swift_fixture_device_id() {
        let expected = "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c";
        let padded_std = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
        assert_eq!(
            derive_device_id_from_public_key(padded_std).as_deref(),
            Some(expected)
        );
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
        let key = SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(derive_device_id(key.as_bytes()), expected);
        assert_eq!(
            normalize_device_public_key_base64url(padded_std).as_deref(),
            Some("A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg")
        );
        assert_eq!(
            normalize_device_public_key_base64url(&format!("{padded_std}=")),
            normalize_device_public_key_base64url(padded_std)
        );
    }

    #[test]
    fn known_key_id_and_pem() {
        let key = SigningKey::from_bytes(&KNOWN_SEED).verifying_key();
        assert_eq!(encode_public_key(&key), KNOWN_PUBLIC_KEY);
        assert_eq!(derive_device_id(key.as_bytes()), KNOWN_ID);
        assert_eq!(
            derive_device_id_from_public_key(KNOWN_PUBLIC_KEY_PEM).as_deref(),
            Some(KNOWN_ID)
        );
        assert_eq!(
            normalize_device_public_key_base64url(KNOWN_PUBLIC_KEY_PEM).as_deref(),
            Some(KNOWN_PUBLIC_KEY)
        );
        // Node's decoder skips whitespace and stray characters.
        assert_eq!(
            derive_device_id_from_public_key("kNeQ YMUW\nDXzuYR3hVvnYwIHRQqsxxefxmqEZEyZupB0")
                .as_deref(),
            Some(KNOWN_ID)
        );
    }

    #[test]
    fn implausible_keys_are_rejected() {
        assert_eq!(derive_device_id_from_public_key(""), None);
        assert_eq!(derive_device_id_from_public_key("AAAA"), None); // 3 bytes
        assert_eq!(derive_device_id_from_public_key(&"A".repeat(1100)), None);
        assert_eq!(
            derive_device_id_from_public_key(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
            ),
            None
        );
        assert_eq!(derive_device_id_from_public_key("BEGIN garbage"), None);
    }

    // --- signatures, byte-identical with Node ---

    #[test]
    fn signatures_match_node_and_verify() {
        let s = known_scopes();
        let c = ctx(&s);
        let sk = SigningKey::from_bytes(&KNOWN_SEED);
        let v3 = build_payload(PayloadVersion::V3, KNOWN_ID, &fields(&c));
        assert_eq!(
            v3,
            format!(
                "v3|{KNOWN_ID}|cli|cli|operator|operator.read,operator.write|{SIGNED_AT}|shared-token|{NONCE}|linux|desktop"
            )
        );
        assert_eq!(sign_payload(&sk, &v3), NODE_SIG_V3);
        let v2 = build_payload(PayloadVersion::V2, KNOWN_ID, &fields(&c));
        assert_eq!(sign_payload(&sk, &v2), NODE_SIG_V2);

        let ok3 = verify(&known_claim(NODE_SIG_V3), &c).expect("v3 verifies");
        assert_eq!(ok3.payload_version, PayloadVersion::V3);
        assert_eq!(ok3.device_id, KNOWN_ID);
        assert_eq!(ok3.public_key, KNOWN_PUBLIC_KEY);
        let ok2 = verify(&known_claim(NODE_SIG_V2), &c).expect("v2 verifies");
        assert_eq!(ok2.payload_version, PayloadVersion::V2);
    }

    #[test]
    fn pem_key_and_standard_base64_signature_verify() {
        let s = known_scopes();
        let c = ctx(&s);
        let mut claim = known_claim(NODE_SIG_V3);
        claim.public_key = KNOWN_PUBLIC_KEY_PEM.to_owned();
        let ok = verify(&claim, &c).expect("PEM key verifies");
        assert_eq!(ok.public_key, KNOWN_PUBLIC_KEY);
        let std_sig = NODE_SIG_V3.replace('-', "+").replace('_', "/") + "==";
        assert!(verify(&known_claim(&std_sig), &c).is_ok());
    }

    #[test]
    fn sign_claim_round_trip_and_json_shape() {
        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let s = scopes(&["operator.admin"]);
        let c = SignContext {
            token: None,
            platform: None,
            device_family: None,
            ..ctx(&s)
        };
        for version in [PayloadVersion::V3, PayloadVersion::V2] {
            let claim = sign_claim(&sk, version, &fields(&c));
            let json = serde_json::to_value(&claim).expect("serialize");
            assert!(json.get("publicKey").is_some() && json.get("signedAt").is_some());
            let back: DeviceClaim = serde_json::from_value(json).expect("deserialize");
            assert_eq!(
                verify(&back, &c).expect("verifies").payload_version,
                version
            );
        }
        let parsed: Result<DeviceClaim, _> = serde_json::from_str(
            r#"{"id":"x","publicKey":"y","signature":"z","signedAt":1,"nonce":"n","extra":1}"#,
        );
        assert!(parsed.is_err(), "device is a closed object");
    }

    // --- each failure ---

    fn reason(claim: &DeviceClaim, c: &SignContext<'_>) -> (&'static str, &'static str, String) {
        let e = verify(claim, c).expect_err("must fail");
        (e.reason, e.detail_code, e.message)
    }

    #[test]
    fn device_id_mismatch() {
        let s = known_scopes();
        let c = ctx(&s);
        let mut claim = known_claim(NODE_SIG_V3);
        claim.id = KNOWN_ID.to_uppercase();
        let want = (
            "device-id-mismatch",
            "DEVICE_AUTH_DEVICE_ID_MISMATCH",
            "device identity mismatch".to_owned(),
        );
        assert_eq!(reason(&claim, &c), want);
        claim.id = KNOWN_ID.to_owned();
        claim.public_key = "not a key".to_owned();
        assert_eq!(reason(&claim, &c), want);
    }

    #[test]
    fn stale_signature() {
        let s = known_scopes();
        let want = (
            "device-signature-stale",
            "DEVICE_AUTH_SIGNATURE_EXPIRED",
            "device signature expired".to_owned(),
        );
        for now in [SIGNED_AT + 120_001, SIGNED_AT - 120_001] {
            let c = SignContext {
                now_ms: now,
                ..ctx(&s)
            };
            assert_eq!(reason(&known_claim(NODE_SIG_V3), &c), want);
        }
        for now in [SIGNED_AT + 120_000, SIGNED_AT - 120_000] {
            let c = SignContext {
                now_ms: now,
                ..ctx(&s)
            };
            assert!(verify(&known_claim(NODE_SIG_V3), &c).is_ok());
        }
    }

    #[test]
    fn nonce_missing_and_mismatch() {
        let s = known_scopes();
        let c = ctx(&s);
        for nonce in [None, Some("   ".to_owned())] {
            let claim = DeviceClaim {
                nonce,
                ..known_claim(NODE_SIG_V3)
            };
            assert_eq!(
                reason(&claim, &c),
                (
                    "device-nonce-missing",
                    "DEVICE_AUTH_NONCE_REQUIRED",
                    "device nonce required".to_owned()
                )
            );
        }
        let claim = DeviceClaim {
            nonce: Some("other".to_owned()),
            ..known_claim(NODE_SIG_V3)
        };
        assert_eq!(
            reason(&claim, &c),
            (
                "device-nonce-mismatch",
                "DEVICE_AUTH_NONCE_MISMATCH",
                "device nonce mismatch".to_owned()
            )
        );
        // Surrounding white space is trimmed before the comparison and before signing.
        let claim = DeviceClaim {
            nonce: Some(format!("  {NONCE}\n")),
            ..known_claim(NODE_SIG_V3)
        };
        assert!(verify(&claim, &c).is_ok());
    }

    #[test]
    fn signature_invalid() {
        let s = known_scopes();
        let want = (
            "device-signature",
            "DEVICE_AUTH_SIGNATURE_INVALID",
            "device signature invalid".to_owned(),
        );
        let other_scopes = scopes(&["operator.read"]);
        let contexts = [
            SignContext {
                scopes: &other_scopes,
                ..ctx(&s)
            },
            SignContext {
                token: None,
                ..ctx(&s)
            },
            SignContext {
                role: "node",
                ..ctx(&s)
            },
            SignContext {
                client_id: "webchat",
                ..ctx(&s)
            },
        ];
        for c in &contexts {
            assert_eq!(reason(&known_claim(NODE_SIG_V3), c), want);
        }
        // A v3 signature bound to another platform no longer verifies (v2 fallback fails too).
        let c = SignContext {
            platform: Some("darwin"),
            ..ctx(&s)
        };
        assert_eq!(reason(&known_claim(NODE_SIG_V3), &c), want);
        // The v2 signature does not bind platform, so it still verifies.
        assert!(verify(&known_claim(NODE_SIG_V2), &c).is_ok());
        // Malformed signatures.
        for sig in ["", "AAAA", &"A".repeat(300)] {
            assert_eq!(reason(&known_claim(sig), &ctx(&s)), want);
        }
    }

    #[test]
    fn public_key_error_shape() {
        let e = DeviceAuthError::public_key_invalid();
        assert_eq!(
            e.details(),
            json!({"code": "DEVICE_AUTH_PUBLIC_KEY_INVALID", "reason": "device-public-key"})
        );
        assert_eq!(e.message, "device public key invalid");
        assert_eq!(e.to_string(), "device public key invalid");
    }

    #[test]
    fn signature_token_precedence() {
        assert_eq!(signature_token(Some("a"), Some("b"), Some("c")), Some("a"));
        assert_eq!(signature_token(None, Some("b"), Some("c")), Some("b"));
        assert_eq!(signature_token(None, None, Some("c")), Some("c"));
        assert_eq!(signature_token(Some(""), Some("b"), None), Some(""));
        assert_eq!(signature_token(None, None, None), None);
    }

    #[test]
    fn scope_normalisation() {
        assert_eq!(
            normalize_device_auth_scopes(&scopes(&[" operator.admin ", "", "operator.admin"])),
            scopes(&["operator.admin", "operator.read", "operator.write"])
        );
        assert_eq!(
            normalize_device_auth_scopes(&scopes(&["operator.write"])),
            scopes(&["operator.read", "operator.write"])
        );
    }

    // --- store ---

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "openclaw-device-{tag}-{}",
                uuid::Uuid::new_v4().simple()
            ));
            fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn pair_req<'a>(device_id: &'a str, role: &'a str, s: &'a [String]) -> PairRequest<'a> {
        PairRequest {
            device_id,
            public_key: KNOWN_PUBLIC_KEY,
            role,
            scopes: s,
            display_name: Some("laptop"),
            platform: Some("linux"),
            device_family: None,
            client_id: Some("cli"),
            client_mode: Some("cli"),
            remote_ip: None,
        }
    }

    #[test]
    fn store_round_trip() {
        let tmp = TempDir::new("roundtrip");
        let mut store = PairingStore::open(&tmp.0).expect("open empty");
        assert!(!store.is_paired(KNOWN_ID));
        assert!(!store.path().exists(), "open does not create files");

        let s = scopes(&["operator.write"]);
        let issued = store
            .pair(&pair_req(KNOWN_ID, "operator", &s), 1_000)
            .expect("pair");
        assert_eq!(issued.token.len(), 43);
        assert_eq!(issued.scopes, scopes(&["operator.read", "operator.write"]));
        assert!(!format!("{issued:?}").contains(&issued.token));
        assert!(store.is_paired(KNOWN_ID));

        let want = Some((
            "operator".to_owned(),
            scopes(&["operator.read", "operator.write"]),
        ));
        assert_eq!(store.verify_device_token(KNOWN_ID, &issued.token), want);
        assert_eq!(store.verify_device_token(KNOWN_ID, "wrong"), None);
        assert_eq!(
            store.verify_device_token("other-device", &issued.token),
            None
        );

        let text = fs::read_to_string(store.path()).expect("read back");
        assert!(!text.contains(&issued.token), "token stored hashed only");
        assert!(text.contains("tokenSha256"));
        let json: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(json[KNOWN_ID]["deviceId"], KNOWN_ID);
        assert_eq!(json[KNOWN_ID]["tokens"]["operator"]["role"], "operator");
        assert_eq!(json[KNOWN_ID]["approvedAtMs"], 1_000);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path())
                .expect("stat")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }

        let reopened = PairingStore::open(&tmp.0).expect("reopen");
        assert_eq!(reopened.verify_device_token(KNOWN_ID, &issued.token), want);
        assert_eq!(
            reopened
                .get(KNOWN_ID)
                .and_then(|d| d.display_name.as_deref()),
            Some("laptop")
        );
        let leftovers = fs::read_dir(store.path().parent().expect("dir"))
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .map(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                    .unwrap_or(false)
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn repair_rotates_and_roles_are_separate() {
        let tmp = TempDir::new("rotate");
        let mut store = PairingStore::open(&tmp.0).expect("open");
        let s = scopes(&["operator.read"]);
        let first = store
            .pair(&pair_req(KNOWN_ID, "operator", &s), 1_000)
            .expect("pair");
        let second = store
            .pair(&pair_req(KNOWN_ID, "operator", &s), 2_000)
            .expect("re-pair");
        assert_ne!(first.token, second.token);
        assert_eq!(store.verify_device_token(KNOWN_ID, &first.token), None);
        assert!(store.verify_device_token(KNOWN_ID, &second.token).is_some());
        let dev = store.get(KNOWN_ID).expect("paired");
        assert_eq!(dev.created_at_ms, 1_000);
        assert_eq!(dev.approved_at_ms, 2_000);
        assert_eq!(dev.tokens["operator"].rotated_at_ms, Some(2_000));

        let node = store
            .pair(&pair_req(KNOWN_ID, "node", &[]), 3_000)
            .expect("node role");
        assert_eq!(
            store.verify_device_token(KNOWN_ID, &node.token),
            Some(("node".to_owned(), vec![]))
        );
        assert_eq!(
            store.get(KNOWN_ID).and_then(|d| d.roles.clone()),
            Some(scopes(&["operator", "node"]))
        );
        assert_eq!(
            store
                .verify_device_token_for_role(KNOWN_ID, &node.token, "operator")
                .map(|e| e.role.clone()),
            Err(TokenRejection::TokenMismatch)
        );
        assert!(
            store
                .verify_device_token_for_role(KNOWN_ID, &node.token, "node")
                .is_ok()
        );
        assert_eq!(
            store
                .verify_device_token_for_role("nope", &node.token, "node")
                .err(),
            Some(TokenRejection::DeviceNotPaired)
        );
        assert_eq!(
            store
                .verify_device_token_for_role(KNOWN_ID, &node.token, " ")
                .err(),
            Some(TokenRejection::RoleMissing)
        );
        assert_eq!(
            store
                .verify_device_token_for_role(KNOWN_ID, &node.token, "admin")
                .err(),
            Some(TokenRejection::TokenMissing)
        );

        assert!(store.revoke_token(KNOWN_ID, "node", 4_000).expect("revoke"));
        assert_eq!(store.verify_device_token(KNOWN_ID, &node.token), None);
        assert_eq!(
            store
                .verify_device_token_for_role(KNOWN_ID, &node.token, "node")
                .err(),
            Some(TokenRejection::TokenRevoked)
        );
        assert!(
            !store
                .revoke_token(KNOWN_ID, "admin", 4_000)
                .expect("no such token")
        );

        assert!(store.remove(KNOWN_ID).expect("remove"));
        assert!(!store.is_paired(KNOWN_ID));
        assert!(
            !PairingStore::open(&tmp.0)
                .expect("reopen")
                .is_paired(KNOWN_ID)
        );
        assert!(matches!(
            store.pair(&pair_req(" ", "operator", &s), 1),
            Err(StoreError::InvalidInput(_))
        ));
    }

    #[test]
    fn corrupt_file_is_an_error_naming_the_file() {
        let tmp = TempDir::new("corrupt");
        let dir = tmp.0.join(DEVICES_DIR);
        fs::create_dir_all(&dir).expect("mkdir");
        for bad in ["{not json", "[1,2]", r#"{"x": {"deviceId": 5}}"#] {
            fs::write(dir.join(PAIRED_FILE), bad).expect("write");
            let err = PairingStore::open(&tmp.0).expect_err("corrupt");
            assert!(matches!(err, StoreError::Corrupt { .. }));
            let msg = err.to_string();
            assert!(
                msg.contains("paired.json") && msg.contains("move the file aside"),
                "{msg}"
            );
        }
    }

    #[test]
    fn openclaw_plaintext_tokens_are_read_and_hashed_on_write() {
        let tmp = TempDir::new("legacy");
        let dir = tmp.0.join(DEVICES_DIR);
        fs::create_dir_all(&dir).expect("mkdir");
        let legacy = json!({
            KNOWN_ID: {
                "deviceId": KNOWN_ID, "publicKey": KNOWN_PUBLIC_KEY, "role": "operator",
                "roles": ["operator"], "scopes": ["operator.read"], "futureField": {"a": 1},
                "tokens": {"operator": {"token": "legacy-plain", "role": "operator",
                    "scopes": ["operator.read"], "createdAtMs": 5}},
                "createdAtMs": 5, "approvedAtMs": 6
            }
        });
        fs::write(dir.join(PAIRED_FILE), legacy.to_string()).expect("write");
        let mut store = PairingStore::open(&tmp.0).expect("open legacy");
        assert_eq!(
            store.verify_device_token(KNOWN_ID, "legacy-plain"),
            Some(("operator".to_owned(), scopes(&["operator.read"])))
        );
        let node = store
            .pair(&pair_req(KNOWN_ID, "node", &[]), 10)
            .expect("pair node");
        let text = fs::read_to_string(store.path()).expect("read");
        assert!(!text.contains("legacy-plain") && !text.contains(&node.token));
        assert!(text.contains("futureField"), "unknown fields survive");
        assert!(
            PairingStore::open(&tmp.0)
                .expect("reopen")
                .verify_device_token(KNOWN_ID, "legacy-plain")
                .is_some()
        );
    }
}
