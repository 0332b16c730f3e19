//! Lead research (docs/ai.md): the prompt that asks the model for a brief and talking points
//! from the lead's fields and its company's website, the answer read back, and the lead's
//! `knowledgeBase` written from it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::answer::{self, AnswerError};
use super::{AiOperation, reservation};
use crate::web_page::PageFacts;

/// The answer allowed: a brief and a handful of talking points.
pub const MAX_OUTPUT_TOKENS: u32 = 700;
/// The prompt's bound in bytes (so its worst-case cost is known before the page is read):
/// the lead's fields and the page's facts are cut to fit.
pub const MAX_PROMPT_BYTES: usize = 9_000;
/// Each lead field given to the model, at most.
const MAX_FIELD_CHARS: usize = 200;
const MAX_BRIEF_CHARS: usize = 2_000;
const MAX_TALKING_POINTS: usize = 7;
const MAX_POINT_CHARS: usize = 300;

pub const SYSTEM_INSTRUCTION: &str = "You are a sales research assistant. From a lead's \
details and the text of their company's website, write a short, factual brief a salesperson \
reads before reaching out, and 3 to 5 specific talking points. Use only the facts given; do \
not invent figures, customers or names. Answer with JSON only, in this shape: \
{\"brief\": \"...\", \"talking_points\": [\"...\"], \"title\": \"the lead's role, if known\", \
\"industry\": \"the company's industry\"}";

/// What a research call reserves, whatever the page: its prompt's bound and whole answer.
pub fn reserved_credits() -> u64 {
    reservation(
        AiOperation::LeadResearch,
        (SYSTEM_INSTRUCTION.len() + MAX_PROMPT_BYTES) as u64,
        MAX_OUTPUT_TOKENS,
    )
}

fn field(lead: &Value, name: &str) -> Option<String> {
    let text = lead.get(name)?.as_str()?.trim();
    (!text.is_empty()).then(|| answer::truncate_chars(text, MAX_FIELD_CHARS))
}

/// The prompt for one lead and its website's facts, at most `MAX_PROMPT_BYTES`.
pub fn prompt(lead: &Value, website: &str, facts: &PageFacts) -> String {
    let mut lines = vec!["Lead:".to_owned()];
    for (label, name) in [
        ("Name", "name"),
        ("Title", "title"),
        ("Company", "company"),
        ("Industry", "industry"),
        ("Company size", "company_size"),
        ("Location", "location"),
    ] {
        if let Some(value) = field(lead, name) {
            lines.push(format!("- {label}: {value}"));
        }
    }
    lines.push(String::new());
    lines.push(format!(
        "Website: {}",
        answer::truncate_chars(website, MAX_FIELD_CHARS)
    ));
    let page_lines = [
        ("Page title", facts.title.clone()),
        ("Site name", facts.site_name.clone()),
        ("Description", facts.description.clone()),
        (
            "Headings",
            (!facts.headings.is_empty()).then(|| facts.headings.join(" | ")),
        ),
        (
            "Contact e-mails",
            (!facts.emails.is_empty()).then(|| facts.emails.join(", ")),
        ),
        (
            "Phones",
            (!facts.phones.is_empty()).then(|| facts.phones.join(", ")),
        ),
        (
            "Social profiles",
            (!facts.social_links.is_empty()).then(|| facts.social_links.join(", ")),
        ),
    ];
    for (label, value) in page_lines {
        if let Some(value) = value {
            lines.push(format!("- {label}: {value}"));
        }
    }
    lines.push(String::new());
    lines.push("Page text:".to_owned());
    lines.push(facts.text.clone());
    let prompt = lines.join("\n");
    answer::truncate_bytes(&prompt, MAX_PROMPT_BYTES).to_owned()
}

/// The model's research, read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Brief {
    pub brief: String,
    pub talking_points: Vec<String>,
    pub title: Option<String>,
    pub industry: Option<String>,
}

