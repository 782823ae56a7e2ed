//! Who hears of what, and when: the notification rules as decisions over plain facts. Pure: the
//! store brings the facts of a subject (a booking or a reservation), the outbox renders and
//! sends what is decided here.
//!
//! A rule has a trigger (what happened, or which moment came), an offset for the timed triggers,
//! and a recipient. For each trigger, [`window`] says which subjects are due at `now`: the
//! statuses they must have and the span one of their times must fall in. The store turns a
//! window into a query; [`BookingWindow::admits`] and [`ReservationWindow::admits`] are the same
//! decision over facts (a store test holds the two together). [`booking_addressee`] and
//! [`reservation_addressee`] then say who, of a due subject, hears of it.

use super::bookings::Status;
use super::ids::{BookingId, CalendarEventId, CalendarId, CoachEventId, OrderId, UserId};
use super::kinds::CancellationReason;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    BookingCreated,
    BookingCanceled,
    CoachEventCanceled,
    DisputeOpened,
    DisputeResolved,
    BookingBeforeStart,
    BookingAfterEnd,
    ReservationCreated,
    /// The calendar's owner cancelled it (deleteCalendarEvent).
    ReservationDeleted,
    ReservationBeforeStart,
    /// Its visitor moved it (rescheduleReservation).
    ReservationRescheduled,
    /// Its visitor cancelled it (cancelReservation).
    ReservationCanceledByGuest,
    /// It was made waiting for the owner's confirmation (issue #25's approval).
    ReservationRequested,
    /// The owner declined it while it was pending (declineReservation).
    ReservationDeclined,
    /// It was pending past its time and was released.
    ReservationExpired,
}

impl Trigger {
    pub const ALL: [(&'static str, Trigger); 15] = [
        ("booking.created", Trigger::BookingCreated),
        ("booking.canceled", Trigger::BookingCanceled),
        ("coach_event.canceled", Trigger::CoachEventCanceled),
        ("dispute.opened", Trigger::DisputeOpened),
        ("dispute.resolved", Trigger::DisputeResolved),
        ("booking.before_start", Trigger::BookingBeforeStart),
        ("booking.after_end", Trigger::BookingAfterEnd),
        ("reservation.created", Trigger::ReservationCreated),
        ("reservation.deleted", Trigger::ReservationDeleted),
        ("reservation.before_start", Trigger::ReservationBeforeStart),
        ("reservation.rescheduled", Trigger::ReservationRescheduled),
        ("reservation.canceled_by_guest", Trigger::ReservationCanceledByGuest),
        ("reservation.requested", Trigger::ReservationRequested),
        ("reservation.declined", Trigger::ReservationDeclined),
        ("reservation.expired", Trigger::ReservationExpired),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map(|(n, _)| *n).unwrap_or("?")
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
    }

    pub fn is_reservation(self) -> bool {
        matches!(
            self,
            Trigger::ReservationCreated
                | Trigger::ReservationDeleted
                | Trigger::ReservationBeforeStart
                | Trigger::ReservationRescheduled
                | Trigger::ReservationCanceledByGuest
                | Trigger::ReservationRequested
                | Trigger::ReservationDeclined
                | Trigger::ReservationExpired
        )
    }

    /// Whether it is about an event called off: an invitation it carries is a cancellation
    /// (iTIP `METHOD:CANCEL`).
    pub fn cancels(self) -> bool {
        matches!(
            self,
            Trigger::BookingCanceled
                | Trigger::CoachEventCanceled
                | Trigger::ReservationDeleted
                | Trigger::ReservationCanceledByGuest
        )
    }

    /// Whether it happens again to one subject (a reservation is moved more than once): its
    /// messages are keyed by the subject's version too, so each move is told.
    pub fn repeats(self) -> bool {
        self == Trigger::ReservationRescheduled
    }

    /// Time-based triggers take an offset and are subject to the late horizon.
    pub fn is_timed(self) -> bool {
        matches!(self, Trigger::BookingBeforeStart | Trigger::BookingAfterEnd | Trigger::ReservationBeforeStart)
    }

    /// The `type` of a webhook message about it (Standard Webhooks: dotted, `<subject>.<what>`):
    /// the trigger's own name, except that a deleted reservation is a canceled one to receivers.
    pub fn webhook_type(self) -> &'static str {
        match self {
            Trigger::ReservationDeleted | Trigger::ReservationCanceledByGuest => "reservation.canceled",
            other => other.name(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    Athlete,
    Coach,
    /// booking.canceled: the side that did not cancel.
    OtherParty,
    Owner,
    Visitor,
}

impl Recipient {
    pub const ALL: [Recipient; 5] =
        [Recipient::Athlete, Recipient::Coach, Recipient::OtherParty, Recipient::Owner, Recipient::Visitor];

    pub fn name(self) -> &'static str {
        match self {
            Recipient::Athlete => "athlete",
            Recipient::Coach => "coach",
            Recipient::OtherParty => "other_party",
            Recipient::Owner => "owner",
            Recipient::Visitor => "visitor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether a rule may send this trigger to this recipient: reservations have an owner and a
    /// visitor, bookings an athlete and a coach, and only a cancellation has an other party.
    pub fn applies_to(self, trigger: Trigger) -> bool {
        match self {
            Recipient::Owner | Recipient::Visitor => trigger.is_reservation(),
            Recipient::OtherParty => trigger == Trigger::BookingCanceled,
            Recipient::Athlete | Recipient::Coach => !trigger.is_reservation(),
        }
    }
}

/// How far from `now` the rules look: a reminder whose moment passed more than `late` ago is
/// not sent late; state changes are looked at `event` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizons {
    pub late: Duration,
    pub event: Duration,
}

/// The instants `t` with `after < t` and, when `until` is set, `t <= until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub after: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

impl Span {
    pub fn contains(&self, t: Option<DateTime<Utc>>) -> bool {
        t.is_some_and(|t| t > self.after && self.until.is_none_or(|until| t <= until))
    }
}

/// Which of a booking's times a window looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingTime {
    Created,
    Canceled,
    Updated,
    Starts,
    Ends,
}

/// The bookings due for a trigger at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingWindow {
    pub statuses: Vec<Status>,
    pub time: BookingTime,
    pub span: Span,
    /// Only bookings not marked completed.
    pub uncompleted_only: bool,
}

/// Which of a reservation's times a window looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationTime {
    Created,
    /// When it started to hold its time as confirmed: when the owner confirmed it, else when
    /// it was made.
    Confirmed,
    Cancelled,
    Starts,
    Moved,
}

