//! `GmailInbox`: a Gmail account's new mail through the Gmail API, read-only —
//! `users.history.list` from the last history id (`historyTypes=messageAdded`,
//! `labelId=INBOX`), then `users.messages.get?format=metadata` with the headers reply
//! detection needs. The first poll only reads the current history id (`users.getProfile`).
//! A history id Gmail no longer keeps (404) is resynchronised with `users.messages.list`
//! `q=after:<the day before the last poll>` and a fresh history id. An expiring token is
//! refreshed first, a refused one once; `invalid_grant` is [`MailError::Auth`].

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use scaliyo_store::{Credentials, Fetched, FetchedMessage, Inbox, MailError, MailboxCursor};
use serde_json::Value;

use crate::google_oauth::GoogleOAuth;

/// The headers fetched of each new message.
pub const METADATA_HEADERS: &[&str] = &[
    "From",
    "Subject",
    "Date",
    "Message-Id",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "X-Failed-Recipients",
    "Content-Type",
];
/// History pages read per poll; the rest wait for the next (`Fetched::more`).
const MAX_PAGES: usize = 5;

#[derive(Debug, Clone)]
pub struct GmailInbox {
    api_base: String,
    oauth: GoogleOAuth,
    http: reqwest::Client,
}

/// What one Gmail call answered.
enum Answer {
    Found(Value),
    NotFound,
}

impl GmailInbox {
    pub fn new(api_base: impl Into<String>, oauth: GoogleOAuth, http: reqwest::Client) -> Self {
        Self {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            oauth,
            http,
        }
    }

    /// A GET with the session's token, refreshed once when refused.
    async fn get(
        &self,
        session: &mut Session,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Answer, MailError> {
        for attempt in 0..2 {
            let response = self
                .http
                .get(format!("{}/gmail/v1/users/me/{path}", self.api_base))
                .bearer_auth(&session.token)
                .query(query)
                .send()
                .await
                .map_err(crate::network_error)?;
            let status = response.status();
            if status.as_u16() == 401 && attempt == 0 {
                session.refresh(&self.oauth).await?;
                continue;
            }
            if status.as_u16() == 404 {
                return Ok(Answer::NotFound);
            }
            let headers = response.headers().clone();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(Answer::Found(body));
            }
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or(status.as_str())
                .to_owned();
            return Err(crate::status_error(status, &headers, message));
        }
        Err(MailError::Auth("Google refused the refreshed token".into()))
    }

    async fn current_history_id(&self, session: &mut Session) -> Result<String, MailError> {
        match self.get(session, "profile", &[]).await? {
            Answer::Found(profile) => history_id_of(&profile["historyId"])
                .ok_or_else(|| MailError::Unavailable("no historyId in the profile".into())),
            Answer::NotFound => Err(MailError::Auth("the Gmail mailbox was not found".into())),
        }
    }