impl Brief {
    /// Reads an answer: the JSON asked for, else (a model that ignored the format) the text
    /// as the brief and its bullet lines as the talking points.
    pub fn parse(text: &str) -> Result<Self, AnswerError> {
        if text.trim().is_empty() {
            return Err(AnswerError::Empty);
        }
        if let Some(object) = answer::json_object_in(text) {
            let brief = answer::text_member(&object, "brief", MAX_BRIEF_CHARS)
                .ok_or_else(|| AnswerError::Malformed("no brief".into()))?;
            let talking_points = object
                .get("talking_points")
                .and_then(Value::as_array)
                .map(|points| {
                    points
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .take(MAX_TALKING_POINTS)
                        .map(|p| answer::truncate_chars(p, MAX_POINT_CHARS))
                        .collect()
                })
                .unwrap_or_default();
            return Ok(Self {
                brief,
                talking_points,
                title: answer::text_member(&object, "title", MAX_FIELD_CHARS),
                industry: answer::text_member(&object, "industry", MAX_FIELD_CHARS),
            });
        }
        let mut brief = Vec::new();
        let mut talking_points = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let bullet = line
                .strip_prefix(['-', '*', '•'])
                .or_else(|| {
                    let digits = line.trim_start_matches(|c: char| c.is_ascii_digit());
                    (digits.len() < line.len())
                        .then(|| digits.strip_prefix(['.', ')']))
                        .flatten()
                })
                .map(str::trim);
            match bullet {
                Some(point) if !point.is_empty() => {
                    if talking_points.len() < MAX_TALKING_POINTS {
                        talking_points.push(answer::truncate_chars(point, MAX_POINT_CHARS));
                    }
                }
                _ => brief.push(line),
            }
        }
        let brief = brief.join(" ");
        let brief = if brief.is_empty() {
            talking_points.join(" ")
        } else {
            brief
        };
        Ok(Self {
            brief: answer::truncate_chars(&brief, MAX_BRIEF_CHARS),
            talking_points,
            title: None,
            industry: None,
        })
    }
}

/// `leads.knowledgeBase` from a brief: the schema's five members (the lead's own title and
/// industry when the model named none), and the website the facts came from.
pub fn knowledge_base(
    lead: &Value,
    brief: &Brief,
    website: &str,
    facts: &PageFacts,
    researched_at: DateTime<Utc>,
) -> Value {
    json!({
        "aiResearchBrief": brief.brief,
        "aiResearchedAt": researched_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "title": brief.title.clone().or_else(|| field(lead, "title")),
        "industry": brief.industry.clone().or_else(|| field(lead, "industry")),
        "talkingPoints": brief.talking_points,
        "website": {
            "url": website,
            "title": facts.title,
            "description": facts.description,
            "emails": facts.emails,
            "phones": facts.phones,
            "socialLinks": facts.social_links,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_answer_gives_the_brief() {
        let answer = "```json\n{\"brief\": \" Acme builds robots. \", \"talking_points\": [\"Picking speed\", \"\", 3, \"EU growth\"], \"title\": \"COO\", \"industry\": \"Robotics\"}\n```";
        let brief = Brief::parse(answer).unwrap();
        assert_eq!(brief.brief, "Acme builds robots.");
        assert_eq!(brief.talking_points, vec!["Picking speed", "EU growth"]);
        assert_eq!(brief.title.as_deref(), Some("COO"));
        assert_eq!(brief.industry.as_deref(), Some("Robotics"));
    }

    #[test]
    fn a_plain_answer_gives_its_text_and_bullets() {
        let brief = Brief::parse("Acme builds robots.\n- Picking speed\n2) EU growth\n").unwrap();
        assert_eq!(brief.brief, "Acme builds robots.");
        assert_eq!(brief.talking_points, vec!["Picking speed", "EU growth"]);
        assert_eq!(Brief::parse("  \n"), Err(AnswerError::Empty));
        assert!(matches!(
            Brief::parse("{\"talking_points\": []}"),
            Err(AnswerError::Malformed(_))
        ));
    }

    #[test]
    fn the_prompt_is_bounded_whatever_the_lead_and_page() {
        let lead = serde_json::json!({"name": "x".repeat(10_000), "company": "Acme"});
        let facts = PageFacts {
            text: "é".repeat(20_000),
            headings: vec!["h".repeat(200); 20],
            ..PageFacts::default()
        };
        let prompt = prompt(&lead, "https://acme.com/", &facts);
        assert!(prompt.len() <= MAX_PROMPT_BYTES);
        assert!(prompt.starts_with("Lead:\n- Name: xxx"));
        assert!(prompt.contains("- Company: Acme"));
        assert_eq!(reserved_credits(), 13);
    }

    #[test]
    fn the_knowledge_base_has_the_schema_members() {
        let lead = serde_json::json!({"title": "Head of Ops", "industry": "Logistics"});
        let brief = Brief::parse("{\"brief\": \"b\", \"talking_points\": [\"p\"]}").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let kb = knowledge_base(
            &lead,
            &brief,
            "https://acme.com/",
            &PageFacts::default(),
            at,
        );
        assert_eq!(kb["aiResearchBrief"], "b");
        assert_eq!(kb["aiResearchedAt"], "2026-12-03T10:00:00.000Z");
        assert_eq!(kb["title"], "Head of Ops");
        assert_eq!(kb["industry"], "Logistics");
        assert_eq!(kb["talkingPoints"], serde_json::json!(["p"]));
        assert_eq!(kb["website"]["url"], "https://acme.com/");
    }
}
