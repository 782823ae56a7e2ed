//! Seats: named cases, and properties over every rule (`arb_full_case`): `check_seat` agrees
//! with `seated_slots`, one seat per slot is `slots`, and seats are never oversold.

use super::*;
use crate::domain::availability::testing::*;
use crate::domain::availability::{RawSchedulingRules, Tally};
use proptest::prelude::*;

fn seated(mut r: LinkRules, seats: i64, more: RawSchedulingRules) -> LinkRules {
    let raw = RawSchedulingRules { seats_per_slot: Some(seats), ..more };
    r = with(r, raw);
    r
}

/// The link's state after reservations: busy time (one span per seat), sessions, counts (one
/// per session).
#[derive(Debug, Default, Clone)]
struct Booked {
    busy: Vec<Interval>,
    sessions: Vec<Session>,
    booked: DayCounts,
}

impl Booked {
    fn take(&mut self, r: &LinkRules, slot: Interval, now: DateTime<Utc>) -> Result<Seat, SlotError> {
        let seat = check_seat(r, slot, &self.busy, &self.booked, &self.sessions, now)?;
        match seat {
            Seat::Join(i) => self.sessions[i].taken += 1,
            Seat::New => {
                self.sessions.push(Session { slot, taken: 1 });
                self.booked.add(r.date_of(slot.start), minutes_of(slot));
            }
        }
        self.busy.push(slot);
        Ok(seat)
    }

    fn offered(&self, r: &LinkRules, range: Interval, now: DateTime<Utc>) -> Vec<SeatedSlot> {
        seated_slots(r, range, &self.busy, &self.booked, &self.sessions, now)
    }
}

fn weekdays_9_to_12() -> LinkRules {
    let w: &[(&str, &str)] = &[("09:00", "12:00")];
    rules(chrono_tz::Europe::Berlin, 60, 0, &[("mon", w), ("tue", w), ("wed", w), ("thu", w), ("fri", w)])
}

#[test]
fn a_slot_is_offered_until_its_seats_are_taken() {
    let r = seated(weekdays_9_to_12(), 3, RawSchedulingRules::default());
    let now = utc("2027-03-01T00:00:00Z");
    let range = iv("2027-03-01T08:00:00Z", "2027-03-01T11:00:00Z"); // Monday, 09:00-12:00 CET
    let nine = iv("2027-03-01T08:00:00Z", "2027-03-01T09:00:00Z");
    let mut b = Booked::default();
    let left = |b: &Booked| b.offered(&r, range, now).iter().map(|s| s.seats_left).collect::<Vec<_>>();
    assert_eq!(left(&b), [3, 3, 3]);
    assert_eq!(b.take(&r, nine, now), Ok(Seat::New));
    assert_eq!(left(&b), [2, 3, 3]);
    assert_eq!(b.take(&r, nine, now), Ok(Seat::Join(0)));
    assert_eq!(b.take(&r, nine, now), Ok(Seat::Join(0)));
    assert_eq!(left(&b), [3, 3], "a full session is no longer offered");
    assert_eq!(b.take(&r, nine, now), Err(SlotError::Busy), "the fourth visitor is refused");
    // One visitor cancels: one seat again.
    b.sessions[0].taken -= 1;
    b.busy.pop();
    assert_eq!(left(&b), [1, 3, 3]);
}

