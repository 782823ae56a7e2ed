//! Erasing a user: everything held about them, in one transaction.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::ctx;
use crate::db::{begin_write, Locks, Writes};
use crate::domain::ids::{OrderId, UserId};
use crate::error::{ServiceError, ServiceResult};
use crate::notify::notifier::Notifier;
use crate::policy;
use crate::services::availability_cache::AvailabilityCache;
use crate::store::{bookings, coach_events, erasure, notification_subjects, orders};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::collections::BTreeSet;

/// The erasure use case, over the database, the write runner, the clock, and the caches that
/// must forget what went.
#[derive(Clone, Copy)]
pub struct Erasure<'a> {
    pub db: &'a DatabaseConnection,
    pub writes: &'a Writes,
    pub clock: Clock,
    pub availability_cache: &'a AvailabilityCache,
    pub known_emails: &'a moka::sync::Cache<UserId, String>,
    /// The rules and letterhead the cancellations the erasure causes are written with.
    pub notifier: &'a Notifier,
}

impl<'a> Erasure<'a> {
    pub fn new(
        db: &'a DatabaseConnection,
        writes: &'a Writes,
        clock: Clock,
        availability_cache: &'a AvailabilityCache,
        known_emails: &'a moka::sync::Cache<UserId, String>,
        notifier: &'a Notifier,
    ) -> Self {
        Self { db, writes, clock, availability_cache, known_emails, notifier }
    }

    /// Deletes everything held about a user, in one transaction: their bookings as athlete;
    /// their coach events with those events' bookings; their orders and other athletes' orders
    /// left empty; every notification queued to or about them; the remembered email (the user
    /// row); their calendars with the busy time, links and reservations on them (visitors' names
    /// and addresses included). 404 only when none of that existed.
    ///
    /// Races: the user's row is locked first, then their coach events in id order, as an order
    /// locks them. An order for one of those events that is in flight has either committed (its
    /// bookings are seen and removed, its order with them) or waits and then finds the events
    /// gone (eventNotFound, nothing written). The calendars are locked as a reservation locks
    /// them, so a reservation in flight is removed or answers 404.
    #[tracing::instrument(name = "delete_user", level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = ?target), err(level = "info", Display))]
    pub async fn delete_user(
        &self,
        principal: &Principal,
        current: UserId,
        target: Option<UserId>,
    ) -> ServiceResult<()> {
        policy::require_self(principal, current, "x-current-user-id must be the token's subject")?;
        let target = target.unwrap_or(current);
        policy::require_self_or_admin(principal, target, "only an admin may delete another user")?;
        let erased = self.writes.retrying(&[target.row_key()], || self.attempt_delete(target)).await?;
        for calendar in &erased.calendars {
            self.availability_cache.invalidate_calendar(*calendar);
        }
        for token in &erased.link_tokens {
            self.availability_cache.invalidate_link(token);
        }
        self.known_emails.invalidate(&target);
        Ok(())
    }

    async fn attempt_delete(&self, target: UserId) -> ServiceResult<erasure::CalendarsErased> {
        let txn = ctx!(begin_write(self.db).await)?;
        match erase(&txn, target, self.notifier, self.clock.now()).await? {
            Some(erased) => {
                ctx!(txn.commit().await)?;
                Ok(erased)
            }
            None => {
                ctx!(txn.rollback().await)?;
                Err(ServiceError::not_found("nothing is held about this user"))
            }
        }
    }
}

/// The deletions of [`Erasure::delete_user`] inside its transaction; `None` when nothing was held.
async fn erase(
    txn: &DatabaseTransaction,
    target: UserId,
    notifier: &Notifier,
    now: DateTime<Utc>,
) -> ServiceResult<Option<erasure::CalendarsErased>> {
    let mut removed: u64 = 0;
    // The user's row first (an order locks its athlete's row first too); made if missing, so
    // an order of theirs in flight is ordered before or after this transaction.
    if erasure::lock_user_row(txn, target).await? {
        removed += 1;
    } else {
        orders::lock_athlete(txn, target, now).await?;
    }
    // Everyone else invited to what goes is told it is off: read under the locks, before it goes.
    let bookings = notification_subjects::live_bookings_of(txn, target).await?;
    let calendars = erasure::lock_calendars_of(txn, target).await?;
    let reservations = notification_subjects::live_reservations_on(txn, &calendars).await?;
    let told = crate::notify::erased::cancellations(
        &notifier.rules,
        &notifier.letterhead,
        target,
        &bookings,
        &reservations,
        now,
    )?;
    let (touched, gone) = erase_bookings(txn, target).await?;
    removed += gone;
    // Re-checked in this transaction: every order this touched that has no booking left goes.
    let touched: Vec<OrderId> = touched.into_iter().collect();
    for chunk in touched.chunks(500) {
        let kept = bookings::orders_with_bookings(txn, chunk).await?;
        let empty: Vec<OrderId> = chunk.iter().copied().filter(|o| !kept.contains(o)).collect();
        orders::delete(txn, &empty).await?;
    }
    let mut erased = erasure::delete_calendars_of(txn, target).await?;
    removed += erased.removed;
    // Messages about their calendars' events (visitors' confirmations and reminders), after
    // the events are gone, so a notification pass in flight cannot add one behind us.
    ctx!(crate::store::outbox::forget_subjects(txn, &erased.calendar_events).await)?;
    // Anything queued to or about them goes too (not counted: a queue alone is not data the
    // user gave us).
    ctx!(crate::store::outbox::forget_user(txn, target).await)?;
    crate::store::outbox::insert_in(txn, &told, now).await?;
    erasure::delete_user_row(txn, target).await?;
    erased.removed = removed;
    Ok((removed > 0).then_some(erased))
}

/// Their coach events with every booking on them, their bookings as athlete and their orders:
/// the orders that may be left empty (theirs, and other athletes' orders of their events), and
/// how many rows went.
async fn erase_bookings(txn: &DatabaseTransaction, target: UserId) -> ServiceResult<(BTreeSet<OrderId>, u64)> {
    let (mut touched, mut removed) = (BTreeSet::new(), 0);
    // Their coach events, locked in id order like an order locks them; again until none is left,
    // so an event made while this runs goes too.
    for _ in 0..5 {
        let events = coach_events::lock_ids_of_coach(txn, target).await?;
        if events.is_empty() {
            break;
        }
        for chunk in events.chunks(500) {
            let (orders, gone) = bookings::delete_of_events(txn, chunk).await?;
            touched.extend(orders);
            removed += gone + coach_events::delete(txn, chunk).await?;
        }
    }
    let (orders, gone) = bookings::delete_of_user(txn, target).await?;
    touched.extend(orders);
    removed += gone + orders::delete_of_user(txn, target).await?;
    Ok((touched, removed))
}
