//! The month picker a booking and a reschedule share: the link's free slots of a month in the
//! visitor's zone, read through the booking links' service, laid out by [`super::view`].

use super::view::{self, PageQuery, PickerInput, Window};
use super::{Common, Pages};
use crate::domain::availability::SeatedSlot;
use crate::domain::booking_link::AVAILABILITY_RANGE;
use crate::domain::input::{LinkToken, TimeRange};
use crate::error::ServiceError;
use crate::services::availability_cache::CachedLink;
use chrono_tz::Tz;
use std::sync::Arc;

/// The picker of a link for a month: the grid, the zone shown, whether the visitor's zone was
/// guessed; or why there is none.
pub struct Picked {
    pub link: Arc<CachedLink>,
    pub tz: Tz,
    pub auto: bool,
    pub picker: view::Picker,
    /// No free time anywhere in the booking window.
    pub none_at_all: bool,
}

/// Builds the picker of `token` for the month `query` names, with links to `path` keeping
/// `keep` (and the zone, language and embed flag).
pub async fn pick(
    pages: &Pages,
    common: &Common,
    token: &LinkToken,
    query: &PageQuery,
    path: &str,
    extra: &[(&'static str, String)],
    moving: Option<&crate::entities::calendar_events::Model>,
) -> Result<Picked, ServiceError> {
    let links = pages.links();
    let link = links.active_link(token).await?;
    let (tz, auto) = match view::parse_zone(query.tz.as_deref()) {
        Some(tz) => (tz, false),
        None => (link.settings.rules.tz, true),
    };
    let now = pages.state.clock.now();
    let window = Window::new(tz, now, link.settings.rules.schedule.max_days_ahead());
    let month = window.clamp(query.month.as_deref().and_then(view::parse_month));
    let slots = month_slots(pages, token, tz, window, month, moving).await?;
    let mut jump = None;
    let mut none_at_all = false;
    if slots.is_empty() {
        for later in window.months_after(month) {
            if !month_slots(pages, token, tz, window, later, moving).await?.is_empty() {
                jump = Some(later);
                break;
            }
        }
        none_at_all = jump.is_none() && month == window.first;
    }
    let mut keep: Vec<(&str, String)> = extra.to_vec();
    keep.push(("tz", tz.name().to_string()));
    keep.push(("lang", common.lang.code().to_string()));
    if common.embed {
        keep.push(("embed", "1".into()));
    }
    let picker = view::picker(&PickerInput {
        lang: common.lang,
        tz,
        month,
        window,
        slots: &slots,
        seated: link.settings.rules.schedule.seats_per_slot() > 1,
        day: query.day.as_deref().and_then(view::parse_day),
        jump,
        path,
        keep: &keep,
    });
    Ok(Picked { link, tz, auto, picker, none_at_all })
}

/// The free slots of `month` in `tz` from now on (with `moving`'s own time counted free).
async fn month_slots(
    pages: &Pages,
    token: &LinkToken,
    tz: Tz,
    window: Window,
    month: chrono::NaiveDate,
    moving: Option<&crate::entities::calendar_events::Model>,
) -> Result<Vec<SeatedSlot>, ServiceError> {
    let (start, end) = window.range(tz, month);
    let range = TimeRange::parse(&AVAILABILITY_RANGE, start, end).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    Ok(pages.links().availability_moving(token, range, moving).await?.slots)
}
