//! `GET /booking/{token}`: the picker, or with `?slot=` the booking form; `POST /booking/{token}`:
//! the form, which reserves through the service `reserveBookingSlot` uses.
//!
//! A double submit books once: the form carries a fresh random key that is used as an
//! `Idempotency-Key` through the API's own layer and store (the edge's, through [`super::Gate`],
//! under an operation of its own): the first request is served and its answer (the confirmation page,
//! stored sealed under the key, so its manage token is never stored readable) is replayed to a
//! repeat; a form shown again after an error carries a new key.

use super::i18n::Lang;
use super::picker::pick;
use super::view::{self, PageQuery};
use super::{Common, Form, Pages};
use crate::domain::availability::Interval;
use crate::domain::booking_link::{LocationKind, Reservation, AVAILABILITY_RANGE};
use crate::domain::input::{
    EmailAddress, FreeText, LinkToken, Name, Problem, TimeRange, MAX_NAME_CHARS, MAX_TEXT_CHARS,
};
use crate::error::ServiceError;
use crate::services::availability_cache::CachedLink;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, Request, Response};
use std::sync::Arc;

pub struct Show(pub Arc<Pages>);

impl Endpoint for Show {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let pages = &self.0;
        let query: PageQuery = req.params().unwrap_or_default();
        let common = Common::new(&req, &query, false);
        let Some(token) = req.raw_path_param("token").and_then(LinkToken::parse) else {
            return Ok(pages.not_found(&common));
        };
        let page = Page { pages, common: &common, token: &token, query: &query };
        Ok(match query.slot.as_deref() {
            Some(raw) => page.form(raw).await,
            None => {
                let if_none_match: Vec<HeaderValue> =
                    req.headers().get_all(header::IF_NONE_MATCH).iter().cloned().collect();
                pages.validated(&if_none_match, page.picker(None, StatusCode::OK).await).await
            }
        })
    }
}

/// One booking page being made.
struct Page<'a> {
    pages: &'a Pages,
    common: &'a Common,
    token: &'a LinkToken,
    query: &'a PageQuery,
}

/// The slot starting at `start` if the link offers it now.
async fn offered(pages: &Pages, token: &LinkToken, start: DateTime<Utc>) -> Result<Option<Interval>, ServiceError> {
    let range = TimeRange::parse(&AVAILABILITY_RANGE, start, start + Duration::days(1))
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let found = pages.links().availability(token, range).await?;
    Ok(found.slots.into_iter().map(|s| s.slot).find(|s| s.start == start))
}

/// The duration and zone facts under the title.
fn meta(lang: Lang, link: &CachedLink, tz: Tz) -> serde_json::Value {
    serde_json::json!({
        "duration": lang.fill("duration", &[("n", &link.settings.duration_minutes.to_string())]),
        "zone_shown": lang.fill("zone_shown", &[("zone", tz.name())]),
        // A meeting URL is made per reservation (it may hold its id): the visitor gets it then.
        "location_shown": link.settings.location.as_ref().map(|l| match l.kind() {
            LocationKind::Url => lang.text("location_online").to_string(),
            LocationKind::Address | LocationKind::Phone => l.value().to_string(),
        }),
    })
}

