//! The notification transports against in-process receivers: SMTP (lettre -> a loopback SMTP
//! sink), webhooks (reqwest -> a loopback HTTP receiver) and the log transport.

#[path = "support/smtp_sink.rs"]
mod smtp_sink;
#[path = "support/standard_webhooks.rs"]
mod standard_webhooks;
#[path = "support/webhook_sink.rs"]
mod webhook_sink;

use std::collections::HashSet;
use std::time::Duration;

use bookings::notify::ical::{self, IcalEvent, IcalStatus, Party};
use bookings::notify::log::LogTransport;
use bookings::notify::smtp::{SmtpTimeouts, SmtpTransport};
use bookings::notify::transport::{SendError, Transport};
use bookings::notify::webhook::{self, Answer, WebhookTransport};
use bookings::notify::{Channel, Message};
use chrono::{TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use smtp_sink::SmtpSink;
use webhook_sink::WebhookSink;

const FROM: &str = "Bookings <bookings@localhost>";
const SECRET: &str = "webhook-secret-0123456789";
const WAIT: Duration = Duration::from_secs(10);
/// How long a test waits for a send that the transport's own (much shorter) timeouts must end.
const BOUND: Duration = Duration::from_secs(20);

fn email(to: &str) -> Message {
    let id = bookings::domain::ids::NotificationId::new();
    Message {
        id,
        key: format!("confirmation:{id}:{to}"),
        rule: "confirmation".into(),
        channel: Channel::Email,
        to: Some(to.into()),
        subject: "Your booking is confirmed — Grüße".into(),
        text: "Hello,\nyour booking is confirmed.\n.\nA line with a dot.".into(),
        html: "<p>Hello,</p><p>your booking is <b>confirmed</b>.</p>".into(),
        ical: None,
        payload: serde_json::Value::Null,
    }
}

fn webhook_message() -> Message {
    let id = bookings::domain::ids::NotificationId::new();
    Message {
        id,
        key: format!("booking.created:{id}:webhook"),
        rule: "booking.created".into(),
        channel: Channel::Webhook,
        to: None,
        subject: String::new(),
        text: String::new(),
        html: String::new(),
        ical: None,
        payload: json!({"type": "booking.created", "timestamp": "2030-01-01T00:00:00.000Z", "data": {"booking": {"id": id, "name": "Zoë"}}}),
    }
}

fn invite() -> String {
    let start = Utc.with_ymd_and_hms(2025, 5, 20, 4, 15, 0).unwrap();
    ical::render(
        &IcalEvent {
            uid: "b-1@bookings".into(),
            start,
            end: start + chrono::Duration::minutes(30),
            tz: chrono_tz::Asia::Kathmandu,
            summary: "Intro call; with notes, and a very long summary that needs folding at seventy-five octets".into(),
            description: Some("Line 1\nLine 2".into()),
            location: None,
            organizer: Party::new("coach@example.com", None),
            attendees: vec![Party::new("guest@example.com", Some("Zoë".into()))],
            sequence: 0,
            status: IcalStatus::Confirmed,
        },
        Utc::now(),
    )
}

async fn smtp(sink: &SmtpSink) -> SmtpTransport {
    SmtpTransport::new(&sink.url(), FROM).expect("a valid SMTP configuration")
}

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

// ---------------------------------------------------------------------------------------------
// SMTP

#[tokio::test]
async fn smtp_delivers_text_html_and_ical_once() {
    let sink = SmtpSink::start().await;
    let transport = smtp(&sink).await;
    let mut message = email("guest@example.com");
    let ics = invite();
    message.ical = Some(ics.clone());

    transport.send(&message).await.expect("sent");

    let received = sink.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.messages().len(), 1, "exactly once");
    let r = &received[0];
    assert_eq!(r.from, "bookings@localhost");
    assert_eq!(r.to, ["guest@example.com"]);
    assert_eq!(r.header("X-Idempotency-Key").as_deref(), Some(message.id.to_string().as_str()));

    let parsed = MessageParser::default().parse(r.data.as_bytes()).expect("a parsable email");
    assert_eq!(parsed.subject(), Some(message.subject.as_str()));
    assert_eq!(parsed.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("guest@example.com"));
    assert_eq!(parsed.from().and_then(|a| a.first()).and_then(|a| a.name()), Some("Bookings"));
    assert_eq!(parsed.message_id(), Some(format!("{}@localhost", message.id).as_str()));
    let root = parsed.content_type().expect("a content type");
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("mixed")));
    assert!(parsed.parts.iter().any(|p| p.is_content_type("multipart", "alternative")), "a multipart/alternative part");
    assert_eq!(parsed.body_text(0).unwrap().replace("\r\n", "\n").trim_end(), message.text);
    assert_eq!(parsed.body_html(0).unwrap().trim_end(), message.html);

    let attachments: Vec<_> = parsed.attachments().collect();
    assert_eq!(attachments.len(), 1);
    let a = attachments[0];
    assert_eq!(a.attachment_name(), Some("invite.ics"));
    let ct = a.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("calendar")));
    assert_eq!(ct.attribute("charset").map(str::to_ascii_lowercase).as_deref(), Some("utf-8"));
    assert_eq!(ct.attribute("method"), Some("REQUEST"));
    assert_eq!(std::str::from_utf8(a.contents()).unwrap(), ics, "the iCalendar document, byte for byte");
}

