//! LE-KO bookings after they are made: reading them (scoped to their parties and admins) and
//! their lifecycle (completion, notes, cancellation, disputes, dismissal). Who may do what is
//! asked of `policy`; the rules of each change are `domain::bookings`'; the queries the store's.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::ctx;
use crate::db::{begin_write, Locks, Writes};
use crate::domain::bookings::{
    self as booking_rules, BookingFacts, BookingsQuery, CancellationReason, Interval, Refusal,
};
use crate::domain::ids::{BookingId, UserId};
use crate::domain::input::FreeText;
use crate::domain::page::Page;
use crate::entities::bookings::{self, CanceledByRole};
use crate::entities::coach_events;
use crate::error::{ServiceError, ServiceResult};
use crate::policy::{self, BookingWriter, Party};
use crate::store::bookings::{self as store, Change};
use crate::store::coach_events as events;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

pub use crate::store::bookings::BookingView;

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        ServiceError::Invalid(r.0)
    }
}

fn facts(b: &bookings::Model, e: &coach_events::Model) -> BookingFacts {
    BookingFacts { status: b.status.into(), event: Interval { start: e.starts_at, end: e.ends_at } }
}

/// The bookings use cases, over the database, the write runner and the clock.
#[derive(Clone, Copy)]
pub struct Bookings<'a> {
    pub db: &'a DatabaseConnection,
    pub writes: &'a Writes,
    pub clock: Clock,
}

impl<'a> Bookings<'a> {
    pub fn new(db: &'a DatabaseConnection, writes: &'a Writes, clock: Clock) -> Self {
        Self { db, writes, clock }
    }

    /// A booking, visible to its athlete, its coach and admins; anyone else gets 404.
    #[tracing::instrument(name = "get_visible", level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
    pub async fn get(&self, principal: &Principal, id: BookingId) -> ServiceResult<BookingView> {
        let booking = store::find_visible(self.db, id, policy::visibility(principal)).await?;
        Ok(store::views_of(self.db, vec![booking]).await?.remove(0))
    }

    #[tracing::instrument(name = "list_bookings", level = "info", skip_all, fields(user_id = %principal.user_id, query = ?query), err(level = "info", Display))]
    pub async fn list(&self, principal: &Principal, query: BookingsQuery) -> ServiceResult<Page<BookingView>> {
        let list = match query {
            BookingsQuery::OfUser(user, window) => {
                policy::require_self_or_admin(principal, user, "you may only list your own bookings")?;
                store::list_of_user(self.db, user, window).await?
            }
            BookingsQuery::OfEvent(event_id, user) => {
                let event = events::find(self.db, event_id).await?;
                if user != Some(principal.user_id) {
                    let why = "only the event's coach or an admin may list its bookings";
                    policy::require_owner_or_admin(principal, event.coach_id, why)?;
                }
                store::list_of_event(self.db, event_id, user).await?
            }
        };
        let items = store::views_of(self.db, list.items).await?;
        Ok(Page { items, truncated: list.truncated, next: None })
    }

    #[tracing::instrument(name = "mark_completed", level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id, completed), err(level = "info", Display))]
    pub async fn mark_completed(
        &self,
        principal: &Principal,
        id: BookingId,
        completed: bool,
    ) -> ServiceResult<BookingView> {
        self.change(principal, id, |b, e, now| {
            let why = "only the event's coach or an admin may mark a booking completed";
            policy::require_owner_or_admin(principal, b.coach_id, why)?;
            booking_rules::check_completion(facts(b, e), now)?;
            Ok(Change::Completed(completed))
        })
        .await
    }

    #[tracing::instrument(name = "add_note", level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
    pub async fn add_note(&self, principal: &Principal, id: BookingId, note: FreeText) -> ServiceResult<BookingView> {
        self.change(principal, id, |b, e, now| {
            policy::require_party(principal, b.user_id, b.coach_id, "only the athlete or the coach may add a note")?;
            booking_rules::check_note(facts(b, e), now)?;
            Ok(Change::Note(note.clone()))
        })
        .await
    }

