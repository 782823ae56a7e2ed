//! The process's metrics: every name the server records, what it means (the `# HELP` line of
//! `GET /metrics`), and the one Prometheus recorder they go to, installed once per process
//! ([`install`]; tests start several apps in one process and share it).
//!
//! Names and units follow OpenTelemetry's semantic conventions where one exists (HTTP), with
//! Prometheus's spelling (`_seconds`, `_total`). Recording is the `metrics` crate's macros over
//! these constants, wherever the fact is known: the edge (requests, replays), the services
//! (outcomes), `db` (retries, statements), `notify` (deliveries). No label ever holds an id, a
//! token, an email or a link: every label value is one of a fixed few words, a route template,
//! a method or a status code.
//!
//! Some values are read when `/metrics` is scraped rather than recorded: the pool's size and
//! idle connections, and the outbox's pending messages (see `crate::edge::metrics`).

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

// HTTP (OpenTelemetry `http.server.request.duration`, `http.server.active_requests`).
pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
pub const HTTP_ACTIVE_REQUESTS: &str = "http_server_active_requests";
pub const LABEL_METHOD: &str = "http_request_method";
pub const LABEL_ROUTE: &str = "http_route";
pub const LABEL_STATUS: &str = "http_response_status_code";
pub const LABEL_OPERATION: &str = "operation_id";
/// OpenTelemetry's `http.server.request.duration` buckets.
pub const HTTP_DURATION_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

// What reservations and orders came to.
pub const RESERVATIONS: &str = "bookings_reservations_total";
pub const ORDERS: &str = "bookings_orders_total";
pub const IDEMPOTENCY_REPLAYS: &str = "idempotency_replays_total";

// The database.
pub const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
pub const DB_POOL_IDLE: &str = "db_pool_idle_connections";
pub const DB_POOL_MAX: &str = "db_pool_max_connections";
pub const DB_ACQUIRE_TIMEOUTS: &str = "db_pool_acquire_timeouts_total";
pub const DB_TRANSACTIONS_RETRIED: &str = "db_transactions_retried_total";
pub const DB_TRANSACTIONS_TIMED_OUT: &str = "db_transactions_timed_out_total";
pub const DB_STATEMENTS: &str = "db_statements_total";
pub const DB_SLOW_STATEMENTS: &str = "db_slow_statements_total";
pub const DB_CHECKPOINTS: &str = "db_wal_checkpoints_total";
/// A statement slower than this counts in [`DB_SLOW_STATEMENTS`] (and is logged as a warning).
pub const SLOW_STATEMENT: Duration = Duration::from_secs(1);

// The outbox and its deliveries.
pub const OUTBOX_PENDING: &str = "outbox_messages_pending";
pub const OUTBOX_OLDEST_PENDING_AGE: &str = "outbox_oldest_pending_age_seconds";
pub const OUTBOX_SCRAPE_ERRORS: &str = "outbox_scrape_errors_total";
pub const DELIVERY_ATTEMPTS: &str = "outbox_delivery_attempts_total";
pub const WEBHOOK_RESPONSES: &str = "webhook_responses_total";
pub const WEBHOOK_ENDPOINTS_DISABLED: &str = "webhook_endpoints_disabled_total";
pub const NOTIFY_PASS_DURATION: &str = "notify_pass_duration_seconds";
pub const NOTIFY_PASS_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

// Recorded by the guard, the answer cache and the availability listener.
pub const RATE_LIMIT_REJECTIONS: &str = "rate_limit_rejections_total";
pub const RATE_LIMIT_FALLBACK: &str = "rate_limit_fallback_total";
pub const RATE_LIMIT_BACKEND: &str = "rate_limit_backend";
pub const ANSWER_CACHE_REQUESTS: &str = "answer_cache_requests_total";
pub const INVALIDATIONS_SENT: &str = "availability_invalidations_sent_total";
pub const INVALIDATIONS_RECEIVED: &str = "availability_invalidations_received_total";
pub const LISTENER_RECONNECTS: &str = "availability_listener_reconnects_total";

