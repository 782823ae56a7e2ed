//! The outbox: find what is due, enqueue it under a unique key, claim a bounded batch with a
//! lease, send, record the outcome. Overlapping passes (one server or several on one
//! PostgreSQL) never send a message twice: claims are disjoint (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, an immediate transaction on SQLite) and a claimed message is leased. Only a crash
//! between sending and recording can cause one resend, once the lease has run out.

use super::ical::{self, IcalEvent, IcalStatus};
use super::rules::{Recipient, Rule, Rules, Trigger};
use super::transport::{SendError, Transport};
use super::{Channel, Message};
use crate::db::begin_write;
use crate::domain::ids::CoachEventId;
use crate::entities::bookings::{BookingStatus, CanceledByRole};
use crate::entities::calendar_events::EventSource;
use crate::entities::coach_events::EventStatus;
use crate::entities::notifications::NotificationStatus;
use crate::entities::{booking_links, bookings, calendar_events, calendars, notifications, users};
use crate::error::ServiceResult;
use crate::store::bookings::{events_by_id, places_taken_of, LIVE};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use futures::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

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

/// The backoff before retry number `attempts` (1-based): base, 2 base, 4 base, ... capped at a day.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let factor = 1i64 << (attempts.clamp(1, 20) - 1);
    (base * factor as i32).min(Duration::days(1))
}

/// A message to enqueue, before rendering.
struct Candidate {
    subject_id: Uuid,
    recipient_user_id: Option<Uuid>,
    recipient_email: Option<String>,
    about_user_id: Option<Uuid>,
    about_coach_id: Option<Uuid>,
    context: Value,
    ical: Option<IcalEvent>,
}

fn local(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string()
}

/// A time zone for a fixed offset: `Etc/GMT-3` is UTC+3; offsets that are not whole hours have
/// no such zone and are shown in UTC.
fn tz_for_offset(offset: FixedOffset) -> chrono_tz::Tz {
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

fn offset_of(stored_time: &str) -> FixedOffset {
    crate::api::RfcTime::parse(stored_time).map(|t| t.offset).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
}

async fn emails(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> ServiceResult<BTreeMap<Uuid, String>> {
    let ids: BTreeSet<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| u.email.map(|e| (u.id, e)))
        .collect())
}

