//! Tracing: a subscriber (text or JSON lines, `RUST_LOG` filter) and the per-request middleware
//! that gives every request a span with method, route, status, latency, request id and trace id.
//! An incoming W3C `traceparent` continues its trace: its trace id is the span's `trace_id`.

use crate::api::{ApiError, EnvelopeKind, OperationMeta, RequestContext, BASE_PATH, OPERATIONS, REQUEST_CONTEXT};
use crate::config::LogFormat;
use poem::http::{HeaderValue, StatusCode};
use poem::PathPattern;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::time::Instant;
use tracing::Instrument;

pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second init (tests start several apps in one process) keeps the first subscriber.
    let _ = result;
}

/// A W3C trace context: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: String,
    pub parent_id: String,
}

pub fn parse_traceparent(value: &str) -> Option<TraceParent> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if parts.len() < 4
        || !hex(parts[0], 2)
        || parts[0] == "ff"
        || !hex(parts[1], 32)
        || !hex(parts[2], 16)
        || !hex(parts[3], 2)
    {
        return None;
    }
    if parts[0] == "00" && parts.len() != 4 {
        return None;
    }
    if parts[1].bytes().all(|b| b == b'0') || parts[2].bytes().all(|b| b == b'0') {
        return None;
    }
    Some(TraceParent { trace_id: parts[1].to_string(), parent_id: parts[2].to_string() })
}

fn random_hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// A client's `x-request-id` is kept when it is short and plain; otherwise a new one is made.
fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
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

/// Names the request span's route and operation: called by the routed operation (see
/// [`crate::api::OperationEndpoint`]) inside that span, so whatever the operation logs carries them.
pub fn record_operation(op: &OperationMeta) {
    let span = tracing::Span::current();
    span.record("route", format!("{BASE_PATH}{}", op.path));
    span.record("operation_id", op.operation_id);
}

pub struct RequestTracing;

impl<E: Endpoint> Middleware<E> for RequestTracing {
    type Output = RequestTracingEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestTracingEndpoint { inner: ep }
    }
}

pub struct RequestTracingEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestTracingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Self::Output> {
        let started = Instant::now();
        let request_id = request_id(&req);
        let trace = req.headers().get("traceparent").and_then(|v| v.to_str().ok()).and_then(parse_traceparent);
        let trace_id = trace.as_ref().map(|t| t.trace_id.clone()).unwrap_or_else(|| random_hex(16));
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        // The route and operation are recorded once the router has chosen them.
        let span = tracing::info_span!(
            "request",
            %method,
            route = tracing::field::Empty,
            operation_id = tracing::field::Empty,
            request_id = %request_id,
            trace_id = %trace_id,
            parent_span_id = trace.as_ref().map(|t| t.parent_id.as_str()).unwrap_or(""),
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let ctx = RequestContext { request_id: request_id.clone() };
        let result = REQUEST_CONTEXT.scope(ctx.clone(), self.inner.call(req).instrument(span.clone())).await;
        let mut response = match result {
            Ok(output) => output.into_response(),
            // Errors that never reached an operation (unknown route, wrong method, a panic).
            Err(err) => REQUEST_CONTEXT.scope(ctx, async { error_response(&method, &path, &err) }).await,
        };
        match response.data::<&'static OperationMeta>() {
            Some(op) => span.in_scope(|| record_operation(op)),
            None => {
                span.record("route", path.as_str());
                span.record("operation_id", "");
            }
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("status", status);
        span.record("latency_ms", latency_ms);
        span.in_scope(|| {
            if status >= 500 {
                tracing::error!(status, latency_ms, "request failed");
            } else {
                tracing::info!(status, latency_ms, "request served");
            }
        });
        Ok(response)
    }
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
/// head hyper could not parse (see [`crate::connections`]). It closes the connection.
pub fn raw_error_response(status: u16, message: String, endpoint: &str, extra_headers: &[(&str, &str)]) -> Vec<u8> {
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
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_traceparents_only() {
        let tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(tp.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
        assert!(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").is_none());
        assert!(parse_traceparent("garbage").is_none());
    }

    #[test]
    fn the_allowed_methods_are_those_of_the_matched_route() {
        assert_eq!(allowed_methods(&format!("{BASE_PATH}/bookings")), ["GET", "POST"]);
        assert_eq!(allowed_methods("/bookings/notify"), ["POST"]);
        assert_eq!(allowed_methods(&format!("{BASE_PATH}/bookings/:param0")), ["GET"]);
        assert!(allowed_methods("/elsewhere").is_empty());
    }
}
