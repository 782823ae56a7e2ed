//! Issue #25's team links: how a link's calendars make its slots (`booking_links.scheduling`,
//! NULL: `single`), its members (`booking_link_members`: one row per member calendar, in the
//! link's order), and the booking a collective reservation's rows form
//! (`calendar_events.team_booking_id`: the id of the visitor's own row, set on every row of the
//! group, that row included; NULL for every other event).
//!
//! The PostgreSQL exclusion constraint is unchanged: it keeps each calendar's live reservations
//! apart, and a collective booking has one row per member calendar.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BookingLinks {
    Table,
    Token,
    Scheduling,
}

#[derive(DeriveIden)]
enum BookingLinkMembers {
    Table,
    BookingLinkToken,
    Position,
    CalendarId,
    Weight,
    MaxBookingsPerDay,
}

#[derive(DeriveIden)]
enum Calendars {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CalendarEvents {
    Table,
    TeamBookingId,
    BookingLinkToken,
    CalendarId,
}

const MEMBERS_CALENDAR: &str = "booking_link_members_calendar";
const EVENTS_TEAM_BOOKING: &str = "calendar_events_team_booking";
const EVENTS_LINK_CALENDAR: &str = "calendar_events_link_calendar";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BookingLinks::Table)
                    .add_column(ColumnDef::new(BookingLinks::Scheduling).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BookingLinkMembers::Table)
                    .col(ColumnDef::new(BookingLinkMembers::BookingLinkToken).string().not_null())
                    .col(ColumnDef::new(BookingLinkMembers::Position).integer().not_null())
                    .col(ColumnDef::new(BookingLinkMembers::CalendarId).uuid().not_null())
                    .col(ColumnDef::new(BookingLinkMembers::Weight).integer().not_null())
                    .col(ColumnDef::new(BookingLinkMembers::MaxBookingsPerDay).integer().null())
                    .primary_key(
                        Index::create().col(BookingLinkMembers::BookingLinkToken).col(BookingLinkMembers::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(BookingLinkMembers::Table, BookingLinkMembers::BookingLinkToken)
                            .to(BookingLinks::Table, BookingLinks::Token)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(BookingLinkMembers::Table, BookingLinkMembers::CalendarId)
                            .to(Calendars::Table, Calendars::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(MEMBERS_CALENDAR)
                    .table(BookingLinkMembers::Table)
                    .col(BookingLinkMembers::CalendarId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CalendarEvents::Table)
                    .add_column(ColumnDef::new(CalendarEvents::TeamBookingId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(EVENTS_TEAM_BOOKING)
                    .table(CalendarEvents::Table)
                    .col(CalendarEvents::TeamBookingId)
                    .to_owned(),
            )
            .await?;
        // A team link's reservations per member (the limits' counts and round robin's rule).
        manager
            .create_index(
                Index::create()
                    .name(EVENTS_LINK_CALENDAR)
                    .table(CalendarEvents::Table)
                    .col(CalendarEvents::BookingLinkToken)
                    .col(CalendarEvents::CalendarId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(EVENTS_LINK_CALENDAR).table(CalendarEvents::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(EVENTS_TEAM_BOOKING).table(CalendarEvents::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(CalendarEvents::Table).drop_column(CalendarEvents::TeamBookingId).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(BookingLinkMembers::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(BookingLinks::Table).drop_column(BookingLinks::Scheduling).to_owned())
            .await
    }
}
