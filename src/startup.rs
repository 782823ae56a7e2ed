//! The composition root: from the settings, connect and migrate the database and build the
//! state every request shares; run the embedded notification loop. Serving it over HTTP is the
//! edge's (`crate::edge`).

use crate::auth::Verifier;
use crate::clock::Clock;
use crate::config::{AppEnv, Settings};
use crate::services::availability_cache::AvailabilityCache;
use crate::state::AppState;
use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::sync::Arc;
use std::time::Duration;

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

/// How long a pooled PostgreSQL connection may sit idle before a checkout pings it first.
const PG_IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

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
    if url.starts_with("sqlite") {
        // A SQLite connection is a file handle, not a socket that a peer may have closed: checking
        // it on every checkout would cost each statement outside a transaction one more trip to
        // its worker thread.
        options.test_before_acquire(false);
    } else {
        // A PostgreSQL connection is checked (one more round trip) only when it has sat idle
        // long enough for the server or the network to have dropped it: a busy pool's
        // connections were just used, and sqlx checks each one again on its way back into the
        // pool. A statement that still meets a dropped one fails as transient (retried, then
        // 503). Checking every checkout cost a one-statement request 0.03-0.04 ms of server and
        // of PostgreSQL CPU each (docs/benchmarks.md, session 14).
        options.test_before_acquire_if_idle_for(PG_IDLE_BEFORE_CHECK);
    }
    if bounded {
        let (lock, statement) = (settings.db.lock_timeout().as_millis(), settings.db.statement_timeout().as_millis());
        options.map_sqlx_postgres_opts(move |opts| {
            opts.options([("lock_timeout", format!("{lock}ms")), ("statement_timeout", format!("{statement}ms"))])
        });
    }
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", crate::config::redact_url(&url)))?;
    if bounded {
        crate::db::count_statements(&mut db);
    }
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
    let cache = Arc::new(AvailabilityCache::new(settings.availability_cache()));
    // Instances sharing a PostgreSQL database tell each other what they changed (nothing on
    // SQLite: one process). Started with the cache off: nothing to tell or listen for.
    if cache.ttl() > Duration::ZERO {
        if let Some(signal) = crate::store::availability_signal::start(&db, cache.clone()) {
            cache.set_signal(signal);
        }
    }
    let writes = crate::db::Writes::new(settings.db.retry_budget());
    Ok(Arc::new(AppState {
        db,
        clock,
        verifier,
        public_base_url: settings.public_base_url(),
        manage_links,
        notifier,
        limits: settings.limits.clone(),
        known_emails: moka::sync::Cache::new(crate::state::MAX_KNOWN_EMAILS),
        availability_cache: cache,
        writes,
        pages: settings.pages.clone(),
    }))
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
