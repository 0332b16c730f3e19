//! Delivery events posted by the e-mail providers: their signatures and what they mean.
//!
//! - SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over the
//!   `X-Twilio-Email-Event-Webhook-Timestamp` header followed by the raw body, signature in
//!   `X-Twilio-Email-Event-Webhook-Signature` (base64 DER), key from the SendGrid account
//!   (base64 DER public key).
//! - Mailchimp Transactional (Mandrill): `X-Mandrill-Signature` is base64 HMAC-SHA1, keyed by
//!   the webhook's key, over the webhook URL exactly as configured followed by every POST
//!   parameter's name and value, sorted by name.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;

/// How far a SendGrid batch's signed timestamp may be from now: a captured, validly signed
/// batch replayed later is refused.
pub const SENDGRID_TOLERANCE_SECONDS: i64 = 600;

/// Whether SendGrid's `X-Twilio-Email-Event-Webhook-Timestamp` (epoch seconds) is within
/// [`SENDGRID_TOLERANCE_SECONDS`] of `now`.
pub fn sendgrid_timestamp_fresh(timestamp: &str, now: i64) -> bool {
    timestamp.trim().parse::<i64>().is_ok_and(|at| {
        at.checked_sub(now)
            .is_some_and(|d| d.abs() <= SENDGRID_TOLERANCE_SECONDS)
    })
}

/// Whether a SendGrid batch is signed by the account's key.
pub fn sendgrid_signature_valid(
    public_key_b64: &str,
    signature_b64: &str,
    timestamp: &str,
    body: &[u8],
) -> bool {
    let (Ok(key_der), Ok(signature_der)) = (
        STANDARD.decode(public_key_b64.trim()),
        STANDARD.decode(signature_b64.trim()),
    ) else {
        return false;
    };
    let (Ok(key), Ok(signature)) = (
        VerifyingKey::from_public_key_der(&key_der),
        DerSignature::from_bytes(&signature_der),
    ) else {
        return false;
    };
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    key.verify(&signed, &signature).is_ok()
}

/// The `X-Mandrill-Signature` a request should carry.
pub fn mandrill_signature(key: &str, url: &str, params: &[(String, String)]) -> String {
    match mandrill_mac(key, url, params) {
        Some(mac) => STANDARD.encode(mac.finalize().into_bytes()),
        None => String::new(),
    }
}

/// HMAC-SHA1 under the webhook key over the URL and the parameters sorted by name.
fn mandrill_mac(key: &str, url: &str, params: &[(String, String)]) -> Option<Hmac<sha1::Sha1>> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut signed = String::from(url);
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(signed.as_bytes());
    Some(mac)
}

pub fn mandrill_signature_valid(
    key: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let (Some(mac), Ok(given)) = (mandrill_mac(key, url, params), STANDARD.decode(signature))
    else {
        return false;
    };
    // The hmac crate compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// What a provider's event means for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Delivered,
    /// Permanent: the address goes on the suppression list.
    HardBounce,
    /// Temporary: recorded, no suppression.
    SoftBounce,
    SpamReport,
    Unsubscribe,
}

impl DeliveryKind {
    /// The `email_events.event_type` it is stored as.
    pub fn event_type(self) -> &'static str {
        match self {
            DeliveryKind::Delivered => "delivered",
            DeliveryKind::HardBounce | DeliveryKind::SoftBounce => "bounced",
            DeliveryKind::SpamReport => "spam_report",
            DeliveryKind::Unsubscribe => "unsubscribe",
        }
    }

    pub fn suppresses(self) -> bool {
        matches!(
            self,
            DeliveryKind::HardBounce | DeliveryKind::SpamReport | DeliveryKind::Unsubscribe
        )
    }
}

/// One provider event about one of our messages.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryEvent {
    /// The provider's id of the event (replays carry the same id).
    pub event_id: String,
    pub message_id: String,
    pub kind: DeliveryKind,
    pub email: String,
    pub reason: Option<String>,
    pub provider_event: String,
}

/// SendGrid's JSON array; events that are not about our messages, or that we do not act on
/// (processed, deferred, open, click — opens and clicks come through our own tracking), are
/// left out.
pub fn sendgrid_events(body: &[u8]) -> Option<Vec<DeliveryEvent>> {
    let events: Vec<Value> = serde_json::from_slice(body).ok()?;
    Some(
        events
            .iter()
            .filter_map(|e| {
                let name = e["event"].as_str()?;
                let kind = match name {
                    "delivered" => DeliveryKind::Delivered,
                    "bounce" if e["type"] == "blocked" => DeliveryKind::SoftBounce,
                    "bounce" => DeliveryKind::HardBounce,
                    "spamreport" => DeliveryKind::SpamReport,
                    "unsubscribe" | "group_unsubscribe" => DeliveryKind::Unsubscribe,
                    _ => return None,
                };
                Some(DeliveryEvent {
                    event_id: e["sg_event_id"].as_str()?.to_owned(),
                    message_id: e["scaliyo_message_id"].as_str()?.to_owned(),
                    kind,
                    email: e["email"].as_str()?.to_lowercase(),
                    reason: e["reason"].as_str().map(str::to_owned),
                    provider_event: name.to_owned(),
                })
            })
            .collect(),
    )
}

