//! LE-KO booking rules: the allowed status transitions (written down once), and the checks an
//! order must pass, event by event. Pure: the services bring the facts.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// How soon before its start an event can still be booked.
pub const BOOKING_CUTOFF: Duration = Duration::minutes(30);
/// The longest a coach event may last. Queries of an athlete's schedule rely on it to look
/// only at bookings that start at most this long before a range.
pub const MAX_EVENT_HOURS: i64 = 24;
pub const MAX_ORDER_EVENTS: usize = 20;
pub const MAX_NOTE_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
    Canceled,
    InDispute,
    DisputeDone,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::Pending, Status::Accepted, Status::Rejected, Status::Canceled, Status::InDispute, Status::DisputeDone];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Accepted => "Accepted",
            Status::Rejected => "Rejected",
            Status::Canceled => "Canceled",
            Status::InDispute => "InDispute",
            Status::DisputeDone => "DisputeDone",
        }
    }

    /// Holds a place and occupies the athlete's schedule.
    pub fn is_live(self) -> bool {
        !matches!(self, Status::Canceled | Status::Rejected)
    }
}

/// An order's lifecycle, derived from its bookings (see BookingOrderStatus in the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Some live booking has not taken place yet.
    Active,
    /// Every live booking is completed or its dispute is closed.
    Completed,
    /// No booking is live.
    Canceled,
}

/// The status of an order with these bookings (each: its status and whether it is completed).
pub fn order_status(bookings: impl IntoIterator<Item = (Status, bool)>) -> OrderStatus {
    let live: Vec<(Status, bool)> = bookings.into_iter().filter(|(s, _)| s.is_live()).collect();
    if live.is_empty() {
        OrderStatus::Canceled
    } else if live.iter().all(|(s, completed)| *completed || *s == Status::DisputeDone) {
        OrderStatus::Completed
    } else {
        OrderStatus::Active
    }
}

/// Why a status changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The coach accepts a pending booking.
    Accept,
    /// The coach rejects a pending booking.
    Reject,
    /// The athlete, the coach or the system cancels before the start.
    Cancel,
    /// The athlete or the coach disputes after the start.
    OpenDispute,
    /// An admin closes the dispute.
    ResolveDispute,
}

/// The allowed transitions, in one table (also in the README).
pub const TRANSITIONS: &[(Status, Transition, Status)] = &[
    (Status::Pending, Transition::Accept, Status::Accepted),
    (Status::Pending, Transition::Reject, Status::Rejected),
    (Status::Pending, Transition::Cancel, Status::Canceled),
    (Status::Accepted, Transition::Cancel, Status::Canceled),
    (Status::Accepted, Transition::OpenDispute, Status::InDispute),
    (Status::InDispute, Transition::ResolveDispute, Status::DisputeDone),
];

pub fn transition(from: Status, how: Transition) -> Result<Status, String> {
    TRANSITIONS
        .iter()
        .find(|(f, t, _)| *f == from && *t == how)
        .map(|(_, _, to)| *to)
        .ok_or_else(|| format!("a {} booking cannot be {}", from.as_str(), verb(how)))
}

