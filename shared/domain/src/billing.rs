//! Billing rules that need no I/O: the `Stripe-Signature` check of a webhook, how Stripe's
//! subscription statuses map onto `subscriptions.status`, and which plan a price stands for.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::plans::Plan;

/// How far a signed timestamp may be from now (Stripe's libraries use five minutes).
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or has no t= and v1= parts")]
    Malformed,
    #[error("no v1 signature matches the payload")]
    Mismatch,
    #[error("the signed timestamp is more than five minutes from now")]
    Stale,
}

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…][,v0=…]`) against the raw request body:
/// HMAC-SHA256 keyed with the whole endpoint secret (`whsec_…`, used as is) over
/// `"{t}.{body}"`, compared in constant time with every `v1` (Stripe sends two while a secret
/// is being rolled); `v0` and unknown schemes are ignored. The timestamp must be within
/// [`SIGNATURE_TOLERANCE_SECS`] of `now` (epoch seconds), so a captured event cannot be replayed.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((scheme, value)) = part.trim().split_once('=') else {
            continue;
        };
        match scheme {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if signatures.is_empty() || secret.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    for signature in &signatures {
        // `verify_slice` compares in constant time.
        matched |= signed_mac(secret, timestamp, body)
            .verify_slice(signature)
            .is_ok();
    }
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

fn signed_mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: the empty key is never used (refused above).
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value Stripe would send for `body` at `timestamp` (for tests and fakes).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let digest = signed_mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

pub use crate::status::SubscriptionStatus;

impl SubscriptionStatus {
    /// Our status for a Stripe subscription status; `None` leaves the stored one as it is
    /// (`incomplete`: the first payment is still being attempted).
    pub fn from_stripe(status: &str) -> Option<Self> {
        match status {
            "active" | "trialing" => Some(SubscriptionStatus::Active),
            "past_due" | "unpaid" | "paused" => Some(SubscriptionStatus::PastDue),
            "canceled" | "incomplete_expired" => Some(SubscriptionStatus::Canceled),
            _ => None,
        }
    }
}

/// The Stripe price lookup key of a plan: `scaliyo_<plan>` (`scaliyo_growth`). Prices are
/// created in Stripe with these keys; moving a plan to a new price moves the key with
/// `transfer_lookup_key`, and nothing here changes.
pub fn lookup_key(plan: Plan) -> String {
    format!("scaliyo_{}", plan.name().to_ascii_lowercase())
}

/// The plan a price's lookup key stands for, if it is one of ours.
pub fn plan_of_lookup_key(key: &str) -> Option<Plan> {
    Plan::ALL.into_iter().find(|plan| lookup_key(*plan) == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_780_000_000;

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_anything_else_does_not() {
        let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
        let header = sign(body, SECRET, NOW);
        assert_eq!(verify_signature(&header, body, SECRET, NOW + 10), Ok(()));
        let mutated = br#"{"id":"evt_1","type":"invoice.paif"}"#;
        assert_eq!(
            verify_signature(&header, mutated, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, body, "whsec_other", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, body, SECRET, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&header, body, SECRET, NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&header, body, "", NOW),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn one_matching_v1_among_several_is_enough_and_v0_alone_is_not() {
        let body = b"{}";
        let good = sign(body, SECRET, NOW);
        let v1 = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let rolled = format!("t={NOW},v1={},v1={v1}", "ab".repeat(32));
        assert_eq!(verify_signature(&rolled, body, SECRET, NOW), Ok(()));
        let v0_only = format!("t={NOW},v0={v1}");
        assert_eq!(
            verify_signature(&v0_only, body, SECRET, NOW),
            Err(SignatureError::Malformed)
        );
        for bad in ["", "v1=abc", "t=x,v1=00", "garbage"] {
            assert!(verify_signature(bad, body, SECRET, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn stripe_statuses_map_onto_ours() {
        for (stripe, ours) in [
            ("active", Some(SubscriptionStatus::Active)),
            ("trialing", Some(SubscriptionStatus::Active)),
            ("past_due", Some(SubscriptionStatus::PastDue)),
            ("unpaid", Some(SubscriptionStatus::PastDue)),
            ("paused", Some(SubscriptionStatus::PastDue)),
            ("canceled", Some(SubscriptionStatus::Canceled)),
            ("incomplete_expired", Some(SubscriptionStatus::Canceled)),
            ("incomplete", None),
        ] {
            assert_eq!(SubscriptionStatus::from_stripe(stripe), ours, "{stripe}");
        }
    }

    #[test]
    fn each_plan_has_a_lookup_key_that_leads_back_to_it() {
        for plan in Plan::ALL {
            assert_eq!(plan_of_lookup_key(&lookup_key(plan)), Some(plan));
        }
        assert_eq!(lookup_key(Plan::Growth), "scaliyo_growth");
        assert_eq!(plan_of_lookup_key("someone_elses_price"), None);
    }

    proptest! {
        #[test]
        fn no_header_panics_and_only_the_signed_body_verifies(
            header in ".{0,200}",
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let _ = verify_signature(&header, &body, SECRET, NOW);
            let signed = sign(&body, SECRET, NOW);
            prop_assert_eq!(verify_signature(&signed, &body, SECRET, NOW), Ok(()));
            let mut other = body.clone();
            other.push(b'x');
            prop_assert_eq!(
                verify_signature(&signed, &other, SECRET, NOW),
                Err(SignatureError::Mismatch)
            );
        }
    }
}
