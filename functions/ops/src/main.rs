//! `scaliyo-ops`: what an operator does to a deployed stack's queues when an alarm fires,
//! and to its row tallies once when upgrading a table written before they were kept
//! (docs/operations.md). Credentials and region come from the usual AWS environment.
//!
//! ```text
//! scaliyo-ops dlq list    --queue-url <dlq url> [--max 10] [--table-name <table>]
//! scaliyo-ops dlq redrive --from <dlq url> --to <queue url> [--max 1000]
//! scaliyo-ops import resume --owner <user id> --batch <batch id>
//!                           --queue-url <imports queue url> --bucket <imports bucket> [--table-name <table>]
//! scaliyo-ops tallies recount --owner <user id> [--owner <user id> …] [--table-name <table>]
//! ```
//!
//! `--table-name` defaults to `TABLE_NAME`; without a table `dlq list` prints no reasons.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use scaliyo_app::ops::FailureNotes;
use scaliyo_app::rows::Rows;
use scaliyo_aws::{DynamoTable, SqsQueue};
use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Clock, Queue, SystemClock};

#[derive(Parser)]
#[command(
    name = "scaliyo-ops",
    about = "Operator commands for a deployed Scaliyo stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Dead-letter queues.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Lead imports.
    Import {
        #[command(subcommand)]
        action: ImportAction,
    },
    /// The row tallies `count=exact` reads (docs/operations.md).
    Tallies {
        #[command(subcommand)]
        action: TalliesAction,
    },
}

#[derive(Subcommand)]
enum TalliesAction {
    /// Sets each owner's tallies to what its rows hold: once, with writes stopped, on a
    /// table written before tallies were kept. Prints one JSON line per owner.
    Recount {
        /// A user whose rows to recount (repeat for several).
        #[arg(long = "owner", required = true)]
        owners: Vec<String>,
        #[arg(long, env = "TABLE_NAME")]
        table_name: String,
    },
}

#[derive(Subcommand)]
enum ImportAction {
    /// Sets a stopped import (its upload notification dead-lettered or lost) going again from
    /// its checkpoint: queues the notification the imports bucket would send.
    Resume {
        #[arg(long)]
        owner: String,
        #[arg(long)]
        batch: String,
        /// The imports queue `import-leads` reads.
        #[arg(long)]
        queue_url: String,
        /// The imports bucket (its physical name).
        #[arg(long)]
        bucket: String,
        #[arg(long, env = "TABLE_NAME")]
        table_name: String,
    },
}

#[derive(Subcommand)]
enum DlqAction {
    /// Prints the messages waiting in a dead-letter queue (one JSON object per line, with the
    /// reason their consumer noted the last time it failed them), leaving them there.
    List {
        #[arg(long)]
        queue_url: String,
        #[arg(long, default_value_t = 10)]
        max: usize,
        /// The stack's table, where the consumers note their failures.
        #[arg(long, env = "TABLE_NAME")]
        table_name: Option<String>,
    },
    /// Moves messages back to the queue they came from (sent, then deleted: a failure leaves
    /// a duplicate, which the consumers ignore, never a loss).
    Redrive {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value_t = 1_000)]
        max: usize,
    },
}

/// The AWS clients the commands use (one configuration in production; the tests point each
/// at its emulator).
struct Clients {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    fn from(config: &scaliyo_aws::SdkConfig) -> Self {
        Self {
            sqs: scaliyo_aws::sqs_client(config),
            dynamodb: scaliyo_aws::dynamodb_client(config),
        }
    }
}

