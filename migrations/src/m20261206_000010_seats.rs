//! Issue #25's seats: how many visitors one slot of a link takes (`seats_per_slot`, NULL: one),
//! and the session each seat belongs to (`calendar_events.session_id`: the id of the session's
//! first reservation; NULL for a reservation of a one-seat link and for other events). An index
//! on a link's reservations by start serves the limits' counts and the sessions' look-ups.
//!
//! On PostgreSQL the exclusion constraint that keeps live reservations of one calendar apart now
//! lets the seats of one session share their time: two reservations may overlap only when they
//! are of the same session (`coalesce(session_id, id)` equal).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BookingLinks {
    Table,
    SeatsPerSlot,
}

#[derive(DeriveIden)]
enum CalendarEvents {
    Table,
    SessionId,
    BookingLinkToken,
    StartsAt,
}

const INDEX: &str = "calendar_events_link_start";

const SINGLE: &str = "ALTER TABLE calendar_events ADD CONSTRAINT calendar_events_no_double_booking \
     EXCLUDE USING gist (calendar_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) \
     WHERE (source = 'reservation' AND NOT cancelled)";

const SEATED: &str = "ALTER TABLE calendar_events ADD CONSTRAINT calendar_events_no_double_booking \
     EXCLUDE USING gist (calendar_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&, \
     (coalesce(session_id, id)) WITH <>) \
     WHERE (source = 'reservation' AND NOT cancelled)";

const DROP: &str = "ALTER TABLE calendar_events DROP CONSTRAINT calendar_events_no_double_booking";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BookingLinks::Table)
                    .add_column(ColumnDef::new(BookingLinks::SeatsPerSlot).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CalendarEvents::Table)
                    .add_column(ColumnDef::new(CalendarEvents::SessionId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(CalendarEvents::Table)
                    .col(CalendarEvents::BookingLinkToken)
                    .col(CalendarEvents::StartsAt)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(DROP).await?;
            db.execute_unprepared(SEATED).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(DROP).await?;
            db.execute_unprepared(SINGLE).await?;
        }
        manager.drop_index(Index::drop().name(INDEX).table(CalendarEvents::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(CalendarEvents::Table).drop_column(CalendarEvents::SessionId).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(BookingLinks::Table).drop_column(BookingLinks::SeatsPerSlot).to_owned())
            .await
    }
}
