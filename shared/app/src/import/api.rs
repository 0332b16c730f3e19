//! What the `api` function serves: start an import (presigned upload), upload directly,
//! download the rejected rows.

use super::*;

/// The `import_batches` row a start creates.
#[derive(Serialize)]
struct BatchRow<'a> {
    workspace_id: OwnerId,
    file_name: &'a str,
    file_type: &'a str,
    column_mapping: &'a Map<String, Value>,
    options: &'a ImportOptions,
    status: BatchStatus,
}

impl Importer {
    pub fn new(
        access: Arc<Access>,
        blobs: Arc<dyn Blobs>,
        clock: Arc<dyn Clock>,
        config: ImportConfig,
    ) -> Self {
        Self {
            access,
            blobs,
            clock,
            config,
            webhooks: None,
            metrics: scaliyo_store::no_metrics(),
        }
    }

    /// `import.completed` goes to the owner's webhooks.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn config(&self) -> &ImportConfig {
        &self.config
    }

    // -----------------------------------------------------------------------------------
    // The API side

    pub async fn start(
        &self,
        actor: &Actor,
        request: StartRequest,
    ) -> Result<Started, ImportError> {
        let owner = actor.owner()?;
        let file_name = request.file_name.trim();
        if file_name.is_empty() || file_name.len() > 255 {
            return Err(invalid(
                "file_name",
                "give the file's name (1 to 255 characters)",
            ));
        }
        let file_type = request.file_type.as_deref().unwrap_or("csv");
        if !matches!(file_type, "csv" | "apollo") {
            return Err(invalid("file_type", "must be csv or apollo"));
        }
        if request.content_length == 0 {
            return Err(ImportError::EmptyFile);
        }
        if request.content_length > self.config.max_upload_bytes {
            return Err(ImportError::TooLarge {
                limit: self.config.max_upload_bytes,
            });
        }
        for (header, target) in &request.column_mapping {
            let Some(name) = target.as_str() else {
                return Err(invalid(
                    "column_mapping",
                    format!("{header:?} must map to a field name"),
                ));
            };
            let probe = Mapping::new(
                std::slice::from_ref(header),
                &[(header.clone(), Value::from(name))].into_iter().collect(),
            );
            if let Err(e) = probe {
                return Err(invalid("column_mapping", e.to_string()));
            }
        }
        let row = crate::rows::to_row(&BatchRow {
            workspace_id: owner,
            file_name,
            file_type,
            column_mapping: &request.column_mapping,
            options: &request.options,
            status: BatchStatus::Pending,
        })?;
        let batch = self.access.create(actor, "import_batches", row).await?;
        let batch_id = batch["id"].as_str().unwrap_or_default().to_owned();
        let url = self
            .blobs
            .presign_put(
                &self.config.bucket,
                &source_key(owner, &batch_id),
                "text/csv",
                Some(request.content_length),
                std::time::Duration::from_secs(3600),
            )
            .await?;
        Ok(Started {
            batch,
            upload: upload(url, "text/csv", Some(request.content_length)),
        })
    }

    /// A small file posted directly: stored as the batch's upload (which starts processing).
    pub async fn upload_direct(
        &self,
        actor: &Actor,
        batch_id: &str,
        body: Bytes,
    ) -> Result<Row, ImportError> {
        if body.is_empty() {
            return Err(ImportError::EmptyFile);
        }
        if body.len() > self.config.max_direct_bytes {
            return Err(ImportError::TooLarge {
                limit: self.config.max_direct_bytes as u64,
            });
        }
        let batch = self.access.get(actor, "import_batches", batch_id).await?;
        if BatchStatus::of(&batch["status"]) != Some(BatchStatus::Pending) {
            return Err(ImportError::WrongState {
                status: batch["status"].as_str().unwrap_or_default().to_owned(),
                action: "a file was already uploaded",
            });
        }
        let owner = crate::rows::owner_in(&batch, "workspace_id")?;
        match self
            .blobs
            .create(
                &self.config.bucket,
                &source_key(owner, batch_id),
                body,
                Some("text/csv"),
            )
            .await
        {
            Ok(()) => Ok(batch),
            Err(BlobError::AlreadyExists) => Err(ImportError::WrongState {
                status: BatchStatus::Pending.to_string(),
                action: "a file was already uploaded",
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Contacts handed over as JSON (the frontend's `apollo-import`): written as an Apollo
    /// export and imported as an uploaded file is, so dedupe, quotas and per-row reasons are
    /// the file import's. Answers the batch, which the frontend polls.
    pub async fn import_contacts(
        &self,
        actor: &Actor,
        contacts: &[Value],
        options: ImportOptions,
    ) -> Result<Row, ImportError> {
        let csv = scaliyo_domain::import::apollo::contacts_csv(contacts)
            .map_err(|e| invalid("contacts", e.to_string()))?;
        if csv.len() > self.config.max_direct_bytes {
            return Err(ImportError::TooLarge {
                limit: self.config.max_direct_bytes as u64,
            });
        }
        let file_name = format!(
            "apollo-contacts-{}.csv",
            self.clock.now().format("%Y%m%dT%H%M%SZ")
        );
        let started = self
            .start(
                actor,
                StartRequest {
                    file_name,
                    file_type: Some("apollo".into()),
                    column_mapping: Map::new(),
                    options,
                    content_length: csv.len() as u64,
                },
            )
            .await?;
        let batch_id = started.batch["id"].as_str().unwrap_or_default().to_owned();
        self.upload_direct(actor, &batch_id, Bytes::from(csv)).await
    }

    /// A short-lived download URL of the rejected rows with their reasons.
    pub async fn rejected_download(
        &self,
        actor: &Actor,
        batch_id: &str,
    ) -> Result<PresignedUrl, ImportError> {
        let batch = self.access.get(actor, "import_batches", batch_id).await?;
        let owner = crate::rows::owner_in(&batch, "workspace_id")?;
        if !matches!(
            BatchStatus::of(&batch["status"]),
            Some(BatchStatus::Completed | BatchStatus::Failed)
        ) {
            return Err(ImportError::WrongState {
                status: batch["status"].as_str().unwrap_or_default().to_owned(),
                action: "the report exists once the import has finished",
            });
        }
        let key = rejected_key(owner, batch_id);
        if self.blobs.head(&self.config.bucket, &key).await?.is_none() {
            return Err(RowError::NotFound.into());
        }
        Ok(self
            .blobs
            .presign_get(
                &self.config.bucket,
                &key,
                std::time::Duration::from_secs(300),
            )
            .await?)
    }

    // -----------------------------------------------------------------------------------
    // The worker side
}
