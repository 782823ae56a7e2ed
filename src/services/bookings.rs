//! LE-KO: coach events, orders that never overbook, the booking lifecycle, user data deletion.
//! Who may do what is decided here, so no handler can forget it.

use crate::auth::Principal;
use crate::db::{begin_write, RowKey, Transient};
use crate::domain::bookings::{self as rules, EventFacts, OrderError, OrderStatus, Span, Status, Transition};
use crate::domain::input::FreeText;
use crate::domain::page::{Page, PageRequest, MAX_ITEMS};
use crate::entities::booking_orders::PaymentStatus;
use crate::entities::bookings::CanceledByRole;
use crate::entities::coach_events::EventStatus;
use crate::entities::{booking_links, booking_orders, bookings, calendar_events, calendars, coach_events, users};
use crate::error::{ServiceError, ServiceResult};
use crate::policy::{require_scope, Scope};
use crate::state::AppState;
use crate::store::bookings::{events_by_id, places_taken, places_taken_of, LIVE};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A booking with what the wire shape needs: its event and its ordinal with this coach.
#[derive(Debug, Clone)]
pub struct BookingView {
    pub booking: bookings::Model,
    pub event: coach_events::Model,
    pub cardinality: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: booking_orders::Model,
    pub bookings: Vec<BookingView>,
}

#[derive(Debug, Clone)]
pub struct EventView {
    pub event: coach_events::Model,
    pub taken: i64,
}

fn status_of(b: &bookings::Model) -> Status {
    b.status.into()
}

fn span_of(e: &coach_events::Model) -> Span {
    Span { start: e.starts_at, end: e.ends_at }
}

// ------------------------------------------------------------------ coach events

pub struct NewCoachEvent {
    pub sport_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Wall-clock start and end as given (`12:00:00+03:00`), checked against start and end.
    pub start_time: (chrono::NaiveTime, chrono::FixedOffset),
    pub end_time: (chrono::NaiveTime, chrono::FixedOffset),
    pub places: i64,
    pub slot_type: String,
    pub age_from: i64,
    pub age_to: i64,
    pub duration_minutes: i64,
    pub price: i64,
    pub price_currency: String,
    pub payment_method: coach_events::PaymentMethod,
    pub address_id: Option<Uuid>,
    pub public: Option<bool>,
    pub level: Option<String>,
    pub eligibility: Option<String>,
}

fn format_time(t: (chrono::NaiveTime, chrono::FixedOffset)) -> String {
    format!("{}{}", t.0.format("%H:%M:%S%.f"), t.1)
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, event_id = tracing::field::Empty), err(level = "info", Display))]
pub async fn create_coach_event(
    state: &AppState,
    principal: &Principal,
    new: NewCoachEvent,
) -> ServiceResult<EventView> {
    require_scope(principal, Scope::BookingWrite)?;
    let now = state.clock.now();
    if new.end <= new.start {
        return Err(ServiceError::invalid("endAt must be after startAt"));
    }
    if new.start <= now {
        return Err(ServiceError::invalid("startAt must be in the future"));
    }
    if new.end - new.start > Duration::hours(rules::MAX_EVENT_HOURS) {
        return Err(ServiceError::invalid(format!("an event may last at most {} hours", rules::MAX_EVENT_HOURS)));
    }
    if new.age_from > new.age_to {
        return Err(ServiceError::invalid("ageFrom must not be greater than ageTo"));
    }
    if new.price < 0 {
        return Err(ServiceError::invalid("price must not be negative"));
    }
    let minutes = (new.end - new.start).num_seconds();
    if minutes != new.duration_minutes * 60 {
        return Err(ServiceError::invalid(format!(
            "duration is {} minutes but startAt..endAt spans {} seconds",
            new.duration_minutes, minutes
        )));
    }
    for (what, instant, (time, offset)) in
        [("startTime", new.start, new.start_time), ("endTime", new.end, new.end_time)]
    {
        if instant.with_timezone(&offset).time() != time {
            return Err(ServiceError::invalid(format!(
                "{what} {} is not the wall-clock time of {}",
                format_time((time, offset)),
                if what == "startTime" { "startAt" } else { "endAt" }
            )));
        }
    }
    let model = coach_events::ActiveModel {
        id: Set(Uuid::new_v4()),
        coach_id: Set(principal.user_id.into_uuid()),
        sport_id: Set(new.sport_id),
        starts_at: Set(new.start),
        ends_at: Set(new.end),
        status: Set(EventStatus::Scheduled),
        time_slot_id: Set(Uuid::new_v4()),
        places: Set(new.places as i32),
        slot_type: Set(new.slot_type),
        age_from: Set(new.age_from as i32),
        age_to: Set(new.age_to as i32),
        duration_minutes: Set(new.duration_minutes as i32),
        price: Set(new.price),
        price_currency: Set(new.price_currency),
        payment_method: Set(new.payment_method),
        address_id: Set(new.address_id),
        public: Set(new.public),
        level: Set(new.level),
        eligibility: Set(new.eligibility),
        start_time: Set(format_time(new.start_time)),
        end_time: Set(format_time(new.end_time)),
        canceled_at: Set(None),
        created_at: Set(now),
    };
    let event = model.insert(&state.db).await?;
    tracing::Span::current().record("event_id", tracing::field::display(event.id));
    Ok(EventView { event, taken: 0 })
}

