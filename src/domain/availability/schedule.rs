//! A link's scheduling rules (issue #12), parsed once from raw values.
//!
//! Every field is optional; absent means today's behaviour. The engine reads
//! them through [`super::LinkRules`]; see the module docs there for what each
//! rule does.

use chrono::{Duration, NaiveDate, Weekday};
use thiserror::Error;

use super::hours::{format_hhmm, parse_windows, HoursWindow, HoursWindowError};

/// `min_notice_minutes`: 0..=525600 (one year).
pub const MAX_MIN_NOTICE_MINUTES: i64 = 525_600;
/// `max_days_ahead`: 0..=730.
pub const MAX_DAYS_AHEAD: i64 = 730;
/// `slot_interval_minutes`: 5..=1440.
pub const MIN_SLOT_INTERVAL_MINUTES: i64 = 5;
/// `slot_interval_minutes`: 5..=1440.
pub const MAX_SLOT_INTERVAL_MINUTES: i64 = 1440;
/// `buffer_before_minutes`, `buffer_after_minutes`: 0..=1440.
pub const MAX_SIDE_BUFFER_MINUTES: i64 = 1440;
/// `date_overrides`: at most 366 dates.
pub const MAX_DATE_OVERRIDES: usize = 366;
/// `max_bookings_per_day` (`booking_limits.day`): 1..=1000.
pub const MAX_BOOKINGS_PER_DAY: i64 = 1000;
/// `booking_limits.week`: 1..=7000.
pub const MAX_BOOKINGS_PER_WEEK: i64 = 7 * MAX_BOOKINGS_PER_DAY;
/// `booking_limits.month`: 1..=31000.
pub const MAX_BOOKINGS_PER_MONTH: i64 = 31 * MAX_BOOKINGS_PER_DAY;
/// `booking_limits.year`: 1..=366000.
pub const MAX_BOOKINGS_PER_YEAR: i64 = 366 * MAX_BOOKINGS_PER_DAY;
/// `pending_expires_minutes`: 5..=43200 (30 days).
pub const MIN_PENDING_EXPIRES_MINUTES: i64 = 5;
pub const MAX_PENDING_EXPIRES_MINUTES: i64 = 43_200;
/// `seats_per_slot`: 1..=1000.
pub const MAX_SEATS_PER_SLOT: i64 = 1000;
/// `duration_limits_minutes.day`: 1..=1440.
pub const MAX_MINUTES_PER_DAY: i64 = 1440;
/// `duration_limits_minutes.week`: 1..=10080.
pub const MAX_MINUTES_PER_WEEK: i64 = 7 * 1440;

/// How `max_days_ahead` counts days (`window_days_kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WindowDays {
    /// Every calendar day counts (the default).
    #[default]
    Calendar,
    /// Only the days the link works (its hours or a date override give the date a window).
    Business,
}

impl WindowDays {
    /// Every kind.
    pub const ALL: [WindowDays; 2] = [WindowDays::Calendar, WindowDays::Business];

    /// The wire and column name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WindowDays::Calendar => "calendar",
            WindowDays::Business => "business",
        }
    }

    /// The kind named `text` ([`Self::as_str`]).
    #[must_use]
    pub fn parse(text: &str) -> Option<WindowDays> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where slots start (`slot_alignment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SlotAlignment {
    /// On the grid of each window or range: its start plus whole intervals (the default).
    #[default]
    Grid,
    /// Also right after busy time (with the buffer before) and right after the notice ends
    /// (the next whole minute), each starting a grid of its own until the next such point:
    /// what scheduling products call "optimized slots".
    AfterBusy,
}

/// One date override as given: `{"date": "YYYY-MM-DD", "windows": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDateOverride {
    /// "YYYY-MM-DD".
    pub date: String,
    /// ("HH:MM", "HH:MM") pairs; an end may be "24:00". Empty: closed.
    pub windows: Vec<(String, String)>,
}

/// The scheduling rules as given (e.g. by a request body or a stored row),
/// before validation. `None` everywhere is today's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the wire names
pub struct RawSchedulingRules {
    pub min_notice_minutes: Option<i64>,
    pub max_days_ahead: Option<i64>,
    pub slot_interval_minutes: Option<i64>,
    pub buffer_before_minutes: Option<i64>,
    pub buffer_after_minutes: Option<i64>,
    pub date_overrides: Option<Vec<RawDateOverride>>,
    pub max_bookings_per_day: Option<i64>,
    /// Issue #13: how long before a reservation's start its visitor may still cancel or move it.
    pub min_cancel_notice_minutes: Option<i64>,
    /// Issue #25: limits per calendar period (`booking_limits.week`, `.month`, `.year`; `.day` is
    /// `max_bookings_per_day`) and on booked minutes (`duration_limits_minutes.day`, `.week`).
    pub max_bookings_per_week: Option<i64>,
    pub max_bookings_per_month: Option<i64>,
    pub max_bookings_per_year: Option<i64>,
    pub max_minutes_per_day: Option<i64>,
    pub max_minutes_per_week: Option<i64>,
    /// The day weeks start on for the weekly limits (default Monday).
    pub week_start: Option<Weekday>,
    pub window_days_kind: Option<WindowDays>,
    /// A fixed range of local dates slots may start on.
    pub bookable_from: Option<NaiveDate>,
    pub bookable_until: Option<NaiveDate>,
    pub slot_alignment: Option<SlotAlignment>,
    /// Issue #25: how many visitors may reserve one slot (default 1).
    pub seats_per_slot: Option<i64>,
    /// Issue #25's approval: reservations wait for the owner (default false); a pending one
    /// holds its slot (default true) and lapses after this many minutes (default: at its start).
    pub requires_confirmation: Option<bool>,
    pub pending_blocks_slot: Option<bool>,
    pub pending_expires_minutes: Option<i64>,
}

/// One field of a partial update (`updateBookingLink`): left out keeps the value, `null` sets it
/// back to its default (absent), a value replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Reset,
    Set(T),
}

impl<T> Patch<T> {
    /// The value after this change.
    #[must_use]
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Reset => None,
            Self::Set(value) => Some(value),
        }
    }

    /// Whether the field was given (set or reset).
    #[must_use]
    pub fn is_given(&self) -> bool {
        !matches!(self, Self::Keep)
    }
}

