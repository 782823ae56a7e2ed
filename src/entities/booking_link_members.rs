//! Issue #25: a member of a team link, one calendar, in the link's order (`position`, from 0).
//! It belongs to a booking link and to a calendar.

use crate::domain::ids::CalendarId;
use crate::domain::input::LinkToken;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_link_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub booking_link_token: LinkToken,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub calendar_id: CalendarId,
    /// Round robin's weight, 1..=100.
    pub weight: i32,
    /// The member's own daily cap (NULL: the link's alone).
    pub max_bookings_per_day: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::booking_links::Entity",
        from = "Column::BookingLinkToken",
        to = "super::booking_links::Column::Token"
    )]
    BookingLink,
    #[sea_orm(
        belongs_to = "super::calendars::Entity",
        from = "Column::CalendarId",
        to = "super::calendars::Column::Id"
    )]
    Calendar,
}

impl Related<super::booking_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BookingLink.def()
    }
}

impl Related<super::calendars::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calendar.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
