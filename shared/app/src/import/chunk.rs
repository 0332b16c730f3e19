//! One chunk of rows: prepared (verdicts against the workspace and the file), contacts
//! reserved, leads written in groups or existing ones updated.

use super::*;

/// The columns an import sets on each lead it creates, beside the file's mapped columns.
#[derive(serde::Serialize)]
struct ImportStamp<'a> {
    id: &'a str,
    client_id: OwnerId,
    source: &'a str,
    import_batch_id: &'a str,
    imported_at: String,
}

impl Importer {
    /// A chunk's first stage: the duplicate checks, the contacts reservation and the updates
    /// of existing leads; what is left to create is returned for [`Self::write_chunk`].
    pub(super) async fn prepare_chunk(
        &self,
        batch: &BatchRef,
        index: i64,
        mut rows: Vec<Pending>,
        options: &ImportOptions,
        source: &'static str,
        maybe_written: bool,
    ) -> Result<PreparedChunk, ImportError> {
        let now = self.clock.now();
        let mut counts = Counts {
            total: rows.len() as i64,
            ..Counts::default()
        };
        let verdicts = self
            .verdicts(batch, &mut rows, options, source, now, maybe_written)
            .await?;
        // The contacts this chunk creates, reserved once (idempotently) against the plan.
        let wanted = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Create(_)))
            .count() as i64;
        let allowed = self.reserve_contacts(batch, index, wanted).await?;
        let mut creating: Vec<(usize, Row)> = Vec::new();
        for (position, (pending, verdict)) in rows.iter().zip(verdicts).enumerate() {
            match verdict {
                Verdict::AlreadyImported => counts.imported += 1,
                Verdict::Create(row) if (creating.len() as i64) < allowed => {
                    creating.push((position, row));
                }
                Verdict::Create(_) => {
                    let detail = "the plan's contacts limit is reached";
                    counts.skip(
                        pending.number,
                        SkipReason::PlanLimit.code(),
                        detail,
                        &pending.raw,
                    );
                }
                Verdict::Update { key, draft } => match self
                    .update_existing(batch.owner, &key, &draft, options.update_mode)
                    .await
                {
                    Ok(()) => counts.updated += 1,
                    Err(ImportError::Access(AccessError::Row(RowError::NotFound))) => {
                        let detail = "the matching lead was deleted during the import";
                        counts.skip(
                            pending.number,
                            SkipReason::DuplicateExisting.code(),
                            detail,
                            &pending.raw,
                        );
                    }
                    Err(e) => return Err(e),
                },
                Verdict::Skip(reason, detail) => {
                    counts.skip(pending.number, reason.code(), &detail, &pending.raw);
                }
            }
        }
        // The transactions are built off the task too (see `verdicts`).
        let (importer, owner) = (self.clone(), batch.owner);
        let creating = tokio::task::spawn_blocking(move || importer.lead_groups(owner, creating))
            .await
            .map_err(|e| StoreError::Unavailable(format!("an import task failed: {e}")))??;
        Ok(PreparedChunk {
            index,
            rows,
            creating,
            counts,
        })
    }

    /// A chunk's second stage: the new leads written, and the chunk's part of the rejected-rows
    /// report (rewritten identically if the chunk runs again).
    pub(super) async fn write_chunk(
        &self,
        batch: &BatchRef,
        chunk: PreparedChunk,
    ) -> Result<WrittenChunk, ImportError> {
        let PreparedChunk {
            index,
            rows,
            creating,
            mut counts,
        } = chunk;
        let mut imported = Vec::new();
        for (position, outcome) in self.write_leads(batch.owner, creating).await? {
            let pending = &rows[position];
            match outcome {
                Ok(lead_id) => {
                    counts.imported += 1;
                    imported.push(lead_id);
                }
                Err(detail) => {
                    counts.skip(
                        pending.number,
                        SkipReason::DuplicateExisting.code(),
                        &detail,
                        &pending.raw,
                    );
                }
            }
        }
        // Workflows triggered by `lead.imported` hear of the new leads (at most once: a chunk
        // that runs again after a crash finds them taken, as duplicates).
        if let Some(feed) = self.webhooks.as_ref().and_then(|w| w.workflow_feed()) {
            feed.imported(batch.owner, &imported).await;
        }
        self.blobs
            .put(
                &self.config.bucket,
                &rejected_part_key(batch.owner, &batch.batch_id, index),
                Bytes::from(std::mem::take(&mut counts.chunk_report)),
                Some("text/csv"),
            )
            .await?;
        let next_row = rows.last().map(|p| p.number + 1).unwrap_or(0);
        Ok(WrittenChunk {
            index,
            next_row,
            counts,
        })
    }

    /// The duplicate checks of a chunk: every key it needs read in batches of 100 (one
    /// request each on DynamoDB, one read transaction on redb), then a verdict per row.
    pub(super) async fn verdicts(
        &self,
        batch: &BatchRef,
        rows: &mut [Pending],
        options: &ImportOptions,
        source: &'static str,
        now: DateTime<Utc>,
        maybe_written: bool,
    ) -> Result<Vec<Verdict>, ImportError> {
        let owner = batch.owner;
        let owner_text = owner.to_string();
        let mut keys: Vec<Key> = Vec::new();
        // Per row: the position of its own lead's key (on a re-run), and of its uniqueness keys.
        let mut wanted: Vec<(Option<usize>, Vec<usize>)> = Vec::with_capacity(rows.len());
        for pending in rows.iter() {
            let Some(RowOutcome::Lead(draft)) = &pending.outcome else {
                wanted.push((None, Vec::new()));
                continue;
            };
            let own = maybe_written.then(|| {
                keys.push(layout::row_key(
                    &schema::LEADS,
                    Some(&owner_text),
                    &lead_id(&batch.batch_id, pending.number),
                ));
                keys.len() - 1
            });
            let probe = identity_probe(owner, draft);
            let mut uniques = Vec::new();
            for unique in schema::LEADS.uniques {
                if let Some(key) = layout::unique_key(unique, &probe) {
                    keys.push(key);
                    uniques.push(keys.len() - 1);
                }
            }
            wanted.push((own, uniques));
        }
        let store = self.access.rows().store();
        // A few batches at once (in order): their reads are independent.
        let batches: Vec<Vec<Key>> = keys
            .chunks(scaliyo_store::table::MAX_BATCH_GET)
            .map(<[Key]>::to_vec)
            .collect();
        let pages: Vec<Vec<Option<Item>>> = stream::iter(batches)
            .map(|batch| {
                let store = store.clone();
                async move { store.batch_get(&batch).await }
            })
            .buffered(4)
            .try_collect()
            .await?;
        let found: Vec<Option<Item>> = pages.into_iter().flatten().collect();
        // Building the new rows is the chunk's heaviest computing: it runs off the task that
        // drives the previous chunk's writes.
        let outcomes: Vec<(u64, Option<RowOutcome>)> = rows
            .iter_mut()
            .map(|pending| (pending.number, pending.outcome.take()))
            .collect();
        let (importer, batch, options) = (self.clone(), batch.clone(), options.clone());
        let decided = tokio::task::spawn_blocking(move || {
            outcomes
                .into_iter()
                .zip(wanted)
                .map(|((number, outcome), (own, uniques))| {
                    let draft = match outcome {
                        Some(RowOutcome::Lead(draft)) => draft,
                        Some(RowOutcome::Skipped { reason, detail }) => {
                            return Verdict::Skip(reason, detail);
                        }
                        None => {
                            return Verdict::Skip(
                                SkipReason::MalformedRow,
                                "the row was checked twice".into(),
                            );
                        }
                    };
                    if own.and_then(|i| found[i].as_ref()).is_some() {
                        return Verdict::AlreadyImported;
                    }
                    let existing = uniques.iter().find_map(|&i| {
                        let item = found[i].as_ref()?;
                        Some(Key::new(item.str("row_pk")?, item.str("row_sk")?))
                    });
                    importer.decide(&batch, number, draft, existing, &options, source, now)
                })
                .collect()
        })
        .await;
        decided.map_err(|e| StoreError::Unavailable(format!("an import task failed: {e}")).into())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn decide(
        &self,
        batch: &BatchRef,
        number: u64,
        draft: LeadDraft,
        existing: Option<Key>,
        options: &ImportOptions,
        source: &str,
        now: DateTime<Utc>,
    ) -> Verdict {
        let owner = batch.owner;
        let lead_id = lead_id(&batch.batch_id, number);
        match (existing, options.on_duplicate) {
            (Some(_), OnDuplicate::Skip) => Verdict::Skip(
                SkipReason::DuplicateExisting,
                "a lead with this e-mail or LinkedIn URL already exists".into(),
            ),
            (Some(key), OnDuplicate::Update) => Verdict::Update { key, draft },
            (existing, mode) => {
                let mut fields = draft.fields;
                if existing.is_some() && mode == OnDuplicate::Create {
                    fields.insert("primary_email".into(), Value::Null);
                    fields.insert("linkedin_url".into(), Value::Null);
                }
                let stamp = crate::rows::to_row(&ImportStamp {
                    id: &lead_id,
                    client_id: owner,
                    source,
                    import_batch_id: &batch.batch_id,
                    imported_at: timestamp_text(now),
                });
                match stamp.and_then(|stamp| {
                    fields.extend(stamp);
                    self.access.rows().prepare(&schema::LEADS, fields)
                }) {
                    Ok(row) => Verdict::Create(row),
                    Err(e) => Verdict::Skip(SkipReason::MalformedRow, e.to_string()),
                }
            }
        }
    }

    /// Reserves up to `wanted` contacts for a chunk; the marker makes a re-run of the chunk
    /// reuse the first reservation instead of adding again.
    pub(super) async fn reserve_contacts(
        &self,
        batch: &BatchRef,
        chunk_index: i64,
        wanted: i64,
    ) -> Result<i64, ImportError> {
        let store = self.access.rows().store();
        let owner = batch.owner;
        let marker = Key::new(
            layout::owner_partition(owner),
            format!("import#{}#chunk#{chunk_index}", batch.batch_id),
        );
        if let Some(item) = store.get(&marker).await? {
            return Ok(item.i64("count").unwrap_or(0));
        }
        let limit = i64::from(self.access.plan_of(owner).await?.limits().contacts);
        let counter = Key::new(layout::owner_partition(owner), "counter#contacts");
        let expires = (self.clock.now() + Duration::days(30)).timestamp();
        let mut want = wanted;
        for _ in 0..3 {
            let mut ops = vec![WriteOp::put_new(
                Item::new(&marker)
                    .with("count", want)
                    .with(scaliyo_store::table::TTL, expires),
            )];
            if want > 0 {
                ops.push(WriteOp::Update {
                    key: counter.clone(),
                    update: Update::new().add("count", want),
                    condition: Some(Condition::NotExists("count".into()).or(Condition::cmp(
                        "count",
                        CmpOp::Le,
                        limit - want,
                    ))),
                });
            }
            match store.transact_write(ops).await {
                Ok(()) => return Ok(want),
                Err(StoreError::ConditionFailed { index: Some(0) }) => {
                    // Another run of this chunk reserved first.
                    return Ok(store
                        .get(&marker)
                        .await?
                        .and_then(|i| i.i64("count"))
                        .unwrap_or(0));
                }
                Err(StoreError::ConditionFailed { .. }) => {
                    let used = self.access.contacts_used(owner).await?;
                    want = (limit - used).clamp(0, wanted);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RowError::Concurrent.into())
    }

    /// New leads in groups of up to [`LEADS_PER_TRANSACTION`], each group's transaction
    /// built. A group also ends where one more lead would take its transaction past
    /// DynamoDB's 100 items: each lead adds its own items, and its tallies (by status, by
    /// source) add an item for each value the group has not counted yet.
    pub(super) fn lead_groups(
        &self,
        owner: OwnerId,
        creating: Vec<(usize, Row)>,
    ) -> Result<Vec<LeadGroup>, ImportError> {
        let rows = self.access.rows();
        let owner_text = owner.to_string();
        let mut groups = Vec::with_capacity(creating.len().div_ceil(LEADS_PER_TRANSACTION));
        let mut group = LeadGroup::default();
        // Items the group's transaction writes: each lead's own (its item and uniqueness
        // items, never shared — in-file duplicates were set aside before), plus the items its
        // leads add to (the tallies), which the store merges into one action each.
        let mut own_items = 0;
        let mut added_to: HashSet<Key> = HashSet::new();
        for lead in creating {
            let ops = rows.insert_ops(&schema::LEADS, Some(&owner_text), &lead.1, false)?;
            let adds = || {
                ops.iter().filter_map(|op| match op {
                    WriteOp::Update { key, .. } => Some(key),
                    _ => None,
                })
            };
            let own = ops.len() - adds().count();
            let newly_added_to = adds().filter(|key| !added_to.contains(*key)).count();
            let full = group.leads.len() == LEADS_PER_TRANSACTION
                || own_items + own + added_to.len() + newly_added_to
                    > scaliyo_store::table::MAX_TRANSACTION_ITEMS;
            if full && !group.leads.is_empty() {
                groups.push(std::mem::take(&mut group));
                own_items = 0;
                added_to.clear();
            }
            own_items += own;
            for key in adds() {
                if !added_to.contains(key) {
                    added_to.insert(key.clone());
                }
            }
            let position = group.leads.len();
            group.op_owner.extend(ops.iter().map(|_| position));
            group.ops.extend(ops);
            group.leads.push(lead);
        }
        if !group.leads.is_empty() {
            groups.push(group);
        }
        Ok(groups)
    }

    /// The transaction of `group`'s leads (what is left of a group after a refused lead).
    pub(super) fn lead_group(
        &self,
        owner: OwnerId,
        group: Vec<(usize, Row)>,
    ) -> Result<LeadGroup, ImportError> {
        let rows = self.access.rows();
        let owner = owner.to_string();
        let mut ops = Vec::with_capacity(group.len() * 3);
        let mut op_owner = Vec::with_capacity(group.len() * 3);
        for (position, (_, row)) in group.iter().enumerate() {
            for op in rows.insert_ops(&schema::LEADS, Some(&owner), row, false)? {
                ops.push(op);
                op_owner.push(position);
            }
        }
        Ok(LeadGroup {
            leads: group,
            ops,
            op_owner,
        })
    }

    /// Writes new leads, several transactions at once (their transactions were built while
    /// the previous chunk was written, so the writes go out back to back). A lead whose e-mail
    /// or LinkedIn URL was taken meanwhile is reported, its contact given back.
    pub(super) async fn write_leads(
        &self,
        owner: OwnerId,
        groups: Vec<LeadGroup>,
    ) -> Result<Vec<(usize, Result<String, String>)>, ImportError> {
        let results: Vec<Vec<(usize, Result<String, String>)>> = stream::iter(groups)
            .map(|group| self.write_group(owner, group))
            .buffer_unordered(self.config.write_concurrency)
            .try_collect()
            .await?;
        Ok(results.into_iter().flatten().collect())
    }

    pub(super) async fn write_group(
        &self,
        owner: OwnerId,
        mut group: LeadGroup,
    ) -> Result<Vec<(usize, Result<String, String>)>, ImportError> {
        let store = self.access.rows().store();
        let mut out = Vec::with_capacity(group.leads.len());
        while !group.leads.is_empty() {
            match store.transact_write(std::mem::take(&mut group.ops)).await {
                Ok(()) => {
                    out.extend(group.leads.drain(..).map(|(index, lead)| {
                        let id = crate::rows::field(&lead, "id").as_str().unwrap_or_default();
                        (index, Ok(id.to_owned()))
                    }));
                }
                Err(StoreError::ConditionFailed {
                    index: Some(failed),
                }) => {
                    let position = group.op_owner.get(failed).copied().unwrap_or(0);
                    let mut leads = std::mem::take(&mut group.leads);
                    let (index, _) = leads.remove(position);
                    out.push((
                        index,
                        Err(
                            "a lead with this e-mail or LinkedIn URL was created meanwhile"
                                .to_owned(),
                        ),
                    ));
                    let refund = WriteOp::update(
                        Key::new(layout::owner_partition(owner), "counter#contacts"),
                        Update::new().add("count", -1),
                    );
                    store.transact_write(vec![refund]).await?;
                    group = self.lead_group(owner, leads)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    pub(super) async fn update_existing(
        &self,
        owner: OwnerId,
        key: &Key,
        draft: &LeadDraft,
        mode: UpdateMode,
    ) -> Result<(), ImportError> {
        let rows = self.access.rows();
        let Some(item) = rows.store().get(key).await? else {
            return Err(RowError::NotFound.into());
        };
        let current = crate::rows::from_item(&schema::LEADS, &item);
        let id = current["id"].as_str().unwrap_or_default().to_owned();
        let mut patch = Row::new();
        for (column, value) in &draft.fields {
            // Identity columns stay as they are: they are what matched.
            if matches!(
                column.as_str(),
                "primary_email" | "linkedin_url" | "id" | "client_id"
            ) {
                continue;
            }
            let empty = |v: &Value| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            if empty(value) {
                continue;
            }
            let new = match (column.as_str(), &current[column.as_str()], mode) {
                ("custom_fields", Value::Object(existing), _) => {
                    let mut merged = existing.clone();
                    for (k, v) in value.as_object().into_iter().flatten() {
                        if mode == UpdateMode::Overwrite || !merged.contains_key(k) {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                    Value::Object(merged)
                }
                ("emails" | "phones", Value::Array(existing), _) => {
                    let mut merged = existing.clone();
                    for v in value.as_array().into_iter().flatten() {
                        if !merged.contains(v) {
                            merged.push(v.clone());
                        }
                    }
                    Value::Array(merged)
                }
                (_, existing, UpdateMode::FillEmpty) if !empty(existing) => continue,
                _ => value.clone(),
            };
            if new != current[column.as_str()] {
                patch.insert(column.clone(), new);
            }
        }
        if patch.is_empty() {
            return Ok(());
        }
        for _ in 0..3 {
            match rows
                .update(&schema::LEADS, Some(&owner.to_string()), &id, patch.clone())
                .await
            {
                Ok(_) => return Ok(()),
                Err(RowError::Concurrent) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RowError::Concurrent.into())
    }
}
