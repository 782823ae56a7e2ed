//! `Calendars` tag (companion document): calendars, busy time, booking-link management.

use super::link_rules::{self, patch};
use super::{absent_if_none, instant, link_token, wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, CalendarsHandlers};
use crate::auth::Principal;
use crate::domain::availability::{format_hhmm, HoursWindow, RawDateOverride, SchedulePatch, Team, WorkingHours};
use crate::domain::booking_link::LinkSettings;
use crate::domain::calendar::{NewEvent, LIST_RANGE};
use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::{FreeText, Name, TimeRange, MAX_NAME_CHARS, MAX_TEXT_CHARS};
use crate::domain::page::{ListKind, Page, PageRequest, MAX_ITEMS};
use crate::entities::{booking_links, calendar_events, calendars};
use crate::error::ServiceError;
use crate::policy::{BookingWriter, CalendarWriter};
use crate::services::booking_links::{settings_of, BookingLinks, Decision, LinkChanges};
use crate::services::calendars::EventGroup;
use chrono::Weekday;
use uuid::Uuid;

/// The `X-Truncated` and `X-Next-Cursor` headers of a page: each only when more items follow.
pub(crate) fn page_headers<T>(page: &Page<T>) -> (Option<bool>, Option<String>) {
    (page.truncated.then_some(true), page.next.as_ref().map(|c| c.encode()))
}

pub(crate) fn calendar_to_wire(c: calendars::Model) -> api::Calendar {
    api::Calendar {
        id: c.id.into_uuid(),
        owner_id: c.owner_id.into_uuid(),
        name: c.name,
        created_at: wire(c.created_at),
    }
}

/// An event as its owner sees it: a session's seats as one event (its id the session's), with
/// every visitor holding a seat among its attendees.
/// (The store answers no group without an event; one would be left out.)
pub(crate) fn group_to_wire(group: EventGroup) -> Option<api::Event> {
    let mut events = group.events.into_iter();
    let first = events.next()?;
    let mut attendees: Vec<api::Attendee> = attendee_of(&first).into_iter().collect();
    attendees.extend(events.filter_map(|e| attendee_of(&e)));
    Some(api::Event { id: group.key.into_uuid(), attendees, ..event_to_wire(first) })
}

fn attendee_of(e: &calendar_events::Model) -> Option<api::Attendee> {
    Some(api::Attendee {
        reservation_id: e.id.into_uuid(),
        name: e.attendee_name.clone()?,
        email: poem_openapi::types::Email(e.attendee_email.clone()?),
    })
}

pub(crate) fn event_to_wire(e: calendar_events::Model) -> api::Event {
    api::Event {
        attendees: attendee_of(&e).into_iter().collect(),
        pending: e.is_pending(),
        id: e.id.into_uuid(),
        calendar_id: e.calendar_id.into_uuid(),
        title: e.title,
        start: wire(e.starts_at),
        end: wire(e.ends_at),
        notes: e.notes,
        source: e.source.into(),
        booking_link_token: absent_if_none(e.booking_link_token.map(|t| t.to_string())),
        attendee_name: absent_if_none(e.attendee_name),
        attendee_email: absent_if_none(e.attendee_email.map(poem_openapi::types::Email)),
        location: absent_if_none(e.location),
        created_at: wire(e.created_at),
    }
}

/// The seven `(day key, windows)` of either of the contract's working-hours shapes.
macro_rules! day_windows {
    ($hours:expr) => {{
        let h = $hours;
        [
            ("mon", &h.mon),
            ("tue", &h.tue),
            ("wed", &h.wed),
            ("thu", &h.thu),
            ("fri", &h.fri),
            ("sat", &h.sat),
            ("sun", &h.sun),
        ]
    }};
}
pub(crate) use day_windows;

/// Working hours from the wire's `{mon: [...], ...}` (either of the contract's two shapes).
pub(crate) fn working_hours_from_wire(
    days: [(&str, &Option<Vec<api::WorkingHourSlot>>); 7],
) -> Result<WorkingHours, ApiError> {
    let days = days.iter().filter_map(|(key, windows)| {
        windows.as_ref().map(|ws| (*key, ws.iter().map(|w| (w.start.as_str(), w.end.as_str())).collect::<Vec<_>>()))
    });
    WorkingHours::parse(days).map_err(|e| ServiceError::Invalid(e.to_string()).into())
}

fn windows_to_wire(windows: &[HoursWindow]) -> Vec<api::WorkingHourSlot> {
    windows.iter().map(|w| api::WorkingHourSlot { start: format_hhmm(w.start), end: format_hhmm(w.end) }).collect()
}

/// Every day, with its windows (an empty list when it has none).
fn working_hours_to_wire(hours: &WorkingHours) -> api::WorkingHours {
    let day = |d: Weekday| Some(windows_to_wire(hours.day(d)));
    api::WorkingHours {
        mon: day(Weekday::Mon),
        tue: day(Weekday::Tue),
        wed: day(Weekday::Wed),
        thu: day(Weekday::Thu),
        fri: day(Weekday::Fri),
        sat: day(Weekday::Sat),
        sun: day(Weekday::Sun),
    }
}

