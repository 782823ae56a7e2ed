//! Notifications as the API sees them: running a pass, the admin's view of the outbox, and
//! users' addresses.

use crate::auth::Principal;
use crate::domain::input::EmailAddress;
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::notifications;
use crate::error::{ServiceError, ServiceResult};
use crate::notify::outbox::PassReport;
use crate::policy::{require_admin, require_admin_or_scope, Scope};
use crate::state::AppState;
use uuid::Uuid;

/// The cron's call: an admin, or a token with `notifications:send`.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id), err(level = "info", Display))]
pub async fn run_pass(state: &AppState, principal: &Principal) -> ServiceResult<PassReport> {
    require_admin_or_scope(principal, Scope::NotificationsSend)?;
    // A pass may run again from the start: enqueueing is keyed, claims are leased. So a
    // transient fault (SQLite busy while another pass writes, a lock timeout) is retried within
    // the write budget before it is answered 503.
    let report = state.writes.retrying(&[], || state.notifier.run_pass(&state.db, &state.clock)).await?;
    tracing::info!(?report, "notification pass");
    Ok(report)
}

/// What listNotifications answers without a `limit`, and the most it answers with one.
pub const DEFAULT_LIST: u64 = 100;
pub const MAX_LIST: u64 = 500;

/// One page of the outbox, newest first then by id; keyset after `page.after`, cut in the query.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, status = ?status), err(level = "info", Display))]
pub async fn list(
    state: &AppState,
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
    let rows = crate::store::outbox::page(&state.db, status, after, page.fetch()).await?;
    Ok(Page::cut(rows, &page, |n| Some(Cursor::new(ListKind::Notifications, n.created_at, n.id.to_string()))))
}

async fn store_email(state: &AppState, user: Uuid, email: &EmailAddress) -> ServiceResult<()> {
    let email = email.as_str();
    let now = state.clock.now();
    crate::store::users::upsert_email(&state.db, crate::domain::ids::UserId::from_uuid(user), email, now).await?;
    state.known_emails.insert(crate::domain::ids::UserId::from_uuid(user), email.to_string());
    Ok(())
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = %user), err(level = "info", Display))]
pub async fn set_email(state: &AppState, principal: &Principal, user: Uuid, email: &EmailAddress) -> ServiceResult<()> {
    require_admin(principal)?;
    store_email(state, user, email).await
}

/// Keeps the `email` claim of a user's latest token, writing only when it changed. A claim that
/// is not a plain address (the same rule as every email input) is ignored, never stored.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id), err(level = "debug", Display))]
pub async fn remember_email(state: &AppState, principal: &Principal) -> ServiceResult<()> {
    let Some(email) = principal.email.as_deref().and_then(|e| EmailAddress::parse("email", e).ok()) else {
        return Ok(());
    };
    let known = state.known_emails.get(&principal.user_id);
    if known.as_deref() == Some(email.as_str()) {
        return Ok(());
    }
    store_email(state, principal.user_id.into_uuid(), &email).await
}
