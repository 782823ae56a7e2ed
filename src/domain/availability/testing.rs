//! What the availability tests share: builders of rules and instants, the test-only shorthands
//! for the engine (nobody booked, nobody busy), and the brute-force reference with its
//! strategies that the property tests hold the engine to.

use std::cmp::{max, min};

use chrono::{
    DateTime, Datelike, Duration, DurationRound, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::engine::{check_slot, slots, SlotError};
use super::hours::{format_hhmm, HoursWindow, WorkingHours, DAY_KEYS, MINUTES_PER_DAY};
use super::limits::{DayCounts, Tally};
use super::local_time::nanos;
use super::schedule::{SlotAlignment, WindowDays};
use super::{Interval, LinkRules, RawDateOverride, RawSchedulingRules, SchedulingRules};

/// [`slots`] with nobody booked through the link (the daily cap never binds).
pub(super) fn available_slots(
    rules: &LinkRules,
    range: Interval,
    busy: &[Interval],
    now: DateTime<Utc>,
) -> Vec<Interval> {
    slots(rules, range, busy, &DayCounts::new(), now)
}

/// [`check_slot`] with nobody busy and nobody booked: Ok when `slot` is one the link would
/// offer if its calendar were empty (never `DateFull` or `Busy`).
pub(super) fn check_offered(rules: &LinkRules, slot: Interval, now: DateTime<Utc>) -> Result<(), SlotError> {
    check_slot(rules, slot, &[], &DayCounts::new(), now)
}

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad test instant {s}: {e}")).with_timezone(&Utc)
}

pub(super) fn iv(a: &str, b: &str) -> Interval {
    Interval { start: utc(a), end: utc(b) }
}

pub(super) fn hours(spec: &[(&str, &[(&str, &str)])]) -> WorkingHours {
    WorkingHours::parse(spec.iter().map(|(d, ws)| (*d, ws.to_vec()))).unwrap()
}

pub(super) fn rules(tz: Tz, duration_min: i64, buffer_min: i64, spec: &[(&str, &[(&str, &str)])]) -> LinkRules {
    LinkRules {
        duration: Duration::minutes(duration_min),
        buffer: Duration::minutes(buffer_min),
        tz,
        hours: hours(spec),
        schedule: SchedulingRules::default(),
    }
}

/// Slot starts as "YYYY-MM-DDTHH:MMZ", after checking every slot has the
/// link's length.
pub(super) fn starts(r: &LinkRules, slots: &[Interval]) -> Vec<String> {
    for s in slots {
        assert_eq!(s.end - s.start, r.duration, "slot {s:?} has the wrong length");
    }
    slots.iter().map(|s| s.start.format("%Y-%m-%dT%H:%MZ").to_string()).collect()
}

pub(super) const LONG_AGO: &str = "2000-01-01T00:00:00Z";

/// All slots of a range with nobody busy and `now` long ago.
pub(super) fn free(r: &LinkRules, from: &str, to: &str) -> Vec<String> {
    starts(r, &available_slots(r, iv(from, to), &[], utc(LONG_AGO)))
}

pub(super) fn local(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

pub(super) fn with(mut r: LinkRules, raw: RawSchedulingRules) -> LinkRules {
    r.schedule = SchedulingRules::parse(&raw).unwrap();
    r
}

pub(super) fn raw_ov(date: &str, windows: &[(&str, &str)]) -> RawDateOverride {
    RawDateOverride {
        date: date.into(),
        windows: windows.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect(),
    }
}

pub(super) fn overrides(list: Vec<RawDateOverride>) -> RawSchedulingRules {
    RawSchedulingRules { date_overrides: Some(list), ..RawSchedulingRules::default() }
}

pub(super) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Slots (by start) with the given busy time and counts, checking on the
/// way that `check_slot` accepts each one.
pub(super) fn offered(r: &LinkRules, range: Interval, busy: &[Interval], booked: &DayCounts, now: &str) -> Vec<String> {
    let got = slots(r, range, busy, booked, utc(now));
    for s in &got {
        assert_eq!(check_slot(r, *s, busy, booked, utc(now)), Ok(()), "{s:?}");
    }
    starts(r, &got)
}

pub(super) const ZONES: &[Tz] = &[
    chrono_tz::America::New_York,
    chrono_tz::Europe::Berlin,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::America::Asuncion,
    Tz::UTC,
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::St_Johns,
    chrono_tz::America::Santiago,
];

/// Naive local → instant: for a skipped time, walk forward minute by minute
/// to the first local time that exists (transitions in these zones are on
/// whole minutes); for a repeated time take the earlier instant.
pub(super) fn ref_resolve(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    let mut t = t;
    loop {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => {
                return min(a.with_timezone(&Utc), b.with_timezone(&Utc));
            }
            LocalResult::None => t += Duration::minutes(1),
        }
    }
}

