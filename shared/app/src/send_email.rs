//! `send_email`: one e-mail to one lead, as the outreach tools people pay for do it — pick a
//! sender, refuse suppressed recipients, render, reserve every cap in one transaction, track,
//! send through the sender's provider, record, and give the reservation back on failure.
//! The scheduler (issue 7) sends through this same pipeline.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use scaliyo_domain::email::{self, MergeValues, RenderError};
use scaliyo_domain::schema;
use scaliyo_store::{
    Clock, CmpOp, Condition, Credentials, Item, Key, MailError, OutgoingEmail, Sealer,
    SmtpSecurity, StoreError, Update, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, timestamp_text};
use crate::usage::{day_key, month_key};
use crate::webhooks::WebhookEmitter;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub lead_id: String,
    pub sender_account_id: Option<String>,
    pub template_id: Option<String>,
    pub subject: Option<String>,
    pub html_body: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub track_opens: bool,
    #[serde(default = "yes")]
    pub track_clicks: bool,
    /// Adds a hidden link no reader sees: anything that follows it is a machine (scanners
    /// follow every link). Needs `track_clicks`.
    #[serde(default)]
    pub honeypot_link: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SendOutcome {
    pub message_id: String,
    pub status: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub sender_account_id: String,
    pub to_email: String,
    pub tracked_links: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the recipient unsubscribed, bounced or reported spam")]
    Suppressed,
    #[error("the {limit} limit is reached")]
    QuotaExceeded { limit: &'static str },
    #[error("no sender account can send: {0}")]
    NoSender(String),
    #[error("a send with this Idempotency-Key is still in progress")]
    InProgress,
    #[error("the provider did not accept the message: {error}")]
    Provider {
        error: MailError,
        message_id: String,
    },
    /// A bug was hit while sending (a panic, caught): nothing was sent, what was reserved was
    /// given back, the idempotency marker settled. Retrying the same message would hit it again.
    #[error("an internal error stopped this send; nothing was sent")]
    Crashed,
}

/// Runs one stage of a send, turning a panic into [`SendError::Crashed`] so that what the
/// stage's caller reserved or claimed is released rather than left behind.
async fn guarded<T>(
    stage: &'static str,
    work: impl std::future::Future<Output = Result<T, SendError>>,
) -> Result<T, SendError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(stage, "a send stage panicked; nothing was sent");
            Err(SendError::Crashed)
        }
    }
}

impl From<RowError> for SendError {
    fn from(error: RowError) -> Self {
        SendError::Access(AccessError::Row(error))
    }
}

impl From<StoreError> for SendError {
    fn from(error: StoreError) -> Self {
        SendError::Access(AccessError::Row(RowError::Store(error)))
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SendError {
    SendError::Invalid {
        field,
        reason: reason.into(),
    }
}

pub use scaliyo_store::mail::Mailers;

#[derive(Clone)]
pub struct SendConfig {
    /// Base of the tracking URLs: `<base>/t/o/<token>.gif`, `<base>/t/c/<token>`, `<base>/u/<token>`.
    pub tracking_base_url: String,
}

#[derive(Clone)]
pub struct SendPipeline {
    access: Arc<Access>,
    sealer: Arc<dyn Sealer>,
    mailers: Mailers,
    clock: Arc<dyn Clock>,
    config: SendConfig,
    webhooks: Option<WebhookEmitter>,
}

/// Suppression entries live beside the workspace's rows: one item per address.
pub fn suppression_key(owner: &str, email: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("suppress#{}", email.trim().to_lowercase()),
    )
}

/// Tracking tokens resolve without an owner: one item per token.
pub fn token_key(token: &str) -> Key {
    Key::new(format!("TRK#{token}"), "TRK")
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn idempotency_key(owner: &str, key: &str) -> Key {
    Key::new(layout::owner_partition(owner), format!("idem#send#{key}"))
}

/// A sender with what it may still send today.
struct Candidate {
    row: Row,
    cap: i64,
    sent_today: i64,
}

impl SendPipeline {
    pub fn new(
        access: Arc<Access>,
        sealer: Arc<dyn Sealer>,
        mailers: Mailers,
        clock: Arc<dyn Clock>,
        config: SendConfig,
    ) -> Self {
        Self {
            access,
            sealer,
            mailers,
            clock,
            config,
            webhooks: None,
        }
    }

    /// `email.sent` / `email.failed` go to the owner's webhooks.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    fn table(name: &str) -> &'static schema::Table {
        schema::table(name).unwrap_or(&schema::TABLES[0])
    }

    /// The whole send, with an optional Idempotency-Key.
    pub async fn send(
        &self,
        actor: &Actor,
        request: SendRequest,
        idempotency: Option<&str>,
    ) -> Result<SendOutcome, SendError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let marker = match idempotency {
            Some(key) if key.is_empty() || key.len() > 255 => {
                return Err(invalid("Idempotency-Key", "must be 1 to 255 characters"));
            }
            Some(key) => match self.claim_marker(&owner, key, None).await? {
                MarkerClaim::Claimed { marker, .. } => Some(marker),
                MarkerClaim::Done(outcome) => return Ok(*outcome),
            },
            None => None,
        };
        let result = guarded("send", self.send_once(actor, &owner, request)).await;
        if let Some(marker) = marker {
            self.settle_marker(marker, &result).await?;
        }
        result
    }

