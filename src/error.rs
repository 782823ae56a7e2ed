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
    /// The database is unreachable or timed out: transient, worth a retry.
    #[error("database unavailable: {0}")]
    Unavailable(DbErr),
    #[error("database error: {0}")]
    Database(DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

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
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => AppError::Unavailable(err),
            _ => AppError::Database(err),
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
                tracing::error!(error = %e, "database unavailable");
                ApiError::new(500, ErrorCode::Oops, "the service is temporarily unavailable; retry later")
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
