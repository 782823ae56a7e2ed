//! The embedded default transport when no SMTP server is configured: it logs that a message would be sent
//! (its id, rule and channel, and the recipient masked: never the address, subject or body) and keeps the most recent messages in memory for tests and diagnostics.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::transport::{SendError, Transport};
use super::Message;

/// How many messages [`LogTransport::new`] keeps.
pub const DEFAULT_CAPACITY: usize = 1000;

/// A recipient as the log shows it: the first character and the domain (`v…@example.com`), so
/// a developer can tell messages apart and the log holds no address.
fn masked(to: Option<&str>) -> String {
    match to.and_then(|to| to.split_once('@')) {
        Some((local, domain)) => format!("{}…@{domain}", local.chars().next().unwrap_or('?')),
        None => "-".to_string(),
    }
}

#[derive(Debug)]
pub struct LogTransport {
    capacity: usize,
    sent: Mutex<VecDeque<Message>>,
}

impl Default for LogTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl LogTransport {
    /// Keeps the last [`DEFAULT_CAPACITY`] messages.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// Keeps the last `capacity` messages (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { capacity, sent: Mutex::new(VecDeque::with_capacity(capacity.min(64))) }
    }

    /// The recorded messages, oldest first.
    pub fn sent(&self) -> Vec<Message> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets the recorded messages.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Message>> {
        // A panic while holding the lock cannot leave the deque inconsistent; keep going.
        self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, message: &Message) {
        tracing::info!(
            target: "bookings::notify",
            message_id = %message.id,
            rule = %message.rule,
            channel = %message.channel.name(),
            recipient = %masked(message.to.as_deref()),
            has_ical = message.ical.is_some(),
            "notification (log transport; not delivered)"
        );
        let mut sent = self.lock();
        while sent.len() >= self.capacity {
            sent.pop_front();
        }
        sent.push_back(message.clone());
    }
}

impl Transport for LogTransport {
    fn send(&self, message: &Message) -> impl std::future::Future<Output = Result<(), SendError>> + Send {
        self.record(message);
        std::future::ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Channel;

    fn message(n: usize) -> Message {
        Message {
            id: crate::domain::ids::NotificationId::new(),
            key: format!("rule:{n}:a@example.com"),
            rule: "rule".into(),
            channel: Channel::Email,
            to: Some("a@example.com".into()),
            subject: format!("Subject {n}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
            ical: None,
            payload: serde_json::Value::Null,
        }
    }

    #[tokio::test]
    async fn records_and_keeps_the_last_n() {
        let t = LogTransport::with_capacity(3);
        for n in 0..5 {
            t.send(&message(n)).await.unwrap();
        }
        let subjects: Vec<_> = t.sent().into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["Subject 2", "Subject 3", "Subject 4"]);
        t.clear();
        assert!(t.sent().is_empty());
    }
}

#[cfg(test)]
mod masking {
    #[test]
    fn the_log_shows_no_address() {
        assert_eq!(super::masked(Some("visitor@example.com")), "v…@example.com");
        assert_eq!(super::masked(None), "-");
        assert_eq!(super::masked(Some("not-an-address")), "-");
    }
}
