//! What every string and instant a request carries must be before anything else sees it: one
//! rule per kind of value, parsed once at the edge (the handlers), so services, the store and
//! the notifications only ever hold valid values.
//!
//! - [`Name`]: a name or title. Trimmed; 1 to `max` characters; no control character at all
//!   (Unicode `Cc`: NUL, tab, newline, DEL, the C1 range) and no line or paragraph separator.
//! - [`FreeText`]: notes and reasons. Kept as given; up to `max` characters; tab, newline and
//!   carriage return allowed, NUL and every other control character never.
//! - [`EmailAddress`]: an addr-spec only (`local@domain.tld`): no display name, no comment, no
//!   quoted local part, no IP literal, a domain with a dot whose last label is not a number.
//! - [`LinkToken`]: a booking link's token, in the alphabet tokens are made of.
//! - [`Instant`]: a point in time within 0001-01-01T00:00:00Z..=9999-12-31T23:59:59.999999999Z,
//!   the range every date-time of the contract is written in with a four-digit year and that
//!   both databases compare correctly.
//!
//! Errors name the field; they never echo the value (it may hold the very characters refused).

use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Utc};
use std::fmt;

/// Names and titles: the contract's `maxLength` of calendar names, event titles and visitors' names.
pub const MAX_NAME_CHARS: usize = 200;
/// Notes, reasons and other free text.
pub const MAX_TEXT_CHARS: usize = 2000;
/// An email address (the contract's `maxLength`; RFC 5321 allows less, 254, on the wire).
pub const MAX_EMAIL_CHARS: usize = 320;
/// A booking link token (ours are 32).
pub const MAX_TOKEN_CHARS: usize = 64;

/// Why an input was refused, with the field it came in (as the contract spells it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub field: &'static str,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLong(usize),
    Nul,
    /// A control character in a name (tab and newline included).
    Control,
    /// A control character other than tab, newline and carriage return in free text.
    ControlInText,
    NotAnAddress(&'static str),
    OutOfRange,
    /// An end at or before its start (the start's field is named).
    NotAfter(&'static str),
    /// A range longer than its rule allows: the rule's phrase ("the range may span") and days.
    SpanTooLong(&'static str, i64),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        match self.problem {
            Problem::Empty => write!(f, "{field} must not be empty"),
            Problem::TooLong(max) => write!(f, "{field} may have at most {max} characters"),
            Problem::Nul => write!(f, "{field} must not contain NUL characters"),
            Problem::Control => write!(f, "{field} must not contain control characters"),
            Problem::ControlInText => {
                write!(f, "{field} must not contain control characters other than tab and newline")
            }
            Problem::NotAnAddress(why) => write!(f, "{field} must be a plain email address (name@example.com): {why}"),
            Problem::OutOfRange => write!(
                f,
                "{field} must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z (in UTC, after its offset)"
            ),
            Problem::NotAfter(start) => write!(f, "{field} must be after {start}"),
            Problem::SpanTooLong(phrase, days) => write!(f, "{phrase} at most {days} days"),
        }
    }
}

impl std::error::Error for InputError {}

fn refuse<T>(field: &'static str, problem: Problem) -> Result<T, InputError> {
    Err(InputError { field, problem })
}