/// Who cancelled a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationCanceller {
    /// Its visitor, through their manage token.
    Guest,
    /// The calendar's owner (also every cancellation from before this was recorded).
    Owner,
    /// The owner declined it while it was pending.
    Declined,
    /// Nobody decided it in time: released.
    Expired,
}

/// The reservations due for a trigger at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationWindow {
    pub cancelled: bool,
    /// Only reservations waiting for the owner's confirmation (`Some(true)`), or only those not
    /// waiting (`Some(false)`: confirmed, or made on a link that does not ask).
    pub pending: Option<bool>,
    /// Only reservations cancelled by them.
    pub cancelled_by: Option<ReservationCanceller>,
    pub time: ReservationTime,
    pub span: Span,
}

/// What a trigger is due for at some moment: bookings or reservations in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueWindow {
    Bookings(BookingWindow),
    Reservations(ReservationWindow),
}

/// The span of a timed trigger: its moment (`at - offset` for a start, `at + offset` for an end)
/// has come, and came at most the late horizon ago.
fn timed(moment_ref: DateTime<Utc>, late: Duration) -> Span {
    Span { after: moment_ref - late, until: Some(moment_ref) }
}

/// Which subjects a trigger (with its offset) is due for at `now`.
pub fn window(trigger: Trigger, offset: Duration, horizons: Horizons, now: DateTime<Utc>) -> DueWindow {
    let recent = Span { after: now - horizons.event, until: Some(now) };
    let since = Span { until: None, ..recent };
    let bookings = |statuses: &[Status], time, span, uncompleted_only| {
        DueWindow::Bookings(BookingWindow { statuses: statuses.to_vec(), time, span, uncompleted_only })
    };
    // Only what holds its time as confirmed is told as made, moved or coming (a pending
    // reservation is told as requested, then as made once confirmed).
    let reservations = |cancelled, time, span| {
        DueWindow::Reservations(ReservationWindow { cancelled, pending: Some(false), cancelled_by: None, time, span })
    };
    let cancelled_by = |by| {
        let span = recent;
        DueWindow::Reservations(ReservationWindow {
            cancelled: true,
            pending: None,
            cancelled_by: Some(by),
            time: ReservationTime::Cancelled,
            span,
        })
    };
    let live: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_live()).collect();
    // Before a start: due once start - offset has come, never once the start has.
    let before_start = {
        let span = timed(now + offset, horizons.late);
        Span { after: span.after.max(now), ..span }
    };
    match trigger {
        Trigger::BookingCreated => bookings(&live, BookingTime::Created, recent, false),
        Trigger::BookingCanceled | Trigger::CoachEventCanceled => {
            bookings(&[Status::Canceled], BookingTime::Canceled, recent, false)
        }
        Trigger::DisputeOpened => bookings(&[Status::InDispute], BookingTime::Updated, since, false),
        Trigger::DisputeResolved => bookings(&[Status::DisputeDone], BookingTime::Updated, since, false),
        Trigger::BookingBeforeStart => {
            bookings(&[Status::Pending, Status::Accepted], BookingTime::Starts, before_start, false)
        }
        Trigger::BookingAfterEnd => bookings(
            &[Status::Accepted, Status::InDispute, Status::DisputeDone],
            BookingTime::Ends,
            timed(now - offset, horizons.late),
            true,
        ),
        Trigger::ReservationCreated => reservations(false, ReservationTime::Confirmed, recent),
        Trigger::ReservationRequested => DueWindow::Reservations(ReservationWindow {
            cancelled: false,
            pending: Some(true),
            cancelled_by: None,
            time: ReservationTime::Created,
            span: recent,
        }),
        Trigger::ReservationDeclined => cancelled_by(ReservationCanceller::Declined),
        Trigger::ReservationExpired => cancelled_by(ReservationCanceller::Expired),
        Trigger::ReservationDeleted => cancelled_by(ReservationCanceller::Owner),
        Trigger::ReservationCanceledByGuest => cancelled_by(ReservationCanceller::Guest),
        Trigger::ReservationRescheduled => reservations(false, ReservationTime::Moved, recent),
        Trigger::ReservationBeforeStart => reservations(false, ReservationTime::Starts, before_start),
    }
}

