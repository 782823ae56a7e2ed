//! Indexes for the queries an order makes: the athlete's schedule around the ordered events
//! (user, start) and their live bookings with one coach for `serviceCardinality` (user, coach,
//! start). The (user) index of the first migration is a prefix of both and goes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Bookings {
    Table,
    UserId,
    CoachId,
    StartsAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("bookings_user_starts")
                    .table(Bookings::Table)
                    .col(Bookings::UserId)
                    .col(Bookings::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("bookings_user_coach_starts")
                    .table(Bookings::Table)
                    .col(Bookings::UserId)
                    .col(Bookings::CoachId)
                    .col(Bookings::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name("bookings_user_start").table(Bookings::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create().name("bookings_user_start").table(Bookings::Table).col(Bookings::UserId).to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name("bookings_user_coach_starts").table(Bookings::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("bookings_user_starts").table(Bookings::Table).to_owned()).await
    }
}