fn merge(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    if let (serde_json::Value::Object(a), serde_json::Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

/// A fresh form key: 128 random bits.
fn form_key() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Page<'_> {
    fn path(&self) -> String {
        format!("/booking/{}", self.token.as_str())
    }

    /// The month grid and the day's free times; `notice` above them (a slot just taken).
    async fn picker(&self, notice: Option<&str>, status: StatusCode) -> Response {
        let (pages, common) = (self.pages, self.common);
        let path = self.path();
        let picked = match pick(pages, common, self.token, self.query, &path, &[], None).await {
            Ok(picked) => picked,
            Err(e) => return pages.failure(common, &e),
        };
        let title = match pages.links().link_title(picked.link.calendar_id).await {
            Ok(title) => title,
            Err(e) => return pages.failure(common, &e),
        };
        let l = common.lang;
        if picked.none_at_all && notice.is_none() {
            return pages.message(
                common,
                StatusCode::OK,
                &format!("{title}: {}", l.text("no_free_title")),
                &[l.text("no_free_body").into()],
            );
        }
        let mut hidden = vec![("lang", l.code().to_string())];
        if common.embed {
            hidden.push(("embed", "1".into()));
        }
        let ctx = merge(
            serde_json::json!({
                "title": title, "link_title": title, "notice": notice, "p": picked.picker,
                "zone": view::zone_form(&path, picked.tz, picked.auto, &hidden),
            }),
            meta(l, &picked.link, picked.tz),
        );
        pages.render("booking.html", common, ctx, status)
    }

    /// `?slot=`: the form for a slot still offered, else the picker saying it was taken.
    async fn form(&self, raw_slot: &str) -> Response {
        let (pages, common) = (self.pages, self.common);
        let Some(start) = view::parse_slot(raw_slot) else { return self.picker(None, StatusCode::OK).await };
        match offered(pages, self.token, start).await {
            Ok(Some(slot)) => self.render_form(slot, &FormValues::default(), &[], StatusCode::OK).await,
            Ok(None) => self.taken(start).await,
            Err(e) => pages.failure(common, &e),
        }
    }

    /// The picker at the month and day of `start`, saying that slot was just taken (409).
    async fn taken(&self, start: DateTime<Utc>) -> Response {
        let tz = view::parse_zone(self.query.tz.as_deref());
        let mut query = self.query.clone();
        if let Some(tz) = tz {
            let local = start.with_timezone(&tz).date_naive();
            query.month = Some(local.format("%Y-%m").to_string());
            query.day = Some(local.format("%Y-%m-%d").to_string());
        }
        query.slot = None;
        let page = Page { query: &query, ..*self };
        page.picker(Some(self.common.lang.text("taken")), StatusCode::CONFLICT).await
    }

    async fn render_form(
        &self,
        slot: Interval,
        values: &FormValues,
        errors: &[(&'static str, &'static str)],
        status: StatusCode,
    ) -> Response {
        let (pages, common) = (self.pages, self.common);
        let l = common.lang;
        let link = match pages.links().active_link(self.token).await {
            Ok(link) => link,
            Err(e) => return pages.failure(common, &e),
        };
        let title = match pages.links().link_title(link.calendar_id).await {
            Ok(title) => title,
            Err(e) => return pages.failure(common, &e),
        };
        let link_tz = link.settings.rules.tz;
        let tz = view::parse_zone(self.query.tz.as_deref()).unwrap_or(link_tz);
        let path = self.path();
        let mut back = vec![("tz", tz.name().to_string()), ("lang", l.code().to_string())];
        let local = slot.start.with_timezone(&tz).date_naive();
        back.push(("month", local.format("%Y-%m").to_string()));
        back.push(("day", local.format("%Y-%m-%d").to_string()));
        if common.embed {
            back.push(("embed", "1".into()));
        }
        let back: Vec<(&str, &str)> = back.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let field_errors: serde_json::Map<String, serde_json::Value> =
            errors.iter().map(|(f, key)| (f.to_string(), l.text(key).into())).collect();
        let error_list: Vec<serde_json::Value> =
            errors.iter().map(|(f, key)| serde_json::json!({"field": f, "message": l.text(key)})).collect();
        let title_text =
            if errors.is_empty() { title.clone() } else { format!("{}: {title}", l.text("error_summary")) };
        let ctx = merge(
            serde_json::json!({
                "title": title_text, "link_title": title,
                "slot": {
                    "value": view::slot_param(slot.start),
                    "visitor": view::when(l, tz, slot.start, slot.end),
                    "host": (tz != link_tz).then(|| view::when(l, link_tz, slot.start, slot.end)),
                },
                "key": form_key(), "tz": tz.name(), "post_url": path,
                "back_url": view::url(&path, &back),
                "values": values, "errors": error_list, "field_errors": field_errors,
            }),
            meta(l, &link, tz),
        );
        pages.render("form.html", common, ctx, status)
    }
}

/// What the visitor typed, kept when the form is shown again.
#[derive(Default, serde::Serialize)]
struct FormValues {
    name: String,
    email: String,
    notes: String,
}

/// The form's fields.
#[derive(Default)]
struct Posted {
    slot: String,
    key: String,
    carried: view::Carried,
    values: FormValues,
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
                "slot" => posted.slot = value,
                "key" => posted.key = value,
                "name" => posted.values.name = value,
                "email" => posted.values.email = value,
                "notes" => posted.values.notes = value,
                _ => {}
            }
        }
        posted
    }

    fn query(&self) -> PageQuery {
        self.carried.query()
    }

    /// Each field's rule, checked as the API checks it; the catalog key of each error.
    fn errors(&self) -> Vec<(&'static str, &'static str)> {
        let mut errors = Vec::new();
        if let Err(e) = Name::parse("name", &self.values.name, MAX_NAME_CHARS) {
            errors.push(("name", if e.problem == Problem::Empty { "err_name_empty" } else { "err_name_invalid" }));
        }
        if EmailAddress::parse("email", self.values.email.trim()).is_err() {
            errors.push(("email", "err_email"));
        }
        if !self.values.notes.trim().is_empty() && FreeText::parse("notes", &self.values.notes, MAX_TEXT_CHARS).is_err()
        {
            errors.push(("notes", "err_notes"));
        }
        errors
    }
}

