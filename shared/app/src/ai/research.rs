//! Lead research: the company website read (through the SSRF guard), its facts extracted,
//! the model asked for a brief and talking points, and the lead's `knowledgeBase` written —
//! 2 credits at least, nothing charged when the site or the model fails.

use scaliyo_domain::ai::research::{self, Brief};
use scaliyo_domain::ai::{self, AiOperation};
use scaliyo_domain::web_page::{self, PageFacts};
use scaliyo_store::{ModelReply, ModelRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ai, AiError, Tokens};
use crate::access::Actor;
use crate::rows::Row;

const TEMPERATURE: f64 = 0.3;
const TOP_P: f64 = 0.95;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResearchRequest {
    /// The site to read instead of the one the lead names or its address shows.
    pub website: Option<String>,
}

/// A researched lead.
#[derive(Debug, Clone, Serialize)]
pub struct Researched {
    pub lead_id: String,
    #[serde(rename = "knowledgeBase")]
    pub knowledge_base: Value,
    /// The page read (after redirects).
    pub website: String,
    pub tokens: Tokens,
    pub credits_charged: i64,
    pub credits_remaining: i64,
    pub provider: &'static str,
    pub model: String,
}

/// A site read and its facts.
pub(super) struct Site {
    pub url: String,
    pub facts: PageFacts,
}

/// Research written to the lead, not yet charged.
pub(super) struct Written {
    pub knowledge_base: Value,
    pub reply: ModelReply,
}

impl Ai {
    /// The site to read for a lead: the one asked for, else the lead's own.
    pub(super) fn website_for(lead: &Row, asked: Option<&str>) -> Result<String, AiError> {
        match asked {
            Some(asked) => web_page::website_url(asked).ok_or_else(|| AiError::Invalid {
                field: "website",
                reason: "give a web address such as https://acme.com".into(),
            }),
            None => web_page::website_of(&Value::Object(lead.clone())).ok_or(AiError::NoWebsite),
        }
    }

    pub(super) async fn read_site(&self, website: &str) -> Result<Site, AiError> {
        let pages = self.pages.as_ref().ok_or(AiError::NotConfigured)?;
        let page = pages.fetch(website).await?;
        Ok(Site {
            facts: PageFacts::extract(&page.text),
            url: page.url,
        })
    }

    /// Asks the model, reads its brief and writes the lead's `knowledgeBase`. The caller,
    /// which reserved the credits, settles or refunds them.
    pub(super) async fn write_research(
        &self,
        actor: &Actor,
        lead_id: &str,
        lead: &Row,
        site: &Site,
    ) -> Result<Written, AiError> {
        let lead_value = Value::Object(lead.clone());
        let request = ModelRequest {
            system: research::SYSTEM_INSTRUCTION.to_owned(),
            prompt: research::prompt(&lead_value, &site.url, &site.facts),
            temperature: TEMPERATURE,
            top_p: TOP_P,
            max_output_tokens: research::MAX_OUTPUT_TOKENS,
        };
        let reply = self.ask(&request).await?;
        let brief = Brief::parse(&reply.text)?;
        let knowledge_base = research::knowledge_base(
            &lead_value,
            &brief,
            &site.url,
            &site.facts,
            self.clock.now(),
        );
        let mut patch = Row::new();
        patch.insert("knowledgeBase".into(), knowledge_base.clone());
        self.access.update(actor, "leads", lead_id, patch).await?;
        Ok(Written {
            knowledge_base,
            reply,
        })
    }

    /// `POST /v1/leads/{id}/research`.
    pub async fn research_lead(
        &self,
        actor: &Actor,
        lead_id: &str,
        request: ResearchRequest,
    ) -> Result<Researched, AiError> {
        let owner = actor.owner()?;
        let model = self.model()?.clone();
        let lead = self.access.get(actor, "leads", lead_id).await?;
        let website = Self::website_for(&lead, request.website.as_deref())?;
        // The site first: a site that cannot be read costs nothing.
        let site = self.read_site(&website).await?;
        let reservation = self
            .meter
            .reserve(owner, research::reserved_credits())
            .await?;
        let written = match self.write_research(actor, lead_id, &lead, &site).await {
            Ok(written) => written,
            Err(error) => {
                self.refund_logged(&reservation).await;
                return Err(error);
            }
        };
        let tokens = written.reply.total_tokens();
        let settled = self
            .meter
            .settle(
                &reservation,
                ai::cost(AiOperation::LeadResearch, tokens),
                tokens,
            )
            .await?;
        tracing::info!(
            provider = model.provider(),
            operation = "lead_research",
            tokens,
            credits = settled.credits,
            "lead researched"
        );
        Ok(Researched {
            lead_id: lead_id.to_owned(),
            knowledge_base: written.knowledge_base,
            website: site.url,
            tokens: Tokens::of(&written.reply),
            credits_charged: settled.credits,
            credits_remaining: settled.remaining,
            provider: model.provider(),
            model: written.reply.model,
        })
    }
}
