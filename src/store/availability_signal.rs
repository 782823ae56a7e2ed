//! Instances that act as one (PostgreSQL): a committed write that changes a calendar's
//! availability is told to the other server processes sharing the database, which drop what
//! they cached for that calendar, so a reservation made through one instance is gone from
//! another's availability within milliseconds instead of the cache time.
//!
//! One channel ([`CHANNEL`]) with `LISTEN`/`NOTIFY`, never inside the writing transaction (a
//! `NOTIFY` in a transaction takes a global lock at commit and serializes every commit): the
//! writer hands the calendar's id to [`PgChangeSignal::calendar_changed`] after its commit, which
//! only queues it; a background task sends what queued within [`COALESCE`] as one `SELECT
//! pg_notify(...)` (payload: this instance's id, then the calendar ids). The listener runs on a
//! connection of its own (`application_name` [`LISTENER_APPLICATION_NAME`] and the process id), ignores its own
//! instance's notices, and tells its [`ChangeSink`] which calendars changed; when its connection
//! is lost it tells the sink that anything may have changed (at the loss, and again once it
//! listens again), so no answer cached before or during the gap survives it. Nothing of this
//! runs on SQLite (one process).

use crate::domain::ids::CalendarId;
use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The channel every instance listens on.
pub const CHANNEL: &str = "bookings_availability";
/// The listener connection's `application_name`, followed by a space and the server's process
/// id (operators and tests find an instance's listener in `pg_stat_activity` by it).
pub const LISTENER_APPLICATION_NAME: &str = "bookings-availability-listener";
/// How long the sender gathers calendar ids before one `pg_notify`.
pub const COALESCE: Duration = Duration::from_millis(5);
/// At most this many calendar ids per notice (a payload is at most 8000 bytes; each id is 37).
const IDS_PER_NOTICE: usize = 200;
/// How long the listener waits before trying to connect again after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// The port the availability cache's owner tells of a committed change (after its commit).
pub trait ChangeSignal: Send + Sync {
    /// The calendar's events or one of its links changed. Never waits.
    fn calendar_changed(&self, calendar: CalendarId);
}

/// What the listener drives: the cache that drops what it holds.
pub trait ChangeSink: Send + Sync + 'static {
    /// Another instance changed these calendars.
    fn calendars_changed(&self, calendars: &[CalendarId]);
    /// Notices may have been missed (the listener's connection was lost): drop everything.
    /// `listening`: whether notices arrive again (false while the connection is down).
    fn notices_missed(&self, listening: bool);
}

/// The sending half: queues calendar ids for the background sender.
pub struct PgChangeSignal {
    queue: mpsc::UnboundedSender<CalendarId>,
}

impl ChangeSignal for PgChangeSignal {
    fn calendar_changed(&self, calendar: CalendarId) {
        let _ = self.queue.send(calendar);
    }
}

/// One notice's payload: the instance id, then the calendar ids, separated by spaces.
fn payload(instance: Uuid, calendars: &[CalendarId]) -> String {
    let mut out = instance.to_string();
    for id in calendars {
        out.push(' ');
        out.push_str(&id.as_uuid().to_string());
    }
    out
}

/// The calendars of a notice not sent by `instance` (none for its own, or a malformed one).
fn parse_payload(instance: Uuid, payload: &str) -> Vec<CalendarId> {
    let mut parts = payload.split(' ');
    match parts.next().and_then(|s| Uuid::parse_str(s).ok()) {
        Some(sender) if sender != instance => {
            parts.filter_map(|s| Uuid::parse_str(s).ok()).map(CalendarId::from_uuid).collect()
        }
        _ => Vec::new(),
    }
}

/// Starts the sender and the listener for `db` (a PostgreSQL connection; `None` on SQLite) and
/// returns the signal writers call.
pub fn start(db: &DatabaseConnection, sink: Arc<dyn ChangeSink>) -> Option<Arc<dyn ChangeSignal>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let instance = Uuid::new_v4();
    let (queue, rx) = mpsc::unbounded_channel();
    tokio::spawn(send_loop(db.clone(), instance, rx));
    let options = db.get_postgres_connection_pool().connect_options().as_ref().clone();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(options.application_name(&format!("{LISTENER_APPLICATION_NAME} {}", std::process::id())));
    tokio::spawn(listen_loop(pool, instance, sink));
    Some(Arc::new(PgChangeSignal { queue }))
}

async fn send_loop(db: DatabaseConnection, instance: Uuid, mut rx: mpsc::UnboundedReceiver<CalendarId>) {
    while let Some(first) = rx.recv().await {
        tokio::time::sleep(COALESCE).await;
        let mut ids = BTreeSet::from([first]);
        while let Ok(id) = rx.try_recv() {
            ids.insert(id);
        }
        let ids: Vec<CalendarId> = ids.into_iter().collect();
        for chunk in ids.chunks(IDS_PER_NOTICE) {
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload(instance, chunk).into()],
            );
            match db.execute_raw(statement).await {
                Ok(_) => metrics::counter!(crate::metrics::INVALIDATIONS_SENT).increment(chunk.len() as u64),
                // The others see the change within their cache time instead.
                Err(e) => tracing::warn!(error = %e, calendars = chunk.len(), "availability change notice not sent"),
            }
        }
    }
}

async fn listen_loop(pool: PgPool, instance: Uuid, sink: Arc<dyn ChangeSink>) {
    let mut first = true;
    loop {
        let mut listener = match connect(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "availability listener could not connect; retrying");
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        // Listening now: whatever was cached before may have missed a notice.
        sink.notices_missed(true);
        if !first {
            metrics::counter!(crate::metrics::LISTENER_RECONNECTS).increment(1);
            tracing::info!("availability listener reconnected; the availability cache was dropped");
        }
        first = false;
        loop {
            match listener.try_recv().await {
                Ok(Some(notice)) => {
                    let calendars = parse_payload(instance, notice.payload());
                    if !calendars.is_empty() {
                        metrics::counter!(crate::metrics::INVALIDATIONS_RECEIVED).increment(calendars.len() as u64);
                        sink.calendars_changed(&calendars);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "availability listener lost its connection");
                    break;
                }
            }
        }
        // Not listening until reconnected: nothing cached may be trusted meanwhile.
        sink.notices_missed(false);
        drop(listener);
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnections are ours (a fresh listener, then everything dropped), not sqlx's.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_its_sender_and_calendars_and_its_own_sender_ignores_it() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let calendars = [CalendarId::new(), CalendarId::new()];
        let text = payload(other, &calendars);
        assert_eq!(parse_payload(me, &text), calendars.to_vec());
        assert!(parse_payload(other, &text).is_empty(), "an instance ignores its own notices");
        assert!(parse_payload(me, "not a notice").is_empty());
        let full: Vec<CalendarId> = (0..IDS_PER_NOTICE).map(|_| CalendarId::new()).collect();
        assert!(payload(me, &full).len() < 8000, "a notice's payload must stay under PostgreSQL's limit");
    }
}
