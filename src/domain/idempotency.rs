//! Idempotency keys (issue #13): what a key is, what it is stored under, what a request
//! carrying one gets given what is stored, and how a stored answer is sealed. No I/O: the edge's idempotency layer asks the store
//! and acts on [`decide`].

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// How long an answer is kept (and a key cannot be used for another request).
pub fn retention() -> Duration {
    Duration::hours(24)
}

/// How long a request holds its key while it is served; a key held longer (its server died
/// mid-request) is taken over by the next request with it.
pub fn lease() -> Duration {
    Duration::seconds(60)
}

/// The most characters of a key.
pub const MAX_KEY_CHARS: usize = 255;

/// An `Idempotency-Key` header value: 1 to [`MAX_KEY_CHARS`] printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty() && raw.len() <= MAX_KEY_CHARS && raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        ok.then(|| Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed, so no two different lists of parts hash alike.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// What a key is stored under: the key, the operation and the caller, hashed (a caller may be a
/// manage token, which is never stored as sent).
pub fn storage_key(operation: &str, caller: &str, key: &IdempotencyKey) -> String {
    sha256_hex(&[operation.as_bytes(), caller.as_bytes(), key.as_str().as_bytes()])
}

/// What makes two requests "the same request": method, path with query, and body, byte for byte.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    sha256_hex(&[method.as_bytes(), path_and_query.as_bytes(), body])
}

/// What is stored under a key, as far as deciding goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub fingerprint: String,
    /// The first request's answer is stored.
    pub answered: bool,
    pub lease_until: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a request with a key gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing is stored under the key: take it (insert) and serve the request.
    Claim,
    /// What is stored has expired, or its request's lease ran out unanswered: take it over
    /// (replace exactly what was read) and serve the request.
    TakeOver,
    /// The stored answer, again.
    Replay,
    /// The key was used for another request: 400.
    Mismatch,
    /// The first request with the key is still being served: 409 with Retry-After.
    InFlight,
}

pub fn decide(held: Option<&Held>, fingerprint: &str, now: DateTime<Utc>) -> Decision {
    match held {
        None => Decision::Claim,
        Some(h) if h.expires_at <= now => Decision::TakeOver,
        Some(h) if h.fingerprint != fingerprint => Decision::Mismatch,
        Some(h) if h.answered => Decision::Replay,
        Some(h) if h.lease_until <= now => Decision::TakeOver,
        Some(_) => Decision::InFlight,
    }
}

/// Whether an answer of this status is kept: not a 409, 429 or 5xx (the client may send the
/// request again and be served anew).
pub fn keeps(status: u16) -> bool {
    !(status == 409 || status == 429 || status >= 500)
}

/// Bytes of the random nonce a sealed answer starts with.
const NONCE_BYTES: usize = 16;

/// The keystream that hides a stored answer: SHA-256 in counter mode over the key, the
/// operation, the caller and a random nonce. The key itself is never stored (only
/// [`storage_key`], a hash under another label), so an answer read from the database alone
/// (a reservation's manage token, say) cannot be read.
fn keystream_block(operation: &str, caller: &str, key: &IdempotencyKey, nonce: &[u8], counter: u64) -> [u8; 32] {
    let digest = Sha256::new()
        .chain_update(b"bookings idempotent answer v1")
        .chain_update(sha256_hex(&[operation.as_bytes(), caller.as_bytes(), key.as_str().as_bytes(), nonce]))
        .chain_update(counter.to_be_bytes())
        .finalize();
    digest.into()
}

fn xor_stream(operation: &str, caller: &str, key: &IdempotencyKey, nonce: &[u8], data: &mut [u8]) {
    for (counter, chunk) in data.chunks_mut(32).enumerate() {
        let block = keystream_block(operation, caller, key, nonce, counter as u64);
        for (byte, mask) in chunk.iter_mut().zip(block) {
            *byte ^= mask;
        }
    }
}

/// A stored answer's body as it is kept: a random nonce, then the body hidden by the keystream
/// of the request's key (see [`keystream_block`]).
pub fn seal(operation: &str, caller: &str, key: &IdempotencyKey, body: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE_BYTES] = rand::random();
    let mut sealed = Vec::with_capacity(NONCE_BYTES + body.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(body);
    let (nonce, data) = sealed.split_at_mut(NONCE_BYTES);
    xor_stream(operation, caller, key, nonce, data);
    sealed
}

