//! Limits that keep one client from exhausting the server: a request body size limit and a
//! body read timeout on every operation, and per-client rate limits on the public operations
//! (availability, reserve; `HEAD` counts as the `GET` it is answered as), counted in this process
//! or, with `REDIS_URL`, in Redis across instances ([`crate::edge::rate_limit`]). Refusals answer
//! in the envelope and with a status the operation declares. The connection-level limits (how long a
//! request's head may take, connections per client) are in [`crate::edge::listener`].

use crate::api::OperationMeta;
use crate::api::{ApiError, ErrorCode};
use crate::edge::errors::refusal;
use crate::edge::rate_limit::{Limiter, Rate, Redis};
use poem::http::{header, HeaderValue};
use poem::{Request, Response};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests a minute each client may make to the public operations (0: no limit).
    pub public_per_minute: u32,
    /// How many of those may come at once.
    pub public_burst: u32,
    /// How many trusted proxies in front of the server append to `X-Forwarded-For` (0: the
    /// header is ignored); see [`client_address`].
    pub trusted_proxy_hops: usize,
    /// How long an operation's request body may take to arrive.
    pub body_read_timeout: Duration,
}

impl From<&crate::config::LimitSettings> for GuardSettings {
    fn from(limits: &crate::config::LimitSettings) -> Self {
        Self {
            max_body_bytes: limits.max_body_bytes,
            public_per_minute: limits.public_per_minute,
            public_burst: limits.public_burst,
            trusted_proxy_hops: limits.trusted_proxy_hops,
            body_read_timeout: limits.body_read_timeout(),
        }
    }
}

/// The request limits of every operation: body size and read time, and the public operations'
/// rate limit.
pub struct Guard {
    settings: GuardSettings,
    limiter: Option<Limiter>,
}

impl Guard {
    /// The limits of `settings`; the rate limit is counted as `scope` (its metric label and part
    /// of its Redis key), in `redis` when given (shared by the instances), else in this process.
    pub fn new(settings: GuardSettings, scope: &'static str, redis: Option<Arc<Redis>>) -> Self {
        let rate = Rate { per_minute: settings.public_per_minute, burst: settings.public_burst };
        let limiter = (settings.public_per_minute > 0).then(|| Limiter::new(scope, rate, redis));
        Self { settings, limiter }
    }

    /// Reads `req`'s body (within the limits) and takes a token for a public operation; or the
    /// refusal to answer instead.
    pub async fn admit(&self, op: &'static OperationMeta, req: &mut Request) -> Option<Response> {
        let max = self.settings.max_body_bytes;
        let too_large = || format!("the request body is larger than {max} bytes");
        let declared_length =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|n| n > max as u64) {
            return Some(refuse(req, op, 413, too_large()));
        }
        if declared_length.is_some_and(|n| n > 0) || req.headers().contains_key(header::TRANSFER_ENCODING) {
            // Read the body (at most the limit) before anything parses it, within the timeout:
            // a client that sends part of it and stalls is answered rather than waited for.
            let timeout = self.settings.body_read_timeout;
            match tokio::time::timeout(timeout, req.take_body().into_bytes_limit(max)).await {
                Ok(Ok(bytes)) => req.set_body(bytes),
                Ok(Err(_)) => return Some(refuse(req, op, 413, too_large())),
                Err(_) => {
                    let message = format!("the request body did not arrive within {} ms", timeout.as_millis());
                    let mut response = refuse(req, op, 408, message);
                    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    return Some(response);
                }
            }
        }
        if let (false, Some(limiter)) = (op.secured, &self.limiter) {
            if let Some(client) = request_client(req, self.settings.trusted_proxy_hops) {
                if let Err(wait) = limiter.check(client).await {
                    let message = "too many requests from this client; retry later";
                    let err = ApiError::new(429, ErrorCode::TooManyRequests, message).with_retry_after(wait.as_secs());
                    return Some(refusal(req, op, err));
                }
            }
        }
        None
    }
}

/// The address a request is counted against. Each of the `hops` trusted proxies appends the
/// address it was connected from to `X-Forwarded-For`, so the client is the entry `hops` places
/// from the right: everything left of it was written by the client and is not trusted. With
/// no hops, or fewer entries than hops, or an entry that is not an address, it is the peer.
pub fn client_address<'a>(
    forwarded_for: impl Iterator<Item = &'a str>,
    peer: Option<IpAddr>,
    hops: usize,
) -> Option<IpAddr> {
    let peer = peer.map(|ip| ip.to_canonical());
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
    let Some(index) = entries.len().checked_sub(hops) else { return peer };
    parse_forwarded_entry(entries[index]).or(peer)
}

/// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, or either with a port.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

pub fn request_client(req: &Request, hops: usize) -> Option<IpAddr> {
    let forwarded = req.headers().get_all("x-forwarded-for").into_iter().filter_map(|v| v.to_str().ok());
    client_address(forwarded, req.remote_addr().as_socket_addr().map(|a| a.ip()), hops)
}

fn refuse(req: &Request, op: &OperationMeta, status: u16, message: String) -> Response {
    refusal(req, op, ApiError::new(status, ApiError::code_for_status(status), message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_client_is_read_from_the_right_past_the_trusted_hops() {
        let peer = ip("10.0.0.9");
        let headers = ["203.0.113.7, 198.51.100.1", "192.0.2.4"];
        // No trusted proxy: the header is the client's own claim and ignored.
        assert_eq!(client_address(headers.into_iter(), peer, 0), peer);
        // One proxy appended the last entry; two proxies, the one before it (across header lines).
        assert_eq!(client_address(headers.into_iter(), peer, 1), ip("192.0.2.4"));
        assert_eq!(client_address(headers.into_iter(), peer, 2), ip("198.51.100.1"));
        assert_eq!(client_address(headers.into_iter(), peer, 3), ip("203.0.113.7"));
        // Fewer entries than hops: the request did not come through them all; count the peer.
        assert_eq!(client_address(headers.into_iter(), peer, 4), peer);
        assert_eq!(client_address(std::iter::empty(), peer, 1), peer);
        assert_eq!(client_address(["unknown"].into_iter(), peer, 1), peer);
        // Ports, brackets and IPv4-mapped IPv6 addresses name the same client.
        assert_eq!(client_address(["192.0.2.4:5555"].into_iter(), peer, 1), ip("192.0.2.4"));
        assert_eq!(client_address(["[2001:db8::1]:80"].into_iter(), peer, 1), ip("2001:db8::1"));
        assert_eq!(client_address(["[2001:db8::1]"].into_iter(), peer, 1), ip("2001:db8::1"));
        assert_eq!(client_address(["::ffff:192.0.2.4"].into_iter(), peer, 1), ip("192.0.2.4"));
        assert_eq!(client_address(std::iter::empty(), ip("::ffff:10.0.0.9"), 0), peer);
    }
}
