//! The engine under the scheduling rules of issue #12: overrides, notice, days ahead, grid,
//! separate buffers, overnight ranges.

use super::*;
use crate::domain::availability::busy::overlaps_busy;
use crate::domain::availability::testing::*;
use crate::domain::availability::{RawSchedulingRules, DAY_KEYS};
use chrono_tz::Tz;

#[test]
fn default_schedule_is_todays_behaviour() {
    let r = rules(chrono_tz::Europe::Berlin, 30, 10, &[("mon", &[("09:00", "10:00")])]);
    assert_eq!(r.interval(), Duration::minutes(30));
    assert_eq!((r.buffer_before(), r.buffer_after()), (Duration::minutes(10), Duration::minutes(10)));
    assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"), ["2026-03-02T08:00Z", "2026-03-02T08:30Z"]);
}

#[test]
fn override_on_new_york_fall_back_day() {
    let ny = chrono_tz::America::New_York;
    // Sunday 2026-11-01 normally 09:00-10:00; the override opens 00:30-02:30 instead.
    let r = rules(ny, 30, 0, &[("sun", &[("09:00", "10:00")])]);
    let r = with(r, overrides(vec![raw_ov("2026-11-01", &[("00:30", "02:30")])]));
    // 00:30 EDT = 04:30Z .. 02:30 EST = 07:30Z: three real hours, the repeated 01:xx twice.
    assert_eq!(
        free(&r, "2026-10-31T12:00:00Z", "2026-11-09T00:00:00Z"),
        [
            "2026-11-01T04:30Z",
            "2026-11-01T05:00Z", // 01:00 EDT
            "2026-11-01T05:30Z",
            "2026-11-01T06:00Z", // 01:00 EST
            "2026-11-01T06:30Z",
            "2026-11-01T07:00Z", // 02:00 EST
            "2026-11-08T14:00Z", // the next Sunday: weekly hours again
            "2026-11-08T14:30Z",
        ]
    );
}

#[test]
fn override_on_berlin_spring_forward_day() {
    let berlin = chrono_tz::Europe::Berlin;
    let r = rules(berlin, 60, 0, &[("sun", &[("09:00", "10:00")])]);
    // On 2026-03-29, 01:00-02:00 is 01:00 CET = 00:00Z .. 03:00 CEST = 01:00Z; 02:30 does not
    // exist, so 02:30-04:30 runs from 03:00 CEST = 01:00Z to 02:30Z (one and a half real hours).
    let r = with(r, overrides(vec![raw_ov("2026-03-29", &[("01:00", "02:00"), ("02:30", "04:30")])]));
    assert_eq!(free(&r, "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z"), ["2026-03-29T00:00Z", "2026-03-29T01:00Z"]);
    assert_eq!(
        check_offered(&r, iv("2026-03-29T07:00:00Z", "2026-03-29T08:00:00Z"), utc(LONG_AGO)),
        Err(SlotError::OutsideWorkingHours),
        "the weekday's 09:00 is replaced"
    );
}

#[test]
fn closed_override_on_a_working_weekday() {
    let r = rules(chrono_tz::Europe::Berlin, 60, 0, &[("mon", &[("09:00", "11:00")]), ("tue", &[("09:00", "10:00")])]);
    let r = with(r, overrides(vec![raw_ov("2026-03-02", &[])]));
    assert_eq!(free(&r, "2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z"), ["2026-03-03T08:00Z"]);
    assert_eq!(
        check_offered(&r, iv("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"), utc(LONG_AGO)),
        Err(SlotError::OutsideWorkingHours)
    );
    // The next Monday is open again.
    assert_eq!(free(&r, "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z"), ["2026-03-09T08:00Z", "2026-03-09T09:00Z"]);
}

#[test]
fn booking_window_whose_last_day_is_a_dst_day() {
    let berlin = chrono_tz::Europe::Berlin;
    let every_day: &[(&str, &str)] = &[("01:00", "04:00")];
    let spec: Vec<(&str, &[(&str, &str)])> = DAY_KEYS.iter().map(|d| (*d, every_day)).collect();
    let r = rules(berlin, 60, 0, &spec);
    // Today (Berlin) is 2026-03-01; 28 days ahead is Sunday 2026-03-29, spring forward.
    let r = with(r, RawSchedulingRules { max_days_ahead: Some(28), ..RawSchedulingRules::default() });
    let now = "2026-03-01T10:00:00Z";
    let got = offered(&r, iv("2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"), &[], &DayCounts::new(), now);
    // 28th: 01:00-04:00 CET = 00:00Z-03:00Z; 29th: 00:00Z-02:00Z (two real hours); nothing on the 30th.
    assert_eq!(
        got,
        ["2026-03-28T00:00Z", "2026-03-28T01:00Z", "2026-03-28T02:00Z", "2026-03-29T00:00Z", "2026-03-29T01:00Z"]
    );
    assert_eq!(
        check_slot(&r, iv("2026-03-29T23:00:00Z", "2026-03-30T00:00:00Z"), &[], &DayCounts::new(), utc(now)),
        Err(SlotError::TooFarAhead { last_date: day("2026-03-29") })
    );
    // Today counts in Berlin: at 23:30Z on 2026-02-28 it is already 2026-03-01 there.
    let later = slots(
        &r,
        iv("2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"),
        &[],
        &DayCounts::new(),
        utc("2026-02-28T23:30:00Z"),
    );
    assert_eq!(later.len(), 5);
    // max_days_ahead 0: today only.
    let r = with(r, RawSchedulingRules { max_days_ahead: Some(0), ..RawSchedulingRules::default() });
    assert_eq!(
        offered(&r, iv("2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z"), &[], &DayCounts::new(), "2026-02-28T23:30:00Z"),
        ["2026-03-01T00:00Z", "2026-03-01T01:00Z", "2026-03-01T02:00Z"]
    );
}

