//! Calendars, booking links, calendar events; users, coach events, orders and bookings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Calendars {
    Table,
    Id,
    OwnerId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BookingLinks {
    Table,
    Token,
    CalendarId,
    DurationMinutes,
    BufferMinutes,
    Timezone,
    WorkingHours,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarEvents {
    Table,
    Id,
    CalendarId,
    Title,
    StartsAt,
    EndsAt,
    Notes,
    Source,
    BookingLinkToken,
    AttendeeName,
    AttendeeEmail,
    Cancelled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CoachEvents {
    Table,
    Id,
    CoachId,
    SportId,
    StartsAt,
    EndsAt,
    Status,
    TimeSlotId,
    Places,
    SlotType,
    AgeFrom,
    AgeTo,
    DurationMinutes,
    Price,
    PriceCurrency,
    PaymentMethod,
    AddressId,
    Public,
    Level,
    Eligibility,
    StartTime,
    EndTime,
    CanceledAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BookingOrders {
    Table,
    Id,
    UserId,
    PaymentStatus,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    Id,
    OrderId,
    UserId,
    CoachId,
    EventId,
    StartsAt,
    EndsAt,
    Status,
    Completed,
    Note,
    CanceledAt,
    CanceledByRole,
    CancellationReasonCode,
    CancellationReasonText,
    Dismissed,
    CreatedAt,
    UpdatedAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Users::Email).string().null())
                    .col(ts(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Calendars::Table)
                    .col(ColumnDef::new(Calendars::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Calendars::OwnerId).uuid().not_null())
                    .col(ColumnDef::new(Calendars::Name).string().not_null())
                    .col(ts(Calendars::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("calendars_owner").table(Calendars::Table).col(Calendars::OwnerId).to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BookingLinks::Table)
                    .col(ColumnDef::new(BookingLinks::Token).string().not_null().primary_key())
                    .col(ColumnDef::new(BookingLinks::CalendarId).uuid().not_null())
                    .col(ColumnDef::new(BookingLinks::DurationMinutes).integer().not_null())
                    .col(ColumnDef::new(BookingLinks::BufferMinutes).integer().not_null())
                    .col(ColumnDef::new(BookingLinks::Timezone).string().not_null())
                    .col(ColumnDef::new(BookingLinks::WorkingHours).text().not_null())
                    .col(ColumnDef::new(BookingLinks::Active).boolean().not_null())
                    .col(ts(BookingLinks::CreatedAt))
                    .col(ts(BookingLinks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BookingLinks::Table, BookingLinks::CalendarId)
                            .to(Calendars::Table, Calendars::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("booking_links_calendar")
                    .table(BookingLinks::Table)
                    .col(BookingLinks::CalendarId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CalendarEvents::Table)
                    .col(ColumnDef::new(CalendarEvents::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(CalendarEvents::CalendarId).uuid().not_null())
                    .col(ColumnDef::new(CalendarEvents::Title).string().not_null())
                    .col(ts(CalendarEvents::StartsAt))
                    .col(ts(CalendarEvents::EndsAt))
                    .col(ColumnDef::new(CalendarEvents::Notes).text().null())
                    .col(ColumnDef::new(CalendarEvents::Source).string().not_null())
                    .col(ColumnDef::new(CalendarEvents::BookingLinkToken).string().null())
                    .col(ColumnDef::new(CalendarEvents::AttendeeName).string().null())
                    .col(ColumnDef::new(CalendarEvents::AttendeeEmail).string().null())
                    .col(ColumnDef::new(CalendarEvents::Cancelled).boolean().not_null())
                    .col(ts(CalendarEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CalendarEvents::Table, CalendarEvents::CalendarId)
                            .to(Calendars::Table, Calendars::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("calendar_events_calendar_start")
                    .table(CalendarEvents::Table)
                    .col(CalendarEvents::CalendarId)
                    .col(CalendarEvents::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CoachEvents::Table)
                    .col(ColumnDef::new(CoachEvents::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(CoachEvents::CoachId).uuid().not_null())
                    .col(ColumnDef::new(CoachEvents::SportId).uuid().not_null())
                    .col(ts(CoachEvents::StartsAt))
                    .col(ts(CoachEvents::EndsAt))
                    .col(ColumnDef::new(CoachEvents::Status).string().not_null())
                    .col(ColumnDef::new(CoachEvents::TimeSlotId).uuid().not_null())
                    .col(ColumnDef::new(CoachEvents::Places).integer().not_null())
                    .col(ColumnDef::new(CoachEvents::SlotType).string().not_null())
                    .col(ColumnDef::new(CoachEvents::AgeFrom).integer().not_null())
                    .col(ColumnDef::new(CoachEvents::AgeTo).integer().not_null())
                    .col(ColumnDef::new(CoachEvents::DurationMinutes).integer().not_null())
                    .col(ColumnDef::new(CoachEvents::Price).big_integer().not_null())
                    .col(ColumnDef::new(CoachEvents::PriceCurrency).string().not_null())
                    .col(ColumnDef::new(CoachEvents::PaymentMethod).string().not_null())
                    .col(ColumnDef::new(CoachEvents::AddressId).uuid().null())
                    .col(ColumnDef::new(CoachEvents::Public).boolean().null())
                    .col(ColumnDef::new(CoachEvents::Level).string().null())
                    .col(ColumnDef::new(CoachEvents::Eligibility).string().null())
                    .col(ColumnDef::new(CoachEvents::StartTime).string().not_null())
                    .col(ColumnDef::new(CoachEvents::EndTime).string().not_null())
                    .col(ts_null(CoachEvents::CanceledAt))
                    .col(ts(CoachEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("coach_events_coach")
                    .table(CoachEvents::Table)
                    .col(CoachEvents::CoachId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BookingOrders::Table)
                    .col(ColumnDef::new(BookingOrders::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(BookingOrders::UserId).uuid().not_null())
                    .col(ColumnDef::new(BookingOrders::PaymentStatus).string().not_null())
                    .col(ts(BookingOrders::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("booking_orders_user")
                    .table(BookingOrders::Table)
                    .col(BookingOrders::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Bookings::Table)
                    .col(ColumnDef::new(Bookings::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Bookings::OrderId).uuid().not_null())
                    .col(ColumnDef::new(Bookings::UserId).uuid().not_null())
                    .col(ColumnDef::new(Bookings::CoachId).uuid().not_null())
                    .col(ColumnDef::new(Bookings::EventId).uuid().not_null())
                    .col(ts(Bookings::StartsAt))
                    .col(ts(Bookings::EndsAt))
                    .col(ColumnDef::new(Bookings::Status).string().not_null())
                    .col(ColumnDef::new(Bookings::Completed).boolean().not_null())
                    .col(ColumnDef::new(Bookings::Note).text().null())
                    .col(ts_null(Bookings::CanceledAt))
                    .col(ColumnDef::new(Bookings::CanceledByRole).string().null())
                    .col(ColumnDef::new(Bookings::CancellationReasonCode).string().null())
                    .col(ColumnDef::new(Bookings::CancellationReasonText).text().null())
                    .col(ColumnDef::new(Bookings::Dismissed).boolean().not_null())
                    .col(ts(Bookings::CreatedAt))
                    .col(ts(Bookings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bookings::Table, Bookings::OrderId)
                            .to(BookingOrders::Table, BookingOrders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Bookings::Table, Bookings::EventId)
                            .to(CoachEvents::Table, CoachEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("bookings_user_start", Bookings::UserId),
            ("bookings_event", Bookings::EventId),
            ("bookings_order", Bookings::OrderId),
            ("bookings_coach", Bookings::CoachId),
        ] {
            manager.create_index(Index::create().name(name).table(Bookings::Table).col(col).to_owned()).await?;
        }

        if manager.get_database_backend() == DbBackend::Postgres {
            // The last line of defence against a double booking: two live reservations of one
            // calendar can never overlap, whatever the application does.
            let db = manager.get_connection();
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist").await?;
            db.execute_unprepared(
                "ALTER TABLE calendar_events ADD CONSTRAINT calendar_events_no_double_booking \
                 EXCLUDE USING gist (calendar_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) \
                 WHERE (source = 'reservation' AND NOT cancelled)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Bookings::Table.into_iden(),
            BookingOrders::Table.into_iden(),
            CoachEvents::Table.into_iden(),
            CalendarEvents::Table.into_iden(),
            BookingLinks::Table.into_iden(),
            Calendars::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
