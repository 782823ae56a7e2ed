//! Issue #24: a calendar's busy time over a span is read from a bounded stretch of its index,
//! wherever in the calendar's future the span lies.
//!
//! Busy time is the events overlapping a span: `starts_at < end AND ends_at > start`. Migration
//! 000014 made the index `(calendar_id, ends_at)`, bounded below by `start`; above, nothing
//! bounded it, so a check walked every event of the calendar that ends after the span: at the
//! end of the calendar's bookings (as `bench/http.sh` reserves, each slot later than the last)
//! none, but for a slot in the middle of a booked month all the month's later events, each
//! fetched from the heap to test its start (`EXPLAIN ANALYZE` on a calendar with 740 events:
//! 3 buffers and 0.05 ms at the end, 618 buffers and 1.4 ms in the middle).
//!
//! An event of at most a day ends before `end + 1 day` if it starts before `end`, so the scan
//! for those stops there. Longer events (an owner's holiday; a reservation lasts at most a day)
//! get a partial index of their own, `calendar_events_long (calendar_id, ends_at) WHERE` the
//! event lasts longer than a day: nothing is written to it for a reservation, and the queries
//! read it with the same predicate, written as here (`LONG_SPAN_*`), which is how both planners
//! see that the index applies. The store's queries and PostgreSQL's `bookings_busy` (replaced
//! here, same answers) read both. `bookings_busy` asks for the first event of the bounded
//! stretch in index order (`ORDER BY ends_at LIMIT 1`, a plain index scan that stops at the
//! first row) and only then for long ones: as one `EXISTS ... OR EXISTS`, its generic plan was
//! a bitmap scan, dearer than before at the calendar's end (pgbench, PostgreSQL CPU per call at
//! the end of the calendars: 0.154 / 0.132 ms before, 0.235 / 0.193 that way, 0.140 / 0.169 this
//! way; in the middle 0.231 that way, 0.185 this way).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "calendar_events_long";

/// The partial index's predicate. The store's queries repeat these words (`overlapping` in
/// src/store/calendars.rs); its tests check the plans use the index.
const LONG_SPAN_POSTGRES: &str = "ends_at - starts_at > interval '1 day'";
const LONG_SPAN_SQLITE: &str = "julianday(ends_at) - julianday(starts_at) > 1";

const BUSY: &str = r#"
CREATE OR REPLACE FUNCTION bookings_busy(
    p_calendar uuid, p_starts timestamptz, p_ends timestamptz, p_before_s bigint, p_after_s bigint, p_except uuid)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    lo constant timestamptz := p_starts - make_interval(secs => p_before_s);
    hi constant timestamptz := p_ends + make_interval(secs => p_after_s);
BEGIN
    PERFORM 1 FROM calendar_events e
     WHERE e.calendar_id = p_calendar
       AND e.ends_at > lo
       AND e.ends_at < hi + interval '1 day'
       AND e.starts_at < hi
       AND NOT e.cancelled
       AND e.holds_slot
       AND e.ends_at > e.starts_at
       AND (p_except IS NULL OR e.id <> p_except)
     ORDER BY e.ends_at
     LIMIT 1;
    IF FOUND THEN
        RETURN true;
    END IF;
    RETURN EXISTS (
        SELECT 1 FROM calendar_events e
         WHERE e.calendar_id = p_calendar
           AND e.ends_at - e.starts_at > interval '1 day'
           AND e.ends_at > lo
           AND e.starts_at < hi
           AND NOT e.cancelled
           AND e.holds_slot
           AND (p_except IS NULL OR e.id <> p_except));
END
$fn$"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let predicate = match manager.get_database_backend() {
            DbBackend::Postgres => LONG_SPAN_POSTGRES,
            _ => LONG_SPAN_SQLITE,
        };
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON calendar_events (calendar_id, ends_at) WHERE {predicate}"
        ))
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(BUSY).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            use super::m20261206_000013_plpgsql_checks::BUSY;
            manager.get_connection().execute_unprepared(BUSY).await?;
        }
        manager.get_connection().execute_unprepared(&format!("DROP INDEX {INDEX}")).await?;
        Ok(())
    }
}
