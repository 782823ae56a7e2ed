//! Calendars and their busy time (events).

use crate::auth::Principal;
use crate::domain::input::{FreeText, Name};
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::{calendar_events, calendars};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Set,
};
use uuid::Uuid;

pub use crate::auth::SCOPE_CALENDAR_WRITE;
/// The longest range `listCalendarEvents` answers for.
pub const MAX_LIST_DAYS: i64 = 366;

#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id, scope = %scope), err(level = "debug", Display))]
pub fn require_scope(principal: &Principal, scope: &str) -> AppResult<()> {
    if principal.admin || principal.has_scope(scope) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("this needs the `{scope}` scope")))
    }
}

/// The calendar, if the caller owns it (or is an admin): 404 when it does not exist, 403 when
/// it is someone else's.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id, calendar_id = %id), err(level = "debug", Display))]
pub async fn find_owned(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<calendars::Model> {
    let calendar = calendars::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("calendar {id} not found")))?;
    if calendar.owner_id != principal.user_id && !principal.admin {
        return Err(AppError::forbidden("only the calendar's owner may do this"));
    }
    Ok(calendar)
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = tracing::field::Empty), err(level = "info", Display))]
pub async fn create(state: &AppState, principal: &Principal, name: Name) -> AppResult<calendars::Model> {
    require_scope(principal, SCOPE_CALENDAR_WRITE)?;
    let model = calendars::ActiveModel {
        id: Set(Uuid::new_v4()),
        owner_id: Set(principal.user_id),
        name: Set(name.into_string()),
        created_at: Set(state.clock.now()),
    };
    let calendar = model.insert(&state.db).await?;
    tracing::Span::current().record("calendar_id", tracing::field::display(calendar.id));
    Ok(calendar)
}

pub struct NewEvent {
    pub title: Name,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub notes: Option<FreeText>,
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id, event_id = tracing::field::Empty), err(level = "info", Display))]
pub async fn create_event(
    state: &AppState,
    principal: &Principal,
    calendar_id: Uuid,
    event: NewEvent,
) -> AppResult<calendar_events::Model> {
    require_scope(principal, SCOPE_CALENDAR_WRITE)?;
    if event.end <= event.start {
        return Err(AppError::validation("end must be after start"));
    }
    if event.end - event.start > Duration::days(MAX_LIST_DAYS) {
        return Err(AppError::validation(format!("an event may last at most {MAX_LIST_DAYS} days")));
    }
    find_owned(&state.db, principal, calendar_id).await?;
    let model = calendar_events::ActiveModel {
        id: Set(Uuid::new_v4()),
        calendar_id: Set(calendar_id),
        title: Set(event.title.into_string()),
        starts_at: Set(event.start),
        ends_at: Set(event.end),
        notes: Set(event.notes.map(FreeText::into_string)),
        source: Set(calendar_events::EventSource::Manual),
        booking_link_token: Set(None),
        attendee_name: Set(None),
        attendee_email: Set(None),
        cancelled: Set(false),
        cancelled_at: Set(None),
        created_at: Set(state.clock.now()),
    };
    let event = model.insert(&state.db).await?;
    tracing::Span::current().record("event_id", tracing::field::display(event.id));
    state.availability_cache.invalidate_calendar(calendar_id);
    Ok(event)
}

/// The query for a calendar's live events overlapping [start, end), by start.
fn live_overlapping(calendar_id: Uuid, start: DateTime<Utc>, end: DateTime<Utc>) -> Select<calendar_events::Entity> {
    calendar_events::Entity::find()
        .filter(calendar_events::Column::CalendarId.eq(calendar_id))
        .filter(calendar_events::Column::Cancelled.eq(false))
        .filter(calendar_events::Column::StartsAt.lt(end))
        .filter(calendar_events::Column::EndsAt.gt(start))
        .order_by_asc(calendar_events::Column::StartsAt)
}

/// Live events of a calendar overlapping [start, end), by start.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn live_events_between(
    db: &impl ConnectionTrait,
    calendar_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<calendar_events::Model>> {
    Ok(live_overlapping(calendar_id, start, end).order_by_asc(calendar_events::Column::Id).all(db).await?)
}

/// Only the spans of the live events that overlap [start, end): busy time, ordered by start.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn busy_between(
    db: &impl ConnectionTrait,
    calendar_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    Ok(live_overlapping(calendar_id, start, end)
        .select_only()
        .columns([calendar_events::Column::StartsAt, calendar_events::Column::EndsAt])
        .into_tuple()
        .all(db)
        .await?)
}

/// One page of a calendar's live events overlapping [start, end), by start then id; the page
/// goes on after `page.after` (keyset, so inserts never shift it) and is cut in the query.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
pub async fn list_events(
    state: &AppState,
    principal: &Principal,
    calendar_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    page: PageRequest,
) -> AppResult<Page<calendar_events::Model>> {
    if end <= start {
        return Err(AppError::validation("end must be after start"));
    }
    if end - start > Duration::days(MAX_LIST_DAYS) {
        return Err(AppError::validation(format!("the range may span at most {MAX_LIST_DAYS} days")));
    }
    let after = match &page.after {
        Some(c) => Some((
            c.at,
            c.key.parse::<Uuid>().map_err(|_| AppError::validation("cursor is not one this list answered"))?,
        )),
        None => None,
    };
    find_owned(&state.db, principal, calendar_id).await?;
    let mut query = live_overlapping(calendar_id, start, end).order_by_asc(calendar_events::Column::Id);
    if let Some((at, id)) = after {
        query = query.filter(Condition::any().add(calendar_events::Column::StartsAt.gt(at)).add(
            Condition::all().add(calendar_events::Column::StartsAt.eq(at)).add(calendar_events::Column::Id.gt(id)),
        ));
    }
    let rows = query.limit(page.fetch()).all(&state.db).await?;
    Ok(Page::cut(rows, &page, |e| Some(Cursor::new(ListKind::CalendarEvents, e.starts_at, e.id.to_string()))))
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id, event_id = %event_id), err(level = "info", Display))]
pub async fn delete_event(state: &AppState, principal: &Principal, calendar_id: Uuid, event_id: Uuid) -> AppResult<()> {
    require_scope(principal, SCOPE_CALENDAR_WRITE)?;
    find_owned(&state.db, principal, calendar_id).await?;
    let event = calendar_events::Entity::find_by_id(event_id)
        .filter(calendar_events::Column::CalendarId.eq(calendar_id))
        .filter(calendar_events::Column::Cancelled.eq(false))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("event {event_id} not found in calendar {calendar_id}")))?;
    let mut active: calendar_events::ActiveModel = event.into();
    active.cancelled = Set(true);
    active.cancelled_at = Set(Some(state.clock.now()));
    active.update(&state.db).await?;
    state.availability_cache.invalidate_calendar(calendar_id);
    Ok(())
}
