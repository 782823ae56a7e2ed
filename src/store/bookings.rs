//! Bookings: every query of the `bookings` table, the places they take on their events, and
//! what a booking is read with (its event and its ordinal with its coach). The outbox
//! (`notify`) reads through here too.
//!
//! Who may see a booking is in the query: [`secure_find`] selects a booking only among those
//! the caller may see (svix's manner), so a booking someone else holds is as missing as one
//! that never existed (404, never 403).

use crate::domain::bookings::{Interval, LiveBooking, Status, MAX_EVENT_HOURS};
use crate::domain::ids::{BookingId, CoachEventId, OrderId, UserId};
use crate::domain::input::FreeText;
use crate::domain::kinds::CancellationReason;
use crate::domain::page::{Page, PageRequest, MAX_ITEMS};
use crate::entities::bookings::{self, BookingStatus, CanceledByRole};
use crate::entities::coach_events;
use crate::error::{ServiceError, ServiceResult};
use crate::policy::Visibility;
use crate::{ctx, domain::bookings::ListWindow};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, TryIntoModel,
};
use std::collections::{BTreeMap, BTreeSet};

/// Statuses that hold a place and occupy the athlete's schedule: `Status::is_live`, as stored
/// (a test holds the two together).
pub const LIVE: [BookingStatus; 4] =
    [BookingStatus::Pending, BookingStatus::Accepted, BookingStatus::InDispute, BookingStatus::DisputeDone];

/// Whether a stored status is live (see [`LIVE`]).
pub fn is_live(status: BookingStatus) -> bool {
    Status::from(status).is_live()
}

/// A booking with what the wire shape needs: its event and its ordinal with this coach.
#[derive(Debug, Clone)]
pub struct BookingView {
    pub booking: bookings::Model,
    pub event: coach_events::Model,
    pub cardinality: Option<i64>,
}

/// The coach events with these ids, by id.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn events_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = CoachEventId>,
) -> ServiceResult<BTreeMap<CoachEventId, coach_events::Model>> {
    let ids: BTreeSet<CoachEventId> = ids.into_iter().collect();
    let mut found = BTreeMap::new();
    let ids: Vec<CoachEventId> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        let rows = ctx!(
            coach_events::Entity::find().filter(coach_events::Column::Id.is_in(chunk.iter().copied())).all(db).await
        )?;
        found.extend(rows.into_iter().map(|e| (e.id, e)));
    }
    Ok(found)
}

/// Places taken (live bookings) of each of these events, in one query per 500 events (well
/// under either database's limit of bound parameters); an event without any is absent.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn places_taken_of(
    db: &impl ConnectionTrait,
    event_ids: impl IntoIterator<Item = CoachEventId>,
) -> ServiceResult<BTreeMap<CoachEventId, i64>> {
    let ids: Vec<CoachEventId> = event_ids.into_iter().collect();
    let mut taken = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(CoachEventId, i64)> = ctx!(
            bookings::Entity::find()
                .select_only()
                .column(bookings::Column::EventId)
                .column_as(bookings::Column::Id.count(), "taken")
                .filter(bookings::Column::EventId.is_in(chunk.iter().copied()))
                .filter(bookings::Column::Status.is_in(LIVE))
                .group_by(bookings::Column::EventId)
                .into_tuple()
                .all(db)
                .await
        )?;
        taken.extend(rows);
    }
    Ok(taken)
}

/// Places taken of one event.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id), err(level = "debug", Display))]
pub async fn places_taken(db: &impl ConnectionTrait, event_id: CoachEventId) -> ServiceResult<i64> {
    Ok(places_taken_of(db, [event_id]).await?.get(&event_id).copied().unwrap_or(0))
}

// ------------------------------------------------------------------ finding, scoped

/// Bookings the caller may see: every one (an admin), else those whose athlete or coach the
/// caller is. The one place that scopes a read of bookings.
pub fn visible_to(party: Visibility) -> Select<bookings::Entity> {
    let query = bookings::Entity::find();
    match party {
        Visibility::Everyone => query,
        Visibility::Of(user) => query
            .filter(Condition::any().add(bookings::Column::UserId.eq(user)).add(bookings::Column::CoachId.eq(user))),
    }
}

/// The booking `id` among those `party` may see (see [`visible_to`]).
pub fn secure_find(id: BookingId, party: Visibility) -> Select<bookings::Entity> {
    visible_to(party).filter(bookings::Column::Id.eq(id))
}

fn not_found(id: BookingId) -> ServiceError {
    ServiceError::not_found(format!("booking {id} not found"))
}

