//! Stored answers of requests sent with an Idempotency-Key (`idempotency_keys`): taking a key,
//! taking over an expired or abandoned one, storing the answer, letting go, and purging. Every
//! change is one statement conditioned on what was read, so two requests (on two instances, say)
//! never both hold a key.

use crate::domain::idempotency::Held;
use crate::entities::idempotency_keys;
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, Set,
    Statement,
};

/// What deciding needs of a stored row.
pub fn held(row: &idempotency_keys::Model) -> Held {
    Held {
        fingerprint: row.fingerprint.clone(),
        answered: row.response_status.is_some(),
        lease_until: row.lease_until,
        expires_at: row.expires_at,
    }
}

/// A request taking a key: when, until when it holds it, when the key expires.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub key_hash: &'a str,
    pub operation: &'a str,
    pub fingerprint: &'a str,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn find(db: &impl ConnectionTrait, key_hash: &str) -> ServiceResult<Option<idempotency_keys::Model>> {
    crate::ctx!(idempotency_keys::Entity::find_by_id(key_hash.to_string()).one(db).await)
}

/// What a request's first look at its key came to.
#[derive(Debug, Clone)]
pub enum Claimed {
    /// The key was free: this request holds it now.
    Taken,
    /// The key's row, as it is (an answer to replay, a request in flight, an expired key...).
    Held(idempotency_keys::Model),
    /// Neither (another request took the key in the same instant): look again.
    Lost,
}

/// Takes the key if it is free, else reads its row: on PostgreSQL in one statement (an insert
/// that does nothing on a conflict, and the row there when it did nothing), so a replay and a
/// new request each cost one round trip here; on SQLite the row is read first, then the free key
/// taken (SQLite has no data-modifying CTE; its writes are local calls).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn claim_or_find(db: &DatabaseConnection, claim: &Claim<'_>) -> ServiceResult<Claimed> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(match find(db, claim.key_hash).await? {
            Some(row) => Claimed::Held(row),
            None if insert(db, claim).await? => Claimed::Taken,
            None => Claimed::Lost,
        });
    }
    // The row read is the statement's snapshot: one inserted concurrently (which the insert
    // waited for) is not in it, and then there is no row at all: `Lost`, look again.
    let sql = "WITH taken AS ( \
                   INSERT INTO idempotency_keys (key_hash, operation, fingerprint, lease_until, expires_at, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash) \
               SELECT true AS taken, NULL::varchar AS key_hash, NULL::varchar AS operation, NULL::varchar AS fingerprint, \
                      NULL::integer AS response_status, NULL::text AS response_headers, NULL::bytea AS response_body, \
                      NULL::timestamptz AS lease_until, NULL::timestamptz AS expires_at, NULL::timestamptz AS created_at \
                 FROM taken \
               UNION ALL \
               SELECT false, k.key_hash, k.operation, k.fingerprint, k.response_status, k.response_headers, \
                      k.response_body, k.lease_until, k.expires_at, k.created_at \
                 FROM idempotency_keys k \
                WHERE k.key_hash = $1 AND NOT EXISTS (SELECT 1 FROM taken)";
    let values = [
        claim.key_hash.into(),
        claim.operation.into(),
        claim.fingerprint.into(),
        claim.lease_until.into(),
        claim.expires_at.into(),
        claim.now.into(),
    ];
    let row = crate::ctx!(db.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await)?;
    let Some(row) = row else { return Ok(Claimed::Lost) };
    if crate::ctx!(row.try_get::<bool>("", "taken"))? {
        return Ok(Claimed::Taken);
    }
    Ok(Claimed::Held(crate::ctx!(idempotency_keys::Model::from_query_result(&row, ""))?))
}

/// Takes a free key: whether this request now holds it (false: another row is there).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn insert(db: &DatabaseConnection, claim: &Claim<'_>) -> ServiceResult<bool> {
    // A write outside a transaction: on SQLite it takes the writer's turn.
    let db = &crate::db::autocommit(db);
    let row = idempotency_keys::ActiveModel {
        key_hash: Set(claim.key_hash.to_string()),
        operation: Set(claim.operation.to_string()),
        fingerprint: Set(claim.fingerprint.to_string()),
        response_status: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        lease_until: Set(claim.lease_until),
        expires_at: Set(claim.expires_at),
        created_at: Set(claim.now),
    };
    let result = idempotency_keys::Entity::insert(row)
        .on_conflict(OnConflict::column(idempotency_keys::Column::KeyHash).do_nothing().to_owned())
        .exec_without_returning(db)
        .await;
    match result {
        Ok(n) => Ok(n == 1),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(e) => crate::ctx!(Err(e)),
    }
}