    #[tracing::instrument(name = "cancel_booking", level = "info", skip_all, fields(user_id = %writer.principal().user_id, booking_id = %id, reason_code = %reason_code), err(level = "info", Display))]
    pub async fn cancel(
        &self,
        writer: BookingWriter<'_>,
        id: BookingId,
        reason_code: CancellationReason,
        reason_text: Option<FreeText>,
    ) -> ServiceResult<BookingView> {
        let principal = writer.principal();
        let canceled = self
            .change(principal, id, |b, e, now| {
                let why = "only the athlete or the coach may cancel a booking";
                let role = match policy::require_party(principal, b.user_id, b.coach_id, why)? {
                    Party::Athlete => CanceledByRole::Athlete,
                    Party::Coach => CanceledByRole::Coach,
                };
                let to = booking_rules::cancel(facts(b, e), now)?;
                Ok(Change::Canceled { to, by: role, reason_code, reason_text: reason_text.clone() })
            })
            .await;
        if canceled.is_ok() {
            crate::metrics::outcome(crate::metrics::Subject::Order, crate::metrics::Outcome::Canceled);
        }
        canceled
    }

    #[tracing::instrument(name = "open_dispute", level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
    pub async fn open_dispute(&self, principal: &Principal, id: BookingId) -> ServiceResult<BookingView> {
        self.change(principal, id, |b, e, now| {
            policy::require_party(
                principal,
                b.user_id,
                b.coach_id,
                "only the athlete or the coach may open a dispute",
            )?;
            Ok(Change::Status(booking_rules::open_dispute(facts(b, e), now)?))
        })
        .await
    }

    #[tracing::instrument(name = "resolve_dispute", level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
    pub async fn resolve_dispute(&self, principal: &Principal, id: BookingId) -> ServiceResult<BookingView> {
        if policy::require_admin(principal).is_err() {
            // Admins only; say 404 to anyone who may not even see the booking.
            store::find_visible(self.db, id, policy::visibility(principal)).await?;
            return Err(ServiceError::denied("only an admin may resolve a dispute"));
        }
        self.change(principal, id, |b, e, _| Ok(Change::Status(booking_rules::resolve_dispute(facts(b, e))?))).await
    }

    /// The athlete hides a canceled booking from their views, for good. Again is a no-op.
    #[tracing::instrument(name = "dismiss", level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id, for_user_id = %user), err(level = "info", Display))]
    pub async fn dismiss(&self, principal: &Principal, id: BookingId, user: UserId) -> ServiceResult<()> {
        let booking = store::find_visible(self.db, id, policy::visibility(principal)).await?;
        let why = "only the booking's athlete may dismiss it";
        policy::require_self(principal, user, why)?;
        policy::require_self(principal, booking.user_id, why)?;
        booking_rules::check_dismissal(booking.status.into())?;
        if !booking.dismissed {
            store::update(self.db, booking, Change::Dismissed, self.clock.now()).await?;
        }
        Ok(())
    }

    /// One change of a visible booking, in a retried transaction that locks it: `apply` decides
    /// (who may, what the rules allow) and says what changes.
    async fn change<F>(&self, principal: &Principal, id: BookingId, apply: F) -> ServiceResult<BookingView>
    where
        F: Fn(&bookings::Model, &coach_events::Model, DateTime<Utc>) -> ServiceResult<Change>,
    {
        let apply = &apply;
        let party = policy::visibility(principal);
        self.writes
            .retrying(&[id.row_key()], || async move {
                let txn = ctx!(begin_write(self.db).await)?;
                let booking = store::find_visible_for_update(&txn, id, party).await?;
                let event = events::find(&txn, booking.event_id).await?;
                let now = self.clock.now();
                let change = apply(&booking, &event, now)?;
                let updated = store::update(&txn, booking, change, now).await?;
                let view = store::views_of(&txn, vec![updated]).await?.remove(0);
                ctx!(txn.commit().await)?;
                Ok(view)
            })
            .await
    }
}
