//! `scaliyo-ops`: what an operator does to a deployed stack's queues when an alarm fires
//! (docs/operations.md). Credentials and region come from the usual AWS environment.
//!
//! ```text
//! scaliyo-ops dlq list    --queue-url <dlq url> [--max 10]
//! scaliyo-ops dlq redrive --from <dlq url> --to <queue url> [--max 1000]
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scaliyo_aws::SqsQueue;
use scaliyo_store::Queue;

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
}

#[derive(Subcommand)]
enum DlqAction {
    /// Prints the messages waiting in a dead-letter queue (one JSON object per line), leaving
    /// them there.
    List {
        #[arg(long)]
        queue_url: String,
        #[arg(long, default_value_t = 10)]
        max: usize,
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

/// Runs one command with the AWS configuration given, printing its result; `Err` is the
/// message for the operator.
async fn run(
    cli: Cli,
    config: &scaliyo_aws::SdkConfig,
    out: &mut dyn std::io::Write,
) -> Result<(), String> {
    let queue = |url: &str| SqsQueue::new(scaliyo_aws::sqs_client(config), url);
    match cli.command {
        Command::Dlq {
            action: DlqAction::List { queue_url, max },
        } => {
            let letters = scaliyo_app::ops::peek(&queue(&queue_url) as &dyn Queue, max)
                .await
                .map_err(|e| format!("listing {queue_url}: {e}"))?;
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
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = scaliyo_aws::load_config().await;
    match run(cli, &config, &mut std::io::stdout()).await {
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
    use scaliyo_store::OutgoingMessage;

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
            &moto,
            &mut listed,
        )
        .await
        .expect("listed");
        let listed = String::from_utf8(listed).unwrap_or_default();
        assert!(listed.contains(r#"\"id\":\"s1\""#), "{listed}");
        let mut moved = Vec::new();
        run(
            parse(&["dlq", "redrive", "--from", &dlq_url, "--to", &queue_url]),
            &moto,
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
}
