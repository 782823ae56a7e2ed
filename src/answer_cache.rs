//! Rendered `getBookingAvailability` answers, served again while nothing they depend on changed.
//!
//! A popular booking link is read far more often than it changes, mostly for the same ranges
//! (`/booking/<token>` sends everyone to the same week). Rendering ~260 slots is most of such a
//! request's cost, so the rendered answer is kept in [`AvailabilityCache`] tied to the cached
//! link and busy time it was computed from, and served only while those are still the current
//! ones (see that module for what invalidates them).
//!
//! Only answers whose range starts later than now plus the cache's time to live are kept: within
//! that time no slot of the range can pass into the past, so the answer is exactly what the
//! handler would compute. Anything that is not a plain `GET` (or `HEAD`, answered as that `GET`
//! without its body) with exactly one `start` and one `end` goes to the handler, which also
//! answers every error. The query is decoded and the instants parsed by the very functions the
//! handler's extractors use (`+` is a space, as in any form-encoded query), so the cache answers
//! exactly when the handler would answer 200, never a request the handler refuses.
//!
//! [`AvailabilityCache`]: crate::services::availability_cache::AvailabilityCache

use crate::services::availability_cache::AnswerKey;
use crate::state::AppState;
use chrono::{DateTime, FixedOffset, Utc};
use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::types::ParseFromParameter;
use std::sync::Arc;

/// What the generated JSON payload answers with.
const JSON: &str = <crate::api::Json<serde_json::Value> as poem_openapi::payload::Payload>::CONTENT_TYPE;

pub struct AvailabilityAnswers(pub Arc<AppState>);

impl<E: Endpoint> Middleware<E> for AvailabilityAnswers {
    type Output = AvailabilityAnswersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AvailabilityAnswersEndpoint { inner, state: self.0.clone() }
    }
}

pub struct AvailabilityAnswersEndpoint<E> {
    inner: E,
    state: Arc<AppState>,
}

impl<E: Endpoint> Endpoint for AvailabilityAnswersEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let cache = &self.state.availability_cache;
        let Some(key) = cacheable(&req, self.state.clock.now(), cache.ttl()) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        if let Some(body) = cache.answer(&key) {
            // For a HEAD hyper sends the headers (the length of this body) without the body.
            return Ok(Response::builder().content_type(JSON).body(body));
        }
        // A HEAD is computed as its GET, so its answer can be kept for the GETs that follow.
        req.set_method(Method::GET);
        let ticket = cache.ticket();
        let response = self.inner.call(req).await?.into_response();
        if response.status() != StatusCode::OK {
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let bytes = body.into_bytes().await?;
        cache.put_answer(ticket, key, bytes.clone());
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }
}

/// The answer's key, if this request's answer may be kept or served from the cache.
pub fn cacheable(req: &Request, now: DateTime<Utc>, ttl: std::time::Duration) -> Option<AnswerKey> {
    if ttl.is_zero() || !(req.method() == Method::GET || req.method() == Method::HEAD) {
        return None;
    }
    let token = req
        .uri()
        .path()
        .strip_prefix(crate::api::BASE_PATH)?
        .strip_prefix("/booking/")?
        .strip_suffix("/availability")?;
    if token.is_empty() || token.contains('/') || token.contains('%') {
        return None;
    }
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
    (start > settled).then(|| AnswerKey { token: token.to_string(), start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::time::Duration;

    fn key(uri: &str) -> Option<AnswerKey> {
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        cacheable(&Request::builder().uri(uri.parse().unwrap()).finish(), now, Duration::from_secs(1))
    }

    #[test]
    fn only_plain_future_ranges_are_kept() {
        let k =
            key("/v1/booking/abc/availability?start=2030-03-04T00%3A00%3A00Z&end=2030-03-05T00:00:00%2B01:00").unwrap();
        assert_eq!(k.token, "abc");
        assert_eq!(k.start, Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap());
        assert_eq!(k.end, Utc.with_ymd_and_hms(2030, 3, 4, 23, 0, 0).unwrap());
        // The same instants written otherwise are the same answer.
        assert_eq!(
            key("/v1/booking/abc/availability?end=2030-03-04T23:00:00Z&start=2030-03-04T01:00:00%2B01:00"),
            Some(k.clone())
        );
        // A HEAD is its GET.
        let head = Request::builder()
            .method(Method::HEAD)
            .uri("/v1/booking/abc/availability?start=2030-03-04T00:00:00Z&end=2030-03-04T23:00:00Z".parse().unwrap())
            .finish();
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(cacheable(&head, now, Duration::from_secs(1)), Some(k));

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
}
