//! The engine: every window of every local date around a range, resolved and joined at local
//! midnights into runs, each run's grid walked and every grid point judged by one predicate
//! ([`Judge::judge`]) that [`slots`] and [`check_slot`] share.

use std::cmp::{max, min};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use thiserror::Error;

use super::busy::BusyIndex;
use super::hours::{HoursWindow, MINUTES_PER_DAY};
use super::limits::{DayCounts, Limits, Reached};
use super::local_time::{
    ceil_div, instant_nanos, local_date, nanos, resolve_boundary, resolve_boundary_ns, Instants, Ns,
};
use super::offsets::ZoneOffsets;
use super::schedule::{Period, SlotAlignment};
use super::{Interval, LinkRules};

/// How a caller should answer a refused reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The link does not offer this slot (a 400).
    NotOffered,
    /// The slot would be offered, but its date, week, month or year has
    /// reached a limit (`max_bookings_per_day`, `booking_limits`,
    /// `duration_limits_minutes`; a 409).
    DateFull,
    /// The slot, with its buffers, overlaps busy time (a 409).
    Busy,
}

/// Why a slot is not offered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SlotError {
    /// The slot's real length is not the link's duration (or the link's
    /// duration is not positive).
    #[error("slot is {} long, but this link offers slots of {}", fmt_duration(.actual), fmt_duration(.expected))]
    WrongLength {
        /// The link's duration.
        expected: Duration,
        /// `slot.end - slot.start`.
        actual: Duration,
    },
    /// The slot does not start strictly after `now`.
    #[error("slot does not start after the current time")]
    InPast,
    /// The slot is not inside any one working-hours window.
    #[error("slot is not inside the link's working hours")]
    OutsideWorkingHours,
    /// (`slot_alignment: after_busy`) The slot is inside a window but does not start where its
    /// slots start.
    #[error("slot does not start where this link's slots start (every {} from the start of a working-hours window, from the end of busy time or from the end of the notice)", fmt_duration(.step))]
    NotAligned {
        /// The grid step (the interval; by default the link's duration).
        step: Duration,
    },
    /// The slot is inside a window but does not start on its grid.
    #[error("slot does not start on the link's grid (slots start every {} from the start of a working-hours window)", fmt_duration(.step))]
    NotOnGrid {
        /// The grid step (the interval; by default the link's duration).
        step: Duration,
    },
    /// The slot starts within the minimum notice (`min_notice_minutes`).
    #[error("slot starts too soon: this link needs {} notice", fmt_duration(.notice))]
    TooSoon {
        /// The minimum notice.
        notice: Duration,
    },
    /// The slot starts on a local date after today + `max_days_ahead`.
    #[error("slot is too far ahead: this link offers slots up to {last_date}")]
    TooFarAhead {
        /// The last local date with slots.
        last_date: NaiveDate,
    },
    /// The slot's local date already has `max_bookings_per_day` reservations.
    #[error("{date} is fully booked: this link takes at most {cap} reservations a day")]
    DateFull {
        /// The slot's local date.
        date: NaiveDate,
        /// `max_bookings_per_day`.
        cap: u32,
    },
    /// The slot's week, month or year already has as many reservations as `booking_limits`
    /// allows.
    #[error("{} is fully booked: this link takes at most {cap} reservations a {}", period_phrase(*.period, *.first), .period.name())]
    PeriodFull {
        /// The period.
        period: Period,
        /// Its first local date.
        first: NaiveDate,
        /// The limit.
        cap: u32,
    },
    /// The slot's minutes would pass `duration_limits_minutes` of its day or week.
    #[error("{} has no room for this slot: this link takes at most {cap} booked minutes a {}", period_phrase(*.period, *.first), .period.name())]
    MinutesFull {
        /// The period.
        period: Period,
        /// Its first local date.
        first: NaiveDate,
        /// The limit, in minutes.
        cap: u32,
    },
    /// The slot starts on a local date before `bookable_from`.
    #[error("slot is too early: this link offers slots from {first_date}")]
    BeforeBookable {
        /// The first local date with slots.
        first_date: NaiveDate,
    },
    /// The slot, with the link's buffers, overlaps busy time.
    #[error("this slot is no longer available")]
    Busy,
}

