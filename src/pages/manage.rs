//! `GET /booking/manage/{manageToken}`: the reservation as its visitor sees it, with its
//! reschedule (`?action=reschedule`, the booking page's picker) and cancel (`?action=cancel`, a
//! confirmation with an optional reason) forms. GET changes nothing (mail scanners open links):
//! `POST .../cancel` and `POST .../reschedule` change, each carrying the page's CSRF token
//! ([`crate::domain::reservation::ManageLinks::form_token`]) and refused from another origin.
//! `GET .../event.ics`: the reservation's iCalendar document.

use super::picker::pick;
use super::view::{self, PageQuery};
use super::{Common, Form, Pages};
use crate::domain::availability::Interval;
use crate::domain::input::{FreeText, MAX_TEXT_CHARS};
use crate::domain::reservation::{guest_may_change, ManageToken, ReservationStatus, TooLate};
use crate::error::ServiceError;
use crate::services::booking_links::{status_of, GuestReservation, Moment};
use chrono_tz::Tz;
use poem::http::{header, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn manage_token(req: &Request) -> Option<ManageToken> {
    req.raw_path_param("token").and_then(ManageToken::parse)
}

pub struct Show(pub Arc<Pages>);

impl Endpoint for Show {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let pages = &*self.0;
        let query: PageQuery = req.params().unwrap_or_default();
        let common = Common::new(&req, &query, true);
        let Some(token) = manage_token(&req) else { return Ok(pages.not_found(&common)) };
        let found = match pages.links().reservation(&token).await {
            Ok(found) => found,
            Err(e) => return Ok(pages.failure(&common, &e)),
        };
        let view = View { pages, common: &common, token: &token, query: &query };
        Ok(view.render(&found, None, None, StatusCode::OK).await)
    }
}

/// One manage page (or the confirmation, which is the same page just after booking).
pub(super) struct View<'a> {
    pub pages: &'a Pages,
    pub common: &'a Common,
    pub token: &'a ManageToken,
    pub query: &'a PageQuery,
}

