//! Team Hub board templates (docs/teamhub.md): the system templates every deployment has,
//! a board built from a template in one transaction (the board, its lists and cards, the
//! creator's `owner` membership and each card's first history entry), and a board saved as
//! the caller's own `user` template.

use std::sync::Arc;

use scaliyo_domain::schema;
use scaliyo_domain::teamhub::{self, BoardTemplate, SYSTEM_TEMPLATES, TemplateError};
use serde::Serialize;
use serde_json::{Value, json};

use crate::access::{Access, AccessError, Actor, ListParams, MAX_PAGE};
use crate::rows::{Extra, Row, RowError, Rows};

#[derive(Debug, thiserror::Error)]
pub enum BoardTemplateError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A template (stored, or made from a board) beyond what one board creation writes.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

crate::errors::through_access!(BoardTemplateError);
crate::errors::invalid_constructor!(BoardTemplateError);

/// A board as built from a template: the board row, its lists and its cards.
#[derive(Debug, Serialize)]
pub struct BuiltBoard {
    pub board: Row,
    pub lists: Vec<Row>,
    pub cards: Vec<Row>,
}

#[derive(Serialize)]
struct NewList<'a> {
    id: String,
    board_id: &'a str,
    name: &'a str,
    position: i64,
}

#[derive(Serialize)]
struct NewCard<'a> {
    id: String,
    board_id: &'a str,
    list_id: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    priority: Option<&'a str>,
    labels: &'a [Value],
    card_color: Option<&'a str>,
    position: i64,
    created_by: String,
}

fn position(row: &Row) -> i64 {
    crate::rows::field(row, "position").as_i64().unwrap_or(0)
}

fn text<'a>(row: &'a Row, column: &str) -> &'a str {
    crate::rows::field(row, column).as_str().unwrap_or_default()
}

fn name_of(name: &str) -> Result<String, BoardTemplateError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

#[derive(Clone)]
pub struct BoardTemplates {
    access: Arc<Access>,
}

impl BoardTemplates {
    pub fn new(access: Arc<Access>) -> Self {
        Self { access }
    }

