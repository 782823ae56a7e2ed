//! Connect, migrate, wire the handlers into the generated API structs, mount the routes, serve.

use crate::auth::Verifier;
use crate::clock::Clock;
use crate::config::{AppEnv, Settings};
use crate::handlers::Handlers;
use crate::services::availability_cache::AvailabilityCache;
use crate::state::AppState;
use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::CatchPanic;
use poem::web::{Html, Json};
use poem::{get, handler, http::StatusCode, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::OpenApiService;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::sync::Arc;
use std::time::Duration;

/// The merged contract, as build.rs wrote it.
pub const CONTRACT_YAML: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.yaml"));

pub fn contract_json() -> serde_json::Value {
    serde_yaml::from_str(CONTRACT_YAML).expect("the merged contract is valid YAML (checked at build time)")
}

pub fn clock_from(settings: &Settings) -> Clock {
    match (settings.app_env, settings.clock_offset_seconds) {
        (AppEnv::Development | AppEnv::Test, Some(offset)) => Clock::shifted(offset),
        _ => Clock::system(),
    }
}

/// The pool requests use. Every PostgreSQL session has the configured `lock_timeout` and
/// `statement_timeout` (startup parameters, so they hold in every transaction at no extra round
/// trip); SQLite waits `busy_timeout` for another writer; a request waits at most the acquire
/// timeout for a pooled connection. Each of those ends in a transient error: retried, then 503.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    connect_with(settings, true).await
}

/// `bounded`: with the per-request timeouts above; migrations run without them (a schema change
/// may rightly wait for a lock or take long).
async fn connect_with(settings: &Settings, bounded: bool) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    if settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating the data directory {}", settings.data_dir.display()))?;
    }
    let db_settings = settings.db.clone();
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(match (bounded, url.starts_with("sqlite")) {
            (false, _) => 1,
            (true, true) => 8,
            (true, false) => 20,
        })
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(if bounded { db_settings.acquire_timeout() } else { Duration::from_secs(60) })
        // Statements are not logged; one slower than a second is, as a warning inside the span
        // of the use case (and request) that ran it.
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Off)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Warn, Duration::from_secs(1))
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(if bounded { db_settings.busy_timeout() } else { Duration::from_secs(30) })
                .foreign_keys(true)
        });
    if bounded {
        let (lock, statement) = (settings.db.lock_timeout_ms, settings.db.statement_timeout_ms);
        options.map_sqlx_postgres_opts(move |opts| {
            opts.options([("lock_timeout", format!("{lock}ms")), ("statement_timeout", format!("{statement}ms"))])
        });
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", crate::config::redact_url(&url)))?;
    Ok(db)
}

/// Connects without the per-request timeouts, applies the migrations, and closes.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = connect_with(settings, false).await?;
    migrate(&db).await?;
    db.close().await.context("closing the migration connection")?;
    Ok(())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
}

/// Everything `serve` needs, built from the settings.
pub async fn build_state(settings: &Settings) -> anyhow::Result<Arc<AppState>> {
    settings.validate()?;
    let clock = clock_from(settings);
    connect_and_migrate(settings).await?;
    let db = connect(settings).await?;
    let verifier = Verifier::from_settings(&settings.jwt.keys(), &settings.data_dir, clock)?;
    let manage_links = settings.manage_links()?;
    let notifier = crate::notify::notifier::Notifier::from_settings(&settings.notify, manage_links.clone())?;
    let limits = &settings.limits;
    let guard = crate::guard::GuardSettings {
        max_body_bytes: limits.max_body_bytes,
        public_per_minute: limits.public_per_minute,
        public_burst: limits.public_burst,
        trusted_proxy_hops: limits.trusted_proxy_hops,
        body_read_timeout: Duration::from_millis(limits.body_read_timeout_ms),
    };
    let cache = AvailabilityCache::new(Duration::from_millis(settings.availability_cache_ms));
    let writes = crate::db::Writes::new(settings.db.retry_budget());
    Ok(Arc::new(AppState {
        db,
        clock,
        verifier,
        public_base_url: settings.public_base_url(),
        manage_links,
        notifier,
        guard,
        known_emails: moka::sync::Cache::new(crate::state::MAX_KNOWN_EMAILS),
        availability_cache: cache,
        writes,
        pages: settings.pages.clone(),
    }))
}

