//! A zone's UTC offset at many instants, as an answer listing slots needs it: each lookup in
//! chrono-tz is a binary search in the zone's table of transitions (about a sixth of an
//! availability answer's instructions when every slot took two), so [`ZoneOffsets`] looks up
//! the offset over spans of days instead and answers instants inside them without a search.
//!
//! What makes that exact: in chrono-tz's tables no zone changes its UTC offset twice within
//! [`OFFSET_CHANGES_APART`] (the closest two changes anywhere are 6 days 23 hours apart:
//! America/Noronha in October 2000, Asia/Gaza in 2040). So a window shorter than that holds at
//! most one change: when the offsets at its two ends agree it holds none, and when they differ
//! the one change is found by bisection. The same spans turn a window boundary's local time into
//! its instant ([`ZoneOffsets::boundary_ns`]) for the engine. The test
//! `offset_changes_are_apart_in_the_tables_this_build_compiles` reads the tables of the
//! chrono-tz this build compiles and fails if an update of the tz database breaks the rule.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::local_time::{local_boundary, resolve_boundary_ns, Ns, NANOS_PER_SEC};

/// No zone changes its UTC offset twice within this many seconds (six days; see the module
/// docs for the closest two changes).
pub const OFFSET_CHANGES_APART: i64 = 6 * 86_400;

/// No UTC offset reaches this far (seconds): an instant whose local time is `L` lies within it
/// of `L` read as UTC (as `local_time::gap_end` assumes too).
const OFFSET_REACH: i64 = 26 * 3600;

/// Seconds `[lo, hi]` over which a zone's offset is `offset` (transitions are whole seconds,
/// so an instant's offset is that of its whole second); empty when `lo > hi`.
#[derive(Clone, Copy, Debug)]
struct Span {
    lo: i64,
    hi: i64,
    offset: FixedOffset,
}

impl Span {
    const EMPTY: Span = Span { lo: i64::MAX, hi: i64::MIN, offset: FixedOffset::east_opt(0).unwrap() };

    fn holds(&self, secs: i64) -> bool {
        self.lo <= secs && secs <= self.hi
    }
}

/// The offsets of one zone at instants, looked up by spans: the spans either side of the last
/// change found are kept, so instants that go back a little (a slot's end after the next slot's
/// start) are answered from them too. The same offset as `tz.offset_from_utc_datetime(..).fix()`
/// at every instant.
pub struct ZoneOffsets {
    tz: Tz,
    spans: [Span; 2],
}

impl ZoneOffsets {
    #[must_use]
    pub fn new(tz: Tz) -> Self {
        Self { tz, spans: [Span::EMPTY; 2] }
    }

    /// `t` in the zone: its UTC offset there.
    #[inline]
    pub fn at(&mut self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&self.offset(t))
    }

    /// The zone's UTC offset at `t`. `#[inline]`: the usual case is two comparisons, made
    /// per instant of an answer.
    #[inline]
    pub fn offset(&mut self, t: DateTime<Utc>) -> FixedOffset {
        let secs = t.timestamp();
        match self.spans {
            [first, _] if first.holds(secs) => first.offset,
            [_, second] if second.holds(secs) => second.offset,
            _ => self.refill(t),
        }
    }

    #[cold]
    fn refill(&mut self, t: DateTime<Utc>) -> FixedOffset {
        self.spans = self.spans_from(t.timestamp());
        if self.spans[0].holds(t.timestamp()) {
            self.spans[0].offset
        } else {
            self.tz.offset_from_utc_datetime(&t.naive_utc()).fix()
        }
    }

    /// `local_time::resolve_boundary_ns` (window boundary `minutes` of local `date`: the first
    /// instant at which the local clock reads it or later), from the spans. Every instant whose
    /// local time it could be lies within [`OFFSET_REACH`] of that local time read as UTC; once
    /// the spans cover that stretch it holds at most one change, so the candidates are the local
    /// time less each span's offset, kept where that span holds them: both (a repeated hour)
    /// take the earlier, neither (a gap) the change itself. Dates near the ends of chrono's
    /// range (years beyond ±200,000, as `resolve_boundary_ns` has it) take `resolve_boundary_ns`.
    pub(super) fn boundary_ns(&mut self, date: NaiveDate, minutes: u16) -> Option<Ns> {
        if date.year().abs() >= 200_000 {
            return resolve_boundary_ns(self.tz, date, minutes);
        }
        let local = local_boundary(date, minutes)?.and_utc().timestamp();
        let (lo, hi) = (local - OFFSET_REACH, local + OFFSET_REACH);
        if !self.cover(lo, hi) {
            self.spans = self.spans_from(lo);
            if !self.cover(lo, hi) {
                // Where chrono's range ends.
                return resolve_boundary_ns(self.tz, date, minutes);
            }
        }
        let [first, second] = self.spans;
        let before = local - i64::from(first.offset.local_minus_utc());
        let instant = if first.hi >= hi || before <= first.hi {
            before
        } else {
            let after = local - i64::from(second.offset.local_minus_utc());
            if after >= second.lo {
                after
            } else {
                second.lo
            }
        };
        Some(Ns::from(instant) * Ns::from(NANOS_PER_SEC))
    }

    /// Whether the spans cover every second of `[lo, hi]` (the first alone, or both end to end).
    fn cover(&self, lo: i64, hi: i64) -> bool {
        let [first, second] = self.spans;
        first.lo <= lo && (first.hi >= hi || (second.lo == first.hi + 1 && second.hi >= hi))
    }

    /// chrono-tz's offset at whole second `secs`; `None` outside chrono's range.
    fn lookup(&self, secs: i64) -> Option<FixedOffset> {
        let t = DateTime::from_timestamp(secs, 0)?;
        Some(self.tz.offset_from_utc_datetime(&t.naive_utc()).fix())
    }

    /// The spans covering `[secs, secs + OFFSET_CHANGES_APART - 1]`: one when the offsets at
    /// both ends agree, two either side of the one change when they differ (empty ones where
    /// chrono's range ends).
    fn spans_from(&self, secs: i64) -> [Span; 2] {
        let (Some(first), Some(hi)) = (self.lookup(secs), secs.checked_add(OFFSET_CHANGES_APART - 1)) else {
            return [Span::EMPTY; 2];
        };
        let Some(last) = self.lookup(hi) else {
            return [Span { lo: secs, hi: secs, offset: first }, Span::EMPTY];
        };
        if first == last {
            return [Span { lo: secs, hi, offset: first }, Span::EMPTY];
        }
        // The one change: the first second of `(secs, hi]` whose offset is no longer `first`.
        let (mut before, mut after) = (secs, hi);
        while after - before > 1 {
            let mid = before + (after - before) / 2;
            if self.lookup(mid) == Some(first) {
                before = mid;
            } else {
                after = mid;
            }
        }
        [Span { lo: secs, hi: before, offset: first }, Span { lo: after, hi, offset: last }]
    }
}

#[cfg(test)]
mod tests;