/// Characters a name may not hold: every `Cc` character, and the Unicode line and paragraph
/// separators (a name is one line).
fn forbidden_in_name(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn forbidden_in_text(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// A name or title: trimmed, 1 to `max` characters, one line of no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &'static str, raw: &str, max: usize) -> Result<Self, InputError> {
        if raw.contains('\0') {
            return refuse(field, Problem::Nul);
        }
        if raw.chars().any(forbidden_in_name) {
            return refuse(field, Problem::Control);
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return refuse(field, Problem::Empty);
        }
        if trimmed.chars().nth(max).is_some() {
            return refuse(field, Problem::TooLong(max));
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Free text (notes, reasons): as given, up to `max` characters, tab and newline allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeText(String);

impl FreeText {
    pub fn parse(field: &'static str, raw: &str, max: usize) -> Result<Self, InputError> {
        if raw.contains('\0') {
            return refuse(field, Problem::Nul);
        }
        if raw.chars().any(forbidden_in_text) {
            return refuse(field, Problem::ControlInText);
        }
        if raw.chars().nth(max).is_some() {
            return refuse(field, Problem::TooLong(max));
        }
        Ok(Self(raw.to_string()))
    }

    /// [`FreeText::parse`] of an optional field.
    pub fn parse_opt(field: &'static str, raw: Option<&str>, max: usize) -> Result<Option<Self>, InputError> {
        raw.map(|r| Self::parse(field, r, max)).transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An email address mail may be sent to, as one address: `local@domain.tld`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InputError> {
        let bad = |why| refuse(field, Problem::NotAnAddress(why));
        if raw.contains('\0') {
            return refuse(field, Problem::Nul);
        }
        if raw.is_empty() {
            return refuse(field, Problem::Empty);
        }
        if raw.chars().nth(MAX_EMAIL_CHARS).is_some() {
            return refuse(field, Problem::TooLong(MAX_EMAIL_CHARS));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return bad("no spaces or control characters");
        }
        // The library's parser, told to accept an addr-spec and nothing around it.
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_minimum_sub_domains(2);
        let parsed = match email_address::EmailAddress::parse_with_options(raw, options) {
            Ok(parsed) => parsed,
            Err(email_address::Error::UnsupportedDisplayName | email_address::Error::MissingDisplayName) => {
                return bad("no display name or angle brackets")
            }
            Err(email_address::Error::UnsupportedDomainLiteral) => return bad("no IP address as the domain"),
            Err(email_address::Error::DomainTooFew) => return bad("the domain needs a dot"),
            Err(_) => return bad("not an addr-spec"),
        };
        // What the library still allows but mail clients and people misread: a quoted local part
        // (`"victim@bank.example <x"@evil.example`), and a dotted IPv4 address as a domain
        // name (no top-level domain is a number).
        if parsed.local_part().starts_with('"') {
            return bad("no quoted local part");
        }
        let top = parsed.domain().rsplit('.').next().unwrap_or_default();
        if top.chars().all(|c| c.is_ascii_digit()) {
            return bad("no IP address as the domain");
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A booking link token: 1 to [`MAX_TOKEN_CHARS`] characters of the URL-safe base64 alphabet
/// tokens are made of. Anything else names no link (the caller answers 404). The store keeps
/// it as its text (`crate::entities::ids`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkToken(String);

impl LinkToken {
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_TOKEN_CHARS
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_string()))
    }

    /// A new token from 24 random bytes (192 bits): 32 characters of URL-safe base64.
    pub fn from_random_bytes(bytes: [u8; 24]) -> Self {
        use base64::Engine;
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first instant the contract can carry: 0001-01-01T00:00:00Z.
pub fn min_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The last instant the contract can carry: 9999-12-31T23:59:59.999999999Z.
pub fn max_instant() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 999_999_999).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether `t` lies within [`min_instant`]..=[`max_instant`].
pub fn in_range(t: DateTime<Utc>) -> bool {
    (min_instant()..=max_instant()).contains(&t)
}

/// `t`, moved into [`min_instant`]..=[`max_instant`]: for query bounds derived from valid
/// instants (a range widened by a margin), since nothing stored lies outside.
pub fn clamp(t: DateTime<Utc>) -> DateTime<Utc> {
    t.clamp(min_instant(), max_instant())
}

/// Whether `t`, written in the zone `tz` (a slot in its link's offset), still has a year of
/// 0001..=9999, so its RFC 3339 form is a date-time.
pub fn renders_in<Z: TimeZone>(tz: &Z, t: DateTime<Utc>) -> bool {
    (1..=9999).contains(&t.with_timezone(tz).year())
}

/// Whether a slot `[start, end)` with `before` ahead of it and `after` behind it lies within the
/// range, and both its ends written in `tz` (its link's zone, as availability answers them) have
/// a year of 0001..=9999: only such slots are offered or reserved.
pub fn slot_fits<Z: TimeZone>(
    tz: &Z,
    before: chrono::Duration,
    after: chrono::Duration,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> bool {
    let widened = start.checked_sub_signed(before).zip(end.checked_add_signed(after));
    widened.is_some_and(|(from, to)| in_range(from) && in_range(to)) && renders_in(tz, start) && renders_in(tz, end)
}

/// A point in time the contract can carry, however it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(DateTime<Utc>);

impl Instant {
    pub fn parse(field: &'static str, t: DateTime<FixedOffset>) -> Result<Self, InputError> {
        Self::from_utc(field, t.with_timezone(&Utc))
    }

    pub fn from_utc(field: &'static str, t: DateTime<Utc>) -> Result<Self, InputError> {
        if in_range(t) {
            Ok(Self(t))
        } else {
            refuse(field, Problem::OutOfRange)
        }
    }

    /// [`Instant::parse`] of an optional field.
    pub fn parse_opt(field: &'static str, t: Option<DateTime<FixedOffset>>) -> Result<Option<Self>, InputError> {
        t.map(|t| Self::parse(field, t)).transpose()
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }
}

impl From<Instant> for DateTime<Utc> {
    fn from(t: Instant) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(Name::parse("name", "  Ada Lovelace ", 200).unwrap().as_str(), "Ada Lovelace");
        for (raw, problem) in [
            ("", Problem::Empty),
            ("   ", Problem::Empty),
            ("Ada\0", Problem::Nul),
            ("\0", Problem::Nul),
            ("Ada\tL", Problem::Control),
            ("Ada\nL", Problem::Control),
            (" Ada\n", Problem::Control),
            ("Ada\u{7f}", Problem::Control),
            ("Ada\u{85}", Problem::Control),
            ("Ada\u{1b}[31m", Problem::Control),
            ("Ada\u{2028}L", Problem::Control),
        ] {
            assert_eq!(Name::parse("name", raw, 200), Err(InputError { field: "name", problem }), "{raw:?}");
        }
        assert!(Name::parse("name", &"é".repeat(200), 200).is_ok());
        assert_eq!(Name::parse("name", &"é".repeat(201), 200).unwrap_err().problem, Problem::TooLong(200));
        // The bound is on the trimmed name.
        assert!(Name::parse("name", &format!("  {}  ", "a".repeat(200)), 200).is_ok());
    }

    #[test]
    fn free_text() {
        let text = "Line one\n\tindented\r\nlast ";
        assert_eq!(FreeText::parse("notes", text, 2000).unwrap().as_str(), text);
        assert_eq!(FreeText::parse("notes", "", 2000).unwrap().as_str(), "");
        assert_eq!(FreeText::parse("notes", "a\0b", 2000).unwrap_err().problem, Problem::Nul);
        assert_eq!(FreeText::parse("notes", "a\u{7}b", 2000).unwrap_err().problem, Problem::ControlInText);
        assert_eq!(FreeText::parse("notes", "a\u{1b}b", 2000).unwrap_err().problem, Problem::ControlInText);
        assert_eq!(FreeText::parse("notes", &"x".repeat(2001), 2000).unwrap_err().problem, Problem::TooLong(2000));
        assert_eq!(
            FreeText::parse("reasonText", "\0", 2000).unwrap_err().to_string(),
            "reasonText must not contain NUL characters"
        );
    }

    #[test]
    fn emails() {
        for ok in ["visitor@example.com", "a.b+tag@sub.example.co", "jörg@bücher.example", "x@a.b"] {
            assert_eq!(EmailAddress::parse("email", ok).map(|e| e.into_string()), Ok(ok.to_string()), "{ok}");
        }
        for bad in [
            "victim@bank.example <attacker@evil.example>",
            "Victim <attacker@evil.example>",
            "<attacker@evil.example>",
            "a@[127.0.0.1]",
            "a@[IPv6:::1]",
            "a@127.0.0.1",
            "a@localhost",
            "a(comment)@example.com",
            "a@example.com(comment)",
            "\"victim@bank.example <x\"@evil.example",
            "\"a b\"@example.com",
            " a@example.com",
            "a@example.com\n",
            "a@exa\0mple.com",
            "a@@example.com",
            "example.com",
            "",
        ] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@{}.example", "a".repeat(64), "b".repeat(300));
        assert!(EmailAddress::parse("email", &long).is_err());
        assert_eq!(
            EmailAddress::parse("email", "a@localhost").unwrap_err().to_string(),
            "email must be a plain email address (name@example.com): the domain needs a dot"
        );
    }

    #[test]
    fn tokens() {
        assert!(LinkToken::parse("AbC_-09xyz").is_some());
        for bad in ["", "a\0b", "\0", "a b", "a/b", "a%00", "a.b", "ä", &"a".repeat(65)] {
            assert!(LinkToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn instants() {
        let west = FixedOffset::west_opt(5 * 3600).unwrap();
        let east = FixedOffset::east_opt(5 * 3600).unwrap();
        let late = west.with_ymd_and_hms(9999, 12, 31, 22, 0, 0).unwrap();
        assert_eq!(Instant::parse("slot_start", late).unwrap_err().problem, Problem::OutOfRange);
        let late_east = east.with_ymd_and_hms(9999, 12, 31, 22, 0, 0).unwrap();
        assert!(Instant::parse("slot_start", late_east).is_ok());
        let early = east.with_ymd_and_hms(1, 1, 1, 2, 0, 0).unwrap();
        assert_eq!(Instant::parse("start", early).unwrap_err().problem, Problem::OutOfRange);
        let early_west = west.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        assert!(Instant::parse("start", early_west).is_ok());
        assert!(in_range(min_instant()) && in_range(max_instant()));
        assert!(!in_range(min_instant() - chrono::Duration::nanoseconds(1)));
        assert!(!in_range(max_instant() + chrono::Duration::nanoseconds(1)));
        assert_eq!(max_instant().to_rfc3339(), "9999-12-31T23:59:59.999999999+00:00");
        assert_eq!(min_instant().to_rfc3339(), "0001-01-01T00:00:00+00:00");
        assert!(!renders_in(&east, max_instant()));
        assert!(renders_in(&west, max_instant()));
        let hour = chrono::Duration::hours(1);
        let end_of_time = Utc.with_ymd_and_hms(9999, 12, 31, 22, 0, 0).unwrap();
        assert!(slot_fits(&Utc, hour, hour, end_of_time - hour, end_of_time));
        assert!(!slot_fits(&Utc, hour * 3, hour * 3, end_of_time - hour, end_of_time));
        // Each side with its own buffer: only the one after reaches past the end of time.
        assert!(slot_fits(&Utc, hour * 3, hour, end_of_time - hour, end_of_time));
        assert!(!slot_fits(&Utc, hour, hour * 3, end_of_time - hour, end_of_time));
        assert!(!slot_fits(&east, hour, hour, end_of_time - hour, end_of_time));
        assert!(slot_fits(&west, hour, hour, end_of_time - hour, end_of_time));
        let start_of_time = min_instant();
        assert!(!slot_fits(&Utc, hour, hour, start_of_time, start_of_time + hour));
        assert!(slot_fits(&Utc, hour, hour, start_of_time + hour, start_of_time + hour * 2));
        assert!(!slot_fits(
            &west,
            chrono::Duration::zero(),
            chrono::Duration::zero(),
            start_of_time + hour,
            start_of_time + hour * 2
        ));
    }

    fn name_char() -> impl Strategy<Value = char> {
        prop_oneof![
            8 => proptest::char::range('a', 'z'),
            2 => Just(' '),
            1 => any::<char>(),
            1 => prop_oneof![Just('\0'), Just('\t'), Just('\n'), Just('\r'), Just('\u{7f}'), Just('\u{2028}')],
        ]
    }

    proptest! {
        /// A parsed name has no control character, no surrounding space, 1..=max characters,
        /// and parses to itself.
        #[test]
        fn a_parsed_name_is_what_the_rule_says(chars in proptest::collection::vec(name_char(), 0..40), max in 1usize..30) {
            let raw: String = chars.into_iter().collect();
            match Name::parse("name", &raw, max) {
                Ok(name) => {
                    let s = name.as_str();
                    prop_assert!(!s.chars().any(forbidden_in_name));
                    prop_assert_eq!(s, s.trim());
                    prop_assert!(!s.is_empty() && s.chars().count() <= max);
                    prop_assert_eq!(Name::parse("name", s, max), Ok(name.clone()));
                }
                Err(e) => {
                    let trimmed = raw.trim();
                    let expected = raw.chars().any(forbidden_in_name) || trimmed.is_empty() || trimmed.chars().count() > max;
                    prop_assert!(expected, "{:?} refused: {}", raw, e);
                    if raw.contains('\0') {
                        prop_assert_eq!(e.problem, Problem::Nul);
                    }
                }
            }
        }

        /// Free text is kept exactly, unless it holds NUL or a control character other than
        /// tab, newline and carriage return, or is too long.
        #[test]
        fn free_text_is_kept_or_refused_for_a_reason(chars in proptest::collection::vec(name_char(), 0..60), max in 0usize..50) {
            let raw: String = chars.into_iter().collect();
            let refused = raw.chars().any(forbidden_in_text) || raw.chars().count() > max;
            match FreeText::parse("notes", &raw, max) {
                Ok(text) => {
                    prop_assert!(!refused);
                    prop_assert_eq!(text.as_str(), raw.as_str());
                    prop_assert!(!text.as_str().contains('\0'));
                }
                Err(_) => prop_assert!(refused),
            }
        }

        /// Every token the server makes parses; any character outside the alphabet refuses it.
        #[test]
        fn tokens_of_the_alphabet_only(bytes in any::<[u8; 24]>(), at in 0usize..32, odd in any::<char>()) {
            use base64::Engine;
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            prop_assert!(LinkToken::parse(&token).is_some());
            if !(odd.is_ascii_alphanumeric() || odd == '-' || odd == '_') {
                let mut spoiled: Vec<char> = token.chars().collect();
                spoiled[at] = odd;
                prop_assert!(LinkToken::parse(&spoiled.into_iter().collect::<String>()).is_none());
            }
        }

        /// A plain `local@label.tld` parses to itself; wrapped in a display name, given an IP
        /// literal or left without a dot in the domain, it is refused.
        #[test]
        fn addr_specs_only(local in "[a-z0-9][a-z0-9.+_-]{0,20}[a-z0-9]", label in "[a-z0-9]{1,10}", tld in "[a-z]{2,6}", display in "[A-Za-z ]{0,10}") {
            let addr = format!("{local}@{label}.{tld}");
            if !local.contains("..") {
                prop_assert_eq!(EmailAddress::parse("email", &addr).map(|e| e.into_string()), Ok(addr.clone()));
            }
            let displayed = format!("{display} <{addr}>");
            prop_assert!(EmailAddress::parse("email", &displayed).is_err());
            let unqualified = format!("{local}@{label}");
            prop_assert!(EmailAddress::parse("email", &unqualified).is_err());
            let literal = format!("{local}@[10.0.0.1]");
            prop_assert!(EmailAddress::parse("email", &literal).is_err());
        }

        /// An instant is accepted exactly when its UTC time is within the range, whatever the
        /// offset; accepted, its UTC RFC 3339 form has a four-digit year.
        #[test]
        fn instants_within_the_range_only(
            secs in -62_135_596_800i64 - 200_000..-62_135_596_800i64 + 200_000,
            late in any::<bool>(),
            offset in -86_399i32..86_400,
        ) {
            let secs = if late { secs - (-62_135_596_800i64) + 253_402_300_799 - 100_000 } else { secs };
            let zone = FixedOffset::east_opt(offset).unwrap();
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap().with_timezone(&zone);
            let utc = t.with_timezone(&Utc);
            let expected = (1..=9999).contains(&utc.year());
            match Instant::parse("start", t) {
                Ok(i) => {
                    prop_assert!(expected);
                    prop_assert_eq!(i.utc(), utc);
                    let text = i.utc().to_rfc3339();
                    prop_assert!(text.as_bytes()[4] == b'-' && text[..4].bytes().all(|b| b.is_ascii_digit()), "{}", text);
                }
                Err(e) => {
                    prop_assert!(!expected);
                    prop_assert_eq!(e.problem, Problem::OutOfRange);
                }
            }
            prop_assert_eq!(in_range(clamp(utc)), true);
        }
    }
}

/// The rule a range of time follows: which fields carry its ends, and how long it may be.
#[derive(Debug, Clone, Copy)]
pub struct RangeRule {
    pub start_field: &'static str,
    pub end_field: &'static str,
    /// The longest span, in days, and how a refusal says it ("the range may span").
    pub max: Option<(i64, &'static str)>,
}

/// A span of time whose end is strictly after its start and which is no longer than its rule
/// allows: the one check every range of the API (a listing's window, an event, availability)
/// goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TimeRange {
    pub fn parse(rule: &RangeRule, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, InputError> {
        if end <= start {
            return refuse(rule.end_field, Problem::NotAfter(rule.start_field));
        }
        if let Some((days, phrase)) = rule.max {
            if end - start > chrono::Duration::days(days) {
                return refuse(rule.end_field, Problem::SpanTooLong(phrase, days));
            }
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const RULE: RangeRule = RangeRule { start_field: "start", end_field: "end", max: Some((2, "the range may span")) };

    #[test]
    fn a_range_ends_after_it_starts_and_within_its_span() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(TimeRange::parse(&RULE, t, t).unwrap_err().to_string(), "end must be after start");
        assert_eq!(
            TimeRange::parse(&RULE, t, t + Duration::days(2) + Duration::seconds(1)).unwrap_err().to_string(),
            "the range may span at most 2 days"
        );
        let r = TimeRange::parse(&RULE, t, t + Duration::days(2)).unwrap();
        assert_eq!((r.start(), r.end()), (t, t + Duration::days(2)));
        let open = RangeRule { max: None, ..RULE };
        assert!(TimeRange::parse(&open, t, t + Duration::days(4000)).is_ok());
    }
}
