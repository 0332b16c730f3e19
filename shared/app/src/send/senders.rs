//! Sender accounts: connecting them (credentials verified, then sealed), opening their
//! credentials for a send, and keeping refreshed OAuth tokens — every path that seals or
//! opens sender secrets.

use super::*;
use crate::rows::to_row;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `starttls` (default), `ssl` (implicit TLS) or `none` (loopback only).
    pub security: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<String>,
}

/// Connecting a sender account: its public fields and its write-only credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    pub provider: String,
    pub from_email: String,
    #[serde(default)]
    pub from_name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub is_default: bool,
    pub use_for_outreach: Option<bool>,
    #[serde(default)]
    pub warmup_enabled: bool,
    #[serde(default)]
    pub metadata: serde_json::Map<String, Value>,
    pub smtp: Option<SmtpSettings>,
    pub api_key: Option<String>,
    pub oauth: Option<OAuthTokens>,
}

/// How a sender's credentials are checked before it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyCheck {
    /// By the provider's mailer (SMTP: a login; SendGrid: the key's scopes; Mailchimp
    /// Transactional: a ping).
    WithTheMailer,
    /// Already checked by the caller against another API of the provider: a Mailchimp
    /// Marketing key, which Mailchimp Transactional does not know.
    Already,
}

/// A new `sender_accounts` row.
#[derive(Serialize)]
struct NewSender<'a> {
    provider: &'a str,
    from_email: &'a str,
    from_name: &'a str,
    display_name: &'a str,
    is_default: bool,
    use_for_outreach: bool,
    warmup_enabled: bool,
    metadata: &'a serde_json::Map<String, Value>,
}

/// Its `sender_account_secrets` row: only the provider's columns are set, each sealed
/// except the SMTP host and port.
#[derive(Serialize)]
struct SenderSecrets<'a> {
    sender_account_id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_pass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_expires_at: Option<String>,
}

impl<'a> SenderSecrets<'a> {
    fn of(sender_account_id: &'a Value) -> Self {
        Self {
            sender_account_id,
            smtp_host: None,
            smtp_port: None,
            smtp_user: None,
            smtp_pass: None,
            api_key: None,
            oauth_access_token: None,
            oauth_refresh_token: None,
            oauth_expires_at: None,
        }
    }
}

/// Sender mailboxes and their secrets: connecting one (credentials verified, then sealed),
/// opening its credentials for a send, and storing a refreshed OAuth token. Every path that
/// seals or opens a sender secret is here — the counterpart of `SocialAccounts`.
#[derive(Clone)]
pub struct SenderAccounts {
    pub(super) access: Arc<Access>,
    pub(super) sealer: Arc<dyn Sealer>,
    mailers: Mailers,
    /// Where a Mailchimp Marketing key's account is looked up; None: not offered.
    pub(super) mailchimp_marketing: Option<Arc<dyn scaliyo_store::MailchimpMarketing>>,
}

impl SenderAccounts {
    pub fn new(access: Arc<Access>, sealer: Arc<dyn Sealer>, mailers: Mailers) -> Self {
        Self {
            access,
            sealer,
            mailers,
            mailchimp_marketing: None,
        }
    }

    /// Mailchimp Marketing accounts can be connected, their keys checked with `api`.
    pub fn with_mailchimp_marketing(
        mut self,
        api: Option<Arc<dyn scaliyo_store::MailchimpMarketing>>,
    ) -> Self {
        self.mailchimp_marketing = api;
        self
    }
}

