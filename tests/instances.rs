//! Several server processes on one PostgreSQL: reservations, orders and notify calls raced
//! across two instances; graceful shutdown on SIGTERM; public rate limits shared through Redis
//! (and what happens when Redis stops); the README's two instances, started as written.

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
    jwt_secret: String,
}

impl Server {
    async fn start(database_url: &str, smtp: Option<&str>) -> Self {
        Self::start_extra(database_url, smtp, &[]).await
    }

    /// [`Server::start`] with `extra` settings besides.
    async fn start_extra(database_url: &str, smtp: Option<&str>, extra: &[(&str, &str)]) -> Self {
        let mut env = vec![
            ("DATABASE_URL", database_url.to_string()),
            ("JWT_SECRET", SECRET.to_string()),
            ("MANAGE_LINK_SECRET", MANAGE_LINK_SECRET.to_string()),
            ("PUBLIC_RATE_LIMIT_PER_MINUTE", "0".to_string()),
        ];
        if let Some(smtp) = smtp {
            env.push(("SMTP_URL", smtp.to_string()));
        }
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        Self::start_with(&env).await
    }

    /// A server on a port of its own with `env` (and a data directory, `APP_ENV=test`); its
    /// log (stderr) goes to a file [`Server::log`] reads.
    async fn start_with(env: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let given = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        let bind = given("BIND_ADDR").unwrap_or_else(|| format!("127.0.0.1:{}", free_port()));
        let jwt_secret = given("JWT_SECRET").unwrap_or_else(|| SECRET.to_string());
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env("DATA_DIR", dir.path())
            .env("BIND_ADDR", &bind)
            .env("APP_ENV", "test")
            .env("RUST_LOG", "warn,bookings::edge::rate_limit=info")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log);
        let child = cmd.spawn().unwrap();
        let base = format!("http://{bind}");
        let started = Instant::now();
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base, dir, jwt_secret }
    }

    /// What the server has logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn token(&self, sub: Uuid, admin: bool, email: Option<&str>) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(["token", "--sub", &sub.to_string()])
            .env("DATA_DIR", self.dir.path())
            .env("JWT_SECRET", &self.jwt_secret);
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

// ---- availability caches that act as one

/// Long, so only the change signal can make another instance's change show in time.
const LONG_CACHE: &[(&str, &str)] = &[("AVAILABILITY_CACHE", "60s")];
/// Generous: without the signal a change shows after the 60 s cache time.
const SIGNAL_DEADLINE: Duration = Duration::from_secs(3);

/// A link open 09:00-12:00 UTC on Mondays (30 minutes), made through `server`; its token and the
/// availability path of a Monday one to two weeks ahead (a range the answer cache keeps).
async fn monday_link(client: &reqwest::Client, server: &Server) -> (String, String, chrono::NaiveDate) {
    use chrono::Datelike;
    let owner = server.token(Uuid::new_v4(), false, None);
    let (s, cal) = call(
        client,
        reqwest::Method::POST,
        format!("{}/v1/calendars", server.base),
        Some(&owner),
        Some(json!({"name": "Work"})),
    )
    .await;
    assert_eq!(s, 201, "{cal}");
    let body = json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}});
    let url = format!("{}/v1/calendars/{}/booking-link", server.base, cal["id"].as_str().unwrap());
    let (s, link) = call(client, reqwest::Method::POST, url, Some(&owner), Some(body)).await;
    assert_eq!(s, 200, "{link}");
    let token = link["token"].as_str().unwrap().to_string();
    let today = chrono::Utc::now().date_naive();
    let monday = today + chrono::Duration::days(7 + (7 - i64::from(today.weekday().num_days_from_monday())) % 7);
    let next = monday + chrono::Duration::days(1);
    let path = format!("/v1/booking/{token}/availability?start={monday}T00:00:00Z&end={next}T00:00:00Z");
    (token, path, monday)
}