async fn find_event(db: &impl ConnectionTrait, id: Uuid) -> ServiceResult<coach_events::Model> {
    coach_events::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("coach event {id} not found")))
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %_principal.user_id, event_id = %id), err(level = "info", Display))]
pub async fn get_coach_event(state: &AppState, _principal: &Principal, id: Uuid) -> ServiceResult<EventView> {
    let event = find_event(&state.db, id).await?;
    let taken = places_taken(&state.db, id).await?;
    Ok(EventView { event, taken })
}

/// Its coach or an admin cancels the event; every live booking becomes Canceled.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, event_id = %id), err(level = "info", Display))]
pub async fn cancel_coach_event(state: &AppState, principal: &Principal, id: Uuid) -> ServiceResult<EventView> {
    require_scope(principal, Scope::BookingWrite)?;
    state
        .writes
        .retrying(&[RowKey::new("coach_events", id)], || async {
            let txn = begin_write(&state.db).await?;
            let event = coach_events::Entity::find_by_id(id)
                .lock_exclusive()
                .one(&txn)
                .await?
                .ok_or_else(|| ServiceError::not_found(format!("coach event {id} not found")))?;
            let by_coach = event.coach_id == principal.user_id.into_uuid();
            if !by_coach && !principal.admin {
                return Err(ServiceError::denied("only the event's coach or an admin may cancel it"));
            }
            if event.status == EventStatus::Canceled {
                return Err(ServiceError::invalid("the event is already canceled"));
            }
            let now = state.clock.now();
            // Like a booking, an event is canceled before it starts; what happened stays on record.
            if event.starts_at <= now {
                return Err(ServiceError::invalid("an event can only be canceled before it starts"));
            }
            let role = if by_coach { CanceledByRole::Coach } else { CanceledByRole::System };
            bookings::Entity::update_many()
                .col_expr(bookings::Column::Status, bookings::BookingStatus::from(Status::Canceled).into())
                .col_expr(bookings::Column::CanceledAt, now.into())
                .col_expr(bookings::Column::CanceledByRole, role.into())
                .col_expr(bookings::Column::UpdatedAt, now.into())
                .filter(bookings::Column::EventId.eq(id))
                .filter(
                    bookings::Column::Status
                        .is_in([bookings::BookingStatus::Pending, bookings::BookingStatus::Accepted]),
                )
                .exec(&txn)
                .await?;
            let mut active: coach_events::ActiveModel = event.into();
            active.status = Set(EventStatus::Canceled);
            active.canceled_at = Set(Some(now));
            let event = active.update(&txn).await?;
            let taken = places_taken(&txn, id).await?;
            txn.commit().await?;
            Ok(EventView { event, taken })
        })
        .await
}

// ------------------------------------------------------------------ orders

pub enum PaymentMethod {
    Cash,
    Card,
}