async fn booking_candidates(
    db: &DatabaseConnection,
    rules: &Rules,
    rule: &Rule,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<Candidate>> {
    let since = now - rules.event_horizon;
    let mut query = bookings::Entity::find();
    query = match rule.trigger {
        Trigger::BookingCreated => query
            .filter(bookings::Column::CreatedAt.gt(since))
            .filter(bookings::Column::CreatedAt.lte(now))
            .filter(bookings::Column::Status.is_in(LIVE)),
        Trigger::BookingCanceled | Trigger::CoachEventCanceled => query
            .filter(bookings::Column::Status.eq(BookingStatus::Canceled))
            .filter(bookings::Column::CanceledAt.gt(since))
            .filter(bookings::Column::CanceledAt.lte(now)),
        Trigger::DisputeOpened => query
            .filter(bookings::Column::Status.eq(BookingStatus::InDispute))
            .filter(bookings::Column::UpdatedAt.gt(since)),
        Trigger::DisputeResolved => query
            .filter(bookings::Column::Status.eq(BookingStatus::DisputeDone))
            .filter(bookings::Column::UpdatedAt.gt(since)),
        // Due when start - offset has come, unless that was longer ago than the late horizon
        // or the event has started.
        Trigger::BookingBeforeStart => query
            .filter(bookings::Column::Status.is_in([BookingStatus::Pending, BookingStatus::Accepted]))
            .filter(bookings::Column::StartsAt.lte(now + rule.offset))
            .filter(bookings::Column::StartsAt.gt(now + rule.offset - rules.late_horizon))
            .filter(bookings::Column::StartsAt.gt(now)),
        Trigger::BookingAfterEnd => query
            .filter(bookings::Column::Status.is_in([
                BookingStatus::Accepted,
                BookingStatus::InDispute,
                BookingStatus::DisputeDone,
            ]))
            .filter(bookings::Column::Completed.eq(false))
            .filter(bookings::Column::EndsAt.lte(now - rule.offset))
            .filter(bookings::Column::EndsAt.gt(now - rule.offset - rules.late_horizon)),
        _ => return Ok(vec![]),
    };
    let list = query.order_by_asc(bookings::Column::Id).limit(5000).all(db).await?;
    let events = events_by_id(db, list.iter().map(|b| b.event_id)).await?;
    let addresses = emails(db, list.iter().flat_map(|b| [b.user_id.into_uuid(), b.coach_id.into_uuid()])).await?;
    let mut out = Vec::new();
    for b in list {
        let Some(event) = events.get(&b.event_id) else { continue };
        let event_canceled = event.status == EventStatus::Canceled;
        match rule.trigger {
            Trigger::BookingCanceled if event_canceled => continue,
            Trigger::CoachEventCanceled if !event_canceled => continue,
            _ => {}
        }
        let recipient = match rule.recipient {
            Recipient::Athlete => b.user_id,
            Recipient::Coach => b.coach_id,
            Recipient::OtherParty => {
                if b.canceled_by_role == Some(CanceledByRole::Athlete) {
                    b.coach_id
                } else {
                    b.user_id
                }
            }
            Recipient::Owner | Recipient::Visitor => continue,
        };
        let offset = offset_of(&event.start_time);
        let context = json!({
            "booking": {
                "id": b.id, "status": b.status.to_value(), "user_id": b.user_id, "coach_id": b.coach_id,
                "order_id": b.order_id, "start": b.starts_at.to_rfc3339(), "end": b.ends_at.to_rfc3339(),
                "canceled_by": b.canceled_by_role.map(|r| r.to_value()).unwrap_or_default(),
                "reason": b.cancellation_reason_text.clone().or(b.cancellation_reason_code.clone()),
            },
            "event": {
                "id": event.id, "status": event.status.to_value(), "start_local": local(event.starts_at, offset),
                "end_local": local(event.ends_at, offset), "timezone": offset.to_string(),
                "places_total": event.places, "places_left": Value::Null,
            },
        });
        let ical = rule.ical.then(|| IcalEvent {
            uid: format!("{}@bookings", b.id),
            start: event.starts_at,
            end: event.ends_at,
            tz: tz_for_offset(offset),
            summary: "Coach event".to_string(),
            description: Some(format!("Booking {}", b.id)),
            location: None,
            organizer_email: addresses.get(b.coach_id.as_uuid()).cloned(),
            attendee_email: None,
            sequence: 0,
            status: IcalStatus::Confirmed,
        });
        out.push(Candidate {
            subject_id: b.id.into_uuid(),
            recipient_user_id: Some(recipient.into_uuid()),
            recipient_email: addresses.get(recipient.as_uuid()).cloned(),
            about_user_id: Some(b.user_id.into_uuid()),
            about_coach_id: Some(b.coach_id.into_uuid()),
            context,
            ical,
        });
    }
    // Places left, for the templates that show it: counted for all events at once.
    let event_of = |c: &Candidate| {
        c.context["event"]["id"].as_str().and_then(|s| s.parse::<Uuid>().ok()).map(CoachEventId::from_uuid)
    };
    let taken = places_taken_of(db, out.iter().filter_map(event_of).collect::<BTreeSet<_>>()).await?;
    for c in &mut out {
        if let Some(event_id) = event_of(c) {
            let total = c.context["event"]["places_total"].as_i64().unwrap_or(0);
            c.context["event"]["places_left"] = json!((total - taken.get(&event_id).copied().unwrap_or(0)).max(0));
        }
    }
    Ok(out)
}

async fn reservation_candidates(
    db: &DatabaseConnection,
    rules: &Rules,
    rule: &Rule,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<Candidate>> {
    let since = now - rules.event_horizon;
    let mut query =
        calendar_events::Entity::find().filter(calendar_events::Column::Source.eq(EventSource::Reservation));
    query = match rule.trigger {
        Trigger::ReservationCreated => query
            .filter(calendar_events::Column::Cancelled.eq(false))
            .filter(calendar_events::Column::CreatedAt.gt(since))
            .filter(calendar_events::Column::CreatedAt.lte(now)),
        Trigger::ReservationDeleted => query
            .filter(calendar_events::Column::Cancelled.eq(true))
            .filter(calendar_events::Column::CancelledAt.gt(since))
            .filter(calendar_events::Column::CancelledAt.lte(now)),
        Trigger::ReservationBeforeStart => query
            .filter(calendar_events::Column::Cancelled.eq(false))
            .filter(calendar_events::Column::StartsAt.lte(now + rule.offset))
            .filter(calendar_events::Column::StartsAt.gt(now + rule.offset - rules.late_horizon))
            .filter(calendar_events::Column::StartsAt.gt(now)),
        _ => return Ok(vec![]),
    };
    let list = query.order_by_asc(calendar_events::Column::Id).limit(5000).all(db).await?;
    let calendar_ids: BTreeSet<Uuid> = list.iter().map(|e| e.calendar_id).collect();
    let owners: BTreeMap<Uuid, Uuid> = calendars::Entity::find()
        .filter(calendars::Column::Id.is_in(calendar_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.owner_id))
        .collect();
    let tokens: BTreeSet<String> = list.iter().filter_map(|e| e.booking_link_token.clone()).collect();
    let zones: BTreeMap<String, chrono_tz::Tz> = booking_links::Entity::find()
        .filter(booking_links::Column::Token.is_in(tokens))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.token, l.timezone.parse().unwrap_or(chrono_tz::UTC)))
        .collect();
    let addresses = emails(db, owners.values().copied()).await?;
    let mut out = Vec::new();
    for e in list {
        let Some(owner) = owners.get(&e.calendar_id).copied() else { continue };
        let tz = e.booking_link_token.as_ref().and_then(|t| zones.get(t)).copied().unwrap_or(chrono_tz::UTC);
        let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let (user, email) = match rule.recipient {
            Recipient::Owner => (Some(owner), addresses.get(&owner).cloned()),
            Recipient::Visitor => (None, e.attendee_email.clone()),
            _ => continue,
        };
        let context = json!({
            "reservation": {
                "id": e.id, "calendar_id": e.calendar_id, "title": e.title,
                "name": e.attendee_name.clone().unwrap_or_default(), "email": e.attendee_email.clone().unwrap_or_default(),
                "notes": e.notes.clone(), "start": e.starts_at.to_rfc3339(), "end": e.ends_at.to_rfc3339(),
                "start_local": fmt(e.starts_at), "end_local": fmt(e.ends_at), "timezone": tz.name(),
            },
        });
        let ical = rule.ical.then(|| IcalEvent {
            uid: format!("{}@bookings", e.id),
            start: e.starts_at,
            end: e.ends_at,
            tz,
            summary: e.title.clone(),
            description: e.notes.clone(),
            location: None,
            organizer_email: addresses.get(&owner).cloned(),
            attendee_email: None,
            sequence: 0,
            status: IcalStatus::Confirmed,
        });
        out.push(Candidate {
            subject_id: e.id,
            recipient_user_id: user,
            recipient_email: email,
            about_user_id: None,
            about_coach_id: Some(owner),
            context,
            ical,
        });
    }
    Ok(out)
}

