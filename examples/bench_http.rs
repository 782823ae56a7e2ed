//! Data and request files for `bench/http.sh` (the HTTP benchmarks). Everything is created
//! through the public API of a running server, so the benchmark sees what real clients leave
//! behind; the request files are then replayed by wrk (`bench/wrk.lua`).
//!
//! Request files hold one request per line: `METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY[<TAB>KEY]` (`-`
//! for no token; KEY, when there, is sent as the Idempotency-Key). Each line is a different
//! request, so the writes do not collide: reservations take distinct free slots spread over many
//! calendars, orders book distinct event triples, moves go to a slot their reservation has not
//! had; only `replay` repeats requests, on purpose.
//!
//! ```sh
//! bench_http availability --base http://127.0.0.1:8080 --token "$OWNER" --out DIR
//! bench_http reserve      --base ... --token "$OWNER" --calendars 200 --requests 60000 --out DIR
//! bench_http book         --base ... --coach-tokens coaches.txt --athlete-tokens athletes.txt \
//!                         --events 1200 --requests 60000 --out DIR
//! bench_http replay       --base ... --token "$OWNER" --calendars 200 --requests 60000 --out DIR
//! bench_http reschedule   --base ... --token "$OWNER" --calendars 200 --requests 60000 --out DIR
//! ```
//! Token files hold `<uuid> <jwt>` per line (made with `bookings token --sub <uuid>`).

