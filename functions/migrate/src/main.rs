//! `scaliyo-migrate`: moves the data of the Supabase Postgres into the single table.
//!
//! Export every table of the schema as CSV (see docs/deploy.md):
//!
//! ```sh
//! psql "$SUPABASE_DB_URL" -c "\copy public.leads TO 'export/leads.csv' WITH (FORMAT csv, HEADER, NULL '\N')"
//! ```
//!
//! then `scaliyo-migrate export/ --dynamodb-table scaliyo-prod --kms-key <key id>` (or
//! `--data-dir .scaliyo` for the local system). Tables are written in schema order, each row
//! through the same repository the API uses (defaults, CHECKs, keys, index entries and
//! uniqueness items), sender credentials sealed like `connect` seals them, then the counters
//! derived from rows (contacts, the row tallies) and the analytics of every migrated day are
//! rebuilt.
//! Re-running is safe: items are overwritten with the same content.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use scaliyo_app::rows::{Row, Rows};
use scaliyo_domain::import::{RecordSplitter, TextDecoder, sniff_encoding};
use scaliyo_domain::migrate::value_of;
use scaliyo_domain::schema::{self, Scope, TABLES, Table};
use scaliyo_store::{BatchOp, Clock, Item, Key, Sealer, SystemClock, Table as Store, WriteOp};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "scaliyo-migrate",
    about = "Move CSV exports of the Supabase tables into Scaliyo Serverless"
)]
struct Cli {
    /// The directory with `<table>.csv` files (header row, `\N` for NULL).
    from: PathBuf,
    /// Write to this DynamoDB table (AWS credentials and region from the environment).
    #[arg(long, conflicts_with = "data_dir")]
    dynamodb_table: Option<String>,
    /// The KMS key that seals credentials (with --dynamodb-table).
    #[arg(long, requires = "dynamodb_table")]
    kms_key: Option<String>,
    /// Write to a local data directory instead (the `scaliyo serve` store).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
enum MigrateError {
    #[error("{0}")]
    Usage(String),
    #[error("{file}, row {row}: {reason}")]
    Row {
        file: String,
        row: u64,
        reason: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] scaliyo_store::StoreError),
    #[error("{0}")]
    Rows(#[from] scaliyo_app::rows::RowError),
    #[error("sealing: {0}")]
    Seal(#[from] scaliyo_store::SealError),
}

/// An owner named by the migrated rows (their owner columns are uuids, checked when each
/// row was prepared).
fn parse_owner(owner: &str) -> Result<scaliyo_domain::ids::OwnerId, MigrateError> {
    owner.parse().map_err(|_| {
        scaliyo_app::rows::RowError::Invariant(format!("{owner:?} is not a user id")).into()
    })
}

/// Where the rows go, and the sealer for credentials.
type Destination = (Arc<dyn Store>, Arc<dyn Sealer>);

#[derive(Default)]
struct Report {
    tables: Vec<(String, usize)>,
}

/// Owners of already migrated rows, for the tables whose rows belong to their parent's owner.
#[derive(Default)]
struct Owners {
    by_row: HashMap<(&'static str, String), String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(report) => {
            for (table, count) in report.tables {
                println!("{table:<32} {count:>10} rows");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<Report, MigrateError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, sealer): (Arc<dyn Store>, Arc<dyn Sealer>) =
        match (&cli.dynamodb_table, &cli.data_dir) {
            (Some(table), None) => {
                let key = cli.kms_key.clone().ok_or_else(|| {
                    MigrateError::Usage("--kms-key is required with --dynamodb-table".into())
                })?;
                let config = scaliyo_aws::load_config().await;
                (
                    Arc::new(scaliyo_aws::DynamoTable::new(
                        scaliyo_aws::dynamodb_client(&config),
                        table.clone(),
                    )),
                    Arc::new(scaliyo_aws::KmsSealer::new(
                        scaliyo_aws::kms_client(&config),
                        key,
                    )),
                )
            }
            (None, Some(dir)) => local_store(dir, clock.clone())?,
            _ => {
                return Err(MigrateError::Usage(
                    "give --dynamodb-table (with --kms-key) or --data-dir".into(),
                ));
            }
        };
    migrate(&cli.from, store, sealer, clock).await
}

/// The local system's store and sealer (its master key in `<data>/secrets/master.key`).
fn local_store(dir: &Path, clock: Arc<dyn Clock>) -> Result<Destination, MigrateError> {
    let table = scaliyo_embedded::RedbTable::open(&dir.join("store.redb"), clock)?;
    let key = std::fs::read_to_string(dir.join("secrets/master.key")).map_err(|e| {
        MigrateError::Usage(format!(
            "no local master key in {} (run `scaliyo serve` once): {e}",
            dir.display()
        ))
    })?;
    let sealer = scaliyo_embedded::LocalSealer::from_key_text(key.trim())?;
    Ok((Arc::new(table), Arc::new(sealer)))
}

async fn migrate(
    from: &Path,
    store: Arc<dyn Store>,
    sealer: Arc<dyn Sealer>,
    clock: Arc<dyn Clock>,
) -> Result<Report, MigrateError> {
    let rows = Rows::new(store.clone(), clock);
    let mut owners = Owners::default();
    let mut report = Report::default();
    let mut contacts: HashMap<String, i64> = HashMap::new();
    let mut analytics_days: HashMap<String, BTreeSet<String>> = HashMap::new();
    for table in TABLES.iter() {
        let file = from.join(format!("{}.csv", table.name));
        if !file.exists() {
            continue;
        }
        let records = read_csv(&file)?;
        let mut count = 0;
        let mut batch: Vec<BatchOp> = Vec::new();
        let mut header: Vec<String> = Vec::new();
        for record in records {
            if record.number == 1 {
                header = record.fields;
                continue;
            }
            let row_error = |reason: String| MigrateError::Row {
                file: file.display().to_string(),
                row: record.number,
                reason,
            };
            let mut input = Row::new();
            for (name, text) in header.iter().zip(&record.fields) {
                let Some(column) = table.column(name) else {
                    return Err(row_error(format!(
                        "{name} is not a column of {}",
                        table.name
                    )));
                };
                let mut value = value_of(column, text).map_err(|e| row_error(e.to_string()))?;
                if schema::is_sealed(table.name, name) && !value.is_null() {
                    // Credentials kept as JSON are sealed as their JSON text.
                    let plain = match &value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    value = json!(sealer.seal(&plain).await?);
                }
                input.insert(name.clone(), value);
            }
            let row = rows
                .prepare(table, input)
                .map_err(|e| row_error(e.to_string()))?;
            let owner = owner_of(table, &row, &owners);
            if let Some(owner) = &owner
                && let Some(id) = row.get("id").and_then(Value::as_str)
            {
                owners
                    .by_row
                    .insert((table.name, id.to_owned()), owner.clone());
            }
            if table.name == "leads"
                && let Some(owner) = &owner
            {
                *contacts.entry(owner.clone()).or_default() += 1;
            }
            if table.name == "email_messages"
                && let (Some(owner), Some(day)) =
                    (&owner, scaliyo_app::analytics::message_date(&row))
            {
                analytics_days.entry(owner.clone()).or_default().insert(day);
            }
            for op in rows
                .insert_ops(table, owner.as_deref(), &row, false)
                .map_err(|e| row_error(e.to_string()))?
            {
                if let WriteOp::Put { item, .. } = op {
                    batch.push(BatchOp::Put(item));
                }
            }
            count += 1;
            if batch.len() >= 500 {
                store.batch_write(std::mem::take(&mut batch)).await?;
            }
        }
        store.batch_write(batch).await?;
        report.tables.push((table.name.to_owned(), count));
    }
    // Derived items: the contacts counter the plan limit is enforced on, and the analytics.
    for (owner, count) in contacts {
        let counter = Item::new(&Key::new(
            scaliyo_app::layout::owner_partition(parse_owner(&owner)?),
            "counter#contacts",
        ))
        .with("count", count);
        store.transact_write(vec![WriteOp::put(counter)]).await?;
    }
    // The row tallies `count=exact` reads, from the rows as written (a re-run sets the same).
    let migrated: BTreeSet<&String> = owners.by_row.values().collect();
    for owner in migrated {
        rows.recount_all_tallies(owner).await?;
    }
    for (owner, days) in analytics_days {
        let days: Vec<String> = days.into_iter().collect();
        for window in days.chunks(31) {
            scaliyo_app::analytics::rebuild(&rows, parse_owner(&owner)?, window).await?;
        }
    }
    Ok(report)
}

fn owner_of(table: &Table, row: &Row, owners: &Owners) -> Option<String> {
    match table.scope {
        Scope::Owner(column) => row.get(column).and_then(Value::as_str).map(str::to_owned),
        Scope::OwnerOf(fk_column) => {
            let fk = table
                .foreign_keys
                .iter()
                .find(|fk| fk.column == fk_column)?;
            let parent = schema::table(fk.table)?;
            let parent_id = row.get(fk_column).and_then(Value::as_str)?;
            owners
                .by_row
                .get(&(parent.name, parent_id.to_owned()))
                .cloned()
        }
        Scope::Shared => None,
    }
}

/// The records of an exported file (exports are small enough to hold one table at a time).
fn read_csv(path: &Path) -> Result<Vec<scaliyo_domain::import::RawRecord>, MigrateError> {
    let bytes = std::fs::read(path)?;
    let encoding = sniff_encoding(&bytes, true)
        .map_err(|e| MigrateError::Usage(format!("{}: {e}", path.display())))?;
    let mut text = String::new();
    TextDecoder::new(encoding).decode(&bytes, true, &mut text);
    let mut splitter = RecordSplitter::new(b',');
    let mut records = Vec::new();
    splitter.push(text.as_bytes(), &mut records);
    splitter.finish(&mut records);
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Profiles, leads and a sender's secrets exported from Postgres land as rows the API can
    /// read, with the contacts counter set and the secrets sealed.
    #[tokio::test]
    async fn exported_tables_become_rows_counters_and_sealed_secrets() {
        let export = tempfile::tempdir().unwrap();
        let owner = "0b7c6f58-1f2e-4d3c-9a8b-7c6d5e4f3a21";
        std::fs::write(
            export.path().join("profiles.csv"),
            format!(
                "id,email,name,created_at\n{owner},ada@example.com,Ada,2025-03-01 10:00:00+00\n"
            ),
        )
        .unwrap();
        std::fs::write(
            export.path().join("leads.csv"),
            format!("id,client_id,name,email,primary_email,emails,score,custom_fields,title,created_at\n\
                     11111111-1111-4111-8111-111111111111,{owner},Grace,grace@navy.mil,grace@navy.mil,\"{{grace@navy.mil,\"\"g@x.io\"\"}}\",7,\"{{\"\"ship\"\": \"\"USS\"\"}}\",\\N,2025-03-02 11:30:00.5+01\n\
                     22222222-2222-4222-8222-222222222222,{owner},Alan,,\\N,{{}},0,{{}},,2025-03-03 09:00:00+00\n"),
        )
        .unwrap();
        std::fs::write(
            export.path().join("sender_accounts.csv"),
            format!("id,workspace_id,provider,from_email,status\n33333333-3333-4333-8333-333333333333,{owner},sendgrid,ada@mail.example,connected\n"),
        )
        .unwrap();
        std::fs::write(
            export.path().join("sender_account_secrets.csv"),
            String::from("id,sender_account_id,api_key\n44444444-4444-4444-8444-444444444444,33333333-3333-4333-8333-333333333333,SG.plain-secret\n"),
        )
        .unwrap();
        let data = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store: Arc<dyn Store> = Arc::new(
            scaliyo_embedded::RedbTable::open(&data.path().join("store.redb"), clock.clone())
                .unwrap(),
        );
        let sealer: Arc<dyn Sealer> =
            Arc::new(scaliyo_embedded::LocalSealer::new(&[9u8; 32]).unwrap());
        let report = migrate(export.path(), store.clone(), sealer.clone(), clock.clone())
            .await
            .unwrap();
        assert_eq!(
            report.tables,
            vec![
                ("profiles".into(), 1),
                ("leads".into(), 2),
                ("sender_accounts".into(), 1),
                ("sender_account_secrets".into(), 1)
            ]
        );
        let rows = Rows::new(store.clone(), clock.clone());
        let leads = &schema::LEADS;
        let grace = rows
            .get(leads, Some(owner), "11111111-1111-4111-8111-111111111111")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grace["emails"], json!(["grace@navy.mil", "g@x.io"]));
        assert_eq!(grace["custom_fields"], json!({ "ship": "USS" }));
        assert_eq!(grace["score"], json!(7));
        assert_eq!(grace["title"], Value::Null);
        assert_eq!(grace["created_at"], json!("2025-03-02T10:30:00.500000Z"));
        let alan = rows
            .get(leads, Some(owner), "22222222-2222-4222-8222-222222222222")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alan["title"], json!(""));
        let counter = store
            .get(&Key::new(format!("U#{owner}"), "counter#contacts"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(counter.i64("count"), Some(2));
        let secrets = &schema::SENDER_ACCOUNT_SECRETS;
        let sealed = rows
            .get(secrets, Some(owner), "44444444-4444-4444-8444-444444444444")
            .await
            .unwrap()
            .unwrap();
        let text = sealed["api_key"].as_str().unwrap();
        assert_ne!(text, "SG.plain-secret");
        assert_eq!(sealer.open(text).await.unwrap(), "SG.plain-secret");
        // The uniqueness item came along: the e-mail is taken in the workspace.
        let taken = Key::new(
            format!("UQ#idx_leads_client_email#{owner}#grace@navy.mil"),
            "UQ",
        );
        assert!(store.get(&taken).await.unwrap().is_some());
        // The row tallies count=exact reads were set from the rows.
        let tallied = |by| rows.tallied_count(leads, owner, by);
        assert_eq!(tallied(None).await.unwrap(), Some(2));
        assert_eq!(tallied(Some(("status", "New"))).await.unwrap(), Some(2));
        // A re-run changes nothing.
        let again = migrate(export.path(), store.clone(), sealer, clock)
            .await
            .unwrap();
        assert_eq!(again.tables.len(), 4);
        assert_eq!(tallied(None).await.unwrap(), Some(2));
        assert_eq!(
            store
                .get(&Key::new(format!("U#{owner}"), "counter#contacts"))
                .await
                .unwrap()
                .unwrap()
                .i64("count"),
            Some(2)
        );
    }
}