#[tokio::test]
async fn smtp_without_ical_is_multipart_alternative() {
    let sink = SmtpSink::start().await;
    let transport = smtp(&sink).await;
    transport.send(&email("guest@example.com")).await.expect("sent");
    let r = &sink.wait_for(1, WAIT).await[0];
    let parsed = MessageParser::default().parse(r.data.as_bytes()).unwrap();
    let root = parsed.content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("alternative")));
    assert_eq!(parsed.attachments().count(), 0);
}

#[tokio::test]
async fn smtp_fifty_concurrent_messages_arrive_once_over_pooled_connections() {
    let sink = SmtpSink::start().await;
    let transport = std::sync::Arc::new(smtp(&sink).await);
    let messages: Vec<Message> = (0..50).map(|i| email(&format!("guest{i}@example.com"))).collect();

    let mut tasks = tokio::task::JoinSet::new();
    for m in messages.clone() {
        let t = transport.clone();
        tasks.spawn(async move { t.send(&m).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().expect("sent");
    }

    let received = sink.wait_for(50, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.messages().len(), 50);
    let keys: HashSet<String> = received.iter().map(|r| r.header("X-Idempotency-Key").unwrap()).collect();
    let ids: HashSet<String> = messages.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(keys, ids, "each message exactly once");
    let rcpts: HashSet<String> = received.iter().flat_map(|r| r.to.clone()).collect();
    assert_eq!(rcpts.len(), 50);
    assert!(
        sink.connections() <= bookings::notify::smtp::DEFAULT_MAX_CONNECTIONS as usize,
        "connections are pooled and bounded: {}",
        sink.connections()
    );
}

#[tokio::test]
async fn smtp_sequential_messages_reuse_pooled_connections() {
    let sink = SmtpSink::start().await;
    let transport = smtp(&sink).await;
    for i in 0..10 {
        transport.send(&email(&format!("g{i}@example.com"))).await.expect("sent");
    }
    assert_eq!(sink.messages().len(), 10);
    // lettre hands a used connection back to the pool from a spawned task, so the second send may
    // open a second connection before the first is back; after that they are reused.
    assert!(sink.connections() <= 2, "pooled connections are reused: {}", sink.connections());
}

#[tokio::test]
async fn smtp_down_is_transient_and_sending_resumes_when_it_is_back() {
    let sink = SmtpSink::start().await;
    let transport = smtp(&sink).await;
    transport.send(&email("a@example.com")).await.expect("sent while up");

    sink.stop().await;
    let err = transport.send(&email("b@example.com")).await.expect_err("the server is down");
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");

    sink.restart().await;
    transport.send(&email("c@example.com")).await.expect("sent after the restart");
    let to: Vec<String> = sink.messages().iter().flat_map(|r| r.to.clone()).collect();
    assert_eq!(to, ["a@example.com", "c@example.com"]);
}

#[tokio::test]
async fn smtp_nothing_listening_is_transient() {
    let transport = SmtpTransport::new(&format!("smtp://127.0.0.1:{}", closed_port().await), FROM).unwrap();
    let err = transport.send(&email("a@example.com")).await.unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn smtp_550_recipient_is_permanent() {
    let sink = SmtpSink::start().await;
    sink.reject_recipient("nobody@example.com", 550);
    let transport = smtp(&sink).await;
    let err = transport.send(&email("nobody@example.com")).await.unwrap_err();
    assert!(matches!(&err, SendError::Permanent(m) if m.contains("550")), "{err:?}");
    // The connection stays usable for the next message.
    transport.send(&email("somebody@example.com")).await.expect("sent");
    let to: Vec<String> = sink.messages().iter().flat_map(|r| r.to.clone()).collect();
    assert_eq!(to, ["somebody@example.com"]);
}

#[tokio::test]
async fn smtp_451_recipient_is_transient() {
    let sink = SmtpSink::start().await;
    sink.reject_recipient("greylisted@example.com", 451);
    let transport = smtp(&sink).await;
    let err = transport.send(&email("greylisted@example.com")).await.unwrap_err();
    assert!(matches!(&err, SendError::Transient(m) if m.contains("451")), "{err:?}");
    assert!(sink.messages().is_empty());
}

/// A send that must end by itself: the transport's timeouts, not the test's, end it.
async fn bounded<T>(what: &str, send: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, send).await.unwrap_or_else(|_| panic!("{what} still hung after {BOUND:?}"))
}

#[tokio::test]
async fn smtp_a_server_that_stalls_after_ehlo_is_a_transient_failure_within_the_command_timeout() {
    let sink = SmtpSink::start().await;
    sink.stall_after_ehlo();
    let transport = smtp(&sink)
        .await
        .with_timeouts(SmtpTimeouts { command: Duration::from_millis(300), message: Duration::from_secs(120) });
    let err = bounded("a send to a stalled server", transport.send(&email("a@example.com"))).await.unwrap_err();
    assert!(matches!(&err, SendError::Transient(m) if m.contains("timed out")), "{err:?}");
    assert!(sink.stalled_commands() >= 1, "the server was reached and stalled");
    assert!(sink.messages().is_empty());

    // The stalled connection was not pooled: once the server answers again, mail flows.
    sink.stop_stalling();
    bounded("a send after the stall", transport.send(&email("b@example.com"))).await.expect("sent");
    let to: Vec<String> = sink.messages().iter().flat_map(|r| r.to.clone()).collect();
    assert_eq!(to, ["b@example.com"]);
}

#[tokio::test]
async fn smtp_the_message_timeout_bounds_a_whole_message() {
    let sink = SmtpSink::start().await;
    sink.stall_after_ehlo();
    let transport = smtp(&sink)
        .await
        .with_timeouts(SmtpTimeouts { command: Duration::from_secs(120), message: Duration::from_millis(300) });
    let err = bounded("a send to a stalled server", transport.send(&email("a@example.com"))).await.unwrap_err();
    assert!(matches!(&err, SendError::Transient(m) if m.contains("timed out after 300ms")), "{err:?}");
}

#[tokio::test]
async fn smtp_a_pooled_connection_that_stalls_is_a_transient_failure_and_not_reused() {
    let sink = SmtpSink::start().await;
    let transport = smtp(&sink)
        .await
        .with_timeouts(SmtpTimeouts { command: Duration::from_millis(300), message: Duration::from_secs(120) });
    transport.send(&email("a@example.com")).await.expect("sent");
    // The connection is pooled; now the server stops answering on it (and on any other).
    sink.stall_after_ehlo();
    let err =
        bounded("a send on a stalled pooled connection", transport.send(&email("b@example.com"))).await.unwrap_err();
    assert!(matches!(&err, SendError::Transient(m) if m.contains("timed out")), "{err:?}");
    sink.stop_stalling();
    bounded("a send after the stall", transport.send(&email("c@example.com"))).await.expect("sent");
    let to: Vec<String> = sink.messages().iter().flat_map(|r| r.to.clone()).collect();
    assert_eq!(to, ["a@example.com", "c@example.com"]);
}

#[tokio::test]
async fn smtp_bad_address_is_permanent() {
    let sink = SmtpSink::start().await;
    let transport = smtp(&sink).await;
    for bad in [Some("not an address"), Some("a@@example.com"), Some(""), None] {
        let mut m = email("x@example.com");
        m.to = bad.map(str::to_owned);
        let err = transport.send(&m).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)), "{bad:?}: {err:?}");
    }
    assert!(sink.messages().is_empty());
    assert_eq!(sink.connections(), 0, "nothing was sent");
}

