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
//!    2000-01-01;
//! 4. it starts strictly after `now + min_notice`;
//! 5. its local date (see [`LinkRules::date_of`]) is at most
//!    `date_of(now) + max_days_ahead`;
//! 6. its local date has fewer than `max_bookings_per_day` live reservations
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
//!   offers nothing (`check_offered` reports `WrongLength`).
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

mod schedule;

use std::cmp::{max, min};
use std::collections::BTreeMap;
use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use thiserror::Error;

pub use schedule::{
    DateOverride, Patch, RawDateOverride, RawSchedulingRules, ScheduleError, SchedulePatch, SchedulingRules,
    MAX_BOOKINGS_PER_DAY, MAX_DATE_OVERRIDES, MAX_DAYS_AHEAD, MAX_MIN_NOTICE_MINUTES, MAX_SIDE_BUFFER_MINUTES,
    MAX_SLOT_INTERVAL_MINUTES, MIN_SLOT_INTERVAL_MINUTES,
};

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

/// Why a list of windows (one weekday's, or one date override's) was
/// rejected. Window numbers are 1-based, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[allow(missing_docs)] // fields: the 1-based window number, the texts as given
pub enum WindowError {
    /// A start that is not "HH:MM" from 00:00 to 23:59.
    #[error("window {index} ({start}-{end}): invalid start time {start:?}: expected HH:MM from 00:00 to 23:59")]
    BadStart { index: usize, start: String, end: String },
    /// An end that is not "HH:MM" from 00:00 to 23:59, or "24:00".
    #[error("window {index} ({start}-{end}): invalid end time {end:?}: expected HH:MM from 00:00 to 23:59, or 24:00")]
    BadEnd { index: usize, start: String, end: String },
    /// A window whose start is not before its end.
    #[error("window {index} ({window}): start must be before end")]
    StartNotBeforeEnd { index: usize, window: String },
    /// Two windows overlap (touching is fine); `window` is the one given
    /// later, `other` the one given earlier.
    #[error("window {index} ({window}) overlaps {other}")]
    Overlap { index: usize, window: String, other: String },
}

impl WindowError {
    fn on_day(self, day: &'static str) -> WorkingHoursError {
        match self {
            WindowError::BadStart { index, start, end } => WorkingHoursError::BadStart { day, index, start, end },
            WindowError::BadEnd { index, start, end } => WorkingHoursError::BadEnd { day, index, start, end },
            WindowError::StartNotBeforeEnd { index, window } => {
                WorkingHoursError::StartNotBeforeEnd { day, index, window }
            }
            WindowError::Overlap { index, window, other } => WorkingHoursError::Overlap { day, index, window, other },
        }
    }
}

/// Parses one day's windows: "HH:MM" pairs, an end may be "24:00"; any order,
/// returned sorted; touching windows are fine, overlapping ones are not.
///
/// # Errors
///
/// The first problem found, naming the 1-based window as given.
pub fn parse_windows<S: AsRef<str>>(windows: impl IntoIterator<Item = (S, S)>) -> Result<Vec<Window>, WindowError> {
    // (window, 1-based index as given)
    let mut parsed: Vec<(Window, usize)> = Vec::new();
    for (i, (s, e)) in windows.into_iter().enumerate() {
        let (s, e) = (s.as_ref(), e.as_ref());
        let index = i + 1;
        let bad = |start: bool| {
            let (start_s, end_s) = (s.to_owned(), e.to_owned());
            if start {
                WindowError::BadStart { index, start: start_s, end: end_s }
            } else {
                WindowError::BadEnd { index, start: start_s, end: end_s }
            }
        };
        let start = parse_hhmm(s, false).ok_or_else(|| bad(true))?;
        let end = parse_hhmm(e, true).ok_or_else(|| bad(false))?;
        let w = Window { start, end };
        if start >= end {
            return Err(WindowError::StartNotBeforeEnd { index, window: w.to_string() });
        }
        parsed.push((w, index));
    }
    parsed.sort();
    for pair in parsed.windows(2) {
        let ((a, ai), (b, bi)) = (pair[0], pair[1]);
        if b.start < a.end {
            // Name the window given later, against the one given earlier.
            let ((w, index), (other, _)) = if ai > bi { ((a, ai), (b, bi)) } else { ((b, bi), (a, ai)) };
            return Err(WindowError::Overlap { index, window: w.to_string(), other: other.to_string() });
        }
    }
    Ok(parsed.into_iter().map(|(w, _)| w).collect())
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
            out.days[idx] = parse_windows(windows).map_err(|e| e.on_day(day))?;
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

pub use super::interval::Interval;

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

/// How a caller should answer a refused reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The link does not offer this slot (a 400).
    NotOffered,
    /// The slot would be offered, but its date has reached
    /// `max_bookings_per_day` (a 409).
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
    /// The slot, with the link's buffers, overlaps busy time.
    #[error("this slot is no longer available")]
    Busy,
}

impl SlotError {
    /// How a caller should answer: `DateFull` and `Busy` are conflicts with
    /// other bookings, every other error means the link does not offer the slot.
    #[must_use]
    pub fn refusal(&self) -> Refusal {
        match self {
            SlotError::DateFull { .. } => Refusal::DateFull,
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

/// Resolves window boundary `minutes` of local `date` ("24:00" is the next
/// date's midnight) with [`resolve_local`].
fn resolve_boundary(tz: Tz, date: NaiveDate, minutes: u16) -> Option<DateTime<Utc>> {
    resolve_local(tz, local_boundary(date, minutes)?)
}

/// [`resolve_boundary`] in nanoseconds since the epoch, for the engine's hot
/// path (two per window per date): the same rule, computed from the zone's
/// offset(s) at that local time (`offset_from_local_datetime`, one lookup in
/// the zone's table) rather than through `from_local_datetime`, which builds
/// and converts a `DateTime<Tz>` per candidate offset. Local times in a gap,
/// and dates near the ends of chrono's range (where subtracting an offset
/// could leave it), take [`resolve_local`] itself.
fn resolve_boundary_ns(tz: Tz, date: NaiveDate, minutes: u16) -> Option<Ns> {
    let t = local_boundary(date, minutes)?;
    if date.year().abs() < 200_000 {
        let local = instant_nanos(t.and_utc());
        let at =
            |o: <Tz as TimeZone>::Offset| local - i128::from(o.fix().local_minus_utc()) * i128::from(NANOS_PER_SEC);
        match tz.offset_from_local_datetime(&t) {
            LocalResult::Single(o) => return Some(at(o)),
            LocalResult::Ambiguous(a, b) => return Some(min(at(a), at(b))),
            LocalResult::None => {}
        }
    }
    resolve_local(tz, t).map(instant_nanos)
}

/// The wall-clock date of `t` in `tz`.
fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

// ---------------------------------------------------------------------------
// Time arithmetic
// ---------------------------------------------------------------------------

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Exact nanoseconds (i128: no chrono value overflows it).
type Ns = i128;

/// Exact nanoseconds of a duration.
fn nanos(d: Duration) -> Ns {
    i128::from(d.num_seconds()) * i128::from(NANOS_PER_SEC) + i128::from(d.subsec_nanos())
}

/// Exact nanoseconds since the Unix epoch.
fn instant_nanos(t: DateTime<Utc>) -> Ns {
    i128::from(t.timestamp()) * i128::from(NANOS_PER_SEC) + i128::from(t.timestamp_subsec_nanos())
}

/// `ceil(a / b)` for `b > 0`, any sign of `a`. In `i64` when both fit (every
/// instant from 1678 to 2261): a 128-bit division is a library call, many
/// times slower.
fn ceil_div(a: Ns, b: Ns) -> Ns {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) if a > i64::MIN => Ns::from(-(-a).div_euclid(b)),
        _ => -(-a).div_euclid(b),
    }
}

const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// Days from 0001-01-01 (day 1) to 1970-01-01, as `NaiveDate::from_num_days_from_ce_opt` counts.
const UNIX_EPOCH_DAY_CE: i64 = 719_163;

/// Instants back from nanoseconds, in order, remembering the last UTC date:
/// slots come sorted, many on one date, so most need only a time of day. The
/// same instant as `DateTime::from_timestamp`, or as the window start's
/// `DateTime` plus the offset with `checked_add_signed` (the way slots were
/// built before; its date arithmetic was most of a slot's cost); `None`
/// outside chrono's range.
struct Instants {
    day: i64,
    date: NaiveDate,
}

impl Instants {
    fn new() -> Instants {
        Instants { day: 0, date: DateTime::UNIX_EPOCH.date_naive() }
    }

