//! The outbox's table, `notifications`: enqueueing under the unique key while the subjects still
//! exist, claiming a bounded batch with a lease, recording an outcome, forgetting a user.
//! Overlapping passes (one server or several on one PostgreSQL) never claim a message twice:
//! claims are disjoint (`FOR UPDATE SKIP LOCKED` on PostgreSQL, an immediate transaction on
//! SQLite) and a claimed message is leased.

use crate::db::begin_write;
use crate::domain::ids::{NotificationId, UserId};
use crate::domain::notifications::Recipient;
use crate::entities::notification_attempts;
use crate::entities::notifications::{self, Channel, NotificationStatus};
use crate::entities::{bookings, calendar_events};
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A rendered message to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub id: NotificationId,
    pub dedupe_key: String,
    pub rule: String,
    pub channel: Channel,
    pub subject_id: Uuid,
    pub recipient_role: Recipient,
    pub recipient_user_id: Option<UserId>,
    pub recipient_email: Option<String>,
    pub about_user_id: Option<UserId>,
    pub about_coach_id: Option<UserId>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ical: Option<String>,
    /// The webhook body, as JSON text.
    pub payload: String,
    /// Why it will never be sent (it is stored as skipped); `None`: pending.
    pub skipped: Option<String>,
}

impl NewMessage {
    fn row(&self, now: DateTime<Utc>) -> notifications::ActiveModel {
        let status = if self.skipped.is_some() { NotificationStatus::Skipped } else { NotificationStatus::Pending };
        notifications::ActiveModel {
            id: Set(self.id),
            dedupe_key: Set(self.dedupe_key.clone()),
            rule: Set(self.rule.clone()),
            channel: Set(self.channel),
            subject_id: Set(self.subject_id),
            recipient_role: Set(self.recipient_role),
            recipient_user_id: Set(self.recipient_user_id),
            recipient_email: Set(self.recipient_email.clone()),
            about_user_id: Set(self.about_user_id),
            about_coach_id: Set(self.about_coach_id),
            subject: Set(self.subject.clone()),
            body_text: Set(self.body_text.clone()),
            body_html: Set(self.body_html.clone()),
            ical: Set(self.ical.clone()),
            payload: Set(self.payload.clone()),
            status: Set(status),
            attempts: Set(0),
            next_attempt_at: Set(now),
            lease_until: Set(None),
            last_error: Set(self.skipped.clone()),
            created_at: Set(now),
            sent_at: Set(None),
            updated_at: Set(now),
        }
    }
}

/// Which of these keys are queued already.
#[tracing::instrument(level = "debug", skip_all, fields(keys = keys.len()), err(level = "debug", Display))]
pub async fn known_keys(db: &impl ConnectionTrait, keys: &[String]) -> ServiceResult<BTreeSet<String>> {
    let mut known = BTreeSet::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<String> = notifications::Entity::find()
            .select_only()
            .column(notifications::Column::DedupeKey)
            .filter(notifications::Column::DedupeKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        known.extend(rows);
    }
    Ok(known)
}

/// The table a rule's subjects live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subjects {
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

