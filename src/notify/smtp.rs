//! Email over SMTP (lettre, tokio, rustls; pooled connections).
//!
//! The connections are ours, not lettre's pooled transport: lettre writes a message's body and
//! its closing `.` line as two writes, and without `TCP_NODELAY` Nagle's algorithm holds the
//! second one until the server acknowledges the first, which a server delays (40 ms on Linux).
//! That capped a connection at ~25 messages a second. Plain and STARTTLS connections are opened
//! here with `TCP_NODELAY`; implicit TLS (`smtps://`) still goes through lettre's connector.
//!
//! `SMTP_URL` forms:
//! - `smtp://127.0.0.1:2525` — plain, no TLS (for loopback sinks and local relays);
//! - `smtp://user:pass@host:587?tls=required` — STARTTLS (`tls=opportunistic` also accepted);
//! - `smtps://user:pass@host:465` — implicit TLS.
//!
//! Credentials in the URL are percent-decoded; the password never appears in errors or logs.
//!
//! Each message is `multipart/alternative` (text + HTML); with an iCalendar document it becomes
//! `multipart/mixed` with the alternative part plus `invite.ics`
//! (`text/calendar; method=REQUEST; charset=UTF-8`, the method being the document's own
//! `METHOD`: `CANCEL` for a cancellation, as Gmail and Outlook need to act on it).
//! Every email carries `X-Idempotency-Key: <message id>` and `Message-ID: <message id@sender domain>`
//! (both stable across retries of the same message).
//!
//! Errors: 5xx replies and unusable recipient addresses are permanent; 4xx replies, connection
//! failures, timeouts and TLS failures are transient.
//!
//! Timeouts ([`SmtpTimeouts`]): connecting, and every read and write on a plain or STARTTLS
//! connection (so every command's reply, the greeting and the message body), fail after the
//! command timeout without progress; and a whole message (a pooled connection, or a new one with
//! its greeting, EHLO, TLS and AUTH, then MAIL, RCPT, DATA and the body) fails after the message
//! timeout. A server that stalls mid-conversation so costs at most that long, the message is a
//! transient failure (retried later) and the stalled connection is dropped, never pooled. With
//! implicit TLS (`smtps://`) lettre's connector opens the stream, so there the command timeout
//! bounds connecting through EHLO as a whole, and the message timeout the rest.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::message::header::{ContentDisposition, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;

use super::transport::{error_chain, SendError, Transport};
use super::Message;

/// Default timeout of connecting and of each SMTP command (`SMTP_TIMEOUT`).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of one whole message, connecting included (`SMTP_MESSAGE_TIMEOUT`).
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a stalled SMTP server can hold a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpTimeouts {
    /// Connecting, and each read or write of a conversation (each command's reply).
    pub command: Duration,
    /// One message from start to end.
    pub message: Duration,
}

impl Default for SmtpTimeouts {
    fn default() -> Self {
        Self { command: TIMEOUT, message: MESSAGE_TIMEOUT }
    }
}
/// Default limit of simultaneous SMTP connections (and of pooled idle ones).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// Header carrying the message id, for receivers that dedupe.
pub const IDEMPOTENCY_HEADER: &str = "X-Idempotency-Key";
/// File name of the iCalendar attachment.
pub const ICAL_FILENAME: &str = "invite.ics";

#[derive(Clone)]
pub struct SmtpTransport {
    connector: Arc<Connector>,
    from: Mailbox,
    /// `scheme://host:port`, for logs.
    endpoint: String,
    permits: Arc<Semaphore>,
    idle: Arc<Mutex<Vec<(AsyncSmtpConnection, Instant)>>>,
    max_idle: usize,
    timeouts: SmtpTimeouts,
}

/// How connections are made.
struct Connector {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
}

enum Security {
    Plain,
    StartTls { required: bool },
    Implicit,
}

