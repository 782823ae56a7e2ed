//! Users the server has seen: every query of the aggregate.

use crate::domain::ids::UserId;
use crate::entities::users;
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Set};

/// Stores `email` as the user's address (creating the user), changed at `now`.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug", Display))]
pub async fn upsert_email(db: &DatabaseConnection, user: UserId, email: &str, now: DateTime<Utc>) -> ServiceResult<()> {
    let row = users::ActiveModel { id: Set(user), email: Set(Some(email.to_string())), updated_at: Set(now) };
    crate::ctx!(
        users::Entity::insert(row)
            .on_conflict(
                OnConflict::column(users::Column::Id)
                    .update_columns([users::Column::Email, users::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&crate::db::autocommit(db))
            .await
    )?;
    Ok(())
}

/// The user, if the server has seen them.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug", Display))]
pub async fn find(db: &impl ConnectionTrait, user: UserId) -> ServiceResult<Option<users::Model>> {
    crate::ctx!(users::Entity::find_by_id(user).one(db).await)
}
