//! AI-written sequences (docs/ai.md): the prompt that asks the model to write one lead's
//! e-mails from the step templates, the lead's fields and its research, and the e-mails read
//! back from the answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::answer::{self, AnswerError};
use super::{AiOperation, reservation};
use crate::email::header_line;

/// Steps a run may have.
pub const MAX_STEPS: usize = 10;
/// Leads a run may have.
pub const MAX_LEADS: usize = 100;
/// The answer allowed per step.
pub const OUTPUT_TOKENS_PER_STEP: u32 = 400;
/// A step template's subject and body as given, at most.
pub const MAX_SUBJECT_CHARS: usize = 300;
pub const MAX_BODY_CHARS: usize = 5_000;
/// `config.tone` and `config.goal`, at most.
pub const MAX_CONFIG_CHARS: usize = 300;
/// The lead's research given to the model, at most (its bound is part of the reservation
/// made before the research may have run).
const MAX_KNOWLEDGE_BYTES: usize = 3_000;
/// Each lead field given to the model, at most.
const MAX_FIELD_CHARS: usize = 200;
/// Bytes of the lead part of a prompt at most: six fields and their labels, and the research.
const MAX_LEAD_PART_BYTES: usize = 6 * (MAX_FIELD_CHARS * 4 + 32) + MAX_KNOWLEDGE_BYTES + 64;
/// A written e-mail's subject and body, at most.
const MAX_WRITTEN_SUBJECT_CHARS: usize = 200;
const MAX_WRITTEN_BODY_CHARS: usize = 10_000;

pub const SYSTEM_INSTRUCTION: &str = "You write B2B sales e-mails. For each step of a sequence \
you get a template (its subject and body say what the e-mail is for) and you write that \
e-mail for one lead: personal, specific to the lead and their company, short, in the tone \
asked, toward the goal asked. Use only the facts given. Write final text: no placeholders, no \
merge tags, no signature block. Answer with JSON only: {\"emails\": [{\"subject\": \"...\", \
\"body\": \"...\"}]}, one entry per step, in order; bodies are plain text with blank lines \
between paragraphs.";

/// How a run's e-mails should read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritingConfig {
    pub tone: Option<String>,
    pub goal: Option<String>,
}

/// One step as the model sees it: its delay and its template, merge tags filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepBrief {
    pub delay_days: i64,
    pub subject: String,
    pub body: String,
}

/// The steps part of the prompt, the same for every lead of a run but for merge tags.
fn steps_part(config: &WritingConfig, steps: &[StepBrief]) -> String {
    let mut lines = Vec::new();
    if let Some(tone) = &config.tone {
        lines.push(format!("Tone: {tone}"));
    }
    if let Some(goal) = &config.goal {
        lines.push(format!("Goal: {goal}"));
    }
    lines.push(format!("Steps ({}):", steps.len()));
    for (index, step) in steps.iter().enumerate() {
        lines.push(format!(
            "{}. Sent {} day(s) after the previous one.\n   Subject template: {}\n   Body template: {}",
            index + 1,
            step.delay_days,
            step.subject,
            step.body
        ));
    }
    lines.join("\n")
}

fn lead_part(lead: &Value) -> String {
    let mut lines = vec!["Lead:".to_owned()];
    for (label, name) in [
        ("Name", "name"),
        ("First name", "first_name"),
        ("Title", "title"),
        ("Company", "company"),
        ("Industry", "industry"),
        ("Location", "location"),
    ] {
        if let Some(value) = lead.get(name).and_then(Value::as_str).map(str::trim)
            && !value.is_empty()
        {
            lines.push(format!(
                "- {label}: {}",
                answer::truncate_chars(value, MAX_FIELD_CHARS)
            ));
        }
    }
    if let Some(knowledge) = lead.get("knowledgeBase").filter(|k| k.is_object()) {
        let mut research = Vec::new();
        if let Some(brief) = knowledge.get("aiResearchBrief").and_then(Value::as_str) {
            research.push(format!("Research: {brief}"));
        }
        if let Some(points) = knowledge.get("talkingPoints").and_then(Value::as_array) {
            for point in points.iter().filter_map(Value::as_str) {
                research.push(format!("- {point}"));
            }
        }
        let research = research.join("\n");
        lines.push(answer::truncate_bytes(&research, MAX_KNOWLEDGE_BYTES).to_owned());
    }
    answer::truncate_bytes(&lines.join("\n"), MAX_LEAD_PART_BYTES).to_owned()
}

/// The prompt for one lead.
pub fn prompt(config: &WritingConfig, steps: &[StepBrief], lead: &Value) -> String {
    format!("{}\n\n{}", steps_part(config, steps), lead_part(lead))
}

/// The most a lead's prompt can be, given its steps: the steps as rendered for it and the
/// lead part's bound (its research may be written after the run starts).
pub fn prompt_bound(config: &WritingConfig, steps: &[StepBrief]) -> usize {
    steps_part(config, steps).len() + 2 + MAX_LEAD_PART_BYTES
}

pub fn max_output_tokens(steps: usize) -> u32 {
    OUTPUT_TOKENS_PER_STEP.saturating_mul(steps as u32)
}

