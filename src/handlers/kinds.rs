//! The stored kinds (column enums of `entities`, and the domain's derived ones) onto the
//! contract's wire enums, and the wire's onto the stored where a request carries one: one `From`
//! each. Every match is exhaustive, so a value added on either side fails to compile here
//! instead of answering 500 at run time.

use crate::api;
use crate::domain::bookings::OrderStatus;
use crate::domain::kinds::{CancellationReason, Currency, Eligibility, Level, SlotType};
use crate::domain::notifications::Recipient;
use crate::entities::booking_orders::PaymentStatus;
use crate::entities::bookings::{BookingStatus, CanceledByRole};
use crate::entities::calendar_events::EventSource;
use crate::entities::coach_events::{EventStatus, PaymentMethod};
use crate::entities::notifications::{Channel, NotificationStatus};

impl From<BookingStatus> for api::BookingStatus {
    fn from(s: BookingStatus) -> Self {
        match s {
            BookingStatus::Pending => Self::Pending,
            BookingStatus::Accepted => Self::Accepted,
            BookingStatus::Rejected => Self::Rejected,
            BookingStatus::Canceled => Self::Canceled,
            BookingStatus::InDispute => Self::InDispute,
            BookingStatus::DisputeDone => Self::DisputeDone,
        }
    }
}

impl From<CanceledByRole> for api::BookingCanceledByRole {
    fn from(r: CanceledByRole) -> Self {
        match r {
            CanceledByRole::Athlete => Self::Athlete,
            CanceledByRole::Coach => Self::Coach,
            CanceledByRole::System => Self::System,
        }
    }
}

impl From<PaymentStatus> for api::BookingOrderPaymentStatus {
    fn from(s: PaymentStatus) -> Self {
        match s {
            PaymentStatus::Pending => Self::Pending,
            PaymentStatus::Paid => Self::Paid,
            PaymentStatus::Failed => Self::Failed,
            PaymentStatus::Cash => Self::Cash,
        }
    }
}

impl From<OrderStatus> for api::BookingOrderStatus {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Active => Self::Active,
            OrderStatus::Completed => Self::Completed,
            OrderStatus::Canceled => Self::Canceled,
        }
    }
}

impl From<EventStatus> for api::CoachEventStatus {
    fn from(s: EventStatus) -> Self {
        match s {
            EventStatus::Scheduled => Self::Scheduled,
            EventStatus::Canceled => Self::Canceled,
        }
    }
}

impl From<PaymentMethod> for api::TimeSlotPaymentMethod {
    fn from(m: PaymentMethod) -> Self {
        match m {
            PaymentMethod::Cash => Self::Cash,
        }
    }
}

impl From<api::TimeSlotPaymentMethod> for PaymentMethod {
    fn from(m: api::TimeSlotPaymentMethod) -> Self {
        match m {
            api::TimeSlotPaymentMethod::Cash => Self::Cash,
        }
    }
}

impl From<api::NewTimeSlotPaymentMethod> for PaymentMethod {
    fn from(m: api::NewTimeSlotPaymentMethod) -> Self {
        match m {
            api::NewTimeSlotPaymentMethod::Cash => Self::Cash,
        }
    }
}

impl From<EventSource> for api::EventSource {
    fn from(s: EventSource) -> Self {
        match s {
            EventSource::Manual => Self::Manual,
            EventSource::Reservation => Self::Reservation,
        }
    }
}

impl From<NotificationStatus> for api::NotificationStatus {
    fn from(s: NotificationStatus) -> Self {
        match s {
            NotificationStatus::Pending => Self::Pending,
            NotificationStatus::Sending => Self::Sending,
            NotificationStatus::Sent => Self::Sent,
            NotificationStatus::Failed => Self::Failed,
            NotificationStatus::Skipped => Self::Skipped,
        }
    }
}

impl From<api::ListNotificationsStatus> for NotificationStatus {
    fn from(s: api::ListNotificationsStatus) -> Self {
        match s {
            api::ListNotificationsStatus::Pending => Self::Pending,
            api::ListNotificationsStatus::Sending => Self::Sending,
            api::ListNotificationsStatus::Sent => Self::Sent,
            api::ListNotificationsStatus::Failed => Self::Failed,
            api::ListNotificationsStatus::Skipped => Self::Skipped,
        }
    }
}

impl From<Channel> for api::NotificationChannel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Email => Self::Email,
            Channel::Webhook => Self::Webhook,
        }
    }
}

impl From<SlotType> for api::TimeSlotSlotType {
    fn from(t: SlotType) -> Self {
        match t {
            SlotType::Online => Self::Online,
            SlotType::Offline => Self::Offline,
        }
    }
}

impl From<api::NewTimeSlotSlotType> for SlotType {
    fn from(t: api::NewTimeSlotSlotType) -> Self {
        match t {
            api::NewTimeSlotSlotType::Online => Self::Online,
            api::NewTimeSlotSlotType::Offline => Self::Offline,
        }
    }
}

impl From<Currency> for api::Currency {
    fn from(c: Currency) -> Self {
        match c {
            Currency::Rub => Self::Rub,
        }
    }
}

impl From<api::Currency> for Currency {
    fn from(c: api::Currency) -> Self {
        match c {
            api::Currency::Rub => Self::Rub,
        }
    }
}