/// Finds every message due now and enqueues it once (the dedupe key ignores repeats).
#[tracing::instrument(level = "info", skip_all, fields(rules = rules.rules.len()), err(level = "info", Display))]
pub async fn enqueue_due(db: &DatabaseConnection, rules: &Rules, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut enqueued = 0;
    for rule in &rules.rules {
        let candidates = if rule.trigger.is_reservation() {
            reservation_candidates(db, rules, rule, now).await?
        } else {
            booking_candidates(db, rules, rule, now).await?
        };
        let keys: Vec<String> = candidates.iter().map(|c| dedupe_key(rule, c)).collect();
        let known: BTreeSet<String> = notifications::Entity::find()
            .select_only()
            .column(notifications::Column::DedupeKey)
            .filter(notifications::Column::DedupeKey.is_in(keys.clone()))
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let mut rows = Vec::new();
        for (candidate, key) in candidates.into_iter().zip(keys) {
            if known.contains(&key) {
                continue;
            }
            rows.push((candidate.subject_id, render_row(rules, rule, candidate, key, now)?));
        }
        let subjects = if rule.trigger.is_reservation() { Subjects::CalendarEvents } else { Subjects::Bookings };
        for chunk in rows.chunks(200) {
            enqueued += insert_while_subjects_exist(db, subjects, chunk).await?;
        }
    }
    Ok(enqueued)
}