/// What writing one lead's sequence reserves.
pub fn reserved_credits(prompt_bound: usize, steps: usize) -> u64 {
    reservation(
        AiOperation::EmailSequence,
        (SYSTEM_INSTRUCTION.len() + prompt_bound) as u64,
        max_output_tokens(steps),
    )
}

/// One e-mail the model wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenEmail {
    pub subject: String,
    pub body: String,
}

impl WrittenEmail {
    /// The e-mails of an answer: exactly one per step, each with a subject and a body.
    pub fn parse_all(answer_text: &str, steps: usize) -> Result<Vec<Self>, AnswerError> {
        if answer_text.trim().is_empty() {
            return Err(AnswerError::Empty);
        }
        let object = answer::json_object_in(answer_text)
            .ok_or_else(|| AnswerError::Malformed("no JSON object".into()))?;
        let emails = object
            .get("emails")
            .and_then(Value::as_array)
            .ok_or_else(|| AnswerError::Malformed("no emails".into()))?;
        if emails.len() != steps {
            return Err(AnswerError::Malformed(format!(
                "{} e-mails for {steps} steps",
                emails.len()
            )));
        }
        emails
            .iter()
            .enumerate()
            .map(|(index, email)| {
                let member = |name, max| {
                    email
                        .as_object()
                        .and_then(|o| answer::text_member(o, name, max))
                        .ok_or_else(|| {
                            AnswerError::Malformed(format!("e-mail {} has no {name}", index + 1))
                        })
                };
                Ok(Self {
                    subject: without_merge_tags(&header_line(&member(
                        "subject",
                        MAX_WRITTEN_SUBJECT_CHARS,
                    )?)),
                    body: member("body", MAX_WRITTEN_BODY_CHARS)?,
                })
            })
            .collect()
    }

    /// The body as the HTML an e-mail carries: escaped, paragraphs at blank lines, line
    /// breaks kept, and no `{{`…`}}` left for the merge-tag renderer to read.
    pub fn html_body(&self) -> String {
        let escaped = self
            .body
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        let escaped = without_merge_tags(&escaped.replace("\r\n", "\n"));
        escaped
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>\n")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Text the merge-tag renderer reads as plain text: a model that wrote `{{first_name}}`
/// despite being told not to leaves `{first_name}`, never a tag that fails the send.
fn without_merge_tags(text: &str) -> String {
    let mut text = text.to_owned();
    while text.contains("{{") || text.contains("}}") {
        text = text.replace("{{", "{").replace("}}", "}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps() -> Vec<StepBrief> {
        vec![
            StepBrief {
                delay_days: 0,
                subject: "Intro for Ada".into(),
                body: "Introduce our picking robots".into(),
            },
            StepBrief {
                delay_days: 3,
                subject: "Follow-up".into(),
                body: "Ask for a call".into(),
            },
        ]
    }

    #[test]
    fn the_prompt_has_the_steps_the_lead_and_its_research_within_the_bound() {
        let config = WritingConfig {
            tone: Some("friendly".into()),
            goal: Some("book a demo".into()),
        };
        let lead = json!({"name": "Ada", "company": "Acme", "knowledgeBase": {
            "aiResearchBrief": "Acme builds robots.", "talkingPoints": ["EU growth"]}});
        let prompt = prompt(&config, &steps(), &lead);
        assert!(prompt.contains("Tone: friendly\nGoal: book a demo\nSteps (2):"));
        assert!(prompt.contains("2. Sent 3 day(s) after the previous one."));
        assert!(prompt.contains("- Company: Acme"));
        assert!(prompt.contains("Research: Acme builds robots.\n- EU growth"));
        let huge = json!({"name": "x".repeat(50_000), "knowledgeBase": {"aiResearchBrief": "y".repeat(50_000)}});
        let long = super::prompt(&config, &steps(), &huge);
        assert!(long.len() <= prompt_bound(&config, &steps()));
        assert_eq!(max_output_tokens(2), 800);
        assert!(reserved_credits(prompt_bound(&config, &steps()), 2) >= 3);
    }

    #[test]
    fn the_answer_gives_one_email_per_step() {
        let answer = r#"{"emails": [{"subject": "Hi {{first_name}}\r\n", "body": "Hello Ada,\n\nRobots <fast> & cheap.\nReally."}, {"subject": "Again", "body": "Call?"}]}"#;
        let emails = WrittenEmail::parse_all(answer, 2).unwrap();
        assert_eq!(emails[0].subject, "Hi {first_name}");
        assert_eq!(
            emails[0].html_body(),
            "<p>Hello Ada,</p>\n<p>Robots &lt;fast&gt; &amp; cheap.<br>\nReally.</p>"
        );
        assert!(matches!(
            WrittenEmail::parse_all(answer, 3),
            Err(AnswerError::Malformed(_))
        ));
        assert!(matches!(
            WrittenEmail::parse_all(r#"{"emails": [{"subject": "x"}]}"#, 1),
            Err(AnswerError::Malformed(_))
        ));
        assert_eq!(WrittenEmail::parse_all(" ", 1), Err(AnswerError::Empty));
    }
}
