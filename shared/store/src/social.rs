//! The social network port: publish one post to one target (a Facebook Page, an Instagram
//! business account, a LinkedIn member or organisation), and look for a post that may have
//! gone through when the answer was lost.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scaliyo_domain::social::{Channel, ErrorCode, MediaKind, Refusal, Usage};

/// One media file of a post, reachable by the network for a short while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// A short-lived signed URL (Meta fetches it; the LinkedIn adapter reads it to upload).
    pub url: String,
    pub content_type: String,
    pub kind: MediaKind,
}

/// What to publish where.
#[derive(Clone, PartialEq, Eq)]
pub struct Publication {
    pub channel: Channel,
    /// The remote identity: page id, Instagram user id, member or organisation URN.
    pub target: String,
    pub access_token: String,
    /// The text as published (the short link already placed in it where the network shows
    /// links in the text).
    pub text: String,
    /// The short link of this target, for networks with a link field (Facebook).
    pub link: Option<String>,
    pub media: Vec<MediaFile>,
}

impl std::fmt::Debug for Publication {
    // The token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publication")
            .field("channel", &self.channel)
            .field("target", &self.target)
            .field("text_chars", &self.text.chars().count())
            .field("link", &self.link)
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}

/// A published post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub remote_post_id: String,
    /// Meta's usage headers of the last call, when the network sends them.
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The network answered and refused.
    #[error("{}: {}", .refusal.code.as_str(), .refusal.message)]
    Refused {
        refusal: Refusal,
        usage: Option<Usage>,
    },
    /// No answer came to a call that may have published (timed out, connection dropped
    /// after the request was sent): it must be looked for before publishing again.
    #[error("unconfirmed: {0}")]
    Unconfirmed(String),
    /// The request never reached the network (connection refused, DNS): safe to retry.
    #[error("network: {0}")]
    Network(String),
}

impl PublishError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PublishError::Refused { refusal, .. } => refusal.code,
            PublishError::Unconfirmed(_) => ErrorCode::Unconfirmed,
            PublishError::Network(_) => ErrorCode::Network,
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        match self {
            PublishError::Refused { usage, .. } => *usage,
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PublishError::Refused { refusal, .. } => refusal.retry_after,
            _ => None,
        }
    }
}

#[async_trait]
pub trait SocialNetwork: Send + Sync {
    /// Publishes, returning the network's id of the post.
    async fn publish(&self, publication: &Publication) -> Result<Published, PublishError>;

    /// Looks through the target's recent posts (since `since`) for one with this text:
    /// its id if the earlier, unconfirmed call did publish.
    async fn find_recent(
        &self,
        publication: &Publication,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, PublishError>;
}

/// The network adapter of each channel.
#[derive(Clone)]
pub struct SocialNetworks {
    pub meta: Arc<dyn SocialNetwork>,
    pub linkedin: Arc<dyn SocialNetwork>,
}

impl SocialNetworks {
    pub fn for_channel(&self, channel: Channel) -> &Arc<dyn SocialNetwork> {
        match channel {
            Channel::FacebookPage | Channel::Instagram => &self.meta,
            Channel::LinkedinMember | Channel::LinkedinOrg => &self.linkedin,
        }
    }
}
