//! The one place a [`ServiceError`] becomes the contract's Error envelope; each generated
//! response enum then picks the status variant its operation declares. A 500 never shows
//! internals: the cause and where it happened are logged with the request id.

use crate::api::{ApiError, ErrorCode};
use crate::error::{ServiceError, RETRY_AFTER_SECONDS};

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(m) => ApiError::new(400, ErrorCode::Validation, m),
            ServiceError::Unauthenticated(m) => ApiError::new(401, ErrorCode::Unauthorized, m),
            ServiceError::Denied(m) => ApiError::new(403, ErrorCode::Forbidden, m),
            ServiceError::NotFound(m) => ApiError::new(404, ErrorCode::NotFound, m),
            ServiceError::Conflict(m) => ApiError::new(409, ErrorCode::Conflict, m),
            ServiceError::RateLimited => {
                ApiError::new(429, ErrorCode::TooManyRequests, "too many requests; retry later")
            }
            e @ ServiceError::Unavailable { .. } => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(503, ErrorCode::Unavailable, "the service is temporarily unavailable; retry later")
                    .with_retry_after(RETRY_AFTER_SECONDS)
            }
            e @ (ServiceError::Database { .. } | ServiceError::Internal { .. }) => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(500, ErrorCode::Internal, "internal error")
            }
        }
    }
}
