//! The generic webhook connector: POSTs each action as signed JSON to a URL
//! of the brand's, so any platform can be bridged.
//!
//! Headers: `X-Replyd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>` and `Idempotency-Key: <action id>`, unchanged across
//! retries so the receiver can drop repeats.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{Connector, DeliveryError, Outbound, Sent};
use crate::classify::BoxFuture;
use crate::config::{Secret, WebhookConnectorConfig};

pub struct WebhookConnector {
    client: reqwest::Client,
    url: String,
    secret: Secret,
}

impl WebhookConnector {
    pub fn new(cfg: &WebhookConnectorConfig, timeout: Duration) -> Self {
        WebhookConnector {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("TLS backend available"),
            url: cfg.url.clone(),
            secret: cfg.secret.clone(),
        }
    }
}

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp inside
/// the signed bytes lets receivers refuse replays of old requests.
pub fn signature_header(secret: &Secret, unix_seconds: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Checks a [`signature_header`] in constant time, refusing one older than
/// `tolerance` seconds.
pub fn verify_signature(
    secret: &Secret,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance {
        return false;
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

impl Connector for WebhookConnector {
    fn name(&self) -> &str {
        "webhook"
    }

    fn send<'a>(&'a self, out: &'a Outbound<'a>) -> BoxFuture<'a, Result<Sent, DeliveryError>> {
        Box::pin(async move {
            let (action, message) = (out.action, out.message);
            let body = serde_json::to_vec(&json!({
                "idempotency_key": action.id,
                "action": {
                    "id": action.id,
                    "kind": action.kind,
                    "text": action.text,
                },
                "message": {
                    "id": message.id,
                    "platform": message.platform,
                    "kind": message.kind,
                    "external_id": message.external_id,
                    "thread_id": message.thread_id,
                    "parent_id": message.parent_id,
                    "author": message.author,
                    "url": message.url,
                },
            }))
            .expect("JSON of plain values");
            let signature = signature_header(&self.secret, chrono::Utc::now().timestamp(), &body);
            let response = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("x-replyd-signature", signature)
                .header("idempotency-key", action.id.as_str())
                .body(body)
                .send()
                .await
                .map_err(|e| DeliveryError::Retryable {
                    message: format!("webhook request failed: {}", without_url(e)),
                    retry_after: None,
                })?;
            let status = response.status();
            if status.is_success() {
                let external_ref = response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_owned)));
                return Ok(Sent::Delivered {
                    external_ref,
                    recipient: None,
                });
            }
            let retry_after = crate::deliver::retry_after(response.headers());
            let message = format!("webhook answered {status}");
            if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
                Err(DeliveryError::Retryable {
                    message,
                    retry_after,
                })
            } else {
                Err(DeliveryError::Permanent { message })
            }
        })
    }
}

/// reqwest errors print the URL, which may carry a token in its query.
fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        let secret = Secret::new("s3cret");
        let header = signature_header(&secret, 1_700_000_000, b"{\"a\":1}");
        assert!(verify_signature(
            &secret,
            &header,
            b"{\"a\":1}",
            1_700_000_010,
            300
        ));
        assert!(!verify_signature(
            &secret,
            &header,
            b"{\"a\":2}",
            1_700_000_010,
            300
        ));
        assert!(!verify_signature(
            &Secret::new("other"),
            &header,
            b"{\"a\":1}",
            1_700_000_010,
            300
        ));
        assert!(
            !verify_signature(&secret, &header, b"{\"a\":1}", 1_700_009_000, 300),
            "replay"
        );
    }
}
