//! `Idempotency-Key` (issue #13): an HTTP concern, so it lives at the edge, around the routed
//! operation (see [`crate::api::OperationEndpoint`]), as the answer cache does. The decisions are
//! pure ([`crate::domain::idempotency`]); the rows are [`crate::store::idempotency`]'s.
//!
//! For the operations whose contract declares the `Idempotency-Key` header, a request carrying
//! one valid key is served like this:
//! the key is stored under its operation and caller (the bearer token's subject; for the public
//! operations the link or manage token and the client's address), with a fingerprint of the
//! request (method, path and query, body bytes). A request whose key is free takes it and is
//! served; its answer (status, headers, body) is stored for 24 hours unless it is a 409, 429
//! or 5xx, which let the key go. The body is stored sealed under the key itself, which is never
//! stored (a reservation's answer holds its manage token, of which only a hash is kept). A request with a taken key gets the stored answer byte for
//! byte with `Idempotent-Replayed: true` when it is the same request, a 400 when it is another,
//! and a 409 with Retry-After while the first is still being served. Keys live in the database,
//! so every instance answers alike; expired ones are purged (at most once a minute per process,
//! by the next request with a key).
//!
//! A request without the header, or whose header the operation's own parsing will refuse (not
//! 1 to 255 printable ASCII characters: a 400), or whose bearer token does not verify (a 401),
//! goes straight to the operation.

use crate::api::OperationMeta;
use crate::api::{ApiError, ErrorCode};
use crate::domain::idempotency::{self as key_rules, Decision, IdempotencyKey};
use crate::edge::errors::{refusal, RETRY_AFTER_SECONDS};
use crate::error::ServiceError;
use crate::state::AppState;
use crate::store::idempotency::{self as store, Claim};
use poem::endpoint::DynEndpoint;
use poem::http::{HeaderMap, StatusCode};
use poem::{Body, Request, Response};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The request header.
pub const KEY_HEADER: &str = "idempotency-key";
/// The header a replayed answer carries (`true`).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Seconds between purges of expired keys, per process.
const PURGE_EVERY_SECONDS: i64 = 60;
/// Response headers never stored: they describe the connection or this exchange.
const NOT_STORED: &[&str] =
    &["content-length", "transfer-encoding", "connection", "date", "x-request-id", REPLAYED_HEADER];

pub struct Idempotency {
    state: Arc<AppState>,
    /// When expired keys were last purged (Unix seconds of the app's clock).
    last_purge: AtomicI64,
}

/// What a request with a key gets, once the store was asked.
enum Outcome {
    /// This request holds the key: serve it.
    Serve,
    Replay(crate::entities::idempotency_keys::Model),
    Mismatch,
    InFlight,
}

