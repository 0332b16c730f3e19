//! `/rest/v1/rpc/{name}`: the seed's usage functions (section 6) called as supabase-js calls
//! them — with PostgreSQL's `p_` argument names as well as `/v1/rpc`'s — and
//! `get_board_snapshot(p_board_id)`: a board, its lists, cards and members in one call,
//! under the flow-role rules.

use scaliyo_domain::postgrest::{ColumnPath, Condition, Operand, Operator, Query};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::read::sort;
use super::{RestError, RestQueries};
use crate::access::{AccessError, Actor};
use crate::usage::Usage;

/// The functions `/rest/v1/rpc` serves.
pub const FUNCTIONS: &[&str] = &[
    "increment_ai_usage",
    "increment_sender_daily_sent",
    "get_sender_daily_sent",
    "increment_workspace_usage",
    "get_workspace_monthly_usage",
    "increment_outbound_usage",
    "get_board_snapshot",
];

/// Arguments as the SQL functions name them, in `/v1/rpc`'s names: `p_` dropped,
/// `p_month_key` is `month`, and a workspace or user argument must be the caller's own
/// (the functions act on the caller's workspace; naming another is refused, not obeyed).
fn arguments(actor: &Actor, args: Map<String, Value>) -> Result<Map<String, Value>, RestError> {
    let caller = actor.user_id().map(|u| u.to_string());
    let mut out = Map::new();
    for (name, value) in args {
        let name = name.strip_prefix("p_").unwrap_or(&name).to_owned();
        match name.as_str() {
            "workspace_id" | "user_id" => {
                if value.as_str() != caller.as_deref() {
                    return Err(AccessError::Forbidden(
                        "these functions act on your own workspace only".into(),
                    )
                    .into());
                }
            }
            "month_key" => {
                out.insert("month".into(), value);
            }
            _ => {
                out.insert(name, value);
            }
        }
    }
    Ok(out)
}

fn typed<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, RestError> {
    serde_json::from_value(Value::Object(args)).map_err(|e| RestError::BadArguments(e.to_string()))
}

fn equal(column: &str, value: &str) -> Query {
    Query {
        filters: vec![Condition::Compare {
            column: ColumnPath::plain(column),
            negated: false,
            op: Operator::Eq,
            operand: Operand::Text(value.to_owned()),
        }],
        ..Default::default()
    }
}

impl RestQueries {
    /// Calls `name` with `args` (a JSON object; a GET's query parameters as text).
    pub async fn call(
        &self,
        actor: &Actor,
        usage: &Usage,
        name: &str,
        args: Map<String, Value>,
    ) -> Result<Value, RestError> {
        if !FUNCTIONS.contains(&name) {
            return Err(RestError::UnknownFunction(name.to_owned()));
        }
        let args = arguments(actor, args)?;
        Ok(match name {
            "increment_ai_usage" => {
                Value::Object(usage.increment_ai_usage(actor, typed(args)?).await?)
            }
            "increment_sender_daily_sent" => Value::Object(
                usage
                    .increment_sender_daily_sent(actor, typed(args)?)
                    .await?,
            ),
            "get_sender_daily_sent" => usage.get_sender_daily_sent(actor, typed(args)?).await?,
            "increment_workspace_usage" => {
                Value::Object(usage.increment_workspace_usage(actor, typed(args)?).await?)
            }
            "get_workspace_monthly_usage" => {
                usage
                    .get_workspace_monthly_usage(actor, typed(args)?)
                    .await?
            }
            "increment_outbound_usage" => {
                usage.increment_outbound_usage(actor, typed(args)?).await?
            }
            _ => {
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Board {
                    board_id: uuid::Uuid,
                }
                let Board { board_id } = typed(args)?;
                self.board_snapshot(actor, &board_id.to_string()).await?
            }
        })
    }

    /// A board with its lists (by position), cards (by list and position) and members, as
    /// the caller's flow role lets them read it.
    pub async fn board_snapshot(&self, actor: &Actor, board_id: &str) -> Result<Value, RestError> {
        let board = self.access.get(actor, "teamhub_boards", board_id).await?;
        let by_board = equal("board_id", board_id);
        let mut lists = self
            .matching(actor, Self::table("teamhub_lists")?, &by_board)
            .await?;
        let order = Query::parse(&[("order".into(), "position,created_at".into())])?;
        sort(&mut lists, &order);
        let mut cards = self
            .matching(actor, Self::table("teamhub_cards")?, &by_board)
            .await?;
        let order = Query::parse(&[("order".into(), "list_id,position,created_at".into())])?;
        sort(&mut cards, &order);
        let members = self
            .matching(
                actor,
                Self::table("teamhub_flow_members")?,
                &equal("flow_id", board_id),
            )
            .await?;
        Ok(json!({ "board": board, "lists": lists, "cards": cards, "members": members }))
    }
}
