//! Database migrations (sea-orm-migration). Run on every server start; also a CLI
//! (`cargo run -p migrations -- up`, or `bookings migrate`).

pub use sea_orm_migration::prelude::*;

mod m20261120_000001_initial;
mod m20261121_000002_notifications;
mod m20261122_000003_booking_indexes;
mod m20261201_000004_link_rules;
mod m20261202_000005_guest_self_service;
mod m20261202_000006_webhooks;
mod m20261203_000007_reservation_cancelled_by;
mod m20261206_000008_link_limits_and_location;
mod m20261206_000009_write_functions;
mod m20261206_000010_seats;
mod m20261206_000011_approval;
mod m20261206_000012_team_links;
mod m20261206_000013_plpgsql_checks;
mod m20261207_000014_busy_by_end;
mod m20261208_000015_generic_plans;
mod m20261209_000016_bounded_busy_scans;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261120_000001_initial::Migration),
            Box::new(m20261121_000002_notifications::Migration),
            Box::new(m20261122_000003_booking_indexes::Migration),
            Box::new(m20261201_000004_link_rules::Migration),
            Box::new(m20261202_000005_guest_self_service::Migration),
            Box::new(m20261202_000006_webhooks::Migration),
            Box::new(m20261203_000007_reservation_cancelled_by::Migration),
            Box::new(m20261206_000008_link_limits_and_location::Migration),
            Box::new(m20261206_000009_write_functions::Migration),
            Box::new(m20261206_000010_seats::Migration),
            Box::new(m20261206_000011_approval::Migration),
            Box::new(m20261206_000012_team_links::Migration),
            Box::new(m20261206_000013_plpgsql_checks::Migration),
            Box::new(m20261207_000014_busy_by_end::Migration),
            Box::new(m20261208_000015_generic_plans::Migration),
            Box::new(m20261209_000016_bounded_busy_scans::Migration),
        ]
    }
}