/// The booking `id` if `party` may see it, else 404 (whether it exists or not).
pub async fn find_visible(
    db: &impl ConnectionTrait,
    id: BookingId,
    party: Visibility,
) -> ServiceResult<bookings::Model> {
    ctx!(secure_find(id, party).one(db).await)?.ok_or_else(|| not_found(id))
}

/// [`find_visible`], its row locked for the rest of the transaction.
pub async fn find_visible_for_update(
    db: &impl ConnectionTrait,
    id: BookingId,
    party: Visibility,
) -> ServiceResult<bookings::Model> {
    ctx!(secure_find(id, party).lock_exclusive().one(db).await)?.ok_or_else(|| not_found(id))
}

fn overlapping(window: ListWindow) -> Condition {
    let mut c = Condition::all();
    if let Some(end) = window.end {
        c = c.add(bookings::Column::StartsAt.lt(end));
    }
    if let Some(start) = window.start {
        c = c.add(bookings::Column::EndsAt.gt(start));
    }
    c
}

/// An athlete's bookings they have not dismissed that overlap `window`, by start; at most a page.
pub async fn list_of_user(
    db: &impl ConnectionTrait,
    user: UserId,
    window: ListWindow,
) -> ServiceResult<Page<bookings::Model>> {
    let query = bookings::Entity::find()
        .filter(bookings::Column::UserId.eq(user))
        .filter(bookings::Column::Dismissed.eq(false))
        .filter(overlapping(window));
    first_page(db, query).await
}

/// An event's bookings (only `user`'s, not dismissed, when given), by start; at most a page.
pub async fn list_of_event(
    db: &impl ConnectionTrait,
    event: CoachEventId,
    user: Option<UserId>,
) -> ServiceResult<Page<bookings::Model>> {
    let mut query = bookings::Entity::find().filter(bookings::Column::EventId.eq(event));
    if let Some(user) = user {
        query = query.filter(bookings::Column::UserId.eq(user)).filter(bookings::Column::Dismissed.eq(false));
    }
    first_page(db, query).await
}

async fn first_page(
    db: &impl ConnectionTrait,
    query: Select<bookings::Entity>,
) -> ServiceResult<Page<bookings::Model>> {
    let page = PageRequest::first(MAX_ITEMS);
    let list = ctx!(
        query
            .order_by_asc(bookings::Column::StartsAt)
            .order_by_asc(bookings::Column::Id)
            .limit(page.fetch())
            .all(db)
            .await
    )?;
    Ok(Page::cut(list, &page, |_| None))
}

/// The bookings of these orders, by start.
pub async fn of_orders(db: &impl ConnectionTrait, orders: &[OrderId]) -> ServiceResult<Vec<bookings::Model>> {
    let mut all = Vec::new();
    for chunk in orders.chunks(500) {
        all.extend(ctx!(
            bookings::Entity::find()
                .filter(bookings::Column::OrderId.is_in(chunk.iter().copied()))
                .order_by_asc(bookings::Column::StartsAt)
                .order_by_asc(bookings::Column::Id)
                .all(db)
                .await
        )?);
    }
    Ok(all)
}

/// What an order of events by the coaches `coaches`, spanning `window`, needs of `user`'s live
/// bookings, in one read: every one with the coaches (which the new bookings' ordinals count,
/// see [`crate::domain::bookings::ordinals`]; a booking of one of the events is among them) and
/// those overlapping `window` (with the first, the schedule
/// [`crate::domain::bookings::check_order`] checks: more rows change nothing there, it looks for
/// the same event or an overlap). Each branch names the user, so SQLite reads them as two index
/// ranges (`MULTI-INDEX OR`; tests/store_bookings.rs holds it to that), not all the user's rows.
pub async fn live_for_order(
    db: &impl ConnectionTrait,
    user: UserId,
    coaches: &BTreeSet<UserId>,
    window: Interval,
) -> ServiceResult<Vec<LiveBooking>> {
    let of_user = || Condition::all().add(bookings::Column::UserId.eq(user));
    let near = overlapping(ListWindow { start: Some(window.start), end: Some(window.end) })
        // Bounds the index range: no booking lasts longer (see MAX_EVENT_HOURS).
        .add(bookings::Column::StartsAt.gt(window.start - Duration::hours(MAX_EVENT_HOURS)));
    let wanted = Condition::any()
        .add(of_user().add(bookings::Column::CoachId.is_in(coaches.iter().copied())))
        .add(of_user().add(near));
    live_bookings(db, wanted).await
}

/// A live booking's columns as [`live_bookings`] reads them: id, athlete, coach, event, start, end.
type LiveRow = (BookingId, UserId, UserId, CoachEventId, DateTime<Utc>, DateTime<Utc>);

