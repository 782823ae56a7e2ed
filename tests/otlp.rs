//! Traces exported over OTLP: the server binary runs with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing
//! at a small OTLP/HTTP receiver in this test (a binary of its own: the tracer is global), and
//! the request's spans arrive there: the request span continues the `traceparent` sent (same
//! trace id, the sender's span as its parent), and a use-case span is its child. The batch
//! exporter's spans are flushed when the server stops on SIGTERM.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bookings");
const SECRET: &str = "otlp-test-secret-0123456789-0123456789";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Every span the receiver was sent, decoded.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Span>>>);

impl Received {
    fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().clone()
    }
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`.
async fn receiver(received: Received) -> u16 {
    use poem::{handler, post, web::Data, EndpointExt, Route};
    #[handler]
    fn traces(body: bytes::Bytes, Data(received): Data<&Received>) -> poem::http::StatusCode {
        match ExportTraceServiceRequest::decode(body.as_ref()) {
            Ok(request) => {
                let spans = request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
                received.0.lock().unwrap().extend(spans);
                poem::http::StatusCode::OK
            }
            Err(_) => poem::http::StatusCode::BAD_REQUEST,
        }
    }
    let acceptor = {
        use poem::listener::Listener;
        poem::listener::TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap()
    };
    let port = {
        use poem::listener::Acceptor;
        acceptor.local_addr()[0].as_socket_addr().unwrap().port()
    };
    let app = Route::new().at("/v1/traces", post(traces)).data(received);
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_spans_continue_its_traceparent() {
    let received = Received::default();
    let otlp_port = receiver(received.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("DATA_DIR", dir.path())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", SECRET)
        .env("APP_ENV", "test")
        .env("RUST_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{otlp_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = Command::new(BIN)
        .args(["token", "--sub", &uuid::Uuid::new_v4().to_string()])
        .env("DATA_DIR", dir.path())
        .env("JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let created = reqwest::Client::new()
        .post(format!("{base}/v1/calendars"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .json(&serde_json::json!({"name": "Traced"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // SIGTERM: the server stops and flushes its batch exporter.
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    let logs = {
        use std::io::Read;
        let mut text = String::new();
        child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
        text
    };

    let spans = received.spans();
    let trace_id = hex::decode(TRACE_ID).unwrap();
    let request = spans
        .iter()
        .find(|s| s.name == "request" && s.trace_id == trace_id)
        .unwrap_or_else(|| panic!("no request span of the trace sent among {:?}", names(&spans)));
    assert_eq!(hex::encode(&request.parent_span_id), PARENT_ID, "the request span's parent is the sender's span");
    let child_span = spans
        .iter()
        .find(|s| s.parent_span_id == request.span_id && s.trace_id == trace_id)
        .unwrap_or_else(|| panic!("no child of the request span among {:?}", names(&spans)));
    assert!(!child_span.name.is_empty());
    // The logs carry the same trace id.
    assert!(logs.contains(TRACE_ID), "the request's log line carries the trace id:\n{logs}");
}

fn names(spans: &[Span]) -> Vec<(String, String, String)> {
    spans.iter().map(|s| (s.name.clone(), hex::encode(&s.span_id), hex::encode(&s.parent_span_id))).collect()
}
