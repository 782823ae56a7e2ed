use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: String,
    pub calendar_id: Uuid,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub timezone: String,
    /// JSON: `{"mon": [{"start": "09:00", "end": "17:00"}], ...}`.
    #[sea_orm(column_type = "Text")]
    pub working_hours: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
