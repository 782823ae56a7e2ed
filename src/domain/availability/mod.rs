//! Availability engine for booking links.
//!
//! Pure functions only: no I/O, no clock, no database. Given a link's rules
//! (slot length, buffer, time zone, weekly working hours), a requested range,
//! the owner's busy intervals and the current instant, compute the slots the
//! link offers.
//!
//! # The rules
//!
//! A slot `[start, end)` is offered when
//! 1. it lies inside one working-hours window of a local date in the link's
//!    time zone (the date's override windows if it has an override, else its
//!    weekday's), or inside one *range*: windows joined at midnight (a window
//!    ending at "24:00" and the next date's first window starting at "00:00",
//!    over as many dates as they join). Windows of one day that merely touch
//!    stay apart;
//! 2. its length is exactly `duration` of real (UTC) time;
//! 3. it starts on that window's or range's grid:
//!    `start_instant + k × interval` (k = 0, 1, 2, …; `interval` is
//!    `slot_interval_minutes`, by default `duration`) and ends no later than
//!    the window's or range's end instant. A range with no beginning (every
//!    day before it is 00:00-24:00) runs its grid from local midnight starting
//!    2000-01-01. With `slot_alignment: after_busy` each window of each local
//!    date also starts a grid right after each stretch of busy time (plus the
//!    buffer before) and at the first whole minute after `now + min_notice`,
//!    each followed by whole intervals until the next such point;
//! 4. it starts strictly after `now + min_notice`;
//! 5. its local date (see [`LinkRules::date_of`]) is at most
//!    [`LinkRules::last_date`] (`date_of(now) + max_days_ahead` calendar or
//!    working days, and `bookable_until`), and not before `bookable_from`;
//! 6. its local date, week, month and year hold fewer live reservations than
//!    their limits, and their booked minutes plus its own stay within theirs
//!    (counts given by the caller, [`DayCounts`]);
//! 7. `[start − buffer_before, end + buffer_after)` overlaps no busy interval
//!    (half-open: `a < d && c < b`; touching is not overlapping); busy time is
//!    raw: a reservation carries no buffer of its own;
//! 8. (listing only) it lies inside the requested range (`start >=
//!    range.start`, `end <= range.end`).
//!
//! Rules 4-7 are one predicate (`Judge::judge`), applied to the grid points
//! of the same ranges by both [`slots`] and [`check_slot`], so a reservation
//! is accepted exactly when availability offers it.
//!
//! # Local time → instant
//!
//! A window boundary "HH:MM" on local date D is turned into an instant with
//! these rules (they are all the same rule: *the first instant at which the
//! local wall clock reads HH:MM or later*):
//! * an ordinary local time maps to its unique instant;
//! * a local time in a repeated hour (DST ends) maps to its **first**
//!   (earlier) occurrence;
//! * a local time in a DST gap (it never exists) maps to the **first valid
//!   instant after the gap**, i.e. the transition instant
//!   (`America/New_York` 2026-03-08 02:30 → 03:00 EDT = 07:00Z);
//! * "24:00" is local midnight starting the next day, resolved the same way.
//!
//! The grid runs in **real time** from the window's start instant to its end
//! instant. On a day where a window spans a DST change, the window therefore
//! has a different real length from its nominal wall-clock length: NY
//! 2026-11-01 01:00–02:00 runs from 01:00 EDT (05:00Z) to 02:00 EST (07:00Z),
//! two real hours, and 30-minute slots start at 05:00Z, 05:30Z, 06:00Z and
//! 06:30Z (the last two read 01:00 and 01:30 EST on the wall). A window whose
//! two boundaries fall in the same gap is empty.
//!
//! Because this mapping is monotone (a later local time never maps to an
//! earlier instant), windows that are sorted and non-overlapping in local
//! time are sorted and non-overlapping in real time, across days too, so the
//! slots come out sorted with no duplicates (overlapping only when the
//! interval is shorter than the duration).
//!
//! # Decisions where the rules are silent
//! * Busy intervals with `end <= start` are empty and block nothing.
//! * A negative `buffer` is treated as zero; a `duration` that is not positive
//!   offers nothing (`check_slot` reports `WrongLength`).
//! * An empty or inverted `range` yields no slots.
//! * Time arithmetic that would leave chrono's representable range stops the
//!   enumeration instead of panicking.
//! * `check_slot` checks, in this order: length, past, inside a window or
//!   range, grid, then notice, days ahead, daily cap, busy; the first failure
//!   is reported, so "not offered" (400) wins over "date full" and "busy"
//!   (409). A slot that straddles two touching windows is not inside one
//!   window (`OutsideWorkingHours`).
//! * Local dates are taken from the day before the local date of
//!   `max(range.start, now)` (not `range.start`: earlier windows cannot hold a
//!   slot after `now`) to the day after the local date of `range.end`; a
//!   range already running on the first date is followed back to its start
//!   (O(7 + overrides)).
//! * With interval < duration, slots overlap each other; they come sorted by
//!   start.
//! * `WorkingHours::parse`: day keys are lower-case and exact; days not given
//!   have no windows; windows may come in any order and are stored sorted;
//!   the first error found is reported.
//!
//! # Team links
//!
//! A link may cover several calendars, its members ([`Team`]: `scheduling` `single`,
//! `collective` or `round_robin`, each member `{calendar_id, weight, max_bookings_per_day}`).
//! Each member has a one-calendar answer: [`slots`] with the link's rules and the lower of the
//! link's and the member's daily cap ([`TeamMember::rules`]), the member's own busy time and
//! the member's own reservations through the link (every limit counts per member). A
//! `collective` link offers the slots every member's answer offers (the **intersection**); a
//! `round_robin` link those any member's answer offers (the **union**), each with the members
//! that offer it ([`team_slots`]). [`check_team_slot`] is the same predicate for one slot
//! (one [`check_slot`] per member); refused, it reports the most decisive member's error: not
//! offered, then full, then busy. A round-robin reservation goes to one free member by
//! [`assign`]'s rule: the lowest `booked_in_period / weight` (the period: the calendar month of
//! now in the link's zone, [`current_period`]), then the longest since last booked (never
//! booked first), then the lowest index in `members`.
//!
//! # Where things are
//! * `hours`: weekly working hours and their windows, parsed from "HH:MM";
//!   `schedule`: the scheduling rules of issue #12, date overrides among them;
//! * `local_time`: local time → instant (the rules above), instants as nanoseconds;
//!   `offsets`: a zone's UTC offsets at the instants of an answer, looked up by spans;
//! * `busy`: the busy index (rule 7);
//! * `limits`: reservations counted (and their minutes summed) per local date, and the limits
//!   per day, week, month and year (rule 6, issue #25); `period_limit`: those limits as spans
//!   of instants and counts, for a database to check under its lock (PostgreSQL's one-call
//!   writes);
//! * `engine`: runs of windows, their grids, the one predicate, [`slots`] and
//!   [`check_slot`];
//! * `seats`: several visitors per slot (`seats_per_slot`, issue #25): a slot's session judged
//!   as if it were not there while it has seats left ([`seated_slots`], [`check_seat`]);
//! * `team`: team links (issue #25): members parsed ([`Team`]), [`team_slots`] and
//!   [`check_team_slot`] over the members' answers, and the round-robin rule ([`assign`]).

