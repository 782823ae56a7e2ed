//! `Coach events` tag (companion document).

use super::{wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, CoachEventsHandlers};
use crate::auth::Principal;
use crate::domain::bookings::{parse_time, CoachEventFields, EventPaymentMethod};
use crate::domain::ids::CoachEventId;
use crate::error::ServiceError;
use crate::policy::BookingWriter;
use crate::services::coach_events::EventView;
use uuid::Uuid;

fn rfc_time(stored: &str) -> Result<api::RfcTime, ApiError> {
    let (time, offset) =
        parse_time(stored).ok_or_else(|| ServiceError::internal(format!("stored time {stored:?} does not parse")))?;
    Ok(api::RfcTime { time, offset })
}

/// 003's `TimeSlot` of a stored coach event.
pub(crate) fn time_slot_to_wire(e: &crate::entities::coach_events::Model) -> Result<api::TimeSlot, ApiError> {
    Ok(api::TimeSlot {
        time_slot_id: e.time_slot_id,
        start_time: rfc_time(&e.start_time)?,
        end_time: rfc_time(&e.end_time)?,
        number_of_participants: e.places.into(),
        slot_type: e.slot_type.into(),
        age_from: e.age_from.into(),
        age_to: e.age_to.into(),
        duration: e.duration_minutes.into(),
        price: e.price,
        price_currency: e.price_currency.into(),
        payment_method: e.payment_method.into(),
        address_id: e.address_id,
        public: e.public,
        level: e.level.map(Into::into),
        eligibility: e.eligibility.map(Into::into),
    })
}

fn event_to_wire(view: EventView) -> Result<api::CoachEvent, ApiError> {
    let e = &view.event;
    let places: i64 = e.places.into();
    Ok(api::CoachEvent {
        event_id: e.id.into_uuid(),
        coach_id: e.coach_id.into_uuid(),
        sport_id: e.sport_id,
        start_at: wire(e.starts_at),
        end_at: wire(e.ends_at),
        status: e.status.into(),
        timeslot: time_slot_to_wire(e)?,
        places_total: places,
        places_taken: view.taken,
        places_left: (places - view.taken).max(0),
        canceled_at: e.canceled_at.map(wire),
        created_at: wire(e.created_at),
    })
}

/// The wire's new event as the domain's fields, unchecked (the service checks them after the
/// caller's scope). The time slot comes as `timeslot` or as its deprecated former name
/// `timeSlot` (contract 2.0.0), exactly one of them.
fn fields_of(body: api::CreateCoachEventRequest) -> Result<CoachEventFields, ApiError> {
    let slot = match (body.timeslot, body.time_slot) {
        (Some(slot), None) | (None, Some(slot)) => slot,
        (None, None) => return Err(ServiceError::invalid("timeslot is required").into()),
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "timeslot and timeSlot (its deprecated former name) were both given; send timeslot only",
            )
            .into())
        }
    };
    Ok(CoachEventFields {
        sport_id: body.sport_id,
        start: body.start_at,
        end: body.end_at,
        start_time: (slot.start_time.time, slot.start_time.offset),
        end_time: (slot.end_time.time, slot.end_time.offset),
        places: slot.number_of_participants,
        slot_type: slot.slot_type.into(),
        age_from: slot.age_from,
        age_to: slot.age_to,
        duration_minutes: slot.duration,
        price: slot.price,
        price_currency: slot.price_currency.into(),
        payment_method: match slot.payment_method {
            api::NewTimeSlotPaymentMethod::Cash => EventPaymentMethod::Cash,
        },
        address_id: slot.address_id,
        public: slot.public,
        level: slot.level.map(Into::into),
        eligibility: slot.eligibility.map(Into::into),
    })
}

impl CoachEventsHandlers for Handlers {
    async fn create_coach_event(
        &self,
        principal: Principal,
        body: api::CreateCoachEventRequest,
    ) -> Result<api::CreateCoachEventResponse, ApiError> {
        let writer = BookingWriter::authorize(&principal)?;
        let view = self.coach_events().create(writer, fields_of(body)?).await?;
        Ok(api::CreateCoachEventResponse::Created(Json(event_to_wire(view)?)))
    }

    async fn get_coach_event(
        &self,
        principal: Principal,
        event_id: Uuid,
    ) -> Result<api::GetCoachEventResponse, ApiError> {
        let view = self.coach_events().get(&principal, CoachEventId::from_uuid(event_id)).await?;
        Ok(api::GetCoachEventResponse::Ok(Json(event_to_wire(view)?)))
    }

    async fn cancel_coach_event(
        &self,
        principal: Principal,
        event_id: Uuid,
    ) -> Result<api::CancelCoachEventResponse, ApiError> {
        let writer = BookingWriter::authorize(&principal)?;
        let view = self.coach_events().cancel(writer, CoachEventId::from_uuid(event_id)).await?;
        Ok(api::CancelCoachEventResponse::Ok(Json(event_to_wire(view)?)))
    }
}
