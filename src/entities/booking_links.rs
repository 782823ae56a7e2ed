//! A public booking link of a calendar: its unguessable token and settings. It belongs to a
//! calendar.

use super::kinds::WeekStart;
use crate::domain::availability::{Scheduling, SlotAlignment, WindowDays};
use crate::domain::booking_link::LocationKind;
use crate::domain::ids::CalendarId;
use crate::domain::input::LinkToken;
use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: LinkToken,
    pub calendar_id: CalendarId,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub timezone: String,
    /// JSON: `{"mon": [{"start": "09:00", "end": "17:00"}], ...}`.
    #[sea_orm(column_type = "Text")]
    pub working_hours: String,
    pub active: bool,
    /// The scheduling rules of issue #12; NULL: not set (the seed's behaviour).
    pub min_notice_minutes: Option<i32>,
    pub max_days_ahead: Option<i32>,
    pub slot_interval_minutes: Option<i32>,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub max_bookings_per_day: Option<i32>,
    /// JSON: `[{"date": "2026-12-24", "windows": [{"start": "09:00", "end": "12:00"}]}]`.
    #[sea_orm(column_type = "Text", nullable)]
    pub date_overrides: Option<String>,
    /// Issue #13: guests cancel or move a reservation only until this long before its start;
    /// NULL: not set (0).
    pub min_cancel_notice_minutes: Option<i32>,
    /// Issue #25: limits per period and on booked minutes, the week's first day, how
    /// `max_days_ahead` counts, bookable dates, where slots start, the location; NULL: not set.
    pub max_bookings_per_week: Option<i32>,
    pub max_bookings_per_month: Option<i32>,
    pub max_bookings_per_year: Option<i32>,
    pub max_minutes_per_day: Option<i32>,
    pub max_minutes_per_week: Option<i32>,
    pub week_start: Option<WeekStart>,
    pub window_days_kind: Option<WindowDays>,
    pub bookable_from: Option<Date>,
    pub bookable_until: Option<Date>,
    pub slot_alignment: Option<SlotAlignment>,
    pub location_kind: Option<LocationKind>,
    /// The location's value (a template may hold `{reservation_id}`); set with its kind.
    #[sea_orm(column_type = "Text", nullable)]
    pub location_value: Option<String>,
    /// Issue #25: visitors per slot; NULL: not set (1).
    pub seats_per_slot: Option<i32>,
    /// Issue #25's approval: each reservation waits for the owner's confirmation; a pending one
    /// holds its slot (NULL: yes) until it lapses after this many minutes (NULL: at its start).
    pub requires_confirmation: Option<bool>,
    pub pending_blocks_slot: Option<bool>,
    pub pending_expires_minutes: Option<i32>,
    /// Issue #25: how the link's calendars make its slots; NULL: `single` (its own calendar).
    /// Its members are `booking_link_members`.
    pub scheduling: Option<Scheduling>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::calendars::Entity",
        from = "Column::CalendarId",
        to = "super::calendars::Column::Id"
    )]
    Calendar,
}

impl Related<super::calendars::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calendar.def()
    }
}

/// A new unguessable token: 192 random bits, URL-safe.
pub fn new_token() -> LinkToken {
    LinkToken::from_random_bytes(rand::random())
}

super::ids_and_timestamps! {
    table: "booking_links",
    fresh: { token => new_token() },
    created: [created_at],
    updated: [updated_at],
}