mod busy;
mod engine;
mod hours;
mod limits;
mod local_time;
mod offsets;
mod period_limit;
mod schedule;
mod seats;
mod team;
#[cfg(test)]
mod testing;

use std::cmp::max;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

pub use super::interval::Interval;
pub use engine::{check_slot, slots, Refusal, SlotError, AFTER_BUSY_LOOKBACK};
pub use hours::{
    format_hhmm, parse_windows, HoursWindow, HoursWindowError, WorkingHours, WorkingHoursError, DAY_KEYS,
    MINUTES_PER_DAY,
};
pub use limits::{count_per_date, counted_span, period_spans, tally_per_date, DayCounts, PeriodSpan, Tally};
pub use offsets::ZoneOffsets;
pub use period_limit::{limits_for, PeriodLimit};
pub use schedule::{
    DateOverride, Patch, Period, RawDateOverride, RawSchedulingRules, ScheduleError, SchedulePatch, SchedulingRules,
    SlotAlignment, WindowDays, MAX_BOOKINGS_PER_DAY, MAX_BOOKINGS_PER_MONTH, MAX_BOOKINGS_PER_WEEK,
    MAX_BOOKINGS_PER_YEAR, MAX_DATE_OVERRIDES, MAX_DAYS_AHEAD, MAX_MINUTES_PER_DAY, MAX_MINUTES_PER_WEEK,
    MAX_MIN_NOTICE_MINUTES, MAX_SEATS_PER_SLOT, MAX_SIDE_BUFFER_MINUTES, MAX_SLOT_INTERVAL_MINUTES,
    MIN_SLOT_INTERVAL_MINUTES,
};
pub use seats::{check_seat, seated_slots, Seat, SeatedSlot, Session};
pub use team::{
    assign, check_team_slot, current_period, team_slots, Candidate, MemberSet, MemberView, RawMember, Scheduling, Team,
    TeamError, TeamMember, TeamSlot, Weight, MAX_TEAM_MEMBERS, MAX_WEIGHT,
};

