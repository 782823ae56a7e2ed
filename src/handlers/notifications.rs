//! `Notifications` tag (companion document): the admin's outbox view and users' addresses.

use super::{wire, Handlers};
use crate::api::Json;
use crate::api::{self, ApiError, NotificationsHandlers};
use crate::auth::Principal;
use crate::domain::input::EmailAddress;
use crate::domain::page::{ListKind, PageRequest};
use crate::error::ServiceError;
use crate::policy::Admin;
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
        let admin = Admin::authorize(&principal)?;
        let page = PageRequest::parse(ListKind::Notifications, limit, cursor.as_deref(), svc::DEFAULT_LIST)
            .map_err(ServiceError::Invalid)?;
        let rows = self.notifications().list(admin, status.map(Into::into), page).await?;
        let (truncated, next) = super::calendars::page_headers(&rows);
        let wire = rows
            .items
            .into_iter()
            .map(|svc::Listed { message: n, attempts }| {
                Ok(api::Notification {
                    attempt_log: attempts.into_iter().map(attempt).collect(),
                    id: n.id.into_uuid(),
                    rule: n.rule,
                    channel: n.channel.into(),
                    status: n.status.into(),
                    recipient_role: n.recipient_role.into(),
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

    async fn list_webhook_endpoints(
        &self,
        principal: Principal,
    ) -> Result<api::ListWebhookEndpointsResponse, ApiError> {
        let endpoints = self.notifications().webhook_endpoints(Admin::authorize(&principal)?).await?;
        Ok(api::ListWebhookEndpointsResponse::Ok(Json(endpoints.into_iter().map(endpoint).collect())))
    }

    async fn enable_webhook_endpoint(
        &self,
        principal: Principal,
        endpoint_id: String,
    ) -> Result<api::EnableWebhookEndpointResponse, ApiError> {
        let enabled = self.notifications().enable_webhook_endpoint(Admin::authorize(&principal)?, &endpoint_id).await?;
        Ok(api::EnableWebhookEndpointResponse::Ok(Json(endpoint(enabled))))
    }

    async fn set_user_email(
        &self,
        principal: Principal,
        user_id: Uuid,
        body: api::SetUserEmailRequest,
    ) -> Result<api::SetUserEmailResponse, ApiError> {
        let admin = Admin::authorize(&principal)?;
        let email = EmailAddress::parse("email", &body.email.0)?;
        self.notifications().set_email(admin, crate::domain::ids::UserId::from_uuid(user_id), &email).await?;
        Ok(api::SetUserEmailResponse::NoContent)
    }
}

fn attempt(a: crate::entities::notification_attempts::Model) -> api::NotificationAttempt {
    api::NotificationAttempt {
        attempt: a.attempt.into(),
        at: wire(a.attempted_at),
        endpoint_id: a.endpoint_id,
        status_code: a.status_code.map(Into::into),
        delivered: a.delivered,
        error: a.error,
        next_attempt_at: a.next_attempt_at.map(wire),
    }
}

fn endpoint(e: svc::EndpointState) -> api::WebhookEndpoint {
    api::WebhookEndpoint {
        id: e.id,
        target: e.target,
        state: if e.disabled_at.is_some() {
            api::WebhookEndpointState::Disabled
        } else {
            api::WebhookEndpointState::Enabled
        },
        disabled_at: e.disabled_at.map(wire),
        disabled_reason: e.disabled_reason,
    }
}
