//! Booking orders: every query of the `booking_orders` table, and the athlete's row an order
//! locks first.

use crate::ctx;
use crate::domain::bookings::{ListWindow, OrderError};
use crate::domain::ids::{BookingId, CoachEventId, OrderId, UserId};
use crate::domain::page::{Page, PageRequest, MAX_ITEMS};
use crate::entities::booking_orders::{self, PaymentStatus};
use crate::entities::{bookings, coach_events, users};
use crate::error::{ServiceError, ServiceResult};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, Statement, Value,
};

/// Locks the user's row (their schedule), creating it first if needed, in one statement: an
/// upsert whose conflict branch rewrites the row with itself, which takes the row lock on
/// PostgreSQL. SQLite's `BEGIN IMMEDIATE` already holds the only write lock, so there a row
/// that exists is left alone (rewriting it would only add a page to the commit's WAL frames).
pub async fn lock_athlete(db: &impl ConnectionTrait, user: UserId, now: DateTime<Utc>) -> ServiceResult<()> {
    let mut conflict = OnConflict::column(users::Column::Id);
    match db.get_database_backend() {
        DbBackend::Postgres => conflict.update_column(users::Column::Id),
        _ => conflict.do_nothing(),
    };
    ctx!(
        users::Entity::insert(users::ActiveModel { id: Set(user), email: Set(None), updated_at: Set(now) })
            .on_conflict(conflict)
            .exec_without_returning(db)
            .await
    )?;
    Ok(())
}

/// A new order of `user`, paid in cash, made `now` (its id comes from the entity's `before_save`).
pub async fn insert(
    db: &impl ConnectionTrait,
    user: UserId,
    now: DateTime<Utc>,
) -> ServiceResult<booking_orders::Model> {
    let order = booking_orders::ActiveModel {
        user_id: Set(user),
        payment_status: Set(PaymentStatus::Cash),
        created_at: Set(now),
        ..Default::default()
    };
    ctx!(order.insert(db).await)
}

/// One requested event as PostgreSQL's one-call order ([`book_in_one_call`]) answers it.
#[derive(Debug, Clone)]
pub struct OrderLine {
    /// Why the event cannot be booked (nothing was written when any line has one).
    pub error: Option<OrderError>,
    /// The event, when there is one.
    pub event: Option<coach_events::Model>,
    /// The new booking's ordinal among the athlete's live bookings with the event's coach
    /// (`None` when nothing was written).
    pub ordinal: Option<i64>,
}

fn order_error(word: &str) -> ServiceResult<OrderError> {
    Ok(match word {
        "NotFound" => OrderError::NotFound,
        "Canceled" => OrderError::Canceled,
        "SelfBook" => OrderError::SelfBook,
        "Past" => OrderError::Past,
        "TooClose" => OrderError::TooClose,
        "Overbooked" => OrderError::Overbooked,
        "Conflict" => OrderError::Conflict,
        other => return Err(ServiceError::internal(format!("an order answered the error {other:?}"))),
    })
}

/// PostgreSQL: the whole order in one call of `bookings_order` (migration
/// `m20261206_000008`) in autocommit: the athlete and the events locked, the order rules
/// checked (`cutoff`: the least notice; `longest`: no booking lasts longer), the order `order`
/// and a booking per `(event, booking id)` in `lines` written when none failed. One line per
/// requested event, in request order.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, events = lines.len()), err(level = "debug", Display))]
pub async fn book_in_one_call(
    db: &impl ConnectionTrait,
    user: UserId,
    now: DateTime<Utc>,
    cutoff: Duration,
    longest: Duration,
    order: OrderId,
    lines: &[(CoachEventId, BookingId)],
) -> ServiceResult<Vec<OrderLine>> {
    let requested: Vec<serde_json::Value> = lines
        .iter()
        .map(|(event, booking)| serde_json::json!({"event": event.into_uuid(), "booking": booking.into_uuid()}))
        .collect();
    let values: Vec<Value> = vec![
        user.into(),
        now.into(),
        cutoff.num_seconds().into(),
        longest.num_seconds().into(),
        order.into(),
        serde_json::Value::Array(requested).to_string().into(),
    ];
    let rows = ctx!(
        db.query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM bookings_order($1, $2, $3, $4, $5, $6)",
            values,
        ))
        .await
    )?;
    rows.iter()
        .map(|row| {
            let error: Option<String> = ctx!(row.try_get("", "error"))?;
            let id: Option<CoachEventId> = ctx!(row.try_get("", "id"))?;
            let event = match id {
                Some(_) => Some(ctx!(coach_events::Model::from_query_result(row, ""))?),
                None => None,
            };
            Ok(OrderLine {
                error: error.as_deref().map(order_error).transpose()?,
                event,
                ordinal: ctx!(row.try_get("", "ordinal"))?,
            })
        })
        .collect()
}

/// The orders of `user`, by creation; with a window, only those with a booking overlapping it
/// (chosen in the query, so the cap counts only those). At most a page.
pub async fn list_of_user(
    db: &impl ConnectionTrait,
    user: UserId,
    window: ListWindow,
) -> ServiceResult<Page<booking_orders::Model>> {
    let mut query = booking_orders::Entity::find().filter(booking_orders::Column::UserId.eq(user));
    if !window.is_open() {
        let mut overlapping = bookings::Entity::find()
            .select_only()
            .column(bookings::Column::OrderId)
            .filter(bookings::Column::UserId.eq(user));
        if let Some(end) = window.end {
            overlapping = overlapping.filter(bookings::Column::StartsAt.lt(end));
        }
        if let Some(start) = window.start {
            overlapping = overlapping.filter(bookings::Column::EndsAt.gt(start));
        }
        query = query.filter(booking_orders::Column::Id.in_subquery(overlapping.into_query()));
    }
    let page = PageRequest::first(MAX_ITEMS);
    let orders = ctx!(
        query
            .order_by_asc(booking_orders::Column::CreatedAt)
            .order_by_asc(booking_orders::Column::Id)
            .limit(page.fetch())
            .all(db)
            .await
    )?;
    Ok(Page::cut(orders, &page, |_| None))
}

/// Deletes the orders of `user`; how many went.
pub async fn delete_of_user(db: &impl ConnectionTrait, user: UserId) -> ServiceResult<u64> {
    Ok(ctx!(booking_orders::Entity::delete_many().filter(booking_orders::Column::UserId.eq(user)).exec(db).await)?
        .rows_affected)
}

/// Deletes these orders.
pub async fn delete(db: &impl ConnectionTrait, ids: &[OrderId]) -> ServiceResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(ctx!(
        booking_orders::Entity::delete_many()
            .filter(booking_orders::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await
    )?
    .rows_affected)
}
