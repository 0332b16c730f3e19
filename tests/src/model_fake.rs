//! The Gemini API as a local fake answers (`wiremock`): what the tests of the AI routes mount.

use serde_json::json;
use wiremock::ResponseTemplate;

/// The path a `generateContent` call of `gemini-2.0-flash` takes under `/v1beta`.
pub const GEMINI_PATH: &str = "/v1beta/models/gemini-2.0-flash:generateContent";

/// A `generateContent` answer with `text` and its token counts.
pub fn gemini_answer(text: &str, prompt_tokens: u64, answer_tokens: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": answer_tokens,
                          "totalTokenCount": prompt_tokens + answer_tokens},
        "modelVersion": "gemini-2.0-flash"
    }))
}
