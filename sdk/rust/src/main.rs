//! The smoke scenario of sdk/python/smoke.py through the progenitor-generated client:
//! createCalendar, createBookingLink, getBookingAvailability, reserveBookingSlot,
//! createCoachEvent, bookEvents (another user), getBookings(userId); then two errors read as
//! the one error type progenitor gives each operation: bookEvents for someone else (403,
//! BookEventErrorResponse) and getBookingById of an unknown booking (404, Errors).
//!
//! scripts/sdk-check.sh runs it when the crate builds, with BASE_URL, OWNER_TOKEN, COACH_TOKEN,
//! ATHLETE_TOKEN and ATHLETE_ID set. Exits non-zero on the first failed check.
use bookings_sdk_check::{types, Client};
use chrono::{DateTime, Datelike, Duration, DurationRound, Utc};
use std::process::exit;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail("setup", &format!("{name} is not set")))
}

fn fail(step: &str, msg: &str) -> ! {
    eprintln!("rust smoke: FAIL at {step}: {msg}");
    exit(1)
}

fn check(step: &str, cond: bool, msg: impl FnOnce() -> String) {
    if !cond {
        fail(step, &msg());
    }
}

/// The body of a response with the expected status.
fn expect<T, E: std::fmt::Debug>(
    step: &str,
    r: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
    status: u16,
) -> T {
    match r {
        Ok(v) if v.status().as_u16() == status => {
            println!("rust smoke: {step}");
            v.into_inner()
        }
        Ok(v) => fail(step, &format!("status {}, expected {status}", v.status())),
        Err(e) => fail(step, &format!("{e} ({e:?})")),
    }
}

/// The typed error body of a response with the expected error status.
fn expect_error<T: std::fmt::Debug, E: std::fmt::Debug>(
    step: &str,
    r: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
    status: u16,
) -> E {
    match r {
        Err(progenitor_client::Error::ErrorResponse(v)) if v.status().as_u16() == status => {
            println!("rust smoke: {step}");
            v.into_inner()
        }
        Err(e) => fail(step, &format!("expected a typed {status} body: {e} ({e:?})")),
        Ok(v) => fail(step, &format!("status {}, expected {status}: {v:?}", v.status())),
    }
}

/// A client that sends `token` as its bearer token (progenitor leaves auth to the caller).
fn client(base: &str, token: Option<&str>) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    }
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    Client::new_with_client(base, http)
}

