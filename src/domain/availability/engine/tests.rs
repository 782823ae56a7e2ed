//! The engine's named cases: DST days in several zones, windows and ranges, busy time,
//! refusals of `check_slot`.

use super::*;
use crate::domain::availability::busy::overlaps_busy;
use crate::domain::availability::local_time::resolve_local;
use crate::domain::availability::testing::*;
use chrono::NaiveTime;
use chrono_tz::Tz;

#[test]
fn new_york_spring_forward_2026_03_08() {
    let ny = chrono_tz::America::New_York;
    let r = rules(ny, 30, 0, &[("sun", &[("01:00", "04:00"), ("09:00", "10:00")])]);
    let slots = available_slots(&r, iv("2026-03-08T00:00:00Z", "2026-03-09T12:00:00Z"), &[], utc(LONG_AGO));
    // 01:00 EST = 06:00Z .. 04:00 EDT = 08:00Z: two real hours.
    assert_eq!(
        starts(&r, &slots),
        [
            "2026-03-08T06:00Z", // 01:00 EST
            "2026-03-08T06:30Z", // 01:30 EST
            "2026-03-08T07:00Z", // 03:00 EDT
            "2026-03-08T07:30Z", // 03:30 EDT
            "2026-03-08T13:00Z", // 09:00 EDT
            "2026-03-08T13:30Z",
        ]
    );
    assert_eq!(local(ny, slots[2].start), "2026-03-08 03:00 EDT");
}

#[test]
fn new_york_fall_back_2026_11_01() {
    let ny = chrono_tz::America::New_York;
    let r = rules(ny, 60, 0, &[("sun", &[("00:00", "03:00"), ("09:00", "10:00")])]);
    let slots = available_slots(&r, iv("2026-11-01T00:00:00Z", "2026-11-02T12:00:00Z"), &[], utc(LONG_AGO));
    // 00:00 EDT = 04:00Z .. 03:00 EST = 08:00Z: four real hours.
    assert_eq!(
        starts(&r, &slots),
        [
            "2026-11-01T04:00Z", // 00:00 EDT
            "2026-11-01T05:00Z", // 01:00 EDT
            "2026-11-01T06:00Z", // 01:00 EST
            "2026-11-01T07:00Z", // 02:00 EST
            "2026-11-01T14:00Z", // 09:00 EST
        ]
    );
    assert_eq!(local(ny, slots[1].start), "2026-11-01 01:00 EDT");
    assert_eq!(local(ny, slots[2].start), "2026-11-01 01:00 EST");
}

#[test]
fn berlin_spring_forward_2026_03_29() {
    let r = rules(chrono_tz::Europe::Berlin, 60, 0, &[("sun", &[("01:00", "04:00"), ("09:00", "10:00")])]);
    // 01:00 CET = 00:00Z .. 04:00 CEST = 02:00Z; 09:00 CEST = 07:00Z.
    assert_eq!(
        free(&r, "2026-03-28T12:00:00Z", "2026-03-30T00:00:00Z"),
        ["2026-03-29T00:00Z", "2026-03-29T01:00Z", "2026-03-29T07:00Z"]
    );
}

#[test]
fn berlin_fall_back_2026_10_25() {
    let r = rules(chrono_tz::Europe::Berlin, 60, 0, &[("sun", &[("01:00", "04:00"), ("09:00", "10:00")])]);
    // 01:00 CEST = 23:00Z (Saturday) .. 04:00 CET = 03:00Z: four real hours.
    assert_eq!(
        free(&r, "2026-10-24T12:00:00Z", "2026-10-26T00:00:00Z"),
        [
            "2026-10-24T23:00Z", // 01:00 CEST
            "2026-10-25T00:00Z", // 02:00 CEST
            "2026-10-25T01:00Z", // 02:00 CET
            "2026-10-25T02:00Z", // 03:00 CET
            "2026-10-25T08:00Z", // 09:00 CET
        ]
    );
    // A window starting in the repeated hour starts at its first occurrence:
    // 02:00 CEST = 00:00Z .. 03:00 CET = 02:00Z.
    let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("sun", &[("02:00", "03:00")])]);
    assert_eq!(
        free(&r, "2026-10-24T12:00:00Z", "2026-10-26T00:00:00Z"),
        ["2026-10-25T00:00Z", "2026-10-25T00:30Z", "2026-10-25T01:00Z", "2026-10-25T01:30Z"]
    );
}

