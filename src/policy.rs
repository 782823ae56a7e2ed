//! Who may do what: the one place that decides. Services ask here before they act; nothing
//! else compares a caller with an owner or reads a scope.
//!
//! - A **scope** lets a token act on its own things (`calendar:write`, `booking:write`) or call
//!   the cron's endpoint (`notifications:send`). Admins hold every scope.
//! - An **owner** may act on what they own; an admin on anything.
//! - **Self or admin**: data about a user is for that user and admins.
//! - A **party** of a booking (its athlete or its coach) may see it; an admin too.

use crate::auth::Principal;
use crate::domain::ids::UserId;
use crate::error::{ServiceError, ServiceResult};

/// What a token may be allowed to do, as its `scope` claim spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    CalendarWrite,
    BookingWrite,
    NotificationsSend,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::CalendarWrite, Scope::BookingWrite, Scope::NotificationsSend];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::CalendarWrite => "calendar:write",
            Scope::BookingWrite => "booking:write",
            Scope::NotificationsSend => "notifications:send",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Scopes a `token` gets unless told otherwise: everything a regular user may do.
pub const DEFAULT_SCOPES: &str = "calendar:write booking:write";

/// Whether the caller holds `scope` (admins hold them all).
pub fn has_scope(principal: &Principal, scope: Scope) -> bool {
    principal.admin || principal.has_scope(scope.as_str())
}

#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id, scope = %scope), err(level = "debug", Display))]
pub fn require_scope(principal: &Principal, scope: Scope) -> ServiceResult<()> {
    if has_scope(principal, scope) {
        Ok(())
    } else {
        Err(ServiceError::denied(format!("this needs the `{scope}` scope")))
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(user_id = %principal.user_id), err(level = "debug", Display))]
pub fn require_admin(principal: &Principal) -> ServiceResult<()> {
    if principal.admin {
        Ok(())
    } else {
        Err(ServiceError::denied("this needs the admin role"))
    }
}

/// The cron's endpoint: an admin, or a token with `notifications:send`.
pub fn require_admin_or_scope(principal: &Principal, scope: Scope) -> ServiceResult<()> {
    if has_scope(principal, scope) {
        Ok(())
    } else {
        Err(ServiceError::denied(format!("this needs the admin role or the `{scope}` scope")))
    }
}

/// Whether the caller owns the thing `owner` owns, or is an admin.
pub fn is_owner_or_admin(principal: &Principal, owner: UserId) -> bool {
    principal.admin || principal.user_id == owner
}

/// The owner or an admin, else `denied` with `why` (e.g. "only the calendar's owner may do this").
pub fn require_owner_or_admin(principal: &Principal, owner: UserId, why: &str) -> ServiceResult<()> {
    if is_owner_or_admin(principal, owner) {
        Ok(())
    } else {
        Err(ServiceError::denied(why))
    }
}

/// Which owners' things a caller may see: an admin's scope is everyone's, anyone else's their
/// own. The store filters finders by it (`store::calendars::secure_find`), so a forgotten check
/// cannot show someone else's calendar.
/// A caller the policy allowed to do one kind of thing (a scope or the admin role): the one way
/// "who may act" is answered before "what did they send". The handler asks for it first, so a
/// caller without the permission hears 403 whatever they sent (403 before 400); the use case
/// takes it, so none can forget to ask. Which rows the caller may touch is still decided per
/// row (owner, party, self).
pub struct Allowed<'p, P: Permission> {
    principal: &'p Principal,
    permission: std::marker::PhantomData<P>,
}

impl<'p, P: Permission> Allowed<'p, P> {
    pub fn authorize(principal: &'p Principal) -> ServiceResult<Self> {
        P::check(principal)?;
        Ok(Self { principal, permission: std::marker::PhantomData })
    }

    pub fn principal(&self) -> &'p Principal {
        self.principal
    }
}

impl<P: Permission> Clone for Allowed<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: Permission> Copy for Allowed<'_, P> {}

/// One kind of thing a caller may be allowed to do.
pub trait Permission {
    fn check(principal: &Principal) -> ServiceResult<()>;
}

/// `calendar:write`.
pub struct CalendarWrite;
/// `booking:write`.
pub struct BookingWrite;
/// `notifications:send` (or the admin role).
pub struct NotificationsSend;
/// The admin role.
pub struct AdminRole;

