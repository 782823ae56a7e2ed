use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub coach_id: Uuid,
    pub event_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: String,
    pub completed: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub canceled_at: Option<DateTimeUtc>,
    pub canceled_by_role: Option<String>,
    pub cancellation_reason_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub cancellation_reason_text: Option<String>,
    pub dismissed: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
