//! LE-KO bookings.

use crate::auth::Principal;
use crate::entities::bookings;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use sea_orm::EntityTrait;
use uuid::Uuid;

/// A booking, visible to its athlete, its coach and admins; anyone else gets 404.
pub async fn get_visible(state: &AppState, principal: &Principal, id: Uuid) -> AppResult<bookings::Model> {
    let not_found = || AppError::not_found(format!("booking {id} not found"));
    let booking = bookings::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(not_found)?;
    if principal.admin || booking.user_id == principal.user_id || booking.coach_id == principal.user_id {
        Ok(booking)
    } else {
        Err(not_found())
    }
}
