//! `generate`: a prompt rendered with the caller's variables and a lead's fields, run by the
//! model, metered; and the prompt test, which runs one of the caller's prompts and keeps the
//! answer on it.

use std::collections::BTreeMap;

use scaliyo_domain::ai::{self, AiOperation};
use scaliyo_domain::email::{MergeValues, render};
use scaliyo_store::{ModelReply, ModelRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::prompts::ResolvedPrompt;
use super::{Ai, AiError, PromptSource};
use crate::access::Actor;
use crate::rows::Row;
use crate::send::merge_values;

/// The longest answer kept in `user_prompts.test_result`.
const MAX_TEST_RESULT_CHARS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    pub prompt_key: Option<String>,
    pub prompt_id: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// Merge the lead's fields (`first_name`, `company`, `custom_fields.*`…).
    pub lead_id: Option<String>,
    /// What the call is for, when it costs more than the prompt's own operation (its category's;
    /// `content` for system prompts): a cheaper one is ignored.
    pub operation: Option<String>,
    pub max_output_tokens: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    pub lead_id: Option<String>,
    pub max_output_tokens: Option<u32>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub total: u64,
}

impl Tokens {
    pub fn of(reply: &ModelReply) -> Self {
        Self {
            input: reply.input_tokens,
            output: reply.output_tokens,
            total: reply.total_tokens(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PromptUsed {
    pub source: PromptSource,
    pub id: String,
    pub version: i64,
}

/// A metered answer.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub text: String,
    pub tokens: Tokens,
    pub credits_charged: i64,
    pub credits_remaining: i64,
    pub operation: AiOperation,
    pub provider: &'static str,
    pub model: String,
    pub prompt: PromptUsed,
}

/// Request variables as merge values: text, numbers and booleans; nothing nested.
fn variables_of(variables: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, AiError> {
    variables
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(AiError::Invalid {
                        field: "variables",
                        reason: format!("{name} must be text, a number or a boolean"),
                    });
                }
            };
            Ok((name, text))
        })
        .collect()
}

fn max_output_tokens(asked: Option<u32>) -> Result<u32, AiError> {
    match asked {
        None => Ok(ai::DEFAULT_MAX_OUTPUT_TOKENS),
        Some(n) if (1..=ai::MAX_OUTPUT_TOKENS).contains(&n) => Ok(n),
        Some(_) => Err(AiError::Invalid {
            field: "max_output_tokens",
            reason: format!("must be between 1 and {}", ai::MAX_OUTPUT_TOKENS),
        }),
    }
}

impl Ai {
    /// The merge values of a call: the lead's fields (when it names one the caller may read)
    /// and the request's variables over them.
    async fn merge_values_of(
        &self,
        actor: &Actor,
        lead_id: Option<&str>,
        variables: BTreeMap<String, Value>,
    ) -> Result<MergeValues, AiError> {
        let variables = variables_of(variables)?;
        match lead_id {
            Some(id) => {
                let lead = self.access.get(actor, "leads", id).await?;
                Ok(merge_values(&lead, &variables))
            }
            None => Ok(variables.into_iter().collect()),
        }
    }

    pub async fn generate(
        &self,
        actor: &Actor,
        request: GenerateRequest,
    ) -> Result<Generated, AiError> {
        actor.owner()?;
        // Unconfigured answers the same whatever the request.
        self.model()?;
        let operation = match request.operation.as_deref() {
            None => None,
            Some(name) => Some(AiOperation::parse(name).ok_or_else(|| AiError::Invalid {
                field: "operation",
                reason: format!("unknown operation {name:?}"),
            })?),
        };
        let max_output = max_output_tokens(request.max_output_tokens)?;
        let prompt = match (&request.prompt_id, &request.prompt_key) {
            (Some(id), None) => self.prompt_by_id(actor, id).await?,
            (None, Some(key)) if !key.trim().is_empty() => self.prompt_by_key(actor, key).await?,
            _ => {
                return Err(AiError::Invalid {
                    field: "prompt_key",
                    reason: "name exactly one of prompt_key and prompt_id".into(),
                });
            }
        };
        let values = self
            .merge_values_of(actor, request.lead_id.as_deref(), request.variables)
            .await?;
        // A caller may name a dearer operation, never a cheaper one than its prompt's: the
        // minimum is part of the price.
        let operation = match operation {
            Some(asked) if asked.minimum_credits() > prompt.operation.minimum_credits() => asked,
            _ => prompt.operation,
        };
        self.run(actor, &prompt, &values, operation, max_output)
            .await
    }

