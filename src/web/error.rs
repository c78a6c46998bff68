//! The API's one error shape: `{"error": {"code", "message", "field"?, "index"?}}`.
//!
//! Policy: a client's mistake gets a 4xx naming what is wrong; anything of
//! ours gets a 500 with a generic message and the detail only in our logs,
//! so internals (and any secret in them) never reach a response.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::auth::Forbidden;
use crate::domain::Role;
use crate::ingest::{IngestError, Refused};
use crate::leads::update::LeadError;
use crate::review::ReviewError;
use crate::store::StoreError;
use crate::workbench::WorkbenchError;

/// What a 503 asks a client to wait before trying again.
const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds for a `Retry-After` header, on answers that invite a retry.
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
                index: None,
            },
            retry_after: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.body.index = Some(index);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(role: Role) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the {role} role may not do this"),
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 503: nothing is wrong with the request, but it cannot be taken now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(RETRY_AFTER_SECS),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

/// Refuses U+0000 in a text field a person or script writes. PostgreSQL's
/// text cannot hold it (SQLite's can), so it would fail there as a 500;
/// refused on both, a request one backend takes the other takes too.
/// Messages strip it instead (`messages::insert`): their sources resend
/// what fails and would never get past it.
pub fn no_nul(field: &'static str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.contains('\0') => Err(ApiError::bad_request(
            "invalid_field",
            format!("{field} must not contain the NUL character (U+0000)"),
        )
        .field(field)),
        _ => Ok(()),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            // A full disk or a busy database: the request was fine, and
            // nothing of it was kept; the client should send it again.
            other if other.is_unavailable() => {
                tracing::error!(error = %other, "the database refuses work; answering 503");
                ApiError::unavailable("the database cannot take this now; retry shortly")
            }
            other => {
                tracing::error!(error = %other, "storage error while serving a request");
                ApiError::internal()
            }
        }
    }
}

impl From<Forbidden> for ApiError {
    fn from(e: Forbidden) -> Self {
        ApiError::forbidden(e.role)
    }
}

impl From<Refused> for ApiError {
    fn from(e: Refused) -> Self {
        let mut error = ApiError::bad_request(e.code, e.message);
        error.body.field = e.field;
        error.body.index = e.index;
        error
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Refused(refused) => refused.into(),
            IngestError::Store(store) => store.into(),
        }
    }
}

/// A refused decision names what to fix; a storage error stays in the log.
impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::NotHeld(_) => {
                ApiError::new(StatusCode::CONFLICT, "not_held", e.to_string())
            }
            ReviewError::EmptyText => {
                ApiError::bad_request("invalid_field", e.to_string()).field("text")
            }
            ReviewError::MissingReason => {
                ApiError::bad_request("missing_field", e.to_string()).field("reason")
            }
            ReviewError::Guardrails(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "guardrails",
                e.to_string(),
            )
            .field("text"),
            ReviewError::Unread(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            }
            ReviewError::Nul(field) => {
                ApiError::bad_request("invalid_field", e.to_string()).field(field)
            }
            ReviewError::Store(s) => s.into(),
        }
    }
}

/// A refused change to a lead names the field; storage errors keep their
/// own mapping (a conflict is a 409).
impl From<LeadError> for ApiError {
    fn from(e: LeadError) -> Self {
        let field = match e {
            LeadError::Store(store) => return store.into(),
            LeadError::HandedOffIsReplyds => "status",
            LeadError::TooLong { field, .. } | LeadError::Nul(field) => field,
        };
        ApiError::bad_request("invalid_field", e.to_string()).field(field)
    }
}

/// A refused workbench request names the field or the platform's limit;
/// what a person asked for that the platform cannot do is a 409.
impl From<WorkbenchError> for ApiError {
    fn from(e: WorkbenchError) -> Self {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            WorkbenchError::Invalid(field, _) => {
                ApiError::new(unprocessable, "invalid_field", e.to_string()).field(field)
            }
            WorkbenchError::Missing(field, _) => {
                ApiError::new(unprocessable, "missing_field", e.to_string()).field(field)
            }
            WorkbenchError::NotPossible(_) => {
                ApiError::new(StatusCode::CONFLICT, "not_possible", e.to_string())
            }
            WorkbenchError::InPipeline => {
                ApiError::new(StatusCode::CONFLICT, "in_pipeline", e.to_string())
            }
            WorkbenchError::Guardrails(_) => {
                ApiError::new(unprocessable, "guardrails", e.to_string()).field("text")
            }
            WorkbenchError::Unread(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            }
            WorkbenchError::Store(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(serde_json::json!({ "error": self.body }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// What axum answers by itself before or around a handler (a method the
/// route does not have, a path segment that is not UTF-8, a body over the
/// limit) is empty or plain text. On the API every error has the one JSON
/// shape, so those answers are rewritten here, once for every route; a
/// handler's own errors are JSON already and pass untouched.
pub async fn json_errors(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let error = if status.is_server_error() {
        tracing::error!(%status, "a request failed outside any handler");
        ApiError {
            status,
            ..ApiError::internal()
        }
    } else {
        // axum's own rejection texts are written for the client.
        let text = axum::body::to_bytes(body, 4096)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        let reason = status.canonical_reason().unwrap_or("refused");
        ApiError::new(
            status,
            code_of(status),
            text.unwrap_or_else(|| reason.to_ascii_lowercase()),
        )
    };
    let mut out = error.into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "invalid_body",
        _ => "invalid_request",
    }
}
