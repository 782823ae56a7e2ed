//! Issue #24: reads of a calendar's busy time and PostgreSQL's one-call order, driven by indexes
//! whatever the tables hold.
//!
//! **Busy time by end, not by start.** Every query of a calendar's busy time asks for the events
//! overlapping a span (`starts_at < end AND ends_at > start`): the availability of a link, the
//! reservation's and the move's check under the lock (`bookings_busy` on PostgreSQL, the
//! transaction on SQLite), a team member's busy time, the owner's listing. The index on
//! `(calendar_id, starts_at)` bounds such a scan only from above, so it walked every past event
//! of the calendar, a cost that grows with the calendar's history; `(calendar_id, ends_at)`
//! bounds it from below, so it walks the events still to end after the span's start: those in
//! the booking horizon. The index is replaced, not added (a write maintains as many indexes as
//! before). Measured with pgbench calling `bookings_reserve` on slots later than every existing
//! one (20 clients, 200 links, ~140 events per calendar to begin with): PostgreSQL CPU per call
//! 2.40-2.55 ms with the old index, 0.62-0.70 ms with this one (docs/benchmarks.md).
//!
//! **`bookings_order` by index.** The order's events are read as an array of ids (`= ANY`),
//! so each statement finds them through the primary key instead of a hash join over all coach
//! events (the planner estimates a JSON array at 100 elements); the athlete's row is locked
//! with `FOR UPDATE` (a lock, not a new row version) and inserted only when missing. Same
//! arguments, same answers (the order tests hold both versions). pgbench, 20 clients, an order
//! of 3 events by one of 500 athletes, on copies of one database: 5.9-6.7 ms of PostgreSQL CPU
//! per order before, 2.0-2.3 ms after.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ORDER: &str = r#"
CREATE OR REPLACE FUNCTION bookings_order(
    p_user uuid, p_now timestamptz, p_cutoff_s bigint, p_longest_s bigint, p_order uuid, p_requested text)
