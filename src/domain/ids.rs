//! Ids of every aggregate, each its own type, so a calendar's id cannot be passed where a
//! user's is meant. They are UUIDs underneath; the store maps them to columns
//! (`crate::entities::ids`), the edge to and from the contract's `uuid` strings.

use std::fmt;
use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            /// The id a UUID names; the caller says which kind of thing it is.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub const fn into_uuid(self) -> Uuid {
                self.0
            }
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// Written as the UUID it wraps (a notification's template context names ids).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    )+};
}

ids! {
    /// A user: an athlete, a coach, a calendar owner (the `sub` of their token).
    UserId,
    /// A calendar.
    CalendarId,
    /// A busy block in a calendar (an event or a reservation made through a link).
    CalendarEventId,
    /// A public booking link.
    BookingLinkId,
    /// A coach's event with limited places.
    CoachEventId,
    /// One athlete's place on one coach event.
    BookingId,
    /// An all-or-nothing order of bookings.
    OrderId,
    /// A row of the notification outbox.
    NotificationId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_uuid_and_prints_as_it() {
        let raw = Uuid::new_v4();
        let id = CalendarId::from_uuid(raw);
        assert_eq!(id.into_uuid(), raw);
        assert_eq!(Uuid::from(id), raw);
        assert_eq!(id.to_string(), raw.to_string());
        assert_ne!(UserId::new(), UserId::new());
    }
}