    /// The ids of messages added to the inbox since `start`; None when Gmail no longer keeps
    /// that history.
    async fn added_since(
        &self,
        session: &mut Session,
        start: &str,
    ) -> Result<Option<(Vec<String>, String, bool)>, MailError> {
        let mut ids: Vec<String> = Vec::new();
        let mut latest = start.to_owned();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("startHistoryId", start.to_owned()),
                ("historyTypes", "messageAdded".to_owned()),
                ("labelId", "INBOX".to_owned()),
                ("maxResults", "100".to_owned()),
            ];
            if let Some(token) = &page_token {
                query.push(("pageToken", token.clone()));
            }
            let Answer::Found(page) = self.get(session, "history", &query).await? else {
                return Ok(None);
            };
            for record in page["history"].as_array().into_iter().flatten() {
                for added in record["messagesAdded"].as_array().into_iter().flatten() {
                    let message = &added["message"];
                    let labels: Vec<&str> = message["labelIds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    // Our own sent mail and drafts are not replies.
                    if labels.contains(&"SENT") || labels.contains(&"DRAFT") {
                        continue;
                    }
                    if let Some(id) = message["id"].as_str()
                        && !ids.iter().any(|known| known == id)
                    {
                        ids.push(id.to_owned());
                    }
                }
            }
            if let Some(id) = history_id_of(&page["historyId"]) {
                latest = id;
            }
            page_token = page["nextPageToken"].as_str().map(str::to_owned);
            if page_token.is_none() {
                return Ok(Some((ids, latest, false)));
            }
        }
        Ok(Some((ids, latest, true)))
    }

    /// The inbox's messages received since `since` (a resync).
    async fn received_since(
        &self,
        session: &mut Session,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, MailError> {
        let query = [
            ("q", format!("after:{}", since.timestamp())),
            ("labelIds", "INBOX".to_owned()),
            ("maxResults", "100".to_owned()),
        ];
        Ok(match self.get(session, "messages", &query).await? {
            Answer::Found(list) => list["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_str().map(str::to_owned))
                .collect(),
            Answer::NotFound => Vec::new(),
        })
    }

    async fn metadata(
        &self,
        session: &mut Session,
        id: &str,
    ) -> Result<Option<FetchedMessage>, MailError> {
        let mut query = vec![("format", "metadata".to_owned())];
        query.extend(
            METADATA_HEADERS
                .iter()
                .map(|h| ("metadataHeaders", (*h).to_owned())),
        );
        let Answer::Found(message) = self.get(session, &format!("messages/{id}"), &query).await?
        else {
            // Deleted between the history and now.
            return Ok(None);
        };
        let headers = message["payload"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| {
                Some((
                    h["name"].as_str()?.to_owned(),
                    h["value"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let snippet = decode_entities(message["snippet"].as_str().unwrap_or_default());
        Ok(Some(FetchedMessage::Headers { headers, snippet }))
    }
}

/// The token of one poll, and whether it was refreshed on the way.
struct Session {
    token: String,
    refresh_token: Option<String>,
    refreshed: Option<(String, DateTime<Utc>)>,
}

impl Session {
    async fn refresh(&mut self, oauth: &GoogleOAuth) -> Result<(), MailError> {
        let refresh = self.refresh_token.as_deref().ok_or_else(|| {
            MailError::Auth("the access token expired and there is no refresh token".into())
        })?;
        let (token, expires) = oauth.refresh(refresh).await?;
        self.token = token.clone();
        self.refreshed = Some((token, expires));
        Ok(())
    }
}

fn history_id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Gmail's snippets are HTML-escaped text.
fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[async_trait]
impl Inbox for GmailInbox {
    async fn poll(
        &self,
        credentials: &Credentials,
        cursor: &MailboxCursor,
        now: DateTime<Utc>,
    ) -> Result<Fetched, MailError> {
        let Credentials::OAuth {
            access_token,
            refresh_token,
            expires_at,
        } = credentials
        else {
            return Err(MailError::Auth(
                "the account has no Google authorisation".into(),
            ));
        };
        let mut session = Session {
            token: access_token.clone(),
            refresh_token: refresh_token.clone(),
            refreshed: None,
        };
        if expires_at.is_some_and(|at| at <= now + Duration::seconds(60)) {
            session.refresh(&self.oauth).await?;
        }
        let mut fetched = Fetched {
            cursor: MailboxCursor {
                polled_at: Some(now),
                ..MailboxCursor::default()
            },
            ..Fetched::default()
        };
        let ids = match &cursor.history_id {
            None => {
                fetched.cursor.history_id = Some(self.current_history_id(&mut session).await?);
                Vec::new()
            }
            Some(start) => match self.added_since(&mut session, start).await? {
                Some((ids, latest, more)) => {
                    fetched.cursor.history_id = Some(latest);
                    fetched.more = more;
                    ids
                }
                None => {
                    let since = cursor.polled_at.unwrap_or(now) - Duration::days(1);
                    let latest = self.current_history_id(&mut session).await?;
                    fetched.cursor.history_id = Some(latest);
                    self.received_since(&mut session, since).await?
                }
            },
        };
        for id in ids {
            if let Some(message) = self.metadata(&mut session, &id).await? {
                fetched.messages.push(message);
            }
        }
        fetched.refreshed = session.refreshed;
        Ok(fetched)
    }
}
