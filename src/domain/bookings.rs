//! LE-KO booking rules: the allowed status transitions (written down once), and the checks an
//! order must pass, event by event. Pure: the services bring the facts.

use crate::domain::ids::{BookingId, CoachEventId, UserId};
use crate::domain::input::{InputError, Instant, RangeRule, TimeRange};
pub use crate::domain::kinds::{CancellationReason, Currency, Eligibility, Level, SlotType};
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

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

pub use super::interval::Interval;

/// What the order check needs to know of one requested event (None: it does not exist).
#[derive(Debug, Clone)]
pub struct EventFacts {
    pub id: CoachEventId,
    pub coach_id: UserId,
    pub span: Interval,
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
    user: UserId,
    now: DateTime<Utc>,
    requested: &[(CoachEventId, Option<EventFacts>)],
    schedule: &[(CoachEventId, Interval)],
) -> Vec<(CoachEventId, OrderError)> {
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

/// A refusal of the booking rules, in the words the API answers with (a 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl Refusal {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<InputError> for Refusal {
    fn from(e: InputError) -> Self {
        Self(e.to_string())
    }
}

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::new(msg))
}

// ------------------------------------------------------------------ a new coach event

/// A coach event's start and end: `endAt` after `startAt` (the one range rule), no cap in days
/// (events are capped in hours, [`MAX_EVENT_HOURS`]).
pub const EVENT_RANGE: RangeRule = RangeRule { start_field: "startAt", end_field: "endAt", max: None };

/// A wall-clock time with its offset, as the contract writes it (`12:00:00+03:00`).
pub type WallClock = (NaiveTime, FixedOffset);

/// The fields of a new coach event as they came in, not yet checked.
#[derive(Debug, Clone)]
pub struct CoachEventFields {
    pub sport_id: uuid::Uuid,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub start_time: WallClock,
    pub end_time: WallClock,
    pub places: i64,
    pub slot_type: SlotType,
    pub age_from: i64,
    pub age_to: i64,
    pub duration_minutes: i64,
    pub price: i64,
    pub price_currency: Currency,
    pub payment_method: EventPaymentMethod,
    pub address_id: Option<uuid::Uuid>,
    pub public: Option<bool>,
    pub level: Option<Level>,
    pub eligibility: Option<Eligibility>,
}

/// How an event's places are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventPaymentMethod {
    Cash,
}

/// A coach event that keeps every rule: in the future, at most [`MAX_EVENT_HOURS`] long, its
/// duration and wall-clock times those of its span, ages ordered, a price not negative.
#[derive(Debug, Clone)]
pub struct NewCoachEvent {
    pub span: TimeRange,
    pub fields: CoachEventFields,
}

/// `12:00:00+03:00`: how a wall-clock time is written and stored.
pub fn format_time(t: WallClock) -> String {
    format!("{}{}", t.0.format("%H:%M:%S%.f"), t.1)
}

/// A wall-clock time with its offset as [`format_time`] writes it (RFC 3339 `partial-time
/// time-offset`: `10:00:00+03:00`, `10:00:00.250-05:30`, `10:00:00Z`); `None` when it is not one.
/// The one reading of a stored `coach_events.start_time` / `end_time`.
pub fn parse_time(value: &str) -> Option<WallClock> {
    // RFC 3339's full-time, read by chrono's RFC 3339 parser on a date of no account.
    let at = DateTime::parse_from_rfc3339(&format!("2000-01-01T{value}")).ok()?;
    Some((at.time(), *at.offset()))
}

impl NewCoachEvent {
    /// Checks the fields, in the order the API has always answered them, against `now`.
    pub fn parse(fields: CoachEventFields, now: DateTime<Utc>) -> Result<Self, Refusal> {
        let start = Instant::parse("startAt", fields.start)?.utc();
        let end = Instant::parse("endAt", fields.end)?.utc();
        let span = TimeRange::parse(&EVENT_RANGE, start, end)?;
        if start <= now {
            return refuse("startAt must be in the future");
        }
        if end - start > Duration::hours(MAX_EVENT_HOURS) {
            return refuse(format!("an event may last at most {MAX_EVENT_HOURS} hours"));
        }
        if fields.age_from > fields.age_to {
            return refuse("ageFrom must not be greater than ageTo");
        }
        if fields.price < 0 {
            return refuse("price must not be negative");
        }
        let seconds = (end - start).num_seconds();
        if seconds != fields.duration_minutes * 60 {
            return refuse(format!(
                "duration is {} minutes but startAt..endAt spans {} seconds",
                fields.duration_minutes, seconds
            ));
        }
        for (what, of, instant, (time, offset)) in
            [("startTime", "startAt", start, fields.start_time), ("endTime", "endAt", end, fields.end_time)]
        {
            if instant.with_timezone(&offset).time() != time {
                return refuse(format!("{what} {} is not the wall-clock time of {of}", format_time((time, offset))));
            }
        }
        Ok(Self { span, fields })
    }
}

