//! A message's tracking (its rows and tokens, written with the reservation), then the call to
//! the sender's provider.

use super::instrument::{Instrumented, MessageRef, TrackingHost, TrackingOptions, instrument};
use super::*;
use crate::rows::to_row;

/// A message instrumented for tracking, with the writes that make its links and tokens
/// findable; they commit with the send's reservation, before the provider is called.
pub(super) struct Tracked {
    pub(super) instrumented: Instrumented,
    pub(super) writes: Vec<WriteOp>,
}

impl SendPipeline {
    /// Adds the pixel, the tracked links and the unsubscribe link to `body`, and the writes
    /// of their rows and tokens: a fast mail client must find them the moment the provider
    /// accepts the message.
    pub(super) fn track(
        &self,
        owner: OwnerId,
        message_id: &str,
        to_email: &str,
        body: &str,
        request: &SendRequest,
    ) -> Result<Tracked, SendError> {
        let base = self.config.tracking_base_url.trim_end_matches('/');
        let mut instrumented = instrument(
            body,
            TrackingHost {
                base,
                link_key: self.config.link_key.as_ref(),
            },
            MessageRef {
                owner,
                message_id,
                to_email,
            },
            TrackingOptions {
                opens: request.track_opens,
                clicks: request.track_clicks,
                honeypot: request.honeypot_link,
            },
            new_token,
            || uuid::Uuid::new_v4().to_string(),
        );
        let rows = self.access.rows();
        let link_table = &schema::EMAIL_LINKS;
        let tokens = std::mem::take(&mut instrumented.tokens);
        let mut writes: Vec<WriteOp> =
            Vec::with_capacity(instrumented.links.len() * 2 + tokens.len() + 1);
        for link in &instrumented.links {
            let prepared = rows.prepare(link_table, to_row(link)?)?;
            // The message row is written after the send; its reference is not checked here.
            writes.extend(rows.insert_ops(
                link_table,
                Some(&owner.to_string()),
                &prepared,
                false,
            )?);
        }
        // The send time rides in every token: a hit is classified without reading the message
        // (only a human hit needs it, for the analytics).
        let sent_at = self.clock.now().timestamp();
        // The tokens are found from the owner's partition when the account is deleted.
        let token_keys: Vec<Key> = tokens.iter().filter_map(|t| t.key().ok()).collect();
        writes.push(crate::references::reference_op(
            owner,
            &format!("trk#{message_id}#{}", instrumented.unsubscribe_token),
            &token_keys,
        ));
        writes.extend(
            tokens
                .into_iter()
                .map(|token| WriteOp::put(token.with("sent_at", sent_at))),
        );
        Ok(Tracked {
            instrumented,
            writes,
        })
    }

    /// Builds the message and hands it to the sender's provider; returns the provider's id
    /// and the number of tracked links.
    pub(super) async fn deliver(
        &self,
        draft: &Draft<'_>,
        instrumented: Instrumented,
    ) -> Result<(Option<String>, usize), SendError> {
        let Draft {
            owner,
            lead,
            sender,
            ..
        } = *draft;
        let (message_id, to_email, subject) = (
            draft.message_id.as_str(),
            draft.to_email.as_str(),
            draft.subject.as_str(),
        );
        let Instrumented {
            html,
            text,
            unsubscribe_url,
            links,
            ..
        } = instrumented;
        let from_email = sender["from_email"].as_str().unwrap_or_default().to_owned();
        let domain = from_email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_else(|| "scaliyo.local".into());
        let outgoing = OutgoingEmail {
            message_id: format!("{message_id}@{domain}"),
            // Headers are one line each whatever the merged data held (every provider).
            from_name: email::header_line(
                sender["from_name"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .or(sender["display_name"].as_str())
                    .unwrap_or_default(),
            ),
            from_email,
            to_email: to_email.to_owned(),
            to_name: lead["name"].as_str().map(email::header_line),
            subject: email::header_line(subject),
            html,
            text,
            headers: vec![
                ("List-Unsubscribe".into(), format!("<{unsubscribe_url}>")),
                (
                    "List-Unsubscribe-Post".into(),
                    "List-Unsubscribe=One-Click".into(),
                ),
            ],
            scaliyo_message_id: message_id.to_owned(),
        };
        let provider = sender["provider"].as_str().unwrap_or_default();
        let mailer = self
            .mailers
            .for_provider(provider)
            .ok_or_else(|| invalid("sender_account_id", format!("unknown provider {provider}")))?;
        let credentials = self.senders.credentials(sender).await?;
        match mailer.send(&outgoing, &credentials).await {
            Ok(delivery) => {
                if let Some((token, expires)) = delivery.refreshed {
                    self.senders
                        .store_refreshed_token(sender, &token, expires)
                        .await;
                }
                Ok((delivery.provider_message_id, links.len()))
            }
            Err(error) => {
                tracing::warn!(
                    %owner,
                    provider,
                    retryable = error.is_retryable(),
                    "provider refused the message"
                );
                Err(SendError::Provider {
                    error,
                    message_id: message_id.to_owned(),
                })
            }
        }
    }
}