/// Who canceled a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanceledBy {
    Athlete,
    Coach,
    System,
}

impl CanceledBy {
    /// As stored and as the templates see it.
    pub fn as_str(self) -> &'static str {
        match self {
            CanceledBy::Athlete => "Athlete",
            CanceledBy::Coach => "Coach",
            CanceledBy::System => "System",
        }
    }
}

/// The coach event a booking is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub id: CoachEventId,
    pub canceled: bool,
    /// When it was cancelled (unknown for events cancelled before this was recorded).
    pub canceled_at: Option<DateTime<Utc>>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The stored local start time with its offset (`10:00:00+03:00`).
    pub start_time: String,
    pub places: i32,
    /// Places held by live bookings.
    pub places_taken: i64,
}

impl EventFacts {
    pub fn places_left(&self) -> i64 {
        (i64::from(self.places) - self.places_taken).max(0)
    }
}

/// What the rules know of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFacts {
    pub id: BookingId,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub coach_id: UserId,
    pub status: Status,
    pub completed: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub canceled_by: Option<CanceledBy>,
    pub reason_code: Option<CancellationReason>,
    pub reason_text: Option<String>,
    pub athlete_email: Option<String>,
    pub coach_email: Option<String>,
    pub event: EventFacts,
}

impl BookingFacts {
    /// The reason given: the free text, else the code.
    pub fn reason(&self) -> Option<&str> {
        self.reason_text.as_deref().or(self.reason_code.map(CancellationReason::as_str))
    }

    fn time(&self, time: BookingTime) -> Option<DateTime<Utc>> {
        match time {
            BookingTime::Created => Some(self.created_at),
            BookingTime::Canceled => self.canceled_at,
            BookingTime::Updated => Some(self.updated_at),
            BookingTime::Starts => Some(self.starts_at),
            BookingTime::Ends => Some(self.ends_at),
        }
    }

    /// Whether it was cancelled by its event's cancellation: the event is cancelled, and the
    /// booking was not cancelled before that (by its athlete or coach, told as such already).
    pub fn canceled_with_event(&self) -> bool {
        self.event.canceled
            && match (self.canceled_at, self.event.canceled_at) {
                (Some(booking), Some(event)) => booking >= event,
                _ => true,
            }
    }

    fn email_of(&self, user: UserId) -> Option<String> {
        if user == self.user_id {
            self.athlete_email.clone()
        } else {
            self.coach_email.clone()
        }
    }
}

impl BookingWindow {
    /// Whether the booking is in this window.
    pub fn admits(&self, b: &BookingFacts) -> bool {
        self.statuses.contains(&b.status)
            && !(self.uncompleted_only && b.completed)
            && self.span.contains(b.time(self.time))
    }
}

/// What the rules know of a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationFacts {
    pub id: CalendarEventId,
    pub calendar_id: CalendarId,
    pub owner_id: UserId,
    pub owner_email: Option<String>,
    pub title: String,
    pub notes: Option<String>,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub cancelled: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Who cancelled it, when it is cancelled.
    pub cancelled_by: Option<ReservationCanceller>,
    /// The visitor's reason, when they cancelled it.
    pub cancel_reason: Option<String>,
    /// How many times it was moved, and when last.
    pub sequence: i32,
    pub moved_at: Option<DateTime<Utc>>,
    /// The stored hash of its manage token (for the visitor's manage link).
    pub manage_token_hash: Option<String>,
    /// Where it takes place (its link's location when it was made), if said.
    pub location: Option<String>,
    /// The zone of the booking link it was made through (UTC without one).
    pub timezone: chrono_tz::Tz,
    /// It waits for the owner's confirmation (issue #25's approval).
    pub pending: bool,
    /// When the owner confirmed it (it waited for them).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// While pending: when it lapses.
    pub pending_until: Option<DateTime<Utc>>,
    /// Another member's row of a collective team link's booking (issue #25): its calendar's
    /// owner is told of it, its visitor only through their own row.
    pub team_member_row: bool,
}

impl ReservationWindow {
    /// Whether the reservation is in this window.
    pub fn admits(&self, r: &ReservationFacts) -> bool {
        let t = match self.time {
            ReservationTime::Created => Some(r.created_at),
            ReservationTime::Confirmed => r.confirmed_at.or(Some(r.created_at)),
            ReservationTime::Cancelled => r.cancelled_at,
            ReservationTime::Starts => Some(r.starts_at),
            ReservationTime::Moved => r.moved_at,
        };
        let by = r.cancelled_by.unwrap_or(ReservationCanceller::Owner);
        r.cancelled == self.cancelled
            && self.pending.is_none_or(|p| p == r.pending)
            && self.cancelled_by.is_none_or(|b| b == by)
            && self.span.contains(t)
    }
}

/// Who a message goes to: a user of the system (with the address known for them, if any), or
/// a visitor known only by the address they gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    pub user_id: Option<UserId>,
    pub email: Option<String>,
}

