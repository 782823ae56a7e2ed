//! Named cases of team links: parsing, a member's own cap, a collective link across a DST
//! change, the refusal reported, and the round-robin rule.

use chrono::Duration;
use uuid::Uuid;

use super::*;
use crate::domain::availability::testing::{day, iv, rules, utc, with, LONG_AGO};
use crate::domain::availability::RawSchedulingRules;

fn cal(n: u128) -> CalendarId {
    CalendarId::from_uuid(Uuid::from_u128(n))
}

fn raw(n: u128, weight: i64, cap: Option<i64>) -> RawMember {
    RawMember { calendar_id: cal(n), weight, max_bookings_per_day: cap }
}

fn err(kind: Scheduling, members: &[RawMember]) -> String {
    Team::parse(kind, members).unwrap_err().to_string()
}

/// Slot starts, and who is free for each.
fn shown(got: &[TeamSlot]) -> Vec<(String, Vec<usize>)> {
    got.iter().map(|t| (t.slot.start.format("%Y-%m-%dT%H:%MZ").to_string(), t.free.iter().collect())).collect()
}

/// Mon-Fri 09:00-12:00, hourly slots, in `tz`.
fn weekdays(tz: chrono_tz::Tz) -> LinkRules {
    let w: &[(&str, &str)] = &[("09:00", "12:00")];
    rules(tz, 60, 0, &[("mon", w), ("tue", w), ("wed", w), ("thu", w), ("fri", w)])
}

#[test]
fn scheduling_names_round_trip() {
    for k in Scheduling::ALL {
        assert_eq!(Scheduling::parse(k.as_str()), Some(k));
    }
    assert_eq!(Scheduling::parse("round-robin"), None);
    assert_eq!(Scheduling::parse("Collective"), None);
    assert_eq!(Scheduling::default(), Scheduling::Single);
}

#[test]
fn parse_checks_count_weights_caps_and_repeats_naming_the_member() {
    use Scheduling::{Collective, RoundRobin, Single};
    assert_eq!(Team::parse(Single, &[]), Ok(Team::default()));
    assert_eq!(err(Single, &[raw(1, 1, None)]), "members must be empty when scheduling is single, got 1");
    assert_eq!(
        err(Collective, &[]),
        "members must hold between 1 and 20 calendars when scheduling is collective, got 0"
    );
    let many: Vec<RawMember> = (0..21).map(|i| raw(i, 1, None)).collect();
    assert_eq!(
        err(RoundRobin, &many),
        "members must hold between 1 and 20 calendars when scheduling is round_robin, got 21"
    );
    assert_eq!(Team::parse(RoundRobin, &many[..20]).map(|t| t.members().len()), Ok(20));
    for bad in [0, 101, -1, i64::MIN, i64::MAX] {
        let list = [raw(1, 1, None), raw(2, 100, None), raw(3, bad, None)];
        assert_eq!(
            Team::parse(RoundRobin, &list),
            Err(TeamError::OutOfRange { index: 2, field: "weight", min: 1, max: 100, got: bad })
        );
        assert_eq!(err(RoundRobin, &list), format!("members[2].weight must be between 1 and 100, got {bad}"));
    }
    for bad in [0, 1001, i64::MIN] {
        let list = [raw(1, 1, Some(1)), raw(2, 1, Some(bad))];
        assert_eq!(
            err(Collective, &list),
            format!("members[1].max_bookings_per_day must be between 1 and 1000, got {bad}")
        );
    }
    let id = cal(7);
    let list = [raw(7, 1, None), raw(8, 1, None), raw(7, 2, Some(3))];
    assert_eq!(
        err(Collective, &list),
        format!("members[2].calendar_id: calendar {id} is given more than once (also members[0])")
    );
    // The first problem found: member 1's weight before member 2's repeat.
    let list = [raw(7, 1, None), raw(8, 0, None), raw(7, 1, None)];
    assert!(err(Collective, &list).starts_with("members[1].weight"));
    // Valid: kept in order, round trip.
    let list = [raw(9, 3, Some(1000)), raw(4, 1, None)];
    let team = Team::parse(RoundRobin, &list).unwrap();
    assert_eq!(team.scheduling(), RoundRobin);
    assert_eq!(team.members()[0].calendar_id(), cal(9));
    assert_eq!(team.members()[0].weight().get(), 3);
    assert_eq!(team.members()[0].max_bookings_per_day(), Some(1000));
    assert_eq!(team.members()[1].max_bookings_per_day(), None);
    assert_eq!(team.to_raw(), list);
    assert_eq!(Team::parse(team.scheduling(), &team.to_raw()), Ok(team));
}

