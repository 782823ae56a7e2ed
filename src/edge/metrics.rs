//! `GET /metrics`: the Prometheus text of every metric this process records (`crate::metrics`),
//! with the values read at scrape time set just before: the database pool's connections and the
//! outbox's backlog (one grouped query through the store, bounded by [`BACKLOG_TIMEOUT`] so a
//! stuck database cannot hang a scrape: the outbox gauges then keep their last values and
//! `outbox_scrape_errors_total` counts it). Served on the application's address, or only on
//! `METRICS_BIND` when that is set ([`serve_apart`]).

use crate::entities::notifications::Channel;
use crate::metrics as names;
use crate::state::AppState;
use metrics_exporter_prometheus::PrometheusHandle;
use poem::{Endpoint, IntoResponse, Request, Response};
use sea_orm::Iterable;
use std::sync::Arc;
use std::time::Duration;

/// The longest a scrape waits for the outbox's backlog.
pub const BACKLOG_TIMEOUT: Duration = Duration::from_millis(500);

/// The Prometheus text format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct Metrics {
    state: Arc<AppState>,
    handle: &'static PrometheusHandle,
}

impl Metrics {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state, handle: names::install() }
    }

    /// Sets the gauges read at scrape time, then renders everything.
    pub async fn render(&self) -> String {
        if let Some((size, idle, max)) = crate::db::pool_stats(&self.state.db) {
            metrics::gauge!(names::DB_POOL_CONNECTIONS).set(f64::from(size));
            metrics::gauge!(names::DB_POOL_IDLE).set(idle as f64);
            metrics::gauge!(names::DB_POOL_MAX).set(f64::from(max));
        }
        self.read_backlog().await;
        self.handle.render()
    }

    async fn read_backlog(&self) {
        let read = tokio::time::timeout(BACKLOG_TIMEOUT, crate::store::outbox::backlog(&self.state.db)).await;
        let backlog = match read {
            Ok(Ok(backlog)) => backlog,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "metrics: reading the outbox's backlog failed");
                metrics::counter!(names::OUTBOX_SCRAPE_ERRORS).increment(1);
                return;
            }
            Err(_) => {
                tracing::warn!("metrics: reading the outbox's backlog timed out");
                metrics::counter!(names::OUTBOX_SCRAPE_ERRORS).increment(1);
                return;
            }
        };
        let now = self.state.clock.now();
        for channel in Channel::iter() {
            let row = backlog.iter().find(|b| b.channel == channel);
            let pending = row.map_or(0, |b| b.pending);
            let age = row
                .and_then(|b| b.earliest_due)
                .map_or(0.0, |due| (now - due).num_milliseconds().max(0) as f64 / 1000.0);
            let label = names::channel_label(channel);
            metrics::gauge!(names::OUTBOX_PENDING, "channel" => label).set(pending as f64);
            metrics::gauge!(names::OUTBOX_OLDEST_PENDING_AGE, "channel" => label).set(age);
        }
    }
}

impl Endpoint for Metrics {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        Ok(self.render().await.with_content_type(CONTENT_TYPE).into_response())
    }
}

/// Serves `/metrics` alone on `acceptor` (METRICS_BIND) until the task is dropped or aborted.
pub async fn serve_apart(acceptor: poem::listener::TcpAcceptor, state: Arc<AppState>) -> std::io::Result<()> {
    let app = poem::Route::new().at("/metrics", poem::get(Metrics::new(state)));
    poem::Server::new_with_acceptor(acceptor).run(app).await
}
