//! `GET /metrics`: parsed with a real Prometheus text parser; counters move with requests; the
//! duration histogram carries the route template; no label holds a token or an email.
//!
//! Every app of this test binary records into the one recorder of the process, and tests run
//! at once: counters are asserted to have moved by at least what this test did.

use crate::db_tests;
use crate::helpers::*;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;

async fn scrape_at(app: &TestApp, base: &str) -> (String, Scrape) {
    let resp = app.client.get(format!("{base}/metrics")).send().await.expect("scrape sent");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = resp.text().await.unwrap();
    let readable = braces_in_values_as_angles(&text);
    let scrape = Scrape::parse(readable.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text parses");
    // Every sample line was read (the parser skips what it cannot read).
    let sample_lines = readable.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
    let histogram_lines: usize = scrape
        .samples
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(b) => b.len(),
            _ => 1,
        })
        .sum();
    assert_eq!(histogram_lines, sample_lines, "every sample line parses:\n{text}");
    (text, scrape)
}

/// prometheus-parse reads a sample's labels up to the first `}`, so a route template's braces
/// inside a label value (valid in the text format; Prometheus reads them) would cut the line:
/// they are read as `<` and `>`.
fn braces_in_values_as_angles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let (mut quoted, mut escaped) = (false, false);
        for c in line.chars() {
            let comment = line.starts_with('#');
            out.push(match c {
                '{' if quoted => '<',
                '}' if quoted => '>',
                _ => c,
            });
            if escaped {
                escaped = false;
            } else if c == '\\' && quoted {
                escaped = true;
            } else if c == '"' && !comment {
                quoted = !quoted;
            }
        }
        out.push('\n');
    }
    out
}

async fn scrape(app: &TestApp) -> (String, Scrape) {
    scrape_at(app, &app.address).await
}

fn value(s: &Sample) -> f64 {
    match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        Value::Summary(_) => 0.0,
    }
}

/// The sum of `metric`'s samples whose labels include `labels`.
fn total(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(value)
        .sum()
}

async fn metrics_move_with_requests_and_hold_no_secrets(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let link = app
        .create_link(
            &owner,
            cal,
            json!({"duration_minutes": 60, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}}),
        )
        .await
        .expect(200);
    let token = link.body["token"].as_str().unwrap().to_string();
    // The route template, `/v1/booking/{token}/availability`, as read here (see above).
    let route = "/v1/booking/<token>/availability";
    let availability =
        [("http_route", route), ("operation_id", "getBookingAvailability"), ("http_request_method", "GET")];
    let (_, before) = scrape(&app).await;
    let created = [("outcome", "created")];
    let conflict = [("outcome", "conflict")];

    app.availability(&token, "2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z").await.expect(200);
    let (start, end) = ("2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z");
    let reserved = app.reserve(&token, start, end).await.expect(200);
    app.reserve(&token, start, end).await.expect(409);
    let manage_token = reserved.body["manage_token"].as_str().unwrap_or_default().to_string();
    // A request that reaches no operation, with a secret-looking path.
    app.get(&format!("/v1/nothing/{token}"), None).await.expect(404);
    app.get(&format!("/booking/{token}"), None).await.expect(200);

    let (text, after) = scrape(&app).await;
    let histogram = "http_server_request_duration_seconds";
    // A histogram sample's value here is its `+Inf` bucket: how many were recorded.
    let counted = |s: &Scrape| total(s, histogram, &availability);
    assert!(counted(&after) >= counted(&before) + 1.0, "an availability GET is counted under its route template");
    let ok = [("http_route", route), ("http_response_status_code", "200")];
    assert!(
        after.samples.iter().any(|s| s.metric == histogram
            && matches!(&s.value, Value::Histogram(b) if b.iter().any(|b| b.less_than == 0.005))
            && ok.iter().all(|(k, v)| s.labels.get(k) == Some(*v))),
        "the duration histogram has the route label and OpenTelemetry's buckets:\n{text}"
    );
    let reservations = "bookings_reservations_total";
    assert!(total(&after, reservations, &created) >= total(&before, reservations, &created) + 1.0);
    assert!(total(&after, reservations, &conflict) >= total(&before, reservations, &conflict) + 1.0);
    assert!(total(&after, "db_statements_total", &[]) > total(&before, "db_statements_total", &[]));
    assert!(
        total(&after, histogram, &[("http_route", "/v1/*")])
            >= total(&before, histogram, &[("http_route", "/v1/*")]) + 1.0
    );
    assert!(total(&after, histogram, &[("http_route", "/booking/*")]) >= 1.0);
    // Read at scrape time.
    assert!(after.samples.iter().any(|s| s.metric == "db_pool_connections"), "{text}");
    assert!(after
        .samples
        .iter()
        .any(|s| s.metric == "outbox_messages_pending" && s.labels.get("channel") == Some("email")));
    assert!(after.samples.iter().any(|s| s.metric == "outbox_oldest_pending_age_seconds"));
    // Described, with the other engineers' names too.
    for name in ["http_server_request_duration_seconds", "bookings_orders_total", "answer_cache_requests_total"] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name} has a HELP line");
    }
    // No label (and nothing else) holds a token or an email.
    assert!(!text.contains(&token), "the link token is in /metrics");
    assert!(manage_token.len() > 8, "{}", reserved.text);
    assert!(!text.contains(&manage_token), "the manage token is in /metrics");
    assert!(!text.contains("visitor@example.com") && !text.contains('@'), "an email is in /metrics");
}

