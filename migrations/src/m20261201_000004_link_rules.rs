//! The scheduling rules of a booking link (minimum notice, booking window, slot interval,
//! buffers before and after, date overrides, daily cap). Every column is nullable: NULL means the
//! rule is not set, which is how every link made before behaves. Overrides are JSON text, like
//! the weekly working hours. SQLite alters one column per statement, so each is its own.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum BookingLinks {
    Table,
    MinNoticeMinutes,
    MaxDaysAhead,
    SlotIntervalMinutes,
    BufferBeforeMinutes,
    BufferAfterMinutes,
    MaxBookingsPerDay,
    DateOverrides,
}

const INTEGERS: [BookingLinks; 6] = [
    BookingLinks::MinNoticeMinutes,
    BookingLinks::MaxDaysAhead,
    BookingLinks::SlotIntervalMinutes,
    BookingLinks::BufferBeforeMinutes,
    BookingLinks::BufferAfterMinutes,
    BookingLinks::MaxBookingsPerDay,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in INTEGERS {
            manager
                .alter_table(
                    Table::alter()
                        .table(BookingLinks::Table)
                        .add_column(ColumnDef::new(column).integer().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(BookingLinks::Table)
                    .add_column(ColumnDef::new(BookingLinks::DateOverrides).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in INTEGERS.into_iter().chain([BookingLinks::DateOverrides]) {
            manager.alter_table(Table::alter().table(BookingLinks::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
