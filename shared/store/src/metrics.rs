//! The metrics port: counters and timings the use cases report (e-mails sent, tracking hits
//! by class, …). Adapters write CloudWatch Embedded Metric Format lines in Lambda (no API
//! calls) and keep Prometheus counters locally (`GET /_local/metrics`).

use std::sync::Arc;

/// One dimension: its name and value (`("class", "human")`).
pub type Dimension<'a> = (&'static str, &'a str);

pub trait Metrics: Send + Sync {
    /// Adds `value` to the counter `name` with these dimensions.
    fn count(&self, name: &'static str, dimensions: &[Dimension<'_>], value: u64);
    /// Records a duration in milliseconds (a lag, a latency).
    fn milliseconds(&self, name: &'static str, dimensions: &[Dimension<'_>], value: f64);
}

/// Reports nothing: the default where no adapter is wired.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn count(&self, _: &'static str, _: &[Dimension<'_>], _: u64) {}
    fn milliseconds(&self, _: &'static str, _: &[Dimension<'_>], _: f64) {}
}

/// The shared handle the use cases hold.
pub fn no_metrics() -> Arc<dyn Metrics> {
    Arc::new(NoMetrics)
}
