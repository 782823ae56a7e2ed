//! `Bookings` tag (seed 003, plus the companion's cancel and dispute operations).

use super::coach_events::time_slot_to_wire;
use super::{instant_opt, stored, wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, BookingsHandlers};
use crate::auth::Principal;
use crate::domain::bookings::{OrderError, MAX_NOTE_CHARS};
use crate::domain::input::{FreeText, MAX_TEXT_CHARS};
use crate::error::ServiceError;
use crate::services::bookings::{self as svc, BookError, BookingView, OrderView, PaymentMethod};
use chrono::{DateTime, FixedOffset};
use sea_orm::ActiveEnum;
use uuid::Uuid;

pub(crate) fn booking_to_wire(v: BookingView) -> Result<api::Booking, ApiError> {
    let b = v.booking;
    Ok(api::Booking {
        booking_id: b.id,
        order_id: b.order_id,
        user_id: b.user_id,
        coach_id: b.coach_id,
        event_id: b.event_id,
        start_at: wire(b.starts_at),
        end_at: wire(b.ends_at),
        booking_status: b.status.into(),
        event_status: Some(v.event.status.to_value()),
        completed: b.completed,
        note: b.note,
        canceled_at: b.canceled_at.map(wire),
        canceled_by_role: b.canceled_by_role.map(Into::into),
        cancellation_reason_code: b
            .cancellation_reason_code
            .as_deref()
            .map(|r| stored(r, api::BookingCancellationReasonCode::from_wire))
            .transpose()?,
        cancellation_reason_text: b.cancellation_reason_text,
        sport_id: Some(v.event.sport_id),
        service_cardinality: v.cardinality,
        timeslot: time_slot_to_wire(&v.event)?,
    })
}

fn order_to_wire(v: OrderView) -> Result<api::BookingOrder, ApiError> {
    let status = svc::order_status(&v.bookings).into();
    Ok(api::BookingOrder {
        order_id: v.order.id,
        user_id: v.order.user_id,
        payment_status: v.order.payment_status.into(),
        created_at: wire(v.order.created_at),
        bookings: v.bookings.into_iter().map(booking_to_wire).collect::<Result<_, _>>()?,
        status,
    })
}

fn order_error(e: OrderError) -> api::BookEventErrorBookingError {
    use api::BookEventErrorBookingError as W;
    match e {
        OrderError::NotFound => W::EventNotFound,
        OrderError::Canceled => W::EventCanceled,
        OrderError::SelfBook => W::SelfBookAttempt,
        OrderError::Past => W::PastEventBookAttempt,
        OrderError::TooClose => W::TooCloseToEventStart,
        OrderError::Overbooked => W::Overbooked,
        OrderError::Conflict => W::ConflictingUserSchedules,
    }
}

impl BookingsHandlers for Handlers {
    async fn notify_bookings(
        &self,
        principal: Principal,
        _traceparent: Option<String>,
    ) -> Result<api::NotifyBookingsResponse, ApiError> {
        crate::services::notifications::run_pass(&self.state, &principal).await?;
        Ok(api::NotifyBookingsResponse::NoContent)
    }

