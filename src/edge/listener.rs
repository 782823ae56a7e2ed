//! The listener's guard, below HTTP: how many connections one client address may hold open, and
//! how long a connection may take to send a request's head. poem's `Server` exposes neither
//! (it builds hyper's connection itself, without a timer, so hyper's own header read timeout is
//! off), so [`GuardedAcceptor`] wraps the TCP acceptor and each stream it yields.
//!
//! - **Connections per client**: a connection from an address that already holds
//!   `max_per_client` is answered 429 in the Error envelope and closed at once. The count is by
//!   the TCP peer: behind a proxy every connection comes from the proxy, so raise the cap (or set
//!   0) there.
//! - **Header read timeout**: an HTTP/1 connection must deliver a request's whole head within
//!   `header_read_timeout` of its opening or of the server's last write (the previous response);
//!   otherwise the read fails and hyper drops the connection. The deadline does not move while
//!   bytes trickle in, so a client sending a byte at a time is closed too, and so is a keep-alive
//!   connection left idle that long. The body is the application's business
//!   ([`crate::edge::guard`] reads it under its own timeout). HTTP/2 (prior knowledge) has no heads to
//!   watch here: its connection is closed after `header_read_timeout` without traffic either way.
//! - **Hyper's own answers**: a request hyper cannot parse (a URI over 65,534 bytes: 414; over
//!   100 headers or a head over ~400 KiB: 431; a malformed head: 400) is answered by hyper with an
//!   empty body before the application sees it. The stream recognises such an answer (a 4xx head
//!   without the `x-request-id` every application answer carries) and writes the same status
//!   with the Error envelope instead.

use crate::edge::errors::{raw_error_response, RETRY_AFTER_SECONDS};
use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a request's head may take (see the module documentation).
    pub header_read_timeout: Duration,
    /// Connections one client address may hold open at once (0: no cap).
    pub max_per_client: usize,
}

/// Open connections per client address.
#[derive(Default)]
struct OpenConnections(Mutex<HashMap<IpAddr, usize>>);

impl OpenConnections {
    /// Counts a new connection from `ip`, unless it already holds `max`.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if max > 0 && *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot { ip, table: self.clone() })
    }

    fn count(&self, ip: IpAddr) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&ip).copied().unwrap_or(0)
    }
}

/// One counted connection; dropping it (with its stream) frees the place.
struct Slot {
    ip: IpAddr,
    table: Arc<OpenConnections>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A TCP acceptor that caps connections per client and yields [`GuardedStream`]s.
pub struct GuardedAcceptor {
    inner: TcpAcceptor,
    limits: ConnectionLimits,
    open: Arc<OpenConnections>,
}

impl GuardedAcceptor {
    pub fn new(inner: TcpAcceptor, limits: ConnectionLimits) -> Self {
        Self { inner, limits, open: Arc::default() }
    }
}

impl Acceptor for GuardedAcceptor {
    type Io = GuardedStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (stream, local, remote, scheme) = self.inner.accept().await?;
            let slot = match remote.as_socket_addr().map(|a| a.ip().to_canonical()) {
                Some(ip) => match self.open.take(ip, self.limits.max_per_client) {
                    Some(slot) => Some(slot),
                    None => {
                        refuse(stream, ip, self.open.count(ip));
                        continue;
                    }
                },
                None => None,
            };
            return Ok((GuardedStream::new(stream, self.limits.header_read_timeout, slot), local, remote, scheme));
        }
    }
}

/// Answers a connection over its client's cap and closes it, without waiting on the client:
/// the answer goes into the socket's send buffer or not at all.
fn refuse(stream: TcpStream, ip: IpAddr, open: usize) {
    tracing::warn!(client = %ip, open, "connection refused: too many open connections from this client");
    let answer = raw_error_response(
        429,
        format!("too many open connections from this client ({open}); close some and retry"),
        "",
        Some(RETRY_AFTER_SECONDS),
    );
    let _ = stream.try_write(&answer);
}

/// Where a connection is in its HTTP exchange, as far as the transport can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head: reads are due by the deadline.
    Head { started: bool, line_end: LineEnd },
    /// The head is in; the application has the request.
    Request,
    /// HTTP/2 with prior knowledge: the deadline moves with any traffic.
    H2,
}

