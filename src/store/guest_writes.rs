//! PostgreSQL's guest writes in one round trip each: a reservation, its move and its
//! cancellation, each one call of a server-side function (migration
//! `m20261206_000008_write_functions`) in autocommit, which locks the link and its calendar,
//! checks what must be checked under the lock (the link and the reservation are as the caller
//! read them, the period limits, the busy time with the buffers) and writes. The caller decided
//! everything else before the call. SQLite takes the transactions of `services::booking_links`
//! instead (its writer turn already serializes writers).
//!
//! Errors come back raw, for the caller to tell an exclusion violation (23P01: the slot taken
//! meanwhile) from a failure.

use crate::domain::availability::{Interval, PeriodLimit};
use crate::domain::booking_link::Reservation;
use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::LinkToken;
use crate::entities::calendar_events::{self, EventSource};
use crate::entities::{booking_links, calendars};
use crate::error::ServiceResult;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, JoinType, QueryFilter, QueryResult, QuerySelect,
    RelationTrait, Statement, Value,
};

/// What a guest write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written.
    Done,
    /// No such link (for a reservation: or not active), or no such reservation through it.
    Gone,
    /// The link or the reservation changed since the caller read it: read again, decide again.
    Stale,
    /// The limit at this index (of those passed) is reached.
    Full(usize),
    /// Busy time within the slot and its buffers.
    Busy,
}

fn outcome_of(row: Option<QueryResult>) -> Result<Outcome, DbErr> {
    let row = row.ok_or_else(|| DbErr::RecordNotFound("a guest write's outcome".into()))?;
    let word: String = row.try_get("", "outcome")?;
    Ok(match word.as_str() {
        "ok" => Outcome::Done,
        "gone" => Outcome::Gone,
        "stale" => Outcome::Stale,
        "busy" => Outcome::Busy,
        "full" => {
            let index: Option<i32> = row.try_get("", "limit_index")?;
            Outcome::Full(index.and_then(|i| usize::try_from(i).ok()).unwrap_or(0))
        }
        other => return Err(DbErr::Custom(format!("a guest write answered {other:?}"))),
    })
}

