//! Booking orders: every query of the `booking_orders` table, and the athlete's row an order
//! locks first.

use crate::ctx;
use crate::domain::bookings::ListWindow;
use crate::domain::ids::{OrderId, UserId};
use crate::domain::page::{Page, PageRequest, MAX_ITEMS};
use crate::entities::booking_orders::{self, PaymentStatus};
use crate::entities::{bookings, users};
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};

/// Locks the user's row (their schedule), creating it first if needed, in one statement: an
/// upsert whose conflict branch rewrites the row with itself, which takes the row lock on
/// PostgreSQL (SQLite's `BEGIN IMMEDIATE` already holds the only write lock).
pub async fn lock_athlete(db: &impl ConnectionTrait, user: UserId, now: DateTime<Utc>) -> ServiceResult<()> {
    ctx!(
        users::Entity::insert(users::ActiveModel { id: Set(user), email: Set(None), updated_at: Set(now) })
            .on_conflict(OnConflict::column(users::Column::Id).update_column(users::Column::Id).to_owned())
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
