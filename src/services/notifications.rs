//! Notifications as the API sees them: running a pass, the admin's view of the outbox, and
//! users' addresses.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::Writes;
use crate::domain::ids::UserId;
use crate::domain::input::EmailAddress;
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::notifications;
use crate::error::{ServiceError, ServiceResult};
use crate::notify::notifier::Notifier;
use crate::notify::outbox::PassReport;
use crate::policy::{require_admin, require_admin_or_scope, Scope};
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

/// What listNotifications answers without a `limit`, and the most it answers with one.
pub const DEFAULT_LIST: u64 = 100;
pub const MAX_LIST: u64 = 500;

impl Notifications<'_> {
    /// The cron's call: an admin, or a token with `notifications:send`.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id), err(level = "info", Display))]
    pub async fn run_pass(&self, principal: &Principal) -> ServiceResult<PassReport> {
        require_admin_or_scope(principal, Scope::NotificationsSend)?;
        // A pass may run again from the start: enqueueing is keyed, claims are leased. So a
        // transient fault (SQLite busy while another pass writes, a lock timeout) is retried within
        // the write budget before it is answered 503.
        let report = self.writes.retrying(&[], || self.notifier.run_pass(self.db, &self.clock)).await?;
        tracing::info!(?report, "notification pass");
        Ok(report)
    }

    /// One page of the outbox, newest first then by id; keyset after `page.after`, cut in the query.
    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, status = ?status), err(level = "info", Display))]
    pub async fn list(
        &self,
        principal: &Principal,
        status: Option<notifications::NotificationStatus>,
        page: PageRequest,
    ) -> ServiceResult<Page<notifications::Model>> {
        require_admin(principal)?;
        let page = PageRequest { limit: page.limit.min(MAX_LIST), ..page };
        let after = match &page.after {
            Some(after) => Some((
                after.at,
                after.key.parse::<Uuid>().map_err(|_| ServiceError::invalid("cursor is not one this list answered"))?,
            )),
            None => None,
        };
        let rows = crate::store::outbox::page(self.db, status, after, page.fetch()).await?;
        Ok(Page::cut(rows, &page, |n| Some(Cursor::new(ListKind::Notifications, n.created_at, n.id.to_string()))))
    }

    async fn store_email(&self, user: UserId, email: &EmailAddress) -> ServiceResult<()> {
        let email = email.as_str();
        let now = self.clock.now();
        crate::store::users::upsert_email(self.db, user, email, now).await?;
        self.known_emails.insert(user, email.to_string());
        Ok(())
    }

    #[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = %user), err(level = "info", Display))]
    pub async fn set_email(&self, principal: &Principal, user: UserId, email: &EmailAddress) -> ServiceResult<()> {
        require_admin(principal)?;
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
