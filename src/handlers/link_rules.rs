//! A link's rules of issue #25 on the wire and in the domain: limits per period and on booked
//! minutes, the week's first day, how `max_days_ahead` counts, bookable dates, where slots
//! start, and the location; read from `createBookingLink` and `updateBookingLink`, echoed in
//! every link's settings.

use crate::api;
use crate::domain::availability::{
    Patch, Period, RawMember, RawSchedulingRules, SchedulePatch, Scheduling, SchedulingRules, SlotAlignment, Team,
    WindowDays,
};
use crate::domain::booking_link::{Location, LocationKind};
use crate::domain::ids::CalendarId;
use crate::error::ServiceError;
use crate::services::booking_links::TeamChange;
use chrono::Weekday;
use poem_openapi::types::MaybeUndefined;

fn weekday_from_wire(day: api::WeekStart) -> Weekday {
    match day {
        api::WeekStart::Mon => Weekday::Mon,
        api::WeekStart::Tue => Weekday::Tue,
        api::WeekStart::Wed => Weekday::Wed,
        api::WeekStart::Thu => Weekday::Thu,
        api::WeekStart::Fri => Weekday::Fri,
        api::WeekStart::Sat => Weekday::Sat,
        api::WeekStart::Sun => Weekday::Sun,
    }
}

fn weekday_to_wire(day: Weekday) -> api::WeekStart {
    match day {
        Weekday::Mon => api::WeekStart::Mon,
        Weekday::Tue => api::WeekStart::Tue,
        Weekday::Wed => api::WeekStart::Wed,
        Weekday::Thu => api::WeekStart::Thu,
        Weekday::Fri => api::WeekStart::Fri,
        Weekday::Sat => api::WeekStart::Sat,
        Weekday::Sun => api::WeekStart::Sun,
    }
}

fn window_days_from_wire(kind: api::WindowDaysKind) -> WindowDays {
    match kind {
        api::WindowDaysKind::Calendar => WindowDays::Calendar,
        api::WindowDaysKind::Business => WindowDays::Business,
    }
}

fn window_days_to_wire(kind: WindowDays) -> api::WindowDaysKind {
    match kind {
        WindowDays::Calendar => api::WindowDaysKind::Calendar,
        WindowDays::Business => api::WindowDaysKind::Business,
    }
}

fn alignment_from_wire(kind: api::SlotAlignment) -> SlotAlignment {
    match kind {
        api::SlotAlignment::Grid => SlotAlignment::Grid,
        api::SlotAlignment::AfterBusy => SlotAlignment::AfterBusy,
    }
}

fn alignment_to_wire(kind: SlotAlignment) -> api::SlotAlignment {
    match kind {
        SlotAlignment::Grid => api::SlotAlignment::Grid,
        SlotAlignment::AfterBusy => api::SlotAlignment::AfterBusy,
    }
}

/// A location as the domain takes it (400 when its value does not fit its kind).
pub(crate) fn location_from_wire(wire: &api::Location) -> Result<Location, ServiceError> {
    let kind = match wire.kind {
        api::LocationKind::Address => LocationKind::Address,
        api::LocationKind::Phone => LocationKind::Phone,
        api::LocationKind::Url => LocationKind::Url,
    };
    Location::parse(kind, &wire.value).map_err(ServiceError::Invalid)
}

pub(crate) fn location_to_wire(location: &Location) -> api::Location {
    let kind = match location.kind() {
        LocationKind::Address => api::LocationKind::Address,
        LocationKind::Phone => api::LocationKind::Phone,
        LocationKind::Url => api::LocationKind::Url,
    };
    api::Location { kind, value: location.value().to_string() }
}

/// A field of a partial update as the wire says it: left out keeps, `null` resets, a value sets.
pub(crate) fn patch<T>(field: MaybeUndefined<T>) -> Patch<T> {
    match field {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Reset,
        MaybeUndefined::Value(value) => Patch::Set(value),
    }
}

