//! The notification outbox, and when a calendar event was cancelled (a trigger needs it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    DedupeKey,
    Rule,
    Channel,
    SubjectId,
    RecipientRole,
    RecipientUserId,
    RecipientEmail,
    AboutUserId,
    AboutCoachId,
    Subject,
    BodyText,
    BodyHtml,
    Ical,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastError,
    CreatedAt,
    SentAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarEvents {
    Table,
    CancelledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = |c: Notifications| ColumnDef::new(c).timestamp_with_time_zone().not_null().to_owned();
        let ts_null = |c: Notifications| ColumnDef::new(c).timestamp_with_time_zone().null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(ColumnDef::new(Notifications::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Notifications::DedupeKey).string().not_null().unique_key())
                    .col(ColumnDef::new(Notifications::Rule).string().not_null())
                    .col(ColumnDef::new(Notifications::Channel).string().not_null())
                    .col(ColumnDef::new(Notifications::SubjectId).uuid().not_null())
                    .col(ColumnDef::new(Notifications::RecipientRole).string().not_null())
                    .col(ColumnDef::new(Notifications::RecipientUserId).uuid().null())
                    .col(ColumnDef::new(Notifications::RecipientEmail).string().null())
                    .col(ColumnDef::new(Notifications::AboutUserId).uuid().null())
                    .col(ColumnDef::new(Notifications::AboutCoachId).uuid().null())
                    .col(ColumnDef::new(Notifications::Subject).text().not_null())
                    .col(ColumnDef::new(Notifications::BodyText).text().not_null())
                    .col(ColumnDef::new(Notifications::BodyHtml).text().not_null())
                    .col(ColumnDef::new(Notifications::Ical).text().null())
                    .col(ColumnDef::new(Notifications::Payload).text().not_null())
                    .col(ColumnDef::new(Notifications::Status).string().not_null())
                    .col(ColumnDef::new(Notifications::Attempts).integer().not_null())
                    .col(ts(Notifications::NextAttemptAt))
                    .col(ts_null(Notifications::LeaseUntil))
                    .col(ColumnDef::new(Notifications::LastError).text().null())
                    .col(ts(Notifications::CreatedAt))
                    .col(ts_null(Notifications::SentAt))
                    .col(ts(Notifications::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_due")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("notifications_recipient", Notifications::RecipientUserId),
            ("notifications_about_user", Notifications::AboutUserId),
            ("notifications_about_coach", Notifications::AboutCoachId),
        ] {
            manager.create_index(Index::create().name(name).table(Notifications::Table).col(col).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CalendarEvents::Table)
                    .add_column(ColumnDef::new(CalendarEvents::CancelledAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(CalendarEvents::Table).drop_column(CalendarEvents::CancelledAt).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(Notifications::Table).to_owned()).await
    }
}
