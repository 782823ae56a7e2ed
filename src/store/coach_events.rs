//! Coach events: every query of the `coach_events` table.

use crate::ctx;
use crate::domain::bookings::{format_time, EventPaymentMethod, NewCoachEvent};
use crate::domain::ids::{CoachEventId, UserId};
use crate::entities::bookings;
use crate::entities::bookings::CanceledByRole;
use crate::entities::coach_events::{self, EventStatus, PaymentMethod};
use crate::error::{ServiceError, ServiceResult};
use crate::store::bookings::cancel_all_of_event;
use crate::store::bookings::LIVE;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, QueryStatementBuilder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::BTreeMap;

pub use crate::store::bookings::events_by_id;

fn not_found(id: CoachEventId) -> ServiceError {
    ServiceError::not_found(format!("coach event {id} not found"))
}

/// Writes a new event of `coach`, Scheduled, made `now` (its ids come from the entity's
/// `before_save`).
pub async fn insert(
    db: &impl ConnectionTrait,
    coach: UserId,
    new: NewCoachEvent,
    now: DateTime<Utc>,
) -> ServiceResult<coach_events::Model> {
    let f = new.fields;
    let model = coach_events::ActiveModel {
        coach_id: Set(coach),
        sport_id: Set(f.sport_id),
        starts_at: Set(new.span.start()),
        ends_at: Set(new.span.end()),
        status: Set(EventStatus::Scheduled),
        places: Set(f.places as i32),
        slot_type: Set(f.slot_type),
        age_from: Set(f.age_from as i32),
        age_to: Set(f.age_to as i32),
        duration_minutes: Set(f.duration_minutes as i32),
        price: Set(f.price),
        price_currency: Set(f.price_currency),
        payment_method: Set(match f.payment_method {
            EventPaymentMethod::Cash => PaymentMethod::Cash,
        }),
        address_id: Set(f.address_id),
        public: Set(f.public),
        level: Set(f.level),
        eligibility: Set(f.eligibility),
        start_time: Set(format_time(f.start_time)),
        end_time: Set(format_time(f.end_time)),
        canceled_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    ctx!(model.insert(db).await)
}

/// The event, or 404. Any signed-in user may read any event.
pub async fn find(db: &impl ConnectionTrait, id: CoachEventId) -> ServiceResult<coach_events::Model> {
    ctx!(coach_events::Entity::find_by_id(id).one(db).await)?.ok_or_else(|| not_found(id))
}

/// [`find`], its row locked for the rest of the transaction.
pub async fn find_for_update(db: &impl ConnectionTrait, id: CoachEventId) -> ServiceResult<coach_events::Model> {
    ctx!(coach_events::Entity::find_by_id(id).lock_exclusive().one(db).await)?.ok_or_else(|| not_found(id))
}

/// These events (those that exist), locked in id order: how an order and an erasure lock them,
/// so neither waits for the other in a cycle; each with its places taken (its live bookings, as
/// [`crate::store::bookings::places_taken_of`] counts them), read by the same statement: on
/// SQLite each statement of an order is a trip to the connection's worker thread and back
/// (docs/benchmarks.md, session 13).
pub async fn lock_many_with_taken(
    db: &impl ConnectionTrait,
    sorted: &[CoachEventId],
) -> ServiceResult<BTreeMap<CoachEventId, (coach_events::Model, i64)>> {
    #[derive(FromQueryResult)]
    struct Row {
        #[sea_orm(nested)]
        event: coach_events::Model,
        taken: i64,
    }
    let taken = Query::select()
        .expr(Expr::col((bookings::Entity, bookings::Column::Id)).count())
        .from(bookings::Entity)
        .and_where(
            Expr::col((bookings::Entity, bookings::Column::EventId))
                .equals((coach_events::Entity, coach_events::Column::Id)),
        )
        .and_where(bookings::Column::Status.is_in(LIVE))
        .to_owned();
    let rows = ctx!(
        coach_events::Entity::find()
            .column_as(Expr::SubQuery(None, Box::new(taken.into_sub_query_statement())), "taken")
            .filter(coach_events::Column::Id.is_in(sorted.iter().copied()))
            .order_by_asc(coach_events::Column::Id)
            .lock_exclusive()
            .into_model::<Row>()
            .all(db)
            .await
    )?;
    Ok(rows.into_iter().map(|r| (r.event.id, (r.event, r.taken))).collect())
}

/// Cancels the event and, with it, every booking on it that is Pending or Accepted (`role`
/// canceled them).
pub async fn cancel(
    db: &impl ConnectionTrait,
    event: coach_events::Model,
    role: CanceledByRole,
    now: DateTime<Utc>,
) -> ServiceResult<coach_events::Model> {
    cancel_all_of_event(db, event.id, role, now).await?;
    let mut active: coach_events::ActiveModel = event.into();
    active.status = Set(EventStatus::Canceled);
    active.canceled_at = Set(Some(now));
    ctx!(active.update(db).await)
}

/// The ids of a coach's events, locked in id order.
pub async fn lock_ids_of_coach(db: &impl ConnectionTrait, coach: UserId) -> ServiceResult<Vec<CoachEventId>> {
    ctx!(
        coach_events::Entity::find()
            .select_only()
            .column(coach_events::Column::Id)
            .filter(coach_events::Column::CoachId.eq(coach))
            .order_by_asc(coach_events::Column::Id)
            .lock_exclusive()
            .into_tuple()
            .all(db)
            .await
    )
}

/// Deletes these events (their bookings must be gone first); how many went.
pub async fn delete(db: &impl ConnectionTrait, ids: &[CoachEventId]) -> ServiceResult<u64> {
    Ok(ctx!(
        coach_events::Entity::delete_many().filter(coach_events::Column::Id.is_in(ids.iter().copied())).exec(db).await
    )?
    .rows_affected)
}
