//! Named cases of issue #25's rules: limits per week, month and year and on booked minutes
//! (counted in the link's zone, across DST), business-day windows, bookable dates, and
//! `after_busy` alignment.

use super::*;
use crate::domain::availability::limits::Tally;
use crate::domain::availability::testing::*;
use crate::domain::availability::{RawSchedulingRules, WindowDays};
use chrono::Weekday;

fn raw() -> RawSchedulingRules {
    RawSchedulingRules::default()
}

/// Mon-Fri 09:00-12:00, hourly slots, in `tz`.
fn weekdays(tz: Tz) -> LinkRules {
    let w: &[(&str, &str)] = &[("09:00", "12:00")];
    rules(tz, 60, 0, &[("mon", w), ("tue", w), ("wed", w), ("thu", w), ("fri", w)])
}

#[test]
fn a_full_week_offers_nothing_and_the_next_week_starts_on_week_start() {
    let tz = chrono_tz::Europe::Berlin;
    // Mon 2026-03-23 .. Fri 2026-04-03 spans the spring-forward (Sunday 2026-03-29).
    let range = iv("2026-03-23T00:00:00Z", "2026-04-04T00:00:00Z");
    let r = with(weekdays(tz), RawSchedulingRules { max_bookings_per_week: Some(3), ..raw() });
    let booked = DayCounts::from([(day("2026-03-24"), 2), (day("2026-03-26"), 1)]);
    let got = offered(&r, range, &[], &booked, LONG_AGO);
    // The week of the 23rd is full; the week of the 30th (after the DST change) is open.
    assert_eq!(got.first().map(String::as_str), Some("2026-03-30T07:00Z"));
    assert_eq!(got.len(), 15);
    let e = check_slot(&r, iv("2026-03-27T08:00:00Z", "2026-03-27T09:00:00Z"), &[], &booked, utc(LONG_AGO));
    assert_eq!(e, Err(SlotError::PeriodFull { period: Period::Week, first: day("2026-03-23"), cap: 3 }));
    assert_eq!(e.clone().unwrap_err().refusal(), Refusal::DateFull);
    assert_eq!(
        e.unwrap_err().to_string(),
        "the week of 2026-03-23 is fully booked: this link takes at most 3 reservations a week"
    );
    // Weeks from Wednesday: the 24th is in the week from the 18th, the 26th in the one from
    // the 25th, so neither is full.
    let r = with(
        weekdays(tz),
        RawSchedulingRules { max_bookings_per_week: Some(3), week_start: Some(Weekday::Wed), ..raw() },
    );
    assert_eq!(offered(&r, range, &[], &booked, LONG_AGO).len(), 30);
    let booked = DayCounts::from([(day("2026-03-25"), 2), (day("2026-03-26"), 1)]);
    // Wed 25th .. Tue 31st full: Mon 23rd, Tue 24th and from Wed 1st on.
    let got = offered(&r, range, &[], &booked, LONG_AGO);
    assert_eq!(got.len(), 2 * 3 + 3 * 3);
    assert!(got.iter().all(|s| s.as_str() < "2026-03-25" || s.as_str() >= "2026-04-01"));
}

#[test]
fn month_and_year_limits_count_in_the_link_zone() {
    // Asuncion at UTC-3 since 2025: Friday 2026-07-31 21:00 local is Saturday 00:00Z, in August
    // by UTC but in July in the link's zone.
    let tz = chrono_tz::America::Asuncion;
    let w: &[(&str, &str)] = &[("20:00", "23:00")];
    let r = rules(tz, 60, 0, &[("fri", w), ("sat", w)]);
    let r = with(r, RawSchedulingRules { max_bookings_per_month: Some(1), ..raw() });
    let range = iv("2026-07-31T00:00:00Z", "2026-08-02T12:00:00Z");
    let all = offered(&r, range, &[], &DayCounts::new(), LONG_AGO);
    assert_eq!(
        all,
        [
            "2026-07-31T23:00Z",
            "2026-08-01T00:00Z",
            "2026-08-01T01:00Z",
            "2026-08-01T23:00Z",
            "2026-08-02T00:00Z",
            "2026-08-02T01:00Z"
        ]
    );
    let booked = DayCounts::from([(day("2026-07-02"), 1)]);
    // July (local) is full: Friday's slots go although two of them are in August by UTC.
    assert_eq!(
        offered(&r, range, &[], &booked, LONG_AGO),
        ["2026-08-01T23:00Z", "2026-08-02T00:00Z", "2026-08-02T01:00Z"]
    );
    let e = check_slot(&r, iv("2026-08-01T00:00:00Z", "2026-08-01T01:00:00Z"), &[], &booked, utc(LONG_AGO));
    assert_eq!(e.unwrap_err().to_string(), "2026-07 is fully booked: this link takes at most 1 reservations a month");
    let r = with(r, RawSchedulingRules { max_bookings_per_year: Some(5), ..raw() });
    let booked = DayCounts::from([(day("2026-01-02"), 3), (day("2026-12-31"), 2)]);
    assert!(offered(&r, range, &[], &booked, LONG_AGO).is_empty());
    assert_eq!(offered(&r, range, &[], &DayCounts::from([(day("2025-12-31"), 9)]), LONG_AGO).len(), 6);
}

