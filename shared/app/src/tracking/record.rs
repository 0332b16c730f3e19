//! A hit as the request path journals it: everything the worker needs to classify and store
//! it later, exactly as it would have at the time it happened.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use scaliyo_domain::tracking::Hit;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// Records spooled before clicks were journalled had no kind: they are opens.
    #[default]
    Open,
    Click,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HitRecord {
    #[serde(default)]
    pub kind: RecordKind,
    pub token: String,
    pub method: String,
    pub user_agent: Option<String>,
    pub ip: Option<IpAddr>,
    pub purpose: Option<String>,
    /// When the mail client made the request.
    pub at: DateTime<Utc>,
    /// The `email_events` id, chosen when the hit arrived: applying the record again (after a
    /// crash, or a queue's second delivery) finds the row already there and counts nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl HitRecord {
    pub fn new(kind: RecordKind, token: &str, hit: &Hit<'_>, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            token: token.to_owned(),
            method: hit.method.to_owned(),
            user_agent: hit.user_agent.map(str::to_owned),
            ip: hit.ip,
            purpose: hit.purpose.map(str::to_owned),
            at,
            event_id: Some(super::event_id_at(at)),
        }
    }

    /// The request's features, for the rules.
    pub fn hit(&self) -> Hit<'_> {
        Hit {
            kind: None,
            method: &self.method,
            user_agent: self.user_agent.as_deref(),
            ip: self.ip,
            purpose: self.purpose.as_deref(),
            seconds_since_sent: None,
        }
    }

    pub fn to_json(&self) -> String {
        // A struct of strings, an address and a date always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_spooled_by_an_earlier_version_reads_as_an_open_without_an_id() {
        let body = r#"{"token":"abcdefghijklmnopqrstuv","method":"GET","user_agent":"Mail","ip":"203.0.113.9","purpose":null,"at":"2026-11-27T09:10:00Z"}"#;
        let record: HitRecord = serde_json::from_str(body).expect("a spooled open");
        assert_eq!(record.kind, RecordKind::Open);
        assert_eq!(record.event_id, None);
        assert_eq!(record.hit().user_agent, Some("Mail"));
    }

    #[test]
    fn a_record_round_trips_with_its_event_id() {
        let hit = Hit {
            kind: None,
            method: "HEAD",
            user_agent: None,
            ip: None,
            purpose: Some("prefetch"),
            seconds_since_sent: None,
        };
        let at = DateTime::parse_from_rfc3339("2026-11-27T09:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let record = HitRecord::new(RecordKind::Click, "abcdefghijklmnopqrstuv", &hit, at);
        let back: HitRecord = serde_json::from_str(&record.to_json()).expect("json");
        assert_eq!(back, record);
        assert!(record.event_id.is_some());
    }
}
