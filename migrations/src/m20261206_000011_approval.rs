//! Issue #25's approval: a link may ask its owner to confirm each reservation
//! (`requires_confirmation`), a pending reservation may hold its slot or not
//! (`pending_blocks_slot`, NULL: it does) and lapses after `pending_expires_minutes` (NULL: at
//! its start). A reservation records that it waited (`awaiting_confirmation`), when it was
//! confirmed (`confirmed_at`), until when it may wait (`pending_until`) and whether it holds
//! its time (`holds_slot`: false only for a pending reservation of a link whose pending
//! reservations do not block).
//!
//! On PostgreSQL the exclusion constraint and the one-call functions' busy time now leave out
//! what does not hold its time, and the limits count only what does.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum BookingLinks {
    Table,
    RequiresConfirmation,
    PendingBlocksSlot,
    PendingExpiresMinutes,
}

#[derive(DeriveIden, Clone, Copy)]
enum CalendarEvents {
    Table,
    AwaitingConfirmation,
    ConfirmedAt,
    PendingUntil,
    HoldsSlot,
}

const DROP: &str = "ALTER TABLE calendar_events DROP CONSTRAINT calendar_events_no_double_booking";

const SEATED: &str = "ALTER TABLE calendar_events ADD CONSTRAINT calendar_events_no_double_booking \
     EXCLUDE USING gist (calendar_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&, \
     (coalesce(session_id, id)) WITH <>) \
     WHERE (source = 'reservation' AND NOT cancelled)";

const HOLDING: &str = "ALTER TABLE calendar_events ADD CONSTRAINT calendar_events_no_double_booking \
     EXCLUDE USING gist (calendar_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&, \
     (coalesce(session_id, id)) WITH <>) \
     WHERE (source = 'reservation' AND NOT cancelled AND holds_slot)";

/// As migration 000009's, counting only what holds its time.
pub(crate) const FULL_LIMIT: &str = r#"
CREATE OR REPLACE FUNCTION bookings_full_limit(
    p_token varchar, p_calendar uuid, p_starts timestamptz, p_ends timestamptz, p_limits text, p_except uuid)
RETURNS integer LANGUAGE sql VOLATILE AS $fn$
    SELECT (x.i - 1)::integer
      FROM jsonb_array_elements(p_limits::jsonb) WITH ORDINALITY AS x(lim, i)
      CROSS JOIN LATERAL (
            SELECT count(*) AS n,
                   coalesce(sum(extract(epoch FROM e.ends_at - e.starts_at)), 0) / 60 AS minutes
              FROM calendar_events e
             WHERE e.calendar_id = p_calendar
               AND e.booking_link_token = p_token
               AND e.source = 'reservation'
               AND NOT e.cancelled
               AND e.holds_slot
               AND e.starts_at >= (x.lim->>'from')::timestamptz
               AND e.starts_at < (x.lim->>'to')::timestamptz
               AND (p_except IS NULL OR e.id <> p_except)) c
     WHERE (x.lim->>'max_count' IS NOT NULL AND c.n >= (x.lim->>'max_count')::bigint)
        OR (x.lim->>'max_minutes' IS NOT NULL
            AND c.minutes + extract(epoch FROM p_ends - p_starts) / 60 > (x.lim->>'max_minutes')::numeric)
     ORDER BY x.i
     LIMIT 1
$fn$"#;

/// As migration 000009's, leaving out what does not hold its time.
pub(crate) const BUSY: &str = r#"
CREATE OR REPLACE FUNCTION bookings_busy(
    p_calendar uuid, p_starts timestamptz, p_ends timestamptz, p_before_s bigint, p_after_s bigint, p_except uuid)
RETURNS boolean LANGUAGE sql VOLATILE AS $fn$
    SELECT EXISTS (
        SELECT 1 FROM calendar_events e
         WHERE e.calendar_id = p_calendar
           AND NOT e.cancelled
           AND e.holds_slot
           AND e.starts_at < p_ends + make_interval(secs => p_after_s)
           AND e.ends_at > p_starts - make_interval(secs => p_before_s)
           AND e.ends_at > e.starts_at
           AND (p_except IS NULL OR e.id <> p_except))
$fn$"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let links = [
            ColumnDef::new(BookingLinks::RequiresConfirmation).boolean().null().to_owned(),
            ColumnDef::new(BookingLinks::PendingBlocksSlot).boolean().null().to_owned(),
            ColumnDef::new(BookingLinks::PendingExpiresMinutes).integer().null().to_owned(),
        ];
        for mut def in links {
            manager.alter_table(Table::alter().table(BookingLinks::Table).add_column(&mut def).to_owned()).await?;
        }
        let events = [
            ColumnDef::new(CalendarEvents::AwaitingConfirmation).boolean().not_null().default(false).to_owned(),
            ColumnDef::new(CalendarEvents::ConfirmedAt).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(CalendarEvents::PendingUntil).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(CalendarEvents::HoldsSlot).boolean().not_null().default(true).to_owned(),
        ];
        for mut def in events {
            manager.alter_table(Table::alter().table(CalendarEvents::Table).add_column(&mut def).to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for sql in [DROP, HOLDING, FULL_LIMIT, BUSY] {
                db.execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for sql in [DROP, SEATED] {
                db.execute_unprepared(sql).await?;
            }
        }
        for column in [
            CalendarEvents::AwaitingConfirmation,
            CalendarEvents::ConfirmedAt,
            CalendarEvents::PendingUntil,
            CalendarEvents::HoldsSlot,
        ] {
            manager.alter_table(Table::alter().table(CalendarEvents::Table).drop_column(column).to_owned()).await?;
        }
        for column in
            [BookingLinks::RequiresConfirmation, BookingLinks::PendingBlocksSlot, BookingLinks::PendingExpiresMinutes]
        {
            manager.alter_table(Table::alter().table(BookingLinks::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
