//! What every request shares.

use crate::auth::Verifier;
use crate::clock::Clock;
use sea_orm::DatabaseConnection;

pub struct AppState {
    pub db: DatabaseConnection,
    pub clock: Clock,
    pub verifier: Verifier,
    /// Base URL for public booking links, without a trailing slash.
    pub public_base_url: String,
}

impl AppState {
    pub fn new(db: DatabaseConnection, clock: Clock, verifier: Verifier, public_base_url: String) -> Self {
        Self { db, clock, verifier, public_base_url }
    }
}
