//! The outbox, a queue: enqueue what is due under a unique key, claim a bounded batch with a
//! lease, send, record the outcome (retrying with backoff). Overlapping passes (one server or
//! several on one PostgreSQL) never send a message twice: claims are disjoint and leased (see
//! `store::outbox`). Only a crash between sending and recording can cause one resend, once the
//! lease has run out.
//!
//! Who hears of what is `domain::notifications`; the facts come from `store`; rendering is
//! `render`; delivery is `delivery`.

use super::transport::SendError;
use super::{due, render, Message};
use crate::domain::notifications::{self as decide, AfterFailure};
use crate::entities::notifications;
use crate::error::ServiceResult;
use crate::store::outbox::{self as queue, NewMessage, Outcome, Subjects};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use serde_json::Value;

pub use super::delivery::{EmailTransport, Transports};
pub use crate::domain::notifications::backoff;

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Messages claimed at once.
    pub batch_size: u64,
    /// How long a claim holds before another pass may take the message over.
    pub lease: Duration,
    /// Sends after which a message that keeps failing is marked failed.
    pub max_attempts: i32,
    /// The first retry waits this long; each further one twice as long.
    pub base_backoff: Duration,
    /// Messages sent at once.
    pub concurrency: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            lease: Duration::minutes(5),
            max_attempts: 5,
            base_backoff: Duration::seconds(30),
            concurrency: 16,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub enqueued: usize,
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Finds every message due now and enqueues it once (the dedupe key ignores repeats); the
/// number queued.
#[tracing::instrument(level = "info", skip_all, fields(rules = rules.rules.len()), err(level = "info", Display))]
pub async fn enqueue_due(
    db: &DatabaseConnection,
    rules: &super::rules::Rules,
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let mut enqueued = 0;
    for rule in &rules.rules {
        let candidates = due::candidates(db, rules, rule, now).await?;
        let webhook = rule.channel == super::Channel::Webhook;
        let keys: Vec<String> =
            candidates.iter().map(|c| decide::dedupe_key(&rule.name, c.subject_id, rule.recipient, webhook)).collect();
        let known = queue::known_keys(db, &keys).await?;
        let mut messages = Vec::new();
        for (candidate, key) in candidates.into_iter().zip(keys) {
            if !known.contains(&key) {
                messages.push(render::message(rules, rule, candidate, key, now)?);
            }
        }
        let subjects = if rule.trigger.is_reservation() { Subjects::CalendarEvents } else { Subjects::Bookings };
        enqueued += enqueue(db, subjects, &messages, now).await?;
    }
    Ok(enqueued)
}

/// Queues rendered messages about `subjects` in batches, each only while its subject exists and
/// its key is not queued yet; the number queued.
#[tracing::instrument(level = "debug", skip_all, fields(messages = messages.len()), err(level = "debug", Display))]
pub async fn enqueue(
    db: &DatabaseConnection,
    subjects: Subjects,
    messages: &[NewMessage],
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let mut enqueued = 0;
    for chunk in messages.chunks(200) {
        enqueued += queue::insert_while_subjects_exist(db, subjects, chunk, now).await?;
    }
    Ok(enqueued)
}

/// Claims up to a batch of due messages (pending and due, or sending with an expired lease).
#[tracing::instrument(level = "info", skip_all, err(level = "info", Display))]
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
) -> ServiceResult<Vec<notifications::Model>> {
    queue::claim(db, now, now + settings.lease, settings.batch_size).await
}

pub fn message_of(n: &notifications::Model) -> Message {
    Message {
        id: n.id,
        key: n.dedupe_key.clone(),
        rule: n.rule.clone(),
        channel: n.channel,
        to: n.recipient_email.clone(),
        subject: n.subject.clone(),
        text: n.body_text.clone(),
        html: n.body_html.clone(),
        ical: n.ical.clone(),
        payload: serde_json::from_str(&n.payload).unwrap_or(Value::Null),
    }
}

/// The outcome to store for a send of a message claimed for its `attempts`-th time.
pub fn outcome_of(
    result: &Result<(), SendError>,
    attempts: i32,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
) -> Outcome {
    let Err(e) = result else { return Outcome::Sent };
    match decide::after_failure(e.is_transient(), attempts, settings.max_attempts, settings.base_backoff, now) {
        AfterFailure::RetryAt(at) => Outcome::RetryAt { at, error: e.message().to_string() },
        AfterFailure::GiveUp => Outcome::Failed { error: e.to_string() },
    }
}

/// Records a send's outcome, if the claim is still ours (the lease did not run out meanwhile).
async fn record(
    db: &DatabaseConnection,
    n: &notifications::Model,
    result: &Result<(), SendError>,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
    report: &mut PassReport,
) -> ServiceResult<()> {
    let outcome = outcome_of(result, n.attempts, now, settings);
    match outcome {
        Outcome::Sent => report.sent += 1,
        Outcome::RetryAt { .. } => report.retrying += 1,
        Outcome::Failed { .. } => report.failed += 1,
    }
    queue::record(db, n.id, &outcome, now).await?;
    Ok(())
}

/// Sends a claimed batch, `concurrency` at a time.
async fn send_all(
    transports: &Transports,
    claimed: Vec<notifications::Model>,
    concurrency: usize,
) -> Vec<(notifications::Model, Result<(), SendError>)> {
    futures::stream::iter(claimed)
        .map(|n| async move {
            let outcome = transports.send(&message_of(&n)).await;
            (n, outcome)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// One pass: enqueue what is due, then claim and send batches until nothing is due.
#[tracing::instrument(level = "info", skip_all, err(level = "info", Display))]
pub async fn run_pass(
    db: &DatabaseConnection,
    rules: &super::rules::Rules,
    transports: &Transports,
    settings: &DeliverySettings,
    clock: &crate::clock::Clock,
) -> ServiceResult<PassReport> {
    let mut report = PassReport { enqueued: enqueue_due(db, rules, clock.now()).await?, ..Default::default() };
    for _ in 0..1000 {
        let claimed = claim(db, clock.now(), settings).await?;
        if claimed.is_empty() {
            break;
        }
        for (n, outcome) in &send_all(transports, claimed, settings.concurrency).await {
            if let Err(e) = outcome {
                tracing::warn!(notification = %n.id, rule = %n.rule, attempts = n.attempts, error = %e, "notification not sent");
            }
            record(db, n, outcome, clock.now(), settings, &mut report).await?;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn outcomes_keep_the_transient_message_and_the_full_permanent_one() {
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let s = DeliverySettings::default();
        assert_eq!(outcome_of(&Ok(()), 1, now, &s), Outcome::Sent);
        let down = Err(SendError::Transient("down".into()));
        assert_eq!(
            outcome_of(&down, 2, now, &s),
            Outcome::RetryAt { at: now + Duration::seconds(60), error: "down".into() }
        );
        assert_eq!(outcome_of(&down, 5, now, &s), Outcome::Failed { error: "transient: down".into() });
        let rejected = Err(SendError::Permanent("550".into()));
        assert_eq!(outcome_of(&rejected, 1, now, &s), Outcome::Failed { error: "permanent: 550".into() });
    }
}