/// The live bookings matching `filter`, as the order rules and the ordinals see them.
async fn live_bookings(db: &impl ConnectionTrait, filter: Condition) -> ServiceResult<Vec<LiveBooking>> {
    let rows: Vec<LiveRow> = ctx!(
        bookings::Entity::find()
            .select_only()
            .columns([
                bookings::Column::Id,
                bookings::Column::UserId,
                bookings::Column::CoachId,
                bookings::Column::EventId,
                bookings::Column::StartsAt,
                bookings::Column::EndsAt,
            ])
            .filter(filter)
            .filter(bookings::Column::Status.is_in(LIVE))
            .into_tuple()
            .all(db)
            .await
    )?;
    Ok(rows
        .into_iter()
        .map(|(id, user_id, coach_id, event_id, start, end)| LiveBooking {
            id,
            user_id,
            coach_id,
            event_id,
            span: Interval { start, end },
        })
        .collect())
}

// ------------------------------------------------------------------ reading with events

/// Attaches each booking's event and its ordinal among the athlete's live bookings with that coach.
pub async fn views_of(db: &impl ConnectionTrait, list: Vec<bookings::Model>) -> ServiceResult<Vec<BookingView>> {
    let events = events_by_id(db, list.iter().map(|b| b.event_id)).await?;
    views_with_events(db, list, &events).await
}

/// Like [`views_of`], with the bookings' events at hand. The ordinals come from one query over
/// the live bookings of every (athlete, coach) pair in the list, ids only.
pub async fn views_with_events(
    db: &impl ConnectionTrait,
    list: Vec<bookings::Model>,
    events: &BTreeMap<CoachEventId, coach_events::Model>,
) -> ServiceResult<Vec<BookingView>> {
    let pairs: BTreeSet<(UserId, UserId)> = list.iter().map(|b| (b.user_id, b.coach_id)).collect();
    let ordinals = if pairs.is_empty() {
        BTreeMap::new()
    } else {
        let mut any = Condition::any();
        for (user, coach) in &pairs {
            any = any.add(
                Condition::all().add(bookings::Column::UserId.eq(*user)).add(bookings::Column::CoachId.eq(*coach)),
            );
        }
        crate::domain::bookings::ordinals(live_bookings(db, any).await?)
    };
    with_events(list, events, &ordinals)
}

/// Each booking of `list` with its event (from `events`, which must hold them) and its ordinal
/// (from `ordinals`, when it has one).
pub fn with_events(
    list: Vec<bookings::Model>,
    events: &BTreeMap<CoachEventId, coach_events::Model>,
    ordinals: &BTreeMap<BookingId, i64>,
) -> ServiceResult<Vec<BookingView>> {
    list.into_iter()
        .map(|b| {
            let event = events
                .get(&b.event_id)
                .cloned()
                .ok_or_else(|| ServiceError::internal(format!("booking {} has no event", b.id)))?;
            Ok(BookingView { cardinality: ordinals.get(&b.id).copied(), booking: b, event })
        })
        .collect()
}

// ------------------------------------------------------------------ writing

/// The bookings of a new order, one per event (in request order), Accepted, in one statement.
/// Ids come from the entity's `before_save`; the timestamps are `now`.
pub async fn insert_for_order(
    db: &impl ConnectionTrait,
    order: OrderId,
    user: UserId,
    events: &[&coach_events::Model],
    now: DateTime<Utc>,
) -> ServiceResult<Vec<bookings::Model>> {
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let row = bookings::ActiveModel {
            order_id: Set(order),
            user_id: Set(user),
            coach_id: Set(event.coach_id),
            event_id: Set(event.id),
            starts_at: Set(event.starts_at),
            ends_at: Set(event.ends_at),
            status: Set(Status::Accepted.into()),
            completed: Set(false),
            note: Set(None),
            canceled_at: Set(None),
            canceled_by_role: Set(None),
            cancellation_reason_code: Set(None),
            cancellation_reason_text: Set(None),
            dismissed: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..<bookings::ActiveModel as ActiveModelBehavior>::new()
        };
        rows.push(ctx!(row.before_save(db, true).await)?);
    }
    let created: Vec<bookings::Model> = rows
        .iter()
        .map(|r| r.clone().try_into_model())
        .collect::<Result<_, _>>()
        .map_err(|e| ServiceError::internal(format!("a new booking is incomplete: {e}")))?;
    // One statement for the whole order.
    ctx!(bookings::Entity::insert_many(rows).exec_without_returning(db).await)?;
    Ok(created)
}

