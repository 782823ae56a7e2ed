use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub calendar_id: Uuid,
    pub title: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// `manual` or `reservation`.
    pub source: String,
    pub booking_link_token: Option<String>,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub cancelled: bool,
    pub created_at: DateTimeUtc,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
