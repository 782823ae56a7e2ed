//! A calendar: its owner and name. It has many events (busy time) and booking links.

use crate::domain::ids::{CalendarId, UserId};
use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendars")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CalendarId,
    pub owner_id: UserId,
    pub name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::calendar_events::Entity")]
    Events,
    #[sea_orm(has_many = "super::booking_links::Entity")]
    BookingLinks,
}

impl Related<super::calendar_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl Related<super::booking_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BookingLinks.def()
    }
}

super::ids_and_timestamps! {
    table: "calendars",
    fresh: { id => CalendarId::new() },
    created: [created_at],
    updated: [],
}
