use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub payment_status: PaymentStatus,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `booking_orders.payment_status`: the contract's values; orders are paid in cash for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PaymentStatus {
    #[sea_orm(string_value = "Pending")]
    Pending,
    #[sea_orm(string_value = "Paid")]
    Paid,
    #[sea_orm(string_value = "Failed")]
    Failed,
    #[sea_orm(string_value = "Cash")]
    Cash,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::assert_stored_as;

    #[test]
    fn payment_statuses_are_stored_as_before() {
        assert_stored_as([
            (PaymentStatus::Pending, "Pending"),
            (PaymentStatus::Paid, "Paid"),
            (PaymentStatus::Failed, "Failed"),
            (PaymentStatus::Cash, "Cash"),
        ]);
    }
}
