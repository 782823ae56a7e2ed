//! `Bookings` tag (seed 003): LE-KO bookings.

use super::{wire, Handlers};
use crate::api::{self, ApiError, BookingsHandlers};
use crate::auth::Principal;
use crate::error::AppError;
use crate::services::bookings as svc;
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

fn pending(what: &str) -> ApiError {
    AppError::validation(format!("{what} is not available on this server yet")).into()
}

impl BookingsHandlers for Handlers {
    async fn notify_bookings(&self, _principal: Principal, _traceparent: Option<String>) -> Result<api::NotifyBookingsResponse, ApiError> {
        Err(pending("notifyBookings"))
    }

    async fn mark_booking_as_completed(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _traceparent: Option<String>,
        _body: api::MarkBookingAsCompletedRequest,
    ) -> Result<api::MarkBookingAsCompletedResponse, ApiError> {
        svc::get_visible(&self.state, &principal, booking_id).await?;
        Err(pending("markBookingAsCompleted"))
    }

    async fn add_booking_note(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _traceparent: Option<String>,
        _body: api::AddBookingNoteRequest,
    ) -> Result<api::AddBookingNoteResponse, ApiError> {
        svc::get_visible(&self.state, &principal, booking_id).await?;
        Err(pending("addBookingNote"))
    }

    async fn dismiss_booking(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _user_id: Uuid,
        _traceparent: Option<String>,
    ) -> Result<api::DismissBookingResponse, ApiError> {
        svc::get_visible(&self.state, &principal, booking_id).await?;
        Err(pending("dismissBooking"))
    }

    async fn get_user_booking_orders(
        &self,
        _principal: Principal,
        _user_id: Uuid,
        _start_at: Option<DateTime<FixedOffset>>,
        _end_at: Option<DateTime<FixedOffset>>,
        _traceparent: Option<String>,
    ) -> Result<api::GetUserBookingOrdersResponse, ApiError> {
        Err(pending("getUserBookingOrders"))
    }

    async fn get_booking_by_id(
        &self,
        principal: Principal,
        booking_id: Uuid,
        _traceparent: Option<String>,
    ) -> Result<api::GetBookingByIdResponse, ApiError> {
        let booking = svc::get_visible(&self.state, &principal, booking_id).await?;
        let _ = wire(booking.starts_at);
        Err(pending("reading bookings"))
    }

    async fn get_bookings(
        &self,
        _principal: Principal,
        _user_id: Option<Uuid>,
        _event_id: Option<Uuid>,
        _start_at: Option<DateTime<FixedOffset>>,
        _end_at: Option<DateTime<FixedOffset>>,
        _traceparent: Option<String>,
    ) -> Result<api::GetBookingsResponse, ApiError> {
        Err(pending("getBookings"))
    }

    async fn book_events(
        &self,
        _principal: Principal,
        _traceparent: Option<String>,
        _body: api::BookEventRequest,
    ) -> Result<api::BookEventsResponse, ApiError> {
        Err(pending("bookEvents"))
    }

    async fn delete_user_from_bookings(
        &self,
        _principal: Principal,
        _x_current_user_id: Uuid,
        _user_id: Option<Uuid>,
    ) -> Result<api::DeleteUserFromBookingsResponse, ApiError> {
        Err(pending("deleteUserFromBookings"))
    }
}
