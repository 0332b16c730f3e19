//! The language-model adapters behind `scaliyo_store::LanguageModel`, and the configuration
//! that picks one (docs/ai.md, ADR 29):
//!
//! - [`gemini::Gemini`]: Google's `models/{model}:generateContent`, keyed by `x-goog-api-key`;
//! - [`bedrock::Bedrock`]: Amazon Bedrock's Converse API through the AWS SDK (IAM);
//! - [`openai::OpenAiCompatible`]: any `/chat/completions` server (a local model server).
//!
//! Each maps its provider's answers to [`ModelError`] the same way; [`Retrying`] retries what
//! is transient, once for all of them.

pub mod bedrock;
pub mod gemini;
pub mod openai;
mod retry;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use scaliyo_store::LanguageModel;

pub use retry::Retrying;

/// How long one model call may take before it counts as unavailable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Which provider answers, from the environment (docs/ai.md).
#[derive(Debug, Clone, PartialEq)]
pub enum ModelConfig {
    Gemini {
        api_key: String,
        model: String,
        base_url: String,
    },
    Bedrock {
        model_id: String,
        /// Tests and VPC endpoints; the SDK's regional endpoint otherwise.
        endpoint_url: Option<String>,
    },
    OpenAiCompatible {
        base_url: String,
        api_key: Option<String>,
        model: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("AI_PROVIDER is {0:?}; expected gemini, bedrock or openai")]
    UnknownProvider(String),
    #[error("AI_PROVIDER={provider} needs {variable}")]
    Missing {
        provider: &'static str,
        variable: &'static str,
    },
}

pub const DEFAULT_GEMINI_MODEL: &str = "gemini-2.0-flash";
pub const DEFAULT_GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

impl ModelConfig {
    /// The provider named by `AI_PROVIDER`, read through `var` (the process environment in
    /// production; a map in tests). `Ok(None)`: AI is off.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let Some(provider) = set("AI_PROVIDER") else {
            return Ok(None);
        };
        let required = |provider: &'static str, variable: &'static str| {
            set(variable).ok_or(ConfigError::Missing { provider, variable })
        };
        let config = match provider.trim() {
            "gemini" => Self::Gemini {
                api_key: required("gemini", "GEMINI_API_KEY")?,
                model: set("GEMINI_MODEL").unwrap_or_else(|| DEFAULT_GEMINI_MODEL.into()),
                base_url: set("GEMINI_BASE_URL").unwrap_or_else(|| DEFAULT_GEMINI_BASE_URL.into()),
            },
            "bedrock" => Self::Bedrock {
                model_id: required("bedrock", "BEDROCK_MODEL_ID")?,
                endpoint_url: set("BEDROCK_ENDPOINT_URL"),
            },
            "openai" => Self::OpenAiCompatible {
                base_url: required("openai", "OPENAI_BASE_URL")?,
                api_key: set("OPENAI_API_KEY"),
                model: required("openai", "OPENAI_MODEL")?,
            },
            other => return Err(ConfigError::UnknownProvider(other.to_owned())),
        };
        Ok(Some(config))
    }

    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configured model, retrying throttling and outages. Bedrock loads the AWS
    /// configuration (credentials from the Lambda role, the region of the function).
    pub async fn build(self) -> Arc<dyn LanguageModel> {
        let model: Arc<dyn LanguageModel> = match self {
            Self::Gemini {
                api_key,
                model,
                base_url,
            } => Arc::new(gemini::Gemini::new(base_url, api_key, model)),
            Self::Bedrock {
                model_id,
                endpoint_url,
            } => {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(endpoint) = endpoint_url {
                    loader = loader.endpoint_url(endpoint);
                }
                Arc::new(bedrock::Bedrock::new(&loader.load().await, model_id))
            }
            Self::OpenAiCompatible {
                base_url,
                api_key,
                model,
            } => Arc::new(openai::OpenAiCompatible::new(base_url, api_key, model)),
        };
        Arc::new(Retrying::new(model))
    }
}

/// The HTTP client of the HTTP providers: bounded calls, no redirects.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Option<ModelConfig>, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ModelConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_provider_and_its_variables_come_from_the_environment() {
        assert_eq!(config(&[]), Ok(None));
        assert_eq!(
            config(&[("AI_PROVIDER", "gemini"), ("GEMINI_API_KEY", "k")]),
            Ok(Some(ModelConfig::Gemini {
                api_key: "k".into(),
                model: DEFAULT_GEMINI_MODEL.into(),
                base_url: DEFAULT_GEMINI_BASE_URL.into(),
            }))
        );
        assert_eq!(
            config(&[("AI_PROVIDER", "gemini")]),
            Err(ConfigError::Missing {
                provider: "gemini",
                variable: "GEMINI_API_KEY"
            })
        );
        assert_eq!(
            config(&[("AI_PROVIDER", "bedrock"), ("BEDROCK_MODEL_ID", "m")]),
            Ok(Some(ModelConfig::Bedrock {
                model_id: "m".into(),
                endpoint_url: None
            }))
        );
        assert_eq!(
            config(&[
                ("AI_PROVIDER", "openai"),
                ("OPENAI_BASE_URL", "http://x/v1")
            ]),
            Err(ConfigError::Missing {
                provider: "openai",
                variable: "OPENAI_MODEL"
            })
        );
        assert_eq!(
            config(&[("AI_PROVIDER", "claude")]),
            Err(ConfigError::UnknownProvider("claude".into()))
        );
    }
}
