//! The visitor's pages (issue #22): a booking link's `public_url` and a reservation's
//! `manage_url` open HTML pages that work without JavaScript (links and forms), rendered on the
//! server from the same services the API calls (never the API over HTTP). Templates, the
//! stylesheet and the ES module are compiled into the binary; every text comes from one catalog
//! per language ([`i18n`]).
//!
//! - `GET  /booking/{token}`: the month grid and the chosen day's free times in the visitor's
//!   zone (`?tz=`, default the link's), or with `?slot=` the booking form.
//! - `POST /booking/{token}`: the form; rate limited like `reserveBookingSlot`, and made
//!   idempotent by the key the form carries (the `Idempotency-Key` store, see [`booking`]).
//! - `GET  /booking/manage/{manageToken}`: the reservation, with its reschedule and cancel forms
//!   (`?action=`); GET changes nothing. `POST .../cancel`, `POST .../reschedule` carry a CSRF
//!   token. `GET .../event.ics`: the iCalendar document.
//! - `GET  /booking/assets/{name}`: the stylesheet and the script.
//!
//! Pages hold no query and no rule: they parse the request, call a service, and format.

mod assets;
mod booking;
pub mod i18n;
mod manage;
mod picker;
mod view;

use crate::error::ServiceError;
use crate::services::booking_links::BookingLinks;
use crate::state::AppState;
use futures::future::BoxFuture;
use i18n::Lang;
use minijinja::Environment;
use poem::endpoint::DynEndpoint;
use poem::http::{header, HeaderValue, StatusCode};
use poem::web::Html;
use poem::{get, handler, IntoResponse, Request, Response, Route};
use std::sync::Arc;

/// What the edge does for the pages' form POSTs, handed to them by the router so that the pages
/// import nothing of the edge: the limits and the rate limit a public operation has, the
/// Idempotency-Key store, and the status (and Retry-After) a service's failure is answered with.
pub trait Gate: Send + Sync + 'static {
    /// Reads `req`'s body within the limits and takes a rate-limit token for `form`; or the
    /// edge's refusal (its status, and `Retry-After` when it names one).
    fn admit<'a>(&'a self, form: Form, req: &'a mut Request) -> BoxFuture<'a, Option<Response>>;
    /// Serves `req` through `next` once for `key`: a repeat of the same form gets the first
    /// answer again; a refusal of the store is an envelope (see [`is_refusal`]).
    fn once<'a>(
        &'a self,
        form: Form,
        key: HeaderValue,
        req: Request,
        next: &'a dyn DynEndpoint<Output = Response>,
    ) -> BoxFuture<'a, poem::Result<Response>>;
    /// The status the API answers `err` with, and its Retry-After seconds if it names one.
    fn status_of(&self, err: &ServiceError) -> (StatusCode, Option<u64>);
}

/// The pages' POSTs, as the edge's layers count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The booking form: rate limited like `reserveBookingSlot`, idempotent by its key.
    Book,
    /// The manage page's cancel and reschedule: rate limited like the guest's operations.
    Manage,
}

/// The pages' routes, to be nested at `/booking`.
pub fn routes(state: Arc<AppState>, gate: Arc<dyn Gate>) -> Route {
    let pages = Arc::new(Pages::new(state, gate));
    Route::new()
        .at("/assets/:name", get(asset))
        .at("/manage/:token", get(manage::Show(pages.clone())))
        .at("/manage/:token/event.ics", get(manage::Ics(pages.clone())))
        .at("/manage/:token/cancel", poem::post(manage::Cancel(pages.clone())))
        .at("/manage/:token/reschedule", poem::post(manage::Reschedule(pages.clone())))
        .at("/:token", get(booking::Show(pages.clone())).post(booking::Submit(pages)))
}

#[handler]
fn asset(req: &Request) -> Response {
    assets::serve(req.raw_path_param("name").unwrap_or_default())
}

/// What every page needs.
pub struct Pages {
    state: Arc<AppState>,
    templates: Environment<'static>,
    gate: Arc<dyn Gate>,
    /// `frame-ancestors` of the embed view.
    embed_ancestors: String,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("message.html", include_str!("templates/message.html")),
    ("picker.html", include_str!("templates/picker.html")),
    ("zone.html", include_str!("templates/zone.html")),
    ("booking.html", include_str!("templates/booking.html")),
    ("form.html", include_str!("templates/form.html")),
    ("reservation.html", include_str!("templates/reservation.html")),
];