impl View<'_> {
    fn path(&self) -> String {
        format!("/booking/manage/{}", self.token.as_str())
    }

    /// This page's URL with the zone and language kept, and `more`.
    fn link(&self, tz: Tz, more: &[(&str, &str)]) -> String {
        let mut params = vec![("tz", tz.name()), ("lang", self.common.lang.code())];
        if self.common.embed {
            params.push(("embed", "1"));
        }
        params.extend_from_slice(more);
        view::url(&self.path(), &params)
    }

    /// The page. `booked`: the reservation was just made (the confirmation, whose embed view
    /// tells its parent); `notice`: what the last attempt could not do.
    pub async fn render(
        &self,
        found: &GuestReservation,
        booked: Option<uuid::Uuid>,
        notice: Option<&str>,
        status: StatusCode,
    ) -> Response {
        let (pages, common) = (self.pages, self.common);
        let l = common.lang;
        let e = &found.event;
        let link_tz = found.settings.rules.tz;
        let tz = view::parse_zone(self.query.tz.as_deref()).unwrap_or(link_tz);
        let links = pages.links();
        let (title, hosts) = match tokio::try_join!(links.link_title(found.link_calendar), links.hosts(found)) {
            Ok(read) => read,
            Err(err) => return pages.failure(common, &err),
        };
        // Whom the visitor meets, when that is not the link's own calendar: a team link's
        // assigned member (round robin) or every member (collective).
        let hosts: Vec<String> = hosts.into_iter().map(|h| h.name).collect();
        let with = (hosts != [title.as_str()]).then(|| l.list(&hosts));
        let now = pages.state.clock.now();
        let notice_minutes = found.settings.rules.schedule.min_cancel_notice().num_minutes();
        let n = notice_minutes.to_string();
        let book_again = || {
            let mut params = vec![("tz", tz.name()), ("lang", l.code())];
            if common.embed {
                params.push(("embed", "1"));
            }
            view::url(&format!("/booking/{}", found.link_token), &params)
        };
        let (mut state_note, mut rule_note, mut book_again_url, mut may_change) = (None, None, None, false);
        let state = status_of(e);
        if e.cancelled {
            let note = match state {
                ReservationStatus::Declined => "declined_notice",
                ReservationStatus::Expired => "expired_notice",
                _ => "canceled_notice",
            };
            state_note = Some(l.text(note).to_string());
            book_again_url = Some(book_again());
        } else if e.ends_at <= now {
            state_note = Some(l.text("past_notice").to_string());
            book_again_url = Some(book_again());
        } else {
            match guest_may_change(e.starts_at, now, found.settings.rules.schedule.min_cancel_notice()) {
                Ok(()) => {
                    may_change = true;
                    rule_note = (notice_minutes > 0).then(|| l.fill("notice_rule", &[("n", &n)]));
                }
                Err(TooLate::Started) => state_note = Some(l.text("started").to_string()),
                Err(TooLate::WithinNotice { .. }) => state_note = Some(l.fill("too_late", &[("n", &n)])),
            }
        }
        let pending = state == ReservationStatus::Pending;
        if pending && state_note.is_none() {
            let until = e
                .pending_until
                .map(|t| {
                    let local = t.with_timezone(&tz);
                    format!("{} {} ({})", l.date_short(local.date_naive()), l.time(local.time()), tz.name())
                })
                .unwrap_or_default();
            state_note = Some(format!("{} {}", l.text("pending_notice"), l.fill("pending_until", &[("when", &until)])));
        }
        let lead = match (booked, self.query.done.as_deref()) {
            (Some(_), _) if pending => Some(l.text("requested_lead")),
            (Some(_), _) => Some(l.text("booked_lead")),
            (None, Some("rescheduled")) => Some(l.text("rescheduled")),
            (None, Some("canceled")) => Some(l.text("canceled_done")),
            _ => None,
        };
        let action = self.query.action.as_deref().filter(|a| may_change && !(pending && *a == "reschedule"));
        let csrf = pages.state.manage_links.form_token(self.token);
        let cancel_form = (action == Some("cancel")).then(|| {
            serde_json::json!({
                "action": format!("{}/cancel", self.path()), "csrf": csrf, "keep": self.link(tz, &[]),
            })
        });
        let mut picker = None;
        let mut zone = None;
        let mut move_form = None;
        let mut notice = notice.map(str::to_string);
        if action == Some("reschedule") {
            let link_token = &found.link_token;
            let path = self.path();
            let extra = [("action", "reschedule".to_string())];
            match pick(pages, common, link_token, self.query, &path, &extra, Some(e)).await {
                Ok(picked) => {
                    let mut hidden = vec![("lang", l.code().to_string()), ("action", "reschedule".into())];
                    if common.embed {
                        hidden.push(("embed", "1".into()));
                    }
                    zone = Some(view::zone_form(&path, picked.tz, picked.auto, &hidden));
                    picker = Some(picked.picker);
                }
                Err(ServiceError::NotFound(_)) => notice = Some(l.text("link_off").to_string()),
                Err(err) => return pages.failure(common, &err),
            }
            if let Some(start) = self.query.slot.as_deref().and_then(view::parse_slot) {
                let end = start + found.settings.rules.duration;
                move_form = Some(serde_json::json!({
                    "action": format!("{}/reschedule", self.path()),
                    "csrf": csrf,
                    "slot": view::slot_param(start),
                    "sequence": e.sequence,
                    "visitor": view::when(l, tz, start, end),
                    "host": (tz != link_tz).then(|| view::when(l, link_tz, start, end)),
                    "back": self.link(tz, &[("action", "reschedule")]),
                }));
            }
        }
        let who = match (&e.attendee_name, &e.attendee_email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(name), None) => name.clone(),
            (None, Some(email)) => email.clone(),
            (None, None) => String::new(),
        };
        let heading = match booked {
            Some(_) if pending => l.text("requested_title"),
            Some(_) => l.text("booked_title"),
            None => l.text("manage_title"),
        };
        let ctx = serde_json::json!({
            "title": format!("{heading}: {title}"),
            "heading": heading,
            "lead": lead,
            "link_title": title,
            "booked_id": booked.map(|id| id.to_string()),
            "status": l.text(match state {
                ReservationStatus::Confirmed => "status_confirmed",
                ReservationStatus::Canceled => "status_canceled",
                ReservationStatus::Pending => "status_pending",
                ReservationStatus::Declined => "status_declined",
                ReservationStatus::Expired => "status_expired",
            }),
            "when_yours_label": l.fill("when_yours", &[("zone", tz.name())]),
            "when_yours": view::when(l, tz, e.starts_at, e.ends_at),
            "when_link_label": l.fill("when_link", &[("zone", link_tz.name())]),
            "when_link": (tz != link_tz).then(|| view::when(l, link_tz, e.starts_at, e.ends_at)),
            "who": who,
            "with": with,
            "notes": e.notes,
            "location": e.location,
            "location_href": e.location.as_deref().filter(|l| l.starts_with("https://") || l.starts_with("http://")),
            // A pending request is not in anyone's calendar yet.
            "ics_url": (!e.cancelled && !pending).then(|| format!("{}/event.ics", self.path())),
            "manage_url": booked.map(|_| pages.state.manage_links.url(self.token)),
            "manage_href": self.link(tz, &[]),
            "state_note": state_note,
            "rule_note": rule_note,
            "book_again_url": book_again_url,
            // A pending request may be withdrawn, not moved.
            "actions": (may_change && action.is_none()).then(|| serde_json::json!({
                "reschedule": (!pending).then(|| self.link(tz, &[("action", "reschedule")])),
                "cancel": self.link(tz, &[("action", "cancel")]),
            })),
            "notice": notice,
            "cancel_form": cancel_form,
            "move_form": move_form,
            "p": picker,
            "zone": zone,
            "tz": tz.name(),
        });
        pages.render("reservation.html", common, ctx, status)
    }
}

