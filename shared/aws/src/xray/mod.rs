//! X-Ray subsegments for the AWS SDK calls a function makes (issue 24, ADR 20).
//!
//! Lambda's active tracing records each invocation's segment; the Rust SDK records nothing
//! inside it. [`SdkSubsegments`] is an SDK interceptor that times every operation and sends its
//! subsegment (service, operation, status, request id, retries, error/throttle/fault) to the
//! X-Ray daemon Lambda runs beside the function, over UDP, as the daemon's protocol says. Each
//! subsegment is annotated with the invocation's `function`, `request_id` and `owner_id`, which
//! [`InvocationFields`] (a `tracing` layer) reads off the invocation's span.
//!
//! Nothing is attached where no daemon is configured (`AWS_XRAY_DAEMON_ADDRESS` unset: the local
//! server, tests, emulators), and nothing is sent for an unsampled trace.

mod daemon;
mod document;
mod fields;
mod header;
mod interceptor;

pub use daemon::{Daemon, DaemonAddressError};
pub use document::Subsegment;
pub use fields::{Invocation, InvocationFields};
pub use header::TraceHeader;
pub use interceptor::SdkSubsegments;
