//! Notifications as the API sees them: running a pass, the admin's view of the outbox, and
//! users' addresses.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::Writes;
use crate::domain::ids::{NotificationId, UserId};
use crate::domain::input::EmailAddress;
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::{notification_attempts, notifications};
use crate::error::{ServiceError, ServiceResult};
use crate::notify::notifier::Notifier;
use crate::notify::outbox::PassReport;
use crate::policy::{Admin, NotificationSender};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// The notification use cases, over the database, the write runner, the clock, the notifier
/// (the port a pass goes through) and the addresses already stored.
#[derive(Clone, Copy)]
pub struct Notifications<'a> {
    pub db: &'a DatabaseConnection,
    pub writes: &'a Writes,
    pub clock: Clock,
    pub notifier: &'a Notifier,
    pub known_emails: &'a moka::sync::Cache<UserId, String>,
}

/// A listed outbox message with every send of it, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub message: notifications::Model,
    pub attempts: Vec<notification_attempts::Model>,
}

/// A configured webhook endpoint and its state (disabled: it answered 410 Gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointState {
    pub id: String,
    /// Scheme, host and port of its URL.
    pub target: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

/// What listNotifications answers without a `limit`, and the most it answers with one.
pub const DEFAULT_LIST: u64 = 100;
pub const MAX_LIST: u64 = 500;

impl Notifications<'_> {
    /// The cron's call: an admin, or a token with `notifications:send`.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %sender.principal().user_id), err(level = "info", Display))]
    pub async fn run_pass(&self, sender: NotificationSender<'_>) -> ServiceResult<PassReport> {
        // A pass may run again from the start: enqueueing is keyed, claims are leased. So a
        // transient fault (SQLite busy while another pass writes, a lock timeout) is retried within
        // the write budget before it is answered 503.
        let report = self.writes.retrying(&[], || self.notifier.run_pass(self.db, &self.clock)).await?;
        tracing::info!(?report, "notification pass");
        Ok(report)
    }

    /// One page of the outbox, newest first then by id; keyset after `page.after`, cut in the query.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %admin.principal().user_id, status = ?status), err(level = "info", Display))]
    pub async fn list(
        &self,
        admin: Admin<'_>,
        status: Option<notifications::NotificationStatus>,
        page: PageRequest,
    ) -> ServiceResult<Page<Listed>> {
        let page = PageRequest { limit: page.limit.min(MAX_LIST), ..page };
        let after = match &page.after {
            Some(after) => Some((
                after.at,
                after
                    .key
                    .parse::<Uuid>()
                    .map(NotificationId::from_uuid)
                    .map_err(|_| ServiceError::invalid("cursor is not one this list answered"))?,
            )),
            None => None,
        };
        let rows = crate::store::outbox::page(self.db, status, after, page.fetch()).await?;
        let page =
            Page::cut(rows, &page, |n| Some(Cursor::new(ListKind::Notifications, n.created_at, n.id.to_string())));
        let ids: Vec<NotificationId> = page.items.iter().map(|n| n.id).collect();
        let mut attempts = crate::store::outbox::attempts_of(self.db, &ids).await?;
        Ok(page.map(|message| Listed { attempts: attempts.remove(&message.id).unwrap_or_default(), message }))
    }

    /// The configured webhook endpoints with their state, in configured order.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %admin.principal().user_id), err(level = "info", Display))]
    pub async fn webhook_endpoints(&self, admin: Admin<'_>) -> ServiceResult<Vec<EndpointState>> {
        let Some(transport) = &self.notifier.transports.webhook else { return Ok(vec![]) };
        let mut stored = crate::store::webhook_endpoints::all(self.db).await?;
        Ok(transport
            .endpoints()
            .iter()
            .map(|e| {
                let row = stored.remove(e.id.as_str());
                EndpointState {
                    id: e.id.to_string(),
                    target: e.target.clone(),
                    disabled_at: row.as_ref().and_then(|r| r.disabled_at),
                    disabled_reason: row.and_then(|r| r.disabled_reason),
                }
            })
            .collect())
    }

    /// Enables a configured webhook endpoint again (one that answered 410 Gone); unknown: 404.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %admin.principal().user_id, endpoint = id), err(level = "info", Display))]
    pub async fn enable_webhook_endpoint(&self, admin: Admin<'_>, id: &str) -> ServiceResult<EndpointState> {
        let known = self
            .notifier
            .transports
            .webhook
            .as_ref()
            .and_then(|t| t.endpoints().iter().find(|e| e.id.as_str() == id).cloned())
            .ok_or_else(|| ServiceError::not_found("webhook endpoint not found"))?;
        self.writes.retrying(&[], || crate::store::webhook_endpoints::enable(self.db, known.id.as_str())).await?;
        tracing::info!(endpoint = %known.id, target = %known.target, "webhook endpoint enabled");
        Ok(EndpointState { id: known.id.to_string(), target: known.target, disabled_at: None, disabled_reason: None })
    }

    async fn store_email(&self, user: UserId, email: &EmailAddress) -> ServiceResult<()> {
        let email = email.as_str();
        let now = self.clock.now();
        crate::store::users::upsert_email(self.db, user, email, now).await?;
        self.known_emails.insert(user, email.to_string());
        Ok(())
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %admin.principal().user_id, for_user_id = %user), err(level = "info", Display))]
    pub async fn set_email(&self, admin: Admin<'_>, user: UserId, email: &EmailAddress) -> ServiceResult<()> {
        self.store_email(user, email).await
    }

    /// Keeps the `email` claim of a user's latest token, writing only when it changed. A claim that
    /// is not a plain address (the same rule as every email input) is ignored, never stored.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id), err(level = "debug", Display))]
    pub async fn remember_email(&self, principal: &Principal) -> ServiceResult<()> {
        let Some(email) = principal.email.as_deref().and_then(|e| EmailAddress::parse("email", e).ok()) else {
            return Ok(());
        };
        let known = self.known_emails.get(&principal.user_id);
        if known.as_deref() == Some(email.as_str()) {
            return Ok(());
        }
        self.store_email(principal.user_id, &email).await
    }
}
