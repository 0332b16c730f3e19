//! Logging and tracing: JSON lines in Lambda (one object per event, with the function, the
//! request id, the trace id and, once the caller is known, the owner id as fields of the
//! invocation's span; the local server logs readable lines of its own). Neither logs secrets or client IPs.
//!
//! Every invocation runs inside an `invocation` span ([`Traced`]); the same span's fields
//! annotate the X-Ray subsegments of the SDK calls it makes (`scaliyo_aws::xray`).

use std::task::{Context, Poll};

use lambda_runtime::LambdaEvent;
use scaliyo_aws::xray::InvocationFields;
use tracing::Span;
use tracing::instrument::{Instrument, Instrumented};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// For a Lambda function: JSON, no colours, the invocation's span on every line.
pub fn init_lambda(function: &'static str) {
    let _ = lambda_subscriber(std::io::stdout).try_init();
    tracing::info!(function, "cold start");
}

/// The subscriber of a Lambda function, writing its lines to `writer`: the `RUST_LOG` filter
/// (`info` by default), the invocation fields the SDK subsegments read, JSON lines.
pub fn lambda_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .with_writer(writer);
    tracing_subscriber::registry()
        .with(filter())
        .with(InvocationFields)
        .with(json)
}

/// The span of one invocation; `owner_id` is recorded when the caller is known.
pub fn invocation_span(function: &'static str, context: Option<&lambda_runtime::Context>) -> Span {
    let (request_id, trace) = context
        .map(|c| {
            (
                c.request_id.as_str(),
                c.xray_trace_id.as_deref().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    tracing::info_span!(
        "invocation",
        function,
        request_id,
        xray_trace_id = trace,
        owner_id = tracing::field::Empty
    )
}

/// A function's handler (an HTTP router or an event handler), each invocation inside its
/// [`invocation_span`]: `lambda_http::run(Traced::new("api", router))`,
/// `lambda_runtime::run(Traced::new("import-leads", service_fn(..)))`.
#[derive(Debug, Clone)]
pub struct Traced<S> {
    function: &'static str,
    inner: S,
}

impl<S> Traced<S> {
    pub fn new(function: &'static str, inner: S) -> Self {
        Self { function, inner }
    }

    fn call_in<R>(&mut self, span: Span, request: R) -> Instrumented<S::Future>
    where
        S: tower::Service<R>,
    {
        let future = span.in_scope(|| self.inner.call(request));
        future.instrument(span)
    }
}

impl<S, B> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // lambda_http keeps the invocation's context in the request's extensions.
        let span = invocation_span(
            self.function,
            request.extensions().get::<lambda_runtime::Context>(),
        );
        self.call_in(span, request)
    }
}

impl<S, T> tower::Service<LambdaEvent<T>> for Traced<S>
where
    S: tower::Service<LambdaEvent<T>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        let span = invocation_span(self.function, Some(&event.context));
        self.call_in(span, event)
    }
}
