//! The one place queries live; one module per aggregate; more move here over time.
//!
//! Who imports whom: `domain` <- `store` <- `services` <- `handlers`; `notify` uses `store` and
//! `domain`, never `services`. A query here knows sea-orm and the entities, and no use case: who
//! may do what is decided in `services` (through `policy`); finders on a caller's behalf take
//! the caller's [`Visibility`](crate::policy::Visibility) so they cannot show what it may not see.
//!
//! Timestamps come from the app's clock, passed in as `now` (the entities' `before_save` sets
//! ids, and refuses a write whose timestamps were forgotten).

pub mod availability_signal;
pub mod booking_links;
pub mod bookings;
pub mod calendars;
pub mod coach_events;
pub mod erasure;
pub mod guest_writes;
pub mod idempotency;
pub mod notification_subjects;
pub mod orders;
pub mod outbox;
pub mod team_links;
pub mod users;
pub mod webhook_endpoints;

/// Whether the database takes a write now: a transaction that deletes nothing from the
/// migrations table and rolls back (a read-only or locked database, or one out of reach, fails
/// it within the configured timeouts). The readiness check asks it.
pub async fn can_write(db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    let txn = crate::db::begin_write(db).await?;
    txn.execute_unprepared("DELETE FROM seaql_migrations WHERE version = ''").await?;
    txn.rollback().await
}
