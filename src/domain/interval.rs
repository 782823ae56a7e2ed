//! The one interval type of the domain: a half-open span of real time, `[start, end)`. Slots,
//! busy time, coach events and an athlete's schedule are all intervals.

use chrono::{DateTime, Utc};

/// A half-open interval of real time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// First instant inside the interval.
    pub start: DateTime<Utc>,
    /// First instant after the interval.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// Whether the two share an instant (touching is not overlapping).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The smallest interval holding both.
    #[must_use]
    pub fn hull(&self, other: &Interval) -> Interval {
        Interval { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }

    #[test]
    fn half_open_intervals_overlap_only_when_they_share_an_instant() {
        let a = Interval { start: at(9), end: at(10) };
        assert!(!a.overlaps(&Interval { start: at(10), end: at(11) }), "touching");
        assert!(a.overlaps(&Interval { start: at(9), end: at(11) }));
        assert_eq!(a.hull(&Interval { start: at(12), end: at(13) }), Interval { start: at(9), end: at(13) });
    }
}
