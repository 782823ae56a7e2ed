//! Team links (issue #25): a link over several calendars, its members.
//!
//! * Members are calendars the link's owner owns (an admin may name any calendar); the link's
//!   own calendar is a member only when listed. `scheduling` and `members` are set on create
//!   and update (`members` replaces the list) and stored in `booking_link_members`.
//! * Availability: each member's answer from its calendar's busy time and its own reservations
//!   through the link (every limit counted per member, its daily cap folded in), merged by
//!   `availability::team_slots` (collective: every member; round robin: any). Read from the
//!   database on every request (no cached busy time, no kept rendered answer): a member's
//!   calendar changes without its link's.
//! * Reserve, move and cancel take the transaction path on both databases: the link's row is
//!   locked, then every member calendar, lowest id first (no two writes wait for each other),
//!   and the slot is judged under the locks with `availability::check_team_slot`, the
//!   predicate availability uses. Round robin inserts one row on the calendar
//!   `availability::assign` picks; collective one row per member calendar in one transaction
//!   (the visitor's own, holding the manage token, on the first member's calendar), all
//!   carrying `team_booking_id`; the visitor's cancel and move act on every row of it.
//! * A link with several seats per slot cannot be a team link (400).

use super::*;
use crate::domain::availability::{
    assign, check_team_slot, current_period, team_slots, Candidate, MemberSet, MemberView, RawMember, Scheduling, Team,
};
use crate::policy::visibility;
use crate::store::team_links as team_store;

/// What a create or an update says of a link's team; `Keep` everywhere on a create is the
/// default (`single`, no members).
#[derive(Debug, Default)]
pub struct TeamChange {
    /// `Reset`: back to `single`.
    pub scheduling: Patch<Scheduling>,
    /// Replaces the list; `Reset`: none. Kept when left out, but emptied when the scheduling
    /// becomes `single`.
    pub members: Patch<Vec<RawMember>>,
}

/// One member's answer's inputs, owned.
struct MemberData {
    rules: LinkRules,
    busy: Vec<Interval>,
    booked: DayCounts,
}

fn views(data: &[MemberData]) -> Vec<MemberView<'_>> {
    data.iter().map(|d| MemberView { rules: &d.rules, busy: &d.busy, booked: &d.booked }).collect()
}

fn link_changed() -> ServiceError {
    ServiceError::unavailable("the booking link changed while the reservation was decided")
}

