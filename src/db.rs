//! Transactions that write: `BEGIN IMMEDIATE` on SQLite (one writer at a time, taken up front so
//! no read-then-upgrade deadlock), a plain transaction with row locks on PostgreSQL; and the
//! classification of database errors the services need (retry, conflict).

use crate::error::{AppError, AppResult};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, RuntimeErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use std::future::Future;

pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// The SQLSTATE (PostgreSQL) or extended result code (SQLite) of a database error.
pub fn error_code(err: &DbErr) -> Option<String> {
    let runtime = match err {
        DbErr::Exec(e) | DbErr::Query(e) | DbErr::Conn(e) => e,
        _ => return None,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned()),
        _ => None,
    }
}

/// Worth running the whole transaction again: a PostgreSQL deadlock or serialization failure,
/// or SQLite busy/locked.
pub fn is_retryable(err: &DbErr) -> bool {
    match error_code(err).as_deref() {
        Some("40P01" | "40001" | "55P03") => true,
        // SQLite extended result codes: the primary code is the low byte (5 BUSY, 6 LOCKED).
        Some(code) => code.parse::<u32>().map(|c| matches!(c & 0xff, 5 | 6)).unwrap_or(false),
        None => {
            let text = err.to_string();
            text.contains("database is locked") || text.contains("deadlock detected")
        }
    }
}

/// An exclusion-constraint violation (PostgreSQL 23P01): the last line of defence said no.
pub fn is_exclusion_violation(err: &DbErr) -> bool {
    error_code(err).as_deref() == Some("23P01")
}

/// Runs `attempt` until it succeeds, fails for a reason other than a transient database
/// conflict, or has been tried five times.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(AppError::Database(e)) if tries < 5 && is_retryable(&e) => {
                tracing::debug!(error = %e, tries, "retrying a transaction after a transient conflict");
                tokio::time::sleep(std::time::Duration::from_millis(5 * tries as u64 + rand::random::<u64>() % 10)).await;
            }
            other => return other,
        }
    }
}
