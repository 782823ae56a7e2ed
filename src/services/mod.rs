//! Use cases, one method each, over the narrow dependencies a small struct per service holds
//! (the database, the write runner, the clock; see e.g. [`bookings::Bookings`]). They know
//! nothing of HTTP: they take domain values and a [`Principal`](crate::auth::Principal) and
//! return entities or a [`ServiceError`](crate::error::ServiceError). Who may do what is asked of
//! [`crate::policy`] here, so no handler can forget it; the queries are the store's.

pub mod availability_cache;
pub mod booking_links;
pub mod bookings;
pub mod calendars;
pub mod coach_events;
pub mod erasure;
pub mod notifications;
pub mod orders;
