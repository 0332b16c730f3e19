//! Which prompt a call runs: by id, one the caller may read; by key, the caller's active
//! prompt, else the default user prompt, else the active system prompt (`ai_prompts`).

use scaliyo_domain::ai::AiOperation;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Ai, AiError};
use crate::access::{AccessError, Actor};
use crate::rows::{Row, RowError};
use crate::usage::unique;
use scaliyo_domain::schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptSource {
    /// The caller's own `user_prompts` row.
    User,
    /// A `user_prompts` row every user may read (`is_default`).
    Default,
    /// An active `ai_prompts` row.
    System,
}

/// A prompt ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPrompt {
    pub source: PromptSource,
    pub id: String,
    pub version: i64,
    pub system_instruction: String,
    pub template: String,
    pub temperature: f64,
    pub top_p: f64,
    pub operation: AiOperation,
}

/// A bound on the shared prompt tables scanned, not an expectation: operators keep a few
/// dozen system and default prompts.
const MAX_PAGES: usize = 20;

fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn number(row: &Row, column: &str, default: f64) -> f64 {
    row.get(column).and_then(Value::as_f64).unwrap_or(default)
}

fn user_prompt(row: &Row, source: PromptSource) -> ResolvedPrompt {
    ResolvedPrompt {
        source,
        id: text(row, "id"),
        version: row.get("version").and_then(Value::as_i64).unwrap_or(1),
        system_instruction: text(row, "system_instruction"),
        template: text(row, "prompt_template"),
        temperature: number(row, "temperature", 0.7),
        top_p: number(row, "top_p", 0.9),
        operation: AiOperation::of_category(&text(row, "category")),
    }
}

fn is_true(row: &Row, column: &str) -> bool {
    row.get(column) == Some(&Value::Bool(true))
}

impl Ai {
    /// A `user_prompts` row by id: the caller's own, or a default one.
    pub(super) async fn prompt_by_id(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<ResolvedPrompt, AiError> {
        let owner = actor.owner()?.to_string();
        let row = match self.access.get(actor, "user_prompts", id).await {
            Ok(row) => row,
            Err(AccessError::Row(RowError::NotFound)) => {
                return Err(AiError::PromptNotFound(format!("with id {id}")));
            }
            Err(e) => return Err(e.into()),
        };
        let source = if row.get("owner_id").and_then(Value::as_str) == Some(owner.as_str()) {
            PromptSource::User
        } else {
            PromptSource::Default
        };
        Ok(user_prompt(&row, source))
    }

    /// The prompt a key names for the caller (module docs for the order).
    pub(super) async fn prompt_by_key(
        &self,
        actor: &Actor,
        key: &str,
    ) -> Result<ResolvedPrompt, AiError> {
        // The caller's active prompt for the key: the one its partial unique index names.
        let prompts = &schema::USER_PROMPTS;
        let mut probe = Row::new();
        probe.insert("owner_id".into(), json!(actor.owner()?.to_string()));
        probe.insert("prompt_key".into(), json!(key));
        probe.insert("is_active".into(), json!(true));
        if let Some(own) = self
            .access
            .rows()
            .find_unique_of(
                prompts,
                unique(prompts, "idx_user_prompts_active_unique")?,
                &probe,
                actor.owner()?,
            )
            .await?
        {
            return Ok(user_prompt(&own, PromptSource::User));
        }
        if let Some(default) = self.default_prompt(key).await? {
            return Ok(user_prompt(&default, PromptSource::Default));
        }
        let system = self.system_prompts_named(key).await?;
        // The newest active version of the system prompt.
        let newest = system
            .iter()
            .max_by_key(|row| row.get("version").and_then(Value::as_i64).unwrap_or(0));
        match newest {
            Some(row) => Ok(ResolvedPrompt {
                source: PromptSource::System,
                id: text(row, "id"),
                version: row.get("version").and_then(Value::as_i64).unwrap_or(1),
                system_instruction: String::new(),
                template: text(row, "template"),
                temperature: 0.7,
                top_p: 0.9,
                operation: AiOperation::Content,
            }),
            None => Err(AiError::PromptNotFound(format!("for the key {key:?}"))),
        }
    }

    /// The active default user prompt for a key: the shared `user_prompts` rows, which every
    /// user may read (`is_default`).
    async fn default_prompt(&self, key: &str) -> Result<Option<Row>, AiError> {
        let defaults = self
            .access
            .rows()
            .list_matching(&schema::USER_PROMPTS, None, MAX_PAGES, |row| {
                is_true(row, "is_default")
                    && is_true(row, "is_active")
                    && row.get("prompt_key").and_then(Value::as_str) == Some(key)
            })
            .await?;
        Ok(defaults.into_iter().next())
    }

    /// The active system prompts (`ai_prompts`, readable by every signed-in user) with this
    /// name.
    async fn system_prompts_named(&self, name: &str) -> Result<Vec<Row>, AiError> {
        Ok(self
            .access
            .rows()
            .list_matching(&schema::AI_PROMPTS, None, MAX_PAGES, |row| {
                is_true(row, "is_active") && row.get("name").and_then(Value::as_str) == Some(name)
            })
            .await?)
    }
}
