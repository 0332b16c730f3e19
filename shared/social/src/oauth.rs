//! Connecting Meta and LinkedIn accounts with OAuth 2.0's authorization-code grant.
//!
//! - **Meta** (Facebook Login for Business, manual flow): the dialog at
//!   `www.facebook.com/{version}/dialog/oauth`; the code exchanged at
//!   `GET /{version}/oauth/access_token` (`client_id`, `redirect_uri`, `client_secret`,
//!   `code`) for a short-lived user token, at once exchanged
//!   (`grant_type=fb_exchange_token`) for a long-lived one (about 60 days), which is exchanged
//!   the same way again to renew it. The Pages come from
//!   `GET /me/accounts?fields=id,name,access_token,instagram_business_account{id,username}`,
//!   each with its own Page token.
//! - **LinkedIn** (3-legged OAuth): the dialog at `www.linkedin.com/oauth/v2/authorization`;
//!   `POST /oauth/v2/accessToken` with a form (`grant_type=authorization_code`, `code`,
//!   `redirect_uri`, `client_id`, `client_secret`), and `grant_type=refresh_token` to renew
//!   where LinkedIn granted a refresh token. The member from OpenID's `GET /v2/userinfo`; the
//!   organisations from `GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED`
//!   and each name from `GET /rest/organizations/{id}`.

use async_trait::async_trait;
use reqwest::Url;
use scaliyo_domain::oauth::Provider;
use scaliyo_store::{
    Connectable, Grant, InstagramAccount, OAuthClient, OAuthError, OAuthProvider, Tokens,
};
use serde_json::Value;

use crate::SocialConfig;

pub const DEFAULT_META_DIALOG_BASE: &str = "https://www.facebook.com";
pub const DEFAULT_LINKEDIN_OAUTH_BASE: &str = "https://www.linkedin.com/oauth/v2";
/// Organisations looked up per connection (LinkedIn pages through the ACLs 10 at a time;
/// a member administering more is rare).
const MAX_ORGANIZATIONS: usize = 50;

fn unavailable(error: reqwest::Error) -> OAuthError {
    OAuthError::Unavailable(error.without_url().to_string())
}