/// The limits as the functions read them: `[{"from", "to", "max_count", "max_minutes"}]`.
fn limits_json(limits: &[PeriodLimit]) -> String {
    let list: Vec<serde_json::Value> = limits
        .iter()
        .map(|l| {
            serde_json::json!({
                "from": l.span_from.to_rfc3339(),
                "to": l.span_to.to_rfc3339(),
                "max_count": l.max_count,
                "max_minutes": l.max_minutes,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// What the function checks under the link's lock: the link's version the caller decided
/// with, the slot with its buffers, the limits.
#[derive(Debug, Clone, Copy)]
pub struct SlotGuard<'a> {
    pub link: &'a LinkToken,
    /// The link's `updated_at` as read.
    pub version: DateTime<Utc>,
    pub slot: Interval,
    pub buffer_before: Duration,
    pub buffer_after: Duration,
    pub limits: &'a [PeriodLimit],
}

/// A new reservation `id` through the link (see [`Outcome`]); with `Done`, the calendar it is in.
// Named after the SQL function it calls, apart from the use case's `reserve` span.
#[tracing::instrument(name = "bookings_reserve", level = "debug", skip_all, err(level = "debug", Display))]
pub async fn reserve(
    db: &impl ConnectionTrait,
    id: CalendarEventId,
    guard: SlotGuard<'_>,
    reservation: &Reservation,
    manage_token_hash: &str,
    location: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Outcome, Option<CalendarId>), DbErr> {
    let values: Vec<Value> = vec![
        guard.link.clone().into(),
        guard.version.into(),
        id.into(),
        guard.slot.start.into(),
        guard.slot.end.into(),
        guard.buffer_before.num_seconds().into(),
        guard.buffer_after.num_seconds().into(),
        limits_json(guard.limits).into(),
        reservation.title().into(),
        reservation.notes.as_ref().map(|n| n.as_str().to_string()).into(),
        reservation.name.as_str().to_string().into(),
        reservation.email.as_str().to_string().into(),
        manage_token_hash.to_string().into(),
        now.into(),
        location.map(str::to_string).into(),
    ];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT outcome, limit_index, calendar_id \
             FROM bookings_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            values,
        ))
        .await?;
    let calendar: Option<CalendarId> = match &row {
        Some(row) => row.try_get("", "calendar_id")?,
        None => None,
    };
    Ok((outcome_of(row)?, calendar))
}

/// The reservation as a reservation made by [`reserve`] reads back.
pub fn reserved(
    id: CalendarEventId,
    calendar_id: CalendarId,
    link: &LinkToken,
    reservation: &Reservation,
    manage_token_hash: &str,
    location: Option<String>,
    now: DateTime<Utc>,
) -> calendar_events::Model {
    calendar_events::Model {
        id,
        calendar_id,
        title: reservation.title(),
        starts_at: reservation.start,
        ends_at: reservation.end,
        notes: reservation.notes.as_ref().map(|n| n.as_str().to_string()),
        source: EventSource::Reservation,
        booking_link_token: Some(link.clone()),
        attendee_name: Some(reservation.name.as_str().to_string()),
        attendee_email: Some(reservation.email.as_str().to_string()),
        cancelled: false,
        created_at: now,
        cancelled_at: None,
        manage_token_hash: Some(manage_token_hash.to_string()),
        sequence: 0,
        moved_at: None,
        cancel_reason: None,
        cancelled_by: None,
        location,
        session_id: None,
        awaiting_confirmation: false,
        confirmed_at: None,
        pending_until: None,
        holds_slot: true,
        team_booking_id: None,
    }
}

/// Moves `event` (read at `sequence`) to the guard's slot at `now` (see [`Outcome`]).
#[tracing::instrument(name = "bookings_reschedule", level = "debug", skip_all, fields(event_id = %event), err(level = "debug", Display))]
pub async fn reschedule(
    db: &impl ConnectionTrait,
    event: CalendarEventId,
    sequence: i32,
    guard: SlotGuard<'_>,
    now: DateTime<Utc>,
) -> Result<Outcome, DbErr> {
    let values: Vec<Value> = vec![
        guard.link.clone().into(),
        guard.version.into(),
        event.into(),
        sequence.into(),
        guard.slot.start.into(),
        guard.slot.end.into(),
        guard.buffer_before.num_seconds().into(),
        guard.buffer_after.num_seconds().into(),
        limits_json(guard.limits).into(),
        now.into(),
    ];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT outcome, limit_index FROM bookings_reschedule($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            values,
        ))
        .await?;
    outcome_of(row)
}

/// Cancels `event` (read at `sequence`, through link `link` at `version`) at `now`, the guest's
/// `reason` with it (see [`Outcome`]; never `Full` or `Busy`).
#[tracing::instrument(name = "bookings_cancel", level = "debug", skip_all, fields(event_id = %event), err(level = "debug", Display))]
pub async fn cancel(
    db: &impl ConnectionTrait,
    link: &LinkToken,
    version: DateTime<Utc>,
    event: CalendarEventId,
    sequence: i32,
    now: DateTime<Utc>,
    reason: Option<String>,
) -> Result<Outcome, DbErr> {
    let values: Vec<Value> =
        vec![link.clone().into(), version.into(), event.into(), sequence.into(), now.into(), reason.into()];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT outcome FROM bookings_cancel($1, $2, $3, $4, $5, $6)",
            values,
        ))
        .await?;
    outcome_of(row)
}

/// A reservation as [`reservation_with_link`] reads it.
#[derive(Debug, Clone)]
pub struct SeenReservation {
    pub event: calendar_events::Model,
    /// The link it was made through.
    pub link: booking_links::Model,
    /// The name of the calendar it is on (the event's, not necessarily the link's).
    pub calendar_name: String,
}

/// The reservation whose manage token hashes to `hash` (live or cancelled) with the link it was
/// made through and its calendar's name, in one statement (any backend).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn reservation_with_link(db: &impl ConnectionTrait, hash: &str) -> ServiceResult<Option<SeenReservation>> {
    use sea_orm::{FromQueryResult, QueryTrait};
    let through_link = calendar_events::Entity::belongs_to(booking_links::Entity)
        .from(calendar_events::Column::BookingLinkToken)
        .to(booking_links::Column::Token)
        .into();
    let mut query = calendar_events::Entity::find()
        .filter(calendar_events::Column::ManageTokenHash.eq(hash))
        .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
        .join(JoinType::InnerJoin, through_link)
        .join(JoinType::InnerJoin, calendar_events::Relation::Calendar.def())
        .select_also(booking_links::Entity);
    QueryTrait::query(&mut query).expr_as(Expr::col((calendars::Entity, calendars::Column::Name)), CALENDAR_NAME);
    let row = crate::ctx!(db.query_one_raw(query.build(db.get_database_backend())).await)?;
    let Some(row) = row else { return Ok(None) };
    // `select_also`'s prefixes: the first entity's columns as `A_*`, the second's as `B_*`.
    let seen = (|| {
        Ok::<_, DbErr>(SeenReservation {
            event: calendar_events::Model::from_query_result(&row, "A_")?,
            link: booking_links::Model::from_query_result(&row, "B_")?,
            calendar_name: row.try_get("", CALENDAR_NAME)?,
        })
    })();
    crate::ctx!(seen).map(Some)
}

const CALENDAR_NAME: &str = "calendar_name";