/// How far into a head's terminating empty line the scan is (`\r\n\r\n`, or bare `\n\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    InLine,
    AfterNewline,
    AfterNewlineCr,
}

const HEAD_START: Phase = Phase::Head { started: false, line_end: LineEnd::InLine };
/// How much of a head's first line is kept, to name the endpoint in an answer hyper refused.
const KEPT_LINE: usize = 160;
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// A connection's stream: fails a read that waits past the head's deadline, and replaces
/// hyper's bodiless error answers with enveloped ones.
pub struct GuardedStream {
    inner: TcpStream,
    timeout: Duration,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    /// The first bytes of the current (or last) head.
    line: Vec<u8>,
    /// An enveloped answer written in place of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
    _slot: Option<Slot>,
}

impl GuardedStream {
    fn new(inner: TcpStream, timeout: Duration, slot: Option<Slot>) -> Self {
        Self {
            inner,
            timeout,
            phase: HEAD_START,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            line: Vec::new(),
            replacement: None,
            _slot: slot,
        }
    }

    /// Moves the deadline and registers this task to be woken at it: the server may already
    /// have polled its read (and be waiting on the socket only) before the phase changed.
    fn restart_deadline(&mut self, cx: &mut Context<'_>) {
        let at = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(at);
        let _ = self.deadline.as_mut().poll(cx);
    }

    /// Follows the bytes the server read.
    fn saw(&mut self, bytes: &[u8], cx: &mut Context<'_>) {
        if self.phase == Phase::H2 {
            if !bytes.is_empty() {
                self.restart_deadline(cx);
            }
            return;
        }
        let Phase::Head { mut started, mut line_end } = self.phase else { return };
        for &b in bytes {
            if !started {
                // Empty lines before a request line are allowed and ignored.
                if b == b'\r' || b == b'\n' {
                    continue;
                }
                started = true;
                self.line.clear();
            }
            // The kept line ends at its newline, which is the last byte pushed (a look at the
            // last byte, not a scan of the line per byte read).
            if self.line.len() < KEPT_LINE && self.line.last() != Some(&b'\n') {
                self.line.push(b);
            }
            line_end = match (b, line_end) {
                (b'\n', LineEnd::InLine) => LineEnd::AfterNewline,
                (b'\n', _) => {
                    self.phase = if self.line.starts_with(H2_PREFACE) { Phase::H2 } else { Phase::Request };
                    if self.phase == Phase::H2 {
                        self.restart_deadline(cx);
                    }
                    return;
                }
                (b'\r', LineEnd::AfterNewline) => LineEnd::AfterNewlineCr,
                (b'\r', LineEnd::InLine) => LineEnd::InLine,
                _ => LineEnd::InLine,
            };
        }
        self.phase = Phase::Head { started, line_end };
    }

    /// Follows what the server writes: an answer ends the request, and the next head is due
    /// by a new deadline (a `100 Continue` does not end it).
    fn wrote(&mut self, buf: &[u8], cx: &mut Context<'_>) {
        match self.phase {
            Phase::H2 => self.restart_deadline(cx),
            _ if buf.starts_with(b"HTTP/1.1 1") || buf.starts_with(b"HTTP/1.0 1") => {}
            _ => {
                if !matches!(self.phase, Phase::Head { started: true, .. }) {
                    self.phase = HEAD_START;
                }
                self.restart_deadline(cx);
            }
        }
    }

    /// The enveloped answer to write instead of `buf`, when `buf` is hyper's own error answer.
    fn envelope_instead(&self, buf: &[u8]) -> Option<Vec<u8>> {
        if self.phase == Phase::H2 || !(buf.starts_with(b"HTTP/1.1 4") || buf.starts_with(b"HTTP/1.0 4")) {
            return None;
        }
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        if head.lines().any(|l| l.starts_with("x-request-id:")) {
            return None;
        }
        let status: u16 = head.get(9..12)?.parse().ok()?;
        let message = match status {
            414 => "the request URI is too long (at most 65534 bytes)",
            431 => "the request headers are too large (at most 100 headers)",
            _ => "the request is not valid HTTP",
        };
        Some(raw_error_response(status, message.into(), &self.endpoint(), None))
    }

