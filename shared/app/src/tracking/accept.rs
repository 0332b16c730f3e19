//! The request path of the pixel and the redirect: only what the answer needs — the token's
//! shape (opens), its destination (clicks, cached), and the hit made durable in the journal.
//! Classification, the event row and the counts follow when the journal is applied.

use super::*;

impl Tracking {
    /// An open through the pixel. `Ok` once the hit is durable (or, with no journal, stored);
    /// an unknown token is dropped when the journal is applied.
    pub async fn accept_open(&self, token: &str, hit: Hit<'_>) -> Result<(), RowError> {
        if !plausible(token) {
            return Ok(());
        }
        let record = HitRecord::new(RecordKind::Open, token, &hit, self.clock.now());
        self.make_durable(record).await
    }

    /// A click on a tracked link: the stored destination (never one from the request), with
    /// the hit made durable first. `None`: not a tracked link.
    pub async fn accept_click(
        &self,
        token: &str,
        hit: Hit<'_>,
    ) -> Result<Option<String>, RowError> {
        let Some(found) = self.resolve(token).await? else {
            return Ok(None);
        };
        // A honeypot has no link row; every other tracked link does.
        let tracked = found.kind == "click" && (found.link_id.is_some() || found.honeypot);
        let Some(destination) = found.destination.clone().filter(|_| tracked) else {
            return Ok(None);
        };
        let record = HitRecord::new(RecordKind::Click, token, &hit, self.clock.now());
        self.make_durable(record).await?;
        Ok(Some(destination))
    }

    /// Into the journal; when the journal cannot take it (or there is none), applied at once
    /// — the store is the other durable place a hit can go.
    async fn make_durable(&self, record: HitRecord) -> Result<(), RowError> {
        if let Some(journal) = &self.journal {
            match journal.append(record.to_json()).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(%error, "the hit journal refused a hit: applied directly")
                }
            }
        }
        self.apply(&[record]).await.map(|_| ())
    }
}