/// A period as a message names it: `2026-03-02`, `the week of 2026-03-02`, `2026-03`, `2026`.
fn period_phrase(period: Period, first: NaiveDate) -> String {
    match period {
        Period::Day => first.to_string(),
        Period::Week => format!("the week of {first}"),
        Period::Month => first.format("%Y-%m").to_string(),
        Period::Year => first.format("%Y").to_string(),
    }
}

impl SlotError {
    /// How a caller should answer: `DateFull` and `Busy` are conflicts with
    /// other bookings, every other error means the link does not offer the slot.
    #[must_use]
    pub fn refusal(&self) -> Refusal {
        match self {
            SlotError::DateFull { .. } | SlotError::PeriodFull { .. } | SlotError::MinutesFull { .. } => {
                Refusal::DateFull
            }
            SlotError::Busy => Refusal::Busy,
            _ => Refusal::NotOffered,
        }
    }
}

fn fmt_duration(d: &Duration) -> String {
    let secs = d.num_seconds();
    if d.subsec_nanos() == 0 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else if d.subsec_nanos() == 0 {
        format!("{secs} s")
    } else {
        format!("{d}")
    }
}

/// The grid origin of a run of windows with no beginning (every day before it
/// is 00:00-24:00): local midnight starting 2000-01-01.
fn unbounded_anchor(tz: Tz) -> Option<DateTime<Utc>> {
    resolve_boundary(tz, NaiveDate::from_ymd_opt(2000, 1, 1)?, 0)
}

/// One window of one local date, resolved to instants.
#[derive(Debug, Clone, Copy)]
struct Piece {
    date: NaiveDate,
    start: Ns,
    end: Ns,
    /// The date's first window, starting at 00:00.
    from_midnight: bool,
    /// Ends at "24:00".
    to_midnight: bool,
}

/// Windows joined at local midnights (a window ending at 24:00 and the next
/// date's window starting at 00:00): one range. Slots start on
/// `anchor + k × interval` and lie inside `[start, end)`.
#[derive(Debug, Clone)]
struct Run {
    /// Where the range begins (`Ns::MIN` when it has no beginning).
    start: Ns,
    /// The grid origin: `start`, or [`unbounded_anchor`].
    anchor: Ns,
    /// Where the range (as far as built) ends.
    end: Ns,
    /// Its pieces, in order.
    pieces: std::ops::Range<usize>,
}

impl LinkRules {
    /// `date`'s first window starts at 00:00 and the previous date's last
    /// window ends at 24:00: where does the range they belong to begin?
    /// `None` as the start: it has no beginning (then the grid runs from
    /// [`unbounded_anchor`]). Cost: O(7 + overrides).
    fn run_start(&self, date: NaiveDate) -> Option<(Ns, Ns)> {
        let full = [HoursWindow { start: 0, end: MINUTES_PER_DAY }];
        let all_full = self.hours.days.iter().all(|d| d[..] == full[..]);
        let overrides = self.schedule.date_overrides();
        let mut d = date; // d's first window starts at 00:00 and belongs to the range
        let mut steps = 0u32;
        loop {
            let Some(p) = d.pred_opt() else {
                let a = instant_nanos(unbounded_anchor(self.tz)?);
                return Some((Ns::MIN, a));
            };
            let ws = self.windows_on(p);
            match ws.last() {
                Some(w) if w.end == MINUTES_PER_DAY && ws.len() == 1 && w.start == 0 => d = p,
                Some(w) if w.end == MINUTES_PER_DAY => {
                    let s = resolve_boundary_ns(self.tz, p, w.start)?;
                    return Some((s, s));
                }
                _ => {
                    let s = resolve_boundary_ns(self.tz, d, 0)?;
                    return Some((s, s));
                }
            }
            steps += 1;
            if all_full && steps > 7 {
                // Every date without an override is 00:00-24:00: only an
                // override can end the range. Jump to the latest one before d.
                let i = overrides.partition_point(|o| o.date() < d);
                if i == 0 {
                    let a = instant_nanos(unbounded_anchor(self.tz)?);
                    return Some((Ns::MIN, a));
                }
                if let Some(next) = overrides[i - 1].date().succ_opt() {
                    d = min(d, next);
                }
            }
        }
    }