/// Takes over the key from the row `seen` (expired, or abandoned mid-request), if it is still
/// exactly that row: whether this request now holds it.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn take_over(
    db: &DatabaseConnection,
    seen: &idempotency_keys::Model,
    claim: &Claim<'_>,
) -> ServiceResult<bool> {
    // A write outside a transaction: on SQLite it takes the writer's turn.
    let db = &crate::db::autocommit(db);
    let mut update = idempotency_keys::Entity::update_many()
        .filter(idempotency_keys::Column::KeyHash.eq(claim.key_hash))
        .filter(idempotency_keys::Column::LeaseUntil.eq(seen.lease_until))
        .filter(idempotency_keys::Column::ExpiresAt.eq(seen.expires_at));
    update = match seen.response_status {
        Some(status) => update.filter(idempotency_keys::Column::ResponseStatus.eq(status)),
        None => update.filter(idempotency_keys::Column::ResponseStatus.is_null()),
    };
    let done = crate::ctx!(
        update
            .col_expr(idempotency_keys::Column::Operation, claim.operation.into())
            .col_expr(idempotency_keys::Column::Fingerprint, claim.fingerprint.into())
            .col_expr(idempotency_keys::Column::ResponseStatus, Option::<i32>::None.into())
            .col_expr(idempotency_keys::Column::ResponseHeaders, Option::<String>::None.into())
            .col_expr(idempotency_keys::Column::ResponseBody, Option::<Vec<u8>>::None.into())
            .col_expr(idempotency_keys::Column::LeaseUntil, claim.lease_until.into())
            .col_expr(idempotency_keys::Column::ExpiresAt, claim.expires_at.into())
            .col_expr(idempotency_keys::Column::CreatedAt, claim.now.into())
            .exec(db)
            .await
    )?;
    Ok(done.rows_affected == 1)
}

/// Stores the answer of the request holding the key (its lease `lease_until`).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn answer(
    db: &DatabaseConnection,
    key_hash: &str,
    lease_until: DateTime<Utc>,
    status: u16,
    headers: String,
    body: Vec<u8>,
) -> ServiceResult<bool> {
    // A write outside a transaction: on SQLite it takes the writer's turn.
    let db = &crate::db::autocommit(db);
    let done = crate::ctx!(
        idempotency_keys::Entity::update_many()
            .filter(idempotency_keys::Column::KeyHash.eq(key_hash))
            .filter(idempotency_keys::Column::LeaseUntil.eq(lease_until))
            .filter(idempotency_keys::Column::ResponseStatus.is_null())
            .col_expr(idempotency_keys::Column::ResponseStatus, Some(i32::from(status)).into())
            .col_expr(idempotency_keys::Column::ResponseHeaders, Some(headers).into())
            .col_expr(idempotency_keys::Column::ResponseBody, Some(body).into())
            .exec(db)
            .await
    )?;
    Ok(done.rows_affected == 1)
}

/// Lets go of a key held by the request whose lease is `lease_until`, unanswered (its answer is
/// not kept: the next request with the key is served anew).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn release(db: &DatabaseConnection, key_hash: &str, lease_until: DateTime<Utc>) -> ServiceResult<()> {
    // A write outside a transaction: on SQLite it takes the writer's turn.
    let db = &crate::db::autocommit(db);
    crate::ctx!(
        idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::KeyHash.eq(key_hash))
            .filter(idempotency_keys::Column::LeaseUntil.eq(lease_until))
            .filter(idempotency_keys::Column::ResponseStatus.is_null())
            .exec(db)
            .await
    )?;
    Ok(())
}

/// Deletes every key that expired by `now`; how many.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn purge_expired(db: &DatabaseConnection, now: DateTime<Utc>) -> ServiceResult<u64> {
    // A write outside a transaction: on SQLite it takes the writer's turn.
    let db = &crate::db::autocommit(db);
    let done = crate::ctx!(
        idempotency_keys::Entity::delete_many().filter(idempotency_keys::Column::ExpiresAt.lte(now)).exec(db).await
    )?;
    Ok(done.rows_affected)
}