/// The table a rule's subjects live in.
#[derive(Debug, Clone, Copy)]
enum Subjects {
    Bookings,
    CalendarEvents,
}

/// Which of `ids` exist in `E`, each row share-locked (in id order) until the transaction ends.
async fn share_lock_existing<E: EntityTrait>(
    txn: &DatabaseTransaction,
    id: E::Column,
    ids: BTreeSet<Uuid>,
) -> Result<BTreeSet<Uuid>, DbErr> {
    let rows = E::find()
        .select_only()
        .column(id)
        .filter(id.is_in(ids))
        .order_by_asc(id)
        .lock_shared()
        .into_tuple::<Uuid>()
        .all(txn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Inserts the messages whose subject still exists, in one write transaction that first locks
/// those subjects (`FOR SHARE` on PostgreSQL; SQLite's immediate transaction is the only
/// writer). The candidates were read before: a user erased since then must not get messages
/// about their data enqueued after the erasure. An erasure deletes the subjects before it
/// forgets their messages, so whichever transaction comes second sees the other's work: the
/// erasure removes what this inserted, or this finds the subjects gone and inserts nothing.
async fn insert_while_subjects_exist(
    db: &DatabaseConnection,
    subjects: Subjects,
    rows: &[(Uuid, notifications::ActiveModel)],
) -> ServiceResult<usize> {
    let ids: BTreeSet<Uuid> = rows.iter().map(|(subject, _)| *subject).collect();
    let txn = begin_write(db).await?;
    let existing: BTreeSet<Uuid> = match subjects {
        Subjects::Bookings => share_lock_existing::<bookings::Entity>(&txn, bookings::Column::Id, ids).await?,
        Subjects::CalendarEvents => {
            share_lock_existing::<calendar_events::Entity>(&txn, calendar_events::Column::Id, ids).await?
        }
    };
    let keep: Vec<notifications::ActiveModel> =
        rows.iter().filter(|(subject, _)| existing.contains(subject)).map(|(_, row)| row.clone()).collect();
    let mut inserted = 0;
    if !keep.is_empty() {
        let result = notifications::Entity::insert_many(keep)
            .on_conflict(OnConflict::column(notifications::Column::DedupeKey).do_nothing().to_owned())
            .exec_without_returning(&txn)
            .await;
        match result {
            Ok(n) => inserted = n as usize,
            Err(DbErr::RecordNotInserted) => {}
            Err(e) => return Err(e.into()),
        }
    }
    txn.commit().await?;
    Ok(inserted)
}

fn dedupe_key(rule: &Rule, c: &Candidate) -> String {
    let recipient = match rule.channel {
        Channel::Webhook => rule.channel.name(),
        Channel::Email => rule.recipient.name().to_string(),
    };
    format!("{}:{}:{}", rule.name, c.subject_id, recipient)
}

fn render_row(
    rules: &Rules,
    rule: &Rule,
    c: Candidate,
    key: String,
    now: DateTime<Utc>,
) -> ServiceResult<notifications::ActiveModel> {
    let id = Uuid::new_v4();
    let mut context = c.context;
    context["rule"] = json!(rule.name);
    context["trigger"] = json!(rule.trigger.name());
    context["subject_id"] = json!(c.subject_id);
    context["recipient"] = json!({"role": rule.recipient.name(), "user_id": c.recipient_user_id});
    let rendered = rules.render(&rule.template, &context).map_err(crate::error::ServiceError::internal)?;
    let payload = json!({
        "id": id, "rule": rule.name, "trigger": rule.trigger.name(), "subject_id": c.subject_id,
        "recipient": {"role": rule.recipient.name(), "user_id": c.recipient_user_id},
        "data": context,
    });
    let (status, last_error) = match (rule.channel, &c.recipient_email) {
        (Channel::Email, None) => {
            (NotificationStatus::Skipped, Some(format!("no email address known for the {}", rule.recipient.name())))
        }
        _ => (NotificationStatus::Pending, None),
    };
    Ok(notifications::ActiveModel {
        id: Set(id),
        dedupe_key: Set(key),
        rule: Set(rule.name.clone()),
        channel: Set(rule.channel),
        subject_id: Set(c.subject_id),
        recipient_role: Set(rule.recipient.name().into()),
        recipient_user_id: Set(c.recipient_user_id),
        recipient_email: Set(c.recipient_email),
        about_user_id: Set(c.about_user_id),
        about_coach_id: Set(c.about_coach_id),
        subject: Set(rendered.subject),
        body_text: Set(rendered.text),
        body_html: Set(rendered.html),
        ical: Set(c.ical.as_ref().map(|e| ical::render(e, now))),
        payload: Set(payload.to_string()),
        status: Set(status),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        last_error: Set(last_error),
        created_at: Set(now),
        sent_at: Set(None),
        updated_at: Set(now),
    })
}

/// Claims up to `limit` due messages (pending and due, or sending with an expired lease).
#[tracing::instrument(level = "info", skip_all, err(level = "info", Display))]
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
) -> ServiceResult<Vec<notifications::Model>> {
    let lease_until = now + settings.lease;
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let sql =
                "UPDATE notifications SET status = $4, lease_until = $1, attempts = attempts + 1, updated_at = $2 \
                 WHERE id IN (SELECT id FROM notifications \
                   WHERE (status = $5 AND next_attempt_at <= $2) OR (status = $4 AND lease_until < $2) \
                   ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING *";
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [
                    lease_until.into(),
                    now.into(),
                    (settings.batch_size as i64).into(),
                    NotificationStatus::Sending.into(),
                    NotificationStatus::Pending.into(),
                ],
            );
            Ok(notifications::Entity::find().from_raw_sql(stmt).all(db).await?)
        }
        _ => {
            let txn = begin_write(db).await?;
            let due = notifications::Entity::find()
                .filter(
                    sea_orm::Condition::any()
                        .add(
                            sea_orm::Condition::all()
                                .add(notifications::Column::Status.eq(NotificationStatus::Pending))
                                .add(notifications::Column::NextAttemptAt.lte(now)),
                        )
                        .add(
                            sea_orm::Condition::all()
                                .add(notifications::Column::Status.eq(NotificationStatus::Sending))
                                .add(notifications::Column::LeaseUntil.lt(now)),
                        ),
                )
                .order_by_asc(notifications::Column::NextAttemptAt)
                .order_by_asc(notifications::Column::Id)
                .limit(settings.batch_size)
                .all(&txn)
                .await?;
            let ids: Vec<Uuid> = due.iter().map(|n| n.id).collect();
            if !ids.is_empty() {
                notifications::Entity::update_many()
                    .col_expr(notifications::Column::Status, NotificationStatus::Sending.into())
                    .col_expr(notifications::Column::LeaseUntil, lease_until.into())
                    .col_expr(
                        notifications::Column::Attempts,
                        sea_orm::sea_query::ExprTrait::add(
                            sea_orm::sea_query::Expr::col(notifications::Column::Attempts),
                            1,
                        ),
                    )
                    .col_expr(notifications::Column::UpdatedAt, now.into())
                    .filter(notifications::Column::Id.is_in(ids.clone()))
                    .exec(&txn)
                    .await?;
            }
            let claimed = notifications::Entity::find().filter(notifications::Column::Id.is_in(ids)).all(&txn).await?;
            txn.commit().await?;
            Ok(claimed)
        }
    }
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