/// A manage form's fields.
#[derive(Default)]
struct Posted {
    csrf: String,
    carried: view::Carried,
    reason: String,
    slot: String,
    sequence: String,
}

impl Posted {
    fn parse(body: &[u8]) -> Self {
        let mut posted = Posted::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            if posted.carried.take(&name, &value) {
                continue;
            }
            let value = value.into_owned();
            match name.as_ref() {
                "csrf" => posted.csrf = value,
                "reason" => posted.reason = value,
                "slot" => posted.slot = value,
                "sequence" => posted.sequence = value,
                _ => {}
            }
        }
        posted
    }

    fn query(&self) -> PageQuery {
        self.carried.query()
    }
}

/// Compares in time independent of where the two differ.
fn same_secret(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// What a manage POST starts with: the guard, the body, the token, the CSRF check; or the page
/// that refuses it.
async fn admit(pages: &Pages, req: &mut Request) -> Result<(ManageToken, Posted, Common), Response> {
    let refusal = pages.gate.admit(Form::Manage, req).await;
    let body = req.take_body().into_bytes().await.unwrap_or_default();
    let posted = Posted::parse(&body);
    let common = Common::new(req, &posted.query(), true);
    if let Some(refusal) = refusal {
        let retry = refusal.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).unwrap_or("1");
        let l = common.lang;
        return Err(match refusal.status() {
            StatusCode::TOO_MANY_REQUESTS => pages.rate_limited(&common, retry),
            status => pages.message(&common, status, l.text("error_title"), &[l.text("error_body").into()]),
        });
    }
    let Some(token) = manage_token(req) else { return Err(pages.not_found(&common)) };
    let expected = pages.state.manage_links.form_token(&token);
    if !super::same_origin(req) || !same_secret(&posted.csrf, &expected) {
        let l = common.lang;
        return Err(pages.message(
            &common,
            StatusCode::FORBIDDEN,
            l.text("forbidden_title"),
            &[l.text("forbidden_body").into()],
        ));
    }
    Ok((token, posted, common))
}

/// After a change, the manage page again (303: a reload does not post twice).
fn see_manage(token: &ManageToken, posted: &Posted, common: &Common, done: &str) -> Response {
    let mut params = vec![("lang", common.lang.code()), ("done", done)];
    if let Some(tz) = posted.carried.tz.as_deref() {
        params.push(("tz", tz));
    }
    if common.embed {
        params.push(("embed", "1"));
    }
    let location = view::url(&format!("/booking/manage/{}", token.as_str()), &params);
    let mut response = poem::web::Redirect::see_other(location).into_response();
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, poem::http::HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, poem::http::HeaderValue::from_static("no-store"));
    response
}

pub struct Cancel(pub Arc<Pages>);

impl Endpoint for Cancel {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let pages = &*self.0;
        let (token, posted, common) = match admit(pages, &mut req).await {
            Ok(admitted) => admitted,
            Err(refusal) => return Ok(refusal),
        };
        let reason = Some(posted.reason.as_str()).filter(|r| !r.trim().is_empty());
        let reason = match FreeText::parse_opt("reason", reason, MAX_TEXT_CHARS) {
            Ok(reason) => reason,
            Err(e) => return Ok(pages.failure(&common, &ServiceError::Invalid(e.to_string()))),
        };
        Ok(match pages.links().cancel_reservation(&token, reason).await {
            Ok(_) => see_manage(&token, &posted, &common, "canceled"),
            Err(e) => shown_again(pages, &common, &token, &posted, &e).await,
        })
    }
}

/// A change the service refused, explained on the manage page as it now is (a refusal for
/// lateness is the page's own note; a slot taken meanwhile is said above the fresh picker).
async fn shown_again(
    pages: &Pages,
    common: &Common,
    token: &ManageToken,
    posted: &Posted,
    e: &ServiceError,
) -> Response {
    let (status, notice) = match e {
        ServiceError::Conflict(_) => (StatusCode::CONFLICT, Some(common.lang.text("taken"))),
        ServiceError::Invalid(_) => (StatusCode::BAD_REQUEST, None),
        _ => return pages.failure(common, e),
    };
    let found = match pages.links().reservation(token).await {
        Ok(found) => found,
        Err(e) => return pages.failure(common, &e),
    };
    let mut query = posted.query();
    if notice.is_some() {
        query.action = Some("reschedule".into());
    }
    let view = View { pages, common, token, query: &query };
    view.render(&found, None, notice, status).await
}

