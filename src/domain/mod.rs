//! Pure rules: no poem, no sea-orm. Values here are valid once constructed.

pub mod availability;
pub mod booking_link;
pub mod bookings;
pub mod calendar;
pub mod idempotency;
pub mod ids;
pub mod input;
pub mod interval;
pub mod kinds;
pub mod notifications;
pub mod page;
pub mod reservation;
