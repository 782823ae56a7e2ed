//! Busy time of a calendar: an event its owner entered, or a visitor's reservation through a
//! booking link. It belongs to a calendar.

use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::LinkToken;
use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CalendarEventId,
    pub calendar_id: CalendarId,
    pub title: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub source: EventSource,
    pub booking_link_token: Option<LinkToken>,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub cancelled: bool,
    pub created_at: DateTimeUtc,
    pub cancelled_at: Option<DateTimeUtc>,
    /// A reservation's manage token, as the hex SHA-256 of it (the token itself is never
    /// stored); NULL for manual events and reservations made before tokens existed.
    pub manage_token_hash: Option<String>,
    /// How many times the reservation was moved (rescheduleReservation).
    pub sequence: i32,
    /// When the reservation was last moved.
    pub moved_at: Option<DateTimeUtc>,
    /// The visitor's reason, when they cancelled through their manage token.
    #[sea_orm(column_type = "Text", nullable)]
    pub cancel_reason: Option<String>,
    /// Who cancelled it (NULL: live, or cancelled before this was recorded).
    pub cancelled_by: Option<CancelledBy>,
    /// Where a reservation takes place: its link's location when it was made, the placeholder
    /// filled (NULL: none said).
    #[sea_orm(column_type = "Text", nullable)]
    pub location: Option<String>,
    /// Issue #25: the session a seat of a link with several seats per slot belongs to (the id
    /// of its first reservation); NULL for a one-seat link's reservation and for other events.
    pub session_id: Option<CalendarEventId>,
    /// Issue #25's approval: the reservation was made waiting for the owner's confirmation
    /// (it stays true once decided); when the owner confirmed it; until when it may wait; and
    /// whether it holds its time (false only while pending on a link whose pending
    /// reservations do not block).
    pub awaiting_confirmation: bool,
    pub confirmed_at: Option<DateTimeUtc>,
    pub pending_until: Option<DateTimeUtc>,
    pub holds_slot: bool,
    /// Issue #25: the booking a collective team link's reservation belongs to, one row per
    /// member calendar (the id of the visitor's own row, on every row of it, that one too);
    /// NULL for every other event.
    pub team_booking_id: Option<CalendarEventId>,
}

impl Model {
    /// Whether it waits for its owner's confirmation now.
    pub fn is_pending(&self) -> bool {
        self.awaiting_confirmation && self.confirmed_at.is_none() && !self.cancelled
    }
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

super::ids_and_timestamps! {
    table: "calendar_events",
    fresh: { id => CalendarEventId::new() },
    created: [created_at],
    updated: [],
}

/// `calendar_events.source`: entered by the owner, or a visitor's reservation through a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EventSource {
    #[sea_orm(string_value = "manual")]
    Manual,
    #[sea_orm(string_value = "reservation")]
    Reservation,
}

/// `calendar_events.cancelled_by`: the visitor through their manage token, or the calendar's
/// owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CancelledBy {
    #[sea_orm(string_value = "guest")]
    Guest,
    #[sea_orm(string_value = "owner")]
    Owner,
    /// The owner declined it while it was pending (declineReservation).
    #[sea_orm(string_value = "declined")]
    Declined,
    /// It was pending past its `pending_until`: released.
    #[sea_orm(string_value = "expired")]
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::assert_stored_as;

    #[test]
    fn sources_are_stored_as_before() {
        assert_stored_as([(EventSource::Manual, "manual"), (EventSource::Reservation, "reservation")]);
        assert_stored_as([
            (CancelledBy::Guest, "guest"),
            (CancelledBy::Owner, "owner"),
            (CancelledBy::Declined, "declined"),
            (CancelledBy::Expired, "expired"),
        ]);
    }
}