fn api_service(state: Arc<AppState>) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    let handlers = Arc::new(Handlers::new(state));
    OpenApiService::new(crate::api::all_apis(handlers), "Bookings API", env!("CARGO_PKG_VERSION"))
}

/// poem-openapi's own rendering of the routes it serves (checked against the contract in tests).
pub fn routed_spec(state: Arc<AppState>) -> String {
    api_service(state).spec()
}

/// What runs around every routed operation, in order: the request span is told the operation,
/// the guard's limits apply, then a write with an Idempotency-Key is served by the idempotency
/// layer (stored answers, replays), and anything else by the answer cache, which answers or
/// keeps what it may (so an answer from the cache or a replay counts against the rate limit and
/// is logged).
struct Edge {
    guard: crate::guard::Guard,
    idempotency: crate::idempotency::Idempotency,
    answers: crate::answer_cache::AvailabilityAnswers,
}

impl crate::api::OperationMiddleware for Edge {
    fn call<'a>(
        &'a self,
        op: &'static crate::api::OperationMeta,
        mut req: poem::Request,
        next: &'a dyn poem::endpoint::DynEndpoint<Output = Response>,
    ) -> crate::api::OperationFuture<'a> {
        Box::pin(async move {
            crate::telemetry::record_operation(op);
            if let Some(refusal) = self.guard.admit(op, &mut req).await {
                return Ok(refusal);
            }
            if crate::idempotency::Idempotency::applies(op, &req) {
                return self.idempotency.call(op, req, next).await;
            }
            self.answers.call(op, req, next).await
        })
    }
}

/// The whole HTTP application.
pub fn app(state: Arc<AppState>) -> impl poem::Endpoint<Output = Response> {
    let edge = Edge {
        guard: crate::guard::Guard::new(state.guard.clone()),
        idempotency: crate::idempotency::Idempotency::new(state.clone()),
        answers: crate::answer_cache::AvailabilityAnswers::new(state.clone()),
    };
    let api = api_service(state.clone());
    let contract = contract_json();
    let contract_json_text = serde_json::to_string(&contract).expect("serialisable");
    let docs_html = swagger_html(&api, &contract_json_text);
    let db_for_ready = state.db.clone();
    Route::new()
        .nest(crate::api::BASE_PATH, crate::pages::cors::around(api, &state.pages.cors_allowed_origins))
        .at("/openapi.json", get(ContractJson(contract_json_text)))
        .at("/openapi.yaml", get(ContractYaml))
        .at("/docs", get(Docs(docs_html.clone())))
        .at("/docs/", get(Docs(docs_html)))
        .nest("/booking", crate::pages::routes(state.clone()))
        .at("/healthz", get(healthz))
        .at("/readyz", get(Readyz(db_for_ready)))
        .data(crate::api::OperationLayer(Arc::new(edge)))
        .around(moved_paths)
        .with(CatchPanic::new().with_handler(|_| {
            crate::telemetry::error_response("", "", &poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
        }))
        .before(head_as_get)
        .with(crate::telemetry::RequestTracing)
        .map_to_response()
}

/// Paths the contract moved, still served until its next major version: contract 2.0.0 moved
/// the guest's operations from `/v1/booking/reservations/` (ambiguous with the seed's
/// `/v1/booking/{token}/availability`) to `/v1/reservations/`. Clients written against 1.x (and
/// links already shared) keep working: a request at an old path is served as the one at its
/// new path, and its answer says so with `Deprecation: true` and a `Link` to the successor
/// (RFC 8288 `successor-version`). The contract documents only the new paths.
const MOVED_PATHS: &[(&str, &str)] = &[("/v1/booking/reservations/", "/v1/reservations/")];

async fn moved_paths<E: poem::Endpoint>(next: Arc<E>, mut req: poem::Request) -> poem::Result<Response> {
    let path = req.uri().path();
    let Some(new_path) =
        MOVED_PATHS.iter().find_map(|(old, new)| path.strip_prefix(old).map(|rest| format!("{new}{rest}")))
    else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let target = match req.uri().query() {
        Some(query) => format!("{new_path}?{query}"),
        None => new_path.clone(),
    };
    match target.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
    let mut response = next.call(req).await?.into_response();
    let headers = response.headers_mut();
    headers.insert("deprecation", poem::http::HeaderValue::from_static("true"));
    if let Ok(link) = poem::http::HeaderValue::from_str(&format!("<{new_path}>; rel=\"successor-version\"")) {
        headers.insert(poem::http::header::LINK, link);
    }
    Ok(response)
}

/// A `HEAD` is served as its `GET` (so it is limited, cached and logged as that operation); hyper,
/// which knows the request was a `HEAD`, sends the `GET`'s headers, its length among them, and
/// no body. (Left to the router, a `HEAD` would lose its body, and with it its length.)
async fn head_as_get(mut req: poem::Request) -> poem::Result<poem::Request> {
    if req.method() == poem::http::Method::HEAD {
        req.set_method(poem::http::Method::GET);
    }
    Ok(req)
}

/// Swagger UI (assets bundled in poem-openapi, no CDN) showing the merged contract rather than
/// poem-openapi's own rendering of it.
fn swagger_html(api: &OpenApiService<impl poem_openapi::OpenApi, ()>, contract_json: &str) -> String {
    let html = api.swagger_ui_html();
    let generated = api.spec();
    assert!(html.contains(&generated), "swagger UI template embeds the spec verbatim");
    html.replacen(&generated, contract_json, 1).replace("<title>Swagger UI</title>", "<title>Bookings API</title>")
}

struct ContractJson(String);
impl poem::Endpoint for ContractJson {
    type Output = Response;
    async fn call(&self, _req: poem::Request) -> poem::Result<Response> {
        Ok(self.0.clone().with_content_type("application/json").into_response())
    }
}

#[handler]
fn contract_yaml() -> Response {
    CONTRACT_YAML.with_content_type("application/yaml").into_response()
}
#[allow(non_upper_case_globals)]
const ContractYaml: contract_yaml = contract_yaml;

struct Docs(String);
impl poem::Endpoint for Docs {
    type Output = Response;
    async fn call(&self, _req: poem::Request) -> poem::Result<Response> {
        Ok(Html(self.0.clone()).into_response())
    }
}

#[handler]
fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready when the database takes a write: a transaction that deletes nothing from the
/// migrations table and rolls back (a read-only or locked database, or one out of reach, fails
/// it within the configured timeouts).
struct Readyz(DatabaseConnection);
impl poem::Endpoint for Readyz {
    type Output = Response;
    async fn call(&self, _req: poem::Request) -> poem::Result<Response> {
        Ok(match can_write(&self.0).await {
            Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                Json(serde_json::json!({"status": "database cannot take a write"}))
                    .with_status(StatusCode::SERVICE_UNAVAILABLE)
                    .into_response()
            }
        })
    }
}