    /// `METHOD target` of the request line kept, the target cut short if it was too long.
    fn endpoint(&self) -> String {
        let line = String::from_utf8_lossy(&self.line);
        let line = line.trim_end();
        let mut parts = line.splitn(3, ' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let cut = parts.next().is_none() && self.line.len() >= KEPT_LINE;
        format!("{method} {target}{}", if cut { "..." } else { "" }).trim().to_string()
    }

    /// Writes what is left of a replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.saw(&buf.filled()[before..], cx);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                let waiting = matches!(this.phase, Phase::Head { .. } | Phase::H2);
                if waiting && this.deadline.as_mut().poll(cx).is_ready() {
                    tracing::info!(phase = ?this.phase, "closing a connection that did not send a request in time");
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not received in time",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        if let Some(answer) = this.envelope_instead(buf) {
            this.replacement = Some((answer, 0));
            this.wrote(buf, cx);
            // Taken in full; what is left of the replacement goes out on the next write or flush.
            if let Poll::Ready(Err(err)) = this.poll_replacement(cx) {
                return Poll::Ready(Err(err));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        this.wrote(buf, cx);
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each answer's head in one buffer, which is what
    // `envelope_instead` looks at.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context<'static> {
        Context::from_waker(std::task::Waker::noop())
    }

    async fn pair() -> (GuardedStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (GuardedStream::new(server, Duration::from_secs(10), None), client)
    }

    #[tokio::test]
    async fn follows_heads_and_answers() {
        let (mut s, _client) = pair().await;
        s.saw(b"\r\nGET /v1/x HTTP/1.1\r\nHost: a\r\n", &mut cx());
        assert!(matches!(s.phase, Phase::Head { started: true, .. }));
        s.saw(b"\r\n{\"body\": 1}", &mut cx());
        assert_eq!(s.phase, Phase::Request);
        assert_eq!(s.endpoint(), "GET /v1/x");
        s.wrote(b"HTTP/1.1 100 Continue\r\n\r\n", &mut cx());
        assert_eq!(s.phase, Phase::Request);
        s.wrote(b"HTTP/1.1 200 OK\r\n", &mut cx());
        assert_eq!(s.phase, HEAD_START);
        // Bare newlines end a head too.
        s.saw(b"GET / HTTP/1.1\nHost: a\n\n", &mut cx());
        assert_eq!(s.phase, Phase::Request);
        s.wrote(b"HTTP/1.1 200 OK\r\n", &mut cx());
        s.saw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &mut cx());
        assert_eq!(s.phase, Phase::H2);
    }

    #[tokio::test]
    async fn only_hypers_own_error_answers_are_replaced() {
        let (mut s, _client) = pair().await;
        s.saw(&[b"GET /".as_slice(), &[b'a'; 300]].concat(), &mut cx());
        let hyper = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(s.envelope_instead(hyper).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{answer}");
        let body: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["code"], "validation");
        assert!(body["endpoint"].as_str().unwrap().starts_with("GET /aaaa"), "{body}");
        assert!(body["endpoint"].as_str().unwrap().ends_with("..."), "{body}");
        let id = answer.lines().find_map(|l| l.strip_prefix("x-request-id: ")).unwrap();
        assert_eq!(body["requestId"], id);
        // The application's answers carry x-request-id; responses over HTTP/2 are frames.
        let app = b"HTTP/1.1 404 Not Found\r\ncontent-length: 10\r\nx-request-id: abc\r\n\r\n";
        assert!(s.envelope_instead(app).is_none());
        assert!(s.envelope_instead(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[test]
    fn connections_are_counted_per_client() {
        let open = Arc::new(OpenConnections::default());
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = open.take(a, 2).unwrap();
        let _second = open.take(a, 2).unwrap();
        assert!(open.take(a, 2).is_none());
        let _other = open.take(b, 2).unwrap();
        drop(first);
        assert_eq!(open.count(a), 1);
        assert!(open.take(a, 2).is_some());
        assert!(open.take(a, 0).is_some(), "0 is no cap");
    }
}