/// Mandrill's `mandrill_events` parameter (a JSON array).
pub fn mandrill_events(events_json: &str) -> Option<Vec<DeliveryEvent>> {
    let events: Vec<Value> = serde_json::from_str(events_json).ok()?;
    Some(
        events
            .iter()
            .filter_map(|e| {
                let name = e["event"].as_str()?;
                let kind = match name {
                    "send" => DeliveryKind::Delivered,
                    "hard_bounce" => DeliveryKind::HardBounce,
                    "soft_bounce" => DeliveryKind::SoftBounce,
                    "spam" => DeliveryKind::SpamReport,
                    "unsub" => DeliveryKind::Unsubscribe,
                    _ => return None,
                };
                let msg = &e["msg"];
                let provider_id = msg["_id"].as_str().or(e["_id"].as_str())?;
                Some(DeliveryEvent {
                    event_id: format!("{provider_id}:{name}:{}", e["ts"]),
                    message_id: msg["metadata"]["scaliyo_message_id"].as_str()?.to_owned(),
                    kind,
                    email: msg["email"].as_str()?.to_lowercase(),
                    reason: msg["bounce_description"]
                        .as_str()
                        .or(msg["diag"].as_str())
                        .map(str::to_owned),
                    provider_event: name.to_owned(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod freshness_tests {
    use super::*;

    #[test]
    fn a_batch_signed_more_than_ten_minutes_away_is_stale() {
        let now = 1_764_600_000;
        assert!(sendgrid_timestamp_fresh(&now.to_string(), now));
        assert!(sendgrid_timestamp_fresh(&(now - 600).to_string(), now));
        assert!(!sendgrid_timestamp_fresh(&(now - 601).to_string(), now));
        assert!(!sendgrid_timestamp_fresh(&(now + 601).to_string(), now));
        assert!(!sendgrid_timestamp_fresh("", now));
        assert!(!sendgrid_timestamp_fresh(&i64::MIN.to_string(), now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    #[test]
    fn a_sendgrid_batch_verifies_with_its_key_and_nothing_else() {
        let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let public = STANDARD.encode(
            p256::PublicKey::from(signing.verifying_key())
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
        );
        let body = br#"[{"email":"a@x.com","event":"delivered","sg_event_id":"e1","scaliyo_message_id":"m1"}]"#;
        let timestamp = "1798758000";
        let mut signed = timestamp.as_bytes().to_vec();
        signed.extend_from_slice(body);
        let signature: p256::ecdsa::Signature = signing.sign(&signed);
        let signature = STANDARD.encode(signature.to_der().as_bytes());
        assert!(sendgrid_signature_valid(
            &public, &signature, timestamp, body
        ));
        assert!(!sendgrid_signature_valid(
            &public,
            &signature,
            "1798758001",
            body
        ));
        assert!(!sendgrid_signature_valid(
            &public, &signature, timestamp, b"[]"
        ));
        let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let other_public = STANDARD.encode(
            p256::PublicKey::from(other.verifying_key())
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
        );
        assert!(!sendgrid_signature_valid(
            &other_public,
            &signature,
            timestamp,
            body
        ));
        assert!(!sendgrid_signature_valid(
            "not base64!",
            &signature,
            timestamp,
            body
        ));
    }

    #[test]
    fn the_mandrill_signature_matches_the_documented_algorithm() {
        // Computed independently: base64(HMAC-SHA1("k3y", url + "mandrill_events" + events)).
        let params = vec![("mandrill_events".to_owned(), "[]".to_owned())];
        let url = "https://t.example/webhooks/mailchimp/abc";
        assert_eq!(
            mandrill_signature("k3y", url, &params),
            "w7brQ1z0R8W7Ti63Ly6ErHZIzEk="
        );
        assert!(mandrill_signature_valid(
            "k3y",
            url,
            &params,
            "w7brQ1z0R8W7Ti63Ly6ErHZIzEk="
        ));
        assert!(!mandrill_signature_valid(
            "k3y",
            "https://t.example/other",
            &params,
            "w7brQ1z0R8W7Ti63Ly6ErHZIzEk="
        ));
        assert!(!mandrill_signature_valid(
            "other",
            url,
            &params,
            "w7brQ1z0R8W7Ti63Ly6ErHZIzEk="
        ));
    }

    #[test]
    fn provider_events_map_to_our_kinds() {
        let sendgrid = br#"[
            {"email":"A@X.com","event":"bounce","type":"bounce","reason":"550 no such user","sg_event_id":"b1","scaliyo_message_id":"m1"},
            {"email":"a@x.com","event":"bounce","type":"blocked","sg_event_id":"b2","scaliyo_message_id":"m1"},
            {"email":"a@x.com","event":"spamreport","sg_event_id":"s1","scaliyo_message_id":"m1"},
            {"email":"a@x.com","event":"open","sg_event_id":"o1","scaliyo_message_id":"m1"},
            {"email":"a@x.com","event":"delivered","sg_event_id":"d1"}
        ]"#;
        let events = sendgrid_events(sendgrid).unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                DeliveryKind::HardBounce,
                DeliveryKind::SoftBounce,
                DeliveryKind::SpamReport
            ]
        );
        assert_eq!(events[0].email, "a@x.com");
        assert_eq!(events[0].reason.as_deref(), Some("550 no such user"));
        let mandrill = r#"[{"event":"hard_bounce","ts":1798758000,"msg":{"_id":"abc","email":"b@y.com","bounce_description":"bad_mailbox","metadata":{"scaliyo_message_id":"m2"}}},
                          {"event":"unsub","ts":1798758001,"msg":{"_id":"abc","email":"b@y.com","metadata":{"scaliyo_message_id":"m2"}}}]"#;
        let events = mandrill_events(mandrill).unwrap();
        assert_eq!(events[0].kind, DeliveryKind::HardBounce);
        assert_eq!(events[0].event_id, "abc:hard_bounce:1798758000");
        assert_eq!(events[1].kind, DeliveryKind::Unsubscribe);
        assert!(sendgrid_events(b"not json").is_none());
    }
}
