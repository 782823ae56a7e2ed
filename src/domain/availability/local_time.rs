//! Local time -> instant: a window boundary "HH:MM" of a local date becomes the first instant at
//! which the wall clock reads that time or later (see the module docs of `availability`: repeated
//! hours take their first occurrence, times in a DST gap its end); instants as exact nanoseconds,
//! and back.

use std::cmp::min;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::hours::MINUTES_PER_DAY;

/// The first instant at which the local clock in `tz` reads `t` or later:
/// the unique instant for ordinary times, the earlier one for repeated
/// times, the end of the gap (the transition instant) for skipped times.
pub(super) fn resolve_local(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) => Some(x.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(min(a.with_timezone(&Utc), b.with_timezone(&Utc))),
        LocalResult::None => gap_end(tz, t),
    }
}

/// `t` does not exist in `tz`: binary-search the smallest whole second `u`
/// whose local time is `>= t`. Transition instants are whole seconds, and no
/// UTC offset is 26 hours or more, so the answer lies in `t ∓ 26h`. Gaps are
/// rare (at most a few per zone and year), so this is not on a hot path.
pub(super) fn gap_end(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    let local = |ts: i64| DateTime::from_timestamp(ts, 0).map(|u| u.with_timezone(&tz).naive_local());
    let guess = t.and_utc().timestamp();
    let mut lo = guess - 26 * 3600; // local(lo) < t
    let mut hi = guess + 26 * 3600; // local(hi) >= t
    local(lo)?;
    local(hi)?;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local(mid)? >= t {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

pub(super) fn local_boundary(date: NaiveDate, minutes: u16) -> Option<NaiveDateTime> {
    if minutes >= MINUTES_PER_DAY {
        Some(date.succ_opt()?.and_time(NaiveTime::MIN))
    } else {
        let m = u32::from(minutes);
        Some(date.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0)?))
    }
}

/// Resolves window boundary `minutes` of local `date` ("24:00" is the next
/// date's midnight) with [`resolve_local`].
pub(super) fn resolve_boundary(tz: Tz, date: NaiveDate, minutes: u16) -> Option<DateTime<Utc>> {
    resolve_local(tz, local_boundary(date, minutes)?)
}

/// [`resolve_boundary`] in nanoseconds since the epoch (the engine's window
/// boundaries take `ZoneOffsets::boundary_ns`, held to this one by its
/// tests, and fall back to it): the same rule, computed from the zone's
/// offset(s) at that local time (`offset_from_local_datetime`, one lookup in
/// the zone's table) rather than through `from_local_datetime`, which builds
/// and converts a `DateTime<Tz>` per candidate offset. Local times in a gap,
/// and dates near the ends of chrono's range (where subtracting an offset
/// could leave it), take [`resolve_local`] itself.
pub(super) fn resolve_boundary_ns(tz: Tz, date: NaiveDate, minutes: u16) -> Option<Ns> {
    let t = local_boundary(date, minutes)?;
    if date.year().abs() < 200_000 {
        let local = instant_nanos(t.and_utc());
        let at =
            |o: <Tz as TimeZone>::Offset| local - i128::from(o.fix().local_minus_utc()) * i128::from(NANOS_PER_SEC);
        match tz.offset_from_local_datetime(&t) {
            LocalResult::Single(o) => return Some(at(o)),
            LocalResult::Ambiguous(a, b) => return Some(min(at(a), at(b))),
            LocalResult::None => {}
        }
    }
    resolve_local(tz, t).map(instant_nanos)
}

/// The wall-clock date of `t` in `tz`.
pub(super) fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

pub(super) const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Exact nanoseconds (i128: no chrono value overflows it).
pub(super) type Ns = i128;

/// Exact nanoseconds of a duration.
pub(super) fn nanos(d: Duration) -> Ns {
    i128::from(d.num_seconds()) * i128::from(NANOS_PER_SEC) + i128::from(d.subsec_nanos())
}

/// Exact nanoseconds since the Unix epoch.
pub(super) fn instant_nanos(t: DateTime<Utc>) -> Ns {
    i128::from(t.timestamp()) * i128::from(NANOS_PER_SEC) + i128::from(t.timestamp_subsec_nanos())
}