#[path = "common/mod.rs"]
mod common;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use clap::{Parser, Subcommand};
use common::{read_tokens, rfc};
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Where the request files go.
    #[arg(long, global = true, default_value = ".")]
    out: PathBuf,
    /// Setup requests in flight at once.
    #[arg(long, global = true, default_value_t = 16)]
    parallel: usize,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// A calendar, a link (Mon–Fri 09:00–17:00 Europe/Berlin, 30 min) and `busy` busy events in
    /// the 31 days from 2030-03-04; writes `availability.path` (the GET to replay) and, with
    /// `requests`, `availability_ranges.req`: that many GETs of `days`-long ranges each starting
    /// a minute later than the one before (no two alike, so no answer is served twice).
    Availability {
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 200)]
        busy: usize,
        #[arg(long, default_value_t = 31)]
        days: i64,
        #[arg(long, default_value_t = 0)]
        requests: usize,
    },
    /// `calendars` calendars with a link each (Mon–Fri 09:00–17:00 UTC, 30 min, no buffer);
    /// writes `reserve.req`: `requests` reservations of distinct free slots, round-robin over
    /// the calendars, each calendar's in time order (every reservation later than the ones
    /// before). With `--spread`, `reserve_spread.req`: the same slots, each calendar's in an
    /// order spread over its weeks (as visitors pick them), so most land among ones already made.
    Reserve {
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 200)]
        calendars: usize,
        #[arg(long, default_value_t = 60000)]
        requests: usize,
        #[arg(long)]
        spread: bool,
    },
    /// `calendars` calendars with a link each (as `reserve`), one reservation through each made
    /// with an Idempotency-Key; writes `replay.req`: `requests` replays of those reservations
    /// (same key, same body), round-robin over them.
    Replay {
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 200)]
        calendars: usize,
        #[arg(long, default_value_t = 60000)]
        requests: usize,
    },
    /// `calendars` calendars with a link each (as `reserve`), 20 reservations through each;
    /// writes `reschedule.req`: `requests` moves (rescheduleReservation through the manage
    /// token, no `sequence`), round-robin over the reservations, each to a free slot of its
    /// own lane that it has not had.
    Reschedule {
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 200)]
        calendars: usize,
        #[arg(long, default_value_t = 60000)]
        requests: usize,
    },
    /// `events` one-hour coach events (one after the other, so no two overlap) with 10,000
    /// places, spread over the coaches; writes `book.req`: `requests` orders of 3 events, each
    /// athlete booking triples it never booked before, round-robin over the athletes.
    Book {
        #[arg(long)]
        coach_tokens: PathBuf,
        #[arg(long)]
        athlete_tokens: PathBuf,
        #[arg(long, default_value_t = 1200)]
        events: usize,
        #[arg(long, default_value_t = 60000)]
        requests: usize,
    },
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    async fn post(&self, path: &str, token: &str, body: Value) -> Result<Value> {
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A public POST (no token), with an Idempotency-Key when given.
    async fn post_public(&self, path: &str, key: Option<&str>, body: Value) -> Result<Value> {
        let mut request = self.client.post(format!("{}{}", self.base, path)).json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let resp = request.send().await.with_context(|| format!("POST {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// `calendars` calendars of the owner with a link each (Mon–Fri 09:00–17:00 UTC, 30 min).
    async fn links(&self, token: &str, calendars: usize, parallel: usize) -> Result<Vec<String>> {
        stream::iter(0..calendars)
            .map(|i| async move {
                let calendar = self.calendar(token, &format!("Write bench {i}")).await?;
                self.link(token, &calendar, "UTC").await
            })
            .buffered(parallel)
            .try_collect()
            .await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let resp =
            self.client.get(format!("{}{}", self.base, path)).send().await.with_context(|| format!("GET {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("GET {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    async fn calendar(&self, token: &str, name: &str) -> Result<String> {
        let c = self.post("/v1/calendars", token, json!({"name": name})).await?;
        Ok(c["id"].as_str().context("calendar id")?.to_string())
    }

    async fn link(&self, token: &str, calendar: &str, timezone: &str) -> Result<String> {
        let day = json!([{"start": "09:00", "end": "17:00"}]);
        let body = json!({
            "duration_minutes": 30,
            "buffer_minutes": 0,
            "timezone": timezone,
            "working_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
        });
        let l = self.post(&format!("/v1/calendars/{calendar}/booking-link"), token, body).await?;
        Ok(l["token"].as_str().context("link token")?.to_string())
    }
}

/// A reserveBookingSlot body for slot `start` (30 minutes).
fn reserve_body(k: usize, start: DateTime<Utc>) -> Value {
    json!({
        "name": format!("Visitor {k}"),
        "email": format!("visitor{k}@example.com"),
        "slot_start": rfc(start),
        "slot_end": rfc(start + Duration::minutes(30)),
    })
}

fn writer(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    Ok(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?))
}

/// The `n`th 30-minute slot of Mon–Fri 09:00–17:00 UTC from 2030-01-07 (a Monday) on.
fn weekday_slot(n: usize) -> DateTime<Utc> {
    const PER_DAY: usize = 16;
    let (day, in_day) = (n / PER_DAY, n % PER_DAY);
    let (week, weekday) = (day / 5, day % 5);
    let date = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap() + Duration::days((week * 7 + weekday) as i64);
    debug_assert!(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun));
    Utc.from_utc_datetime(&date.and_hms_opt(9, 0, 0).unwrap()) + Duration::minutes(30 * in_day as i64)
}

/// The `j`th of `n` slots in an order spread over all of them: `j * p mod n` for a `p` near
/// 0.618 n with no factor in common with `n` (so every slot comes once).
fn spread_order(j: usize, n: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let mut p = (n * 618 / 1000).max(1);
    while gcd(p, n) != 1 {
        p += 1;
    }
    j * p % n
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    std::fs::create_dir_all(&cli.out)?;
    let api = Api {
        base: cli.base.trim_end_matches('/').to_string(),
        client: reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?,
    };
    let api = &api;
    let parallel = cli.parallel.max(1);
    match cli.command {
        Cmd::Availability { token, busy, days, requests } => {
            let calendar = api.calendar(&token, "Availability bench").await?;
            let link = api.link(&token, &calendar, "Europe/Berlin").await?;
            let start = Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap();
            let end = start + Duration::days(days);
            // Busy blocks of 15 to 120 minutes, spread evenly over the range (most of them in
            // or across working hours), some overlapping each other.
            let step = (end - start).num_minutes() / busy.max(1) as i64;
            let token = &token;
            let calendar = &calendar;
            stream::iter(0..busy)
                .map(|i| async move {
                    let s = start + Duration::minutes(step * i as i64 + (i as i64 * 37) % 90);
                    let e = s + Duration::minutes(15 + (i as i64 * 53) % 106);
                    let body = json!({"title": format!("Busy {i}"), "start": rfc(s), "end": rfc(e)});
                    api.post(&format!("/v1/calendars/{calendar}/events"), token, body).await
                })
                .buffer_unordered(parallel)
                .try_collect::<Vec<_>>()
                .await?;
            let path = format!("/v1/booking/{link}/availability?start={}&end={}", enc(&rfc(start)), enc(&rfc(end)));
            let answer = api.get(&path).await?;
            let slots = answer["slots"].as_array().map_or(0, Vec::len);
            if slots == 0 {
                bail!("the availability answer has no slots: {answer}");
            }
            std::fs::write(cli.out.join("availability.path"), &path)?;
            if requests > 0 {
                let mut out = writer(&cli.out.join("availability_ranges.req"))?;
                for k in 0..requests {
                    let (s, e) = (start + Duration::minutes(k as i64), end + Duration::minutes(k as i64));
                    writeln!(
                        out,
                        "GET\t/v1/booking/{link}/availability?start={}&end={}\t-\t",
                        enc(&rfc(s)),
                        enc(&rfc(e))
                    )?;
                }
                out.flush()?;
            }
            eprintln!("availability: 1 calendar, {busy} busy events, {days} days -> {slots} free slots per answer");
        }
        Cmd::Reserve { token, calendars, requests, spread } => {
            let token = &token;
            let links: Vec<String> = stream::iter(0..calendars)
                .map(|i| async move {
                    let calendar = api.calendar(token, &format!("Reserve bench {i}")).await?;
                    api.link(token, &calendar, "UTC").await
                })
                .buffered(parallel)
                .try_collect()
                .await?;
            let per_calendar = requests.div_ceil(links.len());
            let order = |j: usize| if spread { spread_order(j, per_calendar) } else { j };
            let mut out = writer(&cli.out.join(if spread { "reserve_spread.req" } else { "reserve.req" }))?;
            for k in 0..requests {
                let link = &links[k % links.len()];
                let start = weekday_slot(order(k / links.len()));
                let body = json!({
                    "name": format!("Visitor {k}"),
                    "email": format!("visitor{k}@example.com"),
                    "slot_start": rfc(start),
                    "slot_end": rfc(start + Duration::minutes(30)),
                });
                writeln!(out, "POST\t/v1/booking/{link}/reserve\t-\t{body}")?;
            }
            out.flush()?;
            eprintln!("reserve: {calendars} calendars with a link each, {requests} distinct slots");
        }
        Cmd::Replay { token, calendars, requests } => {
            let links = api.links(&token, calendars, parallel).await?;
            let made: Vec<(String, String, Value)> = stream::iter(links.iter().enumerate())
                .map(|(i, link)| async move {
                    let key = format!("bench-replay-{i}-{}", Uuid::new_v4());
                    let body = reserve_body(i, weekday_slot(0));
                    api.post_public(&format!("/v1/booking/{link}/reserve"), Some(&key), body.clone()).await?;
                    Ok::<_, anyhow::Error>((link.clone(), key, body))
                })
                .buffered(parallel)
                .try_collect()
                .await?;
            let mut out = writer(&cli.out.join("replay.req"))?;
            for k in 0..requests {
                let (link, key, body) = &made[k % made.len()];
                writeln!(out, "POST\t/v1/booking/{link}/reserve\t-\t{body}\t{key}")?;
            }
            out.flush()?;
            eprintln!("replay: {calendars} reservations made with an Idempotency-Key, {requests} replays");
        }
        Cmd::Reschedule { token, calendars, requests } => {
            // LANES reservations through each link, reservation j in its own lane of slots
            // (j, j + LANES, j + 2 LANES, ...), so no move is ever in another's way; the moves
            // carry no `sequence` and go round-robin over all reservations, so one reservation
            // moves again only after calendars x LANES others (seconds later: past the settle
            // time a move without a sequence waits for), whichever earlier moves were sent.
            const LANES: usize = 20;
            let links = api.links(&token, calendars, parallel).await?;
            let made: Vec<(usize, String)> = stream::iter(
                links.iter().enumerate().flat_map(|(i, link)| (0..LANES).map(move |lane| (i, lane, link.clone()))),
            )
            .map(|(i, lane, link)| async move {
                let made = api
                    .post_public(&format!("/v1/booking/{link}/reserve"), None, reserve_body(i, weekday_slot(lane)))
                    .await?;
                Ok::<_, anyhow::Error>((lane, made["manage_token"].as_str().context("manage_token")?.to_string()))
            })
            .buffered(parallel)
            .try_collect()
            .await?;
            let mut out = writer(&cli.out.join("reschedule.req"))?;
            for k in 0..requests {
                let (lane, token) = &made[k % made.len()];
                // The reservation's m-th move, to the m-th slot of its lane.
                let m = k / made.len() + 1;
                let start = weekday_slot(lane + LANES * m);
                let body = json!({"slot_start": rfc(start), "slot_end": rfc(start + Duration::minutes(30))});
                writeln!(out, "POST\t/v1/reservations/{token}/reschedule\t-\t{body}")?;
            }
            out.flush()?;
            eprintln!("reschedule: {} reservations, {requests} moves", made.len());
        }
        Cmd::Book { coach_tokens, athlete_tokens, events, requests } => {
            let coaches = read_tokens(&coach_tokens)?;
            let athletes = read_tokens(&athlete_tokens)?;
            if coaches.is_empty() || athletes.is_empty() || events < 3 {
                bail!("need coaches, athletes and at least 3 events");
            }
            let rounds = events / 3;
            if requests > athletes.len() * rounds {
                bail!(
                    "{requests} orders need more athletes or events ({} athletes x {rounds} triples)",
                    athletes.len()
                );
            }
            let first = Utc.with_ymd_and_hms(2030, 2, 1, 0, 0, 0).unwrap();
            let coaches = &coaches;
            let ids: Vec<Uuid> = stream::iter(0..events)
                .map(|i| async move {
                    let body = common::coach_event_body(first + Duration::hours(i as i64));
                    let coach = &coaches[i % coaches.len()].1;
                    let e = api.post("/v1/coach-events", coach, body).await?;
                    Ok::<_, anyhow::Error>(e["eventId"].as_str().context("eventId")?.parse::<Uuid>()?)
                })
                .buffered(parallel)
                .try_collect()
                .await?;
            let mut out = writer(&cli.out.join("book.req"))?;
            for k in 0..requests {
                let a = k % athletes.len();
                let round = k / athletes.len();
                // Athlete a's triples start at its own offset and never repeat (round < rounds).
                let base = a * 37 + round * 3;
                let triple: Vec<Uuid> = (0..3).map(|j| ids[(base + j) % events]).collect();
                let (user, token) = &athletes[a];
                let body = json!({"userId": user, "eventIds": triple, "paymentMethod": {"type": "Cash"}});
                writeln!(out, "POST\t/v1/bookings\t{token}\t{body}")?;
            }
            out.flush()?;
            eprintln!(
                "book: {events} coach events by {} coaches, {} athletes, {requests} orders of 3",
                coaches.len(),
                athletes.len()
            );
        }
    }
    Ok(())
}