/// Every name with its kind and help text; [`describe`] registers them, the README lists them.
pub const CATALOG: &[(&str, Kind, &str)] = &[
    (HTTP_REQUEST_DURATION, Kind::Histogram, "Duration of HTTP requests, by method, route template, status code and operation."),
    (HTTP_ACTIVE_REQUESTS, Kind::Gauge, "HTTP requests being served now."),
    (RESERVATIONS, Kind::Counter, "Reservations through booking links by outcome: created, conflict, rejected_by_rule, canceled, rescheduled."),
    (ORDERS, Kind::Counter, "LE-KO orders and their bookings by outcome: created, conflict, sold_out, rejected_by_rule, canceled."),
    (IDEMPOTENCY_REPLAYS, Kind::Counter, "Requests answered with a stored answer for their Idempotency-Key."),
    (DB_POOL_CONNECTIONS, Kind::Gauge, "Connections the database pool holds (read at scrape time)."),
    (DB_POOL_IDLE, Kind::Gauge, "Idle connections of the database pool (read at scrape time)."),
    (DB_POOL_MAX, Kind::Gauge, "Most connections the database pool may hold."),
    (DB_ACQUIRE_TIMEOUTS, Kind::Counter, "Requests that waited for a pooled connection past DB_ACQUIRE_TIMEOUT."),
    (DB_TRANSACTIONS_RETRIED, Kind::Counter, "Write transactions tried again after a transient fault."),
    (DB_TRANSACTIONS_TIMED_OUT, Kind::Counter, "Write transactions given up on a transient fault (budget or tries spent, or waiting for a row held by another request): answered 503."),
    (DB_STATEMENTS, Kind::Counter, "Database statements run."),
    (DB_SLOW_STATEMENTS, Kind::Counter, "Database statements that took over one second."),
    (DB_CHECKPOINTS, Kind::Counter, "SQLite WAL checkpoints run in the background (off the writer's turn)."),
    (OUTBOX_PENDING, Kind::Gauge, "Outbox messages not yet sent, failed or skipped, by channel (read at scrape time)."),
    (OUTBOX_OLDEST_PENDING_AGE, Kind::Gauge, "Seconds since the oldest unsent outbox message became due, by channel (0: none due); grows while a sender is stalled (read at scrape time)."),
    (OUTBOX_SCRAPE_ERRORS, Kind::Counter, "Scrapes whose outbox query failed or timed out (the outbox gauges then keep their last value)."),
    (DELIVERY_ATTEMPTS, Kind::Counter, "Delivery attempts by channel and result: delivered, transient_error, permanent_error."),
    (WEBHOOK_RESPONSES, Kind::Counter, "Webhook endpoints' answers by status class: 2xx, 3xx, 4xx, 5xx, error (no answer)."),
    (WEBHOOK_ENDPOINTS_DISABLED, Kind::Counter, "Webhook endpoints disabled for answering 410 Gone."),
    (NOTIFY_PASS_DURATION, Kind::Histogram, "Duration of notification passes."),
    (RATE_LIMIT_REJECTIONS, Kind::Counter, "Requests refused by a rate limit, by scope."),
    (RATE_LIMIT_FALLBACK, Kind::Counter, "Times the shared rate limiter was unreachable and this instance fell back to its own."),
    (RATE_LIMIT_BACKEND, Kind::Gauge, "The rate limiter in use (1) by backend."),
    (ANSWER_CACHE_REQUESTS, Kind::Counter, "Availability answer cache lookups by result: hit, miss, stored."),
    (INVALIDATIONS_SENT, Kind::Counter, "Availability invalidations sent to the other instances."),
    (INVALIDATIONS_RECEIVED, Kind::Counter, "Availability invalidations received from the other instances."),
    (LISTENER_RECONNECTS, Kind::Counter, "Reconnects of the availability invalidation listener."),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The recorder, installed on first call (once per process), with every name described. When
/// another recorder was installed first, what is recorded goes there and this one renders only
/// the descriptions.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.into()), HTTP_DURATION_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(NOTIFY_PASS_DURATION.into()), NOTIFY_PASS_BUCKETS))
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only descriptions");
        }
        describe();
        register_known_series();
        // Histograms keep their samples until upkeep folds them into buckets: do it every few
        // seconds, scraped or not, so memory stays flat.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
            std::thread::sleep(Duration::from_secs(5));
            upkeep.run_upkeep();
        });
        handle
    })
}

/// Registers the help text and unit of every name in [`CATALOG`].
pub fn describe() {
    for &(name, kind, help) in CATALOG {
        let unit = if name.ends_with("_seconds") { Some(Unit::Seconds) } else { None };
        match (kind, unit) {
            (Kind::Counter, _) => describe_counter!(name, help),
            (Kind::Gauge, Some(unit)) => describe_gauge!(name, unit, help),
            (Kind::Gauge, None) => describe_gauge!(name, help),
            (Kind::Histogram, Some(unit)) => describe_histogram!(name, unit, help),
            (Kind::Histogram, None) => describe_histogram!(name, help),
        }
    }
}

