//! Every write through a model is announced: the framework turns the announcements into
//! live updates of the pages that show the row (duet-state's broadcaster), so no handler,
//! view or webhook publishes by hand.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// It was inserted.
    Created,
    /// It was updated.
    Updated,
    /// It was deleted.
    Deleted,
}

/// A row of a model was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModelChange {
    /// The model's name (`"order"`).
    pub model: &'static str,
    /// The row's primary key.
    #[serde(rename = "id")]
    pub pk: i64,
    /// The owning user, for models with an owner field.
    #[serde(skip)]
    pub owner: Option<i64>,
    /// What happened.
    pub change: ChangeKind,
}

impl ModelChange {
    /// The topic every change to `model`'s rows is announced on (`"model:order"`).
    pub fn model_topic(model: &str) -> String {
        format!("model:{model}")
    }

    /// The topic changes to `owner`'s rows of `model` are announced on
    /// (`"model:order:owner:7"`).
    pub fn owner_topic(model: &str, owner: i64) -> String {
        format!("model:{model}:owner:{owner}")
    }

    /// The topics this change is announced on: the model's, and its owner's when it has one.
    pub fn topics(&self) -> Vec<String> {
        let mut topics = vec![ModelChange::model_topic(self.model)];
        if let Some(owner) = self.owner {
            topics.push(ModelChange::owner_topic(self.model, owner));
        }
        topics
    }
}

/// Receives every [`ModelChange`] of a [`Db`](crate::Db) (see [`Db::on_change`](crate::Db::on_change)).
pub type ChangeHook = Arc<dyn Fn(&ModelChange) + Send + Sync>;
