//! `Notifications` tag (companion document): the admin's outbox view and users' addresses.

use super::{stored, wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, NotificationsHandlers};
use crate::auth::Principal;
use crate::domain::input::EmailAddress;
use crate::domain::page::{ListKind, PageRequest};
use crate::error::ServiceError;
use crate::services::notifications as svc;
use uuid::Uuid;

impl NotificationsHandlers for Handlers {
    async fn list_notifications(
        &self,
        principal: Principal,
        status: Option<api::ListNotificationsStatus>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> Result<api::ListNotificationsResponse, ApiError> {
        let page = PageRequest::parse(ListKind::Notifications, limit, cursor.as_deref(), svc::DEFAULT_LIST)
            .map_err(ServiceError::Invalid)?;
        let rows = self.notifications().list(&principal, status.map(Into::into), page).await?;
        let (truncated, next) = super::calendars::page_headers(&rows);
        let wire = rows
            .items
            .into_iter()
            .map(|n| {
                Ok(api::Notification {
                    id: n.id,
                    rule: n.rule,
                    channel: n.channel.into(),
                    status: n.status.into(),
                    recipient_role: stored(&n.recipient_role, api::NotificationRecipientRole::from_wire)?,
                    recipient_email: n.recipient_email,
                    subject_id: n.subject_id,
                    attempts: n.attempts.into(),
                    last_error: n.last_error,
                    created_at: wire(n.created_at),
                    next_attempt_at: wire(n.next_attempt_at),
                    sent_at: n.sent_at.map(wire),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(api::ListNotificationsResponse::Ok(Json(wire), truncated, next))
    }

    async fn set_user_email(
        &self,
        principal: Principal,
        user_id: Uuid,
        body: api::SetUserEmailRequest,
    ) -> Result<api::SetUserEmailResponse, ApiError> {
        // Who may act is answered before what they sent (403 before 400).
        crate::policy::require_admin(&principal)?;
        let email = EmailAddress::parse("email", &body.email.0)?;
        self.notifications().set_email(&principal, crate::domain::ids::UserId::from_uuid(user_id), &email).await?;
        Ok(api::SetUserEmailResponse::NoContent)
    }
}
