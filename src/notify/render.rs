//! Rendering: from the facts of a due subject and its addressee to a message ready to queue —
//! the templates' context, the rendered subject and bodies, the webhook payload and the iCalendar
//! attachment. No queries, no sending.

use super::ical::{self, IcalEvent, IcalStatus, Party};
use super::rules::{Rule, Rules};
use super::Channel;
use crate::domain::bookings::parse_time;
use crate::domain::ids::{NotificationId, UserId};
use crate::domain::notifications::{unaddressable, Addressee, BookingFacts, Recipient, ReservationFacts};
use crate::domain::reservation::ManageLinks;
use crate::error::{ServiceError, ServiceResult};
use crate::store::outbox::NewMessage;
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

/// What messages are written with beyond their facts: visitors' manage links, and the address
/// an invitation names as its organizer when the subject's own is not known (the sender's).
#[derive(Debug, Clone)]
pub struct Letterhead {
    pub manage_links: ManageLinks,
    pub sender: String,
}

impl Letterhead {
    /// `sender` as configured (`Name <addr>` or a bare address), read as the SMTP transport
    /// reads it; kept as given when it is no mailbox.
    pub fn new(manage_links: ManageLinks, sender: &str) -> Self {
        let sender = match sender.trim().parse::<lettre::message::Mailbox>() {
            Ok(mailbox) => mailbox.email.to_string(),
            Err(_) => sender.trim().to_string(),
        };
        Self { manage_links, sender }
    }

    fn organizer(&self, email: Option<&String>, name: Option<String>) -> Party {
        match email {
            Some(email) => Party::new(email.clone(), name),
            None => Party::new(self.sender.clone(), None),
        }
    }
}

/// The invitation's status and sequence for a message under `rule` about an event at
/// `sequence` (changes so far): a cancellation is one change more.
fn status_and_sequence(rule: &Rule, sequence: i32) -> (IcalStatus, u32) {
    let sequence = u32::try_from(sequence).unwrap_or(0);
    if rule.trigger.cancels() {
        (IcalStatus::Cancelled, sequence + 1)
    } else {
        (IcalStatus::Confirmed, sequence)
    }
}

/// A message to enqueue, before rendering.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub subject_id: Uuid,
    /// The subject's version, for a trigger that repeats (each move of a reservation).
    pub version: Option<i32>,
    pub addressee: Addressee,
    pub about_user_id: Option<UserId>,
    pub about_coach_id: Option<UserId>,
    pub context: Value,
    pub ical: Option<IcalEvent>,
}

const LOCAL: &str = "%Y-%m-%d %H:%M";

fn local(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset).format(LOCAL).to_string()
}

