//! The per-request middleware that gives every request a span with method, route, status,
//! latency, request id and trace id. An incoming W3C `traceparent` continues its trace: its trace
//! id is the span's `trace_id`. With traces exported (`crate::telemetry`), the span is the
//! incoming trace's child and its `trace_id` the exported trace's. It also records the request
//! metrics (`crate::metrics`): duration by route template, active requests.

use crate::api::{OperationMeta, RequestContext, BASE_PATH, REQUEST_CONTEXT};
use crate::edge::errors::error_response;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::time::Instant;
use tracing::Instrument;

pub use crate::telemetry::{parse_traceparent, TraceParent};

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

/// Names the request span's route and operation: called by the routed operation (see
/// [`crate::api::OperationEndpoint`]) inside that span, so whatever the operation logs carries them.
pub fn record_operation(op: &OperationMeta) {
    let span = tracing::Span::current();
    span.record("route", format!("{BASE_PATH}{}", op.path));
    span.record("operation_id", op.operation_id);
}

/// Counts a request in `http_server_active_requests` while it is served (dropped also when the
/// connection goes away mid-request).
struct ActiveRequest;

impl ActiveRequest {
    fn start() -> Self {
        metrics::gauge!(crate::metrics::HTTP_ACTIVE_REQUESTS).increment(1.0);
        ActiveRequest
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::HTTP_ACTIVE_REQUESTS).decrement(1.0);
    }
}

/// The `http_route` of a request that reached no operation: a fixed path, or a fixed word for
/// a family of paths (the booking pages' paths hold link and manage tokens), never the path.
fn unrouted(path: &str) -> &'static str {
    const FIXED: &[&str] = &["/healthz", "/readyz", "/metrics", "/openapi.json", "/openapi.yaml", "/docs", "/docs/"];
    if let Some(fixed) = FIXED.iter().find(|f| **f == path) {
        return fixed;
    }
    if path == "/booking" || path.starts_with("/booking/") {
        "/booking/*"
    } else if path.strip_prefix(BASE_PATH).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) {
        "/v1/*"
    } else {
        "other"
    }
}

/// The request's method as a label: the operation's, or one of HTTP's, or `_OTHER`
/// (OpenTelemetry's word for a method it does not know).
fn method_label(method: &str) -> &'static str {
    const KNOWN: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
    KNOWN.iter().find(|m| **m == method).copied().unwrap_or("_OTHER")
}

fn record_duration(op: Option<&'static OperationMeta>, method: &str, path: &str, status: u16, seconds: f64) {
    use crate::metrics::{HTTP_REQUEST_DURATION, LABEL_METHOD, LABEL_OPERATION, LABEL_ROUTE, LABEL_STATUS};
    let (route, operation): (std::borrow::Cow<'static, str>, &'static str) = match op {
        Some(op) => (format!("{BASE_PATH}{}", op.path).into(), op.operation_id),
        None => (unrouted(path).into(), ""),
    };
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        LABEL_METHOD => method_label(method),
        LABEL_ROUTE => route,
        LABEL_STATUS => status.to_string(),
        LABEL_OPERATION => operation,
    )
    .record(seconds);
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
        let _active = ActiveRequest::start();
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
            trace_id = tracing::field::Empty,
            parent_span_id = trace.as_ref().map(|t| t.parent_id.as_str()).unwrap_or(""),
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let trace_id = crate::telemetry::continue_trace(&span, trace.as_ref()).unwrap_or(trace_id);
        span.record("trace_id", trace_id.as_str());
        let ctx = RequestContext { request_id: request_id.clone() };
        let result = REQUEST_CONTEXT.scope(ctx.clone(), self.inner.call(req).instrument(span.clone())).await;
        let mut response = match result {
            Ok(output) => output.into_response(),
            // Errors that never reached an operation (unknown route, wrong method, a panic).
            Err(err) => REQUEST_CONTEXT.scope(ctx, async { error_response(&method, &path, &err) }).await,
        };
        let op = response.data::<&'static OperationMeta>().copied();
        match op {
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
        record_duration(op, &method, &path, status, started.elapsed().as_secs_f64());
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
    fn unrouted_requests_get_fixed_routes_never_their_path() {
        assert_eq!(unrouted("/healthz"), "/healthz");
        assert_eq!(unrouted("/booking/abc123secret"), "/booking/*");
        assert_eq!(unrouted("/v1/nope/abc123secret"), "/v1/*");
        assert_eq!(unrouted("/wp-admin/abc123secret"), "other");
        assert_eq!(method_label("BREW"), "_OTHER");
    }
}
