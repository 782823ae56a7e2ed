//! HTTP validators on availability and on the booking page's free times: a strong ETag (a
//! digest of the answer), `Cache-Control: public, max-age=<AVAILABILITY_CACHE>`, and
//! `If-None-Match` (a list, `*`, weak comparison) answered 304 with no body, whether the answer
//! was computed, kept or served from the answer cache.

use crate::helpers::*;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::json;

/// Runs `test` on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set (CI: must be), with `args`.
macro_rules! on_both_backends {
    ($name:ident, $args:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, $args).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::helpers::pg_url().is_none() {
                    eprintln!("skipped: TEST_DATABASE_URL is not set");
                    return;
                }
                super::$name(crate::helpers::spawn_app_with(crate::helpers::Backend::Postgres, $args).await).await;
            }
        }
    };
}

/// The cache time these tests run with, so max-age is seen to follow it.
const CACHE: &[&str] = &["--availability-cache", "60s"];
const MAX_AGE: &str = "public, max-age=60";

async fn monday_link(app: &TestApp) -> String {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let body = json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}});
    let r = app.create_link(&owner, cal, body).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
}

struct Got {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Got {
    #[track_caller]
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
    }
}

async fn get(app: &TestApp, method: Method, path: &str, if_none_match: Option<&str>) -> Got {
    let mut req = app.client.request(method, format!("{}{path}", app.address));
    if let Some(tags) = if_none_match {
        req = req.header("if-none-match", tags);
    }
    let r = req.send().await.unwrap();
    Got { status: r.status().as_u16(), headers: r.headers().clone(), text: r.text().await.unwrap() }
}

/// Asserts `got` is a 304 standing for the answer tagged `etag`.
#[track_caller]
fn assert_not_modified(got: &Got, etag: &str) {
    assert_eq!(got.status, 304, "{:?} {}", got.headers, got.text);
    assert_eq!(got.text, "", "a 304 has no body");
    assert_eq!(got.header("etag"), etag);
    assert_eq!(got.header("cache-control"), MAX_AGE);
}