/// Who, of a due booking, hears of it under a rule; `None`: nobody (the rule is about the other
/// kind of cancellation, or names a reservation's recipient).
pub fn booking_addressee(trigger: Trigger, recipient: Recipient, b: &BookingFacts) -> Option<Addressee> {
    match trigger {
        Trigger::BookingCanceled if b.canceled_with_event() => return None,
        Trigger::CoachEventCanceled if !b.canceled_with_event() => return None,
        _ => {}
    }
    let user = match recipient {
        Recipient::Athlete => b.user_id,
        Recipient::Coach => b.coach_id,
        Recipient::OtherParty if b.canceled_by == Some(CanceledBy::Athlete) => b.coach_id,
        Recipient::OtherParty => b.user_id,
        Recipient::Owner | Recipient::Visitor => return None,
    };
    Some(Addressee { user_id: Some(user), email: b.email_of(user) })
}

/// Who, of a due reservation, hears of it: the calendar's owner or the visitor who reserved.
pub fn reservation_addressee(recipient: Recipient, r: &ReservationFacts) -> Option<Addressee> {
    match recipient {
        Recipient::Owner => Some(Addressee { user_id: Some(r.owner_id), email: r.owner_email.clone() }),
        Recipient::Visitor if r.team_member_row => None,
        Recipient::Visitor => Some(Addressee { user_id: None, email: r.attendee_email.clone() }),
        _ => None,
    }
}

/// The outbox's unique key: one message per rule, subject (at `version`, for a trigger that
/// [repeats](Trigger::repeats)) and recipient (a webhook rule has one recipient, the webhook).
pub fn dedupe_key(rule: &str, subject: Uuid, version: Option<i32>, recipient: Recipient, webhook: bool) -> String {
    let to = if webhook { "webhook" } else { recipient.name() };
    match version {
        Some(v) => format!("{rule}:{subject}@{v}:{to}"),
        None => format!("{rule}:{subject}:{to}"),
    }
}

/// Why an email cannot be sent: no address is known for the recipient.
pub fn unaddressable(email_channel: bool, recipient: Recipient, addressee: &Addressee) -> Option<String> {
    (email_channel && addressee.email.is_none()).then(|| format!("no email address known for the {}", recipient.name()))
}

/// What happens to a message after a send failed (`attempts` sends so far, this one included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(DateTime<Utc>),
    GiveUp,
}

/// A transient failure is retried with backoff until `max_attempts` sends; a permanent one is
/// not.
pub fn after_failure(
    transient: bool,
    attempts: i32,
    max_attempts: i32,
    base: Duration,
    now: DateTime<Utc>,
) -> AfterFailure {
    if transient && attempts < max_attempts {
        AfterFailure::RetryAt(now + backoff(base, attempts))
    } else {
        AfterFailure::GiveUp
    }
}

/// The backoff before retry number `attempts` (1-based): base, 2 base, 4 base, ... capped at a day.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let factor = 1i64 << (attempts.clamp(1, 20) - 1);
    (base * factor as i32).min(Duration::days(1))
}

/// The waits of a webhook message after each failed send (Standard Webhooks' schedule): sent
/// immediately, then again 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each
/// failure; ten sends over about three days, then it is given up.
pub const WEBHOOK_SCHEDULE: [Duration; 9] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(14),
    Duration::hours(20),
    Duration::hours(24),
];

/// How far a webhook wait is moved either way, as a part of it: 0.1 is ±10 %.
pub const WEBHOOK_JITTER: f64 = 0.1;

/// The longest `Retry-After` honoured; a longer one is cut to it.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(24);

