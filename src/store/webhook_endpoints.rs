//! The state of configured webhook endpoints (`webhook_endpoints`): which are disabled (they
//! answered 410 Gone), since when and why. An endpoint without a row is enabled.

use crate::entities::webhook_endpoints;
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use std::collections::BTreeMap;

/// The stored state of every endpoint that has a row, by id.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn all(db: &impl ConnectionTrait) -> ServiceResult<BTreeMap<String, webhook_endpoints::Model>> {
    Ok(webhook_endpoints::Entity::find().all(db).await?.into_iter().map(|m| (m.id.clone(), m)).collect())
}

/// Disables an endpoint (its `target` is what may be shown of its URL) from `now`, for `reason`.
pub async fn disable(
    db: &impl ConnectionTrait,
    id: &str,
    target: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = webhook_endpoints::ActiveModel {
        id: Set(id.to_owned()),
        target: Set(target.to_owned()),
        disabled_at: Set(Some(now)),
        disabled_reason: Set(Some(reason.to_owned())),
        updated_at: Set(now),
    };
    webhook_endpoints::Entity::insert(row)
        .on_conflict(
            OnConflict::column(webhook_endpoints::Column::Id)
                .update_columns([
                    webhook_endpoints::Column::Target,
                    webhook_endpoints::Column::DisabledAt,
                    webhook_endpoints::Column::DisabledReason,
                    webhook_endpoints::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Enables an endpoint again (no row is the same as enabled).
#[tracing::instrument(level = "debug", skip_all, fields(endpoint = id), err(level = "debug", Display))]
pub async fn enable(db: &impl ConnectionTrait, id: &str) -> ServiceResult<()> {
    webhook_endpoints::Entity::delete_many().filter(webhook_endpoints::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}