#[test]
fn minute_limits_leave_room_only_for_a_slot_that_fits() {
    let tz = chrono_tz::Asia::Kolkata; // +05:30
    let r = with(
        weekdays(tz),
        RawSchedulingRules { max_minutes_per_day: Some(120), max_minutes_per_week: Some(400), ..raw() },
    );
    // Monday 2026-03-02 09:00 IST = 03:30Z.
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let tally = |count, minutes| Tally { count, minutes };
    let booked: DayCounts = [(day("2026-03-02"), tally(1, 60))].into_iter().collect();
    assert_eq!(offered(&r, range, &[], &booked, LONG_AGO).len(), 3, "60 + 60 <= 120");
    let booked: DayCounts = [(day("2026-03-02"), tally(1, 61))].into_iter().collect();
    assert!(offered(&r, range, &[], &booked, LONG_AGO).is_empty(), "61 + 60 > 120");
    let e = check_slot(&r, iv("2026-03-02T03:30:00Z", "2026-03-02T04:30:00Z"), &[], &booked, utc(LONG_AGO));
    assert_eq!(
        e.unwrap_err().to_string(),
        "2026-03-02 has no room for this slot: this link takes at most 120 booked minutes a day"
    );
    // The week's minutes: 341 booked earlier in the week (Sunday before is another week).
    let booked: DayCounts =
        [(day("2026-03-01"), tally(9, 999)), (day("2026-03-03"), tally(3, 341))].into_iter().collect();
    assert!(offered(&r, range, &[], &booked, LONG_AGO).is_empty(), "341 + 60 > 400");
    let booked: DayCounts = [(day("2026-03-03"), tally(3, 340))].into_iter().collect();
    assert_eq!(offered(&r, range, &[], &booked, LONG_AGO).len(), 3);
}

#[test]
fn business_days_skip_days_off_and_closed_overrides() {
    let tz = chrono_tz::America::New_York;
    // Thursday 2026-03-05, 10:00 local: 2 business days ahead is Monday the 9th (DST starts
    // Sunday the 8th); Friday the 6th closed by an override makes it Tuesday the 10th.
    let now = "2026-03-05T15:00:00Z";
    let base = RawSchedulingRules { max_days_ahead: Some(2), window_days_kind: Some(WindowDays::Business), ..raw() };
    let r = with(weekdays(tz), base.clone());
    assert_eq!(r.last_date(utc(now)), Some(day("2026-03-09")));
    let range = iv("2026-03-05T00:00:00Z", "2026-03-12T00:00:00Z");
    let got = offered(&r, range, &[], &DayCounts::new(), now);
    assert_eq!(got.last().map(String::as_str), Some("2026-03-09T15:00Z"));
    let closed = RawSchedulingRules { date_overrides: Some(vec![raw_ov("2026-03-06", &[])]), ..base };
    let r = with(weekdays(tz), closed);
    assert_eq!(r.last_date(utc(now)), Some(day("2026-03-10")));
    let e = check_slot(&r, iv("2026-03-11T13:00:00Z", "2026-03-11T14:00:00Z"), &[], &DayCounts::new(), utc(now));
    assert_eq!(e, Err(SlotError::TooFarAhead { last_date: day("2026-03-10") }));
    // Calendar days: the 7th.
    let r = with(weekdays(tz), RawSchedulingRules { max_days_ahead: Some(2), ..raw() });
    assert_eq!(r.last_date(utc(now)), Some(day("2026-03-07")));
    // A link that works on no day has nothing to count: it offers nothing anyway.
    let r = with(
        rules(tz, 60, 0, &[]),
        RawSchedulingRules { max_days_ahead: Some(5), window_days_kind: Some(WindowDays::Business), ..raw() },
    );
    assert!(r.last_date(utc(now)).is_some());
}

#[test]
fn bookable_dates_bound_the_window_in_local_dates() {
    let tz = chrono_tz::Australia::Adelaide; // +10:30 in March (half-hour zone, DST)
    let r = with(
        weekdays(tz),
        RawSchedulingRules {
            bookable_from: Some(day("2026-03-03")),
            bookable_until: Some(day("2026-03-04")),
            max_days_ahead: Some(30),
            ..raw()
        },
    );
    let range = iv("2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z");
    let now = "2026-03-01T00:00:00Z";
    let got = offered(&r, range, &[], &DayCounts::new(), now);
    // Tuesday 3rd 09:00 ACDT = Monday 2nd 22:30Z; six slots over two days.
    assert_eq!(got.first().map(String::as_str), Some("2026-03-02T22:30Z"));
    assert_eq!(got.len(), 6);
    let e = check_slot(&r, iv("2026-03-01T22:30:00Z", "2026-03-01T23:30:00Z"), &[], &DayCounts::new(), utc(now));
    assert_eq!(e, Err(SlotError::BeforeBookable { first_date: day("2026-03-03") }));
    assert_eq!(e.unwrap_err().refusal(), Refusal::NotOffered);
    // bookable_until is the earlier end here, max_days_ahead there.
    assert_eq!(r.last_date(utc("2026-03-01T00:00:00Z")), Some(day("2026-03-04")));
    assert_eq!(r.last_date(utc("2026-02-01T00:00:00Z")), Some(day("2026-03-03")));
}

