//! Rendered `getBookingAvailability` answers, served again while nothing they depend on changed:
//! an HTTP concern, so it lives at the edge, around the routed operation (see
//! [`crate::api::OperationEndpoint`]); the services cache only the domain data it is tied to.
//!
//! A popular booking link is read far more often than it changes, mostly for the same ranges
//! (`/booking/<token>` sends everyone to the same week). Rendering ~260 slots is most of such a
//! request's cost, so the rendered answer is kept here tied to the [`AvailabilityCache`]d
//! link and busy time it was computed from, and served only while those are still the current
//! ones (see that module for what invalidates them).
//!
//! Only answers whose range starts later than now plus the cache's time to live are kept: within
//! that time no slot of the range can pass into the past, so the answer is exactly what the
//! handler would compute. Anything that is not a plain `GET` (a `HEAD` is served as its `GET`, see
//! `crate::edge::router`) with exactly one `start` and one `end` goes to the handler, which also answers
//! every error. The token is the router's path parameter. The query is decoded and the instants parsed by the very functions the
//! handler's extractors use (`+` is a space, as in any form-encoded query), so the cache answers
//! exactly when the handler would answer 200, never a request the handler refuses.
//!
//! Every 200 of the operation carries HTTP validators ([`crate::validators`]): a strong `ETag`
//! (a digest of the body; for a kept answer computed once, when it is stored, not per hit) and
//! `Cache-Control: public, max-age=<the cache's time to live>`; a request whose `If-None-Match`
//! matches is answered 304 with those headers and no body (a kept answer is compared without
//! touching its body, so a revalidation costs less than a hit).
//!
//! [`AvailabilityCache`]: crate::services::availability_cache::AvailabilityCache

use crate::api::OperationMeta;
use crate::domain::input::LinkToken;
use crate::services::availability_cache::{AvailabilityCache, BusyWindow, CachedLink, Ticket, TtlMap};
use crate::state::AppState;
use chrono::{DateTime, FixedOffset, Utc};
use poem::endpoint::DynEndpoint;
use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::{Body, Request, Response};
use poem_openapi::types::ParseFromParameter;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the generated JSON payload answers with.
const JSON: &str = <crate::api::Json<serde_json::Value> as poem_openapi::payload::Payload>::CONTENT_TYPE;

/// RFC 9211's `Cache-Status` on every answer the cache considered: `bookings; hit` when served
/// from it, `bookings; fwd=miss` when computed (`; stored` when then kept: from the second time
/// it is asked for, see [`Doorkeeper`]). Operators and load tests see whether the cache works;
/// clients may ignore it.
const CACHE_STATUS: &str = "cache-status";
const HIT: &str = "bookings; hit";
const MISS: &str = "bookings; fwd=miss";
const MISS_STORED: &str = "bookings; fwd=miss; stored";

/// The longest `If-None-Match` the contract takes (its `maxLength`).
const MAX_IF_NONE_MATCH: usize = 8192;

/// The operation whose answers are kept.
pub const CACHED_OPERATION: &str = "getBookingAvailability";
/// At most this many rendered answers, each at most [`MAX_ANSWER_BYTES`] (64 MiB in all).
pub const MAX_ANSWERS: usize = 1_000;
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What an availability answer depends on besides the link and its calendar's busy time: the
/// token and the range (instants, however they were written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    pub token: LinkToken,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A rendered answer and the cache entries it was computed from: it is served only while both
/// are still the current ones.
struct Answer {
    link: Arc<CachedLink>,
    busy: Arc<BusyWindow>,
    body: bytes::Bytes,
    /// The body's ETag, computed when it was stored.
    etag: HeaderValue,
}

/// A kept answer as served: its body and its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub body: bytes::Bytes,
    pub etag: HeaderValue,
}

/// Which answers were asked for lately, so an answer is kept only when asked for a second time
/// (CDNs' "cache on second hit"): a stream of ranges each asked once (a calendar UI paging
/// through weeks) then costs no copy, no insert and no memory, and the answers kept are the
/// ones asked for again. A fixed table of key hashes, lock-free: a collision only forgets a key
/// (its answer is kept one request later); what is served is still found by its whole key.
struct Doorkeeper {
    hasher: std::hash::RandomState,
    seen: Box<[AtomicU64]>,
}