    /// Every window of every local date in `first..=last` (overrides replace
    /// weekdays), resolved, in order, grouped into runs. A run continuing
    /// from before `first` gets its real start. Stops early where chrono's
    /// range ends. Cost: O(days × windows + overrides).
    fn runs(&self, first: NaiveDate, last: NaiveDate) -> (Vec<Piece>, Vec<Run>) {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut runs: Vec<Run> = Vec::new();
        let overrides = self.schedule.date_overrides();
        let mut oi = overrides.partition_point(|o| o.date() < first);
        // The zone's offsets by span: one lookup for days of boundaries.
        let mut zone = ZoneOffsets::new(self.tz);
        let mut date = first;
        'dates: while date <= last {
            let windows = if oi < overrides.len() && overrides[oi].date() == date {
                oi += 1;
                overrides[oi - 1].windows()
            } else {
                self.hours.day(date.weekday())
            };
            for (wi, w) in windows.iter().enumerate() {
                let (Some(s), Some(e)) = (zone.boundary_ns(date, w.start), zone.boundary_ns(date, w.end)) else {
                    break 'dates;
                };
                let piece = Piece {
                    date,
                    start: s,
                    end: max(s, e),
                    from_midnight: wi == 0 && w.start == 0,
                    to_midnight: w.end == MINUTES_PER_DAY,
                };
                let joins = piece.from_midnight
                    && pieces.last().is_some_and(|p| p.to_midnight && p.date.succ_opt() == Some(date));
                let i = pieces.len();
                pieces.push(piece);
                if joins {
                    let run = runs.last_mut().expect("a joined piece follows a run");
                    run.end = piece.end;
                    run.pieces.end = i + 1;
                    continue;
                }
                let back = i == 0
                    && piece.from_midnight
                    && date
                        .pred_opt()
                        .is_some_and(|p| self.windows_on(p).last().is_some_and(|l| l.end == MINUTES_PER_DAY));
                let (start, anchor) = if back {
                    match self.run_start(date) {
                        Some(x) => x,
                        None => break 'dates,
                    }
                } else {
                    (piece.start, piece.start)
                };
                runs.push(Run { start, anchor, end: piece.end, pieces: i..i + 1 });
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        (pieces, runs)
    }
}

/// Everything a candidate slot is judged by beyond its window and grid.
struct Judge<'a> {
    now: Ns,
    notice: Duration,
    earliest: Ns,
    first_date: Option<NaiveDate>,
    last_date: Option<NaiveDate>,
    limits: Limits<'a>,
    busy: BusyIndex,
    cursor: usize,
}

impl<'a> Judge<'a> {
    fn new(
        rules: &LinkRules,
        busy: &[Interval],
        lo: Ns,
        hi: Ns,
        booked: &'a DayCounts,
        now: DateTime<Utc>,
    ) -> Judge<'a> {
        let notice = rules.schedule.min_notice();
        Judge {
            now: instant_nanos(now),
            notice,
            earliest: instant_nanos(now) + nanos(notice),
            first_date: rules.schedule.bookable_from(),
            last_date: rules.last_date(now),
            limits: Limits::new(rules, booked),
            busy: BusyIndex::new(rules, busy, lo, hi),
            cursor: 0,
        }
    }

    /// THE predicate: is a slot `[s, e)` that lies on the grid of one window
    /// or range, starting on local `date`, offered? Both [`slots`] and
    /// [`check_slot`] decide with it. Calls must come in order of `s`.
    fn judge(&mut self, s: Ns, e: Ns, date: NaiveDate) -> Result<(), SlotError> {
        if s <= self.now {
            return Err(SlotError::InPast);
        }
        if s <= self.earliest {
            return Err(SlotError::TooSoon { notice: self.notice });
        }
        if let Some(first_date) = self.first_date {
            if date < first_date {
                return Err(SlotError::BeforeBookable { first_date });
            }
        }
        if let Some(last_date) = self.last_date {
            if date > last_date {
                return Err(SlotError::TooFarAhead { last_date });
            }
        }
        match self.limits.reached_on(date) {
            None => {}
            Some(Reached::Count { period: Period::Day, cap, .. }) => return Err(SlotError::DateFull { date, cap }),
            Some(Reached::Count { period, first, cap }) => return Err(SlotError::PeriodFull { period, first, cap }),
            Some(Reached::Minutes { period, first, cap }) => return Err(SlotError::MinutesFull { period, first, cap }),
        }
        if self.busy.overlaps(&mut self.cursor, s, e) {
            return Err(SlotError::Busy);
        }
        Ok(())
    }
}