#[test]
fn after_busy_starts_slots_right_after_busy_time_and_the_notice() {
    let tz = chrono_tz::Europe::London;
    let w: &[(&str, &str)] = &[("09:00", "13:00")];
    let base = rules(tz, 60, 0, &[("mon", w)]);
    let r = with(
        base.clone(),
        RawSchedulingRules { slot_alignment: Some(SlotAlignment::AfterBusy), buffer_before_minutes: Some(10), ..raw() },
    );
    let grid = with(base, RawSchedulingRules { buffer_before_minutes: Some(10), ..raw() });
    // Monday 2026-03-02 (GMT): busy 09:00-09:20.
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let busy = [iv("2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z")];
    let none = DayCounts::new();
    assert_eq!(
        offered(&grid, range, &busy, &none, LONG_AGO),
        ["2026-03-02T10:00Z", "2026-03-02T11:00Z", "2026-03-02T12:00Z"]
    );
    // After busy: 09:30 (09:20 + the 10-minute buffer before), then hourly; 12:30 would end after 13:00.
    assert_eq!(
        offered(&r, range, &busy, &none, LONG_AGO),
        ["2026-03-02T09:30Z", "2026-03-02T10:30Z", "2026-03-02T11:30Z"]
    );
    let e = check_slot(&r, iv("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"), &busy, &none, utc(LONG_AGO));
    assert_eq!(e, Err(SlotError::NotAligned { step: Duration::minutes(60) }));
    assert_eq!(e.unwrap_err().refusal(), Refusal::NotOffered);
    // A second busy block restarts the grid again: busy 10:30-10:45 -> 10:55.
    let busy2 = [busy[0], iv("2026-03-02T10:30:00Z", "2026-03-02T10:45:00Z")];
    assert_eq!(
        offered(&r, range, &busy2, &none, LONG_AGO),
        ["2026-03-02T09:30Z", "2026-03-02T10:55Z", "2026-03-02T11:55Z"]
    );
    // The notice ends at 09:07:30 -> the next whole minute, 09:08, starts the grid (no busy).
    let r = with(
        r,
        RawSchedulingRules { slot_alignment: Some(SlotAlignment::AfterBusy), min_notice_minutes: Some(7), ..raw() },
    );
    let got = offered(&r, range, &[], &none, "2026-03-02T09:00:30Z");
    assert_eq!(got, ["2026-03-02T09:08Z", "2026-03-02T10:08Z", "2026-03-02T11:08Z"]);
    // The same slots whatever range asks for them (a range starting at 10:00 still sees 10:08).
    let later = offered(&r, iv("2026-03-02T10:00:00Z", "2026-03-03T00:00:00Z"), &[], &none, "2026-03-02T09:00:30Z");
    assert_eq!(later, ["2026-03-02T10:08Z", "2026-03-02T11:08Z"]);
}

#[test]
fn after_busy_restarts_each_local_date_and_survives_the_autumn_overlap() {
    // New York 2026-11-01: 01:00-01:59 happens twice. A 24-hour link joins its days; with
    // after_busy each local date starts afresh at its midnight.
    let tz = chrono_tz::America::New_York;
    let full: &[(&str, &str)] = &[("00:00", "24:00")];
    let all = [("mon", full), ("tue", full), ("wed", full), ("thu", full), ("fri", full), ("sat", full), ("sun", full)];
    let r =
        with(rules(tz, 45, 0, &all), RawSchedulingRules { slot_alignment: Some(SlotAlignment::AfterBusy), ..raw() });
    let range = iv("2026-11-01T04:00:00Z", "2026-11-02T06:00:00Z");
    let got = offered(&r, range, &[], &DayCounts::new(), LONG_AGO);
    // Local midnight starting Nov 1 is 04:00Z (EDT); the day has 25 hours; the next midnight
    // is 05:00Z on the 2nd (EST) and restarts the grid there.
    assert_eq!(got.first().map(String::as_str), Some("2026-11-01T04:00Z"));
    assert!(got.contains(&"2026-11-02T05:00Z".to_string()));
    // 34 slots start in the 25-hour day (the last, 04:45Z, runs on past midnight: the run
    // goes on), then 05:00Z starts the next date's grid.
    assert_eq!(&got[32..], ["2026-11-02T04:00Z", "2026-11-02T04:45Z", "2026-11-02T05:00Z"]);
    assert_eq!(got.len(), 35);
}