use local_time::{local_date, resolve_boundary};

/// The availability rules of one booking link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRules {
    /// Slot length in real time; also the grid step unless
    /// `slot_interval_minutes` is set.
    pub duration: Duration,
    /// Free time required before and after a slot (negative counts as zero),
    /// unless `buffer_before_minutes` / `buffer_after_minutes` are set.
    pub buffer: Duration,
    /// The zone the working hours are read in.
    pub tz: Tz,
    /// Weekly working hours, in local time of `tz`.
    pub hours: WorkingHours,
    /// The scheduling rules of issue #12; `SchedulingRules::default()` is
    /// today's behaviour.
    pub schedule: SchedulingRules,
}

impl LinkRules {
    /// The grid step: `slot_interval_minutes`, by default the duration.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.schedule.slot_interval().unwrap_or(self.duration)
    }

    /// Free time required before a slot: `buffer_before_minutes`, by default
    /// `buffer` (negative counts as zero).
    #[must_use]
    pub fn buffer_before(&self) -> Duration {
        max(self.schedule.buffer_before().unwrap_or(self.buffer), Duration::zero())
    }

    /// Free time required after a slot: `buffer_after_minutes`, by default
    /// `buffer` (negative counts as zero).
    #[must_use]
    pub fn buffer_after(&self) -> Duration {
        max(self.schedule.buffer_after().unwrap_or(self.buffer), Duration::zero())
    }

    /// The last local date slots may start on: today (the link's zone, [`Self::date_of`] now)
    /// plus `max_days_ahead` calendar days, or working days (`window_days_kind: business`:
    /// dates with a window, weekday's or override's), and not after `bookable_until`. `None`:
    /// no end.
    #[must_use]
    pub fn last_date(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        let today = self.date_of(now);
        let ahead = self.schedule.max_days_ahead().and_then(|n| match self.schedule.window_days_kind() {
            WindowDays::Calendar => today.checked_add_days(chrono::Days::new(n.into())),
            WindowDays::Business => Some(self.after_working_days(today, n)),
        });
        match (ahead, self.schedule.bookable_until()) {
            (Some(a), Some(u)) => Some(a.min(u)),
            (a, u) => a.or(u),
        }
    }

    /// The date `n` working days after `today` (a date with a window). A link that works on no
    /// weekday runs out of dates to look at after its overrides: then the date reached.
    fn after_working_days(&self, today: NaiveDate, n: u32) -> NaiveDate {
        let works_weekly = self.hours.days.iter().any(|d| !d.is_empty());
        let last_override = self.schedule.date_overrides().last().map(DateOverride::date);
        let mut d = today;
        let mut left = n;
        while left > 0 {
            let Some(next) = d.succ_opt() else { return d };
            d = next;
            if !works_weekly && last_override.is_none_or(|last| d > last) {
                return d;
            }
            if !self.windows_on(d).is_empty() {
                left -= 1;
            }
        }
        d
    }

    /// How far before a range or a slot busy time must be read: the widest buffer, and with
    /// `slot_alignment: after_busy` a window's length more ([`AFTER_BUSY_LOOKBACK`]).
    #[must_use]
    pub fn busy_lookback(&self) -> Duration {
        let widest = max(self.buffer_before(), self.buffer_after());
        match self.schedule.slot_alignment() {
            SlotAlignment::Grid => widest,
            SlotAlignment::AfterBusy => widest + AFTER_BUSY_LOOKBACK,
        }
    }

    /// The windows of a local date: its override's, else its weekday's.
    #[must_use]
    pub fn windows_on(&self, date: NaiveDate) -> &[HoursWindow] {
        match self.schedule.override_on(date) {
            Some(o) => o.windows(),
            None => self.hours.day(date.weekday()),
        }
    }

    /// The local date (link's zone) an instant belongs to for
    /// `max_days_ahead` and `max_bookings_per_day`: the date D with
    /// `midnight(D) <= t < midnight(D + 1)`, midnights resolved like window
    /// boundaries. That is the wall-clock date of `t` except inside a repeated
    /// hour that crosses midnight. Count reservations per date with this.
    #[must_use]
    pub fn date_of(&self, t: DateTime<Utc>) -> NaiveDate {
        let d = local_date(self.tz, t);
        if resolve_boundary(self.tz, d, 0).is_some_and(|m| t < m) {
            return d.pred_opt().unwrap_or(d);
        }
        if resolve_boundary(self.tz, d, MINUTES_PER_DAY).is_some_and(|m| m <= t) {
            return d.succ_opt().unwrap_or(d);
        }
        d
    }
}