#[test]
fn notice_that_crosses_midnight() {
    let r = rules(Tz::UTC, 30, 0, &[("mon", &[("20:00", "24:00")]), ("tue", &[("00:30", "03:00")])]);
    let r = with(r, RawSchedulingRules { min_notice_minutes: Some(210), ..RawSchedulingRules::default() });
    // Now Monday 22:00; + 3.5 h = Tuesday 01:30, strictly after: 02:00 is the first.
    let now = "2026-03-02T22:00:00Z";
    assert_eq!(
        offered(&r, iv("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"), &[], &DayCounts::new(), now),
        ["2026-03-03T02:00Z", "2026-03-03T02:30Z"]
    );
    let e = check_slot(&r, iv("2026-03-03T01:30:00Z", "2026-03-03T02:00:00Z"), &[], &DayCounts::new(), utc(now));
    assert_eq!(e, Err(SlotError::TooSoon { notice: Duration::minutes(210) }));
    assert_eq!(e.unwrap_err().to_string(), "slot starts too soon: this link needs 210 min notice");
    // The grid does not move for notice: 00:30, 01:00, ... stay the starts.
    let r = with(r, RawSchedulingRules { min_notice_minutes: Some(155), ..RawSchedulingRules::default() });
    assert_eq!(
        offered(&r, iv("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"), &[], &DayCounts::new(), now)[0],
        "2026-03-03T01:00Z"
    );
}

#[test]
fn interval_shorter_than_duration_with_unequal_buffers() {
    let r = rules(Tz::UTC, 60, 5, &[("mon", &[("09:00", "12:00")])]);
    let r = with(
        r,
        RawSchedulingRules {
            slot_interval_minutes: Some(20),
            buffer_before_minutes: Some(10),
            buffer_after_minutes: Some(30),
            ..RawSchedulingRules::default()
        },
    );
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    // Nobody busy: every 20 minutes, an hour long, overlapping each other.
    assert_eq!(
        offered(&r, range, &[], &DayCounts::new(), LONG_AGO),
        [
            "2026-03-02T09:00Z",
            "2026-03-02T09:20Z",
            "2026-03-02T09:40Z",
            "2026-03-02T10:00Z",
            "2026-03-02T10:20Z",
            "2026-03-02T10:40Z",
            "2026-03-02T11:00Z"
        ]
    );
    // Busy 10:50-11:00: a slot needs [start - 10, end + 30) clear of it, so
    // start + 90 <= 10:50 (start <= 09:20) or start - 10 >= 11:00 (start >= 11:10).
    let busy = [iv("2026-03-02T10:50:00Z", "2026-03-02T11:00:00Z")];
    assert_eq!(offered(&r, range, &busy, &DayCounts::new(), LONG_AGO), ["2026-03-02T09:00Z", "2026-03-02T09:20Z"]);
    let e = check_slot(&r, iv("2026-03-02T09:40:00Z", "2026-03-02T10:40:00Z"), &busy, &DayCounts::new(), utc(LONG_AGO));
    assert_eq!(e, Err(SlotError::Busy));
    assert_eq!(e.unwrap_err().refusal(), Refusal::Busy);
    // Off the 20-minute grid.
    assert_eq!(
        check_offered(&r, iv("2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"), utc(LONG_AGO)),
        Err(SlotError::NotOnGrid { step: Duration::minutes(20) })
    );
    assert!(overlaps_busy(&r, iv("2026-03-02T09:40:00Z", "2026-03-02T10:40:00Z"), &busy));
    assert!(!overlaps_busy(&r, iv("2026-03-02T09:20:00Z", "2026-03-02T10:20:00Z"), &busy));
}