/// Whether `server`'s availability at `path` still offers a slot starting at `start` (and the
/// answer's Cache-Status).
async fn offers(client: &reqwest::Client, server: &Server, path: &str, start: &str) -> (bool, String) {
    let r = client.get(format!("{}{path}", server.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let status = r.headers().get("cache-status").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body: Value = r.json().await.unwrap();
    let starts: Vec<String> = body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap()).unwrap().to_utc().to_rfc3339())
        .collect();
    (starts.iter().any(|s| s == start), status)
}

/// Asks `server` for `path` until its answer cache serves it (a hit), offering `start`.
async fn warm(client: &reqwest::Client, server: &Server, path: &str, start: &str) {
    for _ in 0..10 {
        let (offered, status) = offers(client, server, path, start).await;
        assert!(offered);
        if status == "bookings; hit" {
            return;
        }
    }
    panic!("{path} was never served from the answer cache");
}

/// Reserves the slot at `start` (30 minutes) through `server`.
async fn reserve(client: &reqwest::Client, server: &Server, token: &str, start: chrono::DateTime<chrono::Utc>) {
    let body = json!({"name": "Ada", "email": "ada@example.com", "slot_start": start.to_rfc3339(),
        "slot_end": (start + chrono::Duration::minutes(30)).to_rfc3339()});
    let (s, r) =
        call(client, reqwest::Method::POST, format!("{}/v1/booking/{token}/reserve", server.base), None, Some(body))
            .await;
    assert_eq!(s, 200, "{r}");
}

