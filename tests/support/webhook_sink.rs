//! An in-process HTTP receiver for webhook tests (poem on 127.0.0.1:0): records every request and
//! answers 200, or the status set with [`WebhookSink::set_status`] (with the `Retry-After` set with
//! [`WebhookSink::set_retry_after`], the `Location` set with [`WebhookSink::set_location`]), or
//! never ([`WebhookSink::stall`]).
//!
//! ```ignore
//! #[path = "support/webhook_sink.rs"]
//! mod webhook_sink;
//! let sink = webhook_sink::WebhookSink::start().await;
//! // WEBHOOK_URLS = sink.url("/hook")
//! sink.requests();
//! ```
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Request, Response};
use tokio::task::JoinHandle;

/// One received request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    status: AtomicU16,
    retry_after: Mutex<Option<String>>,
    location: Mutex<Option<String>>,
    /// Record requests and never answer them.
    stall: AtomicBool,
}

pub struct WebhookSink {
    pub port: u16,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl WebhookSink {
    pub async fn start() -> WebhookSink {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind the webhook sink");
        let port =
            acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied()).expect("a socket address").port();
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            status: AtomicU16::new(200),
            retry_after: Mutex::new(None),
            location: Mutex::new(None),
            stall: AtomicBool::new(false),
        });
        let state = shared.clone();
        let endpoint = poem::endpoint::make(move |mut req: Request| {
            let state = state.clone();
            async move {
                let body = req.take_body().into_vec().await.unwrap_or_default();
                let recorded = Recorded {
                    method: req.method().to_string(),
                    path: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|(n, v)| {
                            (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())
                        })
                        .collect(),
                    body,
                };
                state.requests.lock().unwrap().push(recorded);
                if state.stall.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                let status = poem::http::StatusCode::from_u16(state.status.load(Ordering::SeqCst))
                    .unwrap_or(poem::http::StatusCode::OK);
                let mut response = Response::builder().status(status);
                if let Some(after) = state.retry_after.lock().unwrap().clone() {
                    response = response.header("Retry-After", after);
                }
                if let Some(location) = state.location.lock().unwrap().clone() {
                    response = response.header("Location", location);
                }
                response.body("")
            }
        });
        let server = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(endpoint).await;
        });
        WebhookSink { port, shared, server }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answer every following request with `status`.
    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Answer every following request with this `Retry-After` (or none).
    pub fn set_retry_after(&self, value: Option<&str>) {
        *self.shared.retry_after.lock().unwrap() = value.map(String::from);
    }

    /// Answer every following request with this `Location` (or none).
    pub fn set_location(&self, value: Option<&str>) {
        *self.shared.location.lock().unwrap() = value.map(String::from);
    }

    /// Accept every following request (recorded once its body arrived) and never answer it.
    pub fn stall(&self) {
        self.shared.stall.store(true, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// Waits until at least `n` requests arrived (or panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("expected {n} requests, got {}", requests.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server.
    pub async fn stop(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}