/// `ceil(a / b)` for `b > 0`, any sign of `a`. In `i64` when both fit (every
/// instant from 1678 to 2261): a 128-bit division is a library call, many
/// times slower. `#[inline]`: the engine walks its grids with it, from another module (so,
/// without it, possibly another codegen unit, where it would be a call per grid step).
#[inline]
pub(super) fn ceil_div(a: Ns, b: Ns) -> Ns {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) if a > i64::MIN => Ns::from(-(-a).div_euclid(b)),
        _ => -(-a).div_euclid(b),
    }
}

pub(super) const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// Days from 0001-01-01 (day 1) to 1970-01-01, as `NaiveDate::from_num_days_from_ce_opt` counts.
pub(super) const UNIX_EPOCH_DAY_CE: i64 = 719_163;

/// Instants back from nanoseconds, in order, remembering the last UTC date:
/// slots come sorted, many on one date, so most need only a time of day. The
/// same instant as `DateTime::from_timestamp`, or as the window start's
/// `DateTime` plus the offset with `checked_add_signed` (the way slots were
/// built before; its date arithmetic was most of a slot's cost); `None`
/// outside chrono's range.
pub(super) struct Instants {
    day: i64,
    date: NaiveDate,
}

impl Instants {
    pub(super) fn new() -> Instants {
        Instants { day: 0, date: DateTime::UNIX_EPOCH.date_naive() }
    }

