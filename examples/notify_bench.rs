//! Helpers of `bench/notify.sh` (the notification delivery benchmark).
//!
//! - `sink`: a local SMTP sink (adapted from tests/support/smtp_sink.rs: enough SMTP for lettre,
//!   no TLS, no AUTH) that only counts. It writes its port to `--port-file`, and on SIGTERM or
//!   Ctrl-C prints one line and exits:
//!   `SINK_RESULT messages=.. unique_keys=.. with_ical=.. connections=.. first_unix_ms=.. last_unix_ms=..`
//! - `setup`: coach events and bookings over HTTP, so that the shipped confirmation rules have
//!   `2 x bookings` emails due. Token files hold `<uuid> <jwt>` per line, the tokens made with
//!   `bookings token --sub <uuid> --email <address>` (the email claim is what the server mails).

#[path = "common/mod.rs"]
mod common;

use anyhow::{bail, Context, Result};
use chrono::{Duration, TimeZone, Utc};
use clap::{Parser, Subcommand};
use common::read_tokens;
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the SMTP sink until SIGTERM.
    Sink {
        #[arg(long)]
        port_file: PathBuf,
        /// Acknowledge every TCP segment at once (TCP_QUICKACK before each read). An experiment:
        /// it shows how much of the delivery time is the client's Nagle delay waiting for our
        /// delayed ACK (a real SMTP server does not do this).
        #[arg(long)]
        quickack: bool,
    },
    /// Create `events` coach events and `bookings` bookings (orders of up to 3 events).
    Setup {
        #[arg(long)]
        base: String,
        #[arg(long)]
        coach_tokens: PathBuf,
        #[arg(long)]
        athlete_tokens: PathBuf,
        #[arg(long, default_value_t = 2500)]
        bookings: usize,
        #[arg(long, default_value_t = 30)]
        events: usize,
        #[arg(long, default_value_t = 16)]
        parallel: usize,
    },
}

// ------------------------------------------------------------------ sink

#[derive(Default)]
struct Counts {
    messages: AtomicUsize,
    with_ical: AtomicUsize,
    connections: AtomicUsize,
    first_ms: AtomicU64,
    last_ms: AtomicU64,
    keys: Mutex<HashSet<String>>,
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn sink(port_file: &Path, quickack: bool) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    std::fs::write(port_file, port.to_string())?;
    let counts = Arc::new(Counts::default());
    let accept = {
        let counts = counts.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                counts.connections.fetch_add(1, Ordering::Relaxed);
                let counts = counts.clone();
                tokio::spawn(async move {
                    let _ = session(stream, counts, quickack).await;
                });
            }
        })
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    accept.abort();
    let unique = counts.keys.lock().unwrap().len();
    println!(
        "SINK_RESULT messages={} unique_keys={} with_ical={} connections={} first_unix_ms={} last_unix_ms={}",
        counts.messages.load(Ordering::SeqCst),
        unique,
        counts.with_ical.load(Ordering::SeqCst),
        counts.connections.load(Ordering::SeqCst),
        counts.first_ms.load(Ordering::SeqCst),
        counts.last_ms.load(Ordering::SeqCst),
    );
    Ok(())
}

/// One line, with TCP_QUICKACK set first when asked.
async fn read_line(stream: &mut BufReader<TcpStream>, line: &mut String, quickack: bool) -> std::io::Result<usize> {
    if quickack && stream.buffer().is_empty() {
        socket2::SockRef::from(stream.get_ref()).set_tcp_quickack(true)?;
    }
    stream.read_line(line).await
}

