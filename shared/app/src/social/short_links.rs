//! `GET /l/{slug}`: social short links followed, each visit counted.

use scaliyo_domain::schema;
use std::net::IpAddr;
use std::sync::Arc;

use scaliyo_domain::social;
use serde_json::json;

use crate::rows::{Row, RowError, Rows};

/// `GET /l/{slug}`: the destination of a short link, with a `tracking_events` row (referrer,
/// user agent, keyed hash of the address — never the address).
#[derive(Clone)]
pub struct ShortLinks {
    rows: Rows,
    ip_key: Arc<[u8]>,
}

impl ShortLinks {
    pub fn new(rows: Rows, ip_key: &[u8]) -> Self {
        Self {
            rows,
            ip_key: Arc::from(ip_key),
        }
    }

    /// The destination, or None for an unknown slug. The event is best effort: a failed write
    /// is logged and the visitor still goes on (the link must work).
    pub async fn follow(
        &self,
        slug: &str,
        referrer: Option<&str>,
        user_agent: Option<&str>,
        ip: Option<IpAddr>,
        record: bool,
    ) -> Result<Option<String>, RowError> {
        if !social::plausible_slug(slug) {
            return Ok(None);
        }
        let links = &schema::TRACKING_LINKS;
        let Some(unique) = links
            .uniques
            .iter()
            .find(|u| u.name == "tracking_links_slug_key")
        else {
            return Ok(None);
        };
        let mut probe = Row::new();
        probe.insert("slug".into(), json!(slug));
        let Some(link) = self.rows.find_unique(links, unique, &probe).await? else {
            return Ok(None);
        };
        let Some(destination) = link["destination_url"].as_str().map(str::to_owned) else {
            return Ok(None);
        };
        if !record {
            return Ok(Some(destination));
        }
        let mut event = Row::new();
        event.insert("link_id".into(), link["id"].clone());
        event.insert("user_id".into(), link["user_id"].clone());
        event.insert(
            "referrer".into(),
            json!(referrer.map(|r| r.chars().take(1000).collect::<String>())),
        );
        event.insert(
            "user_agent".into(),
            json!(user_agent.map(|u| u.chars().take(1000).collect::<String>())),
        );
        event.insert(
            "ip_hash".into(),
            json!(ip.map(|ip| social::ip_hash(&self.ip_key, ip))),
        );
        if let Err(error) = self
            .rows
            .create(&schema::TRACKING_EVENTS, None, event)
            .await
        {
            tracing::warn!(%error, "recording a short-link visit failed");
        }
        Ok(Some(destination))
    }
}
