//! Team links (issue #25): a link's members and the reservations made through it per member.
//! Every query of `booking_link_members` lives here, and the team side of `calendar_events`: a
//! reservation through a team link is an ordinary reservation row (`booking_link_token` set) on
//! the calendar of the member it went to; a collective booking is one row per member calendar,
//! all carrying `team_booking_id` (the visitor's own row's id).

use crate::domain::availability::{RawMember, Scheduling, Team};
use crate::domain::booking_link::Reservation;
use crate::domain::ids::{CalendarEventId, CalendarId};
use crate::domain::input::LinkToken;
use crate::entities::calendar_events::{self, EventSource};
use crate::entities::{booking_link_members, booking_links, calendars};
use crate::error::{ServiceError, ServiceResult};
use crate::policy::Visibility;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::HashMap;

/// The scheduling a stored link has (NULL: single).
#[must_use]
pub fn scheduling_of(link: &booking_links::Model) -> Scheduling {
    link.scheduling.unwrap_or_default()
}

/// Whether a stored link is a team link (collective or round robin).
#[must_use]
pub fn is_team(link: &booking_links::Model) -> bool {
    scheduling_of(link) != Scheduling::Single
}

fn team_from_rows(scheduling: Scheduling, rows: &[booking_link_members::Model]) -> ServiceResult<Team> {
    let raw: Vec<RawMember> = rows
        .iter()
        .map(|m| RawMember {
            calendar_id: m.calendar_id,
            weight: i64::from(m.weight),
            max_bookings_per_day: m.max_bookings_per_day.map(i64::from),
        })
        .collect();
    Team::parse(scheduling, &raw).map_err(|e| ServiceError::internal(format!("a stored team link: {e}")))
}

/// A link's team: its scheduling and members in order (none for `single`). A team link whose
/// member calendars were all deleted has no team left: it is read as offering nothing
/// (`Team::default()` members are empty; see [`crate::services::booking_links`]).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn team_of(db: &impl ConnectionTrait, link: &booking_links::Model) -> ServiceResult<Team> {
    Ok(teams_of(db, std::slice::from_ref(link)).await?.pop().unwrap_or_default())
}

/// The teams of `links`, in their order, in one query.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn teams_of(db: &impl ConnectionTrait, links: &[booking_links::Model]) -> ServiceResult<Vec<Team>> {
    let tokens: Vec<LinkToken> = links.iter().filter(|l| is_team(l)).map(|l| l.token.clone()).collect();
    let mut rows: HashMap<LinkToken, Vec<booking_link_members::Model>> = HashMap::new();
    if !tokens.is_empty() {
        let found = crate::ctx!(
            booking_link_members::Entity::find()
                .filter(booking_link_members::Column::BookingLinkToken.is_in(tokens))
                .order_by_asc(booking_link_members::Column::BookingLinkToken)
                .order_by_asc(booking_link_members::Column::Position)
                .all(db)
                .await
        )?;
        for row in found {
            rows.entry(row.booking_link_token.clone()).or_default().push(row);
        }
    }
    links
        .iter()
        .map(|l| match scheduling_of(l) {
            Scheduling::Single => Ok(Team::default()),
            kind => match rows.get(&l.token) {
                Some(members) => team_from_rows(kind, members),
                // Every member calendar was deleted (their rows went with them).
                None => Ok(Team::default()),
            },
        })
        .collect()
}

/// Which of `ids` the caller may use as members (`scope`: an admin any calendar, anyone else
/// their own): the ones that are not, by position. Says nothing of whether they exist.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn not_usable(db: &impl ConnectionTrait, scope: Visibility, ids: &[CalendarId]) -> ServiceResult<Vec<usize>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = calendars::Entity::find().filter(calendars::Column::Id.is_in(ids.iter().copied()));
    if let Visibility::Of(owner) = scope {
        query = query.filter(calendars::Column::OwnerId.eq(owner));
    }
    let found: Vec<CalendarId> =
        crate::ctx!(query.select_only().column(calendars::Column::Id).into_tuple().all(db).await)?;
    Ok(ids.iter().enumerate().filter(|(_, id)| !found.contains(id)).map(|(i, _)| i).collect())
}

