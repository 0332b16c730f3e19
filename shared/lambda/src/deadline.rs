//! The invocation's deadline, as the workers measure time.

use std::time::{Duration, Instant, SystemTime};

/// The invocation's deadline as an `Instant` (Lambda gives it as wall-clock milliseconds);
/// `None` when it has passed or the context has none (tests, a local invoke).
pub fn deadline_of(context: &lambda_runtime::Context) -> Option<Instant> {
    if context.deadline == 0 {
        return None;
    }
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(context.deadline);
    let left = deadline.duration_since(SystemTime::now()).ok()?;
    Some(Instant::now() + left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(deadline_ms: u64) -> lambda_runtime::Context {
        let mut context = lambda_runtime::Context::default();
        context.deadline = deadline_ms;
        context
    }

    #[test]
    fn a_deadline_in_the_future_is_that_far_from_now() {
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let deadline = deadline_of(&context(now_ms + 60_000));
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        assert!(left.is_some_and(|l| l > Duration::from_secs(55) && l <= Duration::from_secs(60)));
    }

    #[test]
    fn no_deadline_or_a_past_one_is_none() {
        assert_eq!(deadline_of(&context(0)), None);
        assert_eq!(deadline_of(&context(1_000)), None);
    }
}
