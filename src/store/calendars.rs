//! Calendars and their events (busy time): every query of the aggregate.

use crate::domain::booking_link::Reservation;
use crate::domain::calendar::NewEvent;
use crate::domain::ids::{CalendarEventId, CalendarId, UserId};
use crate::domain::input::TimeRange;
use crate::entities::calendar_events::{self, EventSource};
use crate::entities::{booking_links, calendars};
use crate::error::ServiceResult;
use crate::policy::Visibility;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

/// The calendar `id` if `scope` may see it: an admin any, anyone else only their own. Every
/// read of a calendar on a caller's behalf starts here.
pub fn secure_find(scope: Visibility, id: CalendarId) -> Select<calendars::Entity> {
    let query = calendars::Entity::find_by_id(id);
    match scope {
        Visibility::Everyone => query,
        Visibility::Of(owner) => query.filter(calendars::Column::OwnerId.eq(owner)),
    }
}

/// The calendar `id` if `scope` may see it (see [`secure_find`]).
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %id), err(level = "debug", Display))]
pub async fn find_visible(
    db: &impl ConnectionTrait,
    scope: Visibility,
    id: CalendarId,
) -> ServiceResult<Option<calendars::Model>> {
    crate::ctx!(secure_find(scope, id).one(db).await)
}

/// Whether a calendar `id` exists at all (whoever owns it): tells "someone else's" (403) from
/// "missing" (404) after [`secure_find`] found nothing.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %id), err(level = "debug", Display))]
pub async fn exists(db: &impl ConnectionTrait, id: CalendarId) -> ServiceResult<bool> {
    let found: Option<CalendarId> = crate::ctx!(
        calendars::Entity::find_by_id(id).select_only().column(calendars::Column::Id).into_tuple().one(db).await
    )?;
    Ok(found.is_some())
}

#[tracing::instrument(level = "debug", skip_all, fields(user_id = %owner), err(level = "debug", Display))]
pub async fn insert(
    db: &impl ConnectionTrait,
    owner: UserId,
    name: &str,
    now: DateTime<Utc>,
) -> ServiceResult<calendars::Model> {
    let model = calendars::ActiveModel {
        owner_id: Set(owner),
        name: Set(name.to_string()),
        created_at: Set(now),
        ..Default::default()
    };
    crate::ctx!(model.insert(db).await)
}

/// How long an event may last and still be found by the bounded scan of [`overlapping`]; longer
/// ones are in the partial index `calendar_events_long` (migration 000016).
const LONG_SPAN: chrono::Duration = chrono::Duration::days(1);

/// The partial index's predicate, in the words of migration 000016: a planner uses the index
/// only for a query that states it (the store tests check the plans).
fn long_span(backend: DbBackend) -> Expr {
    Expr::cust(match backend {
        DbBackend::Postgres => "ends_at - starts_at > interval '1 day'",
        _ => "julianday(ends_at) - julianday(starts_at) > 1",
    })
}

/// Events overlapping [start, end) (`starts_at < end AND ends_at > start`), stated so that the
/// index `(calendar_id, ends_at)` is read from `start` to `end` plus a day (an event of at most
/// a day that starts before `end` ends before then) and the few longer events from their own
/// partial index: a bounded stretch of the calendar wherever the span lies in its future. No
/// bound past the last instant the contract carries (nothing stored ends later, and SQLite
/// compares instants as text, where year 10000 would sort before 9999).
pub(crate) fn overlapping(backend: DbBackend, start: DateTime<Utc>, end: DateTime<Utc>) -> Condition {
    let bound = end.checked_add_signed(LONG_SPAN).filter(|bound| *bound <= crate::domain::input::max_instant());
    let short = Condition::all()
        .add(calendar_events::Column::EndsAt.gt(start))
        .add(calendar_events::Column::StartsAt.lt(end))
        .add_option(bound.map(|bound| calendar_events::Column::EndsAt.lt(bound)));
    let long = Condition::all()
        .add(long_span(backend))
        .add(calendar_events::Column::EndsAt.gt(start))
        .add(calendar_events::Column::StartsAt.lt(end));
    Condition::any().add(short).add(long)
}

