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

    /// A click on a tracked link: the destination the sender signed into the link, or else
    /// the stored one (never one from the request), with the hit made durable first. `None`:
    /// not a tracked link.
    pub async fn accept_click(
        &self,
        segment: &str,
        hit: Hit<'_>,
    ) -> Result<Option<String>, RowError> {
        if let Some(signed) = self.link_key.as_ref().and_then(|key| key.open(segment))
            && plausible(signed.token)
        {
            let record = HitRecord::new(RecordKind::Click, signed.token, &hit, self.clock.now());
            self.make_durable(record).await?;
            return Ok(Some(signed.destination));
        }
        // A bare token, or a link signed with a key since rotated: its token is still good.
        let token = signed_link::token_of(segment);
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
                // Every hit of a flood would log this; the pending-bytes gauge tells it once.
                Err(error @ JournalError::Full(_)) => {
                    tracing::debug!(%error, "the hit journal is full: applied directly")
                }
                Err(error) => {
                    tracing::warn!(%error, "the hit journal refused a hit: applied directly")
                }
            }
        }
        self.apply(&[record]).await.map(|_| ())
    }
}
