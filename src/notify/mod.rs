//! Notifications by rules: an outbox that sends each message once, over SMTP and webhooks.
//!
//! Who hears of what, and when, is pure domain code (`domain::notifications`); the facts it
//! decides over are the store's (`store::notification_subjects`), the queue's table too
//! (`store::outbox`). Here:
//!
//! - `rules`: the rules file (data, validated at start) and its templates;
//! - `due`: what a rule has due now (the domain's window over the store's facts);
//! - `render`: a due subject to a message (context, templates, payload, attachment);
//! - `outbox`: the queue: enqueueing under a unique key, claiming with a lease, recording the
//!   outcome with retries and backoff;
//! - `delivery` and `transport`: where messages go (`smtp`, `webhook`, `log` for the embedded
//!   default);
//! - `ical`: the iCalendar (RFC 5545, iTIP RFC 5546) part: invitations, updates, cancellations;
//! - `erased`: the cancellations told when a user is erased (their rows go at once).

pub mod delivery;
pub mod due;
pub mod erased;
pub mod ical;
pub mod log;
pub mod notifier;
pub mod outbox;
pub mod render;
pub mod rules;
pub mod smtp;
pub mod transport;
pub mod webhook;

use crate::domain::ids::NotificationId;

/// Where a message goes (the stored column type; see the entity).
pub use crate::entities::notifications::Channel;

/// A rendered message, ready for a transport.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The outbox row; also the idempotency key receivers see.
    pub id: NotificationId,
    /// The outbox's unique key: `rule:subject:recipient`.
    pub key: String,
    pub rule: String,
    pub channel: Channel,
    /// The email address (email channel).
    pub to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An iCalendar document to attach (`text/calendar; method=REQUEST` or `method=CANCEL`).
    pub ical: Option<String>,
    /// The webhook body (webhook channel).
    pub payload: serde_json::Value,
}
