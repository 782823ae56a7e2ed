//! Webhooks: every message's JSON payload is POSTed to every configured URL, signed.
//!
//! Headers of each request:
//! - `Content-Type: application/json`
//! - `X-Webhook-Id` and `Idempotency-Key`: the message id (stable across retries; receivers dedupe
//!   by it — a retry after a partial failure re-sends to every URL);
//! - `X-Webhook-Timestamp`: unix seconds at signing;
//! - `X-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
//!
//! Receivers check the signature with [`verify`] (and the timestamp's freshness with
//! [`verify_fresh`]).
//!
//! Answers: 2xx is delivered; 408, 429, 5xx and network errors/timeouts are transient; other
//! answers (other 4xx, and 3xx: redirects are not followed, a moved endpoint is a configuration
//! error) are permanent. URLs are never written whole into errors or logs (webhook URLs often
//! carry a token in their path); only scheme, host and port.
//!
//! Each POST, from connecting to the end of the answer, is bounded by one timeout
//! (`WEBHOOK_TIMEOUT`, [`TIMEOUT`] by default): a receiver that accepts the connection and never
//! answers is a transient failure after that long, and the message is retried later.

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::{StatusCode, Url};
use sha2::Sha256;

use super::transport::{error_chain, SendError, Transport};
use super::Message;

type HmacSha256 = Hmac<Sha256>;

/// Default timeout of one POST, connecting included (`WEBHOOK_TIMEOUT`).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest accepted secret.
pub const MIN_SECRET_LEN: usize = 16;

pub const HEADER_ID: &str = "X-Webhook-Id";
pub const HEADER_IDEMPOTENCY_KEY: &str = "Idempotency-Key";
pub const HEADER_TIMESTAMP: &str = "X-Webhook-Timestamp";
pub const HEADER_SIGNATURE: &str = "X-Webhook-Signature";

#[derive(Clone)]
pub struct WebhookTransport {
    urls: Vec<Url>,
    secret: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for WebhookTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTransport")
            .field("urls", &self.urls.iter().map(redact).collect::<Vec<_>>())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl WebhookTransport {
    /// `urls`: at least one absolute `http`/`https` URL; `secret`: at least 16 characters.
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
        if secret.chars().count() < MIN_SECRET_LEN {
            anyhow::bail!("WEBHOOK_SECRET must be at least {MIN_SECRET_LEN} characters");
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bookings-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self { urls, secret, client, timeout })
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
        self.urls.len()
    }

    async fn post(
        client: reqwest::Client,
        timeout: Duration,
        url: Url,
        id: String,
        timestamp: i64,
        signature: String,
        body: Vec<u8>,
    ) -> Result<(), SendError> {
        let target = redact(&url);
        let response = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_ID, &id)
            .header(HEADER_IDEMPOTENCY_KEY, &id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let e = e.without_url();
                let what = if e.is_timeout() {
                    format!("timed out after {timeout:?}")
                } else if e.is_connect() {
                    format!("connection failed: {}", error_chain(&e))
                } else {
                    error_chain(&e)
                };
                if e.is_builder() {
                    SendError::Permanent(format!("webhook {target}: {what}"))
                } else {
                    SendError::Transient(format!("webhook {target}: {what}"))
                }
            })?;
        classify(response.status()).map_err(|e| match e {
            SendError::Transient(m) => SendError::Transient(format!("webhook {target}: {m}")),
            SendError::Permanent(m) => SendError::Permanent(format!("webhook {target}: {m}")),
        })
    }
}

impl Transport for WebhookTransport {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let body = serde_json::to_vec(&message.payload)
            .map_err(|e| SendError::Permanent(format!("webhook payload is not serializable: {e}")))?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(&self.secret, timestamp, &body);
        let id = message.id.to_string();

        let mut tasks = tokio::task::JoinSet::new();
        for url in &self.urls {
            tasks.spawn(Self::post(
                self.client.clone(),
                self.timeout,
                url.clone(),
                id.clone(),
                timestamp,
                signature.clone(),
                body.clone(),
            ));
        }
        let mut transient = Vec::new();
        let mut permanent = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(SendError::Transient(m))) => transient.push(m),
                Ok(Err(SendError::Permanent(m))) => permanent.push(m),
                Err(e) => transient.push(format!("webhook task failed: {e}")),
            }
        }
        let delivered = self.urls.len() - transient.len() - permanent.len();
        if transient.is_empty() && permanent.is_empty() {
            tracing::debug!(message_id = %message.id, rule = %message.rule, urls = self.urls.len(), "webhook delivered");
            return Ok(());
        }
        let all: Vec<String> = transient.iter().chain(permanent.iter()).cloned().collect();
        let summary = format!("{} of {} webhook URLs failed: {}", all.len(), self.urls.len(), all.join("; "));
        tracing::warn!(message_id = %message.id, rule = %message.rule, delivered, "{summary}");
        // Any transient failure makes the whole send worth retrying.
        if transient.is_empty() {
            Err(SendError::Permanent(summary))
        } else {
            Err(SendError::Transient(summary))
        }
    }
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
