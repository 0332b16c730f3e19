//! The wait nodes: `wait.duration`, `wait.until` and `wait.event` (with its timeout branch).
//! A wait parks the run with a due time; the tick wakes it then, and an awaited event wakes
//! it at once. A `wait.event` on a message first looks whether the event already happened
//! (a lead who opened before reaching the wait takes the matched branch).

use chrono::{DateTime, NaiveDate, Utc};
use scaliyo_domain::schema;
use scaliyo_domain::workflows::Tz;
use scaliyo_domain::workflows::{Graph, Node, NodeKind, WaitUntilConfig};
use serde_json::Value;

use super::run::{Outcome, Run, next};
use super::*;
use crate::rows::{ListRequest, Row, RowError};

/// The `email_events.event_type` of an awaited event (replies have no event row).
fn stored_type(event: &str) -> Option<&'static str> {
    match event {
        "email.opened" => Some("open"),
        "email.clicked" => Some("click"),
        _ => None,
    }
}

fn branch(node: &Node, key: &str) -> Outcome {
    let next = node
        .branches
        .iter()
        .find(|b| b.key == key)
        .and_then(|b| b.next.clone());
    Outcome::Next {
        next,
        branch: Some(key.to_owned()),
        result: None,
        committed: false,
    }
}

/// A date or timestamp column's value as an instant (a date is its midnight in `zone`).
fn instant(value: &Value, zone: Tz) -> Option<DateTime<Utc>> {
    let text = value.as_str()?.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(scaliyo_domain::schedule::resolve(
        zone,
        date.and_time(chrono::NaiveTime::MIN),
    ))
}

impl Workflows {
    fn zone_for(&self, graph: &Graph, lead: &Row) -> Tz {
        self.window_for(graph, lead)
            .map(|w| w.zone)
            .unwrap_or(Tz::UTC)
    }

    pub(super) async fn wait(
        &self,
        run: &Run,
        graph: &Graph,
        node: &Node,
        lead: &Row,
        resumed: Option<Waiting>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkflowError> {
        let zone = self.zone_for(graph, lead);
        let entry = run.entries.get(&node.id).copied().unwrap_or(0);
        let park = |at: DateTime<Utc>, events: Vec<String>, message_id: Option<String>, since| {
            Outcome::Park(Waiting::Until {
                node: node.id.clone(),
                entry,
                at,
                events,
                message_id,
                since,
                heard: false,
            })
        };
        let resumed = match resumed {
            Some(Waiting::Until {
                at,
                since,
                message_id,
                heard,
                ..
            }) => Some((at, since, message_id, heard)),
            _ => None,
        };
        match &node.kind {
            NodeKind::WaitDuration(delay) => {
                let at = resumed
                    .as_ref()
                    .map(|r| r.0)
                    .unwrap_or_else(|| delay.after(now, zone));
                Ok(if now >= at {
                    next(&node.next)
                } else {
                    park(at, Vec::new(), None, now)
                })
            }
            NodeKind::WaitUntil(config) => {
                let at = match &resumed {
                    Some(r) => Some(r.0),
                    None => until(config, lead, zone),
                };
                Ok(match at {
                    // A past date, or a lead without the date: nothing to wait for.
                    Some(at) if now < at => park(at, Vec::new(), None, now),
                    _ => next(&node.next),
                })
            }
            NodeKind::WaitEvent(config) => {
                let (at, since, message_id, heard) = match resumed {
                    Some(r) => r,
                    None => {
                        let message_id = config.message_of.as_ref().map(|of| {
                            crate::send::keyed_message_id(
                                run.owner,
                                &super::actions::send_key(run, of),
                            )
                        });
                        (config.timeout.after(now, zone), now, message_id, false)
                    }
                };
                let happened = heard
                    || match &message_id {
                        Some(message) => {
                            self.event_happened(run.owner, message, &config.events)
                                .await?
                        }
                        None => false,
                    };
                Ok(if happened {
                    branch(node, "matched")
                } else if now >= at {
                    branch(node, "timeout")
                } else {
                    park(at, config.events.clone(), message_id, since)
                })
            }
            _ => Ok(next(&node.next)),
        }
    }

    /// Whether a person (not a machine) already opened or clicked the message.
    async fn event_happened(
        &self,
        owner: OwnerId,
        message_id: &str,
        events: &[String],
    ) -> Result<bool, RowError> {
        let wanted: Vec<&str> = events.iter().filter_map(|e| stored_type(e)).collect();
        if wanted.is_empty() {
            return Ok(false);
        }
        let mut cursor = None;
        loop {
            let page = self
                .access
                .rows()
                .list(
                    &schema::EMAIL_EVENTS,
                    Some(&owner.to_string()),
                    ListRequest {
                        index: Some("idx_email_events_message".into()),
                        equals: vec![message_id.to_owned()],
                        limit: 100,
                        cursor,
                        ..ListRequest::default()
                    },
                )
                .await?;
            let human = page.rows.iter().any(|event| {
                let kind = crate::rows::field(event, "event_type")
                    .as_str()
                    .unwrap_or_default();
                wanted.contains(&kind)
                    && crate::rows::field(event, "is_bot").as_bool() != Some(true)
            });
            if human {
                return Ok(true);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(false),
            }
        }
    }
}

/// When a `wait.until` ends for a lead: its instant, or the lead's date field plus the
/// offset (None: the lead has no such date).
fn until(config: &WaitUntilConfig, lead: &Row, zone: Tz) -> Option<DateTime<Utc>> {
    if let Some(at) = config.at {
        return Some(at.with_timezone(&Utc));
    }
    let field = config.field.as_deref()?;
    let date = instant(
        scaliyo_domain::workflows::filter::field_value(lead, field),
        zone,
    )?;
    Some(match &config.offset {
        Some(offset) => offset.after(date, zone),
        None => date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_are_instants() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            instant(&Value::from("2026-12-24"), berlin).map(|t| t.to_rfc3339()),
            Some("2026-12-23T23:00:00+00:00".into())
        );
        assert!(instant(&Value::from("2026-12-24T10:00:00Z"), berlin).is_some());
        assert!(instant(&Value::from("next week"), berlin).is_none());
        assert!(instant(&Value::Null, berlin).is_none());
    }
}