/// [`patch`], the value converted by `f`.
fn patch_with<T, U>(field: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Patch<U> {
    match patch(field) {
        Patch::Keep => Patch::Keep,
        Patch::Reset => Patch::Reset,
        Patch::Set(value) => Patch::Set(f(value)),
    }
}

/// `booking_limits.day` and `max_bookings_per_day` are one setting: either may say it, and
/// when both do they must agree (400).
fn one_day_limit(legacy: Patch<i64>, day: Patch<i64>) -> Result<Patch<i64>, ServiceError> {
    match (legacy, day) {
        (Patch::Keep, day) => Ok(day),
        (legacy, Patch::Keep) => Ok(legacy),
        (a, b) if a == b => Ok(a),
        _ => Err(ServiceError::invalid(
            "booking_limits.day and max_bookings_per_day are the same setting; they were given different values",
        )),
    }
}

/// The period limits of an update: the object's fields, or all of them reset by `null`.
fn limits_patch(limits: MaybeUndefined<api::BookingLimitsChange>) -> (Patch<i64>, Patch<i64>, Patch<i64>, Patch<i64>) {
    match limits {
        MaybeUndefined::Undefined => (Patch::Keep, Patch::Keep, Patch::Keep, Patch::Keep),
        MaybeUndefined::Null => (Patch::Reset, Patch::Reset, Patch::Reset, Patch::Reset),
        MaybeUndefined::Value(l) => (patch(l.day), patch(l.week), patch(l.month), patch(l.year)),
    }
}

fn minutes_patch(limits: MaybeUndefined<api::DurationLimitsChange>) -> (Patch<i64>, Patch<i64>) {
    match limits {
        MaybeUndefined::Undefined => (Patch::Keep, Patch::Keep),
        MaybeUndefined::Null => (Patch::Reset, Patch::Reset),
        MaybeUndefined::Value(l) => (patch(l.day), patch(l.week)),
    }
}

/// What an update says of issue #25's rules, added to `schedule` (whose
/// `max_bookings_per_day` the legacy field set), and the location's change.
pub(crate) fn update_rules(
    schedule: &mut SchedulePatch,
    body: &mut api::UpdateBookingLinkRequest,
) -> Result<Patch<Location>, ServiceError> {
    let (day, week, month, year) = limits_patch(std::mem::take(&mut body.booking_limits));
    schedule.max_bookings_per_day = one_day_limit(std::mem::take(&mut schedule.max_bookings_per_day), day)?;
    schedule.max_bookings_per_week = week;
    schedule.max_bookings_per_month = month;
    schedule.max_bookings_per_year = year;
    let (day, week) = minutes_patch(std::mem::take(&mut body.duration_limits_minutes));
    schedule.max_minutes_per_day = day;
    schedule.max_minutes_per_week = week;
    schedule.week_start = patch_with(body.week_start, weekday_from_wire);
    schedule.window_days_kind = patch_with(body.window_days_kind, window_days_from_wire);
    schedule.bookable_from = patch(std::mem::take(&mut body.bookable_from));
    schedule.bookable_until = patch(std::mem::take(&mut body.bookable_until));
    schedule.slot_alignment = patch_with(body.slot_alignment, alignment_from_wire);
    schedule.seats_per_slot = patch(std::mem::take(&mut body.seats_per_slot));
    schedule.requires_confirmation = patch(std::mem::take(&mut body.requires_confirmation));
    schedule.pending_blocks_slot = patch(std::mem::take(&mut body.pending_blocks_slot));
    schedule.pending_expires_minutes = patch(std::mem::take(&mut body.pending_expires_minutes));
    Ok(match std::mem::take(&mut body.location) {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Reset,
        MaybeUndefined::Value(l) => Patch::Set(location_from_wire(&l)?),
    })
}

/// What a new link says of issue #25's rules, added to `raw` (whose `max_bookings_per_day`
/// the legacy field set), and its location.
pub(crate) fn create_rules(
    raw: &mut RawSchedulingRules,
    body: &api::CreateBookingLinkRequest,
) -> Result<Option<Location>, ServiceError> {
    let value = |v: &MaybeUndefined<i64>| v.value().copied();
    if let Some(l) = &body.booking_limits {
        let day = one_day_limit(raw.max_bookings_per_day.into(), value(&l.day).into())?;
        raw.max_bookings_per_day = day.apply(None);
        raw.max_bookings_per_week = value(&l.week);
        raw.max_bookings_per_month = value(&l.month);
        raw.max_bookings_per_year = value(&l.year);
    }
    if let Some(l) = &body.duration_limits_minutes {
        raw.max_minutes_per_day = value(&l.day);
        raw.max_minutes_per_week = value(&l.week);
    }
    raw.week_start = body.week_start.map(weekday_from_wire);
    raw.window_days_kind = body.window_days_kind.map(window_days_from_wire);
    raw.bookable_from = body.bookable_from;
    raw.bookable_until = body.bookable_until;
    raw.slot_alignment = body.slot_alignment.map(alignment_from_wire);
    raw.seats_per_slot = body.seats_per_slot;
    raw.requires_confirmation = body.requires_confirmation;
    raw.pending_blocks_slot = body.pending_blocks_slot;
    raw.pending_expires_minutes = body.pending_expires_minutes;
    body.location.as_ref().map(location_from_wire).transpose()
}

/// The period limits as they apply (null where not set).
pub(crate) fn booking_limits_to_wire(schedule: &SchedulingRules) -> api::BookingLimits {
    let n = |p| schedule.max_bookings(p).map(i64::from);
    api::BookingLimits { day: n(Period::Day), week: n(Period::Week), month: n(Period::Month), year: n(Period::Year) }
}

pub(crate) fn duration_limits_to_wire(schedule: &SchedulingRules) -> api::DurationLimits {
    let n = |p| schedule.max_minutes(p).map(i64::from);
    api::DurationLimits { day: n(Period::Day), week: n(Period::Week) }
}

pub(crate) fn week_start_to_wire(schedule: &SchedulingRules) -> api::WeekStart {
    weekday_to_wire(schedule.week_start())
}

pub(crate) fn window_days_kind_to_wire(schedule: &SchedulingRules) -> api::WindowDaysKind {
    window_days_to_wire(schedule.window_days_kind())
}

pub(crate) fn slot_alignment_to_wire(schedule: &SchedulingRules) -> api::SlotAlignment {
    alignment_to_wire(schedule.slot_alignment())
}

fn scheduling_from_wire(kind: api::Scheduling) -> Scheduling {
    match kind {
        api::Scheduling::Single => Scheduling::Single,
        api::Scheduling::Collective => Scheduling::Collective,
        api::Scheduling::RoundRobin => Scheduling::RoundRobin,
    }
}

pub(super) fn scheduling_to_wire(kind: Scheduling) -> api::Scheduling {
    match kind {
        Scheduling::Single => api::Scheduling::Single,
        Scheduling::Collective => api::Scheduling::Collective,
        Scheduling::RoundRobin => api::Scheduling::RoundRobin,
    }
}

/// Members as given: `weight` 1 when left out, no daily cap of their own when left out or null.
fn members_from_wire(members: Vec<api::TeamMemberRequest>) -> Vec<RawMember> {
    members
        .into_iter()
        .map(|m| RawMember {
            calendar_id: CalendarId::from_uuid(m.calendar_id),
            weight: m.weight.unwrap_or(1),
            max_bookings_per_day: m.max_bookings_per_day.value().copied(),
        })
        .collect()
}

/// What a new link says of its team (issue #25): left out, `single` without members.
pub(crate) fn create_team(body: &mut api::CreateBookingLinkRequest) -> TeamChange {
    TeamChange {
        scheduling: body.scheduling.map_or(Patch::Keep, |k| Patch::Set(scheduling_from_wire(k))),
        members: body.members.take().map_or(Patch::Keep, |m| Patch::Set(members_from_wire(m))),
    }
}

/// What an update says of a link's team: left out keeps, `null` resets (`single`, none).
pub(crate) fn update_team(body: &mut api::UpdateBookingLinkRequest) -> TeamChange {
    TeamChange {
        scheduling: patch_with(std::mem::take(&mut body.scheduling), scheduling_from_wire),
        members: patch_with(std::mem::take(&mut body.members), members_from_wire),
    }
}

/// A link's scheduling and members as its settings echo them.
pub(crate) fn team_to_wire(team: &Team) -> (api::Scheduling, Vec<api::TeamMember>) {
    let members = team
        .members()
        .iter()
        .map(|m| api::TeamMember {
            calendar_id: m.calendar_id().into_uuid(),
            weight: i64::from(m.weight().get()),
            max_bookings_per_day: m.max_bookings_per_day().map(i64::from),
        })
        .collect();
    (scheduling_to_wire(team.scheduling()), members)
}