#[test]
fn overnight_shift_across_a_dst_change() {
    let ny = chrono_tz::America::New_York;
    // Saturday 22:00-24:00 + Sunday 00:00-06:00 is one range; 2026-11-01 falls back.
    let r = rules(ny, 90, 0, &[("sat", &[("22:00", "24:00")]), ("sun", &[("00:00", "06:00")])]);
    // 22:00 EDT Sat = 02:00Z .. 06:00 EST Sun = 11:00Z: nine real hours, six 90-minute slots.
    let got = free(&r, "2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z");
    assert_eq!(
        got,
        [
            "2026-11-01T02:00Z",
            "2026-11-01T03:30Z",
            "2026-11-01T05:00Z",
            "2026-11-01T06:30Z",
            "2026-11-01T08:00Z",
            "2026-11-01T09:30Z"
        ]
    );
    // 03:30Z = 23:30 EDT: a slot across midnight, accepted as well.
    assert_eq!(check_offered(&r, iv("2026-11-01T03:30:00Z", "2026-11-01T05:00:00Z"), utc(LONG_AGO)), Ok(()));
    // Spring forward 2026-03-08: 22:00 EST = 03:00Z .. 06:00 EDT = 10:00Z, seven real hours.
    assert_eq!(
        free(&r, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"),
        ["2026-03-08T03:00Z", "2026-03-08T04:30Z", "2026-03-08T06:00Z", "2026-03-08T07:30Z"]
    );
    // A range starting mid-run keeps the run's grid.
    assert_eq!(free(&r, "2026-03-08T05:00:00Z", "2026-03-09T00:00:00Z"), ["2026-03-08T06:00Z", "2026-03-08T07:30Z"]);
    // Windows that merely touch within a day stay apart.
    let r =
        rules(Tz::UTC, 90, 0, &[("sat", &[("21:00", "22:00"), ("22:00", "24:00")]), ("sun", &[("00:00", "01:00")])]);
    assert_eq!(free(&r, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"), ["2026-03-07T22:00Z", "2026-03-07T23:30Z"]);
}

#[test]
fn overnight_ranges_join_overrides_and_whole_days() {
    let r = rules(Tz::UTC, 300, 0, &[("fri", &[("20:00", "24:00")])]);
    // Saturday and Sunday 2026-03-07/08 opened whole by overrides, Monday until 02:00:
    // one range Friday 20:00 .. Monday 02:00, grid every 5 h from Friday 20:00.
    let r = with(
        r,
        overrides(vec![
            raw_ov("2026-03-07", &[("00:00", "24:00")]),
            raw_ov("2026-03-08", &[("00:00", "24:00")]),
            raw_ov("2026-03-09", &[("00:00", "02:00"), ("08:00", "09:00")]),
        ]),
    );
    let all = free(&r, "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z");
    assert_eq!(all.len(), 10, "{all:?}");
    assert_eq!(all[0], "2026-03-06T20:00Z");
    assert_eq!(all[9], "2026-03-08T17:00Z");
    // Asked from Sunday 11:00 on, the grid still runs from Friday 20:00.
    assert_eq!(free(&r, "2026-03-08T11:00:00Z", "2026-03-10T00:00:00Z"), ["2026-03-08T12:00Z", "2026-03-08T17:00Z"]);
    assert_eq!(check_offered(&r, iv("2026-03-08T12:00:00Z", "2026-03-08T17:00:00Z"), utc(LONG_AGO)), Ok(()));
    assert_eq!(
        check_offered(&r, iv("2026-03-08T13:00:00Z", "2026-03-08T18:00:00Z"), utc(LONG_AGO)),
        Err(SlotError::NotOnGrid { step: Duration::minutes(300) })
    );
}

#[test]
fn a_range_with_no_beginning_runs_its_grid_from_2000() {
    let all_day: &[(&str, &str)] = &[("00:00", "24:00")];
    let spec: Vec<(&str, &[(&str, &str)])> = DAY_KEYS.iter().map(|d| (*d, all_day)).collect();
    // 7-hour slots around the clock in UTC: 2026-03-02 00:00 is 9557 days after
    // 2000-01-01, 229,368 h = 32,766 × 7 + 6 h, so the grid passes 2026-03-02T01:00.
    let r = rules(Tz::UTC, 420, 0, &spec);
    assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-02T12:00:00Z"), ["2026-03-02T01:00Z"]);
    assert_eq!(check_offered(&r, iv("2026-03-02T01:00:00Z", "2026-03-02T08:00:00Z"), utc(LONG_AGO)), Ok(()));
    // A closed override ends it: the range then starts after it.
    let r = with(r, overrides(vec![raw_ov("2026-02-27", &[])]));
    assert_eq!(
        free(&r, "2026-03-02T00:00:00Z", "2026-03-02T12:00:00Z"),
        // 2026-02-28 00:00 + 7 h × 7 = 2026-03-02 01:00 as well; and 08:00 does not fit before 12:00.
        ["2026-03-02T01:00Z"]
    );
    assert_eq!(free(&r, "2026-02-28T00:00:00Z", "2026-02-28T10:00:00Z"), ["2026-02-28T00:00Z"]);
}
