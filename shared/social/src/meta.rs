//! `MetaGraph`: the Graph API for Facebook Pages and Instagram business accounts.
//!
//! - Page, text (and link): `POST /{version}/{page-id}/feed` with `message` and `link`.
//! - Page, one photo: `POST /{page-id}/photos` with `url` and `caption`; several photos:
//!   each uploaded with `published=false`, then `POST /{page-id}/feed` with
//!   `attached_media[i]={"media_fbid":…}`; a video: `POST /{page-id}/videos` with
//!   `file_url` and `description`.
//! - Instagram: `POST /{ig-user-id}/media` (`image_url`, or `media_type=REELS` and
//!   `video_url`, with `caption`) makes a container; `GET /{container-id}?fields=status_code`
//!   until `FINISHED` (bounded); `POST /{ig-user-id}/media_publish` with `creation_id`.
//!
//! Parameters go as form fields with the page token in `access_token` (the Graph API's
//! documented form), never in a URL of a publishing call. Every response's usage headers
//! (`X-App-Usage`, `X-Business-Use-Case-Usage`) are read and handed back.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scaliyo_domain::social::{self, Channel, ErrorCode, MediaKind, Refusal, Usage};
use scaliyo_store::{Publication, PublishError, Published, SocialNetwork};
use serde_json::Value;

use crate::{SocialConfig, transport_error};

#[derive(Debug, Clone)]
pub struct MetaGraph {
    base: String,
    container_wait: Duration,
    container_poll: Duration,
    http: reqwest::Client,
}

/// A successful Graph answer: its JSON and the usage it reported.
struct Answer {
    body: Value,
    usage: Option<Usage>,
}

impl MetaGraph {
    pub fn new(config: &SocialConfig, http: reqwest::Client) -> Self {
        Self {
            base: format!(
                "{}/{}",
                config.meta_base_url.trim_end_matches('/'),
                config.meta_version.trim_matches('/')
            ),
            container_wait: config.container_wait,
            container_poll: config.container_poll,
            http,
        }
    }

