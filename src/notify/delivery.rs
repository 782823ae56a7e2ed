//! Delivery: which transport a message goes out on.

use std::collections::BTreeSet;

use super::log::LogTransport;
use super::smtp::SmtpTransport;
use super::transport::{SendError, Transport};
use super::webhook::{EndpointId, Posted, WebhookTransport};
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

/// What one send did.
#[derive(Debug)]
pub enum Sent {
    /// One send (an email; a webhook without configured URLs): its result.
    Once(Result<(), SendError>),
    /// A webhook: how each endpoint it was POSTed to answered.
    Webhook(Vec<Posted>),
}

impl Transports {
    /// Sends on the message's channel: a webhook to the endpoints in `to` only (signed at this
    /// moment); a webhook without configured URLs fails for good.
    pub async fn send(&self, message: &Message, to: &BTreeSet<EndpointId>) -> Sent {
        match (message.channel, &self.email, &self.webhook) {
            (Channel::Email, EmailTransport::Smtp(t), _) => Sent::Once(t.send(message).await),
            (Channel::Email, EmailTransport::Log(t), _) => Sent::Once(t.send(message).await),
            (Channel::Webhook, _, Some(t)) => {
                Sent::Webhook(t.deliver(message, to, chrono::Utc::now().timestamp()).await)
            }
            (Channel::Webhook, _, None) => {
                Sent::Once(Err(SendError::Permanent("no webhook URLs are configured".into())))
            }
        }
    }
}
