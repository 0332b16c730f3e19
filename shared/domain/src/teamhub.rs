//! Team Hub boards as templates and the activity a card's history records (docs/teamhub.md).
//!
//! A template's `structure_json` is `{"lists": [{"name", "cards": [{"title", "description"?,
//! "priority"?, "labels"?, "card_color"?}]}]}`. A board built from it is written in one
//! transaction, so a template is bounded: at most [`MAX_LISTS`] lists and [`MAX_CARDS`] cards.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The most lists a template holds.
pub const MAX_LISTS: usize = 10;
/// The most cards a template holds, over all its lists. With a board, its owner's membership,
/// the lists and one history entry per card, a board from a template is at most
/// 1 + 2 + 10 + 2 × 40 + 1 = 94 writes: inside one DynamoDB transaction (100).
pub const MAX_CARDS: usize = 40;
const MAX_NAME_CHARS: usize = 200;
const MAX_LABELS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateCard {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_color: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateList {
    pub name: String,
    #[serde(default)]
    pub cards: Vec<TemplateCard>,
}

/// A board's shape: its lists in order, each with its starter cards in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardTemplate {
    #[serde(default)]
    pub lists: Vec<TemplateList>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("structure_json is not a board template: {0}")]
    Shape(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "a template holds at most {MAX_LISTS} lists and {MAX_CARDS} cards; this has {lists} lists and {cards} cards"
    )]
    TooLarge { lists: usize, cards: usize },
}

impl BoardTemplate {
    /// Reads and checks a `structure_json` value.
    pub fn parse(structure: &Value) -> Result<Self, TemplateError> {
        // serde would also read a struct from an array of its fields.
        if !structure.is_object() {
            return Err(TemplateError::Shape("must be an object".into()));
        }
        let template: Self = serde_json::from_value(structure.clone())
            .map_err(|e| TemplateError::Shape(e.to_string()))?;
        template.check()?;
        Ok(template)
    }

    pub fn card_count(&self) -> usize {
        self.lists.iter().map(|l| l.cards.len()).sum()
    }