/// An answer's status and JSON body.
async fn answer(request: reqwest::RequestBuilder) -> Result<(u16, Value), OAuthError> {
    let response = request.send().await.map_err(unavailable)?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(unavailable)?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// An API's refusal (Graph or LinkedIn REST, already read) as the port says it: for good,
/// or — a 5xx or a 429 — the provider being unavailable.
fn refused(status: u16, refusal: scaliyo_domain::social::Refusal) -> OAuthError {
    if status >= 500 || status == 429 {
        OAuthError::Unavailable(refusal.message)
    } else {
        OAuthError::Refused {
            code: refusal.code.as_str().to_owned(),
            message: refusal.message,
        }
    }
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse_with_params(base, pairs) {
        Ok(url) => url.into(),
        Err(_) => base.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Meta

#[derive(Debug, Clone)]
pub struct MetaOAuth {
    client: OAuthClient,
    /// `https://www.facebook.com/{version}` (the login dialog).
    dialog: String,
    /// `https://graph.facebook.com/{version}`.
    graph: String,
    http: reqwest::Client,
}

impl MetaOAuth {
    /// The dialog's base from `META_OAUTH_DIALOG_URL` (Facebook's unless set), the Graph API's
    /// from the social configuration.
    pub fn new(client: OAuthClient, config: &SocialConfig, http: reqwest::Client) -> Self {
        let dialog_base = std::env::var("META_OAUTH_DIALOG_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_META_DIALOG_BASE.to_owned());
        let version = config.meta_version.trim_matches('/');
        Self {
            client,
            dialog: format!("{}/{version}", dialog_base.trim_end_matches('/')),
            graph: format!("{}/{version}", config.meta_base_url.trim_end_matches('/')),
            http,
        }
    }

    /// The same client with the login dialog at another base (a local fake).
    pub fn with_dialog_base(mut self, base: &str, version: &str) -> Self {
        self.dialog = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            version.trim_matches('/')
        );
        self
    }

    fn refusal(status: u16, body: &Value) -> OAuthError {
        refused(
            status,
            scaliyo_domain::social::read_graph_error(status, &body.to_string()),
        )
    }

    /// `GET /oauth/access_token` with these parameters: a user token and its expiry.
    async fn token(&self, params: &[(&str, &str)]) -> Result<Tokens, OAuthError> {
        let request = self
            .http
            .get(format!("{}/oauth/access_token", self.graph))
            .query(params);
        let (status, body) = answer(request).await?;
        if !(200..300).contains(&status) {
            return Err(Self::refusal(status, &body));
        }
        Tokens::from_answer(&body)
    }

    async fn long_lived(&self, user_token: &str) -> Result<Tokens, OAuthError> {
        self.token(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &self.client.client_id),
            ("client_secret", &self.client.client_secret),
            ("fb_exchange_token", user_token),
        ])
        .await
    }
}

#[async_trait]
impl OAuthProvider for MetaOAuth {
    fn provider(&self) -> Provider {
        Provider::Meta
    }

    fn authorize_url(&self, state: &str, _code_challenge: Option<&str>) -> String {
        with_query(
            &format!("{}/dialog/oauth", self.dialog),
            &[
                ("client_id", &self.client.client_id),
                ("redirect_uri", &self.client.redirect_uri),
                ("state", state),
                ("response_type", "code"),
                ("scope", &Provider::Meta.scopes().join(",")),
            ],
        )
    }

    async fn exchange(&self, code: &str, _verifier: Option<&str>) -> Result<Tokens, OAuthError> {
        let short = self
            .token(&[
                ("client_id", &self.client.client_id),
                ("redirect_uri", &self.client.redirect_uri),
                ("client_secret", &self.client.client_secret),
                ("code", code),
            ])
            .await?;
        self.long_lived(&short.access_token).await
    }

    async fn connectables(&self, access_token: &str) -> Result<Vec<Connectable>, OAuthError> {
        let mut pages = Vec::new();
        let mut next = Some(with_query(
            &format!("{}/me/accounts", self.graph),
            &[
                (
                    "fields",
                    "id,name,access_token,instagram_business_account{id,username}",
                ),
                ("limit", "100"),
            ],
        ));
        // Graph pages with `paging.next`; a user with hundreds of Pages is bounded at 500.
        while let Some(url) = next.take()
            && pages.len() < 500
        {
            let request = self.http.get(url).bearer_auth(access_token);
            let (status, body) = answer(request).await?;
            if !(200..300).contains(&status) {
                return Err(Self::refusal(status, &body));
            }
            for page in body["data"].as_array().into_iter().flatten() {
                let (Some(id), Some(token)) = (page["id"].as_str(), page["access_token"].as_str())
                else {
                    continue;
                };
                let instagram = &page["instagram_business_account"];
                pages.push(Connectable::FacebookPage {
                    page_id: id.to_owned(),
                    name: page["name"].as_str().map(str::to_owned),
                    page_token: token.to_owned(),
                    instagram: instagram["id"].as_str().map(|ig| InstagramAccount {
                        id: ig.to_owned(),
                        username: instagram["username"].as_str().map(str::to_owned),
                    }),
                });
            }
            next = body["paging"]["next"].as_str().map(str::to_owned);
        }
        Ok(pages)
    }

    async fn refresh(&self, grant: &Grant) -> Result<Tokens, OAuthError> {
        self.long_lived(&grant.access_token).await
    }
}

// ---------------------------------------------------------------------------------------
// LinkedIn

#[derive(Debug, Clone)]
pub struct LinkedInOAuth {
    client: OAuthClient,
    /// `https://www.linkedin.com/oauth/v2`.
    oauth: String,
    /// `https://api.linkedin.com`.
    api: String,
    version: String,
    http: reqwest::Client,
}

impl LinkedInOAuth {
    /// The OAuth base from `LINKEDIN_OAUTH_URL` (LinkedIn's unless set), the API's from the
    /// social configuration.
    pub fn new(client: OAuthClient, config: &SocialConfig, http: reqwest::Client) -> Self {
        let oauth = std::env::var("LINKEDIN_OAUTH_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_LINKEDIN_OAUTH_BASE.to_owned());
        Self {
            client,
            oauth: oauth.trim_end_matches('/').to_owned(),
            api: config.linkedin_base_url.trim_end_matches('/').to_owned(),
            version: config.linkedin_version.clone(),
            http,
        }
    }

    /// The same client with the OAuth endpoints at another base (a local fake).
    pub fn with_oauth_base(mut self, base: &str) -> Self {
        self.oauth = base.trim_end_matches('/').to_owned();
        self
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<Tokens, OAuthError> {
        let request = self
            .http
            .post(format!("{}/accessToken", self.oauth))
            .form(form);
        let (status, body) = answer(request).await?;
        Tokens::from_token_endpoint(status, &body)
    }

    fn rest(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/rest/{path}", self.api))
            .bearer_auth(token)
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// The organisations the member administers; none when the organisation scope was not
    /// granted (LinkedIn answers 403).
    async fn organizations(&self, token: &str) -> Result<Vec<Connectable>, OAuthError> {
        let request = self.rest(
            "organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=50",
            token,
        );
        let (status, body) = answer(request).await?;
        if status == 403 {
            return Ok(Vec::new());
        }
        if !(200..300).contains(&status) {
            return Err(linkedin_refusal(status, &body));
        }
        let mut organizations = Vec::new();
        let urns = body["elements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|acl| acl["organization"].as_str())
            .filter(|urn| urn.starts_with("urn:li:organization:"))
            .take(MAX_ORGANIZATIONS);
        for urn in urns {
            let id = urn.trim_start_matches("urn:li:organization:");
            let (status, org) = answer(self.rest(&format!("organizations/{id}"), token)).await?;
            let name = (200..300)
                .contains(&status)
                .then(|| org["localizedName"].as_str().map(str::to_owned))
                .flatten();
            organizations.push(Connectable::LinkedinOrganization {
                urn: urn.to_owned(),
                name,
            });
        }
        Ok(organizations)
    }
}

fn linkedin_refusal(status: u16, body: &Value) -> OAuthError {
    refused(
        status,
        scaliyo_domain::social::read_linkedin_error(status, &body.to_string(), None),
    )
}

#[async_trait]
impl OAuthProvider for LinkedInOAuth {
    fn provider(&self) -> Provider {
        Provider::Linkedin
    }

    fn authorize_url(&self, state: &str, _code_challenge: Option<&str>) -> String {
        with_query(
            &format!("{}/authorization", self.oauth),
            &[
                ("response_type", "code"),
                ("client_id", &self.client.client_id),
                ("redirect_uri", &self.client.redirect_uri),
                ("state", state),
                ("scope", &Provider::Linkedin.scopes().join(" ")),
            ],
        )
    }

    async fn exchange(&self, code: &str, _verifier: Option<&str>) -> Result<Tokens, OAuthError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.client.redirect_uri),
            ("client_id", &self.client.client_id),
            ("client_secret", &self.client.client_secret),
        ])
        .await
    }

    async fn connectables(&self, access_token: &str) -> Result<Vec<Connectable>, OAuthError> {
        let request = self
            .http
            .get(format!("{}/v2/userinfo", self.api))
            .bearer_auth(access_token);
        let (status, body) = answer(request).await?;
        if !(200..300).contains(&status) {
            return Err(linkedin_refusal(status, &body));
        }
        let sub = body["sub"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| OAuthError::Unavailable("userinfo has no `sub`".into()))?;
        let mut connectables = vec![Connectable::LinkedinMember {
            urn: format!("urn:li:person:{sub}"),
            name: body["name"].as_str().map(str::to_owned),
        }];
        connectables.extend(self.organizations(access_token).await?);
        Ok(connectables)
    }

    async fn refresh(&self, grant: &Grant) -> Result<Tokens, OAuthError> {
        let Some(refresh_token) = &grant.refresh_token else {
            return Err(OAuthError::Refused {
                code: "no_refresh_token".into(),
                message: "LinkedIn granted no refresh token for this app; connect again".into(),
            });
        };
        let mut renewed = self
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client.client_id),
                ("client_secret", &self.client.client_secret),
            ])
            .await?;
        // LinkedIn keeps the refresh token (its lifetime does not restart) unless it sends one.
        renewed.refresh_token = renewed.refresh_token.or(grant.refresh_token.clone());
        Ok(renewed)
    }
}
