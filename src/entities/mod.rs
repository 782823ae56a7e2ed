//! sea-orm entities, one per table (see migrations/). Times are stored in UTC.

pub mod booking_links;
pub mod booking_orders;
pub mod bookings;
pub mod calendar_events;
pub mod calendars;
pub mod coach_events;
pub mod notifications;
pub mod users;
