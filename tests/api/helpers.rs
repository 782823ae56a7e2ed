//! `spawn_app()`: the real application on a random port with its own database (a fresh SQLite
//! file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set), and a client.

use bookings::config::{Cli, Settings};
use bookings::{auth, startup};
use clap::Parser;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";
pub const MANAGE_LINK_SECRET: &str = "test-manage-link-secret-0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    /// Where `/metrics` is served apart (`--metrics-bind`), if it is.
    #[allow(dead_code)]
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub settings: Settings,
    #[allow(dead_code)]
    pub backend: Backend,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

/// The PostgreSQL server tests run against, if any. When it is set but unreachable the tests
/// fail: CI must not pass without PostgreSQL.
pub fn pg_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map(|j| j + 2).unwrap_or(0) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

pub async fn create_pg_database(admin_url: &str) -> (String, String) {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("bookings_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    admin.close().await.ok();
    (with_database(admin_url, &name), name)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra_args: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, pg_database) = match backend {
        Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()), None),
        Backend::Postgres => {
            let admin = pg_url().expect("postgres tests need TEST_DATABASE_URL");
            let (url, name) = create_pg_database(&admin).await;
            (url.clone(), Some((admin, name)))
        }
    };
    start(backend, dir, &database_url, pg_database, extra_args).await
}

