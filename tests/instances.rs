//! Several server processes on one PostgreSQL: reservations, orders and notify calls raced
//! across two instances; graceful shutdown on SIGTERM.

#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bookings");
const SECRET: &str = "instances-secret-0123456789-0123456789";
/// Shared by the instances, as the README asks: a link one renders, another accepts.
const MANAGE_LINK_SECRET: &str = "instances-manage-link-secret-0123456789";

fn pg_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    /// A database of its own on `TEST_DATABASE_URL`'s server; `None` (the test is skipped) when
    /// it is not set. `make test` always sets it, so there it fails when PostgreSQL is down.
    async fn for_test() -> Option<Self> {
        let Some(admin) = pg_url() else {
            eprintln!("skipped: TEST_DATABASE_URL is not set");
            return None;
        };
        Some(Self::create(&admin).await)
    }

    async fn create(admin: &str) -> Self {
        use sea_orm::{ConnectionTrait, Database as Db};
        let name = format!("bookings_inst_{}", Uuid::new_v4().simple());
        let db = Db::connect(admin).await.expect("TEST_DATABASE_URL is set but PostgreSQL is unreachable");
        db.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        Database { admin: admin.to_string(), url: format!("{base}/{name}"), name }
    }

    async fn drop_it(&self) {
        use sea_orm::{ConnectionTrait, Database as Db};
        if let Ok(db) = Db::connect(&self.admin).await {
            let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).await;
        }
    }
}

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Server {
    async fn start(database_url: &str, smtp: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env("DATA_DIR", dir.path())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET", SECRET)
            .env("MANAGE_LINK_SECRET", MANAGE_LINK_SECRET)
            .env("APP_ENV", "test")
            .env("RUST_LOG", "warn")
            .env("PUBLIC_RATE_LIMIT_PER_MINUTE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(smtp) = smtp {
            cmd.env("SMTP_URL", smtp);
        }
        let child = cmd.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base, dir }
    }

    fn token(&self, sub: Uuid, admin: bool, email: Option<&str>) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(["token", "--sub", &sub.to_string()]).env("DATA_DIR", self.dir.path()).env("JWT_SECRET", SECRET);
        if admin {
            cmd.arg("--admin");
        }
        if let Some(e) = email {
            cmd.args(["--email", e]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn event_body(start: chrono::DateTime<chrono::Utc>, places: i64) -> Value {
    let end = start + chrono::Duration::hours(1);
    json!({
        "sportId": Uuid::new_v4(), "startAt": start.to_rfc3339(), "endAt": end.to_rfc3339(),
        "timeslot": {"startTime": start.format("%H:%M:%S+00:00").to_string(), "endTime": end.format("%H:%M:%S+00:00").to_string(),
            "numberOfParticipants": places, "slotType": "Offline", "ageFrom": 18, "ageTo": 99, "duration": 60,
            "price": 0, "priceCurrency": "RUB", "paymentMethod": "Cash"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_double_book_overbook_or_double_send() {
    let Some(db) = Database::for_test().await else { return };
    let sink = smtp_sink::SmtpSink::start().await;
    let smtp = sink.url();
    let a = Server::start(&db.url, Some(&smtp)).await;
    let b = Server::start(&db.url, Some(&smtp)).await;
    let servers = [&a, &b];
    let client = reqwest::Client::new();

    // Reservations of one slot, half through each instance: exactly one wins.
    let owner = Uuid::new_v4();
    let owner_token = a.token(owner, false, Some("owner@example.com"));
    let (_, cal) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v1/calendars", a.base),
        Some(&owner_token),
        Some(json!({"name": "c"})),
    )
    .await;
    let cal = cal["id"].as_str().unwrap().to_string();
    let (_, link) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v1/calendars/{cal}/booking-link", b.base),
        Some(&owner_token),
        Some(json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}})),
    )
    .await;
    let token = link["token"].as_str().unwrap().to_string();
    let reserve = json!({"name": "V", "email": "v@example.com", "slot_start": "2027-03-01T09:00:00Z", "slot_end": "2027-03-01T09:30:00Z"});
    let results = futures::future::join_all((0..40).map(|i| {
        call(
            &client,
            reqwest::Method::POST,
            format!("{}/v1/booking/{token}/reserve", servers[i % 2].base),
            None,
            Some(reserve.clone()),
        )
    }))
    .await;
    let codes: Vec<u16> = results.iter().map(|r| r.0).collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 39, "{codes:?}");
    let manage_url = results.iter().find(|r| r.0 == 200).unwrap().1["manage_url"].as_str().unwrap().to_string();

    // 20 athletes, alternating instances, for 5 places: exactly 5 bookings.
    let coach = Uuid::new_v4();
    let coach_token = a.token(coach, false, Some("coach@example.com"));
    let start = (chrono::Utc::now() + chrono::Duration::days(3)).with_nanosecond_zero();
    let (status, event) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v1/coach-events", a.base),
        Some(&coach_token),
        Some(event_body(start, 5)),
    )
    .await;
    assert_eq!(status, 201, "{event}");
    let event_id = event["eventId"].as_str().unwrap().to_string();
    let athletes: Vec<(Uuid, String)> = (0..20)
        .map(|i| (Uuid::new_v4(), i))
        .map(|(id, i)| (id, a.token(id, false, Some(&format!("ath{i}@example.com")))))
        .collect();
    let results = futures::future::join_all(athletes.iter().enumerate().map(|(i, (id, tok))| {
        let body = json!({"userId": id, "eventIds": [event_id], "paymentMethod": {"type": "Cash"}});
        call(&client, reqwest::Method::POST, format!("{}/v1/bookings", servers[i % 2].base), Some(tok), Some(body))
    }))
    .await;
    let created = results.iter().filter(|r| r.0 == 201).count();
    assert_eq!(created, 5, "{:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
    assert!(results
        .iter()
        .filter(|r| r.0 != 201)
        .all(|r| r.0 == 400 && r.1["errors"][0]["bookingError"] == "overbooked"));

    // Notify called on both instances at once: each message arrives once.
    let admin = a.token(Uuid::new_v4(), true, None);
    let calls =
        futures::future::join_all([&a, &b, &a, &b].map(|s| {
            call(&client, reqwest::Method::POST, format!("{}/v1/bookings/notify", s.base), Some(&admin), None)
        }))
        .await;
    assert!(calls.iter().all(|r| r.0 == 204), "{calls:?}");
    let mails = sink.messages();
    // 5 athlete and 5 coach booking confirmations, and the visitor's and owner's reservation ones.
    assert_eq!(mails.len(), 12, "{:?}", mails.iter().map(|m| m.to.clone()).collect::<Vec<_>>());
    let mut keys: Vec<String> = mails.iter().map(|m| m.header("X-Idempotency-Key").unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12);
    // Whichever instance rendered it, the visitor's email carries the manage link the reserving
    // instance answered (quoted-printable may break it over lines).
    let visitor = mails.iter().find(|m| m.to == ["v@example.com"]).unwrap();
    let unbroken = visitor.data.replace("=\r\n", "");
    assert!(unbroken.contains(manage_url.split('/').next_back().unwrap()), "{}", visitor.data);
    drop((a, b));
    db.drop_it().await;
}

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for chrono::DateTime<chrono::Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_in_flight_requests_and_exits_zero_without_partial_writes() {
    let Some(db) = Database::for_test().await else { return };
    let mut server = Server::start(&db.url, None).await;
    let client = reqwest::Client::new();
    let coach = Uuid::new_v4();
    let coach_token = server.token(coach, false, None);
    let start = (chrono::Utc::now() + chrono::Duration::days(3)).with_nanosecond_zero();
    let mut events = Vec::new();
    for i in 0..3 {
        let (_, e) = call(
            &client,
            reqwest::Method::POST,
            format!("{}/v1/coach-events", server.base),
            Some(&coach_token),
            Some(event_body(start + chrono::Duration::hours(2 * i), 500)),
        )
        .await;
        events.push(e["eventId"].as_str().unwrap().to_string());
    }
    // Orders of three events keep coming while the server is told to stop.
    let athletes: Vec<(Uuid, String)> =
        (0..120).map(|_| Uuid::new_v4()).map(|id| (id, server.token(id, false, None))).collect();
    let base = server.base.clone();
    let load = {
        let client = client.clone();
        let events = events.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for chunk in athletes.chunks(8) {
                let results = futures::future::join_all(chunk.iter().map(|(id, tok)| {
                    let body = json!({"userId": id, "eventIds": events, "paymentMethod": {"type": "Cash"}});
                    let req = client.post(format!("{base}/v1/bookings")).bearer_auth(tok).json(&body).send();
                    async move { (*id, req.await.map(|r| r.status().as_u16()).ok()) }
                }))
                .await;
                outcomes.extend(results);
            }
            outcomes
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        drop(server);
        status
    })
    .await
    .unwrap();
    assert!(status.success(), "exit status {status:?}");
    let outcomes = load.await.unwrap();
    let created: Vec<Uuid> = outcomes.iter().filter(|(_, s)| *s == Some(201)).map(|(id, _)| *id).collect();
    assert!(!created.is_empty(), "some orders went through before the stop");
    assert!(outcomes.iter().any(|(_, s)| s.is_none()), "some requests were refused after the stop");

    // No partial write: every order has its three bookings, and only the answered ones exist.
    use sea_orm::{ConnectionTrait, Database as Db, Statement};
    let conn = Db::connect(&db.url).await.unwrap();
    let rows = conn
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT o.user_id, count(b.id) AS n FROM booking_orders o LEFT JOIN bookings b ON b.order_id = o.id GROUP BY o.id, o.user_id",
        ))
        .await
        .unwrap();
    for row in &rows {
        let n: i64 = row.try_get("", "n").unwrap();
        assert_eq!(n, 3, "an order with {n} bookings");
    }
    let stored: std::collections::BTreeSet<Uuid> =
        rows.iter().map(|r| r.try_get::<Uuid>("", "user_id").unwrap()).collect();
    for id in &created {
        assert!(stored.contains(id), "an answered order is missing");
    }
    conn.close().await.ok();
    db.drop_it().await;
}

