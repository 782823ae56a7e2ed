//! Limits on the reservations through a link within a period around a slot, as a database
//! checks them under the link's lock: the live reservations through the link starting in
//! `[span_from, span_to)` must number fewer than `max_count`, and their minutes plus the new
//! slot's must not exceed `max_minutes`. Today only the daily cap (`max_bookings_per_day`) makes
//! one: the slot's local date, as [`LinkRules::date_of`] counts it.

use chrono::{DateTime, NaiveDate, Utc};

use super::hours::MINUTES_PER_DAY;
use super::local_time::resolve_boundary;
use super::{Interval, LinkRules, SlotError};
use crate::domain::input;

/// The period a limit is about, for the refusal's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// One local date of the link's zone.
    Day(NaiveDate),
}

/// One limit the slot must leave room in (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodLimit {
    pub period: Period,
    pub span_from: DateTime<Utc>,
    pub span_to: DateTime<Utc>,
    pub max_count: Option<u32>,
    pub max_minutes: Option<i64>,
}

impl PeriodLimit {
    /// Why a slot is refused when this limit is reached (a 409, as [`SlotError::refusal`] says).
    #[must_use]
    pub fn refusal(&self) -> SlotError {
        match self.period {
            Period::Day(date) => SlotError::DateFull { date, cap: self.max_count.unwrap_or(0) },
        }
    }
}

/// Every limit `slot` must leave room in under `rules`.
#[must_use]
pub fn limits_for(rules: &LinkRules, slot: Interval) -> Vec<PeriodLimit> {
    daily_cap(rules, slot).into_iter().collect()
}

/// The daily cap's limit: the slot's local date, from its midnight to the next (midnights
/// resolved as window boundaries are), within the instants anything is stored at.
#[must_use]
pub fn daily_cap(rules: &LinkRules, slot: Interval) -> Option<PeriodLimit> {
    let cap = rules.schedule.max_bookings_per_day()?;
    let date = rules.date_of(slot.start);
    let (span_from, span_to) = local_day(rules, date);
    Some(PeriodLimit { period: Period::Day(date), span_from, span_to, max_count: Some(cap), max_minutes: None })
}

/// `[midnight(date), midnight(date + 1))` in the link's zone: exactly the instants whose
/// [`LinkRules::date_of`] is `date`.
fn local_day(rules: &LinkRules, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = resolve_boundary(rules.tz, date, 0).map_or_else(input::min_instant, input::clamp);
    let to = resolve_boundary(rules.tz, date, MINUTES_PER_DAY).map_or_else(input::max_instant, input::clamp);
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::testing::{arb_zone, day, rules, utc, with};
    use crate::domain::availability::RawSchedulingRules;
    use chrono::Duration;
    use proptest::prelude::*;

    fn capped(tz: chrono_tz::Tz, cap: u32) -> LinkRules {
        with(rules(tz, 60, 0, &[]), RawSchedulingRules { max_bookings_per_day: Some(i64::from(cap)), ..Default::default() })
    }

    #[test]
    fn no_cap_no_limit() {
        let r = rules(chrono_tz::Tz::UTC, 60, 0, &[]);
        let slot = Interval { start: utc("2026-03-02T09:00:00Z"), end: utc("2026-03-02T10:00:00Z") };
        assert_eq!(limits_for(&r, slot), []);
    }

    #[test]
    fn the_daily_cap_spans_the_local_date() {
        // Kolkata is +05:30: 2026-03-03 runs from 2026-03-02T18:30Z to 2026-03-03T18:30Z.
        let r = capped(chrono_tz::Asia::Kolkata, 2);
        let slot = Interval { start: utc("2026-03-02T19:00:00Z"), end: utc("2026-03-02T20:00:00Z") };
        let limit = daily_cap(&r, slot).unwrap();
        assert_eq!(limit.span_from, utc("2026-03-02T18:30:00Z"));
        assert_eq!(limit.span_to, utc("2026-03-03T18:30:00Z"));
        assert_eq!((limit.max_count, limit.max_minutes), (Some(2), None));
        assert_eq!(limit.refusal(), SlotError::DateFull { date: day("2026-03-03"), cap: 2 });
        assert_eq!(limits_for(&r, slot), [limit]);
        // A 23-hour day (New York, DST starts 2026-03-08).
        let r = capped(chrono_tz::America::New_York, 1);
        let slot = Interval { start: utc("2026-03-08T15:00:00Z"), end: utc("2026-03-08T16:00:00Z") };
        let limit = daily_cap(&r, slot).unwrap();
        assert_eq!((limit.span_from, limit.span_to), (utc("2026-03-08T05:00:00Z"), utc("2026-03-09T04:00:00Z")));
    }

    proptest! {
        /// The span holds exactly the instants the daily cap counts on the slot's date.
        #[test]
        fn the_span_is_the_date_of(tz in arb_zone(), secs in 0i64..4_000_000_000, off in -200_000i64..200_000) {
            let r = capped(tz, 1);
            let start = DateTime::from_timestamp(secs, 0).unwrap();
            let other = start + Duration::seconds(off);
            let limit = daily_cap(&r, Interval { start, end: start + Duration::hours(1) }).unwrap();
            prop_assert!(limit.span_from <= start && start < limit.span_to);
            let inside = limit.span_from <= other && other < limit.span_to;
            prop_assert_eq!(inside, r.date_of(other) == r.date_of(start));
        }
    }
}
