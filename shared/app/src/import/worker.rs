//! The `import-leads` worker: an uploaded object claimed as its batch, processed chunk by
//! chunk with a checkpoint, and reported.

use super::*;

impl Importer {
    /// Processes the batch an uploaded object belongs to, stopping at a checkpoint when
    /// `deadline` comes near (a Lambda's remaining time).
    pub async fn process_object(
        &self,
        object: &ObjectCreated,
        deadline: Option<Instant>,
    ) -> Result<Progress, ImportError> {
        let (bucket, key) = (object.bucket.as_str(), object.key.as_str());
        if bucket != self.config.bucket {
            return Err(invalid(
                "bucket",
                format!("{bucket} is not the imports bucket"),
            ));
        }
        let Some((owner, batch_id)) = parse_source_key(key) else {
            // Reports and parts land in the same bucket; only sources are imports.
            return Ok(Progress::Nothing {
                batch_id: String::new(),
            });
        };
        let Some(held) = self.claim(owner, &batch_id).await? else {
            return Ok(Progress::Nothing { batch_id });
        };
        // A store error of a moment does not end the run (its message would only come back
        // after the queue's visibility timeout): it goes on from its checkpoint, still under
        // this worker's lease — a few times in a row, and afresh after every checkpoint.
        let lease_owner = held.lease_owner.clone();
        let mut held = held;
        let mut pauses = crate::transient::PAUSES.iter();
        loop {
            let checkpoint = held.item.i64(NEXT_ROW);
            let error = match self.run(held, deadline).await {
                Err(error) if error.is_transient() => error,
                done => return done,
            };
            let Some(again) = self.rehold(owner, &batch_id, lease_owner.clone()).await? else {
                return Ok(Progress::Nothing { batch_id });
            };
            if again.item.i64(NEXT_ROW) != checkpoint {
                pauses = crate::transient::PAUSES.iter();
            }
            let Some(pause) = pauses.next() else {
                return Err(error);
            };
            tracing::warn!(%owner, batch_id, %error, "an import run stopped on a store error; going on from its checkpoint");
            tokio::time::sleep(*pause).await;
            held = again;
        }
    }

    /// The batch again after a failed attempt, if this worker's lease still holds it.
    async fn rehold(
        &self,
        owner: OwnerId,
        batch_id: &str,
        lease_owner: String,
    ) -> Result<Option<Held>, ImportError> {
        let item = self
            .access
            .rows()
            .get_raw(&schema::IMPORT_BATCHES, Some(&owner.to_string()), batch_id)
            .await?;
        Ok(item
            .filter(|item| {
                item.str("status").and_then(BatchStatus::parse) == Some(BatchStatus::Processing)
                    && item.str(LEASE_OWNER) == Some(lease_owner.as_str())
            })
            .map(|item| Held {
                item,
                owner,
                batch_id: batch_id.to_owned(),
                lease_owner,
                resumed: true,
            }))
    }