async fn session(stream: TcpStream, counts: Arc<Counts>, quickack: bool) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    stream.get_mut().write_all(b"220 bench-sink ready\r\n").await?;
    let (mut from, mut rcpts) = (false, 0usize);
    let mut line = String::new();
    loop {
        line.clear();
        if read_line(&mut stream, &mut line, quickack).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end_matches(['\r', '\n']).to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            (from, rcpts) = (false, 0);
            b"250 bench-sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            (from, rcpts) = (true, 0);
            b"250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            if from {
                rcpts += 1;
                b"250 2.1.5 ok\r\n"
            } else {
                b"503 5.5.1 MAIL first\r\n"
            }
        } else if upper == "DATA" {
            if !from || rcpts == 0 {
                b"503 5.5.1 no valid recipients\r\n"
            } else {
                stream.get_mut().write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                let (mut key, mut ical) = (None, false);
                loop {
                    line.clear();
                    if read_line(&mut stream, &mut line, quickack).await? == 0 {
                        return Ok(());
                    }
                    let content = line.trim_end_matches(['\r', '\n']);
                    if content == "." {
                        break;
                    }
                    if key.is_none() && content.len() > 18 && content[..18].eq_ignore_ascii_case("X-Idempotency-Key:") {
                        key = Some(content[18..].trim().to_string());
                    }
                    if !ical && content.to_ascii_lowercase().contains("text/calendar") {
                        ical = true;
                    }
                }
                let now = unix_ms();
                let _ = counts.first_ms.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
                counts.last_ms.fetch_max(now, Ordering::SeqCst);
                counts.messages.fetch_add(1, Ordering::SeqCst);
                if ical {
                    counts.with_ical.fetch_add(1, Ordering::SeqCst);
                }
                if let Some(key) = key {
                    counts.keys.lock().unwrap().insert(key);
                }
                (from, rcpts) = (false, 0);
                b"250 2.0.0 queued\r\n"
            }
        } else if upper == "RSET" {
            (from, rcpts) = (false, 0);
            b"250 2.0.0 ok\r\n"
        } else if upper.starts_with("NOOP") {
            b"250 2.0.0 ok\r\n"
        } else if upper == "QUIT" {
            stream.get_mut().write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 command not implemented\r\n"
        };
        stream.get_mut().write_all(reply).await?;
    }
}

// ------------------------------------------------------------------ setup

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Result<Value> {
    let resp = client.post(&url).bearer_auth(token).json(&body).send().await.with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("POST {url} answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

async fn setup(
    base: &str,
    coaches: &Path,
    athletes: &Path,
    bookings: usize,
    events: usize,
    parallel: usize,
) -> Result<()> {
    let coaches = read_tokens(coaches)?;
    let athletes = read_tokens(athletes)?;
    if coaches.is_empty() || athletes.is_empty() || events == 0 {
        bail!("need coaches, athletes and events");
    }
    if bookings > athletes.len() * events {
        bail!("{bookings} bookings need more athletes or events");
    }
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?;
    let (client, coaches) = (&client, &coaches);
    let first = Utc.with_ymd_and_hms(2030, 2, 1, 0, 0, 0).unwrap();
    let ids: Vec<Uuid> = stream::iter(0..events)
        .map(|i| async move {
            let body = common::coach_event_body(first + Duration::hours(i as i64));
            let e = post(client, format!("{base}/v1/coach-events"), &coaches[i % coaches.len()].1, body).await?;
            Ok::<_, anyhow::Error>(e["eventId"].as_str().context("eventId")?.parse::<Uuid>()?)
        })
        .buffered(parallel)
        .try_collect()
        .await?;
    // Athlete a books events a.., spread so that every athlete has its share; orders of 3.
    let per_athlete = bookings.div_ceil(athletes.len());
    let mut orders: Vec<(usize, Vec<Uuid>)> = Vec::new();
    let mut left = bookings;
    for (a, _) in athletes.iter().enumerate() {
        let mine = per_athlete.min(left);
        left -= mine;
        let list: Vec<Uuid> = (0..mine).map(|j| ids[(a + j) % events]).collect();
        for chunk in list.chunks(3) {
            orders.push((a, chunk.to_vec()));
        }
        if left == 0 {
            break;
        }
    }
    let athletes = &athletes;
    let made: Vec<usize> = stream::iter(orders)
        .map(|(a, events)| async move {
            let (user, token) = &athletes[a];
            let body = json!({"userId": user, "eventIds": events, "paymentMethod": {"type": "Cash"}});
            let order = post(client, format!("{base}/v1/bookings"), token, body).await?;
            Ok::<_, anyhow::Error>(order["bookings"].as_array().map_or(0, Vec::len))
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    let total: usize = made.iter().sum();
    if total != bookings {
        bail!("made {total} bookings, wanted {bookings}");
    }
    eprintln!("setup: {events} coach events by {} coaches, {total} bookings in {} orders", coaches.len(), made.len());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Sink { port_file, quickack } => sink(&port_file, quickack).await,
        Cmd::Setup { base, coach_tokens, athlete_tokens, bookings, events, parallel } => {
            setup(base.trim_end_matches('/'), &coach_tokens, &athlete_tokens, bookings, events, parallel.max(1)).await
        }
    }
}
