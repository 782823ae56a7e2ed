//! The daily cap (`max_bookings_per_day`): live reservations through a link counted per local
//! date of the link's zone, and whether a date has reached the cap.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::LinkRules;
use crate::domain::input;

/// Live reservations through a link per local date (the link's zone, dates
/// as [`LinkRules::date_of`] gives them). A missing date counts zero.
pub type DayCounts = BTreeMap<NaiveDate, u32>;

/// Where to look for the reservations that count towards the dates of slots starting in
/// `[from, to]`: `None` when the link has no daily cap (no count is ever read), else a span
/// two days wider on each side (a local date spans at most ~26 hours of real time), within the
/// instants anything is stored at.
#[must_use]
pub fn counted_span(
    rules: &LinkRules,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    rules.schedule.max_bookings_per_day()?;
    let margin = Duration::days(2);
    Some((input::clamp(from - margin), input::clamp(to + margin)))
}

/// The reservations starting at `starts`, counted per local date of the link's zone.
#[must_use]
pub fn count_per_date(rules: &LinkRules, starts: impl IntoIterator<Item = DateTime<Utc>>) -> DayCounts {
    let mut counts = DayCounts::new();
    for start in starts {
        *counts.entry(rules.date_of(start)).or_insert(0) += 1;
    }
    counts
}

/// The cap as the engine asks it, date after date (slots come in order, many on one date, so
/// the last date's answer is remembered).
pub(super) struct DailyCap<'a> {
    cap: Option<u32>,
    booked: &'a DayCounts,
    last: Option<(NaiveDate, bool)>,
}

impl<'a> DailyCap<'a> {
    pub(super) fn new(rules: &LinkRules, booked: &'a DayCounts) -> DailyCap<'a> {
        DailyCap { cap: rules.schedule.max_bookings_per_day(), booked, last: None }
    }

    /// The cap, when `date` has reached it.
    #[inline]
    pub(super) fn reached_on(&mut self, date: NaiveDate) -> Option<u32> {
        let cap = self.cap?;
        let full = match self.last {
            Some((d, full)) if d == date => full,
            _ => {
                let full = self.booked.get(&date).is_some_and(|&n| n >= cap);
                self.last = Some((date, full));
                full
            }
        };
        full.then_some(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::engine::{check_slot, Refusal, SlotError};
    use crate::domain::availability::testing::{day, iv, offered, rules, utc, with, LONG_AGO};
    use crate::domain::availability::RawSchedulingRules;

    #[test]
    fn counts_are_per_local_date_and_only_with_a_cap() {
        let kolkata = chrono_tz::Asia::Kolkata; // +05:30
        let r = rules(kolkata, 60, 0, &[]);
        let (from, to) = (utc("2026-03-02T00:00:00Z"), utc("2026-03-03T00:00:00Z"));
        assert_eq!(counted_span(&r, from, to), None);
        let r = with(r, RawSchedulingRules { max_bookings_per_day: Some(2), ..RawSchedulingRules::default() });
        assert_eq!(counted_span(&r, from, to), Some((utc("2026-02-28T00:00:00Z"), utc("2026-03-05T00:00:00Z"))));
        // 18:29Z is 23:59 IST on the 2nd, 18:30Z midnight starting the 3rd.
        let starts = ["2026-03-02T04:30:00Z", "2026-03-02T18:29:00Z", "2026-03-02T18:30:00Z"].map(utc);
        assert_eq!(count_per_date(&r, starts), DayCounts::from([(day("2026-03-02"), 2), (day("2026-03-03"), 1)]));
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
}
