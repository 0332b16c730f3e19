//! The action nodes, each applied at most once per (run, node, entry): an e-mail through the
//! send pipeline under a key derived from the step; a lead update and a task written in one
//! transaction with the step's record; a sequence under an id derived from the step; a
//! webhook event whose id is derived from the step.

use std::collections::BTreeMap;

use scaliyo_domain::email::{self, RenderError};
use scaliyo_domain::schema;
use scaliyo_domain::workflows::{Graph, Node, NodeKind, StepError, UpdateLeadConfig};
use serde_json::{Value, json};

use super::run::{Outcome, Run};
use super::*;
use crate::rows::{Row, RowError};
use crate::scheduler::{
    BlockSpec, ScheduleError, SequenceRequest, block_id, lead_address, next_allowed,
};
use crate::send::{PreparedSend, SendError, merge_values};

/// The send pipeline's idempotency key of a send node's current entry.
pub(super) fn send_key(run: &Run, node: &str) -> String {
    format!("workflow:{}", run.key(node))
}

/// A step-derived id (a task, a sequence) for the effect of `key`.
fn derived_id(kind: &str, key: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:workflow:{kind}:{key}").as_bytes(),
    )
    .to_string()
}

fn failure(code: &str, message: impl Into<String>, retryable: bool) -> Outcome {
    Outcome::Fail(StepError {
        code: code.into(),
        message: message.into(),
        retryable,
    })
}

fn done(result: Option<Value>, committed: bool, node: &Node) -> Outcome {
    Outcome::Next {
        next: node.next.clone(),
        branch: None,
        result,
        committed,
    }
}

/// An access error of an action as a step failure (a concurrent change is retried).
fn access_failure(error: AccessError) -> Outcome {
    match error {
        AccessError::Row(RowError::Concurrent) => {
            failure("concurrent", "changed meanwhile; retried", true)
        }
        AccessError::Row(RowError::NotFound) => {
            failure("not_found", "the row it needs is gone", false)
        }
        AccessError::Row(RowError::Store(e)) if e.is_retryable() => {
            failure("store", e.to_string(), true)
        }
        other => failure("refused", other.to_string(), false),
    }
}

