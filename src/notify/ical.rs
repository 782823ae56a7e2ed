//! iCalendar (RFC 5545) documents for invitations, updates and cancellations (iTIP, RFC 5546).
//!
//! [`render`] produces one `VCALENDAR` with one `VEVENT`: `METHOD:REQUEST` for an event that is
//! on (its creation with `SEQUENCE:0`, each change with a higher one), `METHOD:CANCEL` with
//! `STATUS:CANCELLED` and a higher `SEQUENCE` when it is off; one `UID` for the event's life, an
//! `ORGANIZER` and the `ATTENDEE`s, as iTIP requires of both methods. Times are written in the event's own time
//! zone (`DTSTART;TZID=Europe/Berlin:20250301T100000`) so calendar clients show the wall-clock time
//! the booking was made for, and the document carries a minimal `VTIMEZONE` for that `TZID`: one
//! observance (`STANDARD` or `DAYLIGHT`) per UTC offset in force between the event's start and end,
//! each starting at the zone's transition into it (found by scanning the chrono-tz data), so the
//! document stays self-contained for clients that do not know IANA names.
//!
//! Output follows RFC 5545: CRLF line endings, lines folded at 75 octets (on UTF-8 character
//! boundaries), TEXT values escaped (`\\`, `\;`, `\,`, `\n`).

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// The product identifier written as `PRODID`.
pub const PRODID: &str = "-//bookings//bookings server//EN";

/// The event's status; an event that is on is sent as `METHOD:REQUEST`, a cancellation as
/// `METHOD:CANCEL` with `STATUS:CANCELLED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcalStatus {
    Confirmed,
    Cancelled,
}

impl IcalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IcalStatus::Confirmed => "CONFIRMED",
            IcalStatus::Cancelled => "CANCELLED",
        }
    }

    /// The iTIP method of a document carrying an event in this status.
    pub fn method(self) -> &'static str {
        match self {
            IcalStatus::Confirmed => "REQUEST",
            IcalStatus::Cancelled => "CANCEL",
        }
    }
}

/// One event to render.
#[derive(Debug, Clone, PartialEq)]
pub struct IcalEvent {
    /// Stable across updates and the cancellation of the same booking.
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The zone the times are shown in.
    pub tz: Tz,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    /// Who organises it (the calendar's owner, the coach; else the server's sender address).
    pub organizer: Party,
    /// Who is invited (the visitor, the athlete).
    pub attendees: Vec<Party>,
    /// Incremented on every change of the event (a cancellation needs a higher one).
    pub sequence: u32,
    pub status: IcalStatus,
}

/// Someone in an event: an address, and a name to show when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub email: String,
    pub name: Option<String>,
}

impl Party {
    pub fn new(email: impl Into<String>, name: Option<String>) -> Self {
        Self { email: email.into(), name }
    }

    /// `;CN="..."` when there is a name (RFC 5545 §3.2.2: a quoted parameter value holds no
    /// DQUOTE and no control character), then `mailto:`.
    fn render(&self, params: &str) -> String {
        let cn = match &self.name {
            Some(name) => {
                let name: String = name.chars().filter(|c| !c.is_control() && *c != '"').collect();
                format!(";CN=\"{name}\"")
            }
            None => String::new(),
        };
        format!("{cn}{params}:mailto:{}", strip_controls(&self.email))
    }
}

