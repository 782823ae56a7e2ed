//! Limits that keep one client from exhausting the server: a request body size limit on every
//! operation, and per-client rate limits on the public operations (availability, reserve).
//! Refusals answer in the envelope and with a status the operation declares.

use crate::api::OperationMeta;
use crate::telemetry::{envelope_response, match_operation};
use poem::http::{header, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests a minute each client may make to the public operations (0: no limit).
    pub public_per_minute: u32,
    /// How many of those may come at once.
    pub public_burst: u32,
    /// Take the client address from the first `X-Forwarded-For` entry (behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per client address.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_second: per_minute as f64 / 60.0, burst: burst.max(1) as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `client`, or says how long until one is there.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget clients whose bucket has refilled: they are as good as new.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: self.burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

pub struct Guard {
    settings: GuardSettings,
    limiter: Option<Arc<RateLimiter>>,
}

impl Guard {
    pub fn new(settings: GuardSettings) -> Self {
        let limiter = (settings.public_per_minute > 0)
            .then(|| Arc::new(RateLimiter::new(settings.public_per_minute, settings.public_burst)));
        Self { settings, limiter }
    }
}

impl<E: Endpoint> Middleware<E> for Guard {
    type Output = GuardEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        GuardEndpoint { inner: ep, settings: self.settings.clone(), limiter: self.limiter.clone() }
    }
}

pub struct GuardEndpoint<E> {
    inner: E,
    settings: GuardSettings,
    limiter: Option<Arc<RateLimiter>>,
}

fn client_address(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.remote_addr().as_socket_addr().map(|a| a.ip())
}

fn refuse(req: &Request, op: &OperationMeta, status: u16, message: String) -> Response {
    envelope_response(req.method().as_str(), req.uri().path(), Some(op), status, message)
}

impl<E: Endpoint> Endpoint for GuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let Some(op) = match_operation(req.method().as_str(), req.uri().path()) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let max = self.settings.max_body_bytes;
        let too_large = || format!("the request body is larger than {max} bytes");
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|n| n > max as u64) {
            return Ok(refuse(&req, op, 413, too_large()));
        }
        if declared_length.is_none() && req.headers().contains_key(header::TRANSFER_ENCODING) {
            // A streamed body: read at most the limit before anything parses it.
            match req.take_body().into_bytes_limit(max).await {
                Ok(bytes) => req.set_body(bytes),
                Err(_) => return Ok(refuse(&req, op, 413, too_large())),
            }
        }
        if let (false, Some(limiter)) = (op.secured, &self.limiter) {
            if let Some(client) = client_address(&req, self.settings.trust_forwarded_for) {
                if let Err(wait) = limiter.check(client, Instant::now()) {
                    let mut response = refuse(&req, op, 429, "too many requests from this client; retry later".into());
                    let seconds = wait.as_secs().max(1).to_string();
                    if let Ok(value) = HeaderValue::from_str(&seconds) {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    return Ok(response);
                }
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(60, 3);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip, t0).is_ok());
        }
        let wait = limiter.check(ip, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
        assert!(limiter.check(ip, t0 + Duration::from_secs(1)).is_ok());
        // Another client has its own bucket.
        assert!(limiter.check("10.0.0.1".parse().unwrap(), t0).is_ok());
    }
}
