//! Metrics kept in memory for the local system, rendered in the Prometheus text format at
//! `GET /_local/metrics` (counters as `scaliyo_<name>_total`, timings as a sum and a count).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use scaliyo_store::{Dimension, Metrics};

/// A metric's name and its dimensions, sorted.
type Series = (&'static str, Vec<(&'static str, String)>);

#[derive(Default)]
pub struct PrometheusMetrics {
    counters: Mutex<BTreeMap<Series, u64>>,
    /// Per series: the sum of the milliseconds and the number of observations.
    timings: Mutex<BTreeMap<Series, (f64, u64)>>,
}

fn series(name: &'static str, dimensions: &[Dimension<'_>]) -> Series {
    let mut labels: Vec<(&'static str, String)> = dimensions
        .iter()
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    labels.sort();
    (name, labels)
}

/// `EmailsSent` → `emails_sent`.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn labels(dimensions: &[(&'static str, String)]) -> String {
    if dimensions.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = dimensions
        .iter()
        .map(|(k, v)| {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl PrometheusMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let mut last = "";
        for ((name, dimensions), value) in &counters {
            let metric = format!("scaliyo_{}_total", snake(name));
            if *name != last {
                let _ = writeln!(out, "# TYPE {metric} counter");
                last = name;
            }
            let _ = writeln!(out, "{metric}{} {value}", labels(dimensions));
        }
        let timings = self.timings.lock().map(|t| t.clone()).unwrap_or_default();
        let mut last = "";
        for ((name, dimensions), (sum, count)) in &timings {
            let metric = format!("scaliyo_{}_milliseconds", snake(name));
            if *name != last {
                let _ = writeln!(out, "# TYPE {metric} summary");
                last = name;
            }
            let labels = labels(dimensions);
            let _ = writeln!(out, "{metric}_sum{labels} {sum}");
            let _ = writeln!(out, "{metric}_count{labels} {count}");
        }
        out
    }
}

impl Metrics for PrometheusMetrics {
    fn count(&self, name: &'static str, dimensions: &[Dimension<'_>], value: u64) {
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry(series(name, dimensions)).or_default() += value;
        }
    }

    fn milliseconds(&self, name: &'static str, dimensions: &[Dimension<'_>], value: f64) {
        if let Ok(mut timings) = self.timings.lock() {
            let entry = timings.entry(series(name, dimensions)).or_default();
            entry.0 += value;
            entry.1 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_timings_render_in_the_text_format() {
        let metrics = PrometheusMetrics::new();
        metrics.count("TrackingHits", &[("class", "human"), ("kind", "open")], 2);
        metrics.count("TrackingHits", &[("kind", "open"), ("class", "human")], 1);
        metrics.count(
            "TrackingHits",
            &[("class", "machine \"x\""), ("kind", "open")],
            1,
        );
        metrics.count("EmailsSent", &[], 1);
        metrics.milliseconds("SchedulerLag", &[], 1500.0);
        metrics.milliseconds("SchedulerLag", &[], 500.0);
        let text = metrics.render();
        assert!(
            text.contains("# TYPE scaliyo_tracking_hits_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("scaliyo_tracking_hits_total{class=\"human\",kind=\"open\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "scaliyo_tracking_hits_total{class=\"machine \\\"x\\\"\",kind=\"open\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("scaliyo_emails_sent_total 1\n"), "{text}");
        assert!(
            text.contains("scaliyo_scheduler_lag_milliseconds_sum 2000\n"),
            "{text}"
        );
        assert!(
            text.contains("scaliyo_scheduler_lag_milliseconds_count 2\n"),
            "{text}"
        );
    }
}
