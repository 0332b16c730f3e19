//! "Post now": a draft or scheduled post claimed and published within the request, on the
//! same work queue claim as the tick — so a tick running at the same moment and the request
//! never both publish it (whichever claims first publishes; the other sees it taken).

use std::sync::Arc;

use chrono::SecondsFormat;
use scaliyo_domain::schema;
use tokio::sync::Semaphore;

use super::posts::{CreatePost, PostView, SchedulePost};
use super::publisher::SocialPublisher;
use super::{PostStatus, SocialError};
use crate::access::Actor;
use crate::rows::RowError;

/// What to publish: a post that exists, or a new one (created as a draft, then published).
#[derive(Debug, Clone)]
pub enum PostNow {
    Existing { post_id: String },
    New(Box<CreatePost>),
}

impl SocialPublisher {
    /// Publishes the post now and answers with it, its targets' outcomes in its summary.
    pub async fn publish_now(&self, actor: &Actor, what: PostNow) -> Result<PostView, SocialError> {
        let owner = actor.owner()?;
        let id = match what {
            PostNow::Existing { post_id } => post_id,
            PostNow::New(post) => {
                if post.scheduled_at.is_some() {
                    return Err(super::invalid(
                        "scheduled_at",
                        "a post published now has no time; use social-schedule for a later one",
                    ));
                }
                let draft = self.posts().create_post(actor, *post).await?;
                draft.post["id"].as_str().unwrap_or_default().to_owned()
            }
        };
        // The policy decides visibility (another tenant's post is a 404).
        let post = self
            .posts()
            .access()
            .get(actor, "social_posts", &id)
            .await?;
        let status = post["status"].as_str().unwrap_or_default().to_owned();
        let now = self.clock().now();
        match PostStatus::parse(&status) {
            Some(PostStatus::Draft) => {
                let at = now.to_rfc3339_opts(SecondsFormat::Micros, true);
                self.posts()
                    .schedule_post(
                        actor,
                        &id,
                        SchedulePost {
                            scheduled_at: Some(at),
                        },
                    )
                    .await?;
            }
            Some(PostStatus::Scheduled) => {}
            _ => return Err(SocialError::NotPublishable { status }),
        }
        let item = self
            .rows()
            .get_raw(&schema::SOCIAL_POSTS, Some(&owner.to_string()), &id)
            .await?
            .ok_or(RowError::NotFound)?;
        if let Some(claimed) = self.claim(&item, now).await {
            let permits = Arc::new(Semaphore::new(self.settings().publish_concurrency.max(1)));
            self.run_post(claimed, permits).await;
        }
        // Not claimed: a tick took it a moment ago and is publishing it.
        self.posts().post(actor, &id).await
    }
}