/// A POST with an Idempotency-Key: status, whether it was a replay, the body's bytes.
async fn keyed_post(client: &reqwest::Client, url: String, key: &str, body: &Value) -> (u16, bool, String) {
    let r = client.post(url).header("idempotency-key", key).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (status, replayed, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_replays_across_two_processes() {
    let Some(db) = Database::for_test().await else { return };
    let a = Server::start(&db.url, None).await;
    let b = Server::start(&db.url, None).await;
    let client = reqwest::Client::new();
    let owner = Uuid::new_v4();
    let owner_token = a.token(owner, false, None);
    let (_, cal) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v1/calendars", a.base),
        Some(&owner_token),
        Some(json!({"name": "c"})),
    )
    .await;
    let cal = cal["id"].as_str().unwrap().to_string();
    let (_, link) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v1/calendars/{cal}/booking-link", a.base),
        Some(&owner_token),
        Some(json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}})),
    )
    .await;
    let token = link["token"].as_str().unwrap().to_string();
    let reserve =
        |start: &str, end: &str| json!({"name": "V", "email": "v@example.com", "slot_start": start, "slot_end": end});

    // A retry that reaches the other process gets the first answer, byte for byte.
    let body = reserve("2027-03-08T09:00:00Z", "2027-03-08T09:30:00Z");
    let first = keyed_post(&client, format!("{}/v1/booking/{token}/reserve", a.base), "k-1", &body).await;
    assert_eq!((first.0, first.1), (200, false), "{}", first.2);
    let again = keyed_post(&client, format!("{}/v1/booking/{token}/reserve", b.base), "k-1", &body).await;
    assert_eq!(again, (200, true, first.2.clone()));
    let manage: Value = serde_json::from_str(&first.2).unwrap();
    let manage = manage["manage_token"].as_str().unwrap().to_string();

    // 20 sends of one request with one key, alternating processes: one booking, every other
    // answer its replay or a 409 while it is being served.
    let body = reserve("2027-03-08T10:00:00Z", "2027-03-08T10:30:00Z");
    let servers = [&a, &b];
    let answers = futures::future::join_all(
        (0..20)
            .map(|i| keyed_post(&client, format!("{}/v1/booking/{token}/reserve", servers[i % 2].base), "k-2", &body)),
    )
    .await;
    let served: Vec<_> = answers.iter().filter(|r| r.0 == 200 && !r.1).collect();
    assert_eq!(served.len(), 1, "{answers:?}");
    for r in &answers {
        assert!(r.0 == 409 || (r.0 == 200 && r.2 == served[0].2), "{r:?}");
    }

    // The guest's cancel, replayed on the other process.
    let url = |s: &Server| format!("{}/v1/reservations/{manage}/cancel", s.base);
    let first = keyed_post(&client, url(&b), "k-3", &json!({})).await;
    assert_eq!((first.0, first.1), (200, false), "{}", first.2);
    assert_eq!(keyed_post(&client, url(&a), "k-3", &json!({})).await, (200, true, first.2));

    let (status, events) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/v1/calendars/{cal}/events?start=2027-03-08T00:00:00Z&end=2027-03-09T00:00:00Z", b.base),
        Some(&owner_token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(events.as_array().unwrap().len(), 1, "the cancelled one and the one booked once: {events}");
    drop((a, b));
    db.drop_it().await;
}
