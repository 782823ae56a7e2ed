//! What a rule has due at a moment: the domain's window, the store's facts of the subjects in
//! it, the domain's choice of addressee; each made into a candidate only when it is rendered.

use super::render::{self, Candidate};
use super::rules::{Rule, Rules};
use crate::domain::notifications::{self as decide, Addressee, BookingFacts, DueWindow, ReservationFacts};
use crate::error::ServiceResult;
use crate::store::notification_subjects;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// The subjects a rule has due, each with its addressee, before rendering. The facts are small;
/// a candidate (its templates' context, a JSON tree, and its invitation) is several times their
/// size and takes time to make, so a pass makes one only for a subject whose message is not
/// queued yet ([`Due::subject`] gives the dedupe key's parts without it), right before rendering
/// it: a pass over thousands of due subjects never holds their contexts at once, and one that
/// finds them queued already makes none.
#[derive(Debug, Clone)]
pub enum Due {
    Bookings(Vec<(BookingFacts, Addressee)>),
    Reservations(Vec<(ReservationFacts, Addressee)>),
}

impl Due {
    pub fn len(&self) -> usize {
        match self {
            Due::Bookings(v) => v.len(),
            Due::Reservations(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th subject's id and version under `rule` (what its dedupe key is made of).
    pub fn subject(&self, i: usize, rule: &Rule) -> (Uuid, Option<i32>) {
        match self {
            Due::Bookings(v) => render::booking_subject(&v[i].0),
            Due::Reservations(v) => render::reservation_subject(rule, &v[i].0),
        }
    }

    /// The `i`-th subject's candidate under `rule`.
    pub fn candidate(&self, i: usize, rule: &Rule, letterhead: &render::Letterhead) -> Candidate {
        match self {
            Due::Bookings(v) => render::booking_candidate(rule, &v[i].0, v[i].1.clone(), letterhead),
            Due::Reservations(v) => render::reservation_candidate(rule, &v[i].0, v[i].1.clone(), letterhead),
        }
    }
}

/// The subjects `rule` has due at `now`, with their addressees.
#[tracing::instrument(level = "debug", skip_all, fields(rule = %rule.name), err(level = "debug", Display))]
pub async fn subjects(db: &impl ConnectionTrait, rules: &Rules, rule: &Rule, now: DateTime<Utc>) -> ServiceResult<Due> {
    Ok(match decide::window(rule.trigger, rule.offset, rules.horizons(), now) {
        DueWindow::Bookings(window) => Due::Bookings(
            notification_subjects::bookings_in(db, &window)
                .await?
                .into_iter()
                .filter_map(|b| {
                    let to = decide::booking_addressee(rule.trigger, rule.recipient, &b)?;
                    Some((b, to))
                })
                .collect(),
        ),
        DueWindow::Reservations(window) => Due::Reservations(
            notification_subjects::reservations_in(db, &window)
                .await?
                .into_iter()
                .filter_map(|r| {
                    let to = decide::reservation_addressee(rule.recipient, &r)?;
                    Some((r, to))
                })
                .collect(),
        ),
    })
}
