//! LE-KO orders: booking events all or nothing, never overbooking, and listing an athlete's
//! orders with their status.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::ctx;
use crate::db::{begin_write, Locks, RowKey, Transient, Writes};
use crate::domain::bookings::{
    self as booking_rules, EventFacts, Interval, ListWindow, LiveBooking, OrderError, OrderRequest, OrderStatus,
    PaymentMethod,
};
use crate::domain::ids::{BookingId, CoachEventId, OrderId, UserId};
use crate::domain::page::Page;
use crate::entities::coach_events::{self, EventStatus};
use crate::entities::{booking_orders, bookings};
use crate::error::{ServiceError, ServiceResult};
use crate::policy::{self, BookingWriter};
use crate::store::bookings::{self as bookings_store, BookingView};
use crate::store::{coach_events as events, orders as store};
use sea_orm::{DatabaseConnection, DbErr};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: booking_orders::Model,
    pub bookings: Vec<BookingView>,
}

impl OrderView {
    /// The order's lifecycle, derived from its bookings (see BookingOrderStatus in the contract).
    pub fn status(&self) -> OrderStatus {
        booking_rules::order_status(self.bookings.iter().map(|v| (v.booking.status.into(), v.booking.completed)))
    }
}

#[derive(Debug)]
pub enum BookError {
    App(ServiceError),
    /// Nothing was written; every failing event with why.
    Rejected(Vec<(CoachEventId, OrderError)>),
}

impl From<ServiceError> for BookError {
    fn from(e: ServiceError) -> Self {
        BookError::App(e)
    }
}

impl From<DbErr> for BookError {
    fn from(e: DbErr) -> Self {
        BookError::App(e.into())
    }
}

impl From<booking_rules::Refusal> for BookError {
    fn from(e: booking_rules::Refusal) -> Self {
        BookError::App(e.into())
    }
}

impl Transient for BookError {
    fn is_transient(&self) -> bool {
        matches!(self, BookError::App(e) if e.is_transient())
    }

    fn unavailable(cause: String) -> Self {
        BookError::App(ServiceError::unavailable(cause))
    }
}

/// Counts what an order came to: created; refused because an event is full (`sold_out`), for
/// an overlap (`conflict`) or by another rule (`rejected_by_rule`); a conflict or invalid input
/// found before the rules as such.
fn count_order(result: &Result<OrderView, BookError>) {
    use crate::metrics::{outcome, Counted, Outcome, Subject};
    let counted = match result {
        Ok(_) => Some(Outcome::Created),
        Err(BookError::Rejected(errors)) => Some(if errors.iter().any(|(_, e)| *e == OrderError::Overbooked) {
            Outcome::SoldOut
        } else if errors.iter().any(|(_, e)| *e == OrderError::Conflict) {
            Outcome::Conflict
        } else {
            Outcome::RejectedByRule
        }),
        Err(BookError::App(e)) => e.outcome(),
    };
    if let Some(counted) = counted {
        outcome(Subject::Order, counted);
    }
}

fn facts(e: &coach_events::Model, taken: &BTreeMap<CoachEventId, i64>) -> EventFacts {
    EventFacts {
        id: e.id,
        coach_id: e.coach_id,
        span: Interval { start: e.starts_at, end: e.ends_at },
        canceled: e.status == EventStatus::Canceled,
        places: e.places.into(),
        taken: taken.get(&e.id).copied().unwrap_or(0),
    }
}

/// A booking as the ordinals count it.
fn live_booking(b: &bookings::Model) -> LiveBooking {
    LiveBooking {
        id: b.id,
        user_id: b.user_id,
        coach_id: b.coach_id,
        event_id: b.event_id,
        span: Interval { start: b.starts_at, end: b.ends_at },
    }
}

/// The order use cases, over the database, the write runner and the clock.
#[derive(Clone, Copy)]
pub struct Orders<'a> {
    pub db: &'a DatabaseConnection,
    pub writes: &'a Writes,
    pub clock: Clock,
}

impl<'a> Orders<'a> {
    pub fn new(db: &'a DatabaseConnection, writes: &'a Writes, clock: Clock) -> Self {
        Self { db, writes, clock }
    }