/// An idle connection older than this is closed rather than reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A TCP stream whose every read and write fails with `TimedOut` after the command timeout
/// without progress. lettre awaits each reply with a read, so this bounds each command; TLS
/// (STARTTLS) runs on top of it, so it bounds those reads too. No timer runs while a pooled
/// connection sits idle: only a pending read or write is timed.
#[derive(Debug)]
struct CommandTimeoutStream(std::pin::Pin<Box<TimeoutStream<tokio::net::TcpStream>>>);

impl CommandTimeoutStream {
    fn new(stream: tokio::net::TcpStream, timeout: Duration) -> Self {
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(timeout));
        stream.set_write_timeout(Some(timeout));
        Self(Box::pin(stream))
    }
}

impl AsyncRead for CommandTimeoutStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for CommandTimeoutStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_shutdown(cx)
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for CommandTimeoutStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

impl Connector {
    /// A new connection, greeted, secured and authenticated as configured.
    async fn connect(&self, endpoint: &str, timeout: Duration) -> Result<AsyncSmtpConnection, SendError> {
        let smtp = |e: lettre::transport::smtp::Error| map_error(&e, endpoint);
        let io = |what: String| SendError::Transient(format!("SMTP {endpoint}: {what}"));
        let tls = || TlsParameters::new(self.host.clone()).map_err(smtp);
        let mut connection = match self.security {
            Security::Implicit => {
                let connected = AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(timeout),
                    &self.hello,
                    Some(tls()?),
                    None,
                );
                tokio::time::timeout(timeout, connected)
                    .await
                    .map_err(|_| io(format!("timed out after {timeout:?} connecting (TLS, greeting, EHLO)")))?
                    .map_err(smtp)?
            }
            Security::Plain | Security::StartTls { .. } => {
                let stream =
                    tokio::time::timeout(timeout, tokio::net::TcpStream::connect((self.host.as_str(), self.port)))
                        .await
                        .map_err(|_| io("connecting timed out".into()))?
                        .map_err(|e| io(format!("cannot connect: {e}")))?;
                stream.set_nodelay(true).map_err(|e| io(format!("cannot set TCP_NODELAY: {e}")))?;
                let stream = CommandTimeoutStream::new(stream, timeout);
                let greeted = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello);
                let mut connection = tokio::time::timeout(timeout, greeted)
                    .await
                    .map_err(|_| io("timed out waiting for the greeting".into()))?
                    .map_err(smtp)?;
                if let Security::StartTls { required } = self.security {
                    let offered = connection.server_info().supports_feature(Extension::StartTls);
                    if offered || required {
                        connection.starttls(tls()?, &self.hello).await.map_err(smtp)?;
                    }
                }
                connection
            }
        };
        if let Some(credentials) = &self.credentials {
            connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await.map_err(smtp)?;
        }
        Ok(connection)
    }
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport").field("endpoint", &self.endpoint).field("from", &self.from.to_string()).finish()
    }
}

