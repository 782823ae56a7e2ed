//! Use cases, one function each, over a connection or a transaction. They know nothing of HTTP:
//! they take domain values and a [`Principal`](crate::auth::Principal) and return entities or an
//! [`ServiceError`](crate::error::ServiceError). Ownership is checked here, so no handler can forget it.

pub mod availability_cache;
pub mod booking_links;
pub mod bookings;
pub mod calendars;
pub mod notifications;
