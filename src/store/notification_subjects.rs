//! The subjects of notifications, as the rules see them: the bookings and reservations in a
//! window (`domain::notifications::window`), each with the facts the rules and the templates
//! need (its event, its people's addresses, its zone). Plain facts: who hears of what is decided
//! in `domain::notifications`.

use crate::domain::bookings::Status;
use crate::domain::ids::{CalendarId, CoachEventId, UserId};
use crate::domain::input::LinkToken;
use crate::domain::notifications::{
    BookingFacts, BookingTime, BookingWindow, CanceledBy, EventFacts, ReservationCanceller, ReservationFacts,
    ReservationTime, ReservationWindow, Span,
};
use crate::entities::bookings::{BookingStatus, CanceledByRole};
use crate::entities::calendar_events::{CancelledBy, EventSource};
use crate::entities::coach_events::EventStatus;
use crate::entities::{booking_links, bookings, calendar_events, calendars, coach_events, users};
use crate::error::ServiceResult;
use crate::store::bookings::{events_by_id, places_taken_of};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use std::collections::{BTreeMap, BTreeSet};

/// The most subjects one rule looks at in one pass.
pub const MAX_SUBJECTS: u64 = 5000;

/// `column` in `span`: after its start, and up to its end when it has one.
fn in_span<E: EntityTrait>(query: Select<E>, column: E::Column, span: &Span) -> Select<E> {
    let query = query.filter(column.gt(span.after));
    match span.until {
        Some(until) => query.filter(column.lte(until)),
        None => query,
    }
}

/// `column` in `span`, as a condition.
fn span_condition(column: calendar_events::Column, span: &Span) -> Condition {
    let c = Condition::all().add(column.gt(span.after));
    match span.until {
        Some(until) => c.add(column.lte(until)),
        None => c,
    }
}

/// The addresses known for these users (a user without one is absent).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn emails(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = UserId>,
) -> ServiceResult<BTreeMap<UserId, String>> {
    let ids: BTreeSet<UserId> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| u.email.map(|e| (u.id, e)))
        .collect())
}

fn booking_column(time: BookingTime) -> bookings::Column {
    match time {
        BookingTime::Created => bookings::Column::CreatedAt,
        BookingTime::Canceled => bookings::Column::CanceledAt,
        BookingTime::Updated => bookings::Column::UpdatedAt,
        BookingTime::Starts => bookings::Column::StartsAt,
        BookingTime::Ends => bookings::Column::EndsAt,
    }
}

fn canceled_by(role: CanceledByRole) -> CanceledBy {
    match role {
        CanceledByRole::Athlete => CanceledBy::Athlete,
        CanceledByRole::Coach => CanceledBy::Coach,
        CanceledByRole::System => CanceledBy::System,
    }
}

fn event_facts(e: &coach_events::Model, taken: &BTreeMap<CoachEventId, i64>) -> EventFacts {
    EventFacts {
        id: e.id,
        canceled: e.status == EventStatus::Canceled,
        canceled_at: e.canceled_at,
        starts_at: e.starts_at,
        ends_at: e.ends_at,
        start_time: e.start_time.clone(),
        places: e.places,
        places_taken: taken.get(&e.id).copied().unwrap_or(0),
    }
}

/// The bookings in `window` (by id, at most [`MAX_SUBJECTS`]), each with its event and its
/// people's addresses; a booking whose event is gone is left out.
#[tracing::instrument(level = "debug", skip_all, fields(time = ?window.time), err(level = "debug", Display))]
pub async fn bookings_in(db: &impl ConnectionTrait, window: &BookingWindow) -> ServiceResult<Vec<BookingFacts>> {
    let statuses: Vec<BookingStatus> = window.statuses.iter().copied().map(BookingStatus::from).collect();
    let mut query = bookings::Entity::find().filter(bookings::Column::Status.is_in(statuses));
    if window.uncompleted_only {
        query = query.filter(bookings::Column::Completed.eq(false));
    }
    let query = in_span(query, booking_column(window.time), &window.span);
    let list = query.order_by_asc(bookings::Column::Id).limit(MAX_SUBJECTS).all(db).await?;
    booking_facts(db, list).await
}

