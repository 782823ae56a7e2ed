//! The limits a reservation must leave room in, as a database checks them under the link's
//! lock: the live reservations through the link starting in `[span_from, span_to)` must number
//! fewer than `max_count`, and their minutes plus the new slot's must not exceed `max_minutes`.
//! One per limit set (`max_bookings_per_day`, `booking_limits`, `duration_limits_minutes`), in
//! the judge's order (shortest period first, the count before the minutes), the spans from
//! [`period_spans`]: exactly the instants whose local dates are the period's.

use chrono::{DateTime, NaiveDate, Utc};

use super::limits::period_spans;
use super::schedule::Period;
use super::{Interval, LinkRules, SlotError};

/// One limit the slot must leave room in (see the module docs): a count or minutes, not both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodLimit {
    pub period: Period,
    /// The period's first local date.
    pub first: NaiveDate,
    pub span_from: DateTime<Utc>,
    pub span_to: DateTime<Utc>,
    pub max_count: Option<u32>,
    pub max_minutes: Option<i64>,
}

impl PeriodLimit {
    /// Why a slot is refused when this limit is reached (a 409, as [`SlotError::refusal`] says):
    /// the words the judge uses for the same limit.
    #[must_use]
    pub fn refusal(&self) -> SlotError {
        let (period, first) = (self.period, self.first);
        match (self.max_count, self.max_minutes) {
            (Some(cap), _) if period == Period::Day => SlotError::DateFull { date: first, cap },
            (Some(cap), _) => SlotError::PeriodFull { period, first, cap },
            (None, minutes) => {
                SlotError::MinutesFull { period, first, cap: minutes.and_then(|m| u32::try_from(m).ok()).unwrap_or(0) }
            }
        }
    }
}

/// Every limit `slot` must leave room in under `rules`, in the judge's order.
#[must_use]
pub fn limits_for(rules: &LinkRules, slot: Interval) -> Vec<PeriodLimit> {
    let mut out = Vec::new();
    for span in period_spans(rules, slot.start) {
        let at = |max_count, max_minutes| PeriodLimit {
            period: span.period,
            first: span.first,
            span_from: span.from,
            span_to: span.to,
            max_count,
            max_minutes,
        };
        if let Some(cap) = span.max_count {
            out.push(at(Some(cap), None));
        }
        if let Some(minutes) = span.max_minutes {
            out.push(at(None, Some(i64::from(minutes))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::testing::{day, rules, utc, with};
    use crate::domain::availability::RawSchedulingRules;

    #[test]
    fn one_limit_per_setting_in_the_judges_order_with_its_words() {
        let slot = Interval { start: utc("2026-03-02T09:00:00Z"), end: utc("2026-03-02T10:00:00Z") };
        assert!(limits_for(&rules(chrono_tz::Tz::UTC, 60, 0, &[]), slot).is_empty());
        let r = with(
            rules(chrono_tz::Europe::Berlin, 60, 0, &[]),
            RawSchedulingRules {
                max_bookings_per_day: Some(2),
                max_minutes_per_day: Some(90),
                max_bookings_per_month: Some(9),
                ..RawSchedulingRules::default()
            },
        );
        let limits = limits_for(&r, slot);
        let shape: Vec<_> = limits.iter().map(|l| (l.period, l.max_count, l.max_minutes)).collect();
        assert_eq!(
            shape,
            [(Period::Day, Some(2), None), (Period::Day, None, Some(90)), (Period::Month, Some(9), None)]
        );
        // Berlin's 2026-03-02 runs from 23:00Z the day before.
        assert_eq!(
            (limits[0].span_from, limits[0].span_to),
            (utc("2026-03-01T23:00:00Z"), utc("2026-03-02T23:00:00Z"))
        );
        assert_eq!(limits[0].refusal(), SlotError::DateFull { date: day("2026-03-02"), cap: 2 });
        assert_eq!(
            limits[1].refusal(),
            SlotError::MinutesFull { period: Period::Day, first: day("2026-03-02"), cap: 90 }
        );
        assert_eq!(
            limits[2].refusal(),
            SlotError::PeriodFull { period: Period::Month, first: day("2026-03-01"), cap: 9 }
        );
    }
}
