//! Webhooks after Standard Webhooks: every send of a message is kept (`notification_attempts`:
//! when, to which endpoint, the status answered or the error, when the next send is due), and
//! the state of each configured endpoint (`webhook_endpoints`: one that answered 410 Gone is
//! disabled until an admin enables it). Endpoints are configured (`WEBHOOK_URLS`), not stored:
//! a row exists only once an endpoint's state was changed, keyed by a hash of its URL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    Id,
    NotificationId,
    Attempt,
    AttemptedAt,
    EndpointId,
    StatusCode,
    Delivered,
    Error,
    NextAttemptAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Target,
    DisabledAt,
    DisabledReason,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationAttempts::Table)
                    .col(ColumnDef::new(NotificationAttempts::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(NotificationAttempts::NotificationId).uuid().not_null())
                    .col(ColumnDef::new(NotificationAttempts::Attempt).integer().not_null())
                    .col(ColumnDef::new(NotificationAttempts::AttemptedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(NotificationAttempts::EndpointId).string().null())
                    .col(ColumnDef::new(NotificationAttempts::StatusCode).integer().null())
                    .col(ColumnDef::new(NotificationAttempts::Delivered).boolean().not_null())
                    .col(ColumnDef::new(NotificationAttempts::Error).text().null())
                    .col(ColumnDef::new(NotificationAttempts::NextAttemptAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notification_attempts_notification")
                    .table(NotificationAttempts::Table)
                    .col(NotificationAttempts::NotificationId)
                    .col(NotificationAttempts::Attempt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(ColumnDef::new(WebhookEndpoints::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(WebhookEndpoints::Target).string().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::DisabledAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(WebhookEndpoints::DisabledReason).text().null())
                    .col(ColumnDef::new(WebhookEndpoints::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(NotificationAttempts::Table).to_owned()).await
    }
}