/// Inserts the messages whose subject still exists (a key queued already is left as it is), in
/// one write transaction that first locks those subjects (`FOR SHARE` on PostgreSQL; SQLite's
/// immediate transaction is the only writer); the number inserted. The messages were rendered
/// from facts read before: a user erased since then must not get messages about their data
/// enqueued after the erasure. An erasure deletes the subjects before it forgets their
/// messages, so whichever transaction comes second sees the other's work: the erasure removes
/// what this inserted, or this finds the subjects gone and inserts nothing.
#[tracing::instrument(level = "debug", skip_all, fields(subjects = ?subjects, messages = messages.len()), err(level = "debug", Display))]
pub async fn insert_while_subjects_exist(
    db: &DatabaseConnection,
    subjects: Subjects,
    messages: &[NewMessage],
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let ids: BTreeSet<Uuid> = messages.iter().map(|m| m.subject_id).collect();
    let txn = begin_write(db).await?;
    let existing: BTreeSet<Uuid> = match subjects {
        Subjects::Bookings => share_lock_existing::<bookings::Entity>(&txn, bookings::Column::Id, ids).await?,
        Subjects::CalendarEvents => {
            share_lock_existing::<calendar_events::Entity>(&txn, calendar_events::Column::Id, ids).await?
        }
    };
    let keep: Vec<notifications::ActiveModel> =
        messages.iter().filter(|m| existing.contains(&m.subject_id)).map(|m| m.row(now)).collect();
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

/// Inserts rendered messages in `txn` (a key queued already is left as it is): for messages whose
/// subject this transaction is deleting (an erasure's cancellations), so no subject is checked.
#[tracing::instrument(level = "debug", skip_all, fields(messages = messages.len()), err(level = "debug", Display))]
pub async fn insert_in(txn: &DatabaseTransaction, messages: &[NewMessage], now: DateTime<Utc>) -> ServiceResult<u64> {
    let mut inserted = 0;
    for chunk in messages.chunks(200) {
        let rows: Vec<notifications::ActiveModel> = chunk.iter().map(|m| m.row(now)).collect();
        match notifications::Entity::insert_many(rows)
            .on_conflict(OnConflict::column(notifications::Column::DedupeKey).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await
        {
            Ok(n) => inserted += n,
            Err(DbErr::RecordNotInserted) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(inserted)
}

/// PostgreSQL: one statement; concurrent claims skip each other's rows.
async fn claim_postgres(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<Vec<notifications::Model>> {
    let sql = "UPDATE notifications SET status = $4, lease_until = $1, attempts = attempts + 1, updated_at = $2 \
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
            (limit as i64).into(),
            NotificationStatus::Sending.into(),
            NotificationStatus::Pending.into(),
        ],
    );
    Ok(notifications::Entity::find().from_raw_sql(stmt).all(db).await?)
}

/// Pending and due, or sending with a lease that ran out.
fn due(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(notifications::Column::Status.eq(NotificationStatus::Pending))
                .add(notifications::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(notifications::Column::Status.eq(NotificationStatus::Sending))
                .add(notifications::Column::LeaseUntil.lt(now)),
        )
}

/// SQLite: in one immediate transaction, the only writer meanwhile.
async fn claim_sqlite(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<Vec<notifications::Model>> {
    let txn = begin_write(db).await?;
    let ids: Vec<Uuid> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::Id)
        .filter(due(now))
        .order_by_asc(notifications::Column::NextAttemptAt)
        .order_by_asc(notifications::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&txn)
        .await?;
    if !ids.is_empty() {
        notifications::Entity::update_many()
            .col_expr(notifications::Column::Status, NotificationStatus::Sending.into())
            .col_expr(notifications::Column::LeaseUntil, lease_until.into())
            .col_expr(notifications::Column::Attempts, Expr::col(notifications::Column::Attempts).add(1))
            .col_expr(notifications::Column::UpdatedAt, now.into())
            .filter(notifications::Column::Id.is_in(ids.clone()))
            .exec(&txn)
            .await?;
    }
    let claimed = notifications::Entity::find().filter(notifications::Column::Id.is_in(ids)).all(&txn).await?;
    txn.commit().await?;
    Ok(claimed)
}

/// Claims up to `limit` due messages (pending and due, or sending with an expired lease) until
/// `lease_until`, counting an attempt for each.
#[tracing::instrument(level = "debug", skip_all, fields(limit = limit), err(level = "debug", Display))]
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<Vec<notifications::Model>> {
    match db.get_database_backend() {
        DbBackend::Postgres => claim_postgres(db, now, lease_until, limit).await,
        _ => claim_sqlite(db, now, lease_until, limit).await,
    }
}

/// The unsent messages of one channel (pending, or claimed and not yet recorded): how many,
/// and when the one due longest ago became due (the earliest `next_attempt_at`; in the future
/// when none is due yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub channel: Channel,
    pub pending: i64,
    pub earliest_due: Option<DateTime<Utc>>,
}

/// The backlog of every channel that has unsent messages (one grouped query, read by `/metrics`).
pub async fn backlog(db: &impl ConnectionTrait) -> ServiceResult<Vec<Backlog>> {
    let rows: Vec<(Channel, i64, Option<DateTime<Utc>>)> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::Channel)
        .column_as(notifications::Column::Id.count(), "pending")
        .column_as(notifications::Column::NextAttemptAt.min(), "earliest_due")
        .filter(notifications::Column::Status.is_in([NotificationStatus::Pending, NotificationStatus::Sending]))
        .group_by(notifications::Column::Channel)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(channel, pending, earliest_due)| Backlog { channel, pending, earliest_due }).collect())
}

