//! `Booking` tag (seed 000): create a public booking link, read its availability, reserve.

use super::calendars::{day_windows, event_to_wire, overrides_from_wire, settings_to_wire, working_hours_from_wire};
use super::link_rules;
use super::{absent_if_none, instant, link_token, wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, BookingHandlers};
use crate::auth::Principal;
use crate::domain::availability::{RawSchedulingRules, SchedulingRules, ZoneOffsets};
use crate::domain::booking_link::{LinkSettings, Reservation, AVAILABILITY_RANGE};
use crate::domain::ids::CalendarId;
use crate::domain::input::{FreeText, TimeRange, MAX_TEXT_CHARS};
use crate::domain::interval::Interval;
use crate::domain::reservation::{ManageToken, ReservationStatus};
use crate::error::ServiceError;
use crate::policy::BookingWriter;
use crate::services::booking_links::status_of;
use crate::services::booking_links::{GuestReservation, Host, Moment};
use chrono::{DateTime, FixedOffset};
use poem_openapi::types::MaybeUndefined;
use uuid::Uuid;

impl BookingHandlers for Handlers {
    async fn create_booking_link(
        &self,
        principal: Principal,
        id: Uuid,
        mut body: api::CreateBookingLinkRequest,
    ) -> Result<api::CreateBookingLinkResponse, ApiError> {
        let writer = BookingWriter::authorize(&principal)?;
        let hours = working_hours_from_wire(day_windows!(&body.working_hours))?;
        let mut raw = RawSchedulingRules {
            min_notice_minutes: body.min_notice_minutes,
            max_days_ahead: body.max_days_ahead,
            slot_interval_minutes: body.slot_interval_minutes,
            buffer_before_minutes: body.buffer_before_minutes,
            buffer_after_minutes: body.buffer_after_minutes,
            date_overrides: overrides_from_wire(body.date_overrides.as_ref()),
            max_bookings_per_day: body.max_bookings_per_day,
            min_cancel_notice_minutes: body.min_cancel_notice_minutes,
            ..RawSchedulingRules::default()
        };
        let location = link_rules::create_rules(&mut raw, &body)?;
        let schedule = SchedulingRules::parse(&raw).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let settings = LinkSettings::parse(
            body.duration_minutes,
            body.buffer_minutes,
            &body.timezone,
            hours,
            body.active,
            schedule,
        )
        .map_err(ServiceError::Invalid)?
        .with_location(location);
        let links = self.links();
        let team = link_rules::create_team(&mut body);
        let (link, team) = links.create_team_link(writer, CalendarId::from_uuid(id), settings.clone(), team).await?;
        let wire = settings_to_wire(&settings, &team);
        Ok(api::CreateBookingLinkResponse::Ok(Json(api::CreateBookingLink200Response {
            public_url: Some(links.public_url(&link.token)),
            token: link.token.to_string(),
            settings: api::CreateBookingLink200ResponseSettings {
                duration_minutes: Some(wire.duration_minutes),
                buffer_minutes: wire.buffer_minutes,
                timezone: Some(wire.timezone),
                // `WorkingHours`' `Serialize`: every day present, as stored.
                working_hours: Some(serde_json::json!(settings.rules.hours)),
                active: Some(wire.active),
                min_notice_minutes: Some(wire.min_notice_minutes),
                max_days_ahead: wire.max_days_ahead,
                slot_interval_minutes: Some(wire.slot_interval_minutes),
                buffer_before_minutes: Some(wire.buffer_before_minutes),
                buffer_after_minutes: Some(wire.buffer_after_minutes),
                date_overrides: Some(wire.date_overrides),
                max_bookings_per_day: wire.max_bookings_per_day,
                min_cancel_notice_minutes: Some(wire.min_cancel_notice_minutes),
                booking_limits: Some(wire.booking_limits),
                duration_limits_minutes: Some(wire.duration_limits_minutes),
                week_start: Some(wire.week_start),
                window_days_kind: Some(wire.window_days_kind),
                bookable_from: wire.bookable_from.map_or(MaybeUndefined::Null, MaybeUndefined::Value),
                bookable_until: wire.bookable_until.map_or(MaybeUndefined::Null, MaybeUndefined::Value),
                slot_alignment: Some(wire.slot_alignment),
                location: wire.location,
                seats_per_slot: Some(wire.seats_per_slot),
                requires_confirmation: Some(wire.requires_confirmation),
                pending_blocks_slot: Some(wire.pending_blocks_slot),
                pending_expires_minutes: wire
                    .pending_expires_minutes
                    .map_or(MaybeUndefined::Null, MaybeUndefined::Value),
                scheduling: Some(wire.scheduling),
                members: Some(wire.members),
            },
        })))
    }