RETURNS TABLE (
    pos integer, error text, ordinal bigint,
    id uuid, coach_id uuid, sport_id uuid, starts_at timestamptz, ends_at timestamptz, status varchar,
    time_slot_id uuid, places integer, slot_type varchar, age_from integer, age_to integer,
    duration_minutes integer, price bigint, price_currency varchar, payment_method varchar,
    address_id uuid, public boolean, level varchar, eligibility varchar, start_time varchar,
    end_time varchar, canceled_at timestamptz, created_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    live constant varchar[] := ARRAY['Pending', 'Accepted', 'InDispute', 'DisputeDone'];
    events uuid[];
    booking_ids uuid[];
    errs text[];
BEGIN
    SELECT array_agg((x.r->>'event')::uuid ORDER BY x.i), array_agg((x.r->>'booking')::uuid ORDER BY x.i)
      INTO events, booking_ids
      FROM jsonb_array_elements(p_requested::jsonb) WITH ORDINALITY AS x(r, i);
    PERFORM 1 FROM users u WHERE u.id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO users AS u (id, email, updated_at) VALUES (p_user, NULL, p_now)
            ON CONFLICT (id) DO UPDATE SET id = u.id;
    END IF;
    PERFORM 1 FROM coach_events ce WHERE ce.id = ANY (events) ORDER BY ce.id FOR UPDATE;
    WITH ev AS (
        SELECT req.pos::integer AS pos, ce.id, ce.coach_id, ce.starts_at, ce.ends_at, ce.status, ce.places
          FROM unnest(events) WITH ORDINALITY AS req(event_id, pos)
          LEFT JOIN (SELECT * FROM coach_events c WHERE c.id = ANY (events)) ce ON ce.id = req.event_id)
    SELECT array_agg(
        CASE
            WHEN ev.id IS NULL THEN 'NotFound'
            WHEN ev.status = 'Canceled' THEN 'Canceled'
            WHEN ev.coach_id = p_user THEN 'SelfBook'
            WHEN ev.starts_at <= p_now THEN 'Past'
            WHEN ev.starts_at - p_now < make_interval(secs => p_cutoff_s) THEN 'TooClose'
            WHEN (SELECT count(*) FROM bookings b
                   WHERE b.event_id = ev.id AND b.status = ANY (live)) >= ev.places THEN 'Overbooked'
            WHEN EXISTS (SELECT 1 FROM bookings b
                          WHERE b.user_id = p_user AND b.status = ANY (live)
                            AND b.starts_at > ev.starts_at - make_interval(secs => p_longest_s)
                            AND b.starts_at < ev.ends_at AND ev.starts_at < b.ends_at)
              OR EXISTS (SELECT 1 FROM bookings b
                          WHERE b.user_id = p_user AND b.status = ANY (live) AND b.event_id = ev.id)
              OR EXISTS (SELECT 1 FROM ev o
                          WHERE o.pos <> ev.pos AND o.id IS NOT NULL AND o.status <> 'Canceled'
                            AND o.starts_at < ev.ends_at AND ev.starts_at < o.ends_at) THEN 'Conflict'
        END ORDER BY ev.pos) INTO errs
      FROM ev;
    IF NOT EXISTS (SELECT 1 FROM unnest(errs) e WHERE e IS NOT NULL) THEN
        INSERT INTO booking_orders (id, user_id, payment_status, created_at) VALUES (p_order, p_user, 'Cash', p_now);
        INSERT INTO bookings (id, order_id, user_id, coach_id, event_id, starts_at, ends_at, status, completed,
                              dismissed, created_at, updated_at)
        SELECT x.booking_id, p_order, p_user, ce.coach_id, ce.id, ce.starts_at, ce.ends_at,
               'Accepted', false, false, p_now, p_now
          FROM unnest(events, booking_ids) WITH ORDINALITY AS x(event_id, booking_id, i)
          JOIN (SELECT * FROM coach_events c WHERE c.id = ANY (events)) ce ON ce.id = x.event_id
         ORDER BY x.i;
    END IF;
    RETURN QUERY
    WITH mine AS (
        SELECT b.id, row_number() OVER (PARTITION BY b.coach_id ORDER BY b.starts_at, b.id) AS n
          FROM bookings b
         WHERE b.user_id = p_user AND b.status = ANY (live)
           AND b.coach_id IN (SELECT c.coach_id FROM coach_events c WHERE c.id = ANY (events)))
    SELECT req.pos::integer, errs[req.pos], mine.n,
           ce.id, ce.coach_id, ce.sport_id, ce.starts_at, ce.ends_at, ce.status, ce.time_slot_id, ce.places,
           ce.slot_type, ce.age_from, ce.age_to, ce.duration_minutes, ce.price, ce.price_currency,
           ce.payment_method, ce.address_id, ce.public, ce.level, ce.eligibility, ce.start_time, ce.end_time,
           ce.canceled_at, ce.created_at
      FROM unnest(events, booking_ids) WITH ORDINALITY AS req(event_id, booking_id, pos)
      LEFT JOIN (SELECT * FROM coach_events c WHERE c.id = ANY (events)) ce ON ce.id = req.event_id
      LEFT JOIN mine ON mine.id = req.booking_id
     ORDER BY req.pos;
END
$fn$"#;

#[derive(DeriveIden)]
enum CalendarEvents {
    Table,
    CalendarId,
    StartsAt,
    EndsAt,
}

const BY_START: &str = "calendar_events_calendar_start";
const BY_END: &str = "calendar_events_calendar_end";

fn calendar_index(name: &str, time: CalendarEvents) -> IndexCreateStatement {
    Index::create().name(name).table(CalendarEvents::Table).col(CalendarEvents::CalendarId).col(time).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(calendar_index(BY_END, CalendarEvents::EndsAt)).await?;
        manager.drop_index(Index::drop().name(BY_START).table(CalendarEvents::Table).to_owned()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(ORDER).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let old = super::m20261206_000009_write_functions::ORDER;
            manager.get_connection().execute_unprepared(old).await?;
        }
        manager.create_index(calendar_index(BY_START, CalendarEvents::StartsAt)).await?;
        manager.drop_index(Index::drop().name(BY_END).table(CalendarEvents::Table).to_owned()).await
    }
}
