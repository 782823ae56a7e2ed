//! `Bookings` tag (seed 003, plus the companion's cancel and dispute operations).

use super::coach_events::time_slot_to_wire;
use super::{absent_if_none, instant_opt, wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, BookingsHandlers};
use crate::auth::Principal;
use crate::domain::bookings::{BookingsQuery, ListWindow, OrderError, PaymentMethod, MAX_NOTE_CHARS};
use crate::domain::ids::{BookingId, CoachEventId, UserId};
use crate::domain::input::{FreeText, MAX_TEXT_CHARS};
use crate::error::ServiceError;
use crate::policy::{BookingWriter, NotificationSender};
use crate::services::bookings::BookingView;
use crate::services::orders::{BookError, OrderView};
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

/// A listing's window from the wire: each end a valid instant, the end after the start.
fn window(
    start_at: Option<DateTime<FixedOffset>>,
    end_at: Option<DateTime<FixedOffset>>,
) -> Result<ListWindow, ApiError> {
    let (start_at, end_at) = (instant_opt("startAt", start_at)?, instant_opt("endAt", end_at)?);
    Ok(ListWindow::parse(start_at, end_at).map_err(ServiceError::from)?)
}

pub(crate) fn booking_to_wire(v: BookingView) -> Result<api::Booking, ApiError> {
    let b = v.booking;
    Ok(api::Booking {
        booking_id: b.id.into_uuid(),
        order_id: b.order_id.into_uuid(),
        user_id: b.user_id.into_uuid(),
        coach_id: b.coach_id.into_uuid(),
        event_id: b.event_id.into_uuid(),
        start_at: wire(b.starts_at),
        end_at: wire(b.ends_at),
        booking_status: b.status.into(),
        event_status: Some(v.event.status.as_str().to_string()),
        completed: b.completed,
        note: b.note,
        // Nullable and not required: left out while not set, as always.
        canceled_at: absent_if_none(b.canceled_at.map(wire)),
        canceled_by_role: absent_if_none(b.canceled_by_role.map(Into::into)),
        cancellation_reason_code: absent_if_none(b.cancellation_reason_code.map(Into::into)),
        cancellation_reason_text: absent_if_none(b.cancellation_reason_text),
        sport_id: Some(v.event.sport_id),
        service_cardinality: absent_if_none(v.cardinality),
        timeslot: time_slot_to_wire(&v.event)?,
    })
}

