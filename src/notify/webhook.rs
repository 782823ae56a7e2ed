//! Webhooks: every message's JSON body is POSTed to every configured URL (an endpoint), signed
//! after Standard Webhooks v1 and, for receivers that check today's signature, as before.
//!
//! The body is `{"type": "booking.created", "timestamp": "<RFC 3339>", "data": {...}}` (see
//! `render`). Headers of each request:
//! - `webhook-id`: the message id, the same on every retry (receivers dedupe by it); also sent
//!   as `X-Webhook-Id` and `Idempotency-Key`;
//! - `webhook-timestamp` (and `X-Webhook-Timestamp`): unix seconds at this send;
//! - `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` where the key
//!   is the base64-decoded part of a `whsec_<base64>` secret (the standard's form, what the
//!   Standard Webhooks libraries take), or the bytes of any other (raw) secret;
//! - `X-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, today's
//!   signature, keyed by the secret exactly as configured.
//!
//! Receivers check the standard signature with [`verify_standard`], today's with [`verify`] (and
//! the timestamp's freshness with [`verify_fresh`]).
//!
//! Answers: 2xx is delivered; 410 Gone disables the endpoint (see `outbox`); 408, 429, 5xx and
//! network errors/timeouts are transient (retried on the schedule, a `Retry-After` of a 429 or 503
//! honoured); other answers (other 4xx, and 3xx: redirects are never followed, a moved endpoint is
//! a configuration error) are permanent. URLs are never written whole into errors or logs
//! (webhook URLs often carry a token in their path); only scheme, host and port.
//!
//! Each POST, from connecting to the end of the answer, is bounded by one timeout
//! (`WEBHOOK_TIMEOUT`, [`TIMEOUT`] by default): a receiver that accepts the connection and never
//! answers is a transient failure after that long, and the message is retried later.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use super::transport::{error_chain, SendError, Transport};
use super::Message;

type HmacSha256 = Hmac<Sha256>;

/// Default timeout of one POST, connecting included (`WEBHOOK_TIMEOUT`).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest accepted secret (characters of a raw one, bytes of a `whsec_` one's key).
pub const MIN_SECRET_LEN: usize = 16;
/// The prefix of a secret in the standard's form.
pub const SECRET_PREFIX: &str = "whsec_";

pub const HEADER_ID: &str = "X-Webhook-Id";
pub const HEADER_IDEMPOTENCY_KEY: &str = "Idempotency-Key";
pub const HEADER_TIMESTAMP: &str = "X-Webhook-Timestamp";
pub const HEADER_SIGNATURE: &str = "X-Webhook-Signature";
/// Standard Webhooks' headers.
pub const HEADER_STANDARD_ID: &str = "webhook-id";
pub const HEADER_STANDARD_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_STANDARD_SIGNATURE: &str = "webhook-signature";

/// The signing secret: as configured (today's signature is keyed by it) and the key of the
/// standard's signature.
#[derive(Clone)]
pub struct Secret {
    raw: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// `whsec_<base64>`: the key is the decoded bytes (at least 16); anything else is a raw
    /// secret of at least 16 characters, its bytes the key.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let key = match raw.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => {
                let key = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| anyhow::anyhow!("WEBHOOK_SECRET: after {SECRET_PREFIX}, a base64 key is expected"))?;
                if key.len() < MIN_SECRET_LEN {
                    anyhow::bail!("WEBHOOK_SECRET: a {SECRET_PREFIX} key must be at least {MIN_SECRET_LEN} bytes");
                }
                key
            }
            None => {
                if raw.chars().count() < MIN_SECRET_LEN {
                    anyhow::bail!("WEBHOOK_SECRET must be at least {MIN_SECRET_LEN} characters");
                }
                raw.as_bytes().to_vec()
            }
        };
        Ok(Self { raw: raw.to_owned(), key })
    }

    /// The key of the standard signature.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

/// A configured endpoint's stable id: the first 16 hex digits of SHA-256 of its URL (the URL may
/// carry a token, so it is never shown; the id names it to an admin).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(String);

impl EndpointId {
    pub fn of(url: &Url) -> Self {
        Self(hex::encode(&Sha256::digest(url.as_str().as_bytes())[..8]))
    }