impl Doorkeeper {
    fn new(slots: usize) -> Self {
        Self { hasher: std::hash::RandomState::new(), seen: (0..slots.max(1)).map(|_| AtomicU64::new(0)).collect() }
    }

    /// Whether `key` was asked for before (and its slot not taken since); remembers it.
    fn asked_before(&self, key: &AnswerKey) -> bool {
        let hash = self.hasher.hash_one(key) | 1; // never 0, an empty slot
        let slot = &self.seen[(hash % self.seen.len() as u64) as usize];
        slot.swap(hash, Ordering::Relaxed) == hash
    }
}

/// Rendered answers, each tied to the link and busy time of an [`AvailabilityCache`].
pub struct RenderedAnswers {
    answers: TtlMap<AnswerKey, Answer>,
    doorkeeper: Doorkeeper,
}

impl RenderedAnswers {
    pub fn new(ttl: Duration) -> Self {
        Self { answers: TtlMap::new(MAX_ANSWERS, ttl), doorkeeper: Doorkeeper::new(4 * MAX_ANSWERS) }
    }

    /// Whether an answer to `key`, once rendered, should be kept: it was asked for before.
    pub fn worth_keeping(&self, key: &AnswerKey) -> bool {
        self.doorkeeper.asked_before(key)
    }

    /// A rendered answer, if the link and busy time it was computed from are still current.
    pub fn answer(&self, cache: &AvailabilityCache, key: &AnswerKey) -> Option<Kept> {
        let answer = self.answers.get(key)?;
        let link = cache.link(&key.token)?;
        // A team link's answer depends on its members' calendars too: never kept.
        if link.scheduling != crate::domain::availability::Scheduling::Single {
            return None;
        }
        let busy = cache.busy(link.calendar_id)?;
        (Arc::ptr_eq(&link, &answer.link) && Arc::ptr_eq(&busy, &answer.busy))
            .then(|| Kept { body: answer.body.clone(), etag: answer.etag.clone() })
    }

    /// Keeps an answer rendered since `ticket` was taken, tied to the current link and busy time.
    /// Whether it was kept.
    pub fn put_answer(
        &self,
        cache: &AvailabilityCache,
        ticket: Ticket,
        key: AnswerKey,
        body: bytes::Bytes,
        etag: HeaderValue,
    ) -> bool {
        if body.len() > MAX_ANSWER_BYTES {
            return false;
        }
        let Some(link) = cache.link(&key.token) else { return false };
        if link.scheduling != crate::domain::availability::Scheduling::Single
            || !cache.current(ticket, &key.token, link.calendar_id)
        {
            return false;
        }
        let Some(busy) = cache.busy(link.calendar_id) else { return false };
        self.answers.put(key, Arc::new(Answer { link, busy, body, etag }), ticket.started());
        true
    }
}

/// The answer cache around [`CACHED_OPERATION`].
pub struct AvailabilityAnswers {
    state: Arc<AppState>,
    rendered: RenderedAnswers,
    /// `public, max-age=<the cache's time to live>`.
    cache_control: HeaderValue,
}

impl AvailabilityAnswers {
    pub fn new(state: Arc<AppState>) -> Self {
        let ttl = state.availability_cache.ttl();
        let rendered = RenderedAnswers::new(ttl);
        let cache_control =
            HeaderValue::from_str(&crate::validators::cache_control(ttl)).expect("a Cache-Control value is ASCII");
        Self { state, rendered, cache_control }
    }