impl SenderAccounts {
    /// Every sender account of `owner` (rotation picks among them; the frontend's
    /// `send-email` names one by address).
    pub(super) async fn senders_of(&self, owner: OwnerId) -> Result<Vec<Row>, SendError> {
        Ok(self
            .access
            .rows()
            .list_all(
                &schema::SENDER_ACCOUNTS,
                Some(&owner.to_string()),
                crate::rows::ListRequest {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?)
    }

    /// The provider's credentials of a sender, opened from their sealed form.
    pub(crate) async fn credentials(&self, sender: &Row) -> Result<Credentials, SendError> {
        let secrets_table = &schema::SENDER_ACCOUNT_SECRETS;
        let sender_id = sender["id"].as_str().unwrap_or_default();
        let unique = secrets_table.uniques.first().ok_or_else(|| {
            crate::rows::RowError::Invariant(
                "sender_account_secrets declares no unique constraint".into(),
            )
        })?;
        let mut probe = Row::new();
        probe.insert("sender_account_id".into(), json!(sender_id));
        let owner = crate::rows::owner_in(sender, "workspace_id")?;
        let Some(secrets) = self
            .access
            .rows()
            .find_unique_of(secrets_table, unique, &probe, owner)
            .await?
        else {
            return Ok(Credentials::None);
        };
        let open = |column: &str| {
            let sealed = secrets[column].as_str().map(str::to_owned);
            let sealer = self.sealer.clone();
            async move {
                match sealed {
                    Some(text) => sealer
                        .open(&text)
                        .await
                        .map(Some)
                        .map_err(|e| invalid("sender_account_secrets", e.to_string())),
                    None => Ok(None),
                }
            }
        };
        Ok(match sender["provider"].as_str() {
            Some("smtp") => Credentials::Smtp {
                host: secrets["smtp_host"].as_str().unwrap_or_default().to_owned(),
                port: secrets["smtp_port"]
                    .as_i64()
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(587),
                username: open("smtp_user").await?.unwrap_or_default(),
                password: open("smtp_pass").await?.unwrap_or_default(),
                security: match sender["metadata"]["smtp_security"].as_str() {
                    Some("ssl") => SmtpSecurity::Implicit,
                    Some("none") => SmtpSecurity::None,
                    _ if secrets["smtp_port"].as_i64() == Some(465) => SmtpSecurity::Implicit,
                    _ => SmtpSecurity::StartTls,
                },
            },
            Some("sendgrid" | "mailchimp") => {
                Credentials::ApiKey(open("api_key").await?.unwrap_or_default())
            }
            Some("gmail") => Credentials::OAuth {
                access_token: open("oauth_access_token").await?.unwrap_or_default(),
                refresh_token: open("oauth_refresh_token").await?,
                expires_at: secrets["oauth_expires_at"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc)),
            },
            _ => Credentials::None,
        })
    }

    pub(crate) async fn store_refreshed_token(
        &self,
        sender: &Row,
        token: &str,
        expires: DateTime<Utc>,
    ) {
        let secrets_table = &schema::SENDER_ACCOUNT_SECRETS;
        let Some(unique) = secrets_table.uniques.first() else {
            return;
        };
        let mut probe = Row::new();
        probe.insert("sender_account_id".into(), sender["id"].clone());
        let Ok(owner) = crate::rows::owner_in(sender, "workspace_id") else {
            return;
        };
        let Ok(Some(secrets)) = self
            .access
            .rows()
            .find_unique_of(secrets_table, unique, &probe, owner)
            .await
        else {
            return;
        };
        let Ok(sealed) = self.sealer.seal(token).await else {
            return;
        };
        let mut patch = Row::new();
        patch.insert("oauth_access_token".into(), json!(sealed));
        patch.insert("oauth_expires_at".into(), json!(timestamp_text(expires)));
        if let Some(id) = secrets["id"].as_str()
            && let Err(e) = self
                .access
                .rows()
                .update(secrets_table, Some(&owner.to_string()), id, patch)
                .await
        {
            tracing::warn!(error = %e, "storing a refreshed access token failed");
        }
    }
}

impl SenderAccounts {
    /// Creates a sender account with its sealed credentials; the credentials are checked
    /// with the provider first (SMTP: EHLO and AUTH; SendGrid: the key's scopes; Mailchimp
    /// Transactional: a ping), so a typo is refused before anything is saved.
    pub async fn connect(&self, actor: &Actor, request: ConnectRequest) -> Result<Row, SendError> {
        self.connect_with(actor, request, KeyCheck::WithTheMailer)
            .await
    }

