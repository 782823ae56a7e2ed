//! A visitor's own view of what they booked (issue #13): the manage token that stands for the
//! reservation, its status, and when the visitor may still cancel or move it.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// Characters of a manage token: 32 random bytes (256 bits) in URL-safe base64, unpadded.
pub const MANAGE_TOKEN_CHARS: usize = 43;

/// A reservation's manage token: the secret a visitor holds. Only [`ManageToken::hash`] is ever
/// stored, so a database read does not hand out the power to cancel.
#[derive(Clone, PartialEq, Eq)]
pub struct ManageToken(String);

impl std::fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageToken(..)")
    }
}

impl ManageToken {
    /// A new token: 256 random bits.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as a path carries it: exactly the shape [`ManageToken::generate`] makes. Anything
    /// else names no reservation (the caller answers 404 without asking the database).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok =
            raw.len() == MANAGE_TOKEN_CHARS && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up: the hex SHA-256 of the token.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// A reservation as its visitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Confirmed,
    Canceled,
}

impl ReservationStatus {
    pub fn of(cancelled: bool) -> Self {
        if cancelled {
            Self::Canceled
        } else {
            Self::Confirmed
        }
    }
}

/// Why a visitor may no longer cancel or move a reservation (a 400 whose message says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooLate {
    #[error("this reservation has already started; it can no longer be canceled or rescheduled")]
    Started,
    #[error(
        "this booking link lets a reservation be canceled or rescheduled only until {minutes} minutes before it starts"
    )]
    WithinNotice { minutes: i64 },
}

/// Whether the visitor may still cancel or move a reservation starting at `start`, `now`, under
/// the link's `min_cancel_notice`: until it starts, and not within the notice of its start.
pub fn guest_may_change(start: DateTime<Utc>, now: DateTime<Utc>, notice: Duration) -> Result<(), TooLate> {
    if now >= start {
        return Err(TooLate::Started);
    }
    if now + notice > start {
        return Err(TooLate::WithinNotice { minutes: notice.num_minutes() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tokens_are_random_url_safe_and_only_their_hash_is_kept() {
        let a = ManageToken::generate();
        let b = ManageToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), MANAGE_TOKEN_CHARS);
        assert_eq!(ManageToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}").contains(a.as_str()), "debug output hides the token");
        for bad in
            ["", "short", &"a".repeat(44), &format!("{}!", &a.as_str()[..42]), &format!("{}/", &a.as_str()[..42])]
        {
            assert_eq!(ManageToken::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_visitor_may_change_until_the_notice_before_the_start() {
        let start = Utc.with_ymd_and_hms(2030, 1, 7, 10, 0, 0).unwrap();
        let hour = Duration::hours(1);
        assert_eq!(guest_may_change(start, start - hour, Duration::zero()), Ok(()));
        assert_eq!(guest_may_change(start, start - Duration::microseconds(1), Duration::zero()), Ok(()));
        assert_eq!(guest_may_change(start, start, Duration::zero()), Err(TooLate::Started));
        assert_eq!(guest_may_change(start, start + hour, hour), Err(TooLate::Started));
        assert_eq!(guest_may_change(start, start - hour, hour), Ok(()));
        let late = guest_may_change(start, start - hour + Duration::seconds(1), hour).unwrap_err();
        assert_eq!(late, TooLate::WithinNotice { minutes: 60 });
        assert!(late.to_string().contains("60 minutes before it starts"), "{late}");
    }
}
