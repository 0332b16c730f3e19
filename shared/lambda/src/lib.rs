//! The Lambda side of the thin mains: decoding the events Lambda hands a function (SQS
//! batches, S3 notifications), the invocation's deadline, configuration from the environment,
//! and logging. The use cases never see these types: a main turns them into plain values
//! (`ObjectCreated`, message bodies) before calling the app.

pub mod deadline;
pub mod env;
pub mod metrics;
pub mod s3;
pub mod sqs;
pub mod telemetry;