    /// [`Self::connect`], the credentials checked as `check` says.
    pub(super) async fn connect_with(
        &self,
        actor: &Actor,
        request: ConnectRequest,
        check: KeyCheck,
    ) -> Result<Row, SendError> {
        let owner = actor.owner()?;
        let mut metadata = request.metadata.clone();
        let credentials = match (
            request.provider.as_str(),
            &request.smtp,
            &request.api_key,
            &request.oauth,
        ) {
            ("smtp", Some(smtp), None, None) => {
                let security = match smtp.security.as_deref() {
                    None | Some("starttls") => SmtpSecurity::StartTls,
                    Some("ssl") => SmtpSecurity::Implicit,
                    Some("none") => SmtpSecurity::None,
                    Some(_) => {
                        return Err(invalid("smtp.security", "must be starttls, ssl or none"));
                    }
                };
                if let Some(security) = &smtp.security {
                    metadata.insert("smtp_security".into(), json!(security));
                }
                Credentials::Smtp {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    username: smtp.username.clone(),
                    password: smtp.password.clone(),
                    security,
                }
            }
            ("sendgrid" | "mailchimp", None, Some(key), None) if !key.trim().is_empty() => {
                Credentials::ApiKey(key.clone())
            }
            ("gmail", None, None, Some(oauth)) => Credentials::OAuth {
                access_token: oauth.access_token.clone(),
                refresh_token: oauth.refresh_token.clone(),
                expires_at: None,
            },
            ("smtp" | "sendgrid" | "mailchimp" | "gmail", _, _, _) => {
                return Err(invalid(
                    "provider",
                    "smtp needs `smtp`, sendgrid and mailchimp need `api_key`, gmail needs `oauth`",
                ));
            }
            _ => {
                return Err(invalid(
                    "provider",
                    "must be one of gmail, smtp, sendgrid, mailchimp",
                ));
            }
        };
        if let (KeyCheck::WithTheMailer, Some(mailer)) =
            (check, self.mailers.for_provider(&request.provider))
        {
            // SMTP logs in; SendGrid reads the key's permissions; Mailchimp Transactional
            // answers a ping. A sender that could not send is refused now, with the reason.
            let (field, server) = match request.provider.as_str() {
                "smtp" => ("smtp", "the server"),
                _ => ("api_key", "the provider"),
            };
            mailer
                .verify(&credentials)
                .await
                .map_err(|error| match error {
                    MailError::Auth(reason) => {
                        invalid(field, format!("{server} refused the credentials: {reason}"))
                    }
                    other => invalid(field, format!("{server} could not be reached: {other}")),
                })?;
        }
        let account = to_row(&NewSender {
            provider: &request.provider,
            from_email: &request.from_email,
            from_name: &request.from_name,
            display_name: &request.display_name,
            is_default: request.is_default,
            use_for_outreach: request.use_for_outreach.unwrap_or(true),
            warmup_enabled: request.warmup_enabled,
            metadata: &metadata,
        })?;
        let created = self
            .access
            .create(actor, "sender_accounts", account)
            .await?;
        let sender_id = created["id"].clone();
        let seal = |text: String| {
            let sealer = self.sealer.clone();
            async move {
                sealer
                    .seal(&text)
                    .await
                    .map_err(|e| invalid("credentials", e.to_string()))
            }
        };
        let mut secrets = SenderSecrets::of(&sender_id);
        match credentials {
            Credentials::Smtp {
                host,
                port,
                username,
                password,
                ..
            } => {
                secrets.smtp_host = Some(host);
                secrets.smtp_port = Some(port);
                secrets.smtp_user = Some(seal(username).await?);
                secrets.smtp_pass = Some(seal(password).await?);
            }
            Credentials::ApiKey(key) => secrets.api_key = Some(seal(key).await?),
            Credentials::OAuth {
                access_token,
                refresh_token,
                ..
            } => {
                secrets.oauth_access_token = Some(seal(access_token).await?);
                if let Some(refresh) = refresh_token {
                    secrets.oauth_refresh_token = Some(seal(refresh).await?);
                }
                secrets.oauth_expires_at =
                    request.oauth.as_ref().and_then(|o| o.expires_at.clone());
            }
            // Connecting never yields a mailbox login (reply detection stores its own).
            Credentials::Imap { .. } | Credentials::None => {}
        }
        let secrets = to_row(&secrets)?;
        let secrets_table = &schema::SENDER_ACCOUNT_SECRETS;
        if let Err(error) = self
            .access
            .rows()
            .create(secrets_table, Some(&owner.to_string()), secrets)
            .await
        {
            // No account without its credentials.
            let _ = self
                .access
                .rows()
                .delete(
                    &schema::SENDER_ACCOUNTS,
                    Some(&owner.to_string()),
                    sender_id.as_str().unwrap_or_default(),
                )
                .await;
            return Err(error.into());
        }
        Ok(created)
    }
}

/// What the server's OAuth flow brings for a Gmail mailbox.
#[derive(Debug, Clone)]
pub struct GmailMailbox<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub grant: &'a scaliyo_store::Grant,
}

