//! Outgoing webhooks: the event types, the signature receivers verify, the retry schedule,
//! and which destinations are refused (SSRF). Pure functions.
//!
//! Signature header: `Scaliyo-Signature: t=<unix seconds>,v1=<hex>` where `v1` is
//! HMAC-SHA256 under the webhook's `secret` of `"<t>.<body>"` — the scheme Stripe made
//! familiar: receivers recompute it, compare in constant time, and reject an old `t` (replays).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Every event a webhook can subscribe to (`webhooks.trigger_event`; `*` takes them all).
pub const EVENT_TYPES: &[&str] = &[
    "email.sent",
    "email.failed",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.unsubscribed",
    "email.replied",
    "import.completed",
    "social.published",
    "social.failed",
    "social.token_expiring",
    "invoice.sent",
    "invoice.paid",
    "lead.created",
    "lead.updated",
    "lead.status_changed",
    "lead.deleted",
    "team.member_added",
    "workflow.completed",
    "workflow.failed",
];

pub const ALL_EVENTS: &str = "*";

/// Whether `name` may be subscribed to: `*`, a system event, or a workflow's own
/// `workflow.<name>` (its `action.webhook` nodes; letters, digits, `_` and `.`).
pub fn is_event_type(name: &str) -> bool {
    name == ALL_EVENTS || EVENT_TYPES.contains(&name) || is_workflow_event(name)
}

/// A workflow's own event name: `workflow.` and 1 to 64 letters, digits, `_` or `.`.
pub fn is_workflow_event(name: &str) -> bool {
    name.strip_prefix("workflow.").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 64
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    })
}

/// Whether a webhook subscribed to `trigger` receives `event`.
pub fn subscribed(trigger: &str, event: &str) -> bool {
    trigger == ALL_EVENTS || trigger == event
}

/// The `Scaliyo-Signature` header value for a body sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// What a receiver does: recompute and compare (constant time), and refuse a timestamp more
/// than `tolerance` from `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(Ok(given))) = (timestamp, given.map(hex::decode)) else {
        return false;
    };
    if (now - t).abs() > tolerance {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // The hmac crate compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// Attempts of one delivery (the first and its retries).
pub const MAX_ATTEMPTS: u32 = 7;

/// Wait before attempt `attempt` (2-based: the first retry): 30 s, 1, 2, 4, 8, 15 minutes.
/// Capped at 15 minutes, the longest delay an SQS message can carry.
pub fn retry_delay(attempt: u32) -> Duration {
    let seconds = 30u64 << attempt.saturating_sub(2).min(5);
    Duration::from_secs(seconds.min(900))
}

/// An HTTP status a retry may fix: timeouts, rate limits, server errors. A 4xx other than 408
/// and 429 is the receiver saying no; it is recorded and not retried.
pub fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("must be an absolute https URL")]
    NotHttps,
    #[error("must not carry credentials")]
    Credentials,
    #[error("has no host")]
    NoHost,
    #[error("{0} is a private, loopback or link-local address")]
    PrivateAddress(IpAddr),
    #[error("{0} names this machine or the private network")]
    LocalName(String),
}

