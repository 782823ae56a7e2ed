//! What every request shares.

use crate::auth::Verifier;
use crate::clock::Clock;
use crate::notify::notifier::Notifier;
use crate::services::availability_cache::AvailabilityCache;
use sea_orm::DatabaseConnection;

/// How many users' stored emails are remembered.
pub const MAX_KNOWN_EMAILS: u64 = 100_000;

pub struct AppState {
    pub db: DatabaseConnection,
    pub clock: Clock,
    pub verifier: Verifier,
    /// Base URL for public booking links, without a trailing slash.
    pub public_base_url: String,
    /// Visitors' manage tokens (made with the server's secret) and links.
    pub manage_links: crate::domain::reservation::ManageLinks,
    pub notifier: Notifier,
    /// The request limits the edge enforces.
    pub limits: crate::config::LimitSettings,
    /// Emails from tokens already stored, so each is written once (at most
    /// [`MAX_KNOWN_EMAILS`]; one forgotten is written again).
    pub known_emails: moka::sync::Cache<crate::domain::ids::UserId, String>,
    /// Links and busy time for availability (see the module for what it may and may not do).
    pub availability_cache: std::sync::Arc<AvailabilityCache>,
    /// Runs write transactions: retries within a budget, one waiter per row (see the module).
    pub writes: crate::db::Writes,
    /// The visitor's pages' settings (framing, CORS).
    pub pages: crate::config::PageSettings,
}

impl AppState {
    /// The booking links' use cases (the API's handlers and the visitor's pages call the same),
    /// over what they need of the state.
    pub fn booking_links(&self) -> crate::services::booking_links::BookingLinks<'_> {
        crate::services::booking_links::BookingLinks {
            db: &self.db,
            clock: self.clock,
            cache: &self.availability_cache,
            writes: &self.writes,
            public_base_url: &self.public_base_url,
            manage_links: &self.manage_links,
        }
    }
}
