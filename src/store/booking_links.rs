//! Booking links: every query of the aggregate. A link belongs to a calendar; who may see the
//! calendar is decided by `store::calendars::secure_find` before any of these run on a caller's
//! behalf (a link's token is its own secret on the public side).

use crate::domain::availability::{
    RawDateOverride, RawSchedulingRules, SchedulingRules, SlotAlignment, WindowDays, WorkingHours,
};
use crate::domain::booking_link::{LinkSettings, Location, LocationKind};
use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::LinkToken;
use crate::entities::booking_links;
use crate::entities::calendar_events::{self, EventSource};
use crate::entities::kinds::WeekStart;
use crate::error::{ServiceError, ServiceResult};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};

/// A link's stored settings (the columns a link's owner may change), from its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub timezone: String,
    /// JSON: `{"mon": [{"start": "09:00", "end": "17:00"}], ...}`.
    pub working_hours: String,
    pub active: bool,
    pub min_notice_minutes: Option<i32>,
    pub max_days_ahead: Option<i32>,
    pub slot_interval_minutes: Option<i32>,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub max_bookings_per_day: Option<i32>,
    /// JSON: `[{"date": "2026-12-24", "windows": [{"start": "09:00", "end": "12:00"}]}]`.
    pub date_overrides: Option<String>,
    pub min_cancel_notice_minutes: Option<i32>,
    pub max_bookings_per_week: Option<i32>,
    pub max_bookings_per_month: Option<i32>,
    pub max_bookings_per_year: Option<i32>,
    pub max_minutes_per_day: Option<i32>,
    pub max_minutes_per_week: Option<i32>,
    pub week_start: Option<WeekStart>,
    pub window_days_kind: Option<WindowDays>,
    pub bookable_from: Option<NaiveDate>,
    pub bookable_until: Option<NaiveDate>,
    pub slot_alignment: Option<SlotAlignment>,
    pub location_kind: Option<LocationKind>,
    pub location_value: Option<String>,
    pub seats_per_slot: Option<i32>,
    pub requires_confirmation: Option<bool>,
    pub pending_blocks_slot: Option<bool>,
    pub pending_expires_minutes: Option<i32>,
}