#[test]
fn window_starting_inside_the_gap_starts_at_gap_end() {
    let ny = chrono_tz::America::New_York;
    // 02:30 does not exist on 2026-03-08; the window starts at 03:00 EDT = 07:00Z.
    let r = rules(ny, 30, 0, &[("sun", &[("02:30", "04:00")])]);
    let slots = available_slots(&r, iv("2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"), &[], utc(LONG_AGO));
    assert_eq!(starts(&r, &slots), ["2026-03-08T07:00Z", "2026-03-08T07:30Z"]);
    assert_eq!(local(ny, slots[0].start), "2026-03-08 03:00 EDT");
    // A window entirely inside the gap is empty.
    let r = rules(ny, 15, 0, &[("sun", &[("02:00", "02:45")])]);
    assert_eq!(free(&r, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"), Vec::<String>::new());
    // ...but the same window on an ordinary Sunday is 45 minutes long.
    assert_eq!(
        free(&r, "2026-03-15T00:00:00Z", "2026-03-16T00:00:00Z"),
        ["2026-03-15T06:00Z", "2026-03-15T06:15Z", "2026-03-15T06:30Z"]
    );
}

/// Decision: the grid runs in real time from the window's start instant
/// (the first 01:00, EDT = 05:00Z) to its end instant (02:00 EST = 07:00Z),
/// so the nominal one-hour window offers two real hours of slots.
#[test]
fn window_in_repeated_hour_uses_first_occurrence_and_real_length() {
    let ny = chrono_tz::America::New_York;
    let r = rules(ny, 30, 0, &[("sun", &[("01:00", "02:00")])]);
    let slots = available_slots(&r, iv("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), &[], utc(LONG_AGO));
    assert_eq!(
        starts(&r, &slots),
        ["2026-11-01T05:00Z", "2026-11-01T05:30Z", "2026-11-01T06:00Z", "2026-11-01T06:30Z"]
    );
    assert_eq!(local(ny, slots[0].start), "2026-11-01 01:00 EDT");
    assert_eq!(local(ny, slots[3].end), "2026-11-01 02:00 EST");
    // With 45-minute slots the grid is 05:00Z, 05:45Z, 06:30Z (ends 07:15Z > 07:00Z: not offered).
    let r = rules(ny, 45, 0, &[("sun", &[("01:00", "02:00")])]);
    assert_eq!(free(&r, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), ["2026-11-01T05:00Z", "2026-11-01T05:45Z"]);
}

#[test]
fn lord_howe_fall_back_2026_04_05() {
    let tz = chrono_tz::Australia::Lord_Howe;
    // 02:00 LHDT (+11) goes back to 01:30 LHST (+10:30).
    // 01:00 +11 = 14:00Z .. 03:00 +10:30 = 16:30Z: two and a half real hours.
    let r = rules(tz, 30, 0, &[("sun", &[("01:00", "03:00")])]);
    let slots = available_slots(&r, iv("2026-04-04T00:00:00Z", "2026-04-05T12:00:00Z"), &[], utc(LONG_AGO));
    assert_eq!(
        starts(&r, &slots),
        [
            "2026-04-04T14:00Z", // 01:00 +11
            "2026-04-04T14:30Z", // 01:30 +11
            "2026-04-04T15:00Z", // 01:30 +1030 (again)
            "2026-04-04T15:30Z", // 02:00 +1030
            "2026-04-04T16:00Z", // 02:30 +1030
        ]
    );
    assert_eq!(local(tz, slots[1].start), "2026-04-05 01:30 +11");
    assert_eq!(local(tz, slots[2].start), "2026-04-05 01:30 +1030");
    // Repeated 01:30: first occurrence (+11) = 14:30Z .. 02:00 +10:30 = 15:30Z.
    let r = rules(tz, 30, 0, &[("sun", &[("01:30", "02:00")])]);
    assert_eq!(free(&r, "2026-04-04T00:00:00Z", "2026-04-05T12:00:00Z"), ["2026-04-04T14:30Z", "2026-04-04T15:00Z"]);
}

#[test]
fn lord_howe_spring_forward_2026_10_04() {
    let tz = chrono_tz::Australia::Lord_Howe;
    // 02:00 LHST (+10:30) jumps to 02:30 LHDT (+11).
    // 01:00 +10:30 = 14:30Z .. 03:00 +11 = 16:00Z: one and a half real hours.
    let r = rules(tz, 30, 0, &[("sun", &[("01:00", "03:00")])]);
    let slots = available_slots(&r, iv("2026-10-03T00:00:00Z", "2026-10-04T12:00:00Z"), &[], utc(LONG_AGO));
    assert_eq!(starts(&r, &slots), ["2026-10-03T14:30Z", "2026-10-03T15:00Z", "2026-10-03T15:30Z"]);
    assert_eq!(local(tz, slots[2].start), "2026-10-04 02:30 +11");
    // 02:00 is in the gap: the window starts at 02:30 +11 = 15:30Z.
    let r = rules(tz, 30, 0, &[("sun", &[("02:00", "03:00")])]);
    assert_eq!(free(&r, "2026-10-03T00:00:00Z", "2026-10-04T12:00:00Z"), ["2026-10-03T15:30Z"]);
}

#[test]
fn kathmandu_0900_is_0315_utc() {
    let r = rules(chrono_tz::Asia::Kathmandu, 30, 0, &[("mon", &[("09:00", "10:00")])]);
    // Monday 2026-03-02, +05:45.
    assert_eq!(free(&r, "2026-03-01T12:00:00Z", "2026-03-03T00:00:00Z"), ["2026-03-02T03:15Z", "2026-03-02T03:45Z"]);
}

#[test]
fn asuncion_is_minus_3_in_january_and_july_2026() {
    let r =
        rules(chrono_tz::America::Asuncion, 60, 0, &[("wed", &[("09:00", "10:00")]), ("thu", &[("09:00", "10:00")])]);
    // Thursday 2026-01-15 (southern summer) and Wednesday 2026-07-15 (winter).
    assert_eq!(free(&r, "2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z"), ["2026-01-15T12:00Z"]);
    assert_eq!(free(&r, "2026-07-15T00:00:00Z", "2026-07-16T00:00:00Z"), ["2026-07-15T12:00Z"]);
}

#[test]
fn window_ending_at_24_00() {
    // UTC: Monday 22:00-24:00 touches Tuesday 00:00-01:00.
    let r = rules(Tz::UTC, 60, 0, &[("mon", &[("22:00", "24:00")]), ("tue", &[("00:00", "01:00")])]);
    assert_eq!(
        free(&r, "2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"),
        ["2026-03-02T22:00Z", "2026-03-02T23:00Z", "2026-03-03T00:00Z"]
    );
    // 24:00 is "midnight starting the next day", resolved with the same rules.
    // America/Santiago, Saturday 2026-09-05: midnight does not exist (00:00 -04
    // jumps to 01:00 -03 = 04:00Z), so 22:00-24:00 is 02:00Z..04:00Z and Sunday's
    // 00:00-02:00 is 04:00Z..05:00Z.
    let r =
        rules(chrono_tz::America::Santiago, 60, 0, &[("sat", &[("22:00", "24:00")]), ("sun", &[("00:00", "02:00")])]);
    assert_eq!(
        free(&r, "2026-09-05T12:00:00Z", "2026-09-06T12:00:00Z"),
        ["2026-09-06T02:00Z", "2026-09-06T03:00Z", "2026-09-06T04:00Z"]
    );
    // Saturday 2026-04-04: 24:00 -03 becomes 23:00 -04, so 23:00 repeats. The window
    // 23:00-24:00 runs from the first 23:00 (-03 = 02:00Z) to midnight (-04 = 04:00Z).
    let r = rules(chrono_tz::America::Santiago, 60, 0, &[("sat", &[("23:00", "24:00")])]);
    assert_eq!(free(&r, "2026-04-04T12:00:00Z", "2026-04-05T12:00:00Z"), ["2026-04-05T02:00Z", "2026-04-05T03:00Z"]);
}

#[test]
fn busy_block_touching_slot_edge_without_buffer_offers_slot() {
    // Monday 2026-03-02, UTC. Busy right after the 09:00 slot and right before it.
    let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "10:00")])]);
    let busy = [iv("2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z")];
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let got = available_slots(&r, range, &busy, utc(LONG_AGO));
    assert_eq!(starts(&r, &got), ["2026-03-02T09:00Z"]);
    assert!(!overlaps_busy(&r, got[0], &busy));
    let busy = [iv("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z")];
    let got = available_slots(&r, range, &busy, utc(LONG_AGO));
    assert_eq!(starts(&r, &got), ["2026-03-02T09:00Z", "2026-03-02T09:30Z"]);
}

