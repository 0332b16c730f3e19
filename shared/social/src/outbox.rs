//! `SocialOutbox`: the local default network. Each publication becomes
//! `<dir>/<channel>-<id>.json` (channel, target, text, link, media URLs — never the token),
//! and its id is `local:<id>`. Nothing leaves the machine.

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scaliyo_store::{Publication, PublishError, Published, SocialNetwork};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct SocialOutbox {
    dir: PathBuf,
}

impl SocialOutbox {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Every publication written so far, oldest first.
    pub fn published(&self) -> Vec<Value> {
        let mut files: Vec<(std::time::SystemTime, Value)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let modified = entry.metadata().ok()?.modified().ok()?;
                let text = std::fs::read_to_string(entry.path()).ok()?;
                Some((modified, serde_json::from_str(&text).ok()?))
            })
            .collect();
        files.sort_by_key(|(at, _)| *at);
        files.into_iter().map(|(_, v)| v).collect()
    }
}

#[async_trait]
impl SocialNetwork for SocialOutbox {
    async fn publish(&self, p: &Publication) -> Result<Published, PublishError> {
        let id = uuid::Uuid::new_v4().to_string();
        let record = json!({
            "id": format!("local:{id}"),
            "channel": p.channel.as_str(),
            "target": p.target,
            "text": p.text,
            "link": p.link,
            "media": p.media.iter().map(|m| json!({ "url": m.url, "content_type": m.content_type })).collect::<Vec<_>>(),
            "published_at": Utc::now().to_rfc3339(),
        });
        let path = self.dir.join(format!("{}-{id}.json", p.channel.as_str()));
        let write = async {
            tokio::fs::create_dir_all(&self.dir).await?;
            tokio::fs::write(&path, serde_json::to_vec_pretty(&record)?).await
        };
        write
            .await
            .map_err(|e| PublishError::Network(format!("the local outbox: {e}")))?;
        Ok(Published {
            remote_post_id: format!("local:{id}"),
            usage: None,
        })
    }

    async fn find_recent(
        &self,
        p: &Publication,
        _since: DateTime<Utc>,
    ) -> Result<Option<String>, PublishError> {
        Ok(self
            .published()
            .into_iter()
            .rev()
            .find(|r| {
                r["channel"] == p.channel.as_str() && r["target"] == p.target && r["text"] == p.text
            })
            .and_then(|r| r["id"].as_str().map(str::to_owned)))
    }
}
