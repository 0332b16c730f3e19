//! Store backends: put, get, query page and 2-item transaction, ops/s.
//!
//! `scripts/bench store` (starts DynamoDB Local) or `cargo bench -p scaliyo-tests --bench store`
//! (embedded only). Each figure is the median of 5 rounds; one task (latency-bound) and 8
//! concurrent tasks. Results are recorded in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::Instant;

use scaliyo_aws::{DynamoTable, create_table};
use scaliyo_embedded::RedbTable;
use scaliyo_store::{Index, Item, Key, Query, SortCondition, SystemClock, Table, Update, WriteOp};

const ROUNDS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Runs `ops` operations split over `tasks` tasks and returns ops/s.
async fn rate<F, Fut>(tasks: usize, ops: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            for i in (t..ops).step_by(tasks) {
                op(i).await;
            }
        }));
    }
    for handle in handles {
        handle.await.expect("bench task");
    }
    ops as f64 / started.elapsed().as_secs_f64()
}

async fn bench_backend(name: &str, table: Arc<dyn Table>, ops: usize) {
    let run = format!("{}", uuid::Uuid::new_v4().simple());
    // A 1,000-item partition to page through.
    let seed: Vec<scaliyo_store::BatchOp> = (0..1000)
        .map(|i| {
            scaliyo_store::BatchOp::Put(
                Item::new(&Key::new(format!("Q#{run}"), format!("S#{i:05}")))
                    .with("n", i as i64)
                    .with("text", "x".repeat(200)),
            )
        })
        .collect();
    table.batch_write(seed).await.expect("seed");

    for tasks in [1usize, 8] {
        let mut puts = Vec::new();
        let mut gets = Vec::new();
        let mut queries = Vec::new();
        let mut transactions = Vec::new();
        for round in 0..ROUNDS {
            let t = table.clone();
            let r = run.clone();
            puts.push(
                rate(tasks, ops, move |i| {
                    let t = t.clone();
                    let r = r.clone();
                    async move {
                        let item = Item::new(&Key::new(
                            format!("P#{r}#{tasks}#{round}"),
                            format!("S#{i:06}"),
                        ))
                        .with("name", "Ada Lovelace")
                        .with("score", 42);
                        t.transact_write(vec![WriteOp::put(item)])
                            .await
                            .expect("put");
                    }
                })
                .await,
            );
            let t = table.clone();
            let r = run.clone();
            gets.push(
                rate(tasks, ops, move |i| {
                    let t = t.clone();
                    let r = r.clone();
                    async move {
                        t.get(&Key::new(
                            format!("P#{r}#{tasks}#{round}"),
                            format!("S#{i:06}"),
                        ))
                        .await
                        .expect("get")
                        .expect("present");
                    }
                })
                .await,
            );
            let t = table.clone();
            let r = run.clone();
            queries.push(
                rate(tasks, ops / 4, move |i| {
                    let t = t.clone();
                    let r = r.clone();
                    async move {
                        let start = format!("S#{:05}", (i * 37) % 900);
                        let page = t
                            .query(
                                Query::partition(Index::Table, format!("Q#{r}"))
                                    .sort(SortCondition::Ge(start))
                                    .limit(25),
                            )
                            .await
                            .expect("query");
                        assert_eq!(page.items.len(), 25);
                    }
                })
                .await,
            );
            let t = table.clone();
            let r = run.clone();
            transactions.push(
                rate(tasks, ops / 2, move |i| {
                    let t = t.clone();
                    let r = r.clone();
                    async move {
                        t.transact_write(vec![
                            WriteOp::put_new(
                                Item::new(&Key::new(
                                    format!("T#{r}#{tasks}#{round}"),
                                    format!("row#{i}"),
                                ))
                                .with("v", 1),
                            ),
                            WriteOp::update(
                                Key::new(
                                    format!("T#{r}#{tasks}#{round}"),
                                    format!("counter#{}", i % 64),
                                ),
                                Update::new().add("n", 1),
                            ),
                        ])
                        .await
                        .expect("transaction");
                    }
                })
                .await,
            );
        }
        println!(
            "{name:<16} tasks={tasks:<2} put {:>8.0}/s  get {:>8.0}/s  query(25) {:>8.0}/s  tx(2 items) {:>8.0}/s",
            median(puts),
            median(gets),
            median(queries),
            median(transactions)
        );
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let redb =
        RedbTable::open(&dir.path().join("bench.redb"), Arc::new(SystemClock)).expect("open redb");
    bench_backend("embedded redb", Arc::new(redb), 2000).await;

    match std::env::var("SCALIYO_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) => {
            let config = scaliyo_aws::emulator_config(&endpoint).await;
            let client = aws_sdk_dynamodb::Client::new(&config);
            let name = format!("bench-{}", uuid::Uuid::new_v4().simple());
            create_table(&client, &name).await.expect("create table");
            bench_backend(
                "DynamoDB Local",
                Arc::new(DynamoTable::new(client, name)),
                400,
            )
            .await;
        }
        Err(_) => println!("DynamoDB Local: not running (use scripts/bench store to include it)"),
    }
}