impl SmtpTransport {
    /// Validates `url` (`SMTP_URL`) and `from` (`SMTP_FROM`, e.g. `Bookings <bookings@localhost>`).
    /// Must be called inside a tokio runtime (the pool runs a cleanup task).
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        Self::with_max_connections(url, from, DEFAULT_MAX_CONNECTIONS)
    }

    /// [`SmtpTransport::new`] with a limit of simultaneous connections (at least 1).
    pub fn with_max_connections(url: &str, from: &str, max_connections: u32) -> anyhow::Result<Self> {
        let max_connections = max_connections.max(1);
        let from: Mailbox = from.trim().parse().map_err(|e| {
            anyhow::anyhow!("SMTP_FROM {from:?} is not a valid sender (expected `Name <address>` or `address`): {e}")
        })?;

        let parsed = url::Url::parse(url.trim()).map_err(|e| anyhow::anyhow!("SMTP_URL is not a valid URL: {e}"))?;
        let password = parsed.password().map(str::to_owned);
        let scrub = |s: String| match &password {
            Some(p) if !p.is_empty() => s.replace(p.as_str(), "***"),
            _ => s,
        };
        let scheme = parsed.scheme();
        if scheme != "smtp" && scheme != "smtps" {
            anyhow::bail!("SMTP_URL must start with smtp:// or smtps://, not {scheme}://");
        }
        let host = match parsed.host_str() {
            Some(h) if !h.is_empty() => h.to_owned(),
            _ => anyhow::bail!("SMTP_URL has no host"),
        };
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        if scheme == "smtp" {
            match tls.as_deref() {
                None | Some("required") | Some("opportunistic") => {}
                Some(other) => anyhow::bail!(
                    "SMTP_URL: unknown tls={} (use tls=required for STARTTLS, or smtps:// for implicit TLS)",
                    scrub(other.to_owned())
                ),
            }
        }
        let default_port = match (scheme, tls.as_deref()) {
            ("smtps", _) => 465,
            ("smtp", Some(_)) => 587,
            _ => 25,
        };
        let port = parsed.port().unwrap_or(default_port);
        let endpoint = format!("{scheme}://{host}:{port}");
        if scheme == "smtp" && tls.is_none() && password.is_some() && !is_loopback(&host) {
            tracing::warn!(endpoint = %endpoint, "SMTP_URL has credentials but no TLS; use ?tls=required or smtps://");
        }

        if tokio::runtime::Handle::try_current().is_err() {
            anyhow::bail!("SmtpTransport::new must be called inside a tokio runtime");
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = (!parsed.username().is_empty())
            .then(|| Credentials::new(decode(parsed.username()), decode(parsed.password().unwrap_or_default())));
        let security = match (scheme, tls.as_deref()) {
            ("smtps", _) => Security::Implicit,
            (_, Some("required")) => Security::StartTls { required: true },
            (_, Some(_)) => Security::StartTls { required: false },
            _ => Security::Plain,
        };
        let host = host.trim_matches(|c| c == '[' || c == ']').to_owned();
        let connector = Connector { host, port, security, credentials, hello: ClientId::default() };
        Ok(Self {
            connector: Arc::new(connector),
            from,
            endpoint,
            permits: Arc::new(Semaphore::new(max_connections as usize)),
            idle: Arc::new(Mutex::new(Vec::new())),
            max_idle: max_connections as usize,
            timeouts: SmtpTimeouts::default(),
        })
    }

    /// The same transport with these timeouts (`SMTP_TIMEOUT`, `SMTP_MESSAGE_TIMEOUT`).
    pub fn with_timeouts(mut self, timeouts: SmtpTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// A pooled connection young enough to reuse, if any.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((connection, since)) = idle.pop() {
            if since.elapsed() < IDLE_TIMEOUT {
                return Some(connection);
            }
            drop(connection);
        }
        None
    }

    fn put_idle(&self, connection: AsyncSmtpConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max_idle {
                idle.push((connection, Instant::now()));
            }
        }
    }

    /// `scheme://host:port` of the server (no credentials).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Builds the email for `message` (what [`Transport::send`] sends).
    pub fn build_email(&self, message: &Message) -> Result<lettre::Message, SendError> {
        let to_raw = message
            .to
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SendError::Permanent("email message without a recipient".into()))?;
        let to: Mailbox =
            to_raw.parse().map_err(|e| SendError::Permanent(format!("invalid recipient address {to_raw:?}: {e}")))?;

        let alternative = MultiPart::alternative_plain_html(message.text.clone(), message.html.clone());
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            // Stable across retries of the same outbox row (some receivers drop duplicates by it).
            .message_id(Some(format!("<{}@{}>", message.id, self.from.email.domain())))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER), message.id.to_string()));
        let built = match &message.ical {
            None => builder.multipart(alternative),
            Some(ics) => {
                let attachment = SinglePart::builder()
                    .header(ContentDisposition::attachment(ICAL_FILENAME))
                    .header(CalendarContentType(ical_method(ics).to_string()))
                    .body(ics.clone());
                builder.multipart(MultiPart::mixed().multipart(alternative).singlepart(attachment))
            }
        };
        built.map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))
    }
}