/// Starts a server on a free port with the test settings plus `extra_args`; `pg_database` (the
/// admin URL and the database's name) is dropped with the app.
async fn start(
    backend: Backend,
    dir: tempfile::TempDir,
    database_url: &str,
    pg_database: Option<(String, String)>,
    extra_args: &[&str],
) -> TestApp {
    let data_dir = dir.path().display().to_string();
    let mut args = vec![
        "bookings",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir,
        "--database-url",
        database_url,
        "--jwt-secret",
        SECRET,
        // Shared like the JWT secret, so apps on one database make and accept the same links.
        "--manage-link-secret",
        MANAGE_LINK_SECRET,
        "--app-env",
        "test",
        "--public-base-url",
        "https://book.example.test",
    ];
    args.extend_from_slice(extra_args);
    let cli = Cli::try_parse_from(args).expect("test settings parse");
    let settings = cli.settings;
    let state = startup::build_state(&settings).await.expect("app state");
    let bound = bookings::edge::bind(&settings, state).await.expect("bind");
    let address = format!("http://127.0.0.1:{}", bound.port);
    let metrics_address = bound.metrics_port.map(|port| format!("http://127.0.0.1:{port}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = bound
            .serve(
                async {
                    let _ = rx.await;
                },
                Duration::from_secs(5),
            )
            .await;
    });
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        settings,
        backend,
        shutdown: Some(tx),
        _dir: dir,
        pg_database,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((admin, name)) = self.pg_database.take() {
            // Drop the database from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    use sea_orm::{ConnectionTrait, Database};
                    if let Ok(db) = Database::connect(&admin).await {
                        let _ =
                            db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the status and, for errors, that the body is the contract's envelope.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self
    }

    /// The single `Error` of an Error or Errors envelope.
    #[track_caller]
    pub fn error(&self) -> &Value {
        let err = if self.body.get("code").is_some() { &self.body } else { &self.body["errors"][0] };
        for field in ["code", "message", "endpoint", "requestId"] {
            assert!(err.get(field).and_then(Value::as_str).is_some(), "error envelope lacks {field}: {}", self.text);
        }
        assert_eq!(
            err["requestId"].as_str(),
            self.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            "requestId matches x-request-id"
        );
        err
    }

    #[track_caller]
    pub fn code(&self) -> String {
        self.error()["code"].as_str().unwrap().to_string()
    }
}

pub struct User {
    pub id: Uuid,
    pub token: String,
}

impl TestApp {
    pub fn token_for(&self, sub: Uuid, scope: &str, admin: bool, email: Option<&str>) -> String {
        let args = auth::TokenRequest {
            sub: Some(sub),
            scope: scope.to_string(),
            admin,
            email: email.map(str::to_string),
            ttl: std::time::Duration::from_secs(3600),
        };
        auth::sign(&self.settings.jwt.keys(), &self.settings.data_dir, startup::clock_from(&self.settings), &args)
            .unwrap()
    }

    /// A new user with the default scopes.
    pub fn user(&self) -> User {
        let id = Uuid::new_v4();
        User { id, token: self.token_for(id, bookings::policy::DEFAULT_SCOPES, false, None) }
    }

    pub fn admin(&self) -> User {
        let id = Uuid::new_v4();
        User { id, token: self.token_for(id, bookings::policy::DEFAULT_SCOPES, true, None) }
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let url = if path.starts_with('/') { format!("{}{}", self.address, path) } else { path.to_string() };
        let mut req = self.client.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::DELETE, path, token, None).await
    }

    // ---- calendars and booking links

    /// A new calendar of `user`'s, by id.
    pub async fn new_calendar(&self, user: &User) -> Uuid {
        let r = self.create_calendar(Some(&user.token), serde_json::json!({"name": "Work"})).await.expect(201);
        r.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn create_link(&self, user: &User, calendar: Uuid, body: Value) -> Reply {
        self.create_booking_link(calendar, Some(&user.token), body).await
    }

    pub async fn availability(&self, token: &str, start: &str, end: &str) -> Reply {
        let start = urlencode(start);
        let end = urlencode(end);
        self.get_booking_availability(token, &format!("start={start}&end={end}")).await
    }

    pub async fn reserve(&self, token: &str, start: &str, end: &str) -> Reply {
        self.reserve_booking_slot(
            token,
            serde_json::json!({"name": "Visitor", "email": "visitor@example.com", "slot_start": start, "slot_end": end}),
        )
        .await
    }
}

/// `path`, with `?query` when there is one.
fn with_query(path: String, query: &str) -> String {
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// One method per operation of the contract (generated/openapi.yaml), named after its operation
/// id: typed path parameters, the query string as written (`""` for none; tests pass invalid
/// values too), the bearer token, and the JSON body where the operation takes one.
#[allow(dead_code)] // The whole contract, whether or not a test calls an operation by name yet.
impl TestApp {
    // ---- calendars (seed 000)

    pub async fn create_calendar(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/v1/calendars", token, body).await
    }

    pub async fn get_calendar(&self, id: Uuid, token: Option<&str>) -> Reply {
        self.get(&format!("/v1/calendars/{id}"), token).await
    }

    pub async fn create_calendar_event(&self, id: Uuid, token: Option<&str>, body: Value) -> Reply {
        self.post(&format!("/v1/calendars/{id}/events"), token, body).await
    }

    pub async fn list_calendar_events(&self, id: Uuid, query: &str, token: Option<&str>) -> Reply {
        self.get(&with_query(format!("/v1/calendars/{id}/events"), query), token).await
    }

    pub async fn delete_calendar_event(&self, id: Uuid, event_id: Uuid, token: Option<&str>) -> Reply {
        self.delete(&format!("/v1/calendars/{id}/events/{event_id}"), token).await
    }

    // ---- booking links (seed 000)

    pub async fn create_booking_link(&self, id: Uuid, token: Option<&str>, body: Value) -> Reply {
        self.post(&format!("/v1/calendars/{id}/booking-link"), token, body).await
    }

    pub async fn list_booking_links(&self, id: Uuid, query: &str, token: Option<&str>) -> Reply {
        self.get(&with_query(format!("/v1/calendars/{id}/booking-links"), query), token).await
    }

    pub async fn update_booking_link(&self, id: Uuid, link: &str, token: Option<&str>, body: Value) -> Reply {
        self.patch(&format!("/v1/calendars/{id}/booking-links/{link}"), token, body).await
    }

    pub async fn get_booking_availability(&self, link: &str, query: &str) -> Reply {
        self.get(&with_query(format!("/v1/booking/{link}/availability"), query), None).await
    }

    pub async fn reserve_booking_slot(&self, link: &str, body: Value) -> Reply {
        self.post(&format!("/v1/booking/{link}/reserve"), None, body).await
    }

    // ---- guests' self-service (companion)

    pub async fn get_reservation(&self, manage_token: &str) -> Reply {
        self.get(&format!("/v1/reservations/{manage_token}"), None).await
    }

    pub async fn cancel_reservation(&self, manage_token: &str, body: Value) -> Reply {
        self.post(&format!("/v1/reservations/{manage_token}/cancel"), None, body).await
    }

    pub async fn reschedule_reservation(&self, manage_token: &str, start: &str, end: &str) -> Reply {
        self.post(
            &format!("/v1/reservations/{manage_token}/reschedule"),
            None,
            serde_json::json!({"slot_start": start, "slot_end": end}),
        )
        .await
    }

    // ---- LE-KO bookings (seed 003 and the companion)

    pub async fn book_events(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/v1/bookings", token, body).await
    }

    pub async fn get_bookings(&self, query: &str, token: Option<&str>) -> Reply {
        self.get(&with_query("/v1/bookings".into(), query), token).await
    }

    pub async fn get_booking_by_id(&self, booking_id: Uuid, token: Option<&str>) -> Reply {
        self.get(&format!("/v1/bookings/{booking_id}"), token).await
    }

    pub async fn get_user_booking_orders(&self, query: &str, token: Option<&str>) -> Reply {
        self.get(&with_query("/v1/bookings/orders".into(), query), token).await
    }

    pub async fn cancel_booking(&self, booking_id: Uuid, token: Option<&str>, body: Value) -> Reply {
        self.post(&format!("/v1/bookings/{booking_id}/cancel"), token, body).await
    }

    pub async fn mark_booking_as_completed(&self, booking_id: Uuid, token: Option<&str>, body: Value) -> Reply {
        self.patch(&format!("/v1/bookings/{booking_id}/completed"), token, body).await
    }

    pub async fn add_booking_note(&self, booking_id: Uuid, token: Option<&str>, body: Value) -> Reply {
        self.patch(&format!("/v1/bookings/{booking_id}/note"), token, body).await
    }

    pub async fn dismiss_booking(&self, booking_id: Uuid, query: &str, token: Option<&str>) -> Reply {
        self.send(Method::POST, &with_query(format!("/v1/bookings/{booking_id}/dismiss"), query), token, None).await
    }

    pub async fn open_booking_dispute(&self, booking_id: Uuid, token: Option<&str>) -> Reply {
        self.send(Method::POST, &format!("/v1/bookings/{booking_id}/dispute"), token, None).await
    }

    pub async fn resolve_booking_dispute(&self, booking_id: Uuid, token: Option<&str>) -> Reply {
        self.send(Method::POST, &format!("/v1/bookings/{booking_id}/dispute/resolve"), token, None).await
    }

    /// `current_user` is the `x-current-user-id` header.
    pub async fn delete_user_from_bookings(&self, current_user: Uuid, query: &str, token: Option<&str>) -> Reply {
        let current = current_user.to_string();
        let path = with_query("/v1/users".into(), query);
        self.send_with_headers(Method::DELETE, &path, token, None, &[("x-current-user-id", &current)]).await
    }

    pub async fn notify_bookings(&self, token: Option<&str>) -> Reply {
        self.send(Method::POST, "/v1/bookings/notify", token, None).await
    }

    pub async fn create_coach_event(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/v1/coach-events", token, body).await
    }

    pub async fn get_coach_event(&self, event_id: Uuid, token: Option<&str>) -> Reply {
        self.get(&format!("/v1/coach-events/{event_id}"), token).await
    }

    pub async fn cancel_coach_event(&self, event_id: Uuid, token: Option<&str>) -> Reply {
        self.send(Method::POST, &format!("/v1/coach-events/{event_id}/cancel"), token, None).await
    }

    // ---- notifications and users

    pub async fn list_notifications(&self, query: &str, token: Option<&str>) -> Reply {
        self.get(&with_query("/v1/notifications".into(), query), token).await
    }

    pub async fn set_user_email(&self, user_id: Uuid, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PUT, &format!("/v1/users/{user_id}/email"), token, Some(body)).await
    }

    pub async fn list_webhook_endpoints(&self, token: Option<&str>) -> Reply {
        self.get("/v1/webhook-endpoints", token).await
    }

    pub async fn enable_webhook_endpoint(&self, id: &str, token: Option<&str>) -> Reply {
        self.send(Method::POST, &format!("/v1/webhook-endpoints/{id}/enable"), token, None).await
    }
}

pub fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// Runs each named `async fn(TestApp)` on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::helpers::pg_url().is_none() {
                        eprintln!("skipped: TEST_DATABASE_URL is not set");
                        return;
                    }
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await).await;
                }
            }
        )*
    };
}

