//! The generated handler traits, implemented: translate wire types to domain values, call a
//! service, translate the result back. No SQL and no business rule here.

mod booking;
mod bookings;
mod calendars;
mod coach_events;
mod kinds;
mod link_rules;
mod notifications;

use crate::api::{ApiError, Authenticator};
use crate::auth::{Authenticated, Principal};
use crate::domain::input::{InputError, Instant};
use crate::error::ServiceError;
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

    /// The calendars' use cases, over what they need of the state.
    fn calendars(&self) -> crate::services::calendars::Calendars<'_> {
        let s = &*self.state;
        crate::services::calendars::Calendars::new(&s.db, s.clock, &s.availability_cache)
    }

    /// The booking links' use cases, over what they need of the state.
    fn links(&self) -> crate::services::booking_links::BookingLinks<'_> {
        self.state.booking_links()
    }

    /// The coach events' use cases.
    fn coach_events(&self) -> crate::services::coach_events::CoachEvents<'_> {
        crate::services::coach_events::CoachEvents::new(&self.state.db, &self.state.writes, self.state.clock)
    }

    /// The bookings' use cases.
    fn bookings(&self) -> crate::services::bookings::Bookings<'_> {
        crate::services::bookings::Bookings::new(&self.state.db, &self.state.writes, self.state.clock)
    }

    /// The orders' use cases.
    fn orders(&self) -> crate::services::orders::Orders<'_> {
        crate::services::orders::Orders::new(&self.state.db, &self.state.writes, self.state.clock)
    }

    /// Erasing a user, with the caches that must forget them.
    fn erasure(&self) -> crate::services::erasure::Erasure<'_> {
        let s = &*self.state;
        crate::services::erasure::Erasure::new(
            &s.db,
            &s.writes,
            s.clock,
            &s.availability_cache,
            &s.known_emails,
            &s.notifier,
        )
    }

    /// The notifications' use cases.
    fn notifications(&self) -> crate::services::notifications::Notifications<'_> {
        let s = &*self.state;
        crate::services::notifications::Notifications {
            db: &s.db,
            writes: &s.writes,
            clock: s.clock,
            notifier: &s.notifier,
            known_emails: &s.known_emails,
        }
    }
}

impl Authenticator for Handlers {
    type Principal = Principal;

    /// The principal the edge verified for this request's token (see the edge's router), or
    /// the token verified here when the edge could not (the error says why).
    async fn authenticate(&self, request: &poem::Request, bearer_token: &str) -> Result<Principal, ApiError> {
        let verified = request.data::<Authenticated>().filter(|a| a.token == bearer_token.trim());
        let principal = match verified {
            Some(verified) => verified.principal.clone(),
            None => self.state.verifier.verify(bearer_token).map_err(ServiceError::from)?,
        };
        self.notifications().remember_email(&principal).await?;
        Ok(principal)
    }
}

/// An input that breaks its rule (see `domain::input`) is the operation's 400, naming the field.
impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        ServiceError::Invalid(e.to_string()).into()
    }
}

/// A date-time of the request, in UTC, within the range the contract carries (else a 400 naming
/// `field`).
pub(crate) fn instant(field: &'static str, t: DateTime<FixedOffset>) -> Result<DateTime<Utc>, ApiError> {
    Ok(Instant::parse(field, t)?.utc())
}

pub(crate) fn instant_opt(
    field: &'static str,
    t: Option<DateTime<FixedOffset>>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(Instant::parse_opt(field, t)?.map(Instant::utc))
}

/// A booking link token from a path: one outside the token alphabet names no link, so it is the
/// 404 an unknown token gets, answered without asking the database.
pub(crate) fn link_token(raw: &str) -> Result<crate::domain::input::LinkToken, ApiError> {
    crate::domain::input::LinkToken::parse(raw)
        .ok_or_else(|| ServiceError::not_found("booking link not found or inactive").into())
}

pub(crate) fn wire(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

/// A nullable property the contract does not require, left out while there is no value (the
/// contract's `null` is kept for a partial update's "back to the default").
pub(crate) fn absent_if_none<T>(value: Option<T>) -> poem_openapi::types::MaybeUndefined<T> {
    poem_openapi::types::MaybeUndefined::from_opt_undefined(value)
}
