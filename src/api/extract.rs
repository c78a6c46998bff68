//! Extractors that refuse bad input in the API's one error shape, so no
//! handler maps a rejection by hand.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;

use super::ApiError;

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
        let Json(value) = Json::<T>::from_request(req, state).await.map_err(|e| {
            let too_large = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            if e.status() == too_large {
                ApiError::new(too_large, "body_too_large", e.body_text())
            } else {
                ApiError::bad_request("invalid_body", e.body_text())
            }
        })?;
        Ok(ApiJson(value))
    }
}