/// How a claimed send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    RetryAt {
        at: DateTime<Utc>,
        error: String,
    },
    Failed {
        error: String,
    },
    /// Not sent, and never will be (every webhook endpoint it was owed to is disabled).
    Skipped {
        reason: String,
    },
}

impl Outcome {
    /// When the message is tried again.
    pub fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Outcome::RetryAt { at, .. } => Some(*at),
            _ => None,
        }
    }
}

/// One send of a message (to one webhook endpoint, or one email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    pub endpoint_id: Option<String>,
    pub status_code: Option<i32>,
    pub delivered: bool,
    pub error: Option<String>,
}

/// A webhook endpoint to disable (it answered 410 Gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub endpoint_id: String,
    pub target: String,
    pub reason: String,
}

/// A send to record: the message, which of its sends it was (its `attempts` when claimed), how
/// it ended, its attempts and the webhook endpoints it found gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRecord {
    pub id: NotificationId,
    pub attempt: i32,
    pub outcome: Outcome,
    pub attempts: Vec<NewAttempt>,
    pub gone: Vec<Gone>,
}

/// Records a send's outcome as [`record`] does and, if the claim was still ours, in the same
/// transaction its attempts (the message's `attempt`-th send) and the endpoints it found gone.
#[tracing::instrument(level = "debug", skip_all, fields(notification_id = %id), err(level = "debug", Display))]
pub async fn record_send(
    db: &DatabaseConnection,
    id: NotificationId,
    attempt: i32,
    outcome: &Outcome,
    attempts: &[NewAttempt],
    gone: &[Gone],
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let send = SendRecord { id, attempt, outcome: outcome.clone(), attempts: attempts.to_vec(), gone: gone.to_vec() };
    Ok(record_sends(db, std::slice::from_ref(&send), now).await?.contains(&id))
}

