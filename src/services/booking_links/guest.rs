//! The visitor's own reservation, by its manage token: read it, whom it is with, cancel it,
//! move it. Each write is one transaction under the link's lock (on PostgreSQL, where the
//! link's rules allow, one call of a function that locks and checks), retried within the
//! write budget.

use super::*;

impl BookingLinks<'_> {
    /// Whom the visitor meets: the calendars `found` is on, named (see
    /// [`calendar_store::hosts_of`]). For a round-robin link that is the member it was
    /// assigned to, for a collective one every member; for any other its link's calendar.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn hosts(&self, found: &GuestReservation) -> ServiceResult<Vec<Host>> {
        if let (None, Some(name)) = (found.event.team_booking_id, &found.calendar_name) {
            return Ok(vec![Host { calendar_id: found.event.calendar_id, name: name.clone() }]);
        }
        let hosts = calendar_store::hosts_of(self.db, &found.event).await?;
        Ok(hosts.into_iter().map(|(calendar_id, name)| Host { calendar_id, name }).collect())
    }

    /// The reservation whose manage token this is, live or cancelled.
    #[tracing::instrument(level = "info", skip_all, fields(event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn reservation(&self, token: &ManageToken) -> ServiceResult<GuestReservation> {
        let seen =
            guest_writes::reservation_with_link(self.db, &token.hash()).await?.ok_or_else(reservation_not_found)?;
        tracing::Span::current().record("event_id", tracing::field::display(seen.event.id));
        let settings = settings_of(&seen.link)?;
        Ok(GuestReservation::new(seen.event, seen.link, settings).on(seen.calendar_name))
    }

    /// The visitor cancels their reservation, freeing its time: one transaction under the
    /// calendar's lock (as reservations take it). A cancelled reservation (by its visitor or
    /// the calendar's owner) is answered as it is; a live one only until the link's
    /// `min_cancel_notice` before its start (400).
    #[tracing::instrument(level = "info", skip_all, fields(event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn cancel_reservation(
        &self,
        token: &ManageToken,
        reason: Option<FreeText>,
    ) -> ServiceResult<GuestReservation> {
        let hash = token.hash();
        let reason = reason.as_ref();
        let seen = guest_writes::reservation_with_link(self.db, &hash).await?.ok_or_else(reservation_not_found)?;
        tracing::Span::current().record("event_id", tracing::field::display(seen.event.id));
        let keys = [seen.link.token.row_key()];
        let (found, changed) = if self.on_postgres() {
            let seen = std::sync::Mutex::new(Some(seen));
            self.writes.retrying(&keys, || self.attempt_cancel_pg(&hash, first_read(&seen), reason)).await?
        } else {
            let link_token = seen.link.token.clone();
            let (found, changed) =
                self.writes.retrying(&keys, || self.attempt_cancel(&link_token, &hash, reason)).await?;
            (found.on_calendar(seen.event.calendar_id, seen.calendar_name), changed)
        };
        if changed {
            self.cache.invalidate_calendar(found.event.calendar_id);
            metrics::outcome(Subject::Reservation, Outcome::Canceled);
        }
        Ok(found)
    }

    /// One attempt of [`Self::cancel_reservation`]; whether it cancelled anything.
    async fn attempt_cancel(
        &self,
        link_token: &LinkToken,
        hash: &str,
        reason: Option<&FreeText>,
    ) -> ServiceResult<(GuestReservation, bool)> {
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let link = store::lock_with_calendar(&txn, link_token).await?.ok_or_else(reservation_not_found)?;
        let event = calendar_store::find_by_manage_hash(&txn, hash).await?.ok_or_else(reservation_not_found)?;
        let settings = settings_of(&link)?;
        if event.cancelled {
            return Ok((GuestReservation::new(event, link, settings), false));
        }
        let now = self.clock.now();
        guest_may_change(event.starts_at, now, settings.rules.schedule.min_cancel_notice())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let reason = reason.map(|r| r.as_str().to_string());
        if event.team_booking_id.is_some() {
            return self.cancel_team_booking(txn, link, event, settings, reason).await;
        }
        let event = calendar_store::cancel_reservation(&txn, event, now, reason).await?;
        crate::ctx!(txn.commit().await)?;
        Ok((GuestReservation::new(event, link, settings), true))
    }

    /// One attempt of [`Self::cancel_reservation`] on PostgreSQL: the reservation and its link as
    /// `seen` (else read again), decided, then one call that locks the link, checks both are as
    /// read and cancels.
    async fn attempt_cancel_pg(
        &self,
        hash: &str,
        seen: Option<guest_writes::SeenReservation>,
        reason: Option<&FreeText>,
    ) -> ServiceResult<(GuestReservation, bool)> {
        let seen = match seen {
            Some(seen) => seen,
            None => guest_writes::reservation_with_link(self.db, hash).await?.ok_or_else(reservation_not_found)?,
        };
        let guest_writes::SeenReservation { mut event, link, calendar_name } = seen;
        if event.team_booking_id.is_some() {
            return self.attempt_cancel(&link.token, hash, reason).await;
        }
        let settings = settings_of(&link)?;
        if event.cancelled {
            return Ok((GuestReservation::new(event, link, settings).on(calendar_name), false));
        }
        let now = self.clock.now();
        guest_may_change(event.starts_at, now, settings.rules.schedule.min_cancel_notice())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let reason = reason.map(|r| r.as_str().to_string());
        let outcome = crate::ctx!(
            guest_writes::cancel(self.db, &link.token, link.updated_at, event.id, event.sequence, now, reason.clone())
                .await
        )?;
        if outcome != WriteOutcome::Done {
            return Err(write_refused(outcome, &[], reservation_not_found));
        }
        event.cancelled = true;
        event.cancelled_at = Some(now);
        event.cancel_reason = reason;
        event.cancelled_by = Some(calendar_events::CancelledBy::Guest);
        Ok((GuestReservation::new(event, link, settings).on(calendar_name), true))
    }

    /// Moves the reservation to `slot`: one transaction under the calendar's lock, the slot
    /// checked exactly as [`Self::reserve`] checks one (the reservation's own time and its place
    /// in its date's count not in its way), then the same row moves (`sequence` + 1). Refused: a
    /// cancelled reservation (409); one made for a state no longer current (409,
    /// `reservation::may_move`: of concurrent moves one wins); one within the link's
    /// `min_cancel_notice` of its start or started (400); a link switched off (400); a slot not
    /// offered (400) or taken (409). On PostgreSQL the exclusion constraint backs it up.
    #[tracing::instrument(level = "info", skip_all, fields(event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn reschedule_reservation(
        &self,
        token: &ManageToken,
        slot: Interval,
        when: Moment,
    ) -> ServiceResult<GuestReservation> {
        let hash = token.hash();
        let seen = guest_writes::reservation_with_link(self.db, &hash).await?.ok_or_else(reservation_not_found)?;
        tracing::Span::current().record("event_id", tracing::field::display(seen.event.id));
        let keys = [seen.link.token.row_key()];
        let found = if self.on_postgres() {
            let seen = std::sync::Mutex::new(Some(seen));
            self.writes.retrying(&keys, || self.attempt_reschedule_pg(&hash, first_read(&seen), slot, when)).await
        } else {
            let link_token = seen.link.token.clone();
            self.writes
                .retrying(&keys, || self.attempt_reschedule(&link_token, &hash, slot, when))
                .await
                .map(|found| found.on_calendar(seen.event.calendar_id, seen.calendar_name))
        };
        metrics::count_result(Subject::Reservation, Outcome::Rescheduled, &found);
        let found = found?;
        self.cache.invalidate_calendar(found.event.calendar_id);
        Ok(found)
    }

    /// One attempt of [`Self::reschedule_reservation`].
    async fn attempt_reschedule(
        &self,
        link_token: &LinkToken,
        hash: &str,
        slot: Interval,
        when: Moment,
    ) -> ServiceResult<GuestReservation> {
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let link = store::lock_with_calendar(&txn, link_token).await?.ok_or_else(reservation_not_found)?;
        let event = calendar_store::find_by_manage_hash(&txn, hash).await?.ok_or_else(reservation_not_found)?;
        if event.cancelled {
            return Err(ServiceError::conflict("this reservation is canceled; it can no longer be rescheduled"));
        }
        if event.is_pending() {
            return Err(ServiceError::conflict(
                "this reservation waits for the owner's confirmation; cancel it and ask for another time instead",
            ));
        }
        may_move(i64::from(event.sequence), event.moved_at, when.expected_sequence, when.arrived, self.clock.now())
            .map_err(|e| ServiceError::conflict(e.to_string()))?;
        let settings = settings_of(&link)?;
        let rules = &settings.rules;
        guest_may_change(event.starts_at, self.clock.now(), rules.schedule.min_cancel_notice())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if !link.active {
            return Err(ServiceError::invalid(
                "this reservation's booking link is switched off; it offers no slot to move to",
            ));
        }
        if crate::store::team_links::is_team(&link) {
            return self.reschedule_team(txn, link, event, settings, slot).await;
        }
        // A seat that moves starts a session of its own when it does not join one (its id may
        // be its old session's).
        let session = self.check_slot_locked(&txn, &link, rules, slot, Some(event.id), CalendarEventId::new()).await?;
        let now = self.clock.now();
        let event =
            slot_write(calendar_store::move_reservation(&txn, event, slot.start, slot.end, session, now).await)?;
        slot_write(txn.commit().await)?;
        Ok(GuestReservation::new(event, link, settings))
    }

    /// One attempt of [`Self::reschedule_reservation`] on PostgreSQL: the reservation and its
    /// link as `seen` (else read again), the move and the slot decided as the transaction does
    /// (in its order), then one call that locks the link, checks both are as read, the limits
    /// and the busy time (the reservation's own not in its way), and moves it.
    async fn attempt_reschedule_pg(
        &self,
        hash: &str,
        seen: Option<guest_writes::SeenReservation>,
        slot: Interval,
        when: Moment,
    ) -> ServiceResult<GuestReservation> {
        let seen = match seen {
            Some(seen) => seen,
            None => guest_writes::reservation_with_link(self.db, hash).await?.ok_or_else(reservation_not_found)?,
        };
        let guest_writes::SeenReservation { mut event, link, calendar_name } = seen;
        if event.cancelled {
            return Err(ServiceError::conflict("this reservation is canceled; it can no longer be rescheduled"));
        }
        if event.is_pending() {
            return Err(ServiceError::conflict(
                "this reservation waits for the owner's confirmation; cancel it and ask for another time instead",
            ));
        }
        let now = self.clock.now();
        may_move(i64::from(event.sequence), event.moved_at, when.expected_sequence, when.arrived, now)
            .map_err(|e| ServiceError::conflict(e.to_string()))?;
        let settings = settings_of(&link)?;
        let rules = &settings.rules;
        if !decided_without_busy_time(rules) || event.session_id.is_some() || crate::store::team_links::is_team(&link) {
            return self.attempt_reschedule(&link.token, hash, slot, when).await;
        }
        guest_may_change(event.starts_at, now, rules.schedule.min_cancel_notice())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if !link.active {
            return Err(ServiceError::invalid(
                "this reservation's booking link is switched off; it offers no slot to move to",
            ));
        }
        let mut limits = Vec::new();
        let guard = self.check_slot_unlocked(&link.token, link.updated_at, rules, slot, &mut limits)?;
        let outcome = slot_write(guest_writes::reschedule(self.db, event.id, event.sequence, guard, now).await)?;
        if outcome != WriteOutcome::Done {
            return Err(write_refused(outcome, &limits, reservation_not_found));
        }
        event.starts_at = slot.start;
        event.ends_at = slot.end;
        event.sequence = event.sequence.saturating_add(1);
        event.moved_at = Some(now);
        Ok(GuestReservation::new(event, link, settings).on(calendar_name))
    }
}