/// The live bookings `user` has as athlete or as coach, as the rules see them (an erasure tells
/// the other side before they go).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn live_bookings_of(db: &impl ConnectionTrait, user: UserId) -> ServiceResult<Vec<BookingFacts>> {
    let live: Vec<BookingStatus> = Status::ALL.into_iter().filter(|s| s.is_live()).map(BookingStatus::from).collect();
    let list = bookings::Entity::find()
        .filter(bookings::Column::Status.is_in(live))
        .filter(Condition::any().add(bookings::Column::UserId.eq(user)).add(bookings::Column::CoachId.eq(user)))
        .order_by_asc(bookings::Column::Id)
        .all(db)
        .await?;
    booking_facts(db, list).await
}

/// Each booking with its event and its people's addresses; one whose event is gone is left out.
async fn booking_facts(db: &impl ConnectionTrait, list: Vec<bookings::Model>) -> ServiceResult<Vec<BookingFacts>> {
    let events = events_by_id(db, list.iter().map(|b| b.event_id)).await?;
    let taken = places_taken_of(db, events.keys().copied()).await?;
    let addresses = emails(db, list.iter().flat_map(|b| [b.user_id, b.coach_id])).await?;
    Ok(list
        .into_iter()
        .filter_map(|b| {
            let event = event_facts(events.get(&b.event_id)?, &taken);
            Some(BookingFacts {
                id: b.id,
                order_id: b.order_id,
                user_id: b.user_id,
                coach_id: b.coach_id,
                status: Status::from(b.status),
                completed: b.completed,
                starts_at: b.starts_at,
                ends_at: b.ends_at,
                created_at: b.created_at,
                updated_at: b.updated_at,
                canceled_at: b.canceled_at,
                canceled_by: b.canceled_by_role.map(canceled_by),
                reason_code: b.cancellation_reason_code,
                reason_text: b.cancellation_reason_text,
                athlete_email: addresses.get(&b.user_id).cloned(),
                coach_email: addresses.get(&b.coach_id).cloned(),
                event,
            })
        })
        .collect())
}

fn reservation_column(time: ReservationTime) -> calendar_events::Column {
    match time {
        ReservationTime::Created => calendar_events::Column::CreatedAt,
        ReservationTime::Confirmed => calendar_events::Column::ConfirmedAt,
        ReservationTime::Cancelled => calendar_events::Column::CancelledAt,
        ReservationTime::Starts => calendar_events::Column::StartsAt,
        ReservationTime::Moved => calendar_events::Column::MovedAt,
    }
}

/// The owner of each of these calendars.
async fn owners_of(
    db: &impl ConnectionTrait,
    ids: BTreeSet<CalendarId>,
) -> ServiceResult<BTreeMap<CalendarId, UserId>> {
    Ok(calendars::Entity::find()
        .filter(calendars::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.owner_id))
        .collect())
}

/// The zone of each of these booking links (UTC for a zone that does not parse).
async fn zones_of(
    db: &impl ConnectionTrait,
    tokens: BTreeSet<LinkToken>,
) -> ServiceResult<BTreeMap<LinkToken, chrono_tz::Tz>> {
    Ok(booking_links::Entity::find()
        .filter(booking_links::Column::Token.is_in(tokens))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.token, l.timezone.parse().unwrap_or(chrono_tz::UTC)))
        .collect())
}

