use crate::domain::ids::{CoachEventId, UserId};
use crate::domain::kinds::{Currency, Eligibility, Level, SlotType};
use sea_orm::entity::prelude::*;
use sea_orm::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coach_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CoachEventId,
    pub coach_id: UserId,
    pub sport_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: EventStatus,
    pub time_slot_id: Uuid,
    pub places: i32,
    pub slot_type: SlotType,
    pub age_from: i32,
    pub age_to: i32,
    pub duration_minutes: i32,
    pub price: i64,
    pub price_currency: Currency,
    pub payment_method: PaymentMethod,
    pub address_id: Option<Uuid>,
    pub public: Option<bool>,
    pub level: Option<Level>,
    pub eligibility: Option<Eligibility>,
    /// RFC 3339 `partial-time time-offset`, e.g. `12:00:00+03:00`.
    pub start_time: String,
    pub end_time: String,
    pub canceled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

/// An event has many bookings (each for one athlete).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::bookings::Entity")]
    Bookings,
}

impl Related<super::bookings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Bookings.def()
    }
}

super::ids_and_timestamps! {
    table: "coach_events",
    fresh: { id => CoachEventId::new(), time_slot_id => Uuid::new_v4() },
    created: [created_at],
    updated: [],
}

/// `coach_events.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EventStatus {
    #[sea_orm(string_value = "Scheduled")]
    Scheduled,
    #[sea_orm(string_value = "Canceled")]
    Canceled,
}

impl EventStatus {
    /// As stored and as the wire spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "Scheduled",
            EventStatus::Canceled => "Canceled",
        }
    }
}

/// `coach_events.payment_method`: how the event's places are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PaymentMethod {
    #[sea_orm(string_value = "Cash")]
    Cash,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::assert_stored_as;

    #[test]
    fn event_kinds_are_stored_as_before() {
        assert_stored_as([(EventStatus::Scheduled, "Scheduled"), (EventStatus::Canceled, "Canceled")]);
        assert_stored_as([(PaymentMethod::Cash, "Cash")]);
        for s in [EventStatus::Scheduled, EventStatus::Canceled] {
            assert_eq!(s.as_str(), s.to_value());
        }
    }
}
