//! sea-orm entities, one per table (see migrations/). Times are stored in UTC.

pub mod booking_link_members;
pub mod booking_links;
pub mod booking_orders;
pub mod bookings;
pub mod calendar_events;
pub mod calendars;
pub mod coach_events;
pub mod idempotency_keys;
pub mod ids;
pub mod kinds;
pub mod notification_attempts;
pub mod notifications;
pub mod users;
pub mod webhook_endpoints;

/// Timestamps come from the app's clock ([`crate::clock::Clock`], which tests and demos shift),
/// which a `before_save` hook cannot reach: the store sets them, and the hook refuses a write
/// that forgot, rather than stamping the system's time.
pub(crate) fn require_set<V: Into<sea_orm::Value>>(
    value: &sea_orm::ActiveValue<V>,
    column: &str,
) -> Result<(), sea_orm::DbErr> {
    if matches!(value, sea_orm::ActiveValue::Set(_)) {
        Ok(())
    } else {
        Err(sea_orm::DbErr::Custom(format!("{column} must be set from the app's clock")))
    }
}

/// The one `ActiveModelBehavior` of a table, where its ids and timestamps are settled: on insert
/// each listed column the caller left unset gets a fresh value (`id => CalendarId::new()`), and
/// the timestamps listed must have been set from the app's clock ([`require_set`]): `created`
/// on insert, `updated` on every save through the model.
macro_rules! ids_and_timestamps {
    (
        table: $table:literal,
        fresh: { $($col:ident => $make:expr),* $(,)? },
        created: [$($created:ident),* $(,)?],
        updated: [$($updated:ident),* $(,)?] $(,)?
    ) => {
        #[async_trait::async_trait]
        impl ActiveModelBehavior for ActiveModel {
            async fn before_save<C>(mut self, _db: &C, insert: bool) -> Result<Self, DbErr>
            where
                C: ConnectionTrait,
            {
                if insert {
                    $(
                        if self.$col.is_not_set() {
                            self.$col = Set($make);
                        }
                    )*
                    $( $crate::entities::require_set(&self.$created, concat!($table, ".", stringify!($created)))?; )*
                }
                $( $crate::entities::require_set(&self.$updated, concat!($table, ".", stringify!($updated)))?; )*
                Ok(self)
            }
        }
    };
}
pub(crate) use ids_and_timestamps;

/// Every variant of a column enum is stored as exactly the text listed (which the rows written
/// before these columns were typed hold), and that text reads back as the variant: a renamed
/// variant or value cannot silently change what is stored.
#[cfg(test)]
pub(crate) fn assert_stored_as<E, const N: usize>(expected: [(E, &str); N])
where
    E: sea_orm::ActiveEnum<Value = String> + sea_orm::Iterable + PartialEq + std::fmt::Debug + Copy,
{
    let listed: Vec<E> = expected.iter().map(|(v, _)| *v).collect();
    assert_eq!(listed, E::iter().collect::<Vec<_>>(), "every variant is listed, in order");
    for (variant, text) in expected {
        assert_eq!(variant.to_value(), text, "{variant:?}");
        assert_eq!(E::try_from_value(&text.to_string()).ok(), Some(variant), "{text}");
    }
    assert!(E::try_from_value(&"not-a-value".to_string()).is_err());
}
