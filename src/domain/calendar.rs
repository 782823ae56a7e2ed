//! A calendar's busy time as the use cases take it: a new event, parsed once, and the rules of
//! the ranges a calendar is listed for.

use super::input::{FreeText, InputError, Instant, Name, RangeRule, TimeRange, MAX_NAME_CHARS, MAX_TEXT_CHARS};
use chrono::{DateTime, FixedOffset};

/// The longest range `listCalendarEvents` answers for, and the longest event.
pub const MAX_LIST_DAYS: i64 = 366;

/// A listing's window: `start..end`, at most [`MAX_LIST_DAYS`].
pub const LIST_RANGE: RangeRule =
    RangeRule { start_field: "start", end_field: "end", max: Some((MAX_LIST_DAYS, "the range may span")) };

/// An event's span: `start..end`, at most [`MAX_LIST_DAYS`].
pub const EVENT_RANGE: RangeRule =
    RangeRule { start_field: "start", end_field: "end", max: Some((MAX_LIST_DAYS, "an event may last")) };

/// An event the owner enters: a title, a span, optional notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub title: Name,
    pub span: TimeRange,
    pub notes: Option<FreeText>,
}

impl NewEvent {
    /// Checks the fields in the contract's order (title, start, end, notes), then the span.
    pub fn parse(
        title: &str,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
        notes: Option<&str>,
    ) -> Result<Self, InputError> {
        let title = Name::parse("title", title, MAX_NAME_CHARS)?;
        let (start, end) = (Instant::parse("start", start)?.utc(), Instant::parse("end", end)?.utc());
        let notes = FreeText::parse_opt("notes", notes, MAX_TEXT_CHARS)?;
        let span = TimeRange::parse(&EVENT_RANGE, start, end)?;
        Ok(Self { title, span, notes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn a_new_event_has_a_title_and_a_bounded_span() {
        let t = Utc.with_ymd_and_hms(2030, 1, 7, 10, 0, 0).unwrap().fixed_offset();
        let e = NewEvent::parse(" Dentist ", t, t + Duration::hours(1), Some("bring card")).unwrap();
        assert_eq!(
            (e.title.as_str(), e.span.start(), e.span.end() - e.span.start()),
            ("Dentist", t.to_utc(), Duration::hours(1))
        );
        assert_eq!(NewEvent::parse("x", t, t, None).unwrap_err().to_string(), "end must be after start");
        assert_eq!(
            NewEvent::parse("x", t, t + Duration::days(367), None).unwrap_err().to_string(),
            "an event may last at most 366 days"
        );
        assert_eq!(NewEvent::parse("", t, t, None).unwrap_err().to_string(), "title must not be empty");
    }
}
