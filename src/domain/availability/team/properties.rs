//! Team links against their definition: the intersection (collective; with `after_busy`, of
//! answers judged against every member's busy time) or the union (round
//! robin) of the members' one-calendar answers; `check_team_slot` agreeing with `team_slots`;
//! and the round-robin rule's fairness.

use std::collections::BTreeMap;

use chrono::{Duration, DurationRound};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::domain::availability::limits::Tally;
use crate::domain::availability::testing::*;
use crate::domain::availability::{SchedulingRules, SlotAlignment};

/// One member's inputs.
#[derive(Debug, Clone)]
struct Member {
    rules: LinkRules,
    busy: Vec<Interval>,
    booked: DayCounts,
}

/// (range, now, members).
type TeamCase = (Interval, DateTime<Utc>, Vec<Member>);

/// A cap, busy blocks ((start, length) in minutes from the range's start, rounded to the
/// grain), counts ((days from the range's first local date, count, minutes each)) and a grain.
type MemberParts = (Option<i64>, Vec<(i64, i64)>, Vec<(i64, u32, u32)>, i64);

fn arb_member_parts() -> impl Strategy<Value = MemberParts> {
    (
        prop::option::of(1i64..=3),
        prop::collection::vec((-2 * 24 * 60i64..=42 * 24 * 60, -30i64..=8 * 60), 0..=25),
        prop::collection::vec((-3i64..=44, 0u32..=3, 0u32..=240), 0..=8),
        prop::sample::select(vec![1i64, 5, 15, 60]),
    )
}

/// A link with every rule, each present or absent (`arb_full_case`; often it offers nothing),
/// or with none (`arb_case`), with grid or `after_busy` alignment half the time each, and
/// 1..=5 members: the first with the case's busy time and counts, the others with their own;
/// each with its own daily cap or none.
fn arb_team_case() -> impl Strategy<Value = TeamCase> {
    let link = prop_oneof![
        1 => arb_full_case(),
        2 => arb_case().prop_map(|(r, range, busy, now)| (r, range, busy, DayCounts::new(), now)),
    ];
    // Half the time `now` is no later than the range's start, so that more cases offer slots.
    (link, prop::bool::ANY, prop::bool::ANY, prop::collection::vec(arb_member_parts(), 1..=5)).prop_map(
        |((mut link, range, busy0, booked0, now), after_busy, early, parts)| {
            let now = if early { now.min(range.start) } else { now };
            let mut raw = link.schedule.to_raw();
            raw.slot_alignment = after_busy.then_some(SlotAlignment::AfterBusy);
            link.schedule = SchedulingRules::parse(&raw).expect("valid rules");
            let raw_members: Vec<RawMember> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| RawMember {
                    calendar_id: CalendarId::from_uuid(Uuid::from_u128(i as u128 + 1)),
                    weight: 1,
                    max_bookings_per_day: p.0,
                })
                .collect();
            let team = Team::parse(Scheduling::Collective, &raw_members).expect("valid team");
            let origin = range.start.duration_trunc(Duration::minutes(1)).unwrap();
            let base = range.start.with_timezone(&link.tz).date_naive();
            let members = team
                .members()
                .iter()
                .zip(parts)
                .enumerate()
                .map(|(i, (m, (_, busy, counts, g)))| {
                    let (busy, booked) = if i == 0 {
                        (busy0.clone(), booked0.clone())
                    } else {
                        let busy = busy
                            .iter()
                            .map(|&(off, len)| {
                                let s = origin + Duration::minutes(off / g * g);
                                Interval { start: s, end: s + Duration::minutes(len / g * g) }
                            })
                            .collect();
                        let booked = counts
                            .iter()
                            .map(|&(off, count, minutes)| {
                                (base + Duration::days(off), Tally { count, minutes: count * minutes })
                            })
                            .collect();
                        (busy, booked)
                    };
                    Member { rules: m.rules(&link), busy, booked }
                })
                .collect();
            (range, now, members)
        },
    )
}

fn views(members: &[Member]) -> Vec<MemberView<'_>> {
    members.iter().map(|m| MemberView { rules: &m.rules, busy: &m.busy, booked: &m.booked }).collect()
}

