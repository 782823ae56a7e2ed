//! The domain's typed ids as columns: each is stored as the UUID it wraps (what sea-orm's
//! `DeriveValueType` would write for a newtype; written out here because the types live in the
//! pure `domain`, which knows no sea-orm).

use crate::domain::ids::*;
use crate::domain::input::LinkToken;
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

/// A booking link's token, stored as its text. A stored token that is not one (never written by
/// this server) fails to load, as any value of the wrong type does.
impl From<LinkToken> for Value {
    fn from(token: LinkToken) -> Value {
        token.as_str().to_owned().into()
    }
}

impl TryGetable for LinkToken {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        let raw = <String as TryGetable>::try_get_by(res, idx)?;
        LinkToken::parse(&raw)
            .ok_or_else(|| TryGetError::DbErr(DbErr::Type(format!("stored link token {raw:?} is not a token"))))
    }
}

impl ValueType for LinkToken {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        <String as ValueType>::try_from(v).ok().and_then(|raw| LinkToken::parse(&raw)).ok_or(ValueTypeErr)
    }
    fn type_name() -> String {
        "LinkToken".to_owned()
    }
    fn array_type() -> ArrayType {
        <String as ValueType>::array_type()
    }
    fn column_type() -> ColumnType {
        <String as ValueType>::column_type()
    }
}

impl Nullable for LinkToken {
    fn null() -> Value {
        <String as Nullable>::null()
    }
}

impl IntoActiveValue<LinkToken> for LinkToken {
    fn into_active_value(self) -> sea_orm::ActiveValue<LinkToken> {
        sea_orm::ActiveValue::Set(self)
    }
}

/// Tokens are never numbers.
impl TryFromU64 for LinkToken {
    fn try_from_u64(_: u64) -> Result<Self, DbErr> {
        Err(DbErr::ConvertFromU64("LinkToken"))
    }
}

/// Each id names a row of its entity's table (the key [`crate::db::Writes`] orders and gates by).
macro_rules! row_keys {
    ($($id:ty => $entity:ty),+ $(,)?) => {$(
        impl crate::db::Locks for $id {
            fn row_key(&self) -> crate::db::RowKey {
                crate::db::RowKey::new(sea_orm::EntityName::table_name(&<$entity>::default()), self)
            }
        }
    )+};
}

row_keys! {
    UserId => super::users::Entity,
    CalendarId => super::calendars::Entity,
    CoachEventId => super::coach_events::Entity,
    BookingId => super::bookings::Entity,
    LinkToken => super::booking_links::Entity,
}
