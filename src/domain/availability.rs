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
//! 1. it lies inside one working-hours window of its local day in the link's
//!    time zone;
//! 2. its length is exactly `duration` of real (UTC) time;
//! 3. it starts on that window's grid: `window_start_instant + k × duration`
//!    (k = 0, 1, 2, …) and ends no later than `window_end_instant`;
//! 4. it starts strictly after `now`;
//! 5. `[start − buffer, end + buffer)` overlaps no busy interval (half-open:
//!    `a < d && c < b`; touching is not overlapping);
//! 6. it lies inside the requested range (`start >= range.start`,
//!    `end <= range.end`).
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
//! slots come out sorted with no duplicates and no overlaps.
//!
//! # Decisions where the rules are silent
//! * Busy intervals with `end <= start` are empty and block nothing.
//! * A negative `buffer` is treated as zero; a `duration` that is not positive
//!   offers nothing (`check_offered` reports `WrongLength`).
//! * An empty or inverted `range` yields no slots.
//! * Time arithmetic that would leave chrono's representable range stops the
//!   enumeration instead of panicking.
//! * `check_offered` checks, in this order: length, past, inside a window,
//!   grid; the first failure is reported. A slot that straddles two touching
//!   windows is not inside one window (`OutsideWorkingHours`).
//! * Local dates are taken from the day before the local date of
//!   `max(range.start, now)` (not `range.start`: earlier windows cannot hold a
//!   slot after `now`) to the day after the local date of `range.end`.
//! * `WorkingHours::parse`: day keys are lower-case and exact; days not given
//!   have no windows; windows may come in any order and are stored sorted;
//!   the first error found is reported.

use std::cmp::{max, min};
use std::fmt;
use std::ops::ControlFlow;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use thiserror::Error;

/// Minutes in a day; as a window end it means "24:00".
pub const MINUTES_PER_DAY: u16 = 1440;

/// Day keys, index 0 = Monday .. 6 = Sunday.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A working-hours window on one local day: minutes since local midnight.
/// `start` in `0..1440`, `end` in `1..=1440` (1440 = "24:00"), `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// Minutes since local midnight, `0..1440`.
    pub start: u16,
    /// Minutes since local midnight, `1..=1440` (1440 = "24:00").
    pub end: u16,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", format_hhmm(self.start), format_hhmm(self.end))
    }
}

/// Formats minutes since midnight as "HH:MM"; 1440 → "24:00".
#[must_use]
pub fn format_hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Weekly working hours. Each day's windows are sorted and non-overlapping
/// (touching windows such as 09:00-12:00 and 12:00-17:00 are allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WorkingHours {
    days: [Vec<Window>; 7],
}

/// Why a working-hours definition was rejected. Window numbers are 1-based,
/// in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[allow(missing_docs)] // fields: the day key, the 1-based window number, the texts as given
pub enum WorkingHoursError {
    /// A day key other than "mon" .. "sun".
    #[error("unknown day {0:?}: expected one of mon, tue, wed, thu, fri, sat, sun")]
    UnknownDay(String),
    /// The same day key appears twice.
    #[error("{0} is given more than once")]
    DuplicateDay(&'static str),
    /// A start that is not "HH:MM" from 00:00 to 23:59.
    #[error("{day} window {index} ({start}-{end}): invalid start time {start:?}: expected HH:MM from 00:00 to 23:59")]
    BadStart { day: &'static str, index: usize, start: String, end: String },
    /// An end that is not "HH:MM" from 00:00 to 23:59, or "24:00".
    #[error(
        "{day} window {index} ({start}-{end}): invalid end time {end:?}: expected HH:MM from 00:00 to 23:59, or 24:00"
    )]
    BadEnd { day: &'static str, index: usize, start: String, end: String },
    /// A window whose start is not before its end.
    #[error("{day} window {index} ({window}): start must be before end")]
    StartNotBeforeEnd { day: &'static str, index: usize, window: String },
    /// Two windows of one day overlap (touching is fine); `window` is the one
    /// given later, `other` the one given earlier.
    #[error("{day} window {index} ({window}) overlaps {other}")]
    Overlap { day: &'static str, index: usize, window: String, other: String },
}

/// Parses "HH:MM" (exactly two digits each) into minutes since midnight.
/// Hours 00-23, minutes 00-59; "24:00" only when `allow_24` is set.
fn parse_hhmm(s: &str, allow_24: bool) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let digit = |c: u8| c.is_ascii_digit().then(|| u16::from(c - b'0'));
    let h = digit(b[0])? * 10 + digit(b[1])?;
    let m = digit(b[3])? * 10 + digit(b[4])?;
    match (h, m) {
        (0..=23, 0..=59) => Some(h * 60 + m),
        (24, 0) if allow_24 => Some(MINUTES_PER_DAY),
        _ => None,
    }
}

fn day_index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

impl WorkingHours {
    /// Parses working hours from `(day key, [(start, end), ...])` pairs.
    ///
    /// Day keys are exactly "mon" .. "sun"; days not given have no windows.
    /// Times are "HH:MM" with two digits each (00-23 / 00-59); an end may be
    /// "24:00", a start may not. Windows may be given in any order; they are
    /// stored sorted. Touching windows are fine, overlapping ones are not.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`WorkingHoursError`] naming the day and
    /// the window: unknown or repeated day key, malformed time, start not
    /// before end, or two overlapping windows.
    pub fn parse<'a>(
        days: impl IntoIterator<Item = (&'a str, Vec<(&'a str, &'a str)>)>,
    ) -> Result<WorkingHours, WorkingHoursError> {
        let mut out = WorkingHours::default();
        let mut seen = [false; 7];
        for (key, windows) in days {
            let idx =
                DAY_KEYS.iter().position(|k| *k == key).ok_or_else(|| WorkingHoursError::UnknownDay(key.to_owned()))?;
            let day = DAY_KEYS[idx];
            if std::mem::replace(&mut seen[idx], true) {
                return Err(WorkingHoursError::DuplicateDay(day));
            }
            // (window, 1-based index as given)
            let mut parsed: Vec<(Window, usize)> = Vec::with_capacity(windows.len());
            for (i, (s, e)) in windows.into_iter().enumerate() {
                let index = i + 1;
                let bad = |start: bool| {
                    let (start_s, end_s) = (s.to_owned(), e.to_owned());
                    if start {
                        WorkingHoursError::BadStart { day, index, start: start_s, end: end_s }
                    } else {
                        WorkingHoursError::BadEnd { day, index, start: start_s, end: end_s }
                    }
                };
                let start = parse_hhmm(s, false).ok_or_else(|| bad(true))?;
                let end = parse_hhmm(e, true).ok_or_else(|| bad(false))?;
                let w = Window { start, end };
                if start >= end {
                    return Err(WorkingHoursError::StartNotBeforeEnd { day, index, window: w.to_string() });
                }
                parsed.push((w, index));
            }
            parsed.sort();
            for pair in parsed.windows(2) {
                let ((a, ai), (b, bi)) = (pair[0], pair[1]);
                if b.start < a.end {
                    // Name the window given later, against the one given earlier.
                    let ((w, index), (other, _)) = if ai > bi { ((a, ai), (b, bi)) } else { ((b, bi), (a, ai)) };
                    return Err(WorkingHoursError::Overlap {
                        day,
                        index,
                        window: w.to_string(),
                        other: other.to_string(),
                    });
                }
            }
            out.days[idx] = parsed.into_iter().map(|(w, _)| w).collect();
        }
        Ok(out)
    }

    /// The windows of one weekday, sorted.
    #[must_use]
    pub fn day(&self, weekday: Weekday) -> &[Window] {
        &self.days[day_index(weekday)]
    }

    /// All seven days, Monday first, as (day key, windows); days without
    /// windows are included with an empty slice.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[Window])> + '_ {
        DAY_KEYS.iter().copied().zip(self.days.iter().map(Vec::as_slice))
    }

    /// The days that have windows, as (day key, [("HH:MM", "HH:MM"), ...]),
    /// suitable for echoing back; `parse` accepts this shape again.
    #[must_use]
    pub fn to_hhmm(&self) -> Vec<(&'static str, Vec<(String, String)>)> {
        self.iter()
            .filter(|(_, ws)| !ws.is_empty())
            .map(|(k, ws)| (k, ws.iter().map(|w| (format_hhmm(w.start), format_hhmm(w.end))).collect()))
            .collect()
    }

    /// True when no day has a window.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }
}

/// A half-open interval of real time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// First instant inside the interval.
    pub start: DateTime<Utc>,
    /// First instant after the interval.
    pub end: DateTime<Utc>,
}

/// The availability rules of one booking link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRules {
    /// Slot length in real time; also the grid step.
    pub duration: Duration,
    /// Free time required before and after a slot (negative counts as zero).
    pub buffer: Duration,
    /// The zone the working hours are read in.
    pub tz: Tz,
    /// Weekly working hours, in local time of `tz`.
    pub hours: WorkingHours,
}

