//! Workflows: the node graph of `workflows.nodes`, its validation at activation, the
//! conditions and timing its nodes use, and the step log of `workflow_executions.steps`.
//! Pure: the engine that runs it is `scaliyo_app::workflows`.

pub mod filter;
pub mod graph;
pub mod timing;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::status::LeadStatus;
pub use chrono_tz::Tz;
pub use filter::Filter;
use graph::node_error;
pub use graph::{
    Branch, EXIT_EVENTS, GraphError, Node, NodeKind, RawNode, Reentry, SendEmailConfig,
    TRIGGER_EVENTS, TriggerConfig, UpdateLeadConfig, WAIT_EVENTS, WaitUntilConfig,
};
pub use timing::{Delay, Unit, WindowConfig};

/// Every node type, with the original builder's names that are accepted as aliases.
pub const NODE_TYPES: &[&str] = &[
    "trigger.lead_event",
    "trigger.manual",
    "action.send_email",
    "action.update_lead",
    "action.add_to_sequence",
    "action.create_task",
    "action.create_card",
    "action.webhook",
    "action.notify",
    "wait.duration",
    "wait.until",
    "wait.event",
    "condition",
    "split.random",
    "lead_created",
    "status_change",
    "score_change",
    "time_elapsed",
    "send_email",
    "update_status",
];

/// The most nodes a workflow may have.
pub const MAX_NODES: usize = 200;

/// A validated graph: what an activated version runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    trigger: usize,
}

/// The lead columns an `update_lead` node may set through `fields` (the rest are the
/// system's, the owner's or have their own option).
const LEAD_FIELDS: &[&str] = &[
    "name",
    "first_name",
    "last_name",
    "company",
    "title",
    "insights",
    "primary_phone",
    "linkedin_url",
    "location",
    "source",
    "industry",
    "company_size",
];

impl Graph {
    /// Parses and validates `workflows.nodes` as an activation needs it: known node types,
    /// unique ids, exactly one trigger, every `next` existing, branching nodes with
    /// branches (the else last), no cycle without a wait, valid statuses, events, windows
    /// and delays. The first problem is returned, naming its node.
    pub fn parse(nodes: &Value) -> Result<Graph, GraphError> {
        let raw: Vec<RawNode> = serde_json::from_value(nodes.clone())
            .map_err(|e| node_error("", format!("nodes must be an array of nodes: {e}")))?;
        if raw.is_empty() {
            return Err(node_error(
                "",
                "a workflow needs a trigger and at least one step",
            ));
        }
        if raw.len() > MAX_NODES {
            return Err(node_error("", format!("at most {MAX_NODES} nodes")));
        }
        let mut index = HashMap::new();
        let mut parsed = Vec::with_capacity(raw.len());
        for node in &raw {
            if node.id.trim().is_empty() || node.id.len() > 64 {
                return Err(node_error(&node.id, "a node id is 1 to 64 characters"));
            }
            if index.insert(node.id.clone(), parsed.len()).is_some() {
                return Err(node_error(&node.id, "the id is used twice"));
            }
            parsed.push(graph::parse_node(node)?);
        }
        let triggers: Vec<usize> = (0..parsed.len())
            .filter(|&i| parsed[i].kind.trigger().is_some())
            .collect();
        let trigger = match triggers.as_slice() {
            [one] => *one,
            [] => {
                return Err(node_error(
                    "",
                    "a workflow has exactly one trigger; there is none",
                ));
            }
            [_, second, ..] => {
                return Err(node_error(
                    &parsed[*second].id,
                    "a workflow has exactly one trigger",
                ));
            }
        };
        let graph = Graph {
            nodes: parsed,
            index,
            trigger,
        };
        for node in &graph.nodes {
            graph.check_node(node)?;
        }
        graph.check_cycles()?;
        Ok(graph)
    }

    pub fn trigger_node(&self) -> &Node {
        &self.nodes[self.trigger]
    }

