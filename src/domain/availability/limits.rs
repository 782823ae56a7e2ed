//! Limits per calendar period of the link's zone: live reservations through a link counted
//! (and their minutes summed) per local date, and whether a date's day, week, month or year has
//! reached a limit (`max_bookings_per_day`, `booking_limits`, `duration_limits_minutes`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};

use super::schedule::Period;
use super::LinkRules;
use crate::domain::input;

/// What one local date holds: live reservations through the link starting on it, and their
/// minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many.
    pub count: u32,
    /// Their booked minutes, summed.
    pub minutes: u32,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.count = self.count.saturating_add(other.count);
        self.minutes = self.minutes.saturating_add(other.minutes);
    }
}

/// Live reservations through a link per local date (the link's zone, dates
/// as [`LinkRules::date_of`] gives them). A missing date holds nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounts {
    days: BTreeMap<NaiveDate, Tally>,
}

impl DayCounts {
    /// Nobody booked.
    #[must_use]
    pub fn new() -> DayCounts {
        DayCounts::default()
    }

    /// One more reservation of `minutes` on `date`.
    pub fn add(&mut self, date: NaiveDate, minutes: u32) {
        *self.days.entry(date).or_default() += Tally { count: 1, minutes };
    }

    /// One reservation of `minutes` fewer on `date` (none fewer than none).
    pub fn remove(&mut self, date: NaiveDate, minutes: u32) {
        if let Some(t) = self.days.get_mut(&date) {
            t.count = t.count.saturating_sub(1);
            t.minutes = t.minutes.saturating_sub(minutes);
        }
    }

    /// What `date` holds.
    #[must_use]
    pub fn on(&self, date: NaiveDate) -> Tally {
        self.days.get(&date).copied().unwrap_or_default()
    }

    /// What the dates `[first, next)` hold together.
    #[must_use]
    pub fn between(&self, first: NaiveDate, next: NaiveDate) -> Tally {
        let mut sum = Tally::default();
        if first < next {
            for t in self.days.range(first..next).map(|(_, t)| *t) {
                sum += t;
            }
        }
        sum
    }
}

/// Counts only (no minutes): `DayCounts::from([(date, 2)])`.
impl<const N: usize> From<[(NaiveDate, u32); N]> for DayCounts {
    fn from(counts: [(NaiveDate, u32); N]) -> DayCounts {
        counts.into_iter().collect()
    }
}

impl FromIterator<(NaiveDate, u32)> for DayCounts {
    fn from_iter<I: IntoIterator<Item = (NaiveDate, u32)>>(counts: I) -> DayCounts {
        let mut out = DayCounts::new();
        for (date, count) in counts {
            out.days.entry(date).or_default().count += count;
        }
        out
    }
}

impl FromIterator<(NaiveDate, Tally)> for DayCounts {
    fn from_iter<I: IntoIterator<Item = (NaiveDate, Tally)>>(tallies: I) -> DayCounts {
        let mut out = DayCounts::new();
        for (date, t) in tallies {
            *out.days.entry(date).or_default() += t;
        }
        out
    }
}

