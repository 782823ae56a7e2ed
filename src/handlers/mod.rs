//! The generated handler traits, implemented: translate wire types to domain values, call a
//! service, translate the result back. No SQL and no business rule here.

mod booking;
mod bookings;
mod calendars;
mod coach_events;
mod notifications;

use crate::api::{ApiError, Authenticator};
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;
use chrono::{DateTime, FixedOffset, Utc};
use std::sync::Arc;

pub struct Handlers {
    state: Arc<AppState>,
}

impl Handlers {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

impl Authenticator for Handlers {
    type Principal = Principal;

    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, ApiError> {
        let principal = self.state.verifier.verify(bearer_token).map_err(AppError::from)?;
        crate::services::notifications::remember_email(&self.state, &principal).await?;
        Ok(principal)
    }
}

pub(crate) fn utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

pub(crate) fn wire(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}