#[test]
fn busy_block_touching_slot_edge_with_buffer_blocks_slot() {
    let r = rules(Tz::UTC, 30, 10, &[("mon", &[("09:00", "10:00")])]);
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let slot = iv("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z");
    // Busy after the slot: [08:50, 09:40) overlaps [09:30, 10:00).
    let busy = [iv("2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z")];
    assert_eq!(available_slots(&r, range, &busy, utc(LONG_AGO)), []);
    assert!(overlaps_busy(&r, slot, &busy));
    // Busy before the slot: ends at 09:00, 09:00 - 10 min < 09:00.
    let busy = [iv("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z")];
    assert_eq!(starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))), ["2026-03-02T09:30Z"]);
    assert!(overlaps_busy(&r, slot, &busy));
    // Busy ending exactly buffer before the slot: touching the widened slot, fine.
    let busy = [iv("2026-03-02T08:00:00Z", "2026-03-02T08:50:00Z")];
    assert_eq!(
        starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))),
        ["2026-03-02T09:00Z", "2026-03-02T09:30Z"]
    );
    assert!(!overlaps_busy(&r, slot, &busy));
}

#[test]
fn empty_and_inverted_busy_intervals_block_nothing() {
    let r = rules(Tz::UTC, 30, 10, &[("mon", &[("09:00", "10:00")])]);
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let busy = [iv("2026-03-02T09:15:00Z", "2026-03-02T09:15:00Z"), iv("2026-03-02T09:45:00Z", "2026-03-02T09:05:00Z")];
    assert_eq!(
        starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))),
        ["2026-03-02T09:00Z", "2026-03-02T09:30Z"]
    );
    assert!(!overlaps_busy(&r, iv("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z"), &busy));
}

