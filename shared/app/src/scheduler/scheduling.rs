//! The API side: schedule one e-mail or a sequence, cancel, show a sequence (what the `api`
//! function serves). Needs only the rows.

use super::*;

/// The API side: schedule and cancel (what the `api` function serves). Needs only the rows.
/// A `scheduled_emails` row as scheduling creates it.
#[derive(Serialize)]
pub(super) struct ScheduledRow<'a> {
    pub id: &'a str,
    pub owner_id: OwnerId,
    pub lead_id: &'a str,
    pub to_email: &'a str,
    pub subject: &'a str,
    pub html_body: &'a str,
    pub scheduled_at: String,
    pub block_index: i64,
    pub sequence_id: Option<&'a str>,
}

#[derive(Clone)]
pub struct Scheduling {
    pub(super) access: Arc<Access>,
    pub(super) clock: Arc<dyn Clock>,
}

impl Scheduling {
    pub fn new(access: Arc<Access>, clock: Arc<dyn Clock>) -> Self {
        Self { access, clock }
    }

    // -----------------------------------------------------------------------------------
    // Scheduling

    /// One e-mail to one lead at a time (no sequence).
    pub async fn schedule_one(
        &self,
        actor: &Actor,
        request: ScheduleOneRequest,
    ) -> Result<ScheduledBlock, ScheduleError> {
        let owner = actor.owner()?;
        let lead = self.access.get(actor, "leads", &request.lead_id).await?;
        let to_email = lead_address(&lead)
            .ok_or_else(|| invalid("lead_id", "the lead has no e-mail address"))?;
        let values = merge_values(&lead, &request.variables);
        let subject = render(&request.subject, &values, false, "subject")?;
        let html_body = render(&request.html_body, &values, true, "html_body")?;
        require_text(&subject, &html_body)?;
        let at = request.scheduled_at.with_timezone(&Utc);
        let id = uuid::Uuid::new_v4().to_string();
        let row = self.new_row(&ScheduledRow {
            id: &id,
            owner_id: owner,
            lead_id: &request.lead_id,
            to_email: &to_email,
            subject: &subject,
            html_body: &html_body,
            scheduled_at: timestamp_text(at),
            block_index: 0,
            sequence_id: None,
        })?;
        let ops = self.row_ops(owner, &row, None)?;
        self.access
            .rows()
            .store()
            .transact_write(ops)
            .await
            .map_err(reference_error)?;
        Ok(ScheduledBlock {
            id,
            block_index: 0,
            scheduled_at: timestamp_text(at),
        })
    }

    /// A sequence for one or many leads: every block of a lead is written in one
    /// transaction; a request that cannot be scheduled for some lead writes nothing.
    pub async fn schedule_sequence(
        &self,
        actor: &Actor,
        request: SequenceRequest,
    ) -> Result<SequenceScheduled, ScheduleError> {
        let owner = actor.owner()?;
        if request.lead_ids.is_empty() || request.lead_ids.len() > MAX_LEADS {
            return Err(invalid("lead_ids", format!("give 1 to {MAX_LEADS} leads")));
        }
        if request.blocks.is_empty() || request.blocks.len() > MAX_BLOCKS {
            return Err(invalid("blocks", format!("give 1 to {MAX_BLOCKS} blocks")));
        }
        let window = request
            .window
            .as_ref()
            .map(|w| SendWindow::parse(&w.weekdays, &w.start, &w.end, &w.time_zone))
            .transpose()
            .map_err(|e| invalid("window", e.to_string()))?;
        let window_text = request
            .window
            .as_ref()
            .map(|w| serde_json::to_string(w).unwrap_or_default());
        let timings: Vec<BlockTiming> = request
            .blocks
            .iter()
            .map(|b| match b.at {
                Some(at) => BlockTiming::At(at.with_timezone(&Utc)),
                None => BlockTiming::After {
                    days: b.delay_days,
                    hours: b.delay_hours,
                    minutes: b.delay_minutes,
                },
            })
            .collect();
        let start = request
            .start_at
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| self.clock.now());
        let times = schedule::plan(start, &timings, window.as_ref())
            .map_err(|e| invalid("blocks", e.to_string()))?;