/// Records a batch of sends as [`record_send`] does for each, in one write transaction: the sent
/// ones (nearly all) in one `UPDATE ... RETURNING` per chunk, the others one by one, then the
/// attempts of those whose claim was still ours in multi-row inserts. A pass records each
/// claimed batch so: a few statements and one commit instead of three statements and a commit
/// per message. The ids whose claim was still ours.
#[tracing::instrument(level = "debug", skip_all, fields(sends = sends.len()), err(level = "debug", Display))]
pub async fn record_sends(
    db: &DatabaseConnection,
    sends: &[SendRecord],
    now: DateTime<Utc>,
) -> ServiceResult<BTreeSet<NotificationId>> {
    let mut ours = BTreeSet::new();
    if sends.is_empty() {
        return Ok(ours);
    }
    let txn = begin_write(db).await?;
    let sent: Vec<NotificationId> = sends.iter().filter(|s| s.outcome == Outcome::Sent).map(|s| s.id).collect();
    for chunk in sent.chunks(RECORD_CHUNK) {
        let stmt = outcome_update(&Outcome::Sent, now)
            .filter(notifications::Column::Id.is_in(chunk.iter().copied()))
            .into_query()
            .returning_col(notifications::Column::Id)
            .to_owned();
        let rows = txn.query_all(&stmt).await?;
        for row in rows {
            ours.insert(row.try_get_by_index::<NotificationId>(0)?);
        }
    }
    for s in sends.iter().filter(|s| s.outcome != Outcome::Sent) {
        if record(&txn, s.id, &s.outcome, now).await? {
            ours.insert(s.id);
        }
    }
    let rows: Vec<notification_attempts::ActiveModel> = sends
        .iter()
        .filter(|s| ours.contains(&s.id))
        .flat_map(|s| {
            s.attempts.iter().map(move |a| notification_attempts::ActiveModel {
                id: Set(Uuid::new_v4()),
                notification_id: Set(s.id),
                attempt: Set(s.attempt),
                attempted_at: Set(now),
                endpoint_id: Set(a.endpoint_id.clone()),
                status_code: Set(a.status_code),
                delivered: Set(a.delivered),
                error: Set(a.error.clone()),
                next_attempt_at: Set(s.outcome.next_attempt_at()),
            })
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(RECORD_CHUNK).collect();
        notification_attempts::Entity::insert_many(chunk).exec_without_returning(&txn).await?;
    }
    for s in sends.iter().filter(|s| ours.contains(&s.id)) {
        for g in &s.gone {
            super::webhook_endpoints::disable(&txn, &g.endpoint_id, &g.target, &g.reason, now).await?;
        }
    }
    txn.commit().await?;
    Ok(ours)
}

/// Rows per statement when recording a batch: well within both databases' limits on bound
/// values (an attempt row binds 9).
const RECORD_CHUNK: usize = 500;

/// The webhook endpoints each of these messages was delivered to already.
#[tracing::instrument(level = "debug", skip_all, fields(messages = ids.len()), err(level = "debug", Display))]
pub async fn delivered_endpoints(
    db: &impl ConnectionTrait,
    ids: &[NotificationId],
) -> ServiceResult<BTreeMap<NotificationId, BTreeSet<String>>> {
    let mut out: BTreeMap<NotificationId, BTreeSet<String>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(NotificationId, Option<String>)> = notification_attempts::Entity::find()
            .select_only()
            .column(notification_attempts::Column::NotificationId)
            .column(notification_attempts::Column::EndpointId)
            .filter(notification_attempts::Column::NotificationId.is_in(chunk.iter().copied()))
            .filter(notification_attempts::Column::Delivered.eq(true))
            .into_tuple()
            .all(db)
            .await?;
        for (id, endpoint) in rows {
            if let Some(endpoint) = endpoint {
                out.entry(id).or_default().insert(endpoint);
            }
        }
    }
    Ok(out)
}

/// Every send of these messages, oldest first, by message.
#[tracing::instrument(level = "debug", skip_all, fields(messages = ids.len()), err(level = "debug", Display))]
pub async fn attempts_of(
    db: &impl ConnectionTrait,
    ids: &[NotificationId],
) -> ServiceResult<BTreeMap<NotificationId, Vec<notification_attempts::Model>>> {
    let mut out: BTreeMap<NotificationId, Vec<notification_attempts::Model>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows = notification_attempts::Entity::find()
            .filter(notification_attempts::Column::NotificationId.is_in(chunk.iter().copied()))
            .order_by_asc(notification_attempts::Column::Attempt)
            .order_by_asc(notification_attempts::Column::EndpointId)
            .all(db)
            .await?;
        for row in rows {
            out.entry(row.notification_id).or_default().push(row);
        }
    }
    Ok(out)
}

/// Records a send's outcome, if the claim is still ours (the lease did not run out meanwhile
/// and another pass took the message over); whether it was.
#[tracing::instrument(level = "debug", skip_all, fields(notification_id = %id), err(level = "debug", Display))]
pub async fn record(
    db: &impl ConnectionTrait,
    id: NotificationId,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let update = outcome_update(outcome, now).filter(notifications::Column::Id.eq(id));
    Ok(update.exec(db).await?.rows_affected > 0)
}