#[test]
fn overlapping_unsorted_busy_blocks_are_merged() {
    let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "13:00")])]);
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let busy = [
        iv("2026-03-02T11:00:00Z", "2026-03-02T11:20:00Z"),
        iv("2026-03-02T09:10:00Z", "2026-03-02T10:00:00Z"),
        iv("2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z"),
        iv("2026-03-02T10:00:00Z", "2026-03-02T10:10:00Z"),
    ];
    assert_eq!(
        starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))),
        ["2026-03-02T10:30Z", "2026-03-02T11:30Z", "2026-03-02T12:00Z", "2026-03-02T12:30Z"]
    );
}

#[test]
fn now_in_the_middle_of_a_window_offers_only_later_slots() {
    let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "12:00")])]);
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let got = available_slots(&r, range, &[], utc("2026-03-02T10:10:00Z"));
    assert_eq!(starts(&r, &got), ["2026-03-02T10:30Z", "2026-03-02T11:00Z", "2026-03-02T11:30Z"]);
    // Strictly after now: a slot starting exactly at now is not offered.
    let got = available_slots(&r, range, &[], utc("2026-03-02T10:30:00Z"));
    assert_eq!(starts(&r, &got), ["2026-03-02T11:00Z", "2026-03-02T11:30Z"]);
    let got = available_slots(&r, range, &[], utc("2026-03-02T10:29:59.999Z"));
    assert_eq!(starts(&r, &got), ["2026-03-02T10:30Z", "2026-03-02T11:00Z", "2026-03-02T11:30Z"]);
    // Now exactly at the window start: the first slot is not offered.
    let got = available_slots(&r, range, &[], utc("2026-03-02T09:00:00Z"));
    assert_eq!(starts(&r, &got)[0], "2026-03-02T09:30Z");
    // Now after the range: nothing.
    assert_eq!(available_slots(&r, range, &[], utc("2026-03-04T00:00:00Z")), []);
}

