//! Public booking links: create and change them (owner), compute availability and reserve a
//! slot (anyone with the token).
//!
//! Style as `services::calendars`: a small struct holding what the use cases need.

use super::availability_cache::{AvailabilityCache, BusyWindow, CachedLink};
use super::calendars::find_owned;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::{begin_write, is_exclusion_violation, RowKey, Writes};
use crate::domain::availability::{self, Interval};
use crate::domain::booking_link::{
    working_hours_from_json, working_hours_to_json, LinkSettings, Reservation, MAX_AVAILABILITY_DAYS,
};
use crate::domain::ids::CalendarId;
use crate::domain::input::{self, LinkToken, TimeRange};
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::{booking_links, calendar_events};
use crate::error::{ServiceError, ServiceResult};
use crate::policy::{require_scope, Scope};
use crate::store::booking_links::{self as store, StoredSettings};
use crate::store::calendars::{busy_between, insert_reservation};
use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone, Copy)]
pub struct BookingLinks<'a> {
    pub db: &'a DatabaseConnection,
    pub clock: Clock,
    pub cache: &'a AvailabilityCache,
    /// Runs the reservation's write transaction (retries, one waiter per link).
    pub writes: &'a Writes,
    /// Base URL of public booking links, without a trailing slash.
    pub public_base_url: &'a str,
}

#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %link.calendar_id), err(level = "debug", Display))]
pub fn settings_of(link: &booking_links::Model) -> ServiceResult<LinkSettings> {
    let json: serde_json::Value = serde_json::from_str(&link.working_hours)
        .map_err(|e| ServiceError::internal(format!("stored working hours of a link are not JSON: {e}")))?;
    let hours = working_hours_from_json(&json).map_err(ServiceError::internal)?;
    LinkSettings::parse(link.duration_minutes.into(), link.buffer_minutes.into(), &link.timezone, hours, link.active)
        .map_err(ServiceError::internal)
}

fn stored(settings: &LinkSettings) -> StoredSettings {
    StoredSettings {
        duration_minutes: settings.duration_minutes as i32,
        buffer_minutes: settings.buffer_minutes as i32,
        timezone: settings.timezone.clone(),
        working_hours: working_hours_to_json(&settings.rules.hours).to_string(),
        active: settings.active,
    }
}

/// What `updateBookingLink` may change; `None` keeps the current value.
#[derive(Default)]
pub struct LinkChanges {
    pub duration_minutes: Option<i64>,
    pub buffer_minutes: Option<i64>,
    pub timezone: Option<String>,
    pub working_hours: Option<availability::WorkingHours>,
    pub active: Option<bool>,
}

impl LinkChanges {
    fn apply(self, current: LinkSettings) -> ServiceResult<LinkSettings> {
        LinkSettings::parse(
            self.duration_minutes.unwrap_or(current.duration_minutes),
            self.buffer_minutes.unwrap_or(current.buffer_minutes),
            self.timezone.as_deref().unwrap_or(&current.timezone),
            self.working_hours.unwrap_or(current.rules.hours),
            self.active.unwrap_or(current.active),
        )
        .map_err(ServiceError::Invalid)
    }
}

pub struct Availability {
    pub link: Arc<CachedLink>,
    pub slots: Vec<Interval>,
}