    /// Takes the batch for this worker: `pending`, or `processing` with an expired lease.
    pub(super) async fn claim(
        &self,
        owner: OwnerId,
        batch_id: &str,
    ) -> Result<Option<Held>, ImportError> {
        let rows = self.access.rows();
        let Some(item) = rows
            .get_raw(&schema::IMPORT_BATCHES, Some(&owner.to_string()), batch_id)
            .await?
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        let resumed = match item.str("status").and_then(BatchStatus::parse) {
            Some(BatchStatus::Pending) => false,
            Some(BatchStatus::Processing)
                if item.i64(LEASE_UNTIL).unwrap_or(0) <= now.timestamp() =>
            {
                tracing::warn!(%owner, batch_id, "resuming an import whose worker stopped");
                true
            }
            _ => return Ok(None),
        };
        let lease_owner = uuid::Uuid::new_v4().to_string();
        let mut patch = Row::new();
        patch.insert("status".into(), json!(BatchStatus::Processing));
        let held = Held {
            item,
            owner,
            batch_id: batch_id.to_owned(),
            lease_owner,
            resumed,
        };
        match self.write_batch(&held, patch, &[]).await {
            Ok(item) => Ok(Some(Held { item, ..held })),
            Err(ImportError::Access(AccessError::Row(RowError::Concurrent))) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A version-guarded write of the batch row that renews this worker's lease.
    pub(super) async fn write_batch(
        &self,
        held: &Held,
        patch: Row,
        internal: &[(&str, StoreValue)],
    ) -> Result<Item, ImportError> {
        let lease_until = (self.clock.now() + self.config.lease).timestamp();
        let mut attributes: Vec<(&str, StoreValue)> = vec![
            (LEASE_UNTIL, StoreValue::from(lease_until)),
            (LEASE_OWNER, StoreValue::from(held.lease_owner.as_str())),
        ];
        for name in [NEXT_ROW, CHUNK] {
            if !internal.iter().any(|(n, _)| *n == name)
                && let Some(value) = held.item.get(name)
            {
                attributes.push((name, value.clone()));
            }
        }
        attributes.extend(internal.iter().cloned());
        let (_, op) = self.access.rows().transition_op(
            &schema::IMPORT_BATCHES,
            &held.item,
            patch,
            &attributes,
        )?;
        let WriteOp::Put { item, .. } = &op else {
            return Err(RowError::Concurrent.into());
        };
        let written = item.clone();
        match self.access.rows().store().transact_write(vec![op]).await {
            Ok(()) => Ok(written),
            Err(StoreError::ConditionFailed { .. }) => Err(RowError::Concurrent.into()),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn fail(
        &self,
        held: Held,
        code: &str,
        message: &str,
    ) -> Result<Progress, ImportError> {
        let mut counts =
            Counts::from_row(&crate::rows::from_item(&schema::IMPORT_BATCHES, &held.item));
        counts
            .skipped_rows
            .insert(0, json!({ "row": 0, "reason": code, "detail": message }));
        counts.skipped_rows.truncate(SKIPPED_ROWS_KEPT);
        let mut patch = counts.patch()?;
        patch.insert("status".into(), json!(BatchStatus::Failed));
        patch.insert(
            "completed_at".into(),
            json!(timestamp_text(self.clock.now())),
        );
        let report = format!("row,reason,detail,raw\n0,{code},{},\n", csv_field(message));
        self.blobs
            .put(
                &self.config.bucket,
                &rejected_key(held.owner, &held.batch_id),
                Bytes::from(report),
                Some("text/csv"),
            )
            .await?;
        self.write_batch(&held, patch, &[]).await?;
        tracing::warn!(owner = %held.owner, batch_id = %held.batch_id, code, "import failed");
        Ok(Progress::Failed {
            batch_id: held.batch_id,
            code: code.to_owned(),
        })
    }

    pub(super) async fn run(
        &self,
        mut held: Held,
        deadline: Option<Instant>,
    ) -> Result<Progress, ImportError> {
        let batch = crate::rows::from_item(&schema::IMPORT_BATCHES, &held.item);
        let options: ImportOptions =
            serde_json::from_value(batch["options"].clone()).unwrap_or_default();
        let overrides = batch["column_mapping"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let source = if batch["file_type"] == "apollo" {
            "apollo"
        } else {
            "csv"
        };
        let next_row = held.item.i64(NEXT_ROW).map(|n| n as u64).unwrap_or(2);
        let mut chunk_index = held.item.i64(CHUNK).unwrap_or(0);
        let mut counts = Counts::from_row(&batch);
        // A resumed run may find rows past the checkpoint already written (by the run that
        // stopped); each of its chunks then also looks for its own leads.
        let maybe_written = held.resumed || held.item.get(NEXT_ROW).is_some();

        let key = source_key(held.owner, &held.batch_id);
        let Some(reader) = self.blobs.open(&self.config.bucket, &key).await? else {
            return self
                .fail(held, "missing_file", "the uploaded file is gone")
                .await;
        };
        let mut rows = match RowReader::open(
            reader,
            &overrides,
            next_row,
            chunk_index,
            self.config.chunk_rows,
        )
        .await
        {
            Ok(rows) => rows,
            Err(ReadError::File { code, message }) => {
                return self.fail(held, code, &message).await;
            }
            Err(ReadError::Blob(e)) => return Err(e.into()),
        };
        let mapping = rows.mapping.describe();
        let batch_ref = BatchRef {
            owner: held.owner,
            batch_id: held.batch_id.clone(),
        };
        // Two chunks at a time: while one chunk's leads are written, the next is parsed, checked
        // for duplicates and reserved against the plan. Counts and checkpoints still advance
        // one whole chunk at a time, in file order.
        let mut writing: Option<BoxFuture<'_, Result<WrittenChunk, ImportError>>> = None;
        loop {
            let next = async {
                let Some(rows) = rows.next_chunk().await? else {
                    return Ok(NextChunk::End);
                };
                let first = rows.first().map(|p| p.number).unwrap_or(0);
                if let Some(deadline) = deadline
                    && deadline.saturating_duration_since(Instant::now())
                        < std::time::Duration::from_secs(20)
                {
                    return Ok(NextChunk::Pause(first));
                }
                let prepared = self
                    .prepare_chunk(
                        &batch_ref,
                        chunk_index,
                        rows,
                        &options,
                        source,
                        maybe_written,
                    )
                    .await?;
                Ok::<_, ImportError>(NextChunk::Prepared(prepared))
            };
            let (next, written) = match writing.take() {
                Some(writes) => {
                    let (next, written) = futures::future::join(next, writes).await;
                    (next, Some(written?))
                }
                None => (next.await, None),
            };
            if let Some(written) = written {
                counts.merge(written.counts);
                held.item = self
                    .write_batch(
                        &held,
                        counts.patch()?,
                        &[
                            (NEXT_ROW, StoreValue::from(written.next_row as i64)),
                            (CHUNK, StoreValue::from(written.index + 1)),
                        ],
                    )
                    .await?;
            }
            match next? {
                NextChunk::End => break,
                NextChunk::Pause(next_row) => {
                    tracing::info!(batch_id = %held.batch_id, next_row, "pausing before the deadline");
                    return Ok(Progress::Paused {
                        batch_id: held.batch_id,
                        next_row,
                    });
                }
                NextChunk::Prepared(prepared) => {
                    chunk_index += 1;
                    writing = Some(self.write_chunk(&batch_ref, prepared).boxed());
                }
            }
        }
        if counts.total == 0 {
            return self
                .fail(
                    held,
                    FileProblem::NoRows.code(),
                    &FileProblem::NoRows.to_string(),
                )
                .await;
        }
        self.compose_report(&held, chunk_index).await?;
        let mut patch = counts.patch()?;
        patch.insert("status".into(), json!(BatchStatus::Completed));
        patch.insert(
            "completed_at".into(),
            json!(timestamp_text(self.clock.now())),
        );
        patch.insert("column_mapping".into(), Value::Object(mapping));
        self.write_batch(&held, patch, &[]).await?;
        tracing::info!(owner = %held.owner, batch_id = %held.batch_id, total = counts.total, imported = counts.imported, updated = counts.updated, skipped = counts.skipped, "import completed");
        for (outcome, rows) in [
            ("imported", counts.imported),
            ("updated", counts.updated),
            ("skipped", counts.skipped),
        ] {
            self.metrics.count(
                "ImportRows",
                &[("outcome", outcome)],
                u64::try_from(rows).unwrap_or(0),
            );
        }
        if let Some(webhooks) = &self.webhooks {
            let data = json!({
                "batch_id": held.batch_id,
                "total_rows": counts.total,
                "imported_count": counts.imported,
                "updated_count": counts.updated,
                "skipped_count": counts.skipped,
            });
            webhooks
                .emit(held.owner, "import.completed", &held.batch_id, data)
                .await;
        }
        Ok(Progress::Completed {
            batch_id: held.batch_id,
        })
    }

    /// Joins the chunks' parts into `rejected.csv`, streaming (never the whole report in memory).
    pub(super) async fn compose_report(&self, held: &Held, chunks: i64) -> Result<(), ImportError> {
        let bucket = self.config.bucket.clone();
        let blobs = self.blobs.clone();
        let owner = held.owner;
        let batch_id = held.batch_id.clone();
        let header = stream::once(async { Ok(Bytes::from_static(b"row,reason,detail,raw\n")) });
        let parts = stream::iter(0..chunks).then(move |chunk| {
            let blobs = blobs.clone();
            let bucket = bucket.clone();
            let key = rejected_part_key(owner, &batch_id, chunk);
            async move { Ok(blobs.get(&bucket, &key).await?.unwrap_or_default()) }
        });
        self.blobs
            .put_stream(
                &self.config.bucket,
                &rejected_key(held.owner, &held.batch_id),
                Box::pin(header.chain(parts)),
                Some("text/csv"),
            )
            .await?;
        for chunk in 0..chunks {
            self.blobs
                .delete(
                    &self.config.bucket,
                    &rejected_part_key(held.owner, &held.batch_id, chunk),
                )
                .await?;
        }
        Ok(())
    }
}