/// The union of the members' answers, by brute force: every slot with the members whose
/// answer holds it.
fn reference(views: &[MemberView<'_>], range: Interval, now: DateTime<Utc>) -> Vec<TeamSlot> {
    let mut offered: BTreeMap<Interval, MemberSet> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        for s in slots(v.rules, range, v.busy, v.booked, now) {
            offered.entry(s).or_default().insert(i);
        }
    }
    offered.into_iter().map(|(slot, free)| TeamSlot { slot, free }).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A team link's availability is the intersection (collective) or the union (round robin)
    /// of its members' one-calendar answers, with `free` exactly the members offering it.
    #[test]
    fn team_slots_are_the_intersection_or_the_union((range, now, members) in arb_team_case()) {
        let views = views(&members);
        let union = reference(&views, range, now);
        let all = MemberSet::first(views.len());
        let intersection: Vec<TeamSlot> = union.iter().filter(|t| t.free == all).copied().collect();
        let rr = team_slots(Scheduling::RoundRobin, &views, range, now);
        prop_assert!(rr.windows(2).all(|p| p[0].slot < p[1].slot), "unsorted or repeated");
        prop_assert_eq!(rr, union);
        // A collective link whose slots start after busy time judges every member against all
        // the members' busy time (its slots start after any member's).
        let shared: Vec<Interval> = views.iter().flat_map(|v| v.busy.iter().copied()).collect();
        let after_busy = views[0].rules.schedule.slot_alignment() == SlotAlignment::AfterBusy;
        let collective = if after_busy && views.len() > 1 {
            let together: Vec<MemberView<'_>> = views.iter().map(|v| MemberView { busy: &shared, ..*v }).collect();
            reference(&together, range, now).into_iter().filter(|t| t.free == all).collect()
        } else {
            intersection.clone()
        };
        prop_assert_eq!(team_slots(Scheduling::Collective, &views, range, now), collective);
        prop_assert_eq!(team_slots(Scheduling::Single, &views, range, now), intersection);
    }

    /// A member's answer walked on a frame built for the whole range asked (the first member's)
    /// is its own `slots` answer, for that range and for any range within it (a collective link
    /// asks later members about a narrower one).
    #[test]
    fn a_frame_serves_every_range_within_its_own(
        (r, range, busy, booked, now) in arb_full_case(),
        cut in (0i32..=100, 0i32..=100),
    ) {
        let len = range.end - range.start;
        let narrow = Interval {
            start: range.start + len * cut.0.min(cut.1) / 100,
            end: range.start + len * cut.0.max(cut.1) / 100,
        };
        let frame = Frame::new(&r, range, now);
        prop_assert_eq!(slots_in(&frame, &r, range, &busy, &booked, now), slots(&r, range, &busy, &booked, now));
        prop_assert_eq!(slots_in(&frame, &r, narrow, &busy, &booked, now), slots(&r, narrow, &busy, &booked, now));
    }

    /// `check_team_slot` is Ok exactly for the slots `team_slots` lists, with the same `free`
    /// members; refused, it reports the first most decisive member's error (not offered, then
    /// full, then busy). Candidates: the members' slots, their neighbours, random ones.
    #[test]
    fn check_team_slot_agrees_with_team_slots(
        (range, now, members) in arb_team_case(),
        probes in prop::collection::vec((0i64..=40 * 24 * 60, 0i64..60, prop::bool::ANY), 0..=20),
    ) {
        let views = views(&members);
        let rules = &members[0].rules;
        let d = rules.duration;
        let (one, step) = (Duration::minutes(1), rules.interval());
        let union = reference(&views, range, now);
        let mut candidates: Vec<Interval> = Vec::new();
        // At most about 40 offered slots and their neighbours, spread over the range.
        for t in union.iter().step_by(union.len() / 40 + 1) {
            for shift in [Duration::zero(), one, -one, step, -step, d, -d] {
                candidates.push(Interval { start: t.slot.start + shift, end: t.slot.end + shift });
            }
        }
        for &(m, sec, aligned) in &probes {
            let t = if aligned {
                range.start.duration_trunc(Duration::minutes(5)).unwrap() + Duration::minutes(m / 5 * 5)
            } else {
                range.start + Duration::minutes(m) + Duration::seconds(sec)
            };
            candidates.push(Interval { start: t, end: t + d });
        }
        let rank = |e: &SlotError| decisiveness(e.refusal());
        // A collective link whose slots start after busy time judges each member against every
        // member's busy time.
        let shared: Vec<Interval> = views.iter().flat_map(|v| v.busy.iter().copied()).collect();
        let together: Vec<MemberView<'_>> = views.iter().map(|v| MemberView { busy: &shared, ..*v }).collect();
        let after_busy = rules.schedule.slot_alignment() == SlotAlignment::AfterBusy && views.len() > 1;
        for kind in [Scheduling::Collective, Scheduling::RoundRobin] {
            let judged = if kind == Scheduling::Collective && after_busy { &together } else { &views };
            let listed = team_slots(kind, &views, range, now);
            for &c in &candidates {
                if c.start < range.start || c.end > range.end {
                    continue;
                }
                let got = check_team_slot(kind, &views, c, now);
                let want = listed.binary_search_by(|t| t.slot.cmp(&c)).ok().map(|i| listed[i].free);
                prop_assert_eq!(got.clone().ok(), want, "{:?} {:?}: {:?}", kind, c, got);
                let each: Vec<_> = judged.iter().map(|v| check_slot(v.rules, c, v.busy, v.booked, now)).collect();
                let first_most_decisive = each.iter().filter_map(|r| r.as_ref().err()).min_by_key(|e| rank(e));
                if let Err(e) = got {
                    prop_assert_eq!(Some(&e), first_most_decisive, "{:?} {:?}: {:?}", kind, c, each);
                }
            }
        }
    }

    /// `assign` returns a candidate's member, one no other candidate comes before by the rule
    /// (checked here with floating-point ratios, exact at these sizes); nothing for nobody.
    #[test]
    fn assign_picks_a_candidate_none_comes_before(
        raw in prop::collection::vec((1i64..=100, 0u32..=1000, prop::option::of(0i64..=50)), 0..=20)
            .prop_flat_map(|v| {
                let n = v.len();
                (Just(v), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
            }),
    ) {
        let (raw, members) = raw;
        let base = utc("2026-03-01T00:00:00Z");
        let candidates: Vec<Candidate> = raw
            .iter()
            .zip(&members)
            .map(|(&(w, booked, last), &member)| Candidate {
                member,
                weight: Weight::new(w).unwrap(),
                booked_in_period: booked,
                last_booked: last.map(|m| base + Duration::minutes(m)),
            })
            .collect();
        let Some(chosen) = assign(&candidates) else {
            prop_assert!(candidates.is_empty());
            return Ok(());
        };
        let c = candidates.iter().find(|c| c.member == chosen);
        prop_assert!(c.is_some(), "{} is not a candidate", chosen);
        let key = |c: &Candidate| (f64::from(c.booked_in_period) / f64::from(c.weight.get()), c.last_booked, c.member);
        let best = key(c.unwrap());
        for other in &candidates {
            let k = key(other);
            prop_assert!(
                !(k.0 < best.0 || (k.0 == best.0 && (k.1, k.2) < (best.1, best.2))),
                "{:?} comes before the chosen {:?}", other, c
            );
        }
    }

    /// Two members always both free, weights 1 and 3 (or any two): after every assignment, each
    /// member's count is within 1 of its share `n × w / (w0 + w1)`. With more members no one
    /// ever gets more than 1 above its share (everyone is given one first, so a heavy member
    /// can fall behind its share at the start).
    #[test]
    fn assignments_keep_to_the_weights(
        weights in prop_oneof![
            1 => Just(vec![1i64, 3]),
            1 => prop::collection::vec(1i64..=100, 2..=2),
            1 => prop::collection::vec(1i64..=100, 3..=5),
        ],
        n in 1usize..=300,
    ) {
        let base = utc("2026-03-01T00:00:00Z");
        let w: Vec<u64> = weights.iter().map(|&x| u64::try_from(x).unwrap()).collect();
        let total: u64 = w.iter().sum();
        let mut booked = vec![0u32; w.len()];
        let mut last = vec![None; w.len()];
        for step in 1..=n {
            let candidates: Vec<Candidate> = (0..w.len())
                .map(|m| Candidate {
                    member: m,
                    weight: Weight::new(weights[m]).unwrap(),
                    booked_in_period: booked[m],
                    last_booked: last[m],
                })
                .collect();
            let m = assign(&candidates).unwrap();
            booked[m] += 1;
            last[m] = Some(base + Duration::minutes(i64::try_from(step).unwrap()));
            let step = step as u64;
            for (i, &b) in booked.iter().enumerate() {
                // |b - step × w / total| < 1, in whole numbers.
                let (have, share) = (u64::from(b) * total, step * w[i]);
                prop_assert!(have < share + total, "member {} has {} after {} (weights {:?})", i, b, step, w);
                if w.len() == 2 {
                    prop_assert!(share < have + total, "member {} has {} after {} (weights {:?})", i, b, step, w);
                }
            }
        }
    }
}