/// Whether an event may be canceled now: once, and before it starts (what happened stays on record).
pub fn check_event_cancel(already_canceled: bool, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Refusal> {
    if already_canceled {
        return refuse("the event is already canceled");
    }
    if starts_at <= now {
        return refuse("an event can only be canceled before it starts");
    }
    Ok(())
}

// ------------------------------------------------------------------ an order

/// How an order is to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    Cash,
    Card,
}

/// An order request that keeps the rules: cash, 1 to [`MAX_ORDER_EVENTS`] events, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub user: UserId,
    /// In request order (errors answer in it).
    pub event_ids: Vec<CoachEventId>,
}

impl OrderRequest {
    pub fn parse(user: UserId, event_ids: Vec<CoachEventId>, payment: PaymentMethod) -> Result<Self, Refusal> {
        if payment == PaymentMethod::Card {
            return refuse("card payments are not enabled yet; pay with Cash");
        }
        if event_ids.is_empty() || event_ids.len() > MAX_ORDER_EVENTS {
            return refuse(format!("an order books 1 to {MAX_ORDER_EVENTS} events"));
        }
        if event_ids.iter().collect::<BTreeSet<_>>().len() != event_ids.len() {
            return refuse("an order may name each event once");
        }
        Ok(Self { user, event_ids })
    }

    /// The events in id order: the order they are locked in.
    pub fn sorted(&self) -> Vec<CoachEventId> {
        let mut ids = self.event_ids.clone();
        ids.sort();
        ids
    }
}

/// The window an athlete's schedule is read in for these spans: from the earliest start to the
/// latest end (None when there are none).
pub fn schedule_window(spans: impl IntoIterator<Item = Interval>) -> Option<Interval> {
    spans.into_iter().reduce(|a, b| a.hull(&b))
}

/// A live booking as an order's checks and ordinals see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveBooking {
    pub id: BookingId,
    pub user_id: UserId,
    pub coach_id: UserId,
    pub event_id: CoachEventId,
    pub span: Interval,
}

/// Each booking's ordinal (1, 2, ...) among the live bookings of its athlete with its coach, by
/// start, then id: `live` must hold every live booking of each (athlete, coach) pair it names.
pub fn ordinals(live: impl IntoIterator<Item = LiveBooking>) -> BTreeMap<BookingId, i64> {
    let mut live: Vec<LiveBooking> = live.into_iter().collect();
    live.sort_by_key(|b| (b.span.start, b.id));
    let mut counts: BTreeMap<(UserId, UserId), i64> = BTreeMap::new();
    live.iter()
        .map(|b| {
            let n = counts.entry((b.user_id, b.coach_id)).or_insert(0);
            *n += 1;
            (b.id, *n)
        })
        .collect()
}

// ------------------------------------------------------------------ listing

/// A listing's optional window: when both ends are given the end is after the start.
pub const LIST_RANGE: RangeRule = RangeRule { start_field: "startAt", end_field: "endAt", max: None };

/// The time window a listing is cut to (`startAt`, `endAt`), each end optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListWindow {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl ListWindow {
    pub fn parse(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Result<Self, Refusal> {
        if let (Some(s), Some(e)) = (start, end) {
            TimeRange::parse(&LIST_RANGE, s, e)?;
        }
        Ok(Self { start, end })
    }

    pub fn is_open(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }
}

/// Which bookings a listing asks for: an athlete's, or an event's (optionally one athlete's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingsQuery {
    OfUser(UserId, ListWindow),
    OfEvent(CoachEventId, Option<UserId>),
}

impl BookingsQuery {
    pub fn parse(user: Option<UserId>, event: Option<CoachEventId>, window: ListWindow) -> Result<Self, Refusal> {
        match (user, event) {
            (None, None) => refuse("give userId or eventId"),
            (Some(user), None) => Ok(Self::OfUser(user, window)),
            (user, Some(event)) => Ok(Self::OfEvent(event, user)),
        }
    }
}

// ------------------------------------------------------------------ a booking's changes

/// What the rules of a change need to know of a booking and its event.
#[derive(Debug, Clone, Copy)]
pub struct BookingFacts {
    pub status: Status,
    pub event: Interval,
}

/// Marking completed: a live booking whose event has ended.
pub fn check_completion(b: BookingFacts, now: DateTime<Utc>) -> Result<(), Refusal> {
    if !b.status.is_live() {
        return refuse(format!("a {} booking cannot be completed", b.status.as_str()));
    }
    if b.event.end > now {
        return refuse("the event has not ended yet");
    }
    Ok(())
}

