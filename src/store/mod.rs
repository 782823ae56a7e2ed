//! The one place queries live; one module per aggregate; more move here over time.
//!
//! Who imports whom: `domain` <- `store` <- `services` <- `handlers`; `notify` uses `store` and
//! `domain`, never `services`. A query here knows sea-orm and the entities, and no use case: who
//! may do what is still decided in `services`.

pub mod bookings;
pub mod coach_events;
pub mod erasure;
pub mod orders;
