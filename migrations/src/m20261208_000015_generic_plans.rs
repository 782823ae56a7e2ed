//! Issue #24: PostgreSQL's write functions run their statements on generic plans.
//!
//! PL/pgSQL prepares each statement of a function once per connection, but PostgreSQL still
//! chooses per execution between the statement's generic plan and a custom plan made for the
//! arguments at hand, and keeps making custom plans when it estimates the generic one dearer.
//! For these functions it did: sampled with `perf record -a` during the bookEvents case of
//! `bench/http.sh`, `GetCachedPlan` (the planner, almost all of it) took 34 % of the machine's
//! time, 44 % of PostgreSQL's, in `bookings_order`, and 12 % of the machine's in
//! `bookings_reserve`. The statements look rows up by key (the link's token, the events' ids,
//! the athlete, a calendar's busy time by end), so the generic plan is the plan: with
//! `plan_cache_mode = force_generic_plan` set on each function (in effect for the functions it
//! calls too) the planner runs once per statement and connection.
//!
//! PostgreSQL only; SQLite gets nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The functions the server calls, by signature.
const FUNCTIONS: [&str; 4] = [
    "bookings_reserve(varchar, timestamptz, uuid, timestamptz, timestamptz, bigint, bigint, text, varchar, text, \
     varchar, varchar, varchar, timestamptz, text)",
    "bookings_reschedule(varchar, timestamptz, uuid, integer, timestamptz, timestamptz, bigint, bigint, text, \
     timestamptz)",
    "bookings_cancel(varchar, timestamptz, uuid, integer, timestamptz, text)",
    "bookings_order(uuid, timestamptz, bigint, bigint, uuid, text)",
];

async fn alter(manager: &SchemaManager<'_>, setting: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for function in FUNCTIONS {
        db.execute_unprepared(&format!("ALTER FUNCTION {function} {setting}")).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter(manager, "SET plan_cache_mode = force_generic_plan").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter(manager, "RESET plan_cache_mode").await
    }
}
