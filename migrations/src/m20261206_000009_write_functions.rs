//! PostgreSQL only (SQLite gets nothing): the guest's writes of a reservation, and an athlete's
//! order of coach events, as server-side functions, each called once in autocommit, so a
//! reservation, a move, a cancellation or an order is one round trip instead of BEGIN, a lock,
//! two or three reads, the writes and COMMIT (issue #24).
//!
//! The application decides everything it can without the lock before the call (the slot's
//! length, grid, working hours, notice, days ahead; the move's and the cancellation's rules on
//! the reservation as it read it) and passes what must be checked under the lock: the version of
//! the link it decided with (`updated_at`), the reservation's `sequence` it read, the slot with
//! its buffers, and the period limits (JSON `[{"from", "to", "max_count", "max_minutes"}]`: the
//! live reservations through the link starting in `[from, to)` must number fewer than
//! `max_count`, and their minutes plus the slot's must not exceed `max_minutes`).
//!
//! Each function first locks the link's row and its calendar's (as the transactions on SQLite
//! do, and as every other writer of a calendar's events does); the statements after the lock
//! are separate statements of a volatile function, so under READ COMMITTED each takes a fresh
//! snapshot and sees whatever committed before the lock was granted (one statement with CTEs
//! would not: its snapshot predates its lock). The outcome is a word:
//! `ok`, `gone` (no such link, for a reservation also an inactive one; no such reservation),
//! `stale` (the link or the reservation changed since the application read it: read again and
//! decide again), `full` (`limit_index`: the first limit reached, 0-based), `busy` (busy time
//! within the slot and its buffers). The exclusion constraint still backs the slot up (23P01).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The limit reached first (0-based), if any: the live reservations through `p_token` (of
/// calendar `p_calendar`, but for `p_except`) starting in each limit's span, counted and their
/// minutes summed.
const FULL_LIMIT: &str = r#"
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
               AND e.starts_at >= (x.lim->>'from')::timestamptz
               AND e.starts_at < (x.lim->>'to')::timestamptz
               AND (p_except IS NULL OR e.id <> p_except)) c
     WHERE (x.lim->>'max_count' IS NOT NULL AND c.n >= (x.lim->>'max_count')::bigint)
        OR (x.lim->>'max_minutes' IS NOT NULL
            AND c.minutes + extract(epoch FROM p_ends - p_starts) / 60 > (x.lim->>'max_minutes')::numeric)
     ORDER BY x.i
     LIMIT 1
$fn$"#;

/// Whether a live event of the calendar (but `p_except`) overlaps `[p_starts - before, p_ends +
/// after)`, half-open; an empty event blocks nothing.
const BUSY: &str = r#"
CREATE OR REPLACE FUNCTION bookings_busy(
    p_calendar uuid, p_starts timestamptz, p_ends timestamptz, p_before_s bigint, p_after_s bigint, p_except uuid)
RETURNS boolean LANGUAGE sql VOLATILE AS $fn$
    SELECT EXISTS (
        SELECT 1 FROM calendar_events e
         WHERE e.calendar_id = p_calendar
           AND NOT e.cancelled
           AND e.starts_at < p_ends + make_interval(secs => p_after_s)
           AND e.ends_at > p_starts - make_interval(secs => p_before_s)
           AND e.ends_at > e.starts_at
           AND (p_except IS NULL OR e.id <> p_except))
$fn$"#;

const RESERVE: &str = r#"
CREATE OR REPLACE FUNCTION bookings_reserve(
    p_token varchar, p_version timestamptz, p_id uuid, p_starts timestamptz, p_ends timestamptz,
    p_before_s bigint, p_after_s bigint, p_limits text,
    p_title varchar, p_notes text, p_name varchar, p_email varchar, p_manage_hash varchar, p_now timestamptz,
    p_location text,
    OUT outcome text, OUT limit_index integer, OUT calendar_id uuid)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    link record;
