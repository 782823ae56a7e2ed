//! A visitor's own view of what they booked (issue #13): the manage token that stands for the
//! reservation, its status, and when the visitor may still cancel or move it.

use super::ids::CalendarEventId;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
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

    /// The token of reservation `id` under the server's `key`: HMAC-SHA256 of the id, 256 bits
    /// no one without the key can tell or guess. Made, not drawn, so that a message rendered
    /// later (a reminder, a reschedule) can carry the visitor's manage link while the database
    /// still holds only the token's hash.
    pub fn derive(key: &ManageKey, id: CalendarEventId) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes a key of any length");
        mac.update(b"reservation-manage-token:v1:");
        mac.update(id.into_uuid().as_bytes());
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
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

/// The server's secret that manage tokens are made with (`MANAGE_LINK_SECRET`, or kept in the
/// data directory). Never printed.
#[derive(Clone)]
pub struct ManageKey(Vec<u8>);

impl ManageKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }
}

impl std::fmt::Debug for ManageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageKey(..)")
    }
}

/// Visitors' manage links: their tokens under the server's key, and where they lead.
#[derive(Debug, Clone)]
pub struct ManageLinks {
    key: ManageKey,
    /// The public base URL, without a trailing slash.
    base_url: String,
}

impl ManageLinks {
    pub fn new(key: ManageKey, base_url: &str) -> Self {
        Self { key, base_url: base_url.trim_end_matches('/').to_string() }
    }

    /// The token of a new reservation with this id.
    pub fn token_for(&self, id: CalendarEventId) -> ManageToken {
        ManageToken::derive(&self.key, id)
    }

    /// `<public base>/booking/manage/<token>`.
    pub fn url(&self, token: &ManageToken) -> String {
        format!("{}/booking/manage/{}", self.base_url, token.as_str())
    }

    /// The CSRF token the manage page's forms carry for reservation `token`: HMAC-SHA256 of the
    /// token under the server's key, so a form posted from elsewhere cannot carry it and no
    /// state is kept for it.
    pub fn form_token(&self, token: &ManageToken) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key.0).expect("HMAC takes a key of any length");
        mac.update(b"manage-page-form:v1:");
        mac.update(token.as_str().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The manage link of reservation `id`, whose stored token hash is `stored_hash`: `None`
    /// when its token was not made under this key (a reservation from before tokens were made
    /// so, or the key was changed since), so no message carries a link that does not work.
    pub fn url_of(&self, id: CalendarEventId, stored_hash: Option<&str>) -> Option<String> {
        let token = self.token_for(id);
        (Some(token.hash().as_str()) == stored_hash).then(|| self.url(&token))
    }
}

/// A reservation as its visitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    /// It holds its time.
    Confirmed,
    /// Its visitor or the calendar's owner cancelled it.
    Canceled,
    /// It waits for the owner's confirmation (issue #25's approval).
    Pending,
    /// The owner declined it while it was pending.
    Declined,
    /// It was pending past its `pending_until` and was released.
    Expired,
}

/// How a reservation that no longer holds its time ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Canceled,
    Declined,
    Expired,
}

impl ReservationStatus {
    /// `ended`: how it ended, if it did; `pending`: it waits for the owner.
    pub fn of(ended: Option<Ending>, pending: bool) -> Self {
        match ended {
            Some(Ending::Canceled) => Self::Canceled,
            Some(Ending::Declined) => Self::Declined,
            Some(Ending::Expired) => Self::Expired,
            None if pending => Self::Pending,
            None => Self::Confirmed,
        }
    }
}

/// Until when a reservation made at `created` for a slot starting at `start` may wait for the
/// owner's confirmation: `expires` after it was made (the link's `pending_expires_minutes`),
/// and never past its start (a request nobody answered before it began has lapsed).
#[must_use]
pub fn pending_until(created: DateTime<Utc>, start: DateTime<Utc>, expires: Option<Duration>) -> DateTime<Utc> {
    expires.and_then(|e| created.checked_add_signed(e)).map_or(start, |until| until.min(start))
}

/// Why the owner may not confirm or decline a reservation (a 409 whose message says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotPending {
    #[error("this reservation was canceled; it can no longer be confirmed or declined")]
    Canceled,
    #[error("this reservation was declined; it can no longer be confirmed")]
    Declined,
    #[error("this reservation waited past its time and was released; it can no longer be confirmed or declined")]
    Expired,
    #[error("this reservation is confirmed; cancel it (deleteCalendarEvent) instead of declining it")]
    Confirmed,
}