async fn can_write(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    let txn = crate::db::begin_write(db).await?;
    txn.execute_unprepared("DELETE FROM seaql_migrations WHERE version = ''").await?;
    txn.rollback().await
}

/// A server bound to its port, not yet running.
pub struct Bound {
    pub port: u16,
    acceptor: crate::connections::GuardedAcceptor,
    state: Arc<AppState>,
}

pub async fn bind(settings: &Settings, state: Arc<AppState>) -> anyhow::Result<Bound> {
    let acceptor =
        TcpListener::bind(settings.bind).into_acceptor().await.with_context(|| format!("binding {}", settings.bind))?;
    let port =
        acceptor.local_addr().first().and_then(|a| a.as_socket_addr().map(|s| s.port())).context("no local address")?;
    let limits = crate::connections::ConnectionLimits {
        header_read_timeout: Duration::from_millis(settings.limits.header_read_timeout_ms),
        max_per_client: settings.limits.max_connections_per_client,
    };
    let acceptor = crate::connections::GuardedAcceptor::new(acceptor, limits);
    Ok(Bound { port, acceptor, state })
}

impl Bound {
    /// Serves until `shutdown` resolves, then stops accepting and gives in-flight requests up
    /// to `grace` to finish.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>, grace: Duration) -> std::io::Result<()> {
        poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app(self.state), shutdown, Some(grace))
            .await
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }
}

/// Runs a notification pass every `interval` until the process ends (the embedded setup's cron).
pub fn spawn_notify_loop(state: Arc<AppState>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match state.notifier.run_pass(&state.db, &state.clock).await {
                Ok(report) if report != Default::default() => tracing::info!(?report, "notification pass"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "notification pass failed"),
            }
        }
    })
}
