//! Calendars and their busy time (events): the owner's use cases.
//!
//! Style: a small struct per service holding exactly what its use cases need (a connection,
//! the clock, the availability cache), built by the edge from the app state or by a test from
//! a bare connection. Every decision of who may act goes through `policy`.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::domain::calendar::NewEvent;
use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::{Name, TimeRange};
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::{calendar_events, calendars};
use crate::error::{ServiceError, ServiceResult};
use crate::policy::{visibility, CalendarWriter};
use crate::services::availability_cache::AvailabilityCache;
use crate::store::calendars as store;
pub use crate::store::calendars::EventGroup;
use sea_orm::{ConnectionTrait, DatabaseConnection};

#[derive(Clone, Copy)]
pub struct Calendars<'a> {
    pub db: &'a DatabaseConnection,
    pub clock: Clock,
    pub cache: &'a AvailabilityCache,
}

/// The calendar, if the caller owns it (or is an admin): 404 when it does not exist, 403 when
/// it is someone else's. Read through [`store::find_visible`], so only what the caller may see
/// is ever loaded.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id, calendar_id = %id), err(level = "debug", Display))]
pub async fn find_owned(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: CalendarId,
) -> ServiceResult<calendars::Model> {
    if let Some(calendar) = store::find_visible(db, visibility(principal), id).await? {
        return Ok(calendar);
    }
    if store::exists(db, id).await? {
        Err(ServiceError::denied("only the calendar's owner may do this"))
    } else {
        Err(ServiceError::not_found(format!("calendar {id} not found")))
    }
}

impl<'a> Calendars<'a> {
    pub fn new(db: &'a DatabaseConnection, clock: Clock, cache: &'a AvailabilityCache) -> Self {
        Self { db, clock, cache }
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %id), err(level = "info", Display))]
    pub async fn get(&self, principal: &Principal, id: CalendarId) -> ServiceResult<calendars::Model> {
        find_owned(self.db, principal, id).await
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn create(&self, writer: CalendarWriter<'_>, name: Name) -> ServiceResult<calendars::Model> {
        let calendar = store::insert(self.db, writer.principal().user_id, name.as_str(), self.clock.now()).await?;
        tracing::Span::current().record("calendar_id", tracing::field::display(calendar.id));
        Ok(calendar)
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = %calendar_id, event_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn create_event(
        &self,
        writer: CalendarWriter<'_>,
        calendar_id: CalendarId,
        event: NewEvent,
    ) -> ServiceResult<calendar_events::Model> {
        find_owned(self.db, writer.principal(), calendar_id).await?;
        let event = store::insert_event(self.db, calendar_id, &event, self.clock.now()).await?;
        tracing::Span::current().record("event_id", tracing::field::display(event.id));
        self.cache.invalidate_calendar(calendar_id);
        Ok(event)
    }

    /// One page of a calendar's live events overlapping `range`, by start then id; the page
    /// goes on after `page.after` (keyset, so inserts never shift it) and is cut in the query.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, calendar_id = %calendar_id), err(level = "info", Display))]
    pub async fn list_events(
        &self,
        principal: &Principal,
        calendar_id: CalendarId,
        range: TimeRange,
        page: PageRequest,
    ) -> ServiceResult<Page<EventGroup>> {
        let after = match &page.after {
            Some(c) => Some((c.at, c.key.parse().map(CalendarEventId::from_uuid).map_err(|_| bad_cursor())?)),
            None => None,
        };
        find_owned(self.db, principal, calendar_id).await?;
        let rows = store::live_events_page(self.db, calendar_id, range, after, page.fetch()).await?;
        Ok(Page::cut(rows, &page, |g| {
            g.events.first().map(|e| Cursor::new(ListKind::CalendarEvents, e.starts_at, g.key.to_string()))
        }))
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %writer.principal().user_id, calendar_id = %calendar_id, event_id = %event_id), err(level = "info", Display))]
    pub async fn delete_event(
        &self,
        writer: CalendarWriter<'_>,
        calendar_id: CalendarId,
        event_id: CalendarEventId,
    ) -> ServiceResult<()> {
        find_owned(self.db, writer.principal(), calendar_id).await?;
        // A session's seats are cancelled together or not at all.
        let txn = crate::ctx!(crate::db::begin_write(self.db).await)?;
        let events = store::find_live_event(&txn, calendar_id, event_id).await?;
        if events.is_empty() {
            return Err(ServiceError::not_found(format!("event {event_id} not found in calendar {calendar_id}")));
        }
        // A collective team link's booking (issue #25) needs every member: deleting one
        // member's event cancels every member's.
        let events = match events.first().and_then(|e| e.team_booking_id) {
            Some(booking) => crate::store::team_links::booking_rows(&txn, booking).await?,
            None => events,
        };
        let now = self.clock.now();
        let mut changed = vec![calendar_id];
        for event in events {
            changed.push(event.calendar_id);
            store::cancel_event(&txn, event, now).await?;
        }
        crate::ctx!(txn.commit().await)?;
        changed.sort();
        changed.dedup();
        for calendar in changed {
            self.cache.invalidate_calendar(calendar);
        }
        Ok(())
    }
}

fn bad_cursor() -> ServiceError {
    ServiceError::invalid("cursor is not one this list answered")
}