impl SenderAccounts {
    /// A Gmail mailbox connected by the server's OAuth flow (docs/oauth.md): the workspace's
    /// `gmail` sender with this address gets the new tokens and is `connected` again (a
    /// reconnect after `needs_reauth`), else a sender is created with them.
    pub async fn connect_gmail(
        &self,
        owner: OwnerId,
        mailbox: GmailMailbox<'_>,
    ) -> Result<Row, SendError> {
        let tokens = OAuthTokens {
            access_token: mailbox.grant.access_token.clone(),
            refresh_token: mailbox.grant.refresh_token.clone(),
            expires_at: mailbox.grant.expires_at.map(timestamp_text),
        };
        let existing = self.senders_of(owner).await?.into_iter().find(|sender| {
            sender["provider"] == "gmail"
                && sender["from_email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(mailbox.email))
        });
        let Some(sender) = existing else {
            let name = mailbox.name.unwrap_or_default();
            let mut metadata = serde_json::Map::new();
            metadata.insert("connected_by".into(), json!("oauth"));
            let request = ConnectRequest {
                provider: "gmail".into(),
                from_email: mailbox.email.to_owned(),
                from_name: name.to_owned(),
                display_name: if name.is_empty() { mailbox.email } else { name }.to_owned(),
                is_default: false,
                use_for_outreach: None,
                warmup_enabled: false,
                metadata,
                smtp: None,
                api_key: None,
                oauth: Some(tokens),
            };
            return self.connect(&Actor::acting_for(owner), request).await;
        };
        self.replace_oauth_tokens(owner, &sender, tokens).await?;
        self.reconnected(owner, &sender, Row::new()).await
    }

    /// A sender whose credentials were just replaced: `connected` again, with `patch`.
    pub(super) async fn reconnected(
        &self,
        owner: OwnerId,
        sender: &Row,
        mut patch: Row,
    ) -> Result<Row, SendError> {
        patch.insert("status".into(), json!(SenderStatus::Connected));
        let id = sender["id"].as_str().unwrap_or_default();
        Ok(self
            .access
            .rows()
            .update(
                &schema::SENDER_ACCOUNTS,
                Some(&owner.to_string()),
                id,
                patch,
            )
            .await?)
    }

    /// Seals new OAuth tokens into a sender's secrets row (created if it has none). A grant
    /// without a refresh token keeps the one stored.
    async fn replace_oauth_tokens(
        &self,
        owner: OwnerId,
        sender: &Row,
        tokens: OAuthTokens,
    ) -> Result<(), SendError> {
        let seal = |text: String| {
            let sealer = self.sealer.clone();
            async move {
                sealer
                    .seal(&text)
                    .await
                    .map_err(|e| invalid("credentials", e.to_string()))
            }
        };
        let mut patch = Row::new();
        patch.insert(
            "oauth_access_token".into(),
            json!(seal(tokens.access_token).await?),
        );
        if let Some(refresh) = tokens.refresh_token {
            patch.insert("oauth_refresh_token".into(), json!(seal(refresh).await?));
        }
        patch.insert("oauth_expires_at".into(), json!(tokens.expires_at));
        self.replace_secrets(owner, sender, patch).await
    }

    /// Writes already sealed secret columns into a sender's secrets row (created if it has
    /// none).
    pub(super) async fn replace_secrets(
        &self,
        owner: OwnerId,
        sender: &Row,
        mut patch: Row,
    ) -> Result<(), SendError> {
        let secrets_table = &schema::SENDER_ACCOUNT_SECRETS;
        let unique = secrets_table.uniques.first().ok_or_else(|| {
            crate::rows::RowError::Invariant(
                "sender_account_secrets declares no unique constraint".into(),
            )
        })?;
        let mut probe = Row::new();
        probe.insert("sender_account_id".into(), sender["id"].clone());
        let rows = self.access.rows();
        let partition = owner.to_string();
        match rows
            .find_unique_of(secrets_table, unique, &probe, owner)
            .await?
        {
            Some(secrets) => {
                let id = secrets["id"].as_str().unwrap_or_default();
                rows.update(secrets_table, Some(&partition), id, patch)
                    .await?;
            }
            None => {
                patch.insert("sender_account_id".into(), sender["id"].clone());
                rows.create(secrets_table, Some(&partition), patch).await?;
            }
        }
        Ok(())
    }
}
