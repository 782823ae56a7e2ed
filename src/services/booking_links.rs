//! Public booking links: create and change them (owner), compute availability and reserve a
//! slot (anyone with the token).

use super::availability_cache::{BusyWindow, CachedLink};
use super::calendars::{busy_between, find_owned, require_scope};
use crate::auth::Principal;
use crate::db::{begin_write, is_exclusion_violation, RowKey};
use crate::domain::availability::{self, Interval};
use crate::domain::booking_link::{
    working_hours_from_json, working_hours_to_json, LinkSettings, MAX_AVAILABILITY_DAYS,
};
use crate::domain::input::{self, EmailAddress, FreeText, LinkToken, Name};
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::{booking_links, calendar_events, calendars};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::sync::Arc;
use uuid::Uuid;

pub use crate::auth::SCOPE_BOOKING_WRITE;

/// A new unguessable token: 192 random bits, URL-safe.
fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %link.calendar_id), err(level = "debug", Display))]
pub fn settings_of(link: &booking_links::Model) -> AppResult<LinkSettings> {
    let json: serde_json::Value = serde_json::from_str(&link.working_hours)
        .map_err(|e| AppError::Internal(format!("stored working hours of a link are not JSON: {e}")))?;
    let hours = working_hours_from_json(&json).map_err(AppError::Internal)?;
    LinkSettings::parse(link.duration_minutes.into(), link.buffer_minutes.into(), &link.timezone, hours, link.active)
        .map_err(AppError::Internal)
}