fn column(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn windows_to_json<S: AsRef<str>>(windows: &[(S, S)]) -> serde_json::Value {
    windows.iter().map(|(start, end)| serde_json::json!({"start": start.as_ref(), "end": end.as_ref()})).collect()
}

fn windows_from_json(what: &str, value: &serde_json::Value) -> Result<Vec<(String, String)>, String> {
    let list = value.as_array().ok_or_else(|| format!("{what} must be a list"))?;
    list.iter()
        .map(|w| {
            let start = w["start"].as_str().ok_or_else(|| format!("{what}: window without start"))?;
            let end = w["end"].as_str().ok_or_else(|| format!("{what}: window without end"))?;
            Ok((start.to_string(), end.to_string()))
        })
        .collect()
}

/// Working hours as stored (`WorkingHours`' `Serialize`), parsed and validated.
fn working_hours_from_json(value: &serde_json::Value) -> Result<WorkingHours, String> {
    let map = value.as_object().ok_or("working hours must be an object")?;
    let mut days = Vec::new();
    for (key, windows) in map {
        days.push((key.as_str(), windows_from_json(key, windows)?));
    }
    let days = days.iter().map(|(key, ws)| (*key, ws.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()));
    WorkingHours::parse(days).map_err(|e| e.to_string())
}

fn overrides_to_json(list: &[RawDateOverride]) -> serde_json::Value {
    list.iter().map(|o| serde_json::json!({"date": o.date, "windows": windows_to_json(&o.windows)})).collect()
}

fn overrides_from_json(value: &serde_json::Value) -> Result<Vec<RawDateOverride>, String> {
    let list = value.as_array().ok_or("date overrides must be a list")?;
    list.iter()
        .map(|o| {
            let date = o["date"].as_str().ok_or("a date override without date")?.to_string();
            let windows = windows_from_json(&date, &o["windows"])?;
            Ok(RawDateOverride { date, windows })
        })
        .collect()
}

impl StoredSettings {
    /// The columns of `settings`: the scheduling rules as set (NULL where not set).
    pub fn of(settings: &LinkSettings) -> Self {
        let raw = settings.rules.schedule.to_raw();
        let opt = |v: Option<i64>| v.map(column);
        StoredSettings {
            duration_minutes: column(settings.duration_minutes),
            buffer_minutes: column(settings.buffer_minutes),
            timezone: settings.timezone.clone(),
            working_hours: serde_json::json!(settings.rules.hours).to_string(),
            active: settings.active,
            min_notice_minutes: opt(raw.min_notice_minutes),
            max_days_ahead: opt(raw.max_days_ahead),
            slot_interval_minutes: opt(raw.slot_interval_minutes),
            buffer_before_minutes: opt(raw.buffer_before_minutes),
            buffer_after_minutes: opt(raw.buffer_after_minutes),
            max_bookings_per_day: opt(raw.max_bookings_per_day),
            date_overrides: raw.date_overrides.as_deref().map(|list| overrides_to_json(list).to_string()),
            min_cancel_notice_minutes: opt(raw.min_cancel_notice_minutes),
            max_bookings_per_week: opt(raw.max_bookings_per_week),
            max_bookings_per_month: opt(raw.max_bookings_per_month),
            max_bookings_per_year: opt(raw.max_bookings_per_year),
            max_minutes_per_day: opt(raw.max_minutes_per_day),
            max_minutes_per_week: opt(raw.max_minutes_per_week),
            week_start: raw.week_start.map(WeekStart),
            window_days_kind: raw.window_days_kind,
            bookable_from: raw.bookable_from,
            bookable_until: raw.bookable_until,
            slot_alignment: raw.slot_alignment,
            location_kind: settings.location.as_ref().map(Location::kind),
            location_value: settings.location.as_ref().map(|l| l.value().to_string()),
            seats_per_slot: opt(raw.seats_per_slot),
            requires_confirmation: raw.requires_confirmation,
            pending_blocks_slot: raw.pending_blocks_slot,
            pending_expires_minutes: opt(raw.pending_expires_minutes),
        }
    }

    /// Sets every settings column of `model` to these.
    fn set_on(self, model: &mut booking_links::ActiveModel) {
        model.duration_minutes = Set(self.duration_minutes);
        model.buffer_minutes = Set(self.buffer_minutes);
        model.timezone = Set(self.timezone);
        model.working_hours = Set(self.working_hours);
        model.active = Set(self.active);
        model.min_notice_minutes = Set(self.min_notice_minutes);
        model.max_days_ahead = Set(self.max_days_ahead);
        model.slot_interval_minutes = Set(self.slot_interval_minutes);
        model.buffer_before_minutes = Set(self.buffer_before_minutes);
        model.buffer_after_minutes = Set(self.buffer_after_minutes);
        model.max_bookings_per_day = Set(self.max_bookings_per_day);
        model.date_overrides = Set(self.date_overrides);
        model.min_cancel_notice_minutes = Set(self.min_cancel_notice_minutes);
        model.max_bookings_per_week = Set(self.max_bookings_per_week);
        model.max_bookings_per_month = Set(self.max_bookings_per_month);
        model.max_bookings_per_year = Set(self.max_bookings_per_year);
        model.max_minutes_per_day = Set(self.max_minutes_per_day);
        model.max_minutes_per_week = Set(self.max_minutes_per_week);
        model.week_start = Set(self.week_start);
        model.window_days_kind = Set(self.window_days_kind);
        model.bookable_from = Set(self.bookable_from);
        model.bookable_until = Set(self.bookable_until);
        model.slot_alignment = Set(self.slot_alignment);
        model.location_kind = Set(self.location_kind);
        model.location_value = Set(self.location_value);
        model.seats_per_slot = Set(self.seats_per_slot);
        model.requires_confirmation = Set(self.requires_confirmation);
        model.pending_blocks_slot = Set(self.pending_blocks_slot);
        model.pending_expires_minutes = Set(self.pending_expires_minutes);
    }
}

/// A stored link's settings, parsed (a row that does not parse is an internal error).
pub fn settings_of(link: &booking_links::Model) -> ServiceResult<LinkSettings> {
    let bad = |what: &str, e: String| ServiceError::internal(format!("stored {what} of a link: {e}"));
    let json: serde_json::Value =
        serde_json::from_str(&link.working_hours).map_err(|e| bad("working hours", e.to_string()))?;
    let hours = working_hours_from_json(&json).map_err(|e| bad("working hours", e))?;
    let date_overrides = match &link.date_overrides {
        None => None,
        Some(text) => {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|e| bad("date overrides", e.to_string()))?;
            Some(overrides_from_json(&json).map_err(|e| bad("date overrides", e))?)
        }
    };
    let opt = |v: Option<i32>| v.map(i64::from);
    let raw = RawSchedulingRules {
        min_notice_minutes: opt(link.min_notice_minutes),
        max_days_ahead: opt(link.max_days_ahead),
        slot_interval_minutes: opt(link.slot_interval_minutes),
        buffer_before_minutes: opt(link.buffer_before_minutes),
        buffer_after_minutes: opt(link.buffer_after_minutes),
        date_overrides,
        max_bookings_per_day: opt(link.max_bookings_per_day),
        min_cancel_notice_minutes: opt(link.min_cancel_notice_minutes),
        max_bookings_per_week: opt(link.max_bookings_per_week),
        max_bookings_per_month: opt(link.max_bookings_per_month),
        max_bookings_per_year: opt(link.max_bookings_per_year),
        max_minutes_per_day: opt(link.max_minutes_per_day),
        max_minutes_per_week: opt(link.max_minutes_per_week),
        week_start: link.week_start.map(|w| w.0),
        window_days_kind: link.window_days_kind,
        bookable_from: link.bookable_from,
        bookable_until: link.bookable_until,
        slot_alignment: link.slot_alignment,
        seats_per_slot: opt(link.seats_per_slot),
        requires_confirmation: link.requires_confirmation,
        pending_blocks_slot: link.pending_blocks_slot,
        pending_expires_minutes: opt(link.pending_expires_minutes),
    };
    let location = match (link.location_kind, &link.location_value) {
        (Some(kind), Some(value)) => Some(Location::parse(kind, value).map_err(|e| bad("location", e))?),
        _ => None,
    };
    let schedule = SchedulingRules::parse(&raw).map_err(|e| bad("scheduling rules", e.to_string()))?;
    LinkSettings::parse(
        link.duration_minutes.into(),
        link.buffer_minutes.into(),
        &link.timezone,
        hours,
        link.active,
        schedule,
    )
    .map(|s| s.with_location(location))
    .map_err(|e| bad("settings", e))
}

