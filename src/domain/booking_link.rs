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
    /// Where reservations take place, when the owner says.
    pub location: Option<Location>,
}

/// What a location's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationKind {
    Address,
    Phone,
    Url,
}

impl LocationKind {
    /// Every kind.
    pub const ALL: [LocationKind; 3] = [LocationKind::Address, LocationKind::Phone, LocationKind::Url];

    /// The wire and column name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Address => "address",
            LocationKind::Phone => "phone",
            LocationKind::Url => "url",
        }
    }

    /// The kind named `text` ([`Self::as_str`]).
    #[must_use]
    pub fn parse(text: &str) -> Option<LocationKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The longest location value.
pub const MAX_LOCATION_CHARS: usize = 500;
/// What a location's value may hold, replaced by each reservation's id.
pub const RESERVATION_ID_PLACEHOLDER: &str = "{reservation_id}";

/// A link's location, parsed: an address (free text), a phone number, or an http(s) URL, each
/// possibly a template holding [`RESERVATION_ID_PLACEHOLDER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    kind: LocationKind,
    value: String,
}

impl Location {
    /// Checks `value` for its kind (trimmed; 1 to 500 characters; no control characters; a
    /// phone number is `+`, digits, spaces, dashes, dots and parentheses with at least three
    /// digits; a URL is `http://` or `https://` with a host, once the placeholder is filled).
    ///
    /// # Errors
    ///
    /// A message naming `location.value`.
    pub fn parse(kind: LocationKind, value: &str) -> Result<Location, String> {
        let value = value.trim();
        let chars = value.chars().count();
        if chars == 0 || chars > MAX_LOCATION_CHARS {
            return Err(format!("location.value must be 1 to {MAX_LOCATION_CHARS} characters, got {chars}"));
        }
        if value.chars().any(char::is_control) {
            return Err("location.value must not contain control characters".into());
        }
        match kind {
            LocationKind::Address => {}
            LocationKind::Phone => {
                let allowed = value.chars().all(|c| c.is_ascii_digit() || "+ -.()".contains(c));
                if !allowed || value.chars().filter(char::is_ascii_digit).count() < 3 {
                    return Err(format!(
                        "location.value {value:?} is not a phone number (+, digits, spaces, dashes, dots, parentheses)"
                    ));
                }
            }
            LocationKind::Url => {
                let sample = value.replace(RESERVATION_ID_PLACEHOLDER, "00000000-0000-0000-0000-000000000000");
                let ok = url::Url::parse(&sample).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
                });
                if !ok {
                    return Err(format!("location.value {value:?} is not an http:// or https:// URL"));
                }
            }
        }
        Ok(Location { kind, value: value.to_string() })
    }

    /// The kind.
    #[must_use]
    pub fn kind(&self) -> LocationKind {
        self.kind
    }

    /// The value as set (a template may hold the placeholder).
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The location of one reservation: the placeholder replaced by its id.
    #[must_use]
    pub fn for_reservation(&self, id: impl std::fmt::Display) -> String {
        self.value.replace(RESERVATION_ID_PLACEHOLDER, &id.to_string())
    }
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
            location: None,
        })
    }

    /// These settings with `location`.
    #[must_use]
    pub fn with_location(self, location: Option<Location>) -> Self {
        Self { location, ..self }
    }
}

#[cfg(test)]
mod location_tests {
    use super::*;

    #[test]
    fn locations_are_checked_by_kind_and_filled_per_reservation() {
        let url = Location::parse(LocationKind::Url, " https://meet.example.com/r/{reservation_id} ").unwrap();
        assert_eq!(url.value(), "https://meet.example.com/r/{reservation_id}");
        assert_eq!(url.for_reservation("abc"), "https://meet.example.com/r/abc");
        for bad in ["meet.example.com", "ftp://example.com/x", "javascript:alert(1)", "https://"] {
            assert!(Location::parse(LocationKind::Url, bad).is_err(), "{bad}");
        }
        assert!(Location::parse(LocationKind::Phone, "+1 (555) 010-0100").is_ok());
        for bad in ["call me", "+1", "12a45"] {
            assert!(Location::parse(LocationKind::Phone, bad).is_err(), "{bad}");
        }
        let addr = Location::parse(LocationKind::Address, "Hauptstraße 1, 10115 Berlin").unwrap();
        assert_eq!(addr.for_reservation("x"), "Hauptstraße 1, 10115 Berlin");
        assert!(Location::parse(LocationKind::Address, "   ").is_err());
        assert!(Location::parse(LocationKind::Address, "a\u{0}b").is_err());
        assert!(Location::parse(LocationKind::Address, &"x".repeat(501)).is_err());
        assert_eq!(LocationKind::parse("url"), Some(LocationKind::Url));
        assert_eq!(LocationKind::parse("URL"), None);
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
