//! The checks a publish run makes on a target before any network call: a settled target is
//! never published again, a retry waits for its time, a call that may still be in flight is
//! left alone until its lease has run out, and an account near Meta's usage limit waits.

use chrono::{DateTime, Duration, Utc};

use crate::status::TargetStatus;

/// What a run knows of a target before it touches the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetFacts {
    /// `None` for a stored value outside the column's CHECK set.
    pub status: Option<TargetStatus>,
    /// The network's id of a post made for it (set once a publish succeeded).
    pub has_remote_post: bool,
    pub retry_at: Option<DateTime<Utc>>,
    /// When the last attempt's call started.
    pub started_at: Option<DateTime<Utc>>,
}

/// What to do with the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Published, but the settle was lost: record it, never publish again.
    RecordRecovered,
    AlreadyPublished,
    AlreadyFailed,
    /// Not before this time (a retry not due, or a call possibly in flight elsewhere).
    WaitUntil(DateTime<Utc>),
    /// Go on to the account and the network.
    Go,
}

/// The gate of a target at `now`; `lease` is how long a run may hold it.
pub fn before_call(facts: TargetFacts, now: DateTime<Utc>, lease: Duration) -> Gate {
    if facts.has_remote_post && facts.status != Some(TargetStatus::Published) {
        return Gate::RecordRecovered;
    }
    match facts.status {
        Some(TargetStatus::Published) => return Gate::AlreadyPublished,
        Some(TargetStatus::Failed) => return Gate::AlreadyFailed,
        _ => {}
    }
    if let Some(at) = facts.retry_at.filter(|at| *at > now) {
        return Gate::WaitUntil(at);
    }
    // A target in `processing` is touched only once its attempt is older than the lease:
    // a younger one may still be in flight in another run (no double posts).
    if facts.status == Some(TargetStatus::Processing)
        && let Some(started) = facts.started_at
        && started + lease > now
    {
        return Gate::WaitUntil(started + lease);
    }
    Gate::Go
}

/// The account's back-off: Meta's usage is near its limit until `until`; wait without
/// spending an attempt.
pub fn throttled(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    until.filter(|until| *until > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    #[test]
    fn each_case_of_the_gate() {
        let lease = Duration::minutes(10);
        let now = at(0);
        let facts = |status: &str, has_remote_post, retry_at, started_at| TargetFacts {
            status: TargetStatus::parse(status),
            has_remote_post,
            retry_at,
            started_at,
        };
        let cases = [
            // (facts, expected, why)
            (
                facts("scheduled", false, None, None),
                Gate::Go,
                "a due target",
            ),
            (
                facts("pending", false, None, None),
                Gate::Go,
                "a resumed target",
            ),
            (
                facts("processing", true, None, Some(at(-1))),
                Gate::RecordRecovered,
                "published, settle lost",
            ),
            (
                facts("scheduled", true, Some(at(5)), None),
                Gate::RecordRecovered,
                "a remote id beats a retry",
            ),
            (
                facts("published", true, None, None),
                Gate::AlreadyPublished,
                "settled",
            ),
            (
                facts("published", false, None, None),
                Gate::AlreadyPublished,
                "settled without an id",
            ),
            (
                facts("failed", false, Some(at(5)), None),
                Gate::AlreadyFailed,
                "settled",
            ),
            (
                facts("scheduled", false, Some(at(5)), None),
                Gate::WaitUntil(at(5)),
                "retry not due",
            ),
            (
                facts("scheduled", false, Some(at(0)), None),
                Gate::Go,
                "retry due exactly now",
            ),
            (
                facts("scheduled", false, Some(at(-5)), None),
                Gate::Go,
                "retry past",
            ),
            (
                facts("processing", false, None, Some(at(-3))),
                Gate::WaitUntil(at(7)),
                "call maybe in flight",
            ),
            (
                facts("processing", false, None, Some(at(-10))),
                Gate::Go,
                "lease ran out exactly",
            ),
            (
                facts("processing", false, None, Some(at(-30))),
                Gate::Go,
                "a crashed run",
            ),
            (
                facts("processing", false, None, None),
                Gate::Go,
                "no start recorded",
            ),
            (
                facts("processing", false, Some(at(2)), Some(at(-30))),
                Gate::WaitUntil(at(2)),
                "retry first",
            ),
        ];
        for (facts, expected, why) in cases {
            assert_eq!(before_call(facts, now, lease), expected, "{why}: {facts:?}");
        }
    }

    #[test]
    fn a_throttled_account_waits_until_its_back_off_ends() {
        assert_eq!(throttled(Some(at(3)), at(0)), Some(at(3)));
        assert_eq!(throttled(Some(at(0)), at(0)), None);
        assert_eq!(throttled(Some(at(-3)), at(0)), None);
        assert_eq!(throttled(None, at(0)), None);
    }
}
