//! What erasing a user removes beyond the LE-KO tables: their calendars with the busy time and
//! links on them, and the remembered email (the user row). One erasure crosses these aggregates
//! in one transaction, in the lock order a reservation uses, so its queries are kept together.

use crate::ctx;
use crate::domain::ids::{CalendarEventId, CalendarId, UserId};
use crate::domain::input::LinkToken;
use crate::entities::{booking_links, calendar_events, calendars, users};
use crate::error::ServiceResult;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The user's row, locked, if it exists.
pub async fn lock_user_row(db: &impl ConnectionTrait, user: UserId) -> ServiceResult<bool> {
    Ok(ctx!(users::Entity::find_by_id(user).lock_exclusive().one(db).await)?.is_some())
}

pub async fn delete_user_row(db: &impl ConnectionTrait, user: UserId) -> ServiceResult<()> {
    ctx!(users::Entity::delete_by_id(user).exec(db).await)?;
    Ok(())
}

/// What erasing someone's calendars removed: rows (counted), and the calendars and link tokens
/// for the caches to forget after the commit.
#[derive(Debug, Default)]
pub struct CalendarsErased {
    pub removed: u64,
    pub calendars: Vec<CalendarId>,
    pub link_tokens: Vec<LinkToken>,
    /// The busy blocks that went: messages about them are forgotten next (by the caller: the
    /// store does not call `notify`).
    pub calendar_events: Vec<CalendarEventId>,
}

/// The ids of their calendars, locked (in id order, as [`delete_calendars_of`] takes them), so
/// no reservation lands on one until the erasure ends.
pub async fn lock_calendars_of(db: &impl ConnectionTrait, owner: UserId) -> ServiceResult<Vec<CalendarId>> {
    Ok(ctx!(
        calendars::Entity::find()
            .select_only()
            .column(calendars::Column::Id)
            .filter(calendars::Column::OwnerId.eq(owner.into_uuid()))
            .order_by_asc(calendars::Column::Id)
            .lock_exclusive()
            .into_tuple()
            .all(db)
            .await
    )?)
}

/// Their calendars, locked as a reservation locks one, with everything on them.
pub async fn delete_calendars_of(txn: &DatabaseTransaction, owner: UserId) -> ServiceResult<CalendarsErased> {
    let calendars = lock_calendars_of(txn, owner).await?;
    let mut erased = CalendarsErased::default();
    for chunk in calendars.chunks(500) {
        let ids = || chunk.iter().copied();
        erased.link_tokens.extend(ctx!(
            booking_links::Entity::find()
                .select_only()
                .column(booking_links::Column::Token)
                .filter(booking_links::Column::CalendarId.is_in(ids()))
                .into_tuple::<LinkToken>()
                .all(txn)
                .await
        )?);
        let events: Vec<CalendarEventId> = ctx!(
            calendar_events::Entity::find()
                .select_only()
                .column(calendar_events::Column::Id)
                .filter(calendar_events::Column::CalendarId.is_in(ids()))
                .into_tuple()
                .all(txn)
                .await
        )?;
        erased.removed += ctx!(
            calendar_events::Entity::delete_many()
                .filter(calendar_events::Column::CalendarId.is_in(ids()))
                .exec(txn)
                .await
        )?
        .rows_affected;
        erased.calendar_events.extend(events);
        erased.removed += ctx!(
            booking_links::Entity::delete_many().filter(booking_links::Column::CalendarId.is_in(ids())).exec(txn).await
        )?
        .rows_affected;
        erased.removed +=
            ctx!(calendars::Entity::delete_many().filter(calendars::Column::Id.is_in(ids())).exec(txn).await)?
                .rows_affected;
    }
    erased.calendars = calendars;
    Ok(erased)
}
