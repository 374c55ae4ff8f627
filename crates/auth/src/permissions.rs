//! Permissions in DRF's shape: a request-level and an object-level check, composable.

use actix_web::http::Method;
use duet_models::User;

use crate::AuthError;
use crate::identity::is_safe;

/// Who is asking and how: what a [`Permission`] decides on.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// The active user, if any.
    pub user: Option<&'a User>,
    /// The request's method.
    pub method: &'a Method,
}

/// May this request go ahead? Implement it for your own rules; combine with
/// [`and`](Permission::and), [`or`](Permission::or) and [`not`](Permission::not).
pub trait Permission: Send + Sync + 'static {
    /// The request-level check, before any row is loaded.
    fn has_permission(&self, access: Access<'_>) -> bool;

    /// The object-level check, for a row owned by `owner` (if the model has owners).
    fn has_object_permission(&self, access: Access<'_>, owner: Option<i64>) -> bool {
        let _ = (access, owner);
        true
    }

    /// Both must allow.
    fn and<P: Permission>(self, other: P) -> And<Self, P>
    where
        Self: Sized,
    {
        And(self, other)
    }

    /// Either may allow.
    fn or<P: Permission>(self, other: P) -> Or<Self, P>
    where
        Self: Sized,
    {
        Or(self, other)
    }

    /// Allows what this refuses.
    fn not(self) -> Not<Self>
    where
        Self: Sized,
    {
        Not(self)
    }
}

/// Turns a refusal into the right error: 401 for anonymous callers, 403 otherwise.
pub fn check(permission: &dyn Permission, access: Access<'_>) -> Result<(), AuthError> {
    if permission.has_permission(access) {
        Ok(())
    } else {
        Err(refusal(access))
    }
}

/// Like [`check`], for one row.
pub fn check_object(permission: &dyn Permission, access: Access<'_>, owner: Option<i64>) -> Result<(), AuthError> {
    if permission.has_object_permission(access, owner) {
        Ok(())
    } else {
        Err(refusal(access))
    }
}

fn refusal(access: Access<'_>) -> AuthError {
    if access.user.is_none() {
        AuthError::NotAuthenticated
    } else {
        AuthError::PermissionDenied
    }
}

/// Everyone.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAny;

impl Permission for AllowAny {
    fn has_permission(&self, _: Access<'_>) -> bool {
        true
    }
}

/// Any logged-in user.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsAuthenticated;

impl Permission for IsAuthenticated {
    fn has_permission(&self, access: Access<'_>) -> bool {
        access.user.is_some()
    }
}

/// Staff users.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsStaff;

impl Permission for IsStaff {
    fn has_permission(&self, access: Access<'_>) -> bool {
        access.user.is_some_and(|u| u.is_staff)
    }
}

/// Anyone may read; only logged-in users may write.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsAuthenticatedOrReadOnly;

impl Permission for IsAuthenticatedOrReadOnly {
    fn has_permission(&self, access: Access<'_>) -> bool {
        access.user.is_some() || is_safe(access.method)
    }
}

/// Only a row's owner may touch it (request level: anyone logged in).
#[derive(Debug, Clone, Copy, Default)]
pub struct IsOwner;

impl Permission for IsOwner {
    fn has_permission(&self, access: Access<'_>) -> bool {
        access.user.is_some()
    }

    fn has_object_permission(&self, access: Access<'_>, owner: Option<i64>) -> bool {
        matches!((access.user, owner), (Some(user), Some(owner)) if user.id == owner)
    }
}

/// `A and B`.
#[derive(Debug, Clone, Copy)]
pub struct And<A, B>(A, B);

impl<A: Permission, B: Permission> Permission for And<A, B> {
    fn has_permission(&self, access: Access<'_>) -> bool {
        self.0.has_permission(access) && self.1.has_permission(access)
    }
    fn has_object_permission(&self, access: Access<'_>, owner: Option<i64>) -> bool {
        self.0.has_object_permission(access, owner) && self.1.has_object_permission(access, owner)
    }
}