/// A value, where a field cannot be reset: left out keeps it.
impl<T> From<Option<T>> for Patch<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Keep, Self::Set)
    }
}

/// Changes to a link's scheduling rules, field by field (see [`Patch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the wire names
pub struct SchedulePatch {
    pub min_notice_minutes: Patch<i64>,
    pub max_days_ahead: Patch<i64>,
    pub slot_interval_minutes: Patch<i64>,
    pub buffer_before_minutes: Patch<i64>,
    pub buffer_after_minutes: Patch<i64>,
    pub date_overrides: Patch<Vec<RawDateOverride>>,
    pub max_bookings_per_day: Patch<i64>,
    pub min_cancel_notice_minutes: Patch<i64>,
    pub max_bookings_per_week: Patch<i64>,
    pub max_bookings_per_month: Patch<i64>,
    pub max_bookings_per_year: Patch<i64>,
    pub max_minutes_per_day: Patch<i64>,
    pub max_minutes_per_week: Patch<i64>,
    pub week_start: Patch<Weekday>,
    pub window_days_kind: Patch<WindowDays>,
    pub bookable_from: Patch<NaiveDate>,
    pub bookable_until: Patch<NaiveDate>,
    pub slot_alignment: Patch<SlotAlignment>,
    pub seats_per_slot: Patch<i64>,
    pub requires_confirmation: Patch<bool>,
    pub pending_blocks_slot: Patch<bool>,
    pub pending_expires_minutes: Patch<i64>,
}

impl SchedulePatch {
    /// `current` with these changes (still to be parsed).
    #[must_use]
    pub fn apply(self, current: RawSchedulingRules) -> RawSchedulingRules {
        RawSchedulingRules {
            min_notice_minutes: self.min_notice_minutes.apply(current.min_notice_minutes),
            max_days_ahead: self.max_days_ahead.apply(current.max_days_ahead),
            slot_interval_minutes: self.slot_interval_minutes.apply(current.slot_interval_minutes),
            buffer_before_minutes: self.buffer_before_minutes.apply(current.buffer_before_minutes),
            buffer_after_minutes: self.buffer_after_minutes.apply(current.buffer_after_minutes),
            date_overrides: self.date_overrides.apply(current.date_overrides),
            max_bookings_per_day: self.max_bookings_per_day.apply(current.max_bookings_per_day),
            min_cancel_notice_minutes: self.min_cancel_notice_minutes.apply(current.min_cancel_notice_minutes),
            max_bookings_per_week: self.max_bookings_per_week.apply(current.max_bookings_per_week),
            max_bookings_per_month: self.max_bookings_per_month.apply(current.max_bookings_per_month),
            max_bookings_per_year: self.max_bookings_per_year.apply(current.max_bookings_per_year),
            max_minutes_per_day: self.max_minutes_per_day.apply(current.max_minutes_per_day),
            max_minutes_per_week: self.max_minutes_per_week.apply(current.max_minutes_per_week),
            week_start: self.week_start.apply(current.week_start),
            window_days_kind: self.window_days_kind.apply(current.window_days_kind),
            bookable_from: self.bookable_from.apply(current.bookable_from),
            bookable_until: self.bookable_until.apply(current.bookable_until),
            slot_alignment: self.slot_alignment.apply(current.slot_alignment),
            seats_per_slot: self.seats_per_slot.apply(current.seats_per_slot),
            requires_confirmation: self.requires_confirmation.apply(current.requires_confirmation),
            pending_blocks_slot: self.pending_blocks_slot.apply(current.pending_blocks_slot),
            pending_expires_minutes: self.pending_expires_minutes.apply(current.pending_expires_minutes),
        }
    }
}

/// One valid date override: on `date` (the link's zone), these windows
/// replace the weekday's; no windows closes the day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateOverride {
    date: NaiveDate,
    windows: Vec<HoursWindow>,
}