/// The slots the link offers inside `range` (`start >= range.start`,
/// `end <= range.end`), given the owner's `busy` intervals (any order, may
/// overlap), the live reservations through the link per local date
/// (`booked`, only read when `max_bookings_per_day` is set) and the current
/// instant `now`. Sorted by start, no duplicates; slots overlap each other
/// only when the interval is shorter than the duration.
///
/// Cost: O(days × windows per day + overrides + busy + output and rejected
/// grid points) when busy intervals come sorted or spread out (bucket sort;
/// busy × log busy at worst, all of them starting together). Busy intervals
/// are widened by the buffers, sorted and merged once; grid points are then
/// judged in order against them with a moving pointer, skipping the rest of a
/// busy block or of a full date at once.
#[must_use]
pub fn slots(
    rules: &LinkRules,
    range: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    now: DateTime<Utc>,
) -> Vec<Interval> {
    slots_framed(rules, None, range, busy, booked, now)
}

/// The windows of the local dates a listing of a range reads, resolved and joined into runs:
/// what [`slots`] walks. Calendars whose rules have the same zone, hours and overrides (a team
/// link's members) can share one: [`slots_in`].
pub(super) struct Frame {
    pieces: Vec<Piece>,
    runs: Vec<Run>,
}

impl Frame {
    /// The frame of a listing of `range` at `now`: local dates from the day before the local
    /// date of `max(range.start, now)` to the day after that of `range.end`.
    pub(super) fn new(rules: &LinkRules, range: Interval, now: DateTime<Utc>) -> Frame {
        let lower = max(range.start, now);
        let first = local_date(rules.tz, lower).pred_opt().unwrap_or(NaiveDate::MIN);
        let last = local_date(rules.tz, range.end).succ_opt().unwrap_or(NaiveDate::MAX);
        let (pieces, runs) = rules.runs(first, last);
        Frame { pieces, runs }
    }
}

/// [`slots`], walking `frame` instead of resolving the windows again. `frame` must be built
/// with rules of the same zone, hours and overrides as `rules`, for `range` or a range
/// holding it (more dates only add runs the walk skips).
pub(super) fn slots_in(
    frame: &Frame,
    rules: &LinkRules,
    range: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    now: DateTime<Utc>,
) -> Vec<Interval> {
    slots_framed(rules, Some(frame), range, busy, booked, now)
}

fn slots_framed(
    rules: &LinkRules,
    frame: Option<&Frame>,
    range: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    now: DateTime<Utc>,
) -> Vec<Interval> {
    let mut out = Vec::new();
    let (dur, iv) = (nanos(rules.duration), nanos(rules.interval()));
    if dur <= 0 || iv <= 0 || range.end <= range.start || range.end <= now {
        return out;
    }
    let (rs, re) = (instant_nanos(range.start), instant_nanos(range.end));
    // The first admissible start: at or after range.start, strictly after now + notice.
    let lo = max(rs, instant_nanos(now) + nanos(rules.schedule.min_notice()) + 1);
    if lo > re - dur {
        return out;
    }
    let own;
    let Frame { pieces, runs } = match frame {
        Some(f) => f,
        None => {
            own = Frame::new(rules, range, now);
            &own
        }
    };
    if rules.schedule.slot_alignment() == SlotAlignment::AfterBusy {
        // Busy time before `lo` in the same window sets where its slots start.
        let mut judge = Judge::new(rules, busy, lo - nanos(AFTER_BUSY_LOOKBACK), re, booked, now);
        after_busy_slots(&mut judge, pieces, runs, Span { lo, re, dur, iv }, &mut out);
        return out;
    }
    let mut judge = Judge::new(rules, busy, lo, re, booked, now);
    let mut instants = Instants::new();
    let room = grid_points(runs, lo, re, iv);
    out.reserve(room);
    for run in runs {
        let hi = min(run.end, re);
        let from = max(lo, run.start);
        if from > hi - dur {
            continue;
        }
        let mut s = run.anchor + ceil_div(from - run.anchor, iv) * iv;
        let mut j = run.pieces.start;
        while s <= hi - dur {
            while j + 1 < run.pieces.end && pieces[j].end <= s {
                j += 1;
            }
            let p = &pieces[j];
            match judge.judge(s, s + dur, p.date) {
                Ok(()) => {
                    let (Some(start), Some(end)) = (instants.at(s), instants.at(s + dur)) else { return out };
                    debug_assert!(out.last().is_none_or(|l: &Interval| l.start < start));
                    out.push(Interval { start, end });
                }
                // Dates only grow from here.
                Err(SlotError::TooFarAhead { .. }) => return out,
                Err(SlotError::DateFull { .. }) => {
                    // Every later grid point of this piece is on the same date.
                    if p.end > s + iv {
                        s += ceil_div(p.end - s, iv) * iv;
                        continue;
                    }
                }
                Err(SlotError::Busy) => {
                    // Every later grid point before the end of the busy block
                    // in the way overlaps it too (it starts later and ends
                    // later than this one): go to the first one at or after it.
                    let until = judge.busy.end_at(judge.cursor);
                    if until > s + iv {
                        s += ceil_div(until - s, iv) * iv;
                        continue;
                    }
                }
                Err(_) => {}
            }
            s += iv;
        }
    }
    // The property tests (debug builds) hold the estimate to what the walk offers.
    debug_assert!(out.len() <= room || room == GRID_POINTS_CAP, "{} slots, room for {room}", out.len());
    out
}

