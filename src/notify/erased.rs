//! What is told when a user is erased: the events they were part of are called off, so everyone
//! else who got an invitation to one gets its cancellation (iTIP `METHOD:CANCEL`), as the rules
//! for an event called off say. An athlete's bookings are told as bookings cancelled (by the
//! system) to their coaches; a coach's, as coach events cancelled to the athletes; reservations
//! on an owner's calendars, as the owner's cancellations to the visitors.
//!
//! The erased user is told nothing and named nowhere: their address is left out of what is sent
//! (the invitation's organizer is then the server's sender address), no message is marked as
//! being about them (so it outlives their erasure), and webhooks are not sent (their data would
//! name the erased user).

use super::render::{self, Letterhead};
use super::rules::{Rule, Rules};
use super::Channel;
use crate::domain::bookings::Status;
use crate::domain::ids::UserId;
use crate::domain::notifications::{
    self as decide, BookingFacts, CanceledBy, ReservationCanceller, ReservationFacts, Trigger,
};
use crate::error::ServiceResult;
use crate::store::outbox::NewMessage;
use chrono::{DateTime, Utc};

/// The cancellations to send when `erased` goes, for their live bookings (as athlete or coach)
/// and the live reservations on their calendars, rendered as of `now`.
pub fn cancellations(
    rules: &Rules,
    letterhead: &Letterhead,
    erased: UserId,
    bookings: &[BookingFacts],
    reservations: &[ReservationFacts],
    now: DateTime<Utc>,
) -> ServiceResult<Vec<NewMessage>> {
    let email_rules = |trigger: Trigger| -> Vec<&Rule> {
        rules.rules.iter().filter(|r| r.trigger == trigger && r.channel == Channel::Email).collect()
    };
    let mut messages = Vec::new();
    for b in bookings {
        // The coach erased: their event is gone for its athletes. The athlete erased: their
        // booking is gone for its coach.
        let mut b = b.clone();
        let trigger = if b.coach_id == erased {
            b.event.canceled = true;
            b.event.canceled_at = Some(now);
            b.coach_email = None;
            Trigger::CoachEventCanceled
        } else {
            b.athlete_email = None;
            Trigger::BookingCanceled
        };
        b.status = Status::Canceled;
        b.canceled_at = Some(now);
        b.canceled_by = Some(CanceledBy::System);
        for rule in email_rules(trigger) {
            let Some(to) = decide::booking_addressee(rule.trigger, rule.recipient, &b) else { continue };
            if to.user_id != Some(erased) {
                messages.push(anonymous(rules, rule, render::booking_candidate(rule, &b, to, letterhead), now)?);
            }
        }
    }
    for r in reservations {
        let r = ReservationFacts {
            cancelled: true,
            cancelled_at: Some(now),
            cancelled_by: Some(ReservationCanceller::Owner),
            owner_email: None,
            ..r.clone()
        };
        for rule in email_rules(Trigger::ReservationDeleted) {
            let Some(to) = decide::reservation_addressee(rule.recipient, &r) else { continue };
            if to.user_id != Some(erased) {
                messages.push(anonymous(rules, rule, render::reservation_candidate(rule, &r, to, letterhead), now)?);
            }
        }
    }
    Ok(messages)
}

/// `c` rendered under its rule and keyed as the pass would key it, about no one (so it outlives
/// the erasure that made it).
fn anonymous(rules: &Rules, rule: &Rule, mut c: render::Candidate, now: DateTime<Utc>) -> ServiceResult<NewMessage> {
    (c.about_user_id, c.about_coach_id) = (None, None);
    let key = decide::dedupe_key(&rule.name, c.subject_id, c.version, rule.recipient, false);
    render::message(rules, rule, c, key, now)
}