#[tracing::instrument(level = "debug", skip_all)]
pub fn public_url(state: &AppState, token: &str) -> String {
    format!("{}/booking/{token}", state.public_base_url)
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
pub async fn create_link(
    state: &AppState,
    principal: &Principal,
    calendar_id: Uuid,
    settings: LinkSettings,
) -> AppResult<booking_links::Model> {
    require_scope(principal, SCOPE_BOOKING_WRITE)?;
    find_owned(&state.db, principal, calendar_id).await?;
    let now = state.clock.now();
    let model = booking_links::ActiveModel {
        token: Set(new_token()),
        calendar_id: Set(calendar_id),
        duration_minutes: Set(settings.duration_minutes as i32),
        buffer_minutes: Set(settings.buffer_minutes as i32),
        timezone: Set(settings.timezone.clone()),
        working_hours: Set(working_hours_to_json(&settings.rules.hours).to_string()),
        active: Set(settings.active),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(&state.db).await?)
}

/// One page of a calendar's links, newest first then by token; keyset after `page.after`, cut
/// in the query.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
pub async fn list_links(
    state: &AppState,
    principal: &Principal,
    calendar_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<booking_links::Model>> {
    find_owned(&state.db, principal, calendar_id).await?;
    let mut query = booking_links::Entity::find()
        .filter(booking_links::Column::CalendarId.eq(calendar_id))
        .order_by_desc(booking_links::Column::CreatedAt)
        .order_by_asc(booking_links::Column::Token);
    if let Some(after) = &page.after {
        query = query.filter(
            Condition::any().add(booking_links::Column::CreatedAt.lt(after.at)).add(
                Condition::all()
                    .add(booking_links::Column::CreatedAt.eq(after.at))
                    .add(booking_links::Column::Token.gt(after.key.as_str())),
            ),
        );
    }
    let rows = query.limit(page.fetch()).all(&state.db).await?;
    Ok(Page::cut(rows, &page, |l| Some(Cursor::new(ListKind::BookingLinks, l.created_at, l.token.clone()))))
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

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
pub async fn update_link(
    state: &AppState,
    principal: &Principal,
    calendar_id: Uuid,
    token: &LinkToken,
    changes: LinkChanges,
) -> AppResult<booking_links::Model> {
    require_scope(principal, SCOPE_BOOKING_WRITE)?;
    find_owned(&state.db, principal, calendar_id).await?;
    let link = booking_links::Entity::find_by_id(token.as_str().to_string())
        .filter(booking_links::Column::CalendarId.eq(calendar_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("booking link not found in this calendar"))?;
    let current = settings_of(&link)?;
    let merged = LinkSettings::parse(
        changes.duration_minutes.unwrap_or(current.duration_minutes),
        changes.buffer_minutes.unwrap_or(current.buffer_minutes),
        changes.timezone.as_deref().unwrap_or(&current.timezone),
        changes.working_hours.unwrap_or(current.rules.hours),
        changes.active.unwrap_or(current.active),
    )
    .map_err(AppError::Validation)?;
    let mut active: booking_links::ActiveModel = link.into();
    active.duration_minutes = Set(merged.duration_minutes as i32);
    active.buffer_minutes = Set(merged.buffer_minutes as i32);
    active.timezone = Set(merged.timezone.clone());
    active.working_hours = Set(working_hours_to_json(&merged.rules.hours).to_string());
    active.active = Set(merged.active);
    active.updated_at = Set(state.clock.now());
    let updated = active.update(&state.db).await?;
    state.availability_cache.invalidate_link(&updated.token);
    Ok(updated)
}

async fn active_link(db: &impl ConnectionTrait, token: &str) -> AppResult<booking_links::Model> {
    booking_links::Entity::find_by_id(token.to_string())
        .filter(booking_links::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("booking link not found or inactive"))
}

fn busy_of(spans: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<Interval> {
    spans.into_iter().map(|(start, end)| Interval { start, end }).collect()
}

pub struct Availability {
    pub link: Arc<CachedLink>,
    pub slots: Vec<Interval>,
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

async fn cached_link(state: &AppState, token: &str) -> AppResult<Arc<CachedLink>> {
    if let Some(link) = state.availability_cache.link(token) {
        return Ok(link);
    }
    let ticket = state.availability_cache.ticket();
    let model = active_link(&state.db, token).await?;
    let link =
        Arc::new(CachedLink { settings: settings_of(&model)?, token: model.token, calendar_id: model.calendar_id });
    state.availability_cache.put_link(ticket, link.clone());
    Ok(link)
}

#[tracing::instrument(level = "info", skip_all, fields(calendar_id = tracing::field::Empty), err(level = "info", Display))]
pub async fn availability(
    state: &AppState,
    token: &LinkToken,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Availability> {
    let token = token.as_str();
    if end <= start {
        return Err(AppError::validation("end must be after start"));
    }
    if end - start > Duration::days(MAX_AVAILABILITY_DAYS) {
        return Err(AppError::validation(format!("the range may span at most {MAX_AVAILABILITY_DAYS} days")));
    }
    let link = cached_link(state, token).await?;
    tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
    let rules = &link.settings.rules;
    let now = state.clock.now();
    // Busy time that can touch a slot of the range, buffer included.
    let margin = rules.buffer + Duration::days(1);
    let (from, to) = (input::clamp(start - margin), input::clamp(end + margin));
    let range = Interval { start, end };
    let cache = &state.availability_cache;
    let cached = cache.busy(link.calendar_id);
    let mut slots = match cached.as_deref().and_then(|w| w.covering(from, to)) {
        Some(busy) => availability::available_slots(rules, range, busy, now),
        None => {
            let (window_from, window_to) = cache_window(from);
            if cache.enabled() && from >= window_from && to <= window_to {
                let ticket = cache.ticket();
                let spans = busy_of(busy_between(&state.db, link.calendar_id, window_from, window_to).await?);
                let window = Arc::new(BusyWindow { from: window_from, to: window_to, spans });
                cache.put_busy(ticket, link.calendar_id, window.clone());
                availability::available_slots(rules, range, window.covering(from, to).unwrap_or(&[]), now)
            } else {
                let busy = busy_of(busy_between(&state.db, link.calendar_id, from, to).await?);
                availability::available_slots(rules, range, &busy, now)
            }
        }
    };
    // Near the ends of the instants the contract carries, only slots a reservation would take.
    if start - margin < input::min_instant() || end + margin > input::max_instant() {
        slots.retain(|s| input::slot_fits(&rules.tz, rules.buffer, s.start, s.end));
    }
    Ok(Availability { link, slots })
}

pub struct Reservation {
    pub name: Name,
    pub email: EmailAddress,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub notes: Option<FreeText>,
}

/// Reserves a slot: one transaction that locks the calendar row, re-checks the slot against the
/// calendar's busy time (buffer included) and inserts the event. On PostgreSQL an exclusion
/// constraint backs it up; its violation is a 409 as well. Nothing is written on any error.
#[tracing::instrument(level = "info", skip_all, fields(calendar_id = tracing::field::Empty, event_id = tracing::field::Empty), err(level = "info", Display))]
pub async fn reserve(
    state: &AppState,
    token: &LinkToken,
    reservation: Reservation,
) -> AppResult<calendar_events::Model> {
    let token = token.as_str();
    let slot = Interval { start: reservation.start, end: reservation.end };
    let name = reservation.name.as_str();
    let reservation = &reservation;
    state.writes.retrying(&[RowKey::new("booking_links", token)], || async move {
        let txn = begin_write(&state.db).await?;
        // The link, still active, read in the statement that locks its calendar (PostgreSQL
        // locks the rows of both tables): concurrent reservations of this calendar queue up here.
        let link = booking_links::Entity::find()
            .join(
                JoinType::InnerJoin,
                booking_links::Entity::belongs_to(calendars::Entity)
                    .from(booking_links::Column::CalendarId)
                    .to(calendars::Column::Id)
                    .into(),
            )
            .filter(booking_links::Column::Token.eq(token))
            .filter(booking_links::Column::Active.eq(true))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("booking link not found or inactive"))?;
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        let settings = settings_of(&link)?;
        // Availability never offers a slot that, with its buffer, leaves the instants the
        // contract carries, or whose ends in the link's zone would be no date-time.
        if !input::slot_fits(&settings.rules.tz, settings.rules.buffer, slot.start, slot.end) {
            return Err(AppError::validation(
                "slot_start..slot_end, with the link's buffer and in its time zone, must lie between 0001-01-01 and 9999-12-31",
            ));
        }
        availability::check_offered(&settings.rules, slot, state.clock.now())
            .map_err(|e| AppError::Validation(e.to_string()))?;
        let margin = settings.rules.buffer + Duration::minutes(1);
        let (from, to) = (input::clamp(slot.start - margin), input::clamp(slot.end + margin));
        let busy = busy_of(busy_between(&txn, link.calendar_id, from, to).await?);
        if availability::overlaps_busy(&settings.rules, slot, &busy) {
            return Err(AppError::conflict("this slot is no longer available"));
        }
        let event = calendar_events::ActiveModel {
            id: Set(Uuid::new_v4()),
            calendar_id: Set(link.calendar_id),
            title: Set(format!("Booking: {name}")),
            starts_at: Set(slot.start),
            ends_at: Set(slot.end),
            notes: Set(reservation.notes.as_ref().map(|n| n.as_str().to_string())),
            source: Set(calendar_events::EventSource::Reservation),
            booking_link_token: Set(Some(link.token.clone())),
            attendee_name: Set(Some(name.to_string())),
            attendee_email: Set(Some(reservation.email.as_str().to_string())),
            cancelled: Set(false),
            cancelled_at: Set(None),
            created_at: Set(state.clock.now()),
        };
        let event = match event.insert(&txn).await {
            Ok(event) => event,
            Err(e) if is_exclusion_violation(&e) => return Err(AppError::conflict("this slot is no longer available")),
            Err(e) => return Err(e.into()),
        };
        match txn.commit().await {
            Ok(()) => {
                tracing::Span::current().record("event_id", tracing::field::display(event.id));
                state.availability_cache.invalidate_calendar(link.calendar_id);
                Ok(event)
            }
            Err(e) if is_exclusion_violation(&e) => Err(AppError::conflict("this slot is no longer available")),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
