use sea_orm::entity::prelude::*;

/// One message of the outbox. `dedupe_key` (`rule:subject:recipient`) makes enqueueing
/// idempotent; `status` is pending, sending (leased until `lease_until`), sent, failed or skipped.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub rule: String,
    pub channel: String,
    pub subject_id: Uuid,
    pub recipient_role: String,
    pub recipient_user_id: Option<Uuid>,
    pub recipient_email: Option<String>,
    pub about_user_id: Option<Uuid>,
    pub about_coach_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    #[sea_orm(column_type = "Text")]
    pub body_html: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub ical: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
