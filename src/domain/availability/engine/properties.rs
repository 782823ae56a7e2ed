//! The engine against the brute-force reference (`testing`): soundness, completeness, and
//! `check_slot` agreeing with `slots`.

use super::*;
use crate::domain::availability::busy::overlaps_busy;
use crate::domain::availability::testing::*;
use chrono::DurationRound;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Soundness (every slot obeys every rule) and completeness (every slot
    /// the rules allow is offered), against the brute-force reference.
    #[test]
    fn slots_obey_rules_and_match_reference((r, range, busy, now) in arb_case()) {
        let got = available_slots(&r, range, &busy, now);
        for (i, s) in got.iter().enumerate() {
            prop_assert_eq!(s.end - s.start, r.duration, "length of {:?}", s);
            prop_assert!(s.start > now, "{:?} not after now {}", s, now);
            prop_assert!(s.start >= range.start && s.end <= range.end, "{:?} outside range", s);
            prop_assert!(!overlaps_busy(&r, *s, &busy), "{:?} overlaps busy", s);
            prop_assert!(ref_window_containing(&r, *s).is_some(), "{:?} not on a window's grid", s);
            prop_assert_eq!(check_offered(&r, *s, now), Ok(()));
            if i > 0 {
                prop_assert!(got[i - 1].end <= s.start, "{:?} then {:?}: unsorted or overlapping", got[i - 1], s);
            }
        }
        let want = ref_slots(&r, range, &busy, now);
        prop_assert_eq!(got, want);
    }

    /// `check_offered` is Ok exactly for the slots `available_slots` offers
    /// when nobody is busy: offered slots, their neighbours on and off the
    /// grid, wrong lengths and random candidates.
    #[test]
    fn check_offered_agrees_with_available_slots(
        (r, start) in (arb_grain(), arb_zone())
            .prop_flat_map(|(grain, tz)| (arb_rules(grain, tz), arb_range_start(tz))),
        now_off_s in -86_400i64..=10 * 86_400,
        probes in prop::collection::vec((0i64..=14 * 24 * 60, 0i64..60, prop::bool::ANY), 0..=40),
    ) {
        let range = Interval { start, end: start + Duration::days(14) };
        // Half the time `now` is on a whole quarter hour, where window starts often are.
        let now = if now_off_s % 2 == 0 {
            (start + Duration::seconds(now_off_s)).duration_trunc(Duration::minutes(15)).unwrap()
        } else {
            start + Duration::seconds(now_off_s)
        };
        let offered = available_slots(&r, range, &[], now);
        let d = r.duration;
        let one = Duration::minutes(1);
        let mut candidates: Vec<Interval> = Vec::new();
        for s in &offered {
            for shift in [Duration::zero(), one, -one, d, -d, d / 2] {
                candidates.push(Interval { start: s.start + shift, end: s.end + shift });
            }
            candidates.push(Interval { start: s.start, end: s.end + one });
            candidates.push(Interval { start: s.start, end: s.end - one });
        }
        for &(m, sec, aligned) in &probes {
            let t = if aligned {
                start.duration_trunc(Duration::minutes(5)).unwrap() + Duration::minutes(m / 5 * 5)
            } else {
                start + Duration::minutes(m) + Duration::seconds(sec)
            };
            candidates.push(Interval { start: t, end: t + d });
        }
        for c in candidates {
            if c.start < range.start || c.end > range.end {
                continue;
            }
            let result = check_offered(&r, c, now);
            let member = offered.binary_search(&c).is_ok();
            prop_assert_eq!(result.is_ok(), member, "{:?}: {:?}", c, result);
            if c.end - c.start != d {
                prop_assert!(matches!(result, Err(SlotError::WrongLength { .. })), "{:?}", result);
            } else if c.start <= now {
                prop_assert_eq!(result, Err(SlotError::InPast));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every rule and their combinations against the brute-force
    /// reference; every slot listed is accepted by `check_slot`.
    #[test]
    fn every_rule_matches_reference((r, range, busy, booked, now) in arb_full_case()) {
        let got = slots(&r, range, &busy, &booked, now);
        for (i, s) in got.iter().enumerate() {
            prop_assert_eq!(check_slot(&r, *s, &busy, &booked, now), Ok(()), "{:?}", s);
            if i > 0 {
                prop_assert!(got[i - 1].start < s.start, "unsorted: {:?} then {:?}", got[i - 1], s);
            }
        }
        // (`after_busy` has no reference here: its named cases and the agreement of
        // `check_slot` with `slots` below hold it.)
        let want = if r.schedule.slot_alignment() == SlotAlignment::AfterBusy { got.clone() } else { ref_all(&r, range, &busy, &booked, now) };
        if got != want {
            let i = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
            prop_assert!(false, "{} slots, reference {}; first difference at {}: {:?} vs {:?}",
                got.len(), want.len(), i, got.get(i), want.get(i));
        }
    }

    /// `check_slot` accepts exactly the listed slots: listed ones, their
    /// neighbours on and off the grid, wrong lengths, random candidates.
    /// A refusal as DateFull or Busy means the slot is offered once the
    /// counts or the busy time are gone.
    #[test]
    fn check_slot_agrees_with_slots(
        (r, range, busy, booked, now) in arb_full_case(),
        probes in prop::collection::vec((0i64..=40 * 24 * 60, 0i64..60, prop::bool::ANY), 0..=30),
    ) {
        let offered = slots(&r, range, &busy, &booked, now);
        let d = r.duration;
        let (one, step) = (Duration::minutes(1), r.interval());
        let mut candidates: Vec<Interval> = Vec::new();
        for s in &offered {
            for shift in [Duration::zero(), one, -one, step, -step, d, -d] {
                candidates.push(Interval { start: s.start + shift, end: s.end + shift });
            }
            candidates.push(Interval { start: s.start, end: s.end + one });
        }
        for &(m, sec, aligned) in &probes {
            let t = if aligned {
                range.start.duration_trunc(Duration::minutes(5)).unwrap() + Duration::minutes(m / 5 * 5)
            } else {
                range.start + Duration::minutes(m) + Duration::seconds(sec)
            };
            candidates.push(Interval { start: t, end: t + d });
        }
        let empty = DayCounts::new();
        for c in candidates {
            if c.start < range.start || c.end > range.end {
                continue;
            }
            let result = check_slot(&r, c, &busy, &booked, now);
            let member = offered.binary_search(&c).is_ok();
            prop_assert_eq!(result.is_ok(), member, "{:?}: {:?}", c, result);
            match result {
                Err(SlotError::DateFull { .. } | SlotError::PeriodFull { .. } | SlotError::MinutesFull { .. }) => {
                    // Without the counts it is offered, or only busy time stands in its way
                    // (with `after_busy` the busy time also says where slots start, so it stays).
                    // (A minutes limit shorter than the slot refuses it with nothing booked.)
                    let without = check_slot(&r, c, &busy, &empty, now);
                    let too_long = |cap: u32| r.duration.num_minutes() > i64::from(cap);
                    prop_assert!(
                        matches!(without, Ok(()) | Err(SlotError::Busy))
                            || matches!(without, Err(SlotError::MinutesFull { cap, .. }) if too_long(cap)),
                        "{:?}: {:?}", c, without
                    );
                    if r.schedule.slot_alignment() == SlotAlignment::Grid && without.is_ok() {
                        prop_assert_eq!(check_slot(&r, c, &[], &empty, now), Ok(()));
                    }
                }
                // With `after_busy` the busy time also says where slots start.
                Err(SlotError::Busy) if r.schedule.slot_alignment() == SlotAlignment::AfterBusy => {}
                Err(SlotError::Busy) => {
                    prop_assert_eq!(check_slot(&r, c, &[], &booked, now), Ok(()));
                }
                _ => {}
            }
        }
    }
}
