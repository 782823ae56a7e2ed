//! The domain's typed ids as columns: each is stored as the UUID it wraps (what sea-orm's
//! `DeriveValueType` would write for a newtype; written out here because the types live in the
//! pure `domain`, which knows no sea-orm).

use crate::domain::ids::*;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, IntoActiveValue, QueryResult, TryFromU64, TryGetError, TryGetable, Value};
use uuid::Uuid;

macro_rules! uuid_columns {
    ($($name:ident),+ $(,)?) => {$(
        impl From<$name> for Value {
            fn from(id: $name) -> Value {
                id.into_uuid().into()
            }
        }

        impl TryGetable for $name {
            fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
                <Uuid as TryGetable>::try_get_by(res, idx).map($name::from_uuid)
            }
        }

        impl ValueType for $name {
            fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
                <Uuid as ValueType>::try_from(v).map($name::from_uuid)
            }
            fn type_name() -> String {
                stringify!($name).to_owned()
            }
            fn array_type() -> ArrayType {
                <Uuid as ValueType>::array_type()
            }
            fn column_type() -> ColumnType {
                <Uuid as ValueType>::column_type()
            }
        }

        impl Nullable for $name {
            fn null() -> Value {
                <Uuid as Nullable>::null()
            }
        }

        impl IntoActiveValue<$name> for $name {
            fn into_active_value(self) -> sea_orm::ActiveValue<$name> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        /// Ids are never numbers: like `Uuid`'s own, this always fails.
        impl TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    )+};
}

uuid_columns!(UserId, CalendarId, CalendarEventId, BookingLinkId, CoachEventId, BookingId, OrderId, NotificationId);