    /// An id as [`EndpointId::of`] makes them (16 lower-case hex digits).
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then(|| Self(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EndpointId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A configured URL with its id and what may be shown of it.
#[derive(Clone)]
pub struct Endpoint {
    pub id: EndpointId,
    /// `scheme://host[:port]`.
    pub target: String,
    url: Url,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("id", &self.id).field("target", &self.target).finish()
    }
}

/// How an endpoint answered a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Delivered,
    /// Worth trying again later (408, 429, 5xx, no answer).
    Transient,
    /// Not worth trying again (3xx, 4xx but 408, 410 and 429).
    Permanent,
    /// 410 Gone: the endpoint is to be disabled.
    Gone,
}

/// One POST of a message to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub endpoint: EndpointId,
    /// What may be shown of its URL.
    pub target: String,
    pub status: Option<u16>,
    pub answer: Answer,
    /// What went wrong (never the URL's path); `None` when delivered.
    pub error: Option<String>,
    /// The `Retry-After` of a 429 or 503.
    pub retry_after: Option<Duration>,
}

#[derive(Clone)]
pub struct WebhookTransport {
    endpoints: Vec<Endpoint>,
    secret: Secret,
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for WebhookTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTransport")
            .field("urls", &self.endpoints.iter().map(|e| e.target.as_str()).collect::<Vec<_>>())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl WebhookTransport {
    /// `urls`: at least one absolute `http`/`https` URL; `secret`: see [`Secret::parse`].
    pub fn new(urls: Vec<String>, secret: String) -> anyhow::Result<Self> {
        Self::with_timeout(urls, secret, TIMEOUT)
    }

    /// [`WebhookTransport::new`] with `timeout` on each POST, from connecting to the end of the
    /// answer.
    pub fn with_timeout(urls: Vec<String>, secret: String, timeout: Duration) -> anyhow::Result<Self> {
        let urls: Vec<Url> = urls
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .enumerate()
            .map(|(i, raw)| {
                let url = Url::parse(raw)
                    .map_err(|e| anyhow::anyhow!("WEBHOOK_URLS: entry {} is not a valid URL: {e}", i + 1))?;
                if !matches!(url.scheme(), "http" | "https") {
                    anyhow::bail!("WEBHOOK_URLS: entry {} must be an http or https URL, not {:?}", i + 1, url.scheme());
                }
                if url.host_str().is_none_or(str::is_empty) {
                    anyhow::bail!("WEBHOOK_URLS: entry {} has no host", i + 1);
                }
                Ok(url)
            })
            .collect::<anyhow::Result<_>>()?;
        if urls.is_empty() {
            anyhow::bail!("WEBHOOK_URLS: at least one URL is required");
        }
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for url in urls {
            let id = EndpointId::of(&url);
            // The same URL twice is one endpoint.
            if !endpoints.iter().any(|e| e.id == id) {
                endpoints.push(Endpoint { id, target: redact(&url), url });
            }
        }
        let secret = Secret::parse(&secret)?;
        // Redirects are never followed: a 3xx is the endpoint's answer, and a failure.
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bookings-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self { endpoints, secret, client, timeout })
    }

    /// From the raw `WEBHOOK_URLS` (comma separated) and `WEBHOOK_SECRET` settings: `None` when
    /// neither is set; an error when only one of them is.
    pub fn from_settings(urls: Option<&str>, secret: Option<&str>) -> anyhow::Result<Option<Self>> {
        let urls = urls.map(split_urls).filter(|u| !u.is_empty());
        let secret = secret.filter(|s| !s.is_empty());
        match (urls, secret) {
            (None, None) => Ok(None),
            (Some(urls), Some(secret)) => Self::new(urls, secret.to_owned()).map(Some),
            (Some(_), None) => {
                anyhow::bail!("WEBHOOK_URLS is set but WEBHOOK_SECRET is not; both are required together")
            }
            (None, Some(_)) => {
                anyhow::bail!("WEBHOOK_SECRET is set but WEBHOOK_URLS is not; both are required together")
            }
        }
    }

