//! Weekly working hours: per weekday, windows of minutes since local midnight, parsed from
//! "HH:MM" text (an end may be "24:00"). Date overrides (`schedule`) replace a weekday's windows
//! with windows parsed the same way ([`parse_windows`]).

use std::fmt;

use chrono::Weekday;
use thiserror::Error;

/// Minutes in a day; as a window end it means "24:00".
pub const MINUTES_PER_DAY: u16 = 1440;

/// Day keys, index 0 = Monday .. 6 = Sunday.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A working-hours window on one local day: minutes since local midnight.
/// `start` in `0..1440`, `end` in `1..=1440` (1440 = "24:00"), `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HoursWindow {
    /// Minutes since local midnight, `0..1440`.
    pub start: u16,
    /// Minutes since local midnight, `1..=1440` (1440 = "24:00").
    pub end: u16,
}

impl fmt::Display for HoursWindow {
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
    pub(super) days: [Vec<HoursWindow>; 7],
}

/// Why a working-hours definition was rejected. HoursWindow numbers are 1-based,
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

pub(super) fn day_index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

/// Why a list of windows (one weekday's, or one date override's) was
/// rejected. HoursWindow numbers are 1-based, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[allow(missing_docs)] // fields: the 1-based window number, the texts as given
pub enum HoursWindowError {
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

impl HoursWindowError {
    fn on_day(self, day: &'static str) -> WorkingHoursError {
        match self {
            HoursWindowError::BadStart { index, start, end } => WorkingHoursError::BadStart { day, index, start, end },
            HoursWindowError::BadEnd { index, start, end } => WorkingHoursError::BadEnd { day, index, start, end },
            HoursWindowError::StartNotBeforeEnd { index, window } => {
                WorkingHoursError::StartNotBeforeEnd { day, index, window }
            }
            HoursWindowError::Overlap { index, window, other } => {
                WorkingHoursError::Overlap { day, index, window, other }
            }
        }
    }
}

/// Parses one day's windows: "HH:MM" pairs, an end may be "24:00"; any order,
/// returned sorted; touching windows are fine, overlapping ones are not.
///
/// # Errors
///
/// The first problem found, naming the 1-based window as given.
pub fn parse_windows<S: AsRef<str>>(
    windows: impl IntoIterator<Item = (S, S)>,
) -> Result<Vec<HoursWindow>, HoursWindowError> {
    // (window, 1-based index as given)
    let mut parsed: Vec<(HoursWindow, usize)> = Vec::new();
    for (i, (s, e)) in windows.into_iter().enumerate() {
        let (s, e) = (s.as_ref(), e.as_ref());
        let index = i + 1;
        let bad = |start: bool| {
            let (start_s, end_s) = (s.to_owned(), e.to_owned());
            if start {
                HoursWindowError::BadStart { index, start: start_s, end: end_s }
            } else {
                HoursWindowError::BadEnd { index, start: start_s, end: end_s }
            }
        };
        let start = parse_hhmm(s, false).ok_or_else(|| bad(true))?;
        let end = parse_hhmm(e, true).ok_or_else(|| bad(false))?;
        let w = HoursWindow { start, end };
        if start >= end {
            return Err(HoursWindowError::StartNotBeforeEnd { index, window: w.to_string() });
        }
        parsed.push((w, index));
    }
    parsed.sort();
    for pair in parsed.windows(2) {
        let ((a, ai), (b, bi)) = (pair[0], pair[1]);
        if b.start < a.end {
            // Name the window given later, against the one given earlier.
            let ((w, index), (other, _)) = if ai > bi { ((a, ai), (b, bi)) } else { ((b, bi), (a, ai)) };
            return Err(HoursWindowError::Overlap { index, window: w.to_string(), other: other.to_string() });
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
    pub fn day(&self, weekday: Weekday) -> &[HoursWindow] {
        &self.days[day_index(weekday)]
    }

    /// All seven days, Monday first, as (day key, windows); days without
    /// windows are included with an empty slice.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[HoursWindow])> + '_ {
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

/// `{"start": "09:00", "end": "17:00"}`.
impl serde::Serialize for HoursWindow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut window = serializer.serialize_struct("HoursWindow", 2)?;
        window.serialize_field("start", &format_hhmm(self.start))?;
        window.serialize_field("end", &format_hhmm(self.end))?;
        window.end()
    }
}

/// `{"mon": [{"start": "09:00", "end": "17:00"}], ...}`, every day present (an empty list when
/// it has no window), Monday first: how a link's working hours are stored and echoed.
impl serde::Serialize for WorkingHours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut days = serializer.serialize_map(Some(DAY_KEYS.len()))?;
        for (key, windows) in self.iter() {
            days.serialize_entry(key, windows)?;
        }
        days.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::testing::hours;

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
        assert_eq!(h.day(Weekday::Mon), [HoursWindow { start: 540, end: 720 }, HoursWindow { start: 720, end: 1020 }]);
        assert_eq!(h.day(Weekday::Fri), [HoursWindow { start: 540, end: 720 }, HoursWindow { start: 780, end: 1020 }]);
        assert_eq!(h.day(Weekday::Sun), [HoursWindow { start: 0, end: 1440 }]);
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
        assert_eq!(HoursWindow { start: 540, end: 1440 }.to_string(), "09:00-24:00");
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
}
