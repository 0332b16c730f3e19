//! One lead's AI-written sequence: the step templates filled with the lead's merge values,
//! the model asked to write each e-mail from them, the lead's fields and research, and the
//! e-mails scheduled as a sequence (the scheduler sends them).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use scaliyo_domain::ai::sequence::{self, StepBrief, WritingConfig, WrittenEmail};
use scaliyo_domain::email::render;
use scaliyo_store::{ModelReply, ModelRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ai, AiError};
use crate::access::Actor;
use crate::rows::Row;
use crate::scheduler::{BlockSpec, ScheduleError, SequenceRequest, WindowSpec, block_id};
use crate::send::merge_values;

const TEMPERATURE: f64 = 0.7;
const TOP_P: f64 = 0.95;

/// One step of an AI sequence: when it is sent and what its e-mail is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    #[serde(default)]
    pub delay_days: u32,
    #[serde(default)]
    pub delay_hours: u32,
    #[serde(default)]
    pub delay_minutes: u32,
    /// What the e-mail's subject should say (merge tags allowed).
    pub subject: String,
    /// What the e-mail should say (merge tags allowed).
    pub body: String,
}

/// What a sequence run writes and schedules, kept on the run for its worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SequenceSpec {
    pub steps: Vec<StepSpec>,
    pub config: WritingConfig,
    pub start_at: Option<DateTime<FixedOffset>>,
    pub window: Option<WindowSpec>,
    pub variables: BTreeMap<String, String>,
}

impl SequenceSpec {
    /// The steps as the model sees them for `lead`: merge tags filled (an unknown one is the
    /// request's mistake).
    pub fn briefs(&self, lead: &Row) -> Result<Vec<StepBrief>, AiError> {
        let values = merge_values(lead, &self.variables);
        self.steps
            .iter()
            .map(|step| {
                Ok(StepBrief {
                    delay_days: i64::from(step.delay_days),
                    subject: render(&step.subject, &values, false)?,
                    body: render(&step.body, &values, false)?,
                })
            })
            .collect()
    }
}

fn schedule_error(error: ScheduleError) -> AiError {
    match error {
        ScheduleError::Access(error) => AiError::Access(error),
        ScheduleError::Queue(error) => AiError::Queue(error),
        other => AiError::Invalid {
            field: "steps",
            reason: other.to_string(),
        },
    }
}

/// What writing a lead's sequence did.
pub(super) enum SequenceWritten {
    /// Written and scheduled now.
    Scheduled(ModelReply),
    /// Scheduled by an earlier delivery of the same job that stopped before settling.
    AlreadyScheduled,
}

impl Ai {
    /// Writes and schedules one lead's sequence under `sequence_id`. The caller, which
    /// reserved the credits, settles or refunds them.
    pub(super) async fn write_sequence(
        &self,
        actor: &Actor,
        lead_id: &str,
        spec: &SequenceSpec,
        sequence_id: &str,
    ) -> Result<SequenceWritten, AiError> {
        let owner = actor.owner()?;
        let already = self
            .access
            .rows()
            .get(
                &scaliyo_domain::schema::SCHEDULED_EMAILS,
                Some(&owner.to_string()),
                &block_id(sequence_id, 0),
            )
            .await?
            .is_some();
        if already {
            return Ok(SequenceWritten::AlreadyScheduled);
        }
        let lead = self.access.get(actor, "leads", lead_id).await?;
        let briefs = spec.briefs(&lead)?;
        let request = ModelRequest {
            system: sequence::SYSTEM_INSTRUCTION.to_owned(),
            prompt: sequence::prompt(&spec.config, &briefs, &Value::Object(lead.clone())),
            temperature: TEMPERATURE,
            top_p: TOP_P,
            max_output_tokens: sequence::max_output_tokens(briefs.len()),
        };
        let reply = self.ask(&request).await?;
        let emails = WrittenEmail::parse_all(&reply.text, spec.steps.len())?;
        let now = self.clock.now();
        let start_at = spec
            .start_at
            .filter(|at| at.with_timezone(&Utc) > now)
            .unwrap_or_else(|| now.fixed_offset());
        let request = SequenceRequest {
            lead_ids: vec![lead_id.to_owned()],
            blocks: emails
                .iter()
                .zip(&spec.steps)
                .map(|(email, step)| BlockSpec {
                    subject: email.subject.clone(),
                    html_body: email.html_body(),
                    delay_days: step.delay_days,
                    delay_hours: step.delay_hours,
                    delay_minutes: step.delay_minutes,
                    at: None,
                })
                .collect(),
            start_at: Some(start_at),
            window: spec.window.clone(),
            variables: BTreeMap::new(),
            sequence_id: Some(sequence_id.to_owned()),
        };
        let scheduled = self
            .scheduling
            .schedule_sequence(actor, request)
            .await
            .map_err(schedule_error)?;
        if let Some(skipped) = scheduled.skipped.first() {
            return Err(AiError::Invalid {
                field: "lead_ids",
                reason: format!("the lead cannot be mailed ({})", skipped.reason),
            });
        }
        Ok(SequenceWritten::Scheduled(reply))
    }
}