/// Counters whose label values are a fixed few start at 0, so every one is in the first scrape
/// (with its HELP line) and `rate()` sees its first increment.
fn register_known_series() {
    use crate::entities::notifications::Channel;
    use sea_orm::Iterable;
    const OUTCOMES: [Outcome; 8] = [
        Outcome::Created,
        Outcome::Conflict,
        Outcome::SoldOut,
        Outcome::RejectedByRule,
        Outcome::Canceled,
        Outcome::Rescheduled,
        Outcome::Confirmed,
        Outcome::Declined,
    ];
    for name in [RESERVATIONS, ORDERS] {
        for o in OUTCOMES {
            metrics::counter!(name, "outcome" => o.as_str()).increment(0);
        }
    }
    for name in [
        IDEMPOTENCY_REPLAYS,
        DB_ACQUIRE_TIMEOUTS,
        DB_TRANSACTIONS_RETRIED,
        DB_TRANSACTIONS_TIMED_OUT,
        DB_STATEMENTS,
        DB_SLOW_STATEMENTS,
        DB_CHECKPOINTS,
        OUTBOX_SCRAPE_ERRORS,
        WEBHOOK_ENDPOINTS_DISABLED,
        RATE_LIMIT_FALLBACK,
        INVALIDATIONS_SENT,
        INVALIDATIONS_RECEIVED,
        LISTENER_RECONNECTS,
    ] {
        metrics::counter!(name).increment(0);
    }
    for scope in ["public", "pages"] {
        metrics::counter!(RATE_LIMIT_REJECTIONS, "scope" => scope).increment(0);
    }
    for result in ["hit", "miss", "stored"] {
        metrics::counter!(ANSWER_CACHE_REQUESTS, "result" => result).increment(0);
    }
    for class in ["2xx", "3xx", "4xx", "5xx", "error"] {
        metrics::counter!(WEBHOOK_RESPONSES, "status_class" => class).increment(0);
    }
    for channel in Channel::iter() {
        for result in ["delivered", "transient_error", "permanent_error"] {
            metrics::counter!(DELIVERY_ATTEMPTS, "channel" => channel_label(channel), "result" => result).increment(0);
        }
    }
}

/// What a reservation or an order came to (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Conflict,
    SoldOut,
    RejectedByRule,
    Canceled,
    Rescheduled,
    /// The owner confirmed a pending reservation.
    Confirmed,
    /// The owner declined a pending reservation.
    Declined,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Conflict => "conflict",
            Outcome::SoldOut => "sold_out",
            Outcome::RejectedByRule => "rejected_by_rule",
            Outcome::Canceled => "canceled",
            Outcome::Rescheduled => "rescheduled",
            Outcome::Confirmed => "confirmed",
            Outcome::Declined => "declined",
        }
    }
}

/// What the outcome is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A reservation through a booking link.
    Reservation,
    /// A LE-KO order (or one of its bookings).
    Order,
}

/// Counts one outcome: the one helper services call where the outcome is known.
pub fn outcome(subject: Subject, outcome: Outcome) {
    let name = match subject {
        Subject::Reservation => RESERVATIONS,
        Subject::Order => ORDERS,
    };
    metrics::counter!(name, "outcome" => outcome.as_str()).increment(1);
}

/// A use case's failure as an outcome, if it is one (implemented by the service error, so this
/// module knows nothing of it).
pub trait Counted {
    fn outcome(&self) -> Option<Outcome>;
}

/// Counts `result` of a use case on `subject`: `success` when it succeeded, else what the
/// failure counts as ([`Counted`]).
pub fn count_result<T, E: Counted>(subject: Subject, success: Outcome, result: &Result<T, E>) {
    let counted = match result {
        Ok(_) => Some(success),
        Err(e) => e.outcome(),
    };
    if let Some(counted) = counted {
        outcome(subject, counted);
    }
}

/// A channel as a label.
pub fn channel_label(channel: crate::entities::notifications::Channel) -> &'static str {
    use crate::entities::notifications::Channel;
    match channel {
        Channel::Email => "email",
        Channel::Webhook => "webhook",
    }
}

/// The status class a webhook answer is counted under (`error`: no answer).
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prometheus_names() {
        let mut names: Vec<&str> = CATALOG.iter().map(|(n, _, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
        for name in names {
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{name}");
        }
        for (name, kind, _) in CATALOG {
            assert_eq!(*kind == Kind::Counter, name.ends_with("_total"), "{name}");
        }
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(Some(204)), "2xx");
        assert_eq!(status_class(Some(410)), "4xx");
        assert_eq!(status_class(Some(503)), "5xx");
        assert_eq!(status_class(None), "error");
    }
}