fn busy_of(spans: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<Interval> {
    spans.into_iter().map(|(start, end)| Interval { start, end }).collect()
}

/// The busy time to load for a request that needs `[from, to)`: whole weeks from the week
/// before `from`'s to long enough after it for any range (so later requests near it hit).
fn cache_window(from: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let week = Duration::days(7).num_seconds();
    let start = DateTime::<Utc>::from_timestamp(from.timestamp().div_euclid(week) * week, 0).unwrap_or(from)
        - Duration::days(7);
    // Within the instants anything is stored at (both databases compare those correctly).
    (input::clamp(start), input::clamp(start + Duration::days(MAX_AVAILABILITY_DAYS + 28)))
}

/// Busy time for availability: a cached window, or spans loaded for this request alone.
enum Busy {
    Window(Arc<BusyWindow>),
    Loaded(Vec<Interval>),
}

impl Busy {
    fn covering(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> &[Interval] {
        match self {
            Busy::Window(window) => window.covering(from, to).unwrap_or(&[]),
            Busy::Loaded(spans) => spans,
        }
    }
}

fn slot_taken() -> ServiceError {
    ServiceError::conflict("this slot is no longer available")
}

fn link_not_found() -> ServiceError {
    ServiceError::not_found("booking link not found or inactive")
}

impl<'a> BookingLinks<'a> {
    #[tracing::instrument(level = "debug", skip_all)]
    pub fn public_url(&self, token: &str) -> String {
        format!("{}/booking/{token}", self.public_base_url)
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn create_link(
        &self,
        principal: &Principal,
        calendar_id: CalendarId,
        settings: LinkSettings,
    ) -> ServiceResult<booking_links::Model> {
        require_scope(principal, Scope::BookingWrite)?;
        find_owned(self.db, principal, calendar_id).await?;
        store::insert(self.db, calendar_id, stored(&settings), self.clock.now()).await
    }

    /// One page of a calendar's links, newest first then by token; keyset after `page.after`,
    /// cut in the query.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn list_links(
        &self,
        principal: &Principal,
        calendar_id: CalendarId,
        page: PageRequest,
    ) -> ServiceResult<Page<booking_links::Model>> {
        find_owned(self.db, principal, calendar_id).await?;
        let after = page.after.as_ref().map(|c| (c.at, c.key.as_str()));
        let rows = store::page_of_calendar(self.db, calendar_id, after, page.fetch()).await?;
        Ok(Page::cut(rows, &page, |l| Some(Cursor::new(ListKind::BookingLinks, l.created_at, l.token.clone()))))
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn update_link(
        &self,
        principal: &Principal,
        calendar_id: CalendarId,
        token: &LinkToken,
        changes: LinkChanges,
    ) -> ServiceResult<booking_links::Model> {
        require_scope(principal, Scope::BookingWrite)?;
        find_owned(self.db, principal, calendar_id).await?;
        let link = store::find_in_calendar(self.db, calendar_id, token.as_str())
            .await?
            .ok_or_else(|| ServiceError::not_found("booking link not found in this calendar"))?;
        let merged = changes.apply(settings_of(&link)?)?;
        let updated = store::update_settings(self.db, link, stored(&merged), self.clock.now()).await?;
        self.cache.invalidate_link(&updated.token);
        Ok(updated)
    }

    async fn cached_link(&self, token: &str) -> ServiceResult<Arc<CachedLink>> {
        if let Some(link) = self.cache.link(token) {
            return Ok(link);
        }
        let ticket = self.cache.ticket();
        let model = store::find_active(self.db, token).await?.ok_or_else(link_not_found)?;
        let settings = settings_of(&model)?;
        let link = Arc::new(CachedLink { settings, token: model.token, calendar_id: model.calendar_id.into_uuid() });
        self.cache.put_link(ticket, link.clone());
        Ok(link)
    }

    /// Busy time of the link's calendar over `[from, to)`: from the cache when it covers it,
    /// else loaded (a whole cache window when that covers it, for the requests to come).
    async fn busy(&self, calendar_id: CalendarId, from: DateTime<Utc>, to: DateTime<Utc>) -> ServiceResult<Busy> {
        if let Some(window) = self.cache.busy(calendar_id.into_uuid()) {
            if window.covering(from, to).is_some() {
                return Ok(Busy::Window(window));
            }
        }
        let (window_from, window_to) = cache_window(from);
        if self.cache.enabled() && from >= window_from && to <= window_to {
            let ticket = self.cache.ticket();
            let spans = busy_of(busy_between(self.db, calendar_id, window_from, window_to).await?);
            let window = Arc::new(BusyWindow { from: window_from, to: window_to, spans });
            self.cache.put_busy(ticket, calendar_id.into_uuid(), window.clone());
            Ok(Busy::Window(window))
        } else {
            Ok(Busy::Loaded(busy_of(busy_between(self.db, calendar_id, from, to).await?)))
        }
    }

    #[tracing::instrument(level = "info", skip_all, fields(calendar_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn availability(&self, token: &LinkToken, range: TimeRange) -> ServiceResult<Availability> {
        let (start, end) = (range.start(), range.end());
        let link = self.cached_link(token.as_str()).await?;
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        let rules = &link.settings.rules;
        // Busy time that can touch a slot of the range, buffer included.
        let margin = rules.buffer + Duration::days(1);
        let (from, to) = (input::clamp(start - margin), input::clamp(end + margin));
        let busy = self.busy(CalendarId::from_uuid(link.calendar_id), from, to).await?;
        let busy = busy.covering(from, to);
        let mut slots = availability::available_slots(rules, Interval { start, end }, busy, self.clock.now());
        // Near the ends of the instants the contract carries, only slots a reservation would take.
        if start - margin < input::min_instant() || end + margin > input::max_instant() {
            slots.retain(|s| input::slot_fits(&rules.tz, rules.buffer, s.start, s.end));
        }
        Ok(Availability { link, slots })
    }

    /// Reserves a slot: one transaction that locks the calendar row, re-checks the slot against
    /// the calendar's busy time (buffer included) and inserts the event. On PostgreSQL an
    /// exclusion constraint backs it up; its violation is a 409 as well. Nothing is written on
    /// any error.
    #[tracing::instrument(level = "info", skip_all, fields(calendar_id = tracing::field::Empty, event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn reserve(&self, token: &LinkToken, reservation: Reservation) -> ServiceResult<calendar_events::Model> {
        let token = token.as_str();
        let reservation = &reservation;
        self.writes.retrying(&[RowKey::new("booking_links", token)], || self.try_reserve(token, reservation)).await
    }

    /// One attempt of [`Self::reserve`].
    async fn try_reserve(&self, token: &str, reservation: &Reservation) -> ServiceResult<calendar_events::Model> {
        let slot = Interval { start: reservation.start, end: reservation.end };
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let link = store::lock_active_with_calendar(&txn, token).await?.ok_or_else(link_not_found)?;
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        let settings = settings_of(&link)?;
        // Availability never offers a slot that, with its buffer, leaves the instants the
        // contract carries, or whose ends in the link's zone would be no date-time.
        if !input::slot_fits(&settings.rules.tz, settings.rules.buffer, slot.start, slot.end) {
            return Err(ServiceError::invalid(
                "slot_start..slot_end, with the link's buffer and in its time zone, must lie between 0001-01-01 and 9999-12-31",
            ));
        }
        availability::check_offered(&settings.rules, slot, self.clock.now())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let margin = settings.rules.buffer + Duration::minutes(1);
        let (from, to) = (input::clamp(slot.start - margin), input::clamp(slot.end + margin));
        let busy = busy_of(busy_between(&txn, link.calendar_id, from, to).await?);
        if availability::overlaps_busy(&settings.rules, slot, &busy) {
            return Err(slot_taken());
        }
        let event = match insert_reservation(&txn, &link, reservation, self.clock.now()).await {
            Ok(event) => event,
            Err(e) if is_exclusion_violation(&e) => return Err(slot_taken()),
            Err(e) => return crate::ctx!(Err(e)),
        };
        match txn.commit().await {
            Ok(()) => {
                tracing::Span::current().record("event_id", tracing::field::display(event.id));
                self.cache.invalidate_calendar(link.calendar_id.into_uuid());
                Ok(event)
            }
            Err(e) if is_exclusion_violation(&e) => Err(slot_taken()),
            Err(e) => crate::ctx!(Err(e)),
        }
    }
}
