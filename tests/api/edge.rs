//! The server's edge: HEAD under the rate limit and the answer cache, slow and numerous
//! connections, X-Forwarded-For behind trusted proxies, hyper's own 414/431 in the envelope, and
//! the answer cache agreeing with the handler on how a query reads.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Generous: the server's limits in these tests are around a second.
const PATIENCE: Duration = Duration::from_secs(20);

fn host_port(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

/// A connection from a given loopback address (all of 127/8 reaches the server on Linux).
async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(host_port(app).parse().unwrap()).await.unwrap()
}

/// An answer read off a raw connection until the server closes it.
#[derive(Debug)]
struct RawReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    text: String,
}

impl RawReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Asserts the body is the Error envelope whose requestId is the x-request-id.
    #[track_caller]
    fn error(&self) -> &Value {
        for field in ["code", "message", "endpoint", "requestId"] {
            assert!(self.body[field].is_string(), "error envelope lacks {field}: {}", self.text);
        }
        assert_eq!(self.body["requestId"].as_str(), self.header("x-request-id"), "{}", self.text);
        assert!(self.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{:?}", self.headers);
        &self.body
    }
}

async fn read_reply(stream: &mut TcpStream) -> RawReply {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut bytes)).await.expect("the server closes").expect("read");
    let text = String::from_utf8_lossy(&bytes).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawReply { status, headers, body: serde_json::from_str(body).unwrap_or(Value::Null), text }
}

async fn raw_exchange(app: &TestApp, request: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(host_port(app)).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_reply(&mut stream).await
}

/// Waits until the server closes `stream` (end of stream or a reset), failing after PATIENCE.
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
}

async fn healthz_from(app: &TestApp, source: &str) -> RawReply {
    let mut stream = connect_from(app, source).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    read_reply(&mut stream).await
}

/// A booking link open on Mondays 09:00-12:00 UTC.
async fn monday_link(app: &TestApp) -> String {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let body = json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}});
    let r = app.create_link(&owner, cal, body).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
}

/// Runs `test` on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set, with `args`.
macro_rules! on_both_backends {
    ($name:ident, $args:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, $args).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::helpers::pg_url().is_none() {
                    eprintln!("skipped: TEST_DATABASE_URL is not set");
                    return;
                }
                super::$name(crate::helpers::spawn_app_with(crate::helpers::Backend::Postgres, $args).await).await;
            }
        }
    };
}

// ---- HEAD

async fn head_is_limited_and_answered_like_get(app: TestApp) {
    let token = monday_link(&app).await;
    let path = format!("/v1/booking/{token}/availability?start=2030-03-04T00%3A00%3A00Z&end=2030-03-05T00%3A00%3A00Z");
    let got = app.get(&path, None).await.expect(200);
    assert_eq!(got.body["slots"].as_array().map(Vec::len), Some(6), "{}", got.text);
    // Served from the cached answer (or computed as the GET): the GET's headers, no body.
    for _ in 0..3 {
        let head = app.send(Method::HEAD, &path, None, None).await.expect(200);
        assert_eq!(head.text, "");
        assert_eq!(
            head.headers.get("content-length").and_then(|v| v.to_str().ok()),
            Some(got.text.len().to_string().as_str()),
            "{:?}",
            head.headers
        );
    }
    // The burst of 4 is spent: HEAD and GET alike are refused.
    let head = app.send(Method::HEAD, &path, None, None).await.expect(429);
    assert!(head.headers.contains_key("retry-after"));
    app.get(&path, None).await.expect(429);
}
on_both_backends!(head_is_limited_and_answered_like_get, &["--public-rate-limit", "1", "--public-rate-burst", "4"]);

// ---- the answer cache serves

