//! Public booking links: create and change them (owner), compute availability and reserve a
//! slot (anyone with the token); the visitor reads, cancels and moves their reservation (anyone
//! with its manage token).
//!
//! Style as `services::calendars`: a small struct holding what the use cases need. Here: links
//! (create, list, change), availability and reserving; in the submodules the visitor's own
//! reservation (`guest`), the owner's approval (`approval`) and team links (`team`).

use super::availability_cache::{AvailabilityCache, BusyWindow, CachedLink};
use super::calendars::find_owned;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::{begin_write, is_exclusion_violation, Locks, WriteTxn, Writes};
use crate::domain::availability::{
    self, DayCounts, Interval, LinkRules, Patch, PeriodLimit, Refusal, SchedulePatch, SchedulingRules, Seat,
    SeatedSlot, Session, SlotError,
};
use crate::domain::booking_link::{LinkSettings, Location, Reservation, MAX_AVAILABILITY_DAYS};
use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::FreeText;
use crate::domain::input::{self, LinkToken, TimeRange};
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::domain::reservation::{
    self as reservation_rules, guest_may_change, may_move, pending_until, Ending, ManageLinks, ManageToken,
    ReservationStatus,
};
use crate::entities::calendar_events::CancelledBy;
use crate::entities::{booking_links, calendar_events};
use crate::error::{ServiceError, ServiceResult};
use crate::metrics::{self, Outcome, Subject};
use crate::policy::{BookingWriter, CalendarWriter};
use crate::store::booking_links::{self as store, StoredSettings};
use crate::store::calendars::{self as calendar_store, busy_between, insert_reservation, Pending, Placed};
use crate::store::guest_writes::{self, Outcome as WriteOutcome, SlotGuard};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DbBackend};
use std::sync::Arc;

mod approval;
mod guest;
mod team;
pub use approval::Decision;
pub use guest::{GuestReservation, Host, Moment};
pub use team::TeamChange;

#[derive(Clone, Copy)]
pub struct BookingLinks<'a> {
    pub db: &'a DatabaseConnection,
    pub clock: Clock,
    pub cache: &'a AvailabilityCache,
    /// Runs the reservation's write transaction (retries, one waiter per link).
    pub writes: &'a Writes,
    /// Base URL of public booking links, without a trailing slash.
    pub public_base_url: &'a str,
    /// Visitors' manage tokens and links.
    pub manage_links: &'a ManageLinks,
}

/// A stored link's settings, parsed.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %link.calendar_id), err(level = "debug", Display))]
pub fn settings_of(link: &booking_links::Model) -> ServiceResult<LinkSettings> {
    store::settings_of(link)
}

/// What `updateBookingLink` may change; `None` keeps the current value.
#[derive(Default)]
pub struct LinkChanges {
    pub duration_minutes: Option<i64>,
    /// Sets both buffers, before and after, unless they are given too.
    pub buffer_minutes: Option<i64>,
    pub timezone: Option<String>,
    pub working_hours: Option<availability::WorkingHours>,
    pub active: Option<bool>,
    /// The scheduling rules changed, kept, or set back to their defaults.
    pub schedule: SchedulePatch,
    /// The location changed, kept, or removed.
    pub location: Patch<Location>,
}

impl LinkChanges {
    fn apply(self, current: LinkSettings) -> ServiceResult<LinkSettings> {
        let mut given = self.schedule;
        // A new common buffer replaces both sides (they fall back to it) unless a side is given.
        if self.buffer_minutes.is_some() {
            for side in [&mut given.buffer_before_minutes, &mut given.buffer_after_minutes] {
                if !side.is_given() {
                    *side = Patch::Reset;
                }
            }
        }
        let raw = given.apply(current.rules.schedule.to_raw());
        let location = self.location.apply(current.location);
        let schedule = SchedulingRules::parse(&raw).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        LinkSettings::parse(
            self.duration_minutes.unwrap_or(current.duration_minutes),
            self.buffer_minutes.unwrap_or(current.buffer_minutes),
            self.timezone.as_deref().unwrap_or(&current.timezone),
            self.working_hours.unwrap_or(current.rules.hours),
            self.active.unwrap_or(current.active),
            schedule,
        )
        .map(|s| s.with_location(location))
        .map_err(ServiceError::Invalid)
    }
}