    async fn get_booking_availability(
        &self,
        token: String,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) -> Result<api::GetBookingAvailabilityResponse, ApiError> {
        let token = link_token(&token)?;
        let (start, end) = (instant("start", start)?, instant("end", end)?);
        let range = TimeRange::parse(&AVAILABILITY_RANGE, start, end)?;
        let found = self.links().availability(&token, range).await?;
        let settings = &found.link.settings;
        // Slots carry the link's UTC offset at their instant, looked up by spans of days.
        let mut offsets = ZoneOffsets::new(settings.rules.tz);
        let slots = found
            .slots
            .iter()
            .map(|s| api::AvailableSlot {
                seats_left: i64::from(s.seats_left),
                start: offsets.at(s.slot.start),
                end: offsets.at(s.slot.end),
            })
            .collect();
        // The validators (ETag, Cache-Control) are the edge's answer cache's: it digests the bytes.
        Ok(api::GetBookingAvailabilityResponse::Ok(
            Json(api::GetBookingAvailability200Response {
                token: found.link.token.to_string(),
                timezone: settings.timezone.clone(),
                duration_minutes: settings.duration_minutes,
                slots,
                scheduling: link_rules::scheduling_to_wire(found.link.scheduling),
            }),
            None,
            None,
        ))
    }

    async fn reserve_booking_slot(
        &self,
        token: String,
        body: api::ReserveBookingSlotRequest,
    ) -> Result<api::ReserveBookingSlotResponse, ApiError> {
        let token = link_token(&token)?;
        let reservation =
            Reservation::parse(&body.name, &body.email.0, body.slot_start, body.slot_end, body.notes.as_deref())?;
        let links = self.links();
        let (event, manage) = links.reserve(&token, reservation).await?;
        Ok(api::ReserveBookingSlotResponse::Ok(
            Json(api::ReserveBookingSlot200Response {
                ok: true,
                event: event_to_wire(event),
                manage_url: links.manage_url(&manage),
                manage_token: manage.as_str().to_string(),
            }),
            None,
        ))
    }

    async fn get_reservation(&self, manage_token: String) -> Result<api::GetReservationResponse, ApiError> {
        let token = manage_token_of(&manage_token)?;
        let found = self.links().reservation(&token).await?;
        let hosts = self.links().hosts(&found).await?;
        Ok(api::GetReservationResponse::Ok(Json(reservation_to_wire(found, hosts))))
    }

    async fn cancel_reservation(
        &self,
        manage_token: String,
        body: api::CancelReservationRequest,
    ) -> Result<api::CancelReservationResponse, ApiError> {
        let token = manage_token_of(&manage_token)?;
        let reason = FreeText::parse_opt("reason", body.reason.as_deref(), MAX_TEXT_CHARS)?;
        let found = self.links().cancel_reservation(&token, reason).await?;
        let hosts = self.links().hosts(&found).await?;
        Ok(api::CancelReservationResponse::Ok(Json(reservation_to_wire(found, hosts)), None))
    }

    async fn reschedule_reservation(
        &self,
        manage_token: String,
        body: api::RescheduleReservationRequest,
    ) -> Result<api::RescheduleReservationResponse, ApiError> {
        let arrived = self.state.clock.now();
        let token = manage_token_of(&manage_token)?;
        let (start, end) = (instant("slot_start", body.slot_start)?, instant("slot_end", body.slot_end)?);
        let when = Moment { arrived, expected_sequence: body.sequence };
        let found = self.links().reschedule_reservation(&token, Interval { start, end }, when).await?;
        let hosts = self.links().hosts(&found).await?;
        Ok(api::RescheduleReservationResponse::Ok(Json(reservation_to_wire(found, hosts)), None))
    }
}

/// A manage token from a path: one not of the shape tokens are made in names no reservation, so
/// it is the 404 an unknown token gets, answered without asking the database.
fn manage_token_of(raw: &str) -> Result<ManageToken, ApiError> {
    ManageToken::parse(raw).ok_or_else(|| ServiceError::not_found("reservation not found").into())
}

pub(crate) fn status_to_wire(status: ReservationStatus) -> api::ReservationStatus {
    match status {
        ReservationStatus::Confirmed => api::ReservationStatus::Confirmed,
        ReservationStatus::Canceled => api::ReservationStatus::Canceled,
        ReservationStatus::Pending => api::ReservationStatus::Pending,
        ReservationStatus::Declined => api::ReservationStatus::Declined,
        ReservationStatus::Expired => api::ReservationStatus::Expired,
    }
}

/// A reservation as its visitor reads it: times in its link's offset at each instant.
fn reservation_to_wire(found: GuestReservation, hosts: Vec<Host>) -> api::Reservation {
    let tz = found.settings.rules.tz;
    let e = found.event;
    api::Reservation {
        id: e.id.into_uuid(),
        status: status_to_wire(status_of(&e)),
        pending_until: absent_if_none(e.is_pending().then_some(e.pending_until).flatten().map(wire)),
        slot_start: e.starts_at.with_timezone(&tz).fixed_offset(),
        slot_end: e.ends_at.with_timezone(&tz).fixed_offset(),
        timezone: found.settings.timezone,
        duration_minutes: (e.ends_at - e.starts_at).num_minutes(),
        name: e.attendee_name.unwrap_or_default(),
        email: poem_openapi::types::Email(e.attendee_email.unwrap_or_default()),
        notes: e.notes,
        sequence: i64::from(e.sequence),
        canceled_at: e.cancelled_at.map(wire),
        cancel_reason: absent_if_none(e.cancel_reason),
        booking_token: found.link_token.to_string(),
        location: absent_if_none(e.location),
        hosts: hosts
            .into_iter()
            .map(|h| api::ReservationHost { calendar_id: h.calendar_id.into_uuid(), name: h.name })
            .collect(),
    }
}
