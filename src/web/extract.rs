//! Extractors that refuse bad input in the API's one error shape, so no
//! handler maps a rejection by hand.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use super::{ApiError, MAX_BODY_BYTES};

/// A query string, checked for U+0000 before it is parsed: PostgreSQL's
/// text cannot hold the character (SQLite's can), so a NUL reaching a query
/// failed there as a 500 while SQLite answered; refused here, both answer
/// 400 naming the parameter.
pub struct ApiQuery<T>(pub T);

/// The first parameter of a query string or form holding U+0000, named.
pub fn nul_field(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', "\u{fffd}"))
}

/// 400 for a parameter holding U+0000.
pub fn nul_refused(field: String, place: &str) -> ApiError {
    ApiError::bad_request(
        if place == "query" {
            "invalid_query"
        } else {
            "invalid_field"
        },
        format!("{place} parameter {field} must not contain the NUL character (U+0000)"),
    )
    .field(field)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if let Some(field) = nul_field(parts.uri.query().unwrap_or_default().as_bytes()) {
            return Err(nul_refused(field, "query"));
        }
        let Query(value) = Query::<T>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
        Ok(ApiQuery(value))
    }
}

/// A JSON body; a malformed one (or one without a JSON content type) is a
/// 400, one over the size limit a 413, in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state)
            .await
            .map_err(|e| body_refused(e.status(), e.body_text()))?;
        Ok(ApiJson(value))
    }
}

/// A JSON body that may be left out: an empty one (or whitespace) is
/// `T::default()`, and then no content type is asked for either, as a
/// script approving a draft as it stands sends none.
pub struct ApiJsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for ApiJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ApiBytes(body) = ApiBytes::from_request(req, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        serde_json::from_slice(&body)
            .map(ApiJsonOrEmpty)
            .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))
    }
}

/// A raw body, for a handler that parses it itself (a batch of messages
/// whose errors name the message and field).
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|e| body_refused(e.status(), e.body_text()))
    }
}

/// A body that could not be read or parsed: over the limit, or not what
/// the route takes.
fn body_refused(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "body_too_large",
            format!(
                "request body is larger than {} MiB",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        )
    } else {
        ApiError::bad_request("invalid_body", text)
    }
}
