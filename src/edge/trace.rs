//! The per-request middleware that gives every request a span with method, route, status,
//! latency, request id and trace id. An incoming W3C `traceparent` continues its trace: its trace
//! id is the span's `trace_id`.

use crate::api::{OperationMeta, RequestContext, BASE_PATH, REQUEST_CONTEXT};
use crate::edge::errors::error_response;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::time::Instant;
use tracing::Instrument;

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
}