#[test]
fn range_boundaries_cut_a_window() {
    let r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "12:00")])]);
    // The grid stays anchored at 09:00: no 09:15 slot, and 10:30-11:00 ends after 10:45.
    assert_eq!(free(&r, "2026-03-02T09:15:00Z", "2026-03-02T10:45:00Z"), ["2026-03-02T09:30Z", "2026-03-02T10:00Z"]);
    // Boundaries on the grid are inclusive.
    assert_eq!(free(&r, "2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"), ["2026-03-02T09:30Z", "2026-03-02T10:00Z"]);
    // Empty and inverted ranges.
    assert_eq!(free(&r, "2026-03-02T09:30:00Z", "2026-03-02T09:30:00Z"), Vec::<String>::new());
    assert_eq!(free(&r, "2026-03-02T12:00:00Z", "2026-03-02T09:00:00Z"), Vec::<String>::new());
}

#[test]
fn touching_windows_restart_the_grid() {
    let r = rules(Tz::UTC, 45, 0, &[("mon", &[("09:00", "10:00"), ("10:00", "11:30")])]);
    assert_eq!(
        free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
        ["2026-03-02T09:00Z", "2026-03-02T10:00Z", "2026-03-02T10:45Z"]
    );
}

#[test]
fn multi_week_range_uses_each_weekday_and_nothing_else() {
    let r = rules(chrono_tz::Asia::Kolkata, 60, 0, &[("tue", &[("10:00", "11:00")]), ("sat", &[("14:00", "15:00")])]);
    // Tuesday 2026-03-03 and 10, Saturday 2026-03-07 and 14 (IST = +05:30).
    assert_eq!(
        free(&r, "2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z"),
        ["2026-03-03T04:30Z", "2026-03-07T08:30Z", "2026-03-10T04:30Z", "2026-03-14T08:30Z"]
    );
}

#[test]
fn non_positive_duration_offers_nothing() {
    let mut r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "12:00")])]);
    r.duration = Duration::zero();
    assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"), Vec::<String>::new());
    assert!(matches!(
        check_offered(&r, iv("2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z"), utc(LONG_AGO)),
        Err(SlotError::WrongLength { .. })
    ));
}

#[test]
fn negative_buffer_counts_as_zero() {
    let mut r = rules(Tz::UTC, 30, 0, &[("mon", &[("09:00", "10:00")])]);
    r.buffer = Duration::minutes(-10);
    let busy = [iv("2026-03-02T09:25:00Z", "2026-03-02T09:30:00Z")];
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    assert_eq!(starts(&r, &available_slots(&r, range, &busy, utc(LONG_AGO))), ["2026-03-02T09:30Z"]);
}

/// Ranges longer than one sweep are cut at local midnights; the result is
/// the same as computing decade by decade.
#[test]
fn very_long_range_matches_piecewise_computation() {
    let tz = chrono_tz::Europe::Berlin;
    // Every day has a slot across UTC midnight (00:00-01:30 local), so a cut
    // anywhere but at a local midnight would lose one.
    let night: &[(&str, &str)] = &[("00:00", "03:00")];
    let r = rules(
        tz,
        90,
        0,
        &[
            ("mon", &[("00:00", "03:00"), ("22:30", "24:00")]),
            ("tue", night),
            ("wed", night),
            ("thu", night),
            ("fri", night),
            ("sat", night),
            ("sun", night),
        ],
    );
    let full =
        available_slots(&r, iv("1800-01-01T00:00:00Z", "2150-01-01T00:00:00Z"), &[], utc("1700-01-01T00:00:00Z"));
    let mut pieces = Vec::new();
    let mut from = utc("1800-01-01T00:00:00Z");
    for year in (1810..=2150).step_by(10) {
        let to = min(
            resolve_local(tz, NaiveDate::from_ymd_opt(year, 1, 1).unwrap().and_time(NaiveTime::MIN)).unwrap(),
            utc("2150-01-01T00:00:00Z"),
        );
        pieces.extend(available_slots(&r, Interval { start: from, end: to }, &[], utc("1700-01-01T00:00:00Z")));
        from = to;
    }
    assert!(full.len() > 250_000, "{}", full.len());
    if full != pieces {
        let i = full.iter().zip(&pieces).take_while(|(a, b)| a == b).count();
        panic!(
            "{} slots in one call, {} piecewise; first difference at {i}: {:?} vs {:?}",
            full.len(),
            pieces.len(),
            full.get(i),
            pieces.get(i)
        );
    }
    assert!(full.windows(2).all(|w| w[0].end <= w[1].start));
}

