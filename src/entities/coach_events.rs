use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coach_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub coach_id: Uuid,
    pub sport_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: EventStatus,
    pub time_slot_id: Uuid,
    pub places: i32,
    pub slot_type: String,
    pub age_from: i32,
    pub age_to: i32,
    pub duration_minutes: i32,
    pub price: i64,
    pub price_currency: String,
    pub payment_method: PaymentMethod,
    pub address_id: Option<Uuid>,
    pub public: Option<bool>,
    pub level: Option<String>,
    pub eligibility: Option<String>,
    /// RFC 3339 `partial-time time-offset`, e.g. `12:00:00+03:00`.
    pub start_time: String,
    pub end_time: String,
    pub canceled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `coach_events.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EventStatus {
    #[sea_orm(string_value = "Scheduled")]
    Scheduled,
    #[sea_orm(string_value = "Canceled")]
    Canceled,
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
    }
}