/// Renders `event` as an RFC 5545 document; `now` becomes `DTSTAMP`.
pub fn render(event: &IcalEvent, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |s: &str| push_folded(&mut out, s);

    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line(&format!("PRODID:{}", escape_text(PRODID)));
    line("CALSCALE:GREGORIAN");
    line(&format!("METHOD:{}", event.status.method()));

    let tzid = event.tz.name();
    line("BEGIN:VTIMEZONE");
    line(&format!("TZID:{tzid}"));
    for obs in observances(event.tz, event.start, event.end) {
        let kind = if obs.daylight { "DAYLIGHT" } else { "STANDARD" };
        line(&format!("BEGIN:{kind}"));
        line(&format!("DTSTART:{}", fmt_local(obs.onset_local)));
        line(&format!("TZOFFSETFROM:{}", fmt_offset(obs.offset_from)));
        line(&format!("TZOFFSETTO:{}", fmt_offset(obs.offset_to)));
        if let Some(name) = obs.name {
            line(&format!("TZNAME:{}", escape_text(&name)));
        }
        line(&format!("END:{kind}"));
    }
    line("END:VTIMEZONE");

    line("BEGIN:VEVENT");
    line(&format!("UID:{}", escape_text(&event.uid)));
    line(&format!("DTSTAMP:{}", now.format("%Y%m%dT%H%M%SZ")));
    line(&format!("DTSTART;TZID={tzid}:{}", fmt_local(event.start.with_timezone(&event.tz).naive_local())));
    line(&format!("DTEND;TZID={tzid}:{}", fmt_local(event.end.with_timezone(&event.tz).naive_local())));
    line(&format!("SEQUENCE:{}", event.sequence));
    line(&format!("STATUS:{}", event.status.as_str()));
    line(&format!("SUMMARY:{}", escape_text(&event.summary)));
    if let Some(description) = &event.description {
        line(&format!("DESCRIPTION:{}", escape_text(description)));
    }
    if let Some(location) = &event.location {
        line(&format!("LOCATION:{}", escape_text(location)));
    }
    line(&format!("ORGANIZER{}", event.organizer.render("")));
    for attendee in &event.attendees {
        // Booked already: the invitation needs no answer.
        line(&format!("ATTENDEE{}", attendee.render(";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE")));
    }
    line("TRANSP:OPAQUE");
    line("END:VEVENT");
    line("END:VCALENDAR");
    out
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines; other
/// control characters except TAB are dropped.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn strip_controls(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// Appends one content line, folded so that no physical line exceeds 75 octets (excluding CRLF);
/// continuation lines start with one space, which counts toward their 75.
fn push_folded(out: &mut String, line: &str) {
    const LIMIT: usize = 75;
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > LIMIT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

fn fmt_local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// `+HHMM` or `+HHMMSS` (RFC 5545 UTC-OFFSET; never `-0000`).
fn fmt_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// One `STANDARD`/`DAYLIGHT` sub-component.
#[derive(Debug, Clone, PartialEq)]
struct Observance {
    daylight: bool,
    /// The onset as local time in the offset in force before it (`TZOFFSETFROM`).
    onset_local: NaiveDateTime,
    offset_from: i32,
    offset_to: i32,
    name: Option<String>,
}

/// What identifies a period of a zone: total offset, DST part, abbreviation.
#[derive(Debug, Clone, PartialEq)]
struct Period {
    offset: i32,
    dst: bool,
    name: Option<String>,
}

fn period_at(tz: Tz, t: DateTime<Utc>) -> Period {
    let off = tz.offset_from_utc_datetime(&t.naive_utc());
    Period {
        offset: off.fix().local_minus_utc(),
        dst: off.dst_offset() != Duration::zero(),
        name: off.abbreviation().map(str::to_owned),
    }
}

/// How far back to look for the transition into the period in force at the event's start, and
/// the step of that scan (zones do not change twice within a week; a short step keeps the scan
/// cheap for zones without DST, whose last change may be decades ago).
const LOOKBACK: Duration = Duration::days(366 * 60);
const BACK_STEP: Duration = Duration::days(7);
/// The step of the scan between the event's start and end.
const FORWARD_STEP: Duration = Duration::hours(6);

/// Zones and event times whose observances are remembered at most (a few hundred bytes each).
const MEMO_ENTRIES: usize = 4096;

/// [`scan_observances`], remembered: the scan looks up the zone's offset a few thousand times (60
/// years back in weekly steps for a zone without changes), and a notification pass renders the
/// same event's invitation for each of its bookings and for its coach (5,000 messages of 30
/// events in `make bench-notify`, where the scan was half the cost of rendering). The result
/// depends only on its arguments (the zone data is compiled in).
fn observances(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Observance> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    type Memo = HashMap<(Tz, DateTime<Utc>, DateTime<Utc>), Vec<Observance>>;
    static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    let key = (tz, start, end);
    if let Some(found) = MEMO.lock().ok().and_then(|memo| memo.get(&key).cloned()) {
        return found;
    }
    let found = scan_observances(tz, start, end);
    if let Ok(mut memo) = MEMO.lock() {
        if memo.len() >= MEMO_ENTRIES {
            memo.clear();
        }
        memo.insert(key, found.clone());
    }
    found
}

/// The observances covering `[start, end]`: the period in force at `start` (with the transition
/// into it, or 1970-01-01 with `TZOFFSETFROM = TZOFFSETTO` when there was none within the
/// look-back), plus one for each transition up to `end`.
fn scan_observances(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Observance> {
    let first = period_at(tz, start);
    let mut result = Vec::new();

    // Scan back for the last transition at or before `start`.
    let mut later = start;
    let mut found = None;
    while start - later < LOOKBACK {
        let earlier = later - BACK_STEP;
        if period_at(tz, earlier) != first {
            found = Some(boundary(earlier, later, |t| period_at(tz, t) == first));
            break;
        }
        later = earlier;
    }
    match found {
        Some(at) => {
            let before = period_at(tz, at - Duration::seconds(1));
            result.push(observance(&first, before.offset, at));
        }
        None => result.push(Observance {
            daylight: first.dst,
            onset_local: chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .expect("valid date")
                .and_hms_opt(0, 0, 0)
                .expect("valid time"),
            offset_from: first.offset,
            offset_to: first.offset,
            name: first.name.clone(),
        }),
    }

    // Transitions during the event (a booking across a DST change).
    let mut current = first;
    let mut t = start;
    while t < end {
        let next = (t + FORWARD_STEP).min(end);
        if period_at(tz, next) != current {
            let at = boundary(t, next, |x| period_at(tz, x) != current);
            let after = period_at(tz, at);
            result.push(observance(&after, current.offset, at));
            current = after;
            t = at;
        } else {
            t = next;
        }
    }
    result
}

fn observance(period: &Period, offset_from: i32, at: DateTime<Utc>) -> Observance {
    Observance {
        daylight: period.dst,
        onset_local: at.naive_utc() + Duration::seconds(offset_from as i64),
        offset_from,
        offset_to: period.offset,
        name: period.name.clone(),
    }
}

/// Given `!reached(lo)` and `reached(hi)`, the first second `t` in `(lo, hi]` with `reached(t)`
/// (binary search; exact when the window holds one transition).
fn boundary(lo: DateTime<Utc>, hi: DateTime<Utc>, reached: impl Fn(DateTime<Utc>) -> bool) -> DateTime<Utc> {
    let (mut lo, mut hi) = (lo, hi);
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use std::str::FromStr;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
    }

    fn event(tz: Tz, start: DateTime<Utc>) -> IcalEvent {
        IcalEvent {
            uid: "booking-123@bookings.example".into(),
            start,
            end: start + Duration::minutes(45),
            tz,
            summary: "Coaching session".into(),
            description: Some("Bring your notes".into()),
            location: Some("Room 1".into()),
            organizer: Party::new("coach@example.com", None),
            attendees: vec![Party::new("guest@example.com", Some("Ann \"A\" Lee".into()))],
            sequence: 0,
            status: IcalStatus::Confirmed,
        }
    }

    fn now() -> DateTime<Utc> {
        utc(2025, 1, 2, 3, 4)
    }

    /// Unfolds content lines (a minimal RFC 5545 reader for assertions).
    fn unfold(doc: &str) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for physical in doc.split("\r\n") {
            if let Some(rest) = physical.strip_prefix(' ') {
                lines.last_mut().expect("continuation without a line").push_str(rest);
            } else if !physical.is_empty() {
                lines.push(physical.to_owned());
            }
        }
        lines
    }

    /// The value of the first property `name` (with any parameters) inside `component`.
    fn prop<'a>(lines: &'a [String], component: &str, name: &str) -> Vec<&'a str> {
        let mut inside = false;
        let mut found = Vec::new();
        for l in lines {
            if l == &format!("BEGIN:{component}") {
                inside = true;
            } else if l == &format!("END:{component}") {
                inside = false;
            } else if inside && (l.starts_with(&format!("{name}:")) || l.starts_with(&format!("{name};"))) {
                found.push(l.as_str());
            }
        }
        found
    }

    fn assert_wellformed(doc: &str) {
        assert!(doc.ends_with("\r\n"));
        for physical in doc.split("\r\n") {
            assert!(physical.len() <= 75, "line longer than 75 octets: {physical:?}");
            assert!(!physical.contains('\n') && !physical.contains('\r'));
        }
        // The icalendar crate's parser accepts it.
        let cal = icalendar::Calendar::from_str(doc).expect("icalendar parses the document");
        assert_eq!(cal.components.len(), 2, "VTIMEZONE + VEVENT: {cal:?}");
    }

    #[test]
    fn renders_a_parsable_calendar_with_crlf_and_required_properties() {
        let doc = render(&event(chrono_tz::Europe::Berlin, utc(2025, 3, 10, 9, 0)), now());
        assert_wellformed(&doc);
        assert!(doc.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VCALENDAR", "METHOD"), ["METHOD:REQUEST"]);
        assert_eq!(prop(&lines, "VEVENT", "UID"), ["UID:booking-123@bookings.example"]);
        assert_eq!(prop(&lines, "VEVENT", "DTSTAMP"), ["DTSTAMP:20250102T030400Z"]);
        assert_eq!(prop(&lines, "VEVENT", "DTSTART"), ["DTSTART;TZID=Europe/Berlin:20250310T100000"]);
        assert_eq!(prop(&lines, "VEVENT", "DTEND"), ["DTEND;TZID=Europe/Berlin:20250310T104500"]);
        assert_eq!(prop(&lines, "VEVENT", "STATUS"), ["STATUS:CONFIRMED"]);
        assert_eq!(prop(&lines, "VEVENT", "SUMMARY"), ["SUMMARY:Coaching session"]);
        assert_eq!(prop(&lines, "VEVENT", "DESCRIPTION"), ["DESCRIPTION:Bring your notes"]);
        assert_eq!(prop(&lines, "VEVENT", "ORGANIZER"), ["ORGANIZER:mailto:coach@example.com"]);
        assert_eq!(
            prop(&lines, "VEVENT", "ATTENDEE"),
            ["ATTENDEE;CN=\"Ann A Lee\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:guest@example.com"]
        );
        // Berlin in March before the switch: standard time since the end of October 2024.
        assert_eq!(prop(&lines, "VTIMEZONE", "TZID"), ["TZID:Europe/Berlin"]);
        assert_eq!(prop(&lines, "STANDARD", "DTSTART"), ["DTSTART:20241027T030000"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETFROM"), ["TZOFFSETFROM:+0200"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETTO"), ["TZOFFSETTO:+0100"]);
        assert_eq!(prop(&lines, "STANDARD", "TZNAME"), ["TZNAME:CET"]);
        assert!(prop(&lines, "DAYLIGHT", "DTSTART").is_empty());

        // The icalendar crate sees the same values.
        let cal = icalendar::Calendar::from_str(&doc).unwrap();
        let ev = cal
            .components
            .iter()
            .find_map(|c| match c {
                icalendar::CalendarComponent::Event(e) => Some(e),
                _ => None,
            })
            .expect("an event");
        use icalendar::Component;
        assert_eq!(ev.get_summary(), Some("Coaching session"));
        assert_eq!(ev.get_uid(), Some("booking-123@bookings.example"));
        assert_eq!(ev.property_value("DTSTART"), Some("20250310T100000"));
    }

    #[test]
    fn cancellation_uses_method_cancel_and_lists_the_attendee() {
        let mut ev = event(chrono_tz::Europe::Berlin, utc(2025, 3, 10, 9, 0));
        ev.status = IcalStatus::Cancelled;
        ev.sequence = 2;
        let doc = render(&ev, now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VCALENDAR", "METHOD"), ["METHOD:CANCEL"]);
        assert_eq!(prop(&lines, "VEVENT", "STATUS"), ["STATUS:CANCELLED"]);
        assert_eq!(prop(&lines, "VEVENT", "SEQUENCE"), ["SEQUENCE:2"]);
        assert_eq!(prop(&lines, "VEVENT", "ATTENDEE").len(), 1);
        assert_eq!(prop(&lines, "VEVENT", "ORGANIZER"), ["ORGANIZER:mailto:coach@example.com"]);
    }

    #[test]
    fn escapes_text_values() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(escape_text("one\ntwo\r\nthree\rfour"), r"one\ntwo\nthree\nfour");
        assert_eq!(escape_text("bell\u{7}tab\t"), "belltab\t");

        let mut ev = event(chrono_tz::UTC, utc(2025, 6, 1, 12, 0));
        ev.summary = "Yoga; mats, water \\ towels".into();
        ev.description = Some("Line 1\nLine 2".into());
        ev.location = Some("Main St. 1, Berlin".into());
        let doc = render(&ev, now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "SUMMARY"), [r"SUMMARY:Yoga\; mats\, water \\ towels"]);
        assert_eq!(prop(&lines, "VEVENT", "DESCRIPTION"), [r"DESCRIPTION:Line 1\nLine 2"]);
        assert_eq!(prop(&lines, "VEVENT", "LOCATION"), [r"LOCATION:Main St. 1\, Berlin"]);
        // An injected line break cannot start a new property.
        ev.summary = "x\r\nATTENDEE:mailto:evil@example.com".into();
        let doc = render(&ev, now());
        assert!(!unfold(&doc).iter().any(|l| l.contains("evil") && !l.starts_with("SUMMARY:")));
        // Nor can a name or an address.
        ev.attendees = vec![Party::new("a@example.com\r\nX-EVIL:1", Some("N\r\nX-EVIL:2\"".into()))];
        let doc = render(&ev, now());
        assert!(!unfold(&doc).iter().any(|l| l.starts_with("X-EVIL")), "{doc}");
    }

    #[test]
    fn folds_long_lines_at_75_octets_on_char_boundaries() {
        let mut ev = event(chrono_tz::UTC, utc(2025, 6, 1, 12, 0));
        // Multi-byte characters (2, 3 and 4 octets) straddling fold points.
        let long: String = "Grüße – 日本語 😀 ".repeat(20);
        ev.description = Some(long.clone());
        let doc = render(&ev, now());
        assert_wellformed(&doc); // every physical line ≤ 75 octets, valid UTF-8 since it is a String
        let physical: Vec<&str> = doc.split("\r\n").collect();
        let start = physical.iter().position(|l| l.starts_with("DESCRIPTION:")).unwrap();
        assert!(physical[start + 1].starts_with(' '), "DESCRIPTION was folded");
        assert!(physical[start].len() > 70, "folding uses the available width");
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "DESCRIPTION"), [format!("DESCRIPTION:{long}").as_str()]);

        // Exactly 75 octets stays on one line; 76 folds.
        let mut out = String::new();
        push_folded(&mut out, &"a".repeat(75));
        assert_eq!(out, format!("{}\r\n", "a".repeat(75)));
        let mut out = String::new();
        push_folded(&mut out, &"a".repeat(76));
        assert_eq!(out, format!("{}\r\n a\r\n", "a".repeat(75)));
        // A 2-octet character that would end at octet 76 moves to the next line.
        let mut out = String::new();
        push_folded(&mut out, &format!("{}é", "a".repeat(74)));
        assert_eq!(out, format!("{}\r\n é\r\n", "a".repeat(74)));
    }

    #[test]
    fn half_hour_zone_asia_kathmandu() {
        // 04:15 UTC = 10:00 in Kathmandu (+05:45 since 1986).
        let doc = render(&event(chrono_tz::Asia::Kathmandu, utc(2025, 5, 20, 4, 15)), now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "DTSTART"), ["DTSTART;TZID=Asia/Kathmandu:20250520T100000"]);
        assert_eq!(prop(&lines, "VEVENT", "DTEND"), ["DTEND;TZID=Asia/Kathmandu:20250520T104500"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETFROM"), ["TZOFFSETFROM:+0530"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETTO"), ["TZOFFSETTO:+0545"]);
        assert_eq!(prop(&lines, "STANDARD", "DTSTART"), ["DTSTART:19860101T000000"]);
        assert!(prop(&lines, "DAYLIGHT", "DTSTART").is_empty());
    }

    #[test]
    fn america_asuncion_daylight_and_standard() {
        // January 2023: Paraguayan summer time (-03), in force since 2022-10-02 00:00 local (-04).
        let doc = render(&event(chrono_tz::America::Asuncion, utc(2023, 1, 15, 13, 0)), now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "DTSTART"), ["DTSTART;TZID=America/Asuncion:20230115T100000"]);
        assert_eq!(prop(&lines, "DAYLIGHT", "DTSTART"), ["DTSTART:20221002T000000"]);
        assert_eq!(prop(&lines, "DAYLIGHT", "TZOFFSETFROM"), ["TZOFFSETFROM:-0400"]);
        assert_eq!(prop(&lines, "DAYLIGHT", "TZOFFSETTO"), ["TZOFFSETTO:-0300"]);
        assert!(prop(&lines, "STANDARD", "DTSTART").is_empty());

        // July 2023: standard time (-04) since 2023-03-26 00:00 local (-03).
        let doc = render(&event(chrono_tz::America::Asuncion, utc(2023, 7, 15, 14, 0)), now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "DTSTART"), ["DTSTART;TZID=America/Asuncion:20230715T100000"]);
        assert_eq!(prop(&lines, "STANDARD", "DTSTART"), ["DTSTART:20230326T000000"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETFROM"), ["TZOFFSETFROM:-0300"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETTO"), ["TZOFFSETTO:-0400"]);
    }

    #[test]
    fn dtstart_is_the_wall_clock_time_in_the_event_zone() {
        for (tz, start) in [
            (chrono_tz::America::New_York, utc(2025, 7, 4, 18, 30)),
            (chrono_tz::Australia::Lord_Howe, utc(2025, 1, 10, 23, 0)),
            (chrono_tz::Asia::Kathmandu, utc(2025, 12, 31, 20, 0)),
            (chrono_tz::America::Asuncion, utc(2025, 2, 1, 3, 0)),
            (chrono_tz::Pacific::Chatham, utc(2025, 4, 5, 12, 0)),
        ] {
            let ev = event(tz, start);
            let doc = render(&ev, now());
            assert_wellformed(&doc);
            let lines = unfold(&doc);
            let wall = start.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string();
            let dtstart = format!("DTSTART;TZID={}:{wall}", tz.name());
            assert_eq!(prop(&lines, "VEVENT", "DTSTART"), [dtstart.as_str()], "{tz}");
            // The VTIMEZONE's offset in force at the start converts the wall-clock time back.
            let to = prop(&lines, "VTIMEZONE", "TZOFFSETTO")[0].trim_start_matches("TZOFFSETTO:").to_owned();
            assert_eq!(to, fmt_offset(start.with_timezone(&tz).offset().fix().local_minus_utc()), "{tz}");
        }
    }

    #[test]
    fn remembered_observances_are_the_scanned_ones() {
        for tz in [chrono_tz::America::New_York, chrono_tz::Asia::Kathmandu, chrono_tz::Etc::GMTMinus3, chrono_tz::UTC]
        {
            for (start, hours) in [(utc(2025, 3, 9, 6, 30), 1), (utc(2025, 11, 2, 5, 0), 3), (utc(2030, 1, 1, 0, 0), 2)]
            {
                let end = start + Duration::hours(hours);
                let scanned = scan_observances(tz, start, end);
                assert_eq!(observances(tz, start, end), scanned, "{tz} {start}");
                assert_eq!(observances(tz, start, end), scanned, "{tz} {start}, remembered");
            }
        }
    }

    #[test]
    fn an_event_across_a_dst_change_gets_both_observances() {
        // New York, 2025-03-09 02:00 local: EST -> EDT. Event 01:30 EST to 03:30 EDT.
        let mut ev = event(chrono_tz::America::New_York, utc(2025, 3, 9, 6, 30));
        ev.end = utc(2025, 3, 9, 7, 30);
        let doc = render(&ev, now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "DTSTART"), ["DTSTART;TZID=America/New_York:20250309T013000"]);
        assert_eq!(prop(&lines, "VEVENT", "DTEND"), ["DTEND;TZID=America/New_York:20250309T033000"]);
        assert_eq!(prop(&lines, "STANDARD", "DTSTART"), ["DTSTART:20241103T020000"]);
        assert_eq!(prop(&lines, "DAYLIGHT", "DTSTART"), ["DTSTART:20250309T020000"]);
        assert_eq!(prop(&lines, "DAYLIGHT", "TZOFFSETFROM"), ["TZOFFSETFROM:-0500"]);
        assert_eq!(prop(&lines, "DAYLIGHT", "TZOFFSETTO"), ["TZOFFSETTO:-0400"]);
    }

    #[test]
    fn a_zone_without_transitions_gets_a_fixed_observance() {
        let doc = render(&event(chrono_tz::Etc::GMTMinus3, utc(2025, 6, 1, 12, 0)), now());
        assert_wellformed(&doc);
        let lines = unfold(&doc);
        assert_eq!(prop(&lines, "VEVENT", "DTSTART"), ["DTSTART;TZID=Etc/GMT-3:20250601T150000"]);
        assert_eq!(prop(&lines, "STANDARD", "DTSTART"), ["DTSTART:19700101T000000"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETFROM"), ["TZOFFSETFROM:+0300"]);
        assert_eq!(prop(&lines, "STANDARD", "TZOFFSETTO"), ["TZOFFSETTO:+0300"]);
    }

    #[test]
    fn utc_offsets_format() {
        assert_eq!(fmt_offset(0), "+0000");
        assert_eq!(fmt_offset(20700), "+0545");
        assert_eq!(fmt_offset(-12600), "-0330");
        assert_eq!(fmt_offset(-(3600 * 4 + 60 * 50 + 40)), "-045040");
    }
}