#[test]
fn member_sets_hold_indexes() {
    let s: MemberSet = [4, 0, 31].into_iter().collect();
    assert_eq!(s.iter().collect::<Vec<_>>(), [0, 4, 31]);
    assert!(s.contains(31) && !s.contains(1) && !s.contains(40));
    assert_eq!(s.len(), 3);
    assert!(MemberSet::EMPTY.is_empty() && MemberSet::first(0).is_empty());
    assert_eq!(MemberSet::first(3).iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(MemberSet::first(32).len(), 32);
}

#[test]
fn a_members_daily_cap_stops_only_that_member() {
    let link = weekdays(chrono_tz::Europe::London);
    let team = Team::parse(Scheduling::RoundRobin, &[raw(1, 1, None), raw(2, 1, Some(1))]).unwrap();
    let r: Vec<LinkRules> = team.members().iter().map(|m| m.rules(&link)).collect();
    assert_eq!((r[0].schedule.max_bookings_per_day(), r[1].schedule.max_bookings_per_day()), (None, Some(1)));
    // Member 1 has one reservation through the link on Monday 2026-03-02: its cap is reached.
    let (none, one) = (DayCounts::new(), DayCounts::from([(day("2026-03-02"), 1)]));
    let views =
        [MemberView { rules: &r[0], busy: &[], booked: &none }, MemberView { rules: &r[1], busy: &[], booked: &one }];
    let range = iv("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z");
    let now = utc(LONG_AGO);
    let got = team_slots(Scheduling::RoundRobin, &views, range, now);
    let s = |t: &str, free: &[usize]| (t.to_string(), free.to_vec());
    assert_eq!(
        shown(&got),
        [
            s("2026-03-02T09:00Z", &[0]),
            s("2026-03-02T10:00Z", &[0]),
            s("2026-03-02T11:00Z", &[0]),
            s("2026-03-03T09:00Z", &[0, 1]),
            s("2026-03-03T10:00Z", &[0, 1]),
            s("2026-03-03T11:00Z", &[0, 1]),
        ]
    );
    let collective = team_slots(Scheduling::Collective, &views, range, now);
    assert_eq!(shown(&collective), shown(&got[3..]));
    let monday = iv("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
    assert_eq!(check_team_slot(Scheduling::RoundRobin, &views, monday, now), Ok(MemberSet::first(1)));
    let e = check_team_slot(Scheduling::Collective, &views, monday, now);
    assert_eq!(e, Err(SlotError::DateFull { date: day("2026-03-02"), cap: 1 }));
    // The link's cap and the member's: the lower one binds.
    let capped = with(link, RawSchedulingRules { max_bookings_per_day: Some(2), ..RawSchedulingRules::default() });
    let team = Team::parse(Scheduling::Collective, &[raw(1, 1, Some(5)), raw(2, 1, Some(1)), raw(3, 1, None)]).unwrap();
    let caps: Vec<_> = team.members().iter().map(|m| m.rules(&capped).schedule.max_bookings_per_day()).collect();
    assert_eq!(caps, [Some(2), Some(1), Some(2)]);
}

#[test]
fn collective_and_round_robin_across_the_berlin_spring_forward() {
    // Sunday 2026-03-29, Berlin: 02:00-03:00 does not exist. 00:00-06:00 local runs from
    // 23:00Z on the 28th to 04:00Z: five real hours, five hourly slots.
    let tz = chrono_tz::Europe::Berlin;
    let link = rules(tz, 60, 0, &[("sun", &[("00:00", "06:00")])]);
    let team = Team::parse(Scheduling::Collective, &[raw(1, 1, None), raw(2, 1, Some(1))]).unwrap();
    let r: Vec<LinkRules> = team.members().iter().map(|m| m.rules(&link)).collect();
    // Member 0 is busy 01:30-02:00 CET (00:30Z), member 1 at 04:00-04:15 CEST (02:00Z).
    let busy0 = [iv("2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z")];
    let busy1 = [iv("2026-03-29T02:00:00Z", "2026-03-29T02:15:00Z")];
    let none = DayCounts::new();
    let views = [
        MemberView { rules: &r[0], busy: &busy0, booked: &none },
        MemberView { rules: &r[1], busy: &busy1, booked: &none },
    ];
    let range = iv("2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z");
    let now = utc(LONG_AGO);
    let s = |t: &str, free: &[usize]| (t.to_string(), free.to_vec());
    assert_eq!(
        shown(&team_slots(Scheduling::Collective, &views, range, now)),
        [s("2026-03-28T23:00Z", &[0, 1]), s("2026-03-29T01:00Z", &[0, 1]), s("2026-03-29T03:00Z", &[0, 1])]
    );
    assert_eq!(
        shown(&team_slots(Scheduling::RoundRobin, &views, range, now)),
        [
            s("2026-03-28T23:00Z", &[0, 1]),
            s("2026-03-29T00:00Z", &[1]),
            s("2026-03-29T01:00Z", &[0, 1]),
            s("2026-03-29T02:00Z", &[0]),
            s("2026-03-29T03:00Z", &[0, 1]),
        ]
    );
    let e = check_team_slot(Scheduling::Collective, &views, iv("2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z"), now);
    assert_eq!(e, Err(SlotError::Busy));
    // Member 1's cap counts the local date: one reservation on the 29th closes the whole day
    // for it (23:00Z on the 28th included); one on the 28th (UTC date of the first slot) does not.
    let on_29th = DayCounts::from([(day("2026-03-29"), 1)]);
    let views = [views[0], MemberView { booked: &on_29th, ..views[1] }];
    assert!(team_slots(Scheduling::Collective, &views, range, now).is_empty());
    let rr = team_slots(Scheduling::RoundRobin, &views, range, now);
    assert_eq!(rr.len(), 4);
    assert!(rr.iter().all(|t| t.free == MemberSet::first(1)));
    let on_28th = DayCounts::from([(day("2026-03-28"), 1)]);
    let views = [views[0], MemberView { booked: &on_28th, ..views[1] }];
    assert_eq!(team_slots(Scheduling::Collective, &views, range, now).len(), 3);
}

#[test]
fn check_team_slot_reports_the_most_decisive_refusal() {
    let tz = chrono_tz::Europe::London;
    let link = weekdays(tz);
    let capped =
        with(link.clone(), RawSchedulingRules { max_bookings_per_day: Some(1), ..RawSchedulingRules::default() });
    let tuesdays = rules(tz, 60, 0, &[("tue", &[("09:00", "12:00")])]);
    let slot = iv("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"); // a Monday
    let busy = [iv("2026-03-02T09:30:00Z", "2026-03-02T09:45:00Z")];
    let (none, full) = (DayCounts::new(), DayCounts::from([(day("2026-03-02"), 1)]));
    let is_busy = MemberView { rules: &link, busy: &busy, booked: &none };
    let is_full = MemberView { rules: &capped, busy: &[], booked: &full };
    let is_off = MemberView { rules: &tuesdays, busy: &[], booked: &none };
    let is_free = MemberView { rules: &link, busy: &[], booked: &none };
    let now = utc(LONG_AGO);
    let check = |kind, views: &[MemberView<'_>]| check_team_slot(kind, views, slot, now);
    let full_err = SlotError::DateFull { date: day("2026-03-02"), cap: 1 };
    for kind in [Scheduling::Collective, Scheduling::RoundRobin] {
        // Not offered (400) before full (409) before busy (409), whatever the members' order.
        assert_eq!(check(kind, &[is_busy, is_full, is_off]), Err(SlotError::OutsideWorkingHours));
        assert_eq!(check(kind, &[is_off, is_busy, is_full]), Err(SlotError::OutsideWorkingHours));
        assert_eq!(check(kind, &[is_busy, is_full]), Err(full_err.clone()));
        assert_eq!(check(kind, &[is_busy, is_busy]), Err(SlotError::Busy));
        // No members: nobody's hours hold it.
        assert_eq!(check(kind, &[]), Err(SlotError::OutsideWorkingHours));
        assert!(team_slots(kind, &[], iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"), now).is_empty());
    }
    // One free member: enough for round robin, not for collective.
    assert_eq!(check(Scheduling::RoundRobin, &[is_off, is_busy, is_free]), Ok(MemberSet::from_iter([2])));
    assert_eq!(check(Scheduling::Collective, &[is_free, is_busy, is_free]), Err(SlotError::Busy));
    assert_eq!(check(Scheduling::Collective, &[is_free, is_free]), Ok(MemberSet::first(2)));
    // `single` is the link's one calendar as the one member: the one-calendar answer.
    assert_eq!(check(Scheduling::Single, &[is_busy]), Err(SlotError::Busy));
    let range = iv("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let one = team_slots(Scheduling::Single, &[is_busy], range, now);
    assert_eq!(one.iter().map(|t| t.slot).collect::<Vec<_>>(), slots(&link, range, &busy, &none, now));
}

#[test]
fn round_robin_gives_the_never_booked_first_and_breaks_ties_by_index() {
    let t = |m: i64| utc("2026-03-01T00:00:00Z") + Duration::minutes(m);
    let c = |member, weight: i64, booked, last: Option<i64>| Candidate {
        member,
        weight: Weight::new(weight).unwrap(),
        booked_in_period: booked,
        last_booked: last.map(t),
    };
    assert_eq!(assign(&[]), None);
    // Same count: never booked first, then the longest since.
    assert_eq!(assign(&[c(0, 1, 2, Some(50)), c(1, 1, 2, None), c(2, 1, 2, Some(10))]), Some(1));
    assert_eq!(assign(&[c(0, 1, 2, Some(50)), c(2, 1, 2, Some(10))]), Some(2));
    // Everything equal: the lowest index, whatever the candidates' order.
    assert_eq!(assign(&[c(5, 2, 4, Some(7)), c(3, 2, 4, Some(7)), c(4, 2, 4, Some(7))]), Some(3));
    // Fewest for the weight first: 1/1 > 2/3; 1/1 = 3/3 goes to the longest since.
    assert_eq!(assign(&[c(0, 1, 1, None), c(1, 3, 2, Some(9))]), Some(1));
    assert_eq!(assign(&[c(0, 1, 1, Some(8)), c(1, 3, 3, Some(9))]), Some(0));
    // From nobody booked, weights 1 and 3: one for member 0 for each three for member 1, and
    // each member once before anyone twice.
    let weights = [1, 3];
    let mut booked = [0u32; 2];
    let mut last = [None; 2];
    let mut order = Vec::new();
    for step in 0..9 {
        let candidates: Vec<Candidate> = (0..2).map(|m| c(m, weights[m], booked[m], last[m])).collect();
        let m = assign(&candidates).unwrap();
        booked[m] += 1;
        last[m] = Some(step);
        order.push(m);
    }
    assert_eq!(order, [0, 1, 1, 1, 0, 1, 1, 1, 0]);
    assert_eq!(Weight::new(0), None);
    assert_eq!(Weight::ONE.get(), 1);
}

#[test]
fn the_current_period_is_the_month_in_the_links_zone() {
    // Asuncion (UTC-3): 2026-08-01T00:30Z is July 31st, 21:30 local.
    let r = rules(chrono_tz::America::Asuncion, 60, 0, &[]);
    assert_eq!(current_period(&r, utc("2026-08-01T00:30:00Z")), (day("2026-07-01"), day("2026-08-01")));
    assert_eq!(current_period(&r, utc("2026-08-01T03:00:00Z")), (day("2026-08-01"), day("2026-09-01")));
    let r = rules(chrono_tz::Pacific::Kiritimati, 60, 0, &[]); // UTC+14
    assert_eq!(current_period(&r, utc("2026-12-31T10:00:00Z")), (day("2027-01-01"), day("2027-02-01")));
}
