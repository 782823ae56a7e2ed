//! Seats (issue #25): a slot several visitors can take (`seats_per_slot`).
//!
//! The visitors of one slot of a link form a *session*: each seat is its own reservation (its
//! own manage token), and together they are one event for the owner. A session is busy time
//! like any reservation, except for its own slot while it has seats left: that slot is judged
//! as if the session were not there (its seats' busy time taken out, and its place in the
//! period limits too), so a seat is offered exactly when the first one would be, rules, buffers
//! and limits included. A full session is busy time for every slot, its own too.
//!
//! Limits per period count sessions, not seats: a group session of five visitors is one booking
//! of its length for `booking_limits` and `duration_limits_minutes` (the owner's day holds one
//! event).
//!
//! [`seated_slots`] and [`check_seat`] are one predicate, as [`super::slots`] and
//! [`super::check_slot`] are: a seat is accepted exactly when it is offered.

use chrono::{DateTime, Utc};

use super::{check_slot, slots, DayCounts, Interval, LinkRules, SlotError};

/// The live seats of one slot of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// The slot the seats are in.
    pub slot: Interval,
    /// How many live reservations hold a seat in it (at least one).
    pub taken: u32,
}

/// A slot offered, with the seats still free in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatedSlot {
    /// The slot.
    pub slot: Interval,
    /// Seats left: `seats_per_slot` for a slot nobody holds yet, fewer in a session.
    pub seats_left: u32,
}

/// Where a reservation accepted by [`check_seat`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// A slot nobody holds: the reservation starts a session (of one, when the link has one
    /// seat per slot).
    New,
    /// A seat of this session (an index into the sessions given).
    Join(usize),
}

/// `busy` without the session's own seats (`taken` spans equal to its slot; other busy time of
/// the same span stays).
fn busy_without(busy: &[Interval], session: &Session) -> Vec<Interval> {
    let mut left = session.taken;
    busy.iter()
        .filter(|b| {
            let own = left > 0 && **b == session.slot;
            left -= u32::from(own);
            !own
        })
        .copied()
        .collect()
}

/// `booked` without the session: it counts once, on its slot's date, with its minutes.
fn booked_without(rules: &LinkRules, booked: &DayCounts, session: &Session) -> DayCounts {
    let mut out = booked.clone();
    out.remove(rules.date_of(session.slot.start), minutes_of(session.slot));
    out
}

fn minutes_of(slot: Interval) -> u32 {
    u32::try_from((slot.end - slot.start).num_minutes()).unwrap_or(u32::MAX)
}

/// The session of `slot` with seats left, if any.
fn open_session(seats: u32, sessions: &[Session], slot: Interval) -> Option<usize> {
    sessions.iter().position(|s| s.slot == slot && s.taken < seats)
}

/// The slots a link offers inside `range`, each with its seats left. `busy` is all busy time
/// of the calendar, every seat of every session included (one span each); `booked` counts each
/// session once (see the module's doc); `sessions` are the link's sessions that may touch the
/// range. With one seat per slot this is [`slots`], each with one seat left.
#[must_use]
pub fn seated_slots(
    rules: &LinkRules,
    range: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    sessions: &[Session],
    now: DateTime<Utc>,
) -> Vec<SeatedSlot> {
    let seats = rules.schedule.seats_per_slot();
    let mut out: Vec<SeatedSlot> =
        slots(rules, range, busy, booked, now).into_iter().map(|slot| SeatedSlot { slot, seats_left: seats }).collect();
    if seats <= 1 {
        return out;
    }
    let mut joined = false;
    for session in sessions {
        let slot = session.slot;
        let inside = range.start <= slot.start && slot.end <= range.end;
        if session.taken >= seats || !inside {
            continue;
        }
        let busy = busy_without(busy, session);
        let booked = booked_without(rules, booked, session);
        if check_slot(rules, slot, &busy, &booked, now).is_ok() {
            out.push(SeatedSlot { slot, seats_left: seats - session.taken });
            joined = true;
        }
    }
    if joined {
        out.sort_by_key(|s| (s.slot.start, s.slot.end));
        out.dedup_by_key(|s| s.slot);
    }
    out
}

/// Whether a reservation of `slot` is accepted, and where it goes: a seat of the slot's session
/// while it has seats left (judged as if the session were not there), else a new session judged
/// as [`check_slot`] judges any slot (a full session is busy time). The same inputs as
/// [`seated_slots`].
///
/// # Errors
///
/// The slot's [`SlotError`], as [`check_slot`] reports it.
pub fn check_seat(
    rules: &LinkRules,
    slot: Interval,
    busy: &[Interval],
    booked: &DayCounts,
    sessions: &[Session],
    now: DateTime<Utc>,
) -> Result<Seat, SlotError> {
    let seats = rules.schedule.seats_per_slot();
    if seats > 1 {
        if let Some(i) = open_session(seats, sessions, slot) {
            let session = &sessions[i];
            let busy = busy_without(busy, session);
            let booked = booked_without(rules, booked, session);
            return check_slot(rules, slot, &busy, &booked, now).map(|()| Seat::Join(i));
        }
    }
    check_slot(rules, slot, busy, booked, now).map(|()| Seat::New)
}

#[cfg(test)]
mod tests;
