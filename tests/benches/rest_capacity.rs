//! What the frontend's PostgREST reads cost on DynamoDB, as DynamoDB Local reports it
//! (`ReturnConsumedCapacity: TOTAL` on every request), with 1,000, 10,000 and 50,000 leads in
//! the caller's partition: read units and requests for the first page of a status ordered by
//! `created_at` (the status index), a `count=exact` HEAD on a status and on the whole table
//! (the owner's tallies, ADR 0032), an unfiltered first page, and an `ilike` on the name (no
//! index: it reads the partition until the page is full).
//!
//! `scripts/bench rest_capacity` (starts DynamoDB Local); figures in docs/BENCHMARKS.md.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use scaliyo_app::access::{Access, Actor};
use scaliyo_app::rest::{Range, RestQueries, Wanted};
use scaliyo_aws::CapacityMeter;
use scaliyo_domain::postgrest::Query;
use scaliyo_domain::schema;
use scaliyo_store::{Clock, ManualClock, Table};
use scaliyo_tests::emulators;
use serde_json::json;

const SIZES: [usize; 3] = [1_000, 10_000, 50_000];
const STATUSES: [&str; 5] = ["New", "Contacted", "Qualified", "Converted", "Lost"];
const FIRST_NAMES: [&str; 8] = [
    "Ana", "Ben", "Chidi", "Dana", "Emil", "Fatima", "Goran", "Hana",
];
const PAGE: u64 = 50;

struct Read {
    name: &'static str,
    query: &'static [(&'static str, &'static str)],
    wanted: Wanted,
}

const READS: [Read; 5] = [
    Read {
        name: "status page, newest first",
        query: &[("status", "eq.Qualified"), ("order", "created_at.desc")],
        wanted: Wanted {
            rows: true,
            count: false,
        },
    },
    Read {
        name: "HEAD count=exact on a status",
        query: &[("status", "eq.Qualified")],
        wanted: Wanted {
            rows: false,
            count: true,
        },
    },
    Read {
        name: "HEAD count=exact, unfiltered",
        query: &[],
        wanted: Wanted {
            rows: false,
            count: true,
        },
    },
    Read {
        name: "unfiltered page",
        query: &[],
        wanted: Wanted {
            rows: true,
            count: false,
        },
    },
    Read {
        name: "name ilike *ana*",
        query: &[("name", "ilike.*ana*")],
        wanted: Wanted {
            rows: true,
            count: false,
        },
    },
];

async fn load_leads(access: &Access, actor: &Actor, from: usize, to: usize) {
    let rows = access.rows().clone();
    let owner = actor.owner().expect("a user acting for themselves");
    futures::stream::iter(from..to)
        .map(|i| {
            let rows = rows.clone();
            async move {
                let lead = json!({
                    "client_id": owner,
                    "name": format!("{} Lead{i}", FIRST_NAMES[i % FIRST_NAMES.len()]),
                    "status": STATUSES[(i / 3) % STATUSES.len()],
                    "score": (i % 100) as i64,
                });
                let row = rows
                    .prepare(
                        &schema::LEADS,
                        lead.as_object().cloned().unwrap_or_default(),
                    )
                    .expect("a valid lead");
                rows.insert(&schema::LEADS, None, row, Vec::new())
                    .await
                    .expect("a lead stored");
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let Some(config) = emulators::dynamodb().await else {
        eprintln!("run it through scripts/bench rest_capacity (it starts DynamoDB Local)");
        return;
    };
    let meter = Arc::new(CapacityMeter::default());
    let table: Arc<dyn Table> = Arc::new(
        emulators::new_table(&config, "rest-capacity")
            .await
            .with_capacity_meter(meter.clone()),
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    let access = Arc::new(Access::over(table, clock));
    let actor = emulators::new_user(&access).await;
    let queries = RestQueries::new(access.clone());
    println!("PostgREST reads on DynamoDB Local, units per request (page of {PAGE})");
    let mut loaded = 0;
    for size in SIZES {
        load_leads(&access, &actor, loaded, size).await;
        loaded = size;
        for read in &READS {
            let pairs: Vec<(String, String)> = read
                .query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let query = Query::parse(&pairs).expect("a valid query");
            let range = Range {
                offset: 0,
                limit: Some(PAGE),
            };
            let before = meter.consumed();
            let selected = queries
                .select(&actor, "leads", &query, range, read.wanted)
                .await
                .expect("an answer");
            let after = meter.consumed();
            println!(
                "{size:>6} leads | {:<30} | {:>7.1} read units | {:>4} requests | {} rows, total {}",
                read.name,
                after.read_units - before.read_units,
                after.requests - before.requests,
                selected.rows.len(),
                if read.wanted.count {
                    selected.total.to_string()
                } else {
                    "not asked".to_owned()
                },
            );
        }
    }
}