impl Idempotency {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state, last_purge: AtomicI64::new(i64::MIN) }
    }

    /// Whether `req` to `op` is this layer's to serve.
    pub fn applies(op: &OperationMeta, req: &Request) -> bool {
        op.headers.contains(&KEY_HEADER) && req.headers().contains_key(KEY_HEADER)
    }

    pub async fn call(
        &self,
        op: &'static OperationMeta,
        mut req: Request,
        next: &dyn DynEndpoint<Output = Response>,
    ) -> poem::Result<Response> {
        let mut values = req.headers().get_all(KEY_HEADER).iter();
        let key = match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok().and_then(IdempotencyKey::parse),
            _ => None,
        };
        let (Some(key), Some(caller)) = (key, self.caller(op, &req)) else { return next.call(req).await };
        let body = req.take_body().into_bytes().await?;
        req.set_body(body.clone());
        let now = self.state.clock.now();
        self.purge_if_due(now).await;
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let fingerprint = key_rules::fingerprint(req.method().as_str(), path, &body);
        let key_hash = key_rules::storage_key(op.operation_id, &caller, &key);
        let claim = Claim {
            key_hash: &key_hash,
            operation: op.operation_id,
            fingerprint: &fingerprint,
            now,
            lease_until: now + key_rules::lease(),
            expires_at: now + key_rules::retention(),
        };
        match self.take(&claim).await {
            Ok(Outcome::Serve) => {}
            Ok(Outcome::Replay(row)) => {
                let opened =
                    row.response_body.as_deref().and_then(|b| key_rules::open(op.operation_id, &caller, &key, b));
                return Ok(match opened {
                    Some(body) => {
                        metrics::counter!(crate::metrics::IDEMPOTENCY_REPLAYS).increment(1);
                        replay(&row, body)
                    }
                    None => failed(&req, op, ServiceError::internal("a stored idempotent answer that does not open")),
                });
            }
            Ok(Outcome::Mismatch) => {
                let message = "this Idempotency-Key was used for another request (another path or body); use a new key for a new request";
                return Ok(refusal(&req, op, ApiError::new(400, ErrorCode::Validation, message)));
            }
            Ok(Outcome::InFlight) => {
                let message = "a request with this Idempotency-Key is still being served; send it again after Retry-After seconds for its answer";
                let err = ApiError::new(409, ErrorCode::Conflict, message).with_retry_after(RETRY_AFTER_SECONDS);
                return Ok(refusal(&req, op, err));
            }
            Err(e) => return Ok(failed(&req, op, e)),
        }
        let lease_until = claim.lease_until;
        let response = match next.call(req).await {
            Ok(response) => response,
            Err(e) => {
                self.let_go(&key_hash, lease_until).await;
                return Err(e);
            }
        };
        let status = response.status().as_u16();
        if !key_rules::keeps(status) {
            self.let_go(&key_hash, lease_until).await;
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let bytes = match body.into_bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                self.let_go(&key_hash, lease_until).await;
                return Err(e.into());
            }
        };
        let headers = stored_headers(&parts.headers);
        let sealed = key_rules::seal(op.operation_id, &caller, &key, &bytes);
        match store::answer(&self.state.db, &key_hash, lease_until, status, headers, sealed).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("an idempotency key's lease ran out before its answer was stored"),
            Err(e) => {
                tracing::warn!(error = %e, "storing an idempotent answer failed; the key is let go");
                self.let_go(&key_hash, lease_until).await;
            }
        }
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }

    /// Who is calling, as keys are scoped: the token's subject, or for a public operation its
    /// link or manage token and the client's address. `None`: no verified caller (the operation
    /// answers the 401).
    fn caller(&self, op: &OperationMeta, req: &Request) -> Option<String> {
        if op.secured {
            let verified = req.data::<crate::auth::Authenticated>()?;
            Some(format!("user:{}", verified.principal.user_id))
        } else {
            let token = op.raw_path_param(req, "token").or_else(|| op.raw_path_param(req, "manageToken"))?;
            let client = crate::edge::guard::request_client(req, self.state.limits.trusted_proxy_hops)
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            Some(format!("public:{token}:{client}"))
        }
    }

    /// Asks the store until the key is this request's or another's answer decides (a few
    /// rounds: each lost race means another request changed the row meanwhile). The first
    /// look takes a free key or reads the row (one statement on PostgreSQL), so a replay costs
    /// one round trip, a new request two with its answer stored.
    async fn take(&self, claim: &Claim<'_>) -> Result<Outcome, ServiceError> {
        let db = &self.state.db;
        for _ in 0..3 {
            let row = match store::claim_or_find(db, claim).await? {
                store::Claimed::Taken => return Ok(Outcome::Serve),
                store::Claimed::Held(row) => row,
                store::Claimed::Lost => continue,
            };
            match key_rules::decide(Some(&store::held(&row)), claim.fingerprint, claim.now) {
                // A row is there: never a claim of a free key.
                Decision::Claim => continue,
                Decision::TakeOver => {
                    if store::take_over(db, &row, claim).await? {
                        return Ok(Outcome::Serve);
                    }
                }
                Decision::Replay => return Ok(Outcome::Replay(row)),
                Decision::Mismatch => return Ok(Outcome::Mismatch),
                Decision::InFlight => return Ok(Outcome::InFlight),
            }
        }
        Ok(Outcome::InFlight)
    }

    /// Lets go of a key whose answer is not kept (logged when that fails: the key then waits
    /// for its lease to run out).
    async fn let_go(&self, key_hash: &str, lease_until: chrono::DateTime<chrono::Utc>) {
        if let Err(e) = store::release(&self.state.db, key_hash, lease_until).await {
            tracing::warn!(error = %e, "letting an idempotency key go failed; it is free once its lease runs out");
        }
    }

    async fn purge_if_due(&self, now: chrono::DateTime<chrono::Utc>) {
        let at = now.timestamp();
        let last = self.last_purge.load(Ordering::Relaxed);
        if last != i64::MIN && (last..last + PURGE_EVERY_SECONDS).contains(&at) {
            return;
        }
        if self.last_purge.compare_exchange(last, at, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        match store::purge_expired(&self.state.db, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired idempotency keys failed"),
        }
    }
}

/// The headers of an answer worth giving again, as JSON `[[name, value], ...]`.
fn stored_headers(headers: &HeaderMap) -> String {
    let kept: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| !NOT_STORED.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into())
}

/// A stored answer, again (its body opened).
fn replay(row: &crate::entities::idempotency_keys::Model, body: Vec<u8>) -> Response {
    let status = row.response_status.and_then(|s| u16::try_from(s).ok()).and_then(|s| StatusCode::from_u16(s).ok());
    let headers: Vec<(String, String)> =
        row.response_headers.as_deref().and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default();
    let mut builder = Response::builder().status(status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.header(REPLAYED_HEADER, "true").body(body)
}

/// The store failed: a transient fault is the 503 the operation declares (with Retry-After),
/// anything else its 500 (logged by the mapping).
fn failed(req: &Request, op: &OperationMeta, e: ServiceError) -> Response {
    refusal(req, op, ApiError::from(e))
}
