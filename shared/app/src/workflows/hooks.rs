//! The inbound hook of a `webhook.received` workflow: an unguessable URL per workflow that
//! another system (a form, a CRM, Zapier) posts a lead to — `{"lead_id"}` or `{"email"}` —
//! to enrol that lead in that workflow. The token is the authentication; it lives under its
//! own key (found without the owner) with a reference in the owner's partition, so deleting
//! the account deletes it.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_store::{Item, Key, WriteOp};
use serde::{Deserialize, Serialize};

use super::*;
use crate::access::Actor;
use crate::references;
use crate::rows::RowError;

/// What the hook accepts: one of the owner's leads, by id or by e-mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookRequest {
    pub lead_id: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hook {
    pub workflow_id: String,
    /// The path under the API's base URL: `/webhooks/workflows/<token>`.
    pub path: String,
}

fn token_key(token: &str) -> Key {
    Key::new(format!("WFHOOK#{token}"), "WFHOOK")
}

fn group(workflow_id: &str) -> String {
    format!("wfhook#{workflow_id}")
}

impl WorkflowFeed {
    /// The hook of one of the actor's workflows, made on first use (the same one after).
    pub async fn hook(
        &self,
        access: &crate::access::Access,
        actor: &Actor,
        workflow_id: &str,
    ) -> Result<Hook, WorkflowError> {
        // Someone else's workflow does not exist for the actor.
        access.get(actor, "workflows", workflow_id).await?;
        let owner = actor.owner()?;
        let store = self.rows.store();
        let reference = Key::new(
            crate::layout::owner_partition(owner),
            format!("{}{}", references::PREFIX, group(workflow_id)),
        );
        let existing = store
            .get(&reference)
            .await?
            .map(|item| references::referenced(&item))
            .and_then(|keys| keys.into_iter().next())
            .and_then(|key| key.pk.strip_prefix("WFHOOK#").map(str::to_owned));
        let token = match existing {
            Some(token) => token,
            None => {
                let token = crate::tokens::random_url_token::<24>();
                let item = Item::new(&token_key(&token))
                    .with("owner", owner.to_string())
                    .with("workflow_id", workflow_id.to_owned());
                let ops = vec![
                    WriteOp::put_new(item),
                    references::reference_op(owner, &group(workflow_id), &[token_key(&token)]),
                ];
                store.transact_write(ops).await.map_err(RowError::from)?;
                token
            }
        };
        Ok(Hook {
            workflow_id: workflow_id.to_owned(),
            path: format!("/webhooks/workflows/{token}"),
        })
    }

    /// A post to a hook: the lead named enrolled in the hook's workflow (through the
    /// engine's queue). `Ok(false)`: no such hook, or its workflow is gone — the caller
    /// learns nothing more.
    pub async fn receive_hook(
        &self,
        token: &str,
        request: HookRequest,
    ) -> Result<bool, WorkflowError> {
        if token.len() > 64
            || !token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Ok(false);
        }
        let store = self.rows.store();
        let Some(hook) = store.get(&token_key(token)).await? else {
            return Ok(false);
        };
        let (Some(owner), Some(workflow_id)) = (
            hook.str("owner").and_then(|o| o.parse::<OwnerId>().ok()),
            hook.str("workflow_id").map(str::to_owned),
        ) else {
            return Ok(false);
        };
        let partition = owner.to_string();
        if self
            .rows
            .get(&schema::WORKFLOWS, Some(&partition), &workflow_id)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        let lead = match (request.lead_id, request.email) {
            (Some(id), None) => self.rows.get(&schema::LEADS, Some(&partition), &id).await?,
            (None, Some(email)) => crate::leads::by_email(&self.rows, owner, &email).await?,
            _ => return Err(invalid("lead_id", "give lead_id or email")),
        };
        let Some(lead) = lead else {
            return Err(invalid("lead_id", "no lead of this workspace matches"));
        };
        let lead_id = crate::rows::field(&lead, "id").as_str().map(str::to_owned);
        self.send(vec![WorkflowMessage::Event(LeadEvent {
            owner,
            event: "webhook.received".into(),
            lead_id,
            message_id: None,
            to_status: None,
            workflow_id: Some(workflow_id),
            occurred_at: self.clock.now(),
        })])
        .await;
        Ok(true)
    }
}