/// A second server on the SAME database as `app` (same database URL and JWT secret, a data
/// directory of its own) whose clock is shifted by `offset_seconds`. It never drops the
/// PostgreSQL database: only the original `app` owns it, so drop this one first (declare it
/// after `app`). Sign its tokens with its own `token_for`: expiry is checked against its clock.
pub async fn spawn_app_sharing(app: &TestApp, offset_seconds: i64) -> TestApp {
    spawn_app_sharing_with(app, offset_seconds, &[]).await
}

/// [`spawn_app_sharing`] with more settings (an SMTP sink, webhook URLs, ...).
pub async fn spawn_app_sharing_with(app: &TestApp, offset_seconds: i64, extra_args: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = app.settings.database_url.clone().expect("test apps always name their database");
    let offset = offset_seconds.to_string();
    let mut args = vec!["--clock-offset-seconds", offset.as_str()];
    args.extend_from_slice(extra_args);
    start(app.backend, dir, &database_url, None, &args).await
}

/// A second server on `database_url`, another view of `app`'s database (a read-only one, say).
/// Like [`spawn_app_sharing`], it never drops the database: declare it after `app`.
pub async fn spawn_app_on(app: &TestApp, database_url: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    start(app.backend, dir, database_url, None, &[]).await
}

impl TestApp {
    /// A token for an existing user id (default scopes), signed against this app's clock.
    pub fn as_user(&self, id: Uuid) -> User {
        User { id, token: self.token_for(id, bookings::policy::DEFAULT_SCOPES, false, None) }
    }

    /// An admin token for an existing user id (default scopes), signed against this app's clock.
    pub fn as_admin(&self, id: Uuid) -> User {
        User { id, token: self.token_for(id, bookings::policy::DEFAULT_SCOPES, true, None) }
    }

    /// Like `send`, with extra request headers.
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = if path.starts_with('/') { format!("{}{}", self.address, path) } else { path.to_string() };
        let mut req = self.client.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }
}