/// Why a slot is not one the link offers (busy time not considered).
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
    /// The slot is inside a window but does not start on its grid.
    #[error("slot does not start on the link's grid (slots start every {} from the start of a working-hours window)", fmt_duration(.step))]
    NotOnGrid {
        /// The grid step (the link's duration).
        step: Duration,
    },
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

// ---------------------------------------------------------------------------
// Local time resolution
// ---------------------------------------------------------------------------

/// The first instant at which the local clock in `tz` reads `t` or later:
/// the unique instant for ordinary times, the earlier one for repeated
/// times, the end of the gap (the transition instant) for skipped times.
fn resolve_local(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) => Some(x.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(min(a.with_timezone(&Utc), b.with_timezone(&Utc))),
        LocalResult::None => gap_end(tz, t),
    }
}

/// `t` does not exist in `tz`: binary-search the smallest whole second `u`
/// whose local time is `>= t`. Transition instants are whole seconds, and no
/// UTC offset is 26 hours or more, so the answer lies in `t ∓ 26h`. Gaps are
/// rare (at most a few per zone and year), so this is not on a hot path.
fn gap_end(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    let local = |ts: i64| DateTime::from_timestamp(ts, 0).map(|u| u.with_timezone(&tz).naive_local());
    let guess = t.and_utc().timestamp();
    let mut lo = guess - 26 * 3600; // local(lo) < t
    let mut hi = guess + 26 * 3600; // local(hi) >= t
    local(lo)?;
    local(hi)?;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local(mid)? >= t {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

fn local_boundary(date: NaiveDate, minutes: u16) -> Option<NaiveDateTime> {
    if minutes >= MINUTES_PER_DAY {
        Some(date.succ_opt()?.and_time(NaiveTime::MIN))
    } else {
        let m = u32::from(minutes);
        Some(date.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0)?))
    }
}

/// Calls `f(start_instant, end_instant)` for every window of every local date
/// in `first..=last`, in order (which is also real-time order).
fn for_each_window(
    rules: &LinkRules,
    first: NaiveDate,
    last: NaiveDate,
    mut f: impl FnMut(DateTime<Utc>, DateTime<Utc>) -> ControlFlow<()>,
) {
    let mut date = first;
    while date <= last {
        for w in rules.hours.day(date.weekday()) {
            let (Some(s), Some(e)) = (local_boundary(date, w.start), local_boundary(date, w.end)) else {
                return;
            };
            let (Some(s), Some(e)) = (resolve_local(rules.tz, s), resolve_local(rules.tz, e)) else {
                return;
            };
            if s < e && f(s, e).is_break() {
                return;
            }
        }
        match date.succ_opt() {
            Some(d) => date = d,
            None => return,
        }
    }
}

fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

// ---------------------------------------------------------------------------
// Time arithmetic
// ---------------------------------------------------------------------------

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Exact nanoseconds of a duration (i128: no chrono value overflows it).
fn nanos(d: Duration) -> i128 {
    i128::from(d.num_seconds()) * i128::from(NANOS_PER_SEC) + i128::from(d.subsec_nanos())
}

/// Exact nanoseconds since the Unix epoch.
fn instant_nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * i128::from(NANOS_PER_SEC) + i128::from(t.timestamp_subsec_nanos())
}

fn effective_buffer(rules: &LinkRules) -> Duration {
    max(rules.buffer, Duration::zero())
}

/// The sweep measures time in i64 nanoseconds relative to its lower bound;
/// ranges reaching further than this past the lower bound are cut, at a local
/// midnight, into pieces of about this length (no window and hence no slot
/// crosses a local midnight, so the pieces' slots are exactly the range's).
/// 100 years keeps every offset the sweep uses far inside i64 (±292 years).
const MAX_SWEEP_DAYS: i64 = 36_500;

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/// The slots the link offers inside `range`, given the owner's `busy`
/// intervals (any order, may overlap) and the current instant `now`.
/// Sorted by start, no duplicates, no two overlapping.
///
/// Cost: O(days × windows per day + busy × log busy + output). Busy intervals
/// are widened by the buffer, sorted and merged once; slots are then swept in
/// order against them with a moving pointer. The only allocations are the
/// merged busy list and the output.
#[must_use]
pub fn available_slots(rules: &LinkRules, range: Interval, busy: &[Interval], now: DateTime<Utc>) -> Vec<Interval> {
    let mut out = Vec::new();
    if rules.duration <= Duration::zero() || range.end <= range.start || range.end <= now {
        return out;
    }
    let mut from = range.start;
    loop {
        let lower = max(from, now);
        if range.end - lower <= Duration::days(MAX_SWEEP_DAYS) {
            sweep(rules, from, range.end, busy, now, &mut out);
            return out;
        }
        // Only for absurdly long ranges: cut at a local midnight.
        let cut = local_date(rules.tz, lower)
            .checked_add_signed(Duration::days(MAX_SWEEP_DAYS - 100))
            .and_then(|d| resolve_local(rules.tz, d.and_time(NaiveTime::MIN)));
        let Some(cut) = cut else {
            return out;
        };
        sweep(rules, from, cut, busy, now, &mut out);
        from = cut;
    }
}

/// Appends the slots in `[from, to)` to `out`. Requires `to - max(from, now)`
/// to be at most `MAX_SWEEP_DAYS` and positive.
fn sweep(
    rules: &LinkRules,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    busy: &[Interval],
    now: DateTime<Utc>,
    out: &mut Vec<Interval>,
) {
    // A slot must start at or after `from` and strictly after `now`: with
    // `lower = max(from, now)` that is `start > lower` when now >= from and
    // `start >= lower` otherwise.
    let lower = max(from, now);
    let strict = now >= from;
    // Nanoseconds relative to `lower`, exact in i128, then clamped to i64.
    // Clamping only moves instants more than 292 years away from `lower`,
    // outside [lower, to] either way, so no comparison below changes.
    let (base_secs, base_sub) = (lower.timestamp(), i64::from(lower.timestamp_subsec_nanos()));
    let rel_exact = |t: DateTime<Utc>| {
        i128::from(t.timestamp() - base_secs) * i128::from(NANOS_PER_SEC)
            + i128::from(i64::from(t.timestamp_subsec_nanos()) - base_sub)
    };
    let clamp = |n: i128| i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX });
    let rel = |t: DateTime<Utc>| clamp(rel_exact(t));
    let Some(step) = rules.duration.num_nanoseconds() else {
        return; // longer than any sweep
    };
    let horizon = rel(to);
    if step > horizon {
        return; // no slot fits (this also keeps the grid arithmetic below in range)
    }

    // Busy intervals widened by the buffer, restricted to those that can meet
    // a slot, sorted by start and merged (touching ones too: for half-open
    // intervals the union overlaps exactly what one of the parts overlaps).
    let buffer = nanos(effective_buffer(rules));
    let mut blocks: Vec<(i64, i64)> = busy
        .iter()
        .filter(|b| b.start < b.end)
        .map(|b| (clamp(rel_exact(b.start) - buffer), clamp(rel_exact(b.end) + buffer)))
        .filter(|&(c, d)| d > 0 && c < horizon)
        .collect();
    blocks.sort_unstable_by_key(|&(c, _)| c);
    let mut merged = 0;
    for i in 0..blocks.len() {
        if merged > 0 && blocks[i].0 <= blocks[merged - 1].1 {
            blocks[merged - 1].1 = max(blocks[merged - 1].1, blocks[i].1);
        } else {
            blocks[merged] = blocks[i];
            merged += 1;
        }
    }
    blocks.truncate(merged);

    let first = local_date(rules.tz, lower).pred_opt().unwrap_or(NaiveDate::MIN);
    let last = local_date(rules.tz, to).succ_opt().unwrap_or(NaiveDate::MAX);
    let mut p = 0; // first block that may still overlap this or a later slot
    for_each_window(rules, first, last, |ws_at, we_at| {
        let (ws, we) = (rel(ws_at), rel(we_at));
        if ws >= horizon {
            return ControlFlow::Break(());
        }
        let hi = min(we, horizon);
        if hi <= 0 {
            return ControlFlow::Continue(());
        }
        // First grid point s = ws + k × step with s >= 0 (s > 0 when strict).
        let mut s = ws;
        if s < 0 || (strict && s == 0) {
            let k = if strict { -ws / step + 1 } else { (-ws + step - 1) / step };
            s = ws + k * step;
        }
        while hi - s >= step {
            let e = s + step;
            while p < blocks.len() && blocks[p].1 <= s {
                p += 1;
            }
            if p == blocks.len() || blocks[p].0 >= e {
                let at = |n: i64| ws_at.checked_add_signed(Duration::nanoseconds(n - ws));
                let (Some(start), Some(end)) = (at(s), at(e)) else {
                    return ControlFlow::Break(());
                };
                debug_assert!(out.last().is_none_or(|l: &Interval| l.end <= start));
                out.push(Interval { start, end });
            }
            s = e;
        }
        ControlFlow::Continue(())
    });
}