/// The body [`seal`] hid, for a request with the same key, operation and caller; `None` when
/// what is stored is too short to be sealed.
pub fn open(operation: &str, caller: &str, key: &IdempotencyKey, sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, data) = sealed.split_at_checked(NONCE_BYTES)?;
    let mut body = data.to_vec();
    xor_stream(operation, caller, key, nonce, &mut body);
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_are_printable_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("a").is_some());
        assert!(IdempotencyKey::parse("3f1c a-b_c:~").is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse("tab\there").is_none());
        assert!(IdempotencyKey::parse("é").is_none());
    }

    #[test]
    fn storage_keys_separate_operations_callers_and_keys() {
        let k = IdempotencyKey::parse("k").unwrap();
        let base = storage_key("reserveBookingSlot", "user:1", &k);
        assert_eq!(base, storage_key("reserveBookingSlot", "user:1", &k));
        assert_ne!(base, storage_key("bookEvents", "user:1", &k));
        assert_ne!(base, storage_key("reserveBookingSlot", "user:2", &k));
        assert_ne!(base, storage_key("reserveBookingSlot", "user:1", &IdempotencyKey::parse("k2").unwrap()));
        // Part boundaries count.
        assert_ne!(fingerprint("POST", "/ab", b"c"), fingerprint("POST", "/a", b"bc"));
    }

    #[test]
    fn what_a_request_with_a_key_gets() {
        let now = Utc.with_ymd_and_hms(2030, 1, 7, 10, 0, 0).unwrap();
        let held = |fp: &str, answered: bool, lease: i64, expires: i64| Held {
            fingerprint: fp.into(),
            answered,
            lease_until: now + Duration::seconds(lease),
            expires_at: now + Duration::seconds(expires),
        };
        assert_eq!(decide(None, "a", now), Decision::Claim);
        assert_eq!(decide(Some(&held("a", true, -10, 100)), "a", now), Decision::Replay);
        assert_eq!(decide(Some(&held("a", true, -10, 100)), "b", now), Decision::Mismatch);
        assert_eq!(decide(Some(&held("a", false, 10, 100)), "b", now), Decision::Mismatch);
        assert_eq!(decide(Some(&held("a", false, 10, 100)), "a", now), Decision::InFlight);
        assert_eq!(decide(Some(&held("a", false, 0, 100)), "a", now), Decision::TakeOver);
        // Expired: the key is free again, whatever it was used for.
        assert_eq!(decide(Some(&held("a", true, -10, 0)), "b", now), Decision::TakeOver);
        assert_eq!(decide(Some(&held("a", true, -10, 0)), "a", now), Decision::TakeOver);
    }

    #[test]
    fn conflicts_throttling_and_server_errors_are_not_kept() {
        for status in [200, 201, 204, 400, 403, 404] {
            assert!(keeps(status), "{status}");
        }
        for status in [409, 429, 500, 503] {
            assert!(!keeps(status), "{status}");
        }
    }

    #[test]
    fn stored_answers_are_sealed_under_the_key() {
        let key = IdempotencyKey::parse("3f1c").unwrap();
        let body = br#"{"ok":true,"manage_token":"secret-secret-secret-secret-secret-secret"}"#;
        let sealed = seal("reserveBookingSlot", "public:t:127.0.0.1", &key, body);
        assert_eq!(sealed.len(), body.len() + NONCE_BYTES);
        assert!(!sealed.windows(6).any(|w| w == b"secret"), "the body is not readable as stored");
        assert_eq!(open("reserveBookingSlot", "public:t:127.0.0.1", &key, &sealed).as_deref(), Some(&body[..]));
        let other = IdempotencyKey::parse("3f1d").unwrap();
        assert_ne!(open("reserveBookingSlot", "public:t:127.0.0.1", &other, &sealed).as_deref(), Some(&body[..]));
        // A new nonce each time: the same body seals differently.
        assert_ne!(seal("reserveBookingSlot", "public:t:127.0.0.1", &key, body), sealed);
        assert_eq!(open("op", "c", &key, &[1, 2]), None);
    }
}
