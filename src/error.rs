//! One error type for the services, mapped once onto the contract's Error envelope
//! ([`crate::api::ApiError`]); each generated response enum then picks the status variant the
//! operation declares. A 500 never shows internals: the cause is logged with the request id.

use crate::api::{ApiError, ErrorCode};
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests,
    /// The database is busy, unreachable or timed out (see [`crate::db::is_transient`]):
    /// retried while the budget allows, then answered 503 with Retry-After. Holds the cause,
    /// which is logged, never shown.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// The Retry-After of a 503: the faults it answers (a row held past the lock timeout, a lost
/// connection, SQLite busy) are worth another try this soon.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl AppError {
    pub fn validation(msg: impl Into<String>) -> Self {
        Self::Validation(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if crate::db::is_transient(&err) {
            AppError::Unavailable(err.to_string())
        } else {
            AppError::Database(err)
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Validation(m) => ApiError::new(400, ErrorCode::Validation, m),
            AppError::Unauthorized(m) => ApiError::new(401, ErrorCode::Unauthorized, m),
            AppError::Forbidden(m) => ApiError::new(403, ErrorCode::Forbidden, m),
            AppError::NotFound(m) => ApiError::new(404, ErrorCode::NotFound, m),
            AppError::Conflict(m) => ApiError::new(409, ErrorCode::Conflict, m),
            AppError::TooManyRequests => {
                ApiError::new(429, ErrorCode::TooManyRequests, "too many requests; retry later")
            }
            AppError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(503, ErrorCode::Unavailable, "the service is temporarily unavailable; retry later")
                    .with_retry_after(RETRY_AFTER_SECONDS)
            }
            AppError::Database(e) => {
                tracing::error!(error = %e, "database error");
                ApiError::new(500, ErrorCode::Internal, "internal error")
            }
            AppError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(500, ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<crate::auth::AuthError> for AppError {
    fn from(err: crate::auth::AuthError) -> Self {
        AppError::Unauthorized(err.to_string())
    }
}