/// What the owner's decision does to a reservation in `status` (`confirm`: confirm, else
/// decline): `Ok(true)` decides it, `Ok(false)` leaves it as it is (it is already what was asked:
/// confirming a confirmed reservation, declining a declined one), else why not.
pub fn decide(status: ReservationStatus, confirm: bool) -> Result<bool, NotPending> {
    match (status, confirm) {
        (ReservationStatus::Pending, _) => Ok(true),
        (ReservationStatus::Confirmed, true) | (ReservationStatus::Declined, false) => Ok(false),
        (ReservationStatus::Confirmed, false) => Err(NotPending::Confirmed),
        (ReservationStatus::Declined, true) => Err(NotPending::Declined),
        (ReservationStatus::Canceled, _) => Err(NotPending::Canceled),
        (ReservationStatus::Expired, _) => Err(NotPending::Expired),
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

/// How long after a move another move without the client's `sequence` is refused: requests
/// sent at once (a burst, a double click, a retry without an Idempotency-Key) reach the server
/// over some milliseconds, so "arrived before the move committed" alone lets late members of a
/// burst through. A client that means a second move that soon sends the `sequence` it read.
pub const MOVE_SETTLE: Duration = Duration::seconds(1);

/// Why a move of a reservation is refused as made for a state no longer current (a 409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaleMove {
    #[error("this reservation was moved since it was read (sequence {current} now, {expected} expected); read it again and retry")]
    Sequence { current: i64, expected: i64 },
    #[error("this reservation was moved by another request meanwhile; read it again and retry (or send the sequence you read)")]
    Overtaken,
}

/// Of concurrent moves of one reservation, exactly one wins. With the `sequence` the client read
/// (`expected`), the move goes through only while that is still the reservation's: a strict
/// compare-and-swap. Without it, a move is refused when another move committed after this
/// request `arrived`, or less than [`MOVE_SETTLE`] before `now`.
pub fn may_move(
    current: i64,
    moved_at: Option<DateTime<Utc>>,
    expected: Option<i64>,
    arrived: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StaleMove> {
    match expected {
        Some(expected) if expected != current => Err(StaleMove::Sequence { current, expected }),
        Some(_) => Ok(()),
        None if moved_at.is_some_and(|m| m >= arrived || now - m < MOVE_SETTLE) => Err(StaleMove::Overtaken),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_tokens_are_per_reservation_and_per_key() {
        let links = ManageLinks::new(ManageKey::new(b"k1-0123456789abcdef0123456789abcdef"), "https://b.example/");
        let other = ManageLinks::new(ManageKey::new(b"k2-0123456789abcdef0123456789abcdef"), "https://b.example");
        let (a, b) = (CalendarEventId::new(), CalendarEventId::new());
        let ta = links.token_for(a);
        assert_eq!(ta, links.token_for(a), "the same reservation, the same token");
        assert_ne!(ta, links.token_for(b));
        assert_ne!(ta, other.token_for(a), "another key, another token");
        assert_eq!(ManageToken::parse(ta.as_str()), Some(ta.clone()), "the shape a path carries");
        assert_eq!(links.url(&ta), format!("https://b.example/booking/manage/{}", ta.as_str()));
        assert_eq!(links.url_of(a, Some(&ta.hash())), Some(links.url(&ta)));
        // A token drawn before, or made under another key: no link rather than a broken one.
        assert_eq!(links.url_of(a, Some(&ManageToken::generate().hash())), None);
        assert_eq!(other.url_of(a, Some(&ta.hash())), None);
        assert_eq!(links.url_of(a, None), None);
        assert!(!format!("{links:?}").contains("k1-"), "the key is never printed");
    }

    #[test]
    fn of_concurrent_moves_one_wins() {
        let t = |s: i64| Utc.timestamp_opt(1_900_000_000 + s, 0).unwrap();
        // Never moved: any move goes.
        assert_eq!(may_move(0, None, None, t(0), t(0)), Ok(()));
        // A move that committed after this request arrived overtook it.
        assert_eq!(may_move(1, Some(t(1)), None, t(0), t(5)), Err(StaleMove::Overtaken));
        // One that committed just before it arrived is part of the same burst.
        assert_eq!(
            may_move(1, Some(t(0)), None, t(0) + Duration::milliseconds(300), t(1) - Duration::milliseconds(1)),
            Err(StaleMove::Overtaken)
        );
        // Once the burst is over, moves are served in turn.
        assert_eq!(may_move(1, Some(t(0)), None, t(1), t(1)), Ok(()));
        // With the sequence read: a strict compare-and-swap, however soon.
        assert_eq!(may_move(1, Some(t(0)), Some(1), t(0), t(0)), Ok(()));
        assert_eq!(may_move(2, Some(t(0)), Some(1), t(9), t(9)), Err(StaleMove::Sequence { current: 2, expected: 1 }));
    }

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
    fn a_pending_reservation_waits_until_its_expiry_or_its_start_whichever_is_first() {
        let made = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        let start = Utc.with_ymd_and_hms(2027, 3, 2, 9, 0, 0).unwrap();
        assert_eq!(pending_until(made, start, None), start);
        assert_eq!(pending_until(made, start, Some(Duration::hours(2))), made + Duration::hours(2));
        assert_eq!(pending_until(made, start, Some(Duration::days(3))), start);
        assert_eq!(pending_until(made, start, Some(Duration::MAX)), start, "no overflow");
    }

    #[test]
    fn the_owner_decides_only_pending_reservations_and_repeating_a_decision_changes_nothing() {
        use ReservationStatus::*;
        assert_eq!(decide(Pending, true), Ok(true));
        assert_eq!(decide(Pending, false), Ok(true));
        assert_eq!(decide(Confirmed, true), Ok(false));
        assert_eq!(decide(Declined, false), Ok(false));
        assert_eq!(decide(Confirmed, false), Err(NotPending::Confirmed));
        assert_eq!(decide(Declined, true), Err(NotPending::Declined));
        assert_eq!(decide(Canceled, true), Err(NotPending::Canceled));
        assert_eq!(decide(Expired, false), Err(NotPending::Expired));
        assert_eq!(ReservationStatus::of(None, true), Pending);
        assert_eq!(ReservationStatus::of(Some(Ending::Expired), true), Expired);
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
