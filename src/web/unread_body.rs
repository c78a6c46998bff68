//! `Connection: close` on every answer given before the request's body was
//! read to its end (a 413, a webhook refused on its signature, any early
//! rejection).
//!
//! The server cannot reuse such a connection: the unread rest of the body
//! would be taken for the next request, so hyper closes it after answering.
//! Without a word about it, a keep-alive client (a CRM's webhook sender, a
//! load balancer, reqwest's pool) sends its next request down the dying
//! connection and sees it fail. Saying `Connection: close` makes the client
//! open a new one instead.
//!
//! The same wrapper holds the body to a deadline: a client trickling its
//! body a byte at a time would otherwise hold a connection and a task for
//! as long as it likes. Past the deadline the request is answered 408.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::time::Duration;

use super::ApiError;

/// A request body that notes when its end has been read, and fails once
/// its deadline has passed before then.
struct Tracked {
    inner: Body,
    ended: Arc<AtomicBool>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    late: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.ended.store(true, Ordering::Release);
        }
        if polled.is_pending() && self.deadline.as_mut().poll(cx).is_ready() {
            self.late.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new("request body too slow"))));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `body_timeout` counts from the moment the request's headers are in.
pub async fn close_if_unread(
    State(body_timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let ended = Arc::new(AtomicBool::new(body.is_end_stream()));
    let late = Arc::new(AtomicBool::new(false));
    let body = Body::new(Tracked {
        inner: body,
        ended: ended.clone(),
        deadline: Box::pin(tokio::time::sleep(body_timeout)),
        late: late.clone(),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if late.load(Ordering::Acquire) {
        // Whatever the handler made of the failed read, the client was slow.
        response = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the request body did not arrive within {} s",
                body_timeout.as_secs()
            ),
        )
        .into_response();
    }
    if !ended.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
