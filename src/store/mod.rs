//! The one place queries live; one module per aggregate; more move here over time.
//!
//! Who imports whom: `domain` <- `store` <- `services` <- `handlers`; `notify` uses `store` and
//! `domain`, never `services`. A query here knows sea-orm and the entities, and no use case: who
//! may do what is decided in `services` (through `policy`); finders on a caller's behalf take
//! the caller's [`OwnerScope`](crate::policy::OwnerScope) so they cannot show what it may not see.
//!
//! Timestamps come from the app's clock, passed in as `now` (the entities' `before_save` sets
//! ids, and refuses a write whose timestamps were forgotten).

pub mod booking_links;
pub mod bookings;
pub mod calendars;
pub mod coach_events;
pub mod erasure;
pub mod idempotency;
pub mod notification_subjects;
pub mod orders;
pub mod outbox;
pub mod users;
pub mod webhook_endpoints;
