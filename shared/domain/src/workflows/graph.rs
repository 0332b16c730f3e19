//! The node graph of `workflows.nodes` (docs/workflows.md): one flat array, stable node ids,
//! exactly one trigger; a node with one exit has `next` (null = end), a branching node has
//! ordered `branches` (first match wins; a last branch without `when` is the else).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::filter::Filter;
use super::timing::{Delay, WindowConfig};

/// One node as the builder stores it. Unknown fields (positions, labels) are the builder's
/// and are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawNode {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub config: Value,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub branches: Option<Vec<Branch>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Filter>,
    #[serde(default)]
    pub next: Option<String>,
}

/// How a lead may enter the workflow again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reentry {
    /// Once per lead, ever.
    #[default]
    Never,
    /// Again once the previous run has ended.
    AfterExit,
    /// Again on every trigger (still one live run at a time).
    Always,
}

/// The trigger: which event enrols a lead (or manual enrolment), and the run-wide rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// For `trigger.lead_event`: the event (see [`TRIGGER_EVENTS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Only leads matching this enrol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub reentry: Reentry,
    /// With `reentry` after_exit / always: how long after the previous start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<Delay>,
    /// Events (or `status:<Status>`) that end a run from any state.
    #[serde(default)]
    pub exit_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_window: Option<WindowConfig>,
    /// For `trigger.manual`: the leads to enrol (else every lead matching `filter`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lead_ids: Vec<String>,
    /// For the builder's `status_change` alias: the status entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SendEmailConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateLeadConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_add: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_set: Option<i64>,
    /// Other columns, and `custom_fields.<key>` (merged into `custom_fields`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceStep {
    pub subject: String,
    pub html_body: String,
    #[serde(default)]
    pub delay_days: u32,
    #[serde(default)]
    pub delay_hours: u32,
    #[serde(default)]
    pub delay_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddToSequenceConfig {
    pub blocks: Vec<SequenceStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskConfig {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// The deadline, this many days after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_in_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCardConfig {
    pub board_id: String,
    pub list_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The event type the owner's webhooks subscribe to; `workflow.` + a name.
    #[serde(default = "default_webhook_event")]
    pub event: String,
    #[serde(default)]
    pub data: Value,
}

fn default_webhook_event() -> String {
    "workflow.action".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub subject: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WaitUntilConfig {
    /// A fixed instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Or a date field of the lead (`custom_fields.renewal_date`, `created_at`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Added to the field's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Delay>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitEventConfig {
    pub events: Vec<String>,
    /// The send node whose message the events are about (else any of the lead's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_of: Option<String>,
    pub timeout: Delay,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// One share per branch, in branch order, summing to 100.
    pub percentages: Vec<u32>,
}

/// What a node does, with its typed configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    LeadEventTrigger(TriggerConfig),
    ManualTrigger(TriggerConfig),
    SendEmail(SendEmailConfig),
    UpdateLead(UpdateLeadConfig),
    AddToSequence(AddToSequenceConfig),
    CreateTask(CreateTaskConfig),
    CreateCard(CreateCardConfig),
    Webhook(WebhookConfig),
    Notify(NotifyConfig),
    WaitDuration(Delay),
    WaitUntil(WaitUntilConfig),
    WaitEvent(WaitEventConfig),
    Condition,
    SplitRandom(SplitConfig),
}

impl NodeKind {
    pub fn trigger(&self) -> Option<&TriggerConfig> {
        match self {
            NodeKind::LeadEventTrigger(c) | NodeKind::ManualTrigger(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_wait(&self) -> bool {
        matches!(
            self,
            NodeKind::WaitDuration(_) | NodeKind::WaitUntil(_) | NodeKind::WaitEvent(_)
        )
    }

    /// Whether the node branches (and must have `branches` instead of `next`).
    pub fn branches(&self) -> bool {
        matches!(
            self,
            NodeKind::WaitEvent(_) | NodeKind::Condition | NodeKind::SplitRandom(_)
        )
    }

    /// An automated action (counted in `timeSavedHrs`).
    pub fn is_action(&self) -> bool {
        matches!(
            self,
            NodeKind::SendEmail(_)
                | NodeKind::UpdateLead(_)
                | NodeKind::AddToSequence(_)
                | NodeKind::CreateTask(_)
                | NodeKind::CreateCard(_)
                | NodeKind::Webhook(_)
                | NodeKind::Notify(_)
        )
    }
}

/// A node with its kind parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub next: Option<String>,
    pub branches: Vec<Branch>,
}

/// The lead events a trigger may name (`lead.imported` is a lead created by an import;
/// e-mail events count human opens and clicks only; `webhook.received` is the workflow's
/// inbound hook).
pub const TRIGGER_EVENTS: &[&str] = &[
    "lead.created",
    "lead.updated",
    "lead.status_changed",
    "lead.score_changed",
    "lead.imported",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.unsubscribed",
    "email.replied",
    "webhook.received",
];

/// Events a `wait.event` may wait for.
pub const WAIT_EVENTS: &[&str] = &["email.opened", "email.clicked", "email.replied"];

/// The events (besides `status:<Status>`) that may end a run.
pub const EXIT_EVENTS: &[&str] = &[
    "email.replied",
    "email.bounced",
    "email.unsubscribed",
    "lead.unsubscribed",
    "lead.deleted",
];

/// Why a node (or the graph) is refused; `node` names it for the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {node:?}: {reason}")]
pub struct GraphError {
    pub node: String,
    pub reason: String,
}

pub(super) fn node_error(node: &str, reason: impl Into<String>) -> GraphError {
    GraphError {
        node: node.to_owned(),
        reason: reason.into(),
    }
}

fn config<T: serde::de::DeserializeOwned + Default>(raw: &RawNode) -> Result<T, GraphError> {
    if raw.config.is_null() {
        return Ok(T::default());
    }
    typed(raw)
}

fn typed<T: serde::de::DeserializeOwned>(raw: &RawNode) -> Result<T, GraphError> {
    serde_json::from_value(raw.config.clone())
        .map_err(|e| node_error(&raw.id, format!("config: {e}")))
}

/// Parses one node's type and configuration, accepting the original builder's names
/// (`lead_created`, `status_change`, `score_change`, `time_elapsed`, `send_email`,
/// `update_status`).
pub fn parse_node(raw: &RawNode) -> Result<Node, GraphError> {
    let lead_event = |event: &str| -> Result<NodeKind, GraphError> {
        let mut trigger: TriggerConfig = config(raw)?;
        trigger.event.get_or_insert_with(|| event.to_owned());
        Ok(NodeKind::LeadEventTrigger(trigger))
    };
    let kind = match raw.kind.as_str() {
        "trigger.lead_event" => NodeKind::LeadEventTrigger(config(raw)?),
        "lead_created" => lead_event("lead.created")?,
        "status_change" => lead_event("lead.status_changed")?,
        "score_change" => lead_event("lead.score_changed")?,
        "trigger.manual" => NodeKind::ManualTrigger(config(raw)?),
        "action.send_email" | "send_email" => NodeKind::SendEmail(config(raw)?),
        "action.update_lead" | "update_status" => NodeKind::UpdateLead(config(raw)?),
        "action.add_to_sequence" => NodeKind::AddToSequence(typed(raw)?),
        "action.create_task" => NodeKind::CreateTask(typed(raw)?),
        "action.create_card" => NodeKind::CreateCard(typed(raw)?),
        "action.webhook" => NodeKind::Webhook(if raw.config.is_null() {
            WebhookConfig {
                event: default_webhook_event(),
                data: Value::Null,
            }
        } else {
            typed(raw)?
        }),
        "action.notify" => NodeKind::Notify(typed(raw)?),
        "wait.duration" | "time_elapsed" => NodeKind::WaitDuration(typed(raw)?),
        "wait.until" => NodeKind::WaitUntil(config(raw)?),
        "wait.event" => NodeKind::WaitEvent(typed(raw)?),
        "condition" => NodeKind::Condition,
        "split.random" => NodeKind::SplitRandom(typed(raw)?),
        other => return Err(node_error(&raw.id, format!("unknown node type {other:?}"))),
    };
    Ok(Node {
        id: raw.id.clone(),
        kind,
        next: raw.next.clone(),
        branches: raw.branches.clone().unwrap_or_default(),
    })
}