#[tokio::test]
async fn smtp_invalid_configuration_is_an_error_without_the_password() {
    for url in [
        "smtp//nohost",
        "https://user:s3cr3t-pass@mail.example.com",
        "smtp://user:s3cr3t-pass@mail.example.com?tls=maybe",
    ] {
        let err = SmtpTransport::new(url, FROM).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("SMTP_URL"), "{text}");
        assert!(!text.contains("s3cr3t-pass"), "password leaked: {text}");
    }
    let err = SmtpTransport::new("smtp://127.0.0.1:2525", "Bookings <not an address>").unwrap_err();
    assert!(format!("{err:#}").contains("SMTP_FROM"));
    assert!(SmtpTransport::new("smtp://user:pw@mail.example.com:587?tls=required", FROM).is_ok());
    assert!(SmtpTransport::new("smtps://user:pw@mail.example.com:465", FROM).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Webhooks

#[tokio::test]
async fn webhook_posts_signed_json_with_idempotency_headers() {
    let sink = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![sink.url("/hooks/bookings")], SECRET.into()).unwrap();
    let message = webhook_message();

    transport.send(&message).await.expect("delivered");

    let requests = sink.wait_for(1, WAIT).await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hooks/bookings");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), message.payload);
    let id = message.id.to_string();
    assert_eq!(r.header("x-webhook-id"), Some(id.as_str()));
    assert_eq!(r.header("idempotency-key"), Some(id.as_str()));

    let ts: i64 = r.header("x-webhook-timestamp").unwrap().parse().expect("unix seconds");
    assert!((Utc::now().timestamp() - ts).abs() < 60);
    let signature = r.header("x-webhook-signature").unwrap();
    assert!(signature.starts_with("v1="));
    assert_eq!(signature, webhook::sign(SECRET, ts, &r.body));
    assert!(webhook::verify(SECRET, ts, &r.body, signature));
    assert!(webhook::verify_fresh(SECRET, ts, &r.body, signature, Utc::now().timestamp(), 300));

    let mut tampered = r.body.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 0x01;
    assert!(!webhook::verify(SECRET, ts, &tampered, signature), "tampered body");
    assert!(!webhook::verify(SECRET, ts + 1, &r.body, signature), "other timestamp");
    assert!(!webhook::verify("another-secret-0123456789", ts, &r.body, signature), "other secret");

    // Standard Webhooks' headers: a receiver's reference check accepts them (a raw secret is the
    // libraries' raw-key form).
    assert_eq!(r.header("webhook-id"), Some(id.as_str()));
    assert_eq!(r.header("webhook-timestamp"), Some(ts.to_string().as_str()));
    let receiver = standard_webhooks::Webhook::from_raw(SECRET.as_bytes());
    let now = Utc::now().timestamp();
    assert_eq!(receiver.verify(&r.body, |n| r.header(n), now), Ok(()));
    assert_eq!(receiver.verify(&tampered, |n| r.header(n), now), Err(standard_webhooks::Rejected::NoMatchingSignature));
}