/// `A or B`.
#[derive(Debug, Clone, Copy)]
pub struct Or<A, B>(A, B);

impl<A: Permission, B: Permission> Permission for Or<A, B> {
    fn has_permission(&self, access: Access<'_>) -> bool {
        self.0.has_permission(access) || self.1.has_permission(access)
    }
    fn has_object_permission(&self, access: Access<'_>, owner: Option<i64>) -> bool {
        // As in DRF: an alternative only counts at object level if it passed at request level.
        (self.0.has_permission(access) && self.0.has_object_permission(access, owner))
            || (self.1.has_permission(access) && self.1.has_object_permission(access, owner))
    }
}

/// `not A`.
#[derive(Debug, Clone, Copy)]
pub struct Not<A>(A);

impl<A: Permission> Permission for Not<A> {
    fn has_permission(&self, access: Access<'_>) -> bool {
        !self.0.has_permission(access)
    }
    fn has_object_permission(&self, access: Access<'_>, owner: Option<i64>) -> bool {
        !self.0.has_object_permission(access, owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, staff: bool) -> User {
        User {
            id,
            username: format!("u{id}"),
            email: String::new(),
            email_verified: false,
            password_hash: String::new(),
            is_active: true,
            is_staff: staff,
            is_superuser: false,
            created_at: duet_models::now(),
        }
    }

    fn allowed(p: &dyn Permission, user: Option<&User>, method: &Method) -> bool {
        p.has_permission(Access { user, method })
    }

    #[test]
    fn built_ins_and_combinators() {
        let (ada, staff) = (user(1, false), user(2, true));
        let get = Method::GET;
        let post = Method::POST;
        let table: [(&dyn Permission, Option<&User>, &Method, bool); 14] = [
            (&AllowAny, None, &post, true),
            (&IsAuthenticated, None, &get, false),
            (&IsAuthenticated, Some(&ada), &post, true),
            (&IsStaff, Some(&ada), &get, false),
            (&IsStaff, Some(&staff), &get, true),
            (&IsAuthenticatedOrReadOnly, None, &get, true),
            (&IsAuthenticatedOrReadOnly, None, &post, false),
            (&IsAuthenticatedOrReadOnly, Some(&ada), &post, true),
            (&IsAuthenticated.and(IsStaff), Some(&ada), &get, false),
            (&IsAuthenticated.and(IsStaff), Some(&staff), &get, true),
            (&IsStaff.or(IsAuthenticatedOrReadOnly), None, &get, true),
            (&IsStaff.or(IsAuthenticatedOrReadOnly), None, &post, false),
            (&IsStaff.not(), Some(&ada), &get, true),
            (&IsStaff.not(), Some(&staff), &get, false),
        ];
        for (i, (p, u, m, want)) in table.into_iter().enumerate() {
            assert_eq!(allowed(p, u, m), want, "row {i}");
        }
    }

    #[test]
    fn owner_checks_and_refusals() {
        let ada = user(1, false);
        let get = Method::GET;
        let access = Access {
            user: Some(&ada),
            method: &get,
        };
        assert!(IsOwner.has_object_permission(access, Some(1)));
        assert!(!IsOwner.has_object_permission(access, Some(2)));
        assert!(!IsOwner.has_object_permission(access, None));
        assert!(IsOwner.or(IsStaff).has_object_permission(access, Some(1)));
        assert!(!IsOwner.or(IsStaff).has_object_permission(access, Some(2)));
        assert!(matches!(check(&IsStaff, access), Err(AuthError::PermissionDenied)));
        let anonymous = Access {
            user: None,
            method: &get,
        };
        assert!(matches!(
            check(&IsAuthenticated, anonymous),
            Err(AuthError::NotAuthenticated)
        ));
        assert!(check(&AllowAny, anonymous).is_ok());
    }
}
