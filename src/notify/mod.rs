//! Notifications by rules: an outbox that sends each message once, over SMTP and webhooks.
//!
//! - `rules`: the rules file (data, validated at start) and template rendering;
//! - `outbox`: finding what is due, enqueueing under a unique key, claiming with a lease,
//!   recording the outcome with retries and backoff;
//! - `transport`: where messages go (`smtp`, `webhook`, `log` for the embedded default);
//! - `ical`: the iCalendar (RFC 5545) attachment of confirmations.

pub mod ical;
pub mod log;
pub mod notifier;
pub mod outbox;
pub mod rules;
pub mod smtp;
pub mod transport;
pub mod webhook;

use uuid::Uuid;

/// Where a message goes (the stored column type; see the entity).
pub use crate::entities::notifications::Channel;

/// A rendered message, ready for a transport.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The outbox row; also the idempotency key receivers see.
    pub id: Uuid,
    /// The outbox's unique key: `rule:subject:recipient`.
    pub key: String,
    pub rule: String,
    pub channel: Channel,
    /// The email address (email channel).
    pub to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An iCalendar document to attach (`text/calendar; method=PUBLISH`), for confirmations.
    pub ical: Option<String>,
    /// The webhook body (webhook channel).
    pub payload: serde_json::Value,
}