    fn at(&mut self, t: Ns) -> Option<DateTime<Utc>> {
        let Ok(t) = i64::try_from(t) else {
            let secs = i64::try_from(t.div_euclid(i128::from(NANOS_PER_SEC))).ok()?;
            let sub = u32::try_from(t.rem_euclid(i128::from(NANOS_PER_SEC))).ok()?;
            return DateTime::from_timestamp(secs, sub);
        };
        let (day, in_day) = (t.div_euclid(NANOS_PER_DAY), t.rem_euclid(NANOS_PER_DAY));
        if day != self.day {
            self.date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + UNIX_EPOCH_DAY_CE).ok()?)?;
            self.day = day;
        }
        let secs = u32::try_from(in_day / NANOS_PER_SEC).ok()?;
        let sub = u32::try_from(in_day % NANOS_PER_SEC).ok()?;
        Some(self.date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, sub)?).and_utc())
    }
}

/// The grid origin of a run of windows with no beginning (every day before it
/// is 00:00-24:00): local midnight starting 2000-01-01.
fn unbounded_anchor(tz: Tz) -> Option<DateTime<Utc>> {
    resolve_boundary(tz, NaiveDate::from_ymd_opt(2000, 1, 1)?, 0)
}

// ---------------------------------------------------------------------------
// Windows, runs and the grid
// ---------------------------------------------------------------------------

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

    /// The windows of a local date: its override's, else its weekday's.
    #[must_use]
    pub fn windows_on(&self, date: NaiveDate) -> &[Window] {
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

    /// `date`'s first window starts at 00:00 and the previous date's last
    /// window ends at 24:00: where does the range they belong to begin?
    /// `None` as the start: it has no beginning (then the grid runs from
    /// [`unbounded_anchor`]). Cost: O(7 + overrides).
    fn run_start(&self, date: NaiveDate) -> Option<(Ns, Ns)> {
        let full = [Window { start: 0, end: MINUTES_PER_DAY }];
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
        let mut date = first;
        'dates: while date <= last {
            let windows = if oi < overrides.len() && overrides[oi].date() == date {
                oi += 1;
                overrides[oi - 1].windows()
            } else {
                self.hours.day(date.weekday())
            };
            for (wi, w) in windows.iter().enumerate() {
                let (Some(s), Some(e)) =
                    (resolve_boundary_ns(self.tz, date, w.start), resolve_boundary_ns(self.tz, date, w.end))
                else {
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

// ---------------------------------------------------------------------------
// The one predicate
// ---------------------------------------------------------------------------

/// Live reservations through a link per local date (the link's zone, dates
/// as [`LinkRules::date_of`] gives them). A missing date counts zero.
pub type DayCounts = BTreeMap<NaiveDate, u32>;

/// Busy time widened for the link's buffers, clipped to `[lo, hi]`, sorted
/// and merged: a slot `[s, e)` is blocked when `[s − before, e + after)`
/// overlaps a busy interval `[c, d)`, i.e. when `[s, e)` overlaps
/// `[c − after, d + before)`.
///
/// Clipping changes no answer for slots inside `[lo, hi]` (a block reaching
/// past an edge still reaches it). It lets the blocks be kept as `u64`
/// nanoseconds from `lo` (16 bytes a block instead of 32, cheaper to sort)
/// whenever `hi − lo` fits (584 years); wider spans keep `Ns`.
struct Busy {
    lo: Ns,
    span: Ns,
    blocks: Blocks,
}

enum Blocks {
    Narrow(Vec<(u64, u64)>),
    Wide(Vec<(Ns, Ns)>),
}

/// Sorts `v` by start and merges overlapping and touching blocks in place:
/// for half-open intervals the union overlaps exactly what one of the parts
/// overlaps. Busy time usually comes sorted (from the store), so that is
/// checked first (O(n)).
fn sort_and_merge<T: Copy + Ord>(v: &mut Vec<(T, T)>, sort: impl FnOnce(&mut Vec<(T, T)>)) {
    if !v.windows(2).all(|w| w[0].0 <= w[1].0) {
        sort(v);
    }
    let mut merged = 0;
    for i in 0..v.len() {
        if merged > 0 && v[i].0 <= v[merged - 1].1 {
            v[merged - 1].1 = max(v[merged - 1].1, v[i].1);
        } else {
            v[merged] = v[i];
            merged += 1;
        }
    }
    v.truncate(merged);
}

/// `num_days_from_ce` of dates, remembered by day of the year: busy blocks
/// fall on few dates, and the calendar arithmetic is most of the cost of
/// turning a block into nanoseconds.
struct DayNumbers {
    seen: [(NaiveDate, i32); 512],
}

impl DayNumbers {
    fn new() -> DayNumbers {
        let d = NaiveDate::MIN;
        DayNumbers { seen: [(d, d.num_days_from_ce()); 512] }
    }

    #[inline]
    fn of(&mut self, d: NaiveDate) -> i32 {
        let seen = &mut self.seen[d.ordinal0() as usize % 512];
        if seen.0 != d {
            *seen = (d, d.num_days_from_ce());
        }
        seen.1
    }
}

/// A non-empty busy interval widened by the buffers, in nanoseconds (`None`
/// when empty): [`instant_nanos`] of both ends, minus `after` and plus `before`.
#[inline]
fn widened(days: &mut DayNumbers, b: &Interval, before: Ns, after: Ns) -> Option<(Ns, Ns)> {
    if b.start >= b.end {
        return None;
    }
    let at = |days: &mut DayNumbers, t: NaiveDateTime| {
        let day = i64::from(days.of(t.date())) - UNIX_EPOCH_DAY_CE;
        let secs = day * 86_400 + i64::from(t.time().num_seconds_from_midnight());
        i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(t.time().nanosecond())
    };
    Some((at(days, b.start.naive_utc()) - after, at(days, b.end.naive_utc()) + before))
}

/// Sorts by start in O(n) when the starts are spread out, where
/// `sort_unstable` takes O(n log n) (a third of the engine's time with 10,000
/// blocks): a counting sort into about n buckets by the top bits of the start,
/// then each bucket sorted on its own (`sort_unstable` still: insertion sort
/// for the usual one or two blocks, O(k log k) for a crowded bucket, so the
/// worst case stays O(n log n)).
fn bucket_sort(v: &mut Vec<(u64, u64)>) {
    let n = v.len();
    let top = v.iter().map(|b| b.0).max().unwrap_or(0);
    if n < 32 || top == 0 || u32::try_from(n).is_err() {
        v.sort_unstable_by_key(|&(c, _)| c);
        return;
    }
    // Starts have `bits` significant bits; keep the top log2(n) of them (at
    // most n buckets).
    let bits = u64::BITS - top.leading_zeros();
    let shift = bits.saturating_sub(usize::BITS - 1 - n.leading_zeros());
    let bucket = |c: u64| usize::try_from(c >> shift).expect("at most n buckets");
    let buckets = bucket(top) + 1;
    // first[k]: where bucket k begins, then (after the scatter) where it ends.
    let mut first = vec![0u32; buckets + 1];
    for b in v.iter() {
        first[bucket(b.0) + 1] += 1;
    }
    for k in 1..=buckets {
        first[k] += first[k - 1];
    }
    let mut out = vec![(0, 0); n];
    for &b in v.iter() {
        let k = bucket(b.0);
        out[first[k] as usize] = b;
        first[k] += 1;
    }
    let mut begin = 0;
    for &end in &first[..buckets] {
        let bucket = &mut out[begin..end as usize];
        if bucket.len() > 8 {
            bucket.sort_unstable_by_key(|&(c, _)| c);
        } else {
            // Insertion sort: the library's small-slice sort costs more per
            // call than the one to three blocks a bucket usually holds.
            for i in 1..bucket.len() {
                let mut j = i;
                while j > 0 && bucket[j - 1].0 > bucket[j].0 {
                    bucket.swap(j - 1, j);
                    j -= 1;
                }
            }
        }
        begin = end as usize;
    }
    *v = out;
}

/// Whether `[s, e)` overlaps a block of sorted, merged `v`, moving `cursor`
/// forward past the blocks that end at or before `s`.
fn overlaps_from<T: Copy + Ord>(v: &[(T, T)], cursor: &mut usize, s: T, e: T) -> bool {
    while *cursor < v.len() && v[*cursor].1 <= s {
        *cursor += 1;
    }
    *cursor < v.len() && v[*cursor].0 < e
}

impl Busy {
    /// Keeps only the blocks that can meet a slot inside `[lo, hi)`.
    fn new(rules: &LinkRules, busy: &[Interval], lo: Ns, hi: Ns) -> Busy {
        let (before, after) = (nanos(rules.buffer_before()), nanos(rules.buffer_after()));
        let span = max(hi - lo, 0);
        let mut days = DayNumbers::new();
        let blocks = if u64::try_from(span).is_ok() {
            let mut v = Vec::with_capacity(busy.len());
            for b in busy {
                if let Some((c, d)) = widened(&mut days, b, before, after) {
                    if d > lo && c < hi {
                        // In [0, span] by the clip, so the casts are exact.
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        v.push(((max(c, lo) - lo) as u64, (min(d, hi) - lo) as u64));
                    }
                }
            }
            sort_and_merge(&mut v, bucket_sort);
            Blocks::Narrow(v)
        } else {
            let mut v: Vec<(Ns, Ns)> = busy
                .iter()
                .filter_map(|b| widened(&mut days, b, before, after))
                .filter(|&(c, d)| d > lo && c < hi)
                .collect();
            sort_and_merge(&mut v, |v| v.sort_unstable_by_key(|&(c, _)| c));
            Blocks::Wide(v)
        };
        Busy { lo, span, blocks }
    }

    /// Whether `[s, e)` (inside `[lo, hi]`) overlaps a block. `cursor` only
    /// moves forward, so calls must come in order of `s` (amortised O(1)
    /// each).
    fn overlaps(&self, cursor: &mut usize, s: Ns, e: Ns) -> bool {
        match &self.blocks {
            Blocks::Narrow(v) => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let at = |t: Ns| (t - self.lo).clamp(0, self.span) as u64;
                overlaps_from(v, cursor, at(s), at(e))
            }
            Blocks::Wide(v) => overlaps_from(v, cursor, s, e),
        }
    }

    /// The end of block `cursor` (after [`Busy::overlaps`] found it in the way).
    fn end_at(&self, cursor: usize) -> Ns {
        match &self.blocks {
            Blocks::Narrow(v) => self.lo + Ns::from(v[cursor].1),
            Blocks::Wide(v) => v[cursor].1,
        }
    }
}

/// Everything a candidate slot is judged by beyond its window and grid.
struct Judge<'a> {
    now: Ns,
    notice: Duration,
    earliest: Ns,
    last_date: Option<NaiveDate>,
    cap: Option<u32>,
    booked: &'a DayCounts,
    full: Option<(NaiveDate, bool)>,
    busy: Busy,
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
        let last_date = rules
            .schedule
            .max_days_ahead()
            .and_then(|n| rules.date_of(now).checked_add_days(chrono::Days::new(n.into())));
        Judge {
            now: instant_nanos(now),
            notice,
            earliest: instant_nanos(now) + nanos(notice),
            last_date,
            cap: rules.schedule.max_bookings_per_day(),
            booked,
            full: None,
            busy: Busy::new(rules, busy, lo, hi),
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
        if let Some(last_date) = self.last_date {
            if date > last_date {
                return Err(SlotError::TooFarAhead { last_date });
            }
        }
        if let Some(cap) = self.cap {
            let full = match self.full {
                Some((d, full)) if d == date => full,
                _ => {
                    let full = self.booked.get(&date).is_some_and(|&n| n >= cap);
                    self.full = Some((date, full));
                    full
                }
            };
            if full {
                return Err(SlotError::DateFull { date, cap });
            }
        }
        if self.busy.overlaps(&mut self.cursor, s, e) {
            return Err(SlotError::Busy);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

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
    let lower = max(range.start, now);
    let first = local_date(rules.tz, lower).pred_opt().unwrap_or(NaiveDate::MIN);
    let last = local_date(rules.tz, range.end).succ_opt().unwrap_or(NaiveDate::MAX);
    let mut judge = Judge::new(rules, busy, lo, re, booked, now);
    let (pieces, runs) = rules.runs(first, last);
    let mut instants = Instants::new();
    for run in &runs {
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
    out
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
    if iv <= 0 || (s - run.anchor).rem_euclid(iv) != 0 {
        return Err(SlotError::NotOnGrid { step: rules.interval() });
    }
    let date = pieces[run.pieces.clone()]
        .iter()
        .find(|p| p.start <= s && s < p.end)
        .map_or_else(|| rules.date_of(slot.start), |p| p.date);
    Judge::new(rules, busy, s, e, booked, now).judge(s, e, date)
}

/// [`slots`] with nobody booked through the link (the daily cap never
/// binds). Kept for callers that do not count reservations yet.
#[must_use]
pub fn available_slots(rules: &LinkRules, range: Interval, busy: &[Interval], now: DateTime<Utc>) -> Vec<Interval> {
    slots(rules, range, busy, &DayCounts::new(), now)
}

/// [`check_slot`] with nobody busy and nobody booked: Ok when `slot` is one
/// the link would offer if its calendar were empty.
///
/// # Errors
///
/// As [`check_slot`], never `DateFull` or `Busy`.
pub fn check_offered(rules: &LinkRules, slot: Interval, now: DateTime<Utc>) -> Result<(), SlotError> {
    check_slot(rules, slot, &[], &DayCounts::new(), now)
}

/// True when `[start − buffer_before, end + buffer_after)` overlaps any
/// (non-empty) busy interval: the judge's busy rule on its own.
#[must_use]
pub fn overlaps_busy(rules: &LinkRules, slot: Interval, busy: &[Interval]) -> bool {
    let (s, e) = (instant_nanos(slot.start), instant_nanos(slot.end));
    Busy::new(rules, busy, s, e).overlaps(&mut 0, s, e)
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
            schedule: SchedulingRules::default(),
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
    // Scheduling rules (issue #12)
    // -----------------------------------------------------------------------

    fn with(mut r: LinkRules, raw: RawSchedulingRules) -> LinkRules {
        r.schedule = SchedulingRules::parse(&raw).unwrap();
        r
    }

    fn raw_ov(date: &str, windows: &[(&str, &str)]) -> RawDateOverride {
        RawDateOverride {
            date: date.into(),
            windows: windows.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect(),
        }
    }

    fn overrides(list: Vec<RawDateOverride>) -> RawSchedulingRules {
        RawSchedulingRules { date_overrides: Some(list), ..RawSchedulingRules::default() }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Slots (by start) with the given busy time and counts, checking on the
    /// way that `check_slot` accepts each one.
    fn offered(r: &LinkRules, range: Interval, busy: &[Interval], booked: &DayCounts, now: &str) -> Vec<String> {
        let got = slots(r, range, busy, booked, utc(now));
        for s in &got {
            assert_eq!(check_slot(r, *s, busy, booked, utc(now)), Ok(()), "{s:?}");
        }
        starts(r, &got)
    }

    #[test]
    fn default_schedule_is_todays_behaviour() {
        let r = rules(chrono_tz::Europe::Berlin, 30, 10, &[("mon", &[("09:00", "10:00")])]);
        assert_eq!(r.interval(), Duration::minutes(30));
        assert_eq!((r.buffer_before(), r.buffer_after()), (Duration::minutes(10), Duration::minutes(10)));
        assert_eq!(
            free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            ["2026-03-02T08:00Z", "2026-03-02T08:30Z"]
        );
    }

    #[test]
    fn override_on_new_york_fall_back_day() {
        let ny = chrono_tz::America::New_York;
        // Sunday 2026-11-01 normally 09:00-10:00; the override opens 00:30-02:30 instead.
        let r = rules(ny, 30, 0, &[("sun", &[("09:00", "10:00")])]);
        let r = with(r, overrides(vec![raw_ov("2026-11-01", &[("00:30", "02:30")])]));
        // 00:30 EDT = 04:30Z .. 02:30 EST = 07:30Z: three real hours, the repeated 01:xx twice.
        assert_eq!(
            free(&r, "2026-10-31T12:00:00Z", "2026-11-09T00:00:00Z"),
            [
                "2026-11-01T04:30Z",
                "2026-11-01T05:00Z", // 01:00 EDT
                "2026-11-01T05:30Z",
                "2026-11-01T06:00Z", // 01:00 EST
                "2026-11-01T06:30Z",
                "2026-11-01T07:00Z", // 02:00 EST
                "2026-11-08T14:00Z", // the next Sunday: weekly hours again
                "2026-11-08T14:30Z",
            ]
        );
    }

    #[test]
    fn override_on_berlin_spring_forward_day() {
        let berlin = chrono_tz::Europe::Berlin;
        let r = rules(berlin, 60, 0, &[("sun", &[("09:00", "10:00")])]);
        // On 2026-03-29, 01:00-02:00 is 01:00 CET = 00:00Z .. 03:00 CEST = 01:00Z; 02:30 does not
        // exist, so 02:30-04:30 runs from 03:00 CEST = 01:00Z to 02:30Z (one and a half real hours).
        let r = with(r, overrides(vec![raw_ov("2026-03-29", &[("01:00", "02:00"), ("02:30", "04:30")])]));
        assert_eq!(
            free(&r, "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z"),
            ["2026-03-29T00:00Z", "2026-03-29T01:00Z"]
        );
        assert_eq!(
            check_offered(&r, iv("2026-03-29T07:00:00Z", "2026-03-29T08:00:00Z"), utc(LONG_AGO)),
            Err(SlotError::OutsideWorkingHours),
            "the weekday's 09:00 is replaced"
        );
    }

    #[test]
    fn closed_override_on_a_working_weekday() {
        let r =
            rules(chrono_tz::Europe::Berlin, 60, 0, &[("mon", &[("09:00", "11:00")]), ("tue", &[("09:00", "10:00")])]);
        let r = with(r, overrides(vec![raw_ov("2026-03-02", &[])]));
        assert_eq!(free(&r, "2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z"), ["2026-03-03T08:00Z"]);
        assert_eq!(
            check_offered(&r, iv("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"), utc(LONG_AGO)),
            Err(SlotError::OutsideWorkingHours)
        );
        // The next Monday is open again.
        assert_eq!(
            free(&r, "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z"),
            ["2026-03-09T08:00Z", "2026-03-09T09:00Z"]
        );
    }

    #[test]
    fn booking_window_whose_last_day_is_a_dst_day() {
        let berlin = chrono_tz::Europe::Berlin;
        let every_day: &[(&str, &str)] = &[("01:00", "04:00")];
        let spec: Vec<(&str, &[(&str, &str)])> = DAY_KEYS.iter().map(|d| (*d, every_day)).collect();
        let r = rules(berlin, 60, 0, &spec);
        // Today (Berlin) is 2026-03-01; 28 days ahead is Sunday 2026-03-29, spring forward.
        let r = with(r, RawSchedulingRules { max_days_ahead: Some(28), ..RawSchedulingRules::default() });
        let now = "2026-03-01T10:00:00Z";
        let got = offered(&r, iv("2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"), &[], &DayCounts::new(), now);
        // 28th: 01:00-04:00 CET = 00:00Z-03:00Z; 29th: 00:00Z-02:00Z (two real hours); nothing on the 30th.
        assert_eq!(
            got,
            ["2026-03-28T00:00Z", "2026-03-28T01:00Z", "2026-03-28T02:00Z", "2026-03-29T00:00Z", "2026-03-29T01:00Z"]
        );
        assert_eq!(
            check_slot(&r, iv("2026-03-29T23:00:00Z", "2026-03-30T00:00:00Z"), &[], &DayCounts::new(), utc(now)),
            Err(SlotError::TooFarAhead { last_date: day("2026-03-29") })
        );
        // Today counts in Berlin: at 23:30Z on 2026-02-28 it is already 2026-03-01 there.
        let later = slots(
            &r,
            iv("2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"),
            &[],
            &DayCounts::new(),
            utc("2026-02-28T23:30:00Z"),
        );
        assert_eq!(later.len(), 5);
        // max_days_ahead 0: today only.
        let r = with(r, RawSchedulingRules { max_days_ahead: Some(0), ..RawSchedulingRules::default() });
        assert_eq!(
            offered(
                &r,
                iv("2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z"),
                &[],
                &DayCounts::new(),
                "2026-02-28T23:30:00Z"
            ),
            ["2026-03-01T00:00Z", "2026-03-01T01:00Z", "2026-03-01T02:00Z"]
        );
    }

    #[test]
    fn notice_that_crosses_midnight() {
        let r = rules(Tz::UTC, 30, 0, &[("mon", &[("20:00", "24:00")]), ("tue", &[("00:30", "03:00")])]);
        let r = with(r, RawSchedulingRules { min_notice_minutes: Some(210), ..RawSchedulingRules::default() });
        // Now Monday 22:00; + 3.5 h = Tuesday 01:30, strictly after: 02:00 is the first.
        let now = "2026-03-02T22:00:00Z";
        assert_eq!(
            offered(&r, iv("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"), &[], &DayCounts::new(), now),
            ["2026-03-03T02:00Z", "2026-03-03T02:30Z"]
        );
        let e = check_slot(&r, iv("2026-03-03T01:30:00Z", "2026-03-03T02:00:00Z"), &[], &DayCounts::new(), utc(now));
        assert_eq!(e, Err(SlotError::TooSoon { notice: Duration::minutes(210) }));
        assert_eq!(e.unwrap_err().to_string(), "slot starts too soon: this link needs 210 min notice");
        // The grid does not move for notice: 00:30, 01:00, ... stay the starts.
        let r = with(r, RawSchedulingRules { min_notice_minutes: Some(155), ..RawSchedulingRules::default() });
        assert_eq!(
            offered(&r, iv("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"), &[], &DayCounts::new(), now)[0],
            "2026-03-03T01:00Z"
        );
    }

    #[test]
    fn interval_shorter_than_duration_with_unequal_buffers() {
        let r = rules(Tz::UTC, 60, 5, &[("mon", &[("09:00", "12:00")])]);
        let r = with(
            r,
            RawSchedulingRules {
                slot_interval_minutes: Some(20),
                buffer_before_minutes: Some(10),
                buffer_after_minutes: Some(30),
                ..RawSchedulingRules::default()
            },
        );
        let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        // Nobody busy: every 20 minutes, an hour long, overlapping each other.
        assert_eq!(
            offered(&r, range, &[], &DayCounts::new(), LONG_AGO),
            [
                "2026-03-02T09:00Z",
                "2026-03-02T09:20Z",
                "2026-03-02T09:40Z",
                "2026-03-02T10:00Z",
                "2026-03-02T10:20Z",
                "2026-03-02T10:40Z",
                "2026-03-02T11:00Z"
            ]
        );
        // Busy 10:50-11:00: a slot needs [start - 10, end + 30) clear of it, so
        // start + 90 <= 10:50 (start <= 09:20) or start - 10 >= 11:00 (start >= 11:10).
        let busy = [iv("2026-03-02T10:50:00Z", "2026-03-02T11:00:00Z")];
        assert_eq!(offered(&r, range, &busy, &DayCounts::new(), LONG_AGO), ["2026-03-02T09:00Z", "2026-03-02T09:20Z"]);
        let e =
            check_slot(&r, iv("2026-03-02T09:40:00Z", "2026-03-02T10:40:00Z"), &busy, &DayCounts::new(), utc(LONG_AGO));
        assert_eq!(e, Err(SlotError::Busy));
        assert_eq!(e.unwrap_err().refusal(), Refusal::Busy);
        // Off the 20-minute grid.
        assert_eq!(
            check_offered(&r, iv("2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"), utc(LONG_AGO)),
            Err(SlotError::NotOnGrid { step: Duration::minutes(20) })
        );
        assert!(overlaps_busy(&r, iv("2026-03-02T09:40:00Z", "2026-03-02T10:40:00Z"), &busy));
        assert!(!overlaps_busy(&r, iv("2026-03-02T09:20:00Z", "2026-03-02T10:20:00Z"), &busy));
    }

    #[test]
    fn overnight_shift_across_a_dst_change() {
        let ny = chrono_tz::America::New_York;
        // Saturday 22:00-24:00 + Sunday 00:00-06:00 is one range; 2026-11-01 falls back.
        let r = rules(ny, 90, 0, &[("sat", &[("22:00", "24:00")]), ("sun", &[("00:00", "06:00")])]);
        // 22:00 EDT Sat = 02:00Z .. 06:00 EST Sun = 11:00Z: nine real hours, six 90-minute slots.
        let got = free(&r, "2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z");
        assert_eq!(
            got,
            [
                "2026-11-01T02:00Z",
                "2026-11-01T03:30Z",
                "2026-11-01T05:00Z",
                "2026-11-01T06:30Z",
                "2026-11-01T08:00Z",
                "2026-11-01T09:30Z"
            ]
        );
        // 03:30Z = 23:30 EDT: a slot across midnight, accepted as well.
        assert_eq!(check_offered(&r, iv("2026-11-01T03:30:00Z", "2026-11-01T05:00:00Z"), utc(LONG_AGO)), Ok(()));
        // Spring forward 2026-03-08: 22:00 EST = 03:00Z .. 06:00 EDT = 10:00Z, seven real hours.
        assert_eq!(
            free(&r, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"),
            ["2026-03-08T03:00Z", "2026-03-08T04:30Z", "2026-03-08T06:00Z", "2026-03-08T07:30Z"]
        );
        // A range starting mid-run keeps the run's grid.
        assert_eq!(
            free(&r, "2026-03-08T05:00:00Z", "2026-03-09T00:00:00Z"),
            ["2026-03-08T06:00Z", "2026-03-08T07:30Z"]
        );
        // Windows that merely touch within a day stay apart.
        let r = rules(
            Tz::UTC,
            90,
            0,
            &[("sat", &[("21:00", "22:00"), ("22:00", "24:00")]), ("sun", &[("00:00", "01:00")])],
        );
        assert_eq!(
            free(&r, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"),
            ["2026-03-07T22:00Z", "2026-03-07T23:30Z"]
        );
    }

    #[test]
    fn overnight_ranges_join_overrides_and_whole_days() {
        let r = rules(Tz::UTC, 300, 0, &[("fri", &[("20:00", "24:00")])]);
        // Saturday and Sunday 2026-03-07/08 opened whole by overrides, Monday until 02:00:
        // one range Friday 20:00 .. Monday 02:00, grid every 5 h from Friday 20:00.
        let r = with(
            r,
            overrides(vec![
                raw_ov("2026-03-07", &[("00:00", "24:00")]),
                raw_ov("2026-03-08", &[("00:00", "24:00")]),
                raw_ov("2026-03-09", &[("00:00", "02:00"), ("08:00", "09:00")]),
            ]),
        );
        let all = free(&r, "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z");
        assert_eq!(all.len(), 10, "{all:?}");
        assert_eq!(all[0], "2026-03-06T20:00Z");
        assert_eq!(all[9], "2026-03-08T17:00Z");
        // Asked from Sunday 11:00 on, the grid still runs from Friday 20:00.
        assert_eq!(
            free(&r, "2026-03-08T11:00:00Z", "2026-03-10T00:00:00Z"),
            ["2026-03-08T12:00Z", "2026-03-08T17:00Z"]
        );
        assert_eq!(check_offered(&r, iv("2026-03-08T12:00:00Z", "2026-03-08T17:00:00Z"), utc(LONG_AGO)), Ok(()));
        assert_eq!(
            check_offered(&r, iv("2026-03-08T13:00:00Z", "2026-03-08T18:00:00Z"), utc(LONG_AGO)),
            Err(SlotError::NotOnGrid { step: Duration::minutes(300) })
        );
    }

    #[test]
    fn a_range_with_no_beginning_runs_its_grid_from_2000() {
        let all_day: &[(&str, &str)] = &[("00:00", "24:00")];
        let spec: Vec<(&str, &[(&str, &str)])> = DAY_KEYS.iter().map(|d| (*d, all_day)).collect();
        // 7-hour slots around the clock in UTC: 2026-03-02 00:00 is 9557 days after
        // 2000-01-01, 229,368 h = 32,766 × 7 + 6 h, so the grid passes 2026-03-02T01:00.
        let r = rules(Tz::UTC, 420, 0, &spec);
        assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-02T12:00:00Z"), ["2026-03-02T01:00Z"]);
        assert_eq!(check_offered(&r, iv("2026-03-02T01:00:00Z", "2026-03-02T08:00:00Z"), utc(LONG_AGO)), Ok(()));
        // A closed override ends it: the range then starts after it.
        let r = with(r, overrides(vec![raw_ov("2026-02-27", &[])]));
        assert_eq!(
            free(&r, "2026-03-02T00:00:00Z", "2026-03-02T12:00:00Z"),
            // 2026-02-28 00:00 + 7 h × 7 = 2026-03-02 01:00 as well; and 08:00 does not fit before 12:00.
            ["2026-03-02T01:00Z"]
        );
        assert_eq!(free(&r, "2026-02-28T00:00:00Z", "2026-02-28T10:00:00Z"), ["2026-02-28T00:00Z"]);
    }

    #[test]
    fn cap_is_counted_in_the_link_zone_not_utc() {
        let kolkata = chrono_tz::Asia::Kolkata; // +05:30
                                                // Tuesday 2026-03-03 00:30-02:30 IST = Monday 19:00Z-21:00Z; Monday 10:00-11:00 IST = 04:30Z.
        let r = rules(kolkata, 60, 0, &[("mon", &[("10:00", "11:00")]), ("tue", &[("00:30", "02:30")])]);
        let r = with(r, RawSchedulingRules { max_bookings_per_day: Some(2), ..RawSchedulingRules::default() });
        let range = iv("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z");
        assert_eq!(r.date_of(utc("2026-03-02T19:00:00Z")), day("2026-03-03"));
        let now = LONG_AGO;
        assert_eq!(
            offered(&r, range, &[], &DayCounts::new(), now),
            ["2026-03-02T04:30Z", "2026-03-02T19:00Z", "2026-03-02T20:00Z"]
        );
        // Two on Tuesday (IST): the Tuesday slots go, although they are on Monday in UTC.
        let booked = DayCounts::from([(day("2026-03-03"), 2)]);
        assert_eq!(offered(&r, range, &[], &booked, now), ["2026-03-02T04:30Z"]);
        let e = check_slot(&r, iv("2026-03-02T19:00:00Z", "2026-03-02T20:00:00Z"), &[], &booked, utc(now));
        assert_eq!(e, Err(SlotError::DateFull { date: day("2026-03-03"), cap: 2 }));
        assert_eq!(e.clone().unwrap_err().refusal(), Refusal::DateFull);
        assert_eq!(
            e.unwrap_err().to_string(),
            "2026-03-03 is fully booked: this link takes at most 2 reservations a day"
        );
        // One on Monday (IST) leaves Monday open (cap 2); two close it.
        let booked = DayCounts::from([(day("2026-03-02"), 1)]);
        assert_eq!(offered(&r, range, &[], &booked, now).len(), 3);
        let booked = DayCounts::from([(day("2026-03-02"), 2)]);
        assert_eq!(offered(&r, range, &[], &booked, now), ["2026-03-02T19:00Z", "2026-03-02T20:00Z"]);
        // Not offered (400) comes before full (409): outside working hours on a full date.
        let e = check_slot(&r, iv("2026-03-02T04:45:00Z", "2026-03-02T05:45:00Z"), &[], &booked, utc(now));
        assert_eq!(e.unwrap_err().refusal(), Refusal::NotOffered);
    }

    #[test]
    fn asuncion_rules_at_minus_3() {
        let tz = chrono_tz::America::Asuncion;
        // Friday 2026-07-10 (would have been -04 before 2025): 22:00-24:00 -03 = 01:00Z-03:00Z.
        let r = rules(tz, 60, 0, &[("fri", &[("22:00", "24:00")]), ("sat", &[("00:00", "01:00")])]);
        let r = with(r, RawSchedulingRules { max_bookings_per_day: Some(1), ..RawSchedulingRules::default() });
        let range = iv("2026-07-10T00:00:00Z", "2026-07-12T00:00:00Z");
        assert_eq!(
            offered(&r, range, &[], &DayCounts::new(), LONG_AGO),
            ["2026-07-11T01:00Z", "2026-07-11T02:00Z", "2026-07-11T03:00Z"]
        );
        // The Friday slots count on Friday in Asuncion (Saturday in UTC).
        let booked = DayCounts::from([(day("2026-07-10"), 1)]);
        assert_eq!(offered(&r, range, &[], &booked, LONG_AGO), ["2026-07-11T03:00Z"]);
    }

    #[test]
    fn refusals_sort_errors_for_the_caller() {
        assert_eq!(SlotError::InPast.refusal(), Refusal::NotOffered);
        assert_eq!(SlotError::OutsideWorkingHours.refusal(), Refusal::NotOffered);
        assert_eq!(SlotError::TooSoon { notice: Duration::zero() }.refusal(), Refusal::NotOffered);
        assert_eq!(SlotError::TooFarAhead { last_date: day("2026-01-01") }.refusal(), Refusal::NotOffered);
        assert_eq!(SlotError::NotOnGrid { step: Duration::minutes(5) }.refusal(), Refusal::NotOffered);
        assert_eq!(SlotError::Busy.refusal(), Refusal::Busy);
        assert_eq!(SlotError::DateFull { date: day("2026-01-01"), cap: 1 }.refusal(), Refusal::DateFull);
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

    /// Brute force with no scheduling rules set: [`ref_all`] (windows joined
    /// at midnight into ranges, every grid point, every rule checked directly
    /// against every busy interval).
    fn ref_slots(r: &LinkRules, range: Interval, busy: &[Interval], now: DateTime<Utc>) -> Vec<Interval> {
        ref_all(r, range, busy, &DayCounts::new(), now)
    }

    /// The window (of local dates around the slot) that contains `slot` on its
    /// grid, found with the reference resolution.
    fn ref_window_containing(r: &LinkRules, slot: Interval) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let day = slot.start.with_timezone(&r.tz).date_naive();
        let step = nanos(r.interval());
        ref_ranges(r, day - Duration::days(3), day + Duration::days(2))
            .into_iter()
            .find(|&(ws, we)| ws <= slot.start && slot.end <= we && nanos(slot.start - ws) % step == 0)
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
                schedule: SchedulingRules::default(),
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

    // -----------------------------------------------------------------------
    // The engine's fast paths against the calls they replace
    // -----------------------------------------------------------------------

    /// Instants from 1600 to 2400 (outside `i64` nanoseconds at both ends), some
    /// at a leap second, some far out in chrono's range.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        let near = (-370i64 * 365 * 86_400..=430 * 365 * 86_400, 0u32..2_000_000_000).prop_map(|(secs, sub)| {
            let t = DateTime::from_timestamp(secs, sub % 1_000_000_000).unwrap();
            if sub >= 1_000_000_000 && t.time().second() == 59 {
                // A leap second (nanoseconds >= 1e9), as chrono represents it.
                t.date_naive().and_time(NaiveTime::from_hms_nano_opt(t.hour(), t.minute(), 59, sub).unwrap()).and_utc()
            } else {
                t
            }
        });
        let far = (-8_000_000_000_000i64..=8_000_000_000_000).prop_map(|s| DateTime::from_timestamp(s, 7).unwrap());
        prop_oneof![4 => near, 1 => far]
    }

    proptest! {
        /// `Instants::at` gives the instant chrono gives, in order and out of order.
        #[test]
        fn instants_match_chrono(ts in prop::collection::vec(arb_instant(), 1..20)) {
            let mut sorted = ts.clone();
            sorted.sort();
            for list in [ts, sorted] {
                let mut at = Instants::new();
                for t in list {
                    let ns = instant_nanos(t);
                    let want = DateTime::from_timestamp(
                        i64::try_from(ns.div_euclid(1_000_000_000)).unwrap(),
                        u32::try_from(ns.rem_euclid(1_000_000_000)).unwrap(),
                    );
                    prop_assert_eq!(at.at(ns), want);
                }
            }
        }

        /// `widened` is `instant_nanos` of both ends, minus and plus the buffers.
        #[test]
        fn widened_matches_instant_nanos(a in arb_instant(), b in arb_instant(), before in 0i64..=86_400, after in 0i64..=86_400) {
            let (before, after) = (Ns::from(before) * 1_000_000_000, Ns::from(after) * 1_000_000_000);
            let want = (a < b).then(|| (instant_nanos(a) - after, instant_nanos(b) + before));
            let mut days = DayNumbers::new();
            prop_assert_eq!(widened(&mut days, &Interval { start: a, end: b }, before, after), want);
            let same_day = a.date_naive().and_hms_opt(23, 59, 59).unwrap().and_utc();
            let want = (a < same_day).then(|| (instant_nanos(a) - after, instant_nanos(same_day) + before));
            prop_assert_eq!(widened(&mut days, &Interval { start: a, end: same_day }, before, after), want);
            // Remembered dates: the same answers again.
            prop_assert_eq!(widened(&mut days, &Interval { start: a, end: same_day }, before, after), want);
        }

        /// `bucket_sort` orders by start like `sort_by_key` (blocks with equal
        /// starts in any order): spread out, crowded, or all in one bucket.
        #[test]
        fn bucket_sort_sorts(
            starts in prop::collection::vec(prop_oneof![0u64..=u64::MAX, 0u64..=100, 1u64 << 40..=(1u64 << 40) + 50], 0..300),
        ) {
            let mut v: Vec<(u64, u64)> = starts.iter().enumerate().map(|(i, &c)| (c, i as u64)).collect();
            let mut want = v.clone();
            want.sort_unstable();
            bucket_sort(&mut v);
            v.sort_by_key(|&(c, i)| (c, i)); // only equal starts may have moved
            prop_assert_eq!(v.iter().map(|b| b.0).collect::<Vec<_>>(), want.iter().map(|b| b.0).collect::<Vec<_>>());
            prop_assert_eq!(v, want);
        }

        /// `resolve_boundary_ns` is `resolve_boundary`, in nanoseconds, for
        /// every boundary of a day around the test zones' DST changes.
        #[test]
        fn resolve_boundary_ns_matches(tz in arb_zone(), day in 0i64..3 * 366, minutes in 0u16..=MINUTES_PER_DAY) {
            let date = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(day);
            prop_assert_eq!(resolve_boundary_ns(tz, date, minutes), resolve_boundary(tz, date, minutes).map(instant_nanos));
        }
    }

    #[test]
    fn bucket_sort_of_sorted_presorted_and_far_dates() {
        let mut v: Vec<(u64, u64)> = (0..100).rev().map(|i| (i * 7, i)).collect();
        bucket_sort(&mut v);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
        for date in [NaiveDate::MIN, NaiveDate::MAX, NaiveDate::from_ymd_opt(-200_001, 3, 1).unwrap()] {
            for tz in [Tz::UTC, chrono_tz::Europe::Berlin, chrono_tz::America::New_York] {
                for minutes in [0, 60, 1439, MINUTES_PER_DAY] {
                    assert_eq!(
                        resolve_boundary_ns(tz, date, minutes),
                        resolve_boundary(tz, date, minutes).map(instant_nanos),
                        "{tz} {date} {minutes}"
                    );
                }
            }
        }
    }

    // -----------------------------------------------------------------------
    // Scheduling rules: reference and property tests
    // -----------------------------------------------------------------------

    /// The windows of a date by a linear search over the overrides.
    fn ref_windows(r: &LinkRules, date: NaiveDate) -> Vec<Window> {
        match r.schedule.date_overrides().iter().find(|o| o.date() == date) {
            Some(o) => o.windows().to_vec(),
            None => r.hours.day(date.weekday()).to_vec(),
        }
    }

    /// The ranges (start, end) of local dates `first..=last`: windows resolved
    /// with the reference resolution, a window ending at 24:00 joined with the
    /// next date's first window when that starts at 00:00.
    fn ref_ranges(r: &LinkRules, first: NaiveDate, last: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        // (start, end) of each range.
        let mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let mut prev_to_midnight: Option<NaiveDate> = None;
        let mut date = first;
        while date <= last {
            for (i, w) in ref_windows(r, date).iter().enumerate() {
                let at = |m: u16| date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(m));
                let (ws, we) = (ref_resolve(r.tz, at(w.start)), ref_resolve(r.tz, at(w.end)));
                let joins = i == 0 && w.start == 0 && prev_to_midnight == date.pred_opt();
                if joins && !ranges.is_empty() {
                    ranges.last_mut().unwrap().1 = max(we, ws);
                } else {
                    ranges.push((ws, max(we, ws)));
                }
                prev_to_midnight = None;
                if w.end == MINUTES_PER_DAY {
                    prev_to_midnight = Some(date);
                }
            }
            if ref_windows(r, date).is_empty() {
                prev_to_midnight = None;
            }
            date = date.succ_opt().unwrap();
        }
        ranges
    }

    /// Brute force for every rule: windows of every date from three days
    /// before the range (UTC dates) to three after, resolved with the
    /// reference resolution; a window ending at 24:00 and the next date's
    /// first window starting at 00:00 are one range; every grid point of every
    /// range, every rule checked literally (dates as the wall clock reads
    /// them), against every busy interval.
    fn ref_all(
        r: &LinkRules,
        range: Interval,
        busy: &[Interval],
        booked: &DayCounts,
        now: DateTime<Utc>,
    ) -> Vec<Interval> {
        let sched = &r.schedule;
        let before = max(sched.buffer_before().unwrap_or(r.buffer), Duration::zero());
        let after = max(sched.buffer_after().unwrap_or(r.buffer), Duration::zero());
        let step = sched.slot_interval().unwrap_or(r.duration);
        let wall = |t: DateTime<Utc>| t.with_timezone(&r.tz).date_naive();
        let today = wall(now);
        let ranges =
            ref_ranges(r, range.start.date_naive() - Duration::days(3), range.end.date_naive() + Duration::days(3));
        let mut out = Vec::new();
        for (rs, re) in ranges {
            let mut k: i32 = 0;
            loop {
                let s = rs + step * k;
                let e = s + r.duration;
                if e > re {
                    break;
                }
                let d = wall(s);
                let clear = busy.iter().all(|b| !(b.start < b.end && s - before < b.end && b.start < e + after));
                let ahead = sched.max_days_ahead().is_none_or(|n| d <= today + Duration::days(n.into()));
                let room = sched.max_bookings_per_day().is_none_or(|cap| booked.get(&d).copied().unwrap_or(0) < cap);
                if s > now + sched.min_notice() && s >= range.start && e <= range.end && clear && ahead && room {
                    out.push(Interval { start: s, end: e });
                }
                k += 1;
            }
        }
        out.sort();
        out
    }

    /// Windows of one generated day, as text pairs (as `build_hours` makes them).
    fn day_texts(pairs: &[(u16, u16)], grain: u16) -> Vec<(String, String)> {
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
        ws
    }

    type FullCase = (LinkRules, Interval, Vec<Interval>, DayCounts, DateTime<Utc>);

    /// `arb_case` plus every scheduling rule, each present or absent; half the
    /// weekly windows and overrides run into midnight or out of it, so that
    /// ranges join; overrides and counts fall on dates around the range.
    fn arb_full_case() -> impl Strategy<Value = FullCase> {
        let day = prop::collection::vec((0u16..=300, 1u16..=720), 0..=3);
        let overnight = prop::collection::vec((0u16..=300, 1u16..=720), 0..=2).prop_map(|mut v| {
            // Start at 00:00 and end at 24:00 by construction of build_hours: gap 0 first,
            // a long last window.
            if let Some(first) = v.first_mut() {
                first.0 = 0;
            }
            v.push((0, 1440));
            v
        });
        let any_day = prop_oneof![2 => day.clone(), 1 => overnight];
        let sched = (
            prop::option::of(prop_oneof![0u32..=120, 0u32..=3000]),
            prop::option::of(0u32..=40),
            prop::option::of(5u32..=240),
            prop::option::of(0u32..=90),
            prop::option::of(0u32..=90),
            prop::option::of(1u32..=3),
        );
        (
            arb_case(),
            prop::array::uniform7(any_day.clone()),
            sched,
            prop::collection::vec((-3i64..=44, any_day), 0..=6),
            prop::collection::vec((-3i64..=44, 0u32..=3), 0..=12),
            arb_grain(),
        )
            .prop_map(|((mut r, range, busy, now), week, sched, ovs, counts, grain)| {
                let grain = if r.duration.num_minutes() % i64::from(grain) == 0 { grain } else { 1 };
                r.hours = build_hours(&week, grain);
                let (notice, ahead, interval, before, after, cap) = sched;
                let base = range.start.with_timezone(&r.tz).date_naive();
                let mut seen = std::collections::BTreeSet::new();
                let overrides: Vec<RawDateOverride> = ovs
                    .iter()
                    .filter(|(off, _)| seen.insert(*off))
                    .map(|(off, pairs)| RawDateOverride {
                        date: (base + Duration::days(*off)).format("%Y-%m-%d").to_string(),
                        windows: day_texts(pairs, grain),
                    })
                    .collect();
                let g = u32::from(grain);
                let raw = RawSchedulingRules {
                    min_notice_minutes: notice.map(|n| i64::from(n / g * g)),
                    max_days_ahead: ahead.map(i64::from),
                    slot_interval_minutes: interval.map(|i| i64::from(max(5, i / g * g))),
                    buffer_before_minutes: before.map(i64::from),
                    buffer_after_minutes: after.map(i64::from),
                    date_overrides: (!overrides.is_empty()).then_some(overrides),
                    max_bookings_per_day: cap.map(i64::from),
                    min_cancel_notice_minutes: None,
                };
                r.schedule = SchedulingRules::parse(&raw).expect("generated rules are valid");
                let booked: DayCounts = counts.iter().map(|(off, n)| (base + Duration::days(*off), *n)).collect();
                (r, range, busy, booked, now)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every rule and their combinations against the brute-force
        /// reference; every slot listed is accepted by `check_slot`.
        #[test]
        fn every_rule_matches_reference((r, range, busy, booked, now) in arb_full_case()) {
            let got = slots(&r, range, &busy, &booked, now);
            for (i, s) in got.iter().enumerate() {
                prop_assert_eq!(check_slot(&r, *s, &busy, &booked, now), Ok(()), "{:?}", s);
                if i > 0 {
                    prop_assert!(got[i - 1].start < s.start, "unsorted: {:?} then {:?}", got[i - 1], s);
                }
            }
            let want = ref_all(&r, range, &busy, &booked, now);
            if got != want {
                let i = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
                prop_assert!(false, "{} slots, reference {}; first difference at {}: {:?} vs {:?}",
                    got.len(), want.len(), i, got.get(i), want.get(i));
            }
        }

        /// `check_slot` accepts exactly the listed slots: listed ones, their
        /// neighbours on and off the grid, wrong lengths, random candidates.
        /// A refusal as DateFull or Busy means the slot is offered once the
        /// counts or the busy time are gone.
        #[test]
        fn check_slot_agrees_with_slots(
            (r, range, busy, booked, now) in arb_full_case(),
            probes in prop::collection::vec((0i64..=40 * 24 * 60, 0i64..60, prop::bool::ANY), 0..=30),
        ) {
            let offered = slots(&r, range, &busy, &booked, now);
            let d = r.duration;
            let (one, step) = (Duration::minutes(1), r.interval());
            let mut candidates: Vec<Interval> = Vec::new();
            for s in &offered {
                for shift in [Duration::zero(), one, -one, step, -step, d, -d] {
                    candidates.push(Interval { start: s.start + shift, end: s.end + shift });
                }
                candidates.push(Interval { start: s.start, end: s.end + one });
            }
            for &(m, sec, aligned) in &probes {
                let t = if aligned {
                    range.start.duration_trunc(Duration::minutes(5)).unwrap() + Duration::minutes(m / 5 * 5)
                } else {
                    range.start + Duration::minutes(m) + Duration::seconds(sec)
                };
                candidates.push(Interval { start: t, end: t + d });
            }
            let empty = DayCounts::new();
            for c in candidates {
                if c.start < range.start || c.end > range.end {
                    continue;
                }
                let result = check_slot(&r, c, &busy, &booked, now);
                let member = offered.binary_search(&c).is_ok();
                prop_assert_eq!(result.is_ok(), member, "{:?}: {:?}", c, result);
                match result {
                    Err(SlotError::DateFull { .. }) => {
                        prop_assert_eq!(check_slot(&r, c, &[], &empty, now), Ok(()));
                    }
                    Err(SlotError::Busy) => {
                        prop_assert_eq!(check_slot(&r, c, &[], &booked, now), Ok(()));
                    }
                    _ => {}
                }
            }
        }
    }
}
