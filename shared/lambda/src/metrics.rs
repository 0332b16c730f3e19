//! Metrics as CloudWatch Embedded Metric Format: one JSON line per observation on stdout,
//! which CloudWatch Logs turns into metrics in the `Scaliyo` namespace — no API call, no
//! extra latency. Every metric carries the function's name as a dimension.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use scaliyo_store::{Dimension, Metrics};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Scaliyo";

pub struct EmfMetrics {
    function: String,
}

impl EmfMetrics {
    pub fn new(function: impl Into<String>) -> Self {
        Self {
            function: function.into(),
        }
    }

    /// The EMF document of one observation.
    pub fn line(
        &self,
        name: &str,
        unit: &str,
        dimensions: &[Dimension<'_>],
        value: Value,
        timestamp_ms: u128,
    ) -> String {
        let mut keys: Vec<&str> = vec!["function"];
        keys.extend(dimensions.iter().map(|(k, _)| *k));
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [keys],
                    "Metrics": [{ "Name": name, "Unit": unit }],
                }],
            }),
        );
        document.insert("function".into(), json!(self.function));
        for (key, value) in dimensions {
            document.insert((*key).into(), json!(value));
        }
        document.insert(name.into(), value);
        Value::Object(document).to_string()
    }

    fn emit(&self, name: &str, unit: &str, dimensions: &[Dimension<'_>], value: Value) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let line = self.line(name, unit, dimensions, value, now);
        // One write per line: Lambda's log capture keeps it whole.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

impl Metrics for EmfMetrics {
    fn count(&self, name: &'static str, dimensions: &[Dimension<'_>], value: u64) {
        self.emit(name, "Count", dimensions, json!(value));
    }

    fn milliseconds(&self, name: &'static str, dimensions: &[Dimension<'_>], value: f64) {
        self.emit(name, "Milliseconds", dimensions, json!(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_document_with_the_function_as_a_dimension() {
        let metrics = EmfMetrics::new("track-open");
        let line = metrics.line(
            "TrackingHits",
            "Count",
            &[("class", "human")],
            json!(1),
            1_780_000_000_000,
        );
        let document: Value = serde_json::from_str(&line).expect("JSON");
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(document["_aws"]["Timestamp"], 1_780_000_000_000_u64);
        assert_eq!(directive["Namespace"], "Scaliyo");
        assert_eq!(directive["Dimensions"], json!([["function", "class"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "TrackingHits", "Unit": "Count" }])
        );
        assert_eq!(
            (document["function"].as_str(), document["class"].as_str()),
            (Some("track-open"), Some("human"))
        );
        assert_eq!(document["TrackingHits"], 1);
        assert!(!line.contains('\n'));
    }
}
