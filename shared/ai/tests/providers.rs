//! Each adapter against a local fake of its provider that accepts only the request the real
//! API requires (path, authentication, body fields), and replays the provider's answers:
//! success, a 429 to retry, a safety block, a rejected request, an outage.

use std::sync::Arc;
use std::time::Duration;

use scaliyo_ai::Retrying;
use scaliyo_ai::bedrock::Bedrock;
use scaliyo_ai::gemini::Gemini;
use scaliyo_ai::openai::OpenAiCompatible;
use scaliyo_store::{LanguageModel, ModelError, ModelRequest};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn request() -> ModelRequest {
    ModelRequest {
        system: "You write short sales e-mails.".into(),
        prompt: "Write to Ada at Acme.".into(),
        temperature: 0.5,
        top_p: 0.75,
        max_output_tokens: 256,
    }
}

fn retrying(model: impl LanguageModel + 'static) -> Retrying {
    Retrying::new(Arc::new(model)).with_backoff(Duration::from_millis(5))
}

const GEMINI_PATH: &str = "/v1beta/models/gemini-2.0-flash:generateContent";

fn gemini_body() -> serde_json::Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You write short sales e-mails."}]},
        "contents": [{"role": "user", "parts": [{"text": "Write to Ada at Acme."}]}],
        "generationConfig": {"temperature": 0.5, "topP": 0.75, "maxOutputTokens": 256}
    })
}

fn gemini_answer() -> serde_json::Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hi Ada, "}, {"text": "hello."}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17},
        "modelVersion": "gemini-2.0-flash-001"
    })
}

async fn gemini_fake() -> (MockServer, Gemini) {
    let server = MockServer::start().await;
    let model = Gemini::new(
        format!("{}/v1beta", server.uri()),
        "gemini-key",
        "gemini-2.0-flash",
    );
    (server, model)
}