impl From<Level> for api::TimeSlotLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::Any => Self::Any,
            Level::Beginner => Self::Beginner,
            Level::Medium => Self::Medium,
            Level::Pro => Self::Pro,
        }
    }
}

impl From<api::NewTimeSlotLevel> for Level {
    fn from(l: api::NewTimeSlotLevel) -> Self {
        match l {
            api::NewTimeSlotLevel::Any => Self::Any,
            api::NewTimeSlotLevel::Beginner => Self::Beginner,
            api::NewTimeSlotLevel::Medium => Self::Medium,
            api::NewTimeSlotLevel::Pro => Self::Pro,
        }
    }
}

impl From<Eligibility> for api::TimeSlotEligibility {
    fn from(e: Eligibility) -> Self {
        match e {
            Eligibility::All => Self::All,
            Eligibility::Men => Self::Men,
            Eligibility::Women => Self::Women,
        }
    }
}

impl From<api::NewTimeSlotEligibility> for Eligibility {
    fn from(e: api::NewTimeSlotEligibility) -> Self {
        match e {
            api::NewTimeSlotEligibility::All => Self::All,
            api::NewTimeSlotEligibility::Men => Self::Men,
            api::NewTimeSlotEligibility::Women => Self::Women,
        }
    }
}

impl From<CancellationReason> for api::BookingCancellationReasonCode {
    fn from(r: CancellationReason) -> Self {
        match r {
            CancellationReason::NotFeelingWell => Self::NotFeelingWell,
            CancellationReason::NoTime => Self::NoTime,
            CancellationReason::Other => Self::Other,
        }
    }
}

impl From<api::BookingCancellationReasonCode> for CancellationReason {
    fn from(r: api::BookingCancellationReasonCode) -> Self {
        match r {
            api::BookingCancellationReasonCode::NotFeelingWell => Self::NotFeelingWell,
            api::BookingCancellationReasonCode::NoTime => Self::NoTime,
            api::BookingCancellationReasonCode::Other => Self::Other,
        }
    }
}

impl From<Recipient> for api::NotificationRecipientRole {
    fn from(r: Recipient) -> Self {
        match r {
            Recipient::Athlete => Self::Athlete,
            Recipient::Coach => Self::Coach,
            Recipient::OtherParty => Self::OtherParty,
            Recipient::Owner => Self::Owner,
            Recipient::Visitor => Self::Visitor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    /// The wire spells each stored kind as it is stored.
    #[test]
    fn the_wire_spells_what_is_stored() {
        for s in BookingStatus::iter() {
            assert_eq!(api::BookingStatus::from(s).as_str(), s.to_value());
        }
        for r in CanceledByRole::iter() {
            assert_eq!(api::BookingCanceledByRole::from(r).as_str(), r.to_value());
        }
        for s in PaymentStatus::iter() {
            assert_eq!(api::BookingOrderPaymentStatus::from(s).as_str(), s.to_value());
        }
        for s in EventStatus::iter() {
            assert_eq!(api::CoachEventStatus::from(s).as_str(), s.to_value());
        }
        for m in PaymentMethod::iter() {
            assert_eq!(api::TimeSlotPaymentMethod::from(m).as_str(), m.to_value());
            assert_eq!(PaymentMethod::from(api::TimeSlotPaymentMethod::from(m)), m);
        }
        for s in EventSource::iter() {
            assert_eq!(api::EventSource::from(s).as_str(), s.to_value());
        }
        for s in NotificationStatus::iter() {
            assert_eq!(api::NotificationStatus::from(s).as_str(), s.to_value());
            let listed = api::ListNotificationsStatus::from_wire(&s.to_value()).expect("a list filter");
            assert_eq!(NotificationStatus::from(listed), s);
        }
        for c in Channel::iter() {
            assert_eq!(api::NotificationChannel::from(c).as_str(), c.to_value());
        }
    }

    /// The domain's kinds (stored as their `as_str`, `entities::kinds`) are spelled so on the
    /// wire, both ways.
    #[test]
    fn the_wire_spells_the_kinds_as_stored() {
        for &t in SlotType::ALL {
            assert_eq!(api::TimeSlotSlotType::from(t).as_str(), t.as_str());
            assert_eq!(SlotType::from(api::NewTimeSlotSlotType::from_wire(t.as_str()).expect("a new slot's type")), t);
        }
        for &c in Currency::ALL {
            assert_eq!(api::Currency::from(c).as_str(), c.as_str());
            assert_eq!(Currency::from(api::Currency::from(c)), c);
        }
        for &l in Level::ALL {
            assert_eq!(api::TimeSlotLevel::from(l).as_str(), l.as_str());
            assert_eq!(Level::from(api::NewTimeSlotLevel::from_wire(l.as_str()).expect("a new slot's level")), l);
        }
        for &e in Eligibility::ALL {
            assert_eq!(api::TimeSlotEligibility::from(e).as_str(), e.as_str());
            let wire = api::NewTimeSlotEligibility::from_wire(e.as_str()).expect("a new slot's eligibility");
            assert_eq!(Eligibility::from(wire), e);
        }
        for &r in CancellationReason::ALL {
            assert_eq!(api::BookingCancellationReasonCode::from(r).as_str(), r.as_str());
            assert_eq!(CancellationReason::from(api::BookingCancellationReasonCode::from(r)), r);
        }
        for r in Recipient::ALL {
            assert_eq!(api::NotificationRecipientRole::from(r).as_str(), r.name());
        }
    }
}
