//! Notifications as the API sees them: running a pass, the admin's view of the outbox, and
//! users' addresses.

use crate::auth::Principal;
use crate::domain::input::EmailAddress;
use crate::domain::page::{Cursor, ListKind, Page, PageRequest};
use crate::entities::{notifications, users};
use crate::error::{AppError, AppResult};
use crate::notify::outbox::PassReport;
use crate::state::AppState;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

pub const SCOPE_NOTIFICATIONS_SEND: &str = "notifications:send";

#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id), err(level = "debug", Display))]
pub fn require_admin(principal: &Principal) -> AppResult<()> {
    if principal.admin {
        Ok(())
    } else {
        Err(AppError::forbidden("this needs the admin role"))
    }
}

/// The cron's call: an admin, or a token with `notifications:send`.
#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id), err(level = "info", Display))]
pub async fn run_pass(state: &AppState, principal: &Principal) -> AppResult<PassReport> {
    if !principal.admin && !principal.has_scope(SCOPE_NOTIFICATIONS_SEND) {
        return Err(AppError::forbidden(format!(
            "this needs the admin role or the `{SCOPE_NOTIFICATIONS_SEND}` scope"
        )));
    }
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
) -> AppResult<Page<notifications::Model>> {
    require_admin(principal)?;
    let page = PageRequest { limit: page.limit.min(MAX_LIST), ..page };
    let mut query = notifications::Entity::find();
    if let Some(status) = status {
        query = query.filter(notifications::Column::Status.eq(status));
    }
    if let Some(after) = &page.after {
        let id: Uuid = after.key.parse().map_err(|_| AppError::validation("cursor is not one this list answered"))?;
        query = query.filter(Condition::any().add(notifications::Column::CreatedAt.lt(after.at)).add(
            Condition::all().add(notifications::Column::CreatedAt.eq(after.at)).add(notifications::Column::Id.gt(id)),
        ));
    }
    let rows = query
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_asc(notifications::Column::Id)
        .limit(page.fetch())
        .all(&state.db)
        .await?;
    Ok(Page::cut(rows, &page, |n| Some(Cursor::new(ListKind::Notifications, n.created_at, n.id.to_string()))))
}

async fn store_email(state: &AppState, user: Uuid, email: &EmailAddress) -> AppResult<()> {
    let email = email.as_str();
    let now = state.clock.now();
    users::Entity::insert(users::ActiveModel {
        id: Set(user),
        email: Set(Some(email.to_string())),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(users::Column::Id)
            .update_columns([users::Column::Email, users::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    state.known_emails.insert(user, email.to_string());
    Ok(())
}

#[tracing::instrument(level = "info", skip_all, fields(user_id = %principal.user_id, for_user_id = %user), err(level = "info", Display))]
pub async fn set_email(state: &AppState, principal: &Principal, user: Uuid, email: &EmailAddress) -> AppResult<()> {
    require_admin(principal)?;
    store_email(state, user, email).await
}

/// Keeps the `email` claim of a user's latest token, writing only when it changed. A claim that
/// is not a plain address (the same rule as every email input) is ignored, never stored.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id), err(level = "debug", Display))]
pub async fn remember_email(state: &AppState, principal: &Principal) -> AppResult<()> {
    let Some(email) = principal.email.as_deref().and_then(|e| EmailAddress::parse("email", e).ok()) else {
        return Ok(());
    };
    let known = state.known_emails.get(&principal.user_id);
    if known.as_deref() == Some(email.as_str()) {
        return Ok(());
    }
    store_email(state, principal.user_id, &email).await
}