impl Pages {
    fn new(state: Arc<AppState>, gate: Arc<dyn Gate>) -> Self {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates.add_template(name, source).expect("the pages' templates parse (checked by the tests)");
        }
        // Whitespace between tags is ours; values are escaped (the `.html` names turn it on).
        templates.set_trim_blocks(true);
        let embed_ancestors = frame_ancestors(&state.pages.embed_frame_ancestors);
        Self { gate, state, templates, embed_ancestors }
    }

    fn links(&self) -> BookingLinks<'_> {
        self.state.booking_links()
    }

    /// Renders `template` with `ctx` and the context every page shares; a template that fails
    /// is logged and answered as a plain 500.
    fn render(&self, template: &str, common: &Common, ctx: serde_json::Value, status: StatusCode) -> Response {
        let mut all = common.context();
        if let (serde_json::Value::Object(all), serde_json::Value::Object(more)) = (&mut all, ctx) {
            all.extend(more);
        }
        let html = self.templates.get_template(template).and_then(|t| t.render(minijinja::Value::from_serialize(&all)));
        let response = match html {
            Ok(html) => Html(html).with_status(status).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template, "a page's template failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        };
        self.secure(response, common)
    }

    /// The headers every page carries: a CSP without inline script or style, framing by this
    /// origin only (the embed view: by the configured ancestors), no referrer, no sniffing; a
    /// manage page is not stored anywhere (its token is in the URL).
    fn secure(&self, mut response: Response, common: &Common) -> Response {
        let ancestors = if common.embed { self.embed_ancestors.as_str() } else { "'self'" };
        let csp = format!(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
        );
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        if !common.embed {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        let cache = if common.private { "no-store" } else { "no-cache" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
        response
    }

    /// A page of free times (the picker): the same for everyone asking its URL in the same
    /// language, so it carries validators as `getBookingAvailability` does: a strong `ETag` of
    /// its bytes and `Cache-Control: public, max-age=<the availability cache time>` (instead of
    /// `no-cache`); a request whose `If-None-Match` matches gets a 304 with them and no body.
    /// The script's month and day changes fetch these same URLs, so they revalidate too.
    async fn validated(&self, if_none_match: &[HeaderValue], response: Response) -> Response {
        if response.status() != StatusCode::OK {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let Ok(bytes) = body.into_bytes().await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let etag = crate::validators::etag_of(&bytes);
        let matched = crate::validators::none_match(if_none_match.iter().map(HeaderValue::as_bytes), &etag);
        let cache_control = crate::validators::cache_control(self.state.availability_cache.ttl());
        for (name, value) in [(header::ETAG, etag), (header::CACHE_CONTROL, cache_control)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                parts.headers.insert(name, value);
            }
        }
        if matched {
            parts.status = StatusCode::NOT_MODIFIED;
            parts.headers.remove(header::CONTENT_TYPE);
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, poem::Body::empty());
        }
        Response::from_parts(parts, poem::Body::from(bytes))
    }

    /// A page that only says something: an error or a state.
    fn message(&self, common: &Common, status: StatusCode, heading: &str, paragraphs: &[String]) -> Response {
        self.message_with(common, status, heading, paragraphs, None)
    }

    fn message_with(
        &self,
        common: &Common,
        status: StatusCode,
        heading: &str,
        paragraphs: &[String],
        action: Option<(String, &str)>,
    ) -> Response {
        let (action_url, action_label) = action.map_or((None, None), |(u, l)| (Some(u), Some(l)));
        let ctx = serde_json::json!({
            "title": heading, "heading": heading, "paragraphs": paragraphs,
            "action_url": action_url, "action_label": action_label,
        });
        self.render("message.html", common, ctx, status)
    }

    fn not_found(&self, common: &Common) -> Response {
        let l = common.lang;
        self.message(common, StatusCode::NOT_FOUND, l.text("not_found_title"), &[l.text("not_found_body").into()])
    }

    /// A 429 saying when to retry.
    fn rate_limited(&self, common: &Common, retry_after: &str) -> Response {
        let l = common.lang;
        let body = l.fill("rate_body", &[("n", retry_after)]);
        let mut response = self.message(common, StatusCode::TOO_MANY_REQUESTS, l.text("rate_title"), &[body]);
        if let Ok(value) = HeaderValue::from_str(retry_after) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    /// A service error as its page, with the status (and Retry-After) the API answers it with
    /// (the edge decides them, and logs what it must): missing 404, too many requests 429,
    /// database unavailable 503, a refusal 400 or 409 saying why, anything unexpected 500.
    /// Conflicts a page can explain better (a slot taken) are that page's to show first.
    fn failure(&self, common: &Common, e: &ServiceError) -> Response {
        let l = common.lang;
        let (status, retry_after) = self.gate.status_of(e);
        let retry = retry_after.unwrap_or(1).to_string();
        let mut response = match (status, e) {
            (StatusCode::NOT_FOUND, _) => return self.not_found(common),
            (StatusCode::TOO_MANY_REQUESTS, _) => return self.rate_limited(common, &retry),
            (StatusCode::SERVICE_UNAVAILABLE, _) => {
                self.message(common, status, l.text("unavailable_title"), &[l.text("unavailable_body").into()])
            }
            (_, ServiceError::Invalid(why) | ServiceError::Conflict(why)) => {
                self.message(common, status, l.text("error_title"), &[l.fill("refused", &[("why", why)])])
            }
            _ => self.message(common, status, l.text("error_title"), &[l.text("error_body").into()]),
        };
        if let Some(value) = retry_after.map(HeaderValue::from) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Whether a form's POST comes from a page of this server: refused when the browser says it
/// comes from another site or origin (`Sec-Fetch-Site`), or, from a browser that does not send
/// that, when `Origin` names another host than `Host`. (Pages send no referrer, so a browser
/// may send `Origin: null` for their own forms; a request without either header, not a
/// browser's, passes: the CSRF token and the form key do the rest.)
fn same_origin(req: &Request) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    match (header("origin"), header("host")) {
        (None | Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, authority)| authority) == Some(host),
        (Some(_), None) => false,
    }
}

/// `EMBED_FRAME_ANCESTORS` as CSP sources, when every space-separated entry is made of the
/// characters a source expression uses (a `;` or `,` would end the directive); else, and when
/// empty, only this origin (logged).
fn frame_ancestors(configured: &str) -> String {
    let sources: Vec<&str> = configured.split_whitespace().collect();
    let valid = |s: &&str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"*:/.-_'[]".contains(&b));
    if sources.is_empty() || !sources.iter().all(valid) {
        tracing::warn!(
            "EMBED_FRAME_ANCESTORS is not a list of CSP sources; the embed view is framed by this origin only"
        );
        return "'self'".into();
    }
    sources.join(" ")
}

/// What a request says about how to show its page: language, zone, embed view.
pub(crate) struct Common {
    lang: Lang,
    embed: bool,
    /// A page whose URL is a secret (manage pages): `no-store`.
    private: bool,
    /// The path the language links point at, and the query to keep.
    path: String,
    keep: Vec<(String, String)>,
}

impl Common {
    fn new(req: &Request, query: &view::PageQuery, private: bool) -> Self {
        let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let lang = Lang::pick(query.lang.as_deref(), accept);
        let embed = query.embed.as_deref() == Some("1");
        let mut keep = Vec::new();
        for (name, value) in [("tz", &query.tz), ("month", &query.month), ("day", &query.day), ("slot", &query.slot)] {
            if let Some(value) = value {
                keep.push((name.to_string(), value.clone()));
            }
        }
        if let Some(action) = &query.action {
            keep.push(("action".into(), action.clone()));
        }
        if embed {
            keep.push(("embed".into(), "1".into()));
        }
        Self { lang, embed, private, path: req.original_uri().path().to_string(), keep }
    }

    fn context(&self) -> serde_json::Value {
        let langs: Vec<serde_json::Value> = i18n::LANGS
            .iter()
            .map(|l| {
                let mut params: Vec<(&str, &str)> = self.keep.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                params.push(("lang", l.code()));
                serde_json::json!({
                    "code": l.code(), "name": l.own_name(), "current": *l == self.lang,
                    "url": view::url(&self.path, &params),
                })
            })
            .collect();
        serde_json::json!({
            "lang": self.lang.code(),
            "t": self.lang.texts(),
            "embed": self.embed,
            "css_url": assets::url(&assets::STYLES),
            "js_url": assets::url(&assets::SCRIPT),
            "langs": langs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_keep_only_source_expressions() {
        assert_eq!(frame_ancestors("*"), "*");
        assert_eq!(frame_ancestors("https://a.example  'self'"), "https://a.example 'self'");
        assert_eq!(frame_ancestors("https://a.example; script-src *"), "'self'");
        assert_eq!(frame_ancestors(""), "'self'");
    }

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