/// Stores a link's scheduling and members (replacing any), in `db`'s transaction; the link
/// changed at `now` when its scheduling did.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn replace(
    db: &impl ConnectionTrait,
    link: booking_links::Model,
    team: &Team,
    now: DateTime<Utc>,
) -> ServiceResult<booking_links::Model> {
    crate::ctx!(
        booking_link_members::Entity::delete_many()
            .filter(booking_link_members::Column::BookingLinkToken.eq(link.token.clone()))
            .exec(db)
            .await
    )?;
    let rows: Vec<booking_link_members::ActiveModel> = team
        .members()
        .iter()
        .enumerate()
        .map(|(i, m)| booking_link_members::ActiveModel {
            booking_link_token: Set(link.token.clone()),
            position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
            calendar_id: Set(m.calendar_id()),
            weight: Set(i32::try_from(m.weight().get()).unwrap_or(i32::MAX)),
            max_bookings_per_day: Set(m.max_bookings_per_day().map(|v| i32::try_from(v).unwrap_or(i32::MAX))),
        })
        .collect();
    if !rows.is_empty() {
        crate::ctx!(booking_link_members::Entity::insert_many(rows).exec(db).await)?;
    }
    let scheduling = match team.scheduling() {
        Scheduling::Single => None,
        kind => Some(kind),
    };
    if link.scheduling == scheduling {
        return Ok(link);
    }
    let mut active: booking_links::ActiveModel = link.into();
    active.scheduling = Set(scheduling);
    active.updated_at = Set(now);
    crate::ctx!(active.update(db).await)
}

/// The link `token`, active or not, its row alone locked (a team link's calendars are locked
/// after it, in order: [`lock_calendars`]).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn lock_link(txn: &impl ConnectionTrait, token: &LinkToken) -> ServiceResult<Option<booking_links::Model>> {
    crate::ctx!(booking_links::Entity::find_by_id(token.clone()).lock_exclusive().one(txn).await)
}

/// Locks the calendars `ids`, lowest id first (one statement, rows locked in its order): two
/// writes over overlapping sets of calendars cannot wait for each other.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn lock_calendars(txn: &impl ConnectionTrait, ids: &[CalendarId]) -> ServiceResult<()> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    crate::ctx!(
        calendars::Entity::find()
            .filter(calendars::Column::Id.is_in(ids))
            .order_by_asc(calendars::Column::Id)
            .select_only()
            .column(calendars::Column::Id)
            .lock_exclusive()
            .into_tuple::<CalendarId>()
            .all(txn)
            .await
    )?;
    Ok(())
}

/// Busy time of calendar `calendar_id` over `[start, end)`: its live events' spans, by start,
/// but for the events `except` (a booking being moved).
#[tracing::instrument(level = "debug", skip_all, fields(calendar_id = %calendar_id), err(level = "debug", Display))]
pub async fn busy_of_member(
    db: &impl ConnectionTrait,
    calendar_id: CalendarId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: &[CalendarEventId],
) -> ServiceResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut query = calendar_events::Entity::find()
        .filter(calendar_events::Column::CalendarId.eq(calendar_id))
        .filter(calendar_events::Column::Cancelled.eq(false))
        .filter(super::calendars::overlapping(db.get_database_backend(), start, end));
    if !except.is_empty() {
        query = query.filter(calendar_events::Column::Id.is_not_in(except.iter().copied()));
    }
    crate::ctx!(
        query
            .order_by_asc(calendar_events::Column::StartsAt)
            .select_only()
            .columns([calendar_events::Column::StartsAt, calendar_events::Column::EndsAt])
            .into_tuple()
            .all(db)
            .await
    )
}

/// The live reservations through link `token` on calendar `calendar_id` (one member's) that
/// start in `[from, to)`, but for `except`: what the member's limits count.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn member_spans(
    db: &impl ConnectionTrait,
    token: &LinkToken,
    calendar_id: CalendarId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: &[CalendarEventId],
) -> ServiceResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut query = live_through(token)
        .filter(calendar_events::Column::CalendarId.eq(calendar_id))
        .filter(calendar_events::Column::StartsAt.gte(from))
        .filter(calendar_events::Column::StartsAt.lt(to));
    if !except.is_empty() {
        query = query.filter(calendar_events::Column::Id.is_not_in(except.iter().copied()));
    }
    crate::ctx!(
        query
            .select_only()
            .columns([calendar_events::Column::StartsAt, calendar_events::Column::EndsAt])
            .into_tuple()
            .all(db)
            .await
    )
}

/// Per member calendar, the starts of its live reservations through link `token` that start
/// in `[from, to)` (round robin's count in the current period), but for `except`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn starts_per_member(
    db: &impl ConnectionTrait,
    token: &LinkToken,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: &[CalendarEventId],
) -> ServiceResult<Vec<(CalendarId, DateTime<Utc>)>> {
    let mut query = live_through(token)
        .filter(calendar_events::Column::StartsAt.gte(from))
        .filter(calendar_events::Column::StartsAt.lt(to));
    if !except.is_empty() {
        query = query.filter(calendar_events::Column::Id.is_not_in(except.iter().copied()));
    }
    crate::ctx!(
        query
            .select_only()
            .columns([calendar_events::Column::CalendarId, calendar_events::Column::StartsAt])
            .into_tuple()
            .all(db)
            .await
    )
}