/// The local dates `[first, next)` whose reservations the limits of slots on dates
/// `first_date..=last_date` read: the periods around them that have a limit.
fn counted_dates(rules: &LinkRules, first_date: NaiveDate, last_date: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let s = &rules.schedule;
    let week_start = s.week_start();
    Period::ALL
        .into_iter()
        .filter(|&p| s.max_bookings(p).is_some() || s.max_minutes(p).is_some())
        .map(|p| (p.around(first_date, week_start).0, p.around(last_date, week_start).1))
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// Where to look for the reservations that count towards the limits of slots starting in
/// `[from, to]`: `None` when the link has no limit per period (no count is ever read), else
/// the instants of the periods around them (day, week, month or year, the longest limited),
/// two days wider on each side (a local date spans at most ~26 hours of real time), within
/// the instants anything is stored at.
#[must_use]
pub fn counted_span(
    rules: &LinkRules,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (first, next) = counted_dates(rules, rules.date_of(from), rules.date_of(to))?;
    let margin = Duration::days(2);
    let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let lo = at(first).map_or(input::min_instant(), |t| t - margin);
    let hi = at(next).map_or(input::max_instant(), |t| t + margin);
    Some((input::clamp(lo), input::clamp(hi)))
}

/// The reservations starting at `starts`, counted per local date of the link's zone (no
/// minutes: for links without a limit on minutes).
#[must_use]
pub fn count_per_date(rules: &LinkRules, starts: impl IntoIterator<Item = DateTime<Utc>>) -> DayCounts {
    let mut counts = DayCounts::new();
    for start in starts {
        counts.add(rules.date_of(start), 0);
    }
    counts
}

/// The reservations `(start, end)`, counted and their minutes summed per local date of their
/// start in the link's zone.
#[must_use]
pub fn tally_per_date(rules: &LinkRules, spans: impl IntoIterator<Item = (DateTime<Utc>, DateTime<Utc>)>) -> DayCounts {
    let mut counts = DayCounts::new();
    for (start, end) in spans {
        let minutes = u32::try_from((end - start).num_minutes().max(0)).unwrap_or(u32::MAX);
        counts.add(rules.date_of(start), minutes);
    }
    counts
}

/// One limit a reservation must fit, as the store checks it under the calendar's lock: the
/// live reservations through the link starting in `[from, to)` must number fewer than
/// `max_count`, and their minutes plus the new one's must not pass `max_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpan {
    /// The period (for the refusal's message).
    pub period: Period,
    /// Its first local date.
    pub first: NaiveDate,
    /// Local midnight starting `first`.
    pub from: DateTime<Utc>,
    /// Local midnight ending the period.
    pub to: DateTime<Utc>,
    /// The most reservations it may hold.
    pub max_count: Option<u32>,
    /// The most minutes it may hold.
    pub max_minutes: Option<u32>,
}

/// The limits a reservation starting at `start` must fit: one span per limited period around
/// its local date ([`LinkRules::date_of`]), midnights resolved as window boundaries are, so a
/// span holds exactly the reservations whose local dates are the period's.
#[must_use]
pub fn period_spans(rules: &LinkRules, start: DateTime<Utc>) -> Vec<PeriodSpan> {
    let s = &rules.schedule;
    let date = rules.date_of(start);
    Period::ALL
        .into_iter()
        .filter_map(|period| {
            let (max_count, max_minutes) = (s.max_bookings(period), s.max_minutes(period));
            if max_count.is_none() && max_minutes.is_none() {
                return None;
            }
            let (first, next) = period.around(date, s.week_start());
            let midnight = |d: NaiveDate| super::local_time::resolve_boundary(rules.tz, d, 0);
            let from = midnight(first).unwrap_or_else(input::min_instant);
            let to = midnight(next).unwrap_or_else(input::max_instant);
            Some(PeriodSpan { period, first, from, to, max_count, max_minutes })
        })
        .collect()
}

/// Which limit a date has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reached {
    /// The period holds `cap` reservations already.
    Count {
        /// The period.
        period: Period,
        /// Its first local date.
        first: NaiveDate,
        /// The limit.
        cap: u32,
    },
    /// The period's booked minutes plus the slot's would pass `cap`.
    Minutes {
        /// The period.
        period: Period,
        /// Its first local date.
        first: NaiveDate,
        /// The limit.
        cap: u32,
    },
}

/// The limits as the engine asks them, date after date (slots come in order, many on one
/// date, so the last date's answer is remembered, and each period's sum while it lasts).
pub(super) struct Limits<'a> {
    counts: [Option<u32>; 4],
    minutes: [Option<u32>; 4],
    week_start: Weekday,
    slot_minutes: u32,
    booked: &'a DayCounts,
    any: bool,
    last: Option<(NaiveDate, Option<Reached>)>,
    sums: [Option<(NaiveDate, NaiveDate, Tally)>; 4],
}

