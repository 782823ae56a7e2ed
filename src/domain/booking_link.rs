//! A booking link's settings, parsed once: duration, buffer, IANA time zone, working hours.

use super::availability::{LinkRules, SchedulingRules, WorkingHours};
use super::input::{EmailAddress, FreeText, InputError, Instant, Name, RangeRule, MAX_NAME_CHARS, MAX_TEXT_CHARS};
use chrono::{DateTime, Duration, FixedOffset, Utc, Weekday};
use chrono_tz::Tz;

pub const DAY_KEYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

pub const MIN_DURATION_MINUTES: i64 = 5;
pub const MAX_DURATION_MINUTES: i64 = 24 * 60;
pub const MAX_BUFFER_MINUTES: i64 = 24 * 60;
/// The longest range availability is computed for.
pub const MAX_AVAILABILITY_DAYS: i64 = 62;

/// The window availability is asked for: `start..end`, at most [`MAX_AVAILABILITY_DAYS`].
pub const AVAILABILITY_RANGE: RangeRule =
    RangeRule { start_field: "start", end_field: "end", max: Some((MAX_AVAILABILITY_DAYS, "the range may span")) };

/// A visitor's reservation of a slot through a link, parsed once: whether the slot is one the
/// link offers is the use case's to check (it needs the link and the calendar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub name: Name,
    pub email: EmailAddress,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub notes: Option<FreeText>,
}

impl Reservation {
    /// Checks the fields in the contract's order: name, email, slot_start, slot_end, notes.
    pub fn parse(
        name: &str,
        email: &str,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
        notes: Option<&str>,
    ) -> Result<Self, InputError> {
        Ok(Self {
            name: Name::parse("name", name, MAX_NAME_CHARS)?,
            email: EmailAddress::parse("email", email)?,
            start: Instant::parse("slot_start", start)?.utc(),
            end: Instant::parse("slot_end", end)?.utc(),
            notes: FreeText::parse_opt("notes", notes, MAX_TEXT_CHARS)?,
        })
    }

    /// The calendar event's title.
    pub fn title(&self) -> String {
        format!("Booking: {}", self.name.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub rules: LinkRules,
    pub duration_minutes: i64,
    pub buffer_minutes: i64,
    pub timezone: String,
    pub active: bool,
}

impl LinkSettings {
    /// `buffer_minutes` as the settings echo it: only while the buffers before and after are equal.
    pub fn common_buffer_minutes(&self) -> Option<i64> {
        let (before, after) = (self.rules.buffer_before(), self.rules.buffer_after());
        (before == after).then(|| before.num_minutes())
    }
}

/// An IANA zone name such as `America/Asuncion` (chrono-tz's database).
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| format!("timezone {name:?} is not an IANA time zone name"))
}

impl LinkSettings {
    /// Checks the seed's fields (the scheduling rules come parsed, see
    /// [`SchedulingRules::parse`]).
    pub fn parse(
        duration_minutes: i64,
        buffer_minutes: i64,
        timezone: &str,
        hours: WorkingHours,
        active: bool,
        schedule: SchedulingRules,
    ) -> Result<Self, String> {
        if !(MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&duration_minutes) {
            return Err(format!(
                "duration_minutes must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES}, got {duration_minutes}"
            ));
        }
        if !(0..=MAX_BUFFER_MINUTES).contains(&buffer_minutes) {
            return Err(format!("buffer_minutes must be between 0 and {MAX_BUFFER_MINUTES}, got {buffer_minutes}"));
        }
        let tz = parse_timezone(timezone)?;
        Ok(Self {
            rules: LinkRules {
                duration: Duration::minutes(duration_minutes),
                buffer: Duration::minutes(buffer_minutes),
                tz,
                hours,
                schedule,
            },
            duration_minutes,
            buffer_minutes,
            timezone: timezone.to_string(),
            active,
        })
    }
}

#[cfg(test)]
mod reservation_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_reservation_is_parsed_field_by_field() {
        let t = Utc.with_ymd_and_hms(2030, 1, 7, 10, 0, 0).unwrap().fixed_offset();
        let r = Reservation::parse(" Ada ", "ada@example.com", t, t + Duration::minutes(30), None).unwrap();
        assert_eq!((r.name.as_str(), r.email.as_str(), r.title()), ("Ada", "ada@example.com", "Booking: Ada".into()));
        assert_eq!(r.end - r.start, Duration::minutes(30));
        let e = Reservation::parse("", "not an address", t, t, None).unwrap_err();
        assert_eq!(e.to_string(), "name must not be empty");
        assert!(Reservation::parse("Ada", "nope", t, t, None).unwrap_err().to_string().starts_with("email "));
    }
}
