use sea_orm::entity::prelude::*;

/// The state of a configured webhook endpoint (`WEBHOOK_URLS`), keyed by a hash of its URL. No
/// row: enabled. `disabled_at` set: it answered 410 Gone and gets no messages until an admin
/// enables it again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Scheme, host and port of the URL (never its path: it often carries a token).
    pub target: String,
    pub disabled_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
