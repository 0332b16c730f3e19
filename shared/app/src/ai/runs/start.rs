//! Starting a run: the leads checked (the caller's, mailable or researchable), every job's
//! worst case reserved in one conditional add (`402` when the month cannot cover it), the
//! run and its jobs written, the jobs queued.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use scaliyo_domain::ai::research;
use scaliyo_domain::ai::sequence::{self, WritingConfig};
use scaliyo_domain::schedule::SendWindow;
use scaliyo_store::{BatchOp, Item, OutgoingMessage, Value, WriteOp};
use serde::Deserialize;

use super::*;
use crate::access::AccessError;
use crate::ai::writing::{SequenceSpec, StepSpec};
use crate::rows::Row;
use crate::scheduler::WindowSpec;
use crate::scheduler::lead_address;

/// `POST /v1/leads/research`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResearchRunRequest {
    pub lead_ids: Vec<String>,
}

/// `POST /v1/sequences/ai`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiSequenceRequest {
    pub lead_ids: Vec<String>,
    pub steps: Vec<StepSpec>,
    #[serde(default)]
    pub config: WritingConfig,
    /// When the first step's delay starts counting (default: when the lead's e-mails are
    /// written).
    pub start_at: Option<DateTime<FixedOffset>>,
    pub window: Option<WindowSpec>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> AiError {
    AiError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The request's leads, each once, each the caller's: a lead the caller cannot read is the
/// request's mistake (`400`), as in `POST /v1/sequences`.
fn distinct(lead_ids: &[String]) -> Result<Vec<&String>, AiError> {
    if lead_ids.is_empty() || lead_ids.len() > sequence::MAX_LEADS {
        return Err(invalid(
            "lead_ids",
            format!("give 1 to {} leads", sequence::MAX_LEADS),
        ));
    }
    let mut seen = BTreeSet::new();
    Ok(lead_ids.iter().filter(|id| seen.insert(*id)).collect())
}

fn check_text(field: &'static str, text: &str, max_chars: usize) -> Result<(), AiError> {
    if text.chars().count() > max_chars {
        return Err(invalid(field, format!("at most {max_chars} characters")));
    }
    Ok(())
}

impl Ai {
    async fn lead_of(&self, actor: &Actor, lead_id: &str) -> Result<Row, AiError> {
        match self.access.get(actor, "leads", lead_id).await {
            Ok(lead) => Ok(lead),
            Err(AccessError::Row(RowError::NotFound)) => {
                Err(invalid("lead_ids", format!("lead {lead_id} was not found")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// `POST /v1/leads/research`: researches up to 100 leads through the queue.
    pub async fn start_research_run(
        &self,
        actor: &Actor,
        request: ResearchRunRequest,
    ) -> Result<RunStarted, AiError> {
        actor.owner()?;
        self.model()?;
        let mut leads = Vec::new();
        let mut skipped = Vec::new();
        for lead_id in distinct(&request.lead_ids)? {
            let lead = self.lead_of(actor, lead_id).await?;
            match Self::website_for(&lead, None) {
                Ok(_) => leads.push(lead_id.clone()),
                Err(_) => skipped.push(SkippedLead {
                    lead_id: lead_id.clone(),
                    reason: "no_website",
                }),
            }
        }
        let share = i64::try_from(research::reserved_credits()).unwrap_or(i64::MAX);
        self.start_run(actor, RunKind::Research, leads, skipped, share, None)
            .await
    }

    /// `POST /v1/sequences/ai`: writes and schedules a sequence for up to 100 leads through
    /// the queue.
    pub async fn start_sequence_run(
        &self,
        actor: &Actor,
        request: AiSequenceRequest,
    ) -> Result<RunStarted, AiError> {
        actor.owner()?;
        self.model()?;
        if request.steps.is_empty() || request.steps.len() > sequence::MAX_STEPS {
            return Err(invalid(
                "steps",
                format!("give 1 to {} steps", sequence::MAX_STEPS),
            ));
        }
        for step in &request.steps {
            if step.subject.trim().is_empty() && step.body.trim().is_empty() {
                return Err(invalid("steps", "each step needs a subject or a body"));
            }
            check_text("steps.subject", &step.subject, sequence::MAX_SUBJECT_CHARS)?;
            check_text("steps.body", &step.body, sequence::MAX_BODY_CHARS)?;
        }
        for text in [&request.config.tone, &request.config.goal]
            .into_iter()
            .flatten()
        {
            check_text("config", text, sequence::MAX_CONFIG_CHARS)?;
        }
        if let Some(window) = &request.window {
            SendWindow::parse(
                &window.weekdays,
                &window.start,
                &window.end,
                &window.time_zone,
            )
            .map_err(|e| invalid("window", e.to_string()))?;
        }
        let spec = SequenceSpec {
            steps: request.steps,
            config: request.config,
            start_at: request.start_at,
            window: request.window,
            variables: request.variables,
        };
        let mut leads = Vec::new();
        let mut skipped = Vec::new();
        let mut bound = 0;
        for lead_id in distinct(&request.lead_ids)? {
            let lead = self.lead_of(actor, lead_id).await?;
            if lead_address(&lead).is_none() {
                skipped.push(SkippedLead {
                    lead_id: lead_id.clone(),
                    reason: "no_email",
                });
                continue;
            }
            // An unknown merge tag is the request's mistake, found before anything is spent.
            let briefs = spec.briefs(&lead)?;
            bound = bound.max(sequence::prompt_bound(&spec.config, &briefs));
            leads.push(lead_id.clone());
        }
        let share =
            i64::try_from(sequence::reserved_credits(bound, spec.steps.len())).unwrap_or(i64::MAX);
        let spec = serde_json::to_string(&spec).map_err(|e| invalid("steps", e.to_string()))?;
        self.start_run(actor, RunKind::Sequence, leads, skipped, share, Some(spec))
            .await
    }

    async fn start_run(
        &self,
        actor: &Actor,
        kind: RunKind,
        leads: Vec<String>,
        skipped: Vec<SkippedLead>,
        share: i64,
        spec: Option<String>,
    ) -> Result<RunStarted, AiError> {
        let owner = actor.owner()?;
        let queue = self.queue.clone().ok_or(AiError::NotConfigured)?;
        let run_id = uuid::Uuid::new_v4().to_string();
        if leads.is_empty() {
            return Ok(RunStarted {
                run_id,
                kind,
                total: 0,
                skipped,
                credits_reserved: 0,
            });
        }
        let total = i64::try_from(leads.len()).unwrap_or(i64::MAX);
        let credits = share.saturating_mul(total);
        let reservation = self
            .meter
            .reserve(owner, u64::try_from(credits).unwrap_or(0))
            .await?;
        let run = Run {
            id: run_id.clone(),
            owner,
            kind,
            share,
            month: reservation.month.clone(),
            limit: reservation.limit,
            spec,
        };
        if let Err(error) = self.write_run(&run, total, credits, &leads).await {
            self.refund_logged(&reservation).await;
            return Err(error);
        }
        let jobs: Vec<OutgoingMessage> = leads
            .iter()
            .map(|lead| {
                let job = Job {
                    run: run_id.clone(),
                    owner,
                    lead: lead.clone(),
                };
                OutgoingMessage::new(serde_json::to_string(&job).unwrap_or_default())
            })
            .collect();
        if let Err(error) = queue.send_batch(jobs).await {
            // Jobs that did reach the queue find their items failed and do nothing.
            for lead in &leads {
                self.fail_job(&run, lead, "the work queue was unavailable")
                    .await?;
            }
            return Err(error.into());
        }
        tracing::info!(%owner, kind = kind.name(), total, credits, "AI run started");
        Ok(RunStarted {
            run_id,
            kind,
            total: leads.len(),
            skipped,
            credits_reserved: credits,
        })
    }

    /// The run item (one conditional put) and its job items.
    async fn write_run(
        &self,
        run: &Run,
        total: i64,
        credits: i64,
        leads: &[String],
    ) -> Result<(), AiError> {
        let store = self.access.rows().store();
        let mut item = Item::new(&run_key(run.owner, &run.id));
        item.set("kind", run.kind.name());
        item.set("total", Value::from(total));
        item.set("written", Value::from(0i64));
        item.set("failed", Value::from(0i64));
        item.set("share", Value::from(run.share));
        item.set("reserved", Value::from(credits));
        item.set("charged", Value::from(0i64));
        item.set("refunded", Value::from(0i64));
        item.set("month", run.month.clone());
        item.set("limit", Value::from(run.limit));
        item.set("created_at", timestamp(self.clock.now()));
        if let Some(spec) = &run.spec {
            item.set("spec", spec.clone());
        }
        store
            .transact_write(vec![WriteOp::put_new(item)])
            .await
            .map_err(RowError::from)?;
        let jobs = leads
            .iter()
            .map(|lead| {
                let mut job = Item::new(&item_key(run.owner, &run.id, lead));
                job.set("lead", lead.clone());
                job.set("state", PENDING);
                job.set("attempts", Value::from(0i64));
                if run.kind == RunKind::Sequence {
                    job.set("sequence_id", uuid::Uuid::new_v4().to_string());
                }
                BatchOp::Put(job)
            })
            .collect();
        store.batch_write(jobs).await.map_err(RowError::from)?;
        Ok(())
    }
}