    /// Answers `req` for `op` from the cache, or by `next` (keeping a cacheable answer); every
    /// 200 of [`CACHED_OPERATION`] with its validators, a matching `If-None-Match` with a 304.
    pub async fn call(
        &self,
        op: &'static OperationMeta,
        req: Request,
        next: &dyn DynEndpoint<Output = Response>,
    ) -> poem::Result<Response> {
        if op.operation_id != CACHED_OPERATION {
            return next.call(req).await;
        }
        let cache = &self.state.availability_cache;
        let Some(key) = cacheable(op, &req, self.state.clock.now(), cache.ttl()) else {
            let revalidating = if_none_match(&req);
            let response = next.call(req).await?;
            return validated(response, revalidating, &self.cache_control, None).await;
        };
        if let Some(kept) = self.rendered.answer(cache, &key) {
            metrics::counter!(crate::metrics::ANSWER_CACHE_REQUESTS, "result" => "hit").increment(1);
            let status = HeaderValue::from_static(HIT);
            if matches(if_none_match(&req).as_ref(), &kept.etag) {
                return Ok(not_modified(kept.etag, self.cache_control.clone(), status));
            }
            return Ok(Response::builder()
                .content_type(JSON)
                .header(header::ETAG, kept.etag)
                .header(header::CACHE_CONTROL, self.cache_control.clone())
                .header(CACHE_STATUS, status)
                .body(kept.body));
        }
        metrics::counter!(crate::metrics::ANSWER_CACHE_REQUESTS, "result" => "miss").increment(1);
        let revalidating = if_none_match(&req);
        if !self.rendered.worth_keeping(&key) {
            let response = next.call(req).await?;
            return validated(response, revalidating, &self.cache_control, Some(MISS)).await;
        }
        let ticket = cache.ticket();
        let response = next.call(req).await?;
        if response.status() != StatusCode::OK {
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let bytes = body.into_bytes().await?;
        let etag = etag_header(&bytes);
        let stored = self.rendered.put_answer(cache, ticket, key, bytes.clone(), etag.clone());
        if stored {
            metrics::counter!(crate::metrics::ANSWER_CACHE_REQUESTS, "result" => "stored").increment(1);
        }
        let status = if stored { MISS_STORED } else { MISS };
        Ok(finish(parts, bytes, etag, revalidating, &self.cache_control, Some(status)))
    }
}

/// The field lines of the request's `If-None-Match`, if it has any.
fn if_none_match(req: &Request) -> Option<Vec<HeaderValue>> {
    let fields: Vec<HeaderValue> = req.headers().get_all(header::IF_NONE_MATCH).iter().cloned().collect();
    (!fields.is_empty()).then_some(fields)
}

fn etag_header(body: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&crate::validators::etag_of(body)).expect("an ETag is quoted base64")
}

fn etag_str(etag: &HeaderValue) -> &str {
    etag.to_str().unwrap_or_default()
}

fn matches(revalidating: Option<&Vec<HeaderValue>>, etag: &HeaderValue) -> bool {
    revalidating
        .is_some_and(|fields| crate::validators::none_match(fields.iter().map(HeaderValue::as_bytes), etag_str(etag)))
}

/// A 304 for a kept answer: its validators, no body.
fn not_modified(etag: HeaderValue, cache_control: HeaderValue, cache_status: HeaderValue) -> Response {
    Response::builder()
        .status(StatusCode::NOT_MODIFIED)
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, cache_control)
        .header(CACHE_STATUS, cache_status)
        .finish()
}

/// A computed answer with its validators (a 200; anything else as it is), or a 304 when the
/// request's `If-None-Match` matches it.
async fn validated(
    response: Response,
    revalidating: Option<Vec<HeaderValue>>,
    cache_control: &HeaderValue,
    cache_status: Option<&'static str>,
) -> poem::Result<Response> {
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = body.into_bytes().await?;
    let etag = etag_header(&bytes);
    Ok(finish(parts, bytes, etag, revalidating, cache_control, cache_status))
}