/// Writes a change to a booking; `updated_at` is `now` (the one place it is set).
/// What a use case changes of one booking (the rules decided it may).
#[derive(Debug, Clone)]
pub enum Change {
    Completed(bool),
    Note(FreeText),
    /// A new status (a dispute opened or resolved).
    Status(Status),
    Canceled {
        to: Status,
        by: CanceledByRole,
        reason_code: CancellationReason,
        reason_text: Option<FreeText>,
    },
    /// Hidden from its athlete's views.
    Dismissed,
}

/// Writes `change` to `booking`, stamped `now`.
pub async fn update(
    db: &impl ConnectionTrait,
    booking: bookings::Model,
    change: Change,
    now: DateTime<Utc>,
) -> ServiceResult<bookings::Model> {
    let mut row: bookings::ActiveModel = booking.into();
    match change {
        Change::Completed(completed) => row.completed = Set(completed),
        Change::Note(note) => row.note = Set(Some(note.as_str().to_string())),
        Change::Status(to) => row.status = Set(to.into()),
        Change::Canceled { to, by, reason_code, reason_text } => {
            row.status = Set(to.into());
            row.canceled_at = Set(Some(now));
            row.canceled_by_role = Set(Some(by));
            row.cancellation_reason_code = Set(Some(reason_code));
            row.cancellation_reason_text = Set(reason_text.map(|t| t.as_str().to_string()));
        }
        Change::Dismissed => row.dismissed = Set(true),
    }
    row.updated_at = Set(now);
    ctx!(row.update(db).await)
}

/// Cancels every booking of `event` that is Pending or Accepted.
pub async fn cancel_all_of_event(
    db: &impl ConnectionTrait,
    event: CoachEventId,
    role: CanceledByRole,
    now: DateTime<Utc>,
) -> ServiceResult<u64> {
    let done = ctx!(
        bookings::Entity::update_many()
            .col_expr(bookings::Column::Status, BookingStatus::from(Status::Canceled).into())
            .col_expr(bookings::Column::CanceledAt, now.into())
            .col_expr(bookings::Column::CanceledByRole, role.into())
            .col_expr(bookings::Column::UpdatedAt, now.into())
            .filter(bookings::Column::EventId.eq(event))
            .filter(bookings::Column::Status.is_in([BookingStatus::Pending, BookingStatus::Accepted]))
            .exec(db)
            .await
    )?;
    Ok(done.rows_affected)
}

/// The orders of the bookings on these events; then those bookings are deleted. Returns the
/// orders and how many bookings went.
pub async fn delete_of_events(
    db: &impl ConnectionTrait,
    events: &[CoachEventId],
) -> ServiceResult<(Vec<OrderId>, u64)> {
    let on_them = bookings::Column::EventId.is_in(events.iter().copied());
    let orders: Vec<OrderId> = ctx!(
        bookings::Entity::find()
            .select_only()
            .column(bookings::Column::OrderId)
            .filter(on_them.clone())
            .into_tuple()
            .all(db)
            .await
    )?;
    let removed = ctx!(bookings::Entity::delete_many().filter(on_them).exec(db).await)?.rows_affected;
    Ok((orders, removed))
}

/// The orders of the athlete's bookings; then those bookings are deleted.
pub async fn delete_of_user(db: &impl ConnectionTrait, user: UserId) -> ServiceResult<(Vec<OrderId>, u64)> {
    let orders: Vec<OrderId> = ctx!(
        bookings::Entity::find()
            .select_only()
            .column(bookings::Column::OrderId)
            .filter(bookings::Column::UserId.eq(user))
            .into_tuple()
            .all(db)
            .await
    )?;
    let removed =
        ctx!(bookings::Entity::delete_many().filter(bookings::Column::UserId.eq(user)).exec(db).await)?.rows_affected;
    Ok((orders, removed))
}

/// Of these orders, those that still have a booking.
pub async fn orders_with_bookings(db: &impl ConnectionTrait, orders: &[OrderId]) -> ServiceResult<BTreeSet<OrderId>> {
    let mut kept = BTreeSet::new();
    for chunk in orders.chunks(500) {
        let rows: Vec<OrderId> = ctx!(
            bookings::Entity::find()
                .select_only()
                .column(bookings::Column::OrderId)
                .filter(bookings::Column::OrderId.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await
        )?;
        kept.extend(rows);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_is_the_domain_rule_as_stored() {
        let live: Vec<BookingStatus> = Status::ALL.into_iter().filter(|s| s.is_live()).map(Into::into).collect();
        assert_eq!(live, LIVE.to_vec());
        for s in Status::ALL {
            assert_eq!(is_live(s.into()), s.is_live());
        }
    }
}
