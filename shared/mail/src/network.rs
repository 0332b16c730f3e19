//! Where a mail server may be: the rules SMTP and IMAP share against SSRF.

use std::net::IpAddr;

use scaliyo_store::MailError;

pub(crate) fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether an address is on the public internet (the webhook transport's rule).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The one address a mail conversation goes to: `host` resolved once (the connection is then
/// pinned to it), refused when any of its addresses is inside (loopback, private, link-local,
/// the metadata service) unless `allow_private`. `protocol` names the server in the errors,
/// which say that it failed, not how (that would map the network for a caller probing it).
pub(crate) async fn resolve_mail_host(
    host: &str,
    port: u16,
    allow_private: bool,
    protocol: &str,
) -> Result<IpAddr, MailError> {
    let unreachable = || {
        MailError::Unavailable(format!(
            "the {protocol} server could not be reached on that host and port"
        ))
    };
    let addresses: Vec<IpAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| unreachable())?
        .map(|a| a.ip())
        .collect();
    let first = *addresses.first().ok_or_else(unreachable)?;
    if !allow_private && addresses.iter().any(|ip| !is_public(*ip)) {
        return Err(MailError::Rejected(format!(
            "the {protocol} host must be a server on the public internet"
        )));
    }
    Ok(first)
}
