//! Bookings and the coach events they are for: the queries both the use cases (`services`) and
//! the outbox (`notify`) need.

use crate::domain::bookings::Status;
use crate::entities::bookings::{self, BookingStatus};
use crate::entities::coach_events;
use crate::error::ServiceResult;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Statuses that hold a place and occupy the athlete's schedule: `Status::is_live`, as stored
/// (a test holds the two together).
pub const LIVE: [BookingStatus; 4] =
    [BookingStatus::Pending, BookingStatus::Accepted, BookingStatus::InDispute, BookingStatus::DisputeDone];

/// Whether a stored status is live (see [`LIVE`]).
pub fn is_live(status: BookingStatus) -> bool {
    Status::from(status).is_live()
}

/// The coach events with these ids, by id.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn events_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> ServiceResult<BTreeMap<Uuid, coach_events::Model>> {
    let ids: BTreeSet<Uuid> = ids.into_iter().collect();
    Ok(coach_events::Entity::find()
        .filter(coach_events::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect())
}

/// Places taken (live bookings) of each of these events, in one query per 500 events (well
/// under either database's limit of bound parameters); an event without any is absent.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn places_taken_of(
    db: &impl ConnectionTrait,
    event_ids: impl IntoIterator<Item = Uuid>,
) -> ServiceResult<BTreeMap<Uuid, i64>> {
    let ids: Vec<Uuid> = event_ids.into_iter().collect();
    let mut taken = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, i64)> = bookings::Entity::find()
            .select_only()
            .column(bookings::Column::EventId)
            .column_as(bookings::Column::Id.count(), "taken")
            .filter(bookings::Column::EventId.is_in(chunk.iter().copied()))
            .filter(bookings::Column::Status.is_in(LIVE))
            .group_by(bookings::Column::EventId)
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(rows);
    }
    Ok(taken)
}

/// Places taken of one event.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id), err(level = "debug", Display))]
pub async fn places_taken(db: &impl ConnectionTrait, event_id: Uuid) -> ServiceResult<i64> {
    Ok(places_taken_of(db, [event_id]).await?.get(&event_id).copied().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_is_the_domain_rule_as_stored() {
        let live: Vec<BookingStatus> = Status::ALL.into_iter().filter(|s| s.is_live()).map(Into::into).collect();
        assert_eq!(live, LIVE.to_vec());
        for s in Status::ALL {
            assert_eq!(is_live(s.into()), s.is_live());
        }
    }
}
