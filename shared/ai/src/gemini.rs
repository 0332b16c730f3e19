//! Google Gemini: `POST {base}/models/{model}:generateContent` with the key in
//! `x-goog-api-key`; the system instruction as `systemInstruction`, sampling in
//! `generationConfig`, the tokens from `usageMetadata`.

use async_trait::async_trait;
use scaliyo_store::{LanguageModel, ModelError, ModelReply, ModelRequest};
use serde::{Deserialize, Serialize};

use crate::wire::answer_of;

pub struct Gemini {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
}

impl Gemini {
    /// `base_url`: `https://generativelanguage.googleapis.com/v1beta` (a fake in tests).
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            http: crate::http_client(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            model: model.into(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateContent<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Content<'a>>,
    contents: [Content<'a>; 1],
    generation_config: GenerationConfig,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    temperature: f64,
    top_p: f64,
    max_output_tokens: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Answer {
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Usage,
    model_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Candidate {
    content: Option<AnswerContent>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnswerContent {
    parts: Vec<AnswerPart>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnswerPart {
    text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Usage {
    prompt_token_count: u64,
    candidates_token_count: u64,
    thoughts_token_count: u64,
}

/// Finish reasons that mean the answer was withheld, not finished.
const BLOCKING_FINISHES: [&str; 5] = [
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
];

fn reply_of(answer: Answer, model: &str) -> Result<ModelReply, ModelError> {
    if let Some(reason) = answer.prompt_feedback.and_then(|f| f.block_reason) {
        return Err(ModelError::Blocked { reason });
    }
    let candidate = answer
        .candidates
        .into_iter()
        .next()
        .ok_or_else(|| ModelError::Unavailable("Gemini answered without a candidate".into()))?;
    if let Some(reason) = candidate
        .finish_reason
        .as_deref()
        .filter(|r| BLOCKING_FINISHES.contains(r))
    {
        return Err(ModelError::Blocked {
            reason: reason.to_owned(),
        });
    }
    let text: String = candidate
        .content
        .map(|c| c.parts.into_iter().filter_map(|p| p.text).collect())
        .unwrap_or_default();
    let usage = answer.usage_metadata;
    Ok(ModelReply {
        text,
        input_tokens: usage.prompt_token_count,
        // Thinking models bill their thoughts as output.
        output_tokens: usage
            .candidates_token_count
            .saturating_add(usage.thoughts_token_count),
        model: answer.model_version.unwrap_or_else(|| model.to_owned()),
    })
}

#[async_trait]
impl LanguageModel for Gemini {
    fn provider(&self) -> &'static str {
        "gemini"
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let body = GenerateContent {
            system_instruction: (!request.system.is_empty()).then(|| Content {
                role: None,
                parts: [Part {
                    text: &request.system,
                }],
            }),
            contents: [Content {
                role: Some("user"),
                parts: [Part {
                    text: &request.prompt,
                }],
            }],
            generation_config: GenerationConfig {
                temperature: request.temperature,
                top_p: request.top_p,
                max_output_tokens: request.max_output_tokens,
            },
        };
        let url = format!("{}/models/{}:generateContent", self.base_url, self.model);
        let call = self
            .http
            .post(url)
            .header("x-goog-api-key", &self.api_key)
            .json(&body);
        let answer: Answer = answer_of(call, "Gemini").await?;
        reply_of(answer, &self.model)
    }
}