const GRID_POINTS_CAP: usize = 4_096;

/// How many grid points `iv` apart fit in the runs between `lo` and `re`: at most one more per
/// run than the slots a walk of them offers, so the list of slots is allocated once rather than
/// grown by doubling (capped: a busy calendar or a long duration offers far fewer).
fn grid_points(runs: &[Run], lo: Ns, re: Ns, iv: Ns) -> usize {
    const CAP: usize = GRID_POINTS_CAP;
    let mut n: usize = 0;
    for run in runs {
        let span = min(run.end, re) - max(run.start, lo);
        if span > 0 {
            n = n.saturating_add(usize::try_from(span / iv).unwrap_or(CAP).saturating_add(1));
        }
    }
    n.min(CAP)
}

/// How far before a window's first slot busy time can set where its slots start
/// (`slot_alignment: after_busy`): a window lies within one local date, at most 26 hours long.
pub const AFTER_BUSY_LOOKBACK: Duration = Duration::hours(26);

/// The bounds a walk keeps to: slots start at or after `lo` and end by `re`; `dur` long, `iv`
/// apart.
#[derive(Clone, Copy)]
struct Span {
    lo: Ns,
    re: Ns,
    dur: Ns,
    iv: Ns,
}

/// The smallest whole minute strictly after `earliest` (now + notice): where
/// `slot_alignment: after_busy` starts a grid after the notice.
fn notice_point(earliest: Ns) -> Ns {
    const MINUTE: Ns = 60_000_000_000;
    (earliest.div_euclid(MINUTE) + 1) * MINUTE
}

impl Judge<'_> {
    /// (`after_busy`) Where the grid holding `t` starts in a window starting at `start`: the
    /// latest of the window's start, the notice point and the end of busy time (with the
    /// buffer before) at or before `t`.
    fn anchor(&self, start: Ns, t: Ns) -> Ns {
        let np = notice_point(self.earliest);
        let mut a = start;
        if np <= t {
            a = max(a, np);
        }
        if let Some(b) = self.busy.last_end_until(t) {
            a = max(a, b);
        }
        a
    }

    /// (`after_busy`) The first point strictly after `t` that starts a grid of its own.
    fn next_anchor(&self, t: Ns) -> Option<Ns> {
        let np = notice_point(self.earliest);
        let b = self.busy.next_end_after(t);
        match (np > t, b) {
            (true, Some(b)) => Some(min(np, b)),
            (true, None) => Some(np),
            (false, b) => b,
        }
    }
}