    async fn mark_booking_as_completed(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _traceparent: Option<String>,
        body: api::MarkBookingAsCompletedRequest,
    ) -> Result<api::MarkBookingAsCompletedResponse, ApiError> {
        let v = svc::mark_completed(&self.state, &principal, booking_id, body.completed).await?;
        Ok(api::MarkBookingAsCompletedResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn add_booking_note(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _traceparent: Option<String>,
        body: api::AddBookingNoteRequest,
    ) -> Result<api::AddBookingNoteResponse, ApiError> {
        let note = FreeText::parse("note", &body.note, MAX_NOTE_CHARS)?;
        let v = svc::add_note(&self.state, &principal, booking_id, note).await?;
        Ok(api::AddBookingNoteResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn dismiss_booking(
        &self,
        principal: Principal,
        booking_id: Uuid,
        user_id: Uuid,
        _traceparent: Option<String>,
    ) -> Result<api::DismissBookingResponse, ApiError> {
        svc::dismiss(&self.state, &principal, booking_id, user_id).await?;
        Ok(api::DismissBookingResponse::NoContent)
    }

    async fn get_user_booking_orders(
        &self,
        principal: Principal,
        user_id: Uuid,
        start_at: Option<DateTime<FixedOffset>>,
        end_at: Option<DateTime<FixedOffset>>,
        _traceparent: Option<String>,
    ) -> Result<api::GetUserBookingOrdersResponse, ApiError> {
        let (start_at, end_at) = (instant_opt("startAt", start_at)?, instant_opt("endAt", end_at)?);
        let orders = svc::list_orders(&self.state, &principal, user_id, start_at, end_at).await?;
        let truncated = orders.truncated.then_some(true);
        let wire = orders.items.into_iter().map(order_to_wire).collect::<Result<Vec<_>, _>>()?;
        Ok(api::GetUserBookingOrdersResponse::Ok(Json(wire), truncated))
    }

    async fn get_booking_by_id(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _traceparent: Option<String>,
    ) -> Result<api::GetBookingByIdResponse, ApiError> {
        let v = svc::get_visible(&self.state, &principal, booking_id).await?;
        Ok(api::GetBookingByIdResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn get_bookings(
        &self,
        principal: Principal,
        user_id: Option<Uuid>,
        event_id: Option<Uuid>,
        start_at: Option<DateTime<FixedOffset>>,
        end_at: Option<DateTime<FixedOffset>>,
        _traceparent: Option<String>,
    ) -> Result<api::GetBookingsResponse, ApiError> {
        let (start_at, end_at) = (instant_opt("startAt", start_at)?, instant_opt("endAt", end_at)?);
        let list = svc::list_bookings(&self.state, &principal, user_id, event_id, start_at, end_at).await?;
        let truncated = list.truncated.then_some(true);
        let wire = list.items.into_iter().map(booking_to_wire).collect::<Result<Vec<_>, _>>()?;
        Ok(api::GetBookingsResponse::Ok(Json(wire), truncated))
    }

    async fn book_events(
        &self,
        principal: Principal,
        _traceparent: Option<String>,
        body: api::BookEventRequest,
    ) -> Result<api::BookEventsResponse, ApiError> {
        let payment = match body.payment_method.type_ {
            api::BookEventPaymentMethodType::Cash => PaymentMethod::Cash,
            api::BookEventPaymentMethodType::Card => PaymentMethod::Card,
        };
        match svc::book_events(&self.state, &principal, body.user_id, &body.event_ids, payment).await {
            Ok(order) => Ok(api::BookEventsResponse::Created(Json(order_to_wire(order)?))),
            Err(BookError::App(e)) => Err(e.into()),
            Err(BookError::Rejected(errors)) => {
                let summary =
                    errors.iter().map(|(id, e)| format!("{id}: {}", e.message())).collect::<Vec<_>>().join("; ");
                let envelope = ApiError::from(ServiceError::invalid(format!("the order was not placed: {summary}")))
                    .envelope(api::BookEventsResponse::ENDPOINT);
                let mut body: api::BookEventErrorResponse = envelope.into();
                body.errors = Some(
                    errors
                        .into_iter()
                        .map(|(id, e)| api::BookEventError {
                            event_id: id,
                            booking_error: order_error(e),
                            message: Some(e.message().to_string()),
                        })
                        .collect(),
                );
                Ok(api::BookEventsResponse::BadRequest(Json(body)))
            }
        }
    }

    async fn delete_user_from_bookings(
        &self,
        principal: Principal,
        x_current_user_id: Uuid,
        user_id: Option<Uuid>,
    ) -> Result<api::DeleteUserFromBookingsResponse, ApiError> {
        svc::delete_user(&self.state, &principal, x_current_user_id, user_id).await?;
        Ok(api::DeleteUserFromBookingsResponse::NoContent)
    }

    async fn cancel_booking(
        &self,
        principal: Principal,
        booking_id: Uuid,
        body: api::CancelBookingRequest,
    ) -> Result<api::CancelBookingResponse, ApiError> {
        // Who may act is answered before what they sent (403 before 400).
        crate::policy::require_scope(&principal, crate::policy::Scope::BookingWrite)?;
        let reason_text = FreeText::parse_opt("reasonText", body.reason_text.as_deref(), MAX_TEXT_CHARS)?;
        let v =
            svc::cancel_booking(&self.state, &principal, booking_id, body.reason_code.as_str(), reason_text).await?;
        Ok(api::CancelBookingResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn open_booking_dispute(
        &self,
        principal: Principal,
        booking_id: Uuid,
    ) -> Result<api::OpenBookingDisputeResponse, ApiError> {
        let v = svc::open_dispute(&self.state, &principal, booking_id).await?;
        Ok(api::OpenBookingDisputeResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn resolve_booking_dispute(
        &self,
        principal: Principal,
        booking_id: Uuid,
    ) -> Result<api::ResolveBookingDisputeResponse, ApiError> {
        let v = svc::resolve_dispute(&self.state, &principal, booking_id).await?;
        Ok(api::ResolveBookingDisputeResponse::Ok(Json(booking_to_wire(v)?)))
    }
}