fn utc_time(t: DateTime<Utc>) -> types::Time {
    types::Time(t.format("%H:%M:%S+00:00").to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = env("BASE_URL");
    let owner = client(&base, Some(&env("OWNER_TOKEN")));
    let coach = client(&base, Some(&env("COACH_TOKEN")));
    let athlete = client(&base, Some(&env("ATHLETE_TOKEN")));
    let athlete_id = types::UserId(env("ATHLETE_ID").parse().unwrap_or_else(|_| fail("setup", "ATHLETE_ID is not a UUID")));
    let anon = client(&base, None);

    let step = "createCalendar";
    let name = types::CreateCalendarRequestName::try_from("SDK smoke (rust)").unwrap();
    let cal = expect(step, owner.create_calendar(&types::CreateCalendarRequest { name }).await, 201);
    check(step, cal.name == "SDK smoke (rust)", || format!("name {}", cal.name));

    let step = "createBookingLink";
    let nine_to_five = vec![types::WorkingHourSlot {
        start: "09:00".parse().unwrap(),
        end: "17:00".parse().unwrap(),
    }];
    let hours = types::CreateBookingLinkBodyWorkingHours {
        mon: nine_to_five.clone(),
        tue: nine_to_five.clone(),
        wed: nine_to_five.clone(),
        thu: nine_to_five.clone(),
        fri: nine_to_five,
        sat: vec![],
        sun: vec![],
    };
    let body = types::CreateBookingLinkBody {
        active: true,
        buffer_minutes: 10,
        duration_minutes: 30,
        timezone: "Europe/Berlin".into(),
        working_hours: hours,
        // The scheduling rules are optional; none set is the seed's behaviour.
        min_notice_minutes: Default::default(),
        max_days_ahead: Default::default(),
        slot_interval_minutes: Default::default(),
        buffer_before_minutes: Default::default(),
        buffer_after_minutes: Default::default(),
        date_overrides: Default::default(),
        max_bookings_per_day: Default::default(),
        min_cancel_notice_minutes: Default::default(),
        // Issue #25's rules: optional too.
        booking_limits: Default::default(),
        duration_limits_minutes: Default::default(),
        week_start: Default::default(),
        window_days_kind: Default::default(),
        bookable_from: Default::default(),
        bookable_until: Default::default(),
        slot_alignment: Default::default(),
        seats_per_slot: None,
        requires_confirmation: None,
        pending_blocks_slot: None,
        pending_expires_minutes: None,
        scheduling: None,
        members: Default::default(),
        location: Default::default(),
    };
    let link = expect(step, owner.create_booking_link(&cal.id, &body).await, 200);
    check(step, !link.token.is_empty(), || "empty token".into());

    let step = "getBookingAvailability";
    let today = Utc::now().duration_trunc(Duration::days(1)).unwrap();
    let monday = today + Duration::days(14 - i64::from(today.weekday().num_days_from_monday()));
    let end = monday + Duration::days(7);
    let avail = expect(step, anon.get_booking_availability(&link.token, &end, &monday, None).await, 200);
    let Some(first) = avail.slots.first().cloned() else { fail(step, "no free slot in a working week") };
    check(step, first.end - first.start == Duration::minutes(30), || format!("slot {first:?}"));

    let step = "reserveBookingSlot";
    let body = types::ReserveBookingSlotBody {
        // The contract bounds both (maxLength/minLength), so the generated types check on parse.
        email: "visitor@example.com".parse().expect("the contract accepts this address"),
        name: "Visitor".parse().expect("the contract accepts this name"),
        notes: None,
        slot_end: first.end,
        slot_start: first.start,
    };
    // No Idempotency-Key: the header is optional.
    let res = expect(step, anon.reserve_booking_slot(&link.token, None, &body).await, 200);
    check(step, res.ok && res.event.source == types::EventSource::Reservation, || format!("{res:?}"));
    check(step, res.event.calendar_id == cal.id, || "event on another calendar".into());

    let step = "getReservation";
    let mine = expect(step, anon.get_reservation(&res.manage_token).await, 200);
    check(step, mine.id == res.event.id && mine.status == types::ReservationStatus::Confirmed, || format!("{mine:?}"));

    let step = "createCoachEvent";
    let start = (Utc::now() + Duration::days(3)).duration_trunc(Duration::hours(1)).unwrap();
    let end = start + Duration::hours(1);
    let body = types::CreateCoachEventRequest {
        end_at: end,
        sport_id: types::Id(uuid::Uuid::new_v4()),
        start_at: start,
        time_slot: None,
        timeslot: Some(types::NewTimeSlot {
            address_id: None,
            age_from: 18,
            age_to: 99,
            duration: 60,
            eligibility: None,
            end_time: utc_time(end),
            level: None,
            number_of_participants: std::num::NonZeroU64::new(2).unwrap(),
            payment_method: types::NewTimeSlotPaymentMethod::Cash,
            price: 1500,
            price_currency: types::Currency::Rub,
            public: None,
            slot_type: types::NewTimeSlotSlotType::Offline,
            start_time: utc_time(start),
        }),
    };
    let ev = expect(step, coach.create_coach_event(&body).await, 201);
    check(step, ev.places_left == 2 && ev.status == types::CoachEventStatus::Scheduled, || format!("{ev:?}"));

    let step = "bookEvents";
    let body = types::BookEventRequest {
        event_ids: vec![types::Id(*ev.event_id)],
        payment_method: types::BookEventPaymentMethod { method_id: None, type_: types::BookEventPaymentMethodType::Cash },
        user_id: athlete_id.clone(),
    };
    let order = expect(step, athlete.book_events(None, None, &body).await, 201);
    check(step, order.bookings.len() == 1 && *order.bookings[0].event_id == *ev.event_id, || format!("{order:?}"));

    let step = "getBookings(userId)";
    let mine = expect(step, athlete.get_bookings(None, None, None, Some(&athlete_id), None).await, 200);
    check(step, mine.len() == 1 && *mine[0].booking_id == *order.bookings[0].booking_id, || format!("{mine:?}"));

    let step = "bookEvents (for someone else: 403)";
    let body = types::BookEventRequest { user_id: types::UserId(uuid::Uuid::new_v4()), ..body };
    let err = expect_error(step, athlete.book_events(None, None, &body).await, 403);
    check(step, err.code == types::BookEventErrorResponseCode::Forbidden && err.errors.is_empty(), || format!("{err:?}"));
    check(step, err.endpoint == "POST /v1/bookings", || format!("{err:?}"));

    let step = "getBookingById (unknown: 404)";
    let unknown = types::Id(uuid::Uuid::new_v4());
    let err = expect_error(step, athlete.get_booking_by_id(&unknown, None).await, 404);
    check(step, err.errors.len() == 1 && err.errors[0].code == types::ErrorCode::NotFound, || format!("{err:?}"));

    println!("rust smoke: OK");
}