/// The `Cache-Status` (RFC 9211) of a reply.
fn cache_status(reply: &crate::helpers::Reply) -> Option<String> {
    reply.headers.get("cache-status").and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn a_repeated_availability_request_is_served_from_the_cache(app: TestApp) {
    let token = monday_link(&app).await;
    let query = "start=2030-03-04T00:00:00Z&end=2030-03-11T00:00:00Z";
    // Computed; kept from the second time it is asked for; then served.
    let first = app.get_booking_availability(&token, query).await.expect(200);
    assert_eq!(cache_status(&first).as_deref(), Some("bookings; fwd=miss"), "{:?}", first.headers);
    let again = app.get_booking_availability(&token, query).await.expect(200);
    assert_eq!(cache_status(&again).as_deref(), Some("bookings; fwd=miss; stored"), "{:?}", again.headers);
    let second = app.get_booking_availability(&token, query).await.expect(200);
    assert_eq!(cache_status(&second).as_deref(), Some("bookings; hit"), "{:?}", second.headers);
    assert_eq!(second.text, first.text);
    assert_eq!(again.text, first.text);
    assert_eq!(second.headers.get("content-type"), first.headers.get("content-type"));
    // A reservation through this process retires the answer at once.
    app.reserve(&token, "2030-03-04T09:00:00Z", "2030-03-04T09:30:00Z").await.expect(200);
    let third = app.get_booking_availability(&token, query).await.expect(200);
    assert_eq!(cache_status(&third).as_deref(), Some("bookings; fwd=miss; stored"), "{:?}", third.headers);
    assert_eq!(third.body["slots"].as_array().map(Vec::len), first.body["slots"].as_array().map(|s| s.len() - 1));
    // A range starting before now plus the cache's time to live (a second) is always computed:
    // a slot of it could pass meanwhile.
    let soon = chrono::Utc::now().format("%Y-%m-%dT%H:00:00Z").to_string();
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT%H:00:00Z").to_string();
    let near = app.availability(&token, &soon, &later).await.expect(200);
    assert_eq!(cache_status(&near), None, "{:?}", near.headers);
}
on_both_backends!(a_repeated_availability_request_is_served_from_the_cache, &[]);

// ---- the answer cache reads a query as the handler does

async fn a_raw_plus_answers_the_same_whether_or_not_cached(app: TestApp) {
    let token = monday_link(&app).await;
    // `+` in a query is a space: `2030-03-04T00:00:00 01:00` is no instant.
    let raw_plus = "start=2030-03-04T00:00:00+01:00&end=2030-03-05T00:00:00Z";
    let before = app.get_booking_availability(&token, raw_plus).await.expect(400);
    // The same range, encoded, is answered and its answer cached ...
    let encoded = "start=2030-03-04T00:00:00%2B01:00&end=2030-03-05T00:00:00Z";
    app.get_booking_availability(&token, encoded).await.expect(200);
    app.get_booking_availability(&token, encoded).await.expect(200);
    // ... which changes nothing for the raw `+`.
    let after = app.get_booking_availability(&token, raw_plus).await.expect(400);
    let without_id = |v: &Value| {
        let mut v = v.clone();
        v["requestId"] = Value::Null;
        v
    };
    assert_eq!(without_id(after.error()), without_id(before.error()));
}
on_both_backends!(a_raw_plus_answers_the_same_whether_or_not_cached, &[]);

// ---- X-Forwarded-For

async fn availability_from(app: &TestApp, forwarded_for: &[&str]) -> u16 {
    let path = "/v1/booking/no-such-token/availability?start=2030-01-01T00%3A00%3A00Z&end=2030-01-02T00%3A00%3A00Z";
    let mut req = app.client.get(format!("{}{path}", app.address));
    for value in forwarded_for {
        req = req.header("x-forwarded-for", *value);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn forwarded_for_is_read_from_the_right_past_one_proxy() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &["--trusted-proxy-hops", "1", "--public-rate-limit", "1", "--public-rate-burst", "2"],
    )
    .await;
    // The proxy appends the address it saw (192.0.2.9); what the client wrote before it rotates.
    assert_eq!(availability_from(&app, &["203.0.113.1, 192.0.2.9"]).await, 404);
    assert_eq!(availability_from(&app, &["203.0.113.2, 192.0.2.9"]).await, 404);
    assert_eq!(availability_from(&app, &["203.0.113.3, 192.0.2.9"]).await, 429);
    assert_eq!(availability_from(&app, &["203.0.113.4", "192.0.2.9"]).await, 429, "header lines are one list");
    // Another client behind the same proxy has its own bucket.
    assert_eq!(availability_from(&app, &["192.0.2.9, 192.0.2.10"]).await, 404);
}

#[tokio::test]
async fn forwarded_for_skips_the_configured_hops() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &["--trusted-proxy-hops", "2", "--public-rate-limit", "1", "--public-rate-burst", "2"],
    )
    .await;
    // Two proxies: the client is the second entry from the right, whatever the last one is.
    assert_eq!(availability_from(&app, &["10.9.9.9, 192.0.2.5, 198.51.100.1"]).await, 404);
    assert_eq!(availability_from(&app, &["192.0.2.5, 198.51.100.2"]).await, 404);
    assert_eq!(availability_from(&app, &["10.8.8.8, 192.0.2.5, 198.51.100.3"]).await, 429);
    assert_eq!(availability_from(&app, &["192.0.2.5, 192.0.2.6, 198.51.100.1"]).await, 404);
    // Without the header (or with too few entries) the peer, here 127.0.0.1, is the client.
    assert_eq!(availability_from(&app, &[]).await, 404);
    assert_eq!(availability_from(&app, &["192.0.2.7"]).await, 404);
    assert_eq!(availability_from(&app, &[]).await, 429);
}

// ---- hyper's own refusals

