//! What a use case can fail with, in the service's words: the input is invalid, the caller is
//! not allowed, the thing is missing or in a conflicting state, the database is unavailable, or
//! something broke inside. It knows no HTTP; the edge maps it once onto the contract's Error
//! envelope (`crate::edge::errors`).
//!
//! A failure from below (a query, a stored value that does not parse) carries **where** it
//! happened: `ctx!(expr)` wraps a `Result` so its error records the file and line of the call,
//! as svix's server does; the log line of a 500 or 503 then names the query that failed.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule (the message names the field and the rule).
    #[error("{0}")]
    Invalid(String),
    /// No usable credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Known caller, not allowed to do this.
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    /// The thing is in a state that does not allow this (full, taken, already done).
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests")]
    RateLimited,
    /// The database is busy, unreachable or timed out (see [`crate::db::is_transient`]):
    /// retried while the budget allows, then answered with a retry hint. Holds the cause,
    /// which is logged, never shown.
    #[error("database unavailable{at}: {cause}", at = at_suffix(*.at))]
    Unavailable { cause: String, at: Option<&'static str> },
    #[error("database error{at}: {source}", at = at_suffix(*.at))]
    Database { source: DbErr, at: Option<&'static str> },
    #[error("internal error{at}: {what}", at = at_suffix(*.at))]
    Internal { what: String, at: Option<&'static str> },
}

fn at_suffix(at: Option<&'static str>) -> String {
    at.map(|a| format!(" at {a}")).unwrap_or_default()
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
    pub fn denied(msg: impl Into<String>) -> Self {
        Self::Denied(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }
    /// Something that cannot happen with a consistent database (a stored value that does not
    /// parse, a row whose parent is gone): logged in full, answered as an internal error.
    pub fn internal(what: impl Into<String>) -> Self {
        Self::Internal { what: what.into(), at: None }
    }
    pub fn unavailable(cause: impl Into<String>) -> Self {
        Self::Unavailable { cause: cause.into(), at: None }
    }

    /// Records where a failure from below happened (see [`ctx!`](crate::ctx)); the first
    /// location recorded wins.
    pub fn at(mut self, location: &'static str) -> Self {
        match &mut self {
            Self::Unavailable { at, .. } | Self::Database { at, .. } | Self::Internal { at, .. } => {
                at.get_or_insert(location);
            }
            _ => {}
        }
        self
    }

    /// Whether a retry may succeed (the database was busy or unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl crate::db::Transient for ServiceError {
    fn is_transient(&self) -> bool {
        ServiceError::is_transient(self)
    }

    fn unavailable(cause: String) -> Self {
        ServiceError::unavailable(cause)
    }
}

/// `ctx!(result)`: the result with its error converted to a [`ServiceError`] that records the
/// file and line of this call.
#[macro_export]
macro_rules! ctx {
    ($e:expr) => {
        $e.map_err(|e| $crate::error::ServiceError::from(e).at(concat!(file!(), ":", line!())))
    };
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if matches!(err, DbErr::ConnectionAcquire(_)) {
            metrics::counter!(crate::metrics::DB_ACQUIRE_TIMEOUTS).increment(1);
        }
        if crate::db::is_transient(&err) {
            Self::Unavailable { cause: err.to_string(), at: None }
        } else {
            Self::Database { source: err, at: None }
        }
    }
}

impl From<crate::auth::AuthError> for ServiceError {
    fn from(err: crate::auth::AuthError) -> Self {
        Self::Unauthenticated(err.to_string())
    }
}

/// What a use case's failure is counted as: a conflict (409) is `conflict`, an input a rule
/// refused (400) `rejected_by_rule`; anything else (not found, a fault) is not an outcome.
impl crate::metrics::Counted for ServiceError {
    fn outcome(&self) -> Option<crate::metrics::Outcome> {
        match self {
            ServiceError::Conflict(_) => Some(crate::metrics::Outcome::Conflict),
            ServiceError::Invalid(_) => Some(crate::metrics::Outcome::RejectedByRule),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctx_records_where_a_query_failed() {
        let failed: Result<(), DbErr> = Err(DbErr::Custom("boom".into()));
        let err = ctx!(failed).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("src/error.rs:"), "{text}");
        assert!(text.contains("boom"), "{text}");
        assert!(!err.is_transient());
    }

    #[test]
    fn the_first_location_wins_and_client_errors_carry_none() {
        let err = ServiceError::internal("x").at("a.rs:1").at("b.rs:2");
        assert!(err.to_string().ends_with("at a.rs:1: x"), "{err}");
        assert_eq!(ServiceError::invalid("bad").at("c.rs:3").to_string(), "bad");
    }

    // `Writes` retries by what these errors say (`crate::db::Transient`).
    use crate::db::{RowKey, Writes, MAX_TRIES};
    use std::time::Duration;

    #[tokio::test]
    async fn transient_faults_are_retried_then_answered() {
        let writes = Writes::new(Duration::from_secs(5));
        let mut calls = 0;
        let result: Result<(), ServiceError> = writes
            .retrying(&[], || {
                calls += 1;
                async { Err(ServiceError::unavailable("busy")) }
            })
            .await;
        assert!(matches!(result, Err(ServiceError::Unavailable { .. })));
        assert_eq!(calls, MAX_TRIES);
        let mut calls = 0;
        let result: Result<(), ServiceError> = writes
            .retrying(&[], || {
                calls += 1;
                async { Err(ServiceError::conflict("taken")) }
            })
            .await;
        assert!(matches!(result, Err(ServiceError::Conflict(_))));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_request_waiting_for_a_row_held_here_gives_up_at_the_budget() {
        let writes = Writes::new(Duration::from_millis(200));
        let key = RowKey::new("calendars", "a");
        // Another request of this process holds the row's gate: this one waits, then answers
        // Unavailable without having run its transaction.
        let gate = writes.gate(&key);
        let _held = gate.lock().await;
        let mut ran = false;
        let result: Result<(), ServiceError> = writes
            .retrying(std::slice::from_ref(&key), || {
                ran = true;
                async { Ok(()) }
            })
            .await;
        assert!(matches!(result, Err(ServiceError::Unavailable { .. })), "{result:?}");
        assert!(!ran);
        // Another row is not held up.
        let other: Result<(), ServiceError> =
            writes.retrying(&[RowKey::new("calendars", "b")], || async { Ok(()) }).await;
        assert!(other.is_ok());
    }
}
