//! The generated wire's RFC 3339 printer ([`crate::api::Rfc3339`]) against chrono's
//! `to_rfc3339`, which it replaced: the same string for every instant and offset.

use crate::api::Rfc3339;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use proptest::prelude::*;

fn check(t: DateTime<FixedOffset>) {
    assert_eq!(Rfc3339::new().format(&t), t.to_rfc3339(), "{t:?}");
}

fn at(offset_secs: i32, utc: NaiveDateTime) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_secs).unwrap().from_utc_datetime(&utc)
}

#[test]
fn named_instants_print_as_chrono_prints_them() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let utc = day(2030, 3, 4).and_hms_opt(8, 0, 0).unwrap();
    let cases: &[(i32, NaiveDateTime, &str)] = &[
        (3600, utc, "2030-03-04T09:00:00+01:00"),
        (0, utc, "2030-03-04T08:00:00+00:00"),
        (-5 * 3600, utc, "2030-03-04T03:00:00-05:00"),
        (5 * 3600 + 1800, utc, "2030-03-04T13:30:00+05:30"),
        (-(9 * 3600 + 1800), utc, "2030-03-03T22:30:00-09:30"),
        (5 * 3600 + 45 * 60, utc, "2030-03-04T13:45:00+05:45"),
        (14 * 3600, utc, "2030-03-04T22:00:00+14:00"),
        (-12 * 3600, utc, "2030-03-03T20:00:00-12:00"),
        // Offsets with seconds are rounded to the minute (local time keeps its seconds).
        (3600 + 29, utc, "2030-03-04T09:00:29+01:00"),
        (3600 + 30, utc, "2030-03-04T09:00:30+01:01"),
        (-(3600 + 30), utc, "2030-03-04T06:59:30-01:01"),
        (86_399, utc, "2030-03-05T07:59:59+24:00"),
        (0, day(2030, 3, 4).and_hms_milli_opt(8, 0, 0, 250).unwrap(), "2030-03-04T08:00:00.250+00:00"),
        (0, day(2030, 3, 4).and_hms_micro_opt(8, 0, 0, 250_001).unwrap(), "2030-03-04T08:00:00.250001+00:00"),
        (0, day(2030, 3, 4).and_hms_nano_opt(8, 0, 0, 7).unwrap(), "2030-03-04T08:00:00.000000007+00:00"),
        (0, day(2016, 12, 31).and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap(), "2016-12-31T23:59:60.500+00:00"),
        (0, day(1, 1, 1).and_hms_opt(0, 0, 0).unwrap(), "0001-01-01T00:00:00+00:00"),
        (-3600, day(1, 1, 1).and_hms_opt(0, 0, 0).unwrap(), "0000-12-31T23:00:00-01:00"),
        (0, day(9999, 12, 31).and_hms_opt(23, 59, 59).unwrap(), "9999-12-31T23:59:59+00:00"),
        (3600, day(9999, 12, 31).and_hms_opt(23, 0, 0).unwrap(), "+10000-01-01T00:00:00+01:00"),
        (0, day(-1, 6, 1).and_hms_opt(0, 0, 0).unwrap(), "-0001-06-01T00:00:00+00:00"),
        (0, NaiveDateTime::MIN, "-262143-01-01T00:00:00+00:00"),
        (0, NaiveDateTime::MAX, "+262142-12-31T23:59:59.999999999+00:00"),
    ];
    for &(offset, utc, expected) in cases {
        let t = at(offset, utc);
        assert_eq!(Rfc3339::new().format(&t), expected, "{t:?}");
        check(t);
    }
}

#[test]
fn one_buffer_prints_many_instants() {
    let mut buffer = Rfc3339::new();
    let zone = FixedOffset::east_opt(-(3 * 3600 + 1800)).unwrap();
    let first = Utc.with_ymd_and_hms(2030, 3, 9, 0, 0, 0).unwrap();
    for i in 0..2_000 {
        let t = (first + chrono::Duration::minutes(17 * i)).with_timezone(&zone);
        assert_eq!(buffer.format(&t), t.to_rfc3339());
    }
}

/// Nanoseconds of the kinds chrono prints differently: none, milliseconds, microseconds, any.
fn nanos() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        (0u32..1_000).prop_map(|ms| ms * 1_000_000),
        (0u32..1_000_000).prop_map(|us| us * 1_000),
        0u32..1_000_000_000,
    ]
}

/// Offsets of whole hours, half and quarter hours, and any second, east and west.
fn offsets() -> impl Strategy<Value = i32> {
    prop_oneof![
        (-12i32..=14).prop_map(|h| h * 3600),
        (-12i32..=14).prop_map(|h| h * 3600 + if h < 0 { -1800 } else { 1800 }),
        (-95i32..=95).prop_map(|q| q * 900),
        -86_399i32..=86_399,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn prints_what_chrono_prints_in_the_contracts_range(
        secs in -62_135_596_800i64..253_402_300_799, nano in nanos(), offset in offsets()
    ) {
        let utc = DateTime::from_timestamp(secs, nano).unwrap().naive_utc();
        check(at(offset, utc));
    }

    #[test]
    fn prints_what_chrono_prints_for_any_year(
        secs in -8_210_266_876_800i64..8_210_266_876_799, nano in nanos(), offset in offsets()
    ) {
        if let Some(t) = DateTime::from_timestamp(secs, nano) {
            check(at(offset, t.naive_utc()));
        }
    }

    /// One printer over a sequence (as the server's per-thread one is used): the date it keeps
    /// from the instant before is used only for the same local date, whatever the offsets.
    #[test]
    fn one_buffer_prints_any_sequence_as_chrono_does(
        instants in proptest::collection::vec(
            (-62_135_596_800i64..253_402_300_799, nanos(), offsets()), 1..40)
    ) {
        let mut buffer = Rfc3339::new();
        for (secs, nano, offset) in instants {
            let t = at(offset, DateTime::from_timestamp(secs, nano).unwrap().naive_utc());
            prop_assert_eq!(buffer.format(&t), t.to_rfc3339());
            // The same UTC day in another offset: the same local-days key must not be reused
            // for a different date.
            let other = t.with_timezone(&FixedOffset::east_opt(-offset).unwrap());
            prop_assert_eq!(buffer.format(&other), other.to_rfc3339());
        }
    }

    /// `WireJson::write_json` (the response path, with its copy for the usual 25 bytes) quotes
    /// what chrono prints, whatever the length: fractions, far years, one after another.
    #[test]
    fn write_json_quotes_what_chrono_prints(
        instants in proptest::collection::vec(
            (-62_135_596_800i64..253_402_300_799, prop_oneof![Just(0u32), nanos()], offsets()), 1..20)
    ) {
        use crate::api::WireJson;
        let mut out = Vec::new();
        let mut expected = String::new();
        for (secs, nano, offset) in instants {
            let t = at(offset, DateTime::from_timestamp(secs, nano).unwrap().naive_utc());
            t.write_json(&mut out).unwrap();
            expected.push_str(&format!("\"{}\"", t.to_rfc3339()));
        }
        prop_assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn prints_leap_seconds_as_chrono_does(day in 0i64..3_000_000, nano in 1_000_000_000u32..2_000_000_000, offset in offsets()) {
        let date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(day - 1_000_000);
        let utc = date.and_hms_nano_opt(23, 59, 59, nano).unwrap();
        check(at(offset, utc));
    }
}

#[test]
fn local_times_beyond_chronos_range_print_as_chrono_does() {
    check(at(-3600, NaiveDateTime::MIN));
    check(at(3600, NaiveDateTime::MAX));
}
