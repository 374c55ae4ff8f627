//! The staff tables: groups, who is in them, per-model permissions granted to users or
//! groups, and the admin's log of what staff changed. Models like an app's, created by the
//! framework's migrations; the admin (duet-admin) lists and checks them.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::{Choices, Db, ForeignKey, Json, ListQuery, Lookup, Model, Result, Scope, User};

/// A named set of users sharing permissions (Django's `Group`).
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(table = "groups")]
pub struct Group {
    /// Primary key.
    pub id: i64,
    /// What staff call it ("Support").
    #[duet(unique, max_length = 150)]
    pub name: String,
}

/// A user's membership of a group.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(
    table = "group_members",
    name = "group_member",
    verbose_name = "group member",
    index(name = "group_members_user_group", fields(user, group), unique)
)]
pub struct GroupMember {
    /// Primary key.
    pub id: i64,
    /// The member.
    pub user: ForeignKey<User>,
    /// The group.
    #[duet(index)]
    pub group: ForeignKey<Group>,
}

/// What a permission lets staff do with a model's rows (Django's four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Choices)]
pub enum PermissionAction {
    /// See the rows.
    View,
    /// Create rows.
    Add,
    /// Change rows (and run the model's actions).
    Change,
    /// Delete rows.
    Delete,
}

/// One permission — an action on one model (`"shop.order"`) — granted to a user or to a
/// group (whose members all have it).
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(table = "permission_grants", name = "permission_grant", verbose_name = "permission")]
pub struct PermissionGrant {
    /// Primary key.
    pub id: i64,
    /// The user it is granted to, when granted to a user.
    #[duet(index)]
    pub user: Option<ForeignKey<User>>,
    /// The group it is granted to, when granted to a group.
    #[duet(index)]
    pub group: Option<ForeignKey<Group>>,
    /// The model, as the admin names it: `app.model` (`"shop.order"`).
    #[duet(
        max_length = 200,
        help_text = "The model as the admin names it: app.model, such as shop.order."
    )]
    pub model: String,
    /// What it allows.
    pub action: PermissionAction,
}

/// Everything a user may do in the admin: all of it for an active superuser, otherwise the
/// permissions granted to the user and to the user's groups. Staff status is checked by
/// the caller (the admin refuses non-staff before it asks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    superuser: bool,
    granted: HashSet<(String, PermissionAction)>,
}

impl Permissions {
    /// `user`'s permissions: two queries (memberships, then the grants to the user and to
    /// those groups); none for a superuser.
    pub async fn of(db: &Db, user: &User) -> Result<Permissions> {
        if user.is_superuser {
            return Ok(Permissions {
                superuser: true,
                granted: HashSet::new(),
            });
        }
        let memberships = GroupMember::list(db, &ListQuery::new(Scope::All).filter("user", user.id)).await?;
        let groups: Vec<Value> = memberships.iter().map(|m| Value::from(m.group.id())).collect();
        let mut grants = PermissionGrant::list(db, &ListQuery::new(Scope::All).filter("user", user.id)).await?;
        if !groups.is_empty() {
            let query = ListQuery::new(Scope::All).filter_by("group", Lookup::In, groups);
            grants.extend(PermissionGrant::list(db, &query).await?);
        }
        Ok(Permissions {
            superuser: false,
            granted: grants.into_iter().map(|g| (g.model, g.action)).collect(),
        })
    }

    /// Whether `action` on `model` (`"shop.order"`) is allowed. Change, add and delete
    /// imply view, as in Django's admin.
    pub fn allows(&self, model: &str, action: PermissionAction) -> bool {
        if self.superuser {
            return true;
        }
        let has = |action| self.granted.contains(&(model.to_owned(), action));
        has(action)
            || (action == PermissionAction::View
                && [
                    PermissionAction::Change,
                    PermissionAction::Add,
                    PermissionAction::Delete,
                ]
                .into_iter()
                .any(has))
    }

    /// Whether any action on `model` is allowed (the model shows on the admin's index).
    pub fn any(&self, model: &str) -> bool {
        self.allows(model, PermissionAction::View)
    }
}

/// What an admin log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
pub enum LogAction {
    /// A row was added.
    Added,
    /// A row was changed.
    Changed,
    /// A row was deleted.
    Deleted,
    /// A named action ran on the row (a bulk or row action).
    Action,
}

/// One thing a staff member did in the admin: who, when, to which row, and field by field
/// what changed. Written by the admin only; the admin shows it and never edits it. The
/// user is kept by id and name (not a foreign key), so the log outlives the account.
#[derive(Debug, Clone, PartialEq, Model)]
#[duet(
    table = "admin_log",
    name = "admin_log_entry",
    verbose_name = "log entry",
    verbose_name_plural = "log entries",
    index(name = "admin_log_object", fields(model, object_id))
)]
pub struct AdminLogEntry {
    /// Primary key.
    pub id: i64,
    /// When (UTC).
    #[duet(auto_now_add, index)]
    pub at: NaiveDateTime,
    /// The acting user's id.
    pub user_id: i64,
    /// The acting user's name then.
    #[duet(max_length = 150)]
    pub username: String,
    /// The model, `app.model`.
    #[duet(max_length = 200)]
    pub model: String,
    /// The row's primary key.
    pub object_id: i64,
    /// How the row was shown then.
    #[duet(max_length = 200, blank)]
    pub object_repr: String,
    /// What was done.
    pub action: LogAction,
    /// The action's name, for [`LogAction::Action`].
    #[duet(max_length = 100, blank, default = "")]
    pub action_name: String,
    /// Field by field: `{"status": ["paid", "shipped"]}` (before, after); a new row's
    /// values as `[null, value]`, a deleted row's as `[value, null]`.
    pub changes: Json,
}

/// The field-by-field difference between two JSON forms of a row: `{field: [before, after]}`
/// for each field whose value differs.
pub fn diff_rows(before: &serde_json::Map<String, Value>, after: &serde_json::Map<String, Value>) -> Value {
    let mut changes = serde_json::Map::new();
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let (old, new) = (
            before.get(key).cloned().unwrap_or(Value::Null),
            after.get(key).cloned().unwrap_or(Value::Null),
        );
        if old != new {
            changes.insert(key.clone(), Value::Array(vec![old, new]));
        }
    }
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_diff_lists_only_what_changed() {
        let before = json!({"status": "paid", "total": "1.00"});
        let after = json!({"status": "shipped", "total": "1.00", "note": "x"});
        let (Value::Object(before), Value::Object(after)) = (before, after) else {
            unreachable!()
        };
        assert_eq!(
            diff_rows(&before, &after),
            json!({"note": [null, "x"], "status": ["paid", "shipped"]})
        );
    }

    #[test]
    fn change_add_and_delete_imply_view() {
        let permissions = Permissions {
            superuser: false,
            granted: [("shop.order".to_owned(), PermissionAction::Change)].into(),
        };
        assert!(permissions.allows("shop.order", PermissionAction::View));
        assert!(permissions.allows("shop.order", PermissionAction::Change));
        assert!(!permissions.allows("shop.order", PermissionAction::Delete));
        assert!(!permissions.any("auth.user"));
    }
}