/// Brute force with no scheduling rules set: [`ref_all`] (windows joined
/// at midnight into ranges, every grid point, every rule checked directly
/// against every busy interval).
pub(super) fn ref_slots(r: &LinkRules, range: Interval, busy: &[Interval], now: DateTime<Utc>) -> Vec<Interval> {
    ref_all(r, range, busy, &DayCounts::new(), now)
}

/// The window (of local dates around the slot) that contains `slot` on its
/// grid, found with the reference resolution.
pub(super) fn ref_window_containing(r: &LinkRules, slot: Interval) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let day = slot.start.with_timezone(&r.tz).date_naive();
    let step = nanos(r.interval());
    ref_ranges(r, day - Duration::days(3), day + Duration::days(2))
        .into_iter()
        .find(|&(ws, we)| ws <= slot.start && slot.end <= we && nanos(slot.start - ws) % step == 0)
}

pub(super) fn arb_zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(ZONES)
}

/// Up to three windows a day, built from (gap, length) pairs so windows may
/// touch; ends past midnight are clipped to 24:00. The first window starts
/// within five hours of midnight, where DST changes happen. All values are
/// rounded to multiples of `grain` minutes.
pub(super) fn build_hours(days: &[Vec<(u16, u16)>; 7], grain: u16) -> WorkingHours {
    let texts: Vec<(&str, Vec<(String, String)>)> =
        days.iter().zip(DAY_KEYS).map(|(pairs, key)| (key, day_texts(pairs, grain))).collect();
    WorkingHours::parse(texts.iter().map(|(k, ws)| (*k, ws.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect())))
        .expect("generated hours are valid")
}

/// Granularity in minutes of generated times: 1 (anything), or coarser so
/// that window edges, grid points, `now` and busy edges often coincide.
pub(super) fn arb_grain() -> impl Strategy<Value = u16> {
    prop_oneof![Just(1u16), Just(5), Just(15), Just(60)]
}

/// Rules with durations 5..=240 min and buffers 0..=60 min, rounded to the
/// grain where that keeps them in range.
pub(super) fn arb_rules(grain: u16, tz: Tz) -> impl Strategy<Value = LinkRules> {
    let day = prop::collection::vec((0u16..=300, 1u16..=720), 0..=3);
    (5i64..=240, 0i64..=60, prop::array::uniform7(day)).prop_map(move |(d, b, days)| {
        let g = i64::from(grain);
        let d = if g <= 5 { d } else { max(g, d / g * g) };
        let b = if g == 1 { b } else { b / 5 * 5 };
        LinkRules {
            duration: Duration::minutes(min(d, 240)),
            buffer: Duration::minutes(b),
            tz,
            hours: build_hours(&days, grain),
            schedule: SchedulingRules::default(),
        }
    })
}