impl DateOverride {
    /// The local date.
    #[must_use]
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The windows, sorted, non-overlapping; empty when the day is closed.
    #[must_use]
    pub fn windows(&self) -> &[HoursWindow] {
        &self.windows
    }
}

/// Valid scheduling rules. Construct with [`SchedulingRules::parse`];
/// [`SchedulingRules::default`] is "every rule absent" (today's behaviour).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SchedulingRules {
    min_notice_minutes: Option<u32>,
    max_days_ahead: Option<u32>,
    slot_interval_minutes: Option<u32>,
    buffer_before_minutes: Option<u32>,
    buffer_after_minutes: Option<u32>,
    /// Sorted by date, dates unique. `Some(empty)` and `None` behave alike but
    /// echo differently.
    date_overrides: Option<Vec<DateOverride>>,
    max_bookings_per_day: Option<u32>,
    min_cancel_notice_minutes: Option<u32>,
    max_bookings_per_week: Option<u32>,
    max_bookings_per_month: Option<u32>,
    max_bookings_per_year: Option<u32>,
    max_minutes_per_day: Option<u32>,
    max_minutes_per_week: Option<u32>,
    week_start: Option<Weekday>,
    window_days_kind: Option<WindowDays>,
    bookable_from: Option<NaiveDate>,
    bookable_until: Option<NaiveDate>,
    slot_alignment: Option<SlotAlignment>,
    seats_per_slot: Option<u32>,
    requires_confirmation: Option<bool>,
    pending_blocks_slot: Option<bool>,
    pending_expires_minutes: Option<u32>,
}

/// Why scheduling rules were rejected. Messages name the field (they are
/// meant as 400 bodies).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    /// A number outside its range.
    #[error("{field} must be between {min} and {max}, got {got}")]
    OutOfRange {
        /// The wire name, e.g. `slot_interval_minutes`.
        field: &'static str,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
        /// The value given.
        got: i64,
    },
    /// More than [`MAX_DATE_OVERRIDES`] overrides.
    #[error("date_overrides may hold at most {max} dates, got {got}")]
    TooManyOverrides {
        /// [`MAX_DATE_OVERRIDES`].
        max: usize,
        /// How many were given.
        got: usize,
    },
    /// A date that is not "YYYY-MM-DD" (or no such day). `index` is 1-based.
    #[error("date_overrides entry {index}: date {date:?} is not a date in the form YYYY-MM-DD")]
    BadDate {
        /// 1-based position in the list as given.
        index: usize,
        /// The text as given.
        date: String,
    },
    /// The same date twice.
    #[error("date_overrides: {date} is given more than once")]
    DuplicateDate {
        /// The repeated date.
        date: NaiveDate,
    },
    /// Pending reservations that do not hold their slot on a link of several seats per slot: a
    /// seat is a place in a session, which a pending seat must hold.
    #[error("pending_blocks_slot may be false only with seats_per_slot 1 (a pending seat holds its place), got {seats} seats")]
    NonBlockingSeats {
        /// `seats_per_slot`.
        seats: u32,
    },
    /// `bookable_until` before `bookable_from`.
    #[error("bookable_until ({until}) must not be before bookable_from ({from})")]
    BookableRange {
        /// `bookable_from`.
        from: NaiveDate,
        /// `bookable_until`.
        until: NaiveDate,
    },
    /// A bad window of one override (malformed time, start not before end,
    /// overlapping windows).
    #[error("date_overrides {date} {error}")]
    Window {
        /// The override's date.
        date: NaiveDate,
        /// What is wrong with which window.
        error: HoursWindowError,
    },
}

fn in_range(field: &'static str, value: Option<i64>, min: i64, max: i64) -> Result<Option<u32>, ScheduleError> {
    match value {
        None => Ok(None),
        Some(v) if (min..=max).contains(&v) => Ok(Some(u32::try_from(v).expect("range is within u32"))),
        Some(got) => Err(ScheduleError::OutOfRange { field, min, max, got }),
    }
}

