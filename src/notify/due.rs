//! What a rule has due at a moment: the domain's window, the store's facts of the subjects in
//! it, the domain's choice of addressee, rendered into candidates.

use super::render::{self, Candidate};
use super::rules::{Rule, Rules};
use crate::domain::notifications::{self as decide, DueWindow};
use crate::error::ServiceResult;
use crate::store::notification_subjects;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

/// The messages `rule` has due at `now`, before rendering.
#[tracing::instrument(level = "debug", skip_all, fields(rule = %rule.name), err(level = "debug", Display))]
pub async fn candidates(
    db: &impl ConnectionTrait,
    rules: &Rules,
    rule: &Rule,
    letterhead: &render::Letterhead,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<Candidate>> {
    Ok(match decide::window(rule.trigger, rule.offset, rules.horizons(), now) {
        DueWindow::Bookings(window) => notification_subjects::bookings_in(db, &window)
            .await?
            .iter()
            .filter_map(|b| {
                let to = decide::booking_addressee(rule.trigger, rule.recipient, b)?;
                Some(render::booking_candidate(rule, b, to, letterhead))
            })
            .collect(),
        DueWindow::Reservations(window) => notification_subjects::reservations_in(db, &window)
            .await?
            .iter()
            .filter_map(|r| {
                let to = decide::reservation_addressee(rule.recipient, r)?;
                Some(render::reservation_candidate(rule, r, to, letterhead))
            })
            .collect(),
    })
}