/// DST change dates 2025-2027 (UTC midnight of the local day) of the test
/// zones that have DST.
pub(super) fn dst_dates(tz: Tz) -> &'static [&'static str] {
    match tz {
        chrono_tz::America::New_York | chrono_tz::America::St_Johns => {
            &["2025-03-09", "2025-11-02", "2026-03-08", "2026-11-01", "2027-03-14", "2027-11-07"]
        }
        chrono_tz::Europe::Berlin => {
            &["2025-03-30", "2025-10-26", "2026-03-29", "2026-10-25", "2027-03-28", "2027-10-31"]
        }
        chrono_tz::Australia::Lord_Howe => {
            &["2025-04-06", "2025-10-05", "2026-04-05", "2026-10-04", "2027-04-04", "2027-10-03"]
        }
        chrono_tz::America::Santiago => {
            &["2025-04-06", "2025-09-07", "2026-04-05", "2026-09-06", "2027-04-04", "2027-09-05"]
        }
        // No DST from 2025 on (Asuncion: since tzdata 2025a).
        _ => &["2025-03-30", "2025-10-05", "2026-03-08", "2026-11-01", "2027-04-04", "2027-10-31"],
    }
}

/// Range start: anywhere in 2025-2027, or shortly before/after one of the
/// zone's DST changes; on whole minutes or not.
pub(super) fn arb_range_start(tz: Tz) -> impl Strategy<Value = DateTime<Utc>> {
    let base = utc("2025-01-01T00:00:00Z");
    let anywhere = (0i64..3 * 365 * 24 * 60).prop_map(move |m| base + Duration::minutes(m));
    let near_dst = (prop::sample::select(dst_dates(tz)), -20 * 24 * 60i64..=3 * 24 * 60)
        .prop_map(|(d, m)| utc(&format!("{d}T00:00:00Z")) + Duration::minutes(m));
    let jitter = prop_oneof![3 => Just(0i64), 1 => 0i64..60_000];
    (prop_oneof![1 => anywhere, 2 => near_dst], jitter).prop_map(|(t, ms)| t + Duration::milliseconds(ms))
}

/// (rules, range, busy, now). Range up to 40 days; `now` from long before
/// the range to well inside it; up to 40 busy blocks around the range,
/// including empty and inverted ones.
pub(super) fn arb_case() -> impl Strategy<Value = (LinkRules, Interval, Vec<Interval>, DateTime<Utc>)> {
    (arb_grain(), arb_zone()).prop_flat_map(|(grain, tz)| {
        (
            arb_rules(grain, tz),
            arb_range_start(tz),
            prop_oneof![1 => 0i64..=24 * 60, 3 => 0i64..=40 * 24 * 60],
            prop_oneof![1 => Just(-400 * 86_400i64), 4 => -3 * 86_400i64..=30 * 86_400],
            prop::collection::vec((-2 * 24 * 60i64..=42 * 24 * 60, -30i64..=8 * 60), 0..=40),
        )
            .prop_map(move |(rules, start, len_min, now_off_s, busy)| {
                let g = i64::from(grain);
                let gd = Duration::minutes(g);
                let start = if g == 1 { start } else { start.duration_trunc(gd).unwrap() };
                let range = Interval { start, end: start + Duration::minutes(len_min / g * g) };
                let origin = start.duration_trunc(Duration::minutes(1)).unwrap();
                let busy = busy
                    .into_iter()
                    .map(|(off, len)| {
                        let s = origin + Duration::minutes(off / g * g);
                        Interval { start: s, end: s + Duration::minutes(len / g * g) }
                    })
                    .collect();
                let now = if g == 1 {
                    start + Duration::seconds(now_off_s)
                } else {
                    start + Duration::minutes(now_off_s / 60 / g * g)
                };
                (rules, range, busy, now)
            })
    })
}

/// Instants from 1600 to 2400 (outside `i64` nanoseconds at both ends), some
/// at a leap second, some far out in chrono's range.
pub(super) fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let near = (-370i64 * 365 * 86_400..=430 * 365 * 86_400, 0u32..2_000_000_000).prop_map(|(secs, sub)| {
        let t = DateTime::from_timestamp(secs, sub % 1_000_000_000).unwrap();
        if sub >= 1_000_000_000 && t.time().second() == 59 {
            // A leap second (nanoseconds >= 1e9), as chrono represents it.
            t.date_naive().and_time(NaiveTime::from_hms_nano_opt(t.hour(), t.minute(), 59, sub).unwrap()).and_utc()
        } else {
            t
        }
    });
    let far = (-8_000_000_000_000i64..=8_000_000_000_000).prop_map(|s| DateTime::from_timestamp(s, 7).unwrap());
    prop_oneof![4 => near, 1 => far]
}

