//! Idempotency-Key markers: one attempt holds a key; a repeat gets the outcome it already
//! has; an attempt that stopped is taken over.

use super::*;

/// A client's `Idempotency-Key`: 1 to 255 characters (as the header is documented).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 255;

    /// The key, or the 400 that names the header.
    pub fn parse(text: &str) -> Result<Self, SendError> {
        if text.is_empty() || text.len() > Self::MAX_CHARS {
            return Err(invalid("Idempotency-Key", "must be 1 to 255 characters"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(super) fn idempotency_key(owner: OwnerId, key: &str) -> Key {
    Key::new(layout::owner_partition(owner), format!("idem#send#{key}"))
}

pub(super) enum MarkerClaim {
    /// This attempt holds the key; `taken_over` when a stopped attempt held it before.
    Claimed {
        marker: Key,
        taken_over: bool,
    },
    Done(Box<SendOutcome>),
}

impl SendPipeline {
    /// Claims an Idempotency-Key for one attempt, or returns the outcome it already has.
    pub(super) async fn claim_marker(
        &self,
        owner: OwnerId,
        key: &str,
        stale_after: Option<chrono::Duration>,
    ) -> Result<MarkerClaim, SendError> {
        let store = self.access.rows().store().clone();
        let marker = idempotency_key(owner, key);
        let now = self.clock.now();
        let expires = (now + chrono::Duration::hours(24)).timestamp();
        let claim = Item::new(&marker)
            .with("state", "in_progress")
            .with("started", now.timestamp())
            .with(scaliyo_store::table::TTL, expires);
        match store.transact_write(vec![WriteOp::put_new(claim)]).await {
            Ok(()) => {
                return Ok(MarkerClaim::Claimed {
                    marker,
                    taken_over: false,
                });
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let existing = store.get(&marker).await?;
        if let Some(response) = existing.as_ref().and_then(|i| i.str("response")) {
            return serde_json::from_str(response)
                .map(|outcome| MarkerClaim::Done(Box::new(outcome)))
                .map_err(|e| invalid("Idempotency-Key", e.to_string()));
        }
        let started = existing.as_ref().and_then(|i| i.i64("started"));
        match (stale_after, started) {
            (Some(stale_after), Some(started)) if started <= (now - stale_after).timestamp() => {
                let takeover = Update::new().set("started", now.timestamp());
                match store
                    .update(&marker, takeover, Some(Condition::eq("started", started)))
                    .await
                {
                    Ok(_) => {
                        tracing::warn!(%owner, "taking over a send whose sender stopped mid-way");
                        Ok(MarkerClaim::Claimed {
                            marker,
                            taken_over: true,
                        })
                    }
                    Err(StoreError::ConditionFailed { .. }) => Err(SendError::InProgress),
                    Err(e) => Err(e.into()),
                }
            }
            _ => Err(SendError::InProgress),
        }
    }

    /// Keeps a finished attempt's outcome for replays; a refused one frees the key.
    pub(super) async fn settle_marker(
        &self,
        marker: Key,
        result: &Result<SendOutcome, SendError>,
    ) -> Result<(), SendError> {
        let store = self.access.rows().store().clone();
        match result {
            Ok(outcome) => {
                store
                    .transact_write(vec![marker_done(marker, outcome)])
                    .await?;
            }
            // A refused request may be retried with the same key.
            Err(_) => {
                let _ = store.transact_write(vec![WriteOp::delete(marker)]).await;
            }
        }
        Ok(())
    }
}

/// The write that keeps a sent attempt's outcome under its key, for replays.
pub(super) fn marker_done(marker: Key, outcome: &SendOutcome) -> WriteOp {
    let response = serde_json::to_string(outcome).unwrap_or_default();
    WriteOp::update(
        marker,
        Update::new().set("state", "done").set("response", response),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_has_1_to_255_characters() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(255))
                .map(|k| k.as_str().len())
                .ok(),
            Some(255)
        );
        assert_eq!(
            IdempotencyKey::parse("order-42")
                .ok()
                .map(|k| k.as_str().to_owned()),
            Some("order-42".to_owned())
        );
    }
}