/// Runs one command with the clients given, printing its result; `Err` is the message for
/// the operator.
async fn run(cli: Cli, clients: &Clients, out: &mut dyn std::io::Write) -> Result<(), String> {
    let queue = |url: &str| SqsQueue::new(clients.sqs.clone(), url);
    let table = |name: String| Arc::new(DynamoTable::new(clients.dynamodb.clone(), name));
    match cli.command {
        Command::Dlq {
            action:
                DlqAction::List {
                    queue_url,
                    max,
                    table_name,
                },
        } => {
            let dlq = queue(&queue_url);
            let letters = match table_name.filter(|t| !t.is_empty()) {
                Some(name) => scaliyo_app::ops::peek_with_reasons(
                    &dlq,
                    &FailureNotes::new(table(name), Arc::new(SystemClock), "scaliyo-ops"),
                    max,
                )
                .await
                .map_err(|e| format!("listing {queue_url}: {e}"))?,
                None => scaliyo_app::ops::peek(&dlq as &dyn Queue, max)
                    .await
                    .map_err(|e| format!("listing {queue_url}: {e}"))?,
            };
            for letter in &letters {
                let line = serde_json::to_string(letter).map_err(|e| e.to_string())?;
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Command::Dlq {
            action: DlqAction::Redrive { from, to, max },
        } => {
            let report = scaliyo_app::ops::redrive(&queue(&from), &queue(&to), max)
                .await
                .map_err(|e| format!("redriving {from} to {to}: {e}"))?;
            writeln!(out, "moved {} message(s) from {from} to {to}", report.moved)
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Tallies {
            action: TalliesAction::Recount { owners, table_name },
        } => {
            let rows = Rows::new(table(table_name), Arc::new(SystemClock));
            for owner in owners {
                let owner: OwnerId = owner
                    .parse()
                    .map_err(|_| format!("--owner: `{owner}` is not a user id"))?;
                let recounted = rows
                    .recount_all_tallies(&owner.to_string())
                    .await
                    .map_err(|e| format!("recounting {owner}: {e}"))?;
                let tables: serde_json::Map<String, serde_json::Value> = recounted
                    .into_iter()
                    .map(|(name, count)| (name.to_owned(), count.into()))
                    .collect();
                let line = serde_json::json!({ "owner": owner.to_string(), "rows": tables });
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Command::Import {
            action:
                ImportAction::Resume {
                    owner,
                    batch,
                    queue_url,
                    bucket,
                    table_name,
                },
        } => {
            let owner: OwnerId = owner
                .parse()
                .map_err(|_| format!("--owner: `{owner}` is not a user id"))?;
            let clock = Arc::new(SystemClock);
            let rows = Rows::new(table(table_name), clock.clone());
            let resumed = scaliyo_app::ops::resume_import(
                &rows,
                &queue(&queue_url),
                |key| scaliyo_app::ops::s3_notification(&bucket, key, clock.now()),
                owner,
                &batch,
                clock.now().timestamp(),
            )
            .await
            .map_err(|e| format!("resuming import {batch}: {e}"))?;
            let line = serde_json::to_string(&resumed).map_err(|e| e.to_string())?;
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = scaliyo_aws::load_config().await;
    match run(cli, &Clients::from(&config), &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaliyo_store::{OutgoingMessage, Table as _};

    /// The commands against SQS on moto: a dead letter listed, then redriven.
    #[tokio::test]
    async fn a_dead_letter_is_listed_then_redriven_on_sqs() {
        let Some(moto) = scaliyo_tests::emulators::moto().await else {
            return;
        };
        let client = scaliyo_aws::sqs_client(&moto);
        let create = |name: String| {
            let client = client.clone();
            async move {
                client
                    .create_queue()
                    .queue_name(name)
                    .send()
                    .await
                    .expect("a queue on moto")
                    .queue_url()
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        let id = std::process::id();
        let dlq_url = create(format!("ops-dlq-{id}")).await;
        let queue_url = create(format!("ops-queue-{id}")).await;
        SqsQueue::new(client.clone(), dlq_url.clone())
            .send_batch(vec![OutgoingMessage::new(r#"{"owner":"o","id":"s1"}"#)])
            .await
            .expect("a dead letter");
        let parse = |args: &[&str]| {
            Cli::parse_from(std::iter::once("scaliyo-ops").chain(args.iter().copied()))
        };
        let mut listed = Vec::new();
        run(
            parse(&["dlq", "list", "--queue-url", &dlq_url]),
            &Clients::from(&moto),
            &mut listed,
        )
        .await
        .expect("listed");
        let listed = String::from_utf8(listed).unwrap_or_default();
        assert!(listed.contains(r#"\"id\":\"s1\""#), "{listed}");
        let mut moved = Vec::new();
        run(
            parse(&["dlq", "redrive", "--from", &dlq_url, "--to", &queue_url]),
            &Clients::from(&moto),
            &mut moved,
        )
        .await
        .expect("redriven");
        assert!(
            String::from_utf8(moved)
                .unwrap_or_default()
                .starts_with("moved 1 message(s)")
        );
        let back = SqsQueue::new(client, queue_url)
            .receive(
                10,
                std::time::Duration::from_secs(30),
                std::time::Duration::from_secs(1),
            )
            .await
            .expect("the source queue");
        assert_eq!(back.len(), 1);
    }

    /// A table on DynamoDB Local, or `None` when it is not running.
    async fn table() -> Option<(scaliyo_aws::SdkConfig, String)> {
        let config = scaliyo_tests::emulators::dynamodb().await?;
        let name = scaliyo_tests::emulators::unique_name("ops");
        scaliyo_aws::create_table(&scaliyo_aws::dynamodb_client(&config), &name)
            .await
            .expect("a table");
        Some((config, name))
    }

    /// A message that failed its consumer until SQS dead-lettered it is listed with the
    /// consumer's reason: moto for SQS (a queue whose redrive policy moves a message on its
    /// second receive), DynamoDB Local for the note.
    #[tokio::test]
    async fn a_dead_letter_is_listed_with_the_reason_its_consumer_noted() {
        let (Some(moto), Some((dynamo, table_name))) =
            (scaliyo_tests::emulators::moto().await, table().await)
        else {
            return;
        };
        let client = scaliyo_aws::sqs_client(&moto);
        let dlq_url = client
            .create_queue()
            .queue_name(scaliyo_tests::emulators::unique_name("notes-dlq"))
            .send()
            .await
            .expect("a dead-letter queue")
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("its attributes")
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .unwrap_or_default();
        let queue_url = client
            .create_queue()
            .queue_name(scaliyo_tests::emulators::unique_name("notes"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1 })
                    .to_string(),
            )
            .send()
            .await
            .expect("a work queue")
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        let work = SqsQueue::new(client.clone(), queue_url.clone());
        work.send_batch(vec![OutgoingMessage::new(r#"{"owner":"o","id":"s2"}"#)])
            .await
            .expect("a message");
        let received = work
            .receive(
                1,
                std::time::Duration::from_secs(30),
                std::time::Duration::from_secs(1),
            )
            .await
            .expect("received");
        assert_eq!(received.len(), 1);

        // The consumer's batch handling, as in Lambda: the record fails and its reason is noted.
        let notes = FailureNotes::new(
            Arc::new(DynamoTable::new(
                scaliyo_aws::dynamodb_client(&dynamo),
                table_name.clone(),
            )),
            Arc::new(SystemClock),
            "scaliyo-test-process-scheduled-emails",
        );
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{ "messageId": received[0].message_id, "body": received[0].body, "eventSource": "aws:sqs" }]
        }))
        .expect("an SQS event");
        let response = scaliyo_lambda::sqs::handle_batch(event, 1, &notes, |_body| async {
            Err::<(), _>("the provider answered 503 Service Unavailable")
        })
        .await;
        assert_eq!(response.batch_item_failures.len(), 1);

        // Back in the queue, then past its one receive: moto moves it to the dead-letter queue.
        work.release(&received[0].receipt).await.expect("released");
        let again = work
            .receive(
                1,
                std::time::Duration::from_secs(30),
                std::time::Duration::from_millis(500),
            )
            .await
            .expect("received");
        assert!(
            again.is_empty(),
            "dead-lettered, not delivered a second time"
        );

        let parse = |args: &[&str]| {
            Cli::parse_from(std::iter::once("scaliyo-ops").chain(args.iter().copied()))
        };
        let mut listed = Vec::new();
        run(
            parse(&[
                "dlq",
                "list",
                "--queue-url",
                &dlq_url,
                "--table-name",
                &table_name,
            ]),
            &Clients {
                sqs: client.clone(),
                dynamodb: scaliyo_aws::dynamodb_client(&dynamo),
            },
            &mut listed,
        )
        .await
        .expect("listed");
        let listed = String::from_utf8(listed).unwrap_or_default();
        let letter: serde_json::Value =
            serde_json::from_str(listed.lines().next().unwrap_or_default()).expect("a line");
        assert_eq!(letter["message_id"], received[0].message_id.as_str());
        assert_eq!(letter["body"], r#"{"owner":"o","id":"s2"}"#);
        assert_eq!(
            letter["failure"]["function"],
            "scaliyo-test-process-scheduled-emails"
        );
        assert_eq!(
            letter["failure"]["reason"],
            "the provider answered 503 Service Unavailable"
        );
        assert_eq!(letter["failure"]["failures"], 1);
        assert!(
            letter["failure"]["last_failed_at"]
                .as_str()
                .is_some_and(|t| t.ends_with("+00:00"))
        );
    }

    /// A stopped import's notification queued again: the S3 event names the batch's source
    /// object; a finished, unknown or foreign batch is refused and nothing is queued.
    #[tokio::test]
    async fn a_stopped_import_is_queued_again_with_its_upload_notification() {
        let (Some(moto), Some((dynamo, table_name))) =
            (scaliyo_tests::emulators::moto().await, table().await)
        else {
            return;
        };
        let table = Arc::new(DynamoTable::new(
            scaliyo_aws::dynamodb_client(&dynamo),
            table_name,
        ));
        let access = scaliyo_app::access::Access::over(table.clone(), Arc::new(SystemClock));
        let owner = OwnerId::new_random();
        scaliyo_tests::emulators::new_user_with_id(&access, owner).await;
        let batch = access
            .rows()
            .create(
                &scaliyo_domain::schema::IMPORT_BATCHES,
                None,
                serde_json::json!({ "workspace_id": owner.to_string(), "file_name": "leads.csv" })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .await
            .expect("a batch");
        let batch_id = batch["id"].as_str().unwrap_or_default().to_owned();
        let client = scaliyo_aws::sqs_client(&moto);
        let queue_url = client
            .create_queue()
            .queue_name(scaliyo_tests::emulators::unique_name("imports"))
            .send()
            .await
            .expect("a queue")
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        let rows = access.rows().clone();
        let queue = SqsQueue::new(client.clone(), queue_url.clone());
        let resumed = scaliyo_app::ops::resume_import(
            &rows,
            &queue,
            |key| {
                scaliyo_app::ops::s3_notification("scaliyo-test-imports", key, chrono::Utc::now())
            },
            owner,
            &batch_id,
            0,
        )
        .await
        .expect("resumed");
        assert_eq!(resumed.status, "pending");
        assert_eq!((resumed.next_row, resumed.held_until), (1, None));
        let queued = queue
            .receive(
                10,
                std::time::Duration::from_secs(30),
                std::time::Duration::from_secs(1),
            )
            .await
            .expect("the notification");
        assert_eq!(queued.len(), 1);
        // What import-leads reads out of it.
        let objects = scaliyo_lambda::s3::created_objects(&queued[0].body).expect("an S3 event");
        assert_eq!(
            objects,
            vec![scaliyo_store::ObjectCreated {
                bucket: "scaliyo-test-imports".into(),
                key: scaliyo_app::import::source_key(owner, &batch_id),
            }]
        );
        queue.delete(&queued[0].receipt).await.expect("deleted");

        // Another owner's batch id, an unknown one, a finished batch: refused, nothing queued.
        for (who, id) in [
            (OwnerId::new_random(), batch_id.clone()),
            (owner, uuid_text()),
        ] {
            let refused =
                scaliyo_app::ops::resume_import(&rows, &queue, |k| k.to_owned(), who, &id, 0).await;
            assert!(
                matches!(refused, Err(scaliyo_app::ops::ResumeError::NotFound(_))),
                "{refused:?}"
            );
        }
        let mut patch = scaliyo_app::rows::Row::new();
        patch.insert("status".into(), serde_json::json!("completed"));
        rows.update(
            &scaliyo_domain::schema::IMPORT_BATCHES,
            Some(&owner.to_string()),
            &batch_id,
            patch,
        )
        .await
        .expect("completed");
        let refused =
            scaliyo_app::ops::resume_import(&rows, &queue, |k| k.to_owned(), owner, &batch_id, 0)
                .await;
        assert!(
            matches!(&refused, Err(scaliyo_app::ops::ResumeError::Finished { status, .. }) if status == "completed"),
            "{refused:?}"
        );
        let nothing = queue
            .receive(
                10,
                std::time::Duration::from_secs(30),
                std::time::Duration::from_millis(500),
            )
            .await
            .expect("receive");
        assert!(nothing.is_empty());
    }

    /// A table written before tallies were kept (here: its tally items removed) counts its
    /// rows again from `tallies recount`, on DynamoDB Local.
    #[tokio::test]
    async fn a_recount_sets_an_owners_tallies_from_its_rows() {
        let Some((dynamo, table_name)) = table().await else {
            return;
        };
        let store = Arc::new(DynamoTable::new(
            scaliyo_aws::dynamodb_client(&dynamo),
            table_name.clone(),
        ));
        let rows = Rows::new(store.clone(), Arc::new(SystemClock));
        let owner = uuid_text();
        for (name, status) in [("a", "New"), ("b", "Qualified"), ("c", "Qualified")] {
            let input = serde_json::from_value(
                serde_json::json!({ "client_id": owner, "name": name, "status": status }),
            )
            .expect("a row");
            rows.create(&scaliyo_domain::schema::LEADS, None, input)
                .await
                .expect("a lead");
        }
        let partition = scaliyo_app::layout::owner_column_partition(&owner);
        for sk in ["counter#rows#leads", "counter#rows#leads#status#Qualified"] {
            store
                .transact_write(vec![scaliyo_store::WriteOp::delete(
                    scaliyo_store::Key::new(partition.clone(), sk),
                )])
                .await
                .expect("an older table's missing tally");
        }
        let parse = |args: &[&str]| {
            Cli::parse_from(std::iter::once("scaliyo-ops").chain(args.iter().copied()))
        };
        let mut printed = Vec::new();
        run(
            parse(&[
                "tallies",
                "recount",
                "--owner",
                &owner,
                "--table-name",
                &table_name,
            ]),
            &Clients::from(&dynamo),
            &mut printed,
        )
        .await
        .expect("recounted");
        let line: serde_json::Value =
            serde_json::from_slice(&printed).expect("one JSON line per owner");
        assert_eq!(line["owner"], owner.as_str());
        assert_eq!(line["rows"]["leads"], 3);
        let count = |by| rows.tallied_count(&scaliyo_domain::schema::LEADS, &owner, by);
        assert_eq!(count(None).await.expect("read"), Some(3));
        assert_eq!(
            count(Some(("status", "Qualified"))).await.expect("read"),
            Some(2)
        );
        let refused = run(
            parse(&[
                "tallies",
                "recount",
                "--owner",
                "nobody",
                "--table-name",
                &table_name,
            ]),
            &Clients::from(&dynamo),
            &mut Vec::new(),
        )
        .await;
        assert!(refused.is_err_and(|e| e.contains("not a user id")));
    }

    fn uuid_text() -> String {
        OwnerId::new_random().to_string()
    }
}
