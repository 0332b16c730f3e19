//! The embedded default: every port implemented on this machine alone — a redb file for the
//! table, an in-process queue, a directory for blobs, an in-memory event bus. This is what
//! `scaliyo serve` runs and what every test can use without an emulator.

pub mod blobs;
pub mod bus;
pub mod journal;
pub mod metrics;
pub mod queue;
pub mod sealer;
pub mod table;

pub use blobs::LocalBlobs;
pub use bus::LocalEventBus;
pub use journal::FileJournal;
pub use metrics::PrometheusMetrics;
pub use queue::LocalQueue;
pub use sealer::LocalSealer;
pub use table::RedbTable;
