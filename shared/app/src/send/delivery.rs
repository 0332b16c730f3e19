//! Writing a message's tracking rows and tokens, then the call to the sender's provider.

use super::instrument::{Instrumented, MessageRef, TrackingOptions, instrument};
use super::*;
use crate::rows::to_row;

impl SendPipeline {
    /// Tracks, builds and sends; returns the provider's id and the number of tracked links.
    pub(super) async fn deliver(
        &self,
        draft: &Draft<'_>,
        body: &str,
    ) -> Result<(Option<String>, usize), SendError> {
        let Draft {
            owner,
            lead,
            sender,
            request,
            ..
        } = *draft;
        let (message_id, to_email, subject) = (
            draft.message_id.as_str(),
            draft.to_email.as_str(),
            draft.subject.as_str(),
        );
        let store = self.access.rows().store().clone();
        let base = self.config.tracking_base_url.trim_end_matches('/');
        let Instrumented {
            html,
            text,
            unsubscribe_token,
            unsubscribe_url,
            links,
            tokens,
        } = instrument(
            body,
            base,
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
        // Links and tokens first, in one transaction per 100 actions: a fast mail client must
        // find them the moment the provider accepts the message.
        let link_table = &schema::EMAIL_LINKS;
        let mut ops: Vec<WriteOp> = Vec::with_capacity(links.len() * 2 + tokens.len() + 1);
        for link in &links {
            let prepared = self.access.rows().prepare(link_table, to_row(link)?)?;
            // The message row is written after the send; its reference is not checked here.
            ops.extend(self.access.rows().insert_ops(
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
        ops.push(crate::references::reference_op(
            owner,
            &format!("trk#{message_id}#{unsubscribe_token}"),
            &token_keys,
        ));
        ops.extend(
            tokens
                .into_iter()
                .map(|token| WriteOp::put(token.with("sent_at", sent_at))),
        );
        for chunk in ops.chunks(scaliyo_store::table::MAX_TRANSACTION_ITEMS) {
            store.transact_write(chunk.to_vec()).await?;
        }

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
