//! The booking page's render time (issue #22: under 5 ms of server time for a month of a link
//! with 200 busy events). Starts the real server in process on a fresh SQLite database, makes a
//! link (Mon–Fri 09:00–17:00, America/Asuncion, 30-minute slots) whose calendar has 200 busy
//! events next month, and measures `GET /booking/{token}?month=<next month>` over loopback HTTP
//! (the client's share included, so an upper bound of the server's time):
//!   - `booking_page_month_200_busy`: as served, the availability cache on (default 1 s);
//!   - `booking_page_month_200_busy_uncached`: `--availability-cache-ms 0`, busy time and the
//!     link read from the database on every request.
//!
//! `cargo bench --bench pages` (release). Also `-- --quick` for one short run.

use bookings::config::Cli;
use bookings::{auth, startup};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use clap::Parser;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

struct Served {
    url: String,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(cache_ms: &str) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
    let cli = Cli::try_parse_from([
        "bookings",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &data,
        "--database-url",
        &db,
        "--jwt-secret",
        "bench-secret-that-is-long-enough-0123456789",
        "--app-env",
        "test",
        "--public-rate-limit",
        "0",
        "--availability-cache-ms",
        cache_ms,
    ])
    .expect("settings");
    let settings = cli.settings;
    let state = startup::build_state(&settings).await.expect("state");
    let bound = startup::bind(&settings, state).await.expect("bind");
    let base = format!("http://127.0.0.1:{}", bound.port);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(
        async {
            let _ = rx.await;
        },
        std::time::Duration::from_secs(1),
    ));
    let token = auth::sign(
        &settings.jwt.keys(),
        &settings.data_dir,
        startup::clock_from(&settings),
        &auth::TokenRequest {
            sub: Some(uuid::Uuid::new_v4()),
            scope: "calendar:write booking:write".into(),
            admin: false,
            email: None,
            ttl: std::time::Duration::from_secs(3600),
        },
    )
    .expect("token");
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let (client, token, base) = (client.clone(), token.clone(), base.clone());
        async move {
            let r = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.expect("post");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.expect("json")
        }
    };
    let cal = post("/v1/calendars".into(), json!({"name": "Bench"})).await["id"].as_str().expect("id").to_string();
    let hours = json!([{"start": "09:00", "end": "17:00"}]);
    let link = post(
        format!("/v1/calendars/{cal}/booking-link"),
        json!({"duration_minutes": 30, "timezone": "America/Asuncion",
               "working_hours": {"mon": hours, "tue": hours, "wed": hours, "thu": hours, "fri": hours}}),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_string();
    // 200 busy events over next month's weekdays, 10 a day from 09:00 local (12:00 UTC).
    let today = Utc::now().date_naive();
    let month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).expect("month") + Duration::days(40);
    let month = NaiveDate::from_ymd_opt(month.year(), month.month(), 1).expect("month");
    let mut day = month;
    let mut made = 0;
    while made < 200 {
        if day.weekday().num_days_from_monday() < 5 {
            for i in 0..10 {
                let start = day.and_hms_opt(12, 0, 0).expect("time").and_utc() + Duration::minutes(45 * i);
                let end = start + Duration::minutes(20);
                post(
                    format!("/v1/calendars/{cal}/events"),
                    json!({"title": "Busy", "start": start.to_rfc3339(), "end": end.to_rfc3339()}),
                )
                .await;
                made += 1;
            }
        }
        day += Duration::days(1);
    }
    Served {
        url: format!("{base}/booking/{link}?tz=America%2FAsuncion&lang=en&month={}", month.format("%Y-%m")),
        _dir: dir,
        _stop: tx,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let client = reqwest::Client::new();
    for (name, cache_ms) in [("booking_page_month_200_busy", "1000"), ("booking_page_month_200_busy_uncached", "0")] {
        let served = rt.block_on(serve(cache_ms));
        let first =
            rt.block_on(async { client.get(&served.url).send().await.expect("get").text().await.expect("body") });
        assert!(first.contains("times free"), "the page shows free days");
        eprintln!("{name}: {} bytes", first.len());
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let r = client.get(&served.url).send().await.expect("get");
                assert_eq!(r.status(), 200);
                r.bytes().await.expect("body")
            })
        });
    }
}

criterion_group!(pages, benches);
criterion_main!(pages);