#[tokio::test]
async fn gemini_gets_the_model_in_the_path_the_key_in_its_header_and_the_documented_body() {
    let (server, model) = gemini_fake().await;
    Mock::given(method("POST"))
        .and(path(GEMINI_PATH))
        .and(header("x-goog-api-key", "gemini-key"))
        .and(header("content-type", "application/json"))
        .and(body_json(gemini_body()))
        .respond_with(ResponseTemplate::new(200).set_body_json(gemini_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let reply = model.generate(&request()).await.unwrap();
    assert_eq!(reply.text, "Hi Ada, hello.");
    assert_eq!((reply.input_tokens, reply.output_tokens), (12, 5));
    assert_eq!(reply.model, "gemini-2.0-flash-001");
    // The key never travels in the URL.
    let received = server.received_requests().await.unwrap();
    assert!(received[0].url.query().is_none());
}

#[tokio::test]
async fn gemini_throttling_is_retried_after_the_delay_it_names() {
    let (server, model) = gemini_fake().await;
    Mock::given(method("POST"))
        .and(path(GEMINI_PATH))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {
            "code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource has been exhausted",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.05s"}]}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GEMINI_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(gemini_answer()))
        .mount(&server)
        .await;
    let reply = retrying(model).generate(&request()).await.unwrap();
    assert_eq!(reply.text, "Hi Ada, hello.");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_gemini_safety_block_and_a_bad_request_are_final() {
    let (server, model) = gemini_fake().await;
    Mock::given(method("POST"))
        .and(path(GEMINI_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GEMINI_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid value at 'generation_config.top_p'"}})))
        .mount(&server)
        .await;
    let model = retrying(model);
    assert_eq!(
        model.generate(&request()).await,
        Err(ModelError::Blocked {
            reason: "SAFETY".into()
        })
    );
    let rejected = model.generate(&request()).await.unwrap_err();
    assert!(
        matches!(&rejected, ModelError::Rejected { message } if message.contains("generation_config.top_p")),
        "{rejected:?}"
    );
    // Neither was retried.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_outage_is_retried_three_times_then_reported() {
    let (server, model) = gemini_fake().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": {
            "code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}})))
        .mount(&server)
        .await;
    let error = retrying(model).generate(&request()).await.unwrap_err();
    assert!(
        matches!(&error, ModelError::Unavailable(m) if m.contains("overloaded")),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_openai_compatible_server_gets_messages_temperature_and_top_p() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer local-key"))
        .and(body_json(json!({
            "model": "llama3.1:8b",
            "messages": [
                {"role": "system", "content": "You write short sales e-mails."},
                {"role": "user", "content": "Write to Ada at Acme."}
            ],
            "temperature": 0.5, "top_p": 0.75, "max_tokens": 256, "stream": false
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama3.1:8b",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi Ada."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23}})))
        .expect(1)
        .mount(&server)
        .await;
    let model = OpenAiCompatible::new(
        format!("{}/v1/", server.uri()),
        Some("local-key".into()),
        "llama3.1:8b",
    );
    let reply = model.generate(&request()).await.unwrap();
    assert_eq!(
        (reply.text.as_str(), reply.input_tokens, reply.output_tokens),
        ("Hi Ada.", 20, 3)
    );
}

#[tokio::test]
async fn an_openai_compatible_429_waits_its_retry_after_and_a_content_filter_is_a_block() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_json(
            json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": null}, "finish_reason": "content_filter"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 0}})))
        .mount(&server)
        .await;
    let model = retrying(OpenAiCompatible::new(
        format!("{}/v1", server.uri()),
        None,
        "m",
    ));
    assert_eq!(
        model.generate(&request()).await,
        Err(ModelError::Blocked {
            reason: "content_filter".into()
        })
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert!(received[0].headers.get("authorization").is_none());
}

const BEDROCK_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

async fn bedrock_fake() -> (MockServer, Bedrock) {
    let server = MockServer::start().await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(server.uri())
        .load()
        .await;
    (server, Bedrock::new(&config, BEDROCK_MODEL))
}

/// SigV4 for the `bedrock` service in the configured region, over the headers it must sign.
fn signed_for_bedrock(request: &Request) -> bool {
    let Some(authorization) = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        && authorization.contains("/eu-central-1/bedrock/aws4_request")
        && authorization.contains("SignedHeaders=")
        && authorization.contains("x-amz-date")
        && authorization.contains("Signature=")
        && request.headers.contains_key("x-amz-date")
}

#[tokio::test]
async fn bedrock_converse_is_sigv4_signed_with_the_model_in_the_path_and_system_and_inference_config()
 {
    let (server, model) = bedrock_fake().await;
    Mock::given(method("POST"))
        .and(|request: &Request| {
            request.url.path() == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        })
        .and(signed_for_bedrock)
        .and(body_json(json!({
            "messages": [{"role": "user", "content": [{"text": "Write to Ada at Acme."}]}],
            "system": [{"text": "You write short sales e-mails."}],
            "inferenceConfig": {"maxTokens": 256, "temperature": 0.5, "topP": 0.75}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "Hi Ada."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 30, "outputTokens": 4, "totalTokens": 34},
            "metrics": {"latencyMs": 120}})))
        .expect(1)
        .mount(&server)
        .await;
    let reply = model.generate(&request()).await.unwrap();
    assert_eq!(
        (reply.text.as_str(), reply.input_tokens, reply.output_tokens),
        ("Hi Ada.", 30, 4)
    );
    assert_eq!(reply.model, BEDROCK_MODEL);
}

#[tokio::test]
async fn bedrock_throttling_validation_and_guardrails_map_to_their_errors() {
    let (server, model) = bedrock_fake().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header(
                    "x-amzn-errortype",
                    "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                )
                .set_body_json(
                    json!({"message": "Too many requests, please wait before trying again."}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-errortype", "ValidationException")
                .set_body_json(json!({"message": "The provided model identifier is invalid."})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "Sorry."}]}},
            "stopReason": "guardrail_intervened",
            "usage": {"inputTokens": 30, "outputTokens": 1, "totalTokens": 31}})))
        .mount(&server)
        .await;
    assert_eq!(
        model.generate(&request()).await,
        Err(ModelError::RateLimited { retry_after: None })
    );
    let rejected = model.generate(&request()).await.unwrap_err();
    assert!(
        matches!(&rejected, ModelError::Rejected { message } if message.contains("ValidationException") && message.contains("model identifier")),
        "{rejected:?}"
    );
    assert_eq!(
        model.generate(&request()).await,
        Err(ModelError::Blocked {
            reason: "guardrail_intervened".into()
        })
    );
    // The SDK's own retries are off: three calls, three requests.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