    /// Its bounds, and each name, priority and label list as the card columns take them.
    pub fn check(&self) -> Result<(), TemplateError> {
        let cards = self.card_count();
        if self.lists.len() > MAX_LISTS || cards > MAX_CARDS {
            return Err(TemplateError::TooLarge {
                lists: self.lists.len(),
                cards,
            });
        }
        let named = |what: &str, text: &str| {
            let length = text.trim().chars().count();
            if length == 0 || length > MAX_NAME_CHARS {
                Err(TemplateError::Invalid(format!(
                    "every {what} needs 1 to {MAX_NAME_CHARS} characters"
                )))
            } else {
                Ok(())
            }
        };
        for list in &self.lists {
            named("list name", &list.name)?;
            for card in &list.cards {
                named("card title", &card.title)?;
                if let Some(priority) = &card.priority
                    && !matches!(priority.as_str(), "low" | "medium" | "high")
                {
                    return Err(TemplateError::Invalid(format!(
                        "card priority {priority:?} is not one of low, medium, high"
                    )));
                }
                if card.labels.len() > MAX_LABELS {
                    return Err(TemplateError::Invalid(format!(
                        "a card holds at most {MAX_LABELS} labels"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({ "lists": [] }))
    }
}

/// A template every deployment has (`type = 'system'`), under a fixed id so that seeding is
/// idempotent and a frontend may name it.
pub struct SystemTemplate {
    pub id: &'static str,
    pub name: &'static str,
    lists: &'static [(&'static str, &'static [StarterCard])],
}

/// A starter card of a system template: its title and priority.
type StarterCard = (&'static str, Option<&'static str>);

impl SystemTemplate {
    pub fn structure(&self) -> BoardTemplate {
        BoardTemplate {
            lists: self
                .lists
                .iter()
                .map(|(name, cards)| TemplateList {
                    name: (*name).to_owned(),
                    cards: cards
                        .iter()
                        .map(|(title, priority)| TemplateCard {
                            title: (*title).to_owned(),
                            description: None,
                            priority: priority.map(str::to_owned),
                            labels: Vec::new(),
                            card_color: None,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The seed's system templates: Basic Workflow, Sales Sprint, Project Delivery.
pub const SYSTEM_TEMPLATES: &[SystemTemplate] = &[
    SystemTemplate {
        id: "5c0a1f3e-0b1d-4c3a-9f00-000000000001",
        name: "Basic Workflow",
        lists: &[
            (
                "To Do",
                &[
                    ("Welcome! Drag this card to In Progress", None),
                    ("Invite your team to this flow", Some("medium")),
                ],
            ),
            ("In Progress", &[]),
            ("Done", &[]),
        ],
    },
    SystemTemplate {
        id: "5c0a1f3e-0b1d-4c3a-9f00-000000000002",
        name: "Sales Sprint",
        lists: &[
            (
                "Prospects",
                &[
                    ("Build this week's target list", Some("high")),
                    ("Research the top 10 accounts", Some("medium")),
                ],
            ),
            (
                "Contacted",
                &[("Send the first outreach sequence", Some("high"))],
            ),
            ("Meeting Booked", &[]),
            ("Proposal Sent", &[]),
            ("Won", &[]),
            ("Lost", &[]),
        ],
    },
    SystemTemplate {
        id: "5c0a1f3e-0b1d-4c3a-9f00-000000000003",
        name: "Project Delivery",
        lists: &[
            (
                "Backlog",
                &[
                    ("Agree on scope and success criteria", Some("high")),
                    ("Plan milestones", Some("medium")),
                ],
            ),
            ("Planned", &[("Kick-off meeting", Some("medium"))]),
            ("In Progress", &[]),
            ("Review", &[]),
            ("Delivered", &[]),
        ],
    },
];

/// One entry of a card's history (`teamhub_activity.action` and `details`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    pub action: &'static str,
    pub details: Value,
}

/// Card columns whose change is an edit worth recording (positions are reordering, and the
/// bookkeeping columns are the server's).
const EDITED_CARD_COLUMNS: &[&str] = &[
    "title",
    "description",
    "due_date",
    "priority",
    "labels",
    "card_color",
];

fn text<'a>(row: &'a Map<String, Value>, column: &str) -> &'a Value {
    row.get(column).unwrap_or(&Value::Null)
}

/// What a card's write records: `card.created`; `card.moved` (another list), `card.archived`
/// / `card.restored`, and `card.updated` with the edited columns. A reorder within a list
/// records nothing.
pub fn card_activity(
    before: Option<&Map<String, Value>>,
    after: &Map<String, Value>,
) -> Vec<ActivityEntry> {
    let Some(before) = before else {
        return vec![ActivityEntry {
            action: "card.created",
            details: json!({ "title": text(after, "title"), "list_id": text(after, "list_id") }),
        }];
    };
    let mut entries = Vec::new();
    if text(before, "list_id") != text(after, "list_id") {
        entries.push(ActivityEntry {
            action: "card.moved",
            details: json!({
                "from_list_id": text(before, "list_id"),
                "to_list_id": text(after, "list_id"),
                "position": text(after, "position"),
            }),
        });
    }
    let archived = |row: &Map<String, Value>| row.get("is_archived") == Some(&Value::Bool(true));
    match (archived(before), archived(after)) {
        (false, true) => entries.push(ActivityEntry {
            action: "card.archived",
            details: json!({}),
        }),
        (true, false) => entries.push(ActivityEntry {
            action: "card.restored",
            details: json!({}),
        }),
        _ => {}
    }
    let edited: Vec<&str> = EDITED_CARD_COLUMNS
        .iter()
        .copied()
        .filter(|column| text(before, column) != text(after, column))
        .collect();
    if !edited.is_empty() {
        entries.push(ActivityEntry {
            action: "card.updated",
            details: json!({ "columns": edited }),
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_system_templates_are_valid_and_distinct() {
        let mut ids: Vec<&str> = SYSTEM_TEMPLATES.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 3);
        for template in SYSTEM_TEMPLATES {
            assert!(uuid::Uuid::parse_str(template.id).is_ok());
            let structure = template.structure();
            assert!(structure.lists.len() >= 3, "{}", template.name);
            assert!(structure.card_count() >= 2, "{}", template.name);
            assert_eq!(BoardTemplate::parse(&structure.to_value()), Ok(structure));
        }
    }

    #[test]
    fn a_structure_is_parsed_and_bounded() {
        assert_eq!(
            BoardTemplate::parse(&json!({})),
            Ok(BoardTemplate::default())
        );
        let ok = json!({"lists": [{"name": "A", "cards": [{"title": "x", "priority": "low", "labels": ["red"]}]}]});
        assert_eq!(BoardTemplate::parse(&ok).map(|t| t.card_count()), Ok(1));
        for bad in [
            json!([]),
            json!({"lists": "no"}),
            json!({"lists": [{"name": ""}]}),
            json!({"lists": [{"name": "A", "cards": [{"title": " "}]}]}),
            json!({"lists": [{"name": "A", "cards": [{"title": "x", "priority": "urgent"}]}]}),
            json!({"lists": [{"name": "A", "colour": "red"}]}),
        ] {
            assert!(BoardTemplate::parse(&bad).is_err(), "{bad}");
        }
        let many_lists: Vec<Value> = (0..=MAX_LISTS)
            .map(|i| json!({"name": format!("L{i}")}))
            .collect();
        assert!(matches!(
            BoardTemplate::parse(&json!({ "lists": many_lists })),
            Err(TemplateError::TooLarge { .. })
        ));
        let many_cards: Vec<Value> = (0..=MAX_CARDS)
            .map(|i| json!({"title": format!("C{i}")}))
            .collect();
        assert!(matches!(
            BoardTemplate::parse(&json!({ "lists": [{"name": "A", "cards": many_cards}] })),
            Err(TemplateError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_cards_history_names_what_changed() {
        let card = row(json!({"title": "T", "list_id": "a", "position": 0, "is_archived": false}));
        let created = card_activity(None, &card);
        assert_eq!(created[0].action, "card.created");
        assert_eq!(created[0].details["list_id"], "a");

        let mut reordered = card.clone();
        reordered.insert("position".into(), json!(3));
        assert!(card_activity(Some(&card), &reordered).is_empty());

        let mut moved = card.clone();
        moved.insert("list_id".into(), json!("b"));
        let entries = card_activity(Some(&card), &moved);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].action, "card.moved");
        assert_eq!(entries[0].details["to_list_id"], "b");

        let mut archived = card.clone();
        archived.insert("is_archived".into(), json!(true));
        archived.insert("title".into(), json!("T2"));
        let actions: Vec<&str> = card_activity(Some(&card), &archived)
            .iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["card.archived", "card.updated"]);
        assert_eq!(
            card_activity(Some(&archived), &card)[0].action,
            "card.restored"
        );
    }
}