/// The windows of a date by a linear search over the overrides.
pub(super) fn ref_windows(r: &LinkRules, date: NaiveDate) -> Vec<HoursWindow> {
    match r.schedule.date_overrides().iter().find(|o| o.date() == date) {
        Some(o) => o.windows().to_vec(),
        None => r.hours.day(date.weekday()).to_vec(),
    }
}

/// The ranges (start, end) of local dates `first..=last`: windows resolved
/// with the reference resolution, a window ending at 24:00 joined with the
/// next date's first window when that starts at 00:00.
pub(super) fn ref_ranges(r: &LinkRules, first: NaiveDate, last: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    // (start, end) of each range.
    let mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut prev_to_midnight: Option<NaiveDate> = None;
    let mut date = first;
    while date <= last {
        for (i, w) in ref_windows(r, date).iter().enumerate() {
            let at = |m: u16| date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(m));
            let (ws, we) = (ref_resolve(r.tz, at(w.start)), ref_resolve(r.tz, at(w.end)));
            let joins = i == 0 && w.start == 0 && prev_to_midnight == date.pred_opt();
            if joins && !ranges.is_empty() {
                ranges.last_mut().unwrap().1 = max(we, ws);
            } else {
                ranges.push((ws, max(we, ws)));
            }
            prev_to_midnight = None;
            if w.end == MINUTES_PER_DAY {
                prev_to_midnight = Some(date);
            }
        }
        if ref_windows(r, date).is_empty() {
            prev_to_midnight = None;
        }
        date = date.succ_opt().unwrap();
    }
    ranges
}

/// Brute force for every rule: windows of every date from three days
/// before the range (UTC dates) to three after, resolved with the
/// reference resolution; a window ending at 24:00 and the next date's
/// first window starting at 00:00 are one range; every grid point of every
/// range, every rule checked literally (dates as the wall clock reads
/// them), against every busy interval.
pub(super) fn ref_all(
    r: &LinkRules,
    range: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    now: DateTime<Utc>,
) -> Vec<Interval> {
    let sched = &r.schedule;
    let before = max(sched.buffer_before().unwrap_or(r.buffer), Duration::zero());
    let after = max(sched.buffer_after().unwrap_or(r.buffer), Duration::zero());
    let step = sched.slot_interval().unwrap_or(r.duration);
    let wall = |t: DateTime<Utc>| t.with_timezone(&r.tz).date_naive();
    let today = wall(now);
    let ranges =
        ref_ranges(r, range.start.date_naive() - Duration::days(3), range.end.date_naive() + Duration::days(3));
    let mut out = Vec::new();
    for (rs, re) in ranges {
        let mut k: i32 = 0;
        loop {
            let s = rs + step * k;
            let e = s + r.duration;
            if e > re {
                break;
            }
            let d = wall(s);
            let clear = busy.iter().all(|b| !(b.start < b.end && s - before < b.end && b.start < e + after));
            let ahead = sched.max_days_ahead().is_none_or(|n| d <= ref_last_date(r, today, n));
            let room = ref_room(r, booked, d);
            let bookable =
                sched.bookable_from().is_none_or(|f| d >= f) && sched.bookable_until().is_none_or(|u| d <= u);
            if s > now + sched.min_notice() && s >= range.start && e <= range.end && clear && ahead && room && bookable
            {
                out.push(Interval { start: s, end: e });
            }
            k += 1;
        }
    }
    out.sort();
    out
}

