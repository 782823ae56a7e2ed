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
    /// `Scheduled` or `Canceled`.
    pub status: String,
    pub time_slot_id: Uuid,
    pub places: i32,
    pub slot_type: String,
    pub age_from: i32,
    pub age_to: i32,
    pub duration_minutes: i32,
    pub price: i64,
    pub price_currency: String,
    pub payment_method: String,
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
