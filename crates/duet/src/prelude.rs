//! The names most apps use, in one import: `use duet::prelude::*;`.
//!
//! It holds the app builder, the types of handlers and states, and the few actix-web items
//! a handler touches. The UI's component functions (`button`, `text`, `var`, …) stay in
//! [`crate::ui`], where their short names do not crowd an app's own.

pub use crate::App;

pub use actix_web::{HttpRequest, HttpResponse, Responder, web};

pub use duet_auth::{
    AllowAny, CurrentUser, IsAuthenticated, IsOwner, IsStaff, Permission, StaffUser, Throttle, ThrottleRate,
};
pub use duet_models::{
    Choices, Db, ForeignKey, Input, ListQuery, Model, Money, NewOwner, Scope, User, ValidationErrors, db_run,
};
pub use duet_state::{
    Background, Broadcaster, EventCtx, EventError, EventResult, ModelList, ModelState, Registry, RegistryError, State,
    events,
};
pub use duet_ui::{Node, Page, Ui};
pub use duet_views::{
    Action, ApiError, ApiRequest, ApiResult, ApiRouter, ModelViewSet, Routes, ViewSet, route, utoipa,
};
pub use duet_webhooks::actix::{Verified, WebhookEndpoint, WebhookResult};
