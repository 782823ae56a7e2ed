//! The stored answer to a request sent with an `Idempotency-Key` (issue #13). `key_hash` is the
//! SHA-256 of the key, the operation and the caller (so neither a key nor a manage token is
//! kept as sent); `fingerprint` the SHA-256 of the request (method, path, body). While the first
//! request is served `response_status` is NULL and `lease_until` says until when it holds the
//! key; `expires_at` (24 h after it was taken) is when the row is purged.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_hash: String,
    pub operation: String,
    pub fingerprint: String,
    pub response_status: Option<i32>,
    /// JSON: `[["content-type", "application/json; charset=utf-8"], ...]`.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_headers: Option<String>,
    /// Sealed under the request's key (`domain::idempotency::seal`): unreadable without it.
    #[sea_orm(column_type = "Blob", nullable)]
    pub response_body: Option<Vec<u8>>,
    pub lease_until: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