/// The live reservations made through link `token` that start in `[from, to)`, as they count
/// towards its limits: one span per reservation, and one per session for the seats of a session
/// (they are one booking; see `availability::seats`); but for the reservation `except` (one
/// being moved).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn reservation_spans(
    db: &impl ConnectionTrait,
    token: &LinkToken,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<CalendarEventId>,
) -> ServiceResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>, Option<CalendarEventId>)> = crate::ctx!(
        live_reservations(token, from, to, except)
            .select_only()
            .column(calendar_events::Column::StartsAt)
            .column(calendar_events::Column::EndsAt)
            .column(calendar_events::Column::SessionId)
            .into_tuple()
            .all(db)
            .await
    )?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|(_, _, session)| session.is_none_or(|id| seen.insert(id)))
        .map(|(start, end, _)| (start, end))
        .collect())
}

/// A session as [`sessions`] reads it: its id, start and end, and its live seats.
pub type SessionRow = (CalendarEventId, DateTime<Utc>, DateTime<Utc>, i64);

/// The sessions of link `token` (the seats of one slot, `session_id` set) that start in
/// `[from, to)`: each session's id, slot and how many live seats it holds, but for the
/// reservation `except` (one being moved).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn sessions(
    db: &impl ConnectionTrait,
    token: &LinkToken,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<CalendarEventId>,
) -> ServiceResult<Vec<SessionRow>> {
    crate::ctx!(
        live_reservations(token, from, to, except)
            .filter(calendar_events::Column::SessionId.is_not_null())
            .select_only()
            .column(calendar_events::Column::SessionId)
            .column(calendar_events::Column::StartsAt)
            .column(calendar_events::Column::EndsAt)
            .column_as(calendar_events::Column::Id.count(), "taken")
            .group_by(calendar_events::Column::SessionId)
            .group_by(calendar_events::Column::StartsAt)
            .group_by(calendar_events::Column::EndsAt)
            .order_by_asc(calendar_events::Column::StartsAt)
            .into_tuple()
            .all(db)
            .await
    )
}

/// Live reservations through link `token` starting in `[from, to)` that hold their time (a
/// pending one that does not is counted nowhere), but for `except`.
fn live_reservations(
    token: &LinkToken,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<CalendarEventId>,
) -> sea_orm::Select<calendar_events::Entity> {
    let mut query = calendar_events::Entity::find();
    if let Some(except) = except {
        query = query.filter(calendar_events::Column::Id.ne(except));
    }
    query
        .filter(calendar_events::Column::BookingLinkToken.eq(token.clone()))
        .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
        .filter(calendar_events::Column::Cancelled.eq(false))
        .filter(calendar_events::Column::HoldsSlot.eq(true))
        .filter(calendar_events::Column::StartsAt.gte(from))
        .filter(calendar_events::Column::StartsAt.lt(to))
}