#[derive(Debug)]
pub enum BookError {
    App(ServiceError),
    /// Nothing was written; every failing event with why.
    Rejected(Vec<(Uuid, OrderError)>),
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

/// Locks the user's row (their schedule), creating it first if needed, in one statement: an
/// upsert whose conflict branch rewrites the row with itself, which takes the row lock on
/// PostgreSQL (SQLite's `BEGIN IMMEDIATE` already holds the only write lock).
async fn lock_user(db: &impl ConnectionTrait, user: Uuid, now: DateTime<Utc>) -> ServiceResult<()> {
    users::Entity::insert(users::ActiveModel {
        id: Set(crate::domain::ids::UserId::from_uuid(user)),
        email: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(OnConflict::column(users::Column::Id).update_column(users::Column::Id).to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Books the events for `user` in one order, all or nothing. Places and schedule conflicts hold
/// under concurrent orders: the user's row and the events are locked (in id order) before they
/// are counted.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = %user, events = event_ids.len()))]
pub async fn book_events(
    state: &AppState,
    principal: &Principal,
    user: Uuid,
    event_ids: &[Uuid],
    payment: PaymentMethod,
) -> Result<OrderView, BookError> {
    require_scope(principal, Scope::BookingWrite)?;
    if user != principal.user_id.into_uuid() && !principal.admin {
        return Err(ServiceError::denied("you may only book for yourself").into());
    }
    if let PaymentMethod::Card = payment {
        return Err(ServiceError::invalid("card payments are not enabled yet; pay with Cash").into());
    }
    if event_ids.is_empty() || event_ids.len() > rules::MAX_ORDER_EVENTS {
        return Err(ServiceError::invalid(format!("an order books 1 to {} events", rules::MAX_ORDER_EVENTS)).into());
    }
    if event_ids.iter().collect::<BTreeSet<_>>().len() != event_ids.len() {
        return Err(ServiceError::invalid("an order may name each event once").into());
    }
    let rows: Vec<RowKey> = std::iter::once(RowKey::new("users", user))
        .chain(event_ids.iter().map(|id| RowKey::new("coach_events", id)))
        .collect();
    state.writes.retrying(&rows, || book_once(state, user, event_ids)).await
}

impl Transient for BookError {
    fn is_transient(&self) -> bool {
        matches!(self, BookError::App(e) if e.is_transient())
    }
}

async fn book_once(state: &AppState, user: Uuid, event_ids: &[Uuid]) -> Result<OrderView, BookError> {
    let txn = begin_write(&state.db).await?;
    let now = state.clock.now();
    lock_user(&txn, user, now).await?;
    let mut sorted: Vec<Uuid> = event_ids.to_vec();
    sorted.sort();
    let events: BTreeMap<Uuid, coach_events::Model> = coach_events::Entity::find()
        .filter(coach_events::Column::Id.is_in(sorted.clone()))
        .order_by_asc(coach_events::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let taken = places_taken_of(&txn, events.keys().copied()).await?;
    let requested: Vec<(Uuid, Option<EventFacts>)> = event_ids
        .iter()
        .map(|id| {
            let facts = events.get(id).map(|e| EventFacts {
                id: e.id,
                coach_id: e.coach_id,
                span: span_of(e),
                canceled: e.status == EventStatus::Canceled,
                places: e.places.into(),
                taken: taken.get(&e.id).copied().unwrap_or(0),
            });
            (*id, facts)
        })
        .collect();
    let (earliest, latest) =
        events.values().fold((None, None), |(lo, hi): (Option<DateTime<Utc>>, Option<DateTime<Utc>>), e| {
            (Some(lo.map_or(e.starts_at, |l| l.min(e.starts_at))), Some(hi.map_or(e.ends_at, |h| h.max(e.ends_at))))
        });
    // The athlete's live bookings of these events or overlapping their time.
    let schedule: Vec<(Uuid, Span)> = match (earliest, latest) {
        (Some(lo), Some(hi)) => bookings::Entity::find()
            .select_only()
            .columns([bookings::Column::EventId, bookings::Column::StartsAt, bookings::Column::EndsAt])
            .filter(bookings::Column::UserId.eq(user))
            .filter(bookings::Column::Status.is_in(LIVE))
            .filter(
                Condition::any().add(bookings::Column::EventId.is_in(sorted.clone())).add(
                    overlap_filter(Some(lo), Some(hi))
                        // Bounds the index range: no booking lasts longer (see MAX_EVENT_HOURS).
                        .add(bookings::Column::StartsAt.gt(lo - Duration::hours(rules::MAX_EVENT_HOURS))),
                ),
            )
            .into_tuple::<(Uuid, DateTime<Utc>, DateTime<Utc>)>()
            .all(&txn)
            .await?
            .into_iter()
            .map(|(event_id, start, end)| (event_id, Span { start, end }))
            .collect(),
        _ => Vec::new(),
    };
    let errors = rules::check_order(user, now, &requested, &schedule);
    if !errors.is_empty() {
        txn.rollback().await?;
        return Err(BookError::Rejected(errors));
    }
    let order = booking_orders::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user),
        payment_status: Set(PaymentStatus::Cash),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let created: Vec<bookings::Model> = event_ids
        .iter()
        .map(|id| {
            let event = &events[id];
            bookings::Model {
                id: Uuid::new_v4(),
                order_id: order.id,
                user_id: user,
                coach_id: event.coach_id,
                event_id: event.id,
                starts_at: event.starts_at,
                ends_at: event.ends_at,
                status: Status::Accepted.into(),
                completed: false,
                note: None,
                canceled_at: None,
                canceled_by_role: None,
                cancellation_reason_code: None,
                cancellation_reason_text: None,
                dismissed: false,
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    // One statement for the whole order.
    bookings::Entity::insert_many(created.iter().cloned().map(bookings::ActiveModel::from))
        .exec_without_returning(&txn)
        .await?;
    let views = views_with_events(&txn, created, &events).await?;
    txn.commit().await?;
    Ok(OrderView { order, bookings: views })
}

// ------------------------------------------------------------------ reading

/// Attaches each booking's event and its ordinal among the athlete's live bookings with that coach.
async fn views_of(db: &impl ConnectionTrait, list: Vec<bookings::Model>) -> ServiceResult<Vec<BookingView>> {
    let events = events_by_id(db, list.iter().map(|b| b.event_id)).await?;
    views_with_events(db, list, &events).await
}

/// Like `views_of`, with the bookings' events at hand. The ordinals come from one query over
/// the live bookings of every (athlete, coach) pair in the list, ids only.
async fn views_with_events(
    db: &impl ConnectionTrait,
    list: Vec<bookings::Model>,
    events: &BTreeMap<Uuid, coach_events::Model>,
) -> ServiceResult<Vec<BookingView>> {
    let pairs: BTreeSet<(Uuid, Uuid)> = list.iter().map(|b| (b.user_id, b.coach_id)).collect();
    let mut ordinals: BTreeMap<Uuid, i64> = BTreeMap::new();
    if !pairs.is_empty() {
        let mut any = Condition::any();
        for (user, coach) in &pairs {
            any = any.add(
                Condition::all().add(bookings::Column::UserId.eq(*user)).add(bookings::Column::CoachId.eq(*coach)),
            );
        }
        let live: Vec<(Uuid, Uuid, Uuid)> = bookings::Entity::find()
            .select_only()
            .columns([bookings::Column::Id, bookings::Column::UserId, bookings::Column::CoachId])
            .filter(any)
            .filter(bookings::Column::Status.is_in(LIVE))
            .order_by_asc(bookings::Column::StartsAt)
            .order_by_asc(bookings::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        let mut counts: BTreeMap<(Uuid, Uuid), i64> = BTreeMap::new();
        for (id, user, coach) in live {
            let n = counts.entry((user, coach)).or_insert(0);
            *n += 1;
            ordinals.insert(id, *n);
        }
    }
    list.into_iter()
        .map(|b| {
            let event = events
                .get(&b.event_id)
                .cloned()
                .ok_or_else(|| ServiceError::internal(format!("booking {} has no event", b.id)))?;
            Ok(BookingView { cardinality: ordinals.get(&b.id).copied(), booking: b, event })
        })
        .collect()
}

async fn find_booking(db: &impl ConnectionTrait, id: Uuid) -> ServiceResult<bookings::Model> {
    bookings::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("booking {id} not found")))
}

fn visible(principal: &Principal, b: &bookings::Model) -> bool {
    principal.admin || b.user_id == principal.user_id.into_uuid() || b.coach_id == principal.user_id.into_uuid()
}

/// A booking, visible to its athlete, its coach and admins; anyone else gets 404.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
pub async fn get_visible(state: &AppState, principal: &Principal, id: Uuid) -> ServiceResult<BookingView> {
    let booking = find_booking(&state.db, id).await?;
    if !visible(principal, &booking) {
        return Err(ServiceError::not_found(format!("booking {id} not found")));
    }
    Ok(views_of(&state.db, vec![booking]).await?.remove(0))
}

fn check_range(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> ServiceResult<()> {
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(ServiceError::invalid("endAt must be after startAt"));
        }
    }
    Ok(())
}

fn overlap_filter(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Condition {
    let mut c = Condition::all();
    if let Some(end) = end {
        c = c.add(bookings::Column::StartsAt.lt(end));
    }
    if let Some(start) = start {
        c = c.add(bookings::Column::EndsAt.gt(start));
    }
    c
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = ?user, event_id = ?event), err(level = "info", Display))]
pub async fn list_bookings(
    state: &AppState,
    principal: &Principal,
    user: Option<Uuid>,
    event: Option<Uuid>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> ServiceResult<Page<BookingView>> {
    check_range(start, end)?;
    let mut query = bookings::Entity::find();
    match (user, event) {
        (None, None) => return Err(ServiceError::invalid("give userId or eventId")),
        (Some(user), None) => {
            if user != principal.user_id.into_uuid() && !principal.admin {
                return Err(ServiceError::denied("you may only list your own bookings"));
            }
            query = query
                .filter(bookings::Column::UserId.eq(user))
                .filter(bookings::Column::Dismissed.eq(false))
                .filter(overlap_filter(start, end));
        }
        (user, Some(event_id)) => {
            let event = find_event(&state.db, event_id).await?;
            let is_coach = event.coach_id == principal.user_id.into_uuid();
            if !is_coach && !principal.admin && user != Some(principal.user_id.into_uuid()) {
                return Err(ServiceError::denied("only the event's coach or an admin may list its bookings"));
            }
            query = query.filter(bookings::Column::EventId.eq(event_id));
            if let Some(user) = user {
                query = query.filter(bookings::Column::UserId.eq(user)).filter(bookings::Column::Dismissed.eq(false));
            }
        }
    }
    let page = PageRequest::first(MAX_ITEMS);
    let list = query
        .order_by_asc(bookings::Column::StartsAt)
        .order_by_asc(bookings::Column::Id)
        .limit(page.fetch())
        .all(&state.db)
        .await?;
    let list = Page::cut(list, &page, |_| None);
    let items = views_of(&state.db, list.items).await?;
    Ok(Page { items, truncated: list.truncated, next: None })
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = %user), err(level = "info", Display))]
pub async fn list_orders(
    state: &AppState,
    principal: &Principal,
    user: Uuid,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> ServiceResult<Page<OrderView>> {
    check_range(start, end)?;
    if user != principal.user_id.into_uuid() && !principal.admin {
        return Err(ServiceError::denied("you may only list your own orders"));
    }
    let mut query = booking_orders::Entity::find().filter(booking_orders::Column::UserId.eq(user));
    if start.is_some() || end.is_some() {
        // Orders with a booking overlapping the range, chosen in the query so the cap counts
        // only those.
        query = query.filter(
            booking_orders::Column::Id.in_subquery(
                bookings::Entity::find()
                    .select_only()
                    .column(bookings::Column::OrderId)
                    .filter(bookings::Column::UserId.eq(user))
                    .filter(overlap_filter(start, end))
                    .into_query(),
            ),
        );
    }
    let page = PageRequest::first(MAX_ITEMS);
    let orders = query
        .order_by_asc(booking_orders::Column::CreatedAt)
        .order_by_asc(booking_orders::Column::Id)
        .limit(page.fetch())
        .all(&state.db)
        .await?;
    let orders = Page::cut(orders, &page, |_| None);
    let mut all = Vec::new();
    let ids: Vec<Uuid> = orders.items.iter().map(|o| o.id).collect();
    for chunk in ids.chunks(500) {
        all.extend(
            bookings::Entity::find()
                .filter(bookings::Column::OrderId.is_in(chunk.iter().copied()))
                .order_by_asc(bookings::Column::StartsAt)
                .order_by_asc(bookings::Column::Id)
                .all(&state.db)
                .await?,
        );
    }
    let views = views_of(&state.db, all).await?;
    let mut by_order: BTreeMap<Uuid, Vec<BookingView>> = BTreeMap::new();
    for v in views {
        by_order.entry(v.booking.order_id).or_default().push(v);
    }
    Ok(orders.map(|order| {
        let bookings = by_order.remove(&order.id).unwrap_or_default();
        OrderView { order, bookings }
    }))
}

/// The order's lifecycle, derived from its bookings (see BookingOrderStatus in the contract).
pub fn order_status(bookings: &[BookingView]) -> OrderStatus {
    rules::order_status(bookings.iter().map(|v| (status_of(&v.booking), v.booking.completed)))
}

// ------------------------------------------------------------------ changing

async fn change<F>(state: &AppState, principal: &Principal, id: Uuid, apply: F) -> ServiceResult<BookingView>
where
    F: Fn(&bookings::Model, &coach_events::Model, DateTime<Utc>) -> ServiceResult<bookings::ActiveModel>,
{
    let apply = &apply;
    state
        .writes
        .retrying(&[RowKey::new("bookings", id)], || async move {
            let txn = begin_write(&state.db).await?;
            let booking = bookings::Entity::find_by_id(id)
                .lock_exclusive()
                .one(&txn)
                .await?
                .filter(|b| visible(principal, b))
                .ok_or_else(|| ServiceError::not_found(format!("booking {id} not found")))?;
            let event = find_event(&txn, booking.event_id).await?;
            let now = state.clock.now();
            let mut active = apply(&booking, &event, now)?;
            active.updated_at = Set(now);
            let updated = active.update(&txn).await?;
            let view = views_of(&txn, vec![updated]).await?.remove(0);
            txn.commit().await?;
            Ok(view)
        })
        .await
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id, completed), err(level = "info", Display))]
pub async fn mark_completed(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    completed: bool,
) -> ServiceResult<BookingView> {
    change(state, principal, id, |b, e, now| {
        if b.coach_id != principal.user_id.into_uuid() && !principal.admin {
            return Err(ServiceError::denied("only the event's coach or an admin may mark a booking completed"));
        }
        if !status_of(b).is_live() {
            return Err(ServiceError::invalid(format!("a {} booking cannot be completed", status_of(b).as_str())));
        }
        if e.ends_at > now {
            return Err(ServiceError::invalid("the event has not ended yet"));
        }
        let mut a: bookings::ActiveModel = b.clone().into();
        a.completed = Set(completed);
        Ok(a)
    })
    .await
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
pub async fn add_note(state: &AppState, principal: &Principal, id: Uuid, note: FreeText) -> ServiceResult<BookingView> {
    change(state, principal, id, |b, e, now| {
        if b.user_id != principal.user_id.into_uuid() && b.coach_id != principal.user_id.into_uuid() {
            return Err(ServiceError::denied("only the athlete or the coach may add a note"));
        }
        if e.ends_at > now {
            return Err(ServiceError::invalid("notes can be added once the event has ended"));
        }
        if !status_of(b).is_live() {
            return Err(ServiceError::invalid(format!("a {} booking did not take place", status_of(b).as_str())));
        }
        let mut a: bookings::ActiveModel = b.clone().into();
        a.note = Set(Some(note.as_str().to_string()));
        Ok(a)
    })
    .await
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id, reason_code = %reason_code), err(level = "info", Display))]
pub async fn cancel_booking(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    reason_code: &str,
    reason_text: Option<FreeText>,
) -> ServiceResult<BookingView> {
    require_scope(principal, Scope::BookingWrite)?;
    change(state, principal, id, |b, e, now| {
        let role = if b.user_id == principal.user_id.into_uuid() {
            CanceledByRole::Athlete
        } else if b.coach_id == principal.user_id.into_uuid() {
            CanceledByRole::Coach
        } else {
            return Err(ServiceError::denied("only the athlete or the coach may cancel a booking"));
        };
        if e.starts_at <= now {
            return Err(ServiceError::invalid("a booking can only be canceled before its event starts"));
        }
        let to = rules::transition(status_of(b), Transition::Cancel).map_err(ServiceError::Invalid)?;
        let mut a: bookings::ActiveModel = b.clone().into();
        a.status = Set(to.into());
        a.canceled_at = Set(Some(now));
        a.canceled_by_role = Set(Some(role));
        a.cancellation_reason_code = Set(Some(reason_code.to_string()));
        a.cancellation_reason_text = Set(reason_text.as_ref().map(|t| t.as_str().to_string()));
        Ok(a)
    })
    .await
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
pub async fn open_dispute(state: &AppState, principal: &Principal, id: Uuid) -> ServiceResult<BookingView> {
    change(state, principal, id, |b, e, now| {
        if b.user_id != principal.user_id.into_uuid() && b.coach_id != principal.user_id.into_uuid() {
            return Err(ServiceError::denied("only the athlete or the coach may open a dispute"));
        }
        if e.starts_at > now {
            return Err(ServiceError::invalid("a dispute can be opened once the event has started"));
        }
        let to = rules::transition(status_of(b), Transition::OpenDispute).map_err(ServiceError::Invalid)?;
        let mut a: bookings::ActiveModel = b.clone().into();
        a.status = Set(to.into());
        Ok(a)
    })
    .await
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id), err(level = "info", Display))]
pub async fn resolve_dispute(state: &AppState, principal: &Principal, id: Uuid) -> ServiceResult<BookingView> {
    if !principal.admin {
        // Admins only; say 404 to anyone who may not even see the booking.
        get_visible(state, principal, id).await?;
        return Err(ServiceError::denied("only an admin may resolve a dispute"));
    }
    change(state, principal, id, |b, _, _| {
        let to = rules::transition(status_of(b), Transition::ResolveDispute).map_err(ServiceError::Invalid)?;
        let mut a: bookings::ActiveModel = b.clone().into();
        a.status = Set(to.into());
        Ok(a)
    })
    .await
}

/// The athlete hides a canceled booking from their views, for good. Again is a no-op.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, booking_id = %id, for_user_id = %user), err(level = "info", Display))]
pub async fn dismiss(state: &AppState, principal: &Principal, id: Uuid, user: Uuid) -> ServiceResult<()> {
    let booking = find_booking(&state.db, id).await?;
    if user != principal.user_id.into_uuid() || booking.user_id != user {
        if !visible(principal, &booking) {
            return Err(ServiceError::not_found(format!("booking {id} not found")));
        }
        return Err(ServiceError::denied("only the booking's athlete may dismiss it"));
    }
    if status_of(&booking) != Status::Canceled {
        return Err(ServiceError::invalid("only canceled bookings can be dismissed"));
    }
    if !booking.dismissed {
        let mut a: bookings::ActiveModel = booking.into();
        a.dismissed = Set(true);
        a.updated_at = Set(state.clock.now());
        a.update(&state.db).await?;
    }
    Ok(())
}

/// What erasing a user removed, for the caches to forget after the commit.
struct Erased {
    calendars: Vec<Uuid>,
    link_tokens: Vec<String>,
}

/// Deletes everything held about a user, in one transaction: their bookings as athlete; their
/// coach events with those events' bookings; their orders and other athletes' orders left
/// empty; every notification queued to or about them; the remembered email (the user row);
/// their calendars with the busy time, links and reservations on them (visitors' names and
/// addresses included). 404 only when none of that existed.
///
/// Races: the user's row is locked first, then their coach events in id order, as an order
/// locks them (`book_once`). An order for one of those events that is in flight has either
/// committed (its bookings are seen and removed, its order with them) or waits and then finds
/// the events gone (eventNotFound, nothing written). The calendars are locked as a reservation
/// locks them, so a reservation in flight is removed or answers 404.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = ?target), err(level = "info", Display))]
pub async fn delete_user(
    state: &AppState,
    principal: &Principal,
    current: Uuid,
    target: Option<Uuid>,
) -> ServiceResult<()> {
    if current != principal.user_id.into_uuid() {
        return Err(ServiceError::denied("x-current-user-id must be the token's subject"));
    }
    let target = target.unwrap_or(current);
    if target != principal.user_id.into_uuid() && !principal.admin {
        return Err(ServiceError::denied("only an admin may delete another user"));
    }
    let erased = state
        .writes
        .retrying(&[RowKey::new("users", target)], || async {
            let txn = begin_write(&state.db).await?;
            let erased = erase_user(&txn, target, state.clock.now()).await;
            match erased {
                Ok(Some(erased)) => {
                    txn.commit().await?;
                    Ok(erased)
                }
                Ok(None) => {
                    txn.rollback().await?;
                    Err(ServiceError::not_found("nothing is held about this user"))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    for calendar in &erased.calendars {
        state.availability_cache.invalidate_calendar(*calendar);
    }
    for token in &erased.link_tokens {
        state.availability_cache.invalidate_link(token);
    }
    state.known_emails.invalidate(&target);
    Ok(())
}

/// The deletions of [`delete_user`] inside its transaction; `None` when nothing was held.
async fn erase_user(txn: &DatabaseTransaction, target: Uuid, now: DateTime<Utc>) -> ServiceResult<Option<Erased>> {
    let mut removed: u64 = 0;
    // The user's row first (an order locks its athlete's row first too); made if missing, so
    // an order of theirs in flight is ordered before or after this transaction.
    let remembered = users::Entity::find_by_id(crate::domain::ids::UserId::from_uuid(target))
        .lock_exclusive()
        .one(txn)
        .await?
        .is_some();
    if remembered {
        removed += 1;
    } else {
        lock_user(txn, target, now).await?;
    }
    // Orders that may be left empty: theirs, and other athletes' orders of their events.
    let mut touched: BTreeSet<Uuid> = BTreeSet::new();
    // Their coach events, locked in id order like an order locks them; again until none is left,
    // so an event made while this runs goes too.
    for _ in 0..5 {
        let events: Vec<Uuid> = coach_events::Entity::find()
            .select_only()
            .column(coach_events::Column::Id)
            .filter(coach_events::Column::CoachId.eq(target))
            .order_by_asc(coach_events::Column::Id)
            .lock_exclusive()
            .into_tuple()
            .all(txn)
            .await?;
        if events.is_empty() {
            break;
        }
        for chunk in events.chunks(500) {
            let on_them = bookings::Column::EventId.is_in(chunk.iter().copied());
            touched.extend(
                bookings::Entity::find()
                    .select_only()
                    .column(bookings::Column::OrderId)
                    .filter(on_them.clone())
                    .into_tuple::<Uuid>()
                    .all(txn)
                    .await?,
            );
            removed += bookings::Entity::delete_many().filter(on_them).exec(txn).await?.rows_affected;
            removed += coach_events::Entity::delete_many()
                .filter(coach_events::Column::Id.is_in(chunk.iter().copied()))
                .exec(txn)
                .await?
                .rows_affected;
        }
    }
    touched.extend(
        bookings::Entity::find()
            .select_only()
            .column(bookings::Column::OrderId)
            .filter(bookings::Column::UserId.eq(target))
            .into_tuple::<Uuid>()
            .all(txn)
            .await?,
    );
    removed +=
        bookings::Entity::delete_many().filter(bookings::Column::UserId.eq(target)).exec(txn).await?.rows_affected;
    removed += booking_orders::Entity::delete_many()
        .filter(booking_orders::Column::UserId.eq(target))
        .exec(txn)
        .await?
        .rows_affected;
    // Re-checked in this transaction: every order this touched that has no booking left goes.
    let touched: Vec<Uuid> = touched.into_iter().collect();
    for chunk in touched.chunks(500) {
        let kept: BTreeSet<Uuid> = bookings::Entity::find()
            .select_only()
            .column(bookings::Column::OrderId)
            .filter(bookings::Column::OrderId.is_in(chunk.iter().copied()))
            .into_tuple::<Uuid>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        let empty: Vec<Uuid> = chunk.iter().copied().filter(|o| !kept.contains(o)).collect();
        if !empty.is_empty() {
            booking_orders::Entity::delete_many().filter(booking_orders::Column::Id.is_in(empty)).exec(txn).await?;
        }
    }
    // Their calendars, locked as a reservation locks one, with everything on them.
    let calendars: Vec<Uuid> = calendars::Entity::find()
        .select_only()
        .column(calendars::Column::Id)
        .filter(calendars::Column::OwnerId.eq(target))
        .order_by_asc(calendars::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    let mut link_tokens: Vec<String> = Vec::new();
    for chunk in calendars.chunks(500) {
        let ids = || chunk.iter().copied();
        link_tokens.extend(
            booking_links::Entity::find()
                .select_only()
                .column(booking_links::Column::Token)
                .filter(booking_links::Column::CalendarId.is_in(ids()))
                .into_tuple::<String>()
                .all(txn)
                .await?,
        );
        let events: Vec<Uuid> = calendar_events::Entity::find()
            .select_only()
            .column(calendar_events::Column::Id)
            .filter(calendar_events::Column::CalendarId.is_in(ids()))
            .into_tuple()
            .all(txn)
            .await?;
        removed += calendar_events::Entity::delete_many()
            .filter(calendar_events::Column::CalendarId.is_in(ids()))
            .exec(txn)
            .await?
            .rows_affected;
        // Messages about their calendars' events (visitors' confirmations and reminders), after
        // the events are gone, so a notification pass in flight cannot add one behind us.
        crate::notify::outbox::forget_subjects(txn, &events).await?;
        removed += booking_links::Entity::delete_many()
            .filter(booking_links::Column::CalendarId.is_in(ids()))
            .exec(txn)
            .await?
            .rows_affected;
        removed +=
            calendars::Entity::delete_many().filter(calendars::Column::Id.is_in(ids())).exec(txn).await?.rows_affected;
    }
    // Anything queued to or about them goes too (not counted: a queue alone is not data the
    // user gave us).
    crate::notify::outbox::forget_user(txn, target).await?;
    users::Entity::delete_by_id(crate::domain::ids::UserId::from_uuid(target)).exec(txn).await?;
    Ok((removed > 0).then_some(Erased { calendars, link_tokens }))
}
