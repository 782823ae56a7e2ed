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
pub mod rate_limit;
pub mod router;
pub mod trace;

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
    acceptor: listener::GuardedAcceptor,
    state: Arc<AppState>,
}

pub async fn bind(settings: &Settings, state: Arc<AppState>) -> anyhow::Result<Bound> {
    let acceptor =
        TcpListener::bind(settings.bind).into_acceptor().await.with_context(|| format!("binding {}", settings.bind))?;
    let port =
        acceptor.local_addr().first().and_then(|a| a.as_socket_addr().map(|s| s.port())).context("no local address")?;
    let limits = listener::ConnectionLimits {
        header_read_timeout: settings.limits.header_read_timeout(),
        max_per_client: settings.limits.max_connections_per_client,
    };
    let acceptor = listener::GuardedAcceptor::new(acceptor, limits);
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