fn order_to_wire(v: OrderView) -> Result<api::BookingOrder, ApiError> {
    let status = v.status().into();
    Ok(api::BookingOrder {
        order_id: v.order.id.into_uuid(),
        user_id: v.order.user_id.into_uuid(),
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
    async fn notify_bookings(&self, principal: Principal) -> Result<api::NotifyBookingsResponse, ApiError> {
        self.notifications().run_pass(NotificationSender::authorize(&principal)?).await?;
        Ok(api::NotifyBookingsResponse::NoContent)
    }

    async fn mark_booking_as_completed(
        &self,
        principal: Principal,
        booking_id: Uuid,
        body: api::MarkBookingAsCompletedRequest,
    ) -> Result<api::MarkBookingAsCompletedResponse, ApiError> {
        let id = BookingId::from_uuid(booking_id);
        let v = self.bookings().mark_completed(&principal, id, body.completed).await?;
        Ok(api::MarkBookingAsCompletedResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn add_booking_note(
        &self,
        principal: Principal,
        booking_id: Uuid,
        body: api::AddBookingNoteRequest,
    ) -> Result<api::AddBookingNoteResponse, ApiError> {
        let note = FreeText::parse("note", &body.note, MAX_NOTE_CHARS)?;
        let v = self.bookings().add_note(&principal, BookingId::from_uuid(booking_id), note).await?;
        Ok(api::AddBookingNoteResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn dismiss_booking(
        &self,
        principal: Principal,
        booking_id: Uuid,
        user_id: Uuid,
    ) -> Result<api::DismissBookingResponse, ApiError> {
        let (id, user) = (BookingId::from_uuid(booking_id), UserId::from_uuid(user_id));
        self.bookings().dismiss(&principal, id, user).await?;
        Ok(api::DismissBookingResponse::NoContent)
    }

    async fn get_user_booking_orders(
        &self,
        principal: Principal,
        user_id: Uuid,
        start_at: Option<DateTime<FixedOffset>>,
        end_at: Option<DateTime<FixedOffset>>,
    ) -> Result<api::GetUserBookingOrdersResponse, ApiError> {
        let window = window(start_at, end_at)?;
        let orders = self.orders().list(&principal, UserId::from_uuid(user_id), window).await?;
        let truncated = orders.truncated.then_some(true);
        let wire = orders.items.into_iter().map(order_to_wire).collect::<Result<Vec<_>, _>>()?;
        Ok(api::GetUserBookingOrdersResponse::Ok(Json(wire), truncated))
    }

    async fn get_booking_by_id(
        &self,
        principal: Principal,
        booking_id: Uuid,
    ) -> Result<api::GetBookingByIdResponse, ApiError> {
        let v = self.bookings().get(&principal, BookingId::from_uuid(booking_id)).await?;
        Ok(api::GetBookingByIdResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn get_bookings(
        &self,
        principal: Principal,
        user_id: Option<Uuid>,
        event_id: Option<Uuid>,
        start_at: Option<DateTime<FixedOffset>>,
        end_at: Option<DateTime<FixedOffset>>,
    ) -> Result<api::GetBookingsResponse, ApiError> {
        let window = window(start_at, end_at)?;
        let (user, event) = (user_id.map(UserId::from_uuid), event_id.map(CoachEventId::from_uuid));
        let query = BookingsQuery::parse(user, event, window).map_err(ServiceError::from)?;
        let list = self.bookings().list(&principal, query).await?;
        let truncated = list.truncated.then_some(true);
        let wire = list.items.into_iter().map(booking_to_wire).collect::<Result<Vec<_>, _>>()?;
        Ok(api::GetBookingsResponse::Ok(Json(wire), truncated))
    }

    async fn book_events(
        &self,
        principal: Principal,
        body: api::BookEventRequest,
    ) -> Result<api::BookEventsResponse, ApiError> {
        let writer = BookingWriter::authorize(&principal)?;
        let payment = match body.payment_method.type_ {
            api::BookEventPaymentMethodType::Cash => PaymentMethod::Cash,
            api::BookEventPaymentMethodType::Card => PaymentMethod::Card,
        };
        let events = body.event_ids.into_iter().map(CoachEventId::from_uuid).collect();
        let user = UserId::from_uuid(body.user_id);
        match self.orders().book(writer, user, events, payment).await {
            Ok(order) => Ok(api::BookEventsResponse::Created(Json(order_to_wire(order)?), None)),
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
                            event_id: id.into_uuid(),
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
        let (current, target) = (UserId::from_uuid(x_current_user_id), user_id.map(UserId::from_uuid));
        self.erasure().delete_user(&principal, current, target).await?;
        Ok(api::DeleteUserFromBookingsResponse::NoContent)
    }

    async fn cancel_booking(
        &self,
        principal: Principal,
        booking_id: Uuid,
        body: api::CancelBookingRequest,
    ) -> Result<api::CancelBookingResponse, ApiError> {
        let writer = BookingWriter::authorize(&principal)?;
        let (id, reason_code) = (BookingId::from_uuid(booking_id), body.reason_code.into());
        let reason_text = FreeText::parse_opt("reasonText", body.reason_text.as_deref(), MAX_TEXT_CHARS)?;
        let v = self.bookings().cancel(writer, id, reason_code, reason_text).await?;
        Ok(api::CancelBookingResponse::Ok(Json(booking_to_wire(v)?), None))
    }

    async fn open_booking_dispute(
        &self,
        principal: Principal,
        booking_id: Uuid,
    ) -> Result<api::OpenBookingDisputeResponse, ApiError> {
        let v = self.bookings().open_dispute(&principal, BookingId::from_uuid(booking_id)).await?;
        Ok(api::OpenBookingDisputeResponse::Ok(Json(booking_to_wire(v)?)))
    }

    async fn resolve_booking_dispute(
        &self,
        principal: Principal,
        booking_id: Uuid,
    ) -> Result<api::ResolveBookingDisputeResponse, ApiError> {
        let v = self.bookings().resolve_dispute(&principal, BookingId::from_uuid(booking_id)).await?;
        Ok(api::ResolveBookingDisputeResponse::Ok(Json(booking_to_wire(v)?)))
    }
}