BEGIN
    SELECT l.calendar_id AS cal, l.active, l.updated_at INTO link
      FROM booking_links l JOIN calendars c ON c.id = l.calendar_id
     WHERE l.token = p_token
       FOR UPDATE OF l, c;
    IF NOT FOUND OR NOT link.active THEN
        outcome := 'gone';
        RETURN;
    END IF;
    calendar_id := link.cal;
    IF link.updated_at IS DISTINCT FROM p_version THEN
        outcome := 'stale';
        RETURN;
    END IF;
    limit_index := bookings_full_limit(p_token, link.cal, p_starts, p_ends, p_limits, NULL);
    IF limit_index IS NOT NULL THEN
        outcome := 'full';
        RETURN;
    END IF;
    IF bookings_busy(link.cal, p_starts, p_ends, p_before_s, p_after_s, NULL) THEN
        outcome := 'busy';
        RETURN;
    END IF;
    INSERT INTO calendar_events (id, calendar_id, title, starts_at, ends_at, notes, source, booking_link_token,
                                 attendee_name, attendee_email, cancelled, created_at, manage_token_hash, sequence,
                                 location)
    VALUES (p_id, link.cal, p_title, p_starts, p_ends, p_notes, 'reservation', p_token,
            p_name, p_email, false, p_now, p_manage_hash, 0, p_location);
    outcome := 'ok';
END
$fn$"#;

/// Locks the link (active or not) and its calendar; `gone` without the link or the
/// reservation, `stale` when either is not as the application read it.
const RESCHEDULE: &str = r#"
CREATE OR REPLACE FUNCTION bookings_reschedule(
    p_token varchar, p_version timestamptz, p_event uuid, p_sequence integer,
    p_starts timestamptz, p_ends timestamptz, p_before_s bigint, p_after_s bigint, p_limits text, p_now timestamptz,
    OUT outcome text, OUT limit_index integer)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    link record;
    ev record;
BEGIN
    SELECT l.calendar_id AS cal, l.active, l.updated_at INTO link
      FROM booking_links l JOIN calendars c ON c.id = l.calendar_id
     WHERE l.token = p_token
       FOR UPDATE OF l, c;
    IF NOT FOUND THEN
        outcome := 'gone';
        RETURN;
    END IF;
    SELECT e.sequence, e.cancelled INTO ev
      FROM calendar_events e
     WHERE e.id = p_event AND e.calendar_id = link.cal AND e.booking_link_token = p_token;
    IF NOT FOUND THEN
        outcome := 'gone';
        RETURN;
    END IF;
    IF link.updated_at IS DISTINCT FROM p_version OR ev.cancelled OR ev.sequence <> p_sequence THEN
        outcome := 'stale';
        RETURN;
    END IF;
    limit_index := bookings_full_limit(p_token, link.cal, p_starts, p_ends, p_limits, p_event);
    IF limit_index IS NOT NULL THEN
        outcome := 'full';
        RETURN;
    END IF;
    IF bookings_busy(link.cal, p_starts, p_ends, p_before_s, p_after_s, p_event) THEN
        outcome := 'busy';
        RETURN;
    END IF;
    UPDATE calendar_events e
       SET starts_at = p_starts, ends_at = p_ends, sequence = e.sequence + 1, moved_at = p_now
     WHERE e.id = p_event;
    outcome := 'ok';
END
$fn$"#;

const CANCEL: &str = r#"
CREATE OR REPLACE FUNCTION bookings_cancel(
    p_token varchar, p_version timestamptz, p_event uuid, p_sequence integer, p_now timestamptz, p_reason text,
    OUT outcome text)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    link record;
    ev record;
BEGIN
    SELECT l.calendar_id AS cal, l.updated_at INTO link
      FROM booking_links l JOIN calendars c ON c.id = l.calendar_id
     WHERE l.token = p_token
       FOR UPDATE OF l, c;
    IF NOT FOUND THEN
        outcome := 'gone';
        RETURN;
    END IF;
    SELECT e.sequence, e.cancelled INTO ev
      FROM calendar_events e
     WHERE e.id = p_event AND e.calendar_id = link.cal AND e.booking_link_token = p_token;
    IF NOT FOUND THEN
        outcome := 'gone';
        RETURN;
    END IF;
    IF link.updated_at IS DISTINCT FROM p_version OR ev.cancelled OR ev.sequence <> p_sequence THEN
        outcome := 'stale';
        RETURN;
    END IF;
    UPDATE calendar_events e
       SET cancelled = true, cancelled_at = p_now, cancel_reason = p_reason, cancelled_by = 'guest'
     WHERE e.id = p_event;
    outcome := 'ok';
END
$fn$"#;

/// An order (bookEvents): the athlete's row (created if needed) and the events (in id order)
/// locked, as the transaction on SQLite does; then the order rules of `domain::bookings::
/// check_order`, written again here (the same tests hold both), decide each requested event
/// (`p_requested`: JSON `[{"event", "booking"}]` in request order, `booking` the id the new
/// booking gets); without an error the order and its bookings are inserted. One row per
/// requested event, in request order: its error (NULL when none), the new booking's ordinal
/// among the athlete's live bookings with that coach (NULL when nothing was written), and the
/// event's columns (NULL when there is no such event).
pub(crate) const ORDER: &str = r#"
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
    errs text[];