    /// Sends an e-mail rendered ahead of time (a scheduled row) for `owner`, exactly once per
    /// `idempotency` key as far as the world allows: the key's marker is claimed before the
    /// provider is called, a marker left `in_progress` longer than `stale_after` (its sender
    /// crashed) may be taken over, and a takeover first looks for the message the crashed
    /// attempt may have recorded (its id is derived from the key) before sending again.
    pub async fn send_prepared(
        &self,
        owner: &str,
        prepared: PreparedSend,
        idempotency: &str,
        stale_after: chrono::Duration,
    ) -> Result<SendOutcome, SendError> {
        let actor = Actor::acting_for(owner)?;
        let message_id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("scaliyo:send:{owner}:{idempotency}").as_bytes(),
        )
        .to_string();
        let (marker, taken_over) = match self
            .claim_marker(owner, idempotency, Some(stale_after))
            .await?
        {
            MarkerClaim::Claimed { marker, taken_over } => (marker, taken_over),
            MarkerClaim::Done(outcome) => return Ok(*outcome),
        };
        // Only a sent message is recorded under the derived id, and only a crashed attempt
        // can have left one behind: look for it on a takeover only.
        let recorded = if taken_over {
            let messages = Self::table("email_messages");
            self.access
                .rows()
                .get(messages, Some(owner), &message_id)
                .await?
        } else {
            None
        };
        let result = match recorded {
            // The crashed attempt got as far as recording its message: it was sent.
            Some(message) => Ok(SendOutcome {
                message_id: message_id.clone(),
                status: message["status"].as_str().unwrap_or("sent").to_owned(),
                provider: message["provider"].as_str().unwrap_or_default().to_owned(),
                provider_message_id: message["provider_message_id"].as_str().map(str::to_owned),
                sender_account_id: String::new(),
                to_email: message["to_email"].as_str().unwrap_or_default().to_owned(),
                tracked_links: 0,
            }),
            None => {
                guarded(
                    "scheduled send",
                    self.send_prepared_once(&actor, owner, prepared, message_id),
                )
                .await
            }
        };
        self.settle_marker(marker, &result).await?;
        result
    }

    async fn send_prepared_once(
        &self,
        actor: &Actor,
        owner: &str,
        prepared: PreparedSend,
        message_id: String,
    ) -> Result<SendOutcome, SendError> {
        let lead = self.access.get(actor, "leads", &prepared.lead_id).await?;
        self.refuse_suppressed(owner, &prepared.to_email).await?;
        let request = SendRequest {
            lead_id: prepared.lead_id,
            sender_account_id: None,
            template_id: None,
            subject: Some(prepared.subject.clone()),
            html_body: Some(prepared.html_body.clone()),
            variables: BTreeMap::new(),
            track_opens: true,
            track_clicks: true,
            honeypot_link: false,
        };
        let subject = prepared.subject.replace(['\r', '\n'], " ");
        self.dispatch(
            actor,
            owner,
            &lead,
            prepared.to_email,
            subject,
            &prepared.html_body,
            &request,
            message_id,
            true,
        )
        .await
    }

    /// Claims an Idempotency-Key for one attempt, or returns the outcome it already has.
    async fn claim_marker(
        &self,
        owner: &str,
        key: &str,
        stale_after: Option<chrono::Duration>,
    ) -> Result<MarkerClaim, SendError> {
        let store = self.access.rows().store().clone();
        let marker = idempotency_key(owner, key);
        let now = self.clock.now();
        let expires = (now + chrono::Duration::hours(24)).timestamp();
        let claim = Item::new(&marker)
            .with("state", "in_progress")
            .with("started", now.timestamp())
            .with(scaliyo_store::table::TTL, expires);
        match store.transact_write(vec![WriteOp::put_new(claim)]).await {
            Ok(()) => {
                return Ok(MarkerClaim::Claimed {
                    marker,
                    taken_over: false,
                });
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let existing = store.get(&marker).await?;
        if let Some(response) = existing.as_ref().and_then(|i| i.str("response")) {
            return serde_json::from_str(response)
                .map(|outcome| MarkerClaim::Done(Box::new(outcome)))
                .map_err(|e| invalid("Idempotency-Key", e.to_string()));
        }
        let started = existing.as_ref().and_then(|i| i.i64("started"));
        match (stale_after, started) {
            (Some(stale_after), Some(started)) if started <= (now - stale_after).timestamp() => {
                let takeover = Update::new().set("started", now.timestamp());
                match store
                    .update(&marker, takeover, Some(Condition::eq("started", started)))
                    .await
                {
                    Ok(_) => {
                        tracing::warn!(owner, "taking over a send whose sender stopped mid-way");
                        Ok(MarkerClaim::Claimed {
                            marker,
                            taken_over: true,
                        })
                    }
                    Err(StoreError::ConditionFailed { .. }) => Err(SendError::InProgress),
                    Err(e) => Err(e.into()),
                }
            }
            _ => Err(SendError::InProgress),
        }
    }

    /// Keeps a finished attempt's outcome for replays; a refused one frees the key.
    async fn settle_marker(
        &self,
        marker: Key,
        result: &Result<SendOutcome, SendError>,
    ) -> Result<(), SendError> {
        let store = self.access.rows().store().clone();
        match result {
            Ok(outcome) => {
                let response = serde_json::to_string(outcome).unwrap_or_default();
                let update = Update::new().set("state", "done").set("response", response);
                store.update(&marker, update, None).await?;
            }
            // A refused request may be retried with the same key.
            Err(_) => {
                let _ = store.transact_write(vec![WriteOp::delete(marker)]).await;
            }
        }
        Ok(())
    }

    async fn refuse_suppressed(&self, owner: &str, to_email: &str) -> Result<(), SendError> {
        let store = self.access.rows().store();
        if store
            .get(&suppression_key(owner, to_email))
            .await?
            .is_some()
        {
            tracing::info!(owner, "send refused: recipient suppressed");
            return Err(SendError::Suppressed);
        }
        Ok(())
    }

    async fn send_once(
        &self,
        actor: &Actor,
        owner: &str,
        request: SendRequest,
    ) -> Result<SendOutcome, SendError> {
        let lead = self.access.get(actor, "leads", &request.lead_id).await?;
        let to_email = [lead["primary_email"].as_str(), lead["email"].as_str()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|e| e.contains('@'))
            .ok_or_else(|| invalid("lead_id", "the lead has no e-mail address"))?
            .to_owned();
        self.refuse_suppressed(owner, &to_email).await?;

        let (subject_template, body_template) =
            match (&request.template_id, &request.subject, &request.html_body) {
                (Some(template_id), None, None) => {
                    let template = self
                        .access
                        .get(actor, "email_templates", template_id)
                        .await?;
                    (
                        template["subject_template"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        template["body_template"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                }
                (None, Some(subject), Some(body)) => (subject.clone(), body.clone()),
                _ => {
                    return Err(invalid(
                        "template_id",
                        "give either template_id, or subject and html_body",
                    ));
                }
            };
        if subject_template.trim().is_empty() || body_template.trim().is_empty() {
            return Err(invalid(
                "subject",
                "the subject and the body must not be empty",
            ));
        }
        let values = merge_values(&lead, &request.variables);
        let rendered = |template: &str, html: bool| {
            email::render(template, &values, html).map_err(|e| match e {
                RenderError::UnknownTags(tags) => {
                    invalid("body", format!("unknown merge tag(s): {}", tags.join(", ")))
                }
                RenderError::Unclosed => invalid("body", "a merge tag is not closed"),
            })
        };
        let subject = rendered(&subject_template, false)?.replace(['\r', '\n'], " ");
        let body = rendered(&body_template, true)?;
        let message_id = uuid::Uuid::new_v4().to_string();
        self.dispatch(
            actor, owner, &lead, to_email, subject, &body, &request, message_id, false,
        )
        .await
    }

    /// From a rendered message to a recorded send: choose a sender, reserve the caps,
    /// deliver, record — and refund the reservation when the provider refuses.
    #[allow(clippy::too_many_arguments)]
    async fn dispatch(
        &self,
        actor: &Actor,
        owner: &str,
        lead: &Row,
        to_email: String,
        subject: String,
        body: &str,
        request: &SendRequest,
        message_id: String,
        keyed: bool,
    ) -> Result<SendOutcome, SendError> {
        let store = self.access.rows().store().clone();
        let now = self.clock.now();
        let candidates = self
            .candidates(actor, owner, request.sender_account_id.as_deref(), now)
            .await?;
        let (sender, reservation) = self.reserve(owner, candidates, now).await?;
        let sender_id = sender["id"].as_str().unwrap_or_default().to_owned();
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        tracing::info!(owner, sender = %sender_id, provider = %provider, "sender chosen");

        let draft = Draft {
            owner,
            lead,
            sender: &sender,
            message_id,
            to_email: to_email.clone(),
            subject,
            provider: provider.clone(),
            request,
        };
        match guarded("delivery", self.deliver(&draft, body)).await {
            Ok((provider_message_id, links)) => {
                self.record(&draft, provider_message_id.clone(), "sent")
                    .await?;
                if let Some(webhooks) = &self.webhooks {
                    let data = json!({
                        "message_id": draft.message_id,
                        "lead_id": lead.get("id"),
                        "to_email": to_email,
                        "subject": draft.subject,
                        "sender_account_id": sender_id,
                        "provider": provider,
                    });
                    webhooks
                        .emit(owner, "email.sent", &draft.message_id, data)
                        .await;
                }
                Ok(SendOutcome {
                    message_id: draft.message_id,
                    status: "sent".into(),
                    provider,
                    provider_message_id,
                    sender_account_id: sender_id,
                    to_email,
                    tracked_links: links,
                })
            }
            Err(error) => {
                // Give back what the send reserved; it did not happen.
                if let Err(e) = store.transact_write(reservation.refund).await {
                    tracing::warn!(error = %e, "refunding a failed send's reservation failed");
                }
                if let SendError::Provider {
                    error: MailError::Auth(_),
                    ..
                } = &error
                {
                    let senders = Self::table("sender_accounts");
                    let mut patch = Row::new();
                    patch.insert("status".into(), json!("needs_reauth"));
                    let _ = self
                        .access
                        .rows()
                        .update(senders, Some(owner), &sender_id, patch)
                        .await;
                }
                if let SendError::Provider { error, .. } = error {
                    // A keyed send (a scheduled row) keeps its derived id for the attempt that
                    // goes through: the failure is recorded under an id of its own.
                    let failed = Draft {
                        message_id: if keyed {
                            uuid::Uuid::new_v4().to_string()
                        } else {
                            draft.message_id.clone()
                        },
                        ..draft
                    };
                    self.record(&failed, None, "failed").await?;
                    if let Some(webhooks) = &self.webhooks {
                        let data = json!({
                            "message_id": failed.message_id,
                            "lead_id": lead.get("id"),
                            "to_email": failed.to_email,
                            "subject": failed.subject,
                            "sender_account_id": sender_id,
                            "provider": failed.provider,
                            "error": error.to_string(),
                        });
                        webhooks
                            .emit(owner, "email.failed", &failed.message_id, data)
                            .await;
                    }
                    return Err(SendError::Provider {
                        error,
                        message_id: failed.message_id,
                    });
                }
                Err(error)
            }
        }
    }

    /// The caller's senders that may send now, best first: the default account, then the one
    /// with most capacity left today, then the healthiest.
    async fn candidates(
        &self,
        actor: &Actor,
        owner: &str,
        named: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, SendError> {
        let senders = Self::table("sender_accounts");
        let rows = match named {
            Some(id) => vec![self.access.get(actor, "sender_accounts", id).await?],
            None => {
                let mut all = Vec::new();
                let mut cursor = None;
                loop {
                    let page = self
                        .access
                        .rows()
                        .list(
                            senders,
                            Some(owner),
                            crate::rows::ListRequest {
                                limit: 100,
                                cursor,
                                ..Default::default()
                            },
                        )
                        .await?;
                    all.extend(page.rows);
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                all
            }
        };
        let today = day_key(now);
        let mut candidates: Vec<Candidate> = rows
            .into_iter()
            .filter(|s| s["status"] == "connected" && s["use_for_outreach"] == json!(true))
            .map(|row| {
                let provider = row["provider"].as_str().unwrap_or_default();
                let daily = row["metadata"]["daily_limit"]
                    .as_i64()
                    .unwrap_or_else(|| email::default_daily_cap(provider));
                let cap = if row["warmup_enabled"] == json!(true) {
                    email::warmup_cap(warmup_day(&row, now), daily)
                } else {
                    daily
                };
                let sent_today = if row["daily_sent_date"] == today.as_str() {
                    row["daily_sent_today"].as_i64().unwrap_or(0)
                } else {
                    0
                };
                Candidate {
                    row,
                    cap,
                    sent_today,
                }
            })
            .collect();
        if candidates.is_empty() {
            return Err(SendError::NoSender(match named {
                Some(_) => {
                    "the named sender account is not connected or not used for outreach".into()
                }
                None => "connect a sender account used for outreach first".into(),
            }));
        }
        candidates.sort_by_key(|c| {
            (
                c.row["is_default"] != json!(true),
                -(c.cap - c.sent_today),
                -c.row["health_score"].as_i64().unwrap_or(100),
            )
        });
        Ok(candidates)
    }

    /// Reserves one send on the sender's daily (and warm-up) cap, the plan's monthly e-mail
    /// limit and the workspace counters — one transaction, each limit a condition in it. A
    /// sender at its cap hands over to the next candidate.
    async fn reserve(
        &self,
        owner: &str,
        candidates: Vec<Candidate>,
        now: DateTime<Utc>,
    ) -> Result<(Row, Reservation), SendError> {
        let store = self.access.rows().store().clone();
        let rows = self.access.rows();
        let plan_limit = i64::from(self.access.plan_of(owner).await?.limits().emails_per_month);
        let today = day_key(now);
        let month = month_key(now);
        let outbound = Self::table("outbound_usage");
        let outbound_unique = outbound
            .uniques
            .first()
            .ok_or_else(|| invalid("outbound_usage", "no unique constraint"))?;
        let counters = Self::table("workspace_usage_counters");
        let counters_unique = counters
            .uniques
            .first()
            .ok_or_else(|| invalid("workspace_usage_counters", "no unique constraint"))?;
        let mut last_refusal = "sender_daily";
        for candidate in candidates {
            let sender_id = candidate.row["id"].as_str().unwrap_or_default().to_owned();
            let sender_key =
                layout::row_key(Self::table("sender_accounts"), Some(owner), &sender_id);
            let warmup = candidate.row["warmup_enabled"] == json!(true);
            let stamp = timestamp_text(now);
            let mut same_day = Update::new()
                .add("daily_sent_today", 1)
                .add("_v", 1)
                .set("updated_at", stamp.as_str());
            let mut new_day = Update::new()
                .set("daily_sent_today", 1)
                .set("daily_sent_date", today.as_str())
                .add("_v", 1)
                .set("updated_at", stamp.as_str());
            if warmup {
                same_day = same_day.add("warmup_daily_sent", 1);
                new_day = new_day.set("warmup_daily_sent", 1);
            }
            let sender_ops = [
                WriteOp::Update {
                    key: sender_key.clone(),
                    update: same_day,
                    condition: Some(
                        Condition::item_exists()
                            .and(Condition::eq("status", "connected"))
                            .and(Condition::eq("daily_sent_date", today.as_str()))
                            .and(Condition::cmp("daily_sent_today", CmpOp::Lt, candidate.cap)),
                    ),
                },
                WriteOp::Update {
                    key: sender_key.clone(),
                    update: new_day,
                    condition: Some(
                        Condition::item_exists()
                            .and(Condition::eq("status", "connected"))
                            .and(Condition::cmp("daily_sent_date", CmpOp::Ne, today.as_str()))
                            .and(Condition::cmp("daily_sent_today", CmpOp::Ge, 0)),
                    ),
                },
            ];
            let identity = |period: &str, key: &str, inbox: Option<&str>| {
                let mut identity = Row::new();
                identity.insert("workspace_id".into(), json!(owner));
                identity.insert(
                    "inbox_id".into(),
                    inbox.map(Value::from).unwrap_or(Value::Null),
                );
                identity.insert("channel".into(), json!("email"));
                identity.insert("period_type".into(), json!(period));
                identity.insert("period_key".into(), json!(key));
                identity
            };
            let (monthly_key, monthly) = rows.counter_ops(
                outbound,
                outbound_unique,
                identity("monthly", &month, None),
                &[("count", 1)],
                Some(("count", plan_limit)),
            )?;
            let (daily_key, daily) = rows.counter_ops(
                outbound,
                outbound_unique,
                identity("daily", &today, Some(&sender_id)),
                &[("count", 1)],
                None,
            )?;
            let mut workspace_identity = Row::new();
            workspace_identity.insert("workspace_id".into(), json!(owner));
            workspace_identity.insert("date_key".into(), json!(today));
            workspace_identity.insert("month_key".into(), json!(month));
            let warmup_add: &[(&str, i64)] = if warmup {
                &[("emails_sent", 1), ("warmup_emails_sent", 1)]
            } else {
                &[("emails_sent", 1)]
            };
            let (workspace_key, workspace) = rows.counter_ops(
                counters,
                counters_unique,
                workspace_identity,
                warmup_add,
                None,
            )?;
            let monthly_index = 1;
            for sender_op in sender_ops {
                let mut ops = vec![sender_op];
                ops.extend(monthly.clone());
                ops.extend(daily.clone());
                ops.extend(workspace.clone());
                match store.transact_write(ops).await {
                    Ok(()) => {
                        let mut refund = vec![
                            WriteOp::update(
                                sender_key.clone(),
                                Update::new().add("daily_sent_today", -1).add("_v", 1),
                            ),
                            WriteOp::update(monthly_key.clone(), Update::new().add("count", -1)),
                            WriteOp::update(daily_key.clone(), Update::new().add("count", -1)),
                        ];
                        let mut workspace_refund = Update::new().add("emails_sent", -1);
                        if warmup {
                            workspace_refund = workspace_refund.add("warmup_emails_sent", -1);
                            refund[0] = WriteOp::update(
                                sender_key.clone(),
                                Update::new()
                                    .add("daily_sent_today", -1)
                                    .add("warmup_daily_sent", -1)
                                    .add("_v", 1),
                            );
                        }
                        refund.push(WriteOp::update(workspace_key.clone(), workspace_refund));
                        return Ok((candidate.row, Reservation { refund }));
                    }
                    Err(StoreError::ConditionFailed { index: Some(0) }) => {
                        last_refusal = if warmup {
                            "sender_warmup"
                        } else {
                            "sender_daily"
                        };
                        continue;
                    }
                    Err(StoreError::ConditionFailed { index: Some(i) }) if i == monthly_index => {
                        tracing::info!(owner, "send refused: monthly e-mail limit");
                        return Err(SendError::QuotaExceeded {
                            limit: "monthly_emails",
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        tracing::info!(
            owner,
            limit = last_refusal,
            "send refused: every sender is at its cap"
        );
        Err(SendError::QuotaExceeded {
            limit: last_refusal,
        })
    }

    /// The provider's credentials of a sender, opened from their sealed form.
    async fn credentials(&self, sender: &Row) -> Result<Credentials, SendError> {
        let secrets_table = Self::table("sender_account_secrets");
        let sender_id = sender["id"].as_str().unwrap_or_default();
        let unique = secrets_table
            .uniques
            .first()
            .ok_or_else(|| invalid("sender_account_secrets", "no unique constraint"))?;
        let mut probe = Row::new();
        probe.insert("sender_account_id".into(), json!(sender_id));
        let owner = sender["workspace_id"].as_str().unwrap_or_default();
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

    /// Tracks, builds and sends; returns the provider's id and the number of tracked links.
    async fn deliver(
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
        let link_table = Self::table("email_links");
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

    async fn store_refreshed_token(&self, sender: &Row, token: &str, expires: DateTime<Utc>) {
        let secrets_table = Self::table("sender_account_secrets");
        let Some(unique) = secrets_table.uniques.first() else {
            return;
        };
        let mut probe = Row::new();
        probe.insert("sender_account_id".into(), sender["id"].clone());
        let owner = sender["workspace_id"].as_str().unwrap_or_default();
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
                .update(secrets_table, Some(owner), id, patch)
                .await
        {
            tracing::warn!(error = %e, "storing a refreshed access token failed");
        }
    }

    /// The message row, its audit entry and the day's "sent" analytics.
    async fn record(
        &self,
        draft: &Draft<'_>,
        provider_message_id: Option<String>,
        status: &str,
    ) -> Result<(), SendError> {
        let Draft {
            owner,
            lead,
            sender,
            request,
            ..
        } = *draft;
        let (message_id, to_email, subject, provider) = (
            draft.message_id.as_str(),
            draft.to_email.as_str(),
            draft.subject.as_str(),
            draft.provider.as_str(),
        );
        let rows = self.access.rows();
        let mut message = Row::new();
        message.insert("id".into(), json!(message_id));
        message.insert("lead_id".into(), lead["id"].clone());
        message.insert("owner_id".into(), json!(owner));
        message.insert("provider".into(), json!(provider));
        message.insert(
            "provider_message_id".into(),
            provider_message_id.map(Value::from).unwrap_or(Value::Null),
        );
        message.insert("subject".into(), json!(subject));
        message.insert("to_email".into(), json!(to_email));
        message.insert("from_email".into(), sender["from_email"].clone());
        message.insert("status".into(), json!(status));
        message.insert("track_opens".into(), json!(request.track_opens));
        message.insert("track_clicks".into(), json!(request.track_clicks));
        let messages = Self::table("email_messages");
        let message = rows.prepare(messages, message)?;
        let mut ops = rows.insert_ops(messages, None, &message, true)?;
        let mut audit = Row::new();
        audit.insert("user_id".into(), json!(owner));
        audit.insert(
            "action".into(),
            json!(if status == "sent" {
                "email.sent"
            } else {
                "email.failed"
            }),
        );
        audit.insert(
            "details".into(),
            json!(json!({ "message_id": message_id, "lead_id": lead["id"], "sender_account_id": sender["id"], "provider": provider }).to_string()),
        );
        let audit_logs = Self::table("audit_logs");
        let audit = rows.prepare(audit_logs, audit)?;
        ops.extend(rows.insert_ops(audit_logs, None, &audit, false)?);
        // Every message counts as sent in the analytics, as in the materialised view.
        if let Some(date) = crate::analytics::message_date(&message) {
            ops.extend(crate::analytics::on_message_ops(owner, &date));
        }
        // One commit for the records of a send.
        if let Err(error) = rows.store().transact_write(ops).await {
            // The lead may have been deleted while the message went out: it is sent all the same.
            tracing::warn!(owner, message_id, %error, "recording a sent message failed");
        }
        Ok(())
    }
}

/// An e-mail rendered ahead of time (a scheduled row): sent as it is, merge tags already
/// replaced; links are still tracked and the unsubscribe footer added at send time.
#[derive(Debug, Clone)]
pub struct PreparedSend {
    pub lead_id: String,
    pub to_email: String,
    pub subject: String,
    pub html_body: String,
}

enum MarkerClaim {
    /// This attempt holds the key; `taken_over` when a stopped attempt held it before.
    Claimed {
        marker: Key,
        taken_over: bool,
    },
    Done(Box<SendOutcome>),
}

/// The message being sent: who, to whom, through which sender.
struct Draft<'a> {
    owner: &'a str,
    lead: &'a Row,
    sender: &'a Row,
    message_id: String,
    to_email: String,
    subject: String,
    provider: String,
    request: &'a SendRequest,
}

/// What a reservation took, to give back if the send fails.
pub struct Reservation {
    refund: Vec<WriteOp>,
}

/// The warm-up day of a sender: from `metadata.warmup_started_at`, else its creation.
fn warmup_day(sender: &Row, now: DateTime<Utc>) -> i64 {
    let started = sender["metadata"]["warmup_started_at"]
        .as_str()
        .or(sender["created_at"].as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    (now.date_naive() - started.date_naive()).num_days() + 1
}

/// Merge values from a lead: its columns, `name` from first + last, `custom_fields.*`, then
/// the request's variables.
pub fn merge_values(lead: &Row, variables: &BTreeMap<String, String>) -> MergeValues {
    let mut values = MergeValues::new();
    for column in [
        "first_name",
        "last_name",
        "name",
        "company",
        "title",
        "email",
        "primary_email",
        "industry",
        "location",
        "linkedin_url",
    ] {
        let text = match &lead.get(column) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        values.insert(column.into(), text);
    }
    if values["first_name"].is_empty() && !values["name"].is_empty() {
        let first = values["name"]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        values.insert("first_name".into(), first);
    }
    if values["name"].is_empty() {
        let full = format!("{} {}", values["first_name"], values["last_name"])
            .trim()
            .to_owned();
        values.insert("name".into(), full);
    }
    if let Some(Value::Object(custom)) = lead.get("custom_fields") {
        for (key, value) in custom {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            values.insert(format!("custom_fields.{key}"), text);
        }
    }
    for (key, value) in variables {
        values.insert(key.clone(), value.clone());
    }
    values
}

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

impl SendPipeline {
    /// Creates a sender account with its sealed credentials; SMTP credentials are verified
    /// (EHLO and AUTH) first, so a typo is refused before anything is saved.
    pub async fn connect_sender(
        &self,
        actor: &Actor,
        request: ConnectRequest,
    ) -> Result<Row, SendError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
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
        if let Some(mailer) = self.mailers.for_provider(&request.provider) {
            mailer
                .verify(&credentials)
                .await
                .map_err(|error| match error {
                    MailError::Auth(reason) => invalid(
                        "smtp",
                        format!("the server refused the credentials: {reason}"),
                    ),
                    other => invalid("smtp", format!("the server could not be reached: {other}")),
                })?;
        }
        let mut account = Row::new();
        account.insert("provider".into(), json!(request.provider));
        account.insert("from_email".into(), json!(request.from_email));
        account.insert("from_name".into(), json!(request.from_name));
        account.insert("display_name".into(), json!(request.display_name));
        account.insert("is_default".into(), json!(request.is_default));
        account.insert(
            "use_for_outreach".into(),
            json!(request.use_for_outreach.unwrap_or(true)),
        );
        account.insert("warmup_enabled".into(), json!(request.warmup_enabled));
        account.insert("metadata".into(), Value::Object(metadata));
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
        let mut secrets = Row::new();
        secrets.insert("sender_account_id".into(), sender_id.clone());
        match credentials {
            Credentials::Smtp {
                host,
                port,
                username,
                password,
                ..
            } => {
                secrets.insert("smtp_host".into(), json!(host));
                secrets.insert("smtp_port".into(), json!(port));
                secrets.insert("smtp_user".into(), json!(seal(username).await?));
                secrets.insert("smtp_pass".into(), json!(seal(password).await?));
            }
            Credentials::ApiKey(key) => {
                secrets.insert("api_key".into(), json!(seal(key).await?));
            }
            Credentials::OAuth {
                access_token,
                refresh_token,
                ..
            } => {
                secrets.insert(
                    "oauth_access_token".into(),
                    json!(seal(access_token).await?),
                );
                if let Some(refresh) = refresh_token {
                    secrets.insert("oauth_refresh_token".into(), json!(seal(refresh).await?));
                }
                if let Some(expires) = request.oauth.as_ref().and_then(|o| o.expires_at.clone()) {
                    secrets.insert("oauth_expires_at".into(), json!(expires));
                }
            }
            Credentials::None => {}
        }
        let secrets_table = Self::table("sender_account_secrets");
        if let Err(error) = self
            .access
            .rows()
            .create(secrets_table, Some(&owner), secrets)
            .await
        {
            // No account without its credentials.
            let _ = self
                .access
                .rows()
                .delete(
                    Self::table("sender_accounts"),
                    Some(&owner),
                    sender_id.as_str().unwrap_or_default(),
                )
                .await;
            return Err(error.into());
        }
        Ok(created)
    }
}
