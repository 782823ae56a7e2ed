//! The process's log subscriber: text or JSON lines, filtered by `RUST_LOG`. The request spans
//! it records are made at the edge (`crate::edge::trace`).
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the spans are also exported over OTLP (HTTP with
//! protobuf, to `<endpoint>/v1/traces`) through a batch exporter: a request's span continues the
//! incoming `traceparent` ([`continue_trace`]) and the spans opened inside it (use cases, and
//! store queries when `RUST_LOG` enables them) are its children. Without it no OpenTelemetry
//! layer is installed at all, so nothing is exported and nothing is slowed.

use crate::config::LogFormat;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Whether spans are exported (an OpenTelemetry layer is installed).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Flushes the exported spans when the process ends ([`Telemetry::shutdown`]).
#[must_use = "keep it until the server stops, then call shutdown() so the last spans are sent"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends what the batch exporter still holds, and stops it.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(err) = provider.shutdown() {
                eprintln!("warning: flushing traces: {err}");
            }
        }
    }
}

/// Installs the subscriber; with `otlp_endpoint`, the OTLP exporter and its layer too.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Telemetry {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colored(terminal, std::env::var_os("NO_COLOR").as_deref()));
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let (otel, provider) = match otlp_endpoint.map(str::trim).filter(|e| !e.is_empty()) {
        Some(endpoint) => match exporter(endpoint) {
            Ok(provider) => {
                let tracer = provider.tracer("bookings");
                (Some(tracing_opentelemetry::layer().with_tracer(tracer)), Some(provider))
            }
            Err(err) => {
                eprintln!("warning: OTEL_EXPORTER_OTLP_ENDPOINT: {err}; traces are not exported");
                (None, None)
            }
        },
        None => (None, None),
    };
    let exporting = otel.is_some();
    // A second init (tests start several apps in one process) keeps the first subscriber.
    if tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init().is_ok() && exporting {
        EXPORTING.store(true, Ordering::Relaxed);
        if let Some(provider) = &provider {
            opentelemetry::global::set_tracer_provider(provider.clone());
        }
    }
    Telemetry { provider }
}

/// Whether text lines are colored: only for a person at a terminal, and not when `NO_COLOR`
/// is set (<https://no-color.org/>). A file, a pipe or a log collector gets plain lines:
/// escape codes there are noise to whoever greps them, and writing them cost about 3 % of a
/// computed availability answer's CPU (`PERF=1 CASES=availability_ranges bench/http.sh`).
fn colored(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

fn exporter(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name()).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// `OTEL_SERVICE_NAME`, or `bookings`.
fn service_name() -> String {
    std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "bookings".into())
}

/// Whether spans are exported.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
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

/// A remote span context from a W3C trace context.
pub fn remote_context(parent: &TraceParent) -> Option<SpanContext> {
    let trace_id = TraceId::from_hex(&parent.trace_id).ok()?;
    let span_id = SpanId::from_hex(&parent.parent_id).ok()?;
    Some(SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, true, TraceState::default()))
}

/// When spans are exported: makes `span` (not yet entered) the child of the incoming trace
/// context, if any, and answers the exported trace id (the incoming one, or the new trace's),
/// which the logs then carry. `None` when nothing is exported.
pub fn continue_trace(span: &tracing::Span, incoming: Option<&TraceParent>) -> Option<String> {
    if !exporting() {
        return None;
    }
    if let Some(remote) = incoming.and_then(remote_context) {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let trace_id = span.context().span().span_context().trace_id();
    (trace_id != TraceId::INVALID).then(|| trace_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::colored;
    use std::ffi::OsStr;

    #[test]
    fn lines_are_colored_only_on_a_terminal_without_no_color() {
        assert!(colored(true, None));
        assert!(colored(true, Some(OsStr::new(""))), "an empty NO_COLOR is unset (no-color.org)");
        assert!(!colored(true, Some(OsStr::new("1"))));
        assert!(!colored(false, None), "a file or a pipe gets plain lines");
        assert!(!colored(false, Some(OsStr::new("1"))));
    }
}