impl Permission for CalendarWrite {
    fn check(principal: &Principal) -> ServiceResult<()> {
        require_scope(principal, Scope::CalendarWrite)
    }
}
impl Permission for BookingWrite {
    fn check(principal: &Principal) -> ServiceResult<()> {
        require_scope(principal, Scope::BookingWrite)
    }
}
impl Permission for NotificationsSend {
    fn check(principal: &Principal) -> ServiceResult<()> {
        require_admin_or_scope(principal, Scope::NotificationsSend)
    }
}
impl Permission for AdminRole {
    fn check(principal: &Principal) -> ServiceResult<()> {
        require_admin(principal)
    }
}

pub type CalendarWriter<'p> = Allowed<'p, CalendarWrite>;
pub type BookingWriter<'p> = Allowed<'p, BookingWrite>;
pub type NotificationSender<'p> = Allowed<'p, NotificationsSend>;
pub type Admin<'p> = Allowed<'p, AdminRole>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Everyone,
    /// What this user owns or is a party to (a calendar they own; a booking they are the
    /// athlete or the coach of).
    Of(UserId),
}

pub fn visibility(principal: &Principal) -> Visibility {
    if principal.admin {
        Visibility::Everyone
    } else {
        Visibility::Of(principal.user_id)
    }
}

/// Data about `user` is for `user` and admins.
pub fn require_self_or_admin(principal: &Principal, user: UserId, why: &str) -> ServiceResult<()> {
    require_owner_or_admin(principal, user, why)
}

/// A booking's athlete or coach, or an admin.
pub fn is_party_or_admin(principal: &Principal, athlete: UserId, coach: UserId) -> bool {
    principal.admin || principal.user_id == athlete || principal.user_id == coach
}

/// That user only, not even an admin (dismissing one's own booking, naming oneself).
pub fn require_self(principal: &Principal, user: UserId, why: &str) -> ServiceResult<()> {
    if principal.user_id == user {
        Ok(())
    } else {
        Err(ServiceError::denied(why))
    }
}

/// Which side of a booking the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Athlete,
    Coach,
}

/// The caller's side of a booking (the athlete's first), else `denied` with `why`: an admin who
/// is neither is no party.
pub fn require_party(principal: &Principal, athlete: UserId, coach: UserId, why: &str) -> ServiceResult<Party> {
    if principal.user_id == athlete {
        Ok(Party::Athlete)
    } else if principal.user_id == coach {
        Ok(Party::Coach)
    } else {
        Err(ServiceError::denied(why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn principal(scopes: &[Scope], admin: bool) -> Principal {
        Principal {
            user_id: UserId::new(),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect::<BTreeSet<_>>(),
            admin,
            email: None,
        }
    }

    #[test]
    fn scopes_are_needed_unless_admin() {
        let p = principal(&[Scope::BookingWrite], false);
        assert!(require_scope(&p, Scope::BookingWrite).is_ok());
        assert!(require_scope(&p, Scope::CalendarWrite).is_err());
        assert!(require_scope(&principal(&[], true), Scope::CalendarWrite).is_ok());
        assert!(require_admin(&p).is_err());
        assert!(
            require_admin_or_scope(&principal(&[Scope::NotificationsSend], false), Scope::NotificationsSend).is_ok()
        );
    }

    #[test]
    fn owners_parties_and_admins() {
        let p = principal(&[], false);
        let other = UserId::new();
        assert!(is_owner_or_admin(&p, p.user_id));
        assert!(!is_owner_or_admin(&p, other));
        assert!(is_owner_or_admin(&principal(&[], true), other));
        assert!(require_self_or_admin(&p, other, "no").is_err());
        assert!(is_party_or_admin(&p, other, p.user_id));
        assert!(!is_party_or_admin(&p, other, UserId::new()));
        let admin = principal(&[], true);
        assert!(require_self(&admin, other, "no").is_err());
        assert_eq!(require_party(&p, p.user_id, other, "no").unwrap(), Party::Athlete);
        assert_eq!(require_party(&p, other, p.user_id, "no").unwrap(), Party::Coach);
        assert!(require_party(&admin, other, UserId::new(), "no").is_err());
        assert_eq!(visibility(&admin), Visibility::Everyone);
        assert_eq!(visibility(&p), Visibility::Of(p.user_id));
    }

    #[test]
    fn the_default_scopes_are_scopes() {
        for s in DEFAULT_SCOPES.split_whitespace() {
            assert!(Scope::ALL.iter().any(|k| k.as_str() == s), "{s}");
        }
    }
}
