//! Tracking (links, pixel, unsubscribe footer) and the call to the sender's provider.

use super::*;

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
        let unsubscribe_token = new_token();
        let unsubscribe_url = format!("{base}/u/{unsubscribe_token}");
        let mut tokens = vec![
            Item::new(&token_key(&unsubscribe_token))
                .with("kind", "unsubscribe")
                .with("owner", owner)
                .with("message_id", message_id)
                .with("email", to_email.to_lowercase()),
        ];
        let html = email::add_unsubscribe_footer(body, &unsubscribe_url);
        let (html, links) = if request.track_clicks {
            email::rewrite_links(&html, &unsubscribe_url, new_token, |token| {
                format!("{base}/t/c/{token}")
            })
        } else {
            (html, Vec::new())
        };
        let text = email::html_to_text(&html);
        // After the text part: the hidden link exists in the HTML only.
        let html = if request.track_clicks && request.honeypot_link {
            let honeypot_token = new_token();
            tokens.push(
                Item::new(&token_key(&honeypot_token))
                    .with("kind", "click")
                    .with("owner", owner)
                    .with("message_id", message_id)
                    .with("honeypot", true)
                    // A bare host page: a known link always redirects, and this one leads
                    // nowhere that matters.
                    .with("destination", format!("{base}/")),
            );
            email::add_honeypot_link(&html, &format!("{base}/t/c/{honeypot_token}"))
        } else {
            html
        };
        let html = if request.track_opens {
            let open_token = new_token();
            tokens.push(
                Item::new(&token_key(&open_token))
                    .with("kind", "open")
                    .with("owner", owner)
                    .with("message_id", message_id),
            );
            email::add_open_pixel(&html, &format!("{base}/t/o/{open_token}.gif"))
        } else {
            html
        };
        // Links and tokens first, in one transaction per 100 actions: a fast mail client must
        // find them the moment the provider accepts the message.
        let link_table = &schema::EMAIL_LINKS;
        let mut ops: Vec<WriteOp> = Vec::with_capacity(links.len() * 2 + tokens.len());
        for link in &links {
            let link_id = uuid::Uuid::new_v4().to_string();
            let mut row = Row::new();
            row.insert("id".into(), json!(link_id));
            row.insert("message_id".into(), json!(message_id));
            row.insert("destination_url".into(), json!(link.destination));
            row.insert("link_label".into(), json!(link.label));
            row.insert("link_index".into(), json!(link.index));
            let prepared = self.access.rows().prepare(link_table, row)?;
            // The message row is written after the send; its reference is not checked here.
            ops.extend(
                self.access
                    .rows()
                    .insert_ops(link_table, Some(owner), &prepared, false)?,
            );
            tokens.push(
                Item::new(&token_key(&link.token))
                    .with("kind", "click")
                    .with("owner", owner)
                    .with("message_id", message_id)
                    .with("link_id", link_id)
                    .with("destination", link.destination.as_str()),
            );
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
        let credentials = self.credentials(sender).await?;
        match mailer.send(&outgoing, &credentials).await {
            Ok(delivery) => {
                if let Some((token, expires)) = delivery.refreshed {
                    self.store_refreshed_token(sender, &token, expires).await;
                }
                Ok((delivery.provider_message_id, links.len()))
            }
            Err(error) => {
                tracing::warn!(
                    owner,
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