pub struct Availability {
    pub link: Arc<CachedLink>,
    /// Each with its seats left (`seats_per_slot` for a slot nobody holds).
    pub slots: Vec<SeatedSlot>,
}

/// A link's sessions (issue #25's seats) starting in `[from, to)` with their ids, but for the
/// reservation `except`; none for a link of one seat per slot (its sessions are never read).
async fn sessions_of(
    db: &impl sea_orm::ConnectionTrait,
    rules: &LinkRules,
    token: &LinkToken,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<CalendarEventId>,
) -> ServiceResult<(Vec<CalendarEventId>, Vec<Session>)> {
    if rules.schedule.seats_per_slot() <= 1 {
        return Ok((Vec::new(), Vec::new()));
    }
    let rows = store::sessions(db, token, from, to, except).await?;
    Ok(rows
        .into_iter()
        .map(|(id, start, end, taken)| {
            (id, Session { slot: Interval { start, end }, taken: u32::try_from(taken).unwrap_or(u32::MAX) })
        })
        .unzip())
}

fn busy_of(spans: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<Interval> {
    spans.into_iter().map(|(start, end)| Interval { start, end }).collect()
}

/// The busy time to load for a request that needs `[from, to)`: whole weeks from the week
/// before `from`'s to long enough after it for any range (so later requests near it hit).
fn cache_window(from: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let week = Duration::days(7).num_seconds();
    let start = DateTime::<Utc>::from_timestamp(from.timestamp().div_euclid(week) * week, 0).unwrap_or(from)
        - Duration::days(7);
    // Within the instants anything is stored at (both databases compare those correctly).
    (input::clamp(start), input::clamp(start + Duration::days(MAX_AVAILABILITY_DAYS + 28)))
}

/// Busy time for availability: a cached window, or spans loaded for this request alone.
enum BusySource {
    Cached(Arc<BusyWindow>),
    Loaded(Vec<Interval>),
}

impl BusySource {
    fn covering(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> &[Interval] {
        match self {
            BusySource::Cached(window) => window.covering(from, to).unwrap_or(&[]),
            BusySource::Loaded(spans) => spans,
        }
    }
}

/// Live reservations through link `token` per local date, for every date a slot starting in
/// `[from, to)` can have (none are loaded when the link has no daily cap: it is never read).
async fn day_counts(
    db: &impl sea_orm::ConnectionTrait,
    rules: &LinkRules,
    token: &LinkToken,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<CalendarEventId>,
) -> ServiceResult<DayCounts> {
    let Some((from, to)) = availability::counted_span(rules, from, to) else {
        return Ok(DayCounts::new());
    };
    let spans = store::reservation_spans(db, token, from, to, except).await?;
    Ok(availability::tally_per_date(rules, spans))
}

fn slot_taken() -> ServiceError {
    ServiceError::conflict("this slot is no longer available")
}

/// A write of a reservation's time (its insert or its move, and the commit after it): on
/// PostgreSQL an exclusion constraint backs the slot check up, and its violation, at the write
/// or at the commit, is the slot taken (409); any other error stays what it is.
fn slot_write<T>(result: Result<T, sea_orm::DbErr>) -> ServiceResult<T> {
    match result {
        Err(e) if is_exclusion_violation(&e) => Err(slot_taken()),
        other => crate::ctx!(other),
    }
}

fn link_not_found() -> ServiceError {
    ServiceError::not_found("booking link not found or inactive")
}

/// A refused slot as the API answers it: not offered is a 400; a full date or busy time a 409.
fn refused(e: SlotError) -> ServiceError {
    match e.refusal() {
        Refusal::NotOffered => ServiceError::Invalid(e.to_string()),
        Refusal::DateFull => ServiceError::conflict(e.to_string()),
        Refusal::Busy => slot_taken(),
    }
}

/// Availability never offers a slot that, with its buffers, leaves the instants the contract
/// carries, or whose ends in the link's zone would be no date-time.
fn ensure_fits(rules: &LinkRules, slot: Interval) -> ServiceResult<()> {
    if input::slot_fits(&rules.tz, rules.buffer_before(), rules.buffer_after(), slot.start, slot.end) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "slot_start..slot_end, with the link's buffer and in its time zone, must lie between 0001-01-01 and 9999-12-31",
        ))
    }
}