impl BookingLinks<'_> {
    /// The team a create or an update leaves a link with: validated (400 naming the member),
    /// each newly given member a calendar `principal` may use (its own, or any for an admin;
    /// 400 naming `members[i].calendar_id` either way, so nobody learns whether it exists),
    /// and no team with several seats per slot (400).
    pub(super) async fn team_for(
        &self,
        principal: &Principal,
        current: &Team,
        change: TeamChange,
        rules: &LinkRules,
    ) -> ServiceResult<Team> {
        let scheduling = change.scheduling.apply(Some(current.scheduling())).unwrap_or_default();
        let given = matches!(change.members, Patch::Set(_));
        let members = match change.members {
            Patch::Set(list) => list,
            Patch::Reset => Vec::new(),
            Patch::Keep if scheduling == Scheduling::Single => Vec::new(),
            Patch::Keep => current.to_raw(),
        };
        let team = Team::parse(scheduling, &members).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if scheduling != Scheduling::Single && rules.schedule.seats_per_slot() > 1 {
            return Err(ServiceError::invalid(format!(
                "seats_per_slot must be 1 on a team link (scheduling {}), got {}",
                scheduling.as_str(),
                rules.schedule.seats_per_slot()
            )));
        }
        if scheduling != Scheduling::Single && rules.schedule.requires_confirmation() {
            return Err(ServiceError::invalid(format!(
                "requires_confirmation must be false on a team link (scheduling {}): a team's reservations hold their time at once",
                scheduling.as_str()
            )));
        }
        if given {
            let ids: Vec<CalendarId> = team.members().iter().map(|m| m.calendar_id()).collect();
            if let Some(i) = team_store::not_usable(self.db, visibility(principal), &ids).await?.first() {
                return Err(ServiceError::invalid(format!(
                    "members[{i}].calendar_id: not a calendar of yours (a member must be a calendar the link's owner owns)"
                )));
            }
        }
        Ok(team)
    }

    /// [`Self::create_link`] with a team: a `single` link as it makes one; a team link with its
    /// members, in one transaction.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn create_team_link(
        &self,
        writer: BookingWriter<'_>,
        calendar_id: CalendarId,
        settings: LinkSettings,
        change: TeamChange,
    ) -> ServiceResult<(booking_links::Model, Team)> {
        find_owned(self.db, writer.principal(), calendar_id).await?;
        let team = self.team_for(writer.principal(), &Team::default(), change, &settings.rules).await?;
        if team.scheduling() == Scheduling::Single {
            return Ok((self.create_link(writer, calendar_id, settings).await?, team));
        }
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let now = self.clock.now();
        let link = store::insert(&txn, calendar_id, StoredSettings::of(&settings), now).await?;
        let link = team_store::replace(&txn, link, &team, now).await?;
        crate::ctx!(txn.commit().await)?;
        Ok((link, team))
    }

    /// A link's team (none for `single`).
    pub async fn team(&self, link: &booking_links::Model) -> ServiceResult<Team> {
        team_store::team_of(self.db, link).await
    }

    /// The teams of `links`, in their order.
    pub async fn teams(&self, links: &[booking_links::Model]) -> ServiceResult<Vec<Team>> {
        team_store::teams_of(self.db, links).await
    }

    /// Every member's inputs over `[from, to)` (busy time) and for slots starting in
    /// `[count_from, count_to]` (its reservations through the link), but for `except`.
    #[allow(clippy::too_many_arguments)]
    async fn member_data(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        token: &LinkToken,
        rules: &LinkRules,
        team: &Team,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        (count_from, count_to): (DateTime<Utc>, DateTime<Utc>),
        except: &[CalendarEventId],
    ) -> ServiceResult<Vec<MemberData>> {
        let mut out = Vec::with_capacity(team.members().len());
        for m in team.members() {
            let rules = m.rules(rules);
            let busy = busy_of(team_store::busy_of_member(db, m.calendar_id(), from, to, except).await?);
            let booked = match availability::counted_span(&rules, count_from, count_to) {
                None => DayCounts::new(),
                Some((a, b)) => availability::tally_per_date(
                    &rules,
                    team_store::member_spans(db, token, m.calendar_id(), a, b, except).await?,
                ),
            };
            out.push(MemberData { rules, busy, booked });
        }
        Ok(out)
    }

    /// The rows a visitor's reservation holds: every row of its collective booking, else itself.
    async fn rows_of(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        event: &calendar_events::Model,
    ) -> ServiceResult<Vec<calendar_events::Model>> {
        match event.team_booking_id {
            Some(booking) => team_store::booking_rows(db, booking).await,
            None => Ok(vec![event.clone()]),
        }
    }

    /// A team link's availability (see the module's doc); `moving`: the reservation being
    /// moved, whose rows are not in its way.
    pub(super) async fn team_availability(
        &self,
        link: Arc<CachedLink>,
        range: TimeRange,
        moving: Option<&calendar_events::Model>,
    ) -> ServiceResult<Availability> {
        let (start, end) = (range.start(), range.end());
        let rules = &link.settings.rules;
        let margin = rules.busy_lookback() + Duration::days(1);
        let span = (input::clamp(start - margin), input::clamp(end + margin));
        let except: Vec<CalendarEventId> = match moving {
            Some(e) => self.rows_of(self.db, e).await?.iter().map(|r| r.id).chain([e.id]).collect(),
            None => Vec::new(),
        };
        let data = self.member_data(self.db, &link.token, rules, &link.team, span, (start, end), &except).await?;
        let now = self.clock.now();
        let found = team_slots(link.scheduling, &views(&data), Interval { start, end }, now);
        let mut slots: Vec<SeatedSlot> =
            found.into_iter().map(|t| SeatedSlot { slot: t.slot, seats_left: 1 }).collect();
        if start - margin < input::min_instant() || end + margin > input::max_instant() {
            let (before, after) = (rules.buffer_before(), rules.buffer_after());
            slots.retain(|s| input::slot_fits(&rules.tz, before, after, s.slot.start, s.slot.end));
        }
        Ok(Availability { link, slots })
    }

    /// Locks a team link's member calendars (lowest id first) and judges `slot` under the locks:
    /// the members free for it. `except`: the rows of a reservation being moved.
    async fn check_team_locked(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        link: &booking_links::Model,
        rules: &LinkRules,
        team: &Team,
        slot: Interval,
        except: &[CalendarEventId],
    ) -> ServiceResult<MemberSet> {
        let ids: Vec<CalendarId> = team.members().iter().map(|m| m.calendar_id()).collect();
        team_store::lock_calendars(txn, &ids).await?;
        ensure_fits(rules, slot)?;
        let margin = rules.busy_lookback() + Duration::minutes(1);
        let span = (input::clamp(slot.start - margin), input::clamp(slot.end + margin));
        let data = self.member_data(txn, &link.token, rules, team, span, (slot.start, slot.start), except).await?;
        check_team_slot(team_store::scheduling_of(link), &views(&data), slot, self.clock.now()).map_err(refused)
    }

    /// Round robin's member among `free` ([`assign`]: weights, then the fewest reservations
    /// through the link in the current month of the link's zone, then the longest since last
    /// booked, then the first listed), read under the locks.
    async fn round_robin_member(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        link: &booking_links::Model,
        rules: &LinkRules,
        team: &Team,
        free: MemberSet,
        except: &[CalendarEventId],
    ) -> ServiceResult<usize> {
        let (first, next) = current_period(rules, self.clock.now());
        let at = |d: chrono::NaiveDate, days: i64| {
            d.and_hms_opt(0, 0, 0).map_or(input::min_instant(), |t| input::clamp(t.and_utc() + Duration::days(days)))
        };
        let starts = team_store::starts_per_member(txn, &link.token, at(first, -2), at(next, 2), except).await?;
        let last = team_store::last_booked_per_member(txn, &link.token, except).await?;
        let candidates: Vec<Candidate> = free
            .iter()
            .filter_map(|i| {
                let m = team.members().get(i)?;
                let cal = m.calendar_id();
                let in_period =
                    starts.iter().filter(|(c, s)| *c == cal && (first..next).contains(&rules.date_of(*s))).count();
                Some(Candidate {
                    member: i,
                    weight: m.weight(),
                    booked_in_period: u32::try_from(in_period).unwrap_or(u32::MAX),
                    last_booked: last.iter().find(|(c, _)| *c == cal).and_then(|(_, t)| *t),
                })
            })
            .collect();
        assign(&candidates).ok_or_else(slot_taken)
    }

    /// One attempt of [`Self::reserve`], routed by what the link is now (its cached copy):
    /// a team link's, PostgreSQL's one call, or the transaction. A path that finds the link
    /// changed kind under its lock drops the cached copy and answers a transient error, so the
    /// next attempt is routed again.
    pub(super) async fn attempt_reserve_routed(
        &self,
        id: CalendarEventId,
        token: &LinkToken,
        reservation: &Reservation,
        manage: &ManageToken,
    ) -> ServiceResult<calendar_events::Model> {
        if self.cached_link(token).await?.scheduling != Scheduling::Single {
            self.attempt_reserve_team(id, token, reservation, manage).await
        } else if self.on_postgres() {
            self.attempt_reserve_pg(id, token, reservation, manage).await
        } else {
            self.attempt_reserve(id, token, reservation, manage).await
        }
    }

    /// One attempt of [`Self::reserve`] through a team link (both databases).
    pub(super) async fn attempt_reserve_team(
        &self,
        id: CalendarEventId,
        token: &LinkToken,
        reservation: &Reservation,
        manage: &ManageToken,
    ) -> ServiceResult<calendar_events::Model> {
        let slot = Interval { start: reservation.start, end: reservation.end };
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let link = team_store::lock_link(&txn, token).await?.filter(|l| l.active).ok_or_else(link_not_found)?;
        if !team_store::is_team(&link) {
            self.cache.invalidate_link(token);
            return Err(link_changed());
        }
        tracing::Span::current().record("calendar_id", tracing::field::display(link.calendar_id));
        let settings = settings_of(&link)?;
        let rules = &settings.rules;
        let team = team_store::team_of(&txn, &link).await?;
        let free = self.check_team_locked(&txn, &link, rules, &team, slot, &[]).await?;
        let location = settings.location.as_ref().map(|l| l.for_reservation(id));
        let now = self.clock.now();
        let members = team.members();
        let event = if team_store::scheduling_of(&link) == Scheduling::RoundRobin {
            let chosen = self.round_robin_member(&txn, &link, rules, &team, free, &[]).await?;
            let calendar = members.get(chosen).map(|m| m.calendar_id()).ok_or_else(slot_taken)?;
            let hash = Some(manage.hash());
            slot_write(team_store::insert_row(&txn, id, &link, calendar, reservation, hash, location, None, now).await)?
        } else {
            let mut first = None;
            for (i, m) in members.iter().enumerate() {
                let (row, hash) = if i == 0 { (id, Some(manage.hash())) } else { (CalendarEventId::new(), None) };
                let calendar = m.calendar_id();
                let loc = location.clone();
                let inserted =
                    team_store::insert_row(&txn, row, &link, calendar, reservation, hash, loc, Some(id), now).await;
                let inserted = slot_write(inserted)?;
                first.get_or_insert(inserted);
            }
            first.ok_or_else(slot_taken)?
        };
        slot_write(txn.commit().await)?;
        tracing::Span::current().record("event_id", tracing::field::display(event.id));
        for m in members {
            self.cache.invalidate_calendar(m.calendar_id());
        }
        Ok(event)
    }

    /// The visitor cancels a collective booking (`event` is their own row, live, the link
    /// locked in `txn`): every row of it, committed, and every member calendar's cached busy
    /// time dropped.
    pub(super) async fn cancel_team_booking(
        &self,
        txn: WriteTxn,
        link: booking_links::Model,
        event: calendar_events::Model,
        settings: LinkSettings,
        reason: Option<String>,
    ) -> ServiceResult<(GuestReservation, bool)> {
        let now = self.clock.now();
        let rows = self.rows_of(&txn, &event).await?;
        let mut own = None;
        let mut calendars = Vec::with_capacity(rows.len());
        for row in rows {
            calendars.push(row.calendar_id);
            let is_own = row.id == event.id;
            let cancelled = calendar_store::cancel_reservation(&txn, row, now, reason.clone()).await?;
            if is_own {
                own = Some(cancelled);
            }
        }
        crate::ctx!(txn.commit().await)?;
        for calendar in calendars {
            self.cache.invalidate_calendar(calendar);
        }
        let event = own.ok_or_else(reservation_not_found)?;
        Ok((GuestReservation::new(event, link, settings), true))
    }

    /// The visitor moves a reservation through a team link (`event` is their own row, live and
    /// allowed to move, the link locked in `txn`): judged as a reservation of `slot` is, its own
    /// rows not in its way. Round robin keeps its member when free, else goes to the one
    /// [`assign`] picks among the free; collective moves every row.
    pub(super) async fn reschedule_team(
        &self,
        txn: WriteTxn,
        link: booking_links::Model,
        event: calendar_events::Model,
        settings: LinkSettings,
        slot: Interval,
    ) -> ServiceResult<GuestReservation> {
        let rules = &settings.rules;
        let team = team_store::team_of(&txn, &link).await?;
        let rows = self.rows_of(&txn, &event).await?;
        let except: Vec<CalendarEventId> = rows.iter().map(|r| r.id).chain([event.id]).collect();
        let free = self.check_team_locked(&txn, &link, rules, &team, slot, &except).await?;
        let now = self.clock.now();
        let members = team.members();
        let mut calendars: Vec<CalendarId> = rows.iter().map(|r| r.calendar_id).collect();
        let own = if team_store::scheduling_of(&link) == Scheduling::RoundRobin {
            let current = members.iter().position(|m| m.calendar_id() == event.calendar_id);
            let chosen = match current {
                Some(i) if free.contains(i) => i,
                _ => self.round_robin_member(&txn, &link, rules, &team, free, &except).await?,
            };
            let calendar = members.get(chosen).map_or(event.calendar_id, |m| m.calendar_id());
            calendars.push(calendar);
            slot_write(team_store::move_row(&txn, event, calendar, slot.start, slot.end, now).await)?
        } else {
            let mut own = None;
            for row in rows {
                let (is_own, calendar) = (row.id == event.id, row.calendar_id);
                let moved = slot_write(team_store::move_row(&txn, row, calendar, slot.start, slot.end, now).await)?;
                if is_own {
                    own = Some(moved);
                }
            }
            own.ok_or_else(reservation_not_found)?
        };
        slot_write(txn.commit().await)?;
        for calendar in calendars {
            self.cache.invalidate_calendar(calendar);
        }
        Ok(GuestReservation::new(own, link, settings))
    }
}