/// A time zone for a fixed offset: `Etc/GMT-3` is UTC+3; offsets that are not whole hours have
/// no such zone and are shown in UTC.
pub fn tz_for_offset(offset: FixedOffset) -> chrono_tz::Tz {
    let secs = offset.local_minus_utc();
    if secs % 3600 != 0 {
        return chrono_tz::UTC;
    }
    let hours = secs / 3600;
    let name = match hours {
        0 => "Etc/UTC".to_string(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// The offset of a stored local time with its offset (`coach_events.start_time`, RFC 3339
/// `partial-time time-offset`: `10:00:00+03:00`, `10:00:00Z`); `None` when it is not one.
pub fn stored_offset(value: &str) -> Option<FixedOffset> {
    parse_time(value).map(|(_, offset)| offset)
}

/// The offset a booking's event is shown in (UTC when its stored time has none).
fn event_offset(b: &BookingFacts) -> FixedOffset {
    stored_offset(&b.event.start_time).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

fn booking_context(b: &BookingFacts, offset: FixedOffset) -> Value {
    let event = &b.event;
    json!({
        "booking": {
            "id": b.id, "status": b.status.as_str(), "user_id": b.user_id, "coach_id": b.coach_id,
            "order_id": b.order_id, "start": b.starts_at.to_rfc3339(), "end": b.ends_at.to_rfc3339(),
            "canceled_by": b.canceled_by.map(|r| r.as_str()).unwrap_or_default(),
            "reason": b.reason(),
        },
        "event": {
            "id": event.id, "status": if event.canceled { "Canceled" } else { "Scheduled" },
            "start_local": local(event.starts_at, offset), "end_local": local(event.ends_at, offset),
            "timezone": offset.to_string(), "places_total": event.places, "places_left": event.places_left(),
        },
    })
}

/// A booking's message's subject and version (its dedupe key's parts): the booking, never a
/// version (a booking is never moved).
pub fn booking_subject(b: &BookingFacts) -> (Uuid, Option<i32>) {
    (b.id.into_uuid(), None)
}

/// A reservation's message's subject and version under `rule`: the reservation, and its
/// sequence when the rule's trigger repeats (each move is told).
pub fn reservation_subject(rule: &Rule, r: &ReservationFacts) -> (Uuid, Option<i32>) {
    (r.id.into_uuid(), rule.trigger.repeats().then_some(r.sequence))
}

/// What a booking's message would say, to whom.
/// A booking is never moved: its invitation is sequence 0, its cancellation 1.
pub fn booking_candidate(rule: &Rule, b: &BookingFacts, addressee: Addressee, letterhead: &Letterhead) -> Candidate {
    let offset = event_offset(b);
    let ical = rule.ical.then(|| {
        let (status, sequence) = status_and_sequence(rule, 0);
        IcalEvent {
            uid: format!("{}@bookings", b.id),
            start: b.event.starts_at,
            end: b.event.ends_at,
            tz: tz_for_offset(offset),
            summary: "Coach event".to_string(),
            description: Some(format!("Booking {}", b.id)),
            location: None,
            organizer: letterhead.organizer(b.coach_email.as_ref(), None),
            attendees: b.athlete_email.iter().map(|e| Party::new(e.clone(), None)).collect(),
            sequence,
            status,
        }
    });
    let (subject_id, version) = booking_subject(b);
    Candidate {
        subject_id,
        version,
        addressee,
        about_user_id: Some(b.user_id),
        about_coach_id: Some(b.coach_id),
        context: booking_context(b, offset),
        ical,
    }
}

/// `manage_url`: the visitor's link, only in what is sent to the visitor (it stands for them).
fn reservation_context(r: &ReservationFacts, manage_url: Option<&str>) -> Value {
    let fmt = |t: DateTime<Utc>| t.with_timezone(&r.timezone).format(LOCAL).to_string();
    json!({
        "reservation": {
            "id": r.id, "calendar_id": r.calendar_id, "title": r.title,
            "name": r.attendee_name.clone().unwrap_or_default(), "email": r.attendee_email.clone().unwrap_or_default(),
            "notes": r.notes, "start": r.starts_at.to_rfc3339(), "end": r.ends_at.to_rfc3339(),
            "start_local": fmt(r.starts_at), "end_local": fmt(r.ends_at), "timezone": r.timezone.name(),
            "sequence": r.sequence, "cancel_reason": r.cancel_reason, "manage_url": manage_url,
            "location": r.location,
            "pending_until_local": r.pending_until.filter(|_| r.pending).map(fmt),
        },
    })
}

/// What a reservation's message would say, to whom. The visitor's email carries their manage
/// link (in the text and in the invitation's DESCRIPTION); the owner's names the visitor.
pub fn reservation_candidate(
    rule: &Rule,
    r: &ReservationFacts,
    addressee: Addressee,
    letterhead: &Letterhead,
) -> Candidate {
    let to_visitor = rule.recipient == Recipient::Visitor && rule.channel == Channel::Email;
    let manage_url = to_visitor.then(|| letterhead.manage_links.url_of(r.id, r.manage_token_hash.as_deref())).flatten();
    let ical = rule.ical.then(|| {
        let (status, sequence) = status_and_sequence(rule, r.sequence);
        let mut description: Vec<String> = r.notes.iter().cloned().collect();
        match (&manage_url, to_visitor) {
            (Some(url), _) => description.push(format!("View, reschedule or cancel: {url}")),
            (None, false) => description.push(format!(
                "Reserved by {} <{}>",
                r.attendee_name.as_deref().unwrap_or("a visitor"),
                r.attendee_email.as_deref().unwrap_or("no address")
            )),
            (None, true) => {}
        }
        IcalEvent {
            uid: format!("{}@bookings", r.id),
            start: r.starts_at,
            end: r.ends_at,
            tz: r.timezone,
            summary: r.title.clone(),
            description: (!description.is_empty()).then(|| description.join("\n\n")),
            location: r.location.clone(),
            organizer: letterhead.organizer(r.owner_email.as_ref(), None),
            attendees: r.attendee_email.iter().map(|e| Party::new(e.clone(), r.attendee_name.clone())).collect(),
            sequence,
            status,
        }
    });
    let (subject_id, version) = reservation_subject(rule, r);
    Candidate {
        subject_id,
        version,
        addressee,
        about_user_id: None,
        about_coach_id: Some(r.owner_id),
        context: reservation_context(r, manage_url.as_deref()),
        ical,
    }
}

/// Renders a candidate under its rule: the template with the rule's context, the webhook payload,
/// the attachment; an email without an address is queued as skipped.
pub fn message(rules: &Rules, rule: &Rule, c: Candidate, key: String, now: DateTime<Utc>) -> ServiceResult<NewMessage> {
    let id = NotificationId::new();
    let recipient = json!({"role": rule.recipient.name(), "user_id": c.addressee.user_id});
    let mut context = c.context;
    context["rule"] = json!(rule.name);
    context["trigger"] = json!(rule.trigger.name());
    context["subject_id"] = json!(c.subject_id);
    context["recipient"] = recipient;
    let rendered = rules.render(&rule.template, &context).map_err(ServiceError::internal)?;
    // Standard Webhooks' body: a dotted type, when the message was made, and the data (the
    // templates' context: the subject's facts, the rule, the trigger, the recipient).
    let payload = json!({
        "type": rule.trigger.webhook_type(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": context,
    });
    Ok(NewMessage {
        id,
        dedupe_key: key,
        rule: rule.name.clone(),
        channel: rule.channel,
        subject_id: c.subject_id,
        recipient_role: rule.recipient,
        skipped: unaddressable(rule.channel == Channel::Email, rule.recipient, &c.addressee),
        recipient_user_id: c.addressee.user_id,
        recipient_email: c.addressee.email,
        about_user_id: c.about_user_id,
        about_coach_id: c.about_coach_id,
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        ical: c.ical.as_ref().map(|e| ical::render(e, now)),
        payload: payload.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organizer_of_last_resort_is_the_senders_address() {
        use crate::domain::reservation::{ManageKey, ManageLinks};
        let links = || ManageLinks::new(ManageKey::new(b"k-0123456789abcdef0123456789abcdef"), "https://b.example");
        assert_eq!(Letterhead::new(links(), "Bookings <bookings@example.com>").sender, "bookings@example.com");
        assert_eq!(Letterhead::new(links(), " bookings@example.com ").sender, "bookings@example.com");
    }

    #[test]
    fn fixed_offsets_map_to_etc_zones() {
        assert_eq!(tz_for_offset(FixedOffset::east_opt(3 * 3600).unwrap()).name(), "Etc/GMT-3");
        assert_eq!(tz_for_offset(FixedOffset::west_opt(3 * 3600).unwrap()).name(), "Etc/GMT+3");
        assert_eq!(tz_for_offset(FixedOffset::east_opt(0).unwrap()).name(), "Etc/UTC");
        assert_eq!(tz_for_offset(FixedOffset::east_opt(5 * 3600 + 1800).unwrap()).name(), "UTC");
    }

    #[test]
    fn stored_times_give_their_offset() {
        let east = |h: i32, m: i32| FixedOffset::east_opt(h * 3600 + m * 60);
        assert_eq!(stored_offset("10:00:00+03:00"), east(3, 0));
        assert_eq!(stored_offset("10:00:00.250-05:30"), east(-5, -30));
        assert_eq!(stored_offset("10:00:00Z"), east(0, 0));
        assert_eq!(stored_offset("10:00:00z"), east(0, 0));
        for bad in ["", "10:00:00", "10:00+03:00", "10:00:00+3:00", "10:00:00+24:00", "25:00:00+01:00", "nonsense"] {
            assert_eq!(stored_offset(bad), None, "{bad}");
        }
    }
}