/// Ok when `slot` is a slot this link would offer if nobody were busy: the
/// right length, strictly after `now`, inside one working-hours window and on
/// that window's grid.
///
/// # Errors
///
/// The first rule the slot breaks, checked in this order:
/// [`SlotError::WrongLength`], [`SlotError::InPast`],
/// [`SlotError::OutsideWorkingHours`] (not inside any single window),
/// [`SlotError::NotOnGrid`] (inside a window, off its grid).
pub fn check_offered(rules: &LinkRules, slot: Interval, now: DateTime<Utc>) -> Result<(), SlotError> {
    let step = rules.duration;
    let actual = slot.end - slot.start;
    if step <= Duration::zero() || actual != step {
        return Err(SlotError::WrongLength { expected: step, actual });
    }
    if slot.start <= now {
        return Err(SlotError::InPast);
    }
    let day = local_date(rules.tz, slot.start);
    let first = day.pred_opt().unwrap_or(NaiveDate::MIN);
    let last = day.succ_opt().unwrap_or(NaiveDate::MAX);
    let mut result = Err(SlotError::OutsideWorkingHours);
    for_each_window(rules, first, last, |ws, we| {
        if ws > slot.start {
            return ControlFlow::Break(());
        }
        if slot.end <= we {
            result =
                if nanos(slot.start - ws) % nanos(step) == 0 { Ok(()) } else { Err(SlotError::NotOnGrid { step }) };
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    result
}

/// True when `slot` widened by the link's buffer on both sides,
/// `[start − buffer, end + buffer)`, overlaps any (non-empty) busy interval.
#[must_use]
pub fn overlaps_busy(rules: &LinkRules, slot: Interval, busy: &[Interval]) -> bool {
    let buffer = nanos(effective_buffer(rules));
    let a = instant_nanos(slot.start) - buffer;
    let b = instant_nanos(slot.end) + buffer;
    busy.iter().any(|x| x.start < x.end && a < instant_nanos(x.end) && instant_nanos(x.start) < b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DurationRound, NaiveDate, Offset};
    use chrono_tz::Tz;
    use proptest::prelude::*;

    // -----------------------------------------------------------------------
    // Helpers
    // -----------------------------------------------------------------------

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad test instant {s}: {e}")).with_timezone(&Utc)
    }

    fn iv(a: &str, b: &str) -> Interval {
        Interval { start: utc(a), end: utc(b) }
    }

    fn hours(spec: &[(&str, &[(&str, &str)])]) -> WorkingHours {
        WorkingHours::parse(spec.iter().map(|(d, ws)| (*d, ws.to_vec()))).unwrap()
    }

    fn rules(tz: Tz, duration_min: i64, buffer_min: i64, spec: &[(&str, &[(&str, &str)])]) -> LinkRules {
        LinkRules {
            duration: Duration::minutes(duration_min),
            buffer: Duration::minutes(buffer_min),
            tz,
            hours: hours(spec),
        }
    }

    /// Slot starts as "YYYY-MM-DDTHH:MMZ", after checking every slot has the
    /// link's length.
    fn starts(r: &LinkRules, slots: &[Interval]) -> Vec<String> {
        for s in slots {
            assert_eq!(s.end - s.start, r.duration, "slot {s:?} has the wrong length");
        }
        slots.iter().map(|s| s.start.format("%Y-%m-%dT%H:%MZ").to_string()).collect()
    }

    const LONG_AGO: &str = "2000-01-01T00:00:00Z";

    /// All slots of a range with nobody busy and `now` long ago.
    fn free(r: &LinkRules, from: &str, to: &str) -> Vec<String> {
        starts(r, &available_slots(r, iv(from, to), &[], utc(LONG_AGO)))
    }

    fn local(tz: Tz, t: DateTime<Utc>) -> String {
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
    }

    // -----------------------------------------------------------------------
    // Time zone data
    // -----------------------------------------------------------------------

    #[test]
    fn tzdata_is_2025a_or_newer() {
        let v = chrono_tz::IANA_TZDB_VERSION;
        assert!(v >= "2025a", "chrono-tz ships tzdata {v}, need >= 2025a");
    }

    #[test]
    fn asuncion_is_utc_minus_3_all_year_from_2025() {
        let tz = chrono_tz::America::Asuncion;
        let mut t = utc("2025-01-01T00:00:00Z");
        while t < utc("2031-01-01T00:00:00Z") {
            let off = tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc();
            assert_eq!(off, -3 * 3600, "America/Asuncion at {t}");
            t += Duration::hours(6);
        }
    }

    // -----------------------------------------------------------------------
    // Local time resolution
    // -----------------------------------------------------------------------

    fn ndt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn resolve_gap_moves_to_end_of_gap() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(resolve_local(ny, ndt("2026-03-08 02:30")), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-03-08 02:00")), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-03-08 03:00")), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-03-08 01:59")), Some(utc("2026-03-08T06:59:00Z")));
    }

    #[test]
    fn resolve_repeated_hour_takes_first_occurrence() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(resolve_local(ny, ndt("2026-11-01 01:00")), Some(utc("2026-11-01T05:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-11-01 01:59")), Some(utc("2026-11-01T05:59:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-11-01 02:00")), Some(utc("2026-11-01T07:00:00Z")));
    }

    /// Checks `resolve_local` against its definition, "the first instant at
    /// which the local clock reads t or later", computed by brute force over
    /// every UTC minute around every DST change 2025-2027 of every test zone.
    #[test]
    fn resolve_matches_definition_around_every_transition() {
        for &tz in ZONES {
            // Local dates on which the offset changes.
            let mut dates = Vec::new();
            let mut t = utc("2025-01-01T00:00:00Z");
            let off = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
            while t < utc("2028-01-01T00:00:00Z") {
                let n = t + Duration::hours(1);
                if off(t) != off(n) {
                    dates.push(n.with_timezone(&tz).date_naive());
                }
                t = n;
            }
            for date in dates {
                for day in [date.pred_opt().unwrap(), date, date.succ_opt().unwrap()] {
                    check_resolution_day(tz, day);
                }
            }
            // And one ordinary day.
            check_resolution_day(tz, NaiveDate::from_ymd_opt(2026, 6, 10).unwrap());
        }
    }

    fn check_resolution_day(tz: Tz, day: NaiveDate) {
        let midnight = day.and_time(NaiveTime::MIN);
        // Every UTC minute from 30h before to 54h after local midnight read as UTC.
        let base = midnight.and_utc() - Duration::hours(30);
        let us: Vec<DateTime<Utc>> = (0..84 * 60).map(|m| base + Duration::minutes(m)).collect();
        let mut running_max = Vec::with_capacity(us.len());
        let mut m = NaiveDateTime::MIN;
        for u in &us {
            m = max(m, u.with_timezone(&tz).naive_local());
            running_max.push(m);
        }
        let mut i = 0;
        for minute in 0..=1440 {
            let t = midnight + Duration::minutes(minute);
            while running_max[i] < t {
                i += 1;
            }
            assert_eq!(resolve_local(tz, t), Some(us[i]), "{tz} {t}");
            assert_eq!(ref_resolve(tz, t), us[i], "reference {tz} {t}");
        }
    }

    // -----------------------------------------------------------------------
    // Named cases
    // -----------------------------------------------------------------------

    #[test]
    fn new_york_spring_forward_2026_03_08() {
        let ny = chrono_tz::America::New_York;
        let r = rules(ny, 30, 0, &[("sun", &[("01:00", "04:00"), ("09:00", "10:00")])]);
        let slots = available_slots(&r, iv("2026-03-08T00:00:00Z", "2026-03-09T12:00:00Z"), &[], utc(LONG_AGO));
        // 01:00 EST = 06:00Z .. 04:00 EDT = 08:00Z: two real hours.
        assert_eq!(
            starts(&r, &slots),
            [
                "2026-03-08T06:00Z", // 01:00 EST
                "2026-03-08T06:30Z", // 01:30 EST
                "2026-03-08T07:00Z", // 03:00 EDT
                "2026-03-08T07:30Z", // 03:30 EDT
                "2026-03-08T13:00Z", // 09:00 EDT
                "2026-03-08T13:30Z",
            ]
        );
        assert_eq!(local(ny, slots[2].start), "2026-03-08 03:00 EDT");
    }

    #[test]
    fn new_york_fall_back_2026_11_01() {
        let ny = chrono_tz::America::New_York;
        let r = rules(ny, 60, 0, &[("sun", &[("00:00", "03:00"), ("09:00", "10:00")])]);
        let slots = available_slots(&r, iv("2026-11-01T00:00:00Z", "2026-11-02T12:00:00Z"), &[], utc(LONG_AGO));
        // 00:00 EDT = 04:00Z .. 03:00 EST = 08:00Z: four real hours.
        assert_eq!(
            starts(&r, &slots),
            [
                "2026-11-01T04:00Z", // 00:00 EDT
                "2026-11-01T05:00Z", // 01:00 EDT
                "2026-11-01T06:00Z", // 01:00 EST
                "2026-11-01T07:00Z", // 02:00 EST
                "2026-11-01T14:00Z", // 09:00 EST
            ]
        );
        assert_eq!(local(ny, slots[1].start), "2026-11-01 01:00 EDT");
        assert_eq!(local(ny, slots[2].start), "2026-11-01 01:00 EST");
    }

    #[test]
    fn berlin_spring_forward_2026_03_29() {
        let r = rules(chrono_tz::Europe::Berlin, 60, 0, &[("sun", &[("01:00", "04:00"), ("09:00", "10:00")])]);
        // 01:00 CET = 00:00Z .. 04:00 CEST = 02:00Z; 09:00 CEST = 07:00Z.
        assert_eq!(
            free(&r, "2026-03-28T12:00:00Z", "2026-03-30T00:00:00Z"),
            ["2026-03-29T00:00Z", "2026-03-29T01:00Z", "2026-03-29T07:00Z"]
        );
    }

    #[test]
    fn berlin_fall_back_2026_10_25() {
        let r = rules(chrono_tz::Europe::Berlin, 60, 0, &[("sun", &[("01:00", "04:00"), ("09:00", "10:00")])]);
        // 01:00 CEST = 23:00Z (Saturday) .. 04:00 CET = 03:00Z: four real hours.
        assert_eq!(
            free(&r, "2026-10-24T12:00:00Z", "2026-10-26T00:00:00Z"),
            [
                "2026-10-24T23:00Z", // 01:00 CEST
                "2026-10-25T00:00Z", // 02:00 CEST
                "2026-10-25T01:00Z", // 02:00 CET
                "2026-10-25T02:00Z", // 03:00 CET
                "2026-10-25T08:00Z", // 09:00 CET
            ]
        );
        // A window starting in the repeated hour starts at its first occurrence:
        // 02:00 CEST = 00:00Z .. 03:00 CET = 02:00Z.
        let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("sun", &[("02:00", "03:00")])]);
        assert_eq!(
            free(&r, "2026-10-24T12:00:00Z", "2026-10-26T00:00:00Z"),
            ["2026-10-25T00:00Z", "2026-10-25T00:30Z", "2026-10-25T01:00Z", "2026-10-25T01:30Z"]
        );
    }

    #[test]
    fn window_starting_inside_the_gap_starts_at_gap_end() {
        let ny = chrono_tz::America::New_York;
        // 02:30 does not exist on 2026-03-08; the window starts at 03:00 EDT = 07:00Z.
        let r = rules(ny, 30, 0, &[("sun", &[("02:30", "04:00")])]);
        let slots = available_slots(&r, iv("2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"), &[], utc(LONG_AGO));
        assert_eq!(starts(&r, &slots), ["2026-03-08T07:00Z", "2026-03-08T07:30Z"]);
        assert_eq!(local(ny, slots[0].start), "2026-03-08 03:00 EDT");
        // A window entirely inside the gap is empty.
        let r = rules(ny, 15, 0, &[("sun", &[("02:00", "02:45")])]);
        assert_eq!(free(&r, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"), Vec::<String>::new());
        // ...but the same window on an ordinary Sunday is 45 minutes long.
        assert_eq!(
            free(&r, "2026-03-15T00:00:00Z", "2026-03-16T00:00:00Z"),
            ["2026-03-15T06:00Z", "2026-03-15T06:15Z", "2026-03-15T06:30Z"]
        );
    }

    /// Decision: the grid runs in real time from the window's start instant
    /// (the first 01:00, EDT = 05:00Z) to its end instant (02:00 EST = 07:00Z),
    /// so the nominal one-hour window offers two real hours of slots.
    #[test]
    fn window_in_repeated_hour_uses_first_occurrence_and_real_length() {
        let ny = chrono_tz::America::New_York;
        let r = rules(ny, 30, 0, &[("sun", &[("01:00", "02:00")])]);
        let slots = available_slots(&r, iv("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), &[], utc(LONG_AGO));
        assert_eq!(
            starts(&r, &slots),
            ["2026-11-01T05:00Z", "2026-11-01T05:30Z", "2026-11-01T06:00Z", "2026-11-01T06:30Z"]
        );
        assert_eq!(local(ny, slots[0].start), "2026-11-01 01:00 EDT");
        assert_eq!(local(ny, slots[3].end), "2026-11-01 02:00 EST");
        // With 45-minute slots the grid is 05:00Z, 05:45Z, 06:30Z (ends 07:15Z > 07:00Z: not offered).
        let r = rules(ny, 45, 0, &[("sun", &[("01:00", "02:00")])]);
        assert_eq!(
            free(&r, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
            ["2026-11-01T05:00Z", "2026-11-01T05:45Z"]
        );
    }

    #[test]
    fn lord_howe_fall_back_2026_04_05() {
        let tz = chrono_tz::Australia::Lord_Howe;
        // 02:00 LHDT (+11) goes back to 01:30 LHST (+10:30).
        // 01:00 +11 = 14:00Z .. 03:00 +10:30 = 16:30Z: two and a half real hours.
        let r = rules(tz, 30, 0, &[("sun", &[("01:00", "03:00")])]);
        let slots = available_slots(&r, iv("2026-04-04T00:00:00Z", "2026-04-05T12:00:00Z"), &[], utc(LONG_AGO));
        assert_eq!(
            starts(&r, &slots),
            [
                "2026-04-04T14:00Z", // 01:00 +11
                "2026-04-04T14:30Z", // 01:30 +11
                "2026-04-04T15:00Z", // 01:30 +1030 (again)
                "2026-04-04T15:30Z", // 02:00 +1030
                "2026-04-04T16:00Z", // 02:30 +1030
            ]
        );
        assert_eq!(local(tz, slots[1].start), "2026-04-05 01:30 +11");
        assert_eq!(local(tz, slots[2].start), "2026-04-05 01:30 +1030");
        // Repeated 01:30: first occurrence (+11) = 14:30Z .. 02:00 +10:30 = 15:30Z.
        let r = rules(tz, 30, 0, &[("sun", &[("01:30", "02:00")])]);
        assert_eq!(
            free(&r, "2026-04-04T00:00:00Z", "2026-04-05T12:00:00Z"),
            ["2026-04-04T14:30Z", "2026-04-04T15:00Z"]
        );
    }

    #[test]
    fn lord_howe_spring_forward_2026_10_04() {
        let tz = chrono_tz::Australia::Lord_Howe;
        // 02:00 LHST (+10:30) jumps to 02:30 LHDT (+11).
        // 01:00 +10:30 = 14:30Z .. 03:00 +11 = 16:00Z: one and a half real hours.
        let r = rules(tz, 30, 0, &[("sun", &[("01:00", "03:00")])]);
        let slots = available_slots(&r, iv("2026-10-03T00:00:00Z", "2026-10-04T12:00:00Z"), &[], utc(LONG_AGO));
        assert_eq!(starts(&r, &slots), ["2026-10-03T14:30Z", "2026-10-03T15:00Z", "2026-10-03T15:30Z"]);
        assert_eq!(local(tz, slots[2].start), "2026-10-04 02:30 +11");
        // 02:00 is in the gap: the window starts at 02:30 +11 = 15:30Z.
        let r = rules(tz, 30, 0, &[("sun", &[("02:00", "03:00")])]);
        assert_eq!(free(&r, "2026-10-03T00:00:00Z", "2026-10-04T12:00:00Z"), ["2026-10-03T15:30Z"]);
    }

    #[test]
    fn kathmandu_0900_is_0315_utc() {
        let r = rules(chrono_tz::Asia::Kathmandu, 30, 0, &[("mon", &[("09:00", "10:00")])]);
        // Monday 2026-03-02, +05:45.
        assert_eq!(
            free(&r, "2026-03-01T12:00:00Z", "2026-03-03T00:00:00Z"),
            ["2026-03-02T03:15Z", "2026-03-02T03:45Z"]
        );
    }

    #[test]
    fn asuncion_is_minus_3_in_january_and_july_2026() {
        let r = rules(
            chrono_tz::America::Asuncion,
            60,
            0,
            &[("wed", &[("09:00", "10:00")]), ("thu", &[("09:00", "10:00")])],
        );
        // Thursday 2026-01-15 (southern summer) and Wednesday 2026-07-15 (winter).
        assert_eq!(free(&r, "2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z"), ["2026-01-15T12:00Z"]);
        assert_eq!(free(&r, "2026-07-15T00:00:00Z", "2026-07-16T00:00:00Z"), ["2026-07-15T12:00Z"]);
    }

    #[test]
    fn window_ending_at_24_00() {
        // UTC: Monday 22:00-24:00 touches Tuesday 00:00-01:00.
        let r = rules(Tz::UTC, 60, 0, &[("mon", &[("22:00", "24:00")]), ("tue", &[("00:00", "01:00")])]);
        assert_eq!(
            free(&r, "2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"),
            ["2026-03-02T22:00Z", "2026-03-02T23:00Z", "2026-03-03T00:00Z"]
        );
        // 24:00 is "midnight starting the next day", resolved with the same rules.
        // America/Santiago, Saturday 2026-09-05: midnight does not exist (00:00 -04
        // jumps to 01:00 -03 = 04:00Z), so 22:00-24:00 is 02:00Z..04:00Z and Sunday's
        // 00:00-02:00 is 04:00Z..05:00Z.
        let r = rules(
            chrono_tz::America::Santiago,
            60,
            0,
            &[("sat", &[("22:00", "24:00")]), ("sun", &[("00:00", "02:00")])],
        );
        assert_eq!(
            free(&r, "2026-09-05T12:00:00Z", "2026-09-06T12:00:00Z"),
            ["2026-09-06T02:00Z", "2026-09-06T03:00Z", "2026-09-06T04:00Z"]
        );
        // Saturday 2026-04-04: 24:00 -03 becomes 23:00 -04, so 23:00 repeats. The window
        // 23:00-24:00 runs from the first 23:00 (-03 = 02:00Z) to midnight (-04 = 04:00Z).
        let r = rules(chrono_tz::America::Santiago, 60, 0, &[("sat", &[("23:00", "24:00")])]);
        assert_eq!(
            free(&r, "2026-04-04T12:00:00Z", "2026-04-05T12:00:00Z"),
            ["2026-04-05T02:00Z", "2026-04-05T03:00Z"]
        );
    }

    #[test]
    fn busy_block_touching_slot_edge_without_buffer_offers_slot() {
        // Monday 2026-03-02, UTC. Busy right after the 09:00 slot and right before it.
        let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "10:00")])]);
        let busy = [iv("2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z")];
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        let got = available_slots(&r, range, &busy, utc(LONG_AGO));
        assert_eq!(starts(&r, &got), ["2026-03-02T09:00Z"]);
        assert!(!overlaps_busy(&r, got[0], &busy));
        let busy = [iv("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z")];
        let got = available_slots(&r, range, &busy, utc(LONG_AGO));
        assert_eq!(starts(&r, &got), ["2026-03-02T09:00Z", "2026-03-02T09:30Z"]);
    }

    #[test]
    fn busy_block_touching_slot_edge_with_buffer_blocks_slot() {
        let r = rules(Tz::UTC, 30, 10, &[("mon", &[("09:00", "10:00")])]);
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        let slot = iv("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z");
        // Busy after the slot: [08:50, 09:40) overlaps [09:30, 10:00).
        let busy = [iv("2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z")];
        assert_eq!(available_slots(&r, range, &busy, utc(LONG_AGO)), []);
        assert!(overlaps_busy(&r, slot, &busy));
        // Busy before the slot: ends at 09:00, 09:00 - 10 min < 09:00.
        let busy = [iv("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z")];
        assert_eq!(starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))), ["2026-03-02T09:30Z"]);
        assert!(overlaps_busy(&r, slot, &busy));
        // Busy ending exactly buffer before the slot: touching the widened slot, fine.
        let busy = [iv("2026-03-02T08:00:00Z", "2026-03-02T08:50:00Z")];
        assert_eq!(
            starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))),
            ["2026-03-02T09:00Z", "2026-03-02T09:30Z"]
        );
        assert!(!overlaps_busy(&r, slot, &busy));
    }

    #[test]
    fn empty_and_inverted_busy_intervals_block_nothing() {
        let r = rules(Tz::UTC, 30, 10, &[("mon", &[("09:00", "10:00")])]);
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        let busy =
            [iv("2026-03-02T09:15:00Z", "2026-03-02T09:15:00Z"), iv("2026-03-02T09:45:00Z", "2026-03-02T09:05:00Z")];
        assert_eq!(
            starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))),
            ["2026-03-02T09:00Z", "2026-03-02T09:30Z"]
        );
        assert!(!overlaps_busy(&r, iv("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z"), &busy));
    }

    #[test]
    fn overlapping_unsorted_busy_blocks_are_merged() {
        let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "13:00")])]);
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        let busy = [
            iv("2026-03-02T11:00:00Z", "2026-03-02T11:20:00Z"),
            iv("2026-03-02T09:10:00Z", "2026-03-02T10:00:00Z"),
            iv("2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z"),
            iv("2026-03-02T10:00:00Z", "2026-03-02T10:10:00Z"),
        ];
        assert_eq!(
            starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))),
            ["2026-03-02T10:30Z", "2026-03-02T11:30Z", "2026-03-02T12:00Z", "2026-03-02T12:30Z"]
        );
    }

    #[test]
    fn now_in_the_middle_of_a_window_offers_only_later_slots() {
        let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "12:00")])]);
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        let got = available_slots(&r, range, &[], utc("2026-03-02T10:10:00Z"));
        assert_eq!(starts(&r, &got), ["2026-03-02T10:30Z", "2026-03-02T11:00Z", "2026-03-02T11:30Z"]);
        // Strictly after now: a slot starting exactly at now is not offered.
        let got = available_slots(&r, range, &[], utc("2026-03-02T10:30:00Z"));
        assert_eq!(starts(&r, &got), ["2026-03-02T11:00Z", "2026-03-02T11:30Z"]);
        let got = available_slots(&r, range, &[], utc("2026-03-02T10:29:59.999Z"));
        assert_eq!(starts(&r, &got), ["2026-03-02T10:30Z", "2026-03-02T11:00Z", "2026-03-02T11:30Z"]);
        // Now exactly at the window start: the first slot is not offered.
        let got = available_slots(&r, range, &[], utc("2026-03-02T09:00:00Z"));
        assert_eq!(starts(&r, &got)[0], "2026-03-02T09:30Z");
        // Now after the range: nothing.
        assert_eq!(available_slots(&r, range, &[], utc("2026-03-04T00:00:00Z")), []);
    }

    #[test]
    fn range_boundaries_cut_a_window() {
        let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "12:00")])]);
        // The grid stays anchored at 09:00: no 09:15 slot, and 10:30-11:00 ends after 10:45.
        assert_eq!(
            free(&r, "2026-03-02T09:15:00Z", "2026-03-02T10:45:00Z"),
            ["2026-03-02T09:30Z", "2026-03-02T10:00Z"]
        );
        // Boundaries on the grid are inclusive.
        assert_eq!(
            free(&r, "2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"),
            ["2026-03-02T09:30Z", "2026-03-02T10:00Z"]
        );
        // Empty and inverted ranges.
        assert_eq!(free(&r, "2026-03-02T09:30:00Z", "2026-03-02T09:30:00Z"), Vec::<String>::new());
        assert_eq!(free(&r, "2026-03-02T12:00:00Z", "2026-03-02T09:00:00Z"), Vec::<String>::new());
    }

    #[test]
    fn touching_windows_restart_the_grid() {
        let r = rules(Tz::UTC, 45, 0, &[("mon", &[("09:00", "10:00"), ("10:00", "11:30")])]);
        assert_eq!(
            free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            ["2026-03-02T09:00Z", "2026-03-02T10:00Z", "2026-03-02T10:45Z"]
        );
    }

    #[test]
    fn multi_week_range_uses_each_weekday_and_nothing_else() {
        let r =
            rules(chrono_tz::Asia::Kolkata, 60, 0, &[("tue", &[("10:00", "11:00")]), ("sat", &[("14:00", "15:00")])]);
        // Tuesday 2026-03-03 and 10, Saturday 2026-03-07 and 14 (IST = +05:30).
        assert_eq!(
            free(&r, "2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z"),
            ["2026-03-03T04:30Z", "2026-03-07T08:30Z", "2026-03-10T04:30Z", "2026-03-14T08:30Z"]
        );
    }

    #[test]
    fn non_positive_duration_offers_nothing() {
        let mut r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "12:00")])]);
        r.duration = Duration::zero();
        assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"), Vec::<String>::new());
        assert!(matches!(
            check_offered(&r, iv("2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z"), utc(LONG_AGO)),
            Err(SlotError::WrongLength { .. })
        ));
    }

    #[test]
    fn negative_buffer_counts_as_zero() {
        let mut r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "10:00")])]);
        r.buffer = Duration::minutes(-10);
        let busy = [iv("2026-03-02T09:25:00Z", "2026-03-02T09:30:00Z")];
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        assert_eq!(starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))), ["2026-03-02T09:30Z"]);
    }

    /// Ranges longer than one sweep are cut at local midnights; the result is
    /// the same as computing decade by decade.
    #[test]
    fn very_long_range_matches_piecewise_computation() {
        let tz = chrono_tz::Europe::Berlin;
        // Every day has a slot across UTC midnight (00:00-01:30 local), so a cut
        // anywhere but at a local midnight would lose one.
        let night: &[(&str, &str)] = &[("00:00", "03:00")];
        let r = rules(
            tz,
            90,
            0,
            &[
                ("mon", &[("00:00", "03:00"), ("22:30", "24:00")]),
                ("tue", night),
                ("wed", night),
                ("thu", night),
                ("fri", night),
                ("sat", night),
                ("sun", night),
            ],
        );
        let full =
            available_slots(&r, iv("1800-01-01T00:00:00Z", "2150-01-01T00:00:00Z"), &[], utc("1700-01-01T00:00:00Z"));
        let mut pieces = Vec::new();
        let mut from = utc("1800-01-01T00:00:00Z");
        for year in (1810..=2150).step_by(10) {
            let to = min(
                resolve_local(tz, NaiveDate::from_ymd_opt(year, 1, 1).unwrap().and_time(NaiveTime::MIN)).unwrap(),
                utc("2150-01-01T00:00:00Z"),
            );
            pieces.extend(available_slots(&r, Interval { start: from, end: to }, &[], utc("1700-01-01T00:00:00Z")));
            from = to;
        }
        assert!(full.len() > 250_000, "{}", full.len());
        if full != pieces {
            let i = full.iter().zip(&pieces).take_while(|(a, b)| a == b).count();
            panic!(
                "{} slots in one call, {} piecewise; first difference at {i}: {:?} vs {:?}",
                full.len(),
                pieces.len(),
                full.get(i),
                pieces.get(i)
            );
        }
        assert!(full.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn huge_durations_and_buffers_do_not_overflow() {
        let mut r = rules(Tz::UTC, 60, 0, &[("mon", &[("00:00", "24:00")])]);
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        let busy = [iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")];
        r.buffer = Duration::MAX;
        assert_eq!(available_slots(&r, range, &busy, utc(LONG_AGO)), []);
        assert!(overlaps_busy(&r, iv("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"), &busy));
        // A 300-year buffer and a busy block 400 years away: 100 years apart, no overlap.
        r.buffer = Duration::days(300 * 365);
        let far = [Interval {
            start: utc("2026-03-02T10:00:00Z") + Duration::days(400 * 365),
            end: utc("2026-03-02T11:00:00Z") + Duration::days(400 * 365),
        }];
        assert_eq!(available_slots(&r, range, &far, utc(LONG_AGO)).len(), 24);
        assert!(!overlaps_busy(&r, iv("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"), &far));
        let near = [Interval {
            start: utc("2026-03-02T10:00:00Z") + Duration::days(299 * 365),
            end: utc("2026-03-02T11:00:00Z") + Duration::days(299 * 365),
        }];
        assert_eq!(available_slots(&r, range, &near, utc(LONG_AGO)), []);
        r.buffer = Duration::zero();
        r.duration = Duration::MAX;
        assert_eq!(available_slots(&r, range, &busy, utc(LONG_AGO)), []);
        r.duration = Duration::days(365 * 200);
        assert_eq!(available_slots(&r, iv("1900-01-01T00:00:00Z", "2300-01-01T00:00:00Z"), &busy, utc(LONG_AGO)), []);
        r.duration = Duration::hours(24);
        assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"), ["2026-03-02T00:00Z"]);
    }

    // -----------------------------------------------------------------------
    // check_offered
    // -----------------------------------------------------------------------

    #[test]
    fn check_offered_accepts_an_offered_slot() {
        let r = rules(chrono_tz::Europe::Berlin, 30, 10, &[("mon", &[("09:00", "12:00")])]);
        // Monday 2026-03-02, CET: 09:30 = 08:30Z.
        assert_eq!(check_offered(&r, iv("2026-03-02T08:30:00Z", "2026-03-02T09:00:00Z"), utc(LONG_AGO)), Ok(()));
    }

    #[test]
    fn check_offered_wrong_length() {
        let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00")])]);
        let err = check_offered(&r, iv("2026-03-02T08:30:00Z", "2026-03-02T09:15:00Z"), utc(LONG_AGO)).unwrap_err();
        assert_eq!(err, SlotError::WrongLength { expected: Duration::minutes(30), actual: Duration::minutes(45) });
        assert_eq!(err.to_string(), "slot is 45 min long, but this link offers slots of 30 min");
    }

    #[test]
    fn check_offered_not_on_grid() {
        let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00")])]);
        let err = check_offered(&r, iv("2026-03-02T08:15:00Z", "2026-03-02T08:45:00Z"), utc(LONG_AGO)).unwrap_err();
        assert_eq!(err, SlotError::NotOnGrid { step: Duration::minutes(30) });
        assert!(err.to_string().contains("every 30 min"), "{err}");
    }

    #[test]
    fn check_offered_outside_working_hours() {
        let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00"), ("12:00", "13:00")])]);
        // Tuesday: no windows.
        let err = check_offered(&r, iv("2026-03-03T08:00:00Z", "2026-03-03T08:30:00Z"), utc(LONG_AGO));
        assert_eq!(err, Err(SlotError::OutsideWorkingHours));
        // Monday 08:30-09:00 local: before the window.
        let err = check_offered(&r, iv("2026-03-02T07:30:00Z", "2026-03-02T08:00:00Z"), utc(LONG_AGO));
        assert_eq!(err, Err(SlotError::OutsideWorkingHours));
        // Straddling two touching windows (11:45-12:15 with 30-minute slots) is not inside one.
        let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:15", "12:00"), ("12:00", "13:00")])]);
        let err = check_offered(&r, iv("2026-03-02T10:45:00Z", "2026-03-02T11:15:00Z"), utc(LONG_AGO));
        assert_eq!(err, Err(SlotError::OutsideWorkingHours));
        assert_eq!(SlotError::OutsideWorkingHours.to_string(), "slot is not inside the link's working hours");
    }

    #[test]
    fn check_offered_in_past() {
        let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00")])]);
        let slot = iv("2026-03-02T08:30:00Z", "2026-03-02T09:00:00Z");
        assert_eq!(check_offered(&r, slot, utc("2026-03-02T08:30:00Z")), Err(SlotError::InPast));
        assert_eq!(check_offered(&r, slot, utc("2026-03-02T08:29:59Z")), Ok(()));
        assert_eq!(SlotError::InPast.to_string(), "slot does not start after the current time");
    }

    #[test]
    fn check_offered_on_dst_days() {
        let ny = chrono_tz::America::New_York;
        let r = rules(ny, 30, 0, &[("sun", &[("01:00", "02:00")])]);
        // Second 01:30 of 2026-11-01 (EST) is on the real-time grid of the window.
        assert_eq!(check_offered(&r, iv("2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"), utc(LONG_AGO)), Ok(()));
        assert_eq!(
            check_offered(&r, iv("2026-11-01T06:45:00Z", "2026-11-01T07:15:00Z"), utc(LONG_AGO)),
            Err(SlotError::OutsideWorkingHours)
        );
    }

    #[test]
    fn overlaps_busy_respects_buffer_and_half_open_bounds() {
        let r = rules(Tz::UTC, 30, 5, &[]);
        let slot = iv("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z");
        assert!(!overlaps_busy(&r, slot, &[]));
        assert!(!overlaps_busy(&r, slot, &[iv("2026-03-02T09:35:00Z", "2026-03-02T10:00:00Z")]));
        assert!(overlaps_busy(&r, slot, &[iv("2026-03-02T09:34:59Z", "2026-03-02T10:00:00Z")]));
        assert!(!overlaps_busy(&r, slot, &[iv("2026-03-02T08:00:00Z", "2026-03-02T08:55:00Z")]));
        assert!(overlaps_busy(&r, slot, &[iv("2026-03-02T08:00:00Z", "2026-03-02T08:55:01Z")]));
        assert!(overlaps_busy(&r, slot, &[iv("2026-03-02T08:00:00Z", "2026-03-02T11:00:00Z")]));
    }

    // -----------------------------------------------------------------------
    // WorkingHours parsing
    // -----------------------------------------------------------------------

    fn parse_err(spec: &[(&str, &[(&str, &str)])]) -> WorkingHoursError {
        WorkingHours::parse(spec.iter().map(|(d, ws)| (*d, ws.to_vec()))).unwrap_err()
    }

    #[test]
    fn parse_accepts_valid_hours_and_echoes_them() {
        let h = hours(&[
            ("fri", &[("13:00", "17:00"), ("09:00", "12:00")]),
            ("mon", &[("09:00", "12:00"), ("12:00", "17:00")]),
            ("sun", &[("00:00", "24:00")]),
            ("sat", &[]),
        ]);
        assert_eq!(h.day(Weekday::Mon), [Window { start: 540, end: 720 }, Window { start: 720, end: 1020 }]);
        assert_eq!(h.day(Weekday::Fri), [Window { start: 540, end: 720 }, Window { start: 780, end: 1020 }]);
        assert_eq!(h.day(Weekday::Sun), [Window { start: 0, end: 1440 }]);
        assert!(h.day(Weekday::Tue).is_empty() && h.day(Weekday::Sat).is_empty());
        let keys: Vec<_> = h.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, DAY_KEYS);
        let echoed = h.to_hhmm();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            echoed,
            vec![
                ("mon", vec![s("09:00", "12:00"), s("12:00", "17:00")]),
                ("fri", vec![s("09:00", "12:00"), s("13:00", "17:00")]),
                ("sun", vec![s("00:00", "24:00")]),
            ]
        );
        let again = WorkingHours::parse(
            echoed.iter().map(|(d, ws)| (*d, ws.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect())),
        )
        .unwrap();
        assert_eq!(again, h);
        assert!(WorkingHours::parse([]).unwrap().is_empty());
    }

    #[test]
    fn format_hhmm_pads_and_handles_24_00() {
        assert_eq!(format_hhmm(0), "00:00");
        assert_eq!(format_hhmm(545), "09:05");
        assert_eq!(format_hhmm(1439), "23:59");
        assert_eq!(format_hhmm(1440), "24:00");
        assert_eq!(Window { start: 540, end: 1440 }.to_string(), "09:00-24:00");
    }

    #[test]
    fn parse_rejects_single_digit_hour() {
        let e = parse_err(&[("mon", &[("9:00", "12:00")])]);
        assert!(matches!(e, WorkingHoursError::BadStart { day: "mon", index: 1, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            r#"mon window 1 (9:00-12:00): invalid start time "9:00": expected HH:MM from 00:00 to 23:59"#
        );
        for bad in ["09:0", "09-00", "0900", " 9:00", "09:00 ", "+9:00", "ab:cd", "", "09:00:00", "٠٩:٠٠"] {
            assert!(matches!(parse_err(&[("mon", &[(bad, "12:00")])]), WorkingHoursError::BadStart { .. }), "{bad:?}");
        }
    }

    #[test]
    fn parse_rejects_24_30_and_24_00_as_start() {
        let e = parse_err(&[("tue", &[("09:00", "24:30")])]);
        assert!(matches!(e, WorkingHoursError::BadEnd { day: "tue", index: 1, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            r#"tue window 1 (09:00-24:30): invalid end time "24:30": expected HH:MM from 00:00 to 23:59, or 24:00"#
        );
        let e = parse_err(&[("tue", &[("24:00", "24:00")])]);
        assert!(matches!(e, WorkingHoursError::BadStart { day: "tue", index: 1, .. }), "{e:?}");
        assert!(matches!(parse_err(&[("tue", &[("09:00", "25:00")])]), WorkingHoursError::BadEnd { .. }));
    }

    #[test]
    fn parse_rejects_minute_60() {
        let e = parse_err(&[("wed", &[("09:00", "10:00"), ("12:60", "13:00")])]);
        assert!(matches!(e, WorkingHoursError::BadStart { day: "wed", index: 2, .. }), "{e:?}");
        assert!(e.to_string().starts_with("wed window 2 (12:60-13:00): invalid start time \"12:60\""), "{e}");
    }

    #[test]
    fn parse_rejects_start_not_before_end() {
        let e = parse_err(&[("thu", &[("10:00", "10:00")])]);
        assert_eq!(e.to_string(), "thu window 1 (10:00-10:00): start must be before end");
        let e = parse_err(&[("thu", &[("09:00", "10:00"), ("17:00", "12:00")])]);
        assert_eq!(e.to_string(), "thu window 2 (17:00-12:00): start must be before end");
        let e = parse_err(&[("thu", &[("09:00", "00:00")])]);
        assert!(matches!(e, WorkingHoursError::StartNotBeforeEnd { .. }), "{e:?}");
    }

    #[test]
    fn parse_rejects_overlapping_windows() {
        let e = parse_err(&[("mon", &[("09:00", "12:00"), ("10:00", "11:00")])]);
        assert_eq!(e.to_string(), "mon window 2 (10:00-11:00) overlaps 09:00-12:00");
        // Given in reverse order: still names the later-given window.
        let e = parse_err(&[("fri", &[("11:00", "14:00"), ("09:00", "12:00")])]);
        assert_eq!(e.to_string(), "fri window 2 (09:00-12:00) overlaps 11:00-14:00");
        let e = parse_err(&[("sat", &[("09:00", "12:00"), ("09:00", "10:00")])]);
        assert!(matches!(e, WorkingHoursError::Overlap { day: "sat", index: 2, .. }), "{e:?}");
    }

    #[test]
    fn parse_rejects_unknown_day() {
        let e = parse_err(&[("mon2", &[("09:00", "12:00")])]);
        assert_eq!(e, WorkingHoursError::UnknownDay("mon2".into()));
        assert_eq!(e.to_string(), r#"unknown day "mon2": expected one of mon, tue, wed, thu, fri, sat, sun"#);
        assert!(matches!(parse_err(&[("Mon", &[])]), WorkingHoursError::UnknownDay(_)));
        assert!(matches!(parse_err(&[("monday", &[])]), WorkingHoursError::UnknownDay(_)));
    }

    #[test]
    fn parse_rejects_duplicate_day() {
        let e = parse_err(&[("mon", &[("09:00", "12:00")]), ("tue", &[]), ("mon", &[("13:00", "14:00")])]);
        assert_eq!(e, WorkingHoursError::DuplicateDay("mon"));
        assert_eq!(e.to_string(), "mon is given more than once");
    }

    // -----------------------------------------------------------------------
    // Reference implementation and property tests
    // -----------------------------------------------------------------------

    const ZONES: &[Tz] = &[
        chrono_tz::America::New_York,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::America::Asuncion,
        Tz::UTC,
        chrono_tz::Asia::Kolkata,
        chrono_tz::America::St_Johns,
        chrono_tz::America::Santiago,
    ];

    /// Naive local → instant: for a skipped time, walk forward minute by minute
    /// to the first local time that exists (transitions in these zones are on
    /// whole minutes); for a repeated time take the earlier instant.
    fn ref_resolve(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
        let mut t = t;
        loop {
            match tz.from_local_datetime(&t) {
                LocalResult::Single(x) => return x.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => {
                    return min(a.with_timezone(&Utc), b.with_timezone(&Utc));
                }
                LocalResult::None => t += Duration::minutes(1),
            }
        }
    }

    /// Brute force: every window of every date from three days before the
    /// range (by UTC date) to three days after, every grid point, every rule
    /// checked directly against every busy interval.
    fn ref_slots(r: &LinkRules, range: Interval, busy: &[Interval], now: DateTime<Utc>) -> Vec<Interval> {
        let buffer = max(r.buffer, Duration::zero());
        let mut out = Vec::new();
        let mut date = range.start.date_naive() - Duration::days(3);
        while date <= range.end.date_naive() + Duration::days(3) {
            for w in r.hours.day(date.weekday()) {
                let at = |m: u16| date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(m));
                let ws = ref_resolve(r.tz, at(w.start));
                let we = ref_resolve(r.tz, at(w.end));
                let mut k: i32 = 0;
                loop {
                    let s = ws + r.duration * k;
                    let e = s + r.duration;
                    if e > we {
                        break;
                    }
                    let clear = busy.iter().all(|b| !(b.start < b.end && s - buffer < b.end && b.start < e + buffer));
                    if s > now && s >= range.start && e <= range.end && clear {
                        out.push(Interval { start: s, end: e });
                    }
                    k += 1;
                }
            }
            date = date.succ_opt().unwrap();
        }
        out.sort();
        out
    }

    /// The window (of local dates around the slot) that contains `slot` on its
    /// grid, found with the reference resolution.
    fn ref_window_containing(r: &LinkRules, slot: Interval) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let day = slot.start.with_timezone(&r.tz).date_naive();
        for date in [day - Duration::days(1), day, day + Duration::days(1)] {
            for w in r.hours.day(date.weekday()) {
                let at = |m: u16| date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(m));
                let (ws, we) = (ref_resolve(r.tz, at(w.start)), ref_resolve(r.tz, at(w.end)));
                if ws <= slot.start && slot.end <= we && nanos(slot.start - ws) % nanos(r.duration) == 0 {
                    return Some((ws, we));
                }
            }
        }
        None
    }

    fn arb_zone() -> impl Strategy<Value = Tz> {
        prop::sample::select(ZONES)
    }

    /// Up to three windows a day, built from (gap, length) pairs so windows may
    /// touch; ends past midnight are clipped to 24:00. The first window starts
    /// within five hours of midnight, where DST changes happen. All values are
    /// rounded to multiples of `grain` minutes.
    fn build_hours(days: &[Vec<(u16, u16)>; 7], grain: u16) -> WorkingHours {
        let texts: Vec<(&str, Vec<(String, String)>)> = days
            .iter()
            .zip(DAY_KEYS)
            .map(|(pairs, key)| {
                let mut cur = 0u16;
                let mut ws = Vec::new();
                for &(gap, len) in pairs {
                    let start = cur + gap / grain * grain;
                    if start >= MINUTES_PER_DAY {
                        break;
                    }
                    let end = min(start + max(grain, len / grain * grain), MINUTES_PER_DAY);
                    ws.push((format_hhmm(start), format_hhmm(end)));
                    cur = end;
                }
                (key, ws)
            })
            .collect();
        WorkingHours::parse(
            texts.iter().map(|(k, ws)| (*k, ws.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect())),
        )
        .expect("generated hours are valid")
    }

    /// Granularity in minutes of generated times: 1 (anything), or coarser so
    /// that window edges, grid points, `now` and busy edges often coincide.
    fn arb_grain() -> impl Strategy<Value = u16> {
        prop_oneof![Just(1u16), Just(5), Just(15), Just(60)]
    }

    /// Rules with durations 5..=240 min and buffers 0..=60 min, rounded to the
    /// grain where that keeps them in range.
    fn arb_rules(grain: u16, tz: Tz) -> impl Strategy<Value = LinkRules> {
        let day = prop::collection::vec((0u16..=300, 1u16..=720), 0..=3);
        (5i64..=240, 0i64..=60, prop::array::uniform7(day)).prop_map(move |(d, b, days)| {
            let g = i64::from(grain);
            let d = if g <= 5 { d } else { max(g, d / g * g) };
            let b = if g == 1 { b } else { b / 5 * 5 };
            LinkRules {
                duration: Duration::minutes(min(d, 240)),
                buffer: Duration::minutes(b),
                tz,
                hours: build_hours(&days, grain),
            }
        })
    }

    /// DST change dates 2025-2027 (UTC midnight of the local day) of the test
    /// zones that have DST.
    fn dst_dates(tz: Tz) -> &'static [&'static str] {
        match tz {
            chrono_tz::America::New_York | chrono_tz::America::St_Johns => {
                &["2025-03-09", "2025-11-02", "2026-03-08", "2026-11-01", "2027-03-14", "2027-11-07"]
            }
            chrono_tz::Europe::Berlin => {
                &["2025-03-30", "2025-10-26", "2026-03-29", "2026-10-25", "2027-03-28", "2027-10-31"]
            }
            chrono_tz::Australia::Lord_Howe => {
                &["2025-04-06", "2025-10-05", "2026-04-05", "2026-10-04", "2027-04-04", "2027-10-03"]
            }
            chrono_tz::America::Santiago => {
                &["2025-04-06", "2025-09-07", "2026-04-05", "2026-09-06", "2027-04-04", "2027-09-05"]
            }
            // No DST from 2025 on (Asuncion: since tzdata 2025a).
            _ => &["2025-03-30", "2025-10-05", "2026-03-08", "2026-11-01", "2027-04-04", "2027-10-31"],
        }
    }

    /// Range start: anywhere in 2025-2027, or shortly before/after one of the
    /// zone's DST changes; on whole minutes or not.
    fn arb_range_start(tz: Tz) -> impl Strategy<Value = DateTime<Utc>> {
        let base = utc("2025-01-01T00:00:00Z");
        let anywhere = (0i64..3 * 365 * 24 * 60).prop_map(move |m| base + Duration::minutes(m));
        let near_dst = (prop::sample::select(dst_dates(tz)), -20 * 24 * 60i64..=3 * 24 * 60)
            .prop_map(|(d, m)| utc(&format!("{d}T00:00:00Z")) + Duration::minutes(m));
        let jitter = prop_oneof![3 => Just(0i64), 1 => 0i64..60_000];
        (prop_oneof![1 => anywhere, 2 => near_dst], jitter).prop_map(|(t, ms)| t + Duration::milliseconds(ms))
    }

    /// (rules, range, busy, now). Range up to 40 days; `now` from long before
    /// the range to well inside it; up to 40 busy blocks around the range,
    /// including empty and inverted ones.
    fn arb_case() -> impl Strategy<Value = (LinkRules, Interval, Vec<Interval>, DateTime<Utc>)> {
        (arb_grain(), arb_zone()).prop_flat_map(|(grain, tz)| {
            (
                arb_rules(grain, tz),
                arb_range_start(tz),
                prop_oneof![1 => 0i64..=24 * 60, 3 => 0i64..=40 * 24 * 60],
                prop_oneof![1 => Just(-400 * 86_400i64), 4 => -3 * 86_400i64..=30 * 86_400],
                prop::collection::vec((-2 * 24 * 60i64..=42 * 24 * 60, -30i64..=8 * 60), 0..=40),
            )
                .prop_map(move |(rules, start, len_min, now_off_s, busy)| {
                    let g = i64::from(grain);
                    let gd = Duration::minutes(g);
                    let start = if g == 1 { start } else { start.duration_trunc(gd).unwrap() };
                    let range = Interval { start, end: start + Duration::minutes(len_min / g * g) };
                    let origin = start.duration_trunc(Duration::minutes(1)).unwrap();
                    let busy = busy
                        .into_iter()
                        .map(|(off, len)| {
                            let s = origin + Duration::minutes(off / g * g);
                            Interval { start: s, end: s + Duration::minutes(len / g * g) }
                        })
                        .collect();
                    let now = if g == 1 {
                        start + Duration::seconds(now_off_s)
                    } else {
                        start + Duration::minutes(now_off_s / 60 / g * g)
                    };
                    (rules, range, busy, now)
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Soundness (every slot obeys every rule) and completeness (every slot
        /// the rules allow is offered), against the brute-force reference.
        #[test]
        fn slots_obey_rules_and_match_reference((r, range, busy, now) in arb_case()) {
            let got = available_slots(&r, range, &busy, now);
            for (i, s) in got.iter().enumerate() {
                prop_assert_eq!(s.end - s.start, r.duration, "length of {:?}", s);
                prop_assert!(s.start > now, "{:?} not after now {}", s, now);
                prop_assert!(s.start >= range.start && s.end <= range.end, "{:?} outside range", s);
                prop_assert!(!overlaps_busy(&r, *s, &busy), "{:?} overlaps busy", s);
                prop_assert!(ref_window_containing(&r, *s).is_some(), "{:?} not on a window's grid", s);
                prop_assert_eq!(check_offered(&r, *s, now), Ok(()));
                if i > 0 {
                    prop_assert!(got[i - 1].end <= s.start, "{:?} then {:?}: unsorted or overlapping", got[i - 1], s);
                }
            }
            let want = ref_slots(&r, range, &busy, now);
            prop_assert_eq!(got, want);
        }

        /// `check_offered` is Ok exactly for the slots `available_slots` offers
        /// when nobody is busy: offered slots, their neighbours on and off the
        /// grid, wrong lengths and random candidates.
        #[test]
        fn check_offered_agrees_with_available_slots(
            (r, start) in (arb_grain(), arb_zone())
                .prop_flat_map(|(grain, tz)| (arb_rules(grain, tz), arb_range_start(tz))),
            now_off_s in -86_400i64..=10 * 86_400,
            probes in prop::collection::vec((0i64..=14 * 24 * 60, 0i64..60, prop::bool::ANY), 0..=40),
        ) {
            let range = Interval { start, end: start + Duration::days(14) };
            // Half the time `now` is on a whole quarter hour, where window starts often are.
            let now = if now_off_s % 2 == 0 {
                (start + Duration::seconds(now_off_s)).duration_trunc(Duration::minutes(15)).unwrap()
            } else {
                start + Duration::seconds(now_off_s)
            };
            let offered = available_slots(&r, range, &[], now);
            let d = r.duration;
            let one = Duration::minutes(1);
            let mut candidates: Vec<Interval> = Vec::new();
            for s in &offered {
                for shift in [Duration::zero(), one, -one, d, -d, d / 2] {
                    candidates.push(Interval { start: s.start + shift, end: s.end + shift });
                }
                candidates.push(Interval { start: s.start, end: s.end + one });
                candidates.push(Interval { start: s.start, end: s.end - one });
            }
            for &(m, sec, aligned) in &probes {
                let t = if aligned {
                    start.duration_trunc(Duration::minutes(5)).unwrap() + Duration::minutes(m / 5 * 5)
                } else {
                    start + Duration::minutes(m) + Duration::seconds(sec)
                };
                candidates.push(Interval { start: t, end: t + d });
            }
            for c in candidates {
                if c.start < range.start || c.end > range.end {
                    continue;
                }
                let result = check_offered(&r, c, now);
                let member = offered.binary_search(&c).is_ok();
                prop_assert_eq!(result.is_ok(), member, "{:?}: {:?}", c, result);
                if c.end - c.start != d {
                    prop_assert!(matches!(result, Err(SlotError::WrongLength { .. })), "{:?}", result);
                } else if c.start <= now {
                    prop_assert_eq!(result, Err(SlotError::InPast));
                }
            }
        }

        /// The engine's gap resolution (binary search) agrees with the naive
        /// minute walk for arbitrary local times.
        #[test]
        fn resolve_local_matches_reference(tz in arb_zone(), m in 0i64..3 * 366 * 24 * 60) {
            let t = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap().and_time(NaiveTime::MIN) + Duration::minutes(m);
            prop_assert_eq!(resolve_local(tz, t), Some(ref_resolve(tz, t)));
        }

        /// `overlaps_busy` is the literal rule.
        #[test]
        fn overlaps_busy_is_the_literal_rule(
            buf in 0i64..=60,
            s in 0i64..=500, len in 1i64..=240,
            busy in prop::collection::vec((0i64..=800, -10i64..=300), 0..=5),
        ) {
            let base = utc("2026-01-01T00:00:00Z");
            let r = rules(Tz::UTC, len, buf, &[]);
            let slot = Interval { start: base + Duration::minutes(s), end: base + Duration::minutes(s + len) };
            let busy: Vec<Interval> = busy.iter().map(|&(b, l)| Interval {
                start: base + Duration::minutes(b), end: base + Duration::minutes(b + l),
            }).collect();
            let expect = busy.iter().any(|b| {
                b.start < b.end
                    && slot.start - Duration::minutes(buf) < b.end
                    && b.start < slot.end + Duration::minutes(buf)
            });
            prop_assert_eq!(overlaps_busy(&r, slot, &busy), expect);
        }
    }
}
