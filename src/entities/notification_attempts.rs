use sea_orm::entity::prelude::*;

/// One send of an outbox message (`notifications`): for a webhook one row per endpoint posted
/// to, for an email one per send. `attempt` is the message's send count at that send (1 for the
/// first); `next_attempt_at` when the message is tried again after it (`None`: it is not).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub notification_id: crate::domain::ids::NotificationId,
    pub attempt: i32,
    pub attempted_at: DateTimeUtc,
    /// The webhook endpoint (`webhook_endpoints.id`, a hash of its URL); `None` for an email.
    pub endpoint_id: Option<String>,
    /// The HTTP status answered; `None` when none came (or for an email).
    pub status_code: Option<i32>,
    pub delivered: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
