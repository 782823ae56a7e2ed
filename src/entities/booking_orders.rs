use crate::domain::ids::{OrderId, UserId};
use sea_orm::entity::prelude::*;
use sea_orm::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OrderId,
    pub user_id: UserId,
    pub payment_status: PaymentStatus,
    pub created_at: DateTimeUtc,
}

/// An order has many bookings, made together.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::bookings::Entity")]
    Bookings,
}

impl Related<super::bookings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Bookings.def()
    }
}

super::ids_and_timestamps! {
    table: "booking_orders",
    fresh: { id => OrderId::new() },
    created: [created_at],
    updated: [],
}

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