impl Workflows {
    pub(super) async fn act(
        &self,
        run: &Run,
        graph: &Graph,
        node: &Node,
        lead: &Row,
        claim: &str,
    ) -> Result<Outcome, WorkflowError> {
        let started = self.clock.now();
        let lead_id = run.lead_id.clone().unwrap_or_default();
        let actor = Self::actor(run.owner);
        Ok(match &node.kind {
            NodeKind::SendEmail(config) => self.send_email(run, graph, node, lead, config).await?,
            NodeKind::UpdateLead(config) => {
                let patch = lead_patch(config, lead);
                let extra = self.step_extra(run, node, claim, None, started)?;
                match self
                    .access
                    .update_with(&actor, "leads", &lead_id, patch, vec![extra])
                    .await
                {
                    Ok(_) => done(None, true, node),
                    Err(error) => access_failure(error),
                }
            }
            NodeKind::CreateTask(config) => {
                let id = derived_id("task", &run.key(&node.id));
                let deadline = config.due_in_days.map(|days| {
                    (started + Duration::days(i64::from(days)))
                        .date_naive()
                        .to_string()
                });
                let mut row = Row::new();
                row.insert("title".into(), json!(config.title));
                row.insert("lead_id".into(), json!(lead_id));
                if let Some(priority) = &config.priority {
                    row.insert("priority".into(), json!(priority));
                }
                if let Some(deadline) = deadline {
                    row.insert("deadline".into(), json!(deadline));
                }
                let result = json!({ "task_id": id });
                let extra = self.step_extra(run, node, claim, Some(result.clone()), started)?;
                match self
                    .access
                    .create_with(&actor, "strategy_tasks", row, Some(id), vec![extra])
                    .await
                {
                    Ok(_) => done(Some(result), true, node),
                    Err(error) => access_failure(error),
                }
            }
            NodeKind::AddToSequence(config) => {
                let sequence_id = derived_id("sequence", &run.key(&node.id));
                let result = json!({ "sequence_id": sequence_id });
                let exists = self
                    .access
                    .rows()
                    .get(
                        &schema::SCHEDULED_EMAILS,
                        Some(&run.owner.to_string()),
                        &block_id(&sequence_id, 0),
                    )
                    .await?
                    .is_some();
                if exists {
                    return Ok(done(Some(result), false, node));
                }
                let request = SequenceRequest {
                    lead_ids: vec![lead_id],
                    blocks: config
                        .blocks
                        .iter()
                        .map(|b| BlockSpec {
                            subject: b.subject.clone(),
                            html_body: b.html_body.clone(),
                            delay_days: b.delay_days,
                            delay_hours: b.delay_hours,
                            delay_minutes: b.delay_minutes,
                            at: None,
                        })
                        .collect(),
                    start_at: None,
                    window: None,
                    variables: BTreeMap::new(),
                    sequence_id: Some(sequence_id),
                };
                match self.scheduling.schedule_sequence(&actor, request).await {
                    Ok(scheduled) if scheduled.sequences.is_empty() => {
                        let reason = scheduled
                            .skipped
                            .first()
                            .map(|s| s.reason)
                            .unwrap_or("skipped");
                        failure(reason, "the lead cannot be mailed", false)
                    }
                    Ok(_) => done(Some(result), false, node),
                    Err(ScheduleError::Access(error)) => access_failure(error),
                    Err(error) => failure("invalid", error.to_string(), false),
                }
            }
            NodeKind::Webhook(config) => {
                if let Some(webhooks) = &self.webhooks {
                    let data = json!({
                        "workflow_id": run.workflow_id,
                        "execution_id": run.id,
                        "node_id": node.id,
                        "lead": lead,
                        "data": config.data,
                    });
                    // The event id is derived from the step: a repeated step repeats the event.
                    webhooks
                        .emit(run.owner, &config.event, &run.key(&node.id), data)
                        .await;
                }
                done(None, false, node)
            }
            NodeKind::CreateCard(config) => {
                self.create_card(run, node, lead, config, claim).await?
            }
            NodeKind::Notify(config) => {
                let values = merge_values(lead, &BTreeMap::new());
                let render = |template: &str, html: bool| email::render(template, &values, html);
                let (Ok(subject), Ok(body)) =
                    (render(&config.subject, false), render(&config.body, true))
                else {
                    return Ok(failure(
                        "template",
                        "the notice has an unknown or unclosed merge tag",
                        false,
                    ));
                };
                let key = format!("workflow-notice:{}", run.key(&node.id));
                match self
                    .send
                    .notify_owner(run.owner, &subject, &body, &key, self.config.lease)
                    .await
                {
                    Ok(sent) => done(Some(json!({ "message_id": sent.message_id })), false, node),
                    Err(SendError::InProgress) => Outcome::Park(Waiting::Retry {
                        node: node.id.clone(),
                        at: self.clock.now() + Duration::minutes(1),
                    }),
                    Err(SendError::Provider { error, .. }) => {
                        failure("provider", error.to_string(), error.is_retryable())
                    }
                    Err(SendError::Access(error)) => access_failure(error),
                    Err(other) => failure("send", other.to_string(), false),
                }
            }
            _ => done(None, false, node),
        })
    }

    /// A Team Hub card on the configured list, linked to the lead (a lead has one active
    /// card link: when it has one already, the card is made without the link).
    async fn create_card(
        &self,
        run: &Run,
        node: &Node,
        lead: &Row,
        config: &scaliyo_domain::workflows::graph::CreateCardConfig,
        claim: &str,
    ) -> Result<Outcome, WorkflowError> {
        let started = self.clock.now();
        let actor = Self::actor(run.owner);
        let key = run.key(&node.id);
        let card_id = derived_id("card", &key);
        let mut card = Row::new();
        card.insert("board_id".into(), json!(config.board_id));
        card.insert("list_id".into(), json!(config.list_id));
        card.insert("title".into(), json!(config.title));
        let name = crate::rows::field(lead, "name")
            .as_str()
            .unwrap_or_default();
        let description = config
            .description
            .clone()
            .unwrap_or_else(|| format!("Lead: {name}"));
        card.insert("description".into(), json!(description));
        match self
            .access
            .create_with(
                &actor,
                "teamhub_cards",
                card,
                Some(card_id.clone()),
                Vec::new(),
            )
            .await
        {
            // Made by an earlier attempt of this step: go on to the link.
            Ok(_) | Err(AccessError::Row(RowError::Conflict { .. })) => {}
            Err(error) => return Ok(access_failure(error)),
        }
        let mut link = Row::new();
        link.insert("item_id".into(), json!(card_id));
        link.insert("lead_id".into(), json!(run.lead_id));
        let linked = json!({ "card_id": card_id, "linked": true });
        let extra = self.step_extra(run, node, claim, Some(linked.clone()), started)?;
        let link_id = derived_id("card-link", &key);
        Ok(
            match self
                .access
                .create_with(
                    &actor,
                    "teamhub_item_leads",
                    link,
                    Some(link_id),
                    vec![extra],
                )
                .await
            {
                Ok(_) => done(Some(linked), true, node),
                // The lead is on another card already (one active link per lead).
                Err(AccessError::Row(RowError::Conflict { .. })) => done(
                    Some(json!({ "card_id": card_id, "linked": false })),
                    false,
                    node,
                ),
                Err(error) => access_failure(error),
            },
        )
    }