    /// How many URLs every message goes to.
    pub fn url_count(&self) -> usize {
        self.endpoints.len()
    }

    /// The configured endpoints, in their configured order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    async fn post(&self, endpoint: &Endpoint, headers: &Signed, body: Vec<u8>) -> Posted {
        let target = &endpoint.target;
        let failed = |status: Option<u16>, answer, error: String, retry_after| Posted {
            endpoint: endpoint.id.clone(),
            target: target.clone(),
            status,
            answer,
            error: Some(format!("webhook {target}: {error}")),
            retry_after,
        };
        let sent = self
            .client
            .post(endpoint.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_STANDARD_ID, &headers.id)
            .header(HEADER_STANDARD_TIMESTAMP, headers.timestamp.to_string())
            .header(HEADER_STANDARD_SIGNATURE, &headers.standard)
            .header(HEADER_ID, &headers.id)
            .header(HEADER_IDEMPOTENCY_KEY, &headers.id)
            .header(HEADER_TIMESTAMP, headers.timestamp.to_string())
            .header(HEADER_SIGNATURE, &headers.legacy)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let e = e.without_url();
                let what = if e.is_timeout() {
                    format!("timed out after {:?}", self.timeout)
                } else if e.is_connect() {
                    format!("connection failed: {}", error_chain(&e))
                } else {
                    error_chain(&e)
                };
                let answer = if e.is_builder() { Answer::Permanent } else { Answer::Transient };
                return failed(None, answer, what, None);
            }
        };
        let status = response.status();
        if status.is_success() {
            return Posted {
                endpoint: endpoint.id.clone(),
                target: target.clone(),
                status: Some(status.as_u16()),
                answer: Answer::Delivered,
                error: None,
                retry_after: None,
            };
        }
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE)
            .then(|| response.headers().get(reqwest::header::RETRY_AFTER))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let answer = if status == StatusCode::GONE {
            Answer::Gone
        } else if classify(status).is_err_and(|e| e.is_transient()) {
            Answer::Transient
        } else {
            Answer::Permanent
        };
        failed(Some(status.as_u16()), answer, format!("answered {status}"), retry_after)
    }

    /// POSTs `message` to each configured endpoint in `to` (all at once), signed at `timestamp`
    /// (unix seconds); how each answered, in configured order.
    pub async fn deliver(&self, message: &Message, to: &BTreeSet<EndpointId>, timestamp: i64) -> Vec<Posted> {
        let body = match serde_json::to_vec(&message.payload) {
            Ok(body) => body,
            Err(e) => {
                return self
                    .endpoints
                    .iter()
                    .filter(|e| to.contains(&e.id))
                    .map(|endpoint| Posted {
                        endpoint: endpoint.id.clone(),
                        target: endpoint.target.clone(),
                        status: None,
                        answer: Answer::Permanent,
                        error: Some(format!("webhook payload is not serializable: {e}")),
                        retry_after: None,
                    })
                    .collect();
            }
        };
        let id = message.id.to_string();
        let signed = Signed {
            standard: sign_standard(self.secret.key(), &id, timestamp, &body),
            legacy: sign(&self.secret.raw, timestamp, &body),
            id,
            timestamp,
        };
        let posts = self.endpoints.iter().filter(|e| to.contains(&e.id)).map(|e| self.post(e, &signed, body.clone()));
        let posted = futures::future::join_all(posts).await;
        for p in posted.iter().filter(|p| p.answer != Answer::Delivered) {
            tracing::warn!(message_id = %message.id, rule = %message.rule, endpoint = %p.endpoint, error = p.error.as_deref().unwrap_or(""), "webhook not delivered");
        }
        posted
    }
}

/// The headers one send carries.
struct Signed {
    id: String,
    timestamp: i64,
    standard: String,
    legacy: String,
}

