//! Activating a workflow: a change that makes (or keeps) a workflow `active` with a graph it
//! did not run before validates the graph — one trigger, every `next` existing, no loop
//! without a wait, known node types, templates and boards the owner may use — and stores it
//! as a new immutable version in the same transaction. A refused activation changes nothing
//! (the workflow stays a draft); the error names the node.

use scaliyo_domain::status::WorkflowStatus;
use scaliyo_domain::workflows::{Graph, GraphError};

use super::*;
use crate::workflows::versions::{self, Versions};

fn refused(error: GraphError) -> AccessError {
    let reason = if error.node.is_empty() {
        error.reason
    } else {
        format!("node {:?}: {}", error.node, error.reason)
    };
    RowError::Invalid {
        column: "nodes".into(),
        reason,
    }
    .into()
}

impl Access {
    /// For a `workflows` write that publishes a graph (activation, or an edit of the nodes
    /// while active): the new version's item as an extra action.
    pub(super) async fn workflow_publication(
        &self,
        actor: &Actor,
        table: &Table,
        current: Option<&Row>,
        preview: &Row,
    ) -> Result<Vec<Extra>, AccessError> {
        if table.name != "workflows" {
            return Ok(Vec::new());
        }
        // A draft is work in progress, but always a list of nodes.
        if !field(preview, "nodes").is_array() {
            return Err(RowError::Invalid {
                column: "nodes".into(),
                reason: "must be an array of nodes".into(),
            }
            .into());
        }
        if WorkflowStatus::of(field(preview, "status")) != Some(WorkflowStatus::Active) {
            return Ok(Vec::new());
        }
        let publishes = match current {
            None => true,
            Some(current) => {
                WorkflowStatus::of(field(current, "status")) != Some(WorkflowStatus::Active)
                    || field(current, "nodes") != field(preview, "nodes")
            }
        };
        let owner = crate::rows::owner_in(preview, "user_id")?;
        let id = field(preview, "id").as_str().unwrap_or_default();
        let latest = Versions::latest_number(&self.rows, owner, id)
            .await
            .map_err(RowError::from)?;
        if !publishes && latest > 0 {
            return Ok(Vec::new());
        }
        let nodes = field(preview, "nodes");
        let graph = Graph::parse(nodes).map_err(refused)?;
        for (node, template) in graph.template_ids() {
            if self.get(actor, "email_templates", template).await.is_err() {
                return Err(refused(GraphError {
                    node: node.to_owned(),
                    reason: format!("template {template} is not one of yours"),
                }));
            }
        }
        for (node, card) in graph.card_targets() {
            let list = self.get(actor, "teamhub_lists", &card.list_id).await;
            let on_board = list
                .as_ref()
                .is_ok_and(|l| field(l, "board_id").as_str() == Some(card.board_id.as_str()));
            if !on_board {
                return Err(refused(GraphError {
                    node: node.to_owned(),
                    reason: "the list is not one of your boards' lists".into(),
                }));
            }
        }
        Ok(vec![Extra {
            op: versions::publish_op(owner, id, latest + 1, nodes),
            // Another activation stored this number first: the caller may retry.
            on_failure: RowError::Concurrent,
        }])
    }
}

fn field<'a>(row: &'a Row, column: &str) -> &'a Value {
    crate::rows::field(row, column)
}