    /// Renders and runs a resolved prompt, metered (the reservation handed back if the model
    /// fails).
    async fn run(
        &self,
        actor: &Actor,
        prompt: &ResolvedPrompt,
        values: &MergeValues,
        operation: AiOperation,
        max_output_tokens: u32,
    ) -> Result<Generated, AiError> {
        let owner = actor.owner()?;
        let model = self.model()?.clone();
        let request = ModelRequest {
            system: render(&prompt.system_instruction, values, false)?,
            prompt: render(&prompt.template, values, false)?,
            temperature: prompt.temperature,
            top_p: prompt.top_p,
            max_output_tokens,
        };
        if request.prompt.trim().is_empty() {
            return Err(AiError::Invalid {
                field: "prompt_template",
                reason: "the prompt renders to nothing".into(),
            });
        }
        let reserved = ai::reservation(
            operation,
            ai::prompt_token_bound(&request.system, &request.prompt),
            max_output_tokens,
        );
        let reservation = self.meter.reserve(owner, reserved).await?;
        let reply: ModelReply = match self.ask(&request).await {
            Ok(reply) => reply,
            Err(error) => {
                self.refund_logged(&reservation).await;
                return Err(error);
            }
        };
        let tokens = reply.total_tokens();
        let settled = self
            .meter
            .settle(&reservation, ai::cost(operation, tokens), tokens)
            .await?;
        tracing::info!(
            provider = model.provider(),
            operation = operation.name(),
            tokens,
            credits = settled.credits,
            "AI call"
        );
        Ok(Generated {
            tokens: Tokens::of(&reply),
            text: reply.text,
            credits_charged: settled.credits,
            credits_remaining: settled.remaining,
            operation,
            provider: model.provider(),
            model: reply.model,
            prompt: PromptUsed {
                source: prompt.source,
                id: prompt.id.clone(),
                version: prompt.version,
            },
        })
    }

    /// `POST /v1/user_prompts/{id}/test`: runs one of the caller's own prompts (metered) and
    /// keeps `last_tested_at` and `test_result` on it.
    pub async fn test_prompt(
        &self,
        actor: &Actor,
        id: &str,
        request: TestRequest,
    ) -> Result<(Generated, Row), AiError> {
        self.model()?;
        let max_output = max_output_tokens(request.max_output_tokens)?;
        let prompt = self.prompt_by_id(actor, id).await?;
        if prompt.source != PromptSource::User {
            return Err(AiError::Invalid {
                field: "id",
                reason: "only your own prompts can be tested; edit the default to get your copy"
                    .into(),
            });
        }
        let values = self
            .merge_values_of(actor, request.lead_id.as_deref(), request.variables)
            .await?;
        let generated = self
            .run(actor, &prompt, &values, prompt.operation, max_output)
            .await?;
        let mut patch = Row::new();
        patch.insert(
            "last_tested_at".into(),
            json!(crate::rows::timestamp_text(self.clock.now())),
        );
        patch.insert(
            "test_result".into(),
            json!(
                generated
                    .text
                    .chars()
                    .take(MAX_TEST_RESULT_CHARS)
                    .collect::<String>()
            ),
        );
        let row = self.access.update(actor, "user_prompts", id, patch).await?;
        Ok((generated, row))
    }
}