/// [`slots`] with `slot_alignment: after_busy`: in each window of each local date (a range
/// joined at midnight restarts at each midnight), slots start at the window's start, at the
/// end of each busy block (with the buffer before) and at the notice point, each followed by
/// whole intervals until the next such point; every one judged by the same predicate.
fn after_busy_slots(judge: &mut Judge<'_>, pieces: &[Piece], runs: &[Run], span: Span, out: &mut Vec<Interval>) {
    let Span { lo, re, dur, iv } = span;
    let mut instants = Instants::new();
    for run in runs {
        let hi = min(run.end, re);
        for p in &pieces[run.pieces.clone()] {
            let from = max(lo, p.start);
            if from >= p.end || from > hi - dur {
                continue;
            }
            let a = judge.anchor(p.start, from);
            let mut s = a + ceil_div(from - a, iv) * iv;
            if let Some(r) = judge.next_anchor(from) {
                s = min(s, r);
            }
            while s < p.end && s <= hi - dur {
                match judge.judge(s, s + dur, p.date) {
                    Ok(()) => {
                        let (Some(start), Some(end)) = (instants.at(s), instants.at(s + dur)) else { return };
                        debug_assert!(out.last().is_none_or(|l: &Interval| l.start < start));
                        out.push(Interval { start, end });
                    }
                    Err(SlotError::TooFarAhead { .. }) => return,
                    // Every later point of this window is on the same date.
                    Err(SlotError::DateFull { .. } | SlotError::PeriodFull { .. } | SlotError::MinutesFull { .. }) => {
                        break
                    }
                    // Every point before the end of the block in the way overlaps it too, and
                    // that end starts the next grid.
                    Err(SlotError::Busy) => {
                        s = judge.busy.end_at(judge.cursor);
                        continue;
                    }
                    Err(_) => {}
                }
                let next = s + iv;
                s = judge.next_anchor(s).map_or(next, |r| min(next, r));
            }
        }
    }
}

/// Ok when a reservation of `slot` is accepted: exactly when [`slots`]
/// would offer it (for a range containing it) with the same inputs.
///
/// # Errors
///
/// The first rule the slot breaks, in this order: [`SlotError::WrongLength`],
/// [`SlotError::InPast`], [`SlotError::OutsideWorkingHours`] (not inside any
/// one window or range), [`SlotError::NotOnGrid`], then the judge's order:
/// [`SlotError::TooSoon`], [`SlotError::TooFarAhead`], [`SlotError::DateFull`],
/// [`SlotError::Busy`]. [`SlotError::refusal`] sorts them for the caller.
pub fn check_slot(
    rules: &LinkRules,
    slot: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    now: DateTime<Utc>,
) -> Result<(), SlotError> {
    let step = rules.duration;
    let actual = slot.end - slot.start;
    if step <= Duration::zero() || actual != step {
        return Err(SlotError::WrongLength { expected: step, actual });
    }
    if slot.start <= now {
        return Err(SlotError::InPast);
    }
    let iv = nanos(rules.interval());
    let (s, e) = (instant_nanos(slot.start), instant_nanos(slot.end));
    let first = local_date(rules.tz, slot.start).pred_opt().unwrap_or(NaiveDate::MIN);
    let last = local_date(rules.tz, slot.end).succ_opt().unwrap_or(NaiveDate::MAX);
    let (pieces, runs) = rules.runs(first, last);
    let Some(run) = runs.iter().find(|r| r.start <= s && e <= r.end) else {
        return Err(SlotError::OutsideWorkingHours);
    };
    if rules.schedule.slot_alignment() == SlotAlignment::AfterBusy {
        let Some(p) = pieces[run.pieces.clone()].iter().find(|p| p.start <= s && s < p.end) else {
            return Err(SlotError::OutsideWorkingHours);
        };
        let mut judge = Judge::new(rules, busy, p.start, e, booked, now);
        let a = judge.anchor(p.start, s);
        if iv <= 0 || (s - a).rem_euclid(iv) != 0 {
            return Err(SlotError::NotAligned { step: rules.interval() });
        }
        return judge.judge(s, e, p.date);
    }
    if iv <= 0 || (s - run.anchor).rem_euclid(iv) != 0 {
        return Err(SlotError::NotOnGrid { step: rules.interval() });
    }
    let date = pieces[run.pieces.clone()]
        .iter()
        .find(|p| p.start <= s && s < p.end)
        .map_or_else(|| rules.date_of(slot.start), |p| p.date);
    Judge::new(rules, busy, s, e, booked, now).judge(s, e, date)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod rules25_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod tests;
