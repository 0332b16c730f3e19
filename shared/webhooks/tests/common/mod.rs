//! What the guard's tests share.

/// Answers every name with one address, as a hostile DNS server would.
#[derive(Debug)]
pub struct FixedAnswer(pub std::net::IpAddr);

#[async_trait::async_trait]
impl scaliyo_webhooks::Resolver for FixedAnswer {
    async fn resolve(&self, _host: &str, port: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
        Ok(vec![std::net::SocketAddr::new(self.0, port)])
    }
}
