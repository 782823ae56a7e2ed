use crate::domain::ids::{NotificationId, UserId};
use crate::domain::notifications::Recipient;
use sea_orm::entity::prelude::*;

/// One message of the outbox. `dedupe_key` (`rule:subject:recipient`) makes enqueueing
/// idempotent; `status` is pending, sending (leased until `lease_until`), sent, failed or skipped.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NotificationId,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub rule: String,
    pub channel: Channel,
    pub subject_id: Uuid,
    pub recipient_role: Recipient,
    pub recipient_user_id: Option<UserId>,
    pub recipient_email: Option<String>,
    pub about_user_id: Option<UserId>,
    pub about_coach_id: Option<UserId>,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    #[sea_orm(column_type = "Text")]
    pub body_html: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub ical: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `notifications.status`: the outbox's lifecycle of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum NotificationStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a pass, leased until `lease_until`.
    #[sea_orm(string_value = "sending")]
    Sending,
    #[sea_orm(string_value = "sent")]
    Sent,
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Never sent: no address is known for the recipient.
    #[sea_orm(string_value = "skipped")]
    Skipped,
}

/// Where a message goes: `notifications.channel`, and the `channel` of a rule in the rules file
/// (`notify::Channel` is this type; notify has no sea-orm-free twin to keep in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Channel {
    #[sea_orm(string_value = "email")]
    Email,
    #[sea_orm(string_value = "webhook")]
    Webhook,
}

impl Channel {
    /// The name the rules file and the stored rows use.
    pub fn name(self) -> String {
        self.to_value()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::try_from_value(&s.to_string()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::assert_stored_as;

    #[test]
    fn statuses_and_channels_are_stored_as_before() {
        assert_stored_as([
            (NotificationStatus::Pending, "pending"),
            (NotificationStatus::Sending, "sending"),
            (NotificationStatus::Sent, "sent"),
            (NotificationStatus::Failed, "failed"),
            (NotificationStatus::Skipped, "skipped"),
        ]);
        assert_stored_as([(Channel::Email, "email"), (Channel::Webhook, "webhook")]);
        assert_eq!(Channel::parse("webhook"), Some(Channel::Webhook));
        assert_eq!(Channel::parse("Webhook"), None);
    }
}