async fn an_idempotent_replay_is_counted(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let link = app
        .create_link(
            &owner,
            cal,
            json!({"duration_minutes": 60, "timezone": "UTC", "working_hours": {"tue": [{"start": "09:00", "end": "12:00"}]}}),
        )
        .await
        .expect(200);
    let token = link.body["token"].as_str().unwrap().to_string();
    let (_, before) = scrape(&app).await;
    let body = json!({"name": "V", "email": "v@example.com", "slot_start": "2027-03-02T09:00:00Z", "slot_end": "2027-03-02T10:00:00Z"});
    for _ in 0..2 {
        let resp = app
            .client
            .post(format!("{}/v1/booking/{token}/reserve", app.address))
            .header("Idempotency-Key", format!("metrics-{token}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let (_, after) = scrape(&app).await;
    let replays = "idempotency_replays_total";
    assert!(total(&after, replays, &[]) >= total(&before, replays, &[]) + 1.0);
}

db_tests!(metrics_move_with_requests_and_hold_no_secrets, an_idempotent_replay_is_counted);

/// With `--metrics-bind`, `/metrics` is served there, and not on the application's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_bind_serves_metrics_apart() {
    let app = spawn_app_with(Backend::Sqlite, &["--metrics-bind", "127.0.0.1:0"]).await;
    let apart = app.metrics_address.clone().expect("a metrics address");
    let (text, _) = scrape_at(&app, &apart).await;
    assert!(text.contains("# HELP http_server_request_duration_seconds"));
    app.get("/metrics", None).await.expect(404);
}

/// The README's alert rules are valid YAML and every series they read is one the server
/// exposes (a renamed metric would leave an alert that never fires).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_alert_rules_read_series_the_server_exposes() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme.split("Three alert rules").nth(1).expect("the README's alert rules");
    let block = after.split("```yaml\n").nth(1).and_then(|b| b.split("```").next()).expect("a yaml block");
    let rules: serde_json::Value = serde_yaml::from_str(block).expect("the rules are YAML");
    let exprs: Vec<String> = rules["groups"][0]["rules"]
        .as_array()
        .expect("a rule group")
        .iter()
        .map(|r| r["expr"].as_str().expect("each rule has an expr").to_string())
        .collect();
    assert_eq!(exprs.len(), 3, "{exprs:?}");

    let app = spawn_app(Backend::Sqlite).await;
    app.get("/healthz", None).await.expect(200);
    let (text, _) = scrape(&app).await;
    let exposed: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    for expr in &exprs {
        let series: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| {
                w.contains('_') && (w.ends_with("_seconds") || w.contains("_seconds_") || w.ends_with("_total"))
            })
            .collect();
        assert!(!series.is_empty(), "{expr}");
        for name in series {
            assert!(exposed.contains(name), "{name} (read by an alert rule) is not exposed; exposed: {exposed:?}");
        }
    }
}