    /// Writes the system templates a store does not hold yet (at start-up; idempotent, and
    /// an edit an admin made to one is kept).
    pub async fn ensure_system_templates(rows: &Rows) -> Result<usize, RowError> {
        let table = &schema::TEAMHUB_FLOW_TEMPLATES;
        let mut written = 0;
        for template in SYSTEM_TEMPLATES {
            if rows.get(table, None, template.id).await?.is_some() {
                continue;
            }
            let mut row = Row::new();
            row.insert("id".into(), json!(template.id));
            row.insert("name".into(), json!(template.name));
            row.insert("type".into(), json!("system"));
            row.insert("structure_json".into(), template.structure().to_value());
            match rows.create(table, None, row).await {
                Ok(_) => written += 1,
                // Another instance seeded it first.
                Err(RowError::Conflict { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(written)
    }

    /// A new board named `name`, built from a template the caller may read (a system
    /// template, or one of their own).
    pub async fn board_from_template(
        &self,
        actor: &Actor,
        template_id: &str,
        name: &str,
    ) -> Result<BuiltBoard, BoardTemplateError> {
        let user = actor.owner()?.to_string();
        let name = name_of(name)?;
        let template = self
            .access
            .get(actor, "teamhub_flow_templates", template_id)
            .await?;
        let structure = BoardTemplate::parse(crate::rows::field(&template, "structure_json"))?;
        let rows = self.access.rows();
        let board_id = uuid::Uuid::new_v4().to_string();
        let mut lists = Vec::new();
        let mut cards = Vec::new();
        let mut ops = Vec::new();
        for (list_position, list) in structure.lists.iter().enumerate() {
            let list_id = uuid::Uuid::new_v4().to_string();
            let row = rows.prepare(
                &schema::TEAMHUB_LISTS,
                crate::rows::to_row(&NewList {
                    id: list_id.clone(),
                    board_id: &board_id,
                    name: &list.name,
                    position: list_position as i64,
                })?,
            )?;
            ops.extend(Extra::beside(rows.insert_ops(
                &schema::TEAMHUB_LISTS,
                None,
                &row,
                false,
            )?));
            lists.push(row);
            for (card_position, card) in list.cards.iter().enumerate() {
                let row = rows.prepare(
                    &schema::TEAMHUB_CARDS,
                    crate::rows::to_row(&NewCard {
                        id: uuid::Uuid::new_v4().to_string(),
                        board_id: &board_id,
                        list_id: &list_id,
                        title: &card.title,
                        description: card.description.as_deref(),
                        priority: card.priority.as_deref(),
                        labels: &card.labels,
                        card_color: card.card_color.as_deref(),
                        position: card_position as i64,
                        created_by: user.clone(),
                    })?,
                )?;
                ops.extend(Extra::beside(rows.insert_ops(
                    &schema::TEAMHUB_CARDS,
                    None,
                    &row,
                    false,
                )?));
                ops.extend(self.access.activity_ops(
                    actor,
                    text(&row, "id"),
                    &teamhub::card_activity(None, &row),
                )?);
                cards.push(row);
            }
        }
        let mut board = Row::new();
        board.insert("name".into(), json!(name));
        board.insert("template_id".into(), json!(template_id));
        let board = self
            .access
            .create_with(actor, "teamhub_boards", board, Some(board_id), ops)
            .await?;
        Ok(BuiltBoard {
            board,
            lists,
            cards,
        })
    }

    /// Every row of `table` on the board, as the caller sees them.
    async fn board_rows(
        &self,
        actor: &Actor,
        table: &str,
        board_id: &str,
    ) -> Result<Vec<Row>, BoardTemplateError> {
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .access
                .list(
                    actor,
                    table,
                    ListParams {
                        filters: vec![("board_id".into(), board_id.to_owned())],
                        limit: Some(MAX_PAGE),
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            rows.extend(page.rows);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(rows),
            }
        }
    }

    /// The board's lists and open cards, in their order, as a new `user` template of the
    /// caller's named `name`.
    pub async fn save_as_template(
        &self,
        actor: &Actor,
        board_id: &str,
        name: &str,
    ) -> Result<Row, BoardTemplateError> {
        actor.owner()?;
        let name = name_of(name)?;
        self.access.get(actor, "teamhub_boards", board_id).await?;
        let mut lists = self.board_rows(actor, "teamhub_lists", board_id).await?;
        lists.sort_by(|a, b| {
            (position(a), text(a, "created_at")).cmp(&(position(b), text(b, "created_at")))
        });
        let mut cards = self.board_rows(actor, "teamhub_cards", board_id).await?;
        cards.retain(|c| crate::rows::field(c, "is_archived") != &Value::Bool(true));
        cards.sort_by(|a, b| {
            (position(a), text(a, "created_at")).cmp(&(position(b), text(b, "created_at")))
        });
        let structure = BoardTemplate {
            lists: lists
                .iter()
                .map(|list| teamhub::TemplateList {
                    name: text(list, "name").to_owned(),
                    cards: cards
                        .iter()
                        .filter(|c| text(c, "list_id") == text(list, "id"))
                        .map(|card| teamhub::TemplateCard {
                            title: text(card, "title").to_owned(),
                            description: crate::rows::field(card, "description")
                                .as_str()
                                .map(str::to_owned),
                            priority: crate::rows::field(card, "priority")
                                .as_str()
                                .map(str::to_owned),
                            labels: crate::rows::field(card, "labels")
                                .as_array()
                                .cloned()
                                .unwrap_or_default(),
                            card_color: crate::rows::field(card, "card_color")
                                .as_str()
                                .map(str::to_owned),
                        })
                        .collect(),
                })
                .collect(),
        };
        structure.check()?;
        let mut template = Row::new();
        template.insert("name".into(), json!(name));
        template.insert("type".into(), json!("user"));
        template.insert("structure_json".into(), structure.to_value());
        Ok(self
            .access
            .create(actor, "teamhub_flow_templates", template)
            .await?)
    }
}
