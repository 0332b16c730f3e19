//! `LinkedIn`: the versioned REST API (`/rest/…` with `LinkedIn-Version: YYYYMM` and
//! `X-Restli-Protocol-Version: 2.0.0`, bearer token).
//!
//! - An image is uploaded first: `POST /rest/images?action=initializeUpload` with
//!   `{"initializeUploadRequest":{"owner":<author URN>}}` answers an `uploadUrl` and the
//!   image URN; the bytes are `PUT` to the upload URL.
//! - The post: `POST /rest/posts` (author, commentary in "little text" with its reserved
//!   characters escaped, `visibility: PUBLIC`, main-feed distribution, `lifecycleState:
//!   PUBLISHED`, and `content.media.id` for an image); `201 Created` with the post URN in
//!   `x-restli-id`.
//! - Looking for an unconfirmed post: `GET /rest/posts?q=author&author=<URN>` (a finder,
//!   `X-RestLi-Method: FINDER`), newest first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scaliyo_domain::social::{self, Channel, ErrorCode, MediaKind, Refusal};
use scaliyo_store::{Publication, PublishError, Published, SocialNetwork};
use serde_json::{Value, json};

use crate::{SocialConfig, transport_error};

#[derive(Debug, Clone)]
pub struct LinkedIn {
    base: String,
    version: String,
    http: reqwest::Client,
}

fn refused(code: ErrorCode, message: impl Into<String>) -> PublishError {
    PublishError::Refused {
        refusal: Refusal {
            code,
            message: message.into(),
            retry_after: None,
        },
        usage: None,
    }
}

impl LinkedIn {
    pub fn new(config: &SocialConfig, http: reqwest::Client) -> Self {
        Self {
            base: config.linkedin_base_url.trim_end_matches('/').to_owned(),
            version: config.linkedin_version.clone(),
            http,
        }
    }

    fn rest(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/rest/{path}", self.base))
            .bearer_auth(token)
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// Uploads one image and returns its URN.
    async fn upload_image(
        &self,
        owner: &str,
        token: &str,
        media_url: &str,
        content_type: &str,
    ) -> Result<String, PublishError> {
        let response = self
            .rest(
                reqwest::Method::POST,
                "images?action=initializeUpload",
                token,
            )
            .json(&json!({ "initializeUploadRequest": { "owner": owner } }))
            .send()
            .await
            .map_err(|e| transport_error(e, false))?;
        let (_, body) = read(response, false).await?;
        let value = body.get("value");
        let upload_url = value
            .and_then(|v| v.get("uploadUrl"))
            .and_then(Value::as_str);
        let image = value.and_then(|v| v.get("image")).and_then(Value::as_str);
        let (Some(upload_url), Some(image)) = (upload_url, image) else {
            return Err(refused(
                ErrorCode::ServerError,
                "initializeUpload answered without an upload URL or image URN",
            ));
        };
        // The media comes from our own storage through its short-lived signed URL.
        let bytes = self
            .http
            .get(media_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| transport_error(e, false))?
            .bytes()
            .await
            .map_err(|e| transport_error(e, false))?;
        let response = self
            .http
            .put(upload_url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| transport_error(e, false))?;
        read(response, false).await?;
        Ok(image.to_owned())
    }
}

/// The status, headers' post URN and JSON of a successful answer, or the refusal read.
async fn read(
    response: reqwest::Response,
    publishing: bool,
) -> Result<(Option<String>, Value), PublishError> {
    let status = response.status().as_u16();
    let restli_id = response
        .headers()
        .get("x-restli-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(social::parse_retry_after);
    let text = response
        .text()
        .await
        .map_err(|e| transport_error(e, publishing))?;
    if (200..300).contains(&status) {
        return Ok((
            restli_id,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        ));
    }
    Err(PublishError::Refused {
        refusal: social::read_linkedin_error(status, &text, retry_after),
        usage: None,
    })
}

/// The request body of `POST /rest/posts`.
pub fn post_body(author: &str, text: &str, image: Option<&str>) -> Value {
    let mut body = json!({
        "author": author,
        "commentary": social::escape_little_text(text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": []
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false
    });
    if let Some(image) = image {
        body["content"] = json!({ "media": { "id": image } });
    }
    body
}

#[async_trait]
impl SocialNetwork for LinkedIn {
    async fn publish(&self, p: &Publication) -> Result<Published, PublishError> {
        if !matches!(p.channel, Channel::LinkedinMember | Channel::LinkedinOrg) {
            return Err(refused(
                ErrorCode::InvalidRequest,
                format!("{} is not a LinkedIn channel", p.channel.as_str()),
            ));
        }
        let image = match p.media.as_slice() {
            [] => None,
            [media] if media.kind == MediaKind::Image => Some(
                self.upload_image(&p.target, &p.access_token, &media.url, &media.content_type)
                    .await?,
            ),
            _ => {
                return Err(refused(
                    ErrorCode::InvalidMedia,
                    "LinkedIn posts take one image here",
                ));
            }
        };
        let response = self
            .rest(reqwest::Method::POST, "posts", &p.access_token)
            .json(&post_body(&p.target, &p.text, image.as_deref()))
            .send()
            .await
            .map_err(|e| transport_error(e, true))?;
        let (restli_id, body) = read(response, true).await?;
        let id = restli_id
            .or_else(|| body.get("id").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| refused(ErrorCode::ServerError, "the post was created without an id"))?;
        Ok(Published {
            remote_post_id: id,
            usage: None,
        })
    }

    async fn find_recent(
        &self,
        p: &Publication,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, PublishError> {
        let response = self
            .rest(reqwest::Method::GET, "posts", &p.access_token)
            .header("X-RestLi-Method", "FINDER")
            .query(&[
                ("q", "author"),
                ("author", p.target.as_str()),
                ("count", "20"),
                ("sortBy", "LAST_MODIFIED"),
            ])
            .send()
            .await
            .map_err(|e| transport_error(e, false))?;
        let (_, body) = read(response, false).await?;
        let wanted = social::escape_little_text(&p.text);
        let since_ms = since.timestamp_millis();
        Ok(body
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|post| {
                post.get("createdAt")
                    .and_then(Value::as_i64)
                    .is_none_or(|at| at >= since_ms)
            })
            .find(|post| post.get("commentary").and_then(Value::as_str) == Some(wanted.as_str()))
            .and_then(|post| post.get("id").and_then(Value::as_str).map(str::to_owned)))
    }
}
