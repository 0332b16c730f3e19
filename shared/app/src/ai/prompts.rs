//! Which prompt a call runs: by id, one the caller may read; by key, the caller's active
//! prompt, else the default user prompt, else the active system prompt (`ai_prompts`).

use scaliyo_domain::ai::AiOperation;
use serde::Serialize;
use serde_json::Value;

use super::{Ai, AiError};
use crate::access::{AccessError, Actor, ListParams};
use crate::rows::{ListRequest, Row, RowError};
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
        let owner = actor.owner()?.to_string();
        let candidates = self
            .access
            .list(
                actor,
                "user_prompts",
                ListParams {
                    filters: vec![("prompt_key".into(), key.to_owned())],
                    limit: Some(100),
                    ..Default::default()
                },
            )
            .await?
            .rows;
        let active = |row: &&Row| is_true(row, "is_active");
        if let Some(own) = candidates
            .iter()
            .filter(active)
            .find(|row| row.get("owner_id").and_then(Value::as_str) == Some(owner.as_str()))
        {
            return Ok(user_prompt(own, PromptSource::User));
        }
        if let Some(default) = self.default_prompt(key).await? {
            return Ok(user_prompt(&default, PromptSource::Default));
        }
        let system = self.system_prompts_named(actor, key).await?;
        // The newest active version of the system prompt.
        let newest = system
            .iter()
            .filter(|row| is_true(row, "is_active"))
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
        let mut cursor = None;
        for _ in 0..20 {
            let page = self
                .access
                .rows()
                .list(
                    &schema::USER_PROMPTS,
                    None,
                    ListRequest {
                        limit: 100,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            if let Some(found) = page.rows.into_iter().find(|row| {
                is_true(row, "is_default")
                    && is_true(row, "is_active")
                    && row.get("prompt_key").and_then(Value::as_str) == Some(key)
            }) {
                return Ok(Some(found));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(None)
    }

    /// The system prompts (`ai_prompts`, a short shared table) with this name.
    async fn system_prompts_named(&self, actor: &Actor, name: &str) -> Result<Vec<Row>, AiError> {
        let mut named = Vec::new();
        let mut cursor = None;
        // A bound, not a expectation: operators keep a few dozen system prompts.
        for _ in 0..20 {
            let page = self
                .access
                .list(
                    actor,
                    "ai_prompts",
                    ListParams {
                        limit: Some(100),
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            named.extend(
                page.rows
                    .into_iter()
                    .filter(|row| row.get("name").and_then(Value::as_str) == Some(name)),
            );
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(named)
    }
}
