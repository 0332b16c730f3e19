//! Writes that must not be lost to a passing store error: tried again, a few times, with a
//! growing pause. Used where a failure would leave a fact unrecorded that cannot be asked for
//! again — a message that went out, an import's progress — not on the request paths, whose
//! callers retry themselves.

use std::future::Future;
use std::time::Duration;

/// The pauses before the second, third and fourth attempt.
pub(crate) const PAUSES: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];

/// Runs `attempt` until it succeeds, fails for a reason `is_transient` does not accept, or
/// has failed `PAUSES.len() + 1` times; the last error is returned.
pub(crate) async fn retrying<T, E, F, Fut>(
    is_transient: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pauses = PAUSES.iter();
    loop {
        match attempt().await {
            Err(error) if is_transient(&error) => match pauses.next() {
                Some(pause) => tokio::time::sleep(*pause).await,
                None => return Err(error),
            },
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_store::StoreError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_transient_failure_is_tried_again_and_a_lasting_one_given_up_after_four_tries() {
        let tries = AtomicUsize::new(0);
        let twice_unavailable = retrying(StoreError::is_retryable, || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(StoreError::Unavailable("down".into())),
                _ => Ok("written"),
            }
        })
        .await;
        assert_eq!(twice_unavailable, Ok("written"));
        assert_eq!(tries.load(Ordering::SeqCst), 3);

        tries.store(0, Ordering::SeqCst);
        let always: Result<(), _> = retrying(StoreError::is_retryable, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Throttled)
        })
        .await;
        assert_eq!(always, Err(StoreError::Throttled));
        assert_eq!(tries.load(Ordering::SeqCst), 4);

        tries.store(0, Ordering::SeqCst);
        let refused: Result<(), _> = retrying(StoreError::is_retryable, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::ConditionFailed { index: None })
        })
        .await;
        assert_eq!(refused, Err(StoreError::ConditionFailed { index: None }));
        assert_eq!(tries.load(Ordering::SeqCst), 1, "a refusal is not retried");
    }
}