/// A guest write's outcome other than done, as the API answers it (`limits`: those the write
/// was guarded by). `Stale` is transient: the write is decided again on fresh reads.
fn write_refused(outcome: WriteOutcome, limits: &[PeriodLimit], gone: fn() -> ServiceError) -> ServiceError {
    match outcome {
        WriteOutcome::Gone => gone(),
        WriteOutcome::Stale => {
            ServiceError::unavailable("the link or the reservation changed while the write was decided")
        }
        WriteOutcome::Full(i) => match limits.get(i) {
            Some(limit) => refused(limit.refusal()),
            None => ServiceError::internal(format!("a guest write reached limit {i} of {}", limits.len())),
        },
        WriteOutcome::Busy => slot_taken(),
        WriteOutcome::Done => ServiceError::internal("a guest write done, answered as refused"),
    }
}

/// Whether a slot of a link can be decided before its lock without its busy time (PostgreSQL's
/// one-call writes): not with `after_busy`, where busy time says where slots start, nor with
/// several seats per slot, where the slot's session decides; such links take the transaction
/// path.
fn decided_without_busy_time(rules: &LinkRules) -> bool {
    let s = &rules.schedule;
    s.slot_alignment() == availability::SlotAlignment::Grid && s.seats_per_slot() <= 1 && !s.requires_confirmation()
}

/// A reservation's state as its visitor and its owner see it.
pub fn status_of(e: &calendar_events::Model) -> ReservationStatus {
    let ended = e.cancelled.then_some(match e.cancelled_by {
        Some(CancelledBy::Declined) => Ending::Declined,
        Some(CancelledBy::Expired) => Ending::Expired,
        _ => Ending::Canceled,
    });
    ReservationStatus::of(ended, e.is_pending())
}

/// Takes what a first read found for the first attempt of a write; later attempts read again.
fn first_read<T>(seen: &std::sync::Mutex<Option<T>>) -> Option<T> {
    seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
}

impl<'a> BookingLinks<'a> {
    #[tracing::instrument(level = "debug", skip_all)]
    pub fn public_url(&self, token: &LinkToken) -> String {
        format!("{}/booking/{token}", self.public_base_url)
    }

