//! LE-KO coach events: a coach creates one, anyone signed in reads it, its coach or an admin
//! cancels it (with every live booking on it).

use crate::auth::Principal;
use crate::clock::Clock;
use crate::ctx;
use crate::db::{begin_write, Locks, Writes};
use crate::domain::bookings::{self as booking_rules, CoachEventFields, NewCoachEvent};
use crate::domain::ids::CoachEventId;
use crate::entities::bookings::CanceledByRole;
use crate::entities::coach_events::{self, EventStatus};
use crate::error::ServiceResult;
use crate::policy::{self, BookingWriter};
use crate::store::bookings::places_taken;
use crate::store::coach_events as events;
use sea_orm::DatabaseConnection;

#[derive(Debug, Clone)]
pub struct EventView {
    pub event: coach_events::Model,
    pub taken: i64,
}

/// The coach events use cases, over what they need: the database, the write runner (retried
/// transactions) and the clock.
#[derive(Clone, Copy)]
pub struct CoachEvents<'a> {
    pub db: &'a DatabaseConnection,
    pub writes: &'a Writes,
    pub clock: Clock,
}

impl<'a> CoachEvents<'a> {
    pub fn new(db: &'a DatabaseConnection, writes: &'a Writes, clock: Clock) -> Self {
        Self { db, writes, clock }
    }

    /// The caller's new event (its fields are checked against the clock here).
    #[tracing::instrument(name = "create_coach_event", level = "info", skip_all, fields(user_id = %writer.principal().user_id, event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn create(&self, writer: BookingWriter<'_>, fields: CoachEventFields) -> ServiceResult<EventView> {
        let now = self.clock.now();
        let new = NewCoachEvent::parse(fields, now)?;
        let event = events::insert(self.db, writer.principal().user_id, new, now).await?;
        tracing::Span::current().record("event_id", tracing::field::display(event.id));
        Ok(EventView { event, taken: 0 })
    }

    #[tracing::instrument(name = "get_coach_event", level = "info", skip_all, fields(user_id = %_principal.user_id, event_id = %id), err(level = "info", Display))]
    pub async fn get(&self, _principal: &Principal, id: CoachEventId) -> ServiceResult<EventView> {
        let event = events::find(self.db, id).await?;
        let taken = places_taken(self.db, id).await?;
        Ok(EventView { event, taken })
    }

    /// Its coach or an admin cancels the event; every live booking becomes Canceled.
    #[tracing::instrument(name = "cancel_coach_event", level = "info", skip_all, fields(user_id = %writer.principal().user_id, event_id = %id), err(level = "info", Display))]
    pub async fn cancel(&self, writer: BookingWriter<'_>, id: CoachEventId) -> ServiceResult<EventView> {
        self.writes.retrying(&[id.row_key()], || self.attempt_cancel(writer.principal(), id)).await
    }

    async fn attempt_cancel(&self, principal: &Principal, id: CoachEventId) -> ServiceResult<EventView> {
        let txn = ctx!(begin_write(self.db).await)?;
        let event = events::find_for_update(&txn, id).await?;
        policy::require_owner_or_admin(principal, event.coach_id, "only the event's coach or an admin may cancel it")?;
        let now = self.clock.now();
        booking_rules::check_event_cancel(event.status == EventStatus::Canceled, event.starts_at, now)?;
        let role = if principal.user_id == event.coach_id { CanceledByRole::Coach } else { CanceledByRole::System };
        let event = events::cancel(&txn, event, role, now).await?;
        let taken = places_taken(&txn, id).await?;
        ctx!(txn.commit().await)?;
        Ok(EventView { event, taken })
    }
}
