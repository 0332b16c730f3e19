//! Which of our messages an inbound message answers: the one its `In-Reply-To` or `References`
//! names (our Message-IDs are `<message id>@<sending domain>`, so the message row is the
//! index), else — lower confidence, a person is not a machine — the latest message to the
//! sender's address whose subject matches, within 30 days.

use chrono::Duration;
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::replies::{
    InboundMessage, ReplyKind, SUBJECT_MATCH_DAYS, normalized_subject, our_message_uuid,
};
use scaliyo_domain::schema;
use serde::Serialize;

use super::*;
use crate::rows::{ListRequest, Row, RowError};

/// How the answered message was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// `In-Reply-To`/`References` (or a bounce's report) named it.
    MessageId,
    /// The sender's address and the subject, within [`SUBJECT_MATCH_DAYS`].
    Subject,
}

pub(super) struct Answered {
    pub message: Row,
    pub lead_id: String,
    pub by: MatchedBy,
}

impl Replies {
    pub(super) async fn answered(
        &self,
        owner: OwnerId,
        inbound: &InboundMessage,
    ) -> Result<Option<Answered>, RowError> {
        let owner_text = owner.to_string();
        for id in inbound.answered_ids() {
            let Some(uuid) = our_message_uuid(&id) else {
                continue;
            };
            let Some(message) = self
                .access
                .rows()
                .get(
                    &schema::EMAIL_MESSAGES,
                    Some(&owner_text),
                    &uuid.to_string(),
                )
                .await?
            else {
                continue;
            };
            if let Some(lead_id) = message["lead_id"].as_str().map(str::to_owned) {
                return Ok(Some(Answered {
                    message,
                    lead_id,
                    by: MatchedBy::MessageId,
                }));
            }
        }
        // A bounce is matched only by what its report names.
        if inbound.kind == ReplyKind::Bounce {
            return Ok(None);
        }
        let (Some(from), subject) = (&inbound.from_email, normalized_subject(&inbound.subject))
        else {
            return Ok(None);
        };
        if subject.is_empty() {
            return Ok(None);
        }
        let Some(lead) = crate::leads::by_email(self.access.rows(), owner, from).await? else {
            return Ok(None);
        };
        let Some(lead_id) = lead["id"].as_str().map(str::to_owned) else {
            return Ok(None);
        };
        let since =
            crate::rows::timestamp_text(self.clock.now() - Duration::days(SUBJECT_MATCH_DAYS));
        let page = self
            .access
            .rows()
            .list(
                &schema::EMAIL_MESSAGES,
                Some(&owner_text),
                ListRequest {
                    index: Some("idx_email_messages_lead".into()),
                    equals: vec![lead_id.clone()],
                    limit: 200,
                    ..Default::default()
                },
            )
            .await?;
        let latest = page
            .rows
            .into_iter()
            .filter(|m| {
                m["created_at"]
                    .as_str()
                    .is_some_and(|at| at >= since.as_str())
            })
            .filter(|m| {
                m["subject"]
                    .as_str()
                    .is_some_and(|s| normalized_subject(s) == subject)
            })
            .max_by(|a, b| {
                a["created_at"]
                    .as_str()
                    .unwrap_or_default()
                    .cmp(b["created_at"].as_str().unwrap_or_default())
            });
        Ok(latest.map(|message| Answered {
            message,
            lead_id,
            by: MatchedBy::Subject,
        }))
    }
}