#[tokio::test]
async fn webhook_with_a_whsec_secret_verifies_with_the_standard_libraries_check() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let sink = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![sink.url("/hook")], secret.into()).unwrap();
    let message = webhook_message();
    transport.send(&message).await.expect("delivered");
    let r = &sink.wait_for(1, WAIT).await[0];
    let now = Utc::now().timestamp();
    assert_eq!(standard_webhooks::Webhook::new(secret).verify(&r.body, |n| r.header(n), now), Ok(()));
    let other = standard_webhooks::Webhook::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(other.verify(&r.body, |n| r.header(n), now), Err(standard_webhooks::Rejected::NoMatchingSignature));
    // Today's signature is keyed by the secret as configured.
    let ts: i64 = r.header("x-webhook-timestamp").unwrap().parse().unwrap();
    assert!(webhook::verify(secret, ts, &r.body, r.header("x-webhook-signature").unwrap()));
    assert_eq!(r.json()["type"], "booking.created");
}

#[tokio::test]
async fn webhook_redirects_are_failures_and_never_followed() {
    let target = WebhookSink::start().await;
    let redirecting = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![redirecting.url("/old")], SECRET.into()).unwrap();
    for status in [301, 302, 307, 308] {
        redirecting.set_status(status);
        redirecting.set_location(Some(&target.url("/new")));
        let err = transport.send(&webhook_message()).await.unwrap_err();
        assert!(matches!(&err, SendError::Permanent(m) if m.contains(&status.to_string())), "{status}: {err:?}");
    }
    assert_eq!(redirecting.requests().len(), 4);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(target.requests().is_empty(), "the redirect was not followed");
}