#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn insert(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    settings: StoredSettings,
    now: DateTime<Utc>,
) -> ServiceResult<booking_links::Model> {
    let mut model = booking_links::ActiveModel {
        calendar_id: Set(calendar_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    settings.set_on(&mut model);
    crate::ctx!(model.insert(db).await)
}

/// Up to `limit` links of a calendar, newest first then by token, after the `(created_at,
/// token)` of the last one a previous page showed.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn page_of_calendar(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    after: Option<(DateTime<Utc>, &str)>,
    limit: u64,
) -> ServiceResult<Vec<booking_links::Model>> {
    let mut query = booking_links::Entity::find()
        .filter(booking_links::Column::CalendarId.eq(calendar_id))
        .order_by_desc(booking_links::Column::CreatedAt)
        .order_by_asc(booking_links::Column::Token);
    if let Some((at, token)) = after {
        query = query.filter(Condition::any().add(booking_links::Column::CreatedAt.lt(at)).add(
            Condition::all().add(booking_links::Column::CreatedAt.eq(at)).add(booking_links::Column::Token.gt(token)),
        ));
    }
    crate::ctx!(query.limit(limit).all(db).await)
}

/// The link `token` of this calendar, active or not.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn find_in_calendar(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    token: &LinkToken,
) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(
        booking_links::Entity::find_by_id(token.clone())
            .filter(booking_links::Column::CalendarId.eq(calendar_id))
            .one(db)
            .await
    )
}

/// Stores new settings of a link, changed at `now`.
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %link.calendar_id), err(level = "debug", Display))]
pub async fn update_settings(
    db: &impl ConnectionTrait,
    link: booking_links::Model,
    settings: StoredSettings,
    now: DateTime<Utc>,
) -> ServiceResult<booking_links::Model> {
    let mut active: booking_links::ActiveModel = link.into();
    settings.set_on(&mut active);
    active.updated_at = Set(now);
    crate::ctx!(active.update(db).await)
}

/// The link `token` if it is active (the public side: anyone holding the token).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn find_active(db: &impl ConnectionTrait, token: &LinkToken) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(
        booking_links::Entity::find_by_id(token.clone()).filter(booking_links::Column::Active.eq(true)).one(db).await
    )
}

/// The link `token`, active or not.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn find(db: &impl ConnectionTrait, token: &LinkToken) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(booking_links::Entity::find_by_id(token.clone()).one(db).await)
}

/// The link `token`, active or not, read in the statement that locks its calendar (as
/// [`lock_active_with_calendar`]): a reservation's visitor still cancels through a link
/// switched off.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn lock_with_calendar(
    txn: &impl ConnectionTrait,
    token: &LinkToken,
) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(
        booking_links::Entity::find()
            .join(JoinType::InnerJoin, booking_links::Relation::Calendar.def())
            .filter(booking_links::Column::Token.eq(token.clone()))
            .lock_exclusive()
            .one(txn)
            .await
    )
}

/// The link `token`, still active, read in the statement that locks its calendar (PostgreSQL
/// locks the rows of both tables): concurrent reservations of one calendar queue up here.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn lock_active_with_calendar(
    txn: &impl ConnectionTrait,
    token: &LinkToken,
) -> ServiceResult<Option<booking_links::Model>> {
    // An inactive link's calendar stays locked until the caller's transaction ends: harmless,
    // it answers 404 at once.
    Ok(lock_with_calendar(txn, token).await?.filter(|link| link.active))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How the column was written before `WorkingHours` serialized itself.
    fn as_before(hours: &WorkingHours) -> String {
        use crate::domain::availability::format_hhmm;
        let map: serde_json::Map<String, serde_json::Value> = hours
            .iter()
            .map(|(key, windows)| {
                let windows: Vec<_> = windows.iter().map(|w| (format_hhmm(w.start), format_hhmm(w.end))).collect();
                (key.to_string(), windows_to_json(&windows))
            })
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    #[test]
    fn working_hours_are_stored_as_before() {
        let hours = WorkingHours::parse([
            ("mon", vec![("13:00", "17:00"), ("09:00", "12:00")]),
            ("sun", vec![("00:00", "24:00")]),
            ("wed", vec![]),
        ])
        .unwrap();
        for hours in [hours, WorkingHours::default()] {
            let stored = serde_json::json!(hours).to_string();
            assert_eq!(stored, as_before(&hours));
            let read = serde_json::from_str(&stored).unwrap();
            assert_eq!(working_hours_from_json(&read), Ok(hours));
        }
    }
}
