use super::{ZoneOffsets, OFFSET_CHANGES_APART};
use crate::domain::availability::local_time::resolve_boundary_ns;
use crate::domain::availability::testing::{arb_instant, arb_range_start, arb_zone, utc, ZONES};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use proptest::prelude::*;

fn direct(tz: chrono_tz::Tz, t: DateTime<Utc>) -> FixedOffset {
    tz.offset_from_utc_datetime(&t.naive_utc()).fix()
}

/// The offsets are the zone's at each instant, across DST changes both ways and in zones a half
/// or quarter hour off, whether instants repeat, go back a little (a slot's end after the next
/// one's start) or not.
#[test]
fn offsets_are_the_zones_at_each_instant() {
    for zone in
        ["Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Asuncion", "UTC"]
    {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let mut offsets = ZoneOffsets::new(tz);
        let first = utc("2023-03-01T00:00:00Z");
        for i in 0..60_000 {
            let start = first + Duration::minutes(25 * i);
            for t in [start, start + Duration::minutes(40), start + Duration::minutes(40)] {
                assert_eq!(offsets.at(t), t.with_timezone(&tz).fixed_offset(), "{zone} {t}");
            }
        }
    }
}

/// Named changes, each side of them to the second: Berlin's spring and autumn 2026, Lord Howe's
/// half-hour change, Asuncion's last change to summer time (2024-10-06) and none since 2025.
#[test]
fn the_second_of_a_change_takes_the_new_offset() {
    let cases = [
        ("Europe/Berlin", "2026-03-29T01:00:00Z", 3600, 7200),
        ("Europe/Berlin", "2026-10-25T01:00:00Z", 7200, 3600),
        ("Australia/Lord_Howe", "2026-10-03T15:30:00Z", 37_800, 39_600),
        ("America/Asuncion", "2024-10-06T04:00:00Z", -4 * 3600, -3 * 3600),
    ];
    for (zone, at, before, after) in cases {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let change = utc(at);
        // From well before, so the change falls inside a span the lookup bisected.
        let mut offsets = ZoneOffsets::new(tz);
        assert_eq!(offsets.offset(change - Duration::days(3)).local_minus_utc(), before, "{zone}");
        assert_eq!(offsets.offset(change - Duration::seconds(1)).local_minus_utc(), before, "{zone} {at}");
        assert_eq!(offsets.offset(change - Duration::nanoseconds(1)).local_minus_utc(), before, "{zone} {at}");
        assert_eq!(offsets.offset(change).local_minus_utc(), after, "{zone} {at}");
        assert_eq!(offsets.offset(change - Duration::seconds(1)).local_minus_utc(), before, "{zone} {at} again");
    }
    let mut asuncion = ZoneOffsets::new(chrono_tz::America::Asuncion);
    let mut t = utc("2025-01-01T00:00:00Z");
    while t < utc("2031-01-01T00:00:00Z") {
        assert_eq!(asuncion.offset(t).local_minus_utc(), -3 * 3600, "America/Asuncion at {t}");
        t += Duration::hours(5);
    }
}

proptest! {
    /// Any walk of instants, forward by up to twice the span and back by up to two days, near
    /// DST changes or anywhere in chrono's range, gets the zone's offset at each.
    #[test]
    fn any_walk_gets_the_zones_offsets(
        (tz, start, steps) in arb_zone().prop_flat_map(|tz| (
            Just(tz),
            prop_oneof![arb_range_start(tz), arb_instant()],
            prop::collection::vec(-2 * 86_400_000i64..=2 * OFFSET_CHANGES_APART * 1000, 1..60),
        ))
    ) {
        let mut offsets = ZoneOffsets::new(tz);
        let mut t = start;
        for ms in steps {
            prop_assert_eq!(offsets.offset(t), direct(tz, t), "{} {}", tz, t);
            match t.checked_add_signed(Duration::milliseconds(ms)) {
                Some(next) => t = next,
                None => break,
            }
        }
    }
}

/// Window boundaries resolve as `resolve_boundary_ns` resolves them (which
/// `local_time`'s tests hold to the rule by brute force): every minute of every date around
/// every change 2025-2027 of the test zones, dates in order as the engine asks them, and named
/// cases: New York's gap (02:30 is 03:00 EDT, 07:00Z) and repeated hour (01:30 its first, EDT).
#[test]
fn boundaries_resolve_as_the_rule_resolves_them() {
    let ny = chrono_tz::America::New_York;
    let mut zone = ZoneOffsets::new(ny);
    let at = |s: &str| Some(super::Ns::from(utc(s).timestamp()) * 1_000_000_000);
    assert_eq!(zone.boundary_ns(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(), 150), at("2026-03-08T07:00:00Z"));
    assert_eq!(zone.boundary_ns(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), 90), at("2026-11-01T05:30:00Z"));
    for &tz in ZONES {
        let mut zone = ZoneOffsets::new(tz);
        let mut date = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        while date < NaiveDate::from_ymd_opt(2028, 1, 1).unwrap() {
            let changes = tz.offset_from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap()).fix()
                != tz.offset_from_utc_datetime(&(date + Duration::days(2)).and_hms_opt(0, 0, 0).unwrap()).fix();
            let minutes: Vec<u16> = if changes { (0..=1440).collect() } else { vec![0, 540, 1020, 1440] };
            for m in minutes {
                assert_eq!(zone.boundary_ns(date, m), resolve_boundary_ns(tz, date, m), "{tz} {date} {m}");
            }
            date = date.succ_opt().unwrap();
        }
    }
}

