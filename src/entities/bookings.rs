use crate::domain::bookings::Status;
use crate::domain::ids::{BookingId, CoachEventId, OrderId, UserId};
use crate::domain::kinds::CancellationReason;
use sea_orm::entity::prelude::*;
use sea_orm::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BookingId,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub coach_id: UserId,
    pub event_id: CoachEventId,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: BookingStatus,
    pub completed: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub canceled_at: Option<DateTimeUtc>,
    pub canceled_by_role: Option<CanceledByRole>,
    pub cancellation_reason_code: Option<CancellationReason>,
    #[sea_orm(column_type = "Text", nullable)]
    pub cancellation_reason_text: Option<String>,
    pub dismissed: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// A booking belongs to the order that made it and to the coach event it holds a place on.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::booking_orders::Entity",
        from = "Column::OrderId",
        to = "super::booking_orders::Column::Id"
    )]
    Order,
    #[sea_orm(
        belongs_to = "super::coach_events::Entity",
        from = "Column::EventId",
        to = "super::coach_events::Column::Id"
    )]
    CoachEvent,
}

impl Related<super::booking_orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::coach_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CoachEvent.def()
    }
}

super::ids_and_timestamps! {
    table: "bookings",
    fresh: { id => BookingId::new() },
    created: [created_at, updated_at],
    updated: [],
}

/// `bookings.status`, as stored. The rules live on the pure `domain::bookings::Status`; this
/// column type mirrors it one to one (the `From`s below) so the domain stays free of sea-orm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum BookingStatus {
    #[sea_orm(string_value = "Pending")]
    Pending,
    #[sea_orm(string_value = "Accepted")]
    Accepted,
    #[sea_orm(string_value = "Rejected")]
    Rejected,
    #[sea_orm(string_value = "Canceled")]
    Canceled,
    #[sea_orm(string_value = "InDispute")]
    InDispute,
    #[sea_orm(string_value = "DisputeDone")]
    DisputeDone,
}

impl From<Status> for BookingStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Pending => Self::Pending,
            Status::Accepted => Self::Accepted,
            Status::Rejected => Self::Rejected,
            Status::Canceled => Self::Canceled,
            Status::InDispute => Self::InDispute,
            Status::DisputeDone => Self::DisputeDone,
        }
    }
}

impl From<BookingStatus> for Status {
    fn from(s: BookingStatus) -> Self {
        match s {
            BookingStatus::Pending => Self::Pending,
            BookingStatus::Accepted => Self::Accepted,
            BookingStatus::Rejected => Self::Rejected,
            BookingStatus::Canceled => Self::Canceled,
            BookingStatus::InDispute => Self::InDispute,
            BookingStatus::DisputeDone => Self::DisputeDone,
        }
    }
}

/// `bookings.canceled_by_role`: who canceled (the athlete, the coach, or the system when an
/// admin cancels the whole event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CanceledByRole {
    #[sea_orm(string_value = "Athlete")]
    Athlete,
    #[sea_orm(string_value = "Coach")]
    Coach,
    #[sea_orm(string_value = "System")]
    System,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::assert_stored_as;

    #[test]
    fn statuses_are_stored_as_before() {
        assert_stored_as([
            (BookingStatus::Pending, "Pending"),
            (BookingStatus::Accepted, "Accepted"),
            (BookingStatus::Rejected, "Rejected"),
            (BookingStatus::Canceled, "Canceled"),
            (BookingStatus::InDispute, "InDispute"),
            (BookingStatus::DisputeDone, "DisputeDone"),
        ]);
        assert_stored_as([
            (CanceledByRole::Athlete, "Athlete"),
            (CanceledByRole::Coach, "Coach"),
            (CanceledByRole::System, "System"),
        ]);
    }

    #[test]
    fn the_column_mirrors_the_domain_status() {
        for s in Status::ALL {
            assert_eq!(Status::from(BookingStatus::from(s)), s);
            assert_eq!(BookingStatus::from(s).to_value(), s.as_str());
        }
    }
}
