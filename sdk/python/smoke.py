#!/usr/bin/env python3
"""Smoke scenario against a live server, through the client openapi-python-client generated
from the server's /openapi.json (package `bookings_api_client`; no raw HTTP here).

Run by scripts/sdk-check.sh, which starts the server, mints the tokens with
`bookings token` and sets:
    BASE_URL        e.g. http://127.0.0.1:PORT/v1 (the contract's server is the relative /v1)
    OWNER_TOKEN     calendar owner, scopes "calendar:write booking:write"
    COACH_TOKEN     coach, scope "booking:write"
    ATHLETE_TOKEN   athlete (another user)
    ATHLETE_ID      the athlete's user id (the `sub` of ATHLETE_TOKEN)
Exits non-zero on the first failed check.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import uuid

from bookings_api_client import AuthenticatedClient, Client
from bookings_api_client.api.booking import (
    create_booking_link,
    get_booking_availability,
    reserve_booking_slot,
)
from bookings_api_client.api.bookings import book_events, cancel_booking, get_booking_by_id, get_bookings
from bookings_api_client.api.calendars import create_calendar, get_calendar
from bookings_api_client.api.coach_events import create_coach_event, get_coach_event
from bookings_api_client.models import (
    AvailableSlot,
    BookEventPaymentMethod,
    BookEventPaymentMethodType,
    BookEventRequest,
    Booking,
    BookingCanceledByRole,
    BookingCancellationReasonCode,
    BookingOrder,
    BookingOrderStatus,
    BookingStatus,
    Calendar,
    CancelBookingRequest,
    CoachEvent,
    CoachEventStatus,
    CreateBookingLinkBody,
    CreateBookingLinkBodyWorkingHours,
    CreateBookingLinkResponse200,
    CreateCalendarRequest,
    CreateCoachEventRequest,
    Currency,
    Event,
    EventSource,
    GetBookingAvailabilityResponse200,
    NewTimeSlot,
    NewTimeSlotPaymentMethod,
    NewTimeSlotSlotType,
    ReserveBookingSlotBody,
    ReserveBookingSlotResponse200,
    WorkingHourSlot,
)
from bookings_api_client.types import Response

STEP = ["start"]


def fail(msg: str) -> None:
    print(f"python smoke: FAIL at {STEP[0]}: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond: bool, msg: str) -> None:
    if not cond:
        fail(msg)


def expect(resp: Response, status: int, model: type):
    """The response has `status` and its body parsed into `model` (or a list of it)."""
    if resp.status_code != status:
        fail(f"status {int(resp.status_code)}, expected {status}: {resp.content[:500]!r}")
    parsed = resp.parsed
    if model is list:
        check(isinstance(parsed, list), f"parsed {type(parsed).__name__}, expected a list")
    else:
        check(isinstance(parsed, model), f"parsed {type(parsed).__name__}, expected {model.__name__}")
    return parsed


def step(name: str) -> None:
    STEP[0] = name
    print(f"python smoke: {name}")


def main() -> None:
    base = os.environ["BASE_URL"]
    owner = AuthenticatedClient(base_url=base, token=os.environ["OWNER_TOKEN"], raise_on_unexpected_status=True)
    coach = AuthenticatedClient(base_url=base, token=os.environ["COACH_TOKEN"], raise_on_unexpected_status=True)
    athlete = AuthenticatedClient(base_url=base, token=os.environ["ATHLETE_TOKEN"], raise_on_unexpected_status=True)
    athlete_id = uuid.UUID(os.environ["ATHLETE_ID"])
    public = Client(base_url=base, raise_on_unexpected_status=True)

    # ---- calendar booking links (seed 000 + companion)
    step("createCalendar")
    cal = expect(create_calendar.sync_detailed(client=owner, body=CreateCalendarRequest(name="SDK smoke")), 201, Calendar)
    check(cal.name == "SDK smoke", f"name {cal.name!r}")
    check(isinstance(cal.id, uuid.UUID), "calendar id is not a UUID")

    step("getCalendar")
    again = expect(get_calendar.sync_detailed(cal.id, client=owner), 200, Calendar)
    check(again.id == cal.id, "getCalendar returned another calendar")

    step("createBookingLink")
    nine_to_five = [WorkingHourSlot(start="09:00", end="17:00")]
    hours = CreateBookingLinkBodyWorkingHours(
        mon=nine_to_five, tue=nine_to_five, wed=nine_to_five, thu=nine_to_five, fri=nine_to_five, sat=[], sun=[]
    )
    link = expect(
        create_booking_link.sync_detailed(
            cal.id,
            client=owner,
            body=CreateBookingLinkBody(duration_minutes=30, buffer_minutes=10, timezone="Europe/Berlin", working_hours=hours),
        ),
        200,
        CreateBookingLinkResponse200,
    )
    check(bool(link.token), "empty booking link token")
    check(link.settings.duration_minutes == 30, f"settings.duration_minutes {link.settings.duration_minutes!r}")

    step("getBookingAvailability")
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today + dt.timedelta(days=7 - today.weekday() + 7)  # the Monday of the week after next
    avail = expect(
        get_booking_availability.sync_detailed(
            link.token, client=public, start=monday, end=monday + dt.timedelta(days=7)
        ),
        200,
        GetBookingAvailabilityResponse200,
    )
    check(avail.token == link.token, "availability of another link")
    check(avail.duration_minutes == 30, f"duration_minutes {avail.duration_minutes}")
    check(len(avail.slots) > 0, "no free slot in a working week")
    first = avail.slots[0]
    check(isinstance(first, AvailableSlot), "slot is not an AvailableSlot")
    check(first.start.tzinfo is not None and first.end - first.start == dt.timedelta(minutes=30), f"slot {first}")
    check(first.start >= monday, f"first slot {first.start} before the range {monday}")

    step("reserveBookingSlot")
    res = expect(
        reserve_booking_slot.sync_detailed(
            link.token,
            client=public,
            body=ReserveBookingSlotBody(
                name="Visitor", email="visitor@example.com", slot_start=first.start, slot_end=first.end, notes="sdk smoke"
            ),
        ),
        200,
        ReserveBookingSlotResponse200,
    )
    check(res.ok is True, "ok is not true")
    check(isinstance(res.event, Event), "event is not an Event")
    check(res.event.calendar_id == cal.id, "event on another calendar")
    check(res.event.source == EventSource.RESERVATION, f"source {res.event.source}")
    check(res.event.start == first.start and res.event.end == first.end, "event is not the reserved slot")

    step("getBookingAvailability (slot gone)")
    after = expect(
        get_booking_availability.sync_detailed(link.token, client=public, start=monday, end=monday + dt.timedelta(days=7)),
        200,
        GetBookingAvailabilityResponse200,
    )
    check(all(s.start != first.start for s in after.slots), "the reserved slot is still offered")

    step("reserveBookingSlot (again: 409)")
    again409 = reserve_booking_slot.sync_detailed(
        link.token,
        client=public,
        body=ReserveBookingSlotBody(name="Other", email="other@example.com", slot_start=first.start, slot_end=first.end),
    )
    check(again409.status_code == 409, f"status {int(again409.status_code)}, expected 409")

    # ---- LE-KO coach events and bookings (seed 003 + companion)
    step("createCoachEvent")
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(minutes=60)
    ev = expect(
        create_coach_event.sync_detailed(
            client=coach,
            body=CreateCoachEventRequest(
                sport_id=uuid.uuid4(),
                start_at=start,
                end_at=end,
                timeslot=NewTimeSlot(
                    start_time=start.strftime("%H:%M:%S+00:00"),
                    end_time=end.strftime("%H:%M:%S+00:00"),
                    number_of_participants=2,
                    slot_type=NewTimeSlotSlotType.OFFLINE,
                    age_from=18,
                    age_to=99,
                    duration=60,
                    price=1500,
                    price_currency=Currency.RUB,
                    payment_method=NewTimeSlotPaymentMethod.CASH,
                ),
            ),
        ),
        201,
        CoachEvent,
    )
    check(ev.status == CoachEventStatus.SCHEDULED, f"status {ev.status}")
    check((ev.places_total, ev.places_taken, ev.places_left) == (2, 0, 2), "places")
    check(ev.start_at == start and ev.end_at == end, "times")

    step("bookEvents")
    order = expect(
        book_events.sync_detailed(
            client=athlete,
            body=BookEventRequest(
                user_id=athlete_id,
                event_ids=[ev.event_id],
                payment_method=BookEventPaymentMethod(type_=BookEventPaymentMethodType.CASH),
            ),
        ),
        201,
        BookingOrder,
    )
    check(order.user_id == athlete_id, "order of another user")
    check(order.status == BookingOrderStatus.ACTIVE, f"order status {order.status}")
    check(len(order.bookings) == 1, f"{len(order.bookings)} bookings in the order")
    booking = order.bookings[0]
    check(booking.event_id == ev.event_id, "booking of another event")
    check(booking.booking_status in (BookingStatus.ACCEPTED, BookingStatus.PENDING), f"status {booking.booking_status}")

    step("getCoachEvent (a place taken)")
    ev2 = expect(get_coach_event.sync_detailed(ev.event_id, client=athlete), 200, CoachEvent)
    check((ev2.places_taken, ev2.places_left) == (1, 1), f"places taken/left {ev2.places_taken}/{ev2.places_left}")

    step("getBookings(userId)")
    mine = expect(get_bookings.sync_detailed(client=athlete, user_id=athlete_id), 200, list)
    check(all(isinstance(b, Booking) for b in mine), "an item is not a Booking")
    check([b.booking_id for b in mine] == [booking.booking_id], f"bookings {[str(b.booking_id) for b in mine]}")
    check(mine[0].user_id == athlete_id and mine[0].order_id == order.order_id, "booking fields")

    step("cancelBooking")
    canceled = expect(
        cancel_booking.sync_detailed(
            booking.booking_id,
            client=athlete,
            body=CancelBookingRequest(reason_code=BookingCancellationReasonCode.NOTIME, reason_text="sdk smoke"),
        ),
        200,
        Booking,
    )
    check(canceled.booking_status == BookingStatus.CANCELED, f"status {canceled.booking_status}")
    check(canceled.canceled_by_role == BookingCanceledByRole.ATHLETE, f"canceledByRole {canceled.canceled_by_role!r}")

    step("getBookingById")
    read = expect(get_booking_by_id.sync_detailed(booking.booking_id, client=athlete), 200, Booking)
    check(read.cancellation_reason_code == BookingCancellationReasonCode.NOTIME, "reason code")

    print("python smoke: OK")


if __name__ == "__main__":
    main()