/// Exactly "YYYY-MM-DD" with ASCII digits, and a real date.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl SchedulingRules {
    /// Validates raw values, checking fields in the order of the table in
    /// issue #12; the first problem found is reported.
    ///
    /// # Errors
    ///
    /// [`ScheduleError`] naming the field (and for overrides the entry or
    /// date, and the window).
    pub fn parse(raw: &RawSchedulingRules) -> Result<SchedulingRules, ScheduleError> {
        let min_notice_minutes = in_range("min_notice_minutes", raw.min_notice_minutes, 0, MAX_MIN_NOTICE_MINUTES)?;
        let max_days_ahead = in_range("max_days_ahead", raw.max_days_ahead, 0, MAX_DAYS_AHEAD)?;
        let slot_interval_minutes = in_range(
            "slot_interval_minutes",
            raw.slot_interval_minutes,
            MIN_SLOT_INTERVAL_MINUTES,
            MAX_SLOT_INTERVAL_MINUTES,
        )?;
        let buffer_before_minutes =
            in_range("buffer_before_minutes", raw.buffer_before_minutes, 0, MAX_SIDE_BUFFER_MINUTES)?;
        let buffer_after_minutes =
            in_range("buffer_after_minutes", raw.buffer_after_minutes, 0, MAX_SIDE_BUFFER_MINUTES)?;
        let date_overrides = match &raw.date_overrides {
            None => None,
            Some(list) => {
                if list.len() > MAX_DATE_OVERRIDES {
                    return Err(ScheduleError::TooManyOverrides { max: MAX_DATE_OVERRIDES, got: list.len() });
                }
                let mut out = Vec::with_capacity(list.len());
                for (i, o) in list.iter().enumerate() {
                    let date = parse_date(&o.date)
                        .ok_or_else(|| ScheduleError::BadDate { index: i + 1, date: o.date.clone() })?;
                    let windows = parse_windows(o.windows.iter().map(|(a, b)| (a.as_str(), b.as_str())))
                        .map_err(|error| ScheduleError::Window { date, error })?;
                    out.push(DateOverride { date, windows });
                }
                out.sort_by_key(|o| o.date);
                if let Some(pair) = out.windows(2).find(|p| p[0].date == p[1].date) {
                    return Err(ScheduleError::DuplicateDate { date: pair[0].date });
                }
                Some(out)
            }
        };
        let max_bookings_per_day = in_range("max_bookings_per_day", raw.max_bookings_per_day, 1, MAX_BOOKINGS_PER_DAY)?;
        let min_cancel_notice_minutes =
            in_range("min_cancel_notice_minutes", raw.min_cancel_notice_minutes, 0, MAX_MIN_NOTICE_MINUTES)?;
        let max_bookings_per_week =
            in_range("booking_limits.week", raw.max_bookings_per_week, 1, MAX_BOOKINGS_PER_WEEK)?;
        let max_bookings_per_month =
            in_range("booking_limits.month", raw.max_bookings_per_month, 1, MAX_BOOKINGS_PER_MONTH)?;
        let max_bookings_per_year =
            in_range("booking_limits.year", raw.max_bookings_per_year, 1, MAX_BOOKINGS_PER_YEAR)?;
        let max_minutes_per_day =
            in_range("duration_limits_minutes.day", raw.max_minutes_per_day, 1, MAX_MINUTES_PER_DAY)?;
        let max_minutes_per_week =
            in_range("duration_limits_minutes.week", raw.max_minutes_per_week, 1, MAX_MINUTES_PER_WEEK)?;
        let seats_per_slot = in_range("seats_per_slot", raw.seats_per_slot, 1, MAX_SEATS_PER_SLOT)?;
        let pending_expires_minutes = in_range(
            "pending_expires_minutes",
            raw.pending_expires_minutes,
            MIN_PENDING_EXPIRES_MINUTES,
            MAX_PENDING_EXPIRES_MINUTES,
        )?;
        if let Some(seats) = seats_per_slot.filter(|&n| n > 1) {
            if raw.pending_blocks_slot == Some(false) {
                return Err(ScheduleError::NonBlockingSeats { seats });
            }
        }
        if let (Some(from), Some(until)) = (raw.bookable_from, raw.bookable_until) {
            if until < from {
                return Err(ScheduleError::BookableRange { from, until });
            }
        }
        Ok(SchedulingRules {
            max_bookings_per_week,
            max_bookings_per_month,
            max_bookings_per_year,
            max_minutes_per_day,
            max_minutes_per_week,
            week_start: raw.week_start,
            window_days_kind: raw.window_days_kind,
            bookable_from: raw.bookable_from,
            bookable_until: raw.bookable_until,
            slot_alignment: raw.slot_alignment,
            seats_per_slot,
            requires_confirmation: raw.requires_confirmation,
            pending_blocks_slot: raw.pending_blocks_slot,
            pending_expires_minutes,
            min_cancel_notice_minutes,
            min_notice_minutes,
            max_days_ahead,
            slot_interval_minutes,
            buffer_before_minutes,
            buffer_after_minutes,
            date_overrides,
            max_bookings_per_day,
        })
    }

    /// The rules as raw values again (for storing or echoing);
    /// `parse(&r.to_raw()) == Ok(r)`. Overrides come sorted by date.
    #[must_use]
    pub fn to_raw(&self) -> RawSchedulingRules {
        let n = |v: Option<u32>| v.map(i64::from);
        RawSchedulingRules {
            min_notice_minutes: n(self.min_notice_minutes),
            max_days_ahead: n(self.max_days_ahead),
            slot_interval_minutes: n(self.slot_interval_minutes),
            buffer_before_minutes: n(self.buffer_before_minutes),
            buffer_after_minutes: n(self.buffer_after_minutes),
            date_overrides: self.date_overrides.as_ref().map(|list| {
                list.iter()
                    .map(|o| RawDateOverride {
                        date: o.date.format("%Y-%m-%d").to_string(),
                        windows: o.windows.iter().map(|w| (format_hhmm(w.start), format_hhmm(w.end))).collect(),
                    })
                    .collect()
            }),
            max_bookings_per_day: n(self.max_bookings_per_day),
            min_cancel_notice_minutes: n(self.min_cancel_notice_minutes),
            max_bookings_per_week: n(self.max_bookings_per_week),
            max_bookings_per_month: n(self.max_bookings_per_month),
            max_bookings_per_year: n(self.max_bookings_per_year),
            max_minutes_per_day: n(self.max_minutes_per_day),
            max_minutes_per_week: n(self.max_minutes_per_week),
            week_start: self.week_start,
            window_days_kind: self.window_days_kind,
            bookable_from: self.bookable_from,
            bookable_until: self.bookable_until,
            slot_alignment: self.slot_alignment,
            seats_per_slot: n(self.seats_per_slot),
            requires_confirmation: self.requires_confirmation,
            pending_blocks_slot: self.pending_blocks_slot,
            pending_expires_minutes: n(self.pending_expires_minutes),
        }
    }

    /// How long before a reservation's start its visitor may still cancel or move it (zero when
    /// absent: until it starts).
    #[must_use]
    pub fn min_cancel_notice(&self) -> Duration {
        Duration::minutes(self.min_cancel_notice_minutes.map_or(0, i64::from))
    }

    /// Minimum notice (zero when absent).
    #[must_use]
    pub fn min_notice(&self) -> Duration {
        Duration::minutes(self.min_notice_minutes.map_or(0, i64::from))
    }

    /// `max_days_ahead`, when set.
    #[must_use]
    pub fn max_days_ahead(&self) -> Option<u32> {
        self.max_days_ahead
    }

    /// The grid step, when set (absent: the link's duration).
    #[must_use]
    pub fn slot_interval(&self) -> Option<Duration> {
        self.slot_interval_minutes.map(|m| Duration::minutes(m.into()))
    }

    /// Busy-free time required before a slot, when set (absent: the link's buffer).
    #[must_use]
    pub fn buffer_before(&self) -> Option<Duration> {
        self.buffer_before_minutes.map(|m| Duration::minutes(m.into()))
    }

    /// Busy-free time required after a slot, when set (absent: the link's buffer).
    #[must_use]
    pub fn buffer_after(&self) -> Option<Duration> {
        self.buffer_after_minutes.map(|m| Duration::minutes(m.into()))
    }

    /// The overrides, sorted by date (empty when absent).
    #[must_use]
    pub fn date_overrides(&self) -> &[DateOverride] {
        self.date_overrides.as_deref().unwrap_or(&[])
    }

    /// The override of one date, if any.
    #[must_use]
    pub fn override_on(&self, date: NaiveDate) -> Option<&DateOverride> {
        let list = self.date_overrides();
        list.binary_search_by_key(&date, |o| o.date).ok().map(|i| &list[i])
    }

    /// `max_bookings_per_day`, when set.
    #[must_use]
    pub fn max_bookings_per_day(&self) -> Option<u32> {
        self.max_bookings_per_day
    }

    /// These rules with a team member's daily cap folded in: the lower of
    /// `max_bookings_per_day` and `cap` (either when only one is set).
    #[must_use]
    pub(super) fn with_day_cap(mut self, cap: Option<u32>) -> SchedulingRules {
        self.max_bookings_per_day = match (self.max_bookings_per_day, cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// The most live reservations a period may hold, when limited (`Day` is
    /// `max_bookings_per_day`).
    #[must_use]
    pub fn max_bookings(&self, period: Period) -> Option<u32> {
        match period {
            Period::Day => self.max_bookings_per_day,
            Period::Week => self.max_bookings_per_week,
            Period::Month => self.max_bookings_per_month,
            Period::Year => self.max_bookings_per_year,
        }
    }

    /// The most minutes of live reservations a period may hold, when limited (days and weeks).
    #[must_use]
    pub fn max_minutes(&self, period: Period) -> Option<u32> {
        match period {
            Period::Day => self.max_minutes_per_day,
            Period::Week => self.max_minutes_per_week,
            Period::Month | Period::Year => None,
        }
    }

    /// Whether any limit per period is set (then reservations must be counted).
    #[must_use]
    pub fn counts_reservations(&self) -> bool {
        Period::ALL.iter().any(|&p| self.max_bookings(p).is_some() || self.max_minutes(p).is_some())
    }

    /// The day weeks start on (Monday when not set).
    #[must_use]
    pub fn week_start(&self) -> Weekday {
        self.week_start.unwrap_or(Weekday::Mon)
    }

    /// How `max_days_ahead` counts (calendar days when not set).
    #[must_use]
    pub fn window_days_kind(&self) -> WindowDays {
        self.window_days_kind.unwrap_or_default()
    }

    /// The first local date slots may start on, when set.
    #[must_use]
    pub fn bookable_from(&self) -> Option<NaiveDate> {
        self.bookable_from
    }

    /// The last local date slots may start on, when set.
    #[must_use]
    pub fn bookable_until(&self) -> Option<NaiveDate> {
        self.bookable_until
    }

    /// Where slots start (the grid when not set).
    #[must_use]
    pub fn slot_alignment(&self) -> SlotAlignment {
        self.slot_alignment.unwrap_or_default()
    }

    /// How many visitors may reserve one slot (1 when not set).
    #[must_use]
    pub fn seats_per_slot(&self) -> u32 {
        self.seats_per_slot.unwrap_or(1)
    }

    /// Whether each reservation waits for the owner's confirmation (false when not set).
    #[must_use]
    pub fn requires_confirmation(&self) -> bool {
        self.requires_confirmation.unwrap_or(false)
    }

    /// Whether a pending reservation holds its slot (true when not set).
    #[must_use]
    pub fn pending_blocks_slot(&self) -> bool {
        self.pending_blocks_slot.unwrap_or(true)
    }

    /// How long a pending reservation may wait, when set (absent: until it starts).
    #[must_use]
    pub fn pending_expires(&self) -> Option<Duration> {
        self.pending_expires_minutes.map(|m| Duration::minutes(m.into()))
    }
}

impl SlotAlignment {
    /// Every kind.
    pub const ALL: [SlotAlignment; 2] = [SlotAlignment::Grid, SlotAlignment::AfterBusy];

    /// The wire and column name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SlotAlignment::Grid => "grid",
            SlotAlignment::AfterBusy => "after_busy",
        }
    }

    /// The kind named `text` ([`Self::as_str`]).
    #[must_use]
    pub fn parse(text: &str) -> Option<SlotAlignment> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A calendar period of the link's zone that limits count in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Day,
    /// Seven days from the link's `week_start`.
    Week,
    Month,
    Year,
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Year];

    /// The wire name (`booking_limits`' keys).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// The local dates `[first, next)` of the period holding `date`.
    #[must_use]
    pub fn around(self, date: NaiveDate, week_start: Weekday) -> (NaiveDate, NaiveDate) {
        use chrono::Datelike;
        let first = match self {
            Period::Day => date,
            Period::Week => {
                let back = (7 + date.weekday().num_days_from_monday() - week_start.num_days_from_monday()) % 7;
                date - Duration::days(i64::from(back))
            }
            Period::Month => date.with_day(1).unwrap_or(date),
            Period::Year => date.with_ordinal(1).unwrap_or(date),
        };
        let next = match self {
            Period::Day => first.succ_opt(),
            Period::Week => first.checked_add_days(chrono::Days::new(7)),
            Period::Month => first.checked_add_months(chrono::Months::new(1)),
            Period::Year => first.checked_add_months(chrono::Months::new(12)),
        };
        (first, next.unwrap_or(NaiveDate::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSchedulingRules {
        RawSchedulingRules::default()
    }

    fn ov(date: &str, windows: &[(&str, &str)]) -> RawDateOverride {
        RawDateOverride {
            date: date.into(),
            windows: windows.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect(),
        }
    }

    fn err(r: RawSchedulingRules) -> String {
        SchedulingRules::parse(&r).unwrap_err().to_string()
    }

    #[test]
    fn a_patch_keeps_resets_or_sets_each_field() {
        let current = RawSchedulingRules {
            min_notice_minutes: Some(60),
            max_days_ahead: Some(30),
            slot_interval_minutes: Some(15),
            max_bookings_per_day: Some(3),
            ..raw()
        };
        let patch = SchedulePatch {
            max_days_ahead: Patch::Reset,
            max_bookings_per_day: Patch::Set(5),
            date_overrides: Patch::Set(vec![]),
            ..SchedulePatch::default()
        };
        let after = patch.apply(current.clone());
        assert_eq!(
            after,
            RawSchedulingRules {
                max_days_ahead: None,
                max_bookings_per_day: Some(5),
                date_overrides: Some(vec![]),
                ..current.clone()
            }
        );
        assert_eq!(SchedulePatch::default().apply(current.clone()), current);
        assert_eq!(Patch::from(Some(4)), Patch::Set(4));
        assert_eq!(Patch::<i64>::from(None), Patch::Keep);
        assert!(Patch::<i64>::Reset.is_given() && !Patch::<i64>::Keep.is_given());
    }

    #[test]
    fn pending_reservations_that_hold_nothing_go_only_with_one_seat() {
        let mut r = raw();
        r.pending_blocks_slot = Some(false);
        r.seats_per_slot = Some(1);
        assert!(SchedulingRules::parse(&r).is_ok());
        r.seats_per_slot = Some(3);
        assert_eq!(SchedulingRules::parse(&r), Err(ScheduleError::NonBlockingSeats { seats: 3 }));
        r.pending_blocks_slot = Some(true);
        assert!(SchedulingRules::parse(&r).is_ok());
    }

    #[test]
    fn absent_is_default_and_round_trips() {
        assert_eq!(SchedulingRules::parse(&raw()), Ok(SchedulingRules::default()));
        let r = RawSchedulingRules {
            min_notice_minutes: Some(0),
            max_days_ahead: Some(730),
            slot_interval_minutes: Some(5),
            buffer_before_minutes: Some(1440),
            buffer_after_minutes: Some(0),
            date_overrides: Some(vec![
                ov("2026-12-31", &[]),
                ov("2026-12-24", &[("13:00", "24:00"), ("09:00", "12:00")]),
            ]),
            max_bookings_per_day: Some(1),
            min_cancel_notice_minutes: Some(60),
            max_bookings_per_week: Some(7000),
            max_bookings_per_month: Some(1),
            max_bookings_per_year: Some(366_000),
            max_minutes_per_day: Some(1440),
            max_minutes_per_week: Some(1),
            week_start: Some(chrono::Weekday::Sun),
            window_days_kind: Some(WindowDays::Business),
            bookable_from: NaiveDate::from_ymd_opt(2027, 1, 1),
            bookable_until: NaiveDate::from_ymd_opt(2027, 1, 1),
            slot_alignment: Some(SlotAlignment::AfterBusy),
            seats_per_slot: Some(1000),
            requires_confirmation: Some(true),
            pending_blocks_slot: Some(true),
            pending_expires_minutes: Some(43_200),
        };
        let parsed = SchedulingRules::parse(&r).unwrap();
        assert_eq!(parsed.date_overrides()[0].date().to_string(), "2026-12-24");
        assert_eq!(
            parsed.date_overrides()[0].windows(),
            [HoursWindow { start: 540, end: 720 }, HoursWindow { start: 780, end: 1440 }]
        );
        assert!(parsed.override_on(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).unwrap().windows().is_empty());
        assert_eq!(SchedulingRules::parse(&parsed.to_raw()), Ok(parsed.clone()));
        assert_eq!(parsed.to_raw().date_overrides.unwrap()[0].windows[1], ("13:00".into(), "24:00".into()));
    }

    #[test]
    fn every_range_is_checked_and_named() {
        type Setter = fn(&mut RawSchedulingRules, i64);
        let cases: [(&str, Setter, i64, i64); 14] = [
            ("pending_expires_minutes", |r, v| r.pending_expires_minutes = Some(v), 5, 43_200),
            ("seats_per_slot", |r, v| r.seats_per_slot = Some(v), 1, 1000),
            ("booking_limits.week", |r, v| r.max_bookings_per_week = Some(v), 1, 7000),
            ("booking_limits.month", |r, v| r.max_bookings_per_month = Some(v), 1, 31_000),
            ("booking_limits.year", |r, v| r.max_bookings_per_year = Some(v), 1, 366_000),
            ("duration_limits_minutes.day", |r, v| r.max_minutes_per_day = Some(v), 1, 1440),
            ("duration_limits_minutes.week", |r, v| r.max_minutes_per_week = Some(v), 1, 10_080),
            ("min_cancel_notice_minutes", |r, v| r.min_cancel_notice_minutes = Some(v), 0, 525_600),
            ("min_notice_minutes", |r, v| r.min_notice_minutes = Some(v), 0, 525_600),
            ("max_days_ahead", |r, v| r.max_days_ahead = Some(v), 0, 730),
            ("slot_interval_minutes", |r, v| r.slot_interval_minutes = Some(v), 5, 1440),
            ("buffer_before_minutes", |r, v| r.buffer_before_minutes = Some(v), 0, 1440),
            ("buffer_after_minutes", |r, v| r.buffer_after_minutes = Some(v), 0, 1440),
            ("max_bookings_per_day", |r, v| r.max_bookings_per_day = Some(v), 1, 1000),
        ];
        for (field, set, min, max) in cases {
            for ok in [min, max] {
                let mut r = raw();
                set(&mut r, ok);
                assert!(SchedulingRules::parse(&r).is_ok(), "{field} = {ok}");
            }
            for bad in [min - 1, max + 1, i64::MIN, i64::MAX] {
                let mut r = raw();
                set(&mut r, bad);
                assert_eq!(
                    SchedulingRules::parse(&r),
                    Err(ScheduleError::OutOfRange { field, min, max, got: bad }),
                    "{field} = {bad}"
                );
                assert_eq!(err(r), format!("{field} must be between {min} and {max}, got {bad}"));
            }
        }
    }

    #[test]
    fn bookable_dates_must_be_in_order_and_periods_are_local_calendar_periods() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let r =
            RawSchedulingRules { bookable_from: Some(d(2027, 2, 1)), bookable_until: Some(d(2027, 1, 31)), ..raw() };
        assert_eq!(err(r), "bookable_until (2027-01-31) must not be before bookable_from (2027-02-01)");
        let r = RawSchedulingRules { bookable_from: Some(d(2027, 2, 1)), bookable_until: Some(d(2027, 2, 1)), ..raw() };
        assert!(SchedulingRules::parse(&r).is_ok());
        // 2026-12-31 is a Thursday.
        let thu = d(2026, 12, 31);
        assert_eq!(Period::Day.around(thu, Weekday::Mon), (thu, d(2027, 1, 1)));
        assert_eq!(Period::Week.around(thu, Weekday::Mon), (d(2026, 12, 28), d(2027, 1, 4)));
        assert_eq!(Period::Week.around(thu, Weekday::Sun), (d(2026, 12, 27), d(2027, 1, 3)));
        assert_eq!(Period::Week.around(thu, Weekday::Thu), (thu, d(2027, 1, 7)));
        assert_eq!(Period::Week.around(thu, Weekday::Fri), (d(2026, 12, 25), d(2027, 1, 1)));
        assert_eq!(Period::Month.around(d(2028, 2, 29), Weekday::Mon), (d(2028, 2, 1), d(2028, 3, 1)));
        assert_eq!(Period::Year.around(thu, Weekday::Mon), (d(2026, 1, 1), d(2027, 1, 1)));
        let s = SchedulingRules::default();
        assert_eq!(
            (s.week_start(), s.window_days_kind(), s.slot_alignment()),
            (Weekday::Mon, WindowDays::Calendar, SlotAlignment::Grid)
        );
        assert!(!s.counts_reservations());
        let s = SchedulingRules::parse(&RawSchedulingRules { max_minutes_per_week: Some(60), ..raw() }).unwrap();
        assert!(s.counts_reservations());
        assert_eq!((s.max_minutes(Period::Week), s.max_bookings(Period::Week)), (Some(60), None));
    }

    #[test]
    fn interval_and_notice_out_of_range_messages() {
        let r = RawSchedulingRules { slot_interval_minutes: Some(4), ..raw() };
        assert_eq!(err(r), "slot_interval_minutes must be between 5 and 1440, got 4");
        let r = RawSchedulingRules { min_notice_minutes: Some(-1), ..raw() };
        assert_eq!(err(r), "min_notice_minutes must be between 0 and 525600, got -1");
    }

    #[test]
    fn overrides_reject_bad_dates() {
        for bad in ["2026-13-01", "2026-02-30", "2026-2-03", "26-02-03", "2026/02/03", "+2026-02-0", "2026-02-03 ", ""]
        {
            let r = RawSchedulingRules { date_overrides: Some(vec![ov("2026-01-01", &[]), ov(bad, &[])]), ..raw() };
            assert_eq!(
                SchedulingRules::parse(&r),
                Err(ScheduleError::BadDate { index: 2, date: bad.into() }),
                "{bad:?}"
            );
        }
        let r = RawSchedulingRules { date_overrides: Some(vec![ov("2026-13-01", &[])]), ..raw() };
        assert_eq!(err(r), r#"date_overrides entry 1: date "2026-13-01" is not a date in the form YYYY-MM-DD"#);
    }

    #[test]
    fn overrides_reject_duplicates_and_too_many() {
        let r = RawSchedulingRules {
            date_overrides: Some(vec![
                ov("2026-05-01", &[]),
                ov("2026-04-01", &[]),
                ov("2026-05-01", &[("09:00", "10:00")]),
            ]),
            ..raw()
        };
        assert_eq!(err(r), "date_overrides: 2026-05-01 is given more than once");
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let list = |n: i64| -> Vec<RawDateOverride> {
            (0..n).map(|i| ov(&(day + Duration::days(i)).format("%Y-%m-%d").to_string(), &[])).collect()
        };
        assert!(SchedulingRules::parse(&RawSchedulingRules { date_overrides: Some(list(366)), ..raw() }).is_ok());
        let r = RawSchedulingRules { date_overrides: Some(list(367)), ..raw() };
        assert_eq!(err(r), "date_overrides may hold at most 366 dates, got 367");
    }

    #[test]
    fn overrides_reject_bad_and_overlapping_windows() {
        let r = RawSchedulingRules {
            date_overrides: Some(vec![ov("2026-12-24", &[("09:00", "12:00"), ("11:00", "13:00")])]),
            ..raw()
        };
        assert_eq!(err(r), "date_overrides 2026-12-24 window 2 (11:00-13:00) overlaps 09:00-12:00");
        let r = RawSchedulingRules { date_overrides: Some(vec![ov("2026-12-24", &[("9:00", "12:00")])]), ..raw() };
        assert_eq!(
            err(r),
            r#"date_overrides 2026-12-24 window 1 (9:00-12:00): invalid start time "9:00": expected HH:MM from 00:00 to 23:59"#
        );
        let r = RawSchedulingRules { date_overrides: Some(vec![ov("2026-12-24", &[("12:00", "12:00")])]), ..raw() };
        assert_eq!(err(r), "date_overrides 2026-12-24 window 1 (12:00-12:00): start must be before end");
        let r = RawSchedulingRules { date_overrides: Some(vec![ov("2026-12-24", &[("12:00", "24:01")])]), ..raw() };
        assert!(matches!(
            SchedulingRules::parse(&r),
            Err(ScheduleError::Window { error: HoursWindowError::BadEnd { .. }, .. })
        ));
        // Touching windows are fine.
        let r = RawSchedulingRules {
            date_overrides: Some(vec![ov("2026-12-24", &[("09:00", "12:00"), ("12:00", "13:00")])]),
            ..raw()
        };
        assert!(SchedulingRules::parse(&r).is_ok());
    }
}
