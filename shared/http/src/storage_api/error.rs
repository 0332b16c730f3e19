//! The Storage API's error shape, which storage-js reads: `{statusCode, error, message}`
//! (the HTTP status and `statusCode` agree).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scaliyo_app::storage::objects::ObjectError;
use serde_json::json;

use crate::error::ApiError;

#[derive(Debug)]
pub struct StorageError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
}

impl StorageError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }
}

impl IntoResponse for StorageError {
    fn into_response(self) -> Response {
        let body = json!({
            "statusCode": self.status.as_u16().to_string(),
            "error": self.error,
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}

impl From<ObjectError> for StorageError {
    fn from(error: ObjectError) -> Self {
        let (status, code) = match &error {
            ObjectError::Unauthenticated => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ObjectError::Forbidden(_) => (StatusCode::FORBIDDEN, "Unauthorized"),
            ObjectError::NoSuchBucket => (StatusCode::NOT_FOUND, "Bucket not found"),
            ObjectError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ObjectError::Duplicate => (StatusCode::CONFLICT, "Duplicate"),
            ObjectError::InvalidMime { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_mime_type")
            }
            ObjectError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"),
            ObjectError::Invalid(_) => (StatusCode::BAD_REQUEST, "InvalidRequest"),
            ObjectError::InvalidSignature => (StatusCode::BAD_REQUEST, "InvalidSignature"),
            ObjectError::Unavailable(reason) => {
                tracing::error!(%reason, "storage unavailable");
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable; try again",
                );
            }
        };
        Self::new(status, code, error.to_string())
    }
}

/// A token problem, in this dialect's shape.
impl From<ApiError> for StorageError {
    fn from(error: ApiError) -> Self {
        Self::new(error.status, error.code, error.message)
    }
}
