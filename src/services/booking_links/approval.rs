//! Approval (issue #25): the calendar's owner confirms or declines a reservation made through
//! a link with `requires_confirmation`.

use super::*;

/// What the owner decides of a pending reservation.
#[derive(Debug, Clone)]
pub enum Decision {
    Confirm,
    /// With the reason told to the visitor, if any.
    Decline(Option<FreeText>),
}

impl BookingLinks<'_> {
    /// The calendar's owner confirms or declines a pending reservation (issue #25's approval):
    /// one transaction under the link's and the calendar's lock, in which pending reservations
    /// whose time has come are released first. Confirming holds its time from now on (one that
    /// did not hold it is refused, 409, when its time, with the link's buffers, was taken
    /// meanwhile); declining frees it. The same decision again changes nothing (answered as
    /// is); any other state is a 409 ([`reservation_rules::decide`]).
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = %calendar_id, event_id = %id), err(level = "info", Display))]
    pub async fn decide_reservation(
        &self,
        writer: CalendarWriter<'_>,
        calendar_id: CalendarId,
        id: CalendarEventId,
        decision: Decision,
    ) -> ServiceResult<calendar_events::Model> {
        find_owned(self.db, writer.principal(), calendar_id).await?;
        let seen = calendar_store::find_reservation(self.db, calendar_id, id)
            .await?
            .ok_or_else(reservation_not_in_calendar)?;
        let link_token = link_of(&seen)?;
        let decision = &decision;
        let (event, changed) = self
            .writes
            .retrying(&[link_token.row_key()], || self.attempt_decide(&link_token, calendar_id, id, decision))
            .await?;
        if changed {
            self.cache.invalidate_calendar(calendar_id);
        }
        Ok(event)
    }

    /// One attempt of [`Self::decide_reservation`]; whether it changed anything.
    async fn attempt_decide(
        &self,
        link_token: &LinkToken,
        calendar_id: CalendarId,
        id: CalendarEventId,
        decision: &Decision,
    ) -> ServiceResult<(calendar_events::Model, bool)> {
        let txn = crate::ctx!(begin_write(self.db).await)?;
        let link = store::lock_with_calendar(&txn, link_token).await?.ok_or_else(reservation_not_in_calendar)?;
        let now = self.clock.now();
        calendar_store::expire_pending(&txn, Some(link.calendar_id), now).await?;
        let event =
            calendar_store::find_reservation(&txn, calendar_id, id).await?.ok_or_else(reservation_not_in_calendar)?;
        let confirm = matches!(decision, Decision::Confirm);
        let act =
            reservation_rules::decide(status_of(&event), confirm).map_err(|e| ServiceError::conflict(e.to_string()));
        if !act? {
            // Nothing changes; the expired ones released above still are.
            crate::ctx!(txn.commit().await)?;
            return Ok((event, false));
        }
        let event = match decision {
            Decision::Confirm => {
                if !event.holds_slot {
                    let rules = settings_of(&link)?.rules;
                    let (from, to) = (event.starts_at - rules.buffer_before(), event.ends_at + rules.buffer_after());
                    let busy =
                        busy_between(&txn, link.calendar_id, input::clamp(from), input::clamp(to), Some(id)).await?;
                    if busy.iter().any(|(start, end)| start < end) {
                        return Err(slot_taken());
                    }
                }
                slot_write(calendar_store::confirm_reservation(&txn, event, now).await)?
            }
            Decision::Decline(reason) => {
                let reason = reason.as_ref().map(|r| r.as_str().to_string());
                calendar_store::decline_reservation(&txn, event, reason, now).await?
            }
        };
        slot_write(txn.commit().await)?;
        metrics::outcome(Subject::Reservation, if confirm { Outcome::Confirmed } else { Outcome::Declined });
        Ok((event, true))
    }
}