#[test]
fn a_session_blocks_the_slots_it_overlaps_even_with_seats_left() {
    // 60-minute slots every 30 minutes: 09:30 overlaps the 09:00 session.
    let r = seated(
        weekdays_9_to_12(),
        5,
        RawSchedulingRules { slot_interval_minutes: Some(30), buffer_after_minutes: Some(0), ..Default::default() },
    );
    let now = utc("2027-03-01T00:00:00Z");
    let range = iv("2027-03-01T08:00:00Z", "2027-03-01T11:00:00Z");
    let mut b = Booked::default();
    b.take(&r, iv("2027-03-01T08:00:00Z", "2027-03-01T09:00:00Z"), now).unwrap();
    let starts: Vec<_> = b.offered(&r, range, now).iter().map(|s| (local(r.tz, s.slot.start), s.seats_left)).collect();
    assert_eq!(
        starts,
        [
            ("2027-03-01 09:00 CET".into(), 4),
            ("2027-03-01 10:00 CET".into(), 5),
            ("2027-03-01 10:30 CET".into(), 5),
            ("2027-03-01 11:00 CET".into(), 5)
        ]
    );
    assert_eq!(b.take(&r, iv("2027-03-01T08:30:00Z", "2027-03-01T09:30:00Z"), now), Err(SlotError::Busy));
}

#[test]
fn a_session_counts_once_towards_the_limits_and_its_seats_stay_offered_on_a_full_day() {
    let r = seated(weekdays_9_to_12(), 2, RawSchedulingRules { max_bookings_per_day: Some(1), ..Default::default() });
    let now = utc("2027-03-01T00:00:00Z");
    let range = iv("2027-03-01T08:00:00Z", "2027-03-01T11:00:00Z");
    let nine = iv("2027-03-01T08:00:00Z", "2027-03-01T09:00:00Z");
    let mut b = Booked::default();
    b.take(&r, nine, now).unwrap();
    assert_eq!(b.booked.on(day("2027-03-01")), Tally { count: 1, minutes: 60 });
    let offered = b.offered(&r, range, now);
    assert_eq!(offered, [SeatedSlot { slot: nine, seats_left: 1 }], "the day is full but for the session's own seat");
    assert_eq!(b.take(&r, nine, now), Ok(Seat::Join(0)));
    assert_eq!(b.booked.on(day("2027-03-01")).count, 1, "a seat in a session is not another booking");
    assert!(matches!(
        b.take(&r, iv("2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z"), now),
        Err(SlotError::DateFull { .. })
    ));
}

#[test]
fn a_seat_is_refused_for_what_refuses_any_slot() {
    // The session was made before the link asked for a day's notice: its seats are not offered
    // within the notice either.
    let r0 = seated(weekdays_9_to_12(), 3, RawSchedulingRules::default());
    let now = utc("2027-03-01T07:00:00Z");
    let nine = iv("2027-03-01T08:00:00Z", "2027-03-01T09:00:00Z");
    let mut b = Booked::default();
    b.take(&r0, nine, now).unwrap();
    let r = seated(weekdays_9_to_12(), 3, RawSchedulingRules { min_notice_minutes: Some(1440), ..Default::default() });
    assert!(matches!(b.take(&r, nine, now), Err(SlotError::TooSoon { .. })));
    assert!(b.offered(&r, iv("2027-03-01T08:00:00Z", "2027-03-01T11:00:00Z"), now).is_empty());
}

#[test]
fn a_manual_event_of_the_same_span_as_a_session_still_blocks_it() {
    let r = seated(weekdays_9_to_12(), 3, RawSchedulingRules::default());
    let now = utc("2027-03-01T00:00:00Z");
    let nine = iv("2027-03-01T08:00:00Z", "2027-03-01T09:00:00Z");
    let mut b = Booked::default();
    b.take(&r, nine, now).unwrap();
    b.busy.push(nine); // the owner's own event, same time
    assert_eq!(b.take(&r, nine, now), Err(SlotError::Busy));
}

