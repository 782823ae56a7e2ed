//! A receiver's check of a Standard Webhooks signature, written from the specification and its
//! reference libraries (`Webhook(secret).verify(payload, headers)`), independently of the
//! server's signing code: the secret's `whsec_` prefix is dropped and the rest base64-decoded
//! into the key; the signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the header
//! holds space-separated `<version>,<base64>` entries of which a `v1` one must match; the
//! timestamp must be within five minutes of now.
#![allow(dead_code)]

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a timestamp may be from now (the reference libraries' tolerance).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

pub struct Webhook {
    key: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    MissingHeader(&'static str),
    BadTimestamp,
    TooOld,
    TooNew,
    NoMatchingSignature,
}

impl Webhook {
    /// `whsec_<base64>` or the bare base64, as the libraries take it.
    pub fn new(secret: &str) -> Self {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        Self { key: base64::engine::general_purpose::STANDARD.decode(encoded).expect("a base64 secret") }
    }

    /// The libraries' raw-key form.
    pub fn from_raw(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Verifies `body` under the headers (`header` looks one up by its lower-case name) at `now`
    /// (unix seconds).
    pub fn verify<'a>(&self, body: &[u8], header: impl Fn(&str) -> Option<&'a str>, now: i64) -> Result<(), Rejected> {
        let id = header("webhook-id").ok_or(Rejected::MissingHeader("webhook-id"))?;
        let timestamp = header("webhook-timestamp").ok_or(Rejected::MissingHeader("webhook-timestamp"))?;
        let signatures = header("webhook-signature").ok_or(Rejected::MissingHeader("webhook-signature"))?;
        let timestamp: i64 = timestamp.parse().map_err(|_| Rejected::BadTimestamp)?;
        if timestamp < now - TOLERANCE_SECONDS {
            return Err(Rejected::TooOld);
        }
        if timestamp > now + TOLERANCE_SECONDS {
            return Err(Rejected::TooNew);
        }
        let expected = self.sign(id, timestamp, body);
        let expected = base64::engine::general_purpose::STANDARD.decode(&expected[3..]).unwrap();
        for versioned in signatures.split(' ') {
            let Some((version, signature)) = versioned.split_once(',') else { continue };
            if version != "v1" {
                continue;
            }
            let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature) else { continue };
            // Constant time, as the libraries compare.
            let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap();
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            if given.len() == expected.len() && mac.verify_slice(&given).is_ok() {
                return Ok(());
            }
        }
        Err(Rejected::NoMatchingSignature)
    }
}

#[cfg(test)]
mod vectors {
    use super::*;

    /// The specification's test vector.
    #[test]
    fn the_reference_check_accepts_the_specification_vector() {
        let wh = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let headers = |name: &str| match name {
            "webhook-id" => Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
            "webhook-timestamp" => Some("1614265330"),
            "webhook-signature" => Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            _ => None,
        };
        assert_eq!(
            wh.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(wh.verify(body, headers, 1614265330), Ok(()));
        assert_eq!(wh.verify(body, headers, 1614265330 + 301), Err(Rejected::TooOld));
        assert_eq!(wh.verify(br#"{"test": 2432232315}"#, headers, 1614265330), Err(Rejected::NoMatchingSignature));
    }
}