/// Polls `server` until the slot at `start` is gone; how long that took (fails past the deadline).
async fn until_gone(client: &reqwest::Client, server: &Server, path: &str, start: &str, since: Instant) -> Duration {
    loop {
        let (offered, _) = offers(client, server, path, start).await;
        if !offered {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < SIGNAL_DEADLINE,
            "the other instance still offers the taken slot {:?} after the reservation",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reservation_through_one_instance_is_gone_from_the_others_availability_at_once() {
    let Some(db) = Database::for_test().await else { return };
    let a = Server::start_extra(&db.url, None, LONG_CACHE).await;
    let b = Server::start_extra(&db.url, None, LONG_CACHE).await;
    let client = reqwest::Client::new();
    let (token, path, monday) = monday_link(&client, &a).await;
    let slot = monday.and_hms_opt(9, 0, 0).unwrap().and_utc();
    let start = slot.to_rfc3339();

    // B's cache is warm: the second identical request keeps the answer, the third is a hit.
    warm(&client, &b, &path, &start).await;
    let since = Instant::now();
    reserve(&client, &a, &token, slot).await;
    let reserved = since.elapsed();
    let seen = until_gone(&client, &b, &path, &start, since).await;
    eprintln!("the reservation through A (answered in {reserved:?}) was gone from B's availability after {seen:?}");
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_listener_connection_leaves_no_stale_availability() {
    use sea_orm::{ConnectionTrait, Statement};
    let Some(db) = Database::for_test().await else { return };
    let a = Server::start_extra(&db.url, None, LONG_CACHE).await;
    let b = Server::start_extra(&db.url, None, LONG_CACHE).await;
    let client = reqwest::Client::new();
    let (token, path, monday) = monday_link(&client, &a).await;
    let slot = monday.and_hms_opt(9, 30, 0).unwrap().and_utc();
    let start = slot.to_rfc3339();
    warm(&client, &b, &path, &start).await;

    // B's listener: its connection's application_name names B's process.
    let admin = sea_orm::Database::connect(&db.url).await.unwrap();
    let name = format!("bookings-availability-listener {}", b.child.id());
    let listener_pid = || {
        let admin = &admin;
        let name = name.clone();
        async move {
            let rows = admin
                .query_all_raw(Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 \
                     AND query ILIKE 'LISTEN%'",
                    [name.into()],
                ))
                .await
                .unwrap();
            rows.first().map(|r| r.try_get_by_index::<i32>(0).unwrap())
        }
    };
    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = listener_pid().await {
            break pid;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "B's listener never showed in pg_stat_activity");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let terminated = admin
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend($1)",
            [pid.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<bool>(0)
        .unwrap();
    assert!(terminated);

    // At once: the notice may well be sent while B is not listening.
    let since = Instant::now();
    reserve(&client, &a, &token, slot).await;
    let seen = until_gone(&client, &b, &path, &start, since).await;
    eprintln!("with B's listener connection terminated, the reservation through A was gone from B after {seen:?}");

    // And B listens again, on a new connection.
    let started = Instant::now();
    loop {
        match listener_pid().await {
            Some(new) if new != pid => break,
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(10), "B's listener did not reconnect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A change after the reconnection reaches B through the signal again.
    let next = monday.and_hms_opt(10, 0, 0).unwrap().and_utc();
    warm(&client, &b, &path, &next.to_rfc3339()).await;
    let since = Instant::now();
    reserve(&client, &a, &token, next).await;
    let seen = until_gone(&client, &b, &path, &next.to_rfc3339(), since).await;
    eprintln!("after B's listener reconnected, a reservation through A was gone from B after {seen:?}");
    admin.close().await.ok();
    db.drop_it().await;
}

/// Redis at 127.0.0.1:6379, as on the CI machines; `None` (the test is skipped) when it is
/// unreachable, except with `CI` set: there the test fails.
fn shared_redis() -> Option<String> {
    let addr: std::net::SocketAddr = "127.0.0.1:6379".parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        return Some(format!("redis://{addr}"));
    }
    assert!(std::env::var_os("CI").is_none(), "CI is set but Redis at {addr} is unreachable");
    eprintln!("skipped: Redis at {addr} is unreachable");
    None
}

/// A `redis-server` of the test's own (a port of its own, nothing written to disk), which the
/// test may stop and start again on the same port.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// `None` (skipped) when there is no `redis-server` to run, except with `CI` set.
    fn start() -> Option<Self> {
        let mut server = RedisServer { port: free_port(), child: None };
        if let Err(e) = server.run() {
            assert!(std::env::var_os("CI").is_none(), "CI is set but redis-server does not start: {e}");
            eprintln!("skipped: redis-server does not start: {e}");
            return None;
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(std::io::Error::other("redis-server did not listen within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A booking link on `server`, made by a new owner; its token.
async fn a_link(client: &reqwest::Client, server: &Server) -> String {
    let owner_token = server.token(Uuid::new_v4(), false, None);
    let (status, cal) = call(
        client,
        reqwest::Method::POST,
        format!("{}/v1/calendars", server.base),
        Some(&owner_token),
        Some(json!({"name": "c"})),
    )
    .await;
    assert_eq!(status, 201, "{cal}");
    let cal = cal["id"].as_str().unwrap().to_string();
    let (status, link) = call(
        client,
        reqwest::Method::POST,
        format!("{}/v1/calendars/{cal}/booking-link", server.base),
        Some(&owner_token),
        Some(json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}})),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {link}");
    link["token"].as_str().unwrap().to_string()
}

/// One availability request, as the balancer forwards it for `client_ip`: its status, and how
/// long the answer took. A 429 must say when to retry.
async fn availability(client: &reqwest::Client, server: &Server, link: &str, client_ip: &str) -> (u16, Duration) {
    let started = Instant::now();
    let r = client
        .get(format!(
            "{}/v1/booking/{link}/availability?start=2027-03-01T00:00:00Z&end=2027-03-08T00:00:00Z",
            server.base
        ))
        .header("x-forwarded-for", client_ip)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 429 {
        let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    (status, started.elapsed())
}

/// `n` requests from `client_ip`, alternating between `servers`, all at once: how many were
/// admitted (every other answer is a 429).
async fn hammer(client: &reqwest::Client, servers: [&Server; 2], link: &str, client_ip: &str, n: usize) -> usize {
    let answers =
        futures::future::join_all((0..n).map(|i| availability(client, servers[i % 2], link, client_ip))).await;
    let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(codes.iter().all(|c| *c == 200 || *c == 429), "{codes:?}");
    codes.iter().filter(|c| **c == 200).count()
}

/// Burst 5 and one token a minute: over a test of seconds, a client's admissions are exactly the
/// burst.
const BURST: usize = 5;

fn limited_env(database_url: &str, redis_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_string()),
        ("JWT_SECRET", SECRET.to_string()),
        ("MANAGE_LINK_SECRET", MANAGE_LINK_SECRET.to_string()),
        ("REDIS_URL", redis_url.to_string()),
        // Runs never share buckets.
        ("REDIS_KEY_PREFIX", format!("bookings-test:{}", Uuid::new_v4().simple())),
        ("REDIS_TIMEOUT", "100ms".to_string()),
        ("PUBLIC_RATE_LIMIT_PER_MINUTE", "1".to_string()),
        ("PUBLIC_RATE_LIMIT_BURST", BURST.to_string()),
        ("TRUSTED_PROXY_HOPS", "1".to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_with_redis_admit_a_client_the_public_limit_once() {
    let Some(redis) = shared_redis() else { return };
    let Some(db) = Database::for_test().await else { return };
    let env = limited_env(&db.url, &redis);
    let a = Server::start_with(&env).await;
    let b = Server::start_with(&env).await;
    let client = reqwest::Client::new();
    let link = a_link(&client, &a).await;

    // 40 requests of one client, half through each instance, at once: the burst, not twice it.
    assert_eq!(hammer(&client, [&a, &b], &link, "198.51.100.7", 40).await, BURST);
    // Through either instance alone, still nothing more.
    assert_eq!(availability(&client, &b, &link, "198.51.100.7").await.0, 429);
    // Another client has a bucket of its own, shared too.
    assert_eq!(hammer(&client, [&b, &a], &link, "198.51.100.8", 20).await, BURST);
    for server in [&a, &b] {
        assert!(!server.log().contains("Redis does not answer"), "{}", server.log());
    }
    drop((a, b));
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_mid_run_each_instance_counts_alone_then_shares_again() {
    let Some(mut redis) = RedisServer::start() else { return };
    let Some(db) = Database::for_test().await else { return };
    let env = limited_env(&db.url, &redis.url());
    let a = Server::start_with(&env).await;
    let b = Server::start_with(&env).await;
    let client = reqwest::Client::new();
    let link = a_link(&client, &a).await;
    assert_eq!(hammer(&client, [&a, &b], &link, "198.51.100.7", 20).await, BURST);

    // Redis stops: both keep answering, each within a bounded time and with no 5xx, and each
    // counts alone: a new client gets the burst from each instance.
    redis.kill();
    let mut admitted = 0;
    for i in 0..20 {
        let server = [&a, &b][i % 2];
        let (status, took) = availability(&client, server, &link, "198.51.100.9").await;
        assert!(status == 200 || status == 429, "{status}");
        assert!(took < Duration::from_secs(2), "an answer took {took:?} while Redis was down");
        admitted += usize::from(status == 200);
    }
    assert_eq!(admitted, 2 * BURST);
    for server in [&a, &b] {
        let log = server.log();
        assert_eq!(log.matches("Redis does not answer").count(), 1, "said once: {log}");
        assert!(!log.contains("redis-password") && !log.contains(&link), "{log}");
    }

    // Redis is back on its port: within a few back-offs each instance says so and shares again.
    redis.run().unwrap();
    let started = Instant::now();
    let mut round = 0u32;
    while ![&a, &b].iter().all(|s| s.log().contains("Redis answers again")) {
        assert!(started.elapsed() < Duration::from_secs(15), "not back on Redis: {}\n{}", a.log(), b.log());
        round += 1;
        // Requests of passing clients make each instance ask Redis again after its back-off.
        for server in [&a, &b] {
            let (status, _) = availability(&client, server, &link, &format!("203.0.113.{}", round % 250)).await;
            assert!(status == 200 || status == 429, "{status}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(hammer(&client, [&a, &b], &link, "198.51.100.10", 20).await, BURST);
    drop((a, b));
    db.drop_it().await;
}

/// The lines of README.md's code block after `marker` (comments and blank lines left out).
fn readme_block(marker: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find(marker).unwrap_or_else(|| panic!("README.md has no {marker}"))..];
    let block = after.split("```").nth(1).expect("a code block after the marker");
    block
        .lines()
        .skip(1) // the language
        .map(|line| line.split(" #").next().unwrap().trim().to_string())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readme_two_instances_serve_as_written() {
    let lines = readme_block("<!-- instances-env");
    let pairs: Vec<(String, String)> = lines
        .iter()
        .map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap_or_else(|| panic!("{l}")))
        .collect();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "DATABASE_URL",
            "REDIS_URL",
            "JWT_SECRET",
            "MANAGE_LINK_SECRET",
            "TRUSTED_PROXY_HOPS",
            "MAX_CONNECTIONS_PER_CLIENT",
            "BIND_ADDR",
            "BIND_ADDR"
        ]
    );
    let binds: Vec<&str> = pairs.iter().filter(|(k, _)| k == "BIND_ADDR").map(|(_, v)| v.as_str()).collect();
    // Prometheus scrapes both instances where they listen.
    let scrape = readme_block("<!-- instances-scrape").join("\n");
    assert!(scrape.contains("metrics_path: /metrics"), "{scrape}");
    let targets = format!("targets: [{}]", binds.iter().map(|b| format!("\"{b}\"")).collect::<Vec<_>>().join(", "));
    assert!(scrape.contains(&targets), "{scrape} lacks {targets}");

    let Some(redis) = shared_redis() else { return };
    let Some(db) = Database::for_test().await else { return };
    // As written, but for the hosts this machine has: the test's database, Redis and ports
    // (the README's URL path, the Redis database number, is kept).
    let redis_db = pairs.iter().find(|(k, _)| k == "REDIS_URL").unwrap().1.rsplit_once('/').unwrap().1.to_string();
    let redis_url = format!("{redis}/{redis_db}");
    let env_for = |bind: String| readme_env(&pairs, &db.url, &redis_url, bind);
    let a = Server::start_with(&env_for(format!("127.0.0.1:{}", free_port()))).await;
    let b = Server::start_with(&env_for(format!("127.0.0.1:{}", free_port()))).await;
    let client = reqwest::Client::new();
    for server in [&a, &b] {
        for path in ["/healthz", "/readyz"] {
            let status = client.get(format!("{}{path}", server.base)).send().await.unwrap().status();
            assert_eq!(status, 200, "{path}");
        }
    }
    // A token signed with the README's JWT_SECRET works on both; the link made on one is served
    // by the other, and a reservation made through one is managed through the other.
    let link = a_link(&client, &a).await;
    let visitor = format!("10.{}.{}.{}", rand_octet(), rand_octet(), rand_octet());
    assert_eq!(availability(&client, &b, &link, &visitor).await.0, 200);
    let reserve = json!({"name": "V", "email": "v@example.com", "slot_start": "2027-03-01T09:00:00Z", "slot_end": "2027-03-01T09:30:00Z"});
    let (status, reservation) =
        call(&client, reqwest::Method::POST, format!("{}/v1/booking/{link}/reserve", b.base), None, Some(reserve))
            .await;
    assert_eq!(status, 200, "{reservation}");
    let manage = reservation["manage_token"].as_str().unwrap();
    let (status, body) =
        call(&client, reqwest::Method::GET, format!("{}/v1/reservations/{manage}", a.base), None, None).await;
    assert_eq!(status, 200, "{body}");
    for server in [&a, &b] {
        assert!(!server.log().contains("Redis does not answer"), "{}", server.log());
    }
    drop((a, b));
    db.drop_it().await;
}

/// The README's environment, with this machine's database, Redis and address in place of its
/// hosts.
fn readme_env<'a>(pairs: &'a [(String, String)], database: &str, redis: &str, bind: String) -> Vec<(&'a str, String)> {
    pairs
        .iter()
        .filter(|(k, _)| k != "BIND_ADDR")
        .map(|(k, v)| {
            let value = match k.as_str() {
                "DATABASE_URL" => database.to_string(),
                "REDIS_URL" => redis.to_string(),
                _ => v.clone(),
            };
            (k.as_str(), value)
        })
        .chain([("BIND_ADDR", bind)])
        .collect()
}

fn rand_octet() -> u8 {
    Uuid::new_v4().as_bytes()[0]
}
