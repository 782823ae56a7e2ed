//! `Booking` tag (seed 000): create a public booking link, read its availability, reserve.

use super::calendars::{day_windows, event_to_wire, working_hours_from_wire};
use super::{instant, link_token, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, BookingHandlers};
use crate::auth::Principal;
use crate::domain::booking_link::{working_hours_to_json, LinkSettings, Reservation, AVAILABILITY_RANGE};
use crate::domain::ids::CalendarId;
use crate::domain::input::TimeRange;
use crate::error::ServiceError;
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

impl BookingHandlers for Handlers {
    async fn create_booking_link(
        &self,
        principal: Principal,
        id: Uuid,
        body: api::CreateBookingLinkRequest,
    ) -> Result<api::CreateBookingLinkResponse, ApiError> {
        let hours = working_hours_from_wire(day_windows!(&body.working_hours))?;
        let settings =
            LinkSettings::parse(body.duration_minutes, body.buffer_minutes, &body.timezone, hours, body.active)
                .map_err(ServiceError::Invalid)?;
        let links = self.links();
        let link = links.create_link(&principal, CalendarId::from_uuid(id), settings.clone()).await?;
        Ok(api::CreateBookingLinkResponse::Ok(Json(api::CreateBookingLink200Response {
            public_url: Some(links.public_url(&link.token)),
            token: link.token,
            settings: api::CreateBookingLink200ResponseSettings {
                duration_minutes: Some(settings.duration_minutes),
                buffer_minutes: Some(settings.buffer_minutes),
                timezone: Some(settings.timezone.clone()),
                working_hours: Some(working_hours_to_json(&settings.rules.hours)),
                active: Some(settings.active),
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
        let tz = settings.rules.tz;
        // Slots carry the link's UTC offset at their instant.
        let slots = found
            .slots
            .iter()
            .map(|s| api::AvailableSlot {
                start: s.start.with_timezone(&tz).fixed_offset(),
                end: s.end.with_timezone(&tz).fixed_offset(),
            })
            .collect();
        Ok(api::GetBookingAvailabilityResponse::Ok(Json(api::GetBookingAvailability200Response {
            token: found.link.token.clone(),
            timezone: settings.timezone.clone(),
            duration_minutes: settings.duration_minutes,
            slots,
        })))
    }

    async fn reserve_booking_slot(
        &self,
        token: String,
        body: api::ReserveBookingSlotRequest,
    ) -> Result<api::ReserveBookingSlotResponse, ApiError> {
        let token = link_token(&token)?;
        let reservation =
            Reservation::parse(&body.name, &body.email.0, body.slot_start, body.slot_end, body.notes.as_deref())?;
        let event = self.links().reserve(&token, reservation).await?;
        Ok(api::ReserveBookingSlotResponse::Ok(Json(api::ReserveBookingSlot200Response {
            ok: true,
            event: event_to_wire(event),
        })))
    }
}
