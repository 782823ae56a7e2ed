//! Guests manage what they booked, and writes can be retried safely (issue #13):
//! - a reservation's manage token, kept only as its SHA-256 (hex, unique), how many times it was
//!   moved (`sequence`) and when last (`moved_at`), and the visitor's reason when they cancel it;
//! - a link's `min_cancel_notice_minutes` (NULL: not set, 0);
//! - `idempotency_keys`: the stored answers to requests sent with an Idempotency-Key, for 24 h.
//!
//! SQLite alters one column per statement, so each is its own.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CalendarEvents {
    Table,
    ManageTokenHash,
    Sequence,
    MovedAt,
    CancelReason,
}

#[derive(DeriveIden, Clone, Copy)]
enum BookingLinks {
    Table,
    MinCancelNoticeMinutes,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    KeyHash,
    Operation,
    Fingerprint,
    ResponseStatus,
    ResponseHeaders,
    ResponseBody,
    LeaseUntil,
    ExpiresAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let add = |table: CalendarEvents, column: ColumnDef| Table::alter().table(table).add_column(column).to_owned();
        manager
            .alter_table(add(
                CalendarEvents::Table,
                ColumnDef::new(CalendarEvents::ManageTokenHash).string().null().to_owned(),
            ))
            .await?;
        manager
            .alter_table(add(
                CalendarEvents::Table,
                ColumnDef::new(CalendarEvents::Sequence).integer().not_null().default(0).to_owned(),
            ))
            .await?;
        manager
            .alter_table(add(
                CalendarEvents::Table,
                ColumnDef::new(CalendarEvents::MovedAt).timestamp_with_time_zone().null().to_owned(),
            ))
            .await?;
        manager
            .alter_table(add(
                CalendarEvents::Table,
                ColumnDef::new(CalendarEvents::CancelReason).text().null().to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("calendar_events_manage_token_hash")
                    .table(CalendarEvents::Table)
                    .col(CalendarEvents::ManageTokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(BookingLinks::Table)
                    .add_column(ColumnDef::new(BookingLinks::MinCancelNoticeMinutes).integer().null())
                    .to_owned(),
            )
            .await?;
        let ts = |c: IdempotencyKeys| ColumnDef::new(c).timestamp_with_time_zone().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(ColumnDef::new(IdempotencyKeys::KeyHash).string().not_null().primary_key())
                    .col(ColumnDef::new(IdempotencyKeys::Operation).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Fingerprint).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::ResponseStatus).integer().null())
                    .col(ColumnDef::new(IdempotencyKeys::ResponseHeaders).text().null())
                    .col(ColumnDef::new(IdempotencyKeys::ResponseBody).blob().null())
                    .col(ts(IdempotencyKeys::LeaseUntil))
                    .col(ts(IdempotencyKeys::ExpiresAt))
                    .col(ts(IdempotencyKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idempotency_keys_expires_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(BookingLinks::Table).drop_column(BookingLinks::MinCancelNoticeMinutes).to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name("calendar_events_manage_token_hash").table(CalendarEvents::Table).to_owned())
            .await?;
        for column in [
            CalendarEvents::ManageTokenHash,
            CalendarEvents::Sequence,
            CalendarEvents::MovedAt,
            CalendarEvents::CancelReason,
        ] {
            manager.alter_table(Table::alter().table(CalendarEvents::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