/// The query for a calendar's live events overlapping [start, end), by start.
fn live_overlapping(
    backend: DbBackend,
    calendar_id: CalendarId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Select<calendar_events::Entity> {
    calendar_events::Entity::find()
        .filter(calendar_events::Column::CalendarId.eq(calendar_id))
        .filter(calendar_events::Column::Cancelled.eq(false))
        .filter(overlapping(backend, start, end))
        .order_by_asc(calendar_events::Column::StartsAt)
}

/// Only the spans of the live events that overlap [start, end): busy time, ordered by start.
/// Without the event `except` when one is given (a reservation being moved: its own time is not
/// in its way).
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn busy_between(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<CalendarEventId>,
) -> ServiceResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    // A pending reservation that does not hold its time is no busy time (issue #25's approval).
    let mut query = live_overlapping(db.get_database_backend(), calendar_id, start, end)
        .filter(calendar_events::Column::HoldsSlot.eq(true));
    if let Some(except) = except {
        query = query.filter(calendar_events::Column::Id.ne(except));
    }
    crate::ctx!(
        query
            .select_only()
            .columns([calendar_events::Column::StartsAt, calendar_events::Column::EndsAt])
            .into_tuple()
            .all(db)
            .await
    )
}

/// The reservation whose manage token hashes to `hash`, live or cancelled.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn find_by_manage_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> ServiceResult<Option<calendar_events::Model>> {
    crate::ctx!(
        calendar_events::Entity::find()
            .filter(calendar_events::Column::ManageTokenHash.eq(hash))
            .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
            .one(db)
            .await
    )
}

/// Whom a reservation is with: the calendar of each of its rows with its name. A collective
/// booking's rows (`team_booking_id`) are on every member's calendar, the visitor's own row's
/// first, then by name; any other reservation's is its own calendar.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn hosts_of(
    db: &impl ConnectionTrait,
    event: &calendar_events::Model,
) -> ServiceResult<Vec<(CalendarId, String)>> {
    let Some(booking) = event.team_booking_id else {
        let name: Option<String> = crate::ctx!(
            calendars::Entity::find_by_id(event.calendar_id)
                .select_only()
                .column(calendars::Column::Name)
                .into_tuple()
                .one(db)
                .await
        )?;
        return Ok(name.map(|name| vec![(event.calendar_id, name)]).unwrap_or_default());
    };
    let mut rows: Vec<(CalendarEventId, CalendarId, String)> = crate::ctx!(
        calendar_events::Entity::find()
            .select_only()
            .column(calendar_events::Column::Id)
            .column(calendar_events::Column::CalendarId)
            .column(calendars::Column::Name)
            .inner_join(calendars::Entity)
            .filter(calendar_events::Column::TeamBookingId.eq(booking))
            .into_tuple()
            .all(db)
            .await
    )?;
    rows.sort_by(|a, b| (a.0 != booking, &a.2, a.1).cmp(&(b.0 != booking, &b.2, b.1)));
    Ok(rows.into_iter().map(|(_, calendar, name)| (calendar, name)).collect())
}

/// Moves a reservation to `[start, end)` at `now`, one more time (`sequence` + 1); the raw
/// database error is returned, as [`insert_reservation`]'s.
pub async fn move_reservation(
    db: &impl ConnectionTrait,
    event: calendar_events::Model,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    session: Option<CalendarEventId>,
    now: DateTime<Utc>,
) -> Result<calendar_events::Model, sea_orm::DbErr> {
    let sequence = event.sequence.saturating_add(1);
    let mut active: calendar_events::ActiveModel = event.into();
    active.session_id = Set(session);
    active.starts_at = Set(start);
    active.ends_at = Set(end);
    active.sequence = Set(sequence);
    active.moved_at = Set(Some(now));
    active.update(db).await
}

/// A reservation cancelled by its visitor at `now`, with their reason if they gave one.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event.id), err(level = "debug", Display))]
pub async fn cancel_reservation(
    db: &impl ConnectionTrait,
    event: calendar_events::Model,
    now: DateTime<Utc>,
    reason: Option<String>,
) -> ServiceResult<calendar_events::Model> {
    let mut active: calendar_events::ActiveModel = event.into();
    active.cancelled = Set(true);
    active.cancelled_at = Set(Some(now));
    active.cancel_reason = Set(reason);
    active.cancelled_by = Set(Some(calendar_events::CancelledBy::Guest));
    crate::ctx!(active.update(db).await)
}

/// What a new reservation carries besides the visitor's request: its manage token's hash, its
/// location (the link's, filled in) and its session (issue #25's seats; `None` on a link of one
/// seat per slot).
#[derive(Debug, Clone)]
pub struct Placed {
    pub manage_token_hash: String,
    pub location: Option<String>,
    pub session: Option<CalendarEventId>,
    /// It waits for the owner's confirmation (issue #25's approval).
    pub pending: Option<Pending>,
}

/// How a new reservation waits for its owner's confirmation.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    /// When it lapses unless confirmed.
    pub until: DateTime<Utc>,
    /// Whether it holds its time meanwhile.
    pub holds_slot: bool,
}