/// Records a send's outcome, if the claim is still ours (the lease did not run out meanwhile).
async fn record(
    db: &DatabaseConnection,
    n: &notifications::Model,
    outcome: &Result<(), SendError>,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
    report: &mut PassReport,
) -> ServiceResult<()> {
    let update = notifications::Entity::update_many()
        .filter(notifications::Column::Id.eq(n.id))
        .filter(notifications::Column::Status.eq(NotificationStatus::Sending))
        .col_expr(notifications::Column::LeaseUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(notifications::Column::UpdatedAt, now.into());
    let update = match outcome {
        Ok(()) => {
            report.sent += 1;
            update
                .col_expr(notifications::Column::Status, NotificationStatus::Sent.into())
                .col_expr(notifications::Column::SentAt, Some(now).into())
                .col_expr(notifications::Column::LastError, Option::<String>::None.into())
        }
        Err(SendError::Transient(e)) if n.attempts < settings.max_attempts => {
            report.retrying += 1;
            update
                .col_expr(notifications::Column::Status, NotificationStatus::Pending.into())
                .col_expr(
                    notifications::Column::NextAttemptAt,
                    (now + backoff(settings.base_backoff, n.attempts)).into(),
                )
                .col_expr(notifications::Column::LastError, Some(e.clone()).into())
        }
        Err(e) => {
            report.failed += 1;
            update
                .col_expr(notifications::Column::Status, NotificationStatus::Failed.into())
                .col_expr(notifications::Column::LastError, Some(e.to_string()).into())
        }
    };
    update.exec(db).await?;
    Ok(())
}

/// The transports a pass sends with.
pub struct Transports {
    pub email: EmailTransport,
    pub webhook: Option<super::webhook::WebhookTransport>,
}

pub enum EmailTransport {
    Smtp(super::smtp::SmtpTransport),
    Log(super::log::LogTransport),
}

impl Transports {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        match (message.channel, &self.email, &self.webhook) {
            (Channel::Email, EmailTransport::Smtp(t), _) => t.send(message).await,
            (Channel::Email, EmailTransport::Log(t), _) => t.send(message).await,
            (Channel::Webhook, _, Some(t)) => t.send(message).await,
            (Channel::Webhook, _, None) => Err(SendError::Permanent("no webhook URLs are configured".into())),
        }
    }
}

