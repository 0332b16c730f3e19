//! The SDK interceptor: one subsegment per operation (retries included), sent when the
//! operation ends.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_types::region::Region;

use super::daemon::Daemon;
use super::document::{Subsegment, new_id};
use super::fields::Invocation;
use super::header::TraceHeader;

/// Error codes by which AWS services say "too fast".
const THROTTLING: [&str; 5] = [
    "Throttling",
    "ThroughputExceeded",
    "RequestLimitExceeded",
    "SlowDown",
    "TooManyRequests",
];

/// Attach with `<service>::config::Builder::interceptor`.
#[derive(Debug, Clone)]
pub struct SdkSubsegments {
    daemon: Arc<Daemon>,
}

impl SdkSubsegments {
    pub fn new(daemon: Arc<Daemon>) -> Self {
        Self { daemon }
    }
}

#[derive(Debug, Clone, Copy)]
struct Started(f64);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

impl Intercept for SdkSubsegments {
    fn name(&self) -> &'static str {
        "XRaySubsegments"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(invocation) = Invocation::current() else {
            return Ok(());
        };
        let Some(trace) = invocation
            .trace
            .as_deref()
            .and_then(TraceHeader::parse)
            .filter(|trace| trace.sampled)
        else {
            return Ok(());
        };
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("AWS".to_owned(), "unknown".to_owned()));
        let response = context.response();
        let status = response.map(|r| r.status().as_u16());
        let request_id = response.and_then(|r| {
            let headers = r.headers();
            headers
                .get("x-amzn-requestid")
                .or_else(|| headers.get("x-amz-request-id"))
                .map(str::to_owned)
        });
        let error = match context.output_or_error() {
            Some(Err(error)) => Some(format!("{error:?}")),
            _ => None,
        };
        let throttled = status == Some(429)
            || error
                .as_deref()
                .is_some_and(|e| THROTTLING.iter().any(|code| e.contains(code)));
        let subsegment = Subsegment {
            service,
            operation,
            region: cfg.load::<Region>().map(|r| r.to_string()),
            request_id,
            start_time: cfg.load::<Started>().map(|s| s.0).unwrap_or_else(now),
            end_time: now(),
            status,
            retries: cfg
                .load::<RequestAttempts>()
                .map(|a| a.attempts().saturating_sub(1))
                .unwrap_or_default(),
            failed: error.is_some(),
            throttled,
            annotations: [
                ("function", invocation.function),
                ("request_id", invocation.request_id),
                ("owner_id", invocation.owner_id),
            ]
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v)))
            .collect(),
        };
        self.daemon.send(&subsegment.document(&trace, &new_id()));
        Ok(())
    }
}
