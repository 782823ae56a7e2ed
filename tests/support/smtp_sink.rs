//! An in-process SMTP server for tests: enough SMTP for lettre (no extensions, no TLS, no AUTH).
//!
//! ```ignore
//! #[path = "support/smtp_sink.rs"]
//! mod smtp_sink;
//! let sink = smtp_sink::SmtpSink::start().await;
//! // SMTP_URL = sink.url()  ("smtp://127.0.0.1:<port>")
//! sink.messages();             // what arrived
//! sink.reject_recipient("bad@example.com", 550);
//! sink.stall_after_ehlo();     // greet and answer EHLO, then never answer again
//! sink.stop().await;           // connection refused, open connections dropped
//! sink.restart().await;        // same port again
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`, accepted ones only).
    pub to: Vec<String>,
    /// The message as transmitted after `DATA` (dot-unstuffed, CRLF line endings, without the
    /// final `.` line).
    pub data: String,
}

impl Received {
    /// The first top-level header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut current: Option<(String, String)> = None;
        let mut found = None;
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some((_, v)) = current.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((n, v)) = current.take() {
                if n.eq_ignore_ascii_case(name) && found.is_none() {
                    found = Some(v);
                }
            }
            if let Some((n, v)) = line.split_once(':') {
                current = Some((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        if let Some((n, v)) = current {
            if n.eq_ignore_ascii_case(name) && found.is_none() {
                found = Some(v);
            }
        }
        found
    }
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    /// Lower-cased address -> reply code for `RCPT TO` (e.g. 550, 451).
    reject: Mutex<HashMap<String, u16>>,
    connections: AtomicUsize,
    /// Answer the greeting and EHLO/HELO only: every other command is read and never answered.
    stall: AtomicBool,
    /// Commands read and left unanswered.
    stalled: AtomicUsize,
}

struct Running {
    accept: JoinHandle<()>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    running: tokio::sync::Mutex<Option<Running>>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let running = spawn(listener, shared.clone());
        SmtpSink { port, shared, running: tokio::sync::Mutex::new(Some(running)) }
    }

    /// `smtp://127.0.0.1:<port>` (plain).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Forgets the messages accepted so far.
    pub fn clear(&self) {
        self.shared.messages.lock().unwrap().clear();
    }

    /// How many TCP connections were accepted (to see pooling at work).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Answer `RCPT TO:<address>` with `code` (e.g. 550 permanent, 451 temporary).
    pub fn reject_recipient(&self, address: &str, code: u16) {
        self.shared.reject.lock().unwrap().insert(address.to_ascii_lowercase(), code);
    }

    /// From now on, on new and open connections alike, answer the greeting and EHLO/HELO and
    /// then nothing: a server that stalls mid-conversation. The connection stays open.
    pub fn stall_after_ehlo(&self) {
        self.shared.stall.store(true, Ordering::SeqCst);
    }

    /// Answer every command again.
    pub fn stop_stalling(&self) {
        self.shared.stall.store(false, Ordering::SeqCst);
    }

    /// How many commands were read and left unanswered while stalling.
    pub fn stalled_commands(&self) -> usize {
        self.shared.stalled.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages arrived (or panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("expected {n} messages, got {}", messages.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops listening and drops every open connection: clients see "connection refused".
    pub async fn stop(&self) {
        let running = self.running.lock().await.take();
        if let Some(Running { accept, conns }) = running {
            accept.abort();
            let _ = accept.await;
            let handles: Vec<_> = std::mem::take(&mut *conns.lock().unwrap());
            for h in &handles {
                h.abort();
            }
            for h in handles {
                let _ = h.await;
            }
        }
    }

    /// Listens again on the same port (after [`SmtpSink::stop`]).
    pub async fn restart(&self) {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return;
        }
        let mut attempt = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if attempt < 50 => {
                    attempt += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot re-bind the SMTP sink on port {}: {e}", self.port),
            }
        };
        *running = Some(spawn(listener, self.shared.clone()));
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(running) = self.running.get_mut().take() {
            running.accept.abort();
            for h in running.conns.lock().unwrap().drain(..) {
                h.abort();
            }
        }
    }
}

fn spawn(listener: TcpListener, shared: Arc<Shared>) -> Running {
    let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let conns2 = conns.clone();
    let accept = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let shared = shared.clone();
            let handle = tokio::spawn(async move {
                let _ = session(stream, shared).await;
            });
            let mut conns = conns2.lock().unwrap();
            conns.retain(|h| !h.is_finished());
            conns.push(handle);
        }
    });
    Running { accept, conns }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 smtp-sink ready\r\n").await?;

    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let upper = command.to_ascii_uppercase();
        let hello = upper.starts_with("EHLO") || upper.starts_with("HELO");
        if !hello && shared.stall.load(Ordering::SeqCst) {
            shared.stalled.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let reply: String = if hello {
            from = None;
            to.clear();
            "250 smtp-sink\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            from = Some(angle(&command[10..]));
            to.clear();
            "250 2.1.0 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                "503 5.5.1 MAIL first\r\n".into()
            } else {
                let rcpt = angle(&command[8..]);
                let code = shared.reject.lock().unwrap().get(&rcpt.to_ascii_lowercase()).copied();
                match code {
                    Some(code) => format!("{code} {}.1.1 <{rcpt}> rejected\r\n", code / 100),
                    None => {
                        to.push(rcpt);
                        "250 2.1.5 ok\r\n".into()
                    }
                }
            }
        } else if upper == "DATA" {
            if from.is_none() || to.is_empty() {
                "503 5.5.1 no valid recipients\r\n".into()
            } else {
                write.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if read.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    let content = line.trim_end_matches(['\r', '\n']);
                    if content == "." {
                        break;
                    }
                    let content = content.strip_prefix('.').unwrap_or(content);
                    data.push_str(content);
                    data.push_str("\r\n");
                }
                let n = {
                    let mut messages = shared.messages.lock().unwrap();
                    messages.push(Received {
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    messages.len()
                };
                format!("250 2.0.0 queued as {n}\r\n")
            }
        } else if upper == "RSET" {
            from = None;
            to.clear();
            "250 2.0.0 ok\r\n".into()
        } else if upper.starts_with("NOOP") {
            "250 2.0.0 ok\r\n".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 command not implemented\r\n".into()
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// `<a@b> SIZE=1` -> `a@b`.
fn angle(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(l), Some(r)) if l < r => s[l + 1..r].to_owned(),
        _ => s.split_whitespace().next().unwrap_or("").to_owned(),
    }
}