/// One result for a send to several endpoints: delivered when every one was; transient when any
/// failure is worth retrying; else permanent. The message names every failure.
pub fn summarize(posted: &[Posted]) -> Result<(), SendError> {
    let failures: Vec<&Posted> = posted.iter().filter(|p| p.answer != Answer::Delivered).collect();
    if failures.is_empty() {
        return Ok(());
    }
    let all: Vec<&str> = failures.iter().filter_map(|p| p.error.as_deref()).collect();
    let summary = format!("{} of {} webhook URLs failed: {}", failures.len(), posted.len(), all.join("; "));
    if failures.iter().any(|p| p.answer == Answer::Transient) {
        Err(SendError::Transient(summary))
    } else {
        Err(SendError::Permanent(summary))
    }
}

impl Transport for WebhookTransport {
    /// Sends to every endpoint, disabled or not (the outbox skips the disabled ones).
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let all: BTreeSet<EndpointId> = self.endpoints.iter().map(|e| e.id.clone()).collect();
        summarize(&self.deliver(message, &all, Utc::now().timestamp()).await)
    }
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (a wait from `now`, none if past).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// 2xx: delivered; 408, 429, 5xx: transient; anything else: permanent.
pub fn classify(status: StatusCode) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Err(SendError::Transient(format!("answered {status}")))
    } else {
        Err(SendError::Permanent(format!("answered {status}")))
    }
}

