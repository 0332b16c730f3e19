//! Social network adapters behind the `SocialNetwork` port.
//!
//! - [`MetaGraph`]: Facebook Page posts, photos and videos, and Instagram's container →
//!   status → publish flow, on the Graph API (versioned path).
//! - [`LinkedIn`]: the versioned REST Posts API, images through the Images API first.
//! - [`SocialOutbox`]: the local default — each publication written as a JSON file, so the
//!   local system runs without network accounts (as the mail outbox does for e-mail).
//!
//! Base URLs and API versions are configuration ([`SocialConfig::from_env`]): versions are
//! sunset on a schedule (LinkedIn monthly, about a year each; Graph about two years), and the
//! tests point the base URLs at local fakes.

pub mod linkedin;
pub mod meta;
pub mod oauth;
pub mod outbox;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use linkedin::LinkedIn;
pub use meta::MetaGraph;
pub use oauth::{LinkedInOAuth, MetaOAuth};
pub use outbox::SocialOutbox;
use scaliyo_domain::oauth::Provider;
use scaliyo_store::{OAuthClient, OAuthProvider, OAuthProviders, PublishError, SocialNetworks};

pub const DEFAULT_META_BASE_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_META_VERSION: &str = "v25.0";
pub const DEFAULT_LINKEDIN_BASE_URL: &str = "https://api.linkedin.com";
/// `LinkedIn-Version` (YYYYMM). Override with `LINKEDIN_API_VERSION` when it nears sunset.
pub const DEFAULT_LINKEDIN_VERSION: &str = "202605";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialConfig {
    pub meta_base_url: String,
    pub meta_version: String,
    pub linkedin_base_url: String,
    pub linkedin_version: String,
    /// How long an Instagram container may take to be ready before the attempt is retried
    /// at a later tick.
    pub container_wait: Duration,
    pub container_poll: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for SocialConfig {
    fn default() -> Self {
        Self {
            meta_base_url: DEFAULT_META_BASE_URL.into(),
            meta_version: DEFAULT_META_VERSION.into(),
            linkedin_base_url: DEFAULT_LINKEDIN_BASE_URL.into(),
            linkedin_version: DEFAULT_LINKEDIN_VERSION.into(),
            container_wait: Duration::from_secs(60),
            container_poll: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
        }
    }
}

impl SocialConfig {
    /// `META_GRAPH_BASE_URL`, `META_GRAPH_VERSION`, `LINKEDIN_BASE_URL`,
    /// `LINKEDIN_API_VERSION`, `INSTAGRAM_CONTAINER_WAIT_SECS`; defaults are the real APIs.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut config = Self::default();
        if let Some(url) = var("META_GRAPH_BASE_URL") {
            config.meta_base_url = url;
        }
        if let Some(version) = var("META_GRAPH_VERSION") {
            config.meta_version = version;
        }
        if let Some(url) = var("LINKEDIN_BASE_URL") {
            config.linkedin_base_url = url;
        }
        if let Some(version) = var("LINKEDIN_API_VERSION") {
            config.linkedin_version = version;
        }
        if let Some(secs) = var("INSTAGRAM_CONTAINER_WAIT_SECS").and_then(|s| s.parse().ok()) {
            config.container_wait = Duration::from_secs(secs);
        }
        config
    }

    /// Whether any network's base URL was configured (locally: use them instead of the
    /// outbox).
    pub fn any_configured_in_env() -> bool {
        ["META_GRAPH_BASE_URL", "LINKEDIN_BASE_URL"]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
    }

    pub fn http_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("scaliyo-social/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    }
}

/// The real networks with this configuration.
pub fn networks(config: &SocialConfig) -> SocialNetworks {
    let http = config.http_client();
    SocialNetworks {
        meta: Arc::new(MetaGraph::new(config, http.clone())),
        linkedin: Arc::new(LinkedIn::new(config, http)),
    }
}

/// Every channel into the local outbox directory.
pub fn outbox_networks(dir: PathBuf) -> SocialNetworks {
    let outbox = Arc::new(SocialOutbox::new(dir));
    SocialNetworks {
        meta: outbox.clone(),
        linkedin: outbox,
    }
}

/// The Meta and LinkedIn OAuth clients this deployment has (`META_CLIENT_ID`/`_SECRET`,
/// `LINKEDIN_CLIENT_ID`/`_SECRET`, callbacks under `api_base`); none unconfigured. Google's
/// comes from the mail crate (`scaliyo_mail::google_connect_from_env`).
pub fn oauth_from_env(config: &SocialConfig, api_base: &str) -> OAuthProviders {
    let http = config.http_client();
    let meta = OAuthClient::from_env("META", Provider::Meta, api_base).map(|client| {
        Arc::new(MetaOAuth::new(client, config, http.clone())) as Arc<dyn OAuthProvider>
    });
    let linkedin = OAuthClient::from_env("LINKEDIN", Provider::Linkedin, api_base)
        .map(|client| Arc::new(LinkedInOAuth::new(client, config, http)) as Arc<dyn OAuthProvider>);
    OAuthProviders {
        google: None,
        meta,
        linkedin,
    }
}

/// A transport error, read for what it means to a retry: a request that never left
/// (connect failure) is safe to repeat; one that may have arrived is not, for a publishing
/// call.
pub(crate) fn transport_error(error: reqwest::Error, publishing: bool) -> PublishError {
    let connect = error.is_connect();
    let detail = error.without_url().to_string();
    if connect || !publishing {
        PublishError::Network(detail)
    } else {
        PublishError::Unconfirmed(detail)
    }
}
