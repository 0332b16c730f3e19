//! Team Hub rules the row policies alone do not state: a board's creator holds its `owner`
//! membership from the start, a card is assigned only to members of its flow, a template's
//! `structure_json` is a board's shape, and every card, comment and assignment change is
//! written to `teamhub_activity` by the server — in the same transaction as the change.

use scaliyo_domain::teamhub::{self, ActivityEntry, BoardTemplate};

use super::*;

/// The history entry of a card, as extra actions of the write it records.
#[derive(serde::Serialize)]
struct ActivityRow<'a> {
    card_id: &'a str,
    user_id: OwnerId,
    action: &'a str,
    details: &'a Value,
}

#[derive(serde::Serialize)]
struct OwnerMembership<'a> {
    flow_id: &'a str,
    user_id: &'a str,
    role: &'static str,
}

impl Access {
    /// `teamhub_activity` entries for one card, by the actor.
    pub(crate) fn activity_ops(
        &self,
        actor: &Actor,
        card_id: &str,
        entries: &[ActivityEntry],
    ) -> Result<Vec<Extra>, AccessError> {
        let Some(user) = actor.user_id() else {
            return Ok(Vec::new());
        };
        let table = &schema::TEAMHUB_ACTIVITY;
        let mut ops = Vec::new();
        for entry in entries {
            let row = crate::rows::to_row(&ActivityRow {
                card_id,
                user_id: user,
                action: entry.action,
                details: &entry.details,
            })?;
            let row = self.rows.prepare(table, row)?;
            // The card is the write's own row (or its parent, checked by the write).
            ops.extend(self.rows.insert_ops(table, None, &row, false)?);
        }
        Ok(Extra::beside(ops))
    }

    /// What a write of a card, a comment or a card assignment records in the card's history
    /// (`row` as written, or as it was for a delete).
    pub(super) fn teamhub_activity(
        &self,
        actor: &Actor,
        table: &Table,
        op: Op,
        before: Option<&Row>,
        row: &Row,
    ) -> Result<Vec<Extra>, AccessError> {
        let field = |column: &str| {
            crate::rows::field(row, column)
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let (card, entries) = match (table.name, op) {
            ("teamhub_cards", Op::Insert | Op::Update) => {
                (field("id"), teamhub::card_activity(before, row))
            }
            ("teamhub_comments", Op::Insert | Op::Update | Op::Delete) => {
                let action = match op {
                    Op::Insert => "comment.added",
                    Op::Update => "comment.edited",
                    _ => "comment.deleted",
                };
                let details = json!({ "comment_id": field("id") });
                (field("card_id"), vec![ActivityEntry { action, details }])
            }
            ("teamhub_card_members", Op::Insert | Op::Delete) => {
                let action = if op == Op::Insert {
                    "member.added"
                } else {
                    "member.removed"
                };
                let details = json!({ "user_id": field("user_id") });
                (field("card_id"), vec![ActivityEntry { action, details }])
            }
            _ => return Ok(Vec::new()),
        };
        if card.is_empty() {
            return Ok(Vec::new());
        }
        self.activity_ops(actor, &card, &entries)
    }

    /// A new board's creator is its `owner` member from the start (the members list shows
    /// them, and the row is what a later ownership transfer changes).
    pub(super) fn board_owner_membership(
        &self,
        table: &Table,
        board: &Row,
    ) -> Result<Vec<Extra>, AccessError> {
        if table.name != "teamhub_boards" {
            return Ok(Vec::new());
        }
        let members = &schema::TEAMHUB_FLOW_MEMBERS;
        let row = crate::rows::to_row(&OwnerMembership {
            flow_id: crate::rows::field(board, "id").as_str().unwrap_or_default(),
            user_id: crate::rows::field(board, "created_by")
                .as_str()
                .unwrap_or_default(),
            role: "owner",
        })?;
        let row = self.rows.prepare(members, row)?;
        Ok(Extra::beside(
            self.rows.insert_ops(members, None, &row, false)?,
        ))
    }

    /// A card is assigned only to a member of its board's flow.
    pub(super) async fn check_card_assignee(
        &self,
        table: &Table,
        row: &Row,
    ) -> Result<(), AccessError> {
        if table.name != "teamhub_card_members" {
            return Ok(());
        }
        let card = crate::rows::field(row, "card_id")
            .as_str()
            .unwrap_or_default();
        let assignee = crate::rows::field(row, "user_id")
            .as_str()
            .unwrap_or_default();
        let board = self
            .rows
            .get(&schema::TEAMHUB_CARDS, None, card)
            .await?
            .and_then(|c| c["board_id"].as_str().map(str::to_owned));
        let Some(board) = board else {
            // The reference check answers for a card that does not exist.
            return Ok(());
        };
        if self.flow_role(&board, assignee).await?.is_some() {
            return Ok(());
        }
        Err(RowError::Invalid {
            column: "user_id".into(),
            reason: "is not a member of this card's flow".into(),
        }
        .into())
    }

    /// A card's list is a list of the card's own board (a member of two boards must not
    /// file a card of one under a list of the other).
    pub(super) async fn check_card_list(
        &self,
        table: &Table,
        row: &Row,
    ) -> Result<(), AccessError> {
        if table.name != "teamhub_cards" {
            return Ok(());
        }
        let list = crate::rows::field(row, "list_id")
            .as_str()
            .unwrap_or_default();
        let board = crate::rows::field(row, "board_id");
        match self.rows.get(&schema::TEAMHUB_LISTS, None, list).await? {
            Some(list) if crate::rows::field(&list, "board_id") != board => {
                Err(RowError::Invalid {
                    column: "list_id".into(),
                    reason: "is a list of another board".into(),
                }
                .into())
            }
            // A missing list is the reference check's to answer.
            _ => Ok(()),
        }
    }

    /// A template's `structure_json` is a board's shape within the template bounds.
    pub(super) fn check_template_structure(table: &Table, row: &Row) -> Result<(), AccessError> {
        if table.name != "teamhub_flow_templates" {
            return Ok(());
        }
        BoardTemplate::parse(crate::rows::field(row, "structure_json"))
            .map(|_| ())
            .map_err(|e| {
                RowError::Invalid {
                    column: "structure_json".into(),
                    reason: e.to_string(),
                }
                .into()
            })
    }
}