/// Splits a comma-separated URL list, trimming blanks.
pub fn split_urls(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn standard_mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
pub fn sign_standard(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let signature = standard_mac(key, id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(signature))
}

/// Whether `header` (a `webhook-signature` value: space-separated `v1,<base64>` entries, several
/// during a secret rotation) holds a valid signature of `id`, `timestamp` and `body` under `key`.
/// Compares in constant time.
pub fn verify_standard(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    header
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .any(|sig| standard_mac(key, id, timestamp, body).verify_slice(&sig).is_ok())
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Webhook-Signature` value: `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Whether `header` (an `X-Webhook-Signature` value; several `v1=` entries may be separated by
/// commas or spaces, e.g. during a secret rotation) holds a valid signature of `timestamp` and
/// `body` under `secret`. Compares in constant time.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    header
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(|part| part.strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|sig| mac(secret, timestamp, body).verify_slice(&sig).is_ok())
}

/// [`verify`] plus a freshness check: `timestamp` within `tolerance_seconds` of `now` (unix
/// seconds), against replays.
pub fn verify_fresh(secret: &str, timestamp: i64, body: &[u8], header: &str, now: i64, tolerance_seconds: i64) -> bool {
    (now - timestamp).abs() <= tolerance_seconds && verify(secret, timestamp, body, header)
}

/// `scheme://host[:port]` only: no credentials, path or query.
fn redact(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef-secret";

    #[test]
    fn sign_and_verify() {
        let body = br#"{"booking":"b-1"}"#;
        let sig = sign(SECRET, 1_700_000_000, body);
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert!(verify(SECRET, 1_700_000_000, body, &sig));
        assert!(!verify(SECRET, 1_700_000_001, body, &sig), "other timestamp");
        assert!(!verify(SECRET, 1_700_000_000, br#"{"booking":"b-2"}"#, &sig), "tampered body");
        assert!(!verify("another-secret-0123456", 1_700_000_000, body, &sig), "other secret");
        assert!(!verify(SECRET, 1_700_000_000, body, "v1=zz"));
        assert!(!verify(SECRET, 1_700_000_000, body, ""));
        assert!(verify(SECRET, 1_700_000_000, body, &format!("v1=00, {sig}")), "rotation list");
        assert!(verify_fresh(SECRET, 1_700_000_000, body, &sig, 1_700_000_100, 300));
        assert!(!verify_fresh(SECRET, 1_700_000_000, body, &sig, 1_700_001_000, 300));
    }

    #[test]
    fn known_vectors() {
        // Computed independently (Python: hmac.new(key, b"<ts>.<body>", hashlib.sha256).hexdigest()).
        assert_eq!(sign("key", 1, b"{}"), "v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224");
        assert_eq!(
            sign("0123456789abcdef", 1_700_000_000, br#"{"a":1}"#),
            "v1=9eb18f493f8ec135d9eb2dad817c369bb4e9cbfa818657897a7437c1cd8c3a23"
        );
    }

    #[test]
    fn validates_configuration() {
        let ok = WebhookTransport::new(vec!["https://hooks.example.com/x".into()], SECRET.into()).unwrap();
        assert_eq!(ok.url_count(), 1);
        assert!(!format!("{ok:?}").contains(SECRET));
        assert!(WebhookTransport::new(vec![], SECRET.into()).is_err());
        assert!(WebhookTransport::new(vec!["ftp://x".into()], SECRET.into()).is_err());
        assert!(WebhookTransport::new(vec!["not a url".into()], SECRET.into()).is_err());
        let short = WebhookTransport::new(vec!["https://h.example".into()], "short".into()).unwrap_err();
        assert!(short.to_string().contains("at least 16"), "{short}");

        assert!(WebhookTransport::from_settings(None, None).unwrap().is_none());
        let two = WebhookTransport::from_settings(Some("https://a.example/1, https://b.example/2,"), Some(SECRET))
            .unwrap()
            .unwrap();
        assert_eq!(two.url_count(), 2);
        assert!(WebhookTransport::from_settings(Some("https://a.example"), None).is_err());
        assert!(WebhookTransport::from_settings(None, Some(SECRET)).is_err());
    }

    #[test]
    fn the_standard_webhooks_test_vector() {
        // The specification's vector (also in every reference library's tests).
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(secret.key().len(), 24);
        let (id, ts, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(sign_standard(secret.key(), id, ts, body), expected);
        assert!(verify_standard(secret.key(), id, ts, body, expected));
        assert!(verify_standard(secret.key(), id, ts, body, &format!("v1,bm9wZQ== {expected}")), "rotation list");
        assert!(!verify_standard(secret.key(), id, ts + 1, body, expected), "other timestamp");
        assert!(!verify_standard(secret.key(), "msg_other", ts, body, expected), "other id");
        assert!(!verify_standard(secret.key(), id, ts, br#"{"test": 2432232315}"#, expected), "tampered body");
        assert!(!verify_standard(b"another key of some length", id, ts, body, expected), "other key");
        assert!(!verify_standard(secret.key(), id, ts, body, "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn secrets_in_both_forms() {
        // A raw secret keys both signatures with its bytes.
        let raw = Secret::parse(SECRET).unwrap();
        assert_eq!(raw.key(), SECRET.as_bytes());
        assert!(!format!("{raw:?}").contains(SECRET));
        assert!(Secret::parse("short").unwrap_err().to_string().contains("at least 16"));
        assert!(Secret::parse("whsec_not base64!").unwrap_err().to_string().contains("base64"));
        assert!(Secret::parse("whsec_c2hvcnQ=").unwrap_err().to_string().contains("at least 16 bytes"));
    }

    #[test]
    fn endpoint_ids_are_stable_and_parse() {
        let u = Url::parse("https://hooks.example.com/T0/secret").unwrap();
        let id = EndpointId::of(&u);
        assert_eq!(id, EndpointId::of(&Url::parse("https://hooks.example.com/T0/secret").unwrap()));
        assert_ne!(id, EndpointId::of(&Url::parse("https://hooks.example.com/T1/secret").unwrap()));
        assert_eq!(EndpointId::parse(id.as_str()), Some(id.clone()));
        for bad in ["", "xyz", "0123456789ABCDEF", "0123456789abcdef0"] {
            assert_eq!(EndpointId::parse(bad), None, "{bad}");
        }
        let twice = WebhookTransport::new(vec![u.to_string(), u.to_string()], SECRET.into()).unwrap();
        assert_eq!(twice.url_count(), 1);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn classifies_statuses() {
        assert!(classify(StatusCode::OK).is_ok());
        assert!(classify(StatusCode::NO_CONTENT).is_ok());
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(classify(StatusCode::from_u16(s).unwrap()), Err(SendError::Transient(_))), "{s}");
        }
        for s in [301, 400, 401, 404, 410, 422] {
            assert!(matches!(classify(StatusCode::from_u16(s).unwrap()), Err(SendError::Permanent(_))), "{s}");
        }
    }

    #[test]
    fn redacts_urls() {
        let u = Url::parse("https://user:pw@hooks.example.com:8443/T0/secret-token?x=y").unwrap();
        assert_eq!(redact(&u), "https://hooks.example.com:8443");
    }
}