#[tokio::test]
async fn webhook_answers_carry_status_retry_after_and_gone() {
    let sink = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![sink.url("/hook")], SECRET.into()).unwrap();
    let all = transport.endpoints().iter().map(|e| e.id.clone()).collect();
    let ts = Utc::now().timestamp();
    for (status, retry_after, answer, honoured) in [
        (429, Some("120"), Answer::Transient, Some(120)),
        (503, Some("7"), Answer::Transient, Some(7)),
        // Only a 429's or a 503's Retry-After counts.
        (500, Some("120"), Answer::Transient, None),
        (410, None, Answer::Gone, None),
        (200, None, Answer::Delivered, None),
    ] {
        sink.set_status(status);
        sink.set_retry_after(retry_after);
        let posted = transport.deliver(&webhook_message(), &all, ts).await;
        assert_eq!(posted.len(), 1);
        let p = &posted[0];
        assert_eq!((p.status, p.answer), (Some(status), answer), "{status}");
        assert_eq!(p.retry_after, honoured.map(Duration::from_secs), "{status}");
        assert_eq!(p.error.is_none(), answer == Answer::Delivered, "{status}");
    }
    // Only the endpoints asked for are posted to.
    let before = sink.requests().len();
    assert!(transport.deliver(&webhook_message(), &Default::default(), ts).await.is_empty());
    assert_eq!(sink.requests().len(), before);
}

#[tokio::test]
async fn webhook_every_url_gets_every_message() {
    let a = WebhookSink::start().await;
    let b = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![a.url("/a"), b.url("/b")], SECRET.into()).unwrap();
    let m1 = webhook_message();
    let m2 = webhook_message();
    transport.send(&m1).await.unwrap();
    transport.send(&m2).await.unwrap();
    for sink in [&a, &b] {
        let keys: Vec<String> =
            sink.wait_for(2, WAIT).await.iter().map(|r| r.header("idempotency-key").unwrap().to_owned()).collect();
        assert_eq!(keys, [m1.id.to_string(), m2.id.to_string()]);
    }
}