/// Per member calendar, when its latest live reservation through link `token` was made (round
/// robin's "longest since last booked"), but for `except`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn last_booked_per_member(
    db: &impl ConnectionTrait,
    token: &LinkToken,
    except: &[CalendarEventId],
) -> ServiceResult<Vec<(CalendarId, Option<DateTime<Utc>>)>> {
    let mut query = live_through(token);
    if !except.is_empty() {
        query = query.filter(calendar_events::Column::Id.is_not_in(except.iter().copied()));
    }
    crate::ctx!(
        query
            .select_only()
            .column(calendar_events::Column::CalendarId)
            .column_as(calendar_events::Column::CreatedAt.max(), "last_booked")
            .group_by(calendar_events::Column::CalendarId)
            .into_tuple()
            .all(db)
            .await
    )
}

fn live_through(token: &LinkToken) -> sea_orm::Select<calendar_events::Entity> {
    calendar_events::Entity::find()
        .filter(calendar_events::Column::BookingLinkToken.eq(token.clone()))
        .filter(calendar_events::Column::Source.eq(EventSource::Reservation))
        .filter(calendar_events::Column::Cancelled.eq(false))
}

/// One row of a reservation through a team link: on `calendar_id` (the member's), the
/// visitor's own (`manage_token_hash` set) or another member's row of a collective booking
/// (`None`); `team_booking` the collective booking's id (`None`: round robin). The raw database
/// error is returned (an exclusion violation is a slot taken meanwhile).
#[allow(clippy::too_many_arguments)]
pub async fn insert_row(
    db: &impl ConnectionTrait,
    id: CalendarEventId,
    link: &booking_links::Model,
    calendar_id: CalendarId,
    reservation: &Reservation,
    manage_token_hash: Option<String>,
    location: Option<String>,
    team_booking: Option<CalendarEventId>,
    now: DateTime<Utc>,
) -> Result<calendar_events::Model, sea_orm::DbErr> {
    let model = calendar_events::ActiveModel {
        id: Set(id),
        calendar_id: Set(calendar_id),
        title: Set(reservation.title()),
        starts_at: Set(reservation.start),
        ends_at: Set(reservation.end),
        notes: Set(reservation.notes.as_ref().map(|n| n.as_str().to_string())),
        source: Set(EventSource::Reservation),
        booking_link_token: Set(Some(link.token.clone())),
        attendee_name: Set(Some(reservation.name.as_str().to_string())),
        attendee_email: Set(Some(reservation.email.as_str().to_string())),
        cancelled: Set(false),
        created_at: Set(now),
        cancelled_at: Set(None),
        manage_token_hash: Set(manage_token_hash),
        sequence: Set(0),
        moved_at: Set(None),
        cancel_reason: Set(None),
        cancelled_by: Set(None),
        location: Set(location),
        session_id: Set(None),
        // Team links take no approval: their reservations hold their time at once.
        awaiting_confirmation: Set(false),
        confirmed_at: Set(None),
        pending_until: Set(None),
        holds_slot: Set(true),
        team_booking_id: Set(team_booking),
    };
    model.insert(db).await
}

/// The live rows of collective booking `team_booking` (the visitor's own first), in `db`'s
/// transaction.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
pub async fn booking_rows(
    db: &impl ConnectionTrait,
    team_booking: CalendarEventId,
) -> ServiceResult<Vec<calendar_events::Model>> {
    let mut rows = crate::ctx!(
        calendar_events::Entity::find()
            .filter(calendar_events::Column::TeamBookingId.eq(team_booking))
            .filter(calendar_events::Column::Cancelled.eq(false))
            .all(db)
            .await
    )?;
    rows.sort_by_key(|r| (r.id != team_booking, r.calendar_id));
    Ok(rows)
}

/// Moves one row to `calendar_id` and `[start, end)` at `now` (`sequence` + 1); the raw
/// database error is returned.
pub async fn move_row(
    db: &impl ConnectionTrait,
    event: calendar_events::Model,
    calendar_id: CalendarId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<calendar_events::Model, sea_orm::DbErr> {
    let sequence = event.sequence.saturating_add(1);
    let mut active: calendar_events::ActiveModel = event.into();
    active.calendar_id = Set(calendar_id);
    active.starts_at = Set(start);
    active.ends_at = Set(end);
    active.sequence = Set(sequence);
    active.moved_at = Set(Some(now));
    active.update(db).await
}
