//! The kinds a coach event and a booking carry (a slot's type, currency, level and
//! eligibility; a cancellation's reason), each spelled as the contract spells it and as it has
//! always been stored: `as_str` and `parse` are the one place that text is written.

/// A kind: an enum whose every variant has one text. `ALL` lists the variants in order.
macro_rules! kind {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // the variants are the contract's values
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every variant, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// As the contract spells it and as it is stored.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant spelled `text` exactly, if any.
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kind! {
    /// `coach_events.slot_type`: whether a coach event takes place online or in person.
    SlotType { Online = "Online", Offline = "Offline" }
}

kind! {
    /// `coach_events.price_currency`.
    Currency { Rub = "RUB" }
}

kind! {
    /// `coach_events.level`: who a coach event is meant for, by skill.
    Level { Any = "Any", Beginner = "Beginner", Medium = "Medium", Pro = "Pro" }
}

kind! {
    /// `coach_events.eligibility`: who may take part.
    Eligibility { All = "All", Men = "Men", Women = "Women" }
}

kind! {
    /// `bookings.cancellation_reason_code`: why a booking was cancelled.
    CancellationReason { NotFeelingWell = "NotFeelingWell", NoTime = "NoTime", Other = "Other" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_parses_back_to_its_kind() {
        fn check<K: Copy + PartialEq + std::fmt::Debug>(
            all: &[K],
            text: fn(K) -> &'static str,
            parse: fn(&str) -> Option<K>,
        ) {
            for &k in all {
                assert_eq!(parse(text(k)), Some(k), "{k:?}");
                // Exactly as spelled: another case is no kind.
                let lower = text(k).to_lowercase();
                if lower != text(k) {
                    assert_eq!(parse(&lower), None, "{lower}");
                }
            }
            assert_eq!(parse("not-a-kind"), None);
        }
        check(SlotType::ALL, SlotType::as_str, SlotType::parse);
        check(Currency::ALL, Currency::as_str, Currency::parse);
        check(Level::ALL, Level::as_str, Level::parse);
        check(Eligibility::ALL, Eligibility::as_str, Eligibility::parse);
        check(CancellationReason::ALL, CancellationReason::as_str, CancellationReason::parse);
        assert_eq!(Currency::Rub.to_string(), "RUB");
    }
}