#[tokio::test]
async fn webhook_5xx_408_429_are_transient() {
    let sink = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![sink.url("/")], SECRET.into()).unwrap();
    for status in [500, 503, 408, 429] {
        sink.set_status(status);
        let err = transport.send(&webhook_message()).await.unwrap_err();
        assert!(matches!(&err, SendError::Transient(m) if m.contains(&status.to_string())), "{status}: {err:?}");
    }
}

#[tokio::test]
async fn webhook_404_is_permanent() {
    let sink = WebhookSink::start().await;
    let transport = WebhookTransport::new(vec![sink.url("/missing")], SECRET.into()).unwrap();
    for status in [404, 400, 410] {
        sink.set_status(status);
        let err = transport.send(&webhook_message()).await.unwrap_err();
        assert!(matches!(&err, SendError::Permanent(m) if m.contains(&status.to_string())), "{status}: {err:?}");
    }
}

#[tokio::test]
async fn webhook_unreachable_url_is_transient() {
    let transport =
        WebhookTransport::new(vec![format!("http://127.0.0.1:{}/hook", closed_port().await)], SECRET.into()).unwrap();
    let err = transport.send(&webhook_message()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn webhook_a_receiver_that_never_answers_is_a_transient_failure_within_the_timeout() {
    let sink = WebhookSink::start().await;
    sink.stall();
    let transport =
        WebhookTransport::with_timeout(vec![sink.url("/hook")], SECRET.into(), Duration::from_millis(300)).unwrap();
    let err = bounded("a POST to a silent receiver", transport.send(&webhook_message())).await.unwrap_err();
    assert!(matches!(&err, SendError::Transient(m) if m.contains("timed out after 300ms")), "{err:?}");
    assert_eq!(sink.requests().len(), 1, "the receiver took the request and never answered");
}

#[tokio::test]
async fn webhook_one_failing_url_fails_the_send_but_the_others_still_receive_it() {
    let ok = WebhookSink::start().await;
    let failing = WebhookSink::start().await;
    failing.set_status(502);
    let transport = WebhookTransport::new(vec![ok.url("/ok"), failing.url("/down")], SECRET.into()).unwrap();
    let m = webhook_message();
    let err = transport.send(&m).await.unwrap_err();
    assert!(matches!(&err, SendError::Transient(msg) if msg.contains("1 of 2")), "{err:?}");
    assert_eq!(ok.requests().len(), 1);
    assert_eq!(failing.requests().len(), 1);

    // The retry reaches both again with the same idempotency key; receivers dedupe by it.
    failing.set_status(200);
    transport.send(&m).await.unwrap();
    let id = m.id.to_string();
    for sink in [&ok, &failing] {
        assert!(sink.requests().iter().all(|r| r.header("idempotency-key") == Some(id.as_str())));
    }
}

#[tokio::test]
async fn webhook_errors_do_not_reveal_url_paths() {
    let port = closed_port().await;
    let transport = WebhookTransport::new(
        vec![format!("http://127.0.0.1:{port}/T0000/B0000/very-secret-token?key=also-secret")],
        SECRET.into(),
    )
    .unwrap();
    let err = transport.send(&webhook_message()).await.unwrap_err().to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("very-secret-token") && !err.contains("also-secret"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Log transport

#[tokio::test]
async fn log_transport_records_what_would_be_sent() {
    let transport = LogTransport::new();
    let mut m = email("guest@example.com");
    m.ical = Some(invite());
    transport.send(&m).await.expect("always ok");
    let w = webhook_message();
    transport.send(&w).await.expect("always ok");
    assert_eq!(transport.sent(), [m, w]);
}
