use crate::domain::ids::UserId;
use sea_orm::entity::prelude::*;

/// A user the server has seen: the `email` claim of their latest token. Written only by upserts
/// (`store::users`), which set every column, so no `before_save` hook (upserts skip it anyway).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserId,
    pub email: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