fn finish(
    mut parts: poem::ResponseParts,
    bytes: bytes::Bytes,
    etag: HeaderValue,
    revalidating: Option<Vec<HeaderValue>>,
    cache_control: &HeaderValue,
    cache_status: Option<&'static str>,
) -> Response {
    let not_modified = matches(revalidating.as_ref(), &etag);
    parts.headers.insert(header::ETAG, etag);
    parts.headers.insert(header::CACHE_CONTROL, cache_control.clone());
    if let Some(status) = cache_status {
        parts.headers.insert(CACHE_STATUS, HeaderValue::from_static(status));
    }
    if not_modified {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The answer's key, if this request's answer may be kept or served from the cache.
pub fn cacheable(op: &OperationMeta, req: &Request, now: DateTime<Utc>, ttl: std::time::Duration) -> Option<AnswerKey> {
    if ttl.is_zero() || !(req.method() == Method::GET || req.method() == Method::HEAD) {
        return None;
    }
    // An `If-None-Match` the route refuses (not text, over the contract's 8192 characters) is
    // the handler's 400.
    if req.headers().get_all(header::IF_NONE_MATCH).iter().any(|v| v.len() > MAX_IF_NONE_MATCH || v.to_str().is_err()) {
        return None;
    }
    // The router's `{token}`, as it matched it (not decoded); one that is not a token is the
    // handler's 404.
    let token = LinkToken::parse(op.raw_path_param(req, "token")?)?;
    let (mut start, mut end) = (None, None);
    // What poem-openapi's `Query` extractors read (`OpenApiService` decodes the query with
    // `Request::params`) ...
    let pairs: Vec<(String, String)> = req.params().ok()?;
    for (name, value) in pairs {
        let slot = match name.as_str() {
            "start" => &mut start,
            "end" => &mut end,
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        // ... parsed as `Query<DateTime<FixedOffset>>` parses it.
        let instant = <DateTime<FixedOffset> as ParseFromParameter>::parse_from_parameter(&value).ok()?;
        *slot = Some(instant.with_timezone(&Utc));
    }
    let (start, end) = (start?, end?);
    let settled = now + chrono::Duration::from_std(ttl).ok()?;
    (start > settled).then_some(AnswerKey { token, start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::Interval;
    use crate::domain::ids::CalendarId;
    use chrono::TimeZone;
    use poem::{EndpointExt, Route};
    use std::time::Duration;

    /// The key of `req` as the cache sees it behind the router: `None` where the request is not
    /// routed to the cached operation.
    fn key_of(req: Request) -> Option<AnswerKey> {
        let op = crate::api::OPERATIONS.iter().find(|op| op.operation_id == CACHED_OPERATION).unwrap();
        let route = format!("{}{}", crate::api::BASE_PATH, op.route);
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let seen = Arc::new(std::sync::Mutex::new(None));
        let keep = seen.clone();
        let ep = Route::new().at(
            route,
            poem::get(poem::endpoint::make_sync(move |req| {
                *keep.lock().unwrap() = cacheable(op, &req, now, Duration::from_secs(1));
            }))
            .map_to_response(),
        );
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let _ = runtime.block_on(poem::Endpoint::call(&ep, req));
        let key = seen.lock().unwrap().take();
        key
    }

    fn key(uri: &str) -> Option<AnswerKey> {
        key_of(Request::builder().uri(uri.parse().unwrap()).finish())
    }

    #[test]
    fn only_plain_future_ranges_are_kept() {
        let k =
            key("/v1/booking/abc/availability?start=2030-03-04T00%3A00%3A00Z&end=2030-03-05T00:00:00%2B01:00").unwrap();
        assert_eq!(k.token.as_str(), "abc");
        assert_eq!(k.start, Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap());
        assert_eq!(k.end, Utc.with_ymd_and_hms(2030, 3, 4, 23, 0, 0).unwrap());
        // The same instants written otherwise are the same answer.
        assert_eq!(
            key("/v1/booking/abc/availability?end=2030-03-04T23:00:00Z&start=2030-03-04T01:00:00%2B01:00"),
            Some(k.clone())
        );
        // Validators to revalidate with do not change the answer; one the route refuses is its 400.
        let revalidating = |value: &[u8]| {
            Request::builder()
                .uri(
                    "/v1/booking/abc/availability?start=2030-03-04T00:00:00Z&end=2030-03-04T23:00:00Z".parse().unwrap(),
                )
                .header(header::IF_NONE_MATCH, HeaderValue::from_bytes(value).unwrap())
                .finish()
        };
        assert_eq!(key_of(revalidating(b"\"a\", W/\"b\"")), Some(k.clone()));
        assert_eq!(key_of(revalidating(&vec![b'a'; MAX_IF_NONE_MATCH + 1])), None);
        assert_eq!(key_of(revalidating(b"\"\xff\"")), None);
        // A HEAD is its GET.
        let head = Request::builder()
            .method(Method::HEAD)
            .uri("/v1/booking/abc/availability?start=2030-03-04T00:00:00Z&end=2030-03-04T23:00:00Z".parse().unwrap())
            .finish();
        assert_eq!(key_of(head), Some(k));

        for uri in [
            "/v1/booking/abc/availability?start=2030-03-04T00:00:00Z",
            "/v1/booking/abc/availability?start=2030-03-04T00:00:00Z&end=2030-03-05T00:00:00Z&x=1",
            "/v1/booking/abc/availability?start=2030-03-04T00:00:00Z&start=2030-03-04T00:00:00Z&end=2030-03-05T00:00:00Z",
            "/v1/booking/abc/availability?start=tomorrow&end=2030-03-05T00:00:00Z",
            // A raw `+` is a space in a query: the handler refuses this offset, so must the cache.
            "/v1/booking/abc/availability?start=2030-03-04T00:00:00+01:00&end=2030-03-05T00:00:00Z",
            "/v1/booking/a/b/availability?start=2030-03-04T00:00:00Z&end=2030-03-05T00:00:00Z",
            "/v1/booking//availability?start=2030-03-04T00:00:00Z&end=2030-03-05T00:00:00Z",
            "/v1/booking/abc/reserve?start=2030-03-04T00:00:00Z&end=2030-03-05T00:00:00Z",
            // Starting within the time to live: a slot could pass meanwhile.
            "/v1/booking/abc/availability?start=2030-01-01T00:00:00Z&end=2030-01-05T00:00:00Z",
        ] {
            assert_eq!(key(uri), None, "{uri}");
        }
    }

    #[test]
    fn an_answer_is_worth_keeping_from_its_second_request() {
        let answers = RenderedAnswers::new(Duration::from_secs(1));
        let key = |day: u32| AnswerKey {
            token: token("t"),
            start: Utc.with_ymd_and_hms(2030, 1, day, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2030, 1, day + 1, 0, 0, 0).unwrap(),
        };
        assert!(!answers.worth_keeping(&key(1)));
        assert!(!answers.worth_keeping(&key(2)));
        assert!(answers.worth_keeping(&key(1)));
        assert!(answers.worth_keeping(&key(1)));
        assert!(answers.worth_keeping(&key(2)));
        assert!(!answers.worth_keeping(&key(3)));
    }

    fn token(raw: &str) -> LinkToken {
        LinkToken::parse(raw).unwrap()
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, h, 0, 0).unwrap()
    }

    fn window() -> Arc<BusyWindow> {
        Arc::new(BusyWindow {
            from: at(0),
            to: at(20),
            spans: vec![Interval { start: at(9), end: at(10) }, Interval { start: at(12), end: at(13) }],
        })
    }

    #[test]
    fn an_answer_lives_only_as_long_as_what_it_was_computed_from() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let answers = RenderedAnswers::new(cache.ttl());
        let calendar = CalendarId::new();
        let link = crate::services::availability_cache::tests::cached_link("t", calendar);
        let key = AnswerKey { token: token("t"), start: at(0), end: at(20) };
        let body = bytes::Bytes::from_static(b"{}");
        let etag = etag_header(&body);

        // Nothing to tie it to: not kept.
        answers.put_answer(&cache, cache.ticket(), key.clone(), body.clone(), etag.clone());
        assert!(answers.answer(&cache, &key).is_none());

        cache.put_link(cache.ticket(), link.clone());
        cache.put_busy(cache.ticket(), calendar, window());
        answers.put_answer(&cache, cache.ticket(), key.clone(), body.clone(), etag.clone());
        assert_eq!(answers.answer(&cache, &key), Some(Kept { body: body.clone(), etag: etag.clone() }));

        // New busy time (a write through this process): the answer is gone with it.
        cache.invalidate_calendar(calendar);
        cache.put_busy(cache.ticket(), calendar, window());
        assert!(answers.answer(&cache, &key).is_none());

        // Rendered while a write to another calendar happened: kept (another link and calendar
        // whose invalidation counters are not theirs: a shared one refuses, by design).
        let (other_token, other_calendar) = (1..)
            .map(|n| (token(&format!("other{n}")), CalendarId::new()))
            .find(|(t, c)| !cache.shares_a_counter((&key.token, calendar), (t, *c)))
            .unwrap();
        let ticket = cache.ticket();
        cache.invalidate_link(&other_token);
        cache.invalidate_calendar(other_calendar);
        assert!(answers.put_answer(&cache, ticket, key.clone(), body.clone(), etag.clone()));

        // Rendered while a write to its calendar happened: not kept.
        let ticket = cache.ticket();
        cache.invalidate_calendar(calendar);
        cache.put_busy(cache.ticket(), calendar, window());
        assert!(!answers.put_answer(&cache, ticket, key.clone(), body.clone(), etag.clone()));
        assert!(answers.answer(&cache, &key).is_none());

        // Too big to keep.
        answers.put_answer(
            &cache,
            cache.ticket(),
            key.clone(),
            bytes::Bytes::from(vec![b' '; MAX_ANSWER_BYTES + 1]),
            etag.clone(),
        );
        assert!(answers.answer(&cache, &key).is_none());
    }
}