/// The reservations in `window` (by id, at most [`MAX_SUBJECTS`]), each with its calendar's
/// owner and their address, and the zone of the link it was made through; a reservation whose
/// calendar is gone is left out.
#[tracing::instrument(level = "debug", skip_all, fields(time = ?window.time), err(level = "debug", Display))]
pub async fn reservations_in(
    db: &impl ConnectionTrait,
    window: &ReservationWindow,
) -> ServiceResult<Vec<ReservationFacts>> {
    let query = calendar_events::Entity::find()
        .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
        .filter(calendar_events::Column::Cancelled.eq(window.cancelled));
    let query = match window.cancelled_by {
        None => query,
        Some(ReservationCanceller::Guest) => query.filter(calendar_events::Column::CancelledBy.eq(CancelledBy::Guest)),
        Some(ReservationCanceller::Declined) => {
            query.filter(calendar_events::Column::CancelledBy.eq(CancelledBy::Declined))
        }
        Some(ReservationCanceller::Expired) => {
            query.filter(calendar_events::Column::CancelledBy.eq(CancelledBy::Expired))
        }
        // Cancellations from before who cancelled was recorded count as the owner's.
        Some(ReservationCanceller::Owner) => query.filter(
            Condition::any()
                .add(calendar_events::Column::CancelledBy.is_null())
                .add(calendar_events::Column::CancelledBy.eq(CancelledBy::Owner)),
        ),
    };
    // Pending: made waiting for the owner and not confirmed.
    let pending = Condition::all()
        .add(calendar_events::Column::AwaitingConfirmation.eq(true))
        .add(calendar_events::Column::ConfirmedAt.is_null());
    let query = match window.pending {
        None => query,
        Some(true) => query.filter(pending),
        Some(false) => query.filter(pending.not()),
    };
    let query = match window.time {
        // When the owner confirmed it, else when it was made.
        ReservationTime::Confirmed => query.filter(
            Condition::any().add(span_condition(calendar_events::Column::ConfirmedAt, &window.span)).add(
                Condition::all()
                    .add(calendar_events::Column::ConfirmedAt.is_null())
                    .add(span_condition(calendar_events::Column::CreatedAt, &window.span)),
            ),
        ),
        time => in_span(query, reservation_column(time), &window.span),
    };
    let list = query.order_by_asc(calendar_events::Column::Id).limit(MAX_SUBJECTS).all(db).await?;
    reservation_facts(db, list).await
}

/// The live reservations on these calendars, as the rules see them (an erasure tells their
/// visitors before the calendars go).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn live_reservations_on(
    db: &impl ConnectionTrait,
    calendars: &[CalendarId],
) -> ServiceResult<Vec<ReservationFacts>> {
    let list = calendar_events::Entity::find()
        .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
        .filter(calendar_events::Column::Cancelled.eq(false))
        .filter(calendar_events::Column::CalendarId.is_in(calendars.iter().copied()))
        .order_by_asc(calendar_events::Column::Id)
        .all(db)
        .await?;
    reservation_facts(db, list).await
}

/// Each reservation with its calendar's owner and their address, and the zone of the link it
/// was made through; one whose calendar is gone is left out.
async fn reservation_facts(
    db: &impl ConnectionTrait,
    list: Vec<calendar_events::Model>,
) -> ServiceResult<Vec<ReservationFacts>> {
    let owners = owners_of(db, list.iter().map(|e| e.calendar_id).collect()).await?;
    let zones = zones_of(db, list.iter().filter_map(|e| e.booking_link_token.clone()).collect()).await?;
    let addresses = emails(db, owners.values().copied()).await?;
    Ok(list
        .into_iter()
        .filter_map(|e| {
            let owner_id = owners.get(&e.calendar_id).copied()?;
            let pending = e.is_pending();
            let timezone = e.booking_link_token.as_ref().and_then(|t| zones.get(t)).copied().unwrap_or(chrono_tz::UTC);
            Some(ReservationFacts {
                id: e.id,
                calendar_id: e.calendar_id,
                owner_id,
                owner_email: addresses.get(&owner_id).cloned(),
                title: e.title,
                notes: e.notes,
                attendee_name: e.attendee_name,
                attendee_email: e.attendee_email,
                cancelled: e.cancelled,
                starts_at: e.starts_at,
                ends_at: e.ends_at,
                created_at: e.created_at,
                cancelled_at: e.cancelled_at,
                cancelled_by: e.cancelled_by.map(|by| match by {
                    CancelledBy::Guest => ReservationCanceller::Guest,
                    CancelledBy::Owner => ReservationCanceller::Owner,
                    CancelledBy::Declined => ReservationCanceller::Declined,
                    CancelledBy::Expired => ReservationCanceller::Expired,
                }),
                cancel_reason: e.cancel_reason,
                sequence: e.sequence,
                moved_at: e.moved_at,
                manage_token_hash: e.manage_token_hash,
                pending,
                confirmed_at: e.confirmed_at,
                pending_until: e.pending_until,
                location: e.location,
                timezone,
                team_member_row: e.team_booking_id.is_some_and(|booking| booking != e.id),
            })
        })
        .collect())
}
