//! The X-Ray daemon's UDP endpoint: each datagram is the header line
//! `{"format": "json", "version": 1}` and one segment document.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

use serde_json::Value;

/// Datagrams over this size are dropped by the daemon; a subsegment is far smaller.
const MAX_DATAGRAM: usize = 64 * 1024;
const HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

#[derive(Debug, thiserror::Error)]
pub enum DaemonAddressError {
    #[error("AWS_XRAY_DAEMON_ADDRESS: `{0}` names no UDP address")]
    Unreadable(String),
    #[error("a UDP socket for the X-Ray daemon: {0}")]
    Socket(#[from] std::io::Error),
}

/// Where subsegments go. Sending never blocks the caller and never fails it: a trace is
/// worth less than the request it describes.
#[derive(Debug)]
pub struct Daemon {
    socket: UdpSocket,
    address: SocketAddr,
}

impl Daemon {
    /// From `AWS_XRAY_DAEMON_ADDRESS` (`host:port`, or `tcp:host:port udp:host:port` as the
    /// Lambda runtime may set it); `None` when the variable is unset or empty.
    pub fn from_env() -> Option<Result<Self, DaemonAddressError>> {
        let value = std::env::var("AWS_XRAY_DAEMON_ADDRESS").ok()?;
        if value.trim().is_empty() {
            return None;
        }
        Some(Self::at(&value))
    }

    pub fn at(value: &str) -> Result<Self, DaemonAddressError> {
        let address = udp_address(value)
            .and_then(|text| text.to_socket_addrs().ok()?.next())
            .ok_or_else(|| DaemonAddressError::Unreadable(value.to_owned()))?;
        let local: SocketAddr = if address.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.set_nonblocking(true)?;
        Ok(Self { socket, address })
    }

    /// Sends one document; a full buffer or an unreachable daemon drops it.
    pub fn send(&self, document: &Value) {
        let mut datagram = HEADER.to_vec();
        if serde_json::to_writer(&mut datagram, document).is_err() || datagram.len() > MAX_DATAGRAM
        {
            return;
        }
        let _ = self.socket.send_to(&datagram, self.address);
    }
}

/// The UDP part of the variable's value.
fn udp_address(value: &str) -> Option<&str> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if let [single] = parts.as_slice()
        && !single.contains("p:")
    {
        return Some(single);
    }
    parts.iter().find_map(|part| part.strip_prefix("udp:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_forms() {
        assert_eq!(
            udp_address("169.254.79.129:2000"),
            Some("169.254.79.129:2000")
        );
        assert_eq!(
            udp_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001"),
            Some("127.0.0.2:2001")
        );
        assert_eq!(udp_address("tcp:127.0.0.1:2000"), None);
        assert!(Daemon::at("no port").is_err());
    }

    #[test]
    fn a_document_arrives_behind_the_protocol_header() {
        let daemon_side = UdpSocket::bind("127.0.0.1:0").expect("a socket");
        let daemon = Daemon::at(&daemon_side.local_addr().expect("an address").to_string())
            .expect("a daemon");
        daemon.send(&serde_json::json!({ "name": "S3" }));
        let mut buffer = [0u8; 1024];
        let length = daemon_side.recv(&mut buffer).expect("a datagram");
        assert_eq!(
            std::str::from_utf8(&buffer[..length]).ok(),
            Some("{\"format\": \"json\", \"version\": 1}\n{\"name\":\"S3\"}")
        );
    }
}