proptest! {
    /// Any sequence of dates (in order, back, or far off, to chrono's ends) and minutes resolves
    /// as `resolve_boundary_ns` resolves it.
    #[test]
    fn any_boundaries_resolve_as_the_rule(
        tz in arb_zone(),
        asks in prop::collection::vec((-400_000i64..=400_000, 0u16..=1440), 1..40),
        near in -4i64..=4,
    ) {
        let mut zone = ZoneOffsets::new(tz);
        let base = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        for (i, (days, m)) in asks.into_iter().enumerate() {
            // Mostly dates near each other (as the engine asks them), now and then anywhere.
            let days = if i % 5 == 4 { days * 700 } else { days % 400 + near };
            let Some(date) = base.checked_add_signed(Duration::days(days)) else { continue };
            prop_assert_eq!(zone.boundary_ns(date, m), resolve_boundary_ns(tz, date, m), "{} {} {}", tz, date, m);
        }
    }
}

/// The rule the spans rest on, checked in the tables of the chrono-tz this build compiles (its
/// generated `src/prebuilt/timezones.rs`): in every zone,
/// consecutive changes of the UTC offset are more than `OFFSET_CHANGES_APART` apart.
#[test]
fn offset_changes_are_apart_in_the_tables_this_build_compiles() {
    let tables = std::fs::read_to_string(chrono_tz_tables()).expect("chrono-tz's tables");
    let zones = zone_tables(&tables);
    assert_eq!(zones.len(), chrono_tz::TZ_VARIANTS.len(), "every zone's table read");
    let mut closest: Option<(i64, &str)> = None;
    for ZoneTable { name, first, rest } in &zones {
        let mut offset = first.expect("a zone's first offset");
        let mut last_change: Option<i64> = None;
        for &(at, next) in rest {
            if next == offset {
                continue;
            }
            if let Some(previous) = last_change {
                if closest.is_none_or(|(gap, _)| at - previous < gap) {
                    closest = Some((at - previous, name));
                }
            }
            (offset, last_change) = (next, Some(at));
        }
    }
    let (gap, zone) = closest.expect("zones change their offsets");
    assert!(gap > OFFSET_CHANGES_APART, "{zone} changes its offset twice within {gap} s");
    // The module docs name the closest pair (6 days 23 hours, America/Noronha and zones like
    // it): a tz database update that moves it fails here until they are brought up to date.
    assert_eq!(gap, 6 * 86_400 + 23 * 3600, "the closest changes are now {gap} s apart ({zone}): update the docs");
}

/// `src/prebuilt/timezones.rs` of the chrono-tz this build compiles: the version Cargo.lock
/// names, in Cargo's registry sources (`$CARGO_HOME`, by default `~/.cargo`), where the build
/// unpacked it.
fn chrono_tz_tables() -> std::path::PathBuf {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).expect("Cargo.lock");
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|p| p.lines().any(|l| l.trim() == r#"name = "chrono-tz""#))
        .filter_map(|p| p.lines().find_map(|l| l.trim().strip_prefix("version = ")))
        .map(|v| v.trim_matches('"'))
        .collect();
    assert_eq!(versions.len(), 1, "one chrono-tz in Cargo.lock: {versions:?}");
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let sources = std::fs::read_dir(home.join("registry/src")).expect("Cargo's registry sources");
    let unpacked = format!("chrono-tz-{}/src/prebuilt/timezones.rs", versions[0]);
    sources
        .flatten()
        .map(|index| index.path().join(&unpacked))
        .find(|tables| tables.is_file())
        .unwrap_or_else(|| panic!("{unpacked} in {}", home.display()))
}

/// One zone's table: the total offset (`utc_offset + dst_offset`) before its first transition,
/// and each transition's instant and total offset after it.
#[derive(Default)]
struct ZoneTable {
    name: String,
    first: Option<i64>,
    rest: Vec<(i64, i64)>,
}

fn zone_tables(source: &str) -> Vec<ZoneTable> {
    let number = |s: &str| s.trim().trim_end_matches([',', ')']).parse::<i64>().expect("a number in the table");
    let field = |line: &str, name: &str| line.split(name).nth(1).map(|rest| number(rest.split(',').next().unwrap()));
    let mut zones = Vec::new();
    // The zone being read, and the first span's utc_offset (its fields come one per line).
    let mut current: Option<(ZoneTable, Option<i64>)> = None;
    for line in source.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("Tz::").and_then(|l| l.strip_suffix(" => {")) {
            current = Some((ZoneTable { name: name.to_string(), ..ZoneTable::default() }, None));
            continue;
        }
        let Some((zone, utc_offset)) = current.as_mut() else { continue };
        if line.starts_with('(') && line.contains("FixedTimespan {") {
            let at = number(line.trim_start_matches('(').split(',').next().unwrap());
            let total = field(line, "utc_offset:").unwrap() + field(line, "dst_offset:").unwrap();
            zone.rest.push((at, total));
        } else if let Some(v) = field(line, "utc_offset:") {
            *utc_offset = Some(v);
        } else if let Some(v) = field(line, "dst_offset:") {
            zone.first = Some(utc_offset.expect("utc_offset before dst_offset") + v);
        } else if line.starts_with("rest: REST") {
            zones.push(current.take().unwrap().0);
        }
    }
    zones
}
