//! A subsegment document, as the X-Ray daemon takes it (the segment document schema's
//! `type: subsegment` form, sent on its own with the trace and parent ids).

use serde_json::{Map, Value, json};

use super::header::TraceHeader;

/// One SDK operation, timed and with its outcome.
#[derive(Debug, Clone)]
pub struct Subsegment {
    /// The service as X-Ray names AWS resources (`DynamoDB`, `SQS`, `S3`, …).
    pub service: String,
    pub operation: String,
    pub region: Option<String>,
    /// The service's request id (`x-amzn-requestid` / `x-amz-request-id`).
    pub request_id: Option<String>,
    /// Seconds since the epoch, with fractions.
    pub start_time: f64,
    pub end_time: f64,
    /// The last attempt's HTTP status; `None` when no response came (a timeout, a refused
    /// connection).
    pub status: Option<u16>,
    /// Attempts beyond the first.
    pub retries: u32,
    /// The operation returned an error.
    pub failed: bool,
    /// The service refused the call for its rate (429, or a throttling error code).
    pub throttled: bool,
    /// `function`, `request_id`, `owner_id`: X-Ray annotations (indexed, searchable).
    pub annotations: Vec<(&'static str, String)>,
}

impl Subsegment {
    /// The document under `trace`, with `id` as the subsegment's own id.
    pub fn document(&self, trace: &TraceHeader, id: &str) -> Value {
        let mut aws = Map::new();
        aws.insert("operation".into(), json!(self.operation));
        if let Some(region) = &self.region {
            aws.insert("region".into(), json!(region));
        }
        if let Some(request_id) = &self.request_id {
            aws.insert("request_id".into(), json!(request_id));
        }
        aws.insert("retries".into(), json!(self.retries));
        let annotations: Map<String, Value> = self
            .annotations
            .iter()
            .map(|(key, value)| ((*key).to_owned(), json!(value)))
            .collect();
        let fault = self.failed && self.status.is_none_or(|s| s >= 500);
        let error = self.failed && !fault;
        let mut document = json!({
            "name": self.service,
            "id": id,
            "trace_id": trace.root,
            "parent_id": trace.parent,
            "type": "subsegment",
            "namespace": "aws",
            "start_time": self.start_time,
            "end_time": self.end_time,
            "aws": aws,
            "error": error,
            "fault": fault,
            "throttle": self.throttled,
            "annotations": annotations,
        });
        if let Some(status) = self.status {
            document["http"] = json!({ "response": { "status": status } });
        }
        document
    }
}

/// A fresh subsegment id: 64 random bits as 16 hexadecimal digits.
pub(crate) fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> TraceHeader {
        TraceHeader {
            root: "1-5759e988-bd862e3fe1be46a994272793".into(),
            parent: "53995c3f42cd8ad8".into(),
            sampled: true,
        }
    }

    fn put_item(status: Option<u16>, failed: bool) -> Subsegment {
        Subsegment {
            service: "DynamoDB".into(),
            operation: "PutItem".into(),
            region: Some("eu-central-1".into()),
            request_id: Some("R1".into()),
            start_time: 1_700_000_000.5,
            end_time: 1_700_000_000.75,
            status,
            retries: 0,
            failed,
            throttled: status == Some(429),
            annotations: vec![("function", "api".into()), ("owner_id", "u1".into())],
        }
    }

    #[test]
    fn a_successful_call_is_a_subsegment_of_the_function_segment() {
        let document = put_item(Some(200), false).document(&trace(), "0123456789abcdef");
        assert_eq!(
            document,
            json!({
                "name": "DynamoDB", "id": "0123456789abcdef",
                "trace_id": "1-5759e988-bd862e3fe1be46a994272793", "parent_id": "53995c3f42cd8ad8",
                "type": "subsegment", "namespace": "aws",
                "start_time": 1_700_000_000.5, "end_time": 1_700_000_000.75,
                "aws": { "operation": "PutItem", "region": "eu-central-1", "request_id": "R1", "retries": 0 },
                "http": { "response": { "status": 200 } },
                "error": false, "fault": false, "throttle": false,
                "annotations": { "function": "api", "owner_id": "u1" }
            })
        );
    }

    #[test]
    fn client_errors_faults_and_throttles() {
        let error = put_item(Some(400), true).document(&trace(), "0");
        assert_eq!(
            (error["error"].clone(), error["fault"].clone()),
            (json!(true), json!(false))
        );
        let fault = put_item(Some(500), true).document(&trace(), "0");
        assert_eq!(
            (fault["error"].clone(), fault["fault"].clone()),
            (json!(false), json!(true))
        );
        let no_answer = put_item(None, true).document(&trace(), "0");
        assert_eq!(no_answer["fault"], json!(true));
        assert!(no_answer.get("http").is_none());
        let throttled = put_item(Some(429), true).document(&trace(), "0");
        assert_eq!(throttled["throttle"], json!(true));
    }

    #[test]
    fn ids_are_sixteen_hex_digits() {
        for _ in 0..100 {
            assert!(super::super::header::valid_id(&new_id()));
        }
    }
}