/// A number in `[0, 1)` spread evenly over messages and sends, the same for the same message and
/// send (so a wait is reproducible, and messages that failed together do not all come back at
/// once).
pub fn jitter_of(message: Uuid, attempts: i32) -> f64 {
    // splitmix64 over the id's halves and the send.
    let mut x = (message.as_u128() as u64) ^ ((message.as_u128() >> 64) as u64) ^ (attempts as u64).rotate_left(32);
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// What happens to a webhook message after a send that failed transiently (`attempts` sends so
/// far, this one included): the next send after the schedule's wait moved by `jitter` (in
/// `[0, 1)`: from -10 % to +10 %), and never before a `Retry-After` the receiver asked for (cut
/// to [`MAX_RETRY_AFTER`]); after the schedule's last wait it is given up.
pub fn webhook_after_failure(
    attempts: i32,
    jitter: f64,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> AfterFailure {
    let Some(wait) = usize::try_from(attempts - 1).ok().and_then(|i| WEBHOOK_SCHEDULE.get(i)) else {
        return AfterFailure::GiveUp;
    };
    let spread = (wait.num_milliseconds() as f64 * WEBHOOK_JITTER * (2.0 * jitter.clamp(0.0, 1.0) - 1.0)) as i64;
    let wait = *wait + Duration::milliseconds(spread);
    let asked = retry_after.map(|r| r.clamp(Duration::zero(), MAX_RETRY_AFTER)).unwrap_or_else(Duration::zero);
    AfterFailure::RetryAt(now + wait.max(asked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 10, 12, 0, 0).unwrap()
    }

    const HORIZONS: Horizons = Horizons { late: Duration::hours(2), event: Duration::days(7) };

    fn booking(status: Status) -> BookingFacts {
        let (athlete, coach) = (UserId::from_uuid(Uuid::from_u128(1)), UserId::from_uuid(Uuid::from_u128(2)));
        BookingFacts {
            id: BookingId::from_uuid(Uuid::from_u128(10)),
            order_id: OrderId::from_uuid(Uuid::from_u128(11)),
            user_id: athlete,
            coach_id: coach,
            status,
            completed: false,
            starts_at: now() + Duration::days(3),
            ends_at: now() + Duration::days(3) + Duration::hours(1),
            created_at: now() - Duration::minutes(1),
            updated_at: now() - Duration::minutes(1),
            canceled_at: None,
            canceled_by: None,
            reason_code: None,
            reason_text: None,
            athlete_email: Some("athlete@example.com".into()),
            coach_email: None,
            event: EventFacts {
                id: CoachEventId::from_uuid(Uuid::from_u128(20)),
                canceled: false,
                canceled_at: None,
                starts_at: now() + Duration::days(3),
                ends_at: now() + Duration::days(3) + Duration::hours(1),
                start_time: "10:00:00+03:00".into(),
                places: 3,
                places_taken: 5,
            },
        }
    }

    fn reservation() -> ReservationFacts {
        ReservationFacts {
            id: CalendarEventId::from_uuid(Uuid::from_u128(30)),
            calendar_id: CalendarId::from_uuid(Uuid::from_u128(31)),
            owner_id: UserId::from_uuid(Uuid::from_u128(32)),
            owner_email: Some("owner@example.com".into()),
            title: "Call".into(),
            notes: None,
            attendee_name: Some("Visitor".into()),
            attendee_email: Some("visitor@example.com".into()),
            cancelled: false,
            starts_at: now() + Duration::hours(5),
            ends_at: now() + Duration::hours(6),
            created_at: now() - Duration::minutes(1),
            cancelled_at: None,
            cancelled_by: None,
            cancel_reason: None,
            sequence: 0,
            moved_at: None,
            manage_token_hash: None,
            location: Some("https://meet.example.com/r/1".into()),
            timezone: chrono_tz::UTC,
            pending: false,
            confirmed_at: None,
            pending_until: None,
            team_member_row: false,
        }
    }

    #[test]
    fn a_pending_reservation_is_told_as_requested_then_as_made_once_confirmed() {
        let requested = reservations_window(Trigger::ReservationRequested, Duration::zero());
        let created = reservations_window(Trigger::ReservationCreated, Duration::zero());
        let reminder = reservations_window(Trigger::ReservationBeforeStart, Duration::hours(24));
        let pending = ReservationFacts {
            pending: true,
            starts_at: now() + Duration::hours(2),
            pending_until: Some(now() + Duration::hours(1)),
            ..reservation()
        };
        assert!(requested.admits(&pending));
        assert!(!created.admits(&pending), "not told as made while pending");
        assert!(!reminder.admits(&pending), "no reminder of a request");
        // Confirmed a week after it was made: told as made now, not as requested.
        let old = now() - Duration::days(8);
        let confirmed = ReservationFacts {
            pending: false,
            created_at: old,
            confirmed_at: Some(now() - Duration::minutes(1)),
            ..pending.clone()
        };
        assert!(created.admits(&confirmed));
        assert!(!requested.admits(&confirmed));
        // Declined and lapsed: each its own trigger, never the owner's cancellation.
        let over = |by| ReservationFacts {
            cancelled: true,
            cancelled_at: Some(now()),
            cancelled_by: Some(by),
            ..pending.clone()
        };
        let declined = reservations_window(Trigger::ReservationDeclined, Duration::zero());
        let expired = reservations_window(Trigger::ReservationExpired, Duration::zero());
        let deleted = reservations_window(Trigger::ReservationDeleted, Duration::zero());
        assert!(declined.admits(&over(ReservationCanceller::Declined)));
        assert!(!declined.admits(&over(ReservationCanceller::Expired)));
        assert!(expired.admits(&over(ReservationCanceller::Expired)));
        assert!(!deleted.admits(&over(ReservationCanceller::Declined)));
        assert!(!deleted.admits(&over(ReservationCanceller::Expired)));
    }

    #[test]
    fn a_visitor_hears_of_a_collective_booking_once_through_their_own_row() {
        let own = reservation();
        let other = ReservationFacts { team_member_row: true, ..reservation() };
        assert!(reservation_addressee(Recipient::Visitor, &own).is_some());
        assert_eq!(reservation_addressee(Recipient::Visitor, &other), None);
        assert_eq!(
            reservation_addressee(Recipient::Owner, &other).map(|a| a.email),
            Some(Some("owner@example.com".to_string()))
        );
    }

    fn bookings_window(trigger: Trigger, offset: Duration) -> BookingWindow {
        match window(trigger, offset, HORIZONS, now()) {
            DueWindow::Bookings(w) => w,
            w => panic!("{trigger:?} is about bookings: {w:?}"),
        }
    }

    fn reservations_window(trigger: Trigger, offset: Duration) -> ReservationWindow {
        match window(trigger, offset, HORIZONS, now()) {
            DueWindow::Reservations(w) => w,
            w => panic!("{trigger:?} is about reservations: {w:?}"),
        }
    }

    #[test]
    fn webhook_retries_follow_the_standard_schedule_with_jitter() {
        let waits: Vec<Duration> = (1..=9)
            .map(|n| match webhook_after_failure(n, 0.5, None, now()) {
                AfterFailure::RetryAt(at) => at - now(),
                AfterFailure::GiveUp => panic!("send {n} is retried"),
            })
            .collect();
        let hours = |h| Duration::hours(h);
        assert_eq!(
            waits,
            [
                Duration::seconds(5),
                Duration::minutes(5),
                Duration::minutes(30),
                hours(2),
                hours(5),
                hours(10),
                hours(14),
                hours(20),
                hours(24)
            ]
        );
        // Ten sends over about three days, then no more.
        let total: Duration = waits.iter().sum();
        assert!(total > Duration::days(3) && total < Duration::days(4), "{total}");
        assert_eq!(webhook_after_failure(10, 0.5, None, now()), AfterFailure::GiveUp);
        assert_eq!(webhook_after_failure(0, 0.5, None, now()), AfterFailure::GiveUp);
        // Jitter moves a wait by at most 10 % either way.
        assert_eq!(webhook_after_failure(3, 0.0, None, now()), AfterFailure::RetryAt(now() + Duration::minutes(27)));
        assert_eq!(webhook_after_failure(3, 1.0, None, now()), AfterFailure::RetryAt(now() + Duration::minutes(33)));
        // Retry-After is a floor, cut to a day.
        let at = |r| webhook_after_failure(2, 0.5, Some(r), now());
        assert_eq!(at(Duration::seconds(1)), AfterFailure::RetryAt(now() + Duration::minutes(5)));
        assert_eq!(at(Duration::hours(1)), AfterFailure::RetryAt(now() + Duration::hours(1)));
        assert_eq!(at(Duration::days(30)), AfterFailure::RetryAt(now() + Duration::days(1)));
    }

    #[test]
    fn jitter_is_reproducible_spread_and_in_range() {
        let a = Uuid::from_u128(0x1234);
        assert_eq!(jitter_of(a, 1), jitter_of(a, 1));
        assert_ne!(jitter_of(a, 1), jitter_of(a, 2));
        let values: Vec<f64> = (0..1000u128).map(|i| jitter_of(Uuid::from_u128(i * 7919), 1)).collect();
        assert!(values.iter().all(|j| (0.0..1.0).contains(j)));
        let low = values.iter().filter(|j| **j < 0.5).count();
        assert!((400..600).contains(&low), "{low}");
    }

    #[test]
    fn webhook_types_are_dotted_and_distinct() {
        let types: std::collections::BTreeSet<&str> = Trigger::ALL.iter().map(|(_, t)| t.webhook_type()).collect();
        // Both cancellations of a reservation are one type to receivers (`data.trigger` tells them apart).
        assert_eq!(types.len(), Trigger::ALL.len() - 1);
        assert!(types.iter().all(|t| t.split('.').count() == 2), "{types:?}");
        assert_eq!(Trigger::ReservationDeleted.webhook_type(), "reservation.canceled");
    }

    #[test]
    fn every_trigger_looks_at_its_own_kind_of_subject() {
        for (_, trigger) in Trigger::ALL {
            let is_reservation =
                matches!(window(trigger, Duration::hours(1), HORIZONS, now()), DueWindow::Reservations(_));
            assert_eq!(is_reservation, trigger.is_reservation(), "{trigger:?}");
        }
    }

    #[test]
    fn a_new_live_booking_is_confirmed_and_a_rejected_one_is_not() {
        let w = bookings_window(Trigger::BookingCreated, Duration::zero());
        assert!(w.admits(&booking(Status::Pending)));
        assert!(w.admits(&booking(Status::Accepted)));
        assert!(!w.admits(&booking(Status::Rejected)));
        assert!(!w.admits(&booking(Status::Canceled)));
        let old = BookingFacts { created_at: now() - Duration::days(8), ..booking(Status::Accepted) };
        assert!(!w.admits(&old), "older than the event horizon");
        let future = BookingFacts { created_at: now() + Duration::seconds(1), ..booking(Status::Accepted) };
        assert!(!w.admits(&future), "not created yet at now");
    }

    #[test]
    fn a_reminder_is_due_from_its_moment_for_the_late_horizon_and_never_after_the_start() {
        let w = bookings_window(Trigger::BookingBeforeStart, Duration::hours(24));
        let starting = |in_: Duration| BookingFacts { starts_at: now() + in_, ..booking(Status::Accepted) };
        assert!(w.admits(&starting(Duration::hours(24))), "the moment itself");
        assert!(w.admits(&starting(Duration::hours(23))), "an hour late");
        assert!(!w.admits(&starting(Duration::hours(22))), "the late horizon passed");
        assert!(!w.admits(&starting(Duration::hours(25))), "not yet");
        let w = bookings_window(Trigger::BookingBeforeStart, Duration::hours(1));
        assert!(w.admits(&starting(Duration::minutes(50))));
        assert!(!w.admits(&starting(Duration::zero())), "the event has started");
        let canceled = BookingFacts { status: Status::Canceled, ..starting(Duration::minutes(50)) };
        assert!(!w.admits(&canceled));
    }

    #[test]
    fn after_the_end_only_uncompleted_bookings_that_took_place_are_asked_about() {
        let w = bookings_window(Trigger::BookingAfterEnd, Duration::hours(1));
        let ended = |ago: Duration, status| BookingFacts { ends_at: now() - ago, ..booking(status) };
        assert!(w.admits(&ended(Duration::hours(1), Status::Accepted)));
        assert!(w.admits(&ended(Duration::minutes(90), Status::InDispute)));
        assert!(!w.admits(&ended(Duration::minutes(30), Status::Accepted)), "the offset has not passed");
        assert!(!w.admits(&ended(Duration::hours(4), Status::Accepted)), "the late horizon passed");
        assert!(!w.admits(&ended(Duration::hours(1), Status::Pending)));
        let completed = BookingFacts { completed: true, ..ended(Duration::hours(1), Status::Accepted) };
        assert!(!w.admits(&completed));
    }

    #[test]
    fn disputes_are_looked_at_by_their_last_change() {
        let opened = bookings_window(Trigger::DisputeOpened, Duration::zero());
        let resolved = bookings_window(Trigger::DisputeResolved, Duration::zero());
        assert!(opened.admits(&booking(Status::InDispute)) && !opened.admits(&booking(Status::DisputeDone)));
        assert!(resolved.admits(&booking(Status::DisputeDone)) && !resolved.admits(&booking(Status::InDispute)));
        assert_eq!(opened.span.until, None, "no upper bound: as before");
    }

    #[test]
    fn a_cancellation_goes_to_the_other_party_and_an_event_cancellation_to_the_athlete() {
        let canceled = |by, event_canceled| {
            let mut b = booking(Status::Canceled);
            b.canceled_at = Some(now() - Duration::minutes(5));
            b.canceled_by = Some(by);
            b.event.canceled = event_canceled;
            b
        };
        let w = bookings_window(Trigger::BookingCanceled, Duration::zero());
        assert!(w.admits(&canceled(CanceledBy::Athlete, false)));
        assert!(!w.admits(&booking(Status::Canceled)), "no cancellation time");
        let to =
            |trigger, recipient, b: &BookingFacts| booking_addressee(trigger, recipient, b).and_then(|a| a.user_id);
        let (athlete, coach) = (UserId::from_uuid(Uuid::from_u128(1)), UserId::from_uuid(Uuid::from_u128(2)));
        let b = canceled(CanceledBy::Athlete, false);
        assert_eq!(to(Trigger::BookingCanceled, Recipient::OtherParty, &b), Some(coach));
        assert_eq!(
            to(Trigger::BookingCanceled, Recipient::OtherParty, &canceled(CanceledBy::Coach, false)),
            Some(athlete)
        );
        assert_eq!(
            to(Trigger::BookingCanceled, Recipient::OtherParty, &canceled(CanceledBy::System, false)),
            Some(athlete)
        );
        assert_eq!(to(Trigger::CoachEventCanceled, Recipient::Athlete, &b), None, "the event still runs");
        let event_gone = canceled(CanceledBy::System, true);
        assert_eq!(
            to(Trigger::BookingCanceled, Recipient::OtherParty, &event_gone),
            None,
            "told as an event cancellation"
        );
        assert_eq!(to(Trigger::CoachEventCanceled, Recipient::Athlete, &event_gone), Some(athlete));
        // A booking its athlete cancelled before the event was: told as that, once.
        let mut earlier = canceled(CanceledBy::Athlete, true);
        earlier.event.canceled_at = earlier.canceled_at.map(|t| t + Duration::minutes(5));
        assert_eq!(to(Trigger::CoachEventCanceled, Recipient::Athlete, &earlier), None);
        assert_eq!(to(Trigger::BookingCanceled, Recipient::Coach, &earlier), Some(b.coach_id));
        earlier.event.canceled_at = earlier.canceled_at;
        assert_eq!(to(Trigger::CoachEventCanceled, Recipient::Athlete, &earlier), Some(athlete), "cancelled with it");
    }

    #[test]
    fn the_address_is_the_recipients_own() {
        let b = booking(Status::Accepted);
        let athlete = booking_addressee(Trigger::BookingCreated, Recipient::Athlete, &b).unwrap();
        assert_eq!(athlete.email.as_deref(), Some("athlete@example.com"));
        let coach = booking_addressee(Trigger::BookingCreated, Recipient::Coach, &b).unwrap();
        assert_eq!((coach.user_id, coach.email), (Some(b.coach_id), None));
        assert_eq!(
            unaddressable(
                true,
                Recipient::Coach,
                &booking_addressee(Trigger::BookingCreated, Recipient::Coach, &b).unwrap()
            ),
            Some("no email address known for the coach".to_string())
        );
        assert_eq!(unaddressable(false, Recipient::Coach, &Addressee { user_id: None, email: None }), None);
        assert_eq!(booking_addressee(Trigger::BookingCreated, Recipient::Owner, &b), None);
    }

    #[test]
    fn reservations_go_to_the_owner_or_the_visitor() {
        let r = reservation();
        let owner = reservation_addressee(Recipient::Owner, &r).unwrap();
        assert_eq!((owner.user_id, owner.email.as_deref()), (Some(r.owner_id), Some("owner@example.com")));
        let visitor = reservation_addressee(Recipient::Visitor, &r).unwrap();
        assert_eq!((visitor.user_id, visitor.email.as_deref()), (None, Some("visitor@example.com")));
        assert_eq!(reservation_addressee(Recipient::Athlete, &r), None);

        assert!(reservations_window(Trigger::ReservationCreated, Duration::zero()).admits(&r));
        let deleted = ReservationFacts { cancelled: true, cancelled_at: Some(now()), ..reservation() };
        assert!(!reservations_window(Trigger::ReservationCreated, Duration::zero()).admits(&deleted));
        assert!(reservations_window(Trigger::ReservationDeleted, Duration::zero()).admits(&deleted));
        let reminder = reservations_window(Trigger::ReservationBeforeStart, Duration::hours(6));
        assert!(reminder.admits(&r), "5 hours before, the 6-hour reminder is an hour late");
        assert!(!reminder.admits(&deleted));
    }

    #[test]
    fn who_cancelled_a_reservation_picks_its_trigger() {
        let by =
            |who| ReservationFacts { cancelled: true, cancelled_at: Some(now()), cancelled_by: who, ..reservation() };
        let owners = reservations_window(Trigger::ReservationDeleted, Duration::zero());
        let guests = reservations_window(Trigger::ReservationCanceledByGuest, Duration::zero());
        assert!(owners.admits(&by(Some(ReservationCanceller::Owner))));
        assert!(owners.admits(&by(None)), "cancelled before it was recorded: the owner's");
        assert!(!owners.admits(&by(Some(ReservationCanceller::Guest))));
        assert!(guests.admits(&by(Some(ReservationCanceller::Guest))));
        assert!(!guests.admits(&by(Some(ReservationCanceller::Owner))) && !guests.admits(&by(None)));
        assert!(!guests.admits(&reservation()), "a live one is not cancelled");
        assert!(Trigger::ReservationCanceledByGuest.cancels() && Trigger::ReservationDeleted.cancels());
        assert_eq!(Trigger::ReservationCanceledByGuest.webhook_type(), "reservation.canceled");
    }

    #[test]
    fn a_move_is_due_once_it_happened() {
        let moved = reservations_window(Trigger::ReservationRescheduled, Duration::zero());
        assert!(!moved.admits(&reservation()), "never moved");
        let r = ReservationFacts { sequence: 1, moved_at: Some(now() - Duration::minutes(1)), ..reservation() };
        assert!(moved.admits(&r));
        assert!(!moved.admits(&ReservationFacts { cancelled: true, cancelled_at: Some(now()), ..r.clone() }));
        assert!(Trigger::ReservationRescheduled.repeats() && !Trigger::ReservationCreated.repeats());
        assert!(!Trigger::ReservationRescheduled.cancels());
    }

    #[test]
    fn recipients_fit_their_triggers() {
        assert!(Recipient::OtherParty.applies_to(Trigger::BookingCanceled));
        assert!(!Recipient::OtherParty.applies_to(Trigger::BookingCreated));
        assert!(!Recipient::Visitor.applies_to(Trigger::BookingCreated));
        assert!(Recipient::Visitor.applies_to(Trigger::ReservationDeleted));
        assert!(!Recipient::Athlete.applies_to(Trigger::ReservationCreated));
        for (name, t) in Trigger::ALL {
            assert_eq!(Trigger::parse(name), Some(t));
            assert_eq!(t.name(), name);
        }
    }

    #[test]
    fn one_key_per_rule_subject_and_recipient() {
        let s = Uuid::from_u128(7);
        assert_eq!(dedupe_key("r", s, None, Recipient::Coach, false), format!("r:{s}:coach"));
        assert_eq!(dedupe_key("r", s, None, Recipient::Coach, true), format!("r:{s}:webhook"));
        // A trigger that repeats: one message per version of the subject.
        assert_eq!(dedupe_key("r", s, Some(2), Recipient::Visitor, false), format!("r:{s}@2:visitor"));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::seconds(30);
        assert_eq!(backoff(base, 1), Duration::seconds(30));
        assert_eq!(backoff(base, 2), Duration::seconds(60));
        assert_eq!(backoff(base, 4), Duration::seconds(240));
        assert_eq!(backoff(base, 30), Duration::days(1));
    }

    #[test]
    fn transient_failures_are_retried_until_the_attempts_run_out() {
        let base = Duration::seconds(30);
        assert_eq!(after_failure(true, 2, 5, base, now()), AfterFailure::RetryAt(now() + Duration::seconds(60)));
        assert_eq!(after_failure(true, 5, 5, base, now()), AfterFailure::GiveUp);
        assert_eq!(after_failure(false, 1, 5, base, now()), AfterFailure::GiveUp);
    }

    proptest! {
        /// A before-start reminder is due only between its moment and the late horizon after
        /// it, and never once the start has come.
        #[test]
        fn a_reminder_is_never_early_late_or_after_the_start(
            offset_min in 0i64..3000, start_in_min in -600i64..6000, late_min in 1i64..600,
        ) {
            let horizons = Horizons { late: Duration::minutes(late_min), ..HORIZONS };
            let DueWindow::Bookings(w) = window(Trigger::BookingBeforeStart, Duration::minutes(offset_min), horizons, now()) else {
                panic!("bookings")
            };
            let start = now() + Duration::minutes(start_in_min);
            let moment = start - Duration::minutes(offset_min);
            let due = w.admits(&BookingFacts { starts_at: start, ..booking(Status::Accepted) });
            prop_assert_eq!(due, moment <= now() && now() - moment < horizons.late && start > now());
        }

        /// Exactly one side hears of a booking's cancellation by its other party.
        #[test]
        fn the_other_party_is_never_the_canceler(by in 0usize..3) {
            let by = [CanceledBy::Athlete, CanceledBy::Coach, CanceledBy::System][by];
            let b = BookingFacts { canceled_by: Some(by), ..booking(Status::Canceled) };
            let to = booking_addressee(Trigger::BookingCanceled, Recipient::OtherParty, &b).unwrap().user_id.unwrap();
            prop_assert_eq!(to == b.user_id, by != CanceledBy::Athlete);
        }
    }
}