/// A case with sessions: up to four of the slots offered first, each holding 1..=seats+1 seats
/// (over-full ones stand for sessions made before the link's seats were lowered).
fn arb_seated_case() -> impl Strategy<Value = (LinkRules, Interval, Booked, DateTime<Utc>)> {
    (arb_full_case(), 1i64..=4, prop::collection::vec((0usize..40, 1u32..=5), 0..=4)).prop_map(
        |((r, range, busy, booked, now), seats, picks)| {
            let mut raw = r.schedule.to_raw();
            raw.seats_per_slot = Some(seats);
            let r = with(r, raw);
            let free = slots(&r, range, &busy, &booked, now);
            let mut b = Booked { busy, sessions: Vec::new(), booked };
            for (pick, taken) in picks {
                let Some(&slot) = free.get(pick) else { continue };
                if b.sessions.iter().any(|s| s.slot == slot) {
                    continue;
                }
                let taken = taken.min(u32::try_from(seats).unwrap() + 1);
                b.sessions.push(Session { slot, taken });
                b.booked.add(r.date_of(slot.start), minutes_of(slot));
                b.busy.extend(std::iter::repeat_n(slot, taken as usize));
            }
            (r, range, b, now)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// One seat per slot: `seated_slots` is `slots`, each with one seat.
    #[test]
    fn one_seat_is_the_plain_engine((r, range, busy, booked, now) in arb_full_case()) {
        let want: Vec<SeatedSlot> =
            slots(&r, range, &busy, &booked, now).into_iter().map(|slot| SeatedSlot { slot, seats_left: 1 }).collect();
        prop_assert_eq!(seated_slots(&r, range, &busy, &booked, &[], now), want);
    }

    /// `check_seat` accepts exactly what `seated_slots` offers, and joins a session exactly when
    /// the offer has fewer seats left than the link has.
    #[test]
    fn check_seat_agrees_with_seated_slots((r, range, b, now) in arb_seated_case()) {
        let seats = r.schedule.seats_per_slot();
        let offered = b.offered(&r, range, now);
        for w in offered.windows(2) {
            prop_assert!((w[0].slot.start, w[0].slot.end) < (w[1].slot.start, w[1].slot.end), "sorted, no duplicates");
        }
        for s in &offered {
            prop_assert!(s.seats_left >= 1 && s.seats_left <= seats);
            let got = check_seat(&r, s.slot, &b.busy, &b.booked, &b.sessions, now);
            match got {
                Ok(Seat::New) => prop_assert_eq!(s.seats_left, seats),
                Ok(Seat::Join(i)) => prop_assert_eq!(s.seats_left, seats - b.sessions[i].taken),
                Err(e) => prop_assert!(false, "{:?} offered but refused: {}", s, e),
            }
        }
        // Every session's slot and every slot of the plain engine without sessions: accepted
        // only when offered.
        let candidates = b.sessions.iter().map(|s| s.slot).chain(slots(&r, range, &[], &DayCounts::new(), now));
        for slot in candidates {
            let accepted = check_seat(&r, slot, &b.busy, &b.booked, &b.sessions, now).is_ok();
            prop_assert_eq!(accepted, offered.iter().any(|o| o.slot == slot), "{:?}", slot);
        }
    }

    /// Visitors take the first seat offered, one after another: no session ever holds more than
    /// the link's seats, and a slot offered with k seats left takes exactly k more.
    #[test]
    fn seats_are_never_oversold((r, range, b, now) in arb_seated_case(), rounds in 1usize..=12) {
        let seats = r.schedule.seats_per_slot();
        let mut b = b;
        let over: Vec<usize> = b.sessions.iter().enumerate().filter(|(_, s)| s.taken >= seats).map(|(i, _)| i).collect();
        for _ in 0..rounds {
            let Some(first) = b.offered(&r, range, now).first().copied() else { break };
            for k in 0..first.seats_left {
                prop_assert!(b.take(&r, first.slot, now).is_ok(), "seat {} of {:?}", k, first);
            }
            prop_assert!(b.take(&r, first.slot, now).is_err(), "{:?} taken past its seats", first.slot);
        }
        for (i, s) in b.sessions.iter().enumerate() {
            if !over.contains(&i) {
                prop_assert!(s.taken <= seats, "{:?} holds {} of {}", s.slot, s.taken, seats);
            }
        }
    }
}
