//! Who cancelled a reservation (issue #14): `guest` (through their manage token) or `owner`
//! (deleteCalendarEvent), so the rules tell the two apart (a guest's cancellation goes to the
//! owner and the guest, the owner's to the guest). NULL for reservations cancelled before: they
//! were the owner's, or a guest's that the rules then told as the owner's.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CalendarEvents {
    Table,
    CancelledBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CalendarEvents::Table)
                    .add_column(ColumnDef::new(CalendarEvents::CancelledBy).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(CalendarEvents::Table).drop_column(CalendarEvents::CancelledBy).to_owned(),
            )
            .await
    }
}