impl<'a> Limits<'a> {
    pub(super) fn new(rules: &LinkRules, booked: &'a DayCounts) -> Limits<'a> {
        let s = &rules.schedule;
        let counts = Period::ALL.map(|p| s.max_bookings(p));
        let minutes = Period::ALL.map(|p| s.max_minutes(p));
        let slot_minutes = u32::try_from(rules.duration.num_minutes().max(0)).unwrap_or(u32::MAX);
        Limits {
            counts,
            minutes,
            week_start: s.week_start(),
            slot_minutes,
            booked,
            any: counts.iter().chain(minutes.iter()).any(Option::is_some),
            last: None,
            sums: [None; 4],
        }
    }

    /// The first limit (shortest period first, counts before minutes) a slot on `date` would
    /// break.
    #[inline]
    pub(super) fn reached_on(&mut self, date: NaiveDate) -> Option<Reached> {
        if !self.any {
            return None;
        }
        match self.last {
            Some((d, reached)) if d == date => reached,
            _ => {
                let reached = self.find(date);
                self.last = Some((date, reached));
                reached
            }
        }
    }

    fn find(&mut self, date: NaiveDate) -> Option<Reached> {
        for (i, period) in Period::ALL.into_iter().enumerate() {
            let (count_cap, minutes_cap) = (self.counts[i], self.minutes[i]);
            if count_cap.is_none() && minutes_cap.is_none() {
                continue;
            }
            let (first, held) = match self.sums[i] {
                Some((first, next, held)) if first <= date && date < next => (first, held),
                _ => {
                    let (first, next) = period.around(date, self.week_start);
                    let held = self.booked.between(first, next);
                    self.sums[i] = Some((first, next, held));
                    (first, held)
                }
            };
            if let Some(cap) = count_cap.filter(|&cap| held.count >= cap) {
                return Some(Reached::Count { period, first, cap });
            }
            if let Some(cap) = minutes_cap.filter(|&cap| held.minutes.saturating_add(self.slot_minutes) > cap) {
                return Some(Reached::Minutes { period, first, cap });
            }
        }
        None
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
        assert_eq!(counted_span(&r, from, to), Some((utc("2026-02-28T00:00:00Z"), utc("2026-03-06T00:00:00Z"))));
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

    proptest::proptest! {
        /// A period's span of instants holds exactly the reservations whose local dates are
        /// the period's, in any zone (DST, half hours), for weeks from any day.
        #[test]
        fn period_spans_hold_the_periods_dates(
            tz in crate::domain::availability::testing::arb_zone(),
            start_min in 0i64..=400 * 24 * 60,
            others in proptest::collection::vec(-40i64 * 24 * 60..=40 * 24 * 60, 0..40),
            week_start in 0usize..7,
        ) {
            let week = [chrono::Weekday::Mon, chrono::Weekday::Tue, chrono::Weekday::Wed, chrono::Weekday::Thu,
                chrono::Weekday::Fri, chrono::Weekday::Sat, chrono::Weekday::Sun];
            let base = utc("2026-01-01T00:00:00Z");
            let r = with(rules(tz, 30, 0, &[]), RawSchedulingRules {
                max_bookings_per_day: Some(1), max_bookings_per_week: Some(1), max_bookings_per_month: Some(1),
                max_bookings_per_year: Some(1), week_start: Some(week[week_start]), ..RawSchedulingRules::default()
            });
            let start = base + Duration::minutes(start_min);
            let starts: Vec<_> = others.iter().map(|m| start + Duration::minutes(*m)).collect();
            let counts = count_per_date(&r, starts.iter().copied());
            let spans = period_spans(&r, start);
            proptest::prop_assert_eq!(spans.len(), 4);
            for span in spans {
                let (first, next) = span.period.around(r.date_of(start), week[week_start]);
                proptest::prop_assert_eq!(span.first, first);
                let inside = starts.iter().filter(|t| span.from <= **t && **t < span.to).count();
                proptest::prop_assert_eq!(inside as u32, counts.between(first, next).count, "{:?}", span);
            }
        }
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