/// The last date `n` days ahead of `today`: calendar days, or dates with windows.
fn ref_last_date(r: &LinkRules, today: NaiveDate, n: u32) -> NaiveDate {
    if r.schedule.window_days_kind() == WindowDays::Calendar {
        return today + Duration::days(n.into());
    }
    let mut d = today;
    let mut left = n;
    // Generated links work at least on one weekday or not at all (then 3 years is plenty).
    for _ in 0..3 * 366 {
        if left == 0 {
            break;
        }
        d = d.succ_opt().unwrap();
        if !ref_windows(r, d).is_empty() {
            left -= 1;
        }
    }
    d
}

/// Whether a slot on date `d` fits every limit: the day, the week (from `week_start`), the
/// month and the year hold fewer reservations than their caps, and the day's and the week's
/// minutes plus the slot's stay within theirs. Sums taken date by date.
fn ref_room(r: &LinkRules, booked: &DayCounts, d: NaiveDate) -> bool {
    use super::schedule::Period;
    let s = &r.schedule;
    let sum = |first: NaiveDate, next: NaiveDate| {
        let mut t = Tally::default();
        let mut x = first;
        while x < next {
            t += booked.on(x);
            x = x.succ_opt().unwrap();
        }
        t
    };
    let week_first = d - Duration::days(i64::from(d.weekday().days_since(s.week_start())));
    let month_first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap();
    let month_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap()
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).unwrap()
    };
    let periods = [
        (Period::Day, d, d + Duration::days(1)),
        (Period::Week, week_first, week_first + Duration::days(7)),
        (Period::Month, month_first, month_next),
        (
            Period::Year,
            NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap(),
        ),
    ];
    let slot_minutes = u32::try_from(r.duration.num_minutes()).unwrap();
    periods.iter().all(|&(p, first, next)| {
        let t = sum(first, next);
        s.max_bookings(p).is_none_or(|cap| t.count < cap)
            && s.max_minutes(p).is_none_or(|cap| t.minutes + slot_minutes <= cap)
    })
}

/// Windows of one generated day, as text pairs (as `build_hours` makes them).
pub(super) fn day_texts(pairs: &[(u16, u16)], grain: u16) -> Vec<(String, String)> {
    let mut cur = 0u16;
    let mut ws = Vec::new();
    for &(gap, len) in pairs {
        let start = cur + gap / grain * grain;
        if start >= MINUTES_PER_DAY {
            break;
        }
        let end = min(start + max(grain, len / grain * grain), MINUTES_PER_DAY);
        ws.push((format_hhmm(start), format_hhmm(end)));
        cur = end;
    }
    ws
}

/// Issue #25's rules, each present or absent: limits per week, month and year and on minutes,
/// the week's start, business days, bookable dates (offsets from the range's first date), and
/// `after_busy` alignment.
#[derive(Debug, Clone)]
pub(super) struct MoreRules {
    counts: (Option<u32>, Option<u32>, Option<u32>),
    minutes: (Option<u32>, Option<u32>),
    week_start: Option<u8>,
    business: bool,
    bookable: (Option<i64>, Option<i64>),
    after_busy: bool,
}

