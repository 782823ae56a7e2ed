//! Delivery: which transport a message goes out on.

use super::log::LogTransport;
use super::smtp::SmtpTransport;
use super::transport::{SendError, Transport};
use super::webhook::WebhookTransport;
use super::{Channel, Message};

/// The transports a pass sends with.
pub struct Transports {
    pub email: EmailTransport,
    pub webhook: Option<WebhookTransport>,
}

pub enum EmailTransport {
    Smtp(SmtpTransport),
    Log(LogTransport),
}

impl Transports {
    /// Sends on the message's channel; a webhook without configured URLs fails for good.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        match (message.channel, &self.email, &self.webhook) {
            (Channel::Email, EmailTransport::Smtp(t), _) => t.send(message).await,
            (Channel::Email, EmailTransport::Log(t), _) => t.send(message).await,
            (Channel::Webhook, _, Some(t)) => t.send(message).await,
            (Channel::Webhook, _, None) => Err(SendError::Permanent("no webhook URLs are configured".into())),
        }
    }
}