    pub fn trigger(&self) -> &TriggerConfig {
        // The trigger node is a trigger by construction.
        static EMPTY: std::sync::OnceLock<TriggerConfig> = std::sync::OnceLock::new();
        self.nodes[self.trigger]
            .kind
            .trigger()
            .unwrap_or_else(|| EMPTY.get_or_init(TriggerConfig::default))
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.nodes[self.trigger].kind, NodeKind::ManualTrigger(_))
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The e-mail templates the graph sends (activation checks the owner may use them).
    pub fn template_ids(&self) -> Vec<(&str, &str)> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::SendEmail(c) => c.template_id.as_deref().map(|t| (n.id.as_str(), t)),
                _ => None,
            })
            .collect()
    }

    /// The boards and lists the graph creates cards on.
    pub fn card_targets(&self) -> Vec<(&str, &graph::CreateCardConfig)> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::CreateCard(c) => Some((n.id.as_str(), c)),
                _ => None,
            })
            .collect()
    }

    /// Whether the event ends runs of this graph (`exit_on`).
    pub fn exits_on(&self, event: &str) -> bool {
        self.trigger()
            .exit_on
            .iter()
            .any(|e| e == event || (e == "lead.unsubscribed" && event == "email.unsubscribed"))
    }

    /// Whether a lead in `status` has reached an exit (`status:<Status>` in `exit_on`).
    pub fn exits_in_status(&self, status: &str) -> bool {
        self.trigger()
            .exit_on
            .iter()
            .any(|e| e.strip_prefix("status:") == Some(status))
    }

    fn exists(&self, from: &Node, next: &Option<String>) -> Result<(), GraphError> {
        match next {
            Some(id) if !self.index.contains_key(id) => Err(node_error(
                &from.id,
                format!("next {id:?} is not a node of this workflow"),
            )),
            Some(id) if *id == self.nodes[self.trigger].id => {
                Err(node_error(&from.id, "no step may lead back to the trigger"))
            }
            _ => Ok(()),
        }
    }

    fn check_node(&self, node: &Node) -> Result<(), GraphError> {
        let fail = |reason: String| Err(node_error(&node.id, reason));
        if node.kind.branches() {
            if node.branches.is_empty() {
                return fail("a branching node needs branches".into());
            }
            if node.next.is_some() {
                return fail("a branching node has branches, not next".into());
            }
            let mut keys = HashSet::new();
            for branch in &node.branches {
                if !keys.insert(branch.key.as_str()) {
                    return fail(format!("branch key {:?} is used twice", branch.key));
                }
                self.exists(node, &branch.next)?;
                if let Some(filter) = &branch.when {
                    check_filter(node, filter)?;
                }
            }
        } else if !node.branches.is_empty() {
            return fail("only condition, split.random and wait.event nodes branch".into());
        } else {
            self.exists(node, &node.next)?;
        }
        match &node.kind {
            NodeKind::LeadEventTrigger(t) | NodeKind::ManualTrigger(t) => {
                self.check_trigger(node, t)?
            }
            NodeKind::SendEmail(c) => {
                let inline = c.subject.is_some() || c.html_body.is_some();
                match (&c.template_id, inline) {
                    (Some(_), false) => {}
                    (None, true)
                        if c.subject.as_deref().is_some_and(|s| !s.trim().is_empty())
                            && c.html_body.as_deref().is_some_and(|b| !b.trim().is_empty()) => {}
                    _ => return fail("give template_id, or subject and html_body".into()),
                }
            }
            NodeKind::UpdateLead(c) => {
                if let Some(status) = &c.status
                    && LeadStatus::parse(status).is_none()
                {
                    return fail(format!("unknown lead status {status:?}"));
                }
                if c.score_add.is_some() && c.score_set.is_some() {
                    return fail("give score_add or score_set, not both".into());
                }
                for field in c.fields.keys() {
                    let custom = field
                        .strip_prefix("custom_fields.")
                        .is_some_and(|k| !k.is_empty());
                    if !custom && !LEAD_FIELDS.contains(&field.as_str()) {
                        return fail(format!(
                            "the lead field {field:?} cannot be set by a workflow"
                        ));
                    }
                }
                if c.status.is_none()
                    && c.score_add.is_none()
                    && c.score_set.is_none()
                    && c.fields.is_empty()
                {
                    return fail("an update changes at least one thing".into());
                }
            }
            NodeKind::AddToSequence(c) => {
                if c.blocks.is_empty() || c.blocks.len() > 20 {
                    return fail("a sequence has 1 to 20 blocks".into());
                }
            }
            NodeKind::CreateTask(c) => {
                if c.title.trim().is_empty() {
                    return fail("a task needs a title".into());
                }
                if let Some(p) = &c.priority
                    && !["urgent", "high", "normal", "low"].contains(&p.as_str())
                {
                    return fail(format!("unknown priority {p:?}"));
                }
            }
            NodeKind::CreateCard(c) => {
                if c.title.trim().is_empty() {
                    return fail("a card needs a title".into());
                }
            }
            NodeKind::Webhook(c) => {
                if !crate::webhooks::is_workflow_event(&c.event) {
                    return fail("the event is workflow.<name> (letters, digits, _ and .)".into());
                }
            }
            NodeKind::Notify(c) => {
                if c.subject.trim().is_empty() {
                    return fail("a notification needs a subject".into());
                }
            }
            NodeKind::WaitDuration(delay) => {
                if !delay.is_valid() || delay.amount == 0 {
                    return fail(format!(
                        "a wait is 1 minute to {} days",
                        timing::MAX_DELAY_DAYS
                    ));
                }
            }
            NodeKind::WaitUntil(c) => match (&c.at, &c.field) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => return fail("give at, or a lead date field".into()),
            },
            NodeKind::WaitEvent(c) => {
                if c.events.is_empty() {
                    return fail("name the events to wait for".into());
                }
                if let Some(event) = c.events.iter().find(|e| !WAIT_EVENTS.contains(&e.as_str())) {
                    return fail(format!(
                        "cannot wait for {event:?} (one of {WAIT_EVENTS:?})"
                    ));
                }
                if !c.timeout.is_valid() || c.timeout.amount == 0 {
                    return fail("the timeout is 1 minute to 365 days".into());
                }
                if let Some(of) = &c.message_of
                    && !matches!(self.node(of).map(|n| &n.kind), Some(NodeKind::SendEmail(_)))
                {
                    return fail(format!("message_of {of:?} is not a send_email node"));
                }
                let keys: Vec<&str> = node.branches.iter().map(|b| b.key.as_str()).collect();
                if keys.iter().any(|k| !["matched", "timeout"].contains(k))
                    || !keys.contains(&"timeout")
                {
                    return fail("a wait.event has the branches matched and timeout".into());
                }
            }
            NodeKind::Condition => {
                let (last, rest) = node.branches.split_last().unwrap_or_else(|| unreachable!());
                if rest.iter().any(|b| b.when.is_none()) {
                    return fail("only the last branch may go without when (the else)".into());
                }
                let _ = last;
            }
            NodeKind::SplitRandom(c) => {
                if c.percentages.len() != node.branches.len()
                    || c.percentages.iter().sum::<u32>() != 100
                {
                    return fail("one percentage per branch, summing to 100".into());
                }
            }
        }
        Ok(())
    }

    fn check_trigger(&self, node: &Node, trigger: &TriggerConfig) -> Result<(), GraphError> {
        if let NodeKind::LeadEventTrigger(_) = node.kind {
            match trigger.event.as_deref() {
                Some(event) if TRIGGER_EVENTS.contains(&event) => {}
                Some(event) => {
                    return Err(node_error(
                        &node.id,
                        format!("unknown trigger event {event:?}"),
                    ));
                }
                None => return Err(node_error(&node.id, "the trigger names its event")),
            }
        }
        if let Some(filter) = &trigger.filter {
            check_filter(node, filter)?;
        }
        for exit in &trigger.exit_on {
            let known = match exit.strip_prefix("status:") {
                Some(status) => LeadStatus::parse(status).is_some(),
                None => EXIT_EVENTS.contains(&exit.as_str()),
            };
            if !known {
                return Err(node_error(&node.id, format!("unknown exit_on {exit:?}")));
            }
        }
        if let Some(window) = &trigger.send_window {
            window
                .validate()
                .map_err(|e| node_error(&node.id, format!("send_window: {e}")))?;
        }
        if let Some(cooldown) = &trigger.cooldown
            && !cooldown.is_valid()
        {
            return Err(node_error(&node.id, "the cooldown is at most 365 days"));
        }
        if trigger.lead_ids.len() > 10_000 {
            return Err(node_error(
                &node.id,
                "at most 10,000 chosen leads; use a filter",
            ));
        }
        Ok(())
    }

    /// The successors of node `i`.
    fn edges(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let node = &self.nodes[i];
        node.next
            .iter()
            .chain(node.branches.iter().filter_map(|b| b.next.as_ref()))
            .filter_map(|id| self.index.get(id).copied())
    }

    /// A cycle is allowed only through a wait (it would otherwise spin without end).
    fn check_cycles(&self) -> Result<(), GraphError> {
        // Depth-first over the non-wait nodes: a back edge is a cycle without a wait.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.nodes.len()];
        for start in 0..self.nodes.len() {
            if marks[start] != Mark::New || self.nodes[start].kind.is_wait() {
                continue;
            }
            let mut stack = vec![(start, self.edges(start).collect::<Vec<_>>())];
            marks[start] = Mark::Open;
            while let Some((node, pending)) = stack.last_mut() {
                let node = *node;
                match pending.pop() {
                    Some(next) if self.nodes[next].kind.is_wait() => {}
                    Some(next) => match marks[next] {
                        Mark::Open => {
                            return Err(node_error(
                                &self.nodes[next].id,
                                "this node is in a loop without a wait",
                            ));
                        }
                        Mark::New => {
                            marks[next] = Mark::Open;
                            stack.push((next, self.edges(next).collect()));
                        }
                        Mark::Done => {}
                    },
                    None => {
                        marks[node] = Mark::Done;
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_filter(node: &Node, filter: &Filter) -> Result<(), GraphError> {
    if filter.depth() > filter::MAX_DEPTH {
        return Err(node_error(&node.id, "the filter nests too deep"));
    }
    Ok(())
}

/// What happened at one step (`workflow_executions.steps`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub node_id: String,
    /// `done`, `waiting`, `skipped`, `failed`, `retrying`.
    pub status: String,
    pub attempt: u32,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// The branch taken (branching nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The effect's key: `<execution>:<node>:<entry>`.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StepError>,
    /// What the step produced (a message id, a task id…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepError {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// Which branch of a `split.random` a run takes: a stable function of the run and node (a
/// retried step takes the same branch), spread evenly by `percentages`.
pub fn split_branch(percentages: &[u32], run_key: &str) -> usize {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(run_key.as_bytes());
    let roll = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 100;
    let mut upto = 0;
    for (i, share) in percentages.iter().enumerate() {
        upto += share;
        if roll < upto {
            return i;
        }
    }
    percentages.len().saturating_sub(1)
}

#[cfg(test)]
mod tests;