/// The update that records `outcome` on messages still claimed (`sending`); the caller adds
/// which.
fn outcome_update(outcome: &Outcome, now: DateTime<Utc>) -> sea_orm::UpdateMany<notifications::Entity> {
    let update = notifications::Entity::update_many()
        .filter(notifications::Column::Status.eq(NotificationStatus::Sending))
        .col_expr(notifications::Column::LeaseUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(notifications::Column::UpdatedAt, now.into());
    match outcome {
        Outcome::Sent => update
            .col_expr(notifications::Column::Status, NotificationStatus::Sent.into())
            .col_expr(notifications::Column::SentAt, Some(now).into())
            .col_expr(notifications::Column::LastError, Option::<String>::None.into()),
        Outcome::RetryAt { at, error } => update
            .col_expr(notifications::Column::Status, NotificationStatus::Pending.into())
            .col_expr(notifications::Column::NextAttemptAt, (*at).into())
            .col_expr(notifications::Column::LastError, Some(error.clone()).into()),
        Outcome::Failed { error } => update
            .col_expr(notifications::Column::Status, NotificationStatus::Failed.into())
            .col_expr(notifications::Column::LastError, Some(error.clone()).into()),
        Outcome::Skipped { reason } => update
            .col_expr(notifications::Column::Status, NotificationStatus::Skipped.into())
            .col_expr(notifications::Column::LastError, Some(reason.clone()).into()),
    }
}

/// Up to `limit` messages (with `status`, if given), newest first then by id, after the keyset
/// position `after` (creation time and id of the last one answered).
#[tracing::instrument(level = "debug", skip_all, fields(status = ?status, limit = limit), err(level = "debug", Display))]
pub async fn page(
    db: &impl ConnectionTrait,
    status: Option<NotificationStatus>,
    after: Option<(DateTime<Utc>, NotificationId)>,
    limit: u64,
) -> ServiceResult<Vec<notifications::Model>> {
    let mut query = notifications::Entity::find();
    if let Some(status) = status {
        query = query.filter(notifications::Column::Status.eq(status));
    }
    if let Some((at, id)) = after {
        query =
            query.filter(Condition::any().add(notifications::Column::CreatedAt.lt(at)).add(
                Condition::all().add(notifications::Column::CreatedAt.eq(at)).add(notifications::Column::Id.gt(id)),
            ));
    }
    Ok(query
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_asc(notifications::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Removes everything queued to or about a user (their data is being deleted).
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug", Display))]
pub async fn forget_user(db: &impl ConnectionTrait, user: UserId) -> Result<u64, DbErr> {
    delete_where(
        db,
        Condition::any()
            .add(notifications::Column::RecipientUserId.eq(user))
            .add(notifications::Column::AboutUserId.eq(user))
            .add(notifications::Column::AboutCoachId.eq(user)),
    )
    .await
}

/// Deletes every message about these subjects (bookings or calendar events), whoever it is
/// addressed to; for erasing a user. Call it after the subjects are deleted (see
/// [`insert_while_subjects_exist`]).
#[tracing::instrument(level = "debug", skip_all, fields(subjects = subject_ids.len()), err(level = "debug", Display))]
pub async fn forget_subjects<Id: Into<Uuid> + Copy>(
    db: &impl ConnectionTrait,
    subject_ids: &[Id],
) -> Result<u64, DbErr> {
    let mut removed = 0;
    for chunk in subject_ids.chunks(500) {
        let ids = chunk.iter().map(|&id| id.into());
        removed += delete_where(db, Condition::all().add(notifications::Column::SubjectId.is_in(ids))).await?;
    }
    Ok(removed)
}

/// Deletes the messages matching `which` with their attempts (those first: an error may quote
/// an address); the number of messages deleted.
async fn delete_where(db: &impl ConnectionTrait, which: Condition) -> Result<u64, DbErr> {
    notification_attempts::Entity::delete_many()
        .filter(
            notification_attempts::Column::NotificationId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(notifications::Column::Id)
                    .from(notifications::Entity)
                    .cond_where(which.clone())
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    Ok(notifications::Entity::delete_many().filter(which).exec(db).await?.rows_affected)
}
