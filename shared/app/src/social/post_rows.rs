//! The rows creating a post writes: the post, one target per account, a short link per
//! target when the post has a link, and the post's events. Field names are the columns.

use scaliyo_domain::ids::OwnerId;
use serde::Serialize;
use serde_json::Value;

use super::{PostStatus, TargetStatus};

/// A `social_posts` row.
#[derive(Serialize)]
pub(super) struct PostRow<'a> {
    pub id: &'a str,
    pub user_id: OwnerId,
    pub content_text: &'a str,
    pub link_url: Option<&'a str>,
    /// NULL rather than an empty array: a post without media has none.
    pub media_paths: Option<&'a [String]>,
    pub scheduled_at: Option<String>,
    pub timezone: &'a str,
    pub status: PostStatus,
}

/// A `social_post_targets` row.
#[derive(Serialize)]
pub(super) struct TargetRow<'a> {
    pub id: &'a str,
    pub post_id: &'a str,
    pub user_id: OwnerId,
    pub channel: &'a str,
    pub target_id: &'a str,
    pub target_label: Option<&'a str>,
    pub status: TargetStatus,
}

/// A `tracking_links` row: the short link a target's text carries.
#[derive(Serialize)]
pub(super) struct LinkRow<'a> {
    pub id: String,
    pub user_id: OwnerId,
    pub post_id: &'a str,
    pub slug: String,
    pub destination_url: &'a str,
    pub channel: &'a str,
}

/// A `social_post_events` row.
#[derive(Serialize)]
pub(super) struct EventRow<'a> {
    pub user_id: OwnerId,
    pub post_id: &'a str,
    pub target_id: Option<&'a str>,
    pub event_type: &'a str,
    pub payload: Value,
}