impl Transport for SmtpTransport {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let email = self.build_email(message)?;
        let (envelope, bytes) = (email.envelope().clone(), email.formatted());
        let _permit =
            self.permits.acquire().await.map_err(|_| SendError::Transient("SMTP transport is shut down".into()))?;
        // Waiting for a permit is queueing, not sending: the message timeout starts here. When it
        // runs out, the connection in use is dropped with the future, so it is never pooled.
        let limit = self.timeouts.message;
        let outcome = tokio::time::timeout(limit, self.send_bytes(&envelope, &bytes)).await.unwrap_or_else(|_| {
            Err(SendError::Transient(format!("SMTP {}: timed out after {limit:?} sending the message", self.endpoint)))
        });
        match outcome {
            Ok(response) => {
                tracing::debug!(
                    message_id = %message.id,
                    rule = %message.rule,
                    endpoint = %self.endpoint,
                    code = %response.code(),
                    "email accepted by the SMTP server"
                );
                Ok(())
            }
            Err(error) => {
                tracing::warn!(message_id = %message.id, rule = %message.rule, error = %error, "email not sent");
                Err(error)
            }
        }
    }
}

impl SmtpTransport {
    /// Sends on a pooled connection, or on a new one; a good connection goes back to the pool.
    async fn send_bytes(
        &self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<lettre::transport::smtp::response::Response, SendError> {
        let mut outcome = None;
        if let Some(mut connection) = self.take_idle() {
            match connection.send(envelope, bytes).await {
                Ok(response) => {
                    self.put_idle(connection);
                    outcome = Some(Ok(response));
                }
                // A reply from the server counts, and so does a timeout (the server may have taken
                // the message and stalled after); a pooled connection that the server closed
                // meanwhile fails without either, and the message goes once more on a new one.
                Err(e) if e.is_response() || e.is_timeout() => {
                    connection.abort().await;
                    outcome = Some(Err(map_error(&e, &self.endpoint)));
                }
                Err(_) => connection.abort().await,
            }
        }
        match outcome {
            Some(outcome) => outcome,
            None => match self.connector.connect(&self.endpoint, self.timeouts.command).await {
                Err(e) => Err(e),
                Ok(mut connection) => match connection.send(envelope, bytes).await {
                    Ok(response) => {
                        self.put_idle(connection);
                        Ok(response)
                    }
                    Err(e) => {
                        connection.abort().await;
                        Err(map_error(&e, &self.endpoint))
                    }
                },
            },
        }
    }
}

/// 5xx replies are permanent; everything else (4xx, connection, timeout, TLS, protocol) transient.
fn map_error(e: &lettre::transport::smtp::Error, endpoint: &str) -> SendError {
    let what = error_chain(e);
    if e.is_permanent() {
        SendError::Permanent(format!("SMTP {endpoint}: {what}"))
    } else if e.is_timeout() {
        SendError::Transient(format!("SMTP {endpoint}: timed out: {what}"))
    } else {
        SendError::Transient(format!("SMTP {endpoint}: {what}"))
    }
}

/// The iCalendar part's `Content-Type: text/calendar; method=<METHOD>; charset=UTF-8`, written
/// as is: lettre's `ContentType` goes through the `mime` crate, which lowercases the charset,
/// and some clients (and checkers) look for `charset=UTF-8` as RFC 6047's examples spell it.
#[derive(Debug, Clone)]
struct CalendarContentType(String);

impl Header for CalendarContentType {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Type")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let method = s.split(';').find_map(|p| p.trim().strip_prefix("method=")).ok_or("no method")?;
        Ok(Self(method.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("text/calendar; method={}; charset=UTF-8", self.0))
    }
}

/// The iTIP method of an iCalendar document (`METHOD:` of the VCALENDAR), `PUBLISH` if absent.
fn ical_method(ics: &str) -> &str {
    ics.lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix("METHOD:"))
        .map(str::trim)
        .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or("PUBLISH")
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_matches(|c| c == '[' || c == ']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Channel;

    fn message(to: &str, ical: Option<&str>) -> Message {
        Message {
            id: crate::domain::ids::NotificationId::new(),
            key: "k".into(),
            rule: "confirmation".into(),
            channel: Channel::Email,
            to: Some(to.into()),
            subject: "Your booking".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
            ical: ical.map(str::to_owned),
            payload: serde_json::Value::Null,
        }
    }

    #[tokio::test]
    async fn validates_url_and_from_without_leaking_the_password() {
        assert!(SmtpTransport::new("smtp://127.0.0.1:2525", "Bookings <bookings@localhost>").is_ok());
        assert!(SmtpTransport::new("smtp://user:pw@smtp.example.com:587?tls=required", "bookings@example.com").is_ok());
        let t = SmtpTransport::new("smtps://user:pw@smtp.example.com", "bookings@example.com").unwrap();
        assert_eq!(t.endpoint(), "smtps://smtp.example.com:465");
        assert!(!format!("{t:?}").contains("pw"));

        for (url, expect) in [
            ("not a url", "not a valid URL"),
            ("http://user:hunter2secret@host", "smtp:// or smtps://"),
            ("smtp://user:hunter2secret@host?tls=hunter2secret", "unknown tls"),
            ("smtp://user:hunter2secret@:25", "not a valid URL"),
        ] {
            let err = SmtpTransport::new(url, "bookings@example.com").unwrap_err().to_string();
            assert!(err.contains(expect), "{url}: {err}");
            assert!(!err.contains("hunter2secret"), "password leaked: {err}");
        }
        let err = SmtpTransport::new("smtp://127.0.0.1:2525", "not an address").unwrap_err().to_string();
        assert!(err.contains("SMTP_FROM"), "{err}");
    }

    #[test]
    fn new_outside_a_runtime_is_an_error_not_a_panic() {
        let err = SmtpTransport::new("smtp://127.0.0.1:2525", "bookings@localhost").unwrap_err();
        assert!(err.to_string().contains("tokio runtime"));
    }

    #[tokio::test]
    async fn builds_alternative_and_mixed_emails() {
        let t = SmtpTransport::new("smtp://127.0.0.1:2525", "Bookings <bookings@localhost>").unwrap();
        let m = message("guest@example.com", None);
        let raw = String::from_utf8(t.build_email(&m).unwrap().formatted()).unwrap();
        assert!(raw.contains(&format!("X-Idempotency-Key: {}", m.id)), "{raw}");
        assert!(raw.contains(&format!("Message-ID: <{}@localhost>", m.id)), "{raw}");
        assert!(raw.contains("multipart/alternative") && !raw.contains("multipart/mixed"), "{raw}");

        let m = message("guest@example.com", Some("BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n"));
        let raw = String::from_utf8(t.build_email(&m).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/mixed") && raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("method=CANCEL") && raw.contains("invite.ics"), "{raw}");

        for bad in ["not an address", "", "a@b@c"] {
            assert!(matches!(t.build_email(&message(bad, None)), Err(SendError::Permanent(_))), "{bad:?}");
        }
    }

    #[test]
    fn ical_method_detection() {
        assert_eq!(ical_method("BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\n"), "PUBLISH");
        assert_eq!(ical_method("BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\n"), "CANCEL");
        assert_eq!(ical_method("BEGIN:VCALENDAR\r\n"), "PUBLISH");
        assert_eq!(ical_method("METHOD:x;y=\"z\"\r\n"), "PUBLISH");
    }
}
