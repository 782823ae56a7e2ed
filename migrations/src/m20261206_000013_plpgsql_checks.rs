//! Issue #24: the checks the PostgreSQL write functions call (`bookings_full_limit`,
//! `bookings_busy`, as migration 000011 left them) rewritten in PL/pgSQL, with the same
//! answers.
//!
//! A `LANGUAGE sql` function that is not inlined is planned again on every call, so each
//! reservation, move and cancel planned these two queries afresh; PL/pgSQL prepares its
//! statements once per connection. With no limit given, `bookings_full_limit` now answers
//! without touching the table. Measured with pgbench calling `bookings_reserve` (20 clients,
//! 200 links, a fresh slot each call): see docs/benchmarks.md.
//!
//! Also: `calendar_events_team_booking` becomes a partial index (`team_booking_id IS NOT
//! NULL`): only a collective booking's rows have one, so no other insert writes to it. An
//! equality on the column implies the predicate, so both databases still use it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const FULL_LIMIT: &str = r#"
CREATE OR REPLACE FUNCTION bookings_full_limit(
    p_token varchar, p_calendar uuid, p_starts timestamptz, p_ends timestamptz, p_limits text, p_except uuid)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    lim jsonb;
    i integer := 0;
    n bigint;
    minutes numeric;
BEGIN
    IF p_limits IS NULL OR p_limits = '[]' THEN
        RETURN NULL;
    END IF;
    FOR lim IN SELECT x.value FROM jsonb_array_elements(p_limits::jsonb) AS x LOOP
        SELECT count(*), coalesce(sum(extract(epoch FROM e.ends_at - e.starts_at)), 0) / 60
          INTO n, minutes
          FROM calendar_events e
         WHERE e.calendar_id = p_calendar
           AND e.booking_link_token = p_token
           AND e.source = 'reservation'
           AND NOT e.cancelled
           AND e.holds_slot
           AND e.starts_at >= (lim->>'from')::timestamptz
           AND e.starts_at < (lim->>'to')::timestamptz
           AND (p_except IS NULL OR e.id <> p_except);
        IF (lim->>'max_count' IS NOT NULL AND n >= (lim->>'max_count')::bigint)
           OR (lim->>'max_minutes' IS NOT NULL
               AND minutes + extract(epoch FROM p_ends - p_starts) / 60 > (lim->>'max_minutes')::numeric) THEN
            RETURN i;
        END IF;
        i := i + 1;
    END LOOP;
    RETURN NULL;
END
$fn$"#;

pub(crate) const BUSY: &str = r#"
CREATE OR REPLACE FUNCTION bookings_busy(
    p_calendar uuid, p_starts timestamptz, p_ends timestamptz, p_before_s bigint, p_after_s bigint, p_except uuid)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM calendar_events e
         WHERE e.calendar_id = p_calendar
           AND NOT e.cancelled
           AND e.holds_slot
           AND e.starts_at < p_ends + make_interval(secs => p_after_s)
           AND e.ends_at > p_starts - make_interval(secs => p_before_s)
           AND e.ends_at > e.starts_at
           AND (p_except IS NULL OR e.id <> p_except));
END
$fn$"#;

const TEAM_BOOKING: &str = "calendar_events_team_booking";

#[derive(DeriveIden)]
enum CalendarEvents {
    Table,
    TeamBookingId,
}

fn team_booking_index(partial: bool) -> IndexCreateStatement {
    let mut index =
        Index::create().name(TEAM_BOOKING).table(CalendarEvents::Table).col(CalendarEvents::TeamBookingId).to_owned();
    if partial {
        index.and_where(Expr::col(CalendarEvents::TeamBookingId).is_not_null());
    }
    index
}

async fn replace_index(manager: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    manager.drop_index(Index::drop().name(TEAM_BOOKING).table(CalendarEvents::Table).to_owned()).await?;
    manager.create_index(team_booking_index(partial)).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_index(manager, true).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in [FULL_LIMIT, BUSY] {
                manager.get_connection().execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            use super::m20261206_000011_approval::{BUSY, FULL_LIMIT};
            for sql in [FULL_LIMIT, BUSY] {
                manager.get_connection().execute_unprepared(sql).await?;
            }
        }
        replace_index(manager, false).await
    }
}