    /// The visitor's link to their reservation.
    pub fn manage_url(&self, token: &ManageToken) -> String {
        self.manage_links.url(token)
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn create_link(
        &self,
        writer: BookingWriter<'_>,
        calendar_id: CalendarId,
        settings: LinkSettings,
    ) -> ServiceResult<booking_links::Model> {
        find_owned(self.db, writer.principal(), calendar_id).await?;
        store::insert(self.db, calendar_id, StoredSettings::of(&settings), self.clock.now()).await
    }

    /// One page of a calendar's links, newest first then by token; keyset after `page.after`,
    /// cut in the query.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn list_links(
        &self,
        principal: &Principal,
        calendar_id: CalendarId,
        page: PageRequest,
    ) -> ServiceResult<Page<booking_links::Model>> {
        find_owned(self.db, principal, calendar_id).await?;
        let after = page.after.as_ref().map(|c| (c.at, c.key.as_str()));
        let rows = store::page_of_calendar(self.db, calendar_id, after, page.fetch()).await?;
        Ok(Page::cut(rows, &page, |l| Some(Cursor::new(ListKind::BookingLinks, l.created_at, l.token.to_string()))))
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn update_link(
        &self,
        writer: BookingWriter<'_>,
        calendar_id: CalendarId,
        token: &LinkToken,
        changes: LinkChanges,
        team: TeamChange,
    ) -> ServiceResult<(booking_links::Model, availability::Team)> {
        find_owned(self.db, writer.principal(), calendar_id).await?;
        let link = store::find_in_calendar(self.db, calendar_id, token)
            .await?
            .ok_or_else(|| ServiceError::not_found("booking link not found in this calendar"))?;
        let merged = changes.apply(settings_of(&link)?)?;
        let current = self.team(&link).await?;
        let team = self.team_for(writer.principal(), &current, team, &merged.rules).await?;
        // The settings and the team change together.
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let now = self.clock.now();
        let updated = store::update_settings(&txn, link, StoredSettings::of(&merged), now).await?;
        let updated = crate::store::team_links::replace(&txn, updated, &team, now).await?;
        crate::ctx!(txn.commit().await)?;
        self.cache.invalidate_link_of(&updated.token, updated.calendar_id);
        Ok((updated, team))
    }

    async fn cached_link(&self, token: &LinkToken) -> ServiceResult<Arc<CachedLink>> {
        if let Some(link) = self.cache.link(token) {
            return Ok(link);
        }
        let ticket = self.cache.ticket();
        let model = store::find_active(self.db, token).await?.ok_or_else(link_not_found)?;
        let settings = settings_of(&model)?;
        let team = crate::store::team_links::team_of(self.db, &model).await?;
        let link = Arc::new(CachedLink {
            scheduling: crate::store::team_links::scheduling_of(&model),
            team,
            settings,
            token: model.token,
            calendar_id: model.calendar_id,
            version: model.updated_at,
        });
        self.cache.put_link(ticket, link.clone());
        Ok(link)
    }

    /// Busy time of the link's calendar over `[from, to)`: from the cache when it covers it,
    /// else loaded (a whole cache window when that covers it, for the requests to come).
    async fn busy(&self, calendar_id: CalendarId, from: DateTime<Utc>, to: DateTime<Utc>) -> ServiceResult<BusySource> {
        if let Some(window) = self.cache.busy(calendar_id) {
            if window.covering(from, to).is_some() {
                return Ok(BusySource::Cached(window));
            }
        }
        let (window_from, window_to) = cache_window(from);
        if self.cache.enabled() && from >= window_from && to <= window_to {
            let ticket = self.cache.ticket();
            let spans = busy_of(busy_between(self.db, calendar_id, window_from, window_to, None).await?);
            let window = Arc::new(BusyWindow { from: window_from, to: window_to, spans });
            self.cache.put_busy(ticket, calendar_id, window.clone());
            Ok(BusySource::Cached(window))
        } else {
            Ok(BusySource::Loaded(busy_of(busy_between(self.db, calendar_id, from, to, None).await?)))
        }
    }

    pub async fn availability(&self, token: &LinkToken, range: TimeRange) -> ServiceResult<Availability> {
        self.availability_moving(token, range, None).await
    }

    /// The availability of a link; with `moving`, as the visitor moving that reservation sees it:
    /// its own time and its place in its date's count are not in its way (as
    /// [`Self::reschedule_reservation`] checks a slot).
    #[tracing::instrument(level = "info", skip_all, fields(calendar_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn availability_moving(
        &self,
        token: &LinkToken,
        range: TimeRange,
        moving: Option<&calendar_events::Model>,
    ) -> ServiceResult<Availability> {
        let (start, end) = (range.start(), range.end());
        let link = self.cached_link(token).await?;
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        if link.scheduling != availability::Scheduling::Single {
            return self.team_availability(link, range, moving).await;
        }
        let rules = &link.settings.rules;
        // Busy time that can touch a slot of the range, buffer included (and with
        // `after_busy`, that sets where the range's first slots start).
        let margin = rules.busy_lookback() + Duration::days(1);
        let (from, to) = (input::clamp(start - margin), input::clamp(end + margin));
        let busy = self.busy(link.calendar_id, from, to).await?;
        let mut busy = busy.covering(from, to);
        let without_own: Vec<Interval>;
        if let Some(own) = moving {
            let mut skipped = false;
            without_own = busy
                .iter()
                .filter(|s| {
                    let own_span = !skipped && s.start == own.starts_at && s.end == own.ends_at;
                    skipped |= own_span;
                    !own_span
                })
                .copied()
                .collect();
            busy = &without_own;
        }
        let except = moving.map(|e| e.id);
        let booked = day_counts(self.db, rules, &link.token, start, end, except).await?;
        let (_, sessions) = sessions_of(self.db, rules, &link.token, from, to, except).await?;
        let now = self.clock.now();
        let mut slots = availability::seated_slots(rules, Interval { start, end }, busy, &booked, &sessions, now);
        // Near the ends of the instants the contract carries, only slots a reservation would take.
        if start - margin < input::min_instant() || end + margin > input::max_instant() {
            let (before, after) = (rules.buffer_before(), rules.buffer_after());
            slots.retain(|s| input::slot_fits(&rules.tz, before, after, s.slot.start, s.slot.end));
        }
        Ok(Availability { link, slots })
    }