/// One event as its owner sees it: a manual event or a reservation alone, or the live seats of
/// one session (issue #25) together. `key` is the event's id: the session's id for a session.
#[derive(Debug, Clone)]
pub struct EventGroup {
    pub key: CalendarEventId,
    /// At least one; the session's first reservation first (by id).
    pub events: Vec<calendar_events::Model>,
}

/// A live event's key as the owner's list groups them: its session, else its own id.
fn group_key() -> Expr {
    Func::coalesce([Expr::col(calendar_events::Column::SessionId), Expr::col(calendar_events::Column::Id)]).into()
}

/// One page of a calendar's live events overlapping `range` as its owner sees them (the seats of
/// a session as one), by start then key, after `after` (keyset): the page's keys first (at most
/// `limit`), then their rows.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn live_events_page(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    range: TimeRange,
    after: Option<(DateTime<Utc>, CalendarEventId)>,
    limit: u64,
) -> ServiceResult<Vec<EventGroup>> {
    let mut keys_query = live_overlapping(db.get_database_backend(), calendar_id, range.start(), range.end());
    if let Some((at, key)) = after {
        keys_query = keys_query.filter(
            Condition::any()
                .add(calendar_events::Column::StartsAt.gt(at))
                .add(Condition::all().add(calendar_events::Column::StartsAt.eq(at)).add(group_key().gt(key))),
        );
    }
    let keys: Vec<(DateTime<Utc>, CalendarEventId)> = crate::ctx!(
        keys_query
            .select_only()
            .column(calendar_events::Column::StartsAt)
            .column_as(group_key(), "group_key")
            .group_by(calendar_events::Column::StartsAt)
            .group_by(group_key())
            .order_by_asc(group_key())
            .limit(limit)
            .into_tuple()
            .all(db)
            .await
    )?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows = crate::ctx!(
        live_overlapping(db.get_database_backend(), calendar_id, range.start(), range.end())
            .filter(group_key().is_in(keys.iter().map(|(_, k)| *k)))
            .order_by_asc(group_key())
            .order_by_asc(calendar_events::Column::Id)
            .all(db)
            .await
    )?;
    let mut groups: Vec<EventGroup> = keys.iter().map(|&(_, key)| EventGroup { key, events: Vec::new() }).collect();
    let mut at: std::collections::HashMap<CalendarEventId, usize> =
        groups.iter().enumerate().map(|(i, g)| (g.key, i)).collect();
    for row in rows {
        if let Some(&i) = at.get(&row.session_id.unwrap_or(row.id)) {
            groups[i].events.push(row);
        }
    }
    at.clear();
    groups.retain(|g| !g.events.is_empty());
    Ok(groups)
}

/// An event the owner entered.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn insert_event(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    event: &NewEvent,
    now: DateTime<Utc>,
) -> ServiceResult<calendar_events::Model> {
    let model = calendar_events::ActiveModel {
        title: Set(event.title.as_str().to_string()),
        starts_at: Set(event.span.start()),
        ends_at: Set(event.span.end()),
        notes: Set(event.notes.as_ref().map(|n| n.as_str().to_string())),
        source: Set(EventSource::Manual),
        booking_link_token: Set(None),
        attendee_name: Set(None),
        attendee_email: Set(None),
        ..new_event(calendar_id, now)
    };
    crate::ctx!(model.insert(db).await)
}

/// A visitor's reservation through `link`, found again by `manage_token_hash`; the raw database
/// error is returned, for the caller to tell an exclusion violation (a slot taken meanwhile)
/// from a failure.
pub async fn insert_reservation(
    db: &impl ConnectionTrait,
    id: CalendarEventId,
    link: &booking_links::Model,
    reservation: &Reservation,
    placed: Placed,
    now: DateTime<Utc>,
) -> Result<calendar_events::Model, sea_orm::DbErr> {
    let Placed { manage_token_hash, location, session, pending } = placed;
    let model = calendar_events::ActiveModel {
        session_id: Set(session),
        awaiting_confirmation: Set(pending.is_some()),
        pending_until: Set(pending.map(|p| p.until)),
        holds_slot: Set(pending.is_none_or(|p| p.holds_slot)),
        title: Set(reservation.title()),
        starts_at: Set(reservation.start),
        ends_at: Set(reservation.end),
        notes: Set(reservation.notes.as_ref().map(|n| n.as_str().to_string())),
        source: Set(EventSource::Reservation),
        booking_link_token: Set(Some(link.token.clone())),
        attendee_name: Set(Some(reservation.name.as_str().to_string())),
        attendee_email: Set(Some(reservation.email.as_str().to_string())),
        manage_token_hash: Set(Some(manage_token_hash)),
        location: Set(location),
        id: Set(id),
        ..new_event(link.calendar_id, now)
    };
    model.insert(db).await
}