    async fn post_form(
        &self,
        path: &str,
        token: &str,
        fields: &[(&str, String)],
        publishing: bool,
    ) -> Result<Answer, PublishError> {
        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form.push(("access_token", token));
        let response = self
            .http
            .post(format!("{}/{path}", self.base))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(e, publishing))?;
        read(response, publishing).await
    }

    async fn get(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, String)],
    ) -> Result<Answer, PublishError> {
        let mut params: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        params.push(("access_token", token));
        let response = self
            .http
            .get(format!("{}/{path}", self.base))
            .query(&params)
            .send()
            .await
            .map_err(|e| transport_error(e, false))?;
        read(response, false).await
    }

    async fn publish_page(&self, p: &Publication) -> Result<Answer, PublishError> {
        let page = &p.target;
        let images = p
            .media
            .iter()
            .filter(|m| m.kind == MediaKind::Image)
            .count();
        match p.media.as_slice() {
            [] => {
                let mut fields = vec![("message", p.text.clone())];
                if let Some(link) = &p.link {
                    fields.push(("link", link.clone()));
                }
                self.post_form(&format!("{page}/feed"), &p.access_token, &fields, true)
                    .await
            }
            [video] if video.kind == MediaKind::Video => {
                let fields = [
                    ("file_url", video.url.clone()),
                    ("description", p.text.clone()),
                ];
                self.post_form(&format!("{page}/videos"), &p.access_token, &fields, true)
                    .await
            }
            [photo] => {
                let fields = [("url", photo.url.clone()), ("caption", p.text.clone())];
                let answer = self
                    .post_form(&format!("{page}/photos"), &p.access_token, &fields, true)
                    .await?;
                // A page photo answers with the photo id and the feed post's id.
                let id = answer
                    .body
                    .get("post_id")
                    .or_else(|| answer.body.get("id"))
                    .cloned();
                Ok(Answer {
                    body: serde_json::json!({ "id": id }),
                    usage: answer.usage,
                })
            }
            many if images == many.len() => {
                let mut fields = vec![("message", p.text.clone())];
                let mut usage = None;
                for (i, photo) in many.iter().enumerate() {
                    let upload = [
                        ("url", photo.url.clone()),
                        ("published", "false".to_owned()),
                    ];
                    let answer = self
                        .post_form(&format!("{page}/photos"), &p.access_token, &upload, false)
                        .await?;
                    usage = answer.usage.or(usage);
                    let id = id_of(&answer.body)?;
                    fields.push((
                        ATTACHED_MEDIA[i],
                        serde_json::json!({ "media_fbid": id }).to_string(),
                    ));
                }
                self.post_form(&format!("{page}/feed"), &p.access_token, &fields, true)
                    .await
            }
            _ => Err(refused(
                ErrorCode::InvalidMedia,
                "a Facebook post with several media items takes images only",
            )),
        }
    }

    async fn publish_instagram(&self, p: &Publication) -> Result<Answer, PublishError> {
        let user = &p.target;
        let [media] = p.media.as_slice() else {
            return Err(refused(
                ErrorCode::InvalidMedia,
                "Instagram publishes exactly one image or video per post here",
            ));
        };
        let mut fields = vec![("caption", p.text.clone())];
        match media.kind {
            MediaKind::Image => fields.push(("image_url", media.url.clone())),
            MediaKind::Video => {
                fields.push(("media_type", "REELS".to_owned()));
                fields.push(("video_url", media.url.clone()));
            }
        }
        let container = self
            .post_form(&format!("{user}/media"), &p.access_token, &fields, false)
            .await?;
        let container_id = id_of(&container.body)?;
        self.wait_until_ready(&container_id, &p.access_token)
            .await?;
        self.post_form(
            &format!("{user}/media_publish"),
            &p.access_token,
            &[("creation_id", container_id)],
            true,
        )
        .await
    }

    /// Polls the container's `status_code` until `FINISHED`, within `container_wait`.
    async fn wait_until_ready(&self, container: &str, token: &str) -> Result<(), PublishError> {
        let started = Instant::now();
        loop {
            let answer = self
                .get(container, token, &[("fields", "status_code,status".into())])
                .await?;
            match answer.body.get("status_code").and_then(Value::as_str) {
                Some("FINISHED") => return Ok(()),
                Some("ERROR") | Some("EXPIRED") => {
                    let status = answer
                        .body
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("the media could not be processed");
                    return Err(refused(
                        ErrorCode::InvalidMedia,
                        &format!("Instagram could not process the media: {status}"),
                    ));
                }
                // IN_PROGRESS (or PUBLISHED, which media_publish then reports).
                Some("PUBLISHED") => return Ok(()),
                _ => {}
            }
            if started.elapsed() + self.container_poll > self.container_wait {
                // Nothing was published; a later attempt makes a new container.
                return Err(refused(
                    ErrorCode::ServerError,
                    &format!(
                        "the media was still processing after {} s",
                        self.container_wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(self.container_poll).await;
        }
    }
}

/// `attached_media[i]` field names (Facebook takes up to 10 photos in one post here).
const ATTACHED_MEDIA: [&str; 10] = [
    "attached_media[0]",
    "attached_media[1]",
    "attached_media[2]",
    "attached_media[3]",
    "attached_media[4]",
    "attached_media[5]",
    "attached_media[6]",
    "attached_media[7]",
    "attached_media[8]",
    "attached_media[9]",
];

fn refused(code: ErrorCode, message: &str) -> PublishError {
    PublishError::Refused {
        refusal: Refusal {
            code,
            message: message.to_owned(),
            retry_after: None,
        },
        usage: None,
    }
}

fn id_of(body: &Value) -> Result<String, PublishError> {
    match body.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(refused(
            ErrorCode::ServerError,
            "the Graph API answered without an id",
        )),
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn read(response: reqwest::Response, publishing: bool) -> Result<Answer, PublishError> {
    let status = response.status().as_u16();
    let usage = social::read_meta_usage(
        header(&response, "x-app-usage"),
        header(&response, "x-business-use-case-usage"),
    );
    let retry_after = header(&response, "retry-after").and_then(social::parse_retry_after);
    let text = response
        .text()
        .await
        .map_err(|e| transport_error(e, publishing))?;
    if (200..300).contains(&status) {
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Ok(Answer { body, usage });
    }
    let mut refusal = social::read_graph_error(status, &text);
    // Meta's own regain time beats a generic back-off.
    refusal.retry_after = retry_after.or(usage.and_then(|u| u.regain_after));
    Err(PublishError::Refused { refusal, usage })
}

#[async_trait]
impl SocialNetwork for MetaGraph {
    async fn publish(&self, publication: &Publication) -> Result<Published, PublishError> {
        let answer = match publication.channel {
            Channel::FacebookPage => self.publish_page(publication).await?,
            Channel::Instagram => self.publish_instagram(publication).await?,
            other => {
                return Err(refused(
                    ErrorCode::InvalidRequest,
                    &format!("{} is not a Meta channel", other.as_str()),
                ));
            }
        };
        Ok(Published {
            remote_post_id: id_of(&answer.body)?,
            usage: answer.usage,
        })
    }

    async fn find_recent(
        &self,
        publication: &Publication,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, PublishError> {
        let (edge, text_field) = match publication.channel {
            Channel::FacebookPage => ("published_posts", "message"),
            Channel::Instagram => ("media", "caption"),
            _ => return Ok(None),
        };
        let answer = self
            .get(
                &format!("{}/{edge}", publication.target),
                &publication.access_token,
                &[
                    ("fields", format!("id,{text_field},created_time,timestamp")),
                    ("since", since.timestamp().to_string()),
                    ("limit", "25".into()),
                ],
            )
            .await?;
        let wanted = publication.text.trim();
        Ok(answer
            .body
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|post| {
                post.get(text_field)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.trim() == wanted)
            })
            .and_then(|post| id_of(post).ok()))
    }
}