fn verb(how: Transition) -> &'static str {
    match how {
        Transition::Accept => "accepted",
        Transition::Reject => "rejected",
        Transition::Cancel => "canceled",
        Transition::OpenDispute => "disputed",
        Transition::ResolveDispute => "resolved",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// What the order check needs to know of one requested event (None: it does not exist).
#[derive(Debug, Clone)]
pub struct EventFacts {
    pub id: Uuid,
    pub coach_id: Uuid,
    pub span: Span,
    pub canceled: bool,
    pub places: i64,
    pub taken: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderError {
    NotFound,
    Canceled,
    SelfBook,
    Past,
    TooClose,
    Overbooked,
    Conflict,
}

impl OrderError {
    pub fn message(self) -> &'static str {
        match self {
            OrderError::NotFound => "no such event",
            OrderError::Canceled => "the event was canceled",
            OrderError::SelfBook => "you coach this event",
            OrderError::Past => "the event has already started",
            OrderError::TooClose => "the event starts within 30 minutes",
            OrderError::Overbooked => "every place of the event is taken",
            OrderError::Conflict => {
                "the event overlaps another booking of yours or another event of this order, or you already hold it"
            }
        }
    }
}

/// Every failing event of an order with its first failing rule, in request order.
/// `requested` pairs each requested id with its facts; `schedule` is the athlete's live bookings
/// (with the event each is for).
pub fn check_order(
    user: Uuid,
    now: DateTime<Utc>,
    requested: &[(Uuid, Option<EventFacts>)],
    schedule: &[(Uuid, Span)],
) -> Vec<(Uuid, OrderError)> {
    let mut errors = Vec::new();
    for (i, (id, facts)) in requested.iter().enumerate() {
        let Some(event) = facts else {
            errors.push((*id, OrderError::NotFound));
            continue;
        };
        let error = if event.canceled {
            Some(OrderError::Canceled)
        } else if event.coach_id == user {
            Some(OrderError::SelfBook)
        } else if event.span.start <= now {
            Some(OrderError::Past)
        } else if event.span.start - now < BOOKING_CUTOFF {
            Some(OrderError::TooClose)
        } else if event.taken >= event.places {
            Some(OrderError::Overbooked)
        } else if schedule.iter().any(|(held, span)| *held == event.id || span.overlaps(&event.span))
            || requested.iter().enumerate().any(|(j, (_, other))| {
                j != i && other.as_ref().is_some_and(|o| !o.canceled && o.span.overlaps(&event.span))
            })
        {
            Some(OrderError::Conflict)
        } else {
            None
        };
        if let Some(error) = error {
            errors.push((*id, error));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, h, m, 0).unwrap()
    }

    fn event(coach: Uuid, start: (u32, u32), end: (u32, u32), places: i64, taken: i64) -> EventFacts {
        EventFacts {
            id: Uuid::new_v4(),
            coach_id: coach,
            span: Span { start: t(start.0, start.1), end: t(end.0, end.1) },
            canceled: false,
            places,
            taken,
        }
    }

    #[test]
    fn the_transition_table_allows_only_what_it_lists() {
        for from in Status::ALL {
            for how in [
                Transition::Accept,
                Transition::Reject,
                Transition::Cancel,
                Transition::OpenDispute,
                Transition::ResolveDispute,
            ] {
                let listed = TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == how);
                assert_eq!(transition(from, how).is_ok(), listed, "{from:?} {how:?}");
            }
        }
        assert_eq!(transition(Status::Accepted, Transition::Cancel), Ok(Status::Canceled));
        assert!(transition(Status::Canceled, Transition::Cancel).is_err());
        assert!(transition(Status::DisputeDone, Transition::OpenDispute).is_err());
    }

    #[test]
    fn an_order_is_what_its_live_bookings_are() {
        use Status::*;
        assert_eq!(order_status([]), OrderStatus::Canceled);
        assert_eq!(order_status([(Canceled, false), (Rejected, true)]), OrderStatus::Canceled);
        assert_eq!(order_status([(Canceled, false), (Accepted, false)]), OrderStatus::Active);
        assert_eq!(order_status([(Canceled, false), (Accepted, true), (DisputeDone, false)]), OrderStatus::Completed);
        assert_eq!(order_status([(Pending, true), (InDispute, false)]), OrderStatus::Active);
    }

    #[test]
    fn each_rule_names_its_event() {
        let user = Uuid::new_v4();
        let coach = Uuid::new_v4();
        let now = t(8, 0);
        let ok = event(coach, (10, 0), (11, 0), 5, 0);
        let own = event(user, (12, 0), (13, 0), 5, 0);
        let past = event(coach, (7, 0), (9, 0), 5, 0);
        let close = event(coach, (8, 20), (8, 50), 5, 0);
        let full = event(coach, (14, 0), (15, 0), 2, 2);
        let mut canceled = event(coach, (16, 0), (17, 0), 5, 0);
        canceled.canceled = true;
        let missing = Uuid::new_v4();
        let requested: Vec<(Uuid, Option<EventFacts>)> = vec![
            (ok.id, Some(ok.clone())),
            (own.id, Some(own.clone())),
            (past.id, Some(past.clone())),
            (close.id, Some(close.clone())),
            (full.id, Some(full.clone())),
            (canceled.id, Some(canceled.clone())),
            (missing, None),
        ];
        let errors = check_order(user, now, &requested, &[]);
        assert_eq!(
            errors,
            vec![
                (own.id, OrderError::SelfBook),
                (past.id, OrderError::Past),
                (close.id, OrderError::TooClose),
                (full.id, OrderError::Overbooked),
                (canceled.id, OrderError::Canceled),
                (missing, OrderError::NotFound),
            ]
        );
    }

    #[test]
    fn thirty_minutes_before_the_start_is_the_last_moment() {
        let user = Uuid::new_v4();
        let e = event(Uuid::new_v4(), (10, 0), (11, 0), 1, 0);
        let req = vec![(e.id, Some(e.clone()))];
        assert!(check_order(user, t(9, 30), &req, &[]).is_empty());
        assert_eq!(check_order(user, t(9, 31), &req, &[]), vec![(e.id, OrderError::TooClose)]);
    }

    #[test]
    fn conflicts_with_the_schedule_the_order_and_held_events() {
        let user = Uuid::new_v4();
        let coach = Uuid::new_v4();
        let now = t(0, 0);
        let a = event(coach, (10, 0), (11, 0), 5, 0);
        let b = event(coach, (10, 30), (11, 30), 5, 0);
        let c = event(coach, (11, 0), (12, 0), 5, 0); // touches a: no conflict
        let req = vec![(a.id, Some(a.clone())), (b.id, Some(b.clone())), (c.id, Some(c.clone()))];
        let errors = check_order(user, now, &req, &[]);
        assert_eq!(
            errors,
            vec![(a.id, OrderError::Conflict), (b.id, OrderError::Conflict), (c.id, OrderError::Conflict)]
        );
        let req = vec![(a.id, Some(a.clone())), (c.id, Some(c.clone()))];
        assert!(check_order(user, now, &req, &[]).is_empty());
        // Already held, or overlapping something held.
        let held = vec![(a.id, a.span)];
        assert_eq!(check_order(user, now, &[(a.id, Some(a.clone()))], &held), vec![(a.id, OrderError::Conflict)]);
        assert_eq!(check_order(user, now, &[(b.id, Some(b.clone()))], &held), vec![(b.id, OrderError::Conflict)]);
    }
}