pub struct Submit(pub Arc<Pages>);

impl Endpoint for Submit {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let pages = &self.0;
        let refusal = pages.gate.admit(Form::Book, &mut req).await;
        let body = req.take_body().into_bytes().await.unwrap_or_default();
        let posted = Posted::parse(&body);
        let common = Common::new(&req, &posted.query(), true);
        if let Some(refusal) = refusal {
            return Ok(refused(pages, &common, &refusal));
        }
        if !super::same_origin(&req) {
            let l = common.lang;
            return Ok(pages.message(
                &common,
                StatusCode::FORBIDDEN,
                l.text("forbidden_title"),
                &[l.text("forbidden_body").into()],
            ));
        }
        req.set_body(body);
        let key = HeaderValue::from_str(&posted.key).ok().filter(|_| !posted.key.is_empty());
        let Some(key) = key else { return Reserve(pages.clone()).call(req).await };
        let inner = poem::endpoint::ToDynEndpoint(Reserve(pages.clone()));
        let response = pages.gate.once(Form::Book, key, req, &inner).await?;
        Ok(if is_envelope(&response) { refused(pages, &common, &response) } else { response })
    }
}

/// Whether an answer is the API's JSON envelope (a refusal of the guard or the idempotency
/// layer), to be shown as a page.
fn is_envelope(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A refusal of the edge's layers as a page: too many requests (429, with when to retry), a
/// request with this form's key still being served (409), the key used for another form (400),
/// the store unavailable (503), anything else as its status.
fn refused(pages: &Pages, common: &Common, refusal: &Response) -> Response {
    let l = common.lang;
    let retry = refusal.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).unwrap_or("1").to_string();
    let status = refusal.status();
    let mut response = match status {
        StatusCode::TOO_MANY_REQUESTS => return pages.rate_limited(common, &retry),
        StatusCode::CONFLICT => pages.message(common, status, l.text("error_title"), &[l.text("in_flight").into()]),
        StatusCode::BAD_REQUEST => pages.message(common, status, l.text("error_title"), &[l.text("key_used").into()]),
        StatusCode::SERVICE_UNAVAILABLE => {
            pages.message(common, status, l.text("unavailable_title"), &[l.text("unavailable_body").into()])
        }
        _ => pages.message(common, status, l.text("error_title"), &[l.text("error_body").into()]),
    };
    if let Ok(value) = HeaderValue::from_str(&retry) {
        if status != StatusCode::BAD_REQUEST {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The reservation itself (behind the idempotency layer when the form carries its key).
struct Reserve(Arc<Pages>);

impl Endpoint for Reserve {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let pages = &*self.0;
        let body = req.take_body().into_bytes().await.unwrap_or_default();
        let posted = Posted::parse(&body);
        let query = posted.query();
        let common = Common::new(&req, &query, true);
        let Some(token) = req.raw_path_param("token").and_then(LinkToken::parse) else {
            return Ok(pages.not_found(&common));
        };
        let page = Page { pages, common: &common, token: &token, query: &query };
        let Some(start) = view::parse_slot(&posted.slot) else {
            return Ok(page.picker(None, StatusCode::BAD_REQUEST).await);
        };
        let link = match pages.links().active_link(&token).await {
            Ok(link) => link,
            Err(e) => return Ok(pages.failure(&common, &e)),
        };
        let slot = Interval { start, end: start + link.settings.rules.duration };
        let errors = posted.errors();
        if !errors.is_empty() {
            return Ok(page.render_form(slot, &posted.values, &errors, StatusCode::UNPROCESSABLE_ENTITY).await);
        }
        let notes = Some(posted.values.notes.as_str()).filter(|n| !n.trim().is_empty());
        let reservation = match Reservation::parse(
            &posted.values.name,
            posted.values.email.trim(),
            slot.start.fixed_offset(),
            slot.end.fixed_offset(),
            notes,
        ) {
            Ok(r) => r,
            Err(_) => return Ok(page.picker(None, StatusCode::BAD_REQUEST).await),
        };
        let links = pages.links();
        match links.reserve(&token, reservation).await {
            Ok((event, manage)) => {
                let found = match links.reservation(&manage).await {
                    Ok(found) => found,
                    Err(e) => return Ok(pages.failure(&common, &e)),
                };
                let view = super::manage::View { pages, common: &common, token: &manage, query: &query };
                Ok(view.render(&found, Some(event.id.into_uuid()), None, StatusCode::OK).await)
            }
            // Taken meanwhile, or no longer offered (the notice passed, the link changed).
            Err(ServiceError::Conflict(_) | ServiceError::Invalid(_)) => Ok(page.taken(start).await),
            Err(e) => Ok(pages.failure(&common, &e)),
        }
    }
}
