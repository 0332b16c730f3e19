//! The workspace's reply rules (`GET`/`PUT /v1/replies/settings`): one item beside its rows.

use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Item, Key, WriteOp};
use serde::{Deserialize, Serialize};

use super::*;
use crate::access::Actor;
use crate::layout;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRules {
    /// A reply from anyone at a lead's company stops the sequences of the company's other
    /// leads (same `company`, case-insensitive). Off by default.
    #[serde(default)]
    pub stop_company_on_reply: bool,
}

fn rules_key(owner: OwnerId) -> Key {
    Key::new(layout::owner_partition(owner), "replyrules")
}

impl Replies {
    pub(super) async fn rules(&self, owner: OwnerId) -> Result<ReplyRules, ReplyError> {
        let item = self.access.rows().store().get(&rules_key(owner)).await?;
        Ok(ReplyRules {
            stop_company_on_reply: item
                .and_then(|i| i.get("stop_company_on_reply").cloned())
                .is_some_and(|v| v == scaliyo_store::Value::from(true)),
        })
    }

    pub async fn get_rules(&self, actor: &Actor) -> Result<ReplyRules, ReplyError> {
        self.rules(actor.owner()?).await
    }

    pub async fn put_rules(
        &self,
        actor: &Actor,
        rules: ReplyRules,
    ) -> Result<ReplyRules, ReplyError> {
        let owner = actor.owner()?;
        let item =
            Item::new(&rules_key(owner)).with("stop_company_on_reply", rules.stop_company_on_reply);
        self.access
            .rows()
            .store()
            .transact_write(vec![WriteOp::put(item)])
            .await?;
        Ok(rules)
    }
}