    pub(super) fn at(&mut self, t: Ns) -> Option<DateTime<Utc>> {
        let Ok(t) = i64::try_from(t) else {
            let secs = i64::try_from(t.div_euclid(i128::from(NANOS_PER_SEC))).ok()?;
            let sub = u32::try_from(t.rem_euclid(i128::from(NANOS_PER_SEC))).ok()?;
            return DateTime::from_timestamp(secs, sub);
        };
        let (day, in_day) = (t.div_euclid(NANOS_PER_DAY), t.rem_euclid(NANOS_PER_DAY));
        if day != self.day {
            self.date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + UNIX_EPOCH_DAY_CE).ok()?)?;
            self.day = day;
        }
        let secs = u32::try_from(in_day / NANOS_PER_SEC).ok()?;
        let sub = u32::try_from(in_day % NANOS_PER_SEC).ok()?;
        Some(self.date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, sub)?).and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::testing::{arb_instant, arb_zone, ref_resolve, utc, ZONES};
    use chrono::Offset;
    use proptest::prelude::*;
    use std::cmp::max;

    #[test]
    fn tzdata_is_2025a_or_newer() {
        let v = chrono_tz::IANA_TZDB_VERSION;
        assert!(v >= "2025a", "chrono-tz ships tzdata {v}, need >= 2025a");
    }

    #[test]
    fn asuncion_is_utc_minus_3_all_year_from_2025() {
        let tz = chrono_tz::America::Asuncion;
        let mut t = utc("2025-01-01T00:00:00Z");
        while t < utc("2031-01-01T00:00:00Z") {
            let off = tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc();
            assert_eq!(off, -3 * 3600, "America/Asuncion at {t}");
            t += Duration::hours(6);
        }
    }

    fn ndt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn resolve_gap_moves_to_end_of_gap() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(resolve_local(ny, ndt("2026-03-08 02:30")), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-03-08 02:00")), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-03-08 03:00")), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-03-08 01:59")), Some(utc("2026-03-08T06:59:00Z")));
    }

    #[test]
    fn resolve_repeated_hour_takes_first_occurrence() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(resolve_local(ny, ndt("2026-11-01 01:00")), Some(utc("2026-11-01T05:00:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-11-01 01:59")), Some(utc("2026-11-01T05:59:00Z")));
        assert_eq!(resolve_local(ny, ndt("2026-11-01 02:00")), Some(utc("2026-11-01T07:00:00Z")));
    }

    /// Checks `resolve_local` against its definition, "the first instant at
    /// which the local clock reads t or later", computed by brute force over
    /// every UTC minute around every DST change 2025-2027 of every test zone.
    #[test]
    fn resolve_matches_definition_around_every_transition() {
        for &tz in ZONES {
            // Local dates on which the offset changes.
            let mut dates = Vec::new();
            let mut t = utc("2025-01-01T00:00:00Z");
            let off = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
            while t < utc("2028-01-01T00:00:00Z") {
                let n = t + Duration::hours(1);
                if off(t) != off(n) {
                    dates.push(n.with_timezone(&tz).date_naive());
                }
                t = n;
            }
            for date in dates {
                for day in [date.pred_opt().unwrap(), date, date.succ_opt().unwrap()] {
                    check_resolution_day(tz, day);
                }
            }
            // And one ordinary day.
            check_resolution_day(tz, NaiveDate::from_ymd_opt(2026, 6, 10).unwrap());
        }
    }

    fn check_resolution_day(tz: Tz, day: NaiveDate) {
        let midnight = day.and_time(NaiveTime::MIN);
        // Every UTC minute from 30h before to 54h after local midnight read as UTC.
        let base = midnight.and_utc() - Duration::hours(30);
        let us: Vec<DateTime<Utc>> = (0..84 * 60).map(|m| base + Duration::minutes(m)).collect();
        let mut running_max = Vec::with_capacity(us.len());
        let mut m = NaiveDateTime::MIN;
        for u in &us {
            m = max(m, u.with_timezone(&tz).naive_local());
            running_max.push(m);
        }
        let mut i = 0;
        for minute in 0..=1440 {
            let t = midnight + Duration::minutes(minute);
            while running_max[i] < t {
                i += 1;
            }
            assert_eq!(resolve_local(tz, t), Some(us[i]), "{tz} {t}");
            assert_eq!(ref_resolve(tz, t), us[i], "reference {tz} {t}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The engine's gap resolution (binary search) agrees with the naive
        /// minute walk for arbitrary local times.
        #[test]
        fn resolve_local_matches_reference(tz in arb_zone(), m in 0i64..3 * 366 * 24 * 60) {
            let t = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap().and_time(NaiveTime::MIN) + Duration::minutes(m);
            prop_assert_eq!(resolve_local(tz, t), Some(ref_resolve(tz, t)));
        }
    }

    proptest! {
        /// `Instants::at` gives the instant chrono gives, in order and out of order.
        #[test]
        fn instants_match_chrono(ts in prop::collection::vec(arb_instant(), 1..20)) {
            let mut sorted = ts.clone();
            sorted.sort();
            for list in [ts, sorted] {
                let mut at = Instants::new();
                for t in list {
                    let ns = instant_nanos(t);
                    let want = DateTime::from_timestamp(
                        i64::try_from(ns.div_euclid(1_000_000_000)).unwrap(),
                        u32::try_from(ns.rem_euclid(1_000_000_000)).unwrap(),
                    );
                    prop_assert_eq!(at.at(ns), want);
                }
            }
        }

        /// `resolve_boundary_ns` is `resolve_boundary`, in nanoseconds, for
        /// every boundary of a day around the test zones' DST changes.
        #[test]
        fn resolve_boundary_ns_matches(tz in arb_zone(), day in 0i64..3 * 366, minutes in 0u16..=MINUTES_PER_DAY) {
            let date = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(day);
            prop_assert_eq!(resolve_boundary_ns(tz, date, minutes), resolve_boundary(tz, date, minutes).map(instant_nanos));
        }
    }

    #[test]
    fn resolve_boundary_ns_at_far_dates() {
        for date in [NaiveDate::MIN, NaiveDate::MAX, NaiveDate::from_ymd_opt(-200_001, 3, 1).unwrap()] {
            for tz in [Tz::UTC, chrono_tz::Europe::Berlin, chrono_tz::America::New_York] {
                for minutes in [0, 60, 1439, MINUTES_PER_DAY] {
                    assert_eq!(
                        resolve_boundary_ns(tz, date, minutes),
                        resolve_boundary(tz, date, minutes).map(instant_nanos),
                        "{tz} {date} {minutes}"
                    );
                }
            }
        }
    }
}
