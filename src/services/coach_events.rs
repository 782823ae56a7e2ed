//! LE-KO coach events: a coach creates one, anyone signed in reads it, its coach or an admin
//! cancels it (with every live booking on it).

use crate::auth::Principal;
use crate::clock::Clock;
use crate::ctx;
use crate::db::{begin_write, RowKey, Writes};
use crate::domain::bookings::{self as booking_rules, CoachEventFields, NewCoachEvent};
use crate::domain::ids::CoachEventId;
use crate::entities::bookings::CanceledByRole;
use crate::entities::coach_events::{self, EventStatus};
use crate::error::ServiceResult;
use crate::policy::{self, Scope};
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

    /// The caller's new event. Who may act is answered before what they sent (403 before 400),
    /// so the fields are checked here, after the scope.
    #[tracing::instrument(name = "create_coach_event", level = "info", skip_all, fields(user_id = %principal.user_id, event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn create(&self, principal: &Principal, fields: CoachEventFields) -> ServiceResult<EventView> {
        policy::require_scope(principal, Scope::BookingWrite)?;
        let now = self.clock.now();
        let new = NewCoachEvent::parse(fields, now)?;
        let event = events::insert(self.db, principal.user_id, new, now).await?;
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
    #[tracing::instrument(name = "cancel_coach_event", level = "info", skip_all, fields(user_id = %principal.user_id, event_id = %id), err(level = "info", Display))]
    pub async fn cancel(&self, principal: &Principal, id: CoachEventId) -> ServiceResult<EventView> {
        policy::require_scope(principal, Scope::BookingWrite)?;
        self.writes.retrying(&[RowKey::new("coach_events", id)], || self.cancel_once(principal, id)).await
    }

    async fn cancel_once(&self, principal: &Principal, id: CoachEventId) -> ServiceResult<EventView> {
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
