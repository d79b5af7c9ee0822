//! Device identity on `connect`: verifies the signed challenge (see [`super::device`]), pairs
//! loopback devices on first sight, and issues and checks device tokens.

use serde_json::Value;

use super::auth::AuthFailure;
use super::{Gateway, device};
use crate::generated::protocol::ErrorCode;
use crate::protocol_support::RpcError;

/// The parts of `connect` a device signature covers.
#[derive(Debug, Clone, Copy)]
pub struct ConnectView<'a> {
    pub client_id: &'a str,
    pub client_mode: &'a str,
    pub platform: Option<&'a str>,
    pub device_family: Option<&'a str>,
    pub role: &'a str,
    pub scopes: &'a [String],
    /// `auth.token ?? auth.deviceToken` (what the signature binds).
    pub token: Option<&'a str>,
    pub device_token: Option<&'a str>,
}

/// A device that proved its identity.
#[derive(Debug)]
pub struct Outcome {
    pub device_id: String,
    pub scopes: Vec<String>,
    /// A device token issued on this connect (first pairing).
    pub issued_token: Option<String>,
    pub used_device_token: bool,
}

/// Why a device was refused.
#[derive(Debug)]
pub enum Rejection {
    /// Counted against the address like a wrong password.
    Auth(AuthFailure),
    /// Answered with this error, then closed with this code.
    Protocol { error: RpcError, close: u16 },
}

fn protocol(error: RpcError) -> Rejection {
    Rejection::Protocol { error, close: 1008 }
}

/// Authenticates a connect that carries `device` but no shared secret.
pub async fn authenticate(
    g: &Gateway,
    view: ConnectView<'_>,
    device_value: &Value,
    nonce: &str,
    local: bool,
) -> Result<Outcome, Rejection> {
    let claim: device::DeviceClaim = serde_json::from_value(device_value.clone()).map_err(|e| {
        protocol(RpcError::invalid_request(format!(
            "invalid connect params: at /device: {e}"
        )))
    })?;
    let ctx = device::SignContext {
        client_id: view.client_id,
        client_mode: view.client_mode,
        role: view.role,
        scopes: view.scopes,
        token: view.token,
        platform: view.platform,
        device_family: view.device_family,
        expected_nonce: nonce,
        now_ms: device::now_ms(),
    };
    let verified = device::verify(&claim, &ctx).map_err(|e| {
        protocol(RpcError::invalid_request(e.message.clone()).with_details(e.details()))
    })?;
    let id = verified.device_id.clone();
    let store_error = |e: device::StoreError| {
        tracing::error!(error = %e, "paired-device store unavailable");
        Rejection::Protocol {
            error: RpcError::new(
                ErrorCode::Unavailable,
                format!("pairing store unavailable: {e}"),
            ),
            close: 1011,
        }
    };
    let mut guard = g.pairing().lock().map_err(|_| Rejection::Protocol {
        error: RpcError::new(ErrorCode::Unavailable, "pairing store unavailable"),
        close: 1011,
    })?;
    if guard.is_none() {
        *guard = Some(device::PairingStore::open(&g.settings().state_dir).map_err(store_error)?);
    }
    let Some(store) = guard.as_mut() else {
        return Err(protocol(RpcError::new(
            ErrorCode::Unavailable,
            "pairing store unavailable",
        )));
    };
    if let Some(token) = view.device_token {
        return match store.verify_device_token(&id, token) {
            Some((_role, approved)) => Ok(Outcome {
                device_id: id,
                scopes: within(view.scopes, &approved),
                issued_token: None,
                used_device_token: true,
            }),
            None => Err(Rejection::Auth(super::auth::device_token_mismatch(
                view.client_id,
                view.client_mode,
                local,
            ))),
        };
    }
    if let Some(paired) = store.get(&id) {
        let approved = paired
            .approved_scopes
            .clone()
            .or_else(|| paired.scopes.clone())
            .unwrap_or_default();
        return Ok(Outcome {
            device_id: id,
            scopes: within(view.scopes, &approved),
            issued_token: None,
            used_device_token: false,
        });
    }
    if !local {
        let request_id = uuid::Uuid::new_v4().to_string();
        return Err(protocol(
            RpcError::new(ErrorCode::NotPaired, "pairing required").with_details(serde_json::json!({
                "code": "PAIRING_REQUIRED",
                "reason": "not-paired",
                "requestId": request_id,
                "deviceId": id,
                "requestedRole": view.role,
                "requestedScopes": view.scopes,
                "remediationHint": "approve this device from a paired operator, or connect once from the gateway host",
            })),
        ));
    }
    // Loopback devices are paired on first sight.
    let issued = store
        .pair(
            &device::PairRequest {
                device_id: &id,
                public_key: &verified.public_key,
                role: view.role,
                scopes: view.scopes,
                display_name: None,
                platform: view.platform,
                device_family: view.device_family,
                client_id: Some(view.client_id),
                client_mode: Some(view.client_mode),
                remote_ip: Some("127.0.0.1"),
            },
            device::now_ms(),
        )
        .map_err(store_error)?;
    tracing::info!(device = %id, "paired local device");
    Ok(Outcome {
        device_id: id,
        scopes: issued.scopes.clone(),
        issued_token: Some(issued.token.clone()),
        used_device_token: false,
    })
}

/// The requested scopes a device may have: those it was approved for (admin covers all).
fn within(requested: &[String], approved: &[String]) -> Vec<String> {
    if approved.iter().any(|s| s == "operator.admin") {
        return requested.to_vec();
    }
    requested
        .iter()
        .filter(|s| approved.contains(s))
        .cloned()
        .collect()
}