    async fn send_email(
        &self,
        run: &Run,
        graph: &Graph,
        node: &Node,
        lead: &Row,
        config: &scaliyo_domain::workflows::SendEmailConfig,
    ) -> Result<Outcome, WorkflowError> {
        let actor = Self::actor(run.owner);
        let (subject, body) = match &config.template_id {
            Some(template) => match self.access.get(&actor, "email_templates", template).await {
                Ok(t) => (
                    crate::rows::field(&t, "subject_template")
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    crate::rows::field(&t, "body_template")
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                Err(error) => return Ok(access_failure(error)),
            },
            None => (
                config.subject.clone().unwrap_or_default(),
                config.html_body.clone().unwrap_or_default(),
            ),
        };
        let Some(to_email) = lead_address(lead) else {
            return Ok(failure("no_email", "the lead has no e-mail address", false));
        };
        let values = merge_values(lead, &BTreeMap::new());
        let render = |template: &str, html: bool| {
            email::render(template, &values, html).map_err(|e| match e {
                RenderError::UnknownTags(tags) => {
                    format!("unknown merge tag(s): {}", tags.join(", "))
                }
                RenderError::Unclosed => "a merge tag is not closed".to_owned(),
            })
        };
        let (subject, html_body) = match (render(&subject, false), render(&body, true)) {
            (Ok(s), Ok(b)) if !s.trim().is_empty() && !b.trim().is_empty() => {
                (s.replace(['\r', '\n'], " "), b)
            }
            (Err(e), _) | (_, Err(e)) => return Ok(failure("template", e, false)),
            _ => {
                return Ok(failure(
                    "template",
                    "the subject and the body must not be empty",
                    false,
                ));
            }
        };
        let prepared = PreparedSend {
            lead_id: run.lead_id.clone().unwrap_or_default(),
            to_email,
            subject,
            html_body,
        };
        let key = send_key(run, &node.id);
        let sent = self
            .send
            .send_prepared(run.owner, prepared, &key, self.config.lease)
            .await;
        Ok(match sent {
            Ok(outcome) => done(
                Some(json!({ "message_id": outcome.message_id })),
                false,
                node,
            ),
            Err(SendError::Suppressed) => {
                Outcome::Exit("exited_lead_unsubscribed_or_bounced".into())
            }
            Err(SendError::QuotaExceeded { limit }) => {
                let window = self.window_for(graph, lead);
                Outcome::Park(Waiting::Retry {
                    node: node.id.clone(),
                    at: next_allowed(self.clock.now(), limit, window.as_ref()),
                })
            }
            Err(SendError::InProgress) => Outcome::Park(Waiting::Retry {
                node: node.id.clone(),
                at: self.clock.now() + Duration::minutes(1),
            }),
            Err(SendError::Provider { error, .. }) => {
                failure("provider", error.to_string(), error.is_retryable())
            }
            Err(SendError::Access(error)) => access_failure(error),
            Err(other) => failure("send", other.to_string(), false),
        })
    }
}

/// The lead columns an `update_lead` node changes.
fn lead_patch(config: &UpdateLeadConfig, lead: &Row) -> Row {
    let mut patch = Row::new();
    if let Some(status) = &config.status {
        patch.insert("status".into(), json!(status));
    }
    let score = crate::rows::field(lead, "score").as_i64().unwrap_or(0);
    if let Some(set) = config.score_set {
        patch.insert("score".into(), json!(set));
    } else if let Some(add) = config.score_add {
        patch.insert("score".into(), json!(score.saturating_add(add)));
    }
    let mut custom = crate::rows::field(lead, "custom_fields")
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut custom_changed = false;
    for (field, value) in &config.fields {
        match field.strip_prefix("custom_fields.") {
            Some(key) => {
                custom.insert(key.to_owned(), value.clone());
                custom_changed = true;
            }
            None => {
                patch.insert(field.clone(), value.clone());
            }
        }
    }
    if custom_changed {
        patch.insert("custom_fields".into(), Value::Object(custom));
    }
    patch
}