impl MoreRules {
    fn raw(&self, base: NaiveDate) -> RawSchedulingRules {
        const WEEK: [chrono::Weekday; 7] = {
            use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
            [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
        };
        let (from, until) = match self.bookable {
            (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
            other => other,
        };
        RawSchedulingRules {
            max_bookings_per_week: self.counts.0.map(i64::from),
            max_bookings_per_month: self.counts.1.map(i64::from),
            max_bookings_per_year: self.counts.2.map(i64::from),
            max_minutes_per_day: self.minutes.0.map(i64::from),
            max_minutes_per_week: self.minutes.1.map(i64::from),
            week_start: self.week_start.map(|i| WEEK[usize::from(i)]),
            window_days_kind: self.business.then_some(WindowDays::Business),
            bookable_from: from.map(|o| base + Duration::days(o)),
            bookable_until: until.map(|o| base + Duration::days(o)),
            slot_alignment: self.after_busy.then_some(SlotAlignment::AfterBusy),
            ..RawSchedulingRules::default()
        }
    }
}

pub(super) fn arb_more_rules() -> impl Strategy<Value = MoreRules> {
    (
        (prop::option::of(1u32..=6), prop::option::of(1u32..=12), prop::option::of(1u32..=20)),
        (prop::option::of(30u32..=600), prop::option::of(60u32..=2000)),
        prop::option::of(0u8..7),
        prop::bool::weighted(0.3),
        (prop::option::of(-3i64..=30), prop::option::of(-3i64..=40)),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(counts, minutes, week_start, business, bookable, after_busy)| MoreRules {
            counts,
            minutes,
            week_start,
            business,
            bookable,
            after_busy,
        })
}

pub(super) type FullCase = (LinkRules, Interval, Vec<Interval>, DayCounts, DateTime<Utc>);

/// `arb_case` plus every scheduling rule, each present or absent; half the
/// weekly windows and overrides run into midnight or out of it, so that
/// ranges join; overrides and counts fall on dates around the range.
pub(super) fn arb_full_case() -> impl Strategy<Value = FullCase> {
    let day = prop::collection::vec((0u16..=300, 1u16..=720), 0..=3);
    let overnight = prop::collection::vec((0u16..=300, 1u16..=720), 0..=2).prop_map(|mut v| {
        // Start at 00:00 and end at 24:00 by construction of build_hours: gap 0 first,
        // a long last window.
        if let Some(first) = v.first_mut() {
            first.0 = 0;
        }
        v.push((0, 1440));
        v
    });
    let any_day = prop_oneof![2 => day.clone(), 1 => overnight];
    let sched = (
        prop::option::of(prop_oneof![0u32..=120, 0u32..=3000]),
        prop::option::of(0u32..=40),
        prop::option::of(5u32..=240),
        prop::option::of(0u32..=90),
        prop::option::of(0u32..=90),
        prop::option::of(1u32..=3),
    );
    (
        arb_case(),
        prop::array::uniform7(any_day.clone()),
        sched,
        prop::collection::vec((-3i64..=44, any_day), 0..=6),
        prop::collection::vec((-3i64..=44, 0u32..=3, 0u32..=240), 0..=12),
        arb_grain(),
        arb_more_rules(),
    )
        .prop_map(|((mut r, range, busy, now), week, sched, ovs, counts, grain, more)| {
            let grain = if r.duration.num_minutes() % i64::from(grain) == 0 { grain } else { 1 };
            r.hours = build_hours(&week, grain);
            let (notice, ahead, interval, before, after, cap) = sched;
            let base = range.start.with_timezone(&r.tz).date_naive();
            let mut seen = std::collections::BTreeSet::new();
            let overrides: Vec<RawDateOverride> = ovs
                .iter()
                .filter(|(off, _)| seen.insert(*off))
                .map(|(off, pairs)| RawDateOverride {
                    date: (base + Duration::days(*off)).format("%Y-%m-%d").to_string(),
                    windows: day_texts(pairs, grain),
                })
                .collect();
            let g = u32::from(grain);
            let raw = RawSchedulingRules {
                min_notice_minutes: notice.map(|n| i64::from(n / g * g)),
                max_days_ahead: ahead.map(i64::from),
                slot_interval_minutes: interval.map(|i| i64::from(max(5, i / g * g))),
                buffer_before_minutes: before.map(i64::from),
                buffer_after_minutes: after.map(i64::from),
                date_overrides: (!overrides.is_empty()).then_some(overrides),
                max_bookings_per_day: cap.map(i64::from),
                min_cancel_notice_minutes: None,
                ..more.raw(base)
            };
            r.schedule = SchedulingRules::parse(&raw).expect("generated rules are valid");
            let booked: DayCounts = counts
                .iter()
                .map(|&(off, count, minutes)| (base + Duration::days(off), Tally { count, minutes: count * minutes }))
                .collect();
            (r, range, busy, booked, now)
        })
}