BEGIN
    INSERT INTO users AS u (id, email, updated_at) VALUES (p_user, NULL, p_now)
        ON CONFLICT (id) DO UPDATE SET id = u.id;
    PERFORM 1 FROM coach_events ce
      WHERE ce.id IN (SELECT (r->>'event')::uuid FROM jsonb_array_elements(p_requested::jsonb) r)
      ORDER BY ce.id
        FOR UPDATE;
    WITH req AS (
        SELECT x.i::integer AS pos, (x.r->>'event')::uuid AS event_id
          FROM jsonb_array_elements(p_requested::jsonb) WITH ORDINALITY AS x(r, i)),
    ev AS (
        SELECT req.pos, ce.id, ce.coach_id, ce.starts_at, ce.ends_at, ce.status, ce.places
          FROM req LEFT JOIN coach_events ce ON ce.id = req.event_id)
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
                          WHERE b.user_id = p_user AND b.status = ANY (live) AND b.event_id = ev.id)
              OR EXISTS (SELECT 1 FROM bookings b
                          WHERE b.user_id = p_user AND b.status = ANY (live)
                            AND b.starts_at > ev.starts_at - make_interval(secs => p_longest_s)
                            AND b.starts_at < ev.ends_at AND ev.starts_at < b.ends_at)
              OR EXISTS (SELECT 1 FROM ev o
                          WHERE o.pos <> ev.pos AND o.id IS NOT NULL AND o.status <> 'Canceled'
                            AND o.starts_at < ev.ends_at AND ev.starts_at < o.ends_at) THEN 'Conflict'
        END ORDER BY ev.pos) INTO errs
      FROM ev;
    IF NOT EXISTS (SELECT 1 FROM unnest(errs) e WHERE e IS NOT NULL) THEN
        INSERT INTO booking_orders (id, user_id, payment_status, created_at) VALUES (p_order, p_user, 'Cash', p_now);
        INSERT INTO bookings (id, order_id, user_id, coach_id, event_id, starts_at, ends_at, status, completed,
                              dismissed, created_at, updated_at)
        SELECT (x.r->>'booking')::uuid, p_order, p_user, ce.coach_id, ce.id, ce.starts_at, ce.ends_at,
               'Accepted', false, false, p_now, p_now
          FROM jsonb_array_elements(p_requested::jsonb) WITH ORDINALITY AS x(r, i)
          JOIN coach_events ce ON ce.id = (x.r->>'event')::uuid
         ORDER BY x.i;
    END IF;
    RETURN QUERY
    WITH req AS (
        SELECT x.i::integer AS pos, (x.r->>'event')::uuid AS event_id, (x.r->>'booking')::uuid AS booking_id
          FROM jsonb_array_elements(p_requested::jsonb) WITH ORDINALITY AS x(r, i)),
    mine AS (
        SELECT b.id, row_number() OVER (PARTITION BY b.coach_id ORDER BY b.starts_at, b.id) AS n
          FROM bookings b
         WHERE b.user_id = p_user AND b.status = ANY (live)
           AND b.coach_id IN (SELECT ce.coach_id FROM coach_events ce JOIN req ON ce.id = req.event_id))
    SELECT req.pos, errs[req.pos], mine.n,
           ce.id, ce.coach_id, ce.sport_id, ce.starts_at, ce.ends_at, ce.status, ce.time_slot_id, ce.places,
           ce.slot_type, ce.age_from, ce.age_to, ce.duration_minutes, ce.price, ce.price_currency,
           ce.payment_method, ce.address_id, ce.public, ce.level, ce.eligibility, ce.start_time, ce.end_time,
           ce.canceled_at, ce.created_at
      FROM req
      LEFT JOIN coach_events ce ON ce.id = req.event_id
      LEFT JOIN mine ON mine.id = req.booking_id
     ORDER BY req.pos;
END
$fn$"#;

const FUNCTIONS: [&str; 6] = [
    "bookings_reserve",
    "bookings_reschedule",
    "bookings_cancel",
    "bookings_full_limit",
    "bookings_busy",
    "bookings_order",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in [FULL_LIMIT, BUSY, RESERVE, RESCHEDULE, CANCEL, ORDER] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for name in FUNCTIONS {
            db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name} CASCADE")).await?;
        }
        Ok(())
    }
}
