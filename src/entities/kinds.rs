//! The domain's kinds as columns: each is stored as the text it has always been stored as
//! (`as_str`, read back with `parse`), so no migration was needed when the columns were typed.
//! Written out like the ids (`entities::ids`) because the kinds live in the pure `domain`,
//! which knows no sea-orm. Text that names no kind is a read error, as it is for the
//! `DeriveActiveEnum` statuses.

use crate::domain::availability::{Scheduling, SlotAlignment, WindowDays, DAY_KEYS};
use crate::domain::booking_link::LocationKind;
use crate::domain::kinds::{CancellationReason, Currency, Eligibility, Level, SlotType};
use crate::domain::notifications::Recipient;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value};

macro_rules! text_columns {
    ($($name:ident: $text:path, $parse:path;)+) => {$(
        impl From<$name> for Value {
            fn from(kind: $name) -> Value {
                $text(kind).to_owned().into()
            }
        }

        impl TryGetable for $name {
            fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
                let text = <String as TryGetable>::try_get_by(res, idx)?;
                $parse(&text).ok_or_else(|| {
                    TryGetError::DbErr(DbErr::Type(format!("{text:?} is no {}", stringify!($name))))
                })
            }
        }

        impl ValueType for $name {
            fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
                $parse(&<String as ValueType>::try_from(v)?).ok_or(ValueTypeErr)
            }
            fn type_name() -> String {
                stringify!($name).to_owned()
            }
            fn array_type() -> ArrayType {
                <String as ValueType>::array_type()
            }
            fn column_type() -> ColumnType {
                <String as ValueType>::column_type()
            }
        }

        impl Nullable for $name {
            fn null() -> Value {
                <String as Nullable>::null()
            }
        }

        impl IntoActiveValue<$name> for $name {
            fn into_active_value(self) -> sea_orm::ActiveValue<$name> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    )+};
}

text_columns! {
    SlotType: SlotType::as_str, SlotType::parse;
    Currency: Currency::as_str, Currency::parse;
    Level: Level::as_str, Level::parse;
    Eligibility: Eligibility::as_str, Eligibility::parse;
    CancellationReason: CancellationReason::as_str, CancellationReason::parse;
    Recipient: Recipient::name, Recipient::parse;
    WindowDays: WindowDays::as_str, WindowDays::parse;
    SlotAlignment: SlotAlignment::as_str, SlotAlignment::parse;
    Scheduling: Scheduling::as_str, Scheduling::parse;
    LocationKind: LocationKind::as_str, LocationKind::parse;
    WeekStart: WeekStart::as_str, WeekStart::parse;
}

const WEEK: [chrono::Weekday; 7] = {
    use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
};

/// A link's `week_start` as its column holds it: the key `working_hours` names the day by
/// (`mon` ... `sun`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekStart(pub chrono::Weekday);

impl WeekStart {
    fn as_str(self) -> &'static str {
        DAY_KEYS[self.0.num_days_from_monday() as usize]
    }

    fn parse(text: &str) -> Option<WeekStart> {
        let i = DAY_KEYS.iter().position(|k| *k == text)?;
        WEEK.get(i).copied().map(WeekStart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind is stored as exactly the text listed (what the rows written before the columns
    /// were typed hold), and that text reads back as the kind.
    fn assert_text_stored_as<K: ValueType + Into<Value> + Copy + PartialEq + std::fmt::Debug>(
        all: &[K],
        expected: &[&str],
    ) {
        assert_eq!(all.len(), expected.len(), "every kind is listed");
        for (&kind, &text) in all.iter().zip(expected) {
            assert_eq!(kind.into(), Value::from(text.to_string()), "{kind:?}");
            assert_eq!(<K as ValueType>::try_from(Value::from(text.to_string())).ok(), Some(kind), "{text}");
        }
        assert!(<K as ValueType>::try_from(Value::from("not-a-kind".to_string())).is_err());
    }

    #[test]
    fn kinds_are_stored_as_before() {
        assert_text_stored_as(SlotType::ALL, &["Online", "Offline"]);
        assert_text_stored_as(Currency::ALL, &["RUB"]);
        assert_text_stored_as(Level::ALL, &["Any", "Beginner", "Medium", "Pro"]);
        assert_text_stored_as(Eligibility::ALL, &["All", "Men", "Women"]);
        assert_text_stored_as(CancellationReason::ALL, &["NotFeelingWell", "NoTime", "Other"]);
        assert_text_stored_as(&Recipient::ALL, &["athlete", "coach", "other_party", "owner", "visitor"]);
        assert_text_stored_as(&WindowDays::ALL, &["calendar", "business"]);
        assert_text_stored_as(&SlotAlignment::ALL, &["grid", "after_busy"]);
        assert_text_stored_as(&Scheduling::ALL, &["single", "collective", "round_robin"]);
        assert_text_stored_as(&LocationKind::ALL, &["address", "phone", "url"]);
        let week: Vec<WeekStart> = WEEK.into_iter().map(WeekStart).collect();
        assert_text_stored_as(&week, &["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
    }
}