/// Date overrides as the domain takes them.
pub(crate) fn overrides_from_wire(list: Option<&Vec<api::DateOverride>>) -> Option<Vec<RawDateOverride>> {
    list.map(|list| {
        list.iter()
            .map(|o| RawDateOverride {
                date: o.date.format("%Y-%m-%d").to_string(),
                windows: o.windows.iter().map(|w| (w.start.clone(), w.end.clone())).collect(),
            })
            .collect()
    })
}

/// A link's settings as they apply (see `BookingLinkSettings` in the contract).
pub(crate) fn settings_to_wire(settings: &LinkSettings, team: &Team) -> api::BookingLinkSettings {
    let (scheduling, members) = link_rules::team_to_wire(team);
    let rules = &settings.rules;
    let schedule = &rules.schedule;
    api::BookingLinkSettings {
        duration_minutes: settings.duration_minutes,
        buffer_minutes: settings.common_buffer_minutes(),
        timezone: settings.timezone.clone(),
        working_hours: working_hours_to_wire(&rules.hours),
        active: settings.active,
        min_notice_minutes: schedule.min_notice().num_minutes(),
        max_days_ahead: schedule.max_days_ahead().map(i64::from),
        slot_interval_minutes: rules.interval().num_minutes(),
        buffer_before_minutes: rules.buffer_before().num_minutes(),
        buffer_after_minutes: rules.buffer_after().num_minutes(),
        date_overrides: schedule
            .date_overrides()
            .iter()
            .map(|o| api::DateOverride { date: o.date(), windows: windows_to_wire(o.windows()) })
            .collect(),
        max_bookings_per_day: schedule.max_bookings_per_day().map(i64::from),
        min_cancel_notice_minutes: schedule.min_cancel_notice().num_minutes(),
        booking_limits: link_rules::booking_limits_to_wire(schedule),
        duration_limits_minutes: link_rules::duration_limits_to_wire(schedule),
        week_start: link_rules::week_start_to_wire(schedule),
        window_days_kind: link_rules::window_days_kind_to_wire(schedule),
        bookable_from: schedule.bookable_from(),
        bookable_until: schedule.bookable_until(),
        slot_alignment: link_rules::slot_alignment_to_wire(schedule),
        location: settings.location.as_ref().map(link_rules::location_to_wire),
        seats_per_slot: i64::from(schedule.seats_per_slot()),
        requires_confirmation: schedule.requires_confirmation(),
        pending_blocks_slot: schedule.pending_blocks_slot(),
        pending_expires_minutes: schedule.pending_expires().map(|d| d.num_minutes()),
        scheduling,
        members,
    }
}

pub(crate) fn link_to_wire(
    links: &BookingLinks<'_>,
    link: booking_links::Model,
    team: &Team,
) -> Result<api::BookingLink, ApiError> {
    let settings = settings_of(&link)?;
    Ok(api::BookingLink {
        public_url: links.public_url(&link.token),
        settings: settings_to_wire(&settings, team),
        token: link.token.to_string(),
        created_at: wire(link.created_at),
    })
}

impl CalendarsHandlers for Handlers {
    async fn create_calendar(
        &self,
        principal: Principal,
        body: api::CreateCalendarRequest,
    ) -> Result<api::CreateCalendarResponse, ApiError> {
        let writer = CalendarWriter::authorize(&principal)?;
        let name = Name::parse("name", &body.name, MAX_NAME_CHARS)?;
        let calendar = self.calendars().create(writer, name).await?;
        Ok(api::CreateCalendarResponse::Created(Json(calendar_to_wire(calendar))))
    }

    async fn get_calendar(&self, principal: Principal, id: Uuid) -> Result<api::GetCalendarResponse, ApiError> {
        let calendar = self.calendars().get(&principal, CalendarId::from_uuid(id)).await?;
        Ok(api::GetCalendarResponse::Ok(Json(calendar_to_wire(calendar))))
    }

    async fn create_calendar_event(
        &self,
        principal: Principal,
        id: Uuid,
        body: api::CreateCalendarEventRequest,
    ) -> Result<api::CreateCalendarEventResponse, ApiError> {
        let writer = CalendarWriter::authorize(&principal)?;
        let event = NewEvent::parse(&body.title, body.start, body.end, body.notes.as_deref())?;
        let event = self.calendars().create_event(writer, CalendarId::from_uuid(id), event).await?;
        Ok(api::CreateCalendarEventResponse::Created(Json(event_to_wire(event))))
    }

