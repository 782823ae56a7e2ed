//! Public booking links: create and change them (owner), compute availability and reserve a
//! slot (anyone with the token).

use super::calendars::{find_owned, live_events_between, require_scope};
use crate::auth::Principal;
use crate::db::{begin_write, is_exclusion_violation, retrying};
use crate::domain::availability::{self, Interval};
use crate::domain::booking_link::{working_hours_from_json, working_hours_to_json, LinkSettings, MAX_AVAILABILITY_DAYS};
use crate::entities::{booking_links, calendar_events, calendars};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

pub const SCOPE_BOOKING_WRITE: &str = "booking:write";

/// A new unguessable token: 192 random bits, URL-safe.
fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn settings_of(link: &booking_links::Model) -> AppResult<LinkSettings> {
    let json: serde_json::Value = serde_json::from_str(&link.working_hours)
        .map_err(|e| AppError::Internal(format!("stored working hours of a link are not JSON: {e}")))?;
    let hours = working_hours_from_json(&json).map_err(AppError::Internal)?;
    LinkSettings::parse(link.duration_minutes.into(), link.buffer_minutes.into(), &link.timezone, hours, link.active)
        .map_err(AppError::Internal)
}

pub fn public_url(state: &AppState, token: &str) -> String {
    format!("{}/booking/{token}", state.public_base_url)
}

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

pub async fn list_links(state: &AppState, principal: &Principal, calendar_id: Uuid) -> AppResult<Vec<booking_links::Model>> {
    find_owned(&state.db, principal, calendar_id).await?;
    Ok(booking_links::Entity::find()
        .filter(booking_links::Column::CalendarId.eq(calendar_id))
        .order_by_desc(booking_links::Column::CreatedAt)
        .order_by_asc(booking_links::Column::Token)
        .all(&state.db)
        .await?)
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

pub async fn update_link(
    state: &AppState,
    principal: &Principal,
    calendar_id: Uuid,
    token: &str,
    changes: LinkChanges,
) -> AppResult<booking_links::Model> {
    require_scope(principal, SCOPE_BOOKING_WRITE)?;
    find_owned(&state.db, principal, calendar_id).await?;
    let link = booking_links::Entity::find_by_id(token.to_string())
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
    Ok(active.update(&state.db).await?)
}

async fn active_link(db: &impl ConnectionTrait, token: &str) -> AppResult<booking_links::Model> {
    booking_links::Entity::find_by_id(token.to_string())
        .filter(booking_links::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("booking link not found or inactive"))
}

fn busy_of(events: &[calendar_events::Model]) -> Vec<Interval> {
    events.iter().map(|e| Interval { start: e.starts_at, end: e.ends_at }).collect()
}

pub struct Availability {
    pub link: booking_links::Model,
    pub settings: LinkSettings,
    pub slots: Vec<Interval>,
}

pub async fn availability(state: &AppState, token: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> AppResult<Availability> {
    if end <= start {
        return Err(AppError::validation("end must be after start"));
    }
    if end - start > Duration::days(MAX_AVAILABILITY_DAYS) {
        return Err(AppError::validation(format!("the range may span at most {MAX_AVAILABILITY_DAYS} days")));
    }
    let link = active_link(&state.db, token).await?;
    let settings = settings_of(&link)?;
    // Busy time that can touch a slot of the range, buffer included.
    let margin = settings.rules.buffer + Duration::days(1);
    let events = live_events_between(&state.db, link.calendar_id, start - margin, end + margin).await?;
    let range = Interval { start, end };
    let slots = availability::available_slots(&settings.rules, range, &busy_of(&events), state.clock.now());
    Ok(Availability { link, settings, slots })
}

pub struct Reservation {
    pub name: String,
    pub email: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub notes: Option<String>,
}

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_NOTES_CHARS: usize = 2000;

/// Reserves a slot: one transaction that locks the calendar row, re-checks the slot against the
/// calendar's busy time (buffer included) and inserts the event. On PostgreSQL an exclusion
/// constraint backs it up; its violation is a 409 as well. Nothing is written on any error.
pub async fn reserve(state: &AppState, token: &str, reservation: Reservation) -> AppResult<calendar_events::Model> {
    let name = reservation.name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::validation("name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::validation(format!("name may have at most {MAX_NAME_CHARS} characters")));
    }
    if reservation.notes.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
        return Err(AppError::validation(format!("notes may have at most {MAX_NOTES_CHARS} characters")));
    }
    let link = active_link(&state.db, token).await?;
    let settings = settings_of(&link)?;
    let slot = Interval { start: reservation.start, end: reservation.end };
    availability::check_offered(&settings.rules, slot, state.clock.now()).map_err(|e| AppError::Validation(e.to_string()))?;

    let (reservation, name, settings, link) = (&reservation, &name, &settings, &link);
    retrying(|| async move {
        let txn = begin_write(&state.db).await?;
        // Lock the calendar: concurrent reservations of this calendar queue up here.
        calendars::Entity::find_by_id(link.calendar_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("booking link not found or inactive"))?;
        // The link may have been switched off meanwhile.
        let link = active_link(&txn, token).await?;
        let margin = settings.rules.buffer + Duration::minutes(1);
        let events = live_events_between(&txn, link.calendar_id, slot.start - margin, slot.end + margin).await?;
        if availability::overlaps_busy(&settings.rules, slot, &busy_of(&events)) {
            return Err(AppError::conflict("this slot is no longer available"));
        }
        let event = calendar_events::ActiveModel {
            id: Set(Uuid::new_v4()),
            calendar_id: Set(link.calendar_id),
            title: Set(format!("Booking: {name}")),
            starts_at: Set(slot.start),
            ends_at: Set(slot.end),
            notes: Set(reservation.notes.clone()),
            source: Set("reservation".into()),
            booking_link_token: Set(Some(link.token.clone())),
            attendee_name: Set(Some(name.clone())),
            attendee_email: Set(Some(reservation.email.clone())),
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
            Ok(()) => Ok(event),
            Err(e) if is_exclusion_violation(&e) => Err(AppError::conflict("this slot is no longer available")),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
