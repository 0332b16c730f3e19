//! The capacity units DynamoDB says it consumed (`ReturnConsumedCapacity: TOTAL`), summed per
//! table adapter when a meter is attached: how benchmarks and tests read what a use case
//! really costs on DynamoDB (Local), as opposed to the priced estimate of `CountingTable`.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

/// Units are kept in thousandths (DynamoDB reports halves for eventually consistent reads).
#[derive(Debug, Default)]
pub struct CapacityMeter {
    requests: AtomicU64,
    read_milli: AtomicU64,
    write_milli: AtomicU64,
}

/// What a meter has counted so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Consumed {
    /// Requests that reported a consumption.
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

impl std::ops::Sub for Consumed {
    type Output = Consumed;
    fn sub(self, before: Consumed) -> Consumed {
        Consumed {
            requests: self.requests - before.requests,
            read_units: self.read_units - before.read_units,
            write_units: self.write_units - before.write_units,
        }
    }
}

fn milli(units: Option<f64>) -> u64 {
    (units.unwrap_or(0.0).max(0.0) * 1000.0).round() as u64
}

impl CapacityMeter {
    /// What to ask DynamoDB for.
    pub(crate) fn request() -> Option<ReturnConsumedCapacity> {
        Some(ReturnConsumedCapacity::Total)
    }

    /// Adds one response's consumption. Read and write units are reported apart for some
    /// operations and only as a total for others (a write's total is its write units).
    pub(crate) fn record<'a>(
        &self,
        consumed: impl IntoIterator<Item = &'a ConsumedCapacity>,
        writes: bool,
    ) {
        let mut any = false;
        for capacity in consumed {
            any = true;
            let (read, write) = match (
                capacity.read_capacity_units(),
                capacity.write_capacity_units(),
            ) {
                (None, None) if writes => (None, capacity.capacity_units()),
                (None, None) => (capacity.capacity_units(), None),
                split => split,
            };
            self.read_milli.fetch_add(milli(read), Ordering::Relaxed);
            self.write_milli.fetch_add(milli(write), Ordering::Relaxed);
        }
        if any {
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn consumed(&self) -> Consumed {
        Consumed {
            requests: self.requests.load(Ordering::Relaxed),
            read_units: self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }
}