#[test]
fn huge_durations_and_buffers_do_not_overflow() {
    let mut r = rules(Tz::UTC, 60, 0, &[("mon", &[("00:00", "24:00")])]);
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let busy = [iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")];
    r.buffer = Duration::MAX;
    assert_eq!(available_slots(&r, range, &busy, utc(LONG_AGO)), []);
    assert!(overlaps_busy(&r, iv("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"), &busy));
    // A 300-year buffer and a busy block 400 years away: 100 years apart, no overlap.
    r.buffer = Duration::days(300 * 365);
    let far = [Interval {
        start: utc("2026-03-02T10:00:00Z") + Duration::days(400 * 365),
        end: utc("2026-03-02T11:00:00Z") + Duration::days(400 * 365),
    }];
    assert_eq!(available_slots(&r, range, &far, utc(LONG_AGO)).len(), 24);
    assert!(!overlaps_busy(&r, iv("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"), &far));
    let near = [Interval {
        start: utc("2026-03-02T10:00:00Z") + Duration::days(299 * 365),
        end: utc("2026-03-02T11:00:00Z") + Duration::days(299 * 365),
    }];
    assert_eq!(available_slots(&r, range, &near, utc(LONG_AGO)), []);
    r.buffer = Duration::zero();
    r.duration = Duration::MAX;
    assert_eq!(available_slots(&r, range, &busy, utc(LONG_AGO)), []);
    r.duration = Duration::days(365 * 200);
    assert_eq!(available_slots(&r, iv("1900-01-01T00:00:00Z", "2300-01-01T00:00:00Z"), &busy, utc(LONG_AGO)), []);
    r.duration = Duration::hours(24);
    assert_eq!(free(&r, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"), ["2026-03-02T00:00Z"]);
}

#[test]
fn check_offered_accepts_an_offered_slot() {
    let r = rules(chrono_tz::Europe::Berlin, 30, 10, &[("mon", &[("09:00", "12:00")])]);
    // Monday 2026-03-02, CET: 09:30 = 08:30Z.
    assert_eq!(check_offered(&r, iv("2026-03-02T08:30:00Z", "2026-03-02T09:00:00Z"), utc(LONG_AGO)), Ok(()));
}

#[test]
fn check_offered_wrong_length() {
    let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00")])]);
    let err = check_offered(&r, iv("2026-03-02T08:30:00Z", "2026-03-02T09:15:00Z"), utc(LONG_AGO)).unwrap_err();
    assert_eq!(err, SlotError::WrongLength { expected: Duration::minutes(30), actual: Duration::minutes(45) });
    assert_eq!(err.to_string(), "slot is 45 min long, but this link offers slots of 30 min");
}

#[test]
fn check_offered_not_on_grid() {
    let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00")])]);
    let err = check_offered(&r, iv("2026-03-02T08:15:00Z", "2026-03-02T08:45:00Z"), utc(LONG_AGO)).unwrap_err();
    assert_eq!(err, SlotError::NotOnGrid { step: Duration::minutes(30) });
    assert!(err.to_string().contains("every 30 min"), "{err}");
}

#[test]
fn check_offered_outside_working_hours() {
    let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00"), ("12:00", "13:00")])]);
    // Tuesday: no windows.
    let err = check_offered(&r, iv("2026-03-03T08:00:00Z", "2026-03-03T08:30:00Z"), utc(LONG_AGO));
    assert_eq!(err, Err(SlotError::OutsideWorkingHours));
    // Monday 08:30-09:00 local: before the window.
    let err = check_offered(&r, iv("2026-03-02T07:30:00Z", "2026-03-02T08:00:00Z"), utc(LONG_AGO));
    assert_eq!(err, Err(SlotError::OutsideWorkingHours));
    // Straddling two touching windows (11:45-12:15 with 30-minute slots) is not inside one.
    let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:15", "12:00"), ("12:00", "13:00")])]);
    let err = check_offered(&r, iv("2026-03-02T10:45:00Z", "2026-03-02T11:15:00Z"), utc(LONG_AGO));
    assert_eq!(err, Err(SlotError::OutsideWorkingHours));
    assert_eq!(SlotError::OutsideWorkingHours.to_string(), "slot is not inside the link's working hours");
}

#[test]
fn check_offered_in_past() {
    let r = rules(chrono_tz::Europe::Berlin, 30, 0, &[("mon", &[("09:00", "12:00")])]);
    let slot = iv("2026-03-02T08:30:00Z", "2026-03-02T09:00:00Z");
    assert_eq!(check_offered(&r, slot, utc("2026-03-02T08:30:00Z")), Err(SlotError::InPast));
    assert_eq!(check_offered(&r, slot, utc("2026-03-02T08:29:59Z")), Ok(()));
    assert_eq!(SlotError::InPast.to_string(), "slot does not start after the current time");
}

#[test]
fn check_offered_on_dst_days() {
    let ny = chrono_tz::America::New_York;
    let r = rules(ny, 30, 0, &[("sun", &[("01:00", "02:00")])]);
    // Second 01:30 of 2026-11-01 (EST) is on the real-time grid of the window.
    assert_eq!(check_offered(&r, iv("2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"), utc(LONG_AGO)), Ok(()));
    assert_eq!(
        check_offered(&r, iv("2026-11-01T06:45:00Z", "2026-11-01T07:15:00Z"), utc(LONG_AGO)),
        Err(SlotError::OutsideWorkingHours)
    );
}

#[test]
fn refusals_sort_errors_for_the_caller() {
    assert_eq!(SlotError::InPast.refusal(), Refusal::NotOffered);
    assert_eq!(SlotError::OutsideWorkingHours.refusal(), Refusal::NotOffered);
    assert_eq!(SlotError::TooSoon { notice: Duration::zero() }.refusal(), Refusal::NotOffered);
    assert_eq!(SlotError::TooFarAhead { last_date: day("2026-01-01") }.refusal(), Refusal::NotOffered);
    assert_eq!(SlotError::NotOnGrid { step: Duration::minutes(5) }.refusal(), Refusal::NotOffered);
    assert_eq!(SlotError::Busy.refusal(), Refusal::Busy);
    assert_eq!(SlotError::DateFull { date: day("2026-01-01"), cap: 1 }.refusal(), Refusal::DateFull);
}

#[test]
fn grid_points_count_each_runs_points_between_the_bounds() {
    const MIN: Ns = 60 * 1_000_000_000;
    let run = |start: Ns, end: Ns| Run { start: start * MIN, anchor: start * MIN, end: end * MIN, pieces: 0..1 };
    // 09:00-17:00 twice, 30 minutes apart: 16 points each, one more for a grid not on the start.
    let runs = [run(540, 1020), run(1980, 2460)];
    assert_eq!(grid_points(&runs, 0, 3000 * MIN, 30 * MIN), 34);
    // Bounds cut the first run to 13:00-17:00 and leave the second out.
    assert_eq!(grid_points(&runs, 780 * MIN, 1500 * MIN, 30 * MIN), 9);
    assert_eq!(grid_points(&runs, 3000 * MIN, 4000 * MIN, 30 * MIN), 0);
    // An unbounded run is capped.
    assert_eq!(grid_points(&[run(0, 1_000_000_000)], 0, 1_000_000_000 * MIN, MIN), GRID_POINTS_CAP);
}
