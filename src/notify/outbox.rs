//! The outbox, a queue: enqueue what is due under a unique key, claim a bounded batch with a
//! lease, send, record the outcome and every send's attempts (retrying: emails with backoff,
//! webhooks on Standard Webhooks' schedule over about three days, honouring `Retry-After`).
//! A webhook message goes to the configured endpoints not disabled and not yet delivered to; an
//! endpoint that answers 410 Gone is disabled until an admin enables it. Overlapping passes (one server or
//! several on one PostgreSQL) never send a message twice: claims are disjoint and leased (see
//! `store::outbox`). Only a crash between sending and recording can cause one resend, once the
//! lease has run out.
//!
//! Who hears of what is `domain::notifications`; the facts come from `store`; rendering is
//! `render`; delivery is `delivery`.

use super::delivery::Sent;
use super::transport::SendError;
use super::webhook::{self, Answer, EndpointId};
use super::{due, render, Channel, Message};
use crate::domain::ids::NotificationId;
use crate::domain::notifications::{self as decide, AfterFailure};
use crate::entities::notifications;
use crate::error::ServiceResult;
use crate::store::outbox::{self as queue, Gone, NewAttempt, NewMessage, Outcome, SendRecord, Subjects};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use tracing::Instrument;

pub use super::delivery::{EmailTransport, Transports};
pub use crate::domain::notifications::backoff;

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Messages claimed at once.
    pub batch_size: u64,
    /// How long a claim holds before another pass may take the message over.
    pub lease: Duration,
    /// Sends after which an email that keeps failing is marked failed (webhooks follow
    /// `domain::notifications::WEBHOOK_SCHEDULE`).
    pub max_attempts: i32,
    /// The first retry of an email waits this long; each further one twice as long.
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
    pub skipped: usize,
}

/// Due subjects checked against the queue, rendered and queued at once: each chunk's keys are
/// looked up, its new messages rendered (each candidate made from the subject's facts right
/// before) and inserted before the next chunk's, so a pass holds at most this many rendered
/// messages (bodies and iCalendar) however many are due, and no candidate of a subject whose
/// message is queued already.
pub const ENQUEUE_CHUNK: usize = 250;

/// Finds every message due now and enqueues it once (the dedupe key ignores repeats); the
/// number queued. Webhook rules are left out when `webhooks` is false (no URL is configured:
/// nothing could ever send them). Rendering and queueing go by [`ENQUEUE_CHUNK`].
#[tracing::instrument(level = "info", skip_all, fields(rules = rules.rules.len()), err(level = "info", Display))]
pub async fn enqueue_due(
    db: &DatabaseConnection,
    rules: &super::rules::Rules,
    letterhead: &render::Letterhead,
    now: DateTime<Utc>,
    webhooks: bool,
) -> ServiceResult<usize> {
    let mut enqueued = 0;
    for rule in rules.rules.iter().filter(|r| webhooks || r.channel != Channel::Webhook) {
        let due = due::subjects(db, rules, rule, now).await?;
        let webhook = rule.channel == Channel::Webhook;
        let subjects = if rule.trigger.is_reservation() { Subjects::CalendarEvents } else { Subjects::Bookings };
        for start in (0..due.len()).step_by(ENQUEUE_CHUNK) {
            let chunk = start..(start + ENQUEUE_CHUNK).min(due.len());
            let keys: Vec<String> = chunk
                .clone()
                .map(|i| {
                    let (subject, version) = due.subject(i, rule);
                    decide::dedupe_key(&rule.name, subject, version, rule.recipient, webhook)
                })
                .collect();
            let known = queue::known_keys(db, &keys).await?;
            let mut messages = Vec::with_capacity(chunk.len());
            for (i, key) in chunk.zip(keys) {
                // A candidate only for a message not queued yet, made right before it is rendered.
                if !known.contains(&key) {
                    messages.push(render::message(rules, rule, due.candidate(i, rule, letterhead), key, now)?);
                }
            }
            enqueued += enqueue(db, subjects, &messages, now).await?;
        }
    }
    Ok(enqueued)
}

