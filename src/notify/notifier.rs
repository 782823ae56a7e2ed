//! The notification service the server holds: rules, transports, delivery settings.

use super::outbox::{self, DeliverySettings, EmailTransport, PassReport, Transports};
use super::render::Letterhead;
use super::rules::Rules;
use crate::clock::Clock;
use crate::config::NotifySettings;
use crate::domain::reservation::ManageLinks;
use crate::error::ServiceResult;
use anyhow::Context;
use sea_orm::DatabaseConnection;

pub struct Notifier {
    pub rules: Rules,
    /// Manage links and the organizer of last resort, for rendering.
    pub letterhead: Letterhead,
    pub transports: Transports,
    pub delivery: DeliverySettings,
}

impl Notifier {
    /// From the settings: a bad rules file, SMTP URL or webhook setting stops the server.
    pub fn from_settings(settings: &NotifySettings, manage_links: ManageLinks) -> anyhow::Result<Self> {
        let letterhead = Letterhead::new(manage_links, &settings.smtp_from);
        let rules = Rules::load(settings.rules_file.as_deref()).map_err(anyhow::Error::msg)?;
        let email = match &settings.smtp_url {
            Some(url) => EmailTransport::Smtp(
                super::smtp::SmtpTransport::new(url, &settings.smtp_from)
                    .context("SMTP_URL / SMTP_FROM")?
                    .with_timeouts(super::smtp::SmtpTimeouts {
                        command: settings.smtp_timeout,
                        message: settings.smtp_message_timeout,
                    }),
            ),
            None => EmailTransport::Log(super::log::LogTransport::new()),
        };
        let webhook = match (&settings.webhook_urls, &settings.webhook_secret) {
            (Some(urls), Some(secret)) => {
                let urls: Vec<String> =
                    urls.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect();
                Some(
                    super::webhook::WebhookTransport::with_timeout(urls, secret.clone(), settings.webhook_timeout)
                        .context("WEBHOOK_URLS / WEBHOOK_SECRET")?,
                )
            }
            (None, None) => None,
            _ => anyhow::bail!("WEBHOOK_URLS and WEBHOOK_SECRET go together"),
        };
        Ok(Self { rules, letterhead, transports: Transports { email, webhook }, delivery: DeliverySettings::default() })
    }

    /// Releases the pending reservations whose time has come (issue #25's approval: their
    /// visitors are then told, `reservation.expired`), then one pass of the outbox.
    pub async fn run_pass(&self, db: &DatabaseConnection, clock: &Clock) -> ServiceResult<PassReport> {
        crate::store::calendars::expire_pending(&crate::db::autocommit(db), None, clock.now()).await?;
        outbox::run_pass(db, &self.rules, &self.letterhead, &self.transports, &self.delivery, clock).await
    }

    /// The log transport's record, when email is not configured (tests, `make run`).
    pub fn logged(&self) -> Option<Vec<super::Message>> {
        match &self.transports.email {
            EmailTransport::Log(t) => Some(t.sent()),
            EmailTransport::Smtp(_) => None,
        }
    }
}