    async fn list_calendar_events(
        &self,
        principal: Principal,
        id: Uuid,
        start: chrono::DateTime<chrono::FixedOffset>,
        end: chrono::DateTime<chrono::FixedOffset>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> Result<api::ListCalendarEventsResponse, ApiError> {
        let (start, end) = (instant("start", start)?, instant("end", end)?);
        let page = PageRequest::parse(ListKind::CalendarEvents, limit, cursor.as_deref(), MAX_ITEMS)
            .map_err(ServiceError::Invalid)?;
        let range = TimeRange::parse(&LIST_RANGE, start, end)?;
        let events = self.calendars().list_events(&principal, CalendarId::from_uuid(id), range, page).await?;
        let (truncated, next) = page_headers(&events);
        Ok(api::ListCalendarEventsResponse::Ok(
            Json(events.items.into_iter().filter_map(group_to_wire).collect()),
            truncated,
            next,
        ))
    }

    async fn delete_calendar_event(
        &self,
        principal: Principal,
        id: Uuid,
        event_id: Uuid,
    ) -> Result<api::DeleteCalendarEventResponse, ApiError> {
        let writer = CalendarWriter::authorize(&principal)?;
        let (id, event_id) = (CalendarId::from_uuid(id), CalendarEventId::from_uuid(event_id));
        self.calendars().delete_event(writer, id, event_id).await?;
        Ok(api::DeleteCalendarEventResponse::NoContent)
    }

    async fn confirm_reservation(
        &self,
        principal: Principal,
        id: Uuid,
        reservation_id: Uuid,
    ) -> Result<api::ConfirmReservationResponse, ApiError> {
        let writer = CalendarWriter::authorize(&principal)?;
        let (id, reservation_id) = (CalendarId::from_uuid(id), CalendarEventId::from_uuid(reservation_id));
        let event = self.links().decide_reservation(writer, id, reservation_id, Decision::Confirm).await?;
        Ok(api::ConfirmReservationResponse::Ok(Json(event_to_wire(event))))
    }

    async fn decline_reservation(
        &self,
        principal: Principal,
        id: Uuid,
        reservation_id: Uuid,
        body: api::DeclineReservationRequest,
    ) -> Result<api::DeclineReservationResponse, ApiError> {
        let writer = CalendarWriter::authorize(&principal)?;
        let reason = FreeText::parse_opt("reason", body.reason.as_deref(), MAX_TEXT_CHARS)?;
        let (id, reservation_id) = (CalendarId::from_uuid(id), CalendarEventId::from_uuid(reservation_id));
        let event = self.links().decide_reservation(writer, id, reservation_id, Decision::Decline(reason)).await?;
        Ok(api::DeclineReservationResponse::Ok(Json(event_to_wire(event))))
    }

    async fn list_booking_links(
        &self,
        principal: Principal,
        id: Uuid,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> Result<api::ListBookingLinksResponse, ApiError> {
        let page = PageRequest::parse(ListKind::BookingLinks, limit, cursor.as_deref(), MAX_ITEMS)
            .map_err(ServiceError::Invalid)?;
        let links = self.links();
        let found = links.list_links(&principal, CalendarId::from_uuid(id), page).await?;
        let (truncated, next) = page_headers(&found);
        let teams = links.teams(&found.items).await?;
        let wire = found
            .items
            .into_iter()
            .zip(&teams)
            .map(|(l, team)| link_to_wire(&links, l, team))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(api::ListBookingLinksResponse::Ok(Json(wire), truncated, next))
    }

    async fn update_booking_link(
        &self,
        principal: Principal,
        id: Uuid,
        token: String,
        mut body: api::UpdateBookingLinkRequest,
    ) -> Result<api::UpdateBookingLinkResponse, ApiError> {
        let writer = BookingWriter::authorize(&principal)?;
        let token = link_token(&token)?;
        let working_hours = match &body.working_hours {
            Some(h) => Some(working_hours_from_wire(day_windows!(h))?),
            None => None,
        };
        let mut schedule = SchedulePatch {
            min_notice_minutes: body.min_notice_minutes.into(),
            max_days_ahead: patch(body.max_days_ahead),
            slot_interval_minutes: patch(body.slot_interval_minutes),
            buffer_before_minutes: body.buffer_before_minutes.into(),
            buffer_after_minutes: body.buffer_after_minutes.into(),
            date_overrides: overrides_from_wire(body.date_overrides.as_ref()).into(),
            max_bookings_per_day: patch(body.max_bookings_per_day),
            min_cancel_notice_minutes: body.min_cancel_notice_minutes.into(),
            ..SchedulePatch::default()
        };
        let location = link_rules::update_rules(&mut schedule, &mut body)?;
        let team = link_rules::update_team(&mut body);
        let changes = LinkChanges {
            duration_minutes: body.duration_minutes,
            buffer_minutes: body.buffer_minutes,
            timezone: body.timezone,
            working_hours,
            active: body.active,
            schedule,
            location,
        };
        let links = self.links();
        let (link, team) = links.update_link(writer, CalendarId::from_uuid(id), &token, changes, team).await?;
        Ok(api::UpdateBookingLinkResponse::Ok(Json(link_to_wire(&links, link, &team)?)))
    }
}
