//! `scaliyo import FILE --user ID`: imports a CSV as that user with a progress display and
//! prints the batch summary. It runs the import in this process on the data directory; when
//! a `scaliyo serve` holds the store, it goes through that server's API instead (the same
//! calls the frontend makes).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use scaliyo_app::access::Actor;
use scaliyo_app::import::{ImportOptions, OnDuplicate, StartRequest, source_key};
use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Blobs, SystemClock};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::{IMPORTS_BUCKET, LocalConfig, LocalError, LocalSystem};

pub struct ImportArgs<'a> {
    pub data_dir: &'a Path,
    pub file: &'a Path,
    pub user: OwnerId,
    pub on_duplicate: OnDuplicate,
    pub server: &'a str,
}

pub async fn run(args: ImportArgs<'_>) -> Result<Value, String> {
    let size = std::fs::metadata(args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?
        .len();
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import.csv".into());
    let config = LocalConfig::new(
        crate::DEFAULT_ADDR.parse().map_err(|e| format!("{e}"))?,
        args.data_dir.to_path_buf(),
    );
    match LocalSystem::open(config, Arc::new(SystemClock)) {
        Ok(system) => in_process(&system, &args, &file_name, size).await,
        // The store is held by a running server: use its API.
        Err(LocalError::Store { .. }) => via_server(&args, &file_name, size).await,
        Err(e) => Err(e.to_string()),
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn describe(batch: &Value) -> String {
    format!(
        "{}: {} rows, {} imported, {} updated, {} skipped",
        batch["status"].as_str().unwrap_or("?"),
        batch["total_rows"],
        batch["imported_count"],
        batch["updated_count"],
        batch["skipped_count"]
    )
}

async fn in_process(
    system: &LocalSystem,
    args: &ImportArgs<'_>,
    file_name: &str,
    size: u64,
) -> Result<Value, String> {
    let actor = Actor::acting_for(args.user);
    let started = system
        .importer
        .start(
            &actor,
            StartRequest {
                file_name: file_name.to_owned(),
                file_type: None,
                column_mapping: Default::default(),
                options: ImportOptions {
                    on_duplicate: args.on_duplicate,
                    ..Default::default()
                },
                content_length: size,
            },
        )
        .await
        .map_err(|e| match e.to_string() {
            m if m.contains("references a row that does not exist") => format!(
                "user {} has no profile in {}: sign up first (POST /v1/profiles)",
                args.user,
                args.data_dir.display()
            ),
            m => m,
        })?;
    let batch_id = started.batch["id"].as_str().unwrap_or_default().to_owned();
    let bar = spinner();
    bar.set_message(format!("uploading {file_name} ({size} bytes)"));
    // Streamed into the local blob store, which notifies the import worker.
    let file = tokio::fs::File::open(args.file)
        .await
        .map_err(|e| e.to_string())?;
    let chunks = futures::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(bytes::Bytes::from(buffer)), file))
            }
            Err(e) => Some((
                Err(scaliyo_store::BlobError::Unavailable(e.to_string())),
                file,
            )),
        }
    });
    system
        .blobs
        .put_stream(
            IMPORTS_BUCKET,
            &source_key(args.user, &batch_id),
            Box::pin(chunks),
            Some("text/csv"),
        )
        .await
        .map_err(|e| e.to_string())?;
    let worker = system.import_worker();
    let work = tokio::spawn(async move { worker.drain().await });
    loop {
        let batch = system
            .access
            .get(&actor, "import_batches", &batch_id)
            .await
            .map_err(|e| e.to_string())?;
        let value = Value::Object(batch);
        bar.set_message(describe(&value));
        if work.is_finished() {
            bar.finish_and_clear();
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn via_server(args: &ImportArgs<'_>, file_name: &str, size: u64) -> Result<Value, String> {
    let token = crate::local_jwt(args.data_dir)
        .map_err(|e| e.to_string())?
        .issue(
            args.user,
            scaliyo_domain::ids::Role::Client,
            None,
            chrono::Utc::now(),
            chrono::Duration::hours(1),
        )
        .map_err(|e| e.message)?;
    let http = reqwest::Client::new();
    let base = args.server.trim_end_matches('/');
    let started: Value = http
        .post(format!("{base}/v1/imports"))
        .bearer_auth(&token)
        .json(&json!({ "file_name": file_name, "content_length": size, "options": { "on_duplicate": args.on_duplicate } }))
        .send()
        .await
        .map_err(|e| format!("the store is in use and the server at {base} does not answer: {e}"))?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let Some(batch_id) = started["batch"]["id"].as_str().map(str::to_owned) else {
        return Err(format!("the server refused the import: {started}"));
    };
    let bar = spinner();
    bar.set_message(format!("uploading {file_name} ({size} bytes)"));
    let body = tokio::fs::read(args.file)
        .await
        .map_err(|e| e.to_string())?;
    let mut put = http
        .put(started["upload"]["url"].as_str().unwrap_or_default())
        .body(body);
    for (name, value) in started["upload"]["headers"]
        .as_object()
        .into_iter()
        .flatten()
    {
        put = put.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    let uploaded = put.send().await.map_err(|e| e.to_string())?;
    if !uploaded.status().is_success() {
        return Err(format!("the upload was refused: {}", uploaded.status()));
    }
    loop {
        let batch: Value = http
            .get(format!("{base}/v1/import_batches/{batch_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        bar.set_message(describe(&batch));
        if matches!(batch["status"].as_str(), Some("completed" | "failed")) {
            bar.finish_and_clear();
            return Ok(batch);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The closing summary a person reads.
pub fn summary(batch: &Value) -> String {
    let mut out = format!(
        "import {} {}\n  file: {}\n  rows: {}  imported: {}  updated: {}  skipped: {}\n",
        batch["id"].as_str().unwrap_or_default(),
        batch["status"].as_str().unwrap_or_default(),
        batch["file_name"].as_str().unwrap_or_default(),
        batch["total_rows"],
        batch["imported_count"],
        batch["updated_count"],
        batch["skipped_count"],
    );
    let skipped = batch["skipped_rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !skipped.is_empty() {
        out.push_str(
            "  skipped rows (first ones; the full list: GET /v1/imports/{id}/rejected):\n",
        );
        for row in skipped.iter().take(10) {
            out.push_str(&format!(
                "    row {}: {} — {}\n",
                row["row"],
                row["reason"].as_str().unwrap_or_default(),
                row["detail"].as_str().unwrap_or_default()
            ));
        }
    }
    out
}
