//! Everything HTTP that is not a handler: the listener and its connection limits
//! ([`listener`]), the router and the layers around each operation ([`router`]: request tracing
//! ([`trace`]), the request limits ([`guard`], counted by [`rate_limit`]), `Idempotency-Key` ([`idempotency`]), the
//! availability answer cache ([`answer_cache`])), and the one module where an error becomes a
//! status, a `Retry-After` and an envelope ([`errors`]). Handlers (`crate::handlers`) and pages
//! translate; services decide; nothing here holds a rule or a query.

pub mod answer_cache;
pub mod cors;
pub mod errors;
pub mod forms;
pub mod guard;
pub mod idempotency;
pub mod listener;
pub mod metrics;
pub mod rate_limit;
pub mod router;
pub mod trace;
#[cfg(test)]
mod wire_time_tests;

pub use router::{app, contract_json, routed_spec, CONTRACT_YAML};

use crate::config::Settings;
use crate::state::AppState;
use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use std::sync::Arc;
use std::time::Duration;

/// A server bound to its port, not yet running.
pub struct Bound {
    pub port: u16,
    /// The port `/metrics` is served on alone, when `METRICS_BIND` is set.
    pub metrics_port: Option<u16>,
    acceptor: listener::GuardedAcceptor,
    metrics_acceptor: Option<poem::listener::TcpAcceptor>,
    state: Arc<AppState>,
}

async fn bind_plain(addr: std::net::SocketAddr) -> anyhow::Result<(poem::listener::TcpAcceptor, u16)> {
    let acceptor = TcpListener::bind(addr).into_acceptor().await.with_context(|| format!("binding {addr}"))?;
    let port =
        acceptor.local_addr().first().and_then(|a| a.as_socket_addr().map(|s| s.port())).context("no local address")?;
    Ok((acceptor, port))
}

pub async fn bind(settings: &Settings, state: Arc<AppState>) -> anyhow::Result<Bound> {
    let (acceptor, port) = bind_plain(settings.bind).await?;
    let (metrics_acceptor, metrics_port) = match settings.metrics_bind {
        Some(addr) => {
            let (acceptor, port) = bind_plain(addr).await.context("METRICS_BIND")?;
            (Some(acceptor), Some(port))
        }
        None => (None, None),
    };
    let limits = listener::ConnectionLimits {
        header_read_timeout: settings.limits.header_read_timeout(),
        max_per_client: settings.limits.max_connections_per_client,
    };
    let acceptor = listener::GuardedAcceptor::new(acceptor, limits);
    Ok(Bound { port, metrics_port, acceptor, metrics_acceptor, state })
}

impl Bound {
    /// Serves until `shutdown` resolves, then stops accepting and gives in-flight requests up
    /// to `grace` to finish.
    /// `/metrics` is served on its own address, when one is bound, until then too.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>, grace: Duration) -> std::io::Result<()> {
        let apart = self.metrics_acceptor.is_some();
        let metrics_task =
            self.metrics_acceptor.map(|acceptor| tokio::spawn(metrics::serve_apart(acceptor, self.state.clone())));
        let served = poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(router::app_with(self.state, !apart), shutdown, Some(grace))
            .await;
        if let Some(task) = metrics_task {
            task.abort();
        }
        served
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }
}