/// A note: once the event has ended, on a booking that took place.
pub fn check_note(b: BookingFacts, now: DateTime<Utc>) -> Result<(), Refusal> {
    if b.event.end > now {
        return refuse("notes can be added once the event has ended");
    }
    if !b.status.is_live() {
        return refuse(format!("a {} booking did not take place", b.status.as_str()));
    }
    Ok(())
}

/// Canceling: before the event starts, from a status that allows it.
pub fn cancel(b: BookingFacts, now: DateTime<Utc>) -> Result<Status, Refusal> {
    if b.event.start <= now {
        return refuse("a booking can only be canceled before its event starts");
    }
    transition(b.status, Transition::Cancel).map_err(Refusal)
}

/// A dispute: once the event has started, from a status that allows it.
pub fn open_dispute(b: BookingFacts, now: DateTime<Utc>) -> Result<Status, Refusal> {
    if b.event.start > now {
        return refuse("a dispute can be opened once the event has started");
    }
    transition(b.status, Transition::OpenDispute).map_err(Refusal)
}

pub fn resolve_dispute(b: BookingFacts) -> Result<Status, Refusal> {
    transition(b.status, Transition::ResolveDispute).map_err(Refusal)
}

/// Only canceled bookings can be dismissed.
pub fn check_dismissal(status: Status) -> Result<(), Refusal> {
    if status != Status::Canceled {
        return refuse("only canceled bookings can be dismissed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, h, m, 0).unwrap()
    }

    fn event(coach: UserId, start: (u32, u32), end: (u32, u32), places: i64, taken: i64) -> EventFacts {
        EventFacts {
            id: CoachEventId::new(),
            coach_id: coach,
            span: Interval { start: t(start.0, start.1), end: t(end.0, end.1) },
            canceled: false,
            places,
            taken,
        }
    }

    fn fields(start: DateTime<Utc>, minutes: i64) -> CoachEventFields {
        let end = start + Duration::minutes(minutes);
        let utc = FixedOffset::east_opt(0).unwrap();
        CoachEventFields {
            sport_id: uuid::Uuid::nil(),
            start: start.fixed_offset(),
            end: end.fixed_offset(),
            start_time: (start.time(), utc),
            end_time: (end.time(), utc),
            places: 3,
            slot_type: SlotType::Offline,
            age_from: 18,
            age_to: 99,
            duration_minutes: minutes,
            price: 0,
            price_currency: Currency::Rub,
            payment_method: EventPaymentMethod::Cash,
            address_id: None,
            public: None,
            level: None,
            eligibility: None,
        }
    }

    #[test]
    fn stored_times_read_back_as_written() {
        let east = |h: i32, m: i32| FixedOffset::east_opt(h * 3600 + m * 60).unwrap();
        let at = |h, m, s, ms| NaiveTime::from_hms_milli_opt(h, m, s, ms).unwrap();
        for t in [(at(10, 0, 0, 0), east(3, 0)), (at(23, 59, 59, 250), east(-5, -30)), (at(0, 0, 0, 0), east(0, 0))] {
            assert_eq!(parse_time(&format_time(t)), Some(t), "{}", format_time(t));
        }
        assert_eq!(parse_time("10:00:00Z"), Some((at(10, 0, 0, 0), east(0, 0))));
        assert_eq!(parse_time("10:00:00.250-05:30"), Some((at(10, 0, 0, 250), east(-5, -30))));
        for bad in ["", "10:00:00", "10:00+03:00", "10:00:00+3:00", "10:00:00+24:00", "25:00:00+01:00", "nonsense"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_new_event_keeps_every_rule_in_the_order_answered() {
        let now = t(8, 0);
        assert!(NewCoachEvent::parse(fields(t(10, 0), 60), now).is_ok());
        let msg = |f, now| NewCoachEvent::parse(f, now).unwrap_err().0;
        let mut f = fields(t(10, 0), 60);
        f.end = f.start;
        assert_eq!(msg(f, now), "endAt must be after startAt");
        assert_eq!(msg(fields(t(7, 0), 60), now), "startAt must be in the future");
        assert_eq!(msg(fields(t(10, 0), 25 * 60), now), "an event may last at most 24 hours");
        let mut f = fields(t(10, 0), 60);
        f.age_from = 100;
        assert_eq!(msg(f, now), "ageFrom must not be greater than ageTo");
        let mut f = fields(t(10, 0), 60);
        f.price = -1;
        assert_eq!(msg(f, now), "price must not be negative");
        let mut f = fields(t(10, 0), 60);
        f.duration_minutes = 30;
        assert_eq!(msg(f, now), "duration is 30 minutes but startAt..endAt spans 3600 seconds");
        let mut f = fields(t(10, 0), 60);
        f.end_time.1 = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(msg(f, now), "endTime 11:00:00+01:00 is not the wall-clock time of endAt");
    }

    #[test]
    fn an_order_request_is_cash_bounded_and_without_repeats() {
        let user = UserId::new();
        let a = CoachEventId::new();
        assert!(OrderRequest::parse(user, vec![a], PaymentMethod::Cash).is_ok());
        assert!(OrderRequest::parse(user, vec![a], PaymentMethod::Card).unwrap_err().0.contains("card payments"));
        assert!(OrderRequest::parse(user, vec![], PaymentMethod::Cash).is_err());
        assert!(OrderRequest::parse(user, vec![a; 2], PaymentMethod::Cash).unwrap_err().0.contains("once"));
        let many: Vec<CoachEventId> = (0..=MAX_ORDER_EVENTS).map(|_| CoachEventId::new()).collect();
        assert!(OrderRequest::parse(user, many, PaymentMethod::Cash).is_err());
    }

    #[test]
    fn changes_follow_time_and_status() {
        let now = t(12, 0);
        let before = BookingFacts { status: Status::Accepted, event: Interval { start: t(13, 0), end: t(14, 0) } };
        let after = BookingFacts { status: Status::Accepted, event: Interval { start: t(10, 0), end: t(11, 0) } };
        assert_eq!(cancel(before, now), Ok(Status::Canceled));
        assert!(cancel(after, now).is_err());
        assert_eq!(open_dispute(after, now), Ok(Status::InDispute));
        assert!(open_dispute(before, now).is_err());
        assert!(check_completion(after, now).is_ok());
        assert_eq!(check_completion(before, now).unwrap_err().0, "the event has not ended yet");
        assert!(check_note(BookingFacts { status: Status::Canceled, ..after }, now).is_err());
        assert!(check_dismissal(Status::Canceled).is_ok() && check_dismissal(Status::Accepted).is_err());
        assert!(ListWindow::parse(Some(now), Some(now)).is_err());
        assert_eq!(BookingsQuery::parse(None, None, ListWindow::default()).unwrap_err().0, "give userId or eventId");
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
        let user = UserId::new();
        let coach = UserId::new();
        let now = t(8, 0);
        let ok = event(coach, (10, 0), (11, 0), 5, 0);
        let own = event(user, (12, 0), (13, 0), 5, 0);
        let past = event(coach, (7, 0), (9, 0), 5, 0);
        let close = event(coach, (8, 20), (8, 50), 5, 0);
        let full = event(coach, (14, 0), (15, 0), 2, 2);
        let mut canceled = event(coach, (16, 0), (17, 0), 5, 0);
        canceled.canceled = true;
        let missing = CoachEventId::new();
        let requested: Vec<(CoachEventId, Option<EventFacts>)> = vec![
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
        let user = UserId::new();
        let e = event(UserId::new(), (10, 0), (11, 0), 1, 0);
        let req = vec![(e.id, Some(e.clone()))];
        assert!(check_order(user, t(9, 30), &req, &[]).is_empty());
        assert_eq!(check_order(user, t(9, 31), &req, &[]), vec![(e.id, OrderError::TooClose)]);
    }

    #[test]
    fn conflicts_with_the_schedule_the_order_and_held_events() {
        let user = UserId::new();
        let coach = UserId::new();
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

    #[test]
    fn ordinals_count_each_athletes_bookings_with_each_coach_by_start_then_id() {
        let (ann, bob) = (UserId::new(), UserId::new());
        let (coach, other) = (UserId::new(), UserId::new());
        let booking = |user, coach, start: (u32, u32)| LiveBooking {
            id: BookingId::new(),
            user_id: user,
            coach_id: coach,
            event_id: CoachEventId::new(),
            span: Interval { start: t(start.0, start.1), end: t(start.0, start.1) + Duration::hours(1) },
        };
        let late = booking(ann, coach, (15, 0));
        let early = booking(ann, coach, (9, 0));
        let (tie_a, tie_b) = (booking(ann, coach, (12, 0)), booking(ann, coach, (12, 0)));
        let (first_tie, second_tie) = if tie_a.id < tie_b.id { (tie_a, tie_b) } else { (tie_b, tie_a) };
        let with_other = booking(ann, other, (16, 0));
        let bobs = booking(bob, coach, (10, 0));
        let got = ordinals([late, second_tie, bobs, early, with_other, first_tie]);
        let want: BTreeMap<BookingId, i64> =
            [(early.id, 1), (first_tie.id, 2), (second_tie.id, 3), (late.id, 4), (with_other.id, 1), (bobs.id, 1)]
                .into_iter()
                .collect();
        assert_eq!(got, want);
    }
}
