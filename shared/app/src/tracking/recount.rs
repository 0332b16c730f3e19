//! Recounting: stored hits judged again with today's rules, and the analytics of the days
//! whose verdicts changed rebuilt.

use super::*;
use serde::Serialize;

/// What a recount changed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RecountReport {
    pub examined: usize,
    pub changed: usize,
    /// `"<old reason> -> <new reason>"` and how often.
    pub changes: std::collections::BTreeMap<String, usize>,
    /// The days whose analytics were rebuilt.
    pub dates_rebuilt: Vec<String>,
}

impl Tracking {
    /// Judges an owner's stored hits again with today's rules, from the raw features each
    /// event keeps (method, user agent, address, purpose header, honeypot, time after sending,
    /// the message's other hits), rewrites the verdicts that changed and rebuilds the
    /// analytics of the days concerned. For a rules change (new network lists, new rules).
    pub async fn recount(
        &self,
        owner: OwnerId,
        since: Option<DateTime<Utc>>,
    ) -> Result<RecountReport, RowError> {
        let (events, messages) = (&schema::EMAIL_EVENTS, &schema::EMAIL_MESSAGES);
        let mut by_message: std::collections::BTreeMap<String, Vec<Item>> = Default::default();
        let mut cursor = None;
        loop {
            let page = self
                .rows
                .store()
                .query(
                    Query::partition(Index::Table, layout::owner_partition(owner))
                        .sort(scaliyo_store::SortCondition::BeginsWith(
                            "email_events#".into(),
                        ))
                        .after(cursor.take()),
                )
                .await?;
            for item in page.items {
                let hit_kind = matches!(item.str("event_type"), Some("open" | "click"));
                let recent_enough = since.is_none_or(|since| {
                    item.str("created_at")
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .is_some_and(|t| {
                            t.with_timezone(&Utc) >= since - chrono::Duration::minutes(1)
                        })
                });
                if hit_kind
                    && recent_enough
                    && let Some(message) = item.str("message_id")
                {
                    by_message.entry(message.to_owned()).or_default().push(item);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut report = RecountReport::default();
        let mut dates = std::collections::BTreeSet::new();
        for (message_id, mut items) in by_message {
            items.sort_by(|a, b| a.str("created_at").cmp(&b.str("created_at")));
            let message = self
                .rows
                .get(messages, Some(&owner.to_string()), &message_id)
                .await?;
            let sent = message
                .as_ref()
                .and_then(|m| m["created_at"].as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let mut changed_here = false;
            for (index, item) in items.iter().enumerate() {
                let Some(at) = item
                    .str("created_at")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc))
                else {
                    continue;
                };
                if since.is_some_and(|since| at < since) {
                    continue;
                }
                report.examined += 1;
                let metadata: Value = item
                    .get("metadata")
                    .map(|m| m.to_json())
                    .unwrap_or(Value::Null);
                let kind = if item.str("event_type") == Some("click") {
                    HitKind::Click
                } else {
                    HitKind::Open
                };
                let hit = Hit {
                    kind: Some(kind),
                    method: metadata["method"].as_str().unwrap_or("GET"),
                    user_agent: item.str("user_agent"),
                    ip: item.str("ip_address").and_then(|ip| ip.parse().ok()),
                    purpose: metadata["purpose"].as_str(),
                    seconds_since_sent: sent.map(|sent| (at - sent).num_seconds()),
                };
                let history: Vec<PastHit> = items[..index]
                    .iter()
                    .rev()
                    .filter_map(|earlier| super::recent::past_hit(earlier, at))
                    .collect();
                let verdict = self.rules.judge(
                    &hit,
                    &Context {
                        link_id: item.str("link_id"),
                        honeypot: metadata["honeypot"].as_bool().unwrap_or(false),
                        history: &history,
                    },
                );
                let old_reason = metadata["reason"].as_str().unwrap_or("unclassified");
                let old_bot = matches!(item.get("is_bot"), Some(scaliyo_store::Value::Bool(true)));
                if old_reason == verdict.reason && old_bot == verdict.is_bot {
                    continue;
                }
                let mut updated = metadata.clone();
                if !updated.is_object() {
                    updated = json!({});
                }
                updated["class"] = json!(verdict.class.as_str());
                updated["reason"] = json!(verdict.reason);
                updated["evidence"] = json!(verdict.evidence);
                updated["recounted_from"] = json!(old_reason);
                let mut patch = Row::new();
                patch.insert("is_bot".into(), json!(verdict.is_bot));
                patch.insert("is_apple_privacy".into(), json!(verdict.is_apple_privacy));
                patch.insert("metadata".into(), updated);
                let (_, op) = self.rows.transition_op(events, item, patch, &[])?;
                match self.rows.store().transact_write(vec![op]).await {
                    Ok(()) => {}
                    // Changed meanwhile (deleted with its message): leave it.
                    Err(StoreError::ConditionFailed { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
                *report
                    .changes
                    .entry(format!("{old_reason} -> {}", verdict.reason))
                    .or_default() += 1;
                report.changed += 1;
                changed_here = true;
            }
            if changed_here
                && let Some(date) = message.as_ref().and_then(crate::analytics::message_date)
            {
                dates.insert(date);
            }
        }
        report.dates_rebuilt = dates.into_iter().collect();
        if !report.dates_rebuilt.is_empty() {
            crate::analytics::rebuild(&self.rows, owner, &report.dates_rebuilt).await?;
        }
        tracing::info!(
            %owner,
            examined = report.examined,
            changed = report.changed,
            "tracking recount"
        );
        Ok(report)
    }
}