/// What a reschedule was asked for: when its request arrived, and the reservation's `sequence`
/// the client read, if it says.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub arrived: DateTime<Utc>,
    pub expected_sequence: Option<i64>,
}

/// A reservation as its visitor sees it, with the settings of its link (its zone).
pub struct GuestReservation {
    pub event: calendar_events::Model,
    /// The calendar of the link it was made through: the link's title is its name. (A team
    /// link's reservations are on its members' calendars.)
    pub link_calendar: CalendarId,
    pub link_token: LinkToken,
    pub settings: LinkSettings,
    /// The name of the event's calendar, when it was read with the event (then [`BookingLinks::hosts`]
    /// of a reservation that is not a collective booking asks nothing more).
    pub calendar_name: Option<String>,
}

impl GuestReservation {
    pub fn new(event: calendar_events::Model, link: booking_links::Model, settings: LinkSettings) -> Self {
        Self { event, link_calendar: link.calendar_id, link_token: link.token, settings, calendar_name: None }
    }

    /// With the name of the event's calendar as read with it.
    pub fn on(self, calendar_name: String) -> Self {
        Self { calendar_name: Some(calendar_name), ..self }
    }

    /// With the name of calendar `calendar_id` as read before the write, if the event is still
    /// on it (a round-robin move may put it on another member's).
    pub fn on_calendar(self, calendar_id: CalendarId, calendar_name: String) -> Self {
        if self.event.calendar_id == calendar_id {
            self.on(calendar_name)
        } else {
            self
        }
    }
}

/// A calendar a reservation is on, by its name: whom the visitor meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub calendar_id: CalendarId,
    pub name: String,
}