    /// Reserves a slot: one transaction that locks the calendar row, re-checks the slot with the
    /// predicate availability uses (`availability::check_slot`: rules, buffers, the calendar's
    /// busy time and the link's reservations on the slot's local date, read under the lock) and
    /// inserts the event. Not offered is a 400; a full date or busy time a 409. On PostgreSQL an
    /// exclusion constraint backs it up; its violation is a 409 as well. Nothing is written on
    /// any error.
    /// Answers the reservation and its manage token (shown only now: only its hash is stored).
    #[tracing::instrument(level = "info", skip_all, fields(calendar_id = tracing::field::Empty, event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn reserve(
        &self,
        token: &LinkToken,
        reservation: Reservation,
    ) -> ServiceResult<(calendar_events::Model, ManageToken)> {
        let reservation = &reservation;
        // The id is chosen here, so the token can be made from it (see `ManageToken::derive`).
        let id = CalendarEventId::new();
        let manage = self.manage_links.token_for(id);
        let manage = &manage;
        let keys = [token.row_key()];
        let event = self.writes.retrying(&keys, || self.attempt_reserve_routed(id, token, reservation, manage)).await;
        metrics::count_result(Subject::Reservation, Outcome::Created, &event);
        Ok((event?, manage.clone()))
    }

    /// Whether `slot` may be taken through `link` now, checked in `txn` after the calendar's
    /// lock was taken: the one predicate availability uses (`availability::check_slot`: rules,
    /// buffers, the calendar's busy time and the link's reservations on the slot's local date,
    /// read under the lock, so the daily cap holds against concurrent requests). `moving`: the
    /// reservation being moved, whose own time and place in its date's count do not stand in
    /// its way. Not offered is a 400; a full date or busy time a 409.
    /// Answers the session the reservation goes in (issue #25's seats): `None` on a link of one
    /// seat per slot; the slot's session while it has seats left; else `new_session`, which the
    /// reservation starts.
    async fn check_slot_locked(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        link: &booking_links::Model,
        rules: &LinkRules,
        slot: Interval,
        moving: Option<CalendarEventId>,
        new_session: CalendarEventId,
    ) -> ServiceResult<Option<CalendarEventId>> {
        ensure_fits(rules, slot)?;
        let margin = rules.busy_lookback() + Duration::minutes(1);
        let (from, to) = (input::clamp(slot.start - margin), input::clamp(slot.end + margin));
        let busy = busy_of(busy_between(txn, link.calendar_id, from, to, moving).await?);
        let booked = day_counts(txn, rules, &link.token, slot.start, slot.start, moving).await?;
        let (ids, sessions) = sessions_of(txn, rules, &link.token, slot.start, slot.end, moving).await?;
        let seat =
            availability::check_seat(rules, slot, &busy, &booked, &sessions, self.clock.now()).map_err(refused)?;
        Ok(match seat {
            _ if rules.schedule.seats_per_slot() <= 1 => None,
            Seat::Join(i) => ids.get(i).copied(),
            Seat::New => Some(new_session),
        })
    }

    /// What can be decided of `slot` through a link with `rules` without its lock (PostgreSQL's
    /// one-call writes): everything [`Self::check_slot_locked`] checks but the busy time and the
    /// period limits, which the write's function checks under the lock (its guard, returned).
    fn check_slot_unlocked<'l>(
        &self,
        link: &'l LinkToken,
        version: DateTime<Utc>,
        rules: &LinkRules,
        slot: Interval,
        limits: &'l mut Vec<PeriodLimit>,
    ) -> ServiceResult<SlotGuard<'l>> {
        ensure_fits(rules, slot)?;
        availability::check_slot(rules, slot, &[], &DayCounts::new(), self.clock.now()).map_err(refused)?;
        *limits = availability::limits_for(rules, slot);
        Ok(SlotGuard {
            link,
            version,
            slot,
            buffer_before: rules.buffer_before(),
            buffer_after: rules.buffer_after(),
            limits,
        })
    }

    fn on_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    /// One attempt of [`Self::reserve`] on PostgreSQL: the link's settings from the cache (or one
    /// read), the slot decided, then one call that locks the link, checks the link is as read,
    /// the limits and the busy time, and inserts.
    async fn attempt_reserve_pg(
        &self,
        id: CalendarEventId,
        token: &LinkToken,
        reservation: &Reservation,
        manage: &ManageToken,
    ) -> ServiceResult<calendar_events::Model> {
        let link = self.cached_link(token).await?;
        if !decided_without_busy_time(&link.settings.rules) {
            return self.attempt_reserve(id, token, reservation, manage).await;
        }
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        let slot = Interval { start: reservation.start, end: reservation.end };
        let mut limits = Vec::new();
        let guard = self.check_slot_unlocked(token, link.version, &link.settings.rules, slot, &mut limits)?;
        let (hash, now) = (manage.hash(), self.clock.now());
        let location = link.settings.location.as_ref().map(|l| l.for_reservation(id));
        let (outcome, calendar) =
            slot_write(guest_writes::reserve(self.db, id, guard, reservation, &hash, location.as_deref(), now).await)?;
        if outcome != WriteOutcome::Done {
            if matches!(outcome, WriteOutcome::Gone | WriteOutcome::Stale) {
                self.cache.invalidate_link(token);
            }
            return Err(write_refused(outcome, &limits, link_not_found));
        }
        let calendar = calendar.unwrap_or(link.calendar_id);
        let event = guest_writes::reserved(id, calendar, token, reservation, &hash, location, now);
        tracing::Span::current().record("event_id", tracing::field::display(event.id));
        self.cache.invalidate_calendar(calendar);
        Ok(event)
    }

    /// One attempt of [`Self::reserve`].
    async fn attempt_reserve(
        &self,
        id: CalendarEventId,
        token: &LinkToken,
        reservation: &Reservation,
        manage: &ManageToken,
    ) -> ServiceResult<calendar_events::Model> {
        let slot = Interval { start: reservation.start, end: reservation.end };
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let link = store::lock_active_with_calendar(&txn, token).await?.ok_or_else(link_not_found)?;
        if crate::store::team_links::is_team(&link) {
            self.cache.invalidate_link(token);
            return Err(ServiceError::unavailable("the booking link changed while the reservation was decided"));
        }
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        let settings = settings_of(&link)?;
        let schedule = &settings.rules.schedule;
        let now = self.clock.now();
        // Pending reservations whose time has come are released first: they block no longer.
        if schedule.requires_confirmation() {
            calendar_store::expire_pending(&txn, Some(link.calendar_id), now).await?;
        }
        let session = self.check_slot_locked(&txn, &link, &settings.rules, slot, None, id).await?;
        let location = settings.location.as_ref().map(|l| l.for_reservation(id));
        let pending = schedule.requires_confirmation().then(|| Pending {
            until: pending_until(now, slot.start, schedule.pending_expires()),
            holds_slot: schedule.pending_blocks_slot(),
        });
        let placed = Placed { manage_token_hash: manage.hash(), location, session, pending };
        let event = slot_write(insert_reservation(&txn, id, &link, reservation, placed, now).await)?;
        slot_write(txn.commit().await)?;
        tracing::Span::current().record("event_id", tracing::field::display(event.id));
        self.cache.invalidate_calendar(link.calendar_id);
        Ok(event)
    }

    /// An active link by its token (its settings; the cache's copy when it has one), for a page
    /// to show before it asks for availability.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn active_link(&self, token: &LinkToken) -> ServiceResult<Arc<CachedLink>> {
        self.cached_link(token).await
    }

    /// The name of a link's calendar (`calendar_id`), which its visitors read as the link's title.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn link_title(&self, calendar_id: CalendarId) -> ServiceResult<String> {
        let calendar = calendar_store::find_visible(self.db, crate::policy::Visibility::Everyone, calendar_id).await?;
        Ok(calendar.map(|c| c.name).unwrap_or_default())
    }

    /// The address of the owner of a link's calendar (`calendar_id`), when stored: the organizer
    /// a reservation's invitation names.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn host_email(&self, calendar_id: CalendarId) -> ServiceResult<Option<String>> {
        let Some(calendar) =
            calendar_store::find_visible(self.db, crate::policy::Visibility::Everyone, calendar_id).await?
        else {
            return Ok(None);
        };
        Ok(crate::store::users::find(self.db, calendar.owner_id).await?.and_then(|u| u.email))
    }
}

fn reservation_not_found() -> ServiceError {
    ServiceError::not_found("reservation not found")
}

fn reservation_not_in_calendar() -> ServiceError {
    ServiceError::not_found("reservation not found in this calendar")
}

/// The token of the link a reservation was made through.
fn link_of(event: &calendar_events::Model) -> ServiceResult<LinkToken> {
    event.booking_link_token.clone().ok_or_else(|| ServiceError::internal("a reservation without its booking link"))
}
