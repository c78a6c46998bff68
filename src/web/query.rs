//! The list endpoints' query parameters: domain types and page cursors,
//! refused in the API's error shape. The console's filters read the same.

use base64::Engine;

use super::ApiError;
use crate::domain::ParseError;

/// An optional query parameter of a domain type; empty (as a form sends an
/// unset field) counts as absent.
pub fn query_param<T: std::str::FromStr<Err = ParseError>>(
    field: &str,
    value: &Option<String>,
) -> Result<Option<T>, ApiError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(str::parse)
        .transpose()
        .map_err(|e: ParseError| ApiError::bad_request("invalid_query", e.message).field(field))
}

/// Where the next page starts when this one was full: the `(time, id)` key
/// of its last item, as an opaque cursor.
pub fn next_cursor<T>(items: &[T], limit: u32, key: impl Fn(&T) -> (i64, &str)) -> Option<String> {
    let last = items.last().filter(|_| items.len() == limit as usize)?;
    let (at, id) = key(last);
    Some(encode_cursor(at, id))
}

/// An optional `cursor` parameter; empty counts as absent.
pub fn cursor_param(value: &Option<String>) -> Result<Option<(i64, String)>, ApiError> {
    value
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()
}

pub fn encode_cursor(at: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let invalid = || {
        ApiError::bad_request("invalid_query", "cursor is not one this API gave").field("cursor")
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.to_owned()))
}