async fn availability_answers_with_validators_and_304s(app: TestApp) {
    let token = monday_link(&app).await;
    let path = format!("/v1/booking/{token}/availability?start=2030-03-04T00%3A00%3A00Z&end=2030-03-05T00%3A00%3A00Z");

    // Computed, kept, served: one answer, one ETag, and the configured cache time.
    let first = get(&app, Method::GET, &path, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let etag = first.header("etag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "a strong ETag: {etag}");
    assert_eq!(first.header("cache-control"), MAX_AGE);
    for _ in 0..2 {
        let again = get(&app, Method::GET, &path, None).await;
        assert_eq!(
            (again.status, again.header("etag"), again.text.as_str()),
            (200, etag.as_str(), first.text.as_str())
        );
        assert_eq!(again.header("cache-control"), MAX_AGE);
    }
    assert_eq!(get(&app, Method::GET, &path, None).await.header("cache-status"), "bookings; hit");

    // Revalidations: the tag itself, weakly, in a list, `*`; a HEAD alike.
    for tags in [etag.clone(), format!("W/{etag}"), format!("\"other\", {etag}"), "*".to_string()] {
        assert_not_modified(&get(&app, Method::GET, &path, Some(&tags)).await, &etag);
    }
    assert_not_modified(&get(&app, Method::HEAD, &path, Some(&etag)).await, &etag);
    // Another tag: the whole answer.
    let other = get(&app, Method::GET, &path, Some("\"other\", W/\"another\"")).await;
    assert_eq!((other.status, other.text.as_str()), (200, first.text.as_str()));
    assert_eq!(other.header("etag"), etag);

    // A changed answer has a new tag, and the old one no longer revalidates.
    app.reserve(&token, "2030-03-04T09:00:00Z", "2030-03-04T09:30:00Z").await.expect(200);
    let changed = get(&app, Method::GET, &path, Some(&etag)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_ne!(changed.header("etag"), etag);
    assert_ne!(changed.text, first.text);
    assert_eq!(changed.header("cache-status"), "bookings; fwd=miss; stored");
    let new_tag = changed.header("etag").to_string();
    assert_not_modified(&get(&app, Method::GET, &path, Some(&new_tag)).await, &new_tag);

    // Each way an answer is made revalidates: computed and not kept, computed and kept (asked
    // for before), served from the cache.
    let path = format!("/v1/booking/{token}/availability?start=2030-03-11T00%3A00%3A00Z&end=2030-03-12T00%3A00%3A00Z");
    let computed = get(&app, Method::GET, &path, None).await;
    assert_eq!(computed.header("cache-status"), "bookings; fwd=miss");
    let tag = computed.header("etag").to_string();
    let kept = get(&app, Method::GET, &path, Some(&tag)).await;
    assert_not_modified(&kept, &tag);
    assert_eq!(kept.header("cache-status"), "bookings; fwd=miss; stored");
    let hit = get(&app, Method::GET, &path, Some(&tag)).await;
    assert_not_modified(&hit, &tag);
    assert_eq!(hit.header("cache-status"), "bookings; hit");
}
on_both_backends!(availability_answers_with_validators_and_304s, crate::validators::CACHE);

async fn a_range_the_cache_never_keeps_has_validators_too(app: TestApp) {
    let token = monday_link(&app).await;
    let start = chrono::Utc::now().format("%Y-%m-%dT%H:00:00Z").to_string();
    let end = (chrono::Utc::now() + chrono::Duration::days(8)).format("%Y-%m-%dT%H:00:00Z").to_string();
    let path = format!("/v1/booking/{token}/availability?start={}&end={}", urlencode(&start), urlencode(&end));
    let first = get(&app, Method::GET, &path, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.headers.get("cache-status").is_none(), "not considered by the answer cache");
    let etag = first.header("etag").to_string();
    assert_eq!(first.header("cache-control"), MAX_AGE);
    assert_not_modified(&get(&app, Method::GET, &path, Some(&etag)).await, &etag);
    assert_eq!(get(&app, Method::GET, &path, Some("\"nope\"")).await.status, 200);
    // Errors carry no validators and are never 304.
    let missing = get(
        &app,
        Method::GET,
        "/v1/booking/nope/availability?start=2030-03-04T00%3A00%3A00Z&end=2030-03-05T00%3A00%3A00Z",
        Some("*"),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.headers.get("etag").is_none());
}
on_both_backends!(a_range_the_cache_never_keeps_has_validators_too, crate::validators::CACHE);

async fn the_booking_pages_free_times_have_validators(app: TestApp) {
    use chrono::Datelike;
    let token = monday_link(&app).await;
    // A Monday one to two weeks ahead: inside the page's booking window.
    let today = chrono::Utc::now().date_naive();
    let monday = today + chrono::Duration::days(7 + (7 - i64::from(today.weekday().num_days_from_monday())) % 7);
    let (month, day) = (monday.format("%Y-%m"), monday.format("%Y-%m-%d"));
    let path = format!("/booking/{token}?tz=UTC&month={month}&day={day}&lang=en");
    let first = get(&app, Method::GET, &path, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.text.contains("slot="), "the day's free times are on the page");
    let etag = first.header("etag").to_string();
    assert_eq!(first.header("cache-control"), MAX_AGE);
    let again = get(&app, Method::GET, &path, None).await;
    assert_eq!((again.header("etag"), again.text.as_str()), (etag.as_str(), first.text.as_str()));
    let revalidated = get(&app, Method::GET, &path, Some(&format!("\"x\", W/{etag}"))).await;
    assert_not_modified(&revalidated, &etag);
    assert_eq!(get(&app, Method::GET, &path, Some("\"x\"")).await.status, 200);

    // Compressed, it is another representation: the same tag made weak, which revalidates too,
    // and the 304 says no content coding.
    let gzip = |tags: Option<&str>| {
        let mut req = app.client.get(format!("{}{path}", app.address)).header("accept-encoding", "gzip");
        if let Some(tags) = tags {
            req = req.header("if-none-match", tags);
        }
        req.send()
    };
    let zipped = gzip(None).await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["etag"].to_str().unwrap(), format!("W/{etag}"));
    let zipped = gzip(Some(&format!("W/{etag}"))).await.unwrap();
    assert_eq!(zipped.status(), 304);
    assert!(zipped.headers().get("content-encoding").is_none());
    assert_eq!(zipped.bytes().await.unwrap().len(), 0);

    app.reserve(&token, &format!("{day}T09:00:00Z"), &format!("{day}T09:30:00Z")).await.expect(200);
    let changed = get(&app, Method::GET, &path, Some(&etag)).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
    // The form (a fresh key each time) carries none.
    let slot = monday.format("%Y%m%dT100000Z");
    let form = get(&app, Method::GET, &format!("/booking/{token}?tz=UTC&slot={slot}"), None).await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(form.headers.get("etag").is_none());
    assert_eq!(form.header("cache-control"), "no-cache");
}
on_both_backends!(the_booking_pages_free_times_have_validators, crate::validators::CACHE);
