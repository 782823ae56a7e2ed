//! The embedded default transport when no SMTP server is configured: it logs what would be sent
//! (never the body) and keeps the most recent messages in memory for tests and diagnostics.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::transport::{SendError, Transport};
use super::Message;

/// How many messages [`LogTransport::new`] keeps.
pub const DEFAULT_CAPACITY: usize = 1000;

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
            recipient = message.to.as_deref().unwrap_or("-"),
            subject = %message.subject,
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
