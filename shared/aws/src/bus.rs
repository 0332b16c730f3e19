//! `EventBridgeBus`: the event bus port on Amazon EventBridge (and moto).

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use scaliyo_store::{BusError, DomainEvent, EventBus};

/// PutEvents takes at most 10 entries.
const MAX_ENTRIES: usize = 10;

#[derive(Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: Vec<DomainEvent>) -> Result<(), BusError> {
        for chunk in events.chunks(MAX_ENTRIES) {
            let entries = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(&event.source)
                        .detail_type(&event.detail_type)
                        .detail(event.detail.to_string())
                        .build()
                })
                .collect::<Vec<_>>();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| BusError::Unavailable(format!("{e:?}")))?;
            let failed = output.failed_entry_count();
            if failed > 0 {
                return Err(BusError::Rejected {
                    failed: failed as usize,
                });
            }
        }
        Ok(())
    }
}
