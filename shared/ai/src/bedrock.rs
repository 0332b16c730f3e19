//! Amazon Bedrock through the Converse API of the AWS SDK: IAM-authorised (the function's
//! role, scoped to the configured model ids), one model-agnostic request shape for every
//! model Bedrock serves.

use async_trait::async_trait;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, Message, StopReason,
    SystemContentBlock,
};
use scaliyo_store::{LanguageModel, ModelError, ModelReply, ModelRequest};

pub struct Bedrock {
    client: Client,
    model_id: String,
}

impl Bedrock {
    /// The SDK's own retries are off: [`crate::Retrying`] is the one retry policy.
    pub fn new(config: &aws_config::SdkConfig, model_id: impl Into<String>) -> Self {
        let config = aws_sdk_bedrockruntime::config::Builder::from(config)
            .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_bedrockruntime::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(crate::CALL_TIMEOUT)
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
            model_id: model_id.into(),
        }
    }
}

fn error_of<R>(error: SdkError<ConverseError, R>) -> ModelError {
    let described = |e: &ConverseError| {
        e.message()
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string())
    };
    match error {
        SdkError::ServiceError(service) => {
            let error = service.into_err();
            let message = described(&error);
            match error {
                ConverseError::ThrottlingException(_) => {
                    ModelError::RateLimited { retry_after: None }
                }
                ConverseError::ModelNotReadyException(_)
                | ConverseError::ServiceUnavailableException(_)
                | ConverseError::InternalServerException(_)
                | ConverseError::ModelTimeoutException(_)
                | ConverseError::ModelErrorException(_) => ModelError::Unavailable(message),
                _ => ModelError::Rejected {
                    message: format!("{}: {message}", error.code().unwrap_or("error")),
                },
            }
        }
        other => ModelError::Unavailable(other.to_string()),
    }
}

fn finite(value: f64) -> Option<f32> {
    value.is_finite().then_some(value as f32)
}

#[async_trait]
impl LanguageModel for Bedrock {
    fn provider(&self) -> &'static str {
        "bedrock"
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(request.prompt.clone()))
            .build()
            .map_err(|e| ModelError::Rejected {
                message: e.to_string(),
            })?;
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_output_tokens).unwrap_or(i32::MAX))
            .set_temperature(finite(request.temperature))
            .set_top_p(finite(request.top_p))
            .build();
        let mut call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .messages(message)
            .inference_config(inference);
        if !request.system.is_empty() {
            call = call.system(SystemContentBlock::Text(request.system.clone()));
        }
        let answer = call.send().await.map_err(error_of)?;
        match answer.stop_reason() {
            StopReason::ContentFiltered | StopReason::GuardrailIntervened => {
                return Err(ModelError::Blocked {
                    reason: answer.stop_reason().as_str().to_owned(),
                });
            }
            _ => {}
        }
        let text: String = match answer.output() {
            Some(ConverseOutput::Message(message)) => message
                .content()
                .iter()
                .filter_map(|block| block.as_text().ok().cloned())
                .collect(),
            _ => String::new(),
        };
        let (input_tokens, output_tokens) = answer
            .usage()
            .map(|u| {
                (
                    u.input_tokens().max(0) as u64,
                    u.output_tokens().max(0) as u64,
                )
            })
            .unwrap_or_default();
        Ok(ModelReply {
            text,
            input_tokens,
            output_tokens,
            model: self.model_id.clone(),
        })
    }
}