        let store = self.access.rows().store().clone();
        let mut planned = Vec::new();
        let mut skipped = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for lead_id in &request.lead_ids {
            if !seen.insert(lead_id.clone()) {
                continue;
            }
            let lead = match self.access.get(actor, "leads", lead_id).await {
                Ok(lead) => lead,
                Err(AccessError::Row(RowError::NotFound)) => {
                    return Err(invalid("lead_ids", format!("lead {lead_id} was not found")));
                }
                Err(e) => return Err(e.into()),
            };
            let Some(to_email) = lead_address(&lead) else {
                skipped.push(SkippedLead {
                    lead_id: lead_id.clone(),
                    reason: "no_email",
                });
                continue;
            };
            if store
                .get(&suppression_key(owner, &to_email))
                .await?
                .is_some()
            {
                skipped.push(SkippedLead {
                    lead_id: lead_id.clone(),
                    reason: "suppressed",
                });
                continue;
            }
            let values = merge_values(&lead, &request.variables);
            let sequence_id = request
                .sequence_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let mut rows = Vec::with_capacity(request.blocks.len());
            for (index, (block, at)) in request.blocks.iter().zip(&times).enumerate() {
                let field = |name: &str| format!("blocks[{index}].{name}");
                let subject = render(&block.subject, &values, false, &field("subject"))?;
                let html_body = render(&block.html_body, &values, true, &field("html_body"))?;
                require_text(&subject, &html_body)?;
                let index = index as i64;
                rows.push(self.new_row(&ScheduledRow {
                    id: &block_id(&sequence_id, index),
                    owner_id: owner,
                    lead_id,
                    to_email: &to_email,
                    subject: &subject,
                    html_body: &html_body,
                    scheduled_at: timestamp_text(*at),
                    block_index: index,
                    sequence_id: Some(&sequence_id),
                })?);
            }
            planned.push((lead_id.clone(), sequence_id, rows));
        }