/// Queues rendered messages about `subjects`, each only while its subject exists and its key is
/// not queued yet, in one transaction per [`ENQUEUE_CHUNK`]; the number queued.
#[tracing::instrument(level = "debug", skip_all, fields(messages = messages.len()), err(level = "debug", Display))]
pub async fn enqueue(
    db: &DatabaseConnection,
    subjects: Subjects,
    messages: &[NewMessage],
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let mut enqueued = 0;
    for chunk in messages.chunks(ENQUEUE_CHUNK) {
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

/// Where a claimed message goes: the webhook endpoints it is still owed to, or, when there are
/// none, how it ends without a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owed {
    To(BTreeSet<EndpointId>),
    Done(Outcome),
}

/// For each claimed webhook message: the configured endpoints that are enabled and did not get
/// it yet (a retry after a partial failure goes only to those that failed). Emails (and
/// webhooks with no URL configured) are not in the map.
async fn owed(
    db: &DatabaseConnection,
    transports: &Transports,
    claimed: &[notifications::Model],
) -> ServiceResult<BTreeMap<NotificationId, Owed>> {
    let Some(transport) = &transports.webhook else { return Ok(BTreeMap::new()) };
    let ids: Vec<NotificationId> = claimed.iter().filter(|n| n.channel == Channel::Webhook).map(|n| n.id).collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let disabled: BTreeSet<String> = crate::store::webhook_endpoints::all(db)
        .await?
        .into_values()
        .filter(|e| e.disabled_at.is_some())
        .map(|e| e.id)
        .collect();
    let delivered = queue::delivered_endpoints(db, &ids).await?;
    let none = BTreeSet::new();
    Ok(ids
        .into_iter()
        .map(|id| {
            let done = delivered.get(&id).unwrap_or(&none);
            let to: BTreeSet<EndpointId> = transport
                .endpoints()
                .iter()
                .map(|e| e.id.clone())
                .filter(|e| !done.contains(e.as_str()) && !disabled.contains(e.as_str()))
                .collect();
            let owed = if !to.is_empty() {
                Owed::To(to)
            } else if transport.endpoints().iter().all(|e| done.contains(e.id.as_str())) {
                Owed::Done(Outcome::Sent)
            } else {
                Owed::Done(Outcome::Skipped {
                    reason: "not sent: every webhook endpoint it was owed to is disabled (it answered 410 Gone)".into(),
                })
            };
            (id, owed)
        })
        .collect())
}

/// What a send comes to: the outcome to store, its attempts, the endpoints found gone.
pub fn settle(
    n: &notifications::Model,
    sent: &Sent,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
) -> (Outcome, Vec<NewAttempt>, Vec<Gone>) {
    match sent {
        Sent::Once(result) => {
            let attempt = NewAttempt {
                endpoint_id: None,
                status_code: None,
                delivered: result.is_ok(),
                error: result.as_ref().err().map(ToString::to_string),
            };
            (outcome_of(result, n.attempts, now, settings), vec![attempt], vec![])
        }
        Sent::Webhook(posted) => {
            let outcome = match webhook::summarize(posted) {
                Ok(()) => Outcome::Sent,
                Err(e) if e.is_transient() => {
                    let retry_after = posted
                        .iter()
                        .filter_map(|p| p.retry_after)
                        .max()
                        .map(|d| Duration::from_std(d).unwrap_or(decide::MAX_RETRY_AFTER));
                    let jitter = decide::jitter_of(n.id.into_uuid(), n.attempts);
                    match decide::webhook_after_failure(n.attempts, jitter, retry_after, now) {
                        AfterFailure::RetryAt(at) => Outcome::RetryAt { at, error: e.message().to_string() },
                        AfterFailure::GiveUp => Outcome::Failed { error: e.to_string() },
                    }
                }
                Err(e) => Outcome::Failed { error: e.to_string() },
            };
            let attempts = posted
                .iter()
                .map(|p| NewAttempt {
                    endpoint_id: Some(p.endpoint.as_str().to_owned()),
                    status_code: p.status.map(i32::from),
                    delivered: p.answer == Answer::Delivered,
                    error: p.error.clone(),
                })
                .collect();
            let gone = posted
                .iter()
                .filter(|p| p.answer == Answer::Gone)
                .map(|p| Gone {
                    endpoint_id: p.endpoint.as_str().to_owned(),
                    target: p.target.clone(),
                    reason: format!("answered 410 Gone to message {}", n.id),
                })
                .collect();
            (outcome, attempts, gone)
        }
    }
}

/// Records a sent batch's outcomes with their attempts, those whose claim is still ours (the
/// lease did not run out meanwhile), in one transaction; counts each outcome in `report`.
async fn record(
    db: &DatabaseConnection,
    sends: &[SendRecord],
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> ServiceResult<()> {
    for s in sends {
        match &s.outcome {
            Outcome::Sent => report.sent += 1,
            Outcome::RetryAt { .. } => report.retrying += 1,
            Outcome::Failed { .. } => report.failed += 1,
            Outcome::Skipped { .. } => report.skipped += 1,
        }
        for g in &s.gone {
            tracing::warn!(endpoint = %g.endpoint_id, target = %g.target, "webhook endpoint answered 410 Gone: disabled");
        }
    }
    queue::record_sends(db, sends, now).await?;
    Ok(())
}

/// Sends a claimed batch, `concurrency` at a time; a message with nothing owed is not sent.
async fn send_all(
    transports: &Transports,
    claimed: Vec<notifications::Model>,
    owed: &BTreeMap<NotificationId, Owed>,
    concurrency: usize,
) -> Vec<(notifications::Model, Result<Sent, Outcome>)> {
    let everyone = BTreeSet::new();
    futures::stream::iter(claimed)
        .map(|n| {
            let everyone = &everyone;
            // Each message's send is a span of the pass's trace naming the message (its id, rule,
            // channel and attempt), so an exported trace shows which message a slow or failed
            // send was.
            let span = tracing::info_span!(
                "deliver",
                notification_id = %n.id,
                rule = %n.rule,
                channel = ?n.channel,
                attempt = n.attempts
            );
            async move {
                let sent = match owed.get(&n.id) {
                    Some(Owed::Done(outcome)) => Err(outcome.clone()),
                    Some(Owed::To(to)) => Ok(transports.send(&message_of(&n), to).await),
                    None => Ok(transports.send(&message_of(&n), everyone).await),
                };
                (n, sent)
            }
            .instrument(span)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// Counts a message's sends: each attempt by channel and result, each webhook answer by status
/// class, the endpoints found gone (and so disabled).
fn count_sends(channel: Channel, sent: &Result<Sent, Outcome>, gone: usize) {
    use crate::metrics::{
        channel_label, status_class, DELIVERY_ATTEMPTS, WEBHOOK_ENDPOINTS_DISABLED, WEBHOOK_RESPONSES,
    };
    let attempt = |result: &'static str| {
        metrics::counter!(DELIVERY_ATTEMPTS, "channel" => channel_label(channel), "result" => result).increment(1);
    };
    match sent {
        Ok(Sent::Once(Ok(()))) => attempt("delivered"),
        Ok(Sent::Once(Err(e))) => attempt(if e.is_transient() { "transient_error" } else { "permanent_error" }),
        Ok(Sent::Webhook(posted)) => {
            for p in posted {
                attempt(match p.answer {
                    Answer::Delivered => "delivered",
                    Answer::Transient => "transient_error",
                    Answer::Permanent | Answer::Gone => "permanent_error",
                });
                metrics::counter!(WEBHOOK_RESPONSES, "status_class" => status_class(p.status)).increment(1);
            }
        }
        Err(_) => {}
    }
    if gone > 0 {
        metrics::counter!(WEBHOOK_ENDPOINTS_DISABLED).increment(gone as u64);
    }
}

/// One pass: enqueue what is due, then claim and send batches until nothing is due. Its
/// duration goes to `notify_pass_duration_seconds`.
pub async fn run_pass(
    db: &DatabaseConnection,
    rules: &super::rules::Rules,
    letterhead: &render::Letterhead,
    transports: &Transports,
    settings: &DeliverySettings,
    clock: &crate::clock::Clock,
) -> ServiceResult<PassReport> {
    let started = std::time::Instant::now();
    let result = pass(db, rules, letterhead, transports, settings, clock).await;
    metrics::histogram!(crate::metrics::NOTIFY_PASS_DURATION).record(started.elapsed().as_secs_f64());
    result
}

#[tracing::instrument(name = "run_pass", level = "info", skip_all, err(level = "info", Display))]
async fn pass(
    db: &DatabaseConnection,
    rules: &super::rules::Rules,
    letterhead: &render::Letterhead,
    transports: &Transports,
    settings: &DeliverySettings,
    clock: &crate::clock::Clock,
) -> ServiceResult<PassReport> {
    let webhooks = transports.webhook.is_some();
    let enqueued = enqueue_due(db, rules, letterhead, clock.now(), webhooks).await?;
    let mut report = PassReport { enqueued, ..Default::default() };
    for _ in 0..1000 {
        let claimed = claim(db, clock.now(), settings).await?;
        if claimed.is_empty() {
            break;
        }
        let owed = owed(db, transports, &claimed).await?;
        let results = send_all(transports, claimed, &owed, settings.concurrency).await;
        let now = clock.now();
        let mut sends = Vec::with_capacity(results.len());
        for (n, sent) in results {
            let (outcome, attempts, gone) = match &sent {
                Ok(sent) => settle(&n, sent, now, settings),
                Err(outcome) => (outcome.clone(), vec![], vec![]),
            };
            count_sends(n.channel, &sent, gone.len());
            if let Ok(Sent::Once(Err(e))) = &sent {
                tracing::warn!(notification = %n.id, rule = %n.rule, attempts = n.attempts, error = %e, "notification not sent");
            }
            sends.push(SendRecord { id: n.id, attempt: n.attempts, outcome, attempts, gone });
        }
        record(db, &sends, now, &mut report).await?;
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
