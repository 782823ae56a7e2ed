//! The one place an error becomes HTTP: a [`ServiceError`] becomes the contract's [`ApiError`]
//! (a status and a code; each generated response enum then picks the variant its operation
//! declares), and an [`ApiError`] answered outside a generated route (by the guard, the
//! idempotency layer, the router, the listener) becomes a response in the envelope the
//! operation declares, with its `Retry-After`. A 500 never shows internals: the cause and where
//! it happened are logged with the request id.

use crate::api::{
    ApiError, EnvelopeKind, ErrorCode, OperationMeta, RequestContext, BASE_PATH, OPERATIONS, REQUEST_CONTEXT,
};
use crate::error::ServiceError;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{IntoResponse, PathPattern, Request, Response};

/// How soon a client may retry after a transient fault (a row held past the lock timeout, a lost
/// connection, SQLite busy) or a request with the same Idempotency-Key still being served: such
/// faults are worth another try this soon.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        ApiError::from(&err)
    }
}

impl From<&ServiceError> for ApiError {
    fn from(err: &ServiceError) -> Self {
        match err {
            ServiceError::Invalid(m) => ApiError::new(400, ErrorCode::Validation, m.clone()),
            ServiceError::Unauthenticated(m) => ApiError::new(401, ErrorCode::Unauthorized, m.clone()),
            ServiceError::Denied(m) => ApiError::new(403, ErrorCode::Forbidden, m.clone()),
            ServiceError::NotFound(m) => ApiError::new(404, ErrorCode::NotFound, m.clone()),
            ServiceError::Conflict(m) => ApiError::new(409, ErrorCode::Conflict, m.clone()),
            ServiceError::RateLimited => {
                ApiError::new(429, ErrorCode::TooManyRequests, "too many requests; retry later")
            }
            e @ ServiceError::Unavailable { .. } => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(503, ErrorCode::Unavailable, "the service is temporarily unavailable; retry later")
                    .with_retry_after(RETRY_AFTER_SECONDS)
            }
            e @ (ServiceError::Database { .. } | ServiceError::Internal { .. }) => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(500, ErrorCode::Internal, "internal error")
            }
        }
    }
}

/// `err`, answered for `req` to `op` by the edge rather than by the operation: the envelope and
/// status `op` declares for it, and its `Retry-After` when it names one.
pub fn refusal(req: &Request, op: &OperationMeta, err: ApiError) -> Response {
    let mut response = envelope_response(req.method().as_str(), req.uri().path(), Some(op), err.status, err.message);
    if let Some(seconds) = err.retry_after {
        set_retry_after(&mut response, seconds);
    }
    response
}

/// A `Retry-After` of `seconds` (at least 1).
pub fn set_retry_after(response: &mut Response, seconds: u64) {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
}

/// An error answered outside the generated routes, in the envelope `op` declares for the
/// status (its 400 for an undeclared client error), or a single Error where no operation matched.
pub fn envelope_response(
    method: &str,
    path: &str,
    op: Option<&OperationMeta>,
    status: u16,
    message: String,
) -> Response {
    let (status, kind, endpoint) = match op {
        Some(op) => {
            let (status, kind) = op.declared(status);
            (status, kind, format!("{} {BASE_PATH}{}", op.method, op.path))
        }
        None => (status, EnvelopeKind::Single, format!("{method} {path}")),
    };
    let api = ApiError::new(status, ApiError::code_for_status(status), message);
    let envelope = poem_openapi::types::ToJSON::to_json(&api.envelope(&endpoint)).unwrap_or_default();
    let body = match kind {
        EnvelopeKind::Single => envelope,
        EnvelopeKind::List => serde_json::json!({ "errors": [envelope] }),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    poem::web::Json(body).with_status(status).into_response()
}

/// A whole HTTP/1.1 answer carrying the Error envelope, for a connection on which no request
/// reached the application: one refused for its client's connection count, or one whose request
/// head hyper could not parse (see [`crate::edge::listener`]). It closes the connection.
pub fn raw_error_response(status: u16, message: String, endpoint: &str, retry_after: Option<u64>) -> Vec<u8> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let api = ApiError::new(status, ApiError::code_for_status(status), message);
    let ctx = RequestContext { request_id: request_id.clone() };
    let envelope = REQUEST_CONTEXT.sync_scope(ctx, || api.envelope(endpoint));
    let body = poem_openapi::types::ToJSON::to_json(&envelope).unwrap_or_default().to_string();
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let content_type = <crate::api::Json<serde_json::Value> as poem_openapi::payload::Payload>::CONTENT_TYPE;
    tracing::info!(status, request_id = %request_id, endpoint, "answered before the application");
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\nx-request-id: {request_id}\r\n",
        body.len()
    );
    if let Some(seconds) = retry_after {
        head.push_str(&format!("retry-after: {}\r\n", seconds.max(1)));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// The Error envelope for an error poem produced outside any operation.
pub fn error_response(method: &str, path: &str, err: &poem::Error) -> Response {
    let status = err.status();
    let api = if status == StatusCode::METHOD_NOT_ALLOWED {
        ApiError::new(405, ApiError::code_for_status(405), format!("{method} is not allowed on {path}"))
    } else if status == StatusCode::NOT_FOUND {
        ApiError::new(404, ApiError::code_for_status(404), format!("no route for {method} {path}"))
    } else {
        if status.is_server_error() {
            tracing::error!(error = %err, "unhandled error");
        }
        ApiError::from_poem(err)
    };
    // The operation the router chose, if any (see `crate::api::OperationEndpoint`).
    let op = if matches!(api.status, 404 | 405) { None } else { err.data::<&'static OperationMeta>().copied() };
    let mut response = envelope_response(method, path, op, api.status, api.message);
    if let Some(op) = op {
        response.set_data(op);
    }
    let status = response.status();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = err.data::<PathPattern>().map(|pattern| allowed_methods(&pattern.0)).unwrap_or_default();
        if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
            response.headers_mut().insert("allow", allow);
        }
    }
    response
}

/// The methods the contract serves on the route poem matched (the router tells which), for a
/// 405's `Allow` header.
pub fn allowed_methods(pattern: &str) -> Vec<&'static str> {
    let route = pattern.strip_prefix(BASE_PATH).unwrap_or(pattern);
    let mut methods: Vec<&'static str> = OPERATIONS.iter().filter(|op| op.route == route).map(|op| op.method).collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowed_methods_are_those_of_the_matched_route() {
        assert_eq!(allowed_methods(&format!("{BASE_PATH}/bookings")), ["GET", "POST"]);
        assert_eq!(allowed_methods("/bookings/notify"), ["POST"]);
        assert_eq!(allowed_methods(&format!("{BASE_PATH}/bookings/:param0")), ["GET"]);
        assert!(allowed_methods("/elsewhere").is_empty());
    }
}
