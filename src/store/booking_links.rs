//! Booking links: every query of the aggregate. A link belongs to a calendar; who may see the
//! calendar is decided by `store::calendars::secure_find` before any of these run on a caller's
//! behalf (a link's token is its own secret on the public side).

use crate::domain::ids::CalendarId;
use crate::entities::booking_links;
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};

/// A link's stored settings (the columns a link's owner may change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub timezone: String,
    /// JSON: `{"mon": [{"start": "09:00", "end": "17:00"}], ...}`.
    pub working_hours: String,
    pub active: bool,
}

#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn insert(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    settings: StoredSettings,
    now: DateTime<Utc>,
) -> ServiceResult<booking_links::Model> {
    let model = booking_links::ActiveModel {
        calendar_id: Set(calendar_id),
        duration_minutes: Set(settings.duration_minutes),
        buffer_minutes: Set(settings.buffer_minutes),
        timezone: Set(settings.timezone),
        working_hours: Set(settings.working_hours),
        active: Set(settings.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    crate::ctx!(model.insert(db).await)
}

/// Up to `limit` links of a calendar, newest first then by token, after the `(created_at,
/// token)` of the last one a previous page showed.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn page_of_calendar(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    after: Option<(DateTime<Utc>, &str)>,
    limit: u64,
) -> ServiceResult<Vec<booking_links::Model>> {
    let mut query = booking_links::Entity::find()
        .filter(booking_links::Column::CalendarId.eq(calendar_id))
        .order_by_desc(booking_links::Column::CreatedAt)
        .order_by_asc(booking_links::Column::Token);
    if let Some((at, token)) = after {
        query = query.filter(Condition::any().add(booking_links::Column::CreatedAt.lt(at)).add(
            Condition::all().add(booking_links::Column::CreatedAt.eq(at)).add(booking_links::Column::Token.gt(token)),
        ));
    }
    crate::ctx!(query.limit(limit).all(db).await)
}

/// The link `token` of this calendar, active or not.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn find_in_calendar(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    token: &str,
) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(
        booking_links::Entity::find_by_id(token.to_string())
            .filter(booking_links::Column::CalendarId.eq(calendar_id))
            .one(db)
            .await
    )
}

/// Stores new settings of a link, changed at `now`.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %link.calendar_id), err(level = "debug", Display))]
pub async fn update_settings(
    db: &impl ConnectionTrait,
    link: booking_links::Model,
    settings: StoredSettings,
    now: DateTime<Utc>,
) -> ServiceResult<booking_links::Model> {
    let mut active: booking_links::ActiveModel = link.into();
    active.duration_minutes = Set(settings.duration_minutes);
    active.buffer_minutes = Set(settings.buffer_minutes);
    active.timezone = Set(settings.timezone);
    active.working_hours = Set(settings.working_hours);
    active.active = Set(settings.active);
    active.updated_at = Set(now);
    crate::ctx!(active.update(db).await)
}

/// The link `token` if it is active (the public side: anyone holding the token).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn find_active(db: &impl ConnectionTrait, token: &str) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(
        booking_links::Entity::find_by_id(token.to_string())
            .filter(booking_links::Column::Active.eq(true))
            .one(db)
            .await
    )
}

/// The link `token`, still active, read in the statement that locks its calendar (PostgreSQL
/// locks the rows of both tables): concurrent reservations of one calendar queue up here.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn lock_active_with_calendar(
    txn: &impl ConnectionTrait,
    token: &str,
) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(
        booking_links::Entity::find()
            .join(JoinType::InnerJoin, booking_links::Relation::Calendar.def())
            .filter(booking_links::Column::Token.eq(token))
            .filter(booking_links::Column::Active.eq(true))
            .lock_exclusive()
            .one(txn)
            .await
    )
}
