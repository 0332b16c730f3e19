//! What the HTTP providers share: turning a failed answer into a [`ModelError`].

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use scaliyo_store::ModelError;

/// A provider's error answer: its status, its `Retry-After`, and its message (the JSON
/// error's `message`, else the body's start).
pub(crate) fn error_of(status: StatusCode, headers: &HeaderMap, body: &str) -> ModelError {
    let message = message_of(body);
    match status.as_u16() {
        429 => ModelError::RateLimited {
            retry_after: retry_after(headers).or_else(|| retry_delay_in(body)),
        },
        500..=599 => ModelError::Unavailable(format!("{status}: {message}")),
        _ => ModelError::Rejected {
            message: format!("{status}: {message}"),
        },
    }
}

/// Sends a call and reads its JSON answer, or the provider's error (`who` names the provider
/// in the message of an unreadable answer).
pub(crate) async fn answer_of<T: serde::de::DeserializeOwned>(
    call: reqwest::RequestBuilder,
    who: &str,
) -> Result<T, ModelError> {
    let response = call.send().await.map_err(transport_error)?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.map_err(transport_error)?;
    if !status.is_success() {
        return Err(error_of(status, &headers, &text));
    }
    serde_json::from_str(&text)
        .map_err(|e| ModelError::Unavailable(format!("{who} answered unreadable JSON: {e}")))
}

fn transport_error(error: reqwest::Error) -> ModelError {
    // The URL may carry nothing secret (keys travel in headers), but say less anyway.
    ModelError::Unavailable(error.without_url().to_string())
}

fn message_of(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .and_then(|m| m.as_str())
    });
    match message {
        Some(m) => m.to_owned(),
        None => body.chars().take(200).collect(),
    }
}

/// `Retry-After: <seconds>` (the HTTP-date form is not used by these providers).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Google's `google.rpc.RetryInfo` detail: `"retryDelay": "12s"` (fractions allowed).
fn retry_delay_in(body: &str) -> Option<Duration> {
    let parsed: serde_json::Value = serde_json::from_str(body).ok()?;
    let details = parsed.pointer("/error/details")?.as_array()?;
    details.iter().find_map(|detail| {
        let delay = detail.get("retryDelay")?.as_str()?;
        let seconds: f64 = delay.strip_suffix('s')?.parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(3600.0)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_carries_its_delay_from_the_header_or_googles_retry_info() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            error_of(StatusCode::TOO_MANY_REQUESTS, &headers, ""),
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let google = r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#;
        assert_eq!(
            error_of(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), google),
            ModelError::RateLimited {
                retry_after: Some(Duration::from_millis(1500))
            }
        );
        assert_eq!(
            error_of(
                StatusCode::BAD_REQUEST,
                &HeaderMap::new(),
                r#"{"error":{"message":"bad model"}}"#
            ),
            ModelError::Rejected {
                message: "400 Bad Request: bad model".into()
            }
        );
        assert!(error_of(StatusCode::BAD_GATEWAY, &HeaderMap::new(), "<html>").is_transient());
    }
}