/// The host of a webhook URL, checked for what can be judged without DNS: the scheme (https
/// unless `allow_plain_http`), no user-info, and a literal address or local name that points
/// inside (unless `allow_private`). Returns (host, port). The URL is read by the WHATWG parser
/// (the `url` crate) that the HTTP client itself uses, so the host checked here is the host
/// connected to: `https://10.0.0.5\.x.evil.com/` is 10.0.0.5, `https://0x7f.1/` is 127.0.0.1.
pub fn check_url(
    url: &str,
    allow_plain_http: bool,
    allow_private: bool,
) -> Result<(String, u16), UrlProblem> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlProblem::NoHost);
    }
    let parsed = url::Url::parse(url).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => UrlProblem::NotHttps,
        _ => UrlProblem::NoHost,
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_plain_http => {}
        _ => return Err(UrlProblem::NotHttps),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    let port = parsed.port_or_known_default().ok_or(UrlProblem::NoHost)?;
    let host = match parsed.host().ok_or(UrlProblem::NoHost)? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip).to_string(),
        url::Host::Ipv6(ip) => IpAddr::V6(ip).to_string(),
        url::Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
    };
    if host.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    if !allow_private {
        if let Ok(ip) = host.parse::<IpAddr>()
            && !is_public(ip)
        {
            return Err(UrlProblem::PrivateAddress(ip));
        }
        if host == "localhost"
            || host.ends_with(".localhost")
            || host.ends_with(".local")
            || host.ends_with(".internal")
            || !host.contains('.') && host.parse::<IpAddr>().is_err()
        {
            return Err(UrlProblem::LocalName(host));
        }
    }
    Ok((host, port))
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local (incl. the cloud metadata service 169.254.169.254), shared (CGNAT),
/// unspecified, multicast, broadcast, documentation or benchmarking ranges; IPv4-mapped and
/// NAT64-embedded IPv6 addresses are judged by their IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'whsec_test', b'1795770000.{\"id\":\"evt_1\"}', hashlib.sha256).hexdigest())"
        let header = signature(b"whsec_test", 1_795_770_000, br#"{"id":"evt_1"}"#);
        assert_eq!(
            header,
            "t=1795770000,v1=7a6d8c6c5d5fa8600dc639fabe9103f6e0127750edca5ca67c79de04ce9b9926"
        );
        assert!(verify(
            b"whsec_test",
            &header,
            br#"{"id":"evt_1"}"#,
            1_795_770_100,
            300
        ));
        assert!(!verify(
            b"whsec_test",
            &header,
            br#"{"id":"evt_2"}"#,
            1_795_770_100,
            300
        ));
        assert!(!verify(
            b"other",
            &header,
            br#"{"id":"evt_1"}"#,
            1_795_770_100,
            300
        ));
        assert!(!verify(
            b"whsec_test",
            &header,
            br#"{"id":"evt_1"}"#,
            1_795_771_000,
            300
        ));
    }

    #[test]
    fn retries_back_off_to_fifteen_minutes() {
        let delays: Vec<u64> = (2..=MAX_ATTEMPTS)
            .map(|a| retry_delay(a).as_secs())
            .collect();
        assert_eq!(delays, vec![30, 60, 120, 240, 480, 900]);
        assert!(retryable_status(503) && retryable_status(429) && retryable_status(408));
        assert!(!retryable_status(404) && !retryable_status(410));
    }

    #[test]
    fn private_destinations_are_refused() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8443/hook",
            "https://[fd00::1]/hook",
            "https://[::ffff:192.168.1.1]/hook",
            "https://[64:ff9b::a00:1]/hook",
            "https://100.64.0.1/hook",
            "https://localhost/hook",
            "https://metadata.google.internal/",
            "https://intranet/hook",
            "https://0.0.0.0/",
        ] {
            assert!(check_url(url, false, false).is_err(), "{url}");
        }
        assert_eq!(
            check_url("https://hooks.example.com:8443/in?x=1", false, false),
            Ok(("hooks.example.com".into(), 8443))
        );
        assert_eq!(
            check_url("http://hooks.example.com/in", false, false),
            Err(UrlProblem::NotHttps)
        );
        assert_eq!(
            check_url("https://user:pw@hooks.example.com/", false, false),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(
            check_url("http://127.0.0.1:9000/in", true, true),
            Ok(("127.0.0.1".into(), 9000))
        );
        assert!(is_public("93.184.215.14".parse().unwrap()));
        assert!(is_public("2606:4700::6810:84e5".parse().unwrap()));
    }

    /// The hosts an HTTP client connects to for URLs a hand parser reads differently.
    #[test]
    fn the_host_checked_is_the_host_a_whatwg_client_connects_to() {
        for (url, inside) in [
            ("https://10.0.0.5\\.x.evil.com/", "10.0.0.5"),
            ("https://0x7f.1/hook", "127.0.0.1"),
            ("https://2130706433/hook", "127.0.0.1"),
            ("https://0177.0.0.1/hook", "127.0.0.1"),
            ("https://127.1/hook", "127.0.0.1"),
            ("https://[::ffff:7f00:1]/hook", "127.0.0.1"),
            ("HTTPS://LOCALHOST./hook", "localhost"),
        ] {
            let verdict = check_url(url, false, false);
            assert!(verdict.is_err(), "{url} → {verdict:?}");
            assert!(
                verdict.unwrap_err().to_string().contains(inside) || inside == "127.0.0.1",
                "{url}"
            );
        }
        assert_eq!(
            check_url("https://hooks.example.com\\@evil.example/", false, false)
                .map(|(host, _)| host),
            Ok("hooks.example.com".into())
        );
    }
}