pub struct Reschedule(pub Arc<Pages>);

impl Endpoint for Reschedule {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let pages = &*self.0;
        let (token, posted, common) = match admit(pages, &mut req).await {
            Ok(admitted) => admitted,
            Err(refusal) => return Ok(refusal),
        };
        let arrived = pages.state.clock.now();
        let links = pages.links();
        let found = match links.reservation(&token).await {
            Ok(found) => found,
            Err(e) => return Ok(pages.failure(&common, &e)),
        };
        let Some(start) = view::parse_slot(&posted.slot) else {
            return Ok(shown_again(pages, &common, &token, &posted, &ServiceError::invalid("slot")).await);
        };
        let slot = Interval { start, end: start + found.settings.rules.duration };
        let when = Moment { arrived, expected_sequence: posted.sequence.parse().ok() };
        Ok(match links.reschedule_reservation(&token, slot, when).await {
            Ok(_) => see_manage(&token, &posted, &common, "rescheduled"),
            // A second submit of the same move finds it made: the move is what was asked.
            Err(ServiceError::Conflict(_))
                if links.reservation(&token).await.is_ok_and(|now| {
                    !now.event.cancelled && now.event.starts_at == slot.start && now.event.ends_at == slot.end
                }) =>
            {
                see_manage(&token, &posted, &common, "rescheduled")
            }
            Err(e) => shown_again(pages, &common, &token, &posted, &e).await,
        })
    }
}

pub struct Ics(pub Arc<Pages>);

impl Endpoint for Ics {
    type Output = Response;

    /// The reservation's iCalendar document as its visitor's email carries it: one `VEVENT`
    /// with the same `UID` and `SEQUENCE`, times in the link's zone with its `VTIMEZONE`, and
    /// the manage link in the description.
    async fn call(&self, req: Request) -> poem::Result<Response> {
        use crate::notify::ical::{self, IcalEvent, IcalStatus, Party};
        let pages = &*self.0;
        let Some(token) = manage_token(&req) else { return Ok(StatusCode::NOT_FOUND.into_response()) };
        let found = match pages.links().reservation(&token).await {
            Ok(found) => found,
            Err(ServiceError::NotFound(_)) => return Ok(StatusCode::NOT_FOUND.into_response()),
            Err(ServiceError::Unavailable { .. }) => {
                return Ok(StatusCode::SERVICE_UNAVAILABLE.with_header(header::RETRY_AFTER, "1").into_response())
            }
            Err(e) => {
                tracing::error!(error = %e, "reading a reservation for its .ics failed");
                return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        };
        let e = found.event;
        // The organizer as the email's invitation names it: the calendar's owner when their
        // address is known, else the server's sender.
        let host = match pages.links().host_email(e.calendar_id).await {
            Ok(host) => host,
            Err(err) => {
                tracing::warn!(error = %err, "reading a reservation's host for its .ics failed");
                None
            }
        };
        let manage_url = pages.state.manage_links.url(&token);
        let mut description: Vec<String> = e.notes.iter().cloned().collect();
        description.push(format!("View, reschedule or cancel: {manage_url}"));
        let status = if e.cancelled { IcalStatus::Cancelled } else { IcalStatus::Confirmed };
        let sequence = u32::try_from(e.sequence).unwrap_or(0) + u32::from(e.cancelled);
        let event = IcalEvent {
            uid: format!("{}@bookings", e.id),
            start: e.starts_at,
            end: e.ends_at,
            tz: found.settings.rules.tz,
            summary: e.title.clone(),
            description: Some(description.join("\n\n")),
            location: e.location.clone(),
            organizer: Party::new(host.unwrap_or_else(|| pages.state.notifier.letterhead.sender.clone()), None),
            attendees: e.attendee_email.iter().map(|m| Party::new(m.clone(), e.attendee_name.clone())).collect(),
            sequence,
            status,
        };
        let body = ical::render(&event, pages.state.clock.now());
        Ok(body
            .with_content_type("text/calendar; charset=utf-8; method=".to_string() + status.method())
            .with_header(header::CONTENT_DISPOSITION, "attachment; filename=\"booking.ics\"")
            .with_header(header::CACHE_CONTROL, "no-store")
            .with_header(header::REFERRER_POLICY, "no-referrer")
            .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .into_response())
    }
}