    /// Books the events for `user` in one order, all or nothing. Places and schedule conflicts
    /// hold under concurrent orders: the user's row and the events are locked (in id order)
    /// before they are counted.
    #[tracing::instrument(name = "book_events", level = "info", skip_all, fields(user_id = %writer.principal().user_id, for_user_id = %user, events = event_ids.len()))]
    pub async fn book(
        &self,
        writer: BookingWriter<'_>,
        user: UserId,
        event_ids: Vec<CoachEventId>,
        payment: PaymentMethod,
    ) -> Result<OrderView, BookError> {
        policy::require_self_or_admin(writer.principal(), user, "you may only book for yourself")?;
        let request = OrderRequest::parse(user, event_ids, payment)?;
        let rows: Vec<RowKey> =
            std::iter::once(user.row_key()).chain(request.event_ids.iter().map(|id| id.row_key())).collect();
        let booked = if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            self.writes.retrying(&rows, || self.attempt_book_pg(&request)).await
        } else {
            self.writes.retrying(&rows, || self.attempt_book(&request)).await
        };
        count_order(&booked);
        booked
    }

    /// One try of [`Orders::book`]: lock, gather the facts, let the rules decide, write.
    async fn attempt_book(&self, request: &OrderRequest) -> Result<OrderView, BookError> {
        let txn = ctx!(begin_write(self.db).await)?;
        let now = self.clock.now();
        store::lock_athlete(&txn, request.user, now).await?;
        let sorted = request.sorted();
        let locked = events::lock_many_with_taken(&txn, &sorted).await?;
        let taken: BTreeMap<CoachEventId, i64> = locked.iter().map(|(id, (_, n))| (*id, *n)).collect();
        let events: BTreeMap<CoachEventId, coach_events::Model> =
            locked.into_iter().map(|(id, (e, _))| (id, e)).collect();
        let requested: Vec<(CoachEventId, Option<EventFacts>)> =
            request.event_ids.iter().map(|id| (*id, events.get(id).map(|e| facts(e, &taken)))).collect();
        // The athlete's live bookings the checks and the new bookings' ordinals need, in one read.
        let coaches: BTreeSet<UserId> = events.values().map(|e| e.coach_id).collect();
        let live = match booking_rules::schedule_window(events.values().map(|e| facts(e, &taken).span)) {
            Some(window) => bookings_store::live_for_order(&txn, request.user, &coaches, window).await?,
            None => Vec::new(),
        };
        let schedule: Vec<(CoachEventId, Interval)> = live.iter().map(|b| (b.event_id, b.span)).collect();
        let errors = booking_rules::check_order(request.user, now, &requested, &schedule);
        if !errors.is_empty() {
            ctx!(txn.rollback().await)?;
            return Err(BookError::Rejected(errors));
        }
        let order = store::insert(&txn, request.user, now).await?;
        let in_order: Vec<&coach_events::Model> = request.event_ids.iter().map(|id| &events[id]).collect();
        let created = bookings_store::insert_for_order(&txn, order.id, request.user, &in_order, now).await?;
        let with_coaches = live.into_iter().filter(|b| coaches.contains(&b.coach_id));
        let ordinals = booking_rules::ordinals(with_coaches.chain(created.iter().map(live_booking)));
        let bookings = bookings_store::with_events(created, &events, &ordinals)?;
        ctx!(txn.commit().await)?;
        Ok(OrderView { order, bookings })
    }

    /// One try of [`Orders::book`] on PostgreSQL: one call that locks, checks the order rules
    /// (written there again, held to the same tests), and writes; the answer is made from what
    /// it returns.
    async fn attempt_book_pg(&self, request: &OrderRequest) -> Result<OrderView, BookError> {
        let now = self.clock.now();
        let order_id = OrderId::new();
        let ids: Vec<(CoachEventId, BookingId)> = request.event_ids.iter().map(|id| (*id, BookingId::new())).collect();
        let cutoff = booking_rules::BOOKING_CUTOFF;
        let longest = chrono::Duration::hours(booking_rules::MAX_EVENT_HOURS);
        let lines = store::book_in_one_call(self.db, request.user, now, cutoff, longest, order_id, &ids).await?;
        if lines.len() != ids.len() {
            return Err(ServiceError::internal("an order answered another number of events than asked").into());
        }
        let errors: Vec<(CoachEventId, OrderError)> =
            ids.iter().zip(&lines).filter_map(|((id, _), line)| line.error.map(|e| (*id, e))).collect();
        if !errors.is_empty() {
            return Err(BookError::Rejected(errors));
        }
        let order = booking_orders::Model {
            id: order_id,
            user_id: request.user,
            payment_status: booking_orders::PaymentStatus::Cash,
            created_at: now,
        };
        let mut bookings = Vec::with_capacity(lines.len());
        for ((_, booking_id), line) in ids.iter().zip(lines) {
            let event = line.event.ok_or_else(|| ServiceError::internal("a booked event that is not there"))?;
            let booking = bookings::Model {
                id: *booking_id,
                order_id,
                user_id: request.user,
                coach_id: event.coach_id,
                event_id: event.id,
                starts_at: event.starts_at,
                ends_at: event.ends_at,
                status: booking_rules::Status::Accepted.into(),
                completed: false,
                note: None,
                canceled_at: None,
                canceled_by_role: None,
                cancellation_reason_code: None,
                cancellation_reason_text: None,
                dismissed: false,
                created_at: now,
                updated_at: now,
            };
            bookings.push(BookingView { booking, event, cardinality: line.ordinal });
        }
        Ok(OrderView { order, bookings })
    }

    #[tracing::instrument(name = "list_orders", level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = %user), err(level = "info", Display))]
    pub async fn list(
        &self,
        principal: &Principal,
        user: UserId,
        window: ListWindow,
    ) -> ServiceResult<Page<OrderView>> {
        policy::require_self_or_admin(principal, user, "you may only list your own orders")?;
        let orders = store::list_of_user(self.db, user, window).await?;
        let ids: Vec<OrderId> = orders.items.iter().map(|o| o.id).collect();
        let all = bookings_store::of_orders(self.db, &ids).await?;
        let mut by_order: BTreeMap<OrderId, Vec<BookingView>> = BTreeMap::new();
        for v in bookings_store::views_of(self.db, all).await? {
            by_order.entry(v.booking.order_id).or_default().push(v);
        }
        Ok(orders.map(|order| {
            let bookings = by_order.remove(&order.id).unwrap_or_default();
            OrderView { order, bookings }
        }))
    }
}