#[tokio::test]
async fn a_too_long_uri_is_414_in_the_envelope() {
    let app = spawn_app(Backend::Sqlite).await;
    let request = format!("GET /v1/booking/{}/availability HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    let r = raw_exchange(&app, request.as_bytes()).await;
    assert_eq!(r.status, 414, "{}", r.text);
    let err = r.error();
    assert_eq!(err["code"], "validation");
    assert!(err["endpoint"].as_str().unwrap().starts_with("GET /v1/booking/aaa"), "{err}");
    assert!(err["message"].as_str().unwrap().contains("URI is too long"), "{err}");
}

#[tokio::test]
async fn too_many_headers_are_431_in_the_envelope() {
    let app = spawn_app(Backend::Sqlite).await;
    let headers: String = (0..150).map(|i| format!("x-filler-{i}: {}\r\n", "v".repeat(40))).collect();
    let request = format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{headers}\r\n");
    let r = raw_exchange(&app, request.as_bytes()).await;
    assert_eq!(r.status, 431, "{}", r.text);
    let err = r.error();
    assert_eq!(err["endpoint"], "GET /healthz");
    assert!(err["message"].as_str().unwrap().contains("headers are too large"), "{err}");
    // A malformed head is hyper's 400, in the envelope too.
    let r = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nbad header\r\n\r\n").await;
    assert_eq!(r.status, 400, "{}", r.text);
    r.error();
}

// ---- slow clients

#[tokio::test]
async fn connections_that_stall_before_the_head_ends_are_closed() {
    let app = spawn_app_with(Backend::Sqlite, &["--header-read-timeout-ms", "500"]).await;
    // A partial request line, partial headers, and nothing at all.
    let mut partial_line = TcpStream::connect(host_port(&app)).await.unwrap();
    partial_line.write_all(b"GET /heal").await.unwrap();
    let mut partial_headers = TcpStream::connect(host_port(&app)).await.unwrap();
    partial_headers.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let mut silent = TcpStream::connect(host_port(&app)).await.unwrap();
    closed_by_server(&mut partial_line).await;
    closed_by_server(&mut partial_headers).await;
    closed_by_server(&mut silent).await;

    // A byte every 100 ms keeps no connection open: the deadline is for the whole head.
    let mut dribbling = TcpStream::connect(host_port(&app)).await.unwrap();
    let dribbled = tokio::time::timeout(PATIENCE, async {
        for b in b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-long: ".iter().chain(std::iter::repeat(&b'a')) {
            if dribbling.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(dribbled.is_ok(), "the server kept a dribbling connection open");

    // A whole request on a fresh connection is answered, and the keep-alive connection is
    // closed once idle for the same time.
    let mut stream = TcpStream::connect(host_port(&app)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut bytes)).await.expect("closed when idle").ok();
    assert!(String::from_utf8_lossy(&bytes).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&bytes));
}

#[tokio::test]
async fn a_stalled_request_body_is_answered_in_the_envelope() {
    let app = spawn_app_with(Backend::Sqlite, &["--body-read-timeout-ms", "500"]).await;
    let mut stream = TcpStream::connect(host_port(&app)).await.unwrap();
    stream
        .write_all(b"POST /v1/booking/abc/reserve HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"name\": ")
        .await
        .unwrap();
    let r = read_reply(&mut stream).await;
    // reserveBookingSlot declares no 408: its 400.
    assert_eq!(r.status, 400, "{}", r.text);
    let err = r.error();
    assert_eq!(err["endpoint"], "POST /v1/booking/{token}/reserve");
    assert!(err["message"].as_str().unwrap().contains("did not arrive within 500 ms"), "{err}");
}

#[tokio::test]
async fn a_client_over_its_connection_cap_is_refused_while_others_are_served() {
    let app =
        spawn_app_with(Backend::Sqlite, &["--max-connections-per-client", "4", "--header-read-timeout-ms", "1500"])
            .await;
    // 127.0.0.1 holds its 4 connections half open ...
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(&app, "127.0.0.1").await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await.unwrap();
        held.push(stream);
    }
    // ... so its next ones are answered 429 and closed, however many it opens ...
    for _ in 0..50 {
        let mut refused = connect_from(&app, "127.0.0.1").await;
        let r = read_reply(&mut refused).await;
        assert_eq!(r.status, 429, "{}", r.text);
        assert_eq!(r.error()["code"], "tooManyRequests");
    }
    // ... while another client is served.
    let r = healthz_from(&app, "127.0.0.2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The half-open connections are closed after the header timeout, which frees their places.
    for stream in &mut held {
        closed_by_server(stream).await;
    }
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            let r = healthz_from(&app, "127.0.0.1").await;
            if r.status == 200 {
                return r;
            }
            // The server counts a connection out when its task ends, just after it closes.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "127.0.0.1 is not served again");
}
