//! Any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp's server, LM Studio, OpenAI
//! itself): `POST {base}/chat/completions` with `messages`, `temperature`, `top_p`,
//! `max_tokens`; the tokens from `usage`.

use async_trait::async_trait;
use scaliyo_store::{LanguageModel, ModelError, ModelReply, ModelRequest};
use serde::{Deserialize, Serialize};

use crate::wire::answer_of;

pub struct OpenAiCompatible {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    model: String,
}

impl OpenAiCompatible {
    /// `base_url` ends where `/chat/completions` follows: `http://127.0.0.1:11434/v1`.
    pub fn new(
        base_url: impl Into<String>,
        api_key: Option<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            http: crate::http_client(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key,
            model: model.into(),
        }
    }
}

#[derive(Serialize)]
struct ChatCompletion<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    temperature: f64,
    top_p: f64,
    max_tokens: u32,
    stream: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Answer {
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice {
    message: AnswerMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnswerMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[async_trait]
impl LanguageModel for OpenAiCompatible {
    fn provider(&self) -> &'static str {
        "openai"
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let mut messages = Vec::with_capacity(2);
        if !request.system.is_empty() {
            messages.push(Message {
                role: "system",
                content: &request.system,
            });
        }
        messages.push(Message {
            role: "user",
            content: &request.prompt,
        });
        let body = ChatCompletion {
            model: &self.model,
            messages,
            temperature: request.temperature,
            top_p: request.top_p,
            max_tokens: request.max_output_tokens,
            stream: false,
        };
        let mut call = self
            .http
            .post(format!("{}/chat/completions", self.base_url))
            .json(&body);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let answer: Answer = answer_of(call, "the model server").await?;
        let choice = answer.choices.into_iter().next().ok_or_else(|| {
            ModelError::Unavailable("the model server answered without a choice".into())
        })?;
        if let Some(refusal) = choice.message.refusal.filter(|r| !r.is_empty()) {
            return Err(ModelError::Blocked { reason: refusal });
        }
        if choice.finish_reason.as_deref() == Some("content_filter") {
            return Err(ModelError::Blocked {
                reason: "content_filter".into(),
            });
        }
        Ok(ModelReply {
            text: choice.message.content.unwrap_or_default(),
            input_tokens: answer.usage.prompt_tokens,
            output_tokens: answer.usage.completion_tokens,
            model: answer.model.unwrap_or_else(|| self.model.clone()),
        })
    }
}