/// The columns every new event shares (its id is set by `before_save`).
fn new_event(calendar_id: CalendarId, now: DateTime<Utc>) -> calendar_events::ActiveModel {
    calendar_events::ActiveModel {
        calendar_id: Set(calendar_id),
        cancelled: Set(false),
        cancelled_at: Set(None),
        manage_token_hash: Set(None),
        sequence: Set(0),
        moved_at: Set(None),
        cancel_reason: Set(None),
        cancelled_by: Set(None),
        location: Set(None),
        session_id: Set(None),
        awaiting_confirmation: Set(false),
        confirmed_at: Set(None),
        pending_until: Set(None),
        holds_slot: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
}

/// A reservation of this calendar, in whatever state.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id, event_id = %id), err(level = "debug", Display))]
pub async fn find_reservation(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    id: CalendarEventId,
) -> ServiceResult<Option<calendar_events::Model>> {
    crate::ctx!(
        calendar_events::Entity::find_by_id(id)
            .filter(calendar_events::Column::CalendarId.eq(calendar_id))
            .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
            .one(db)
            .await
    )
}

/// The owner confirms a pending reservation: it holds its time from `now` on.
pub async fn confirm_reservation(
    db: &impl ConnectionTrait,
    event: calendar_events::Model,
    now: DateTime<Utc>,
) -> Result<calendar_events::Model, sea_orm::DbErr> {
    let mut active: calendar_events::ActiveModel = event.into();
    active.confirmed_at = Set(Some(now));
    active.holds_slot = Set(true);
    active.update(db).await
}

/// The owner declines a pending reservation: it is over, its time free.
pub async fn decline_reservation(
    db: &impl ConnectionTrait,
    event: calendar_events::Model,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<calendar_events::Model> {
    let mut active: calendar_events::ActiveModel = event.into();
    active.cancelled = Set(true);
    active.cancelled_at = Set(Some(now));
    active.cancelled_by = Set(Some(calendar_events::CancelledBy::Declined));
    active.cancel_reason = Set(reason);
    crate::ctx!(active.update(db).await)
}

/// Releases the pending reservations (of `calendar`, or of every calendar) whose time to wait
/// has come by `now`: cancelled as expired, their time free. How many.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn expire_pending(
    db: &impl ConnectionTrait,
    calendar: Option<CalendarId>,
    now: DateTime<Utc>,
) -> ServiceResult<u64> {
    let mut update = calendar_events::Entity::update_many()
        .col_expr(calendar_events::Column::Cancelled, Expr::value(true))
        .col_expr(calendar_events::Column::CancelledAt, Expr::value(now))
        .col_expr(calendar_events::Column::CancelledBy, Expr::value(calendar_events::CancelledBy::Expired))
        .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
        .filter(calendar_events::Column::AwaitingConfirmation.eq(true))
        .filter(calendar_events::Column::ConfirmedAt.is_null())
        .filter(calendar_events::Column::Cancelled.eq(false))
        .filter(calendar_events::Column::PendingUntil.lte(now));
    if let Some(calendar) = calendar {
        update = update.filter(calendar_events::Column::CalendarId.eq(calendar));
    }
    Ok(crate::ctx!(update.exec(db).await)?.rows_affected)
}

/// A live event of this calendar: its row, or the live seats of the session it is the id of
/// (the first seat first); empty when there is none.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id, event_id = %event_id), err(level = "debug", Display))]
pub async fn find_live_event(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    event_id: CalendarEventId,
) -> ServiceResult<Vec<calendar_events::Model>> {
    crate::ctx!(
        calendar_events::Entity::find()
            .filter(
                Condition::any()
                    .add(calendar_events::Column::Id.eq(event_id))
                    .add(calendar_events::Column::SessionId.eq(event_id)),
            )
            .filter(calendar_events::Column::CalendarId.eq(calendar_id))
            .filter(calendar_events::Column::Cancelled.eq(false))
            .order_by_asc(calendar_events::Column::Id)
            .all(db)
            .await
    )
}

/// Marks an event cancelled at `now` (its row stays: the outbox tells its visitor).
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event.id), err(level = "debug", Display))]
pub async fn cancel_event(
    db: &impl ConnectionTrait,
    event: calendar_events::Model,
    now: DateTime<Utc>,
) -> ServiceResult<calendar_events::Model> {
    let mut active: calendar_events::ActiveModel = event.into();
    active.cancelled = Set(true);
    active.cancelled_at = Set(Some(now));
    active.cancelled_by = Set(Some(calendar_events::CancelledBy::Owner));
    crate::ctx!(active.update(db).await)
}