/// One pass: enqueue what is due, then claim and send batches until nothing is due.
#[tracing::instrument(level = "info", skip_all, err(level = "info", Display))]
pub async fn run_pass(
    db: &DatabaseConnection,
    rules: &Rules,
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
        let results: Vec<(notifications::Model, Result<(), SendError>)> = futures::stream::iter(claimed)
            .map(|n| async move {
                let outcome = transports.send(&message_of(&n)).await;
                (n, outcome)
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
        for (n, outcome) in &results {
            if let Err(e) = outcome {
                tracing::warn!(notification = %n.id, rule = %n.rule, attempts = n.attempts, error = %e, "notification not sent");
            }
            record(db, n, outcome, clock.now(), settings, &mut report).await?;
        }
    }
    Ok(report)
}

/// Removes everything queued to or about a user (their data is being deleted).
pub async fn forget_user(db: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    Ok(notifications::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(notifications::Column::RecipientUserId.eq(user))
                .add(notifications::Column::AboutUserId.eq(user))
                .add(notifications::Column::AboutCoachId.eq(user)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes every message about these subjects (bookings or calendar events), whoever it is
/// addressed to; for erasing a user. Call it after the subjects are deleted (see
/// [`insert_while_subjects_exist`]).
pub async fn forget_subjects(db: &impl ConnectionTrait, subject_ids: &[Uuid]) -> Result<u64, DbErr> {
    let mut removed = 0;
    for chunk in subject_ids.chunks(500) {
        removed += notifications::Entity::delete_many()
            .filter(notifications::Column::SubjectId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::seconds(30);
        assert_eq!(backoff(base, 1), Duration::seconds(30));
        assert_eq!(backoff(base, 2), Duration::seconds(60));
        assert_eq!(backoff(base, 4), Duration::seconds(240));
        assert_eq!(backoff(base, 30), Duration::days(1));
    }

    #[test]
    fn fixed_offsets_map_to_etc_zones() {
        assert_eq!(tz_for_offset(FixedOffset::east_opt(3 * 3600).unwrap()).name(), "Etc/GMT-3");
        assert_eq!(tz_for_offset(FixedOffset::west_opt(3 * 3600).unwrap()).name(), "Etc/GMT+3");
        assert_eq!(tz_for_offset(FixedOffset::east_opt(0).unwrap()).name(), "Etc/UTC");
        assert_eq!(tz_for_offset(FixedOffset::east_opt(5 * 3600 + 1800).unwrap()).name(), "UTC");
    }
}