        let mut sequences = Vec::with_capacity(planned.len());
        for (lead_id, sequence_id, rows) in planned {
            let mut ops: Vec<WriteOp> = Vec::new();
            for row in &rows {
                for op in self.row_ops(owner, row, window_text.as_deref())? {
                    // Every block checks the same lead: once per transaction.
                    let repeated = matches!(op, WriteOp::ConditionCheck { .. })
                        && ops.iter().any(|o| o.key().ok() == op.key().ok());
                    if !repeated {
                        ops.push(op);
                    }
                }
            }
            store.transact_write(ops).await.map_err(reference_error)?;
            sequences.push(Enrolment {
                lead_id,
                sequence_id,
                emails: rows
                    .iter()
                    .map(|r| ScheduledBlock {
                        id: r["id"].as_str().unwrap_or_default().to_owned(),
                        block_index: r["block_index"].as_i64().unwrap_or(0),
                        scheduled_at: r["scheduled_at"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            });
        }
        tracing::info!(
            %owner,
            sequences = sequences.len(),
            skipped = skipped.len(),
            "sequence scheduled"
        );
        Ok(SequenceScheduled { sequences, skipped })
    }

    /// A `scheduled_emails` row, with its defaults and checks.
    pub(super) fn new_row(&self, row: &ScheduledRow<'_>) -> Result<Row, ScheduleError> {
        let row = crate::rows::to_row(row)?;
        Ok(self.access.rows().prepare(&schema::SCHEDULED_EMAILS, row)?)
    }

    /// The row with its reference check; the window rides along for rescheduling.
    pub(super) fn row_ops(
        &self,
        owner: OwnerId,
        row: &Row,
        window: Option<&str>,
    ) -> Result<Vec<WriteOp>, ScheduleError> {
        let mut ops = self.access.rows().insert_ops(
            &schema::SCHEDULED_EMAILS,
            Some(&owner.to_string()),
            row,
            true,
        )?;
        if let (Some(window), Some(WriteOp::Put { item, .. })) = (window, ops.first_mut()) {
            item.set(WINDOW, window);
        }
        Ok(ops)
    }

    // -----------------------------------------------------------------------------------
    // Cancelling

    /// Cancels one pending e-mail. Cancelling a cancelled one is a no-op; one being sent,
    /// sent or failed cannot be cancelled.
    pub async fn cancel(&self, actor: &Actor, id: &str) -> Result<Row, ScheduleError> {
        // The policy decides visibility: another user's id is simply not found.
        let visible = self.access.get(actor, "scheduled_emails", id).await?;
        let owner = visible["owner_id"].as_str().unwrap_or_default().to_owned();
        for _ in 0..3 {
            let Some(item) = self
                .access
                .rows()
                .get_raw(&schema::SCHEDULED_EMAILS, Some(&owner), id)
                .await?
            else {
                return Err(RowError::NotFound.into());
            };
            match status_of(&item) {
                Some(ScheduledEmailStatus::Cancelled) => {
                    return Ok(crate::rows::from_item(&schema::SCHEDULED_EMAILS, &item));
                }
                Some(ScheduledEmailStatus::Pending) => {}
                _ => {
                    let status = item.str("status").unwrap_or_default().to_owned();
                    return Err(ScheduleError::NotCancellable { status });
                }
            }
            match self
                .settle(
                    &item,
                    ScheduledEmailStatus::Cancelled,
                    None,
                    Some("cancelled by the user"),
                    0,
                )
                .await
            {
                Ok(row) => return Ok(row),
                // Claimed or changed meanwhile: look again.
                Err(ScheduleError::Access(AccessError::Row(RowError::Concurrent))) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(RowError::Concurrent.into())
    }

    /// The blocks of a lead's sequence, in order.
    pub async fn sequence(
        &self,
        actor: &Actor,
        sequence_id: &str,
    ) -> Result<Vec<Row>, ScheduleError> {
        let mut blocks = Vec::new();
        for index in 0..MAX_BLOCKS as i64 {
            match self
                .access
                .get(actor, "scheduled_emails", &block_id(sequence_id, index))
                .await
            {
                Ok(row) => blocks.push(row),
                Err(AccessError::Row(RowError::NotFound)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if blocks.is_empty() {
            return Err(RowError::NotFound.into());
        }
        Ok(blocks)
    }

    /// Cancels every pending block of a lead's sequence.
    pub async fn cancel_sequence(
        &self,
        actor: &Actor,
        sequence_id: &str,
    ) -> Result<CancelReport, ScheduleError> {
        let first = block_id(sequence_id, 0);
        let visible = self.access.get(actor, "scheduled_emails", &first).await?;
        let owner = crate::rows::owner_in(&visible, "owner_id")?;
        self.cancel_blocks(owner, sequence_id, 0, "cancelled by the user")
            .await
    }

    /// Cancels the pending blocks of every sequence of a lead (the lead replied): each
    /// sequence from its first pending block on. Single scheduled e-mails (no sequence) are
    /// the user's own appointments and stay. Returns how many blocks were cancelled.
    pub async fn cancel_lead_sequences(
        &self,
        owner: OwnerId,
        lead_id: &str,
        reason: &str,
    ) -> Result<usize, ScheduleError> {
        let owner_text = owner.to_string();
        let mut first_pending: BTreeMap<String, i64> = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = self
                .access
                .rows()
                .list(
                    &schema::SCHEDULED_EMAILS,
                    Some(&owner_text),
                    crate::rows::ListRequest {
                        index: Some("fk_scheduled_emails_lead_id".into()),
                        equals: vec![lead_id.to_owned()],
                        limit: 200,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            for row in &page.rows {
                let pending =
                    row["status"].as_str() == Some(ScheduledEmailStatus::Pending.as_str());
                if let (true, Some(sequence), Some(index)) = (
                    pending,
                    row["sequence_id"].as_str(),
                    row["block_index"].as_i64(),
                ) {
                    let first = first_pending.entry(sequence.to_owned()).or_insert(index);
                    *first = (*first).min(index);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut cancelled = 0;
        for (sequence, from) in first_pending {
            cancelled += self
                .cancel_blocks(owner, &sequence, from, reason)
                .await?
                .cancelled;
        }
        Ok(cancelled)
    }

    pub(super) async fn cancel_blocks(
        &self,
        owner: OwnerId,
        sequence_id: &str,
        from_index: i64,
        reason: &str,
    ) -> Result<CancelReport, ScheduleError> {
        let mut report = CancelReport::default();
        for index in from_index..MAX_BLOCKS as i64 {
            let id = block_id(sequence_id, index);
            let mut settled = false;
            for _ in 0..3 {
                let Some(item) = self
                    .access
                    .rows()
                    .get_raw(&schema::SCHEDULED_EMAILS, Some(&owner.to_string()), &id)
                    .await?
                else {
                    return Ok(report);
                };
                match status_of(&item) {
                    Some(ScheduledEmailStatus::Pending) => {}
                    Some(ScheduledEmailStatus::Processing) => {
                        report.in_flight += 1;
                        settled = true;
                        break;
                    }
                    _ => {
                        report.already_settled += 1;
                        settled = true;
                        break;
                    }
                }
                match self
                    .settle(
                        &item,
                        ScheduledEmailStatus::Cancelled,
                        None,
                        Some(reason),
                        0,
                    )
                    .await
                {
                    Ok(_) => {
                        report.cancelled += 1;
                        settled = true;
                        break;
                    }
                    Err(ScheduleError::Access(AccessError::Row(RowError::Concurrent))) => continue,
                    Err(e) => return Err(e),
                }
            }
            if !settled {
                return Err(RowError::Concurrent.into());
            }
        }
        Ok(report)
    }

    /// Moves a row to `status` (dropping its claim and lease), optionally re-timed; guarded
    /// by the version of `item`.
    pub(super) async fn settle(
        &self,
        item: &Item,
        status: ScheduledEmailStatus,
        scheduled_at: Option<DateTime<Utc>>,
        error_message: Option<&str>,
        attempts: i64,
    ) -> Result<Row, ScheduleError> {
        let now = self.clock.now();
        let mut patch = Row::new();
        patch.insert("status".into(), json!(status));
        if let Some(at) = scheduled_at {
            patch.insert("scheduled_at".into(), json!(timestamp_text(at)));
        }
        if status == ScheduledEmailStatus::Sent {
            patch.insert("sent_at".into(), json!(timestamp_text(now)));
        }
        patch.insert("error_message".into(), json!(error_message));
        let (row, ops) = self.access.rows().transition_ops(
            &schema::SCHEDULED_EMAILS,
            item,
            patch,
            &carried(item, attempts),
        )?;
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => Ok(row),
            Err(StoreError::ConditionFailed { .. }) => Err(RowError::Concurrent.into()),
            Err(e) => Err(e.into()),
        }
    }
}
