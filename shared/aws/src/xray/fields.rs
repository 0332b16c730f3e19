//! The invocation's identity for the subsegments: a `tracing` layer keeps the fields that name
//! an invocation (`function`, `request_id`, `owner_id`, `xray_trace_id`) in the extensions of the
//! span that records them, so the SDK interceptor, running inside that span, can read them back.
//! The owner id is recorded late (once the caller's token is checked), hence `on_record`.

use std::fmt::Debug;

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// What the current span and its parents say of the invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    pub function: Option<String>,
    pub request_id: Option<String>,
    pub owner_id: Option<String>,
    /// The raw trace header.
    pub trace: Option<String>,
}

impl Invocation {
    /// The fields of the current span and its parents (the innermost value of each wins);
    /// `None` outside any span or under a subscriber without a registry.
    pub fn current() -> Option<Self> {
        tracing::Span::current()
            .with_subscriber(|(id, dispatch)| {
                let registry = dispatch.downcast_ref::<Registry>()?;
                let span = registry.span(id)?;
                let mut merged = Invocation::default();
                for ancestor in span.scope() {
                    if let Some(fields) = ancestor.extensions().get::<Invocation>() {
                        merged.fill_from(fields);
                    }
                }
                Some(merged)
            })
            .flatten()
    }

    fn fill_from(&mut self, other: &Invocation) {
        for (mine, theirs) in [
            (&mut self.function, &other.function),
            (&mut self.request_id, &other.request_id),
            (&mut self.owner_id, &other.owner_id),
            (&mut self.trace, &other.trace),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }

    fn set(&mut self, name: &str, value: String) {
        if value.is_empty() {
            return;
        }
        // The Lambda runtime's own span spells them `requestId` and `xrayTraceId`.
        let slot = match name {
            "function" => &mut self.function,
            "request_id" | "requestId" => &mut self.request_id,
            "owner_id" => &mut self.owner_id,
            "xray_trace_id" | "xrayTraceId" => &mut self.trace,
            _ => return,
        };
        *slot = Some(value);
    }
}

impl Visit for Invocation {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if matches!(
            field.name(),
            "function" | "request_id" | "requestId" | "owner_id" | "xray_trace_id" | "xrayTraceId"
        ) {
            self.set(field.name(), format!("{value:?}"));
        }
    }
}

/// The layer; add it to the subscriber of a Lambda function.
#[derive(Debug, Clone, Copy, Default)]
pub struct InvocationFields;

impl<S> Layer<S> for InvocationFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut fields = Invocation::default();
        attributes.record(&mut fields);
        if fields != Invocation::default()
            && let Some(span) = context.span(id)
        {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, context: Context<'_, S>) {
        let Some(span) = context.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<Invocation>() {
            values.record(fields);
            return;
        }
        let mut fields = Invocation::default();
        values.record(&mut fields);
        if fields != Invocation::default() {
            extensions.insert(fields);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn the_invocation_is_read_from_the_span_and_its_parents() {
        let subscriber = tracing_subscriber::registry().with(InvocationFields);
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(Invocation::current(), None, "outside any span");
            let runtime = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "r-1",
                xrayTraceId = "Root=x"
            );
            let _runtime = runtime.enter();
            let invocation = tracing::info_span!(
                "invocation",
                function = "api",
                request_id = %"r-2",
                owner_id = tracing::field::Empty
            );
            let _invocation = invocation.enter();
            invocation.record("owner_id", "u-1");
            let inner = tracing::info_span!("inner", other = 1);
            let _inner = inner.enter();
            assert_eq!(
                Invocation::current(),
                Some(Invocation {
                    function: Some("api".into()),
                    request_id: Some("r-2".into()),
                    owner_id: Some("u-1".into()),
                    trace: Some("Root=x".into()),
                })
            );
        });
    }
}
