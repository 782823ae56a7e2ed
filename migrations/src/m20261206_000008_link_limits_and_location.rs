//! Issue #25's rules of a booking link: limits per week, month and year and on booked minutes
//! per day and week, the day weeks start on, how `max_days_ahead` counts, a fixed range of
//! bookable dates, where slots start, and the link's location; and the location each
//! reservation was made with. Every column is nullable: NULL means the rule is not set (the
//! behaviour so far). SQLite alters one column per statement, so each is its own.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum BookingLinks {
    Table,
    MaxBookingsPerWeek,
    MaxBookingsPerMonth,
    MaxBookingsPerYear,
    MaxMinutesPerDay,
    MaxMinutesPerWeek,
    WeekStart,
    WindowDaysKind,
    BookableFrom,
    BookableUntil,
    SlotAlignment,
    LocationKind,
    LocationValue,
}

#[derive(DeriveIden, Clone, Copy)]
enum CalendarEvents {
    Table,
    Location,
}

const INTEGERS: [BookingLinks; 5] = [
    BookingLinks::MaxBookingsPerWeek,
    BookingLinks::MaxBookingsPerMonth,
    BookingLinks::MaxBookingsPerYear,
    BookingLinks::MaxMinutesPerDay,
    BookingLinks::MaxMinutesPerWeek,
];

/// Short texts: the kinds (`mon`, `business`, `after_busy`, `url`, ...).
const KINDS: [BookingLinks; 4] =
    [BookingLinks::WeekStart, BookingLinks::WindowDaysKind, BookingLinks::SlotAlignment, BookingLinks::LocationKind];

const DATES: [BookingLinks; 2] = [BookingLinks::BookableFrom, BookingLinks::BookableUntil];

fn all() -> impl Iterator<Item = BookingLinks> {
    INTEGERS.into_iter().chain(KINDS).chain(DATES).chain([BookingLinks::LocationValue])
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let integers = INTEGERS.map(|c| ColumnDef::new(c).integer().null().to_owned());
        let kinds = KINDS.map(|c| ColumnDef::new(c).string_len(16).null().to_owned());
        let dates = DATES.map(|c| ColumnDef::new(c).date().null().to_owned());
        let value = ColumnDef::new(BookingLinks::LocationValue).text().null().to_owned();
        for mut def in integers.into_iter().chain(kinds).chain(dates).chain([value]) {
            manager.alter_table(Table::alter().table(BookingLinks::Table).add_column(&mut def).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CalendarEvents::Table)
                    .add_column(ColumnDef::new(CalendarEvents::Location).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(CalendarEvents::Table).drop_column(CalendarEvents::Location).to_owned())
            .await?;
        for column in all() {
            manager.alter_table(Table::alter().table(BookingLinks::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
